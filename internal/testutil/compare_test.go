package testutil

import "testing"

func TestCompareLogits(t *testing.T) {
	a := []float32{1, 2, 3, 0, 0, 1}
	b := []float32{1, 2, 3.5, 0, 0.5, 0}
	s := CompareLogits(a, b, 3)
	if s.MaxAbs != 1 || s.Top1Agree != 1 || s.Positions != 2 || s.MaxKL <= 0 {
		t.Fatalf("%+v", s)
	}
	if s := CompareLogits(a, a, 3); s.MaxAbs != 0 || s.MaxKL > 1e-12 || s.Top1Agree != 2 {
		t.Fatalf("self: %+v", s)
	}
}
