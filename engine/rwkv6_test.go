package engine_test

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestReferenceV6 checks the RWKV-6 engine against ChatRWKV's `cpu fp32`
// logits on the reference tiny-v6 bf16 checkpoint, in every storage dtype
// (measured 2.3e-5, f16 2.2e-5: fp32 summation order; KL 1.3e-11).
func TestReferenceV6(t *testing.T) { checkReference(t, 6, fixedTol(1e-4, 1e-9)) }

// TestRWKVCppTinyV6 runs rwkv.cpp's tiny RWKV-6 models (transposed LoRAs,
// time_decay reshaped (H, N, 1), quantized time_maa_w1/time_decay_w1/w2 in
// the Q5 files) against their expected logits.
// Measured (sequence = step) equals the float64 reference's figures:
// 6v0-3m Q5_0 0.157, Q5_1 0.0757; 6v0-1m FP32 1.9e-6, FP16 2.9e-6 (its
// matrices are exact in FP16), Q5_0 0.124, Q5_1 0.118 — the quantized
// errors are the weights' rounding. FP32/FP16: 1e-5; Q5: 1.5× measured.
// (Upstream ships no FP32/FP16 6v0-3m files.)
func TestRWKVCppTinyV6(t *testing.T) {
	checkRWKVCpp(t, "expected-logits-6v0-3m.bin", []rwkvCppCase{
		{"tiny-rwkv-6v0-3m-Q5_0.bin", 0.24, true},
		{"tiny-rwkv-6v0-3m-Q5_1.bin", 0.114, true},
	})
	checkRWKVCpp(t, "history-edea0c2/expected-logits-6v0-1m.bin", []rwkvCppCase{
		{"history-edea0c2/tiny-rwkv-6v0-1m-FP32.bin", 1e-5, true},
		{"history-edea0c2/tiny-rwkv-6v0-1m-FP16.bin", 1e-5, true},
		{"history-edea0c2/tiny-rwkv-6v0-1m-Q5_0.bin", 0.19, true},
		{"history-edea0c2/tiny-rwkv-6v0-1m-Q5_1.bin", 0.18, true},
	})
}

// TestLoadRejectsBadV6 refuses rwkv6 files whose metadata or tensors do not
// fit together, with a message naming the problem.
func TestLoadRejectsBadV6(t *testing.T) {
	checkLoadRejects(t, testutil.Shared(t, "reference", "tiny-v6-bf16.pth"), []loadCase{
		{"head size not dividing n_embd", func(md format.Metadata) { md["rwkv6.wkv.head_size"] = format.Uint32(48) }, "", "rwkv6.wkv.head_size = 48"},
		{"other head size", func(md format.Metadata) { md["rwkv6.wkv.head_size"] = format.Uint32(32) }, "", "time_mix_first.weight has dims"},
		{"bad group norm eps", func(md format.Metadata) { md["rwkv6.attention.group_norm_epsilon"] = format.Float32(0) }, "", "group_norm_epsilon"},
		{"bad rescale", func(md format.Metadata) { md["rwkv6.rescale_every_n_layers"] = format.String("6") }, "", "rescale_every_n_layers"},
		{"missing mix LoRA rank", func(md format.Metadata) { delete(md, "rwkv6.time_mix_extra_dim") }, "", "time_mix_extra_dim"},
		{"other decay LoRA rank", func(md format.Metadata) { md["rwkv6.time_decay_extra_dim"] = format.Uint32(32) }, "", "time_mix_decay_w1.weight has dims"},
		{"missing LoRA tensor", func(format.Metadata) {}, "blk.1.time_mix_w2.weight", "blk.1.time_mix_w2.weight is missing"},
		{"missing decay", func(format.Metadata) {}, "blk.0.time_mix_decay.weight", "blk.0.time_mix_decay.weight is missing"},
	})
}

// TestStateTunedV6: a file with blk.l.time_mix_state.weight ([h][key][value],
// the converter's layout) starts every sequence from that WKV state: the
// same logits as the plain model started from a state holding it.
func TestStateTunedV6(t *testing.T) {
	plainF := convertGGUF(t, testutil.Shared(t, "reference", "tiny-v6-bf16.pth"))
	plain, err := engine.Load(plainF, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := plain.Config()
	C, N := cfg.Embd, 64
	H := C / N
	ws := copyTensors(t, plainF, "")
	rng := rand.New(rand.NewPCG(1, 2))
	tuned := make([][]float32, cfg.Layers)
	for l := range tuned {
		tuned[l] = make([]float32, H*N*N)
		for i := range tuned[l] {
			tuned[l][i] = float32(rng.NormFloat64())
		}
		b := make([]byte, 4*len(tuned[l]))
		for i, v := range tuned[l] {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
		ws = append(ws, format.WriteTensor{
			TensorInfo: format.TensorInfo{Name: fmt.Sprintf("blk.%d.time_mix_state.weight", l), DType: quant.F32, Dims: []uint64{uint64(N), uint64(N), uint64(H)}},
			Write:      func(w io.Writer) error { _, err := w.Write(b); return err },
		})
	}
	f := writeGGUF(t, plainF.Metadata, ws)
	m, err := engine.Load(f, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st := m.NewState()
	ref := plain.NewState()
	stride := 2*C + C*N
	for l := range tuned {
		copy(ref.Data[l*stride+2*C:(l+1)*stride], tuned[l])
	}
	if d := maxAbs(st.Data, ref.Data); d != 0 {
		t.Fatalf("initial state differs from the tuned one by %g", d)
	}
	tokens := tokenRun(10)
	a, b := make([]float32, len(tokens)*cfg.Vocab), make([]float32, len(tokens)*cfg.Vocab)
	if err := m.Sequence(st, tokens, a); err != nil {
		t.Fatal(err)
	}
	if err := plain.Sequence(ref, tokens, b); err != nil {
		t.Fatal(err)
	}
	if d := maxAbs(a, b); d != 0 {
		t.Fatalf("tuned model differs from the plain one started in the tuned state: %g", d)
	}
	zero := make([]float32, len(b))
	if err := plain.Sequence(plain.NewState(), tokens, zero); err != nil {
		t.Fatal(err)
	}
	if maxAbs(zero, a) == 0 {
		t.Fatal("the tuned state changed nothing")
	}
}

func BenchmarkStepV6(b *testing.B) {
	benchStep(b, filepath.Join(testutil.SharedDir(), "fixtures", "rwkvcpp", "history-edea0c2", "tiny-rwkv-6v0-1m-FP32.bin"))
}
