package engine_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/arch/llamacpp"
	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

// This file is a generator of llama.cpp-layout files, written
// independently of package convert: it follows llama.cpp's
// convert_hf_to_gguf.py (Rwkv6Model / Rwkv7Model: set_gguf_parameters,
// modify_tensors, _set_vocab_rwkv_world) step by step on a BlinkDL
// checkpoint (whose tensors are the Hugging Face RWKV-6/7 ones under
// other names), and writes the result the way gguf-py's GGUFWriter does:
// keys in insertion order, no general.alignment key, tensor data aligned to
// 32 bytes (GGUF's default), all F32 (--outtype f32). The tiny references
// have 1024 rows, so the vocabulary is the World vocabulary's first 1023
// tokens after "<s>", as _set_vocab_rwkv_world writes a vocabulary file of
// that length.

// gtensor is one tensor on its way out, shape in PyTorch order.
type gtensor struct {
	name  string
	shape []int64
	data  []float32
}

// blinkDLToLlamaCpp maps a BlinkDL key to llama.cpp's tensor name (what
// gguf-py's tensor_mapping gives for the Hugging Face name), with the
// block index (-1 outside blocks).
func blinkDLToLlamaCpp(key string) (string, int) {
	global := map[string]string{
		"emb.weight": "token_embd.weight", "blocks.0.ln0.weight": "token_embd_norm.weight", "blocks.0.ln0.bias": "token_embd_norm.bias",
		"ln_out.weight": "output_norm.weight", "ln_out.bias": "output_norm.bias", "head.weight": "output.weight",
	}
	if n, ok := global[key]; ok {
		return n, -1
	}
	var bid int
	var rest string
	if _, err := fmt.Sscanf(key, "blocks.%d.", &bid); err != nil {
		return "", -1
	}
	rest = key[len(fmt.Sprintf("blocks.%d.", bid)):]
	suffix := map[string]string{
		"ln1.weight": "attn_norm.weight", "ln1.bias": "attn_norm.bias", "ln2.weight": "attn_norm_2.weight", "ln2.bias": "attn_norm_2.bias",
		"att.ln_x.weight": "time_mix_ln.weight", "att.ln_x.bias": "time_mix_ln.bias",
		// RWKV-6
		"att.time_maa_x": "time_mix_lerp_x", "att.time_maa_w": "time_mix_lerp_w", "att.time_maa_k": "time_mix_lerp_k",
		"att.time_maa_v": "time_mix_lerp_v", "att.time_maa_r": "time_mix_lerp_r", "att.time_maa_g": "time_mix_lerp_g",
		"att.time_maa_w1": "time_mix_w1", "att.time_maa_w2": "time_mix_w2", "att.time_decay": "time_mix_decay",
		"att.time_decay_w1": "time_mix_decay_w1", "att.time_decay_w2": "time_mix_decay_w2", "att.time_faaaa": "time_mix_first",
		"att.gate.weight": "time_mix_gate.weight", "ffn.time_maa_k": "channel_mix_lerp_k", "ffn.time_maa_r": "channel_mix_lerp_r",
		"ffn.receptance.weight": "channel_mix_receptance.weight",
		// RWKV-7
		"att.w0": "time_mix_w0", "att.w1": "time_mix_w1", "att.w2": "time_mix_w2", "att.a0": "time_mix_a0", "att.a1": "time_mix_a1",
		"att.a2": "time_mix_a2", "att.v0": "time_mix_v0", "att.v1": "time_mix_v1", "att.v2": "time_mix_v2", "att.g1": "time_mix_g1",
		"att.g2": "time_mix_g2", "att.k_k": "time_mix_k_k", "att.k_a": "time_mix_k_a", "att.r_k": "time_mix_r_k", "ffn.x_k": "channel_mix_lerp_k",
		// both
		"att.key.weight": "time_mix_key.weight", "att.value.weight": "time_mix_value.weight",
		"att.receptance.weight": "time_mix_receptance.weight", "att.output.weight": "time_mix_output.weight",
		"ffn.key.weight": "channel_mix_key.weight", "ffn.value.weight": "channel_mix_value.weight",
	}[rest]
	if suffix == "" {
		return "", bid
	}
	if !strings.HasSuffix(suffix, ".weight") && !strings.HasSuffix(suffix, ".bias") {
		suffix += ".weight" // modify_tensors: new_name += ".weight"
	}
	return fmt.Sprintf("blk.%d.%s", bid, suffix), bid
}

