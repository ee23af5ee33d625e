package convert

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// This file resolves the tensors of llama.cpp's layout (arch.LayoutLlamaCpp)
// that are not one checkpoint tensor stored as is, each as llama.cpp's
// convert_hf_to_gguf.py writes it (Rwkv6Model / Rwkv7Model.modify_tensors):
//
//   - time_mix_lerp_fused: the token-shift vectors stacked, one row each
//     (rwkv6 w,k,v,r,g; rwkv7 r,w,k,v,a,g). rwkv.cpp's RWKV-7 files hold
//     the same six rows, in the same order, as att.x_rwkvag.
//   - rwkv7 time_mix_r_k: (H, N) flattened to (C), the same values.
//   - rwkv7 layer 0's time_mix_v0/v1/v2: copies of a0/a1/a2 ("dummy
//     v0/v1/v2 on first layer"; the model never reads them).

// resolveLayout returns the plan of spec when it is one of the above; ok is
// false for every other tensor.
func resolveLayout(ck *source.Checkpoint, det Detection, spec arch.Tensor) (p plannedTensor, ok bool, err error) {
	p.spec = spec
	switch {
	case len(spec.Parts) > 0:
		return resolveFused(ck, det, spec)
	case spec.SourceShape != nil:
		src := ck.Tensor(spec.Source)
		if src == nil {
			return p, true, fmt.Errorf("%s: required tensor %s is missing (%s with %d layers)", ck.Path, spec.Source, det.Variant, det.Dims.Layers)
		}
		if !slices.Equal(squeeze(src.Shape), squeeze(spec.SourceShape)) {
			return p, true, fmt.Errorf("%s: tensor %s has shape %v, want %v%s", ck.Path, src.Name, src.Shape, spec.SourceShape, v7DimsText(det))
		}
		p.src = src
		p.derived = fmt.Sprintf("flatten(%s) (%v to %v, llama.cpp's shape)", src.Name, spec.SourceShape, spec.Shape)
		p.build = func() ([]float32, error) { return readF32(src) }
		return p, true, nil
	case det.Arch == arch.RWKV7 && spec.Layer == 0 && strings.Contains(spec.Source, ".att.a") &&
		strings.Contains(spec.Name, ".time_mix_v"):
		// The copy takes a0/a1/a2 through the generic path (a LoRA is
		// transposed like a1/a2 themselves).
		q, err := resolveStored(ck, det, spec)
		if err != nil {
			return q, true, err
		}
		what := "copy of " + spec.Source
		if q.derived != "" {
			what += ", " + q.derived
		}
		build := q.build
		if build == nil {
			src := q.src
			build = func() ([]float32, error) { return readF32(src) }
		}
		q.derived = what + " (llama.cpp's placeholder: layer 0 has no value residual)"
		q.build = build
		return q, true, nil
	}
	return p, false, nil
}

// resolveFused stacks the parts of a fused token-shift tensor.
func resolveFused(ck *source.Checkpoint, det Detection, spec arch.Tensor) (p plannedTensor, ok bool, err error) {
	p.spec = spec
	C := int64(det.Dims.Embd)
	prefix, _, _ := strings.Cut(spec.Parts[0].Source, ".att.")
	if rwkvag := ck.Tensor(prefix + ".att.x_rwkvag"); det.Arch == arch.RWKV7 && rwkvag != nil && ck.Tensor(spec.Parts[0].Source) == nil {
		if !slices.Equal(squeeze(rwkvag.Shape), []int64{6, C}) {
			return p, true, fmt.Errorf("%s: tensor %s has shape %v, want (6, 1, %d) (x_r, x_w, x_k, x_v, x_a, x_g)", ck.Path, rwkvag.Name, rwkvag.Shape, C)
		}
		p.src, p.derived = rwkvag, rwkvag.Name+" (rwkv.cpp's fused x_r,x_w,x_k,x_v,x_a,x_g: llama.cpp's row order)"
		p.build = func() ([]float32, error) { return readF32(rwkvag) }
		return p, true, nil
	}
	srcs := make([]*source.Tensor, len(spec.Parts))
	names := make([]string, len(spec.Parts))
	for i, part := range spec.Parts {
		t := ck.Tensor(part.Source)
		if t == nil {
			return p, true, fmt.Errorf("%s: required tensor %s is missing (%s with %d layers)", ck.Path, part.Source, det.Variant, det.Dims.Layers)
		}
		if !slices.Equal(squeeze(t.Shape), []int64{C}) {
			return p, true, fmt.Errorf("%s: tensor %s has shape %v, want (1, 1, %d)", ck.Path, t.Name, t.Shape, C)
		}
		srcs[i], names[i] = t, t.Name
	}
	p.src = srcs[0]
	p.derived = "stack(" + strings.Join(names, ", ") + ") (llama.cpp's fused token shift)"
	p.build = func() ([]float32, error) {
		out := make([]float32, 0, int64(len(srcs))*C)
		for _, t := range srcs {
			v, err := readF32(t)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
		}
		return out, nil
	}
	return p, true, nil
}
