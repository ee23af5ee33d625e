package cli

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil/craft"
)

// TestIssue11Defects is the table of issue 11's daily-use and hostile-input
// defects as the CLI shows them: command, input, exit code, a fragment of
// the message, and no file left behind (the directory is compared before
// and after each case).
func TestIssue11Defects(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	ckpt := testutil.Testdata("pth", "rwkv4-bf16.pth")
	tok := filepath.Join(testutil.RepoRoot(), "tokenizer", "testdata", "tiny-bpe.json")
	gen, err := craft.RWKV4(dir, "gen.gguf", craft.TinyDims, craft.Options{})
	if err != nil {
		t.Fatal(err)
	}
	nanModel, err := craft.RWKV4(dir, "nan.gguf", craft.TinyDims, craft.Options{Value: func(name string, i int) float32 {
		if name == "blk.0.time_mix_key.weight" {
			return float32(math.NaN())
		}
		return craft.Pseudo(name, i)
	}})
	if err != nil {
		t.Fatal(err)
	}
	evil, err := craft.RWKV4(dir, "evil.gguf", craft.TinyDims, craft.Options{Metadata: format.Metadata{
		"evil\x1b[2J.key": format.String("line1\nline2\x07"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "s.bin")
	if _, e, code := run(t, "logits", model, "--tokens", "1", "--state-out", state); code != 0 {
		t.Fatal(e)
	}
	sb, _ := os.ReadFile(state)
	trailing := filepath.Join(dir, "trailing.bin")
	os.WriteFile(trailing, append(slices.Clone(sb), 0), 0o644)
	nanState := filepath.Join(dir, "nanstate.bin")
	ns := slices.Clone(sb)
	copy(ns[len(ns)-4:], []byte{0, 0, 0xc0, 0x7f}) // a NaN float
	os.WriteFile(nanState, ns, 0o644)
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o755)
	huge, err := craft.RWKV4(dir, "huge.gguf", craft.TinyDims, craft.Options{Metadata: format.Metadata{"rwkv4.block_count": format.Uint32(1 << 24)}})
	if err != nil {
		t.Fatal(err)
	}
	nested, _ := craft.NestedLegacyPth(dir, "nested.pth", 1<<20)
	alias, _ := craft.AliasingPth(dir, "alias.pth", 256, 256, 1024, 64)
	badTok := filepath.Join(dir, "bad.json")
	tb, _ := os.ReadFile(tok)
	os.WriteFile(badTok, append(append(slices.Clone(tb[:100]), 0xff), tb[100:]...), 0o644)

	defer func(n int) { maxLineBytes = n }(maxLineBytes)
	maxLineBytes = 1 << 10

	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string // in stderr, or stdout when code is 0 and wantOut
		out   bool
		not   string // must not appear in stdout
	}{
		// 5: errors that say the fix.
		{name: "convert a GGUF", args: []string{"convert", model, "-o", filepath.Join(dir, "x.gguf")}, code: 1, want: "already a GGUF model file"},
		{name: "logits on a .pth", args: []string{"logits", ckpt, "--tokens", "1"}, code: 1, want: "convert it first: rwkv-tools convert"},
		{name: "logits on a directory", args: []string{"logits", sub, "--tokens", "1"}, code: 1, want: "is a directory; give a GGUF model file"},
		{name: "logits on a state", args: []string{"logits", state, "--tokens", "1"}, code: 1, want: "is a saved state"},
		{name: "convert --tokenizer MODEL.gguf", args: []string{"convert", ckpt, "--tokenizer", model, "-o", filepath.Join(dir, "x.gguf")}, code: 1, want: "is a GGUF model file, not a tokenizer file"},
		// 6: flag values.
		{name: "--threads -1", args: []string{"logits", model, "--tokens", "1", "--threads", "-1"}, code: 1, want: "--threads -1: give 0"},
		{name: "--threads 1000", args: []string{"logits", model, "--tokens", "1", "--threads", "1000"}, code: 1, want: "between 1 and 256"},
		{name: "--tokens 1,,2", args: []string{"logits", model, "--tokens", "1,,2"}, code: 1, want: "entry 2 is empty"},
		{name: "--top-p 2", args: []string{"generate", gen, "--tokenizer", tok, "--top-p", "2"}, code: 1, want: "--top-p 2: give a probability mass in (0, 1]"},
		{name: "--top-k -1", args: []string{"generate", gen, "--tokenizer", tok, "--top-k", "-1"}, code: 1, want: "--top-k -1"},
		{name: "--seed -1", args: []string{"generate", gen, "--seed", "-1"}, code: 1, want: `--seed "-1": give a whole number >= 0`},
		{name: "--dtype F16 accepted", args: []string{"convert", ckpt, "--dtype", "F16", "-o", filepath.Join(dir, "f16.gguf"), "-q"}, code: 0},
		{name: "--no-tokenizer with --tokenizer", args: []string{"convert", ckpt, "--no-tokenizer", "--tokenizer", tok, "-o", filepath.Join(dir, "x.gguf")}, code: 1, want: "contradict each other"},
		{name: "--prompt with --prompt-file", args: []string{"generate", gen, "--tokenizer", tok, "--prompt", "a", "--prompt-file", "-"}, code: 1, want: "use one"},
		{name: "convert -o - refused", args: []string{"convert", ckpt, "-o", "-"}, code: 1, want: "-o -: this output cannot go to stdout"},
		// F: names escaped.
		{name: "info escapes names", args: []string{"info", evil}, code: 0, out: true, want: `"evil\x1b[2J.key"`, not: "\x1b"},
		{name: "info --json escapes", args: []string{"info", "--json", evil}, code: 0, out: true, want: `"evil\u001b[2J.key"`, not: "\x1b"},
		// 10: info on a checkpoint and a state.
		{name: "info names the architecture", args: []string{"info", ckpt}, code: 0, out: true, want: "architecture: rwkv4 (RWKV-4)"},
		{name: "info on a state", args: []string{"info", state}, code: 0, out: true, want: "saved state (logits --state-out) of a rwkv4 model, 2 layers"},
		// G: silent acceptance.
		{name: "state with trailing bytes", args: []string{"logits", model, "--tokens", "1", "--state-in", trailing}, code: 1, want: "unexpected bytes after"},
		{name: "state with NaN", args: []string{"logits", model, "--tokens", "1", "--state-in", nanState}, code: 1, want: "is NaN"},
		{name: "NaN weights: logits warns", args: []string{"logits", nanModel, "--tokens", "1,2"}, code: 0, want: "logits are NaN"},
		{name: "NaN weights: generate refuses", args: []string{"generate", nanModel, "--tokenizer", tok, "--prompt", "hi", "--seed", "1"}, code: 1, want: "NaN logits"},
		// A-D: hostile files through the CLI.
		{name: "A: 2^24 layers claimed", args: []string{"logits", huge, "--tokens", "1"}, code: 1, want: "block_count = 16777216, but the file holds only"},
		{name: "B: nested pickle", args: []string{"convert", nested, "-o", filepath.Join(dir, "x.gguf")}, code: 1, want: "nested more than 64 deep"},
		{name: "D: aliasing storages", args: []string{"convert", alias, "-o", filepath.Join(dir, "x.gguf")}, code: 1, want: "--allow-large-output"},
		{name: "G: tokenizer.json with invalid UTF-8", args: []string{"convert", ckpt, "--tokenizer", badTok, "-o", filepath.Join(dir, "x.gguf")}, code: 1, want: "invalid UTF-8 at byte 100"},
		// I: a line too long names the input, the line and the limit.
		{name: "JSONL line too long", args: []string{"tokenize", "--tokenizer", tok, "--jsonl"}, stdin: "{\"text\": \"a\"}\n{\"text\": \"" + strings.Repeat("a", 2000) + "\"}\n", code: 1, want: "stdin line 2 is longer than 1.0 KiB, the limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := listDir(t, dir)
			var out, errOut strings.Builder
			code := Main(c.args, strings.NewReader(c.stdin), &out, &errOut)
			got := errOut.String()
			if c.out {
				got = out.String()
			}
			if code != c.code || !strings.Contains(got, c.want) {
				t.Errorf("code %d, got %q; want code %d and %q", code, got, c.code, c.want)
			}
			if c.not != "" && strings.Contains(out.String(), c.not) {
				t.Errorf("stdout holds %q", c.not)
			}
			after := listDir(t, dir)
			if c.code == 0 && len(after) == len(before)+1 && strings.HasPrefix(c.name, "--dtype") {
				os.Remove(filepath.Join(dir, "f16.gguf"))
				after = listDir(t, dir)
			}
			if !slices.Equal(before, after) {
				t.Errorf("files changed: %v -> %v", before, after)
			}
		})
	}
}
