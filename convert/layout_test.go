package convert

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite convert/testdata/*.golden")

// TestGoldenTableV7 pins the key and tensor table convert writes for the
// reference tiny-v7 (llama.cpp's layout): every key with its type and
// value (arrays summarised; the tool version masked) and every tensor's
// name, ggml dims and type. A change here is a change of the file format:
// review it against docs/FORMAT.md and llama.cpp, then -update-golden.
func TestGoldenTableV7(t *testing.T) {
	f, _ := convertOpen(t, testutil.Shared(t, "reference", "tiny-v7-bf16.pth"), DTypeSource)
	var b strings.Builder
	for _, k := range f.Metadata.Keys() {
		v := f.Metadata[k]
		val := v.Format()
		switch k {
		case KeyToolVersion:
			val = "<version>"
		case KeyTransforms:
			ts, err := f.Metadata.Strings(k)
			if err != nil {
				t.Fatal(err)
			}
			val = "\n\t" + strings.Join(ts, "\n\t")
		}
		fmt.Fprintf(&b, "%s\t%v\t%s\n", k, v.Type, val)
	}
	b.WriteString("\n")
	for _, ti := range f.Tensors {
		fmt.Fprintf(&b, "%s\t%v\t%v\n", ti.Name, ti.Dims, ti.DType)
	}
	path := filepath.Join("testdata", "tiny-v7-bf16.golden")
	if *updateGolden {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			g, w := "", ""
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s line %d:\n got  %q\n want %q\n(rerun with -update-golden after reviewing the change)", path, i+1, g, w)
			}
		}
	}
}

// TestTokenizerKeysAsLlamaCpp: the tokenizer keys are those llama.cpp's
// converter writes: "none" without a vocabulary (the size in
// <arch>.vocab_size), the World vocabulary as "rwkv" with "<s>" first, EOT
// 261 and the "rwkv-world" template (_set_vocab_rwkv_world), the 20B BPE as
// "gpt2" with merges and <|endoftext|> as bos/eos.
func TestTokenizerKeysAsLlamaCpp(t *testing.T) {
	f, _ := convertOpen(t, testutil.Shared(t, "reference", "tiny-v6-bf16.pth"), DTypeSource)
	if m, _ := f.Metadata.String(KeyTokModel); m != "none" {
		t.Errorf("no vocabulary: tokenizer.ggml.model %q, want none", m)
	}
	if _, err := TokenizerFromMetadata(f.Metadata); err != ErrNoTokenizer {
		t.Errorf("a \"none\" file gives tokenizer error %v, want ErrNoTokenizer", err)
	}
	md, _, err := tokenizerMetadata(testutil.Shared(t, "tokenizers", "rwkv_vocab_v20230424.txt"), 65536)
	if err != nil {
		t.Fatal(err)
	}
	toks, _ := md.Strings(KeyTokTokens)
	eot, _ := md.Uint(KeyTokEOT)
	tmpl, _ := md.String(KeyChatTemplate)
	if m, _ := md.String(KeyTokModel); m != "rwkv" || len(toks) != 65536 || toks[0] != "<s>" || eot != 261 || toks[261] != `\n\n` || tmpl != "rwkv-world" {
		t.Errorf("World: model %q, %d tokens, [0] %q, eot %d (%q), template %q", m, len(toks), toks[0], eot, toks[eot], tmpl)
	}
	if _, ok := md[KeyTokPre]; ok {
		t.Error("World vocabulary with a pre-tokenizer key (llama.cpp's converter writes none)")
	}
	md, _, err = tokenizerMetadata(testutil.Shared(t, "tokenizers", "20B_tokenizer.json"), 50277)
	if err != nil {
		t.Fatal(err)
	}
	merges, _ := md.Strings(KeyTokMerges)
	bos, _ := md.Uint(KeyTokBOS)
	eos, _ := md.Uint(KeyTokEOS)
	if m, _ := md.String(KeyTokModel); m != "gpt2" || len(merges) == 0 || bos != 0 || eos != 0 {
		t.Errorf("20B: model %q, %d merges, bos %d, eos %d", m, len(merges), bos, eos)
	}
	if _, ok := md[KeyTokEOT]; ok {
		t.Error("20B vocabulary with the World EOT")
	}
}
