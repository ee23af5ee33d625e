package cli

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/quality"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// rwkvcppF32 converts rwkv.cpp's trained byte-level 4v0 model to GGUF f32.
func rwkvcppF32(t *testing.T, dir string) string {
	t.Helper()
	in := testutil.Shared(t, "fixtures", "rwkvcpp", "tiny-rwkv-4v0-660K-FP32.bin")
	out := filepath.Join(dir, "f32.gguf")
	if _, e, code := run(t, "convert", in, "-o", out, "--dtype", "f32", "-q"); code != 0 {
		t.Fatal(e)
	}
	return out
}

func compareJSON(t *testing.T, args ...string) compareReport {
	t.Helper()
	out, e, code := run(t, append([]string{"compare", "--json"}, args...)...)
	if code != 0 {
		t.Fatalf("compare %v: %d %s", args, code, e)
	}
	var r compareReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return r
}

// TestCompareIdenticalAndQ8: a file against itself is exactly 0 KL, 1.0
// top-1 and 0 Δppl; a q8_0 copy is close but measurably different.
func TestCompareIdenticalAndQ8(t *testing.T) {
	dir := t.TempDir()
	f32 := rwkvcppF32(t, dir)
	same := compareJSON(t, f32, f32)
	if same.KLMean != 0 || same.KLP99 != 0 || same.KLMax != 0 || same.Top1 != 1 || same.Top5 != 1 || same.DeltaPPLPct != 0 ||
		same.Tokens < 1000 || same.Text != "built-in sample" {
		t.Errorf("identical files: %+v", same)
	}
	q8 := filepath.Join(dir, "q8.gguf")
	out, e, code := run(t, "quantize", f32, "-o", q8, "--type", "int8", "--report")
	if code != 0 || !strings.Contains(out, "28 Q8_0") || !strings.Contains(out, "KL mean") {
		t.Fatalf("quantize --report: %d\n%s\n%s", code, out, e)
	}
	r := compareJSON(t, f32, q8)
	if !(r.KLMean > 0 && r.KLMean < 1e-4 && r.KLMax < 1e-2 && r.Top1 >= 0.99 && r.Top1 < 1+1e-12 && r.DeltaPPLPct != 0 && r.DeltaPPLPct < 0.5 && r.DeltaPPLPct > -0.5) {
		t.Errorf("q8_0 copy: %+v", r)
	}
	// --text: a file's bytes (byte-level model, no tokenizer).
	txt := filepath.Join(dir, "t.txt")
	os.WriteFile(txt, []byte("Hello there, general Kenobi."), 0o644)
	if r := compareJSON(t, f32, q8, "--text", txt); r.Tokens != 28 || r.Text != txt {
		t.Errorf("--text: %+v", r)
	}
}

// skeleton replaces every JSON value by its type, so the golden file pins
// the shape (keys, nesting, types) and not the measured numbers.
func skeleton(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = skeleton(e)
		}
		return m
	case []any:
		if len(x) == 0 {
			return []any{}
		}
		return []any{skeleton(x[0])}
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	}
	return "null"
}

// TestCompareJSONGolden: the --json shape of compare (testdata/compare.json.golden).
func TestCompareJSONGolden(t *testing.T) {
	dir := t.TempDir()
	f32 := rwkvcppF32(t, dir)
	out, e, code := run(t, "compare", f32, f32, "--json", "--max-tokens", "64")
	if code != 0 {
		t.Fatal(e)
	}
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	got, _ := json.MarshalIndent(skeleton(v), "", "  ")
	golden := filepath.Join("testdata", "compare.json.golden")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, append(got, '\n'), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Errorf("compare --json shape changed:\n%s\nwant (UPDATE_GOLDEN=1 to accept):\n%s", got, want)
	}
	var keys []string
	for k := range v.(map[string]any) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range []string{"kl_mean", "kl_p99", "kl_max", "top1_agreement", "same_top5", "ppl_ref", "ppl_other", "delta_ppl_percent"} {
		if sort.SearchStrings(keys, k) == len(keys) || keys[sort.SearchStrings(keys, k)] != k {
			t.Errorf("--json lacks %s", k)
		}
	}
}

