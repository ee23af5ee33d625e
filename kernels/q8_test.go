package kernels

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// ggmlQ8_1 is quantize_row_q8_1_ref transcribed line by line (the q8_0
// half is checked against quant's own port of quantize_row_q8_0_ref).
func ggmlQ8_1(x *[32]float32) (d16 uint16, qs [32]int8, s16 uint16) {
	var amax float32
	for _, v := range x {
		a := float32(math.Abs(float64(v)))
		if amax > a {
		} else {
			amax = a
		}
	}
	d := amax / ((1 << 7) - 1)
	var id float32
	if d != 0 {
		id = 1.0 / d
	}
	d16 = quant.F32ToF16(d)
	sum := 0
	for j := 0; j < 16; j++ {
		v0, v1 := x[j]*id, x[16+j]*id
		qs[j], qs[16+j] = cRoundfToInt8(v0), cRoundfToInt8(v1)
		sum += int(qs[j]) + int(qs[16+j])
	}
	s16 = quant.F32ToF16(float32(sum) * d)
	return
}

// cRoundfToInt8 is `int8_t q = roundf(v)` on x86-64 (cvttss2si, low byte).
func cRoundfToInt8(v float32) int8 {
	r := float32(math.Round(float64(v)))
	if r != r || r >= 1<<31 || r < -(1<<31) {
		return 0
	}
	return int8(int32(r))
}

// q8TestBlocks returns activation vectors that reach the quantizer's
// corners: ties at .5 (roundf rounds them away from zero), zeros, tiny
// and subnormal blocks whose inverse scale overflows, Inf and NaN.
func q8TestBlocks(rng *rand.Rand) [][32]float32 {
	var out [][32]float32
	var b [32]float32
	for j := range b {
		b[j] = float32(j) - 15.5 // amax 15.5 ... ties after scaling
	}
	out = append(out, b)
	for j := range b {
		b[j] = float32(j%8) + 0.5
	}
	b[0] = 127 // d = 1: every x.5 is a tie
	out = append(out, b)
	out = append(out, [32]float32{})
	for j := range b {
		b[j] = math.Float32frombits(uint32(j + 1)) // subnormals
	}
	out = append(out, b)
	for j := range b {
		b[j] = float32(rng.NormFloat64())
	}
	b[3] = float32(math.Inf(1))
	out = append(out, b)
	b[3] = float32(math.NaN())
	out = append(out, b)
	b[3], b[31] = 1, float32(math.NaN())
	out = append(out, b)
	for range 200 {
		scale := math.Exp2(float64(rng.IntN(40) - 20))
		for j := range b {
			b[j] = float32(rng.NormFloat64() * scale)
		}
		out = append(out, b)
	}
	return out
}

