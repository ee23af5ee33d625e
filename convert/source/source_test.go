package source

import (
	"bytes"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

func TestBytesGathersStrides(t *testing.T) {
	// storage: 0..11 as uint16 little endian; a 3x2 transposed view of a 2x3 matrix.
	st := make([]byte, 24)
	for i := 0; i < 12; i++ {
		st[2*i] = byte(i)
	}
	tr := &Tensor{Name: "t", DType: quant.F16, Shape: []int64{3, 2}, Strides: []int64{1, 3}, Storage: st, Offset: 6}
	b, err := tr.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{6, 0, 9, 0, 7, 0, 10, 0, 8, 0, 11, 0}
	if !bytes.Equal(b, want) {
		t.Fatalf("got %v want %v", b, want)
	}
	if tr.Contiguous() {
		t.Fatal("transposed view reported contiguous")
	}
}

func TestValidateRejects(t *testing.T) {
	st := make([]byte, 16)
	cases := []struct {
		reason string
		t      Tensor
	}{
		{"past storage", Tensor{DType: quant.F32, Shape: []int64{5}, Storage: st}},
		{"offset past storage", Tensor{DType: quant.F32, Shape: []int64{2}, Offset: 3, Storage: st}},
		{"negative dim", Tensor{DType: quant.F32, Shape: []int64{-1}, Storage: st}},
		{"negative offset", Tensor{DType: quant.F32, Shape: []int64{1}, Offset: -1, Storage: st}},
		{"stride past storage", Tensor{DType: quant.F32, Shape: []int64{2, 2}, Strides: []int64{3, 1}, Storage: st}},
		{"stride count", Tensor{DType: quant.F32, Shape: []int64{2, 2}, Strides: []int64{1}, Storage: st}},
		{"huge shape", Tensor{DType: quant.F32, Shape: []int64{1 << 40, 1 << 40}, Storage: st}},
		{"huge stride", Tensor{DType: quant.F32, Shape: []int64{3}, Strides: []int64{1 << 62}, Storage: st}},
		{"bad dtype", Tensor{DType: 99, Shape: []int64{1}, Storage: st}},
		// (Offset+1)·2 wraps to a small number without the offset bound.
		{"wrapping offset f16", Tensor{DType: quant.F16, Shape: []int64{1}, Offset: 1 << 62, Storage: st}},
		{"wrapping offset f32", Tensor{DType: quant.F32, Shape: []int64{1}, Offset: 1<<62 - 1, Storage: st}},
		{"wrapping offset strided", Tensor{DType: quant.F32, Shape: []int64{2}, Strides: []int64{1}, Offset: 1 << 62, Storage: st}},
		// Bytes would allocate 2^40 elements from a 16-byte storage.
		{"expanded view", Tensor{DType: quant.F32, Shape: []int64{1 << 40}, Strides: []int64{0}, Storage: st}},
		{"repeating view", Tensor{DType: quant.F32, Shape: []int64{2, 3}, Strides: []int64{1, 1}, Storage: st}},
		{"contiguous end past bound", Tensor{DType: quant.F32, Shape: []int64{1 << 20}, Offset: 1 << 60, Storage: st}},
	}
	for _, c := range cases {
		if err := c.t.Validate(); err == nil {
			t.Errorf("%s: accepted", c.reason)
		}
	}
	for _, ok := range []Tensor{
		{DType: quant.F32, Shape: []int64{2, 2}, Storage: st},
		{DType: quant.F32, Shape: []int64{2, 2}, Strides: []int64{1, 2}, Storage: st},
		// Overlap that does not blow up the size is fine.
		{DType: quant.F16, Shape: []int64{2, 2}, Strides: []int64{4, 0}, Storage: st},
		{DType: quant.F32, Shape: []int64{1, 4}, Strides: []int64{0, 1}, Storage: st},
	} {
		if err := ok.Validate(); err != nil {
			t.Errorf("valid tensor rejected: %v", err)
		}
	}
}

func TestEmptyTensorBytes(t *testing.T) {
	// An empty tensor may carry any storage offset; Bytes must not slice with it.
	tr := &Tensor{Name: "e", DType: quant.F16, Shape: []int64{0, 4}, Offset: 100, Storage: make([]byte, 4)}
	b, err := tr.Bytes()
	if err != nil || len(b) != 0 {
		t.Fatalf("got %v, %v; want empty, nil", b, err)
	}
}

func TestContiguousMalformedStrides(t *testing.T) {
	tr := &Tensor{Shape: []int64{2, 2}, Strides: []int64{1}}
	if tr.Contiguous() {
		t.Fatal("strides shorter than shape reported contiguous")
	}
}
