package kernels

import "math"

// MatMul's order, in every set: each output (t, r) is one chain of float32
// fused multiply-adds over k in order, s = fma(w[r][k], x[t][k], s) from
// s = +0, on the exact float32 values of the weights (f16/bf16 widened,
// ggml blocks dequantized as quant.DequantizeRow does). A chain is the
// natural order of a packed outer-product GEMM (tokens or rows in lanes,
// no reduction), and it depends only on W[r] and x[t], so MatMul's bits
// never depend on T, tiles or threads, and the assembly sets equal this
// pure-Go one bit for bit. MatVec keeps its own (lane-split) order; the
// two agree within float32 rounding (engine tests state the bound).

// fma32 is float32 fma(a, b, c) with one rounding, in pure Go. The product
// is exact in float64; the float64 sum is rounded again to float32, which
// is exact unless the sum landed exactly on a float32 halfway point (or in
// float32's subnormal range): then the sum is redone rounding to odd, and
// rounding a round-to-odd value with ≥ 2 extra bits is correct.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if fma32Easy(s) {
		return float32(s)
	}
	return fma32Hard(p, float64(c), s)
}

// fma32Easy: rounding s to float32 is rounding p + c to float32.
func fma32Easy(s float64) bool {
	const low = 1<<29 - 1 // float64 mantissa bits below float32's
	bits := math.Float64bits(s)
	// 0x1p-126 and up (abs via the sign bit): float32 normal range or
	// beyond, Inf and NaN included; zero is exact.
	return bits&low != 1<<28 && bits&^(1<<63) >= 0x3810000000000000 || s == 0
}

// fma32Hard is fma32 for the rare sums fma32Easy refuses: s = p + c
// rounded to nearest, redone rounding to odd.
//
//go:noinline
func fma32Hard(p, c, s float64) float32 {
	bits := math.Float64bits(s)
	bv := s - p // TwoSum: s + e == p + c exactly
	e := (p - (s - bv)) + (c - bv)
	if e != 0 && bits&1 == 0 {
		if (e > 0) == (s > 0) {
			bits++
		} else {
			bits--
		}
	}
	return float32(math.Float64frombits(bits))
}

// fmaChain is Σ w[k]·x[k] in MatMul's order.
func fmaChain(w, x []float32) float32 {
	x = x[:len(w)]
	var s float32
	for k, wk := range w {
		s = fmaStep(wk, x[k], s)
	}
	return s
}

// fmaStep is s = fma32(w, x, s) for fmaChain's loops.
func fmaStep(w, x, s float32) float32 {
	p := float64(w) * float64(x)
	t := p + float64(s)
	if fma32Easy(t) {
		return float32(t)
	}
	return fma32Hard(p, float64(s), t)
}

// fmaChain4 is fmaChain of w with four vectors: four independent chains in
// one loop run about four times as fast as one (each is latency-bound).
func fmaChain4(w, x0, x1, x2, x3 []float32) (s0, s1, s2, s3 float32) {
	n := len(w)
	x0, x1, x2, x3 = x0[:n], x1[:n], x2[:n], x3[:n]
	for k, wk := range w {
		s0 = fmaStep(wk, x0[k], s0)
		s1 = fmaStep(wk, x1[k], s1)
		s2 = fmaStep(wk, x2[k], s2)
		s3 = fmaStep(wk, x3[k], s3)
	}
	return
}

// genericMatMulRows computes dst[t][r] = W[r]·x[t] for r in [r0, r1) and
// every t < T (dst is [T][Rows], x is [T][Cols]) in MatMul's order. Each
// weight row is converted once and reused across the T vectors.
func genericMatMulRows(dst []float32, m Matrix, x []float32, T, r0, r1 int) {
	c, rows := m.Cols, m.Rows
	w := make([]float32, c)
	xt := func(t int) []float32 { return x[t*c : (t+1)*c] }
	for r := r0; r < r1; r++ {
		m.Row(r, w)
		t := 0
		for ; t+4 <= T; t += 4 {
			dst[t*rows+r], dst[(t+1)*rows+r], dst[(t+2)*rows+r], dst[(t+3)*rows+r] = fmaChain4(w, xt(t), xt(t+1), xt(t+2), xt(t+3))
		}
		for ; t < T; t++ {
			dst[t*rows+r] = fmaChain(w, xt(t))
		}
	}
}
