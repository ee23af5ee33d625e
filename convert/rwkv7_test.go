package convert

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestConvertV7BlinkDL: metadata, dtype policy, LoRA transposition and
// llama.cpp's layout of a BlinkDL RWKV-7 checkpoint: the checkpoint's
// layer-0 v0/v1/v2 are dropped and replaced by copies of a0/a1/a2, the six
// lerps are fused, r_k is 1-D.
func TestConvertV7BlinkDL(t *testing.T) {
	in := testutil.Shared(t, "reference", "tiny-v7-bf16.pth")
	out, rep := convertTo(t, in, DTypeF16)
	f, err := format.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for key, want := range map[string]string{
		"general.architecture": `"rwkv7"`, "rwkv7.vocab_size": "1024", "rwkv7.embedding_length": "128",
		"rwkv7.block_count": "2", "rwkv7.feed_forward_length": "512", "rwkv7.wkv.head_size": "64",
		"rwkv7.attention.decay_lora_rank": "64", "rwkv7.attention.iclr_lora_rank": "64",
		"rwkv7.attention.value_residual_mix_lora_rank": "32", "rwkv7.attention.gate_lora_rank": "128",
		"general.file_type": "1",
	} {
		if got := f.Metadata[key].Format(); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if eps, err := f.Metadata.Float("rwkv7.attention.group_norm_epsilon"); err != nil || float32(eps) != 64e-5 {
		t.Errorf("group norm eps %v %v", eps, err)
	}
	// 2 layers × 28 tensors (six lerps fused into one) + 6 global.
	if len(f.Tensors) != 2*28+6 || len(rep.Tensors) != len(f.Tensors) {
		t.Errorf("%d tensors (report %d)", len(f.Tensors), len(rep.Tensors))
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool {
		return strings.Contains(n, "dropped blocks.0.att.v0, blocks.0.att.v1, blocks.0.att.v2")
	}) {
		t.Errorf("notes %q do not mention the dropped layer-0 v0/v1/v2", rep.Notes)
	}
	// Layer 0's v0/v1/v2 are a0/a1/a2 (llama.cpp's converter's copies).
	for _, x := range []string{"0", "1", "2"} {
		v, vd := f32Values(t, f, "blk.0.time_mix_v"+x+".weight")
		a, ad := f32Values(t, f, "blk.0.time_mix_a"+x+".weight")
		if !slices.Equal(v, a) || !slices.Equal(vd, ad) {
			t.Errorf("blk.0.time_mix_v%s is not a copy of a%s", x, x)
		}
	}
	fused, dims := f32Values(t, f, "blk.1.time_mix_lerp_fused.weight")
	if !slices.Equal(dims, []uint64{128, 1, 1, 6}) {
		t.Fatalf("fused lerp dims %v", dims)
	}
	for i, x := range []string{"r", "w", "k", "v", "a", "g"} {
		want, _ := srcValues(t, in, "blocks.1.att.x_"+x)
		if !slices.Equal(fused[i*128:(i+1)*128], want) {
			t.Errorf("row %d of time_mix_lerp_fused is not x_%s", i, x)
		}
	}
	rk, dims := f32Values(t, f, "blk.1.time_mix_r_k.weight")
	if want, _ := srcValues(t, in, "blocks.1.att.r_k"); !slices.Equal(dims, []uint64{128}) || !slices.Equal(rk, want) {
		t.Errorf("r_k: dims %v, or values differ", dims)
	}
	for _, ti := range f.Tensors {
		want := quant.F32 // vectors and LoRAs
		switch {
		case strings.HasSuffix(ti.Name, "_key.weight"), strings.HasSuffix(ti.Name, "_value.weight"),
			strings.HasSuffix(ti.Name, "_receptance.weight"), strings.HasSuffix(ti.Name, "_output.weight"),
			ti.Name == "output.weight", ti.Name == "token_embd.weight":
			want = quant.F16
		}
		if ti.DType != want {
			t.Errorf("%s: %v, want %v", ti.Name, ti.DType, want)
		}
	}
	// LoRAs are stored [out][in]: element (o, i) is the checkpoint's w1[i][o].
	for _, c := range []struct{ gguf, src string }{
		{"blk.1.time_mix_w1.weight", "blocks.1.att.w1"}, {"blk.1.time_mix_w2.weight", "blocks.1.att.w2"},
		{"blk.1.time_mix_v1.weight", "blocks.1.att.v1"}, {"blk.0.time_mix_g2.weight", "blocks.0.att.g2"},
	} {
		got, dims := f32Values(t, f, c.gguf)
		want, shape := srcValues(t, in, c.src)
		if dims[0] != uint64(shape[0]) || dims[1] != uint64(shape[1]) {
			t.Fatalf("%s: GGUF dims %v for source shape %v (want [in, out] = %v)", c.gguf, dims, shape, shape)
		}
		in, out := int(shape[0]), int(shape[1])
		for i := 0; i < in; i++ {
			for o := 0; o < out; o++ {
				if got[o*in+i] != want[i*out+o] {
					t.Fatalf("%s[%d][%d] = %g, want %s[%d][%d] = %g", c.gguf, o, i, got[o*in+i], c.src, i, o, want[i*out+o])
				}
			}
		}
	}
	// The same tensors as safetensors, with or without layer 0's unused
	// v0/v1/v2, give the same model.
	_, ref := modelContent(t, out)
	for _, drop := range []bool{false, true} {
		ts := ckptTensors(t, in)
		if n := len(ts); n != 2*33+6 {
			t.Fatalf("%d tensors in the checkpoint", n)
		}
		if drop {
			ts = slices.DeleteFunc(ts, func(x stTensor) bool { return arch.Unused(arch.RWKV7, x.name) })
		}
		st := filepath.Join(t.TempDir(), "m.safetensors")
		writeSafetensors(t, st, ts)
		o, _ := convertTo(t, st, DTypeF16)
		_, got := modelContent(t, o)
		if len(got) != len(ref) {
			t.Fatalf("drop=%v: %d tensors, want %d", drop, len(got), len(ref))
		}
		for name, b := range ref {
			if string(got[name]) != string(b) {
				t.Errorf("drop=%v: %s differs", drop, name)
			}
		}
	}
}

// TestConvertV7RWKVCpp: rwkv.cpp's fused att.x_rwkvag is llama.cpp's
// time_mix_lerp_fused (same row order r,w,k,v,a,g), its LoRAs (already [out][in]) are copied, and its Q5 matrices
// stay in their blocks with --dtype source.
func TestConvertV7RWKVCpp(t *testing.T) {
	dir := testutil.Shared(t, "fixtures", "rwkvcpp")
	in := filepath.Join(dir, "tiny-rwkv-7v0-834K-FP32.bin")
	f, _ := convertOpen(t, in, DTypeSource)
	if got := f.Metadata["rwkv7.wkv.head_size"].Format(); got != "64" {
		t.Errorf("head size %s", got)
	}
	fused, _ := srcValues(t, in, "blocks.3.att.x_rwkvag")
	if got, dims := f32Values(t, f, "blk.3.time_mix_lerp_fused.weight"); !slices.Equal(got, fused) || !slices.Equal(dims, []uint64{64, 1, 1, 6}) {
		t.Errorf("time_mix_lerp_fused (dims %v) is not x_rwkvag", dims)
	}
	// Layer 0: rwkv.cpp files have no v0/v1/v2; the copies of a0/a1/a2 are written.
	if v, _ := f32Values(t, f, "blk.0.time_mix_v1.weight"); v == nil {
		t.Error("no blk.0.time_mix_v1")
	}
	got, _ := f32Values(t, f, "blk.3.time_mix_a1.weight")
	want, _ := srcValues(t, in, "blocks.3.att.a1")
	if !slices.Equal(got, want) {
		t.Error("rwkv.cpp a1 changed on conversion")
	}
	fq, _ := convertOpen(t, filepath.Join(dir, "tiny-rwkv-7v0-834K-Q5_1.bin"), DTypeSource)
	for _, ti := range fq.Tensors {
		want := quant.F32
		if strings.HasSuffix(ti.Name, "_key.weight") || strings.HasSuffix(ti.Name, "_value.weight") ||
			strings.HasSuffix(ti.Name, "_receptance.weight") || strings.HasSuffix(ti.Name, "_output.weight") {
			want = quant.Q5_1
		}
		if ti.DType != want {
			t.Errorf("%s: %v, want %v", ti.Name, ti.DType, want)
		}
	}
}

// TestRejectsBadV7 refuses malformed RWKV-7 checkpoints with a message
// naming the problem, and writes nothing.
func TestRejectsBadV7(t *testing.T) {
	in := testutil.Shared(t, "reference", "tiny-v7-bf16.pth")
	edit := func(f func(ts []stTensor) []stTensor) ckptMaker { return ckptEdit(in, f) }
	without := func(name string) ckptMaker { return ckptWithout(in, name) }
	reshape := func(name string, shape ...int64) ckptMaker { return ckptReshape(in, name, shape...) }
	checkRejects(t, []rejectCase{
		{"missing LoRA (layer 1)", without("blocks.1.att.a1"), "blocks.1.att.a1 is missing"},
		{"missing LoRA (layer 0, read for dims)", without("blocks.0.att.w1"), "blocks.0.att.w1 is missing"},
		{"missing value LoRA of layer 1", without("blocks.1.att.v1"), "blocks.1.att.v1 is missing"},
		{"missing r_k", without("blocks.0.att.r_k"), "blocks.0.att.r_k is missing"},
		{"inconsistent head shape", reshape("blocks.1.att.r_k", 4, 32), "blocks.1.att.r_k has shape [4 32]"},
		{"head shape not n_embd", reshape("blocks.0.att.r_k", 128), "blocks.0.att.r_k has shape [128]"},
		{"LoRA of the wrong orientation", reshape("blocks.1.att.w1", 64, 128), "blocks.1.att.w1 has shape [64 128]"},
		{"LoRA rank differing between layers", reshape("blocks.1.att.g1", 256, 64), "blocks.1.att.g1 has shape [256 64]"},
		{"both x_r and x_rwkvag", edit(func(ts []stTensor) []stTensor {
			var x stTensor
			for _, t := range ts {
				if t.name == "blocks.0.att.x_r" {
					x = t
				}
			}
			var data []byte
			for range 6 {
				data = append(data, x.data...)
			}
			return append(ts, stTensor{"blocks.0.att.x_rwkvag", x.dtype, []int64{6, 1, 128}, data})
		}), "unexpected tensor \"blocks.0.att.x_rwkvag\""},
	})
}

// TestV7ReferenceFilesAreRoundings pins down why the engine's reference
// test holds the fp16 and fp32 tiny-v7 files to a looser tolerance than the
// bf16 file: the logits are those of the bf16 file, which is the fp32
// file's weights rounded to nearest-even bf16 bit for bit, and the fp16
// file is the same weights rounded to f16. Different weights, not a
// different reading of them.
func TestV7ReferenceFilesAreRoundings(t *testing.T) {
	f32 := ckptTensors(t, testutil.Shared(t, "reference", "tiny-v7-fp32.pth"))
	for _, c := range []struct {
		file  string
		round func(float32) uint16
	}{{"tiny-v7-bf16.pth", quant.F32ToBF16}, {"tiny-v7-fp16.pth", quant.F32ToF16}} {
		other := map[string][]byte{}
		for _, x := range ckptTensors(t, testutil.Shared(t, "reference", c.file)) {
			other[x.name] = x.data
		}
		if len(other) != len(f32) {
			t.Fatalf("%s: %d tensors, fp32 file %d", c.file, len(other), len(f32))
		}
		for _, x := range f32 {
			o := other[x.name]
			if x.dtype != "F32" || len(o) != len(x.data)/2 {
				t.Fatalf("%s: %s: %s, %d vs %d bytes", c.file, x.name, x.dtype, len(o), len(x.data))
			}
			for i := 0; i < len(o)/2; i++ {
				u := c.round(math.Float32frombits(binary.LittleEndian.Uint32(x.data[4*i:])))
				if u != binary.LittleEndian.Uint16(o[2*i:]) {
					t.Fatalf("%s: %s[%d] is not the rounded fp32 value", c.file, x.name, i)
				}
			}
		}
	}
}
