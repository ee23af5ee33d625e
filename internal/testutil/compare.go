package testutil

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
)

// LogitStats summarises how far two logit matrices [T][V] are apart.
type LogitStats struct {
	MaxAbs     float64 // max |a-b| over all entries
	Top1Agree  int     // positions whose argmax agree
	Positions  int
	MaxKL      float64 // max over positions of KL(softmax(want) || softmax(got))
	FirstWorst int     // position of MaxAbs
}

func (s LogitStats) String() string {
	return fmt.Sprintf("max|Δ|=%.3g top1=%d/%d maxKL=%.3g", s.MaxAbs, s.Top1Agree, s.Positions, s.MaxKL)
}

// CompareLogits compares got against want, both flattened [T][V].
func CompareLogits(want, got []float32, vocab int) LogitStats {
	if len(want) != len(got) || vocab <= 0 || len(want)%vocab != 0 {
		panic(fmt.Sprintf("CompareLogits: lengths %d and %d, vocab %d", len(want), len(got), vocab))
	}
	var s LogitStats
	s.Positions = len(want) / vocab
	for p := 0; p < s.Positions; p++ {
		w, g := want[p*vocab:(p+1)*vocab], got[p*vocab:(p+1)*vocab]
		for i := range w {
			d := math.Abs(float64(w[i]) - float64(g[i]))
			if d > s.MaxAbs || math.IsNaN(d) {
				s.MaxAbs, s.FirstWorst = d, p
				if math.IsNaN(d) {
					s.MaxAbs = math.Inf(1)
				}
			}
		}
		if Argmax(w) == Argmax(g) {
			s.Top1Agree++
		}
		if kl := KL(w, g); kl > s.MaxKL || math.IsNaN(kl) {
			s.MaxKL = kl
		}
	}
	return s
}

// Argmax returns the index of the largest value (the first on ties).
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// KL returns KL(softmax(p) || softmax(q)) in nats, computed in float64.
func KL(p, q []float32) float64 {
	lp, lq := logSoftmax(p), logSoftmax(q)
	var kl float64
	for i := range lp {
		kl += math.Exp(lp[i]) * (lp[i] - lq[i])
	}
	return kl
}

func logSoftmax(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = math.Max(m, float64(v))
	}
	var sum float64
	for _, v := range x {
		sum += math.Exp(float64(v) - m)
	}
	lse := m + math.Log(sum)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v) - lse
	}
	return out
}

// ReadF32 reads a little-endian float32 file.
func ReadF32(path string) ([]float32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of float32", path, len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}
