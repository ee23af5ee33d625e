package benchmarks

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestWriteQuantizeInput writes the 169M-shape f32 RWKV-4 model (random
// weights) that the quantize figures of README.md are measured on, to
// RWKV_BENCH_WRITE_F32 (skipped without it):
//
//	RWKV_BENCH_WRITE_F32=/tmp/rwkv4-169m-f32.gguf go test ./benchmarks -run WriteQuantizeInput
func TestWriteQuantizeInput(t *testing.T) {
	path := os.Getenv("RWKV_BENCH_WRITE_F32")
	if path == "" {
		t.Skip("set RWKV_BENCH_WRITE_F32=FILE to write the 169M-shape f32 model")
	}
	if err := writeSynthetic(path, dims169M, quant.F32); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkQuantize169M quantizes the 169M-shape f32 model in process
// (wall time only; peak RSS is measured on the CLI, see README.md).
func BenchmarkQuantize169M(b *testing.B) {
	in := syntheticModel(b, quant.F32)
	for _, q := range []quant.DType{quant.Q8_0, quant.Q4_0} {
		b.Run("type="+q.String(), func(b *testing.B) {
			out := filepath.Join(b.TempDir(), "q.gguf")
			for b.Loop() {
				if _, err := convert.Quantize(context.Background(), in, out, convert.QuantizeOptions{Type: q, Threads: runtime.GOMAXPROCS(0)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
