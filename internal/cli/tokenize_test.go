package cli

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// v4WithTokenizer converts the reference RWKV-4 checkpoint with the 20B
// tokenizer stored in it.
func v4WithTokenizer(t *testing.T) string {
	t.Helper()
	ckpt := testutil.Shared(t, "reference", "tiny-v4-bf16.pth")
	tok := testutil.Shared(t, "tokenizers", "20B_tokenizer.json")
	model := filepath.Join(t.TempDir(), "v4.gguf")
	if _, e, code := run(t, "convert", ckpt, "-o", model, "--tokenizer", tok); code != 0 {
		t.Fatal(e)
	}
	return model
}

func TestTokenizeCommand(t *testing.T) {
	model := v4WithTokenizer(t)
	tok := testutil.Shared(t, "tokenizers", "20B_tokenizer.json")
	for _, args := range [][]string{
		{"tokenize", "--model", model, "Hello world", "a  b"},
		{"tokenize", "--tokenizer", model, "Hello world", "a  b"},
		{"tokenize", "--tokenizer", tok, "Hello world", "a  b"},
	} {
		out, e, code := run(t, args...)
		if code != 0 || out != "12092 1533\n66 50276 67\n" {
			t.Errorf("%v: %d %q %s", args, code, out, e)
		}
	}
	out, _, _ := run(t, "tokenize", "-v", "--model", model, "Hello world")
	if !strings.Contains(out, `  1533  " world"        Ġworld`) {
		t.Errorf("-v: %q", out)
	}
	var o, e strings.Builder
	code := Main([]string{"tokenize", "--jsonl", "--model", model}, strings.NewReader("{\"text\": \"\\nThe following is a\"}\n{\"text\": \"\"}\n"), &o, &e)
	if code != 0 || o.String() != "{\"ids\":[187,510,1563,310,247]}\n{\"ids\":[]}\n" {
		t.Errorf("--jsonl: %d %q %s", code, o.String(), e.String())
	}
	world := testutil.Shared(t, "tokenizers", "rwkv_vocab_v20230424.txt")
	out, _, _ = run(t, "tokenize", "--tokenizer", world, "\nIn a shocking finding")
	if out != "11 1136 332 57212 51746\n" {
		t.Errorf("world: %q", out)
	}
	for _, c := range [][]string{
		{"tokenize", "x"},
		{"tokenize", "--tokenizer", tok, "--model", model, "x"},
		{"tokenize", "--model", tok, "x"},
	} {
		if _, _, code := run(t, c...); code == 0 {
			t.Errorf("%v accepted", c)
		}
	}
}

// TestConvertFindsTokenizerBeside: without --tokenizer, the file of the
// model's family beside the checkpoint is stored.
func TestConvertFindsTokenizerBeside(t *testing.T) {
	dir := t.TempDir()
	for _, f := range [][2]string{{"reference", "tiny-v4-bf16.pth"}, {"tokenizers", "20B_tokenizer.json"}} {
		b, err := os.ReadFile(testutil.Shared(t, f[0], f[1]))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f[1]), b, 0o644)
	}
	model := filepath.Join(dir, "m.gguf")
	out, _, code := run(t, "convert", filepath.Join(dir, "tiny-v4-bf16.pth"), "-o", model)
	if code != 0 || !strings.Contains(out, "tokenizer 20B_tokenizer.json") {
		t.Fatalf("%d %s", code, out)
	}
	if o, _, _ := run(t, "tokenize", "--model", model, "Hello world"); o != "12092 1533\n" {
		t.Errorf("%q", o)
	}
	// No tokenizer beside: a note names the file to supply.
	bare := filepath.Join(t.TempDir(), "v4.pth")
	b, _ := os.ReadFile(filepath.Join(dir, "tiny-v4-bf16.pth"))
	os.WriteFile(bare, b, 0o644)
	_, e, code := run(t, "convert", bare, "-o", filepath.Join(t.TempDir(), "x.gguf"))
	if code != 0 || !strings.Contains(e, "20B_tokenizer.json") || !strings.Contains(e, "BlinkDL/ChatRWKV") {
		t.Errorf("%d %q", code, e)
	}
}

