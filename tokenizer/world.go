package tokenizer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// World is the RWKV World tokenizer (ChatRWKV TRIE_TOKENIZER): greedy
// longest match over the UTF-8 bytes of the text, with no normalization,
// pre-tokenization or special-token parsing. Id 0 is end of text; it is not
// in the vocabulary file and no text encodes to it.
type World struct {
	tokens [][]byte // by id: token bytes; nil for ids that are no text token
	types  []int32  // by id: GGUF token type
	// labels holds the text of control and unused ids ("<s>", "[PAD…]"),
	// shown by GGUFVocab; empty for normal tokens.
	labels []string
	trie   *byteTrie
}

// worldEndOfText is the GGUF text of id 0, as llama.cpp's converter writes it.
const worldEndOfText = "<s>"

// LoadWorld reads an RWKV World vocabulary (rwkv_vocab_v20230424.txt
// format); see ParseWorld.
func LoadWorld(path string) (*World, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseWorld(data, filepath.Base(path))
}

// ParseWorld parses an RWKV World vocabulary; name is used in error messages
// ("name:line: …"). Each line is `<id> <Python str or bytes literal>
// <byte length>`; LF or CRLF line endings. The ids must be exactly 1…N for N
// lines (in any order), every token must be distinct and non-empty, its
// length must match the byte-length column, and the 256 single bytes must
// all be tokens so that any input can be encoded.
func ParseWorld(data []byte, name string) (*World, error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	lines := bytes.Split(data, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1] // the final newline ends the last line
	}
	if len(lines) == 0 {
		return nil, fmt.Errorf("%s: empty vocabulary", name)
	}
	n := len(lines)
	tokens := make([][]byte, n+1)
	lineOf := make([]int, n+1)
	for i, line := range lines {
		lineNo := i + 1
		line = bytes.TrimSuffix(line, []byte("\r"))
		id, tok, err := parseWorldLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if id < 1 || id > n {
			return nil, fmt.Errorf("%s:%d: id %d is out of range: ids must be 1…%d for %d lines (0 is end of text)", name, lineNo, id, n, n)
		}
		if lineOf[id] != 0 {
			return nil, fmt.Errorf("%s:%d: duplicate id %d (first on line %d)", name, lineNo, id, lineOf[id])
		}
		tokens[id] = tok
		lineOf[id] = lineNo
	}
	types := make([]int32, n+1)
	labels := make([]string, n+1)
	types[0], labels[0] = TokenTypeControl, worldEndOfText
	for id := 1; id <= n; id++ {
		types[id] = TokenTypeNormal
	}
	return newWorld(tokens, types, labels, name, func(id int) string { return fmt.Sprintf("%s:%d", name, lineOf[id]) })
}

// parseWorldLine splits `<id> <literal> <len>` the way the reference reader
// does (first space, last space) and checks the length.
func parseWorldLine(line string) (id int, tok []byte, err error) {
	first := bytes.IndexByte([]byte(line), ' ')
	last := bytes.LastIndexByte([]byte(line), ' ')
	if first < 0 || first == last {
		return 0, nil, fmt.Errorf("want `<id> <literal> <byte length>`, got %s", clipq(line))
	}
	id, err = parseDecimal(line[:first])
	if err != nil {
		return 0, nil, fmt.Errorf("id: %w", err)
	}
	length, err := parseDecimal(line[last+1:])
	if err != nil {
		return 0, nil, fmt.Errorf("byte length: %w", err)
	}
	tok, err = parsePyLiteral(line[first+1 : last])
	if err != nil {
		return 0, nil, err
	}
	if len(tok) != length {
		return 0, nil, fmt.Errorf("token %s is %d bytes, but the line says %d", clip(line[first+1:last]), len(tok), length)
	}
	return id, tok, nil
}

// parseDecimal accepts plain ASCII digits only (no sign, no spaces).
func parseDecimal(s string) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, fmt.Errorf("%s is not a number of at most 9 digits", clipq(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%s is not a decimal number", clipq(s))
		}
	}
	return strconv.Atoi(s)
}

// newWorld builds the trie. src names the vocabulary and where(id) the
// origin of one token, for error messages.
func newWorld(tokens [][]byte, types []int32, labels []string, src string, where func(id int) string) (*World, error) {
	b := newTrieBuilder()
	for id, tok := range tokens {
		if types[id] != TokenTypeNormal {
			continue
		}
		if len(tok) == 0 {
			// An empty token would match everywhere without advancing.
			return nil, fmt.Errorf("%s: token %d is empty", where(id), id)
		}
		if old := b.insert(string(tok), int32(id)); old >= 0 {
			return nil, fmt.Errorf("%s: token %d %s duplicates token %d (%s)", where(id), id, clipq(string(tok)), old, where(int(old)))
		}
	}
	t := &World{tokens: tokens, types: types, labels: labels, trie: b.freeze()}
	for c := 0; c < 256; c++ {
		if id, n := t.trie.longestMatch(string([]byte{byte(c)}), 0); id < 0 || n != 1 {
			return nil, fmt.Errorf("%s: vocabulary has no token for the single byte 0x%02X; greedy matching needs all 256", src, c)
		}
	}
	return t, nil
}

// Kind implements Tokenizer.
func (t *World) Kind() string { return KindRWKVWorld }

// VocabSize implements Tokenizer. It counts id 0; the models' embedding is
// larger (65536 for the 65529-line vocabulary).
func (t *World) VocabSize() int { return len(t.tokens) }

// Encode implements Tokenizer: greedy longest match from the left over the
// bytes of text. Any byte string is accepted, valid UTF-8 or not.
func (t *World) Encode(text string) []int {
	ids := make([]int, 0, len(text)/3+1)
	for i := 0; i < len(text); {
		id, n := t.trie.longestMatch(text, i)
		ids = append(ids, int(id)) // every single byte is a token, so n ≥ 1
		i += n
	}
	return ids
}

// DecodeBytes implements Tokenizer.
func (t *World) DecodeBytes(ids []int) []byte {
	out := make([]byte, 0, 4*len(ids))
	for _, id := range ids {
		if id >= 0 && id < len(t.tokens) {
			out = append(out, t.tokens[id]...)
		}
	}
	return out
}

// Decode implements Tokenizer.
func (t *World) Decode(ids []int) string { return string(t.DecodeBytes(ids)) }

// Token implements Tokenizer.
func (t *World) Token(id int) string {
	switch {
	case id < 0 || id >= len(t.tokens):
		return ""
	case id == 0 && t.types[0] == TokenTypeControl:
		return "<|endoftext|>"
	case t.types[id] == TokenTypeNormal:
		return string(t.tokens[id])
	case t.types[id] == TokenTypeControl:
		return t.labels[id]
	}
	return ""
}
