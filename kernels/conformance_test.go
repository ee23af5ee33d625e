package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

var dtypes = []quant.DType{quant.F32, quant.F16, quant.BF16}

// qtypes are ggml's block types; their rows are whole 32-element blocks.
var qtypes = []quant.DType{quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0}

// offsetMatrix builds a [rows][cols] matrix of dt starting off elements
// (bytes, for block types) into a larger buffer, so rows start at arbitrary
// alignments, and with values drawn by gen (rounded or quantized to dt).
func offsetMatrix(dt quant.DType, rows, cols, off int, gen func(i int) float32) Matrix {
	n := rows * cols
	m := Matrix{DType: dt, Rows: rows, Cols: cols}
	switch dt {
	case quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0:
		rb, err := dt.RowBytes(int64(cols))
		if err != nil {
			panic(err)
		}
		buf := make([]byte, off+rows*int(rb)+8)
		row := make([]float32, cols)
		for r := 0; r < rows; r++ {
			for c := range row {
				row[c] = gen(r*cols + c)
			}
			if err := quant.QuantizeRow(dt, buf[off+r*int(rb):off+(r+1)*int(rb)], row); err != nil {
				panic(err)
			}
		}
		m.q, m.rowBytes = buf[off:off+rows*int(rb)], int(rb)
	case quant.F32:
		buf := make([]float32, off+n+8)
		for i := 0; i < n; i++ {
			buf[off+i] = gen(i)
		}
		m.f32 = buf[off : off+n]
	case quant.F16, quant.BF16:
		buf := make([]uint16, off+n+8)
		for i := 0; i < n; i++ {
			if dt == quant.F16 {
				buf[off+i] = quant.F32ToF16(gen(i))
			} else {
				buf[off+i] = quant.F32ToBF16(gen(i))
			}
		}
		m.u16 = buf[off : off+n]
	default:
		panic(dt)
	}
	return m
}

// offsetVec returns n values off elements into a larger buffer.
func offsetVec(n, off int, gen func(i int) float32) []float32 {
	buf := make([]float32, off+n+8)
	for i := 0; i < n; i++ {
		buf[off+i] = gen(i)
	}
	return buf[off : off+n]
}

// dotTolerance is 1e-5·Σ|w·x| for row r: summation order and FMA may
// differ between sets, cancellation must not make the bound meaningless.
func dotTolerance(m Matrix, r int, x []float32) float64 {
	w := make([]float32, m.Cols)
	m.Row(r, w)
	var mag float64
	for i := range w {
		mag += math.Abs(float64(w[i]) * float64(x[i]))
	}
	return 1e-5*mag + 1e-30
}

// sameSpecial reports whether got is acceptable for a non-finite want.
func sameSpecial(got, want float32) bool {
	if math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got))
	}
	return got == want // ±Inf
}

func checkClose(t *testing.T, what string, got, want float32, tol float64) {
	t.Helper()
	w := float64(want)
	if math.IsNaN(w) || math.IsInf(w, 0) {
		if !sameSpecial(got, want) {
			t.Fatalf("%s: got %g, want %g", what, got, want)
		}
		return
	}
	if d := math.Abs(float64(got) - w); !(d <= tol) {
		t.Fatalf("%s: got %g, want %g (|diff| %g > tol %g)", what, got, want, d, tol)
	}
}