// TestQuantizeQ8MatchesGGML: the activation quantizer gives ggml's
// quantize_row_q8_0_ref bytes (quant's port of it) and
// quantize_row_q8_1_ref's d, qs and s, on every corner case.
func TestQuantizeQ8MatchesGGML(t *testing.T) {
	for _, set := range Available() {
		t.Run(set.Name, func(t *testing.T) {
			quantize := func(v *q8Vec, x []float32, dt quant.DType) { quantizeQ8With(v, x, dt, set.quantizeQ8) }
			rng := rand.New(rand.NewPCG(81, 82))
			blocks := q8TestBlocks(rng)
			x := make([]float32, 0, 32*len(blocks))
			for _, b := range blocks {
				x = append(x, b[:]...)
			}
			f16 := func(f float32) uint16 { return quant.F32ToF16(f) }
			var v q8Vec
			quantize(&v, x, quant.Q8_0)
			ref := make([]byte, 34*len(blocks))
			if err := quant.QuantizeRow(quant.Q8_0, ref, x); err != nil {
				t.Fatal(err)
			}
			for b := range blocks {
				blk := ref[34*b:]
				if got, want := f16(v.d[b]), binary.LittleEndian.Uint16(blk); got != want && !(math.IsNaN(float64(v.d[b])) && want&0x7c00 == 0x7c00 && want&0x3ff != 0) {
					t.Fatalf("q8_0 block %d: d %#04x, ggml %#04x", b, got, want)
				}
				for j := 0; j < 32; j++ {
					if uint8(v.qs[32*b+j]) != blk[2+j] {
						t.Fatalf("q8_0 block %d elem %d (x=%g): q %d, ggml %d", b, j, x[32*b+j], v.qs[32*b+j], int8(blk[2+j]))
					}
				}
				if len(v.s) != 0 {
					t.Fatalf("q8_0 block %d: %d Q8_1 sums (want none)", b, len(v.s))
				}
			}
			for _, wt := range []quant.DType{quant.Q4_1, quant.Q5_1} {
				quantize(&v, x, wt)
				for b, blk := range blocks {
					d16, qs, s16 := ggmlQ8_1(&blk)
					sameF16 := func(got float32, want uint16) bool {
						return f16(got) == want || (math.IsNaN(float64(got)) && want&0x7c00 == 0x7c00 && want&0x3ff != 0)
					}
					if !sameF16(v.d[b], d16) || !sameF16(v.s[b], s16) {
						t.Fatalf("%v block %d: d %#04x s %#04x, ggml %#04x %#04x", wt, b, f16(v.d[b]), f16(v.s[b]), d16, s16)
					}
					for j := range qs {
						if v.qs[32*b+j] != qs[j] {
							t.Fatalf("%v block %d elem %d: q %d, ggml %d", wt, b, j, v.qs[32*b+j], qs[j])
						}
					}
				}
			}
			for _, wt := range qtypes {
				quantize(&v, x, wt)
				for b := range blocks {
					var sum int32
					for j := 0; j < 32; j++ {
						sum += int32(v.qs[32*b+j])
					}
					if v.nsum[b] != -sum {
						t.Fatalf("%v block %d: nsum %d, want %d", wt, b, v.nsum[b], -sum)
					}
				}
			}
		})
	}
}

// TestQuantizeQ8Conformance: every set's block loop gives the Go loop's
// bits for every block count, unaligned inputs and mixed special blocks
// (where the vector loop hands single blocks back to Go).
func TestQuantizeQ8Conformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	blocks := q8TestBlocks(rng)
	for _, set := range Available() {
		for _, dt := range qtypes {
			for nb := 0; nb <= 40; nb++ {
				for _, off := range []int{0, 1, 3} {
					x := make([]float32, off+32*nb)[off:]
					for b := 0; b < nb; b++ {
						copy(x[32*b:], blocks[rng.IntN(len(blocks))][:])
					}
					checkQuantizeQ8(t, set, x, dt)
				}
			}
		}
	}
}

// checkQuantizeQ8 compares set's quantizer with Go's on x, bit for bit.
func checkQuantizeQ8(t *testing.T, set Set, x []float32, dt quant.DType) {
	t.Helper()
	var want, got q8Vec
	quantizeQ8(&want, x, dt)
	// Stale values from a longer earlier vector must all be overwritten.
	got.qs, got.d, got.nsum, got.s = make([]int8, len(x)+64), make([]float32, len(x)/32+2), make([]int32, len(x)/32+2), make([]float32, len(x)/32+2)
	for i := range got.qs {
		got.qs[i] = 0x55
	}
	quantizeQ8With(&got, x, dt, set.quantizeQ8)
	bits := func(f []float32) []uint32 {
		out := make([]uint32, len(f))
		for i, v := range f {
			out[i] = math.Float32bits(v)
		}
		return out
	}
	if !slices.Equal(got.qs, want.qs) || !slices.Equal(got.nsum, want.nsum) ||
		!slices.Equal(bits(got.d), bits(want.d)) || !slices.Equal(bits(got.s), bits(want.s)) {
		t.Fatalf("%s, %v, %d blocks: quantized activations differ from Go's\n got  d=%v s=%v nsum=%v\n want d=%v s=%v nsum=%v", set.Name, dt, len(x)/32, got.d, got.s, got.nsum, want.d, want.s, want.nsum)
	}
}