// TestGenerateGreedy: temperature 0 is deterministic and equals the argmax
// chain computed from the engine directly.
func TestGenerateGreedy(t *testing.T) {
	model := v4WithTokenizer(t)
	args := []string{"generate", model, "--prompt", "The quick brown fox", "-n", "12", "--temperature", "0"}
	out1, e, code := run(t, args...)
	if code != 0 {
		t.Fatal(e)
	}
	out2, _, _ := run(t, args...)
	if out1 != out2 {
		t.Fatalf("greedy generation differs between runs:\n%q\n%q", out1, out2)
	}

	m, f, err := openModel(model, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizerFromModel(model, f)
	if err != nil {
		t.Fatal(err)
	}
	st := m.NewState()
	V := m.Config().Vocab
	prompt := tok.Encode("The quick brown fox")
	logits := make([]float32, V)
	for _, id := range prompt {
		if err := m.Step(st, id, logits); err != nil {
			t.Fatal(err)
		}
	}
	var want []int
	for len(want) < 12 {
		id := engine.Argmax(logits)
		if id == 0 {
			break
		}
		want = append(want, id)
		if err := m.Step(st, id, logits); err != nil {
			t.Fatal(err)
		}
	}
	got, err := generate(context.Background(), m, prompt, 12, engine.NewSampler(0, 1, 0), nil, func(int) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if wantText := "The quick brown fox" + tok.Decode(want) + "\n"; out1 != wantText {
		t.Errorf("streamed text %q, want %q", out1, wantText)
	}
	// Seeded sampling is reproducible.
	s1, _, _ := run(t, "generate", model, "--prompt", "Hi", "-n", "8", "--seed", "3")
	s2, _, _ := run(t, "generate", model, "--prompt", "Hi", "-n", "8", "--seed", "3")
	if s1 != s2 {
		t.Errorf("seeded sampling differs: %q vs %q", s1, s2)
	}
}

func TestUTF8Stream(t *testing.T) {
	var b strings.Builder
	w := newTestWriter(&b)
	s := &utf8Stream{w: w}
	s.write([]byte{0xe4, 0xb8}) // first two bytes of 世
	if b.String() != "" {
		t.Fatalf("partial rune written: %q", b.String())
	}
	s.write([]byte{0x96, 'a'})
	s.flush()
	w.Flush()
	if b.String() != "世a" {
		t.Fatalf("%q", b.String())
	}
}

func newTestWriter(b *strings.Builder) *bufio.Writer { return bufio.NewWriter(b) }

// TestByteLevelRWKVCpp is daily-use point 11: a tiny rwkv.cpp model
// (vocab 256, token id = byte value) converts with the byte-level
// tokenizer stored, and tokenize and generate use it.
func TestByteLevelRWKVCpp(t *testing.T) {
	src := testutil.Shared(t, "fixtures", "rwkvcpp", "tiny-rwkv-4v0-660K-FP32.bin")
	model := filepath.Join(t.TempDir(), "tiny.gguf")
	out, e, code := run(t, "convert", src, "-o", model)
	if code != 0 || !strings.Contains(out, "tokenizer byte-level") {
		t.Fatalf("convert: %d %s %s", code, out, e)
	}
	out, e, code = run(t, "tokenize", "--model", model, `"in`)
	if code != 0 || out != "34 105 110\n" {
		t.Errorf("tokenize: %d %q %s", code, out, e)
	}
	out, _, _ = run(t, "tokenize", "-v", "--model", model, "\n")
	if !strings.Contains(out, `    10  "\n"            "<0x0A>"`) && !strings.Contains(out, `<0x0A>`) {
		t.Errorf("tokenize -v: %q", out)
	}
	out, e, code = run(t, "generate", model, "--prompt", `"in`, "-n", "8", "--temperature", "0")
	if code != 0 || !strings.HasPrefix(out, `"in`) || len(out) < 4 {
		t.Errorf("generate: %d %q %s", code, out, e)
	}
}

// TestGeneratePrecision: --precision reaches the engine (recorded in
// --json) and a bad value is refused naming the choices.
func TestGeneratePrecision(t *testing.T) {
	model := v4WithTokenizer(t)
	for _, pr := range []string{"fast", "exact"} {
		out, e, code := run(t, "generate", model, "--prompt", "The", "-n", "3", "--temperature", "0", "--precision", pr, "--json")
		if code != 0 {
			t.Fatal(e)
		}
		if !strings.Contains(out, `"precision": "`+pr+`"`) {
			t.Fatalf("--precision %s: json lacks it:\n%s", pr, out)
		}
	}
	_, e, code := run(t, "generate", model, "--prompt", "The", "--precision", "int8")
	if code == 0 || !strings.Contains(e, "fast") || !strings.Contains(e, "exact") {
		t.Fatalf("--precision int8: exit %d, stderr %q", code, e)
	}
}