// TestQuantizeCommand: the plan table, the fallback note, and the
// refusals, each leaving the directory as it was.
func TestQuantizeCommand(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir) // RWKV-4, n_embd 16: rows too short for blocks
	out, e, code := run(t, "quantize", model, "--type", "Q4_0", "--dry-run")
	if code != 0 || !strings.Contains(out, "| tensor") || !strings.Contains(out, "total (42 tensors)") ||
		!strings.Contains(e, "not a multiple of the Q4_0 block (32): stored as BF16") {
		t.Fatalf("--dry-run: %d\n%s\n%s", code, out, e)
	}
	before := listDir(t, dir)
	q := filepath.Join(dir, "q.gguf")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"quantize", model, "-o", q, "--type", "q3_k"}, "q8_0, q5_1, q5_0, q4_1, q4_0"},
		{[]string{"quantize", model, "-o", model, "--type", "q8_0"}, "input"},
		{[]string{"quantize", testutil.Testdata("pth", "rwkv4-bf16.pth"), "-o", q, "--type", "q8_0"}, "not a GGUF model file"},
		{[]string{"quantize", model, "--type", "q8_0"}, "no output file"},
		{[]string{"quantize", model, "-o", q, "--type", "q8_0", "--head", "q9"}, "--head"},
		{[]string{"quantize", model, "-o", q, "--type", "q8_0", "--report"}, "--report"}, // no tokenizer, vocab 64
		{[]string{"compare", model, testutil.Testdata("pth", "rwkv4-bf16.pth")}, "rwkv4-bf16.pth"},
	} {
		_, e, code := run(t, c.args...)
		if code == 0 || !strings.Contains(e, c.want) {
			t.Errorf("%v: exit %d, %q; want an error containing %q", c.args, code, e, c.want)
		}
	}
	if after := listDir(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("refusals left files: %v, before %v", after, before)
	}
}

// TestQuantizeInterrupted: a cancelled command (Ctrl-C) exits with the
// context's error and leaves neither the output nor a temporary file.
func TestQuantizeInterrupted(t *testing.T) {
	dir := t.TempDir()
	model := tinyModel(t, dir)
	before := listDir(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	root := NewRootCmd(&IO{In: strings.NewReader(""), Out: &strings.Builder{}, ErrOut: &strings.Builder{}})
	root.SetArgs([]string{"quantize", model, "-o", filepath.Join(dir, "q.gguf"), "--type", "bf16"})
	if err := root.ExecuteContext(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled quantize: %v", err)
	}
	if after := listDir(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("interrupted quantize left files: %v", after)
	}
}

// TestCompareWithTokenizer: a BPE model is compared over the ids of its
// tokenizer (--tokenizer, as the reference checkpoint stores none).
func TestCompareWithTokenizer(t *testing.T) {
	dir := t.TempDir()
	f32 := filepath.Join(dir, "v4.gguf")
	if _, e, code := run(t, "convert", testutil.Shared(t, "reference", "tiny-v4-bf16.pth"), "-o", f32, "--dtype", "f32", "--no-tokenizer", "-q"); code != 0 {
		t.Fatal(e)
	}
	q8 := filepath.Join(dir, "v4-q8.gguf")
	if _, e, code := run(t, "quantize", f32, "-o", q8, "--type", "q8_0", "-q"); code != 0 {
		t.Fatal(e)
	}
	tokFile := testutil.Shared(t, "tokenizers", "20B_tokenizer.json")
	tok, err := resolveTokenizer(tokFile, "")
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(quality.SampleText)
	if len(ids) < 100 {
		t.Fatalf("the sample is %d tokens", len(ids))
	}
	r := compareJSON(t, f32, q8, "--tokenizer", tokFile, "--max-tokens", "100")
	if r.Tokens != 100 || r.Predicted != 99 || !(r.KLMean > 0) || r.Top1 < 0.9 {
		t.Errorf("compare with the 20B tokenizer: %+v (want 100 tokens)", r)
	}
	if _, e, code := run(t, "compare", f32, q8); code == 0 || !strings.Contains(e, "--tokenizer") {
		t.Errorf("no tokenizer, vocab 50277: exit %d, %s", code, e)
	}
}
