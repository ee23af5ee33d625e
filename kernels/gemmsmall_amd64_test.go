//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestMatMulSmallTGroups holds the rows-in-lanes path to Generic bit for
// bit beyond smallTMax (more than one group of 8 tokens, as
// BenchmarkGEMMSmallT is MatMul with few tokens (eval's output head and
// short continuations) on a 16384x768 matrix (larger than L2), one
// thread, the avx512 and avx2 sets with the small-T path (path=rows) and
// with the token tiles (path=tiles), against exact MatVec (T = 1 decode)
// of the same matrix: weights/s. Under load take the best of -count runs.
func BenchmarkGEMMSmallT(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	const rows, cols = 16384, 768
	for _, set := range Available() {
		g := map[string]*gemmTiles{"avx512": avx512Gemm, "avx2": avx2Gemm}[set.Name]
		if g == nil {
			continue
		}
		for _, dt := range allTypes {
			m, _ := randomMatrix(&testing.T{}, rng, dt, rows, cols)
			x := make([]float32, 16*cols)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			dst := make([]float32, 16*rows)
			p := NewPool(set, 1)
			p.SetPrecision(PrecisionExact) // float32 activations, as MatMul
			b.Run(fmt.Sprintf("kernel=%s/type=%v/matvec", set.Name, dt), func(b *testing.B) {
				for b.Loop() {
					p.MatVec(dst, m, x[:cols])
				}
				b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gw/s")
			})
			for _, T := range []int{1, 2, 4, 8, 12, 16} {
				for _, path := range []string{"rows", "tiles"} {
					b.Run(fmt.Sprintf("kernel=%s/type=%v/T=%d/path=%s", set.Name, dt, T, path), func(b *testing.B) {
						old := g.smallT
						defer func() { g.smallT = old }()
						g.smallT = 16
						if path == "tiles" {
							g.smallT = 0
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
}
