//go:build amd64 && !purego

package kernels

import (
	"sync"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in gemm512_amd64.s.

//go:noescape
func gemm12x32AVX512(w unsafe.Pointer, ldw int, xp *float32, kc int, acc *float32, load int, pf uintptr, npf int)

//go:noescape
func gemm12x16AVX512(w unsafe.Pointer, ldw int, xp *float32, kc int, acc *float32, load int, pf uintptr, npf int)

//go:noescape
func packX32AVX512(xp *float32, x *float32, ldx int, k int, mlo, mhi int)

//go:noescape
func scatter12x32AVX512(acc *float32, dst *float32, ldd int, mlo, mhi int)

//go:noescape
func copyRows12AVX512(src *float32, dst *float32, ldd int, n int)

//go:noescape
func gemm6x16AVX2(w unsafe.Pointer, ldw int, xp *float32, kc int, acc *float32, load int, pf uintptr, npf int)

// The amd64 MatMuls are a packed outer product: the activations of a
// group of tokens are packed once per call as xp[k][tokens] (tokens in
// lanes), the weights of a panel of rows are read (f32) or widened/decoded
// once per call into a small row-major panel, and a tile keeps one vector
// accumulator per (row, lane group). Each output (t, r) is one FMA chain
// over k = 0, 1, ... from +0 (genericMatMulRows' order), split into K
// blocks whose chains continue through memory, so its bits depend only on
// W[r] and x[t]: not on T, the tile, the row range or the set.

// gemmTiles is one set's tile shape and kernels.
type gemmTiles struct {
	rows, tokens int
	// kern runs a full tile over kc columns: w rows ldw bytes apart, xp
	// packed [kc][tokens], acc [rows][tokens] (continued when load != 0),
	// prefetching up to npf (≤ kc/4) cache lines from pf on.
	kern gemmKernel
	// half, if not nil, is kern for groups of at most tokens/2 tokens.
	half gemmKernel
	// pack packs nt ≤ tokens token rows of x (ldx bytes apart, c columns)
	// into xp, zero for the missing tokens.
	pack func(xp []float32, x []float32, c, nt int)
	// scatter, if not nil, stores a full panel's acc into dst (rows ldd
	// bytes apart) for the first nt tokens; copyRows then copies T such
	// rows of a panel from a token-major staging buffer (rows apart 4·rows
	// bytes) to dst (scattering straight into a wide dst costs a TLB miss
	// per element).
	scatter  func(acc *float32, dst *float32, ldd int, nt int)
	copyRows func(src *float32, dst *float32, ldd int, n int)
	// small, if not nil, takes calls with T ≤ smallT: rows in lanes
	// (gemmsmall_amd64.go), the same bits.
	small  *smallTKernel
	smallT int
}

type gemmKernel func(w unsafe.Pointer, ldw int, xp *float32, kc int, acc *float32, load int, pf uintptr, npf int)

var avx512Gemm = &gemmTiles{
	rows: 12, tokens: 32, kern: gemm12x32AVX512, half: gemm12x16AVX512,
	pack: func(xp, x []float32, c, nt int) {
		lo, hi := tokenMasks(nt)
		packX32AVX512(&xp[0], &x[0], 4*c, c, lo, hi)
	},
	scatter: func(acc, dst *float32, ldd, nt int) {
		lo, hi := tokenMasks(nt)
		scatter12x32AVX512(acc, dst, ldd, lo, hi)
	},
	copyRows: copyRows12AVX512,
	small:    smallT512, smallT: smallTMax,
}

var avx2Gemm = &gemmTiles{rows: 6, tokens: 16, kern: gemm6x16AVX2, pack: packXGo(16), small: smallT2, smallT: smallTMax2}

// packXGo packs in Go (AVX2 has no fast transposing store).
func packXGo(tokens int) func(xp, x []float32, c, nt int) {
	return func(xp, x []float32, c, nt int) {
		xp = xp[:c*tokens]
		if nt < tokens {
			clear(xp)
		}
		for j := 0; j < nt; j++ {
			row := x[j*c : (j+1)*c]
			for k, v := range row {
				xp[k*tokens+j] = v
			}
		}
	}
}

type gemmScratch struct{ xp, w, acc, stage []float32 }

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

// gemmKC is the longest K block: a 12-row panel block of 36 KiB stays in
// L1 while the token groups stream past it.
const gemmKC = 768

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

// panel returns columns [k0, k0+kn) of rows [r, r+nr) as g.rows float32
// rows ldw bytes apart: the matrix itself for a full f32 panel, else
// widened or decoded into buf with rows nr.. zero.
func (g *gemmTiles) panel(m Matrix, r, nr, k0, kn int, buf []float32) (unsafe.Pointer, int) {
	c := m.Cols
	if m.DType == quant.F32 && nr == g.rows {
		return unsafe.Pointer(&m.f32[r*c+k0]), 4 * c
	}
	buf = buf[:g.rows*kn]
	// The same columns of the next panel of rows (widening prefetches them).
	pf := g.rows * c * m.DType.BlockBytes()
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
					cvtF16AVX2(&d[0], unsafe.Pointer(&src[0]), n8, pf)
				}
				for k := 8 * n8; k < kn; k++ {
					d[k] = f16Table[src[k]]
				}
			} else {
				if n8 > 0 {
					cvtBF16AVX2(&d[0], unsafe.Pointer(&src[0]), n8, pf)
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

// matMulRows is a set's MatMulRows.
func (g *gemmTiles) matMulRows(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
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
	if g.small != nil && T <= g.smallT {
		g.small.matMulRows(dst, m, x, T, r0, r1)
		return
	}
	s := gemmBufs.Get().(*gemmScratch)
	defer gemmBufs.Put(s)
	s.xp = g.packAll(s.xp, x, c, T)
	g.packedRows(dst, m, s.xp, T, r0, r1, s)
}

// packAll packs all T token rows of x (c columns) into xp, grown as
// needed, as groups of g.tokens tokens.
func (g *gemmTiles) packAll(xp, x []float32, c, T int) []float32 {
	TK := g.tokens
	groups := (T + TK - 1) / TK
	xp = growF32(xp, groups*TK*c)
	g.packGroups(xp, x, c, T, 0, groups)
	return xp
}

// packGroups packs token groups [g0, g1) of x into xp (sized by packAll).
func (g *gemmTiles) packGroups(xp, x []float32, c, T, g0, g1 int) {
	TK := g.tokens
	for gi := g0; gi < g1; gi++ {
		nt := min(TK, T-gi*TK)
		g.pack(xp[gi*TK*c:(gi+1)*TK*c], x[gi*TK*c:(gi*TK+nt)*c], c, nt)
	}
}

// prepare is a set's matMulPrep: for calls the tiles take, the
// activations are packed once, their token groups shared out by par,
// into a buffer every row range then reads, instead of once per thread.
func (g *gemmTiles) prepare(dst []float32, m Matrix, x []float32, T int, par func(n int, fn func(i0, i1 int))) (run func(r0, r1 int), release func()) {
	c := m.Cols
	if c == 0 || T <= 0 || (g.small != nil && T <= g.smallT) {
		return nil, nil
	}
	x = x[:T*c]
	_ = dst[T*m.Rows-1]
	TK := g.tokens
	groups := (T + TK - 1) / TK
	shared := gemmBufs.Get().(*gemmScratch)
	shared.xp = growF32(shared.xp, groups*TK*c)
	xp := shared.xp
	par(groups, func(g0, g1 int) { g.packGroups(xp, x, c, T, g0, g1) })
	run = func(r0, r1 int) {
		if r0 >= r1 {
			return
		}
		s := gemmBufs.Get().(*gemmScratch)
		defer gemmBufs.Put(s)
		g.packedRows(dst, m, xp, T, r0, r1, s)
	}
	return run, func() { gemmBufs.Put(shared) }
}

// packedRows is matMulRows on activations packed by packAll; s holds the
// calling thread's panel, accumulator and staging buffers (not its xp).
func (g *gemmTiles) packedRows(dst []float32, m Matrix, xp []float32, T, r0, r1 int, s *gemmScratch) {
	c, rows := m.Cols, m.Rows
	R, TK := g.rows, g.tokens
	groups := (T + TK - 1) / TK
	kc := gemmBlock(c)
	s.w = growF32(s.w, R*kc)
	s.stage = growF32(s.stage, groups*TK*R)
	// K blocks are the outer loop within chunks of up to gemmChunk panels,
	// so that one block of the packed activations (≤ 768 columns of every
	// token: 384 KiB for 128 tokens) stays in L2 while the chunk's panels
	// pass; each (panel, group) keeps its chains in acc between blocks.
	// With one block, a panel's kernels prefetch the next panel's rows
	// (contiguous in the matrix), spread evenly over its kernel calls.
	rowBytes := m.rowBytes
	if m.q == nil {
		rowBytes = c * m.DType.BlockBytes()
	}
	base := m.base()
	single := kc == c
	chunk := gemmChunk
	if single {
		chunk = 1 // a panel is finished in one pass: one acc suffices
	}
	s.acc = growF32(s.acc, chunk*groups*R*TK)
	pfPer := (R*rowBytes/64 + groups) / groups
	for c0 := r0; c0 < r1; c0 += chunk * R {
		c1 := min(r1, c0+chunk*R)
		panels := (c1 - c0 + R - 1) / R
		for k0 := 0; k0 < c; k0 += kc {
			kn := min(kc, c-k0)
			last := k0+kn == c
			load := 0
			if k0 > 0 {
				load = 1
			}
			for pi := 0; pi < panels; pi++ {
				r := c0 + pi*R
				nr := min(R, c1-r)
				w, ldw := g.panel(m, r, nr, k0, kn, s.w)
				npf, pf := 0, base+uintptr((r+R)*rowBytes)
				if single && r+R < r1 {
					npf = min(pfPer, kn/4)
				}
				acc := s.acc[pi*groups*R*TK : (pi+1)*groups*R*TK]
				for gi := 0; gi < groups; gi++ {
					xg := &xp[gi*TK*c+k0*TK]
					p := pf + uintptr(gi*pfPer*64)
					if g.half != nil && T-gi*TK <= TK/2 {
						g.half(w, ldw, xg, kn, &acc[gi*R*TK], load, p, npf)
					} else {
						g.kern(w, ldw, xg, kn, &acc[gi*R*TK], load, p, npf)
					}
				}
				if last {
					g.store(dst, acc, s.stage, T, rows, r, nr)
				}
			}
		}
	}
}

// gemmChunk bounds the panels whose chains wait in memory between K
// blocks (64 panels of 12 rows x 128 tokens: 384 KiB).
const gemmChunk = 64

// store writes a finished panel's outputs, acc [groups][rows][tokens],
// into dst's rows [r, r+nr).
func (g *gemmTiles) store(dst, acc, stage []float32, T, rows, r, nr int) {
	R, TK := g.rows, g.tokens
	groups := (T + TK - 1) / TK
	if nr == R && g.scatter != nil {
		for gi := 0; gi < groups; gi++ {
			g.scatter(&acc[gi*R*TK], &stage[gi*TK*R], 4*R, min(TK, T-gi*TK))
		}
		g.copyRows(&stage[0], &dst[r], 4*rows, T)
		return
	}
	for gi := 0; gi < groups; gi++ {
		nt := min(TK, T-gi*TK)
		a := acc[gi*R*TK : (gi+1)*R*TK]
		for j := 0; j < nt; j++ {
			d := dst[(gi*TK+j)*rows+r : (gi*TK+j)*rows+r+nr]
			for i := range d {
				d[i] = a[i*TK+j]
			}
		}
	}
}

// base is the address of the matrix's first byte (for prefetching only).
func (m Matrix) base() uintptr {
	switch {
	case m.q != nil:
		return uintptr(unsafe.Pointer(&m.q[0]))
	case m.u16 != nil:
		return uintptr(unsafe.Pointer(&m.u16[0]))
	case m.f32 != nil:
		return uintptr(unsafe.Pointer(&m.f32[0]))
	}
	return 0
}
