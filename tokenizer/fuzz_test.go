package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// Seeds shared by the Encode/Decode fuzz targets: the edge cases of the
// table tests plus text that exercises every pre-tokenizer branch.
var encodeSeeds = []string{
	"", " ", "  ", "x" + "                         " + "y", "a \t b", "\n\n\tTabbed", "a\r\nb",
	"I'll 'd test блабла 以下は、]) -> <|endoftext|><|padding|> int",
	"Cafe\u0301 au lait", "\u212b\u1100\u1161", "I ❤️ 😀😀!", "𠀀𠀁", "<|endoftext|", "a<|endoftext|>b",
	"a\x80b", "\xe4\xbd x", "a\xffb", "\xc0\xc1\xf5\xff", "'s's 'S''re", "x٣Ⅻ 12.5%", "\u00a0\u3000\v\f",
	"def f():\n    return 1\n",
}

const maxOracleInput = 300

// FuzzEncodeDecodeBPE: any bytes encode without panic to ids in range; the
// result equals the naive oracle's; valid NFC text (after the documented
// U+FFFD replacement of bytes without a token) decodes back byte for byte.
func FuzzEncodeDecodeBPE(f *testing.F) {
	for _, s := range encodeSeeds {
		f.Add(s)
	}
	tok := neox(f)
	oracle := newBPEOracle(tok)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() || tok.Token(id) == "" {
				t.Fatalf("Encode(%q) produced id %d", s, id)
			}
		}
		// The naive merge is cubic in the word length; long inputs would
		// stall the fuzzer (TestNeoXMergeMatchesNaive covers real words).
		if len(s) <= maxOracleInput {
			if want := oracle.encode(s); !slices.Equal(ids, want) && len(ids)+len(want) > 0 {
				t.Fatalf("Encode(%q) = %v, oracle %v", s, ids, want)
			}
		}
		want := replaceBytesWithoutToken(s, &tok.byteID)
		if norm.NFC.IsNormalString(want) {
			if got := tok.Decode(ids); got != want {
				t.Fatalf("Decode(Encode(%q)) = %q, want %q", s, got, want)
			}
		}
	})
}

// FuzzEncodeDecodeWorld: any bytes round-trip exactly and match the naive
// greedy oracle; id 0 (end of text) is never produced.
func FuzzEncodeDecodeWorld(f *testing.F) {
	for _, s := range encodeSeeds {
		f.Add(s)
	}
	tok := world(f)
	oracle := newWorldOracle(tok)
	f.Fuzz(func(t *testing.T, s string) {
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		if want := oracle.encode(s); !slices.Equal(ids, want) && len(ids)+len(want) > 0 {
			t.Fatalf("Encode(%q) = %v, oracle %v", s, ids, want)
		}
		if slices.Contains(ids, 0) {
			t.Fatalf("Encode(%q) produced id 0", s)
		}
	})
}

func readTestdata(f *testing.F, name string) []byte {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzLoadJSON: a tokenizer.json parser must never panic; whatever it
// accepts must encode any text to ids in range and survive the GGUF round
// trip when it exports.
func FuzzLoadJSON(f *testing.F) {
	tiny := readTestdata(f, "tiny-bpe.json")
	f.Add(tiny)
	f.Add(bytes.Replace(tiny, []byte(`"normalized": true`), []byte(`"normalized": false`), 1))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{},"merges":[]},"pre_tokenizer":{"type":"ByteLevel","add_prefix_space":false},"decoder":{"type":"ByteLevel"}}`))
	f.Add([]byte(`{"model":{"type":"BPE","vocab":{"a":0},"merges":[["a","a"]]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseHFJSON(data, "fuzz.json")
		if err != nil {
			if tok != nil {
				t.Fatal("error with a tokenizer")
			}
			return
		}
		checkLoaded(t, tok, string(data))
	})
}

// FuzzLoadWorld: the same for the World vocabulary parser.
func FuzzLoadWorld(f *testing.F) {
	tiny := readTestdata(f, "tiny-world.txt")
	f.Add(tiny)
	f.Add(bytes.ReplaceAll(tiny, []byte("\n"), []byte("\r\n")))
	f.Add([]byte("1 'a' 1\n"))
	f.Add([]byte("1 b'\\xff' 1\n2 \"it's\" 4\n"))
	f.Add([]byte("1 '\\u00e9\\x41\\101\\n' 5\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tok, err := ParseWorld(data, "fuzz.txt")
		if err != nil {
			if tok != nil {
				t.Fatal("error with a tokenizer")
			}
			return
		}
		checkLoaded(t, tok, string(data))
		if got := tok.Decode(tok.Encode(string(data))); got != string(data) {
			t.Fatalf("World round trip of the file itself failed")
		}
	})
}

func checkLoaded(t *testing.T, tok Tokenizer, text string) {
	texts := []string{text, "hello world", "a  b\xff", "<|endoftext|>"}
	for _, s := range texts {
		for _, id := range tok.Encode(s) {
			if id < 0 || id >= tok.VocabSize() {
				t.Fatalf("Encode(%q) produced id %d of %d", s, id, tok.VocabSize())
			}
		}
	}
	tok.Decode([]int{-1, 0, 1, tok.VocabSize() - 1, tok.VocabSize()})
	v, err := tok.GGUFVocab()
	if err != nil {
		return
	}
	back, err := FromGGUFVocab(v)
	if err != nil {
		t.Fatalf("FromGGUFVocab(GGUFVocab()) failed: %v", err)
	}
	for _, s := range texts {
		if got, want := back.Encode(s), tok.Encode(s); !slices.Equal(got, want) {
			t.Fatalf("GGUF round trip changes Encode(%q): %v, want %v", s, got, want)
		}
	}
}
