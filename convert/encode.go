package convert

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// chunkElems bounds the conversion buffer: conversion memory stays near
// 256 KiB of floats whatever the tensor size.
const chunkElems = 64 << 10

// encodeStats counts lossy events worth a warning.
type encodeStats struct {
	flushed int64 // nonzero values that became zero in the stored type
}

// encodeTensor streams src (elements of srcType, C order) into w as
// dstType, applying transform (may be nil) to each value. Non-finite input
// or output is refused with the element index, and so is a finite value
// that overflows the stored type.
func encodeTensor(w io.Writer, name string, src []byte, srcType, dstType quant.DType, transform func(float32) float32) (encodeStats, error) {
	var st encodeStats
	es := srcType.BlockBytes()
	n := len(src) / es
	vals := make([]float32, min(n, chunkElems))
	out := make([]byte, len(vals)*dstType.BlockBytes())
	for i0 := 0; i0 < n; i0 += chunkElems {
		i1 := min(i0+chunkElems, n)
		v := vals[:i1-i0]
		decode(v, src[i0*es:i1*es], srcType)
		for j, x := range v {
			if isNonFinite(x) {
				return st, fmt.Errorf("tensor %s: element %d is %v; refusing to convert a checkpoint with non-finite weights", name, i0+j, x)
			}
			if transform != nil {
				y := transform(x)
				if isNonFinite(y) {
					return st, fmt.Errorf("tensor %s: element %d (%g) gives %v after the conversion transform", name, i0+j, x, y)
				}
				v[j] = y
			}
		}
		b := out[:len(v)*dstType.BlockBytes()]
		switch dstType {
		case quant.F32:
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
		case quant.F16, quant.BF16:
			conv, expMask, hint := quant.F32ToF16, uint16(0x7c00), "the f16 range (±65504); use --dtype bf16 or f32"
			if dstType == quant.BF16 {
				conv, expMask, hint = quant.F32ToBF16, 0x7f80, "the bf16 range"
			}
			for j, x := range v {
				h := conv(x)
				if h&expMask == expMask { // the input is finite, so this is overflow
					return st, fmt.Errorf("tensor %s: element %d = %g exceeds %s", name, i0+j, x, hint)
				}
				if h&0x7fff == 0 && x != 0 {
					st.flushed++
				}
				binary.LittleEndian.PutUint16(b[2*j:], h)
			}
		default:
			return st, fmt.Errorf("tensor %s: cannot encode to %v", name, dstType)
		}
		if _, err := w.Write(b); err != nil {
			return st, err
		}
	}
	return st, nil
}

func isNonFinite(x float32) bool { return math.Float32bits(x)&0x7f800000 == 0x7f800000 }

// decode converts little-endian elements of t to float32 (exactly).
func decode(dst []float32, src []byte, t quant.DType) {
	switch t {
	case quant.F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case quant.F16:
		for i := range dst {
			dst[i] = quant.F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case quant.BF16:
		for i := range dst {
			dst[i] = quant.BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	default:
		panic("decode: unsupported type " + t.String())
	}
}
