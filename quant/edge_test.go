package quant

import (
	"encoding/binary"
	"math"
	"os"
	"testing"
)

var (
	inf = float32(math.Inf(1))
	nan = float32(math.NaN())
)

// blk returns a 32-element block: fill everywhere, then at[i] = v pairs.
func blk(fill float32, at ...float32) []float32 {
	x := make([]float32, 32)
	for i := range x {
		x[i] = fill
	}
	for i := 0; i+1 < len(at); i += 2 {
		x[int(at[i])] = at[i+1]
	}
	return x
}

func same(a, b float32) bool { return a == b || (a != a && b != b) }

func dField(ty DType, enc []byte) uint16 { return binary.LittleEndian.Uint16(enc) }

func isInfF16(h uint16) bool { return h&0x7fff == 0x7c00 }

// TestEdgeCases pins the behaviour of the ports on degenerate blocks. The
// non-finite cases follow ggml's reference code as compiled for x86-64
// (C float-to-int8 casts of NaN/out-of-range give 0x80000000 truncated).
func TestEdgeCases(t *testing.T) {
	all := func(v float32) func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
		return func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
			for i := range y {
				if !same(y[i], v) {
					t.Fatalf("y[%d] = %g, want %g (all)", i, y[i], v)
				}
			}
		}
	}
	exact := func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
		for i := range y {
			if y[i] != x[i] {
				t.Fatalf("y[%d] = %g, want exactly %g", i, y[i], x[i])
			}
		}
	}
	bounded := func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
		if _, ok := errBound(ty, x); !ok {
			t.Fatalf("block out of the format's range")
		}
		checkBound(t, ty, x, y)
	}
	type check = func(t *testing.T, ty DType, x []float32, enc []byte, y []float32)
	cases := []struct {
		name string
		x    []float32
		want map[DType]check // missing type: bounded
	}{
		{"zeros", blk(0), map[DType]check{Q4_0: all(0), Q4_1: all(0), Q5_0: all(0), Q5_1: all(0), Q8_0: all(0)}},
		{"constant 0.5", blk(0.5), map[DType]check{Q4_0: exact, Q4_1: exact, Q5_0: exact, Q5_1: exact}},
		{"constant -3", blk(-3), map[DType]check{Q4_0: exact, Q4_1: exact, Q5_0: exact, Q5_1: exact}},
		{"constant 1000", blk(1000), map[DType]check{Q4_0: exact, Q4_1: exact, Q5_0: exact, Q5_1: exact}},
		{"ramp", ramp(-1, 1), nil},
		{"tiny 1e-8", ramp(-1e-8, 1.5e-8), nil},
		{"f32 subnormal", blk(1e-40, 3, -2e-40), nil},
		// q4_0/q5_0 keep the sign of the element with the largest |x|:
		// it decodes exactly, the opposite extreme is clamped.
		{"negative dominant", blk(0.25, 0, -3, 1, 2), map[DType]check{
			Q4_0: signedMax(+1, 0, -3, 1, 1.875), Q5_0: signedMax(+1, 0, -3, 1, 2.0625)}},
		{"positive dominant", blk(-0.25, 0, 3, 1, -2), map[DType]check{
			Q4_0: signedMax(-1, 0, 3, 1, -1.875), Q5_0: signedMax(-1, 0, 3, 1, -2.0625)}},
		{"tie: first wins", blk(0, 0, -2, 1, 2), map[DType]check{
			Q4_0: signedMax(+1, 0, -2, 1, 1.75), Q5_0: signedMax(+1, 0, -2, 1, 1.875)}},
		// Largest magnitudes whose scale (and min) still fit in f16.
		{"f16 limit q4_0", blk(1, 7, -8*65504), map[DType]check{Q4_0: bounded}},
		{"f16 limit q5_0", blk(1, 7, 16*65504), map[DType]check{Q5_0: bounded}},
		{"f16 limit q8_0", blk(1, 7, -127*65504), map[DType]check{Q8_0: bounded}},
		{"f16 limit q4_1/q5_1", blk(0, 0, -65504, 1, 65504), nil},
		{"scale overflows f16", blk(1, 7, 1e7*65504), map[DType]check{
			Q4_0: infScale, Q4_1: infScale, Q5_0: infScale, Q5_1: infScale, Q8_0: infScale}},
		{"min overflows f16", blk(0, 0, -65520), map[DType]check{Q4_1: infMin, Q5_1: infMin}},
		// ±Inf: the scale becomes infinite; the Inf element decodes to
		// ±Inf in q4_0/q5_0, everything else to NaN.
		{"+Inf", blk(1, 5, inf), map[DType]check{
			Q4_0: infElem(5, inf), Q5_0: infElem(5, inf), Q4_1: all(nan), Q5_1: all(nan), Q8_0: all(nan)}},
		{"-Inf", blk(1, 5, -inf), map[DType]check{
			Q4_0: infElem(5, -inf), Q5_0: infElem(5, -inf), Q4_1: all(nan), Q5_1: all(nan), Q8_0: all(nan)}},
		// NaN is skipped when the scale is chosen and encodes as q = 0, so it
		// decodes to the signed max (q4_0/q5_0) or the min (q4_1/q5_1): ggml
		// does not propagate it. In q8_0 ggml's MAX(amax, NaN) is NaN and a
		// later element replaces it, so the values before the NaN can wrap
		// around int8 (4·127 = 508 → -4).
		{"NaN", blk(1, 0, 4, 5, nan), map[DType]check{
			Q4_0: elems(map[int]float32{0: 4, 5: 4, 9: 1}), Q5_0: elems(map[int]float32{0: 4, 5: 4, 9: 1}),
			Q4_1: elems(map[int]float32{5: 1, 9: 1}), Q5_1: elems(map[int]float32{5: 1, 9: 1}),
			Q8_0: elems(map[int]float32{0: -4 * F16ToF32(F32ToF16(float32(1)/127)), 5: 0, 9: 127 * F16ToF32(F32ToF16(float32(1)/127))})}},
		{"NaN last", blk(1, 31, nan), map[DType]check{Q4_0: all(1), Q4_1: all(1), Q5_0: all(1), Q5_1: all(1), Q8_0: all(nan)}},
		{"all NaN", blk(nan), map[DType]check{Q4_0: all(0), Q5_0: all(0), Q4_1: all(nan), Q5_1: all(nan), Q8_0: all(nan)}},
	}
	for _, c := range cases {
		for _, ty := range blockTypes {
			chk, ok := c.want[ty]
			if !ok {
				if c.want != nil && !isNonFinite(c.x) {
					if _, fits := errBound(ty, c.x); !fits {
						continue // out of this type's range; pinned elsewhere
					}
				}
				chk = bounded
			}
			t.Run(c.name+"/"+ty.String(), func(t *testing.T) {
				enc := quantize(t, ty, c.x)
				y := dequantize(t, ty, enc, 32)
				chk(t, ty, c.x, enc, y)
			})
		}
	}
}

