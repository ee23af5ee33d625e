package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// LoadHFJSON reads a Hugging Face tokenizer.json; see ParseHFJSON.
func LoadHFJSON(path string) (*BPE, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return ParseHFJSON(data, filepath.Base(path))
}

// ParseHFJSON builds a byte-level BPE tokenizer from the content of a
// Hugging Face tokenizer.json; name is used in error messages.
//
// Accepted configuration (anything else is rejected with an error naming
// the field, rather than tokenizing differently from HF):
//   - model: type "BPE"; merges as "a b" strings or ["a","b"] arrays;
//     dropout null or 0; continuing_subword_prefix / end_of_word_suffix
//     null or ""; ignore_merges honoured; unk_token, fuse_unk and
//     byte_fallback are accepted because they never take effect: every
//     byte that occurs in UTF-8 must have a byte-level token (checked).
//   - normalizer: null, NFC, NFD, NFKC or NFKD.
//   - pre_tokenizer: ByteLevel with add_prefix_space false (use_regex
//     honoured, default true).
//   - decoder: ByteLevel. post_processor: null or ByteLevel (it only trims
//     offsets; nothing that adds BOS/EOS).
//   - truncation and padding: null.
//   - added_tokens: single_word, lstrip and rstrip false.
func ParseHFJSON(data []byte, name string) (*BPE, error) {
	// One decoding pass: the model (vocab and merges, nearly all of the
	// 2.4 MB) is decoded in place rather than kept as raw JSON and decoded
	// again.
	var file struct {
		AddedTokens   []json.RawMessage `json:"added_tokens"`
		Normalizer    json.RawMessage   `json:"normalizer"`
		PreTokenizer  json.RawMessage   `json:"pre_tokenizer"`
		PostProcessor json.RawMessage   `json:"post_processor"`
		Decoder       json.RawMessage   `json:"decoder"`
		Model         *hfModel          `json:"model"`
		Truncation    json.RawMessage   `json:"truncation"`
		Padding       json.RawMessage   `json:"padding"`
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	// encoding/json would turn invalid UTF-8 into U+FFFD silently, giving
	// tokens that no text can produce.
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, size := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			off += size
		}
		return nil, fmt.Errorf("%s: invalid UTF-8 at byte %d; tokenizer.json must be UTF-8 (the file is corrupt or in another encoding)", name, off)
	}
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("%s: not a valid tokenizer.json: %w", name, err)
	}
	cfg := bpeConfig{source: name}

	for _, f := range []struct {
		field string
		raw   json.RawMessage
	}{{"truncation", file.Truncation}, {"padding", file.Padding}} {
		if !isNull(f.raw) {
			return nil, fmt.Errorf("%s: %s must be null (encode-time %s would change the ids)", name, f.field, f.field)
		}
	}

	var err error
	if cfg.normalizer, err = parseNormalizer(file.Normalizer); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if cfg.useRegex, err = parsePreTokenizer(file.PreTokenizer); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := checkByteLevelOnly("decoder", file.Decoder, false); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := checkByteLevelOnly("post_processor", file.PostProcessor, true); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := parseModel(file.Model, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for i, raw := range file.AddedTokens {
		a, err := parseAddedToken(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: added_tokens[%d]: %w", name, i, err)
		}
		cfg.added = append(cfg.added, a)
	}
	return newBPE(cfg)
}

func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// componentType decodes the "type" tag of a pipeline component.
func componentType(field string, raw json.RawMessage) (string, error) {
	var c struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	if c.Type == nil {
		return "", fmt.Errorf("%s: missing \"type\"", field)
	}
	return *c.Type, nil
}

func parseNormalizer(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	typ, err := componentType("normalizer", raw)
	if err != nil {
		return "", err
	}
	switch typ {
	case "NFC", "NFD", "NFKC", "NFKD":
		return typ, nil
	}
	return "", fmt.Errorf("normalizer.type %q is not supported (supported: null, NFC, NFD, NFKC, NFKD)", typ)
}

