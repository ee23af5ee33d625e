//go:build amd64 && !purego

package kernels

import (
	"sync"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// The amd64 sets share one driver over assembly tiles. A tile computes
// whole groups of lanes elements (n of them, n may be 0) with one FMA
// accumulator per (row, token) pair and a fixed reduction, so a pair's
// bits do not depend on the tile shape: MatMul (4 rows x tokens tiles)
// equals MatVec (4x1), and row splits change nothing. The last c mod
// lanes elements of a row are added in Go (tail).

// multiTile: 4 rows (ldw bytes apart) x tokens tokens (ldx bytes apart);
// out[tokens·r+t].
type multiTile func(w unsafe.Pointer, ldw int, x *float32, ldx int, n int, out *[16]float32)

// accTile is the f32 multiTile over one block of K with its accumulators
// (lanes floats per pair, pair tokens·r+t) loaded from and stored back to
// acc unreduced, so long rows can be walked in L1-sized blocks.
type accTile func(w unsafe.Pointer, ldw int, x *float32, ldx int, n int, acc *[256]float32)

// rowsTile: 4 rows x 1 token; out[r].
type rowsTile func(w unsafe.Pointer, ldw int, x *float32, n int, out *[4]float32)

// oneTile: 1 row x 1 token.
type oneTile func(w unsafe.Pointer, x *float32, n int) float32

// fusedBlockDot: 4 block rows (ldw bytes apart, nb blocks each) x 1 token,
// decoding in registers, the same bits as decoding the rows and calling
// the f32 rowsTile; out[r].
type fusedBlockDot func(w *byte, ldw int, x *float32, nb int, out *[4]float32)

// tileKernels is one set's tiles, indexed by weight kind (kindF32, kindF16,
// kindBF16).
type tileKernels struct {
	lanes  int // elements per accumulator step: 8 (ymm) or 16 (zmm)
	tokens int // tokens per multiTile
	multi  [3]multiTile
	acc    accTile // f32 only
	// reduce turns acc's accumulators into out[tokens·r+t] as multi does.
	reduce func(acc *[256]float32, out *[16]float32)
	rows   [3]rowsTile
	one    [3]oneTile
	// fused[dt] for block types with a register-decoding MatVec; nil:
	// decode a panel and use the f32 tiles.
	fused map[quant.DType]fusedBlockDot
}

// readVector is ReadAll's vector loop (set at start-up when the CPU has AVX2).
var readVector func(p *byte, n256 int) uint64

const (
	kindF32 = iota
	kindF16
	kindBF16
)

// blockDecoders decode nb > 0 blocks at src into 32·nb floats at dst, with
// quant.DequantizeRow's values (any set may use them: the values are exact).
var blockDecoders = map[quant.DType]func(dst *float32, src *byte, nb int){
	quant.Q8_0: deqQ8_0AVX2, quant.Q4_0: deqQ4_0AVX2, quant.Q4_1: deqQ4_1AVX2,
	quant.Q5_0: deqQ5_0AVX2, quant.Q5_1: deqQ5_1AVX2,
}

// panel is up to four weight rows in a form the tiles read: the matrix
// itself for f32/f16/bf16, decoded float32 rows for block types.
type panel struct {
	kind int
	base unsafe.Pointer // row 0
	ld   int            // elements between rows
	f32  []float32      // the rows, for tails (one of f32, u16)
	u16  []uint16
}

// decodeBuf holds four decoded block rows per goroutine; accBuf the
// accumulators of K-blocked MatMuls.
var decodeBuf, accBuf = sync.Pool{New: func() any { return new([]float32) }}, sync.Pool{New: func() any { return new([]float32) }}

// kBlock is the K block of long (≥ 2·kBlock) MatMul rows: a 4-row f32 panel block is
// 8 KiB, so it stays in L1 while every token group streams past it.
const kBlock = 512

// panelOf returns rows [r, r+n) of m (n ≤ 4), decoding block rows into
// buf; with widen (buf non-nil), f16/bf16 rows are widened into buf too,
// so that a MatMul converts each weight once, not once per token group
// (the widening is exact: the same bits as converting in the tiles).
func panelOf(m Matrix, r, n int, buf []float32, widen bool) panel {
	c := m.Cols
	switch m.DType {
	case quant.F16, quant.BF16:
		if !widen {
			break
		}
		w := m.u16[r*c : (r+n)*c]
		n8 := c / 8
		for i := 0; i < n; i++ {
			src, dst := w[i*c:(i+1)*c], buf[i*c:(i+1)*c]
			if m.DType == quant.F16 {
				cvtF16AVX2(&dst[0], unsafe.Pointer(&src[0]), n8)
				for k := 8 * n8; k < c; k++ {
					dst[k] = f16Table[src[k]]
				}
			} else {
				cvtBF16AVX2(&dst[0], unsafe.Pointer(&src[0]), n8)
				for k := 8 * n8; k < c; k++ {
					dst[k] = bf(src[k])
				}
			}
		}
		f := buf[:n*c]
		return panel{kind: kindF32, base: unsafe.Pointer(&f[0]), ld: c, f32: f}
	}
	switch m.DType {
	case quant.F32:
		w := m.f32[r*c : (r+n)*c]
		return panel{kind: kindF32, base: unsafe.Pointer(&w[0]), ld: c, f32: w}
	case quant.F16, quant.BF16:
		w := m.u16[r*c : (r+n)*c]
		k := kindF16
		if m.DType == quant.BF16 {
			k = kindBF16
		}
		return panel{kind: k, base: unsafe.Pointer(&w[0]), ld: c, u16: w}
	}
	dec := blockDecoders[m.DType]
	if dec == nil {
		panic("kernels: unsupported matrix type " + m.DType.String())
	}
	nb := c / 32
	for i := 0; i < n; i++ {
		row := m.qRow(r + i)
		dec(&buf[i*c : (i+1)*c][0], &row[0], nb)
	}
	w := buf[:n*c]
	return panel{kind: kindF32, base: unsafe.Pointer(&w[0]), ld: c, f32: w}
}

// row returns a pointer to row i of the panel.
func (p panel) row(i int) unsafe.Pointer {
	if p.kind == kindF32 {
		return unsafe.Pointer(&p.f32[i*p.ld])
	}
	return unsafe.Pointer(&p.u16[i*p.ld])
}

// ldBytes is the byte distance between rows.
func (p panel) ldBytes() int {
	if p.kind == kindF32 {
		return 4 * p.ld
	}
	return 2 * p.ld
}

// tail is Σ w[k]·x[k] over elements [k0, len(x)) of row i, in plain
// float32 order.
func (p panel) tail(i, k0 int, x []float32) float32 {
	var s float32
	for k := k0; k < len(x); k++ {
		switch p.kind {
		case kindF32:
			s += p.f32[i*p.ld+k] * x[k]
		case kindF16:
			s += f16Table[p.u16[i*p.ld+k]] * x[k]
		default:
			s += bf(p.u16[i*p.ld+k]) * x[k]
		}
	}
	return s
}

// matVecRows is matMulRows with one token, except that block rows with a
// fused dot are decoded in registers four at a time (no reuse would pay
// for a round trip through memory).
func (k *tileKernels) matVecRows(dst []float32, m Matrix, x []float32, r0, r1 int) {
	fused := k.fused[m.DType]
	if m.q == nil || fused == nil || r1-r0 < 4 {
		k.matMulRows(dst, m, x, 1, r0, r1)
		return
	}
	nb := m.Cols / 32
	x = x[:nb*32]
	dst = dst[:r1]
	var out [4]float32
	r := r0
	for ; r+4 <= r1; r += 4 {
		w := m.q[r*m.rowBytes : (r+4)*m.rowBytes]
		fused(&w[0], m.rowBytes, &x[0], nb, &out)
		copy(dst[r:r+4], out[:])
	}
	if r < r1 {
		k.matMulRows(dst, m, x, 1, r, r1)
	}
}

// matMulRows walks rows in panels of four (weights read once per panel,
// decoded once for block types) and tokens in groups of k.tokens within
// a panel.
func (k *tileKernels) matMulRows(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	if r0 >= r1 {
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
	n, k0 := c/k.lanes, c/k.lanes*k.lanes
	hasTail := k0 < c
	// Block rows are always decoded into a panel; f16/bf16 rows are
	// widened when at least two token groups will read them.
	widen := m.u16 != nil && T >= 2*k.tokens
	var buf []float32
	if m.q != nil || widen {
		bp := decodeBuf.Get().(*[]float32)
		defer decodeBuf.Put(bp)
		if len(*bp) < 4*c {
			*bp = make([]float32, 4*c)
		}
		buf = *bp
	}
	tk := k.tokens
	var outM [16]float32
	var out4 [4]float32
	r := r0
	for ; r+4 <= r1; r += 4 {
		p := panelOf(m, r, 4, buf, widen)
		multi, rowsT, ld := k.multi[p.kind], k.rows[p.kind], p.ldBytes()
		t := 0
		if p.kind == kindF32 && k.acc != nil && n*k.lanes >= 2*kBlock && T >= tk {
			t = k.blockedGroups(dst, p, x, T, c, rows, r, n, k0, hasTail)
		}
		for ; t+tk <= T; t += tk {
			multi(p.base, ld, &x[t*c], 4*c, n, &outM)
			for i := 0; i < 4; i++ {
				for j := 0; j < tk; j++ {
					s := outM[tk*i+j]
					if hasTail {
						s += p.tail(i, k0, x[(t+j)*c:(t+j+1)*c])
					}
					dst[(t+j)*rows+r+i] = s
				}
			}
		}
		for ; t < T; t++ {
			xt := x[t*c : (t+1)*c]
			rowsT(p.base, ld, &xt[0], n, &out4)
			for i := 0; i < 4; i++ {
				s := out4[i]
				if hasTail {
					s += p.tail(i, k0, xt)
				}
				dst[t*rows+r+i] = s
			}
		}
	}
	for ; r < r1; r++ {
		p := panelOf(m, r, 1, buf, widen)
		one := k.one[p.kind]
		for t := 0; t < T; t++ {
			xt := x[t*c : (t+1)*c]
			s := one(p.row(0), &xt[0], n)
			if hasTail {
				s += p.tail(0, k0, xt)
			}
			dst[t*rows+r] = s
		}
	}
}

// blockedGroups computes the full token groups of a 4-row f32 panel at
// row r walking K in kBlock blocks (the accumulators wait in memory
// between blocks), and returns the first token it did not do. Every pair
// sees the same FMAs in the same order as one pass, so the bits equal the
// unblocked tiles'.
func (k *tileKernels) blockedGroups(dst []float32, p panel, x []float32, T, c, rows, r, n, k0 int, hasTail bool) int {
	tk, lanes := k.tokens, k.lanes
	groups := T / tk
	ap := accBuf.Get().(*[]float32)
	defer accBuf.Put(ap)
	if len(*ap) < groups*256 {
		*ap = make([]float32, groups*256)
	}
	accs := (*ap)[:groups*256]
	clear(accs)
	step := kBlock / lanes
	for kb := 0; kb < n; kb += step {
		nb := min(step, n-kb)
		off := kb * lanes
		w := unsafe.Add(p.base, 4*off)
		for g := 0; g < groups; g++ {
			k.acc(w, 4*p.ld, &x[g*tk*c+off], 4*c, nb, (*[256]float32)(accs[g*256:]))
		}
	}
	var out [16]float32
	for g := 0; g < groups; g++ {
		k.reduce((*[256]float32)(accs[g*256:]), &out)
		for i := 0; i < 4; i++ {
			for j := 0; j < tk; j++ {
				t := g*tk + j
				s := out[tk*i+j]
				if hasTail {
					s += p.tail(i, k0, x[t*c:(t+1)*c])
				}
				dst[t*rows+r+i] = s
			}
		}
	}
	return groups * tk
}
