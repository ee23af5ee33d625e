package kernels

import (
	"encoding/binary"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// dotQ computes W[r]·x for one row of ggml blocks (len(x) a multiple of
// 32). Each block is dequantized into a stack buffer exactly as
// quant.DequantizeRow does and accumulated in dotF32's order, so the result
// is dotF32 of the dequantized row, bit for bit.
//
// Activations stay float32 (PrecisionExact, and every MatMul). ggml (and
// so rwkv.cpp) first rounds x to 8-bit blocks (Q8_0, or Q8_1 for
// Q4_1/Q5_1) and takes integer dots: PrecisionFast MatVec (q8.go).
func dotQ(t quant.DType, row []byte, x []float32) float32 {
	nb := len(x) / 32
	if nb == 0 {
		return 0
	}
	bb := len(row) / nb
	row = row[:nb*bb]
	var w [32]float32
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for b := 0; b < nb; b++ {
		blk := row[b*bb : (b+1)*bb]
		// Inline switch on purpose: a shared helper call per block measured
		// 16 % slower here.
		switch t {
		case quant.Q4_0:
			deqQ4_0(&w, (*[18]byte)(blk))
		case quant.Q4_1:
			deqQ4_1(&w, (*[20]byte)(blk))
		case quant.Q5_0:
			deqQ5_0(&w, (*[22]byte)(blk))
		case quant.Q5_1:
			deqQ5_1(&w, (*[24]byte)(blk))
		case quant.Q8_0:
			deqQ8_0(&w, (*[34]byte)(blk))
		default:
			panic("kernels: unsupported matrix type " + t.String())
		}
		xb := (*[32]float32)(x[32*b:])
		for j := 0; j < 32; j += 8 {
			s0 += w[j] * xb[j]
			s1 += w[j+1] * xb[j+1]
			s2 += w[j+2] * xb[j+2]
			s3 += w[j+3] * xb[j+3]
			s4 += w[j+4] * xb[j+4]
			s5 += w[j+5] * xb[j+5]
			s6 += w[j+6] * xb[j+6]
			s7 += w[j+7] * xb[j+7]
		}
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// The block decoders repeat quant's dequantize_row_q* ports with the f16
// scale from f16Table; TestBlockDecoders holds them to quant bit for bit.

func f16At(b []byte) float32 { return f16Table[binary.LittleEndian.Uint16(b)] }

func deqQ4_0(y *[32]float32, x *[18]byte) {
	d := f16At(x[0:])
	for j := 0; j < 16; j++ {
		q := x[2+j]
		y[j] = float32(int32(q&0x0f)-8) * d
		y[j+16] = float32(int32(q>>4)-8) * d
	}
}

func deqQ4_1(y *[32]float32, x *[20]byte) {
	d, m := f16At(x[0:]), f16At(x[2:])
	for j := 0; j < 16; j++ {
		q := x[4+j]
		y[j] = float32(float32(q&0x0f)*d) + m
		y[j+16] = float32(float32(q>>4)*d) + m
	}
}

func deqQ5_0(y *[32]float32, x *[22]byte) {
	d := f16At(x[0:])
	qh := binary.LittleEndian.Uint32(x[2:])
	for j := 0; j < 16; j++ {
		q := x[6+j]
		h0 := uint8(qh>>j<<4) & 0x10
		h1 := uint8(qh>>(j+12)) & 0x10
		y[j] = float32(int32(q&0x0f|h0)-16) * d
		y[j+16] = float32(int32(q>>4|h1)-16) * d
	}
}

func deqQ5_1(y *[32]float32, x *[24]byte) {
	d, m := f16At(x[0:]), f16At(x[2:])
	qh := binary.LittleEndian.Uint32(x[4:])
	for j := 0; j < 16; j++ {
		q := x[8+j]
		h0 := uint8(qh>>j<<4) & 0x10
		h1 := uint8(qh>>(j+12)) & 0x10
		y[j] = float32(float32(q&0x0f|h0)*d) + m
		y[j+16] = float32(float32(q>>4|h1)*d) + m
	}
}

func deqQ8_0(y *[32]float32, x *[34]byte) {
	d := f16At(x[0:])
	for j := 0; j < 32; j++ {
		y[j] = float32(int8(x[2+j])) * d
	}
}