func parsePreTokenizer(raw json.RawMessage) (useRegex bool, err error) {
	if isNull(raw) {
		return false, fmt.Errorf("pre_tokenizer is null; only ByteLevel is supported")
	}
	typ, err := componentType("pre_tokenizer", raw)
	if err != nil {
		return false, err
	}
	if typ != "ByteLevel" {
		return false, fmt.Errorf("pre_tokenizer.type %q is not supported (only ByteLevel)", typ)
	}
	var p struct {
		AddPrefixSpace *bool `json:"add_prefix_space"`
		UseRegex       *bool `json:"use_regex"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return false, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if p.AddPrefixSpace == nil {
		return false, fmt.Errorf("pre_tokenizer.add_prefix_space is missing")
	}
	if *p.AddPrefixSpace {
		// It would prepend a space to every piece, which the ByteLevel
		// decoder does not remove: no round trip, and no file we target.
		return false, fmt.Errorf("pre_tokenizer.add_prefix_space true is not supported")
	}
	return p.UseRegex == nil || *p.UseRegex, nil
}

func checkByteLevelOnly(field string, raw json.RawMessage, nullOK bool) error {
	if isNull(raw) {
		if nullOK {
			return nil
		}
		return fmt.Errorf("%s is null; only ByteLevel is supported", field)
	}
	typ, err := componentType(field, raw)
	if err != nil {
		return err
	}
	if typ != "ByteLevel" {
		return fmt.Errorf("%s.type %q is not supported (only ByteLevel)", field, typ)
	}
	return nil
}

// hfModel is tokenizer.json's "model" object.
type hfModel struct {
	Type                    *string        `json:"type"`
	Dropout                 *float64       `json:"dropout"`
	ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string        `json:"end_of_word_suffix"`
	IgnoreMerges            bool           `json:"ignore_merges"`
	Vocab                   map[string]int `json:"vocab"`
	Merges                  *hfMerges      `json:"merges"`
}

func parseModel(m *hfModel, cfg *bpeConfig) error {
	if m == nil {
		return fmt.Errorf("model is missing")
	}
	if m.Type == nil {
		return fmt.Errorf("model.type is missing")
	}
	if *m.Type != "BPE" {
		return fmt.Errorf("model.type %q is not supported (only BPE)", *m.Type)
	}
	if m.Dropout != nil && *m.Dropout != 0 {
		return fmt.Errorf("model.dropout %v is not supported (BPE dropout is random)", *m.Dropout)
	}
	if m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "" {
		return fmt.Errorf("model.continuing_subword_prefix %q is not supported", *m.ContinuingSubwordPrefix)
	}
	if m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "" {
		return fmt.Errorf("model.end_of_word_suffix %q is not supported", *m.EndOfWordSuffix)
	}
	if m.Vocab == nil {
		return fmt.Errorf("model.vocab is missing")
	}
	if m.Merges == nil {
		return fmt.Errorf("model.merges is missing")
	}
	if m.Merges.err != nil {
		return m.Merges.err
	}
	cfg.vocab = m.Vocab
	cfg.merges = m.Merges.pairs
	cfg.ignoreMerges = m.IgnoreMerges
	return nil
}

// hfMerges decodes model.merges in both serialisations HF has used:
// "left right" strings (tokenizers < 0.20) and ["left", "right"] arrays.
// A malformed entry is kept as err, so that the message can name the
// entry instead of coming out of encoding/json as a bare type error.
type hfMerges struct {
	pairs [][2]string
	err   error
}

func (m *hfMerges) UnmarshalJSON(data []byte) error {
	var strs []string
	if json.Unmarshal(data, &strs) == nil { // the common case, decoded in one go
		m.pairs = make([][2]string, len(strs))
		for i, s := range strs {
			pair, err := splitMerge(s)
			if err != nil {
				m.err = fmt.Errorf("model.merges[%d]: %w", i, err)
				return nil
			}
			m.pairs[i] = pair
		}
		return nil
	}
	m.pairs, m.err = parseMerges(data)
	return nil
}

// parseMerges decodes merges entry by entry, accepting either form.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("model.merges: %w", err)
	}
	merges := make([][2]string, len(items))
	for i, item := range items {
		item = bytes.TrimSpace(item)
		if len(item) > 0 && item[0] == '[' {
			var pair []string
			if err := json.Unmarshal(item, &pair); err != nil {
				return nil, fmt.Errorf("model.merges[%d]: %w", i, err)
			}
			if len(pair) != 2 {
				return nil, fmt.Errorf("model.merges[%d]: want 2 tokens, got %d", i, len(pair))
			}
			merges[i] = [2]string{pair[0], pair[1]}
			continue
		}
		var s string
		if err := json.Unmarshal(item, &s); err != nil {
			return nil, fmt.Errorf("model.merges[%d]: want a \"left right\" string or a [left, right] array: %w", i, err)
		}
		m, err := splitMerge(s)
		if err != nil {
			return nil, fmt.Errorf("model.merges[%d]: %w", i, err)
		}
		merges[i] = m
	}
	return merges, nil
}

// splitMerge splits a "left right" merge. Byte-level tokens never contain a
// real space (space is 'Ġ'), so exactly one separator must be present.
func splitMerge(s string) ([2]string, error) {
	left, right, ok := strings.Cut(s, " ")
	if !ok || left == "" || right == "" || strings.Contains(right, " ") {
		return [2]string{}, fmt.Errorf("merge %q is not two tokens separated by one space", s)
	}
	return [2]string{left, right}, nil
}

func parseAddedToken(raw json.RawMessage) (AddedToken, error) {
	var a struct {
		ID         *int    `json:"id"`
		Content    *string `json:"content"`
		SingleWord bool    `json:"single_word"`
		LStrip     bool    `json:"lstrip"`
		RStrip     bool    `json:"rstrip"`
		Normalized *bool   `json:"normalized"`
		Special    bool    `json:"special"`
	}
	if err := json.Unmarshal(raw, &a); err != nil {
		return AddedToken{}, err
	}
	switch {
	case a.ID == nil:
		return AddedToken{}, fmt.Errorf("id is missing")
	case a.Content == nil:
		return AddedToken{}, fmt.Errorf("content is missing")
	case a.Normalized == nil:
		return AddedToken{}, fmt.Errorf("normalized is missing")
	case a.SingleWord:
		return AddedToken{}, fmt.Errorf("single_word true is not supported (token %q)", *a.Content)
	case a.LStrip:
		return AddedToken{}, fmt.Errorf("lstrip true is not supported (token %q)", *a.Content)
	case a.RStrip:
		return AddedToken{}, fmt.Errorf("rstrip true is not supported (token %q)", *a.Content)
	}
	return AddedToken{ID: *a.ID, Content: *a.Content, Special: a.Special, Normalized: *a.Normalized}, nil
}
