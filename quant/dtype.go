// Package quant is the executable specification of every element type that
// rwkv-tools stores: the type table (ids, block sizes), lossless and
// round-to-nearest-even conversions between f32, f16 and bf16, and byte-exact
// ports of ggml's reference block quantizers (QuantizeRow, DequantizeRow).
// It is a leaf package: stdlib only.
package quant

import "fmt"

// DType identifies an element encoding. The values are ggml's ggml_type ids,
// so a GGUF file written by rwkv-tools names its types the way llama.cpp does.
type DType uint32

const (
	F32  DType = 0
	F16  DType = 1
	Q4_0 DType = 2
	Q4_1 DType = 3
	Q5_0 DType = 6
	Q5_1 DType = 7
	Q8_0 DType = 8
	BF16 DType = 30
)

// traits describes how a type packs elements: BlockLen elements take
// BlockBytes bytes; rows must hold a whole number of blocks.
type traits struct {
	name       string
	blockLen   int
	blockBytes int
}

var table = map[DType]traits{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	BF16: {"BF16", 1, 2},
	Q4_0: {"Q4_0", 32, 18},
	Q4_1: {"Q4_1", 32, 20},
	Q5_0: {"Q5_0", 32, 22},
	Q5_1: {"Q5_1", 32, 24},
	Q8_0: {"Q8_0", 32, 34},
}

// Known reports whether t is a type rwkv-tools can store.
func (t DType) Known() bool { _, ok := table[t]; return ok }

func (t DType) String() string {
	if tr, ok := table[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("DType(%d)", uint32(t))
}

// BlockLen is the number of elements in one block (1 for plain floats).
func (t DType) BlockLen() int { return table[t].blockLen }

// BlockBytes is the encoded size of one block.
func (t DType) BlockBytes() int { return table[t].blockBytes }

// Parse maps a case-insensitive type name ("f16", "Q8_0") to its DType.
func Parse(name string) (DType, error) {
	for t, tr := range table {
		if equalFold(tr.name, name) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown element type %q", name)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		ca, cb := a[i], b[i]
		if 'a' <= ca && ca <= 'z' {
			ca -= 'a' - 'A'
		}
		if 'a' <= cb && cb <= 'z' {
			cb -= 'a' - 'A'
		}
		if ca != cb {
			return false
		}
	}
	return true
}

// RowBytes returns the encoded size of a row of n elements. It fails when n
// is negative, not a whole number of blocks, or the size would overflow.
func (t DType) RowBytes(n int64) (int64, error) {
	tr, ok := table[t]
	if !ok {
		return 0, fmt.Errorf("unknown element type %d", uint32(t))
	}
	if n < 0 {
		return 0, fmt.Errorf("negative element count %d", n)
	}
	if n%int64(tr.blockLen) != 0 {
		return 0, fmt.Errorf("%s: %d elements is not a multiple of the block length %d", tr.name, n, tr.blockLen)
	}
	blocks := n / int64(tr.blockLen)
	if blocks > (1<<62)/int64(tr.blockBytes) {
		return 0, fmt.Errorf("%s: %d elements overflow the size", tr.name, n)
	}
	return blocks * int64(tr.blockBytes), nil
}
