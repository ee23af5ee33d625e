package kernels

import (
	"fmt"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Matrix is a row-major weight matrix [Rows][Cols] (PyTorch nn.Linear
// layout [out][in]), viewing bytes that usually live in a mapped file.
type Matrix struct {
	DType      quant.DType
	Rows, Cols int
	f32        []float32
	u16        []uint16 // f16 or bf16 bits
	q          []byte   // ggml blocks (Q4_0 … Q8_0), rowBytes per row
	rowBytes   int
}

// NewMatrix views data as a [rows][cols] matrix of dtype. The bytes are not
// copied; they must stay valid while the Matrix is used. Data must be
// aligned to the element size (GGUF tensors are 64-byte aligned). Block
// types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) use ggml's block layout, need cols
// to be a multiple of 32 and have no alignment requirement.
func NewMatrix(dt quant.DType, rows, cols int, data []byte) (Matrix, error) {
	m := Matrix{DType: dt, Rows: rows, Cols: cols}
	if rows <= 0 || cols <= 0 {
		return m, fmt.Errorf("matrix %dx%d: dims must be positive", rows, cols)
	}
	n := rows * cols
	switch dt {
	case quant.F32:
		if len(data) != 4*n {
			return m, fmt.Errorf("matrix %dx%d %v: %d bytes, want %d", rows, cols, dt, len(data), 4*n)
		}
		if uintptr(unsafe.Pointer(&data[0]))%4 != 0 {
			return m, fmt.Errorf("matrix %dx%d %v: data not 4-byte aligned", rows, cols, dt)
		}
		m.f32 = unsafe.Slice((*float32)(unsafe.Pointer(&data[0])), n)
	case quant.F16, quant.BF16:
		if len(data) != 2*n {
			return m, fmt.Errorf("matrix %dx%d %v: %d bytes, want %d", rows, cols, dt, len(data), 2*n)
		}
		if uintptr(unsafe.Pointer(&data[0]))%2 != 0 {
			return m, fmt.Errorf("matrix %dx%d %v: data not 2-byte aligned", rows, cols, dt)
		}
		m.u16 = unsafe.Slice((*uint16)(unsafe.Pointer(&data[0])), n)
	case quant.Q4_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.Q8_0:
		rb, err := dt.RowBytes(int64(cols))
		if err != nil {
			return m, fmt.Errorf("matrix %dx%d: %w", rows, cols, err)
		}
		if int64(len(data)) != int64(rows)*rb {
			return m, fmt.Errorf("matrix %dx%d %v: %d bytes, want %d", rows, cols, dt, len(data), int64(rows)*rb)
		}
		m.q, m.rowBytes = data, int(rb)
	default:
		return m, fmt.Errorf("matrix %dx%d: element type %v is not supported by the engine yet", rows, cols, dt)
	}
	return m, nil
}

// MatrixF32 wraps a float32 slice (tests, derived weights).
func MatrixF32(rows, cols int, w []float32) Matrix {
	if len(w) != rows*cols {
		panic(fmt.Sprintf("MatrixF32: %d values for %dx%d", len(w), rows, cols))
	}
	return Matrix{DType: quant.F32, Rows: rows, Cols: cols, f32: w}
}

// Row converts row i to float32 into dst (len Cols).
func (m Matrix) Row(i int, dst []float32) {
	dst = dst[:m.Cols]
	off := i * m.Cols
	switch m.DType {
	case quant.F32:
		copy(dst, m.f32[off:off+m.Cols])
	case quant.F16:
		src := m.u16[off : off+m.Cols]
		for j, h := range src {
			dst[j] = f16Table[h]
		}
	case quant.BF16:
		src := m.u16[off : off+m.Cols]
		for j, h := range src {
			dst[j] = quant.BF16ToF32(h)
		}
	default:
		if err := quant.DequantizeRow(m.DType, dst, m.qRow(i)); err != nil {
			panic("kernels: " + err.Error())
		}
	}
}

// qRow returns the blocks of row i of a block-quantized matrix.
func (m Matrix) qRow(i int) []byte { return m.q[i*m.rowBytes : (i+1)*m.rowBytes] }

// Bytes returns the matrix's encoded size.
func (m Matrix) Bytes() int64 {
	if m.q != nil {
		return int64(m.Rows) * int64(m.rowBytes)
	}
	return int64(m.Rows) * int64(m.Cols) * int64(m.DType.BlockBytes())
}

// f16Table maps every binary16 pattern to float32: 256 KiB, exact, and
// much faster than bit twiddling per element in pure Go.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = quant.F16ToF32(uint16(i))
	}
	return &t
}()