// TestConformance runs every available set against Generic on odd lengths,
// unaligned rows and vectors, partial row ranges and batches.
func TestConformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	lengths := []int{130, 768, 3072, 4097}
	for n := 0; n <= 67; n++ {
		lengths = append(lengths, n)
	}
	qlengths := []int{32, 64, 96, 160, 768, 3072, 4096}
	// T = 9 covers full token groups of every set (2 and 4), a remainder
	// and the widened f16/bf16 panels (T ≥ 2 groups).
	const T, guard = 9, 5
	const sentinel = float32(-7777.25)
	for _, set := range Available() {
		for _, dt := range append(dtypes, qtypes...) {
			lens := lengths
			if dt.BlockLen() > 1 {
				lens = qlengths
			}
			for _, cols := range lens {
				rowCounts := []int{1, 2, 5, 9, 12} // 9, 12: several groups of four
				if cols > 1000 {
					rowCounts = []int{1, 3}
				}
				for _, rows := range rowCounts {
					for off := 0; off < 4; off++ {
						name := fmt.Sprintf("%s/%v/%dx%d/off=%d", set.Name, dt, rows, cols, off)
						m := offsetMatrix(dt, rows, cols, off, norm)
						x := offsetVec(T*cols, off, norm)

						want := make([]float32, T*rows)
						Generic.MatMulRows(want, m, x, T, 0, rows)
						if dt.BlockLen() > 1 && set.Name == Generic.Name {
							checkBlockReference(t, name, m, x, T, want)
						}

						// MatVec on the full range, with guards both sides.
						vec := make([]float32, guard+T*rows+guard)
						for i := range vec {
							vec[i] = sentinel
						}
						for tt := 0; tt < T; tt++ {
							set.MatVecRows(vec[guard+tt*rows:guard+(tt+1)*rows], m, x[tt*cols:(tt+1)*cols], 0, rows)
						}
						for i, v := range vec {
							if (i < guard || i >= guard+T*rows) && v != sentinel {
								t.Fatalf("%s: MatVec wrote guard %d", name, i)
							}
						}
						vec = vec[guard : guard+T*rows]
						for tt := 0; tt < T; tt++ {
							xt := x[tt*cols : (tt+1)*cols]
							for r := 0; r < rows; r++ {
								checkClose(t, fmt.Sprintf("%s [%d][%d]", name, tt, r), vec[tt*rows+r], want[tt*rows+r], dotTolerance(m, r, xt))
							}
						}

						// MatMul over a partial row range must touch only
						// those rows and match Generic's MatMul (chain
						// sets) or its own MatVec bit for bit.
						same := vec
						if set.chainMatMul {
							same = want
						}
						r0, r1 := 0, rows
						if rows > 2 {
							r0, r1 = 1, rows-1
						}
						mm := make([]float32, T*rows+guard)
						for i := range mm {
							mm[i] = sentinel
						}
						set.MatMulRows(mm, m, x, T, r0, r1)
						for i, v := range mm {
							r := i % rows
							in := i < T*rows && r >= r0 && r < r1
							if !in && v != sentinel {
								t.Fatalf("%s: MatMul rows [%d,%d) wrote %d", name, r0, r1, i)
							}
							if in && !sameBits(v, same[i]) {
								t.Fatalf("%s: MatMul %g != %g at %d (must be bit-identical)", name, v, same[i], i)
							}
						}
					}
				}
			}
		}
	}
}

// checkBlockReference holds Generic on a block-quantized matrix (got is
// [T][rows] from MatMulRows) to a float64 dot over quant.DequantizeRow, and
// to the FMA chain over the dequantized row bit for bit (MatMul's order).
func checkBlockReference(t *testing.T, name string, m Matrix, x []float32, T int, got []float32) {
	t.Helper()
	w := make([]float32, m.Cols)
	for r := 0; r < m.Rows; r++ {
		rb := m.Bytes() / int64(m.Rows)
		if err := quant.DequantizeRow(m.DType, w, m.q[int64(r)*rb:int64(r+1)*rb]); err != nil {
			t.Fatal(err)
		}
		for tt := 0; tt < T; tt++ {
			xt := x[tt*m.Cols : (tt+1)*m.Cols]
			var want, mag float64
			for c := range w {
				want += float64(w[c]) * float64(xt[c])
				mag += math.Abs(float64(w[c]) * float64(xt[c]))
			}
			g := got[tt*m.Rows+r]
			if d := math.Abs(float64(g) - want); !(d <= 1e-5*mag+1e-30) {
				t.Fatalf("%s [%d][%d]: %g, float64 reference %g", name, tt, r, g, want)
			}
			if f := fmaChain(w, xt); math.Float32bits(f) != math.Float32bits(g) {
				t.Fatalf("%s [%d][%d]: %g, the FMA chain over the dequantized row %g (must be bit-identical)", name, tt, r, g, f)
			}
		}
	}
}

// TestThreadsIdentical: splitting rows across 1, 2 or 3 goroutines gives the
// same bits, for matrices big enough that the pool really splits, for T in
// the small-T path and in the tiles (activations packed once per call).
func TestThreadsIdentical(t *testing.T) {
	for _, T := range []int{4, 40} {
		t.Run(fmt.Sprintf("T=%d", T), func(t *testing.T) { threadsIdentical(t, T) })
	}
}

