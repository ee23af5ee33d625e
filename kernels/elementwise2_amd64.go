//go:build amd64 && !purego

package kernels

import (
	"math"

	"golang.org/x/sys/cpu"
)

// Implemented in elementwise2_amd64.s: whole 8-element groups; the Go
// wrappers below run the tail with the pure-Go code.

//go:noescape
func expAVX2(dst, x *float32, n8 int, tab *float32)

//go:noescape
func sigmoidAVX2(dst, x *float32, n8 int, tab *float32)

//go:noescape
func tanhAVX2(dst, x *float32, n8 int, tab *float32)

//go:noescape
func reluSquareAVX2(x *float32, n8 int)

// expTable8 is expTable with each constant in a 32-byte row (AVX2 has no
// broadcast memory operands), plus int64 1023 (the float64 exponent bias)
// in row 13 and 2.0 in row 14.
var expTable8 = func() (t [15 * 8]float32) {
	for i := 0; i < 13; i++ {
		for j := 0; j < 8; j++ {
			t[8*i+j] = expTable[i]
		}
	}
	for j := 0; j < 4; j++ {
		t[8*13+2*j] = math.Float32frombits(1023)
	}
	for j := 0; j < 8; j++ {
		t[8*14+j] = expTable[13]
	}
	return t
}()

// avx2Elementwise goes with the avx2 set: exp, sigmoid, tanh and relu² in
// assembly (the largest element-wise shares of an avx2 profile after the
// WKV scans), the rest in Go.
var avx2Elementwise = func() *Elementwise {
	e := *GenericElementwise
	e.Name = "avx2"
	e.Exp = unaryAVX2(expAVX2, expGeneric)
	e.Sigmoid = unaryAVX2(sigmoidAVX2, sigmoidGeneric)
	e.Tanh = unaryAVX2(tanhAVX2, tanhGeneric)
	e.ReluSquare = func(x []float32) {
		n := len(x)
		if g := n / 8; g > 0 {
			reluSquareAVX2(&x[0], g)
		}
		reluSquareGeneric(x[n&^7:])
	}
	return &e
}()

// unaryAVX2 runs kern over x's whole 8-element groups and the Go twin
// over the rest.
func unaryAVX2(kern func(dst, x *float32, n8 int, tab *float32), twin func(dst, x []float32)) func(dst, x []float32) {
	return func(dst, x []float32) {
		n := len(x)
		dst = dst[:n]
		if g := n / 8; g > 0 {
			kern(&dst[0], &x[0], g, &expTable8[0])
		}
		twin(dst[n&^7:], x[n&^7:])
	}
}

// hasAVX2Elementwise: what the avx2 element-wise kernels need.
var hasAVX2Elementwise = cpu.X86.HasAVX2
