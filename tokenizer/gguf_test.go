package tokenizer

import (
	"bufio"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// ggufRoundTrip exports tok, rebuilds it, and checks that the rebuilt
// tokenizer exports the same data and encodes the texts identically.
func ggufRoundTrip(t *testing.T, tok Tokenizer, texts []string) (GGUFVocab, Tokenizer) {
	t.Helper()
	v, err := tok.GGUFVocab()
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) != tok.VocabSize() || len(v.TokenTypes) != len(v.Tokens) {
		t.Fatalf("%d tokens, %d types for VocabSize %d", len(v.Tokens), len(v.TokenTypes), tok.VocabSize())
	}
	back, err := FromGGUFVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	if back.Kind() != tok.Kind() || back.VocabSize() != tok.VocabSize() {
		t.Fatalf("rebuilt %s/%d, want %s/%d", back.Kind(), back.VocabSize(), tok.Kind(), tok.VocabSize())
	}
	v2, err := back.GGUFVocab()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v, v2) {
		t.Error("re-exported vocabulary differs")
	}
	for _, s := range texts {
		if got, want := back.Encode(s), tok.Encode(s); !slices.Equal(got, want) {
			t.Fatalf("rebuilt Encode(%q) = %v, want %v", s, got, want)
		}
	}
	for id := 0; id < tok.VocabSize(); id++ {
		if got, want := back.DecodeBytes([]int{id}), tok.DecodeBytes([]int{id}); string(got) != string(want) {
			t.Fatalf("rebuilt token %d decodes to %q, want %q", id, got, want)
		}
	}
	return v, back
}

func TestGGUFNeoX(t *testing.T) {
	tok := neox(t)
	v, _ := ggufRoundTrip(t, tok, lambadaTexts(t))
	if v.Model != "gpt2" || v.Pre != "gpt-2" || v.Normalizer != "NFC" || len(v.Merges) != 50009 {
		t.Errorf("model %q pre %q normalizer %q merges %d", v.Model, v.Pre, v.Normalizer, len(v.Merges))
	}
	if v.Merges[0] != "Ġ Ġ" {
		t.Errorf("first merge %q", v.Merges[0])
	}
	// llama.cpp conventions (convert_hf_to_gguf.py get_vocab_base): added
	// tokens by content, special → Control, others → UserDefined.
	for id, want := range map[int]struct {
		text string
		typ  int32
	}{
		0:     {"<|endoftext|>", TokenTypeControl},
		1:     {"<|padding|>", TokenTypeControl},
		187:   {"Ċ", TokenTypeNormal},
		12092: {"Hello", TokenTypeNormal},
		50253: {tok.Token(50253), TokenTypeNormal},
		50254: {strings.Repeat(" ", 24), TokenTypeUserDefined},
		50276: {"  ", TokenTypeUserDefined},
	} {
		if v.Tokens[id] != want.text || v.TokenTypes[id] != want.typ {
			t.Errorf("token %d = %q type %d, want %q type %d", id, v.Tokens[id], v.TokenTypes[id], want.text, want.typ)
		}
	}

	// Pythia / RWKV-7 Pile embeddings have 50304 rows.
	v.PadTo(50304)
	if v.Tokens[50277] != "[PAD50277]" || v.TokenTypes[50303] != TokenTypeUnused {
		t.Errorf("padding: %q type %d", v.Tokens[50277], v.TokenTypes[50303])
	}
	padded, err := FromGGUFVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	if padded.VocabSize() != 50304 || padded.Token(50300) != "" || padded.Decode([]int{50300, 12092}) != "Hello" {
		t.Errorf("padded vocabulary: size %d, Token(50300) %q", padded.VocabSize(), padded.Token(50300))
	}
}

