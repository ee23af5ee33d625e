package quant

import (
	"math"
	"testing"
)

func TestF16RoundTripAllPatterns(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := F16ToF32(h)
		back := F32ToF16(f)
		if f != f { // NaN: must stay NaN
			if back&0x7c00 != 0x7c00 || back&0x3ff == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
}

func TestF16KnownValues(t *testing.T) {
	cases := []struct {
		h uint16
		f float32
	}{
		{0x0000, 0}, {0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504},
		{0x0001, 5.9604645e-08}, {0x03ff, 6.097555e-05}, {0x0400, 6.1035156e-05},
		{0x7c00, float32(math.Inf(1))}, {0xfc00, float32(math.Inf(-1))},
	}
	for _, c := range cases {
		if got := F16ToF32(c.h); got != c.f {
			t.Errorf("F16ToF32(%#04x) = %g, want %g", c.h, got, c.f)
		}
		if got := F32ToF16(c.f); got != c.h {
			t.Errorf("F32ToF16(%g) = %#04x, want %#04x", c.f, got, c.h)
		}
	}
	if F16ToF32(0x8000) != 0 || math.Signbit(float64(F16ToF32(0x8000))) == false {
		t.Error("-0 lost its sign")
	}
}

// TestF32ToF16RoundsToNearestEven compares against a float64 reference: the
// nearest f16 value, ties to the even mantissa.
func TestF32ToF16RoundsToNearestEven(t *testing.T) {
	var vals []float32
	for i := 0; i < 200000; i++ {
		bits := uint32(i) * 2654435761
		f := math.Float32frombits(bits)
		if f != f || math.Abs(float64(f)) > 70000 {
			continue
		}
		vals = append(vals, f)
	}
	// exact halfway cases
	vals = append(vals, 1+1.0/2048, 1+3.0/2048, 65520, 65519.99, 2.9802322e-08, 8.940697e-08)
	for _, f := range vals {
		got := F32ToF16(f)
		want := refF16(float64(f))
		if got != want {
			t.Fatalf("F32ToF16(%g) = %#04x, want %#04x", f, got, want)
		}
	}
}

func refF16(x float64) uint16 {
	// brute force over the two neighbouring candidates of the f16 grid
	var sign uint16
	if math.Signbit(x) {
		sign = 0x8000
		x = -x
	}
	if x >= 65520 {
		return sign | 0x7c00
	}
	best, bestErr := uint16(0), math.Inf(1)
	for h := uint16(0); h < 0x7c00; h++ {
		d := math.Abs(float64(F16ToF32(h)) - x)
		if d < bestErr || (d == bestErr && h&1 == 0) {
			best, bestErr = h, d
		}
		if float64(F16ToF32(h)) > x {
			break
		}
	}
	return sign | best
}

func TestBF16(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		h := uint16(i)
		f := BF16ToF32(h)
		back := F32ToBF16(f)
		if f != f {
			if back&0x7f80 != 0x7f80 || back&0x7f == 0 {
				t.Fatalf("NaN %#04x -> %#04x", h, back)
			}
			continue
		}
		if back != h {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
	if got := F32ToBF16(1 + 1.0/256); got != 0x3f80 { // tie -> even
		t.Errorf("tie rounding: %#04x", got)
	}
	if got := F32ToBF16(1 + 3.0/256); got != 0x3f82 {
		t.Errorf("tie rounding up: %#04x", got)
	}
}

func TestRowBytes(t *testing.T) {
	if n, err := Q8_0.RowBytes(64); err != nil || n != 68 {
		t.Errorf("Q8_0 64: %d %v", n, err)
	}
	if _, err := Q4_0.RowBytes(33); err == nil {
		t.Error("Q4_0 33 elements accepted")
	}
	if _, err := F32.RowBytes(-1); err == nil {
		t.Error("negative accepted")
	}
	if _, err := F32.RowBytes(1 << 62); err == nil {
		t.Error("overflow accepted")
	}
	if d, err := Parse("bf16"); err != nil || d != BF16 {
		t.Errorf("Parse bf16: %v %v", d, err)
	}
}