// FuzzQuantizeQ8 feeds raw float32 bits (any NaN payload, subnormal or
// huge value) to every set's quantizer and compares with Go's.
func FuzzQuantizeQ8(f *testing.F) {
	rng := rand.New(rand.NewPCG(85, 86))
	for _, b := range q8TestBlocks(rng)[:12] {
		f.Add(unsafe.Slice((*byte)(unsafe.Pointer(&b[0])), 128), uint8(0))
	}
	f.Fuzz(func(t *testing.T, raw []byte, ti uint8) {
		n := len(raw) / 4 / 32 * 32
		x := make([]float32, n)
		for i := range x {
			x[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		dt := qtypes[int(ti)%len(qtypes)]
		for _, set := range Available() {
			checkQuantizeQ8(t, set, x, dt)
		}
	})
}

// blockCodes decodes block b of a row into its integer codes (already
// minus the zero point), scale and min, independently of dotQ8.
func blockCodes(t quant.DType, blk []byte) (codes [32]int32, d, m float32) {
	d = quant.F16ToF32(binary.LittleEndian.Uint16(blk))
	var w [32]float32
	if err := quant.DequantizeRow(t, w[:], blk[:t.BlockBytes()]); err != nil {
		panic(err)
	}
	switch t {
	case quant.Q8_0:
		for j := range codes {
			codes[j] = int32(int8(blk[2+j]))
		}
	case quant.Q4_0, quant.Q4_1:
		qs := blk[2:18]
		if t == quant.Q4_1 {
			qs, m = blk[4:20], quant.F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
		}
		for j := 0; j < 16; j++ {
			codes[j], codes[16+j] = int32(qs[j]&15), int32(qs[j]>>4)
		}
	case quant.Q5_0, quant.Q5_1:
		qh := blk[2:6]
		if t == quant.Q5_1 {
			qh, m = blk[4:8], quant.F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
		}
		h := binary.LittleEndian.Uint32(qh)
		qs := qh[4:20]
		for j := 0; j < 16; j++ {
			codes[j] = int32(qs[j]&15) | int32(h>>j&1)<<4
			codes[16+j] = int32(qs[j]>>4) | int32(h>>(16+j)&1)<<4
		}
	}
	off := q8ZeroPoint(t)
	for j := range codes {
		codes[j] -= off
	}
	return codes, d, m
}

// q8Reference is the float64 value an int8 dot approximates (exact integer
// block sums, float64 scaling) and 1e-5 of its terms' magnitude.
func q8Reference(m Matrix, r int, v *q8Vec) (want, tol float64) {
	row := m.qRow(r)
	bb := m.DType.BlockBytes()
	var mag float64
	for b := range v.d {
		codes, dw, mw := blockCodes(m.DType, row[b*bb:])
		var sumi, absi int64
		for j, c := range codes {
			p := int64(c) * int64(v.qs[32*b+j])
			sumi += p
			absi += max(p, -p)
		}
		sc := float64(dw) * float64(v.d[b])
		want += float64(sumi) * sc
		mag += float64(absi) * math.Abs(sc)
		if len(v.s) > 0 {
			want += float64(mw) * float64(v.s[b])
			mag += math.Abs(float64(mw) * float64(v.s[b]))
		}
	}
	return want, 1e-5*mag + 1e-30
}

// TestDotQ8Reference: the generic int8 dot computes what it claims, and
// stays within int8 rounding of the exact float32 product.
func TestDotQ8Reference(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	for _, dt := range qtypes {
		for _, cols := range []int{32, 64, 96, 768, 3072} {
			const rows = 6
			m := offsetMatrix(dt, rows, cols, 3, norm)
			x := offsetVec(cols, 1, norm)
			var v q8Vec
			quantizeQ8(&v, x, dt)
			got := make([]float32, rows)
			genericMatVecQ8Rows(got, m, &v, 0, rows)
			exact := make([]float32, rows)
			Generic.MatVecRows(exact, m, x, 0, rows)
			for r := range got {
				want, tol := q8Reference(m, r, &v)
				checkClose(t, fmt.Sprintf("%v cols=%d row %d", dt, cols, r), got[r], float32(want), tol)
				// Each x is off by at most half a step d/2 (plus d's
				// float16 rounding, 127·2^-11·d): |Σw·Δx| ≤ Σ|w|·0.57·d.
				w := make([]float32, cols)
				m.Row(r, w)
				var bound float64
				for j := range w {
					bound += math.Abs(float64(w[j])) * 0.57 * float64(v.d[j/32])
				}
				if d := math.Abs(float64(got[r] - exact[r])); d > bound+1e-4 {
					t.Fatalf("%v cols=%d row %d: fast %g vs exact %g differ by %g > %g", dt, cols, r, got[r], exact[r], d, bound)
				}
			}
		}
	}
}

// q8Variants are int8 dot implementations beyond each set's choice
// (q8_amd64_test.go adds every one the CPU can run).
var q8Variants = map[string]func(dst []float32, m Matrix, v *q8Vec, r0, r1 int){}

// q8Impls is every set's int8 MatVec and every variant, by name.
func q8Impls() map[string]func(dst []float32, m Matrix, v *q8Vec, r0, r1 int) {
	out := map[string]func(dst []float32, m Matrix, v *q8Vec, r0, r1 int){}
	for _, set := range Available() {
		out[set.Name] = set.matVecQ8Rows
	}
	for name, f := range q8Variants {
		out[name] = f
	}
	return out
}

// TestQ8Conformance runs every set's int8 dot against the generic one:
// every block count 1..40 and long rows, every row count 1..9 (the
// four-row kernels and their remainders), unaligned rows, guard-padded
// outputs and partial row ranges.
func TestQ8Conformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(85, 86))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	const guard = 3
	for implName, impl := range q8Impls() {
		for _, dt := range qtypes {
			nbs := []int{96, 97, 128}
			for nb := 1; nb <= 40; nb++ {
				nbs = append(nbs, nb)
			}
			for i, nb := range nbs {
				rows := 1 + i%9
				cols := 32 * nb
				m := offsetMatrix(dt, rows, cols, i%5, norm)
				x := offsetVec(cols, i%3, norm)
				var v q8Vec
				quantizeQ8(&v, x, dt)
				r0 := i % 2 * min(1, rows-1)
				got := make([]float32, rows+2*guard)
				for j := range got {
					got[j] = 1234.5
				}
				impl(got[guard:guard+rows], m, &v, r0, rows)
				name := fmt.Sprintf("%s %v rows=%d nb=%d", implName, dt, rows, nb)
				for j := range got {
					r := j - guard
					if r < r0 || r >= rows {
						if got[j] != 1234.5 {
							t.Fatalf("%s: wrote outside rows [%d,%d) at %d", name, r0, rows, r)
						}
						continue
					}
					want, tol := q8Reference(m, r, &v)
					checkClose(t, fmt.Sprintf("%s row %d", name, r), got[j], float32(want), tol)
				}
			}
		}
	}
}

