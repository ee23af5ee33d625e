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

// encodeTensor streams src (n elements of srcType, C order) into w as
// dstType, applying transform (may be nil) to each value. Non-finite input
// or output is refused with the element index, and so is a finite value
// that overflows the stored type. A block-quantized source kept in its own
// type is copied byte for byte (after the same finiteness check on its
// dequantized values); otherwise it is dequantized with quant.DequantizeRow.
// Blocks never straddle rows, so whole-block chunks are whole-row work.
func encodeTensor(w io.Writer, name string, src []byte, n int64, srcType, dstType quant.DType, transform func(float32) float32) (encodeStats, error) {
	var st encodeStats
	want, err := srcType.RowBytes(n)
	if err != nil {
		return st, fmt.Errorf("tensor %s: %w", name, err)
	}
	if want != int64(len(src)) {
		return st, fmt.Errorf("tensor %s: %d bytes of %v data, %d elements need %d", name, len(src), srcType, n, want)
	}
	keep := srcType.BlockLen() > 1 && dstType == srcType
	if keep && transform != nil {
		return st, fmt.Errorf("tensor %s: a transform cannot be applied to %v data kept as is", name, srcType)
	}
	if !keep && dstType.BlockLen() > 1 {
		return st, fmt.Errorf("tensor %s: cannot encode %v to %v", name, srcType, dstType)
	}
	// byteAt is the offset of element i, a multiple of the block length.
	byteAt := func(t quant.DType, i int) int { return i / t.BlockLen() * t.BlockBytes() }
	vals := make([]float32, min(int(n), chunkElems))
	var out []byte
	if !keep {
		out = make([]byte, byteAt(dstType, len(vals)))
	}
	for i0 := 0; i0 < int(n); i0 += chunkElems {
		i1 := min(i0+chunkElems, int(n))
		v := vals[:i1-i0]
		raw := src[byteAt(srcType, i0):byteAt(srcType, i1)]
		if err := quant.DequantizeRow(srcType, v, raw); err != nil {
			return st, fmt.Errorf("tensor %s: %w", name, err)
		}
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
		if keep {
			if _, err := w.Write(raw); err != nil {
				return st, err
			}
			continue
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
