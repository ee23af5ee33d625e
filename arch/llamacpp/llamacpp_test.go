package llamacpp_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch/llamacpp"
	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// convertOpen converts src with dtype and opens the result.
func convertOpen(t *testing.T, src string, dtype convert.DTypeChoice) *format.File {
	t.Helper()
	out := filepath.Join(t.TempDir(), "m.gguf")
	if _, err := convert.Convert(context.Background(), src, out, convert.Options{DType: dtype}); err != nil {
		t.Fatal(err)
	}
	f, err := format.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sources are every RWKV-6/7 reference: the BlinkDL tiny-v6/v7 and every
// rwkv.cpp 6v0/7v0 fixture (FP32, FP16, Q5 and rwkv.cpp's own quantized).
func sources(t *testing.T) []string {
	refs := []string{testutil.Shared(t, "reference", "tiny-v6-bf16.pth"), testutil.Shared(t, "reference", "tiny-v7-bf16.pth")}
	dir := testutil.Shared(t, "fixtures", "rwkvcpp")
	for _, pat := range []string{"*", "history-*/*", "quantized/*"} {
		m, err := filepath.Glob(filepath.Join(dir, pat+".bin"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			if b := filepath.Base(p); strings.HasPrefix(b, "tiny-rwkv-6v0") || strings.HasPrefix(b, "tiny-rwkv-7v0") {
				refs = append(refs, p)
			}
		}
	}
	if len(refs) < 8 {
		t.Fatalf("only %d RWKV-6/7 sources found", len(refs))
	}
	return refs
}

// TestRequiredList pins the list built from llama.cpp's loader (see the
// package comment for the source lines) for the 0.1B RWKV-7 and 1.6B
// RWKV-6 shapes.
func TestRequiredList(t *testing.T) {
	md := format.Metadata{
		"rwkv7.embedding_length": format.Uint32(768), "rwkv7.block_count": format.Uint32(12),
		"rwkv7.feed_forward_length": format.Uint32(3072), "rwkv7.wkv.head_size": format.Uint32(64),
		"rwkv7.attention.decay_lora_rank": format.Uint32(64), "rwkv7.attention.iclr_lora_rank": format.Uint32(64),
		"rwkv7.attention.value_residual_mix_lora_rank": format.Uint32(32), "rwkv7.attention.gate_lora_rank": format.Uint32(128),
		"rwkv7.vocab_size": format.Uint32(65536),
	}
	req, missing := llamacpp.Required("rwkv7", md)
	if len(missing) > 0 {
		t.Fatal(missing)
	}
	// 28 per block (lerps fused, layer 0 with v0/v1/v2) + 6 global.
	if len(req.Tensors) != 12*28+6 || len(req.Keys) != 13 {
		t.Fatalf("%d tensors, %d keys", len(req.Tensors), len(req.Keys))
	}
	find := func(name string) llamacpp.Tensor {
		i := slices.IndexFunc(req.Tensors, func(x llamacpp.Tensor) bool { return x.Name == name })
		if i < 0 {
			t.Fatalf("%s not listed", name)
		}
		return req.Tensors[i]
	}
	for name, dims := range map[string][]uint64{
		"blk.0.time_mix_v1.weight":         {768, 64}, // the iclr rank on layer 0
		"blk.1.time_mix_v1.weight":         {768, 32},
		"blk.3.time_mix_lerp_fused.weight": {768, 1, 1, 6},
		"blk.3.time_mix_r_k.weight":        {768},
		"token_embd.weight":                {768, 65536},
	} {
		if got := find(name).Dims; !slices.Equal(got, dims) {
			t.Errorf("%s: %v, want %v", name, got, dims)
		}
	}
	md6 := format.Metadata{
		"rwkv6.embedding_length": format.Uint32(2048), "rwkv6.block_count": format.Uint32(24),
		"rwkv6.feed_forward_length": format.Uint32(7168), "rwkv6.wkv.head_size": format.Uint32(64),
		"rwkv6.time_mix_extra_dim": format.Uint32(32), "rwkv6.time_decay_extra_dim": format.Uint32(64),
		"tokenizer.ggml.tokens": format.Strings(make([]string, 65536)),
	}
	req, missing = llamacpp.Required("rwkv6", md6)
	if len(missing) > 0 || len(req.Tensors) != 24*29+6 || len(req.OneOf) != 24 || len(req.Keys) != 11 {
		t.Fatalf("rwkv6: %d tensors, %d one-of groups, %d keys, missing %v", len(req.Tensors), len(req.OneOf), len(req.Keys), missing)
	}
	if _, missing := llamacpp.Required("rwkv6", format.Metadata{}); len(missing) == 0 {
		t.Fatal("no sizes missing from empty metadata")
	}
}

// TestConvertedFilesLoadInLlamaCpp: the file convert writes from every
// RWKV-6/7 reference (and a quantized one) has every key and tensor
// llama.cpp's loader requires, with llama.cpp's dims and nothing more.
func TestConvertedFilesLoadInLlamaCpp(t *testing.T) {
	for _, src := range sources(t) {
		t.Run(filepath.Base(src), func(t *testing.T) {
			f := convertOpen(t, src, convert.DTypeSource)
			if r := llamacpp.Check(f.Metadata, f.Tensors); !r.OK() {
				t.Fatalf("not llama.cpp's layout: %q", r.Problems)
			}
		})
	}
	f := convertOpen(t, testutil.Shared(t, "reference", "tiny-v7-bf16.pth"), "q8_0")
	if r := llamacpp.Check(f.Metadata, f.Tensors); !r.OK() {
		t.Fatalf("q8_0: %q", r.Problems)
	}
	// quantize keeps the layout.
	for _, ref := range []string{"tiny-v6-bf16.pth", "tiny-v7-bf16.pth"} {
		in := filepath.Join(t.TempDir(), "f32.gguf")
		if _, err := convert.Convert(context.Background(), testutil.Shared(t, "reference", ref), in, convert.Options{DType: convert.DTypeF32}); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "q4_0.gguf")
		if _, err := convert.Quantize(context.Background(), in, out, convert.QuantizeOptions{Type: quant.Q4_0}); err != nil {
			t.Fatal(err)
		}
		q, err := format.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		r := llamacpp.Check(q.Metadata, q.Tensors)
		q.Close()
		if !r.OK() {
			t.Errorf("quantized %s: %q", ref, r.Problems)
		}
	}
}

// TestCheckReportsWhy: every departure from llama.cpp's requirements is
// named (a file of the rwkv-tools-1 layout, missing or mistyped keys, a
// state-tuned tensor, rwkv4).
func TestCheckReportsWhy(t *testing.T) {
	good := convertOpen(t, testutil.Shared(t, "reference", "tiny-v7-bf16.pth"), convert.DTypeSource)
	clone := func() (format.Metadata, []format.TensorInfo) {
		md := format.Metadata{}
		for k, v := range good.Metadata {
			md[k] = v
		}
		return md, slices.Clone(good.Tensors)
	}
	// The rwkv-tools-1 layout: separate lerps, r_k (H, N), no layer-0 v's,
	// the older epsilon key, no context_length/head_count/tokenizer model.
	md, ts := clone()
	delete(md, "rwkv7.context_length")
	delete(md, "rwkv7.attention.head_count")
	delete(md, "tokenizer.ggml.model")
	md["rwkv7.layer_norm_epsilon"] = md["rwkv7.attention.layer_norm_epsilon"]
	delete(md, "rwkv7.attention.layer_norm_epsilon")
	var old []format.TensorInfo
	for _, ti := range ts {
		switch {
		case strings.HasSuffix(ti.Name, "lerp_fused.weight"):
			for _, x := range "rwkvag" {
				old = append(old, format.TensorInfo{Name: strings.Replace(ti.Name, "fused", string(x), 1), DType: ti.DType, Dims: ti.Dims[:1]})
			}
		case strings.HasSuffix(ti.Name, "r_k.weight"):
			ti.Dims = []uint64{64, 2}
			old = append(old, ti)
		case strings.HasPrefix(ti.Name, "blk.0.time_mix_v") && ti.Name != "blk.0.time_mix_value.weight":
		default:
			old = append(old, ti)
		}
	}
	r := llamacpp.Check(md, old)
	for _, want := range []string{
		"missing key rwkv7.context_length", "missing key rwkv7.attention.head_count", "missing key rwkv7.attention.layer_norm_epsilon",
		"missing key tokenizer.ggml.model", "missing tensor blk.0.time_mix_v1.weight [128 64]", "missing tensor blk.1.time_mix_lerp_fused.weight",
		"tensor blk.1.time_mix_r_k.weight has dims [64 2]; llama.cpp creates it [128]", "does not create", "blk.0.time_mix_lerp_r.weight",
	} {
		if !slices.ContainsFunc(r.Problems, func(p string) bool { return strings.Contains(p, want) }) {
			t.Errorf("no problem mentions %q: %q", want, r.Problems)
		}
	}
	md, ts = clone()
	md["rwkv7.context_length"] = format.Uint64(1 << 20)
	md["tokenizer.ggml.model"] = format.String("gpt2")
	if r := llamacpp.Check(md, ts); len(r.Problems) != 3 || !strings.Contains(r.Problems[0], "rwkv7.context_length is u64; llama.cpp reads u32") ||
		!strings.Contains(r.Problems[1], "without tokenizer.ggml.tokens") || !strings.Contains(r.Problems[2], "without tokenizer.ggml.merges") {
		t.Errorf("%q", r.Problems)
	}
	v6 := convertOpen(t, testutil.Shared(t, "reference", "tiny-v6-bf16.pth"), convert.DTypeSource)
	tuned := append(slices.Clone(v6.Tensors), format.TensorInfo{Name: "blk.0.time_mix_state.weight", Dims: []uint64{64, 64, 2}})
	if r := llamacpp.Check(v6.Metadata, tuned); len(r.Problems) != 1 || !strings.Contains(r.Problems[0], "blk.0.time_mix_state.weight") {
		t.Errorf("state-tuned: %q", r.Problems)
	}
	// rwkv6 loads with the five lerps separate too (TENSOR_NOT_REQUIRED), not with neither.
	var sep, neither []format.TensorInfo
	for _, ti := range v6.Tensors {
		if !strings.HasSuffix(ti.Name, "lerp_fused.weight") {
			sep, neither = append(sep, ti), append(neither, ti)
			continue
		}
		for _, x := range "wkvrg" {
			sep = append(sep, format.TensorInfo{Name: strings.Replace(ti.Name, "fused", string(x), 1), Dims: []uint64{128}})
		}
	}
	if r := llamacpp.Check(v6.Metadata, sep); !r.OK() {
		t.Errorf("separate rwkv6 lerps: %q", r.Problems)
	}
	if r := llamacpp.Check(v6.Metadata, neither); r.OK() || !strings.Contains(strings.Join(r.Problems, " "), "none of blk.0.time_mix_lerp_fused.weight, blk.0.time_mix_lerp_w.weight") {
		t.Errorf("no lerps: %q", r.Problems)
	}
	v4 := convertOpen(t, testutil.Shared(t, "reference", "tiny-v4-bf16.pth"), convert.DTypeSource)
	if r := llamacpp.Check(v4.Metadata, v4.Tensors); r.OK() || !strings.Contains(r.Problems[0], "no rwkv4 architecture") {
		t.Errorf("rwkv4: %+v", r)
	}
}
