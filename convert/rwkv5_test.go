package convert

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestConvertV5: metadata (head size, GroupNorm eps by source, gate flag),
// the dtype policy and the per-channel decay/bonus of every RWKV-5 layout:
// BlinkDL 5.2 (H, N) raw, rwkv.cpp 5.2 (H, N, 1) and rwkv.cpp "5v1"
// (ChatRWKV 5.0: (H, 1, 1), time_first, no gate) already transformed.
func TestConvertV5(t *testing.T) {
	for _, c := range []struct {
		file     string
		head     int
		eps      float64
		gate     bool
		variant  string
		decay    func(src float64) float64 // stored decay from a source value
		first    string                    // source key of u
		firstFn  func(src float64) float64
		perHead  bool
		fromType quant.DType
	}{
		{"reference/tiny-v5-bf16.pth", 64, 64e-5, true, "RWKV-5.2", func(x float64) float64 { return math.Exp(-math.Exp(x)) },
			"time_faaaa", func(x float64) float64 { return x }, false, quant.BF16},
		{"fixtures/rwkvcpp/tiny-rwkv-5v2-730K-FP16.bin", 8, 1e-5, true, "RWKV-5.2", func(x float64) float64 { return x },
			"time_faaaa", func(x float64) float64 { return x }, false, quant.F16},
		{"fixtures/rwkvcpp/tiny-rwkv-5v1-730K-FP32.bin", 8, 1e-5, false, "RWKV-5.0", func(x float64) float64 { return x },
			"time_first", func(x float64) float64 { return x }, true, quant.F32},
	} {
		t.Run(filepath.Base(c.file), func(t *testing.T) {
			in := testutil.Shared(t, strings.Split(c.file, "/")...)
			f, rep := convertOpen(t, in, DTypeF16)
			if !strings.HasPrefix(rep.Detection.Variant, c.variant) {
				t.Errorf("variant %q, want %s", rep.Detection.Variant, c.variant)
			}
			if a, _ := f.Metadata.String("general.architecture"); a != "rwkv5" {
				t.Fatalf("architecture %q", a)
			}
			if n, err := f.Metadata.Uint("rwkv5.wkv.head_size"); err != nil || int(n) != c.head {
				t.Errorf("head size %d %v, want %d", n, err, c.head)
			}
			if e, err := f.Metadata.Float("rwkv5.attention.group_norm_epsilon"); err != nil || math.Abs(e-c.eps) > c.eps*1e-6 {
				t.Errorf("group norm eps %g %v, want %g", e, err, c.eps)
			}
			if g, err := f.Metadata.Bool("rwkv5.attention.output_gate"); err != nil || g != c.gate {
				t.Errorf("output gate %v %v, want %v", g, err, c.gate)
			}
			for _, ti := range f.Tensors {
				want := quant.F16
				if len(ti.Dims) == 1 {
					want = quant.F32
				}
				if ti.DType != want {
					t.Errorf("%s stored as %v, want %v", ti.Name, ti.DType, want)
				}
			}
			_, hasGate := f.Lookup("blk.0.time_mix_gate.weight")
			if hasGate != c.gate {
				t.Errorf("gate tensor present %v, want %v", hasGate, c.gate)
			}
			C := int(rep.Detection.Dims.Embd)
			for _, v := range []struct {
				name, src string
				fn        func(float64) float64
			}{{"blk.1.time_mix_decay.weight", "blocks.1.att.time_decay", c.decay}, {"blk.1.time_mix_first.weight", "blocks.1.att." + c.first, c.firstFn}} {
				got, dims := f32Values(t, f, v.name)
				if !slices.Equal(dims, []uint64{uint64(C)}) {
					t.Fatalf("%s dims %v, want [%d]", v.name, dims, C)
				}
				src, _ := srcValues(t, in, v.src)
				for i, g := range got {
					j := i
					if c.perHead {
						j = i / c.head
					}
					if w := float32(v.fn(float64(src[j]))); g != w {
						t.Fatalf("%s[%d] = %g, want %g", v.name, i, g, w)
					}
				}
			}
		})
	}
}

