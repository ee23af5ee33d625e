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
// A block dstType is encoded by quant.QuantizeRow (ggml's reference
// quantizers, byte for byte).
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
	if bl := int64(dstType.BlockLen()); !keep && n%bl != 0 {
		return st, fmt.Errorf("tensor %s: %d elements do not fill whole %v blocks of %d", name, n, dstType, bl)
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
		b := out[:byteAt(dstType, len(v))]
		switch dstType {
		case quant.F32:
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
		case quant.F16, quant.BF16:
			conv, expMask, hint := quant.F32ToF16, uint16(0x7c00), "the f16 range (±65504); store the model as bf16 or f32 (convert --dtype, quantize --type)"
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
		case quant.Q8_0, quant.Q5_1, quant.Q5_0, quant.Q4_1, quant.Q4_0:
			if err := quant.QuantizeRow(dstType, b, v); err != nil {
				return st, fmt.Errorf("tensor %s: %w", name, err)
			}
			if j, ok := overflowedScale(dstType, b); ok {
				return st, fmt.Errorf("tensor %s: block at element %d has a scale beyond the f16 range (±65504) of %v; store this model as f32 or bf16", name, i0+j*dstType.BlockLen(), dstType)
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

// overflowedScale finds the first block of b whose f16 scale (or Q4_1/Q5_1
// minimum) is infinite: finite weights too large for the block type.
func overflowedScale(t quant.DType, b []byte) (int, bool) {
	halves := 1
	if t == quant.Q4_1 || t == quant.Q5_1 {
		halves = 2
	}
	for blk := 0; blk*t.BlockBytes() < len(b); blk++ {
		for h := 0; h < halves; h++ {
			if binary.LittleEndian.Uint16(b[blk*t.BlockBytes()+2*h:])&0x7c00 == 0x7c00 {
				return blk, true
			}
		}
	}
	return 0, false
}

func isNonFinite(x float32) bool { return math.Float32bits(x)&0x7f800000 == 0x7f800000 }
