package tokenizer

import (
	"fmt"
	"strings"
)

// Token types of llama.cpp's tokenizer.ggml.token_type (enum llama_token_type).
const (
	TokenTypeNormal      int32 = 1
	TokenTypeUnknown     int32 = 2
	TokenTypeControl     int32 = 3 // special added tokens: <|endoftext|>
	TokenTypeUserDefined int32 = 4 // non-special added tokens: the 20B space runs
	TokenTypeUnused      int32 = 5 // ids that are no token ("[PAD123]")
	TokenTypeByte        int32 = 6
)

// Values of GGUFVocab.Model (tokenizer.ggml.model) and Pre.
const (
	GGUFModelBPE   = "gpt2" // byte-level BPE, the KindGPT2BPE tokenizer
	GGUFModelWorld = "rwkv" // RWKV World trie, the KindRWKVWorld tokenizer
	// GGUFPreGPT2 names the GPT-2 split pattern in llama.cpp. llama.cpp's
	// converter files the GPT-NeoX-20B tokenizer under "mpt" or "olmo"
	// (the same hash); all three select the same pattern there, and all
	// three are accepted by FromGGUFVocab.
	GGUFPreGPT2 = "gpt-2"
)

// GGUFNormalizerKey is the GGUF metadata key under which rwkv-tools stores
// GGUFVocab.Normalizer. llama.cpp has no such key (it does not normalize);
// the key is ours, so a reader that lacks it gets no normalization.
const GGUFNormalizerKey = "rwkvtools.tokenizer.normalizer"

// GGUFVocab is a tokenizer vocabulary as llama.cpp stores it in GGUF
// metadata. Field → key:
//
//	Model      tokenizer.ggml.model       "gpt2" or "rwkv"
//	Pre        tokenizer.ggml.pre         "gpt-2" for BPE; "" (key absent) for World
//	Tokens     tokenizer.ggml.tokens      one string per id
//	TokenTypes tokenizer.ggml.token_type  TokenType* per id
//	Merges     tokenizer.ggml.merges      "left right", rank order (BPE only)
//	Normalizer GGUFNormalizerKey          "NFC", … or "" (BPE only)
//
// BPE tokens are the byte-level strings of the tokenizer.json vocabulary
// ("Ġthe"), except that added tokens are stored by content (the 20B space
// runs as real spaces), as llama.cpp's convert_hf_to_gguf.py does. Special
// added tokens get type Control and are matched in the raw text; the other
// added tokens get type UserDefined and are matched after normalization —
// the only combinations GGUF can express, and the defaults HF gives.
//
// World tokens follow llama.cpp's convert_hf_to_gguf.py for RWKV: id 0 is
// "<s>" (Control, end of text); token i is the body of Python's repr() of
// its bytes, e.g. b'\xe4\xbd' → `\xe4\xbd`, "\n" → `\n`, "it's" → `it's`,
// so every token is ASCII text; llama.cpp reads it back with
// llama_unescape_rwkv_token (\t \n \r \xHH, backslash + other char = that
// char).
//
// Ids beyond the tokenizer's VocabSize that a model's embedding has (20B
// models pad 50277 to 50304, World models 65530 to 65536) are added with
// PadTo as Unused "[PAD<id>]" entries, as llama.cpp does.
type GGUFVocab struct {
	Model      string
	Pre        string
	Tokens     []string
	TokenTypes []int32
	Merges     []string
	Normalizer string
}

// PadTo appends Unused "[PAD<id>]" tokens until there are n.
func (v *GGUFVocab) PadTo(n int) {
	for id := len(v.Tokens); id < n; id++ {
		v.Tokens = append(v.Tokens, fmt.Sprintf("[PAD%d]", id))
		v.TokenTypes = append(v.TokenTypes, TokenTypeUnused)
	}
}

// GGUFVocab implements Tokenizer.
func (t *BPE) GGUFVocab() (GGUFVocab, error) {
	if !t.useRegex {
		return GGUFVocab{}, fmt.Errorf("tokenizer: GGUF cannot express a ByteLevel pre-tokenizer with use_regex false")
	}
	if t.ignoreMerges {
		return GGUFVocab{}, fmt.Errorf("tokenizer: GGUF cannot express BPE ignore_merges with the %q pre-tokenizer", GGUFPreGPT2)
	}
	for _, a := range t.added {
		if a.Special == a.Normalized {
			return GGUFVocab{}, fmt.Errorf("tokenizer: added token %q (id %d) has special=%v normalized=%v; GGUF token types only express special⇒not normalized and non-special⇒normalized",
				a.Content, a.ID, a.Special, a.Normalized)
		}
	}
	for tok, id := range t.vocab {
		if t.tokens[id] != tok {
			return GGUFVocab{}, fmt.Errorf("tokenizer: added token %q has the id %d of vocabulary entry %q; GGUF has one string per id", t.tokens[id], id, tok)
		}
	}
	v := GGUFVocab{
		Model:      GGUFModelBPE,
		Pre:        GGUFPreGPT2,
		Tokens:     make([]string, len(t.tokens)),
		TokenTypes: append([]int32(nil), t.tokenType...),
		Merges:     make([]string, len(t.mergeList)),
		Normalizer: t.normName,
	}
	for id, tok := range t.tokens {
		if t.tokenType[id] == TokenTypeUnused && tok == "" {
			tok = fmt.Sprintf("[PAD%d]", id)
		}
		v.Tokens[id] = tok
	}
	for rank, m := range t.mergeList {
		if strings.Contains(m[0], " ") || strings.Contains(m[1], " ") {
			return GGUFVocab{}, fmt.Errorf("tokenizer: merge %d has a token with a space (%q, %q); GGUF's \"left right\" form cannot hold it", rank, m[0], m[1])
		}
		v.Merges[rank] = m[0] + " " + m[1]
	}
	return v, nil
}