// TestPoolPrecision: fast MatVec of a block matrix is the int8 dot (same
// bits for any thread count), exact MatVec is MatMul's, MatMul with one
// token never takes the int8 path, and float matrices ignore the mode.
func TestPoolPrecision(t *testing.T) {
	rng := rand.New(rand.NewPCG(87, 88))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	for _, set := range Available() {
		for _, dt := range append(qtypes, quant.F16) {
			const rows, cols = 67, 1024
			m := offsetMatrix(dt, rows, cols, 0, norm)
			x := offsetVec(cols, 0, norm)
			mm := make([]float32, rows)
			var ref []float32
			for _, threads := range []int{1, 2, 3} {
				p := NewPool(set, threads)
				if p.Precision() != PrecisionFast {
					t.Fatalf("default precision %v, want fast", p.Precision())
				}
				fast := make([]float32, rows)
				p.MatVec(fast, m, x)
				p.MatMul(mm, m, x, 1)
				p.SetPrecision(PrecisionExact)
				exact := make([]float32, rows)
				p.MatVec(exact, m, x)
				// MatMul(T=1) is the exact float32 product: MatVec's
				// bits, or in chain sets MatMul's own order.
				same := exact
				if set.chainMatMul {
					same = make([]float32, rows)
					set.MatMulRows(same, m, x, 1, 0, rows)
				}
				if threads == 1 {
					ref = fast
				}
				for r := range fast {
					if math.Float32bits(fast[r]) != math.Float32bits(ref[r]) {
						t.Fatalf("%s %v threads=%d: fast row %d %g != %g with 1 thread", set.Name, dt, threads, r, fast[r], ref[r])
					}
					if math.Float32bits(mm[r]) != math.Float32bits(same[r]) {
						t.Fatalf("%s %v: MatMul(T=1) row %d %g != exact %g", set.Name, dt, r, mm[r], same[r])
					}
					if m.q == nil {
						if fast[r] != exact[r] {
							t.Fatalf("%s %v: precision changed a float matrix's row %d", set.Name, dt, r)
						}
						continue
					}
					var v q8Vec
					quantizeQ8(&v, x, dt)
					want, tol := q8Reference(m, r, &v)
					checkClose(t, fmt.Sprintf("%s %v fast row %d", set.Name, dt, r), fast[r], float32(want), tol)
				}
			}
		}
	}
	for _, s := range []string{"fast", "exact"} {
		if p, err := ParsePrecision(s); err != nil || p.String() != s {
			t.Fatalf("ParsePrecision(%q) = %v, %v", s, p, err)
		}
	}
	if _, err := ParsePrecision("int8"); err == nil {
		t.Fatal("ParsePrecision accepted int8")
	}
}