func squeezed(shape []int64) []int64 {
	return slices.DeleteFunc(slices.Clone(shape), func(s int64) bool { return s == 1 })
}

// transposeLast swaps the last two dims of (…, r, c) data.
func transposeLast(x gtensor) gtensor {
	n := len(x.shape)
	r, c := int(x.shape[n-2]), int(x.shape[n-1])
	out := make([]float32, len(x.data))
	for b := 0; b < len(x.data); b += r * c {
		for i := 0; i < r; i++ {
			for j := 0; j < c; j++ {
				out[b+j*r+i] = x.data[b+i*c+j]
			}
		}
	}
	shape := slices.Clone(x.shape)
	shape[n-2], shape[n-1] = shape[n-1], shape[n-2]
	return gtensor{x.name, shape, out}
}

// llamaCppConvert writes the checkpoint at pth as llama.cpp's converter
// would (see the file comment) to a temp file and opens it. rescale is the
// Hugging Face config's rescale_every (RWKV-6 only).
func llamaCppConvert(t *testing.T, pth string, rescale int) *format.File {
	t.Helper()
	ck, err := ckpt.Open(pth)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	v7 := ck.Tensor("blocks.0.att.r_k") != nil
	var out []gtensor
	lerps := map[int]map[string]gtensor{}
	dims := map[string]int64{}
	for _, st := range ck.Tensors {
		raw, err := st.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		x := gtensor{shape: slices.Clone(st.Shape), data: make([]float32, st.NumElements())}
		if err := quant.DequantizeRow(st.DType, x.data, raw); err != nil {
			t.Fatal(err)
		}
		name, bid := blinkDLToLlamaCpp(st.Name)
		if v7 && strings.Contains(st.Name, ".att.x_") {
			name = st.Name // fused below
		}
		if name == "" {
			t.Fatalf("%s: no llama.cpp name", st.Name)
		}
		x.name = name
		switch {
		case st.Name == "emb.weight":
			dims["vocab"], dims["embd"] = x.shape[0], x.shape[1]
		case st.Name == "blocks.0.ffn.key.weight":
			dims["ffn"] = x.shape[0]
		case bid+1 > int(dims["layers"]):
			dims["layers"] = int64(bid + 1)
		}
		if !v7 {
			// Rwkv6Model.modify_tensors.
			switch {
			case strings.HasSuffix(name, "time_mix_w1.weight") || strings.HasSuffix(name, "time_mix_decay_w1.weight") ||
				strings.HasSuffix(name, "time_mix_decay_w2.weight"):
				x = transposeLast(x) // transpose(0, 1)
			case strings.HasSuffix(name, "time_mix_w2.weight"):
				x = transposeLast(x) // permute(0, 2, 1)
			}
			if strings.HasSuffix(name, "time_mix_decay.weight") || strings.Contains(name, "lerp") {
				x.shape = squeezed(x.shape)
			}
			if rescale > 0 && (strings.HasSuffix(name, "time_mix_output.weight") || strings.HasSuffix(name, "channel_mix_value.weight")) {
				d := float32(math.Pow(2, float64(bid/rescale))) // data_torch.div_(2 ** int(bid // rescale_every_n_layers))
				for i := range x.data {
					x.data[i] /= d
				}
			}
			if bid >= 0 && strings.Contains(name, "time_mix_lerp") && !strings.Contains(name, "time_mix_lerp_x") {
				if lerps[bid] == nil {
					lerps[bid] = map[string]gtensor{}
				}
				lerps[bid][name] = x
				if len(lerps[bid]) == 5 {
					// torch.stack([lerp.unsqueeze(0) for w, k, v, r, g], dim=0).unsqueeze(1): (5, 1, 1, C)
					f := gtensor{name: fmt.Sprintf("blk.%d.time_mix_lerp_fused.weight", bid), shape: []int64{5, 1, 1, dims["embd"]}}
					for _, s := range "wkvrg" {
						f.data = append(f.data, lerps[bid][fmt.Sprintf("blk.%d.time_mix_lerp_%c.weight", bid, s)].data...)
					}
					out = append(out, f)
				}
				continue
			}
			out = append(out, x)
			continue
		}
		// Rwkv7Model.modify_tensors.
		if bid == 0 && strings.Contains(name, ".time_mix_v") && !strings.Contains(name, "time_mix_value") {
			continue // "ignore them all since they are not used"
		}
		if bid >= 0 && strings.Contains(st.Name, "att.x_") {
			if lerps[bid] == nil {
				lerps[bid] = map[string]gtensor{}
			}
			lerps[bid][st.Name] = x
			if len(lerps[bid]) == 6 {
				// torch.stack of x_r, x_w, x_k, x_v, x_a, x_g (each (1, 1, C)), dim 0: (6, 1, 1, C)
				f := gtensor{name: fmt.Sprintf("blk.%d.time_mix_lerp_fused.weight", bid), shape: []int64{6, 1, 1, dims["embd"]}}
				for _, s := range "rwkvag" {
					f.data = append(f.data, lerps[bid][fmt.Sprintf("blocks.%d.att.x_%c", bid, s)].data...)
				}
				out = append(out, f)
			}
			continue
		}
		x.shape = squeezed(x.shape)
		for _, lora := range []string{"w1", "w2", "a1", "a2", "v1", "v2", "g1", "g2"} {
			if strings.HasSuffix(name, "time_mix_"+lora+".weight") {
				x = transposeLast(x)
			}
		}
		if strings.Contains(name, "r_k") {
			x.shape = []int64{int64(len(x.data))} // flatten()
		}
		if bid == 0 && strings.Contains(name, "time_mix_a") {
			// "dummy v0/v1/v2 on first layer"
			out = append(out, gtensor{strings.Replace(name, "time_mix_a", "time_mix_v", 1), x.shape, x.data})
		}
		out = append(out, x)
	}

	a := "rwkv6"
	if v7 {
		a = "rwkv7"
	}
	C := dims["embd"]
	kv := []kvPair{
		{"general.architecture", format.String(a)},
		{"general.name", format.String(strings.TrimSuffix(filepath.Base(pth), ".pth"))},
		{a + ".context_length", format.Uint32(1048576)},
		{a + ".embedding_length", format.Uint32(uint32(C))},
		{a + ".block_count", format.Uint32(uint32(dims["layers"]))},
		{a + ".attention.layer_norm_epsilon", format.Float32(1e-5)},
	}
	shapeOf := func(key string) []int64 { return ck.Tensor(key).Shape }
	if !v7 {
		kv = append(kv,
			kvPair{a + ".rescale_every_n_layers", format.Uint32(uint32(rescale))},
			kvPair{a + ".wkv.head_size", format.Uint32(uint32(shapeOf("blocks.0.att.time_faaaa")[1]))},
			// time_mix_extra_dim = 64 if hidden_size == 4096 else 32 (so for these shapes 32; the tensors agree)
			kvPair{a + ".time_mix_extra_dim", format.Uint32(uint32(shapeOf("blocks.0.att.time_maa_w1")[1] / 5))},
			kvPair{a + ".time_decay_extra_dim", format.Uint32(uint32(shapeOf("blocks.0.att.time_decay_w1")[1]))})
	} else {
		kv = append(kv,
			kvPair{a + ".wkv.head_size", format.Uint32(uint32(shapeOf("blocks.0.att.r_k")[1]))},
			kvPair{a + ".attention.decay_lora_rank", format.Uint32(uint32(shapeOf("blocks.0.att.w1")[1]))},
			kvPair{a + ".attention.iclr_lora_rank", format.Uint32(uint32(shapeOf("blocks.0.att.a1")[1]))},
			kvPair{a + ".attention.value_residual_mix_lora_rank", format.Uint32(uint32(shapeOf("blocks.1.att.v1")[1]))},
			kvPair{a + ".attention.gate_lora_rank", format.Uint32(uint32(shapeOf("blocks.0.att.g1")[1]))})
	}
	kv = append(kv,
		kvPair{a + ".feed_forward_length", format.Uint32(uint32(dims["ffn"]))},
		kvPair{"general.file_type", format.Uint32(0)},
		kvPair{a + ".attention.head_count", format.Uint32(0)})
	// _set_vocab_rwkv_world: "<s>" (control), then the vocabulary file's
	// tokens as repr() bodies; no <arch>.vocab_size (llama.cpp counts them).
	tok, err := tokenizer.Load(testutil.Shared(t, "tokenizers", "rwkv_vocab_v20230424.txt"))
	if err != nil {
		t.Fatal(err)
	}
	voc, err := tok.GGUFVocab()
	if err != nil {
		t.Fatal(err)
	}
	V := int(dims["vocab"])
	kv = append(kv,
		kvPair{"tokenizer.ggml.model", format.String("rwkv")},
		kvPair{"tokenizer.ggml.tokens", format.Strings(voc.Tokens[:V])},
		kvPair{"tokenizer.ggml.token_type", format.Int32s(voc.TokenTypes[:V])},
		kvPair{"tokenizer.ggml.eot_token_id", format.Uint32(261)},
		kvPair{"tokenizer.chat_template", format.String("rwkv-world")},
		kvPair{"general.quantization_version", format.Uint32(2)})
	p := filepath.Join(t.TempDir(), "llamacpp-"+a+".gguf")
	if err := os.WriteFile(p, ggufBytes(t, kv, out), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := format.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

type kvPair struct {
	key string
	v   format.Value
}

// ggufBytes encodes a GGUF v3 file as gguf-py's GGUFWriter lays it out:
// header, keys in order, tensor infos (dims reversed from the PyTorch
// shape), data at offsets aligned to 32.
func ggufBytes(t *testing.T, kv []kvPair, ts []gtensor) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) { le(uint64(len(s))); b.WriteString(s) }
	b.WriteString("GGUF")
	le(uint32(3))
	le(uint64(len(ts)))
	le(uint64(len(kv)))
	for _, p := range kv {
		str(p.key)
		le(uint32(p.v.Type))
		switch x := p.v.V.(type) {
		case string:
			str(x)
		case uint32:
			le(x)
		case float32:
			le(x)
		case []string:
			le(uint32(format.TypeString))
			le(uint64(len(x)))
			for _, s := range x {
				str(s)
			}
		case []int32:
			le(uint32(format.TypeInt32))
			le(uint64(len(x)))
			le(x)
		default:
			t.Fatalf("key %s: type %T", p.key, x)
		}
	}
	const align = 32
	off := uint64(0)
	for _, x := range ts {
		str(x.name)
		le(uint32(len(x.shape)))
		for i := len(x.shape) - 1; i >= 0; i-- {
			le(uint64(x.shape[i]))
		}
		le(uint32(quant.F32))
		le(off)
		off += (uint64(4*len(x.data)) + align - 1) / align * align
	}
	for b.Len()%align != 0 {
		b.WriteByte(0)
	}
	for _, x := range ts {
		le(x.data)
		for b.Len()%align != 0 {
			b.WriteByte(0)
		}
	}
	return b.Bytes()
}

