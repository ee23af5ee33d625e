//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestMatMulSmallTGroups holds the rows-in-lanes path to Generic bit for
// bit beyond smallTMax (more than one group of 8 tokens, as
// BenchmarkGEMMSmallT runs it to measure the crossover), for every type,
// with row and K tails.
func TestMatMulSmallTGroups(t *testing.T) {
	if !hasAVX512() {
		t.Skip("no avx512")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	for _, dt := range append(dtypes, qtypes...) {
		for _, sh := range [][3]int{{37, 70, 9}, {16, 64, 16}, {33, 300, 13}, {5, 17, 11}} {
			rows, cols, T := sh[0], sh[1], sh[2]
			if dt.BlockLen() > 1 {
				cols = (cols + 31) / 32 * 32
			}
			m := offsetMatrix(dt, rows, cols, T%3, norm)
			x := offsetVec(T*cols, 1+T%3, norm)
			want := make([]float32, T*rows)
			Generic.MatMulRows(want, m, x, T, 0, rows)
			got := make([]float32, T*rows)
			matMulRowsSmallT(got, m, x, T, 0, rows)
			for i, v := range got {
				if !sameBits(v, want[i]) {
					t.Fatalf("%v %dx%d T=%d: [%d][%d] = %g, Generic %g", dt, rows, cols, T, i/rows, i%rows, v, want[i])
				}
			}
		}
	}
}

func hasAVX512() bool {
	for _, s := range Available() {
		if s.Name == "avx512" {
			return true
		}
	}
	return false
}

// BenchmarkGEMMSmallT is MatMul with few tokens (eval's output head and
// short continuations) on a 16384x768 matrix (larger than L2), one
// thread, the avx512 set
// with the small-T path (path=rows) and with the token tiles
// (path=tiles), against exact MatVec (T = 1 decode) of the same matrix:
// weights/s. Under load take the best of -count runs.
func BenchmarkGEMMSmallT(b *testing.B) {
	var set Set
	for _, s := range Available() {
		if s.Name == "avx512" {
			set = s
		}
	}
	if set.Name == "" {
		b.Skip("no avx512")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, cols = 16384, 768
	for _, dt := range allTypes {
		m, _ := randomMatrix(&testing.T{}, rng, dt, rows, cols)
		x := make([]float32, 16*cols)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		dst := make([]float32, 16*rows)
		p := NewPool(set, 1)
		p.SetPrecision(PrecisionExact) // float32 activations, as MatMul
		b.Run(fmt.Sprintf("type=%v/matvec", dt), func(b *testing.B) {
			for b.Loop() {
				p.MatVec(dst, m, x[:cols])
			}
			b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gw/s")
		})
		for _, T := range []int{1, 2, 4, 8, 12, 16} {
			for _, path := range []string{"rows", "tiles"} {
				b.Run(fmt.Sprintf("type=%v/T=%d/path=%s", dt, T, path), func(b *testing.B) {
					old := avx512Gemm.smallT
					defer func() { avx512Gemm.smallT = old }()
					avx512Gemm.smallT = 16
					if path == "tiles" {
						avx512Gemm.smallT = 0
					}
					for b.Loop() {
						p.MatMul(dst, m, x[:T*cols], T)
					}
					b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gw/s")
				})
			}
		}
	}
}
