package convert

// Hugging Face folders: the reference hf-rwkv4 against tiny-v4-bf16.pth,
// and malformed folders built here from the repo's RWKV-4 fixture (renamed
// to transformers' keys, sharded as safetensors, with config.json and
// index written by writeHFFolder).

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// sameTensors requires two GGUF files to hold the same tensors: names,
// types, dims and bytes.
func sameTensors(t *testing.T, wantPath, gotPath string) {
	t.Helper()
	want, err := format.Open(wantPath)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Close()
	got, err := format.Open(gotPath)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if len(want.Tensors) != len(got.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for i, wi := range want.Tensors {
		gi := got.Tensors[i]
		if gi.Name != wi.Name || gi.DType != wi.DType || !slices.Equal(gi.Dims, wi.Dims) {
			t.Errorf("tensor %d: %s %v %v, want %s %v %v", i, gi.Name, gi.DType, gi.Dims, wi.Name, wi.DType, wi.Dims)
			continue
		}
		_, wb, _ := want.Tensor(wi.Name)
		_, gb, _ := got.Tensor(gi.Name)
		if string(wb) != string(gb) {
			t.Errorf("tensor %s: bytes differ", gi.Name)
		}
	}
	for _, k := range []string{arch4Key("embedding_length"), arch4Key("block_count"), arch4Key("feed_forward_length"), arch4Key("vocab_size"), KeyTransforms} {
		if want.Metadata[k].Format() != got.Metadata[k].Format() {
			t.Errorf("%s = %s, want %s", k, got.Metadata[k].Format(), want.Metadata[k].Format())
		}
	}
}

func arch4Key(s string) string { return "rwkv4." + s }

// TestHFRWKV4MatchesPth: the reference model in transformers' layout
// converts, from its folder (safetensors, bf16), its safetensors file and
// its sharded fp32 .bin pair (stored as bf16), to the tensors of
// tiny-v4-bf16.pth's conversion.
func TestHFRWKV4MatchesPth(t *testing.T) {
	ref := testutil.Shared(t, "reference")
	want, _ := convertTo(t, filepath.Join(ref, "tiny-v4-bf16.pth"), DTypeSource)
	hfDir := filepath.Join(ref, "hf-rwkv4")
	for _, c := range []struct {
		in string
		dt DTypeChoice
	}{
		{hfDir, DTypeSource},
		{filepath.Join(hfDir, "model.safetensors"), DTypeSource},
		{filepath.Join(hfDir, "pytorch_model.bin.index.json"), DTypeBF16},
	} {
		t.Run(filepath.Base(c.in), func(t *testing.T) {
			got, rep := convertTo(t, c.in, c.dt)
			sameTensors(t, want, got)
			f, err := format.Open(got)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if name, _ := f.Metadata.String("general.name"); name != "hf-rwkv4" {
				t.Errorf("general.name %q, want the folder's name", name)
			}
			if !strings.Contains(rep.Detection.Variant, "RwkvForCausalLM") {
				t.Errorf("variant %q", rep.Detection.Variant)
			}
		})
	}
}

// toTransformers is convert_rwkv_checkpoint_to_hf.py's rename, the inverse
// of arch.FromTransformers (test-only: fixtures are made with it).
func toTransformers(key string) string {
	if key == "head.weight" {
		return key
	}
	key = strings.Replace(key, "emb.", "embeddings.", 1)
	key = strings.Replace(key, "blocks.0.ln0", "blocks.0.pre_ln", 1)
	key = strings.Replace(key, ".att.", ".attention.", 1)
	key = strings.Replace(key, ".ffn.", ".feed_forward.", 1)
	for _, x := range []string{"k", "v", "r"} {
		if strings.HasSuffix(key, ".time_mix_"+x) {
			key += map[string]string{"k": "ey", "v": "alue", "r": "eceptance"}[x]
		}
	}
	return "rwkv." + key
}

// hfFolder describes a test folder: shard files get the tensors whose
// index (in fixture order) maps to them; edit changes the config.
type hfFolder struct {
	shards     int
	config     func(cfg map[string]any)
	index      func(wm map[string]string) // edit the index after writing
	duplicate  string                     // a tensor written to every shard
	dropShard  int                        // delete this shard file (1-based) after writing
	onlyConfig bool                       // write config.json only
}

// writeHFFolder writes the repo's RWKV-4 fixture as a transformers
// RwkvForCausalLM folder into dir and returns dir.
func writeHFFolder(t *testing.T, dir string, f hfFolder) string {
	t.Helper()
	ts := fixtureTensors(t)
	var emb, fk stTensor
	layers := 0
	for i := range ts {
		switch ts[i].name {
		case "emb.weight":
			emb = ts[i]
		case "blocks.0.ffn.key.weight":
			fk = ts[i]
		}
		if strings.HasSuffix(ts[i].name, ".ln1.weight") {
			layers++
		}
		ts[i].name = toTransformers(ts[i].name)
	}
	cfg := map[string]any{
		"architectures": []string{"RwkvForCausalLM"}, "model_type": "rwkv",
		"vocab_size": emb.shape[0], "hidden_size": emb.shape[1], "attention_hidden_size": emb.shape[1],
		"intermediate_size": fk.shape[0], "num_hidden_layers": layers, "layer_norm_epsilon": 1e-5,
		"rescale_every": 6, "tie_word_embeddings": false,
	}
	if f.config != nil {
		f.config(cfg)
	}
	writeJSON(t, filepath.Join(dir, "config.json"), cfg)
	if f.onlyConfig {
		return dir
	}
	if f.shards == 0 {
		writeSafetensors(t, filepath.Join(dir, "model.safetensors"), ts)
		return dir
	}
	wm := map[string]string{}
	parts := make([][]stTensor, f.shards)
	for i, x := range ts {
		k := i % f.shards
		if x.name == f.duplicate {
			for j := range parts {
				parts[j] = append(parts[j], x)
			}
		} else {
			parts[k] = append(parts[k], x)
		}
		wm[x.name] = shardFile(k+1, f.shards)
	}
	for k, p := range parts {
		writeSafetensors(t, filepath.Join(dir, shardFile(k+1, f.shards)), p)
	}
	if f.index != nil {
		f.index(wm)
	}
	writeJSON(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{"metadata": map[string]any{}, "weight_map": wm})
	if f.dropShard > 0 {
		if err := os.Remove(filepath.Join(dir, shardFile(f.dropShard, f.shards))); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func shardFile(k, n int) string { return fmt.Sprintf("model-%05d-of-%05d.safetensors", k, n) }

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHFFolderForms: a folder, its sharded safetensors (by folder and by
// index) and a single file with config.json beside it all give the
// conversion of the BlinkDL fixture.
func TestHFFolderForms(t *testing.T) {
	want, _ := convertTo(t, fixture("rwkv4-bf16.pth"), DTypeSource)
	single := writeHFFolder(t, t.TempDir(), hfFolder{})
	sharded := writeHFFolder(t, t.TempDir(), hfFolder{shards: 3})
	for name, in := range map[string]string{
		"folder":         single,
		"file":           filepath.Join(single, "model.safetensors"),
		"sharded folder": sharded,
		"index":          filepath.Join(sharded, "model.safetensors.index.json"),
	} {
		t.Run(name, func(t *testing.T) {
			got, _ := convertTo(t, in, DTypeSource)
			sameTensors(t, want, got)
		})
	}
}

// TestHFFolderRejects: malformed folders fail with a clear error and
// write nothing.
func TestHFFolderRejects(t *testing.T) {
	cases := []struct {
		name string
		f    hfFolder
		in   string // relative to the folder; "" for the folder
		want string
	}{
		{"index names an absent file", hfFolder{shards: 2, dropShard: 2}, "",
			"the index names shard model-00002-of-00002.safetensors"},
		{"missing shard", hfFolder{shards: 2, index: func(wm map[string]string) {
			for k := range wm {
				wm[k] = shardFile(1, 2)
			}
		}}, "", "missing shard 2 of 2"},
		{"one shard given alone", hfFolder{shards: 2}, shardFile(1, 2), "is shard 00001 of 00002"},
		{"tensor in two shards", hfFolder{shards: 2, duplicate: "rwkv.ln_out.weight"}, "",
			`tensor "rwkv.ln_out.weight" is also in shard`},
		{"index places a tensor elsewhere", hfFolder{shards: 2, index: func(wm map[string]string) {
			other := map[string]string{shardFile(1, 2): shardFile(2, 2), shardFile(2, 2): shardFile(1, 2)}
			wm["rwkv.ln_out.weight"] = other[wm["rwkv.ln_out.weight"]]
		}}, "", "which the index"},
		{"index lists a tensor no shard holds", hfFolder{shards: 2, index: func(wm map[string]string) {
			wm["rwkv.blocks.9.ln1.weight"] = shardFile(1, 2)
		}}, "", `tensor "rwkv.blocks.9.ln1.weight"`},
		{"index names a path", hfFolder{shards: 2, index: func(wm map[string]string) {
			wm["rwkv.ln_out.weight"] = "../" + shardFile(1, 2)
		}}, "", "plain file names"},
		{"hidden_size contradicts", hfFolder{config: func(c map[string]any) { c["hidden_size"] = 64 }}, "",
			"hidden_size is 64, but the tensors say 16 (rwkv.embeddings.weight's columns)"},
		{"num_hidden_layers contradicts", hfFolder{config: func(c map[string]any) { c["num_hidden_layers"] = 7 }}, "",
			"num_hidden_layers is 7"},
		{"vocab_size contradicts", hfFolder{config: func(c map[string]any) { c["vocab_size"] = 50277 }}, "", "vocab_size is 50277"},
		{"intermediate_size contradicts", hfFolder{config: func(c map[string]any) { c["intermediate_size"] = 1 }}, "", "intermediate_size is 1"},
		{"attention_hidden_size contradicts", hfFolder{config: func(c map[string]any) { c["attention_hidden_size"] = 8 }}, "", "attention_hidden_size is 8"},
		{"layer_norm_epsilon", hfFolder{config: func(c map[string]any) { c["layer_norm_epsilon"] = 1e-6 }}, "", "layer_norm_epsilon is 1e-06"},
		{"unknown model_type", hfFolder{config: func(c map[string]any) { c["model_type"] = "llama" }}, "",
			`model_type "llama" is not supported; supported: "gpt_neox" (gptneox), "rwkv" (rwkv4)`},
		{"no model_type", hfFolder{config: func(c map[string]any) { delete(c, "model_type") }}, "", `key "model_type" is missing`},
		{"model_type contradicts the tensors", hfFolder{config: func(c map[string]any) { c["model_type"] = "gpt_neox"; c["num_attention_heads"] = 2 }}, "",
			"required tensor gpt_neox.embed_in.weight"},
		{"no weights", hfFolder{onlyConfig: true}, "", "no weights: a Hugging Face model folder holds one of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := writeHFFolder(t, t.TempDir(), c.f)
			in := filepath.Join(dir, c.in)
			outDir := t.TempDir()
			_, err := Convert(context.Background(), in, filepath.Join(outDir, "out.gguf"), Options{})
			if err == nil {
				t.Fatal("converted without error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if ents, _ := os.ReadDir(outDir); len(ents) != 0 {
				t.Errorf("output written: %v", ents)
			}
		})
	}
	t.Run("no config.json", func(t *testing.T) {
		dir := t.TempDir()
		_, err := Convert(context.Background(), dir, filepath.Join(t.TempDir(), "out.gguf"), Options{})
		if err == nil || !strings.Contains(err.Error(), "config.json is missing") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("transformers names without config", func(t *testing.T) {
		dir := writeHFFolder(t, t.TempDir(), hfFolder{})
		if err := os.Remove(filepath.Join(dir, "config.json")); err != nil {
			t.Fatal(err)
		}
		_, err := Convert(context.Background(), filepath.Join(dir, "model.safetensors"), filepath.Join(t.TempDir(), "out.gguf"), Options{})
		if err == nil || !strings.Contains(err.Error(), "pass the model folder") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestHFTokenizerBeside: tokenizer.json in the folder is stored, as a
// tokenizer beside a .pth is.
func TestHFTokenizerBeside(t *testing.T) {
	ref := testutil.Shared(t, "reference", "hf-rwkv4")
	tok := testutil.Shared(t, "tokenizers", "20B_tokenizer.json")
	dir := t.TempDir()
	for _, name := range []string{"config.json", "model.safetensors"} {
		if err := os.Symlink(filepath.Join(ref, name), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(tok, filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	f, rep := convertOpen(t, dir, DTypeSource)
	if filepath.Base(rep.Tokenizer) != "tokenizer.json" {
		t.Errorf("tokenizer stored: %q", rep.Tokenizer)
	}
	toks, err := f.Metadata.Strings(KeyTokTokens)
	if err != nil || len(toks) != 50277 {
		t.Errorf("%d tokens stored (%v)", len(toks), err)
	}
}
