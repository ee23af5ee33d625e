//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// q8Dot4 is one int8 dot kernel of q8_amd64.s: groups of 4 block rows
// (contiguous, ldw bytes each, nb ≥ 1 blocks) against a q8Vec's codes xq,
// scales xd and aux (its nsum or s); out[i] for row i.
type q8Dot4 func(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q8_0VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q4_0VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q4_1VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q5_0VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q5_1VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q8_0AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q4_0AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q4_1AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q5_0AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q5_1AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q8_0AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q4_0AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q4_1AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q5_0AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

//go:noescape
func q8Dot4Q5_1AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)

// q8DotsAVX2 use VPMADDUBSW + VPMADDWD (AVX2); q8DotsVNNI VPDPBUSD on ymm
// (AVX512-VNNI + AVX512VL, and AVX512BW for the Q5 high-bit masks);
// q8DotsAVXVNNI VPDPBUSD in its VEX form (AVX-VNNI, without AVX-512).
var (
	q8DotsAVX2 = map[quant.DType]q8Dot4{
		quant.Q8_0: q8Dot4Q8_0AVX2, quant.Q4_0: q8Dot4Q4_0AVX2, quant.Q4_1: q8Dot4Q4_1AVX2,
		quant.Q5_0: q8Dot4Q5_0AVX2, quant.Q5_1: q8Dot4Q5_1AVX2,
	}
	q8DotsAVXVNNI = map[quant.DType]q8Dot4{
		quant.Q8_0: q8Dot4Q8_0AVXVNNI, quant.Q4_0: q8Dot4Q4_0AVXVNNI, quant.Q4_1: q8Dot4Q4_1AVXVNNI,
		quant.Q5_0: q8Dot4Q5_0AVXVNNI, quant.Q5_1: q8Dot4Q5_1AVXVNNI,
	}
	q8DotsVNNI = map[quant.DType]q8Dot4{
		quant.Q8_0: q8Dot4Q8_0VNNI, quant.Q4_0: q8Dot4Q4_0VNNI, quant.Q4_1: q8Dot4Q4_1VNNI,
		quant.Q5_0: q8Dot4Q5_0VNNI, quant.Q5_1: q8Dot4Q5_1VNNI,
	}
)

// q8MatVecRows returns a set's matVecQ8Rows over dots: rows four at a
// time, the last r1-r0 mod 4 with the generic dot.
func q8MatVecRows(dots map[quant.DType]q8Dot4) func(dst []float32, m Matrix, v *q8Vec, r0, r1 int) {
	return func(dst []float32, m Matrix, v *q8Vec, r0, r1 int) {
		dot := dots[m.DType]
		nb := len(v.d)
		r := r0
		if groups := (r1 - r0) / 4; dot != nil && nb > 0 && groups > 0 {
			_ = dst[r0+4*groups-1]
			_ = v.qs[32*nb-1]
			_ = m.q[(r0+4*groups)*m.rowBytes-1]
			aux := unsafe.Pointer(&v.nsum[0])
			if q8Sums(m.DType) {
				aux = unsafe.Pointer(&v.s[0])
			}
			dot(&m.q[r0*m.rowBytes], m.rowBytes, &v.qs[0], &v.d[0], aux, nb, &dst[r0], groups)
			r += 4 * groups
		}
		genericMatVecQ8Rows(dst, m, v, r, r1)
	}
}
