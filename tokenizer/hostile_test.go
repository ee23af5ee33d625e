package tokenizer

import (
	"os"
	"strings"
	"testing"
)

// TestHostileTokenizerFiles: issue 11 cases G (invalid UTF-8 accepted), B
// (an 8 MB vocabulary line quoted whole in the message) and 5 (a model
// file given as the tokenizer dumped binary).
func TestHostileTokenizerFiles(t *testing.T) {
	good, err := os.ReadFile("testdata/tiny-bpe.json")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(good), `"vocab"`)
	badUTF8 := append(append(append([]byte(nil), good[:i+20]...), 0xff, 0xfe), good[i+20:]...)
	for _, c := range []struct {
		name, data, want string
	}{
		{"invalid UTF-8 in tokenizer.json", string(badUTF8), "invalid UTF-8 at byte " + itoa(i+20)},
		{"8 MB vocabulary line", "1 '" + strings.Repeat("a", 8<<20), "…"},
		{"GGUF model as tokenizer", "GGUF\x03\x00\x00\x00\x00\x00", "is a GGUF model file, not a tokenizer file"},
		{"binary", "\x00\x01\x02 random", "binary data"},
	} {
		_, err := Parse([]byte(c.data), "f")
		if err == nil || !strings.Contains(err.Error(), c.want) || len(err.Error()) > 300 {
			t.Errorf("%s: err = %.300v (want %q, short)", c.name, err, c.want)
		}
	}
}

func itoa(n int) string {
	var b []byte
	for n > 0 || len(b) == 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestBytesTokenizer(t *testing.T) {
	b := NewBytes()
	text := "h\xffé\x00"
	ids := b.Encode(text)
	if len(ids) != len(text) || ids[1] != 0xff || b.Decode(ids) != text {
		t.Fatalf("%v", ids)
	}
	v, _ := b.GGUFVocab()
	v.PadTo(260)
	back, err := FromGGUFVocab(v)
	if err != nil || back.Kind() != KindBytes || back.Decode(back.Encode(text)) != text {
		t.Fatalf("%v %v", back, err)
	}
	v.Tokens[65] = "A"
	if _, err := FromGGUFVocab(v); err == nil || !strings.Contains(err.Error(), "token 65") {
		t.Fatal(err)
	}
}
