package convert

// GPT-NeoX conversion: a small random Pythia-layout folder written here
// (transformers' GPTNeoXForCausalLM names, per-head fused QKV, the older
// rotary_pct config form), its QKV regrouping, the buffers older files
// carry, and malformed folders.

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// neoxDims is the test model: 2 heads of 8, rotary on 25% (2 dims).
var neoxDims = arch.Dims{Vocab: 64, Embd: 16, Layers: 2, FFN: 64, Heads: 2}

// neoxTensors makes the model's tensors with random f32 values, under
// transformers' names, plus extra (name → shape) tensors.
func neoxTensors(extra map[string][]int64) []stTensor {
	table, err := arch.Tensors(arch.GPTNeoX, neoxDims)
	if err != nil {
		panic(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	mk := func(name string, shape []int64) stTensor {
		n := int64(1)
		for _, s := range shape {
			n *= s
		}
		b := make([]byte, 4*n)
		for i := int64(0); i < n; i++ {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(rng.NormFloat64()*0.1)))
		}
		return stTensor{name, "F32", shape, b}
	}
	var ts []stTensor
	for _, t := range table {
		ts = append(ts, mk(t.Source, t.Shape))
	}
	names := make([]string, 0, len(extra))
	for n := range extra {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		ts = append(ts, mk(n, extra[n]))
	}
	return ts
}

// neoxConfig is a Pythia config.json in the published (rotary_pct) form.
func neoxConfig() map[string]any {
	d := neoxDims
	return map[string]any{
		"architectures": []string{"GPTNeoXForCausalLM"}, "model_type": "gpt_neox",
		"vocab_size": d.Vocab, "hidden_size": d.Embd, "num_hidden_layers": d.Layers, "intermediate_size": d.FFN,
		"num_attention_heads": d.Heads, "rotary_pct": 0.25, "rotary_emb_base": 10000, "layer_norm_eps": 1e-5,
		"hidden_act": "gelu", "use_parallel_residual": true, "tie_word_embeddings": false, "max_position_embeddings": 2048,
	}
}

// writeNeoX writes a folder: config (edited), the tensors in shards
// safetensors files (1: model.safetensors) with an index.
func writeNeoX(t *testing.T, edit func(map[string]any), ts []stTensor, shards int) string {
	t.Helper()
	dir := t.TempDir()
	cfg := neoxConfig()
	if edit != nil {
		edit(cfg)
	}
	writeJSON(t, filepath.Join(dir, "config.json"), cfg)
	if shards <= 1 {
		writeSafetensors(t, filepath.Join(dir, "model.safetensors"), ts)
		return dir
	}
	wm := map[string]string{}
	parts := make([][]stTensor, shards)
	for i, x := range ts {
		parts[i%shards] = append(parts[i%shards], x)
		wm[x.name] = shardFile(i%shards+1, shards)
	}
	for k, p := range parts {
		writeSafetensors(t, filepath.Join(dir, shardFile(k+1, shards)), p)
	}
	writeJSON(t, filepath.Join(dir, "model.safetensors.index.json"), map[string]any{"weight_map": wm})
	return dir
}

