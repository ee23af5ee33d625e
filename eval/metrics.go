package eval

import (
	"math"
	"unicode/utf8"

	"github.com/rwkv-tools/rwkv-tools/internal/pyrandom"
)

// Mean is the harness' mean: sum(arr)/len(arr), summed in order in
// float64.
func Mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// SampleStddev is the harness' sample_stddev: sqrt(Σ(x-μ)²/(n-1)).
func SampleStddev(xs []float64) float64 {
	mu := Mean(xs)
	var s float64
	for _, x := range xs {
		s += (x - mu) * (x - mu)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

// MeanStderr is the harness' mean_stderr: sample_stddev / sqrt(n).
func MeanStderr(xs []float64) float64 {
	return SampleStddev(xs) / math.Sqrt(float64(len(xs)))
}

// Perplexity is LAMBADA's aggregate: exp(-mean(ll)) over documents' summed
// log-likelihoods.
func Perplexity(lls []float64) float64 { return math.Exp(-Mean(lls)) }

// BootstrapChunk is the harness' resampling chunk: chunk k draws its
// replicates from random.Random(k).
const BootstrapChunk = 1000

// BootstrapStderr ports lm_eval.metrics.bootstrap_stderr exactly: iters
// replicates in chunks of min(1000, iters), chunk k seeded
// random.Random(k), each replicate f(rnd.choices(xs, k=len(xs))), and the
// result is the sample stddev of the replicates. (iters // chunk) chunks
// run, as in the harness, so iters is rounded down to a multiple of the
// chunk.) stop, when non-nil, is polled between chunks; when it returns
// true the function returns NaN.
func BootstrapStderr(f func([]float64) float64, xs []float64, iters int, stop func() bool) float64 {
	chunk := min(BootstrapChunk, iters)
	if chunk <= 0 || len(xs) == 0 {
		return math.NaN()
	}
	reps := make([]float64, 0, iters/chunk*chunk)
	sample := make([]float64, len(xs))
	for k := 0; k < iters/chunk; k++ {
		if stop != nil && stop() {
			return math.NaN()
		}
		rnd := pyrandom.New(uint64(k))
		for range chunk {
			for i := range sample {
				sample[i] = xs[rnd.ChoiceIndex(len(xs))]
			}
			reps = append(reps, f(sample))
		}
	}
	return SampleStddev(reps)
}

// Argmax returns the index of the largest value, the lowest index on a
// tie (np.argmax).
func Argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// MultipleChoice returns a document's acc and acc_norm (1 or 0): the
// prediction is the argmax of ll, and of ll divided by the choice's length
// in Unicode code points (Python len(str)), the delimiter not counted.
func MultipleChoice(lls []float64, choices []string, gold int) (acc, accNorm float64) {
	norm := make([]float64, len(lls))
	for i, ll := range lls {
		norm[i] = ll / float64(utf8.RuneCountInString(choices[i]))
	}
	return b2f(Argmax(lls) == gold), b2f(Argmax(norm) == gold)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
