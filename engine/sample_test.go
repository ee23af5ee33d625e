package engine

import "testing"

func TestSampler(t *testing.T) {
	logits := []float32{0, 3, 1, 3}
	if got := NewSampler(0, 1, 1).Sample(logits); got != 1 {
		t.Fatalf("greedy picked %d, want the first argmax 1", got)
	}
	// top-p small enough keeps only the two tied best tokens.
	s := NewSampler(1, 0.5, 7)
	for i := 0; i < 200; i++ {
		if id := s.Sample(logits); id != 1 && id != 3 {
			t.Fatalf("top-p 0.5 sampled %d", id)
		}
	}
	// Same seed, same draws.
	a, b := NewSampler(0.8, 1, 42), NewSampler(0.8, 1, 42)
	counts := map[int]int{}
	for i := 0; i < 500; i++ {
		x, y := a.Sample(logits), b.Sample(logits)
		if x != y {
			t.Fatal("same seed gave different draws")
		}
		counts[x]++
	}
	if counts[0] == 0 || counts[2] == 0 {
		t.Errorf("temperature 0.8 never sampled the weaker tokens: %v", counts)
	}
}
