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

var smallPanel = &gemmTiles{rows: 16}

// matMulRowsSmallT is matMulRows for T ≥ 1 (taken for T ≤ smallTMax):
// token groups of up to 8 (the kernel's accumulators) over each 16-row
// block.
func matMulRowsSmallT(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	groups := (T + 7) / 8
	ntp := 8 // tokens per group, padded to the kernel's 1, 2, 4 or 8
	if T < 8 {
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
	c16 := (c + 15) / 16 * 16
	gs := c16 * ntp
	s.xp = growF32(s.xp, groups*gs)
	clear(s.xp)
	for t := 0; t < T; t++ {
		xs, j := s.xp[t/8*gs:(t/8+1)*gs], t%8
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
	full := c / 16 * 16
	rem := c - full
	s.w = growF32(s.w, 16*c)
	s.acc = growF32(s.acc, 16*ntp)
	acc := s.acc
	var tail [16 * 16]float32
	var rowOff [16]int32 // q8_0: the 16 rows' byte offsets, for gathering scales
	for i := range rowOff {
		rowOff[i] = int32(i * m.rowBytes)
	}
	for r := r0; r < r1; r += 16 {
		nr := min(16, r1-r)
		var w unsafe.Pointer
		ldw, wk, nb := 2*c, kind, full/16
		if full > 0 {
			switch {
			case nr == 16 && m.DType == quant.F32:
				w, ldw = unsafe.Pointer(&m.f32[r*c]), 4*c
			case nr == 16 && kind != 0:
				w = unsafe.Pointer(&m.u16[r*c])
			case nr == 16 && m.DType == quant.Q8_0:
				// Decoded in the kernel (kind 3): nb counts 32-column blocks.
				w, ldw, wk, nb = unsafe.Pointer(&m.q[r*m.rowBytes]), m.rowBytes, 3, c/32
			case nr == 16 && m.q != nil:
				// The 16 rows' blocks are contiguous: one decoder call
				// for all of them.
				blockDecoders[m.DType](&s.w[0], &m.q[r*m.rowBytes], 16*c/32)
				w, ldw, wk = unsafe.Pointer(&s.w[0]), 4*c, 0
			default: // a partial row block: widened rows, zero below nr
				w, ldw = smallPanel.panel(m, r, nr, 0, full, s.w)
				wk = 0
			}
		}
		if rem > 0 {
			// K tail (f32/f16/bf16 only; block rows are whole blocks):
			// the widened columns in a zero-padded 16x16 block.
			p, ldp := smallPanel.panel(m, r, nr, full, rem, s.w[16*full:])
			clear(tail[:])
			for i := 0; i < nr; i++ {
				copy(tail[i*16:i*16+rem], unsafe.Slice((*float32)(unsafe.Add(p, i*ldp)), rem))
			}
		}
		for g := 0; g < groups; g++ {
			xs := s.xp[g*gs : (g+1)*gs]
			if full > 0 {
				smallT16AVX512(w, ldw, wk, &xs[0], ntp, nb, &acc[0], 0, &rowOff)
			}
			if rem > 0 {
				load := 0
				if full > 0 {
					load = 1
				}
				smallT16AVX512(unsafe.Pointer(&tail[0]), 64, 0, &xs[full*ntp], ntp, 1, &acc[0], load, &rowOff)
			}
			for j := 0; j < min(ntp, T-8*g); j++ {
				t := 8*g + j
				copy(dst[t*rows+r:t*rows+r+nr], acc[j*16:j*16+nr])
			}
		}
	}
}
