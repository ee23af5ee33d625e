// Package quality measures how far one model's next-token distributions
// are from a reference's over the same tokens: the figures of `rwkv-tools
// compare` and `quantize --report` (KL divergence, top-1 and top-5
// agreement, perplexity of each). It sees only logits, never a model.
package quality

import (
	_ "embed"
	"fmt"
	"math"
	"slices"
)

// SampleText is the short English text compared on by default (written
// for the project: prose, dialogue and numbers).
//
//go:embed sample.txt
var SampleText string

// Result is the comparison of OTHER against REF over Positions positions.
type Result struct {
	Positions int `json:"positions"` // logit rows compared
	// KL(REF‖OTHER) per position in nats: mean, 99th percentile
	// (nearest rank) and max.
	KLMean float64 `json:"kl_mean"`
	KLP99  float64 `json:"kl_p99"`
	KLMax  float64 `json:"kl_max"`
	// Top1 is the share of positions with the same argmax; Top5 the share
	// with the same set of five most likely tokens.
	Top1 float64 `json:"top1_agreement"`
	Top5 float64 `json:"same_top5"`
	// Perplexity of each model on the text (positions with a next token),
	// and (PPLOther/PPLRef − 1)·100.
	Predicted   int     `json:"predicted_tokens"`
	PPLRef      float64 `json:"ppl_ref"`
	PPLOther    float64 `json:"ppl_other"`
	DeltaPPLPct float64 `json:"delta_ppl_percent"`
}

// Comparer accumulates positions; the zero value is ready.
type Comparer struct {
	kl               []float64
	top1, top5       int
	nllRef, nllOther float64
	predicted        int
	lpRef, lpOther   []float64
}

// Add compares one position's logits (same vocabulary). next is the token
// that follows (for perplexity), or -1 when there is none.
func (c *Comparer) Add(ref, other []float32, next int) error {
	if len(ref) != len(other) || len(ref) == 0 {
		return fmt.Errorf("quality: logit rows of %d and %d entries", len(ref), len(other))
	}
	if next >= len(ref) {
		return fmt.Errorf("quality: token %d outside the vocabulary of %d", next, len(ref))
	}
	c.lpRef = logSoftmax(c.lpRef, ref)
	c.lpOther = logSoftmax(c.lpOther, other)
	var kl float64
	for i, lp := range c.lpRef {
		if p := math.Exp(lp); p > 0 {
			kl += p * (lp - c.lpOther[i])
		}
	}
	c.kl = append(c.kl, max(kl, 0)) // rounding can give −1e-17
	if argmax(ref) == argmax(other) {
		c.top1++
	}
	if slices.Equal(top5(ref), top5(other)) {
		c.top5++
	}
	if next >= 0 {
		c.nllRef -= c.lpRef[next]
		c.nllOther -= c.lpOther[next]
		c.predicted++
	}
	return nil
}

// Result summarises the positions added so far.
func (c *Comparer) Result() Result {
	n := len(c.kl)
	r := Result{Positions: n, Predicted: c.predicted}
	if n == 0 {
		return r
	}
	sorted := slices.Clone(c.kl)
	slices.Sort(sorted)
	var sum float64
	for _, v := range c.kl {
		sum += v
	}
	r.KLMean = sum / float64(n)
	r.KLP99 = sorted[max(0, int(math.Ceil(0.99*float64(n)))-1)]
	r.KLMax = sorted[n-1]
	r.Top1 = float64(c.top1) / float64(n)
	r.Top5 = float64(c.top5) / float64(n)
	if c.predicted > 0 {
		r.PPLRef = math.Exp(c.nllRef / float64(c.predicted))
		r.PPLOther = math.Exp(c.nllOther / float64(c.predicted))
		r.DeltaPPLPct = (r.PPLOther/r.PPLRef - 1) * 100
	}
	return r
}

// logSoftmax writes log p of row into dst (float64).
func logSoftmax(dst []float64, row []float32) []float64 {
	dst = slices.Grow(dst[:0], len(row))[:len(row)]
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	lse := mx + math.Log(s)
	for i, v := range row {
		dst[i] = float64(v) - lse
	}
	return dst
}

// argmax returns the first index of the largest logit.
func argmax(row []float32) int {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	return best
}

// top5 returns the ids of the five largest logits as a sorted set (ties
// broken towards the lower id).
func top5(row []float32) []int {
	var ids []int
	for i := range row {
		ids = append(ids, i)
		if len(ids) > 5 {
			// drop the smallest (the later id on a tie)
			worst := 0
			for k, id := range ids {
				if row[id] < row[ids[worst]] || (row[id] == row[ids[worst]] && id > ids[worst]) {
					worst = k
				}
			}
			ids = slices.Delete(ids, worst, worst+1)
		}
	}
	slices.Sort(ids)
	return ids
}
