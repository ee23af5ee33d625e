//go:build amd64 && !purego

package kernels

import (
	"sync"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in gemm512_amd64.s.

//go:noescape
func gemm12x32AVX512(w unsafe.Pointer, ldw int, xp *float32, kc int, acc *float32, load int)

//go:noescape
func gemm12x16AVX512(w unsafe.Pointer, ldw int, xp *float32, kc int, acc *float32, load int)

//go:noescape
func packX32AVX512(xp *float32, x *float32, ldx int, k int, mlo, mhi int)

//go:noescape
func scatter12x32AVX512(acc *float32, dst *float32, ldd int, mlo, mhi int)

// The avx512 MatMul is a packed outer product: the activations of 32
// tokens are packed once per call as xp[k][32] (tokens in lanes), the
// weights of 12 rows are read (f32) or widened/decoded once per call into
// a small panel, and a 12x32 tile keeps 24 zmm accumulators. Each output
// (t, r) is one FMA chain over k = 0, 1, ... from +0 (genericMatMulRows'
// order), split into K blocks whose chains continue through memory, so its
// bits depend only on W[r] and x[t]: not on T, the tile or the row range.

const (
	gemmRows   = 12 // weight rows per tile
	gemmTokens = 32 // tokens per tile

)

type gemmScratch struct{ xp, w, acc []float32 }

var gemmBufs = sync.Pool{New: func() any { return new(gemmScratch) }}

func growF32(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// tokenMasks are the gather/scatter masks of the first nt of 32 tokens.
func tokenMasks(nt int) (lo, hi int) {
	return 1<<min(nt, 16) - 1, 1<<max(nt-16, 0) - 1
}

// gemmBlock returns the K block length for c columns: c itself up to
// gemmKC, else equal blocks of a multiple of 32 (whole ggml blocks).
func gemmBlock(c int) int {
	if c <= gemmKC {
		return c
	}
	nb := (c + gemmKC - 1) / gemmKC
	kc := (c + nb - 1) / nb
	return (kc + 31) / 32 * 32
}

// gemmPanel returns columns [k0, k0+kn) of rows [r, r+nr) as 12 float32
// rows ldw bytes apart: the matrix itself for a full f32 panel, else
// widened or decoded into buf with rows nr..11 zero.
func gemmPanel(m Matrix, r, nr, k0, kn int, buf []float32) (unsafe.Pointer, int) {
	c := m.Cols
	if m.DType == quant.F32 && nr == gemmRows {
		return unsafe.Pointer(&m.f32[r*c+k0]), 4 * c
	}
	buf = buf[:gemmRows*kn]
	for i := 0; i < nr; i++ {
		d := buf[i*kn : (i+1)*kn]
		switch m.DType {
		case quant.F32:
			copy(d, m.f32[(r+i)*c+k0:])
		case quant.F16, quant.BF16:
			src := m.u16[(r+i)*c+k0 : (r+i)*c+k0+kn]
			n8 := kn / 8
			if m.DType == quant.F16 {
				if n8 > 0 {
					cvtF16AVX2(&d[0], unsafe.Pointer(&src[0]), n8)
				}
				for k := 8 * n8; k < kn; k++ {
					d[k] = f16Table[src[k]]
				}
			} else {
				if n8 > 0 {
					cvtBF16AVX2(&d[0], unsafe.Pointer(&src[0]), n8)
				}
				for k := 8 * n8; k < kn; k++ {
					d[k] = bf(src[k])
				}
			}
		default:
			dec := blockDecoders[m.DType]
			if dec == nil {
				panic("kernels: unsupported matrix type " + m.DType.String())
			}
			row := m.qRow(r + i)
			bb := m.rowBytes / (c / 32)
			dec(&d[0], &row[k0/32*bb], kn/32)
		}
	}
	clear(buf[nr*kn:])
	return unsafe.Pointer(&buf[0]), 4 * kn
}

// gemmRows512 is the avx512 set's MatMulRows.
func gemmRows512(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	if r0 >= r1 || T <= 0 {
		return
	}
	_ = dst[(T-1)*rows+r1-1]
	x = x[:T*c]
	if c == 0 {
		for t := 0; t < T; t++ {
			clear(dst[t*rows+r0 : t*rows+r1])
		}
		return
	}
	groups := (T + gemmTokens - 1) / gemmTokens
	s := gemmBufs.Get().(*gemmScratch)
	defer gemmBufs.Put(s)
	s.xp = growF32(s.xp, groups*gemmTokens*c)
	for g := 0; g < groups; g++ {
		lo, hi := tokenMasks(min(gemmTokens, T-g*gemmTokens))
		packX32AVX512(&s.xp[g*gemmTokens*c], &x[g*gemmTokens*c], 4*c, c, lo, hi)
	}
	kc := gemmBlock(c)
	s.acc = growF32(s.acc, groups*gemmRows*gemmTokens)
	s.w = growF32(s.w, gemmRows*kc)
	for r := r0; r < r1; r += gemmRows {
		nr := min(gemmRows, r1-r)
		for k0 := 0; k0 < c; k0 += kc {
			kn := min(kc, c-k0)
			w, ldw := gemmPanel(m, r, nr, k0, kn, s.w)
			load := 0
			if k0 > 0 {
				load = 1
			}
			for g := 0; g < groups; g++ {
				acc := &s.acc[g*gemmRows*gemmTokens]
				xp := &s.xp[g*gemmTokens*c+k0*gemmTokens]
				if T-g*gemmTokens > 16 {
					gemm12x32AVX512(w, ldw, xp, kn, acc, load)
				} else {
					gemm12x16AVX512(w, ldw, xp, kn, acc, load)
				}
			}
		}
		for g := 0; g < groups; g++ {
			nt := min(gemmTokens, T-g*gemmTokens)
			acc := s.acc[g*gemmRows*gemmTokens : (g+1)*gemmRows*gemmTokens]
			if nr == gemmRows {
				lo, hi := tokenMasks(nt)
				scatter12x32AVX512(&acc[0], &dst[g*gemmTokens*rows+r], 4*rows, lo, hi)
				continue
			}
			for j := 0; j < nt; j++ {
				d := dst[(g*gemmTokens+j)*rows+r:]
				for i := 0; i < nr; i++ {
					d[i] = acc[i*gemmTokens+j]
				}
			}
		}
	}
}

// gemmKC is the longest K block: a 12-row panel block of 36 KiB stays in
// L1 while the token groups stream past it.
const gemmKC = 768