// TestNeoXConvert: metadata keys (llama.cpp's gptneox names), the QKV rows
// regrouped from per-head [q_h k_h v_h] to [q k v], every other tensor
// copied, float buffers dropped with a note; sharded and single folders,
// and the rope_parameters config form, give the same tensors.
func TestNeoXConvert(t *testing.T) {
	buffers := map[string][]int64{
		"gpt_neox.layers.0.attention.rotary_emb.inv_freq": {1},
		"gpt_neox.layers.1.attention.masked_bias":         {},
	}
	ts := neoxTensors(buffers)
	single := writeNeoX(t, nil, ts, 1)
	f, rep := convertOpen(t, single, DTypeF32)
	md := f.Metadata
	for key, want := range map[string]string{
		"general.architecture":                 `"gptneox"`,
		"gptneox.attention.head_count":         "2",
		"gptneox.rope.dimension_count":         "2",
		"gptneox.rope.freq_base":               "10000",
		"gptneox.use_parallel_residual":        "true",
		"gptneox.attention.layer_norm_epsilon": "1e-05",
		"gptneox.context_length":               "2048",
		"gptneox.embedding_length":             "16",
		"gptneox.feed_forward_length":          "64",
	} {
		if v, ok := md[key]; !ok || v.Format() != want {
			t.Errorf("%s = %v, want %s", key, v, want)
		}
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.Contains(n, "masked_bias") && strings.Contains(n, "inv_freq") }) {
		t.Errorf("notes %q do not list the dropped buffers", rep.Notes)
	}
	C, N, H := neoxDims.Embd, neoxDims.Embd/neoxDims.Heads, neoxDims.Heads
	for l := 0; l < neoxDims.Layers; l++ {
		w, _ := f32Values(t, f, arch.LayerName(l, "attn_qkv.weight"))
		b, _ := f32Values(t, f, arch.LayerName(l, "attn_qkv.bias"))
		srcW := stValues(ts, "gpt_neox.layers."+itoa(l)+".attention.query_key_value.weight")
		srcB := stValues(ts, "gpt_neox.layers."+itoa(l)+".attention.query_key_value.bias")
		for part := 0; part < 3; part++ {
			for h := 0; h < H; h++ {
				for i := 0; i < N; i++ {
					to, from := (part*H+h)*N+i, (h*3+part)*N+i
					if !slices.Equal(w[to*C:(to+1)*C], srcW[from*C:(from+1)*C]) || b[to] != srcB[from] {
						t.Fatalf("layer %d: output row %d is not source row %d", l, to, from)
					}
				}
			}
		}
		up, _ := f32Values(t, f, arch.LayerName(l, "ffn_up.weight"))
		if !slices.Equal(up, stValues(ts, "gpt_neox.layers."+itoa(l)+".mlp.dense_h_to_4h.weight")) {
			t.Errorf("layer %d: ffn_up differs from dense_h_to_4h", l)
		}
	}
	want := filepath.Join(t.TempDir(), "want.gguf")
	if _, err := Convert(context.Background(), single, want, Options{DType: DTypeF32}); err != nil {
		t.Fatal(err)
	}
	ropeParams := func(c map[string]any) {
		delete(c, "rotary_pct")
		delete(c, "rotary_emb_base")
		c["rope_parameters"] = map[string]any{"rope_type": "default", "partial_rotary_factor": 0.25, "rope_theta": 10000}
	}
	for name, dir := range map[string]string{
		"sharded":         writeNeoX(t, nil, ts, 3),
		"rope_parameters": writeNeoX(t, ropeParams, ts, 1),
	} {
		t.Run(name, func(t *testing.T) {
			got, _ := convertTo(t, dir, DTypeF32)
			a, b := mustTensors(t, want), mustTensors(t, got)
			if len(a) != len(b) {
				t.Fatalf("%d tensors, want %d", len(b), len(a))
			}
			for k, v := range a {
				if string(b[k]) != string(v) {
					t.Errorf("tensor %s differs", k)
				}
			}
		})
	}
}

func itoa(i int) string { return string(rune('0' + i)) }

func stValues(ts []stTensor, name string) []float32 {
	for _, x := range ts {
		if x.name == name {
			v := make([]float32, len(x.data)/4)
			for i := range v {
				v[i] = math.Float32frombits(binary.LittleEndian.Uint32(x.data[4*i:]))
			}
			return v
		}
	}
	panic("no tensor " + name)
}

