package engine

import "math"

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
