package tokenizer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unicode/utf8"
)

// Kinds returned by Tokenizer.Kind.
const (
	KindGPT2BPE   = "gpt2-bpe"   // byte-level BPE from a Hugging Face tokenizer.json
	KindRWKVWorld = "rwkv-world" // RWKV World greedy trie tokenizer
)

// Tokenizer turns text into token ids and back. Implementations are safe for
// concurrent use.
type Tokenizer interface {
	// Kind is KindGPT2BPE, KindRWKVWorld or KindBytes.
	Kind() string

	// Encode returns the ids of text. No BOS/EOS or other framing ids are
	// added. It accepts any bytes (see the package comment for invalid
	// UTF-8) and never fails.
	Encode(text string) []int

	// DecodeBytes returns the bytes the ids stand for. Ids that are no token
	// (negative, ≥ VocabSize, unused) contribute nothing. A streaming caller
	// decodes one id at a time and prints once the buffered bytes form
	// complete UTF-8.
	DecodeBytes(ids []int) []byte

	// Decode is string(DecodeBytes(ids)): the bytes are returned as they
	// are, without replacing invalid UTF-8 by U+FFFD, so that
	// Decode(Encode(s)) == s holds byte for byte (see the package comment).
	Decode(ids []int) string

	// VocabSize is one more than the largest id the tokenizer knows.
	VocabSize() int

	// Token is the vocabulary entry of id, for display (e.g. `-v` output):
	// for BPE the byte-level string ("Ġworld") or an added token's content;
	// for World the raw token bytes (which may be partial UTF-8), with id 0
	// shown as "<|endoftext|>". It is "" for ids that are no token.
	Token(id int) string

	// GGUFVocab returns the vocabulary in the form llama.cpp stores it in a
	// GGUF file; FromGGUFVocab rebuilds an equivalent tokenizer from it.
	// It fails when the tokenizer uses a setting GGUF cannot express.
	GGUFVocab() (GGUFVocab, error)
}

// Load reads a tokenizer file and detects its kind from the content: a JSON
// object is a Hugging Face tokenizer.json (byte-level BPE), anything else is
// read as an RWKV World vocabulary (rwkv_vocab_v20230424.txt format).
func Load(path string) (Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return Parse(data, filepath.Base(path))
}

// Parse is Load for data already in memory; name is used in error messages.
func Parse(data []byte, name string) (Tokenizer, error) {
	switch {
	case bytes.HasPrefix(data, []byte("GGUF")):
		return nil, fmt.Errorf("%s is a GGUF model file, not a tokenizer file; give tokenizer.json or rwkv_vocab_*.txt (a model's stored tokenizer is used with --model)", name)
	case bytes.IndexByte(data[:min(len(data), 4096)], 0) >= 0:
		return nil, fmt.Errorf("%s holds binary data (a NUL byte near the start); a tokenizer file is text: tokenizer.json or rwkv_vocab_*.txt", name)
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(data, utf8BOM), " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '{' {
		t, err := ParseHFJSON(data, name)
		if err != nil {
			return nil, err // not a typed nil inside the interface
		}
		return t, nil
	}
	t, err := ParseWorld(data, name)
	if err != nil {
		return nil, err
	}
	return t, nil
}

var utf8BOM = []byte("\xef\xbb\xbf")

// clip shows untrusted text in a message: as is when short and printable,
// else quoted with escapes and cut to 80 bytes followed by "…" (a
// vocabulary line can be megabytes long, or hold terminal escapes).
func clip(s string) string {
	const n = 80
	if len(s) <= n {
		if strconv.CanBackquote(s) && utf8.ValidString(s) {
			return s
		}
		return strconv.Quote(s)
	}
	cut := n
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

// clipq is clip, always quoted (where messages showed %q).
func clipq(s string) string {
	if len(s) <= 80 {
		return strconv.Quote(s)
	}
	return clip(s)
}
