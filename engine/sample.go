package engine

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Sampler picks the next token from logits. Temperature 0 is greedy (the
// first argmax); otherwise softmax(logits/T) restricted to the smallest set
// of tokens whose probability reaches TopP (nucleus sampling), drawn from a
// seeded generator, so a given seed reproduces a generation exactly.
type Sampler struct {
	Temperature float64
	TopP        float64 // (0, 1]; 1 or more keeps every token
	TopK        int     // keep at most the K most likely tokens; 0 = no limit
	rng         *rand.Rand
	order       []int
	probs       []float64
}

// NewSampler returns a sampler with its own generator seeded by seed.
func NewSampler(temperature, topP float64, seed uint64) *Sampler {
	return &Sampler{Temperature: temperature, TopP: topP, rng: rand.New(rand.NewPCG(seed, 0x5257_4b56))}
}

// Argmax returns the index of the largest logit (the first on ties).
func Argmax(logits []float32) int {
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// Sample returns the chosen token id.
func (s *Sampler) Sample(logits []float32) int {
	if s.Temperature <= 0 {
		return Argmax(logits)
	}
	n := len(logits)
	if cap(s.probs) < n {
		s.probs = make([]float64, n)
		s.order = make([]int, n)
	}
	probs, order := s.probs[:n], s.order[:n]
	mx := float64(logits[Argmax(logits)])
	var sum float64
	for i, v := range logits {
		p := math.Exp((float64(v) - mx) / s.Temperature)
		probs[i] = p
		sum += p
		order[i] = i
	}
	for i := range probs {
		probs[i] /= sum
	}
	// Highest probability first; ties by id so the order is deterministic.
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case probs[a] > probs[b]:
			return -1
		case probs[a] < probs[b]:
			return 1
		}
		return a - b
	})
	keep, mass := n, 0.0
	if s.TopP > 0 && s.TopP < 1 {
		for i, id := range order {
			mass += probs[id]
			if mass >= s.TopP {
				keep = i + 1
				break
			}
		}
	} else {
		mass = 1
	}
	if s.TopK > 0 && s.TopK < keep {
		keep = s.TopK
	}
	if keep == n || s.TopK > 0 {
		mass = 0
		for _, id := range order[:keep] {
			mass += probs[id]
		}
	}
	r := s.rng.Float64() * mass
	for _, id := range order[:keep] {
		r -= probs[id]
		if r < 0 {
			return id
		}
	}
	return order[keep-1]
}
