package eval

import (
	"context"
	"math"
	"testing"
)

// TestScoreDocEqualsScratch: the shared-prefix, clone-per-request scoring
// gives bit-identical ll and greedy flags to scoring every request from a
// fresh state, for shared contexts (multiple choice), differing contexts
// with a common prefix (WinoGrande), one-token and longer continuations,
// and a context equal to another's prefix.
func TestScoreDocEqualsScratch(t *testing.T) {
	docs := map[string][]Tokens{
		"lambada one token":   {{Context: []int{1, 2, 3, 4}, Continuation: []int{5}}},
		"lambada three":       {{Context: []int{1, 2, 3, 4}, Continuation: []int{5, 6, 0}}},
		"shared context":      {{[]int{3, 1, 4, 1}, []int{5}}, {[]int{3, 1, 4, 1}, []int{2, 6}}, {[]int{3, 1, 4, 1}, []int{5, 3, 5}}},
		"winogrande":          {{[]int{3, 1, 4, 1, 5}, []int{2, 6, 5}}, {[]int{3, 1, 4, 2, 6}, []int{2, 6, 5}}},
		"one context shorter": {{[]int{3, 1}, []int{4, 1, 5}}, {[]int{3, 1, 4, 1}, []int{5, 9}}, {[]int{2}, []int{7}}},
		"identical requests":  {{[]int{1, 2}, []int{3, 4}}, {[]int{1, 2}, []int{3, 4}}},
	}
	for name, reqs := range docs {
		t.Run(name, func(t *testing.T) {
			m := &fakeModel{vocab: 11}
			s := NewScorer(m)
			got, err := s.ScoreDoc(reqs)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range reqs {
				want, err := s.ScoreFromScratch(r)
				if err != nil {
					t.Fatal(err)
				}
				if got[i] != want {
					t.Errorf("request %d: shared %+v, from scratch %+v", i, got[i], want)
				}
			}
		})
	}
}

// TestScoreDocHeadOnlyAtScoredRows: a shared 4-token context with three
// one-token choices feeds the context once and computes one head row.
func TestScoreDocHeadOnlyAtScoredRows(t *testing.T) {
	m := &fakeModel{vocab: 11}
	s := NewScorer(m)
	ctx := []int{1, 2, 3, 4}
	if _, err := s.ScoreDoc([]Tokens{{ctx, []int{5}}, {ctx, []int{6}}, {ctx, []int{7}}}); err != nil {
		t.Fatal(err)
	}
	if m.rows.Load() != 1 || m.feeds.Load() != 1 || s.Fed != 4 {
		t.Fatalf("rows %d, feeds %d, tokens fed %d; want 1, 1, 4", m.rows.Load(), m.feeds.Load(), s.Fed)
	}
	// Two-token choices: one more token and one more row each.
	m2 := &fakeModel{vocab: 11}
	s2 := NewScorer(m2)
	if _, err := s2.ScoreDoc([]Tokens{{ctx, []int{5, 1}}, {ctx, []int{6, 2}}}); err != nil {
		t.Fatal(err)
	}
	if m2.rows.Load() != 3 || s2.Fed != 6 {
		t.Fatalf("rows %d, tokens fed %d; want 3, 6", m2.rows.Load(), s2.Fed)
	}
}

// TestScoreRows pins the arithmetic: log-softmax values, the float32 sum,
// and ties going to the lowest index.
func TestScoreRows(t *testing.T) {
	rows := []float32{
		1, 2, 2, 0, // tie between 1 and 2: argmax is 1
		0, 0, 0, 0,
	}
	lse := math.Log(math.Exp(1) + 2*math.Exp(2) + 1)
	cases := []struct {
		target []int
		greedy bool
	}{
		{[]int{1, 0}, true}, // lowest index of a tie, then a uniform row's first
		{[]int{2, 0}, false},
		{[]int{1, 3}, false},
	}
	for _, c := range cases {
		got := scoreRows(rows, 4, c.target)
		want := float64(float32(float64(rows[c.target[0]])-lse) + float32(-math.Log(4)))
		if math.Abs(got.LL-want) > 1e-6 || got.Greedy != c.greedy {
			t.Errorf("target %v: got %+v, want ll %.7f greedy %v", c.target, got, want, c.greedy)
		}
	}
}

func TestScoreRejects(t *testing.T) {
	s := NewScorer(&fakeModel{vocab: 11})
	for _, r := range []Tokens{{nil, []int{1}}, {[]int{1}, nil}, {[]int{1}, []int{11}}, {[]int{-1}, []int{1}}} {
		if _, err := s.ScoreDoc([]Tokens{r}); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
}

// TestScoreText: chunked, state-carrying text scoring equals summing each
// token's from-scratch score.
func TestScoreText(t *testing.T) {
	m := &fakeModel{vocab: 11}
	tokens := make([]int, 300)
	for i := range tokens {
		tokens[i] = (i * 7) % 11
	}
	got, err := ScoreText(context.Background(), m, []int{3}, tokens, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := NewScorer(m)
	var want float64
	seq := append([]int{3}, tokens...)
	for p := 1; p < len(seq); p++ {
		sc, _ := s.ScoreFromScratch(Tokens{seq[:p], seq[p : p+1]})
		want -= sc.LL
	}
	if got.Tokens != 300 || math.Abs(got.NLL-want) > 1e-9 {
		t.Fatalf("got %+v, want nll %v over 300", got, want)
	}
}
