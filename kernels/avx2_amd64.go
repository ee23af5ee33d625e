//go:build amd64 && !purego

package kernels

import (
	"sync"

	"golang.org/x/sys/cpu"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in tiles_amd64.s. A tile computes whole groups of 8 (n8 of
// them, n8 may be 0); the pointers must cover every row and token read.

//go:noescape
func tile4x2F32(w *float32, ldw int, x *float32, ldx int, n8 int, out *[8]float32)

//go:noescape
func tile4x2F16(w *uint16, ldw int, x *float32, ldx int, n8 int, out *[8]float32)

//go:noescape
func tile4x2BF16(w *uint16, ldw int, x *float32, ldx int, n8 int, out *[8]float32)

//go:noescape
func tile4x1F32(w *float32, ldw int, x *float32, n8 int, out *[4]float32)

//go:noescape
func tile4x1F16(w *uint16, ldw int, x *float32, n8 int, out *[4]float32)

//go:noescape
func tile4x1BF16(w *uint16, ldw int, x *float32, n8 int, out *[4]float32)

//go:noescape
func tile1x1F32(w *float32, x *float32, n8 int) float32

//go:noescape
func tile1x1F16(w *uint16, x *float32, n8 int) float32

//go:noescape
func tile1x1BF16(w *uint16, x *float32, n8 int) float32

// Block decoders: nb > 0 blocks at src into 32·nb floats at dst.

//go:noescape
func deqQ8_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ4_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ4_1AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ5_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ5_1AVX2(dst *float32, src *byte, nb int)

// Fused block dots for MatVec: four rows (ldw bytes apart) of nb blocks
// against x, decoding in registers; the same bits as decoding the rows and
// calling tile4x1F32.

//go:noescape
func dot4x1Q8_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q4_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q4_1AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q5_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q5_1AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

// avx2Set is the amd64 set (AVX2 + FMA + F16C). Each (row, token) pair
// has one 8-lane FMA accumulator and a fixed reduction whatever the tile,
// so MatVec, MatMul and any row split agree bit for bit; it rounds
// differently from Generic. Block rows are decoded to float32 (four rows
// at a time) and go through the f32 tiles, so a decoded row is reused
// across every token of a MatMul.
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

// avx2Panel is the weights of up to four rows in a form the tiles read:
// the matrix itself for f32/f16/bf16, decoded float32 rows for blocks.
type avx2Panel struct {
	dt  quant.DType // F32, F16 or BF16 (blocks decode to F32)
	f32 []float32
	u16 []uint16
	ld  int // elements between rows
}

// decodeBuf holds four decoded block rows per goroutine.
var decodeBuf = sync.Pool{New: func() any { return new([]float32) }}

// panel returns rows [r, r+n) of m (n ≤ 4), decoding block rows into buf.
func (m Matrix) avx2Panel(r, n int, buf []float32) avx2Panel {
	c := m.Cols
	switch m.DType {
	case quant.F32:
		return avx2Panel{dt: quant.F32, f32: m.f32[r*c : (r+n)*c], ld: c}
	case quant.F16, quant.BF16:
		return avx2Panel{dt: m.DType, u16: m.u16[r*c : (r+n)*c], ld: c}
	}
	nb := c / 32
	for i := 0; i < n; i++ {
		row := m.qRow(r + i)
		d := &buf[i*c : (i+1)*c][0]
		s := &row[0]
		switch m.DType {
		case quant.Q8_0:
			deqQ8_0AVX2(d, s, nb)
		case quant.Q4_0:
			deqQ4_0AVX2(d, s, nb)
		case quant.Q4_1:
			deqQ4_1AVX2(d, s, nb)
		case quant.Q5_0:
			deqQ5_0AVX2(d, s, nb)
		case quant.Q5_1:
			deqQ5_1AVX2(d, s, nb)
		default:
			panic("kernels: unsupported matrix type " + m.DType.String())
		}
	}
	return avx2Panel{dt: quant.F32, f32: buf[:n*c], ld: c}
}

// tail is Σ w[k]·x[k] over the last c mod 8 elements of panel row i, the
// part the tiles leave out, in plain float32 order.
func (p avx2Panel) tail(i int, x []float32) float32 {
	c := len(x)
	var s float32
	for k := c &^ 7; k < c; k++ {
		switch p.dt {
		case quant.F32:
			s += p.f32[i*p.ld+k] * x[k]
		case quant.F16:
			s += f16Table[p.u16[i*p.ld+k]] * x[k]
		default:
			s += bf(p.u16[i*p.ld+k]) * x[k]
		}
	}
	return s
}

// dot4x2 computes the 4 rows of p against tokens x0 and x1 (x1 directly
// after x0 in memory, ldx floats apart): out[2·r+t].
func (p avx2Panel) dot4x2(x []float32, ldx, n8 int, out *[8]float32) {
	switch p.dt {
	case quant.F32:
		tile4x2F32(&p.f32[0], 4*p.ld, &x[0], 4*ldx, n8, out)
	case quant.F16:
		tile4x2F16(&p.u16[0], 2*p.ld, &x[0], 4*ldx, n8, out)
	default:
		tile4x2BF16(&p.u16[0], 2*p.ld, &x[0], 4*ldx, n8, out)
	}
}

func (p avx2Panel) dot4x1(x []float32, n8 int, out *[4]float32) {
	switch p.dt {
	case quant.F32:
		tile4x1F32(&p.f32[0], 4*p.ld, &x[0], n8, out)
	case quant.F16:
		tile4x1F16(&p.u16[0], 2*p.ld, &x[0], n8, out)
	default:
		tile4x1BF16(&p.u16[0], 2*p.ld, &x[0], n8, out)
	}
}

func (p avx2Panel) dot1x1(i int, x []float32, n8 int) float32 {
	switch p.dt {
	case quant.F32:
		return tile1x1F32(&p.f32[i*p.ld], &x[0], n8)
	case quant.F16:
		return tile1x1F16(&p.u16[i*p.ld], &x[0], n8)
	default:
		return tile1x1BF16(&p.u16[i*p.ld], &x[0], n8)
	}
}

// avx2MatVecRows is MatMul with one token, except that block rows are
// decoded in registers four at a time instead of into a panel (no reuse
// to pay for the round trip through memory).
func avx2MatVecRows(dst []float32, m Matrix, x []float32, r0, r1 int) {
	if m.q == nil || r1-r0 < 4 {
		avx2MatMulRows(dst, m, x, 1, r0, r1)
		return
	}
	nb := m.Cols / 32
	x = x[:nb*32]
	dst = dst[:r1]
	var out [4]float32
	r := r0
	for ; r+4 <= r1; r += 4 {
		w := m.q[r*m.rowBytes : (r+4)*m.rowBytes]
		switch m.DType {
		case quant.Q8_0:
			dot4x1Q8_0AVX2(&w[0], m.rowBytes, &x[0], nb, &out)
		case quant.Q4_0:
			dot4x1Q4_0AVX2(&w[0], m.rowBytes, &x[0], nb, &out)
		case quant.Q4_1:
			dot4x1Q4_1AVX2(&w[0], m.rowBytes, &x[0], nb, &out)
		case quant.Q5_0:
			dot4x1Q5_0AVX2(&w[0], m.rowBytes, &x[0], nb, &out)
		case quant.Q5_1:
			dot4x1Q5_1AVX2(&w[0], m.rowBytes, &x[0], nb, &out)
		default:
			panic("kernels: unsupported matrix type " + m.DType.String())
		}
		copy(dst[r:r+4], out[:])
	}
	if r < r1 {
		avx2MatMulRows(dst, m, x, 1, r, r1)
	}
}

// avx2MatMulRows walks rows in panels of four (weights read once per
// panel, decoded once for block types) and tokens in pairs within a panel.
func avx2MatMulRows(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	_ = dst[(T-1)*rows+r1-1]
	x = x[:T*c]
	if c == 0 {
		for t := 0; t < T; t++ {
			clear(dst[t*rows+r0 : t*rows+r1])
		}
		return
	}
	n8, hasTail := c/8, c%8 != 0
	var buf []float32
	if m.q != nil {
		bp := decodeBuf.Get().(*[]float32)
		defer decodeBuf.Put(bp)
		if len(*bp) < 4*c {
			*bp = make([]float32, 4*c)
		}
		buf = *bp
	}
	var out8 [8]float32
	var out4 [4]float32
	r := r0
	for ; r+4 <= r1; r += 4 {
		p := m.avx2Panel(r, 4, buf)
		t := 0
		for ; t+2 <= T; t += 2 {
			xt := x[t*c : (t+2)*c]
			p.dot4x2(xt, c, n8, &out8)
			for i := 0; i < 4; i++ {
				s0, s1 := out8[2*i], out8[2*i+1]
				if hasTail {
					s0 += p.tail(i, xt[:c])
					s1 += p.tail(i, xt[c:])
				}
				dst[t*rows+r+i] = s0
				dst[(t+1)*rows+r+i] = s1
			}
		}
		if t < T {
			xt := x[t*c : (t+1)*c]
			p.dot4x1(xt, n8, &out4)
			for i := 0; i < 4; i++ {
				s := out4[i]
				if hasTail {
					s += p.tail(i, xt)
				}
				dst[t*rows+r+i] = s
			}
		}
	}
	for ; r < r1; r++ {
		p := m.avx2Panel(r, 1, buf)
		for t := 0; t < T; t++ {
			xt := x[t*c : (t+1)*c]
			s := p.dot1x1(0, xt, n8)
			if hasTail {
				s += p.tail(0, xt)
			}
			dst[t*rows+r] = s
		}
	}
}
