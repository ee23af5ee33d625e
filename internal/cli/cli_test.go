package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// run executes the CLI with args and returns stdout, stderr and the exit code.
func run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestNewConvertCmdFlags(t *testing.T) {
	var got *convertOptions
	cmd := newConvertCmd(&IO{}, func(o *convertOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"in.pth", "-o", "out.gguf", "--dtype", "f16", "-q"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Input != "in.pth" || got.Output != "out.gguf" || got.DType != "f16" || !got.Quiet {
		t.Fatalf("%+v", got)
	}
}

func TestNewLogitsCmdFlags(t *testing.T) {
	var got *logitsOptions
	cmd := newLogitsCmd(&IO{}, func(o *logitsOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"m.gguf", "--tokens", "1,2", "-o", "l.f32", "--state-in", "a", "--state-out", "b", "--threads", "3"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Model != "m.gguf" || got.Tokens != "1,2" || got.Output != "l.f32" || got.StateIn != "a" || got.StateOut != "b" || got.Threads != 3 {
		t.Fatalf("%+v", got)
	}
}

func TestConvertInfoLogits(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gguf")
	out, errOut, code := run(t, "convert", testutil.Testdata("pth", "rwkv4-bf16.pth"), "-o", model, "--dtype", "f32")
	if code != 0 {
		t.Fatalf("convert: %d %s", code, errOut)
	}
	if !strings.Contains(out, "RWKV-4") || !strings.Contains(out, "42 tensors") {
		t.Errorf("convert output: %s", out)
	}

	out, _, code = run(t, "info", model)
	if code != 0 || !strings.Contains(out, `general.architecture`) || !strings.Contains(out, "blk.1.channel_mix_value.weight") || !strings.Contains(out, "(16, 64)") {
		t.Errorf("info: %d\n%s", code, out)
	}
	if !strings.Contains(out, "llama.cpp: does not load as written (rwkv-tools layout):\n  - llama.cpp has no rwkv4 architecture") {
		t.Errorf("info lacks the llama.cpp verdict:\n%s", out)
	}
	out, _, code = run(t, "info", testutil.Testdata("pth", "rwkv4-bf16-strided.pth"))
	if code != 0 || !strings.Contains(out, "strided [1 16]") || !strings.Contains(out, "file offset") {
		t.Errorf("info checkpoint: %d\n%s", code, out)
	}

	// Logits of 1..5 in one go, versus 1..3 then 4..5 through a saved state.
	full := filepath.Join(dir, "full.f32")
	if _, e, code := run(t, "logits", model, "--tokens", "1,2,3,4,5", "-o", full); code != 0 {
		t.Fatal(e)
	}
	state := filepath.Join(dir, "s.bin")
	if _, e, code := run(t, "logits", model, "--tokens", "1,2,3", "--state-out", state, "-o", filepath.Join(dir, "a.f32")); code != 0 {
		t.Fatal(e)
	}
	part := filepath.Join(dir, "part.f32")
	if _, e, code := run(t, "logits", model, "--tokens", "4 5", "--state-in", state, "-o", part); code != 0 {
		t.Fatal(e)
	}
	fb, _ := os.ReadFile(full)
	pb, _ := os.ReadFile(part)
	if len(fb) != 5*64*4 || !bytes.Equal(fb[3*64*4:], pb) {
		t.Errorf("continuing from a saved state differs from one run (%d, %d bytes)", len(fb), len(pb))
	}
	out, _, code = run(t, "logits", model, "--tokens", "1,2")
	if code != 0 || !strings.Contains(out, "argmax") {
		t.Errorf("summary: %s", out)
	}
}

func TestCommandErrors(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.gguf")
	if _, e, code := run(t, "convert", testutil.Testdata("pth", "rwkv4-bf16.pth"), "-o", model); code != 0 {
		t.Fatal(e)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"logits", model, "--tokens", "1,x"}, "is not a token id"},
		{[]string{"logits", model, "--tokens", "64"}, "outside the vocabulary"},
		{[]string{"logits", model}, "tokens"},
		{[]string{"logits", testutil.Testdata("pth", "rwkv4-bf16.pth"), "--tokens", "1"}, "gguf"},
		{[]string{"logits", model, "--tokens", "1", "--state-in", model}, "bad magic"},
		{[]string{"convert", testutil.Testdata("pth", "rwkv4-bf16.pth"), "--dtype", "q9"}, "--dtype"},
		{[]string{"convert", filepath.Join(dir, "missing.pth")}, "no such file"},
		{[]string{"info", filepath.Join(dir, "missing.gguf")}, "no such file"},
	} {
		_, errOut, code := run(t, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: code %d, stderr %q (want %q)", c.args, code, errOut, c.want)
		}
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	out, errOut, code := run(t, "demo", "--dir", dir)
	if code != 0 {
		t.Fatalf("demo: %s", errOut)
	}
	// Step (MatVec) and Sequence (MatMul) round differently since the
	// avx512 GEMM (one FMA chain per output): measured 4.6e-6, held to 1e-4.
	if m := regexp.MustCompile(`max \|Δlogit\| vs sequence mode = (\S+);`).FindStringSubmatch(out); m == nil {
		t.Errorf("demo output lacks the step-vs-sequence line:\n%s", out)
	} else if d, err := strconv.ParseFloat(m[1], 64); err != nil || d > 1e-4 {
		t.Errorf("token by token vs sequence mode: max |Δlogit| %s (tolerance 1e-4)", m[1])
	}
	for _, want := range []string{"RWKV-4 from pth", "top-1 agreement 12/12", "next tokens:",
		"tiny-rwkv4-q8_0.gguf: ", "Q8_0", "| tiny-rwkv4-q8_0.gguf |", "KL mean",
		"== 7. eval on the demo's own tasks", "| tiny-rwkv4-q8_0.gguf | demo_cloze  | ppl"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "tiny-rwkv4-f16.gguf")); err != nil {
		t.Error(err)
	}
}
