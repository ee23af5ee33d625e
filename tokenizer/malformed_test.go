package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// Every malformed or unsupported tokenizer.json must fail with an error
// that names the problem — never panic, never load and tokenize
// differently from HF.
func TestParseHFJSONRejects(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "tiny-bpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseHFJSON(base, "tiny"); err != nil {
		t.Fatalf("the unmodified fixture must load: %v", err)
	}
	mutate := func(edit func(doc map[string]any)) []byte {
		var doc map[string]any
		if err := json.Unmarshal(base, &doc); err != nil {
			t.Fatal(err)
		}
		edit(doc)
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	model := func(doc map[string]any) map[string]any { return doc["model"].(map[string]any) }
	vocab := func(doc map[string]any) map[string]any { return model(doc)["vocab"].(map[string]any) }
	added := func(doc map[string]any, i int) map[string]any {
		return doc["added_tokens"].([]any)[i].(map[string]any)
	}

	for _, c := range []struct {
		name    string
		data    []byte
		wantErr string // substring of the error
	}{
		{"empty", []byte(""), "not a valid tokenizer.json"},
		{"truncated", base[:len(base)/2], "not a valid tokenizer.json"},
		{"array", []byte(`[1,2]`), "not a valid tokenizer.json"},
		{"no model", []byte(`{"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},"decoder":{"type":"ByteLevel"}}`), "model is missing"},
		{"model type WordPiece", mutate(func(d map[string]any) { model(d)["type"] = "WordPiece" }), `model.type "WordPiece" is not supported`},
		{"model type missing", mutate(func(d map[string]any) { delete(model(d), "type") }), "model.type is missing"},
		{"dropout", mutate(func(d map[string]any) { model(d)["dropout"] = 0.1 }), "model.dropout"},
		{"subword prefix", mutate(func(d map[string]any) { model(d)["continuing_subword_prefix"] = "##" }), "model.continuing_subword_prefix"},
		{"word suffix", mutate(func(d map[string]any) { model(d)["end_of_word_suffix"] = "</w>" }), "model.end_of_word_suffix"},
		{"vocab missing", mutate(func(d map[string]any) { delete(model(d), "vocab") }), "model.vocab is missing"},
		{"merges missing", mutate(func(d map[string]any) { delete(model(d), "merges") }), "model.merges is missing"},
		{"non-numeric id", mutate(func(d map[string]any) { vocab(d)["he"] = "x" }), "model"},
		{"fractional id", mutate(func(d map[string]any) { vocab(d)["he"] = 1.5 }), "model"},
		{"negative id", mutate(func(d map[string]any) { vocab(d)["he"] = -3 }), "out of range"},
		{"huge id", mutate(func(d map[string]any) { vocab(d)["he"] = 1 << 40 }), "out of range"},
		{"id beyond entries", mutate(func(d map[string]any) { vocab(d)["he"] = 100000 }), "is far beyond the number of vocabulary entries"},
		{"duplicate id", mutate(func(d map[string]any) { vocab(d)["he"] = 5 }), "id 5 is used by both"},
		{"byte missing", mutate(func(d map[string]any) { delete(vocab(d), "Ġ") }), "no token for byte 0x20"},
		{"merge left unknown", mutate(func(d map[string]any) { model(d)["merges"] = []any{"q! x"} }), `left token "q!" is not in the vocabulary`},
		{"merge right unknown", mutate(func(d map[string]any) { model(d)["merges"] = []any{"x zz"} }), `right token "zz" is not in the vocabulary`},
		{"merge result unknown", mutate(func(d map[string]any) { model(d)["merges"] = []any{"q r"} }), `merged token "qr" is not in the vocabulary`},
		{"merge three parts", mutate(func(d map[string]any) { model(d)["merges"] = []any{"h e l"} }), "not two tokens separated by one space"},
		{"merge no space", mutate(func(d map[string]any) { model(d)["merges"] = []any{"he"} }), "not two tokens"},
		{"merge array of 3", mutate(func(d map[string]any) { model(d)["merges"] = []any{[]any{"h", "e", "l"}} }), "want 2 tokens"},
		{"merge number", mutate(func(d map[string]any) { model(d)["merges"] = []any{7} }), "model.merges[0]"},
		{"merges object", mutate(func(d map[string]any) { model(d)["merges"] = map[string]any{} }), "model.merges"},
		{"normalizer Lowercase", mutate(func(d map[string]any) { d["normalizer"] = map[string]any{"type": "Lowercase"} }), `normalizer.type "Lowercase" is not supported`},
		{"normalizer Sequence", mutate(func(d map[string]any) { d["normalizer"] = map[string]any{"type": "Sequence", "normalizers": []any{}} }), `normalizer.type "Sequence"`},
		{"normalizer without type", mutate(func(d map[string]any) { d["normalizer"] = map[string]any{} }), `normalizer: missing "type"`},
		{"pre-tokenizer Whitespace", mutate(func(d map[string]any) { d["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }), `pre_tokenizer.type "Whitespace" is not supported`},
		{"pre-tokenizer null", mutate(func(d map[string]any) { d["pre_tokenizer"] = nil }), "pre_tokenizer is null"},
		{"add_prefix_space", mutate(func(d map[string]any) { d["pre_tokenizer"].(map[string]any)["add_prefix_space"] = true }), "add_prefix_space true"},
		{"add_prefix_space missing", mutate(func(d map[string]any) { delete(d["pre_tokenizer"].(map[string]any), "add_prefix_space") }), "add_prefix_space is missing"},
		{"decoder null", mutate(func(d map[string]any) { d["decoder"] = nil }), "decoder is null"},
		{"decoder WordPiece", mutate(func(d map[string]any) { d["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder.type "WordPiece"`},
		{"post-processor template", mutate(func(d map[string]any) { d["post_processor"] = map[string]any{"type": "TemplateProcessing"} }), `post_processor.type "TemplateProcessing"`},
		{"truncation", mutate(func(d map[string]any) { d["truncation"] = map[string]any{"max_length": 8} }), "truncation must be null"},
		{"padding", mutate(func(d map[string]any) { d["padding"] = map[string]any{} }), "padding must be null"},
		{"added lstrip", mutate(func(d map[string]any) { added(d, 0)["lstrip"] = true }), "added_tokens[0]: lstrip true"},
		{"added single_word", mutate(func(d map[string]any) { added(d, 1)["single_word"] = true }), "added_tokens[1]: single_word"},
		{"added normalized missing", mutate(func(d map[string]any) { delete(added(d, 0), "normalized") }), "added_tokens[0]: normalized is missing"},
		{"added id missing", mutate(func(d map[string]any) { delete(added(d, 0), "id") }), "added_tokens[0]: id is missing"},
		{"added id string", mutate(func(d map[string]any) { added(d, 0)["id"] = "7" }), "added_tokens[0]"},
		{"added empty content", mutate(func(d map[string]any) { added(d, 0)["content"] = "" }), "empty content"},
		{"added duplicate id", mutate(func(d map[string]any) { added(d, 1)["id"] = added(d, 0)["id"] }), "both have id"},
		{"added duplicate content", mutate(func(d map[string]any) { added(d, 1)["content"] = "  " }), "same content"},
		{"added negative id", mutate(func(d map[string]any) { added(d, 0)["id"] = -1 }), "out of range"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := ParseHFJSON(c.data, "bad.json")
			if err == nil {
				t.Fatalf("loaded (%d ids), want an error containing %q", tok.VocabSize(), c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "bad.json: ") {
				t.Errorf("error %q, want it to start with the file name and contain %q", err, c.wantErr)
			}
		})
	}
}

// Accepted variants that must tokenize exactly like the fixture.
func TestParseHFJSONAccepts(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "tiny-bpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := ParseHFJSON(base, "tiny")
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"hello world", " the xyz", "cafe\u0301  café", "<|endoftext|>a   b"}
	for _, c := range []struct {
		name string
		edit func(doc map[string]any)
	}{
		// tokenizers ≥ 0.20 writes merges as pairs.
		{"array merges", func(d map[string]any) {
			m := d["model"].(map[string]any)
			var pairs []any
			for _, s := range m["merges"].([]any) {
				l, r, _ := strings.Cut(s.(string), " ")
				pairs = append(pairs, []any{l, r})
			}
			m["merges"] = pairs
		}},
		{"no post-processor", func(d map[string]any) { d["post_processor"] = nil }},
		{"use_regex true", func(d map[string]any) { d["pre_tokenizer"].(map[string]any)["use_regex"] = true }},
		{"dropout 0 and empty affixes", func(d map[string]any) {
			m := d["model"].(map[string]any)
			m["dropout"], m["continuing_subword_prefix"], m["end_of_word_suffix"] = 0.0, "", ""
		}},
		{"unk and byte_fallback", func(d map[string]any) {
			m := d["model"].(map[string]any)
			m["unk_token"], m["byte_fallback"], m["fuse_unk"] = "a", true, true
		}},
	} {
		var doc map[string]any
		if err := json.Unmarshal(base, &doc); err != nil {
			t.Fatal(err)
		}
		c.edit(doc)
		data, _ := json.Marshal(doc)
		tok, err := ParseHFJSON(data, c.name)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		for _, s := range texts {
			if got, want := tok.Encode(s), ref.Encode(s); !slices.Equal(got, want) {
				t.Errorf("%s: Encode(%q) = %v, want %v", c.name, s, got, want)
			}
		}
	}
}

// ignore_merges (Llama-3 style): a word found whole in the vocabulary is
// one token even when the merges would split it; use_regex false: the
// piece is not split.
func TestParseHFJSONOptions(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "tiny-bpe.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(base, &doc); err != nil {
		t.Fatal(err)
	}
	m := doc["model"].(map[string]any)
	vocab := m["vocab"].(map[string]any)
	vocab["xyz"] = float64(len(vocab) + 3) // after the three added tokens
	m["ignore_merges"] = true
	data, _ := json.Marshal(doc)
	tok, err := ParseHFJSON(data, "ignore_merges")
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Encode("xyz"); len(got) != 1 || tok.Token(got[0]) != "xyz" {
		t.Errorf("ignore_merges: Encode(xyz) = %v", got)
	}
	if _, err := tok.GGUFVocab(); err == nil {
		t.Error("GGUFVocab must refuse ignore_merges")
	}

	doc["pre_tokenizer"].(map[string]any)["use_regex"] = false
	m["ignore_merges"] = false
	data, _ = json.Marshal(doc)
	tok, err = ParseHFJSON(data, "no regex")
	if err != nil {
		t.Fatal(err)
	}
	// Without the split, " the" and "hello" are not separate words: the
	// space before "the" stays inside one symbol sequence.
	if got, want := tok.Decode(tok.Encode("hello the")), "hello the"; got != want {
		t.Errorf("use_regex false round trip = %q", got)
	}
	if got := tok.Encode("a b"); len(got) != 3 {
		t.Errorf("use_regex false: Encode(a b) = %v, want 3 byte symbols (no merge applies)", got)
	}
	if _, err := tok.GGUFVocab(); err == nil {
		t.Error("GGUFVocab must refuse use_regex false")
	}
}

// Every malformed World vocabulary fails with "name:line: problem".
func TestParseWorldRejects(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("testdata", "tiny-world.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(base), "\n")
	n := len(lines) - 1                           // the split leaves "" after the final newline
	withLine := func(i int, line string) []byte { // replace line i (1-based)
		out := append([]string(nil), lines...)
		out[i-1] = line + "\n"
		return []byte(strings.Join(out, ""))
	}
	appendLine := func(line string) []byte { return []byte(string(base) + line + "\n") }
	next := n + 1
	itoa := strconv.Itoa

	for _, c := range []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty file", nil, "bad.txt: empty vocabulary"},
		{"unterminated literal", appendLine(itoa(next) + " 'abc 3"), "bad.txt:" + itoa(next) + ": literal 'abc is not a quoted"},
		{"bad escape", appendLine(itoa(next) + ` 'a\q' 2`), "unsupported escape \\q"},
		{"truncated hex", appendLine(itoa(next) + ` '\x4' 1`), "truncated \\x"},
		{"non-ASCII in bytes", appendLine(itoa(next) + ` b'é' 2`), "non-ASCII"},
		{"surrogate", appendLine(itoa(next) + ` '\ud800' 3`), "not encodable as UTF-8"},
		{"length mismatch", appendLine(itoa(next) + " 'abcd' 3"), "is 4 bytes, but the line says 3"},
		{"non-numeric id", appendLine("x12 'abcd' 4"), `id: "x12" is not a decimal number`},
		{"signed id", appendLine("+" + itoa(next) + " 'abcd' 4"), "is not a decimal number"},
		{"non-numeric length", appendLine(itoa(next) + " 'abcd' four"), "byte length"},
		{"missing length", appendLine(itoa(next) + " 'abcd'"), "want `<id> <literal> <byte length>`"},
		{"id only", appendLine(itoa(next)), "want `<id> <literal> <byte length>`"},
		{"blank line", withLine(3, ""), "bad.txt:3: want"},
		{"duplicate id", withLine(n, "5 'qq' 2"), "bad.txt:" + itoa(n) + ": duplicate id 5 (first on line 5)"},
		{"id 0", appendLine("0 'abcd' 4"), "id 0 is out of range"},
		{"id gap", appendLine("999 'abcd' 4"), "id 999 is out of range"},
		{"huge id", appendLine("99999999999 'abcd' 4"), "at most 9 digits"},
		{"duplicate token", appendLine(itoa(next) + " 'hello' 5"), "duplicates token 267 (bad.txt:267)"},
		{"empty token", appendLine(itoa(next) + " '' 0"), "is empty"},
		{"missing byte", withLine(66, "66 'AA' 2"), "no token for the single byte 0x41"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := ParseWorld(c.data, "bad.txt")
			if err == nil {
				t.Fatalf("loaded (%d ids), want an error containing %q", tok.VocabSize(), c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "bad.txt") {
				t.Errorf("error %q, want it to start with the file name and contain %q", err, c.wantErr)
			}
		})
	}
}

func TestParseDetectsKind(t *testing.T) {
	for _, c := range []struct {
		file string
		kind string
	}{{"tiny-bpe.json", KindGPT2BPE}, {"tiny-world.txt", KindRWKVWorld}} {
		tok, err := Load(filepath.Join("testdata", c.file))
		if err != nil {
			t.Fatal(err)
		}
		if tok.Kind() != c.kind {
			t.Errorf("%s: kind %q, want %q", c.file, tok.Kind(), c.kind)
		}
	}
	// A broken file of either kind yields a nil interface, not a typed nil.
	for _, data := range []string{"{", "1 'a"} {
		tok, err := Parse([]byte(data), "broken")
		if err == nil || tok != nil {
			t.Errorf("Parse(%q) = %v, %v", data, tok, err)
		}
	}
}
