//go:build amd64 && !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGEMMSmallT is MatMul with few tokens (eval's output head and
// short continuations) on a 16384x768 matrix (larger than L2), one
// thread, the avx512 set
// with the small-T path (path=rows) and with the token tiles
// (path=tiles), against MatVec (T = 1 decode) of the same matrix:
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
		b.Run(fmt.Sprintf("type=%v/matvec", dt), func(b *testing.B) {
			for b.Loop() {
				p.MatVec(dst, m, x[:cols])
			}
			b.ReportMetric(float64(rows*cols)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gw/s")
		})
		for _, T := range []int{1, 2, 4, 8} {
			for _, path := range []string{"rows", "tiles"} {
				b.Run(fmt.Sprintf("type=%v/T=%d/path=%s", dt, T, path), func(b *testing.B) {
					old := avx512Gemm.smallT
					defer func() { avx512Gemm.smallT = old }()
					avx512Gemm.smallT = smallTMax
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
