package eval

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/rwkv-tools/rwkv-tools/eval/task"
)

// Tokens is one request in token ids: the model reads Context then
// Continuation, and the continuation's tokens are scored.
type Tokens struct {
	Context      []int
	Continuation []int
}

// Encoder turns requests into tokens the way a protocol does.
type Encoder struct {
	Tok      Tokenizer
	Protocol task.Protocol
	// Pad is prepended to every context: RWKV's authors evaluate with
	// encode("\n") (187 in the GPT-NeoX vocabulary, 11 in World); nil for
	// Transformers, which get no BOS in the harness.
	Pad []int
	// EOT stands in for an empty context when there is no pad (the
	// harness uses the end-of-text token; 0 in both RWKV vocabularies and
	// GPT-NeoX's).
	EOT int
}

// Encode returns the tokens of r.
//
// harness-v0.3: context and continuation are encoded separately.
// harness-v0.4: the context's trailing whitespace moves to the front of the
// continuation, and the continuation's tokens are those of the joint
// encoding after the context's own tokens (lm_eval's _encode_pair).
func (e Encoder) Encode(r task.Request) (Tokens, error) {
	ctx, cont := r.Context, r.Continuation
	var ctxIDs, contIDs []int
	switch e.Protocol {
	case task.HarnessV03, "":
		ctxIDs, contIDs = e.Tok.Encode(ctx), e.Tok.Encode(cont)
	case task.HarnessV04:
		trimmed := strings.TrimRightFunc(ctx, isPySpace)
		if n := len(ctx) - len(trimmed); n > 0 {
			ctx, cont = trimmed, ctx[len(trimmed):]+cont
		}
		ctxIDs = e.Tok.Encode(ctx)
		whole := e.Tok.Encode(ctx + cont)
		if len(whole) < len(ctxIDs) {
			return Tokens{}, fmt.Errorf("joint encoding of %q is shorter than its context's", ctx+cont)
		}
		contIDs = whole[len(ctxIDs):]
	default:
		return Tokens{}, fmt.Errorf("unknown protocol %q", e.Protocol)
	}
	if len(contIDs) == 0 {
		return Tokens{}, fmt.Errorf("continuation %q encodes to no tokens", r.Continuation)
	}
	full := make([]int, 0, len(e.Pad)+len(ctxIDs))
	full = append(append(full, e.Pad...), ctxIDs...)
	if len(full) == 0 {
		full = []int{e.EOT}
	}
	return Tokens{Context: full, Continuation: contIDs}, nil
}

// isPySpace is Python's str.isspace for one character (what rstrip()
// removes): Unicode White_Space plus the separators U+001C..U+001F.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