func threadsIdentical(t *testing.T, T int) {
	rng := rand.New(rand.NewPCG(9, 10))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	for _, set := range Available() {
		for _, dt := range append(dtypes, qtypes...) {
			for _, shape := range [][2]int{{64, 3072}, {37, 4097}} {
				rows, cols := shape[0], shape[1]
				cols -= cols % dt.BlockLen()
				m := offsetMatrix(dt, rows, cols, 1, norm)
				x := offsetVec(T*cols, 3, norm)
				var refVec, refMat []float32
				for _, threads := range []int{1, 2, 3} {
					p := NewPool(set, threads)
					vec := make([]float32, rows)
					mat := make([]float32, T*rows)
					p.MatVec(vec, m, x[:cols])
					p.MatMul(mat, m, x, T)
					if threads == 1 {
						refVec, refMat = vec, mat
						continue
					}
					for i := range vec {
						if math.Float32bits(vec[i]) != math.Float32bits(refVec[i]) {
							t.Fatalf("%s %v %dx%d threads=%d: MatVec[%d] %g != %g", set.Name, dt, rows, cols, threads, i, vec[i], refVec[i])
						}
					}
					for i := range mat {
						if math.Float32bits(mat[i]) != math.Float32bits(refMat[i]) {
							t.Fatalf("%s %v %dx%d threads=%d: MatMul[%d] %g != %g", set.Name, dt, rows, cols, threads, i, mat[i], refMat[i])
						}
					}
				}
			}
		}
	}
}

// TestSpecialValues: NaN and ±Inf in weights or activations propagate the
// way Generic's do, wherever they fall (main loop, 8-wide loop, tail).
func TestSpecialValues(t *testing.T) {
	inf := float32(math.Inf(1))
	nan := float32(math.NaN())
	cases := []struct {
		name   string
		w, x   float32 // special value placed in w or x (0: none)
		wx, xx float32 // the other operand at that position
	}{
		{"w=NaN", nan, 0, 0, 1.5},
		{"w=+Inf", inf, 0, 0, 2},
		{"w=-Inf", -inf, 0, 0, 2},
		{"x=+Inf", 0, inf, 0.75, 0},
		{"w=Inf,x=0", inf, 0, 0, 0},
		{"x=NaN", 0, nan, 1, 0},
	}
	for _, set := range Available() {
		for _, dt := range append(dtypes, qtypes...) {
			colsList := []int{7, 8, 33, 45, 768}
			if dt.BlockLen() > 1 {
				colsList = []int{32, 96, 768}
			}
			for _, cols := range colsList {
				for _, pos := range []int{0, cols / 2, cols - 1} {
					for _, c := range cases {
						if dt.BlockLen() > 1 && c.w != 0 && c.w != c.w {
							continue // the quantizers drop a NaN weight to a finite code
						}
						rng := rand.New(rand.NewPCG(uint64(cols), uint64(pos)))
						m := offsetMatrix(dt, 1, cols, 1, func(i int) float32 {
							if i == pos {
								if c.w != 0 {
									return c.w
								}
								return c.wx
							}
							return float32(rng.NormFloat64())
						})
						x := offsetVec(cols, 2, func(i int) float32 {
							if i == pos {
								if c.x != 0 {
									return c.x
								}
								return c.xx
							}
							return float32(rng.NormFloat64())
						})
						want := make([]float32, 1)
						got := make([]float32, 1)
						Generic.MatVecRows(want, m, x, 0, 1)
						set.MatVecRows(got, m, x, 0, 1)
						if f := float64(want[0]); !math.IsNaN(f) && !math.IsInf(f, 0) {
							t.Fatalf("%s %v cols=%d pos=%d: Generic gave finite %g", c.name, dt, cols, pos, f)
						}
						if !sameSpecial(got[0], want[0]) {
							t.Fatalf("%s %s %v cols=%d pos=%d: got %g, want %g", set.Name, c.name, dt, cols, pos, got[0], want[0])
						}
					}
				}
			}
		}
	}
}

