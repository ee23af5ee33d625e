package quant

import (
	"encoding/binary"
	"math"
	"testing"
)

// FuzzQuantizeRoundTrip: any float32 row quantizes without panicking, and
// every finite block whose scale fits in f16 round-trips within errBound.
// mode 0 takes the bytes as raw float32 bits (NaN, Inf, huge values);
// other modes take int16 pairs times 2^(mode%48 - 24).
func FuzzQuantizeRoundTrip(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 192}, uint8(0))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 255, 127, 0, 128}, uint8(20))
	f.Add([]byte{0, 0, 128, 127, 0, 0, 192, 127}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		var x []float32
		if mode == 0 {
			for i := 0; i+4 <= len(data); i += 4 {
				x = append(x, math.Float32frombits(binary.LittleEndian.Uint32(data[i:])))
			}
		} else {
			scale := float32(math.Ldexp(1, int(mode%48)-24))
			for i := 0; i+2 <= len(data); i += 2 {
				x = append(x, float32(int16(binary.LittleEndian.Uint16(data[i:])))*scale)
			}
		}
		x = x[:len(x)/32*32]
		if len(x) == 0 {
			x = make([]float32, 32)
			for i := range x {
				if i < len(data) {
					x[i] = float32(int8(data[i])) / 16
				}
			}
		}
		for _, ty := range blockTypes {
			enc := make([]byte, len(x)/32*ty.BlockBytes())
			if err := QuantizeRow(ty, enc, x); err != nil {
				t.Fatal(err)
			}
			y := make([]float32, len(x))
			if err := DequantizeRow(ty, y, enc); err != nil {
				t.Fatal(err)
			}
			checkBound(t, ty, x, y)
		}
	})
}

func benchRow() []float32 {
	x := make([]float32, 1<<16)
	for i := range x {
		x[i] = 0.1 + 2*float32(math.Cos(float64(i)))
	}
	return x
}

// Benchmarks report GB/s of float32 input (quantize) or output (dequantize).
func BenchmarkQuantize(b *testing.B) {
	x := benchRow()
	for _, ty := range append(blockTypes, F16, BF16) {
		b.Run(ty.String(), func(b *testing.B) {
			n, _ := ty.RowBytes(int64(len(x)))
			dst := make([]byte, n)
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if err := QuantizeRow(ty, dst, x); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDequantize(b *testing.B) {
	x := benchRow()
	for _, ty := range append(blockTypes, F16, BF16) {
		b.Run(ty.String(), func(b *testing.B) {
			n, _ := ty.RowBytes(int64(len(x)))
			src := make([]byte, n)
			if err := QuantizeRow(ty, src, x); err != nil {
				b.Fatal(err)
			}
			dst := make([]float32, len(x))
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				if err := DequantizeRow(ty, dst, src); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
