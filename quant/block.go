package quant

import (
	"encoding/binary"
	"fmt"
	"math"
)

// QuantizeRow encodes src into dst as type t. len(src) must be a multiple of
// t.BlockLen() and len(dst) must equal t.RowBytes(len(src)).
//
// The block types are byte-exact ports of ggml's reference quantizers
// (quantize_row_q{4_0,4_1,5_0,5_1,8_0}_ref, ggml-quants.c), which are what
// llama.cpp and rwkv.cpp use to write model files. F32 is stored
// little-endian, F16 and BF16 with round-to-nearest-even.
//
// Non-finite input never panics and follows ggml's float32 arithmetic as
// compiled on x86-64: NaN elements are skipped when the block's scale is
// chosen (except in Q8_0, where ggml's MAX macro lets a NaN through), an
// infinite element makes the scale infinite, and a float-to-integer
// conversion of NaN or an out-of-range value yields the x86 "integer
// indefinite" 0x80000000 (then truncated to 8 bits, as the C casts do).
// Dequantizing such a block gives Inf/NaN, as in ggml.
func QuantizeRow(t DType, dst []byte, src []float32) error {
	if err := checkRow(t, len(dst), len(src)); err != nil {
		return err
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
		}
	case Q4_0:
		for i := 0; i < len(src)/32; i++ {
			quantizeQ4_0((*[18]byte)(dst[18*i:]), (*[32]float32)(src[32*i:]))
		}
	case Q4_1:
		for i := 0; i < len(src)/32; i++ {
			quantizeQ4_1((*[20]byte)(dst[20*i:]), (*[32]float32)(src[32*i:]))
		}
	case Q5_0:
		for i := 0; i < len(src)/32; i++ {
			quantizeQ5_0((*[22]byte)(dst[22*i:]), (*[32]float32)(src[32*i:]))
		}
	case Q5_1:
		for i := 0; i < len(src)/32; i++ {
			quantizeQ5_1((*[24]byte)(dst[24*i:]), (*[32]float32)(src[32*i:]))
		}
	case Q8_0:
		for i := 0; i < len(src)/32; i++ {
			quantizeQ8_0((*[34]byte)(dst[34*i:]), (*[32]float32)(src[32*i:]))
		}
	}
	return nil
}

// DequantizeRow decodes src, a row of type t, into dst. len(dst) must be a
// multiple of t.BlockLen() and len(src) must equal t.RowBytes(len(dst)).
// The block types mirror ggml's dequantize_row_q*; the multiply-add q·d+m
// is rounded after the multiply (no FMA) on every architecture.
func DequantizeRow(t DType, dst []float32, src []byte) error {
	if err := checkRow(t, len(src), len(dst)); err != nil {
		return err
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q4_0:
		for i := 0; i < len(dst)/32; i++ {
			dequantizeQ4_0((*[32]float32)(dst[32*i:]), (*[18]byte)(src[18*i:]))
		}
	case Q4_1:
		for i := 0; i < len(dst)/32; i++ {
			dequantizeQ4_1((*[32]float32)(dst[32*i:]), (*[20]byte)(src[20*i:]))
		}
	case Q5_0:
		for i := 0; i < len(dst)/32; i++ {
			dequantizeQ5_0((*[32]float32)(dst[32*i:]), (*[22]byte)(src[22*i:]))
		}
	case Q5_1:
		for i := 0; i < len(dst)/32; i++ {
			dequantizeQ5_1((*[32]float32)(dst[32*i:]), (*[24]byte)(src[24*i:]))
		}
	case Q8_0:
		for i := 0; i < len(dst)/32; i++ {
			dequantizeQ8_0((*[32]float32)(dst[32*i:]), (*[34]byte)(src[34*i:]))
		}
	}
	return nil
}

func checkRow(t DType, nbytes, nelem int) error {
	want, err := t.RowBytes(int64(nelem))
	if err != nil {
		return err
	}
	if int64(nbytes) != want {
		return fmt.Errorf("%s: %d elements need %d bytes, buffer has %d", t, nelem, want, nbytes)
	}
	return nil
}

