package convert

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// Detection is what the keys of a checkpoint say it is.
type Detection struct {
	Arch    string // arch.RWKV4 … arch.RWKV7
	Variant string // human-readable, e.g. "RWKV-5.2 (Eagle)"
	Dims    arch.Dims

	// GPT-NeoX only (from config.json).
	RopeDims         int     // rotary dims of each head
	RopeBase         float64 // rotary base (theta)
	ParallelResidual bool
	LayerNormEps     float64
	ContextLen       int // max_position_embeddings (0: not given)
}

// Detect identifies the architecture from tensor names alone (docs/
// ARCHITECTURES.md §3) and reads the dims from shapes. Research variants and
// foreign layouts are refused with a message saying what they are.
func Detect(ck *source.Checkpoint) (Detection, error) {
	has := func(k string) bool { return ck.Tensor(k) != nil }
	var det Detection
	for _, t := range ck.Tensors {
		switch {
		case t.Name == "_strategy" || t.Name == "_version" || t.Name == "_rescale_layer":
			return det, fmt.Errorf("%s: this is a ChatRWKV-converted file (key %q), not a raw checkpoint; convert the original .pth instead", ck.Path, t.Name)
		case strings.HasPrefix(t.Name, "gpt_neox."):
			return det, fmt.Errorf("%s: tensor %q: this is a GPT-NeoX (Pythia) checkpoint, whose head count and rotary dims are in its config.json; pass the model folder, or put config.json beside the file", ck.Path, t.Name)
		case strings.HasPrefix(t.Name, "rwkv."):
			return det, fmt.Errorf("%s: tensor %q uses Hugging Face transformers naming; pass the model folder, or put its config.json beside the file", ck.Path, t.Name)
		case strings.HasPrefix(t.Name, "model.layers."):
			return det, fmt.Errorf("%s: tensor %q uses Hugging Face transformers naming of a model type rwkv-tools does not support (supported: RWKV-4 RwkvForCausalLM, GPT-NeoX)", ck.Path, t.Name)
		}
	}
	switch {
	case has("blocks.0.att.r_k") || has("blocks.0.att.k_k") || has("blocks.0.att.x_r") || has("blocks.0.att.x_rwkvag"):
		det.Arch, det.Variant = arch.RWKV7, "RWKV-7 (Goose)"
		if err := refuseResearch(ck, "RWKV-7a \"DeepEmbed\" variant", ".ffn.s_emb.", ".ffn.s0", ".ffn.s1", ".ffn.s2"); err != nil {
			return det, err
		}
	case has("blocks.0.att.time_maa_x"):
		det.Arch, det.Variant = arch.RWKV6, "RWKV-6 (Finch)"
		if err := refuseResearch(ck, "RWKV-6 research variant (x060a/b/c)", "gate_w1", "gate_w2", "time_maa_rkvw_w1", "time_maa_rkvw_w2"); err != nil {
			return det, err
		}
	case has("blocks.0.att.ln_x.weight"):
		det.Arch = arch.RWKV5
		switch dec := ck.Tensor("blocks.0.att.time_decay"); {
		case !has("blocks.0.att.gate.weight"):
			det.Variant = "RWKV-5.0 (preview)"
		case dec != nil && len(squeeze(dec.Shape)) >= 2:
			det.Variant = "RWKV-5.2 (Eagle)"
		default:
			det.Variant = "RWKV-5.1 (preview)"
		}
	case has("blocks.0.att.time_first") && has("blocks.0.att.time_decay") && has("blocks.0.att.time_mix_k"):
		det.Arch, det.Variant = arch.RWKV4, "RWKV-4"
		for _, t := range ck.Tensors {
			for _, research := range []string{"ffnPre", "head_q", "head_k", "pos_emb", "tiny_", ".qq.", ".kk.", ".vv.", ".oo."} {
				if strings.Contains(t.Name, research) {
					return det, fmt.Errorf("%s: tensor %q belongs to an RWKV-4 research variant (%s) that no released model uses; not supported", ck.Path, t.Name, strings.Trim(research, "._"))
				}
			}
		}
	default:
		return det, fmt.Errorf("%s: not an RWKV checkpoint: none of the keys that identify RWKV-4/5/6/7 (e.g. blocks.0.att.time_decay, blocks.0.att.ln_x.weight, blocks.0.att.time_maa_x, blocks.0.att.r_k) is present", ck.Path)
	}
	if !arch.Supported(det.Arch) {
		return det, fmt.Errorf("%s: detected %s; converting it is not yet supported by rwkv-tools (RWKV-4 to RWKV-7 are)", ck.Path, det.Variant)
	}
	d, err := dimsFromShapes(ck)
	if err != nil {
		return det, err
	}
	switch det.Arch {
	case arch.RWKV5:
		if err := v5Dims(ck, det, &d); err != nil {
			return det, err
		}
	case arch.RWKV6:
		if err := v6Dims(ck, &d); err != nil {
			return det, err
		}
	case arch.RWKV7:
		if err := v7Dims(ck, &d); err != nil {
			return det, err
		}
	}
	det.Dims = d
	if err := checkHeaderDims(ck, d); err != nil {
		return det, err
	}
	return det, nil
}

