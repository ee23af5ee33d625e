package engine

import (
	"math"

	"github.com/rwkv-tools/rwkv-tools/arch"
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

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }

// normRows applies LN(·; w, b) to every C-wide row of src into dst (rows of
// dst; src may be longer).
func normRows(dst, src, w, b []float32, C int) {
	for t := 0; t < len(dst)/C; t++ {
		layerNorm(dst[t*C:(t+1)*C], src[t*C:(t+1)*C], w, b, arch.LayerNormEps)
	}
}

// mixTarget is one output of tokenShift: dst = x·μ + x_prev·(1−μ).
type mixTarget struct {
	dst, mu []float32
}

// tokenShift mixes each row of xs ([T][C], LN outputs) with the previous
// row (prev for the first: the carried state) for every target, then
// stores the last row in prev for the next call.
func tokenShift(prev, xs []float32, C int, targets ...mixTarget) {
	T := len(xs) / C
	for t := 0; t < T; t++ {
		cur := xs[t*C : (t+1)*C]
		p := prev
		if t > 0 {
			p = xs[(t-1)*C : t*C]
		}
		for _, m := range targets {
			dst := m.dst[t*C : (t+1)*C]
			for c, mu := range m.mu[:C] {
				dst[c] = cur[c]*mu + p[c]*(1-mu)
			}
		}
	}
	copy(prev, xs[(T-1)*C:T*C])
}
