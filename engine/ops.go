package engine

import (
	"math"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/kernels"
)

// layerNorm writes LN(x; w, b) into dst: (x − mean)/sqrt(var + eps)·w + b
// with the biased variance, accumulated in float64 (two passes).
func layerNorm(dst, x, w, b []float32, eps float64) {
	n := len(x)
	var sum float64
	for _, v := range x {
		sum += float64(v)
	}
	mean := sum / float64(n)
	var sq float64
	for _, v := range x {
		d := float64(v) - mean
		sq += d * d
	}
	inv := 1 / math.Sqrt(sq/float64(n)+eps)
	dst = dst[:n]
	w, b = w[:n], b[:n]
	for i, v := range x {
		dst[i] = float32((float64(v)-mean)*inv)*w[i] + b[i]
	}
}

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }

// ew returns the element-wise kernels that go with the model's kernel set
// (bit-identical to the pure-Go ones, see kernels.Elementwise).
func (m *base) ew() *kernels.Elementwise { return m.pool.Kernels.Elementwise() }

// rows runs fn over T independent rows split across the pool's threads
// (one range when T·perRow, a rough count of inner-loop steps, is small,
// as in decoding). Rows are independent, so the split changes no bit.
func (m *base) rows(T int, perRow int64, fn func(t0, t1 int)) {
	m.pool.Parallel(T, int64(T)*perRow, fn)
}

// span runs fn over [0, n) in ranges of whole 16-element groups split
// across the pool's threads, for element-wise work.
func (m *base) span(n int, perElem int64, fn func(i0, i1 int)) {
	m.pool.Parallel((n+15)/16, int64(n)*perElem, func(g0, g1 int) {
		fn(g0*16, min(g1*16, n))
	})
}

// normRows applies LN(·; w, b) to every C-wide row of src into dst (rows of
// dst; src may be longer), rows split across threads.
func (m *base) normRows(dst, src, w, b []float32) {
	C := m.cfg.Embd
	ln := m.ew().LayerNorm
	m.rows(len(dst)/C, int64(C)*8, func(t0, t1 int) {
		for t := t0; t < t1; t++ {
			ln(dst[t*C:(t+1)*C], src[t*C:(t+1)*C], w, b, arch.LayerNormEps)
		}
	})
}

// mixTarget is one output of tokenShift: dst = x·μ + x_prev·(1−μ).
type mixTarget struct {
	dst, mu []float32
}

// tokenShift mixes each row of xs ([T][C], LN outputs) with the previous
// row (prev for the first: the carried state) for every target, then
// stores the last row in prev for the next call. With lerp the mix is the
// v6/v7 one, dst = x + (x_prev − x)·μ' (μ' the weight on the previous
// token); without, the v4/v5 one (kernels.Elementwise Mix).
func (m *base) tokenShift(prev, xs []float32, lerp bool, targets ...mixTarget) {
	C := m.cfg.Embd
	T := len(xs) / C
	mix := m.ew().Mix
	if lerp {
		mix = m.ew().Lerp
	}
	m.rows(T, int64(C*len(targets))*2, func(t0, t1 int) {
		for t := t0; t < t1; t++ {
			cur := xs[t*C : (t+1)*C]
			p := prev
			if t > 0 {
				p = xs[(t-1)*C : t*C]
			}
			for _, tg := range targets {
				mix(tg.dst[t*C:(t+1)*C], cur, p, tg.mu[:C])
			}
		}
	})
	copy(prev, xs[(T-1)*C:T*C])
}

// tanhAll applies tanh (kernels.Elementwise Tanh: float32, within 2.5e-7
// absolute) to every element of x, split across threads (the LoRA
// activations of RWKV-6/7: T × rank values).
func (m *base) tanhAll(x []float32) {
	tanh := m.ew().Tanh
	m.span(len(x), 24, func(i0, i1 int) { tanh(x[i0:i1], x[i0:i1]) })
}
