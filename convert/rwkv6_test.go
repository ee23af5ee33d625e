package convert

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestConvertV6BlinkDL: metadata, dtype policy and LoRA orientation of a
// BlinkDL RWKV-6 checkpoint: time_maa_w1 (C, 5·Dm), time_decay_w1 (C, Dd)
// and time_decay_w2 (Dd, C) are transposed, time_maa_w2 (5, Dm, C) becomes
// (5, C, Dm); time_decay stays raw.
func TestConvertV6BlinkDL(t *testing.T) {
	in := testutil.Shared(t, "reference", "tiny-v6-bf16.pth")
	f, rep := convertOpen(t, in, DTypeF16)
	for key, want := range map[string]string{
		"general.architecture": `"rwkv6"`, "rwkv6.vocab_size": "1024", "rwkv6.embedding_length": "128",
		"rwkv6.block_count": "2", "rwkv6.feed_forward_length": "448", "rwkv6.wkv.head_size": "64",
		"rwkv6.time_mix_extra_dim": "32", "rwkv6.time_decay_extra_dim": "64", "general.file_type": "1",
	} {
		if got := f.Metadata[key].Format(); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if eps, err := f.Metadata.Float("rwkv6.attention.group_norm_epsilon"); err != nil || float32(eps) != 64e-5 {
		t.Errorf("group norm eps %v %v", eps, err)
	}
	// llama.cpp's layout: lerp_x plus time_mix_lerp_fused (w,k,v,r,g).
	if len(f.Tensors) != 2*24+6 || len(rep.Tensors) != len(f.Tensors) {
		t.Errorf("%d tensors (report %d)", len(f.Tensors), len(rep.Tensors))
	}
	for _, ti := range f.Tensors {
		want := quant.F32 // vectors and LoRAs
		switch {
		case strings.HasSuffix(ti.Name, "_key.weight"), strings.HasSuffix(ti.Name, "_value.weight"),
			strings.HasSuffix(ti.Name, "_receptance.weight"), strings.HasSuffix(ti.Name, "_output.weight"),
			strings.HasSuffix(ti.Name, "_gate.weight"), ti.Name == "output.weight", ti.Name == "token_embd.weight":
			want = quant.F16
		}
		if ti.DType != want {
			t.Errorf("%s: %v, want %v", ti.Name, ti.DType, want)
		}
	}
	// Every LoRA slice is stored [out][in]: element (o, i) is src[b][i][o].
	for _, c := range []struct{ gguf, src string }{
		{"blk.1.time_mix_w1.weight", "blocks.1.att.time_maa_w1"}, {"blk.1.time_mix_w2.weight", "blocks.1.att.time_maa_w2"},
		{"blk.0.time_mix_decay_w1.weight", "blocks.0.att.time_decay_w1"}, {"blk.1.time_mix_decay_w2.weight", "blocks.1.att.time_decay_w2"},
	} {
		got, dims := f32Values(t, f, c.gguf)
		want, shape := srcValues(t, in, c.src)
		n := len(shape)
		if dims[0] != uint64(shape[n-2]) || dims[1] != uint64(shape[n-1]) {
			t.Fatalf("%s: GGUF dims %v for source shape %v", c.gguf, dims, shape)
		}
		in, out := int(shape[n-2]), int(shape[n-1])
		for b := 0; b < len(want); b += in * out {
			for i := 0; i < in; i++ {
				for o := 0; o < out; o++ {
					if g, w := got[b+o*in+i], want[b+i*out+o]; g != w {
						t.Fatalf("%s[%d][%d][%d] = %g, want %g", c.gguf, b/(in*out), o, i, g, w)
					}
				}
			}
		}
	}
	got, _ := f32Values(t, f, "blk.1.time_mix_decay.weight")
	want, _ := srcValues(t, in, "blocks.1.att.time_decay")
	if !slices.Equal(got, want) {
		t.Error("time_decay is not stored raw")
	}
	// time_mix_lerp_fused {C, 1, 1, 5}: rows time_maa_w, k, v, r, g.
	fused, dims := f32Values(t, f, "blk.1.time_mix_lerp_fused.weight")
	if !slices.Equal(dims, []uint64{128, 1, 1, 5}) {
		t.Fatalf("fused lerp dims %v", dims)
	}
	for i, x := range []string{"w", "k", "v", "r", "g"} {
		want, _ := srcValues(t, in, "blocks.1.att.time_maa_"+x)
		if !slices.Equal(fused[i*128:(i+1)*128], want) {
			t.Errorf("row %d of time_mix_lerp_fused is not time_maa_%s", i, x)
		}
	}
}

// TestConvertV6RWKVCpp: rwkv.cpp's RWKV-6 files hold the LoRAs [out][in]
// already (copied; the Q5 files' quantized time_maa_w1 and time_decay_w1/w2
// become F32) and time_decay reshaped (H, N, 1) (stored as (C)).
func TestConvertV6RWKVCpp(t *testing.T) {
	for _, name := range []string{"history-edea0c2/tiny-rwkv-6v0-1m-FP32.bin", "tiny-rwkv-6v0-3m-Q5_1.bin"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			in := testutil.Shared(t, append([]string{"fixtures", "rwkvcpp"}, strings.Split(name, "/")...)...)
			f, _ := convertOpen(t, in, DTypeSource)
			if eps, err := f.Metadata.Float("rwkv6.attention.group_norm_epsilon"); err != nil || float32(eps) != 64e-5 {
				t.Errorf("group norm eps %v %v (rwkv.cpp uses 64e-5 for v6)", eps, err)
			}
			for _, c := range []struct{ gguf, src string }{
				{"blk.1.time_mix_w1.weight", "blocks.1.att.time_maa_w1"}, {"blk.1.time_mix_w2.weight", "blocks.1.att.time_maa_w2"},
				{"blk.0.time_mix_decay_w1.weight", "blocks.0.att.time_decay_w1"}, {"blk.1.time_mix_decay.weight", "blocks.1.att.time_decay"},
			} {
				ti, _ := f.Lookup(c.gguf)
				if ti.DType != quant.F32 {
					t.Errorf("%s stored as %v", c.gguf, ti.DType)
				}
				got, _ := f32Values(t, f, c.gguf)
				want, _ := srcValues(t, in, c.src)
				if !slices.Equal(got, want) {
					t.Errorf("%s is not %s as stored", c.gguf, c.src)
				}
			}
		})
	}
}

