// Package eval scores language models with lm-evaluation-harness semantics:
// the loglikelihood(context, continuation) primitive done the RNN way (a
// shared context is fed once and its state cloned per choice, the output
// head only at scored positions), the harness' metrics and stderr, and its
// results and samples files. It sees a model only through Model and
// Tokenizer, so it does not depend on the engine; the CLI adapts
// engine.Model to Model.
package eval

// State is a model's recurrent state for one sequence. Clone returns an
// independent copy; feeding tokens to one never changes the other.
type State interface {
	Clone() State
}

// Model is what scoring needs from a network. Feed may be called
// concurrently as long as each goroutine uses its own State.
type Model interface {
	// Vocab is the number of logits per position.
	Vocab() int
	// NewState returns the initial (zero-context) state.
	NewState() State
	// Feed runs tokens in order from st, updating it. logits is nil (no
	// output head at all), Vocab long (the row after the last token) or
	// len(tokens)·Vocab long (row t after tokens[0..t]).
	Feed(st State, tokens []int, logits []float32) error
}

// Tokenizer turns text into token ids (no BOS/EOS added).
type Tokenizer interface {
	Encode(text string) []int
}
