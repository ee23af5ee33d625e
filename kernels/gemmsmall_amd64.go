//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in gemmsmall512_amd64.s.

//go:noescape
func transpose16AVX512(src *float32, lds int, dst *float32, kn int)

//go:noescape
func fmaCols16AVX512(tp *float32, xs *float32, ntp int, kn int, acc *float32, load int)

// Small-T MatMul (avx512): the token tiles put tokens in lanes, so with a
// few tokens most lanes idle while every weight is still widened and read
// once per call. Here rows are in lanes instead: a block of 16 weight rows
// is widened/decoded (as the tiles do) and transposed into a panel
// [k][16], and each token keeps one 16-row accumulator, acc_t =
// fma(w[k][rows], x[t][k], acc_t) for k in order from +0. That is the same
// single chain per output (t, r) as the tiles and Generic, so the two
// paths give identical bits and the crossover cannot change results.

// smallTMax is the largest T that takes the rows-in-lanes path (measured:
// see BenchmarkGEMMSmallT).
const smallTMax = 8

// smallKC is the K block of the small path: a 16-row block of 256 columns
// is 16 KiB widened plus 16 KiB transposed, both in L1.
const smallKC = 256

var smallPanel = &gemmTiles{rows: 16}

// matMulRowsSmallT is matMulRows for 1 ≤ T ≤ 16.
func matMulRowsSmallT(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	ntp := 1
	for ntp < T {
		ntp *= 2
	}
	s := gemmBufs.Get().(*gemmScratch)
	defer gemmBufs.Put(s)
	// xs is x with tokens interleaved, [c][ntp], zero for tokens ≥ T.
	s.xp = growF32(s.xp, c*ntp)
	xs := s.xp
	if T < ntp {
		clear(xs)
	}
	for t := 0; t < T; t++ {
		for k, v := range x[t*c : (t+1)*c] {
			xs[k*ntp+t] = v
		}
	}
	kc := min(c, smallKC)
	if m.DType.BlockLen() > 1 {
		kc = gemmBlock(c) // whole blocks
		if kc > smallKC {
			kc = smallKC
		}
	}
	s.w = growF32(s.w, 16*kc)
	s.stage = growF32(s.stage, (kc+15)/16*16*16)
	s.acc = growF32(s.acc, 16*ntp)
	acc := s.acc
	for r := r0; r < r1; r += 16 {
		nr := min(16, r1-r)
		for k0 := 0; k0 < c; k0 += kc {
			kn := min(kc, c-k0)
			var w unsafe.Pointer
			var ldw int
			if m.DType == quant.F32 && nr == 16 {
				w, ldw = unsafe.Pointer(&m.f32[r*c+k0]), 4*c
			} else {
				w, ldw = smallPanel.panel(m, r, nr, k0, kn, s.w)
			}
			transpose16AVX512((*float32)(w), ldw, &s.stage[0], kn)
			load := 0
			if k0 > 0 {
				load = 1
			}
			fmaCols16AVX512(&s.stage[0], &xs[k0*ntp], ntp, kn, &acc[0], load)
		}
		for t := 0; t < T; t++ {
			copy(dst[t*rows+r:t*rows+r+nr], acc[t*16:t*16+nr])
		}
	}
}