// FuzzDot compares every set with Generic on one row built from the input:
// weight bits straight from the bytes (NaN, Inf, subnormals included;
// f32/bf16 exponents capped so finite sums cannot overflow in one order
// only), activations as small fixed-point values.
func FuzzDot(f *testing.F) {
	f.Add(uint8(0), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(1), make([]byte, 200))
	f.Add(uint8(2), []byte("the quick brown fox jumps over the lazy dog, 0123456789 times"))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		dt := dtypes[int(kind)%3]
		es := dt.BlockBytes()
		// Each element takes es weight bytes and one activation byte;
		// ≤ 512 elements keeps float32 summation error well under 1e-5.
		n := min(len(data)/(es+1), 512)
		wb, xb := data[:n*es], data[n*es:]
		m := offsetMatrix(dt, 1, n, int(kind>>2)%4, func(int) float32 { return 0 })
		for i := 0; i < n; i++ {
			switch dt {
			case quant.F32:
				b := uint32(wb[4*i]) | uint32(wb[4*i+1])<<8 | uint32(wb[4*i+2])<<16 | uint32(wb[4*i+3])<<24
				m.f32[i] = math.Float32frombits(capExp(b))
			case quant.F16:
				m.u16[i] = uint16(wb[2*i]) | uint16(wb[2*i+1])<<8
			case quant.BF16:
				m.u16[i] = uint16(capExp(uint32(wb[2*i])<<16|uint32(wb[2*i+1])<<24) >> 16)
			}
		}
		x := offsetVec(n, int(kind>>4)%4, func(i int) float32 { return float32(int8(xb[i])) / 16 })
		want := []float32{0}
		Generic.MatVecRows(want, m, x, 0, 1)
		for _, set := range Available()[1:] {
			got := []float32{0}
			set.MatVecRows(got, m, x, 0, 1)
			checkClose(t, fmt.Sprintf("%s %v n=%d", set.Name, dt, n), got[0], want[0], dotTolerance(m, 0, x))
			// Nine tokens: full token groups of every set, a remainder
			// and widened f16/bf16 panels.
			const T = 9
			xx := make([]float32, 0, T*n)
			for range T {
				xx = append(xx, x...)
			}
			mm := make([]float32, T)
			set.MatMulRows(mm, m, xx, T, 0, 1)
			same := got[0]
			if set.chainMatMul {
				ref := []float32{0}
				Generic.MatMulRows(ref, m, x, 1, 0, 1)
				same = ref[0]
			}
			for i, v := range mm {
				if !sameBits(v, same) {
					t.Fatalf("%s: MatMul[%d] %g != %g", set.Name, i, v, same)
				}
			}
		}
	})
}

// capExp keeps NaN/Inf but folds finite float32 magnitudes below 2^64.
func capExp(b uint32) uint32 {
	e := b >> 23 & 0xff
	if e == 0xff || e < 127+64 {
		return b
	}
	return b&^(0xff<<23) | uint32(127+63)<<23
}

// FuzzBlockDot is FuzzDot for the ggml block types (every set): the block bytes
// (scales, offsets, high bits, quants) come straight from the input, so
// every f16 scale pattern (subnormal, Inf, NaN) reaches the decoders; four
// rows exercise the fused four-row MatVec path and MatMul's decoded panels.
func FuzzBlockDot(f *testing.F) {
	f.Add(uint8(0), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(3), make([]byte, 300))
	f.Add(uint8(4), []byte("the quick brown fox jumps over the lazy dog, 0123456789 times, and again"))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		dt := qtypes[int(kind)%len(qtypes)]
		const rows = 5
		bb := dt.BlockBytes()
		// Each block takes bb bytes per row and 32 activation bytes.
		nb := min(len(data)/(rows*bb+32), 8)
		if nb == 0 {
			return
		}
		cols := 32 * nb
		wb, xb := data[:rows*nb*bb], data[rows*nb*bb:]
		off := int(kind>>3) % 4
		buf := make([]byte, off+len(wb))
		copy(buf[off:], wb)
		m, err := NewMatrix(dt, rows, cols, buf[off:])
		if err != nil {
			t.Fatal(err)
		}
		x := offsetVec(cols, int(kind>>5)%4, func(i int) float32 { return float32(int8(xb[i])) / 16 })
		want := make([]float32, rows)
		Generic.MatVecRows(want, m, x, 0, rows)
		for _, set := range Available()[1:] {
			got := make([]float32, rows)
			set.MatVecRows(got, m, x, 0, rows)
			for r := range got {
				checkClose(t, fmt.Sprintf("%s %v row %d nb=%d", set.Name, dt, r, nb), got[r], want[r], dotTolerance(m, r, x))
			}
			xx := append(append(append([]float32(nil), x...), x...), x...)
			mm := make([]float32, 3*rows)
			set.MatMulRows(mm, m, xx, 3, 0, rows)
			same := got
			if set.chainMatMul {
				same = make([]float32, rows)
				Generic.MatMulRows(same, m, x, 1, 0, rows)
			}
			for i, v := range mm {
				if !sameBits(v, same[i%rows]) {
					t.Fatalf("%s %v: MatMul[%d] %g != %g", set.Name, dt, i, v, same[i%rows])
				}
			}
		}
	})
}

// sameBits: identical bits, or both NaN (payloads may differ between
// hardware and Go).
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || a != a && b != b
}
