package convert

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// v5Dims reads the RWKV-5 head shape: H = time_decay.shape[0] (BlinkDL
// (H, N) for 5.2, (H,) for 5.0/5.1; rwkv.cpp (H, N, 1) / (H, 1, 1)), N =
// C/H. RWKV-5.0 has no gate.
func v5Dims(ck *source.Checkpoint, det Detection, d *arch.Dims) error {
	dec := ck.Tensor("blocks.0.att.time_decay")
	if dec == nil {
		return fmt.Errorf("%s: required tensor blocks.0.att.time_decay is missing (RWKV-5 reads the head count from it)", ck.Path)
	}
	if len(dec.Shape) == 0 || dec.Shape[0] <= 0 || int64(d.Embd)%dec.Shape[0] != 0 {
		return fmt.Errorf("%s: blocks.0.att.time_decay has shape %v; want (heads, head_size) or (heads,) with heads dividing n_embd %d", ck.Path, dec.Shape, d.Embd)
	}
	d.HeadSize = d.Embd / int(dec.Shape[0])
	d.NoGate = strings.HasPrefix(det.Variant, "RWKV-5.0")
	return nil
}

// resolveV5 builds RWKV-5's per-channel decay and bonus (docs/FORMAT.md
// "RWKV-5"): w = exp(−exp(time_decay)) and u = time_faaaa, or exp(time_first)
// for the 5.0/5.1 previews; per-head values (5.0/5.1) are repeated over
// the head's N channels. rwkv.cpp files already hold exp(−exp(time_decay))
// and exp(time_first). ok is false for the tensors streamed as stored.
func resolveV5(ck *source.Checkpoint, det Detection, spec arch.Tensor) (p plannedTensor, ok bool, err error) {
	p.spec = spec
	prefix, isDecay := strings.CutSuffix(spec.Source, ".att.time_decay")
	isFirst := false
	if !isDecay {
		if prefix, isFirst = strings.CutSuffix(spec.Source, ".att.time_faaaa"); !isFirst {
			return p, false, nil
		}
	}
	C, N := det.Dims.Embd, det.Dims.HeadSize
	H := C / N
	src := ck.Tensor(spec.Source)
	var f func(float64) float64
	what := ""
	cpp := ck.Format == source.RWKVCpp
	switch {
	case isDecay && src != nil && !cpp:
		f, what = func(x float64) float64 { return math.Exp(-math.Exp(x)) }, "exp(-exp(%s))"
	case isDecay && src != nil:
		what = "%s (rwkv.cpp stores exp(-exp(time_decay)))"
	case isFirst && src != nil:
		what = "%s (u, raw)"
	case isFirst:
		if src = ck.Tensor(prefix + ".att.time_first"); src != nil {
			if cpp {
				what = "%s (rwkv.cpp stores exp(time_first))"
			} else {
				f, what = math.Exp, "exp(%s)"
			}
		}
	}
	if src == nil {
		missing := spec.Source
		if isFirst {
			missing += " (or " + prefix + ".att.time_first)"
		}
		return p, true, fmt.Errorf("%s: required tensor %s is missing (%s with %d layers)", ck.Path, missing, det.Variant, det.Dims.Layers)
	}
	sq := squeeze(src.Shape)
	perHead := slices.Equal(sq, []int64{int64(H)}) || (N == 1 && len(sq) == 1 && sq[0] == int64(C))
	if !perHead && !slices.Equal(sq, []int64{int64(H), int64(N)}) {
		return p, true, fmt.Errorf("%s: tensor %s has shape %v, want (%d, %d) or (%d,) (heads %d, head size %d)", ck.Path, src.Name, src.Shape, H, N, H, H, N)
	}
	p.src = src
	p.derived = fmt.Sprintf(what, src.Name)
	if perHead && N > 1 {
		p.derived += fmt.Sprintf(", each head's value repeated over its %d channels", N)
	}
	p.build = func() ([]float32, error) {
		v, err := readF32(src)
		if err != nil {
			return nil, err
		}
		out := make([]float32, C)
		for c := range out {
			i := c
			if perHead {
				i = c / N
			}
			x := v[i]
			if f != nil {
				x = float32(f(float64(x)))
			}
			out[c] = x
		}
		return out, nil
	}
	return p, true, nil
}

// groupNormEps is the att.ln_x epsilon recorded for an RWKV-5 file: 64e-5
// for BlinkDL checkpoints (the x052 trainer's GN(x/8; 1e-5)), 1e-5 for
// rwkv.cpp files, whose v5 code (and the tiny models trained with it) uses
// 1e-5 (docs/ARCHITECTURES.md §5.2, §15).
func groupNormEps(det Detection, f source.Format) float32 {
	if det.Arch == arch.RWKV5 && f == source.RWKVCpp {
		return arch.GroupNormEpsRWKVCppV5
	}
	return arch.GroupNormEps
}
