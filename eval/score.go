package eval

import (
	"fmt"
	"math"
)

// Score is the result of one loglikelihood request.
type Score struct {
	// LL is the summed log-probability of the continuation's tokens.
	LL float64
	// Greedy is true when every continuation token is the argmax of its
	// row (the lowest index wins a tie, as np.argmax).
	Greedy bool
}

// Scorer scores documents on one model. It holds scratch buffers, so use
// one Scorer per goroutine.
type Scorer struct {
	m       Model
	vocab   int
	rows    []float32 // per-request scored rows
	lastRow []float32 // the row after the shared prefix
	// Fed counts the tokens fed to the model (for throughput).
	Fed int64
}

// NewScorer returns a scorer over m.
func NewScorer(m Model) *Scorer {
	return &Scorer{m: m, vocab: m.Vocab(), lastRow: make([]float32, m.Vocab())}
}

// ScoreDoc scores a document's requests, the RNN way: the longest token
// prefix shared by every request (up to the shortest context) is fed once;
// each request then continues from a clone of that state, and the output
// head runs only at the positions whose rows are scored. The results equal
// scoring each request from a fresh state (ScoreFromScratch).
func (s *Scorer) ScoreDoc(reqs []Tokens) ([]Score, error) {
	if len(reqs) == 0 {
		return nil, nil
	}
	for i, r := range reqs {
		if err := s.check(r); err != nil {
			return nil, fmt.Errorf("request %d: %w", i, err)
		}
	}
	// shared = the prefix fed once: common to every request's full
	// sequence and within every context, so no request scores a row
	// before it ends except the last shared one.
	first := append(append([]int(nil), reqs[0].Context...), reqs[0].Continuation...)
	shared := len(reqs[0].Context)
	for _, r := range reqs[1:] {
		shared = min(shared, len(r.Context), commonPrefix(first, r.Context, r.Continuation))
	}
	needLast := false // some request scores the row after the shared prefix
	feeders := 0      // requests that need tokens beyond the shared prefix
	for _, r := range reqs {
		if len(r.Context) == shared {
			needLast = true
		}
		if len(r.Context)+len(r.Continuation)-1 > shared {
			feeders++
		}
	}
	st := s.m.NewState()
	var last []float32
	if needLast {
		last = s.lastRow
	}
	if err := s.feed(st, first[:shared], last); err != nil {
		return nil, err
	}
	out := make([]Score, len(reqs))
	for i, r := range reqs {
		n := len(r.Continuation)
		firstScored := len(r.Context) - 1 // position whose row predicts Continuation[0]
		if firstScored >= shared {
			// The request's own context goes on past the shared prefix:
			// feed the rest of it without the head, then the scored part.
			rs, err := s.fork(st, &feeders)
			if err != nil {
				return nil, err
			}
			if err := s.feed(rs, r.Context[shared:firstScored], nil); err != nil {
				return nil, err
			}
			seq := make([]int, 0, n)
			seq = append(append(seq, r.Context[firstScored]), r.Continuation[:n-1]...)
			rows := s.rowBuf(n)
			if err := s.feed(rs, seq, rows); err != nil {
				return nil, err
			}
			out[i] = scoreRows(rows, s.vocab, r.Continuation)
			continue
		}
		// The row predicting the first continuation token is the shared
		// prefix's last row; the rest come from feeding the continuation.
		rows := s.rowBuf(n)
		copy(rows, s.lastRow)
		if n > 1 {
			rs, err := s.fork(st, &feeders)
			if err != nil {
				return nil, err
			}
			if err := s.feed(rs, r.Continuation[:n-1], rows[s.vocab:]); err != nil {
				return nil, err
			}
		}
		out[i] = scoreRows(rows, s.vocab, r.Continuation)
	}
	return out, nil
}

// ScoreFromScratch scores one request as the harness does: one pass over
// context+continuation (minus its last token) from a fresh state with every
// row computed, then the continuation's rows are read. It is the reference
// that ScoreDoc is checked against (--check-scoring).
func (s *Scorer) ScoreFromScratch(r Tokens) (Score, error) {
	if err := s.check(r); err != nil {
		return Score{}, err
	}
	seq := append(append([]int(nil), r.Context...), r.Continuation...)
	seq = seq[:len(seq)-1]
	rows := make([]float32, len(seq)*s.vocab)
	if err := s.feed(s.m.NewState(), seq, rows); err != nil {
		return Score{}, err
	}
	return scoreRows(rows[(len(r.Context)-1)*s.vocab:], s.vocab, r.Continuation), nil
}

func (s *Scorer) check(r Tokens) error {
	if len(r.Context) == 0 || len(r.Continuation) == 0 {
		return fmt.Errorf("empty context or continuation (%d and %d tokens)", len(r.Context), len(r.Continuation))
	}
	for _, seq := range [][]int{r.Context, r.Continuation} {
		for _, t := range seq {
			if t < 0 || t >= s.vocab {
				return fmt.Errorf("token id %d is outside the model's vocabulary of %d; is the tokenizer the model's?", t, s.vocab)
			}
		}
	}
	return nil
}

// fork returns the state a request continues from: a clone, except for the
// last request that needs one, which takes the shared state itself.
func (s *Scorer) fork(st State, feeders *int) (State, error) {
	*feeders--
	if *feeders == 0 {
		return st, nil
	}
	return st.Clone(), nil
}

func (s *Scorer) feed(st State, tokens []int, logits []float32) error {
	if len(tokens) == 0 {
		return nil
	}
	s.Fed += int64(len(tokens))
	return s.m.Feed(st, tokens, logits)
}

func (s *Scorer) rowBuf(n int) []float32 {
	if cap(s.rows) < n*s.vocab {
		s.rows = make([]float32, n*s.vocab)
	}
	return s.rows[:n*s.vocab]
}

// commonPrefix is the length of the longest common prefix of a and b++c.
func commonPrefix(a, b, c []int) int {
	n := 0
	for n < len(a) {
		var t int
		switch {
		case n < len(b):
			t = b[n]
		case n-len(b) < len(c):
			t = c[n-len(b)]
		default:
			return n
		}
		if a[n] != t {
			return n
		}
		n++
	}
	return n
}

// scoreRows sums the log-softmax of row j at target[j] and checks that
// every target is its row's argmax.
//
// Arithmetic, chosen to match PyTorch's fp32 log_softmax followed by a
// fp32 sum (what the harness computes): each log-probability is a float32,
// (x - max) - log Σ exp(x - max), with the sum of exponentials accumulated
// in float64 (PyTorch's order is vectorised; float64 makes ours at least as
// accurate, within an ulp of its result); the per-token values are then
// summed in float32 in token order, and the greedy test takes the argmax of
// those float32 log-probabilities, the lowest index winning a tie.
func scoreRows(rows []float32, vocab int, target []int) Score {
	var ll float32
	greedy := true
	for j, t := range target {
		row := rows[j*vocab : (j+1)*vocab]
		mx := row[0]
		for _, v := range row[1:] {
			if v > mx {
				mx = v
			}
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - mx))
		}
		logSum := float32(math.Log(sum))
		lp := func(v float32) float32 { return (v - mx) - logSum }
		lt := lp(row[t])
		ll += lt
		if greedy {
			// argmax of the log-probabilities: the first index whose value
			// is the largest; the target is greedy when that index is t.
			best := lp(mx)
			for i, v := range row {
				if lp(v) == best {
					if i != t {
						greedy = false
					}
					break
				}
			}
		}
	}
	return Score{LL: float64(ll), Greedy: greedy}
}
