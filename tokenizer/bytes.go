package tokenizer

import "fmt"

// KindBytes is the byte-level tokenizer's kind.
const KindBytes = "bytes"

// GGUFModelBytes is tokenizer.ggml.model of a byte-level vocabulary written
// by GGUFVocab. The value is rwkv-tools' own (llama.cpp has no byte-only
// vocabulary, and refuses a model it does not know), so convert does not
// store it that way but with its own key (convert.KeyTokBytes); it is
// accepted when read. Tokens use llama.cpp's byte spelling "<0xHH>".
const GGUFModelBytes = "rwkv-bytes"

// Bytes is the byte-level tokenizer of the tiny rwkv.cpp models (n_vocab
// 256): token id = byte value, so every text encodes to its bytes and back.
type Bytes struct{}

// NewBytes returns the byte-level tokenizer.
func NewBytes() *Bytes { return &Bytes{} }

func (*Bytes) Kind() string   { return KindBytes }
func (*Bytes) VocabSize() int { return 256 }

func (*Bytes) Encode(text string) []int {
	ids := make([]int, len(text))
	for i := 0; i < len(text); i++ {
		ids[i] = int(text[i])
	}
	return ids
}

func (*Bytes) DecodeBytes(ids []int) []byte {
	out := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id >= 0 && id < 256 {
			out = append(out, byte(id))
		}
	}
	return out
}

func (t *Bytes) Decode(ids []int) string { return string(t.DecodeBytes(ids)) }

// Token is the GGUF spelling "<0xHH>"; "" for ids outside 0..255.
func (*Bytes) Token(id int) string {
	if id < 0 || id >= 256 {
		return ""
	}
	return byteToken(id)
}

func byteToken(id int) string { return fmt.Sprintf("<0x%02X>", id) }

// GGUFVocab implements Tokenizer.
func (*Bytes) GGUFVocab() (GGUFVocab, error) {
	v := GGUFVocab{Model: GGUFModelBytes, Tokens: make([]string, 256), TokenTypes: make([]int32, 256)}
	for id := range v.Tokens {
		v.Tokens[id] = byteToken(id)
		v.TokenTypes[id] = TokenTypeByte
	}
	return v, nil
}

// bytesFromGGUF checks a stored byte-level vocabulary (256 byte tokens,
// then only padding) and returns the tokenizer.
func bytesFromGGUF(v GGUFVocab, types []int32, src string) (*Bytes, error) {
	if len(v.Tokens) < 256 {
		return nil, fmt.Errorf("%s: a %s vocabulary has 256 byte tokens, this one %d", src, GGUFModelBytes, len(v.Tokens))
	}
	for id := 0; id < 256; id++ {
		if v.Tokens[id] != byteToken(id) || types[id] != TokenTypeByte {
			return nil, fmt.Errorf("%s: %s token %d is %s (type %d), want %s (type %d)", src, GGUFModelBytes, id, clipq(v.Tokens[id]), types[id], byteToken(id), TokenTypeByte)
		}
	}
	for id := 256; id < len(v.Tokens); id++ {
		if types[id] != TokenTypeUnused {
			return nil, fmt.Errorf("%s: %s token %d beyond the 256 bytes is not padding", src, GGUFModelBytes, id)
		}
	}
	return NewBytes(), nil
}