func mustTensors(t *testing.T, path string) map[string][]byte {
	t.Helper()
	f, err := format.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	for _, ti := range f.Tensors {
		_, b, err := f.Tensor(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		out[ti.Name] = slices.Clone(b)
	}
	return out
}

// TestNeoXRejects: a config contradicting the tensors, impossible
// attention settings, a missing shard, an index naming an absent file, an
// unknown model_type and an unknown tensor fail clearly, writing nothing.
func TestNeoXRejects(t *testing.T) {
	ts := neoxTensors(nil)
	set := func(k string, v any) func(map[string]any) { return func(c map[string]any) { c[k] = v } }
	type rc struct {
		name  string
		dir   func() string
		input string
		want  string
	}
	cases := []rc{
		{"hidden_size contradicts", func() string { return writeNeoX(t, set("hidden_size", 32), ts, 1) }, "", "hidden_size is 32, but the tensors say 16"},
		{"num_hidden_layers contradicts", func() string { return writeNeoX(t, set("num_hidden_layers", 3), ts, 1) }, "", "num_hidden_layers is 3"},
		{"intermediate_size contradicts", func() string { return writeNeoX(t, set("intermediate_size", 128), ts, 1) }, "", "intermediate_size is 128"},
		{"vocab_size contradicts", func() string { return writeNeoX(t, set("vocab_size", 50304), ts, 1) }, "", "vocab_size is 50304"},
		{"heads do not divide", func() string { return writeNeoX(t, set("num_attention_heads", 3), ts, 1) }, "", "num_attention_heads 3 does not divide hidden_size 16"},
		{"no head count", func() string {
			return writeNeoX(t, func(c map[string]any) { delete(c, "num_attention_heads") }, ts, 1)
		}, "", `"num_attention_heads" is missing`},
		{"odd rotary dims", func() string { return writeNeoX(t, set("rotary_pct", 0.125), ts, 1) }, "", "gives 1 rotary dims"},
		{"tanh gelu", func() string { return writeNeoX(t, set("hidden_act", "gelu_new"), ts, 1) }, "", `hidden_act "gelu_new" is not supported`},
		{"rope scaling", func() string {
			return writeNeoX(t, set("rope_scaling", map[string]any{"type": "linear", "factor": 2}), ts, 1)
		}, "", "rope_scaling"},
		{"unknown model_type", func() string { return writeNeoX(t, set("model_type", "gptj"), ts, 1) }, "", `model_type "gptj" is not supported; supported: "gpt_neox" (gptneox), "rwkv" (rwkv4)`},
		{"qkv not 3C", func() string {
			bad := slices.Clone(ts)
			for i := range bad {
				if bad[i].name == "gpt_neox.layers.0.attention.query_key_value.weight" {
					bad[i].shape = []int64{24, 32} // same bytes, wrong shape
				}
			}
			return writeNeoX(t, nil, bad, 1)
		}, "", "query_key_value.weight has shape [24 32], want (48, 16)"},
		{"unknown tensor", func() string {
			return writeNeoX(t, nil, neoxTensors(map[string][]int64{"gpt_neox.layers.0.attention.lora.weight": {4}}), 1)
		}, "",
			`unexpected tensor "gpt_neox.layers.0.attention.lora.weight"`},
		{"index names an absent file", func() string {
			d := writeNeoX(t, nil, ts, 2)
			os.Remove(filepath.Join(d, shardFile(1, 2)))
			return d
		}, "", "the index names shard model-00001-of-00002.safetensors"},
		{"missing shard", func() string {
			d := writeNeoX(t, nil, ts, 2)
			wm := map[string]string{}
			for _, x := range ts {
				wm[x.name] = shardFile(2, 2)
			}
			writeJSON(t, filepath.Join(d, "model.safetensors.index.json"), map[string]any{"weight_map": wm})
			return d
		}, "", "missing shard 1 of 2"},
		{"bare safetensors without config", func() string {
			d := writeNeoX(t, nil, ts, 1)
			os.Remove(filepath.Join(d, "config.json"))
			return d
		}, "model.safetensors", "GPT-NeoX (Pythia) checkpoint, whose head count and rotary dims are in its config.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := filepath.Join(c.dir(), c.input)
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
}

// TestSharedNeoXBin: the reference's .bin (whose head is saved
// as lm_head.weight) and safetensors convert to the same tensors.
func TestSharedNeoXBin(t *testing.T) {
	dir := testutil.Shared(t, "reference", "neox")
	a, _ := convertTo(t, filepath.Join(dir, "model.safetensors"), DTypeSource)
	b, _ := convertTo(t, filepath.Join(dir, "pytorch_model.bin"), DTypeSource)
	ta, tb := mustTensors(t, a), mustTensors(t, b)
	if len(ta) != 28 || len(tb) != len(ta) {
		t.Fatalf("%d and %d tensors", len(ta), len(tb))
	}
	for k, v := range ta {
		if string(tb[k]) != string(v) {
			t.Errorf("tensor %s differs between the .bin and the safetensors", k)
		}
	}
}

// TestNeoXTorchBuffers: a torch-made .bin in the layout older transformers
// saved (testdata/hf/make_neox_buffers.py: bool attention.bias masks,
// masked_bias, rotary_emb.inv_freq among f16 weights) converts, the
// buffers listed as dropped and every weight copied; one bool tensor the
// table does not know is refused by name.
func TestNeoXTorchBuffers(t *testing.T) {
	dir := testutil.Testdata("hf", "neox-buffers")
	f, rep := convertOpen(t, dir, DTypeSource)
	note := strings.Join(rep.Notes, "\n")
	for l := 0; l < 2; l++ {
		for _, b := range []string{"attention.bias", "attention.masked_bias", "attention.rotary_emb.inv_freq"} {
			if !strings.Contains(note, "gpt_neox.layers."+itoa(l)+"."+b) {
				t.Errorf("notes do not list layer %d's %s: %s", l, b, note)
			}
		}
	}
	in, err := OpenInput(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for gguf, key := range map[string]string{
		"blk.1.ffn_up.weight":      "gpt_neox.layers.1.mlp.dense_h_to_4h.weight",
		"blk.0.ffn_down.bias":      "gpt_neox.layers.0.mlp.dense_4h_to_h.bias",
		"token_embd.weight":        "gpt_neox.embed_in.weight",
		"output.weight":            "embed_out.weight",
		"output_norm.bias":         "gpt_neox.final_layer_norm.bias",
		"blk.0.attn_output.weight": "gpt_neox.layers.0.attention.dense.weight",
	} {
		got, _ := f32Values(t, f, gguf)
		want, err := readF32(in.Ckpt.Tensor(key))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s differs from %s", gguf, key)
		}
	}
	_, err = Convert(context.Background(), testutil.Testdata("hf", "neox-unknown-bool"), filepath.Join(t.TempDir(), "out.gguf"), Options{})
	if err == nil || !strings.Contains(err.Error(), `tensor "gpt_neox.layers.0.attention.sliding_mask" is bool`) {
		t.Errorf("err = %v", err)
	}
}

// TestNeoXSafetensorsBoolBuffer: safetensors converted from an older .bin
// carry the bool attention.bias masks too; they are skipped by name, an
// unknown BOOL tensor is refused.
func TestNeoXSafetensorsBoolBuffer(t *testing.T) {
	mask := stTensor{"gpt_neox.layers.1.attention.bias", "BOOL", []int64{1, 1, 4, 4}, make([]byte, 16)}
	dir := writeNeoX(t, nil, append(neoxTensors(nil), mask), 1)
	_, rep := convertOpen(t, dir, DTypeF32)
	if !strings.Contains(strings.Join(rep.Notes, "\n"), "gpt_neox.layers.1.attention.bias") {
		t.Errorf("notes %q do not list the skipped mask", rep.Notes)
	}
	mask.name = "gpt_neox.layers.1.attention.window"
	dir = writeNeoX(t, nil, append(neoxTensors(nil), mask), 1)
	_, err := Convert(context.Background(), dir, filepath.Join(t.TempDir(), "out.gguf"), Options{})
	if err == nil || !strings.Contains(err.Error(), `"gpt_neox.layers.1.attention.window": dtype "BOOL" is not supported`) {
		t.Errorf("err = %v", err)
	}
}