// cvtt is C's float-to-integer conversion as x86-64 compiles it
// (cvttss2si): truncate toward zero; NaN and out-of-range give MinInt32.
// Go's own conversion is implementation-defined there, so spell it out.
func cvtt(f float32) int32 {
	if !(f > -2147483904 && f < 2147483648) {
		return math.MinInt32
	}
	return int32(f)
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func min15(v int8) uint8 { return uint8(min(int32(v), 15)) } // MIN(15, (int8_t)…) then uint8_t
func min31(v int8) uint8 { return uint8(min(int32(v), 31)) }

// inv is `d ? 1.0f/d : 0.0f` (NaN counts as true).
func inv(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

// absMax returns the element of largest magnitude with its sign, skipping
// NaN (fabsf comparisons are false), as in q4_0/q5_0.
func absMax(x *[32]float32) float32 {
	var amax, max float32
	for _, v := range x {
		if a := abs32(v); amax < a {
			amax, max = a, v
		}
	}
	return max
}

// minMax mirrors q4_1/q5_1: start at ±FLT_MAX, NaN never wins.
func minMax(x *[32]float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

func putF16(b []byte, f float32) { binary.LittleEndian.PutUint16(b, F32ToF16(f)) }
func getF16(b []byte) float32    { return F16ToF32(binary.LittleEndian.Uint16(b)) }

// The explicit float32(...) conversions below round the product before the
// add, so no architecture fuses them into an FMA (Go spec, "Floating-point
// operators"); ggml's reference build on x86-64 rounds both too.

// quantizeQ4_0 mirrors quantize_row_q4_0_ref: d = max/-8, q = MIN(15, (int8)(x/d + 8.5)).
func quantizeQ4_0(y *[18]byte, x *[32]float32) {
	d := absMax(x) / -8
	id := inv(d)
	putF16(y[0:], d)
	for j := 0; j < 16; j++ {
		xi0 := min15(int8(cvtt(float32(x[j]*id) + 8.5)))
		xi1 := min15(int8(cvtt(float32(x[j+16]*id) + 8.5)))
		y[2+j] = xi0 | xi1<<4
	}
}

// quantizeQ4_1 mirrors quantize_row_q4_1_ref: d = (max-min)/15, m = min.
func quantizeQ4_1(y *[20]byte, x *[32]float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / 15
	id := inv(d)
	putF16(y[0:], d)
	putF16(y[2:], lo)
	for j := 0; j < 16; j++ {
		xi0 := min15(int8(cvtt(float32((x[j]-lo)*id) + 0.5)))
		xi1 := min15(int8(cvtt(float32((x[j+16]-lo)*id) + 0.5)))
		y[4+j] = xi0 | xi1<<4
	}
}

// quantizeQ5_0 mirrors quantize_row_q5_0_ref: d = max/-16,
// q = MIN(31, (int8)(x/d + 16.5)); bit 4 of element j goes to bit j of qh.
func quantizeQ5_0(y *[22]byte, x *[32]float32) {
	d := absMax(x) / -16
	id := inv(d)
	putF16(y[0:], d)
	var qh uint32
	for j := 0; j < 16; j++ {
		xi0 := min31(int8(cvtt(float32(x[j]*id) + 16.5)))
		xi1 := min31(int8(cvtt(float32(x[j+16]*id) + 16.5)))
		y[6+j] = xi0&0x0f | (xi1&0x0f)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + 16)
	}
	binary.LittleEndian.PutUint32(y[2:], qh)
}

// quantizeQ5_1 mirrors quantize_row_q5_1_ref: d = (max-min)/31, m = min,
// q = (uint8)((x-m)/d + 0.5) (no clamp in ggml).
func quantizeQ5_1(y *[24]byte, x *[32]float32) {
	lo, hi := minMax(x)
	d := (hi - lo) / 31
	id := inv(d)
	putF16(y[0:], d)
	putF16(y[2:], lo)
	var qh uint32
	for j := 0; j < 16; j++ {
		xi0 := uint8(cvtt(float32((x[j]-lo)*id) + 0.5))
		xi1 := uint8(cvtt(float32((x[j+16]-lo)*id) + 0.5))
		y[8+j] = xi0&0x0f | (xi1&0x0f)<<4
		qh |= uint32(xi0&0x10) >> 4 << j
		qh |= uint32(xi1&0x10) >> 4 << (j + 16)
	}
	binary.LittleEndian.PutUint32(y[4:], qh)
}

// quantizeQ8_0 mirrors quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d).
func quantizeQ8_0(y *[34]byte, x *[32]float32) {
	var amax float32
	for _, v := range x {
		if a := abs32(v); !(amax > a) { // MAX(amax, a): a NaN replaces amax
			amax = a
		}
	}
	d := amax / 127
	id := inv(d)
	putF16(y[0:], d)
	for j, v := range x {
		// roundf: half away from zero; exact on the float64 of a float32.
		y[2+j] = uint8(cvtt(float32(math.Round(float64(v * id)))))
	}
}

// dequantizeQ4_0 mirrors dequantize_row_q4_0: (q-8)·d.
func dequantizeQ4_0(y *[32]float32, x *[18]byte) {
	d := getF16(x[0:])
	for j := 0; j < 16; j++ {
		q := x[2+j]
		y[j] = float32(int32(q&0x0f)-8) * d
		y[j+16] = float32(int32(q>>4)-8) * d
	}
}

// dequantizeQ4_1 mirrors dequantize_row_q4_1: q·d + m.
func dequantizeQ4_1(y *[32]float32, x *[20]byte) {
	d, m := getF16(x[0:]), getF16(x[2:])
	for j := 0; j < 16; j++ {
		q := x[4+j]
		y[j] = float32(float32(q&0x0f)*d) + m
		y[j+16] = float32(float32(q>>4)*d) + m
	}
}

// dequantizeQ5_0 mirrors dequantize_row_q5_0: (q-16)·d.
func dequantizeQ5_0(y *[32]float32, x *[22]byte) {
	d := getF16(x[0:])
	qh := binary.LittleEndian.Uint32(x[2:])
	for j := 0; j < 16; j++ {
		q := x[6+j]
		h0 := uint8(qh>>j<<4) & 0x10
		h1 := uint8(qh>>(j+12)) & 0x10
		y[j] = float32(int32(q&0x0f|h0)-16) * d
		y[j+16] = float32(int32(q>>4|h1)-16) * d
	}
}

// dequantizeQ5_1 mirrors dequantize_row_q5_1: q·d + m.
func dequantizeQ5_1(y *[32]float32, x *[24]byte) {
	d, m := getF16(x[0:]), getF16(x[2:])
	qh := binary.LittleEndian.Uint32(x[4:])
	for j := 0; j < 16; j++ {
		q := x[8+j]
		h0 := uint8(qh>>j<<4) & 0x10
		h1 := uint8(qh>>(j+12)) & 0x10
		y[j] = float32(float32(q&0x0f|h0)*d) + m
		y[j+16] = float32(float32(q>>4|h1)*d) + m
	}
}

// dequantizeQ8_0 mirrors dequantize_row_q8_0: q·d.
func dequantizeQ8_0(y *[32]float32, x *[34]byte) {
	d := getF16(x[0:])
	for j := 0; j < 32; j++ {
		y[j] = float32(int8(x[2+j])) * d
	}
}
