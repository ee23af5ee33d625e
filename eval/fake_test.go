package eval

import (
	"fmt"
	"hash/fnv"
	"sync/atomic"
)

// fakeModel is a scripted RNN for tests: its state is the token history and
// the logits after a history are a fixed function of it (a hash), so a
// cloned or chunked run gives bit-identical rows, and any mistake in which
// rows are read shows. Values are coarse (multiples of 0.5) so ties occur.
type fakeModel struct {
	vocab int
	feeds atomic.Int64 // Feed calls (atomic: workers share the model)
	rows  atomic.Int64 // head rows computed
}

type fakeState struct{ hist []int }

func (s *fakeState) Clone() State { return &fakeState{hist: append([]int(nil), s.hist...)} }

func (m *fakeModel) Vocab() int      { return m.vocab }
func (m *fakeModel) NewState() State { return &fakeState{} }

func (m *fakeModel) Feed(st State, tokens []int, logits []float32) error {
	s := st.(*fakeState)
	m.feeds.Add(1)
	switch len(logits) {
	case 0, m.vocab, len(tokens) * m.vocab:
	default:
		return fmt.Errorf("logits of %d floats for %d tokens", len(logits), len(tokens))
	}
	for i, t := range tokens {
		s.hist = append(s.hist, t)
		switch {
		case len(logits) == len(tokens)*m.vocab:
			m.row(s.hist, logits[i*m.vocab:(i+1)*m.vocab])
		case len(logits) == m.vocab && i == len(tokens)-1:
			m.row(s.hist, logits)
		}
	}
	return nil
}

func (m *fakeModel) row(hist []int, out []float32) {
	m.rows.Add(1)
	h := fnv.New64a()
	for _, t := range hist {
		fmt.Fprintf(h, "%d,", t)
	}
	x := h.Sum64()
	for v := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out[v] = float32(x%9) * 0.5
	}
}

// runeTokenizer maps each byte to its value mod vocab (a stand-in).
type byteTokenizer struct{ vocab int }

func (b byteTokenizer) Encode(s string) []int {
	out := make([]int, len(s))
	for i := range len(s) {
		out[i] = int(s[i]) % b.vocab
	}
	return out
}
