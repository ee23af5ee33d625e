package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// TestHFFolderInfoConvert: info describes a Hugging Face folder (config,
// shards, detected architecture, tensors by the files' names) and convert
// takes the folder itself.
func TestHFFolderInfoConvert(t *testing.T) {
	dir := testutil.Shared(t, "reference", "hf-rwkv4")
	out, errOut, code := run(t, "info", filepath.Join(dir, "pytorch_model.bin.index.json"))
	if code != 0 {
		t.Fatalf("info: %d %s", code, errOut)
	}
	for _, want := range []string{"Hugging Face model (pth), 42 tensors in 2 file(s)", `model_type             "rwkv"`,
		"pytorch_model-00002-of-00002.bin (21 tensors)", "detected    RWKV-4", "rwkv.blocks.0.attention.time_mix_key", "blocks.0.att.time_mix_k"} {
		if !strings.Contains(out, want) {
			t.Errorf("info output lacks %q:\n%s", want, out)
		}
	}
	model := filepath.Join(t.TempDir(), "m.gguf")
	out, errOut, code = run(t, "convert", dir, "-o", model)
	if code != 0 || !strings.Contains(out, "RwkvForCausalLM") || !strings.Contains(out, "42 tensors") {
		t.Fatalf("convert: %d %s %s", code, out, errOut)
	}
}

// TestEvalParityRWKVvsNeoX: the RWKV-4 and GPT-NeoX references, same
// tokenizer, same tasks and harness: eval runs on both (no pad for
// GPT-NeoX, "\n" for RWKV), and compare-results prints the parity table.
func TestEvalParityRWKVvsNeoX(t *testing.T) {
	rwkv := tinyV4GGUF(t)
	neoxDir := testutil.Shared(t, "reference", "neox")
	tok := testutil.Shared(t, "tokenizers", "20B_tokenizer.json")
	data := testutil.Shared(t, "data")
	dir := t.TempDir()
	neox := filepath.Join(dir, "neox.gguf")
	if _, e, code := run(t, "convert", neoxDir, "-o", neox, "--tokenizer", tok, "-q"); code != 0 {
		t.Fatalf("convert: %s", e)
	}
	var results []string
	for name, model := range map[string]string{"rwkv4": rwkv, "neox": neox} {
		out := filepath.Join(dir, name)
		if _, e, code := run(t, "eval", model, "lambada_openai", "piqa", "--limit", "8", "--data-dir", data, "-o", out, "-q", "--bootstrap-iters", "0"); code != 0 {
			t.Fatalf("eval %s: %s", name, e)
		}
		results = append(results, filepath.Join(out, "results.json"))
		b, err := os.ReadFile(filepath.Join(out, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		wantPad := `"pad_token": [`
		if name == "neox" && !strings.Contains(string(b), `"pad_token": []`) {
			t.Errorf("GPT-NeoX evaluated with a pad token:\n%s", b)
		}
		if !strings.Contains(string(b), wantPad) {
			t.Errorf("%s: results carry no pad_token", name)
		}
	}
	slices.Sort(results)
	out, e, code := run(t, append([]string{"compare-results"}, results...)...)
	if code != 0 {
		t.Fatalf("compare-results: %d %s", code, e)
	}
	for _, want := range []string{"lambada_openai", "piqa", "acc_norm", "neox/results.json", "rwkv4/results.json"} {
		if !strings.Contains(out, want) {
			t.Errorf("parity table lacks %q:\n%s", want, out)
		}
	}
}