// checkHeaderDims refuses an rwkv.cpp file whose header n_vocab, n_embed
// or n_layer contradict the tensors: rwkv.cpp sizes its buffers from the
// header, so such a file is corrupt rather than merely odd.
func checkHeaderDims(ck *source.Checkpoint, d arch.Dims) error {
	if ck.Format != source.RWKVCpp {
		return nil
	}
	for _, h := range []struct {
		key  string
		dims int
	}{{"n_vocab", d.Vocab}, {"n_embed", d.Embd}, {"n_layer", d.Layers}} {
		v, ok := ck.Meta[h.key]
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(v); err != nil || n != h.dims {
			return fmt.Errorf("%s: the rwkv.cpp header says %s = %s, but the tensors give %d: corrupt header (rwkv.cpp would misread this file)", ck.Path, h.key, v, h.dims)
		}
	}
	return nil
}

// refuseResearch errors when a key contains one of the markers of a
// research variant that no released model uses.
func refuseResearch(ck *source.Checkpoint, what string, markers ...string) error {
	for _, t := range ck.Tensors {
		for _, m := range markers {
			if strings.Contains(t.Name, m) {
				return fmt.Errorf("%s: tensor %q belongs to the %s, which no released model uses; not supported", ck.Path, t.Name, what)
			}
		}
	}
	return nil
}

// dimsFromShapes derives V, C, L and F from the tensors (never hard-coded).
func dimsFromShapes(ck *source.Checkpoint) (arch.Dims, error) {
	var d arch.Dims
	emb := ck.Tensor("emb.weight")
	if emb == nil {
		return d, fmt.Errorf("%s: required tensor emb.weight is missing", ck.Path)
	}
	if len(emb.Shape) != 2 {
		return d, fmt.Errorf("%s: emb.weight has shape %v, want (vocab, n_embd)", ck.Path, emb.Shape)
	}
	d.Vocab, d.Embd = int(emb.Shape[0]), int(emb.Shape[1])
	layers := -1
	for _, t := range ck.Tensors {
		if n, ok := arch.IsLayerKey(t.Name); ok {
			layers = max(layers, n)
		}
	}
	d.Layers = layers + 1
	if d.Layers == 0 {
		return d, fmt.Errorf("%s: no blocks.N.* tensors", ck.Path)
	}
	fk := ck.Tensor("blocks.0.ffn.key.weight")
	if fk == nil {
		return d, fmt.Errorf("%s: required tensor blocks.0.ffn.key.weight is missing", ck.Path)
	}
	if len(fk.Shape) != 2 {
		return d, fmt.Errorf("%s: blocks.0.ffn.key.weight has shape %v, want (ffn, n_embd)", ck.Path, fk.Shape)
	}
	d.FFN = int(fk.Shape[0])
	if d.Vocab <= 0 || d.Embd <= 0 || d.FFN <= 0 || d.Vocab > 1<<24 || d.Embd > 1<<20 || d.FFN > 1<<22 || d.Layers > 4096 {
		return d, fmt.Errorf("%s: implausible dims %+v", ck.Path, d)
	}
	return d, nil
}

// v7Dims reads the RWKV-7 head size and LoRA ranks: H, N from att.r_k
// (H, N); ranks from layer 0's w1, a1, g1 and layer 1's v1 (layer 0 may
// have no v1). BlinkDL keeps LoRAs [in][out] (C, D); rwkv.cpp's converter
// transposed them to (D, C).
func v7Dims(ck *source.Checkpoint, d *arch.Dims) error {
	rk := ck.Tensor("blocks.0.att.r_k")
	if rk == nil {
		return fmt.Errorf("%s: required tensor blocks.0.att.r_k is missing (RWKV-7 reads the head shape from it)", ck.Path)
	}
	if len(rk.Shape) != 2 || rk.Shape[0] <= 0 || rk.Shape[1] <= 0 || rk.Shape[0]*rk.Shape[1] != int64(d.Embd) {
		return fmt.Errorf("%s: blocks.0.att.r_k has shape %v, want (heads, head_size) with heads × head_size = n_embd %d", ck.Path, rk.Shape, d.Embd)
	}
	d.HeadSize = int(rk.Shape[1])
	rank := func(key string) (int, error) {
		t := ck.Tensor(key)
		if t == nil {
			return 0, fmt.Errorf("%s: required tensor %s is missing (RWKV-7 LoRA)", ck.Path, key)
		}
		in, out := 0, 1
		if ck.Format == source.RWKVCpp {
			in, out = 1, 0
		}
		if len(t.Shape) != 2 || t.Shape[in] != int64(d.Embd) || t.Shape[out] <= 0 || t.Shape[out] > int64(d.Embd) {
			return 0, fmt.Errorf("%s: LoRA %s has shape %v; want n_embd %d on its input side", ck.Path, key, t.Shape, d.Embd)
		}
		return int(t.Shape[out]), nil
	}
	var err error
	if d.DecayLora, err = rank("blocks.0.att.w1"); err != nil {
		return err
	}
	if d.ICLRLora, err = rank("blocks.0.att.a1"); err != nil {
		return err
	}
	if d.GateLora, err = rank("blocks.0.att.g1"); err != nil {
		return err
	}
	if d.Layers > 1 {
		if d.ValueLora, err = rank("blocks.1.att.v1"); err != nil {
			return err
		}
	}
	return nil
}

// squeeze drops size-1 dims, as every reference does to the (1,1,C) vectors.
func squeeze(shape []int64) []int64 {
	out := make([]int64, 0, len(shape))
	for _, s := range shape {
		if s != 1 {
			out = append(out, s)
		}
	}
	return out
}
