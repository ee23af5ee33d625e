//go:build amd64 && !purego

package kernels

import (
	"math"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in gemmsmall512_amd64.s.

//go:noescape
func smallT16AVX512(w unsafe.Pointer, ldw int, kind int, xs *float32, ntp int, nb int, acc *float32, load int, rowOff *[16]int32)

// Implemented in gemmsmall2_amd64.s.

//go:noescape
func smallT8AVX2(w unsafe.Pointer, ldw int, kind int, xs *float32, ntp int, nb int, acc *float32, load int)

// smallTKernel is a set's rows-in-lanes kernel: rows rows (lanes) by
// groups of up to group tokens, weights of kind 0 (float32 rows), 1 (f16),
// 2 (bf16) or, where q8 is set, 3 (q8_0 blocks, decoded in the kernel).
type smallTKernel struct {
	rows, group int
	q8          bool
	kern        func(w unsafe.Pointer, ldw, kind int, xs *float32, ntp, nb int, acc *float32, load int, rowOff *[16]int32)
}

var smallT512 = &smallTKernel{rows: 16, group: 8, q8: true, kern: smallT16AVX512}

var smallT2 = &smallTKernel{rows: 8, group: 4, kern: func(w unsafe.Pointer, ldw, kind int, xs *float32, ntp, nb int, acc *float32, load int, _ *[16]int32) {
	smallT8AVX2(w, ldw, kind, xs, ntp, nb, acc, load)
}}

// Small-T MatMul (avx512): the token tiles put tokens in lanes, so with a
// few tokens most lanes idle while every weight is still widened and read
// once per call. Here rows are in lanes instead: smallT16AVX512 loads 16
// weight rows x 16 columns (f16/bf16 widened on load; block types decoded
// first into a panel, as the tiles do), transposes them in registers, and
// each token keeps one 16-row accumulator, acc_t = fma(w[k][rows],
// x[t][k], acc_t) for k in order from +0. That is the same single chain
// per output (t, r) as the tiles and Generic, so the two paths give
// identical bits and the crossover cannot change results.

// smallTMax is the largest T that takes the rows-in-lanes path. Beyond 8
// tokens it widens and transposes the weights again for each group of 8;
// BenchmarkGEMMSmallT (16384x768, one thread, loaded machine) measured it
// 1.2-1.5x faster than the token tiles at T = 8 and on par or slower at
// T = 12 and 16 on f16, bf16, q4_0, q8_0.
const smallTMax = 8

// smallTMax2 is smallTMax for the avx2 set (8 rows, groups of 4 tokens):
// measured 2.2-2.8x the tiles at T ≤ 4 on f16 and q8_0, even at T = 8.
const smallTMax2 = 4

// matMulRows is a set's matMulRows for T ≥ 1 (taken for small T): token
// groups of up to G (the kernel's accumulators) over each block of R rows.
func (sk *smallTKernel) matMulRows(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	R, G := sk.rows, sk.group
	panel := &gemmTiles{rows: R}
	groups := (T + G - 1) / G
	ntp := G // tokens per group, padded to a power of 2
	if T < G {
		ntp = 1
		for ntp < T {
			ntp *= 2
		}
	}
	s := gemmBufs.Get().(*gemmScratch)
	defer gemmBufs.Put(s)
	// xs holds each group's x with tokens interleaved, [c16][ntp] for c16
	// = c rounded up to 16: zero for missing tokens (their chains are
	// dropped) and -0 for columns ≥ c, which meet zero weights:
	// fma(+0, -0, s) = s + -0 = s exactly for every s (-0 included), so
	// the padded steps of a K tail leave the chain's bits alone.
	c16 := (c + R - 1) / R * R
	gs := c16 * ntp
	s.xp = growF32(s.xp, groups*gs)
	clear(s.xp)
	for t := 0; t < T; t++ {
		xs, j := s.xp[t/G*gs:(t/G+1)*gs], t%G
		for k, v := range x[t*c : (t+1)*c] {
			xs[k*ntp+j] = v
		}
		for k := c; k < c16; k++ {
			xs[k*ntp+j] = float32(math.Copysign(0, -1))
		}
	}
	kind := 0
	switch m.DType {
	case quant.F16:
		kind = 1
	case quant.BF16:
		kind = 2
	}
	full := c / R * R
	rem := c - full
	s.w = growF32(s.w, R*c)
	s.acc = growF32(s.acc, R*ntp)
	acc := s.acc
	tail := make([]float32, R*R) // on the stack (small constant bound)
	var rowOff [16]int32         // q8_0: the 16 rows' byte offsets, for gathering scales
	for i := range rowOff {
		rowOff[i] = int32(i * m.rowBytes)
	}
	for r := r0; r < r1; r += R {
		nr := min(R, r1-r)
		var w unsafe.Pointer
		ldw, wk, nb := 2*c, kind, full/R
		if full > 0 {
			switch {
			case nr == R && m.DType == quant.F32:
				w, ldw = unsafe.Pointer(&m.f32[r*c]), 4*c
			case nr == R && kind != 0:
				w = unsafe.Pointer(&m.u16[r*c])
			case nr == R && sk.q8 && m.DType == quant.Q8_0:
				// Decoded in the kernel (kind 3): nb counts 32-column blocks.
				w, ldw, wk, nb = unsafe.Pointer(&m.q[r*m.rowBytes]), m.rowBytes, 3, c/32
			case nr == R && m.q != nil:
				// The rows' blocks are contiguous: one decoder call
				// for all of them.
				blockDecoders[m.DType](&s.w[0], &m.q[r*m.rowBytes], R*c/32)
				w, ldw, wk = unsafe.Pointer(&s.w[0]), 4*c, 0
			default: // a partial row block: widened rows, zero below nr
				w, ldw = panel.panel(m, r, nr, 0, full, s.w)
				wk = 0
			}
		}
		if rem > 0 {
			// K tail (f32/f16/bf16 only; block rows are whole blocks):
			// the widened columns in a zero-padded R x R block.
			p, ldp := panel.panel(m, r, nr, full, rem, s.w[R*full:])
			clear(tail[:])
			for i := 0; i < nr; i++ {
				copy(tail[i*R:i*R+rem], unsafe.Slice((*float32)(unsafe.Add(p, i*ldp)), rem))
			}
		}
		for g := 0; g < groups; g++ {
			xs := s.xp[g*gs : (g+1)*gs]
			if full > 0 {
				sk.kern(w, ldw, wk, &xs[0], ntp, nb, &acc[0], 0, &rowOff)
			}
			if rem > 0 {
				load := 0
				if full > 0 {
					load = 1
				}
				sk.kern(unsafe.Pointer(&tail[0]), 4*R, 0, &xs[full*ntp], ntp, 1, &acc[0], load, &rowOff)
			}
			for j := 0; j < min(ntp, T-G*g); j++ {
				t := G*g + j
				copy(dst[t*rows+r:t*rows+r+nr], acc[j*R:j*R+nr])
			}
		}
	}
}
