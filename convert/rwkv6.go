package convert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// v6Dims reads the RWKV-6 head shape from att.time_faaaa (H, N) (rwkv.cpp:
// (H, N, 1)) and the LoRA ranks from layer 0's time_maa_w1 (C, 5·Dm) and
// time_decay_w1 (C, Dd); rwkv.cpp's converter transposed both.
func v6Dims(ck *source.Checkpoint, d *arch.Dims) error {
	u := ck.Tensor("blocks.0.att.time_faaaa")
	if u == nil {
		return fmt.Errorf("%s: required tensor blocks.0.att.time_faaaa is missing (RWKV-6 reads the head shape from it)", ck.Path)
	}
	sq := squeeze(u.Shape)
	if len(sq) != 2 || sq[0]*sq[1] != int64(d.Embd) {
		return fmt.Errorf("%s: blocks.0.att.time_faaaa has shape %v, want (heads, head_size) with heads × head_size = n_embd %d", ck.Path, u.Shape, d.Embd)
	}
	d.HeadSize = int(sq[1])
	d.StateTuned = ck.Tensor("blocks.0.att.time_state") != nil
	rank := func(key string, parts int64) (int, error) {
		t := ck.Tensor(key)
		if t == nil {
			return 0, fmt.Errorf("%s: required tensor %s is missing (RWKV-6 LoRA)", ck.Path, key)
		}
		in, out := 0, 1
		if ck.Format == source.RWKVCpp {
			in, out = 1, 0
		}
		if len(t.Shape) != 2 || t.Shape[in] != int64(d.Embd) || t.Shape[out] <= 0 || t.Shape[out]%parts != 0 {
			return 0, fmt.Errorf("%s: LoRA %s has shape %v; want n_embd %d on its input side", ck.Path, key, t.Shape, d.Embd)
		}
		return int(t.Shape[out] / parts), nil
	}
	var err error
	if d.MixLora, err = rank("blocks.0.att.time_maa_w1", 5); err != nil {
		return err
	}
	d.DecayLora, err = rank("blocks.0.att.time_decay_w1", 1)
	return err
}

// resolveV6 handles rwkv.cpp's time_decay, reshaped by its converter to
// (H, N, 1): the values are copied as the (C) vector BlinkDL files hold.
// ok is false for every other tensor.
func resolveV6(ck *source.Checkpoint, det Detection, spec arch.Tensor) (p plannedTensor, ok bool, err error) {
	if strings.HasSuffix(spec.Source, ".att.time_state") {
		return resolveV6State(ck, det, spec)
	}
	if !strings.HasSuffix(spec.Source, ".att.time_decay") {
		return p, false, nil
	}
	src := ck.Tensor(spec.Source)
	C, N := int64(det.Dims.Embd), int64(det.Dims.HeadSize)
	if src == nil || !slices.Equal(squeeze(src.Shape), []int64{C / N, N}) {
		return p, false, nil // the generic path reports it
	}
	p.spec, p.src = spec, src
	p.derived = fmt.Sprintf("reshape(%s) ((H, N, 1) to (C))", src.Name)
	p.build = func() ([]float32, error) { return readF32(src) }
	return p, true, nil
}

// resolveV6State transposes a state-tuned file's att.time_state (H, N, N),
// stored [h][value][key], to the engine's S layout [h][key][value]
// (ChatRWKV initialises S = time_state.transpose(1, 2)).
func resolveV6State(ck *source.Checkpoint, det Detection, spec arch.Tensor) (p plannedTensor, ok bool, err error) {
	src := ck.Tensor(spec.Source)
	if src == nil {
		return p, true, fmt.Errorf("%s: required tensor %s is missing (state-tuned %s: every block carries att.time_state)", ck.Path, spec.Source, det.Variant)
	}
	if !slices.Equal(squeeze(src.Shape), squeeze(spec.Shape)) {
		return p, true, fmt.Errorf("%s: tensor %s has shape %v, want %v (heads, head_size, head_size)", ck.Path, src.Name, src.Shape, spec.Shape)
	}
	p.spec, p.src = spec, src
	p.derived = fmt.Sprintf("transpose(%s) ([h][value][key] to [h][key][value])", src.Name)
	N := det.Dims.HeadSize
	p.build = func() ([]float32, error) {
		v, err := readF32(src)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(v))
		for b := 0; b < len(v); b += N * N {
			for i := 0; i < N; i++ {
				for j := 0; j < N; j++ {
					out[b+j*N+i] = v[b+i*N+j]
				}
			}
		}
		return out, nil
	}
	return p, true, nil
}
