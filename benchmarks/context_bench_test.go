package benchmarks

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/synth"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// pythia160M is Pythia-160M's shape (GPT-NeoX, 12 heads of 64, rotary on
// 25 %), the RWKV paper's pair of RWKV-4 169M.
var pythia160M = synth.Options{Arch: arch.GPTNeoX, Layers: 12, Embd: 768, Vocab: 50304, FFN: 3072, HeadSize: 64, Seed: 160}

var (
	pythiaOnce sync.Once
	pythiaPath string
	pythiaErr  error
)

// contextModel loads the rwkv4-169m or pythia-160m synthetic model in f16.
func contextModel(b *testing.B, name string, threads int) (engine.Model, func()) {
	var path string
	switch name {
	case "rwkv4-169m":
		path = syntheticModel(b, quant.F16)
	default:
		pythiaOnce.Do(func() {
			pythiaPath = filepath.Join(benchDir, "pythia-160m-f16.gguf")
			o := pythia160M
			o.Type = quant.F16
			_, pythiaErr = synth.Write(context.Background(), pythiaPath, o)
		})
		if pythiaErr != nil {
			b.Fatal(pythiaErr)
		}
		path = pythiaPath
	}
	f, err := format.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	m, err := engine.Load(f, engine.Options{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	return m, func() { f.Close() }
}

// BenchmarkContext compares RWKV-4 169M with Pythia-160M (f16, random
// weights) at 128, 1024 and 4096 tokens of context: "prefill" feeds the
// context with Sequence (tok/s of context), "decode" steps one token with
// logits after that context (tok/s). state-MiB is the State's size at that
// context: constant for RWKV, the KV cache for GPT-NeoX.
func BenchmarkContext(b *testing.B) {
	for _, model := range []string{"rwkv4-169m", "pythia-160m"} {
		for _, ctx := range []int{128, 1024, 4096} {
			tokens := make([]int, ctx)
			for i := range tokens {
				tokens[i] = (i*7919 + 11) % 50000
			}
			b.Run(fmt.Sprintf("model=%s/ctx=%d/mode=prefill", model, ctx), func(b *testing.B) {
				m, done := contextModel(b, model, 0)
				defer done()
				logits := make([]float32, m.Config().Vocab)
				var st *engine.State
				for b.Loop() {
					st = m.NewState()
					if err := m.Sequence(st, tokens, logits); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*ctx)/b.Elapsed().Seconds(), "tok/s")
				b.ReportMetric(float64(4*len(st.Data))/(1<<20), "state-MiB")
			})
			b.Run(fmt.Sprintf("model=%s/ctx=%d/mode=decode", model, ctx), func(b *testing.B) {
				m, done := contextModel(b, model, 0)
				defer done()
				logits := make([]float32, m.Config().Vocab)
				st := m.NewState()
				if err := m.Sequence(st, tokens, nil); err != nil {
					b.Fatal(err)
				}
				mib := float64(4*len(st.Data)) / (1 << 20)
				// Warm up (fault the weights in, size the scratch) on a clone.
				warm := st.Clone()
				for i := 0; i < 3; i++ {
					if err := m.Step(warm, i, logits); err != nil {
						b.Fatal(err)
					}
				}
				tok := 0
				for b.Loop() {
					if err := m.Step(st, tok, logits); err != nil {
						b.Fatal(err)
					}
					tok = (tok + 7919) % 50000
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				b.ReportMetric(mib, "state-MiB")
			})
		}
	}
}