// GGUFVocab implements Tokenizer.
func (t *World) GGUFVocab() (GGUFVocab, error) {
	v := GGUFVocab{
		Model:      GGUFModelWorld,
		Tokens:     make([]string, len(t.tokens)),
		TokenTypes: append([]int32(nil), t.types...),
	}
	for id, tok := range t.tokens {
		if t.types[id] == TokenTypeNormal {
			v.Tokens[id] = pyBytesReprBody(tok)
		} else {
			v.Tokens[id] = t.labels[id]
		}
	}
	return v, nil
}

// FromGGUFVocab rebuilds a tokenizer from the data GGUFVocab returned (or
// that llama.cpp's converter wrote). A nil TokenTypes means all Normal.
func FromGGUFVocab(v GGUFVocab) (Tokenizer, error) {
	const src = "GGUF vocabulary"
	types := v.TokenTypes
	if types == nil {
		types = make([]int32, len(v.Tokens))
		for i := range types {
			types[i] = TokenTypeNormal
		}
	}
	if len(types) != len(v.Tokens) {
		return nil, fmt.Errorf("%s: %d token types for %d tokens", src, len(types), len(v.Tokens))
	}
	switch v.Model {
	case GGUFModelBPE:
		t, err := bpeFromGGUF(v, types, src)
		if err != nil {
			return nil, err
		}
		return t, nil
	case GGUFModelWorld:
		t, err := worldFromGGUF(v, types, src)
		if err != nil {
			return nil, err
		}
		return t, nil
	case GGUFModelBytes:
		t, err := bytesFromGGUF(v, types, src)
		if err != nil {
			return nil, err
		}
		return t, nil
	}
	return nil, fmt.Errorf("%s: tokenizer.ggml.model %s is not supported (want %q, %q or %q)", src, clipq(v.Model), GGUFModelBPE, GGUFModelWorld, GGUFModelBytes)
}

func bpeFromGGUF(v GGUFVocab, types []int32, src string) (*BPE, error) {
	switch v.Pre {
	case GGUFPreGPT2, "mpt", "olmo":
	default:
		return nil, fmt.Errorf("%s: tokenizer.ggml.pre %q is not supported (want %q, \"mpt\" or \"olmo\", which use the GPT-2 split pattern)", src, v.Pre, GGUFPreGPT2)
	}
	cfg := bpeConfig{
		source:     src,
		vocab:      make(map[string]int, len(v.Tokens)),
		merges:     make([][2]string, len(v.Merges)),
		normalizer: v.Normalizer,
		useRegex:   true,
		unusedText: map[int]string{},
	}
	for id, tok := range v.Tokens {
		switch types[id] {
		case TokenTypeNormal:
		case TokenTypeControl:
			cfg.added = append(cfg.added, AddedToken{ID: id, Content: tok, Special: true})
		case TokenTypeUserDefined:
			cfg.added = append(cfg.added, AddedToken{ID: id, Content: tok, Normalized: true})
		case TokenTypeUnused:
			cfg.unusedText[id] = tok
			continue
		default:
			return nil, fmt.Errorf("%s: token %d %q has type %d, which a byte-level BPE vocabulary does not use", src, id, tok, types[id])
		}
		// Added tokens are vocabulary entries too, as in tokenizer.json
		// (<|endoftext|> is in model.vocab), so merges may name them.
		if other, dup := cfg.vocab[tok]; dup {
			return nil, fmt.Errorf("%s: tokens %d and %d are both %q", src, other, id, tok)
		}
		cfg.vocab[tok] = id
	}
	for i, m := range v.Merges {
		pair, err := splitMerge(m)
		if err != nil {
			return nil, fmt.Errorf("%s: tokenizer.ggml.merges[%d]: %w", src, i, err)
		}
		cfg.merges[i] = pair
	}
	return newBPE(cfg)
}

func worldFromGGUF(v GGUFVocab, types []int32, src string) (*World, error) {
	if v.Pre != "" && v.Pre != "default" {
		return nil, fmt.Errorf("%s: tokenizer.ggml.pre %q is not supported for %q (want none)", src, v.Pre, GGUFModelWorld)
	}
	if len(v.Merges) != 0 {
		return nil, fmt.Errorf("%s: tokenizer.ggml.merges must be empty for %q", src, GGUFModelWorld)
	}
	tokens := make([][]byte, len(v.Tokens))
	labels := make([]string, len(v.Tokens))
	for id, text := range v.Tokens {
		switch types[id] {
		case TokenTypeNormal:
			tok, err := unescapeRWKVGGUFToken(text)
			if err != nil {
				return nil, fmt.Errorf("%s: tokenizer.ggml.tokens[%d]: %w", src, id, err)
			}
			tokens[id] = tok
		case TokenTypeControl, TokenTypeUnused:
			labels[id] = text
		default:
			return nil, fmt.Errorf("%s: token %d %q has type %d, which the World vocabulary does not use", src, id, text, types[id])
		}
	}
	return newWorld(tokens, append([]int32(nil), types...), labels, src,
		func(id int) string { return fmt.Sprintf("%s: tokenizer.ggml.tokens[%d]", src, id) })
}
