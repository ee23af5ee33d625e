package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestParsePyLiteral(t *testing.T) {
	for _, c := range []struct {
		lit  string
		want string
	}{
		{`'a'`, "a"},
		{`' '`, " "},
		{`'\t\n\r'`, "\t\n\r"},
		{`'\\'`, `\`},
		{`'\''`, `'`},
		{`"it's"`, "it's"},
		{`'\'"'`, `'"`},
		{`'say "hi"'`, `say "hi"`},
		{`'\x00'`, "\x00"},
		{`'\x7f'`, "\x7f"},
		{`'\xe9'`, "é"}, // str: code point U+00E9, two UTF-8 bytes
		{`b'\xe9'`, "\xe9"},
		{`b'\xe4\xbd'`, "\xe4\xbd"},
		{`B"\x80'"`, "\x80'"},
		{`'\u200b'`, "\u200b"},
		{`'\U0001f600'`, "😀"},
		{`'以下'`, "以下"},
		{`'\a\b\f\v'`, "\a\b\f\v"},
		{`'\0'`, "\x00"},
		{`'\101\1012'`, "AA2"}, // octal takes at most three digits
		{`b'\377'`, "\xff"},
		{`''`, ""},
	} {
		got, err := parsePyLiteral(c.lit)
		if err != nil {
			t.Errorf("parsePyLiteral(%s): %v", c.lit, err)
			continue
		}
		if string(got) != c.want {
			t.Errorf("parsePyLiteral(%s) = %q, want %q", c.lit, got, c.want)
		}
	}
	for _, lit := range []string{
		``, `a`, `'a`, `a'`, `'a"`, `"`, `'`, `'''`, `'a'b'`,
		`'\'`, `'\q'`, `'\x4'`, `'\xg0'`, `'\u12'`, `'\ud800'`, `'\U00110000'`,
		`b'é'`, `b'\u0041'`, `b'\777'`, `r'a'`, `u'a'`, `f'a'`, `bb'a'`, `'\N{DASH}'`,
	} {
		if got, err := parsePyLiteral(lit); err == nil {
			t.Errorf("parsePyLiteral(%s) = %q, want an error", lit, got)
		}
	}
}

func TestPyBytesReprBody(t *testing.T) {
	// Expected strings are CPython's repr(b)[2:-1].
	for in, want := range map[string]string{
		"abc":         "abc",
		"\n\t\r":      `\n\t\r`,
		"\x00\x1f":    `\x00\x1f`,
		"\x7f\x80":    `\x7f\x80`,
		"\xe4\xbd":    `\xe4\xbd`,
		"it's":        "it's", // b"it's": double quotes, ' unescaped
		`say "hi"`:    `say "hi"`,
		`'"`:          `\'"`, // both quotes: single quotes, ' escaped
		`\`:           `\\`,
		"é":           `\xc3\xa9`,
		" ":           " ",
		"<|endoftext": "<|endoftext",
	} {
		if got := pyBytesReprBody([]byte(in)); got != want {
			t.Errorf("pyBytesReprBody(%q) = %s, want %s", in, got, want)
		}
		back, err := unescapeRWKVGGUFToken(want)
		if err != nil || string(back) != in {
			t.Errorf("unescapeRWKVGGUFToken(%s) = %q, %v; want %q", want, back, err, in)
		}
	}
	for _, bad := range []string{`\`, `\x`, `\x4`, `\xzz`, `\q`} {
		if got, err := unescapeRWKVGGUFToken(bad); err == nil {
			t.Errorf("unescapeRWKVGGUFToken(%s) = %q, want an error", bad, got)
		}
	}
}

func loadTinyWorld(t testing.TB) *World {
	t.Helper()
	tok, err := LoadWorld(filepath.Join("testdata", "tiny-world.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The tiny vocabulary: ids 1–256 are the bytes 0x00–0xFF (id = byte + 1),
// then the multi-byte tokens listed in testdata/make_tiny.py from id 257.
func TestTinyWorld(t *testing.T) {
	tok := loadTinyWorld(t)
	b := func(c byte) int { return int(c) + 1 }
	for _, c := range []struct {
		text string
		want []int
	}{
		{"hello", []int{267}},
		{"hellx", []int{268, b('x')}},
		{"he", []int{269}},
		{"\t\n\n\n", []int{257, 258}}, // greedy from the left, not the best split
		{"it's \\n", []int{259, b(' '), 262}},
		{"'\"", []int{261}},
		{"以下以", []int{264, 265}},
		{"\u200b", []int{263}},
		{"\xe4\xbb\xa5\xe4\xbd", []int{275, b(0xbd)}}, // the longer bytes token wins
		{"\xe4\xbd\x80\x81", []int{274, 276}},
		{"<|endoftext|>", []int{271, b('e'), b('n'), b('d'), b('o'), b('f'), b('t'), b('e'), b('x'), b('t'), 272}},
		{"\r\n", []int{273}},
		{"", []int{}},
	} {
		if got := tok.Encode(c.text); !slices.Equal(got, c.want) {
			t.Errorf("Encode(%q) = %v, want %v", c.text, got, c.want)
		}
		if got := tok.Decode(tok.Encode(c.text)); got != c.text {
			t.Errorf("round trip of %q gave %q", c.text, got)
		}
	}
	if got := tok.Token(0); got != "<|endoftext|>" {
		t.Errorf("Token(0) = %q", got)
	}
	if got := tok.Token(274); got != "\xe4\xbd" {
		t.Errorf("Token(274) = %q", got)
	}
	if got := tok.Decode([]int{0, 267, -1, 9999, 0}); got != "hello" {
		t.Errorf("Decode with end-of-text and unknown ids = %q", got)
	}
}

func TestWorldCRLF(t *testing.T) {
	lf, err := os.ReadFile(filepath.Join("testdata", "tiny-world.txt"))
	if err != nil {
		t.Fatal(err)
	}
	crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
	a, err := ParseWorld(lf, "lf")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseWorld(crlf, "crlf")
	if err != nil {
		t.Fatalf("CRLF file: %v", err)
	}
	if !slices.EqualFunc(a.tokens, b.tokens, bytes.Equal) {
		t.Error("CRLF file parses to different tokens")
	}
	// The last line may lack its newline.
	if _, err := ParseWorld(bytes.TrimSuffix(lf, []byte("\n")), "no final newline"); err != nil {
		t.Error(err)
	}
}

// Edge cases on the real World vocabulary; expected ids from the naive
// greedy oracle (the algorithm as ChatRWKV states it), plus the literal
// treatment of special-token text.
func TestWorldEdgeCases(t *testing.T) {
	tok := world(t)
	oracle := newWorldOracle(tok)
	var texts []string
	for n := 1; n <= 30; n++ {
		texts = append(texts, "x"+strings.Repeat(" ", n)+"y", "x"+strings.Repeat(" ", n))
	}
	texts = append(texts, "", "a \t b", "a\t\n  b", "\n\n\tTabbed", "end \t\n", "a\r\nb",
		"Cafe\u0301", "Café", "I ❤️ 😀😀!", "𠀀𠀁", "<|endoftext|>", "a<|endoftext|>b",
		"a\x80b", "\xe4\xbd x", "a\xffb", "\xff\xfe\xfd", strings.Repeat(" ", 300))
	for _, s := range texts {
		got := tok.Encode(s)
		if want := oracle.encode(s); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("Encode(%q) = %v, want %v", s, got, want)
		}
		if back := tok.Decode(got); back != s {
			t.Errorf("Decode(Encode(%q)) = %q (World has no normalizer: bytes must come back)", s, back)
		}
		if slices.Contains(got, 0) {
			t.Errorf("Encode(%q) produced id 0 (end of text is never encoded)", s)
		}
	}
	// NFC is not applied: the decomposed and composed forms differ.
	if slices.Equal(tok.Encode("Cafe\u0301"), tok.Encode("Café")) {
		t.Error("World tokenizer normalized its input")
	}
	// 128 spaces is the longest token (id 65529).
	if got := tok.Encode(strings.Repeat(" ", 128)); !slices.Equal(got, []int{65529}) {
		t.Errorf("128 spaces = %v", got)
	}
}
