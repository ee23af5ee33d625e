package eval

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// The harness' bootstrap_stderr(perplexity, xs, iters), computed by
// CPython with lm_eval's code (chunks of 1000 seeded 0, 1, …).
func TestBootstrapStderrMatchesHarness(t *testing.T) {
	xs := []float64{-1.5, -2.25, -0.125, -7.0, -3.5, -0.75, -4.0}
	if got, want := BootstrapStderr(Perplexity, xs, 2500, nil), 25.86632735403506; got != want {
		t.Errorf("2500 iters: %v, harness %v", got, want)
	}
	if got, want := BootstrapStderr(Perplexity, xs, 500, nil), 23.64943711311546; got != want {
		t.Errorf("500 iters: %v, harness %v", got, want)
	}
}

func TestMeanStderr(t *testing.T) {
	// Pythia-160M arc_challenge: acc 0.187713 on 1172 → stderr 0.011411.
	xs := make([]float64, 1172)
	for i := range 220 {
		xs[i] = 1
	}
	if got := MeanStderr(xs); math.Abs(got-0.011411) > 5e-7 {
		t.Errorf("stderr %v, want 0.011411", got)
	}
	if got := Perplexity([]float64{-1, -3}); got != math.Exp(2) {
		t.Errorf("ppl %v", got)
	}
}

func TestMultipleChoice(t *testing.T) {
	cases := []struct {
		lls          []float64
		choices      []string
		gold         int
		acc, accNorm float64
	}{
		// acc picks choice 1 (-2 > -3); per code point: -2/2=-1 vs -3/6=-0.5 → 1 vs 0... choice 0 wins norm.
		{[]float64{-3, -2}, []string{"abcdef", "ab"}, 1, 1, 0},
		// tie: lowest index wins both.
		{[]float64{-2, -2}, []string{"ab", "cd"}, 1, 0, 0},
		{[]float64{-2, -2}, []string{"ab", "cd"}, 0, 1, 1},
		// code points, not bytes: "éé" is 2 code points (4 bytes).
		{[]float64{-4, -3.9}, []string{"éé", "abc"}, 1, 1, 1},
		{[]float64{-4, -4.2}, []string{"éé", "abc"}, 0, 1, 0},
	}
	for i, c := range cases {
		acc, norm := MultipleChoice(c.lls, c.choices, c.gold)
		if acc != c.acc || norm != c.accNorm {
			t.Errorf("case %d: acc %v acc_norm %v, want %v %v", i, acc, norm, c.acc, c.accNorm)
		}
	}
}

func TestEntities(t *testing.T) {
	cases := []struct {
		gold, pred string
		em, f1     float64
	}{
		{"The Eiffel Tower", "eiffel tower!", 1, 1},
		{"Barack Obama", "Obama", 0, 2 * 1 * 0.5 / 1.5},
		{"a", "the", 1, 1}, // both normalize to nothing
		{"an apple", "Anapple", 0, 0},
		{"U.S.", "US", 1, 1},
	}
	for _, c := range cases {
		// the prediction is the argmax entity: put it second, behind a
		// lower-scored distractor.
		if em, f1 := Entities([]float64{-2, -1}, []string{"zzz", c.pred}, []string{c.gold}); em != c.em || math.Abs(f1-c.f1) > 1e-12 {
			t.Errorf("%q vs %q: em %v f1 %v, want %v %v", c.gold, c.pred, em, f1, c.em, c.f1)
		}
	}
	em, f1 := Entities([]float64{-3, -1, -1}, []string{"Paris", "Obama", "London"}, []string{"Barack Obama", "Obama"})
	if em != 1 || f1 != 1 {
		t.Errorf("Entities: em %v f1 %v", em, f1)
	}
}

// TestBootstrapStderrHarnessScale: the harness' default 100000 replicates
// over the 300 LAMBADA log-likelihoods of the tiny v4 reference
// (shared/reference/manifest.json), computed by CPython with lm_eval's
// bootstrap_stderr code: bit-identical.
func TestBootstrapStderrHarnessScale(t *testing.T) {
	b, err := os.ReadFile(testutil.Shared(t, "reference", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Models []struct {
			Lambada struct {
				Examples []struct{ LL float64 }
			}
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var xs []float64
	for _, e := range m.Models[0].Lambada.Examples {
		xs = append(xs, e.LL)
	}
	if got, want := Perplexity(xs), 82567961.79150377; got != want {
		t.Errorf("ppl %v, CPython %v", got, want)
	}
	if got, want := BootstrapStderr(Perplexity, xs, 100000, nil), 62205437.980170175; got != want {
		t.Errorf("bootstrap stderr %v, CPython %v", got, want)
	}
}