func TestGGUFWorld(t *testing.T) {
	tok := world(t)
	v, _ := ggufRoundTrip(t, tok, lambadaTexts(t))
	if v.Model != "rwkv" || v.Pre != "" || v.Merges != nil || v.Normalizer != "" {
		t.Errorf("model %q pre %q merges %d normalizer %q", v.Model, v.Pre, len(v.Merges), v.Normalizer)
	}
	if v.Tokens[0] != "<s>" || v.TokenTypes[0] != TokenTypeControl {
		t.Errorf("token 0 = %q type %d, want llama.cpp's <s> Control", v.Tokens[0], v.TokenTypes[0])
	}
	// The vocabulary file's bytes literals were written by Python's repr;
	// llama.cpp stores repr(token_bytes)[2:-1], so for those lines the
	// GGUF text must be the literal minus b'…'.
	path := testutil.Shared(t, "tokenizers", "rwkv_vocab_v20230424.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	checked := 0
	for id := 1; sc.Scan(); id++ {
		line := sc.Text()
		lit := line[strings.IndexByte(line, ' ')+1 : strings.LastIndexByte(line, ' ')]
		if strings.HasPrefix(lit, "b") {
			if want := lit[2 : len(lit)-1]; v.Tokens[id] != want {
				t.Errorf("id %d: GGUF text %s, want %s", id, v.Tokens[id], want)
			}
			checked++
		}
		if !isASCII(v.Tokens[id]) {
			t.Errorf("id %d: GGUF text %q is not ASCII", id, v.Tokens[id])
		}
	}
	if checked != 486 {
		t.Errorf("checked %d bytes literals, the file has 486", checked)
	}
	for id, want := range map[int]string{11: `\n`, 12: `\x0b`, 33: " ", 34: "!", 40: "'", 93: `\\`, 128: `\x7f`, 129: `\x80`, 261: `\n\n`} {
		if v.Tokens[id] != want {
			t.Errorf("id %d: GGUF text %s, want %s", id, v.Tokens[id], want)
		}
	}
	v.PadTo(65536)
	padded, err := FromGGUFVocab(v)
	if err != nil {
		t.Fatal(err)
	}
	if padded.VocabSize() != 65536 || !slices.Equal(padded.Encode("[PAD65535]"), tok.Encode("[PAD65535]")) {
		t.Error("padded World vocabulary: unused labels must not be matched as text")
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestGGUFTiny(t *testing.T) {
	v, _ := ggufRoundTrip(t, loadTinyBPE(t), []string{"hello world", "xyz", "cafe\u0301   x", "<|endoftext|>"})
	ggufRoundTrip(t, loadTinyWorld(t), []string{"hello world", "\xe4\xbb\xa5\xe4\xbd", "it's"})
	// llama.cpp's converter files the 20B tokenizer under "mpt" or "olmo";
	// both select the GPT-2 pattern there.
	for _, pre := range []string{"mpt", "olmo"} {
		v.Pre = pre
		if _, err := FromGGUFVocab(v); err != nil {
			t.Errorf("pre %q: %v", pre, err)
		}
	}
}

func TestFromGGUFVocabRejects(t *testing.T) {
	bpe, err := loadTinyBPE(t).GGUFVocab()
	if err != nil {
		t.Fatal(err)
	}
	wv, err := loadTinyWorld(t).GGUFVocab()
	if err != nil {
		t.Fatal(err)
	}
	edit := func(v GGUFVocab, f func(*GGUFVocab)) GGUFVocab {
		v.Tokens = slices.Clone(v.Tokens)
		v.TokenTypes = slices.Clone(v.TokenTypes)
		v.Merges = slices.Clone(v.Merges)
		f(&v)
		return v
	}
	for _, c := range []struct {
		name    string
		v       GGUFVocab
		wantErr string
	}{
		{"unknown model", edit(bpe, func(v *GGUFVocab) { v.Model = "llama" }), `tokenizer.ggml.model "llama"`},
		{"unknown pre", edit(bpe, func(v *GGUFVocab) { v.Pre = "llama3" }), `tokenizer.ggml.pre "llama3"`},
		{"missing pre", edit(bpe, func(v *GGUFVocab) { v.Pre = "" }), `tokenizer.ggml.pre ""`},
		{"types length", edit(bpe, func(v *GGUFVocab) { v.TokenTypes = v.TokenTypes[1:] }), "token types for"},
		{"byte type", edit(bpe, func(v *GGUFVocab) { v.TokenTypes[5] = TokenTypeByte }), "has type 6"},
		{"duplicate token", edit(bpe, func(v *GGUFVocab) { v.Tokens[5] = v.Tokens[6] }), "are both"},
		{"bad merge", edit(bpe, func(v *GGUFVocab) { v.Merges[0] = "Ġ" }), "tokenizer.ggml.merges[0]"},
		{"unknown merge token", edit(bpe, func(v *GGUFVocab) { v.Merges[0] = "Ġ zz" }), "not in the vocabulary"},
		{"bad normalizer", edit(bpe, func(v *GGUFVocab) { v.Normalizer = "Lowercase" }), `normalizer "Lowercase"`},
		{"world pre", edit(wv, func(v *GGUFVocab) { v.Pre = "gpt-2" }), `tokenizer.ggml.pre "gpt-2"`},
		{"world merges", edit(wv, func(v *GGUFVocab) { v.Merges = []string{"a b"} }), "merges must be empty"},
		{"world bad escape", edit(wv, func(v *GGUFVocab) { v.Tokens[270] = `\q` }), "tokenizer.ggml.tokens[270]"},
		{"world duplicate", edit(wv, func(v *GGUFVocab) { v.Tokens[270] = "hello" }), "duplicates token"},
		{"world user-defined", edit(wv, func(v *GGUFVocab) { v.TokenTypes[270] = TokenTypeUserDefined }), "has type 4"},
		{"world missing byte", edit(wv, func(v *GGUFVocab) { v.TokenTypes[66] = TokenTypeUnused }), "single byte 0x41"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok, err := FromGGUFVocab(c.v)
			if err == nil {
				t.Fatalf("loaded %v, want an error containing %q", tok.Kind(), c.wantErr)
			}
			if tok != nil {
				t.Error("error with a non-nil tokenizer")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, c.wantErr)
			}
		})
	}
}

// Settings GGUF cannot hold are refused on export rather than lost.
func TestGGUFVocabRefuses(t *testing.T) {
	tok := loadTinyBPE(t)
	tok.added[0].Normalized = true // a special token matched after normalization
	if _, err := tok.GGUFVocab(); err == nil || !strings.Contains(err.Error(), "special=true normalized=true") {
		t.Errorf("GGUFVocab = %v", err)
	}
}
