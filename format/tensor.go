package format

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name  string
	DType quant.DType
	// Dims is in GGUF order: Dims[0] varies fastest (the row length), the
	// REVERSE of a PyTorch shape. A [rows, cols] torch matrix has
	// Dims = [cols, rows].
	Dims []uint64
	// Offset is relative to the data section (File.DataOffset); the writer
	// plans it.
	Offset uint64
}

// NumElements is the product of Dims (1 for no dims, as in ggml). It
// saturates at math.MaxUint64 as soon as a prefix of the product overflows
// (as ggml, which rejects such shapes even when a later dim is 0); Parse and
// Write reject every tensor whose count exceeds math.MaxInt64.
func (ti TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range ti.Dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 {
			return math.MaxUint64
		}
		n = lo
	}
	return n
}

// Size returns the encoded size in bytes: RowBytes(Dims[0]) × the product of
// the other dims. It fails for an unknown type, more than MaxDims dims, a
// row that is not a whole number of blocks, or an element count or byte
// size that does not fit in an int64 (Go slices are int-indexed, and ggml
// uses int64 element counts).
func (ti TensorInfo) Size() (uint64, error) {
	msg, size := ti.sizeCheck()
	if msg != "" {
		return 0, fmt.Errorf("tensor %q: %s", ti.Name, msg)
	}
	return size, nil
}

// sizeCheck returns a message naming the first problem, or "" and the size.
// The reader reports the same messages at the offset of the bad field.
func (ti TensorInfo) sizeCheck() (string, uint64) {
	if len(ti.Dims) > MaxDims {
		return fmt.Sprintf("%d dims, at most %d allowed", len(ti.Dims), MaxDims), 0
	}
	if m := ti.dimsCheck(); m != "" {
		return m, 0
	}
	if !ti.DType.Known() {
		return fmt.Sprintf("unknown type %v", ti.DType), 0
	}
	ne0 := uint64(1)
	if len(ti.Dims) > 0 {
		ne0 = ti.Dims[0]
	}
	if ne0%uint64(ti.DType.BlockLen()) != 0 {
		return fmt.Sprintf("row of %d elements is not a multiple of the %v block length %d", ne0, ti.DType, ti.DType.BlockLen()), 0
	}
	row, err := ti.DType.RowBytes(int64(ne0))
	if err != nil {
		return err.Error(), 0
	}
	size := uint64(row)
	for _, d := range ti.Dims[min(1, len(ti.Dims)):] {
		hi, lo := bits.Mul64(size, d)
		if hi != 0 || lo > math.MaxInt64 {
			return fmt.Sprintf("byte size of dims %v overflows int64", ti.Dims), 0
		}
		size = lo
	}
	return "", size
}

// dimsCheck mirrors gguf.cpp: no dim may be negative as an int64, and the
// element count must be representable as an int64.
func (ti TensorInfo) dimsCheck() string {
	for i, d := range ti.Dims {
		if d > math.MaxInt64 {
			return fmt.Sprintf("dim %d is %d (negative as int64)", i, d)
		}
	}
	if n := ti.NumElements(); n > math.MaxInt64 {
		return fmt.Sprintf("element count of dims %v overflows int64", ti.Dims)
	}
	return ""
}
