package eval

import (
	"context"
	"fmt"
	"math"
)

// TextScore is the token-level score of a text.
type TextScore struct {
	// NLL is the summed negative log-likelihood (nats) of the scored
	// tokens.
	NLL float64
	// Tokens scored: every token after the first (the first is only
	// input), or every token when a pad conditions the first.
	Tokens int
}

// Perplexity is exp(NLL / Tokens).
func (s TextScore) Perplexity() float64 { return math.Exp(s.NLL / float64(s.Tokens)) }

// BitsPerByte is NLL in bits over the text's bytes.
func (s TextScore) BitsPerByte(bytes int) float64 { return s.NLL / math.Ln2 / float64(bytes) }

// textChunk is how many positions get head rows per Feed call in
// ScoreText: it bounds memory to chunk·vocab floats.
const textChunk = 128

// ScoreText feeds pad then tokens through one state carried through the
// whole text (an RNN needs no sliding window) and sums the log-probability
// of every token that has a preceding input. Per-token values are float32
// log-softmax values as in ScoreDoc; the sum is float64 (a text has many
// tokens). progress, when non-nil, gets the tokens fed so far.
func ScoreText(ctx context.Context, m Model, pad, tokens []int, progress func(fed int)) (TextScore, error) {
	seq := append(append([]int(nil), pad...), tokens...)
	if len(seq) < 2 {
		return TextScore{}, fmt.Errorf("the text has %d tokens; at least 2 are needed to score one", len(tokens))
	}
	vocab := m.Vocab()
	for i, t := range seq {
		if t < 0 || t >= vocab {
			return TextScore{}, fmt.Errorf("token %d (id %d) is outside the model's vocabulary of %d", i, t, vocab)
		}
	}
	st := m.NewState()
	rows := make([]float32, textChunk*vocab)
	var sc TextScore
	// Input positions 0..len-2 each predict the next token.
	for start := 0; start < len(seq)-1; start += textChunk {
		if err := ctx.Err(); err != nil {
			return TextScore{}, err
		}
		end := min(start+textChunk, len(seq)-1)
		r := rows[:(end-start)*vocab]
		if err := m.Feed(st, seq[start:end], r); err != nil {
			return TextScore{}, err
		}
		for p := start; p < end; p++ {
			s := scoreRows(r[(p-start)*vocab:(p-start+1)*vocab], vocab, seq[p+1:p+2])
			sc.NLL -= s.LL
			sc.Tokens++
		}
		if progress != nil {
			progress(end)
		}
	}
	return sc, nil
}
