//go:build amd64 && !purego

package kernels

import (
	"sync"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// The amd64 sets' MatVec (decode) runs over assembly tiles. A tile computes
// whole groups of lanes elements (n of them, n may be 0) with one FMA
// accumulator per row and a fixed reduction, so a row's bits do not
// depend on the tile (4x1 or 1x1) and row splits change nothing. The last
// c mod lanes elements of a row are added in Go (tail). MatMul (sequence
// mode) has its own kernels (gemm_amd64.go).

// rowsTile: 4 rows x 1 token; out[r].
type rowsTile func(w unsafe.Pointer, ldw int, x *float32, n int, out *[4]float32)

// groupTile: groups ≥ 1 groups of 4 rows x 1 token, contiguous rows;
// out[4·g+r], each the sum rowsTile gives.
type groupTile func(w unsafe.Pointer, ldw int, x *float32, n int, out *float32, groups int)

// oneTile: 1 row x 1 token.
type oneTile func(w unsafe.Pointer, x *float32, n int) float32

// fusedBlockDot: 4 block rows (ldw bytes apart, nb blocks each) x 1 token,
// decoding in registers, the same bits as decoding the rows and calling
// the f32 rowsTile; out[r].
type fusedBlockDot func(w *byte, ldw int, x *float32, nb int, out *[4]float32)

// tileKernels is one set's tiles, indexed by weight kind (kindF32, kindF16,
// kindBF16).
type tileKernels struct {
	lanes int // elements per accumulator step: 8 (ymm) or 16 (zmm)
	rows  [3]rowsTile
	// short, where not nil, replaces rows for panels of four rows of at
	// most shortPanelBytes: these prefetch the next panel instead of each
	// row's next KiB (which, in rows this short, is the next row, already
	// being read). Measured on the 768-column f16/bf16 matrices (the
	// output head, FFN keys): +20-40 % from memory; no gain for f32.
	short [3]groupTile
	one   [3]oneTile
	// fused[dt] for block types with a register-decoding MatVec; nil:
	// decode a panel and use the f32 tiles.
	fused map[quant.DType]fusedBlockDot
}

// shortPanelBytes bounds the panels the short tiles take: four rows of
// up to 2 KiB, which the next-panel prefetch keeps well inside L1.
const shortPanelBytes = 8 << 10

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

// decodeBuf holds four decoded block rows per goroutine.
var decodeBuf = sync.Pool{New: func() any { return new([]float32) }}

// panelOf returns rows [r, r+n) of m as the tiles read them: the matrix
// itself for f32/f16/bf16 (any n), block rows decoded into buf (n ≤ 4).
func panelOf(m Matrix, r, n int, buf []float32) panel {
	c := m.Cols
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

// matVecRows computes dst[r] = W[r]·x for r in [r0, r1); block rows with
// a fused dot are decoded in registers four at a time (no reuse would pay
// for a round trip through memory), the others go through panelRows.
func (k *tileKernels) matVecRows(dst []float32, m Matrix, x []float32, r0, r1 int) {
	fused := k.fused[m.DType]
	if m.q == nil || fused == nil || r1-r0 < 4 {
		k.panelRows(dst, m, x, r0, r1)
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
		k.panelRows(dst, m, x, r, r1)
	}
}

// shortTile returns the group tile for m's panels, or nil.
func (k *tileKernels) shortTile(m Matrix) groupTile {
	var t groupTile
	switch m.DType {
	case quant.F16:
		t = k.short[kindF16]
	case quant.BF16:
		t = k.short[kindBF16]
	}
	if 4*2*m.Cols > shortPanelBytes {
		return nil
	}
	return t
}

// panelRows is matVecRows through the float tiles: rows in panels of four
// (block rows decoded into a panel first), the rest one at a time.
func (k *tileKernels) panelRows(dst []float32, m Matrix, x []float32, r0, r1 int) {
	c := m.Cols
	if r0 >= r1 {
		return
	}
	_ = dst[r1-1]
	x = x[:c]
	if c == 0 {
		clear(dst[r0:r1])
		return
	}
	n, k0 := c/k.lanes, c/k.lanes*k.lanes
	hasTail := k0 < c
	var buf []float32
	if m.q != nil {
		bp := decodeBuf.Get().(*[]float32)
		defer decodeBuf.Put(bp)
		if len(*bp) < 4*c {
			*bp = make([]float32, 4*c)
		}
		buf = *bp
	}
	var out4 [4]float32
	r := r0
	if short := k.shortTile(m); short != nil && r1-r0 >= 4 {
		g := (r1 - r0) / 4
		p := panelOf(m, r0, 4*g, buf)
		short(p.base, p.ldBytes(), &x[0], n, &dst[r0], g)
		if hasTail {
			for i := 0; i < 4*g; i++ {
				dst[r0+i] += p.tail(i, k0, x)
			}
		}
		r += 4 * g
	}
	for ; r+4 <= r1; r += 4 {
		p := panelOf(m, r, 4, buf)
		k.rows[p.kind](p.base, p.ldBytes(), &x[0], n, &out4)
		for i := 0; i < 4; i++ {
			s := out4[i]
			if hasTail {
				s += p.tail(i, k0, x)
			}
			dst[r+i] = s
		}
	}
	for ; r < r1; r++ {
		p := panelOf(m, r, 1, buf)
		s := k.one[p.kind](p.row(0), &x[0], n)
		if hasTail {
			s += p.tail(0, k0, x)
		}
		dst[r] = s
	}
}
