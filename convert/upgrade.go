package convert

import (
	"errors"
	"fmt"
	"slices"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
)

// layoutSource is one tensor of the file quantize writes and where its
// bytes come from: the input tensors named by parts, concatenated (one
// part but for a fused token-shift tensor). info has the output name and
// dims and the input's type.
type layoutSource struct {
	info  format.TensorInfo
	parts []string
}

// llamaCppSources lists the tensors of f in llama.cpp's layout, with the
// metadata to write. A file already in it (and every rwkv4/rwkv5 file) is
// kept as is; an rwkv6/rwkv7 file of the rwkv-tools-1 layout is mapped
// through the arch table (docs/FORMAT.md, "llama.cpp's layout and ours"):
// its separate lerps become the fused tensor's rows, rwkv7's r_k is 1-D
// and layer 0 gains the copies of a0/a1/a2; the keys llama.cpp requires
// are added. upgraded says whether anything changed.
func llamaCppSources(f *format.File, archName string) (srcs []layoutSource, md format.Metadata, upgraded bool, err error) {
	has := func(name string) bool { _, ok := f.Lookup(name); return ok }
	if (archName != arch.RWKV6 && archName != arch.RWKV7) || arch.DetectLayout(archName, has) == arch.LayoutLlamaCpp {
		for _, ti := range f.Tensors {
			srcs = append(srcs, layoutSource{info: ti, parts: []string{ti.Name}})
		}
		return srcs, f.Metadata, false, nil
	}
	d, err := fileDims(f, archName)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s file of rwkv-tools' earlier layout: %w", archName, err)
	}
	d.Layout = arch.LayoutRWKVTools1
	old, err := arch.Tensors(archName, d)
	if err != nil {
		return nil, nil, false, err
	}
	if len(old) != len(f.Tensors) || slices.ContainsFunc(old, func(t arch.Tensor) bool { return !has(t.Name) }) {
		return nil, nil, false, fmt.Errorf("%s file in neither llama.cpp's layout nor rwkv-tools' earlier one (%d tensors, the earlier layout has %d)", archName, len(f.Tensors), len(old))
	}
	d.Layout = arch.LayoutLlamaCpp
	cur, err := arch.Tensors(archName, d)
	if err != nil {
		return nil, nil, false, err
	}
	for _, t := range cur {
		var parts []string
		switch {
		case has(t.Name):
			parts = []string{t.Name}
		case len(t.Parts) > 0:
			for _, p := range t.Parts {
				parts = append(parts, p.Name)
			}
		default: // layer 0's v0/v1/v2: the tensor of the same source (a0/a1/a2)
			i := slices.IndexFunc(old, func(o arch.Tensor) bool { return o.Source == t.Source })
			if i < 0 {
				return nil, nil, false, fmt.Errorf("%s: no tensor for %s in the earlier layout", archName, t.Name)
			}
			parts = []string{old[i].Name}
		}
		first, _ := f.Lookup(parts[0])
		info := format.TensorInfo{Name: t.Name, DType: first.DType, Dims: t.GGUFDims()}
		var n uint64
		for _, p := range parts {
			ti, _ := f.Lookup(p)
			if ti.DType != first.DType {
				return nil, nil, false, fmt.Errorf("%s: %s is %v but %s is %v; the rows of %s need one type", archName, p, ti.DType, parts[0], first.DType, t.Name)
			}
			n += ti.NumElements()
		}
		if n != info.NumElements() {
			return nil, nil, false, fmt.Errorf("%s: %s needs %d elements, %v hold %d", archName, t.Name, info.NumElements(), parts, n)
		}
		srcs = append(srcs, layoutSource{info: info, parts: parts})
	}
	md = format.Metadata{}
	for k, v := range f.Metadata {
		md[k] = v
	}
	if v, ok := md[arch.Key(archName, "layer_norm_epsilon")]; ok {
		md[arch.Key(archName, arch.KeyLayerNormEps)] = v
		delete(md, arch.Key(archName, "layer_norm_epsilon"))
	}
	md[arch.Key(archName, arch.KeyContextLen)] = format.Uint32(arch.ContextLength)
	md[arch.Key(archName, arch.KeyHeadCount)] = format.Uint32(0)
	if _, ok := md[arch.Key(archName, arch.KeyRescaleEvery)]; archName == arch.RWKV6 && !ok {
		md[arch.Key(archName, arch.KeyRescaleEvery)] = format.Uint32(0)
	}
	if _, ok := md[KeyTokModel]; !ok {
		md[KeyTokModel] = format.String(TokModelNone)
	}
	return srcs, md, true, nil
}

// fileDims reads the dims of an rwkv6/rwkv7 file from its metadata (the
// keys every rwkv-tools file carries).
func fileDims(f *format.File, archName string) (arch.Dims, error) {
	var d arch.Dims
	type dimKey struct {
		key string
		dst *int
	}
	keys := []dimKey{
		{arch.KeyVocabSize, &d.Vocab}, {arch.KeyEmbeddingLen, &d.Embd}, {arch.KeyBlockCount, &d.Layers},
		{arch.KeyFeedForwardLen, &d.FFN}, {arch.KeyHeadSize, &d.HeadSize},
	}
	if archName == arch.RWKV6 {
		keys = append(keys, dimKey{arch.KeyTimeMixExtraDim, &d.MixLora}, dimKey{arch.KeyTimeDecayExtraDim, &d.DecayLora})
	} else {
		keys = append(keys, dimKey{arch.KeyDecayLoraRank, &d.DecayLora}, dimKey{arch.KeyICLRLoraRank, &d.ICLRLora},
			dimKey{arch.KeyValueLoraRank, &d.ValueLora}, dimKey{arch.KeyGateLoraRank, &d.GateLora})
	}
	var errs []error
	for _, k := range keys {
		v, err := f.Metadata.Uint(arch.Key(archName, k.key))
		if err != nil || v > 1<<24 {
			errs = append(errs, fmt.Errorf("%s: %v", arch.Key(archName, k.key), err))
			continue
		}
		*k.dst = int(v)
	}
	_, d.StateTuned = f.Lookup(arch.LayerName(0, arch.RWKV6StateTensor))
	return d, errors.Join(errs...)
}