// FuzzQ8Dot is the int8 dots' differential fuzz target: block bytes come
// straight from the input (float16 scales folded to finite values: an
// infinite scale makes the per-lane sums of the assembly and the per-block
// sum of the generic dot disagree between Inf and NaN, by design), the
// activations from the rest.
func FuzzQ8Dot(f *testing.F) {
	f.Add(uint8(0), []byte{1, 2, 3, 4, 5, 6, 7, 8})
	f.Add(uint8(3), make([]byte, 300))
	f.Add(uint8(4), []byte("the quick brown fox jumps over the lazy dog, 0123456789 times, and again"))
	f.Fuzz(func(t *testing.T, kind uint8, data []byte) {
		dt := qtypes[int(kind)%len(qtypes)]
		const rows = 5
		bb := dt.BlockBytes()
		nb := min(len(data)/(rows*bb+32), 12)
		if nb == 0 {
			return
		}
		cols := 32 * nb
		wb, xb := data[:rows*nb*bb], data[rows*nb*bb:]
		off := int(kind>>3) % 4
		buf := make([]byte, off+len(wb))
		copy(buf[off:], wb)
		w := buf[off:]
		finite := func(i int) { // fold a float16 at w[i:] to a finite value
			if w[i+1]&0x7c == 0x7c {
				w[i+1] &^= 0x40
			}
		}
		for b := 0; b < rows*nb; b++ {
			finite(b * bb)
			if q8Sums(dt) {
				finite(b*bb + 2)
			}
		}
		m, err := NewMatrix(dt, rows, cols, w)
		if err != nil {
			t.Fatal(err)
		}
		x := offsetVec(cols, int(kind>>5)%4, func(i int) float32 { return float32(int8(xb[i])) / 16 })
		var v q8Vec
		quantizeQ8(&v, x, dt)
		for name, impl := range q8Impls() {
			got := make([]float32, rows)
			impl(got, m, &v, 0, rows)
			for r := range got {
				want, tol := q8Reference(m, r, &v)
				checkClose(t, fmt.Sprintf("%s %v row %d nb=%d", name, dt, r, nb), got[r], float32(want), tol)
			}
		}
	})
}

// BenchmarkMatVecPrecision times block-type MatVec in both precision
// modes, one 768x768 matrix (in L2) and 768x3072 copies rotated past the
// L3 (every call streams from memory); GB/s of weights.
func BenchmarkMatVecPrecision(b *testing.B) {
	rng := rand.New(rand.NewPCG(89, 90))
	norm := func(int) float32 { return float32(rng.NormFloat64()) }
	for _, dt := range append(qtypes, quant.F16) {
		for _, shape := range [][3]int{{768, 768, 1}, {3072, 768, 48}} {
			rows, cols, copies := shape[0], shape[1], shape[2]
			ms := make([]Matrix, copies)
			for i := range ms {
				ms[i] = offsetMatrix(dt, rows, cols, 0, norm)
			}
			x := offsetVec(cols, 0, norm)
			dst := make([]float32, rows)
			for _, set := range Available()[1:] {
				for _, pr := range []Precision{PrecisionFast, PrecisionExact} {
					if pr == PrecisionExact && ms[0].q == nil {
						continue
					}
					p := NewPool(set, 1)
					p.SetPrecision(pr)
					b.Run(fmt.Sprintf("kernel=%s/type=%v/%dx%dx%d/%v", set.Name, dt, rows, cols, copies, pr), func(b *testing.B) {
						b.SetBytes(ms[0].Bytes())
						i := 0
						for b.Loop() {
							p.MatVec(dst, ms[i%copies], x)
							i++
						}
					})
				}
			}
		}
	}
}
