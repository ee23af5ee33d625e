package task

import "github.com/rwkv-tools/rwkv-tools/internal/pyrandom"

// HarnessV03Order returns the order in which lm-evaluation-harness v0.3's
// evaluator visits n documents: it shuffles every task's document list
// with random.Random(42).shuffle before taking the first --limit of them
// (v0.4 keeps the dataset order). order[k] is the index (Doc.ID) of the
// k-th document visited. Full runs score the same set either way; a
// v0.3 --limit run must take its documents in this order to score the
// same ones, and the request lists the harness recorded in its
// regression tests are in this order.
func HarnessV03Order(n int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := pyrandom.New(42)
	// CPython's Random.shuffle: for i in reversed(range(1, n)):
	// j = _randbelow(i + 1); swap.
	for i := n - 1; i >= 1; i-- {
		j := rng.RandBelow(uint32(i + 1))
		order[i], order[j] = order[j], order[i]
	}
	return order
}
