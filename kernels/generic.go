package kernels

import (
	"math"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// dotF32 is the one float32 dot product every f32 path uses. Eight
// independent accumulators let the CPU overlap the adds, and the fixed
// reduction order makes results reproducible.
func dotF32(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
		s4 += a[i+4] * b[i+4]
		s5 += a[i+5] * b[i+5]
		s6 += a[i+6] * b[i+6]
		s7 += a[i+7] * b[i+7]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotF16 computes Σ f16(w[i])·x[i] with the same accumulation order as dotF32.
func dotF16(w []uint16, x []float32) float32 {
	n := len(w)
	x = x[:n]
	t := f16Table
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		s0 += t[w[i]] * x[i]
		s1 += t[w[i+1]] * x[i+1]
		s2 += t[w[i+2]] * x[i+2]
		s3 += t[w[i+3]] * x[i+3]
		s4 += t[w[i+4]] * x[i+4]
		s5 += t[w[i+5]] * x[i+5]
		s6 += t[w[i+6]] * x[i+6]
		s7 += t[w[i+7]] * x[i+7]
	}
	for ; i < n; i++ {
		s0 += t[w[i]] * x[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

func bf(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// dotBF16 computes Σ bf16(w[i])·x[i] with the same accumulation order as dotF32.
func dotBF16(w []uint16, x []float32) float32 {
	n := len(w)
	x = x[:n]
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= n; i += 8 {
		s0 += bf(w[i]) * x[i]
		s1 += bf(w[i+1]) * x[i+1]
		s2 += bf(w[i+2]) * x[i+2]
		s3 += bf(w[i+3]) * x[i+3]
		s4 += bf(w[i+4]) * x[i+4]
		s5 += bf(w[i+5]) * x[i+5]
		s6 += bf(w[i+6]) * x[i+6]
		s7 += bf(w[i+7]) * x[i+7]
	}
	for ; i < n; i++ {
		s0 += bf(w[i]) * x[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// genericMatVecRows computes dst[r] = W[r]·x for r in [r0, r1).
func genericMatVecRows(dst []float32, m Matrix, x []float32, r0, r1 int) {
	c := m.Cols
	x = x[:c]
	switch m.DType {
	case quant.F32:
		for r := r0; r < r1; r++ {
			dst[r] = dotF32(m.f32[r*c:(r+1)*c], x)
		}
	case quant.F16:
		for r := r0; r < r1; r++ {
			dst[r] = dotF16(m.u16[r*c:(r+1)*c], x)
		}
	case quant.BF16:
		for r := r0; r < r1; r++ {
			dst[r] = dotBF16(m.u16[r*c:(r+1)*c], x)
		}
	default:
		for r := r0; r < r1; r++ {
			dst[r] = dotQ(m.DType, m.qRow(r), x)
		}
	}
}