func isNonFinite(x []float32) bool {
	for _, v := range x {
		if math.IsInf(float64(v), 0) || v != v {
			return true
		}
	}
	return false
}

func ramp(lo, hi float32) []float32 {
	x := make([]float32, 32)
	for i := range x {
		x[i] = lo + (hi-lo)*float32(i)/31
	}
	return x
}

// signedMax checks the sign of d and two decoded elements.
func signedMax(dSign float64, i0 int, v0 float32, i1 int, v1 float32) func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
	return func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
		if d := F16ToF32(dField(ty, enc)); math.Copysign(1, float64(d)) != dSign {
			t.Errorf("d = %g, want sign %g", d, dSign)
		}
		if y[i0] != v0 || y[i1] != v1 {
			t.Errorf("y[%d], y[%d] = %g, %g; want %g, %g", i0, i1, y[i0], y[i1], v0, v1)
		}
		checkBound(t, ty, x, y)
	}
}

func elems(want map[int]float32) func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
	return func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
		for i, v := range want {
			if !same(y[i], v) {
				t.Errorf("y[%d] = %g, want %g", i, y[i], v)
			}
		}
	}
}

func infElem(at int, v float32) func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
	return func(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
		if !isInfF16(dField(ty, enc)) {
			t.Errorf("d = %#04x, want ±Inf", dField(ty, enc))
		}
		for i := range y {
			if (i == at && y[i] != v) || (i != at && y[i] == y[i]) {
				t.Fatalf("y[%d] = %g (want %g at %d, NaN elsewhere)", i, y[i], v, at)
			}
		}
	}
}

func infScale(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
	if !isInfF16(dField(ty, enc)) {
		t.Errorf("d = %#04x, want ±Inf", dField(ty, enc))
	}
}

func infMin(t *testing.T, ty DType, x []float32, enc []byte, y []float32) {
	if m := binary.LittleEndian.Uint16(enc[2:]); !isInfF16(m) {
		t.Errorf("m = %#04x, want ±Inf", m)
	}
}

// ggmlFP32ToFP16 is ggml's portable GGML_FP32_TO_FP16
// (ggml_compute_fp32_to_fp16, after Maratyszcza's FP16 library). On x86
// with F16C ggml uses _cvtss_sh(x, 0), also round-to-nearest-even.
func ggmlFP32ToFP16(f float32) uint16 {
	scaleToInf := math.Float32frombits(0x77800000)
	scaleToZero := math.Float32frombits(0x08800000)
	base := float32(abs32(f)*scaleToInf) * scaleToZero
	w := math.Float32bits(f)
	shl1w := w + w
	sign := w & 0x80000000
	bias := shl1w & 0xff000000
	if bias < 0x71000000 {
		bias = 0x71000000
	}
	base = math.Float32frombits(bias>>1+0x07800000) + base
	bits := math.Float32bits(base)
	expBits := (bits >> 13) & 0x7c00
	mantBits := bits & 0x0fff
	if shl1w > 0xff000000 {
		return uint16(sign>>16) | 0x7e00
	}
	return uint16(sign>>16) | uint16(expBits+mantBits)
}

// TestF32ToF16MatchesGGML compares F32ToF16 with ggml's conversion on a
// spread of float32 patterns (every one with RWKV_TOOLS_EXHAUSTIVE=1).
// They agree on every non-NaN value; for NaN both give a NaN (ggml's
// portable path canonicalises the payload, F16C and F32ToF16 keep its top).
func TestF32ToF16MatchesGGML(t *testing.T) {
	step := uint64(101)
	if os.Getenv("RWKV_TOOLS_EXHAUSTIVE") == "1" {
		step = 1
	}
	n := 0
	for b := uint64(0); b < 1<<32; b += step {
		f := math.Float32frombits(uint32(b))
		got, want := F32ToF16(f), ggmlFP32ToFP16(f)
		if f != f {
			if got&0x7c00 != 0x7c00 || got&0x3ff == 0 || got&0x8000 != want&0x8000 {
				t.Fatalf("NaN %#08x: %#04x, ggml %#04x", b, got, want)
			}
			continue
		}
		if got != want {
			t.Fatalf("F32ToF16(%g = %#08x) = %#04x, ggml %#04x", f, b, got, want)
		}
		n++
	}
	t.Logf("%d non-NaN float32 patterns agree", n)
}