// TestLlamaCppLayoutFixture: files in llama.cpp's converter layout, made
// from the v6/v7 references by the generator above (v6 also with
// rescale_every 1: every block's output and FFN value halved per block and
// the residual halved after it), pass the llama.cpp checker, carry a
// tokenizer rwkv-tools reads back, and reproduce ChatRWKV's reference
// logits within 1e-4 in rwkv-tools.
func TestLlamaCppLayoutFixture(t *testing.T) {
	dir := testutil.Shared(t, "reference")
	var man manifest
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ver     float64
		rescale int
		tol     float64
	}{
		// measured 1.66e-5 (fp32 summation order)
		{6, 0, 1e-4},
		// The residual halved after each block changes only what
		// LayerNorm's ε does: LN(x/2; ε) = LN(x; 4ε). Measured 9.0e-4 on
		// this tiny model (small activations); a reader ignoring the
		// rescale is checked below to be far off.
		{6, 1, 1.5e-3},
		{7, 0, 1e-4},
	} {
		i := -1
		for j := range man.Models {
			if man.Models[j].Version == c.ver {
				i = j
			}
		}
		if i < 0 {
			t.Fatalf("no RWKV-%g reference", c.ver)
		}
		mod := man.Models[i]
		t.Run(fmt.Sprintf("v%g-rescale%d", c.ver, c.rescale), func(t *testing.T) {
			f := llamaCppConvert(t, filepath.Join(dir, fmt.Sprintf("tiny-v%g-bf16.pth", c.ver)), c.rescale)
			if f.Alignment != 32 {
				t.Fatalf("alignment %d, want GGUF's default 32", f.Alignment)
			}
			if r := llamacpp.Check(f.Metadata, f.Tensors); !r.OK() {
				t.Fatalf("the generator's file fails the llama.cpp check: %q", r.Problems)
			}
			tok, err := convert.TokenizerFromMetadata(f.Metadata)
			if err != nil {
				t.Fatalf("tokenizer: %v", err)
			}
			if ids := tok.Encode("\n\n"); !slices.Equal(ids, []int{261}) {
				t.Errorf(`"\n\n" encodes to %v, want [261]`, ids)
			}
			m, err := engine.Load(f, engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, err := testutil.ReadF32(filepath.Join(dir, mod.LogitsFile))
			if err != nil {
				t.Fatal(err)
			}
			T, V := mod.LogitsShape[0], mod.LogitsShape[1]
			if m.Config().Vocab != V {
				t.Fatalf("vocab %d, want %d", m.Config().Vocab, V)
			}
			got := make([]float32, T*V)
			if err := m.Sequence(m.NewState(), mod.Tokens, got); err != nil {
				t.Fatal(err)
			}
			s := testutil.CompareLogits(want, got, V)
			t.Logf("%s", s)
			if s.MaxAbs > c.tol || s.Top1Agree != T {
				t.Errorf("llama.cpp-layout file: %s (want max |Δ| ≤ %g, top-1 everywhere)", s, c.tol)
			}
			if c.rescale == 0 {
				return
			}
			md := format.Metadata{}
			for k, v := range f.Metadata {
				md[k] = v
			}
			delete(md, "rwkv6.rescale_every_n_layers")
			wrong, err := engine.Load(writeGGUF(t, md, copyTensors(t, f, "")), engine.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := wrong.Sequence(wrong.NewState(), mod.Tokens, got); err != nil {
				t.Fatal(err)
			}
			if s := testutil.CompareLogits(want, got, V); s.MaxAbs < 20*c.tol {
				t.Errorf("ignoring rescale_every_n_layers is only %s off: the check cannot tell", s)
			} else {
				t.Logf("ignoring rescale_every_n_layers: %s", s)
			}
		})
	}
}