// TestRejectsBadV6 refuses malformed RWKV-6 checkpoints with a message
// naming the problem, and writes nothing.
func TestRejectsBadV6(t *testing.T) {
	in := testutil.Shared(t, "reference", "tiny-v6-bf16.pth")
	without := func(name string) ckptMaker { return ckptWithout(in, name) }
	reshape := func(name string, shape ...int64) ckptMaker { return ckptReshape(in, name, shape...) }
	checkRejects(t, []rejectCase{
		{"missing LoRA (layer 1)", without("blocks.1.att.time_decay_w2"), "blocks.1.att.time_decay_w2 is missing"},
		{"missing LoRA (layer 0, read for dims)", without("blocks.0.att.time_maa_w1"), "blocks.0.att.time_maa_w1 is missing"},
		{"missing bonus (read for the head shape)", without("blocks.0.att.time_faaaa"), "blocks.0.att.time_faaaa is missing"},
		{"head shape not n_embd", reshape("blocks.0.att.time_faaaa", 128), "blocks.0.att.time_faaaa has shape [128]"},
		{"inconsistent head shape", reshape("blocks.1.att.time_faaaa", 4, 32), "blocks.1.att.time_faaaa has shape [4 32]"},
		{"LoRA of the wrong orientation", reshape("blocks.1.att.time_decay_w1", 64, 128), "blocks.1.att.time_decay_w1 has shape [64 128]"},
		{"mix LoRA slices of the wrong orientation", reshape("blocks.1.att.time_maa_w2", 5, 128, 32), "blocks.1.att.time_maa_w2 has shape [5 128 32]"},
		{"mix LoRA of the wrong orientation (layer 0, read for dims)", reshape("blocks.0.att.time_maa_w1", 160, 128), "time_maa_w1 has shape [160 128]"},
	})
}

// TestConvertV6StateTuned: att.time_state (H, N, N), stored [value][key],
// becomes blk.l.time_mix_state.weight in the engine's [key][value] order
// (F32); a state-tuned file missing it on one block is refused.
func TestConvertV6StateTuned(t *testing.T) {
	base := ckptTensors(t, testutil.Shared(t, "reference", "tiny-v6-bf16.pth"))
	const H, N = 2, 64
	withState := func(layers ...int) []stTensor {
		ts := slices.Clone(base)
		for _, l := range layers {
			data := make([]byte, 2*H*N*N)
			for i := 0; i < H*N*N; i++ {
				binary.LittleEndian.PutUint16(data[2*i:], quant.F32ToBF16(float32(i%97)/50-1+float32(l)))
			}
			ts = append(ts, stTensor{fmt.Sprintf("blocks.%d.att.time_state", l), "BF16", []int64{H, N, N}, data})
		}
		return ts
	}
	p := filepath.Join(t.TempDir(), "tuned.safetensors")
	writeSafetensors(t, p, withState(0, 1))
	f, _ := convertOpen(t, p, DTypeSource)
	for l := 0; l < 2; l++ {
		got, dims := f32Values(t, f, fmt.Sprintf("blk.%d.time_mix_state.weight", l))
		if !slices.Equal(dims, []uint64{N, N, H}) {
			t.Fatalf("dims %v", dims)
		}
		want, _ := srcValues(t, p, fmt.Sprintf("blocks.%d.att.time_state", l))
		for h := 0; h < H; h++ {
			for i := 0; i < N; i++ {
				for j := 0; j < N; j++ {
					if g, w := got[h*N*N+i*N+j], want[h*N*N+j*N+i]; g != w {
						t.Fatalf("layer %d S[%d][%d][%d] = %g, want time_state[%d][%d][%d] = %g", l, h, i, j, g, h, j, i, w)
					}
				}
			}
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.safetensors")
	writeSafetensors(t, bad, withState(0))
	outDir := t.TempDir()
	if _, err := Convert(context.Background(), bad, filepath.Join(outDir, "o.gguf"), Options{}); err == nil || !strings.Contains(err.Error(), "blocks.1.att.time_state is missing") {
		t.Errorf("err = %v", err)
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
		t.Errorf("output written: %v", ents)
	}
}