// TestConvertV5PerHeadBlinkDL: a BlinkDL 5.1-style checkpoint (per-head
// time_decay (H,), time_first (H,), gate) gets w = exp(−exp(time_decay))
// and u = exp(time_first), each repeated over the head's channels.
func TestConvertV5PerHeadBlinkDL(t *testing.T) {
	in := testutil.Shared(t, "reference", "tiny-v5-bf16.pth")
	ts := ckptTensors(t, in)
	// The first element of every head, as bf16 (H,).
	perHead := func(x stTensor) []byte {
		H, N := int(x.shape[0]), int(x.shape[1])
		var b []byte
		for h := 0; h < H; h++ {
			b = append(b, x.data[2*h*N:2*h*N+2]...)
		}
		return b
	}
	for i := range ts {
		if strings.HasSuffix(ts[i].name, ".att.time_decay") || strings.HasSuffix(ts[i].name, ".att.time_faaaa") {
			ts[i].data, ts[i].shape = perHead(ts[i]), []int64{ts[i].shape[0]}
			ts[i].name = strings.Replace(ts[i].name, "time_faaaa", "time_first", 1)
		}
	}
	p := filepath.Join(t.TempDir(), "v51.safetensors")
	writeSafetensors(t, p, ts)
	f, rep := convertOpen(t, p, DTypeSource)
	if rep.Detection.Variant != "RWKV-5.1 (preview)" {
		t.Fatalf("variant %q", rep.Detection.Variant)
	}
	for _, x := range ts {
		var name string
		var fn func(float64) float64
		switch {
		case x.name == "blocks.0.att.time_decay":
			name, fn = "blk.0.time_mix_decay.weight", func(v float64) float64 { return math.Exp(-math.Exp(v)) }
		case x.name == "blocks.0.att.time_first":
			name, fn = "blk.0.time_mix_first.weight", math.Exp
		default:
			continue
		}
		got, _ := f32Values(t, f, name)
		for i, g := range got {
			src := quant.BF16ToF32(binary.LittleEndian.Uint16(x.data[2*(i/64):]))
			if w := float32(fn(float64(src))); g != w {
				t.Fatalf("%s[%d] = %g, want %g", name, i, g, w)
			}
		}
	}
}

// TestRejectsBadV5 refuses malformed RWKV-5 checkpoints with a message
// naming the problem, and writes nothing.
func TestRejectsBadV5(t *testing.T) {
	in := testutil.Shared(t, "reference", "tiny-v5-bf16.pth")
	without := func(name string) ckptMaker { return ckptWithout(in, name) }
	reshape := func(name string, shape ...int64) ckptMaker { return ckptReshape(in, name, shape...) }
	checkRejects(t, []rejectCase{
		{"missing bonus", without("blocks.1.att.time_faaaa"), "blocks.1.att.time_faaaa (or blocks.1.att.time_first) is missing"},
		{"missing decay (layer 1)", without("blocks.1.att.time_decay"), "blocks.1.att.time_decay is missing"},
		{"missing gate on one layer", without("blocks.1.att.gate.weight"), "blocks.1.att.gate.weight is missing"},
		{"inconsistent head shape", reshape("blocks.1.att.time_decay", 4, 32), "blocks.1.att.time_decay has shape [4 32]"},
		{"inconsistent bonus shape", reshape("blocks.1.att.time_faaaa", 4, 32), "blocks.1.att.time_faaaa has shape [4 32]"},
	})
}

// TestConvertV50BlinkDL: a BlinkDL 5.0-style checkpoint (no gate, per-head
// time_decay and time_first) is detected as 5.0 and stored without gate
// tensors, rwkv5.attention.output_gate = false, GroupNorm eps 64e-5.
func TestConvertV50BlinkDL(t *testing.T) {
	ts := ckptTensors(t, testutil.Shared(t, "reference", "tiny-v5-bf16.pth"))
	ts = slices.DeleteFunc(ts, func(x stTensor) bool {
		return strings.HasSuffix(x.name, ".att.gate.weight") || strings.HasSuffix(x.name, ".att.time_mix_g")
	})
	for i := range ts {
		if strings.HasSuffix(ts[i].name, ".att.time_decay") || strings.HasSuffix(ts[i].name, ".att.time_faaaa") {
			ts[i].data, ts[i].shape = ts[i].data[:2*ts[i].shape[0]], []int64{ts[i].shape[0]}
			ts[i].name = strings.Replace(ts[i].name, "time_faaaa", "time_first", 1)
		}
	}
	p := filepath.Join(t.TempDir(), "v50.safetensors")
	writeSafetensors(t, p, ts)
	f, rep := convertOpen(t, p, DTypeSource)
	if rep.Detection.Variant != "RWKV-5.0 (preview)" {
		t.Fatalf("variant %q", rep.Detection.Variant)
	}
	if g, err := f.Metadata.Bool("rwkv5.attention.output_gate"); err != nil || g {
		t.Errorf("output gate %v %v", g, err)
	}
	if e, err := f.Metadata.Float("rwkv5.attention.group_norm_epsilon"); err != nil || float32(e) != 64e-5 {
		t.Errorf("group norm eps %v %v", e, err)
	}
	if len(f.Tensors) != 2*20+6 {
		t.Errorf("%d tensors, want %d", len(f.Tensors), 2*20+6)
	}
	for _, ti := range f.Tensors {
		if strings.Contains(ti.Name, "gate") || strings.Contains(ti.Name, "mu_g") {
			t.Errorf("5.0 file stores %s", ti.Name)
		}
	}
}
