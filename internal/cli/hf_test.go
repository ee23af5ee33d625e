package cli

import (
	"path/filepath"
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
