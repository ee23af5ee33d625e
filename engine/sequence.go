package engine

import "fmt"

// maxChunk bounds the scratch memory of one Sequence call; longer inputs
// are processed in chunks carrying the state, which is exact. Every chunk
// streams all the weights once, so longer chunks read less memory per
// token (128: the 169M shape's scratch is about 6 MiB).
const maxChunk = 128

// runChunks validates a Sequence call and runs it in chunks of at most
// maxChunk tokens.
func runChunks(cfg Config, st *State, tokens []int, logits []float32, fwd func(tokens []int, out []float32, lastOnly bool)) error {
	V := cfg.Vocab
	if st == nil || st.Arch != cfg.Arch || st.Layers != cfg.Layers || st.Embd != cfg.Embd || !cfg.stateLenOK(len(st.Data)) {
		return fmt.Errorf("engine: state does not belong to this %s model (L%d C%d)", cfg.Arch, cfg.Layers, cfg.Embd)
	}
	T := len(tokens)
	if T == 0 {
		return fmt.Errorf("engine: empty token sequence")
	}
	all := false
	switch len(logits) {
	case 0:
	case V:
	case T * V:
		all = true
	default:
		return fmt.Errorf("engine: logits buffer of %d floats; want 0, %d (last position) or %d (every position)", len(logits), V, T*V)
	}
	for i, t := range tokens {
		if t < 0 || t >= V {
			return fmt.Errorf("engine: token %d at position %d is outside the vocabulary [0, %d)", t, i, V)
		}
	}
	for t0 := 0; t0 < T; t0 += maxChunk {
		t1 := min(t0+maxChunk, T)
		var out []float32
		lastOnly := false
		switch {
		case all:
			out = logits[t0*V : t1*V]
		case logits != nil && t1 == T:
			out, lastOnly = logits, true
		}
		fwd(tokens[t0:t1], out, lastOnly)
	}
	return nil
}

// stateLenOK reports whether a state of n floats fits the model: exactly
// StateSize, or (a growing state) StateSize plus whole tokens.
func (cfg Config) stateLenOK(n int) bool {
	if cfg.StatePerToken == 0 {
		return n == cfg.StateSize
	}
	return n >= cfg.StateSize && (n-cfg.StateSize)%cfg.StatePerToken == 0
}
