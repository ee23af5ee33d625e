package quality

import (
	"math"
	"testing"
)

func TestIdenticalRowsGiveZero(t *testing.T) {
	var c Comparer
	rows := [][]float32{{1, 2, 3, 0, -1, 5}, {0, 0, 0, 0, 0, 0}, {-3, 7, 7, 1, 2, 0}}
	for i, r := range rows {
		if err := c.Add(r, r, []int{1, 2, -1}[i]); err != nil {
			t.Fatal(err)
		}
	}
	r := c.Result()
	if r.Positions != 3 || r.Predicted != 2 || r.KLMean != 0 || r.KLMax != 0 || r.Top1 != 1 || r.Top5 != 1 || r.DeltaPPLPct != 0 || r.PPLRef != r.PPLOther {
		t.Fatalf("%+v", r)
	}
	// ppl = exp(mean NLL): the first row predicts token 1, the second token 2.
	lp := func(row []float32, k int) float64 {
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v))
		}
		return float64(row[k]) - math.Log(s)
	}
	want := math.Exp(-(lp(rows[0], 1) + lp(rows[1], 2)) / 2)
	if math.Abs(r.PPLRef-want) > 1e-12*want {
		t.Errorf("ppl %v, want %v", r.PPLRef, want)
	}
}

func TestKnownDivergence(t *testing.T) {
	// p = (1/2, 1/2), q = (1/4, 3/4): KL = ½ln2 + ½ln(2/3).
	var c Comparer
	ref := []float32{0, 0}
	other := []float32{0, float32(math.Log(3))}
	if err := c.Add(ref, other, 0); err != nil {
		t.Fatal(err)
	}
	r := c.Result()
	want := 0.5*math.Log(2) + 0.5*math.Log(2.0/3)
	if math.Abs(r.KLMean-want) > 1e-7 || r.KLP99 != r.KLMean || r.KLMax != r.KLMean {
		t.Errorf("KL %v/%v/%v, want %v", r.KLMean, r.KLP99, r.KLMax, want)
	}
	if r.Top1 != 0 { // argmax 0 (first of a tie) vs 1
		t.Errorf("top-1 %v", r.Top1)
	}
	// ppl ref = 2, other = 4: +100 %.
	if math.Abs(r.DeltaPPLPct-100) > 1e-4 {
		t.Errorf("Δppl %v %%", r.DeltaPPLPct)
	}
	if err := c.Add([]float32{1}, []float32{1, 2}, 0); err == nil {
		t.Error("rows of different lengths accepted")
	}
}

func TestTop5(t *testing.T) {
	row := []float32{5, 1, 9, 9, 0, 3, 7, 2}
	got := top5(row)
	want := []int{0, 2, 3, 5, 6}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("top5 %v, want %v", got, want)
		}
	}
}
