//go:build amd64 && !purego

package kernels

import (
	"golang.org/x/sys/cpu"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in dot_amd64.s; n may be 0. The pointers must cover n
// elements.

//go:noescape
func dotF32AVX2(w, x *float32, n int) float32

//go:noescape
func dotF16AVX2(w *uint16, x *float32, n int) float32

//go:noescape
func dotBF16AVX2(w *uint16, x *float32, n int) float32

// nb is the number of 32-element blocks (> 0); w covers them, x 32·nb floats.

//go:noescape
func dotQ8_0AVX2(w *byte, x *float32, nb int) float32

//go:noescape
func dotQ4_0AVX2(w *byte, x *float32, nb int) float32

// avx2Set is the amd64 set (AVX2 + FMA + F16C). It rounds differently from
// Generic (FMA, 32 lanes) but MatVec and MatMul share one row dot. Q8_0 and
// Q4_0 have assembly dots; the other block types use Generic's.
var avx2Set = Set{
	Name:       "avx2",
	MatVecRows: avx2MatVecRows,
	MatMulRows: avx2MatMulRows,
}

var available = func() []Set {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C {
		return []Set{Generic, avx2Set}
	}
	return []Set{Generic}
}()

// avx2Dot computes W[r]·x for row r of m; x must have m.Cols elements.
// Slicing first keeps the asm in bounds.
func avx2Dot(m Matrix, r int, x []float32) float32 {
	c := m.Cols
	if c == 0 {
		return 0
	}
	x = x[:c]
	switch m.DType {
	case quant.F32:
		w := m.f32[r*c : (r+1)*c]
		return dotF32AVX2(&w[0], &x[0], c)
	case quant.F16:
		w := m.u16[r*c : (r+1)*c]
		return dotF16AVX2(&w[0], &x[0], c)
	case quant.BF16:
		w := m.u16[r*c : (r+1)*c]
		return dotBF16AVX2(&w[0], &x[0], c)
	case quant.Q8_0:
		w := m.qRow(r)
		return dotQ8_0AVX2(&w[0], &x[0], c/32)
	case quant.Q4_0:
		w := m.qRow(r)
		return dotQ4_0AVX2(&w[0], &x[0], c/32)
	}
	return dotQ(m.DType, m.qRow(r), x) // other block types: the generic dot
}

func avx2MatVecRows(dst []float32, m Matrix, x []float32, r0, r1 int) {
	dst = dst[r0:r1]
	for i := range dst {
		dst[i] = avx2Dot(m, r0+i, x)
	}
}

// avx2MatMulRows keeps each weight row hot in L1 across the T vectors and
// calls the same row dot as MatVec, so results match it bit for bit.
func avx2MatMulRows(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	for r := r0; r < r1; r++ {
		for t := 0; t < T; t++ {
			dst[t*rows+r] = avx2Dot(m, r, x[t*c:(t+1)*c])
		}
	}
}
