package benchmarks

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/synth"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// dims169M is RWKV-4 Pile 169M.
var dims169M = arch.Dims{Vocab: 50277, Embd: 768, Layers: 12, FFN: 3072}

var (
	modelsMu sync.Mutex
	models   = map[quant.DType]string{}
	benchDir string // synthetic models live here for one run, removed after
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rwkv-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	benchDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syntheticModel writes (once per run) a random-weight RWKV-4 GGUF file of
// the given dims with matrices of type dt, through the same writer the
// converter uses, and returns its path. RWKV_BENCH_MODEL overrides it with a
// real converted file.
func syntheticModel(b *testing.B, dt quant.DType) string {
	if p := os.Getenv("RWKV_BENCH_MODEL"); p != "" {
		return p
	}
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if p, ok := models[dt]; ok {
		return p
	}
	p := filepath.Join(benchDir, "rwkv4-169m-"+dt.String()+".gguf")
	if err := writeSynthetic(p, dims169M, dt); err != nil {
		b.Fatal(err)
	}
	models[dt] = p
	return p
}

func writeSynthetic(path string, d arch.Dims, dt quant.DType) error {
	_, err := synth.Write(context.Background(), path, synth.Options{Arch: arch.RWKV4, Layers: d.Layers, Embd: d.Embd,
		Vocab: d.Vocab, FFN: d.FFN, Type: dt, Seed: 169})
	return err
}

func loadModel(b *testing.B, dt quant.DType, threads int) (engine.Model, func()) {
	f, err := format.Open(syntheticModel(b, dt))
	if err != nil {
		b.Fatal(err)
	}
	m, err := engine.Load(f, engine.Options{Threads: threads})
	if err != nil {
		b.Fatal(err)
	}
	return m, func() { f.Close() }
}

// weightBytes is what one token streams: every block matrix, plus the head
// when logits are computed.
func weightBytes(d arch.Dims, dt quant.DType, head bool) int64 {
	per := int64(4*d.Embd*d.Embd+2*d.Embd*d.FFN+d.Embd*d.Embd) * int64(d.Layers)
	if head {
		per += int64(d.Vocab) * int64(d.Embd)
	}
	return per * int64(dt.BlockBytes())
}

// BenchmarkStep is RNN mode, one token at a time (batch 1): bandwidth-bound.
// SetBytes counts the weights streamed per token, so MB/s reads as GB/s of
// weight traffic; tok/s is reported too.
func BenchmarkStep(b *testing.B) {
	for _, dt := range []quant.DType{quant.F32, quant.F16, quant.BF16} {
		for _, head := range []bool{false, true} {
			for _, threads := range []int{1, 2} {
				name := fmt.Sprintf("model=rwkv4-169m/type=%v/head=%v/threads=%d", dt, head, threads)
				b.Run(name, func(b *testing.B) {
					m, done := loadModel(b, dt, threads)
					defer done()
					st := m.NewState()
					var logits []float32
					if head {
						logits = make([]float32, m.Config().Vocab)
					}
					b.SetBytes(weightBytes(dims169M, dt, head))
					// Fault the mapped weights in before timing.
					if err := m.Step(m.NewState(), 0, logits); err != nil {
						b.Fatal(err)
					}
					tok := 0
					for b.Loop() {
						if err := m.Step(st, tok, logits); err != nil {
							b.Fatal(err)
						}
						tok = (tok + 7919) % m.Config().Vocab
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
				})
			}
		}
	}
}

// BenchmarkSequence is prompt mode: T tokens with batched projections,
// logits at the last position only.
func BenchmarkSequence(b *testing.B) {
	for _, dt := range []quant.DType{quant.F32, quant.F16} {
		for _, T := range []int{16, 64} {
			for _, threads := range []int{1, 2} {
				b.Run(fmt.Sprintf("model=rwkv4-169m/type=%v/len=%d/threads=%d", dt, T, threads), func(b *testing.B) {
					m, done := loadModel(b, dt, threads)
					defer done()
					tokens := make([]int, T)
					for i := range tokens {
						tokens[i] = (i * 7919) % m.Config().Vocab
					}
					logits := make([]float32, m.Config().Vocab)
					for b.Loop() {
						if err := m.Sequence(m.NewState(), tokens, logits); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N*T)/b.Elapsed().Seconds(), "tok/s")
				})
			}
		}
	}
}

// BenchmarkMemBandwidth copies a 512 MiB buffer (runtime memmove, SIMD):
// the machine's DRAM bandwidth, read + write bytes counted, the ceiling to
// compare weight-streaming figures with.
func BenchmarkMemBandwidth(b *testing.B) {
	src := make([]byte, 512<<20)
	dst := make([]byte, len(src))
	for i := range src {
		src[i] = byte(i)
	}
	copy(dst, src) // fault both buffers in before timing
	b.SetBytes(2 * int64(len(src)))
	for b.Loop() {
		copy(dst, src)
	}
}
