// Package llamacpp checks whether a GGUF file loads in llama.cpp as
// written: the metadata keys and tensors llama.cpp's loader requires for
// rwkv6 and rwkv7, listed here from llama.cpp's own source independently
// of the arch table (so the table is tested against it).
//
// Sources (github.com/ggml-org/llama.cpp):
//   - src/llama-model.cpp, llama_model::load_hparams: get_key of
//     LLM_KV_CONTEXT_LENGTH, LLM_KV_EMBEDDING_LENGTH, LLM_KV_BLOCK_COUNT
//     (required); LLM_KV_VOCAB_SIZE (optional) || the length of
//     tokenizer.ggml.tokens; get_key_or_arr of LLM_KV_FEED_FORWARD_LENGTH
//     and LLM_KV_ATTENTION_HEAD_COUNT.
//   - src/models/rwkv6.cpp, llama_model_rwkv6::load_arch_hparams and
//     load_arch_tensors (earlier: llama-model.cpp load_tensors, case
//     LLM_ARCH_RWKV6): ATTENTION_LAYERNORM_EPS (optional: 0 when absent),
//     WKV_HEAD_SIZE, TIME_MIX_EXTRA_DIM, TIME_DECAY_EXTRA_DIM (required),
//     RESCALE_EVERY_N_LAYERS, TOKEN_SHIFT_COUNT (optional); the
//     create_tensor calls listed in rwkv6Tensors.
//   - src/models/rwkv7.cpp, llama_model_rwkv7::load_arch_hparams and
//     load_arch_tensors (case LLM_ARCH_RWKV7): WKV_HEAD_SIZE,
//     ATTENTION_DECAY_LORA_RANK, ATTENTION_ICLR_LORA_RANK,
//     ATTENTION_VALUE_RESIDUAL_MIX_LORA_RANK (required), GATE_LORA_RANK;
//     the create_tensor calls listed in rwkv7Tensors.
//   - src/llama-arch.cpp: the key names ("%s.attention.layer_norm_epsilon",
//     "%s.wkv.head_size", …) and tensor names ("blk.%d.time_mix_lerp_fused",
//     …).
//   - src/llama-model-loader.cpp: get_key checks the value type (a u32 key
//     stored as another type is an error); check_tensor_dims compares each
//     ne[i] and requires ne[i] == 1 beyond the listed dims; every tensor of
//     the file must be created ("wrong number of tensors").
//   - src/llama-vocab.cpp, llama_vocab::impl::load: tokenizer.ggml.model is
//     required; "none"/"no_vocab" takes the size from <arch>.vocab_size;
//     "gpt2" (BPE) needs tokenizer.ggml.merges.
package llamacpp

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/format"
)

// Key is a metadata key llama.cpp reads as required, with the GGUF type its
// getter accepts.
type Key struct {
	Name string
	Type format.ValueType
	Why  string
}

// Tensor is one create_tensor call: the GGUF name and ggml dims (ne,
// fastest first).
type Tensor struct {
	Name string
	Dims []uint64
	// Optional tensors are TENSOR_NOT_REQUIRED; see Requirements.OneOf.
	Optional bool
}

// Requirements are what llama.cpp's loader needs of one file.
type Requirements struct {
	Keys    []Key
	Tensors []Tensor
	// OneOf lists, per block, tensor names of which at least one must be
	// present (rwkv6: GGML_ASSERT(time_mix_lerp_fused or time_mix_lerp_w)).
	OneOf [][]string
}

// Result is the verdict on one file.
type Result struct {
	// Checked is false for architectures this package has no list for.
	Checked bool
	// Problems says why llama.cpp would not load the file as written (or
	// would load it wrongly); empty when it loads.
	Problems []string
}

// OK reports whether the file is checked and loads in llama.cpp.
func (r Result) OK() bool { return r.Checked && len(r.Problems) == 0 }

// hparams are the sizes the tensor list depends on.
type hparams struct {
	vocab, embd, layers, ffn, head           uint64
	mixDim, decayDim                         uint64 // rwkv6
	loraDecay, loraICLR, loraValue, loraGate uint64 // rwkv7
}

// Required lists the keys llama.cpp requires of archName and, when every
// size it needs is in md, the tensors; missing lists the keys that were
// needed for the tensor list and are absent.
func Required(archName string, md format.Metadata) (req Requirements, missing []string) {
	k := func(name string, t format.ValueType, why string) Key { return Key{archName + "." + name, t, why} }
	u32, f32 := format.TypeUint32, format.TypeFloat32
	req.Keys = []Key{
		{"general.architecture", format.TypeString, "llama_model_loader: the architecture"},
		k("context_length", u32, "llama_model::load_hparams (convert_hf_to_gguf.py writes 1048576)"),
		k("embedding_length", u32, "llama_model::load_hparams"),
		k("block_count", u32, "llama_model::load_hparams"),
		k("feed_forward_length", u32, "llama_model::load_hparams; channel_mix shapes use n_ff"),
		k("attention.head_count", u32, "llama_model::load_hparams (convert_hf_to_gguf.py: \"required by llama.cpp, unused\", 0)"),
		k("attention.layer_norm_epsilon", f32, "load_arch_hparams reads it as optional and then uses 0 for every LayerNorm"),
		k("wkv.head_size", u32, "load_arch_hparams"),
	}
	if archName == "rwkv6" {
		req.Keys = append(req.Keys,
			k("time_mix_extra_dim", u32, "llama_model_rwkv6::load_arch_hparams"),
			k("time_decay_extra_dim", u32, "llama_model_rwkv6::load_arch_hparams"))
	} else {
		req.Keys = append(req.Keys,
			k("attention.decay_lora_rank", u32, "llama_model_rwkv7::load_arch_hparams"),
			k("attention.iclr_lora_rank", u32, "llama_model_rwkv7::load_arch_hparams"),
			k("attention.value_residual_mix_lora_rank", u32, "llama_model_rwkv7::load_arch_hparams"),
			k("attention.gate_lora_rank", u32, "llama_model_rwkv7::load_arch_hparams (convert_hf_to_gguf.py writes it)"))
	}
	req.Keys = append(req.Keys, Key{"tokenizer.ggml.model", format.TypeString, "llama_vocab::impl::load"})

	var h hparams
	get := func(name string, dst *uint64) {
		v, err := md.Uint(archName + "." + name)
		if err != nil || v == 0 && name != "attention.value_residual_mix_lora_rank" {
			missing = append(missing, archName+"."+name)
			return
		}
		*dst = v
	}
	get("embedding_length", &h.embd)
	get("block_count", &h.layers)
	get("feed_forward_length", &h.ffn)
	get("wkv.head_size", &h.head)
	if archName == "rwkv6" {
		get("time_mix_extra_dim", &h.mixDim)
		get("time_decay_extra_dim", &h.decayDim)
	} else {
		get("attention.decay_lora_rank", &h.loraDecay)
		get("attention.iclr_lora_rank", &h.loraICLR)
		get("attention.value_residual_mix_lora_rank", &h.loraValue)
		get("attention.gate_lora_rank", &h.loraGate)
	}
	var err error
	if h.vocab, err = vocabSize(archName, md); err != nil {
		missing = append(missing, err.Error())
	}
	if len(missing) > 0 || h.embd%h.head != 0 || h.layers > 1<<12 {
		return req, missing
	}
	if archName == "rwkv6" {
		req.Tensors, req.OneOf = rwkv6Tensors(h)
	} else {
		req.Tensors = rwkv7Tensors(h)
	}
	return req, nil
}

// vocabSize is llama.cpp's n_vocab: <arch>.vocab_size, else the number of
// tokenizer.ggml.tokens.
func vocabSize(archName string, md format.Metadata) (uint64, error) {
	if v, err := md.Uint(archName + ".vocab_size"); err == nil && v > 0 {
		return v, nil
	}
	if toks, err := md.Strings("tokenizer.ggml.tokens"); err == nil && len(toks) > 0 {
		return uint64(len(toks)), nil
	}
	return 0, fmt.Errorf("%s.vocab_size or tokenizer.ggml.tokens (llama.cpp's vocabulary size)", archName)
}

// globals are the tensors outside the blocks (both architectures).
func globals(h hparams) []Tensor {
	C, V := h.embd, h.vocab
	return []Tensor{
		{Name: "token_embd.weight", Dims: []uint64{C, V}},
		{Name: "token_embd_norm.weight", Dims: []uint64{C}},
		{Name: "token_embd_norm.bias", Dims: []uint64{C}},
		{Name: "output_norm.weight", Dims: []uint64{C}},
		{Name: "output_norm.bias", Dims: []uint64{C}},
		{Name: "output.weight", Dims: []uint64{C, V}},
	}
}

// rwkv6Tensors is llama_model_rwkv6::load_arch_tensors' create_tensor list
// (attn_hidden_size = n_embd).
func rwkv6Tensors(h hparams) ([]Tensor, [][]string) {
	ts := globals(h)
	C, F, N, Dm, Dd := h.embd, h.ffn, h.head, h.mixDim, h.decayDim
	var oneOf [][]string
	for l := uint64(0); l < h.layers; l++ {
		n := func(s string) string { return fmt.Sprintf("blk.%d.%s", l, s) }
		ts = append(ts,
			Tensor{Name: n("attn_norm.weight"), Dims: []uint64{C}},
			Tensor{Name: n("attn_norm.bias"), Dims: []uint64{C}},
			Tensor{Name: n("attn_norm_2.weight"), Dims: []uint64{C}},
			Tensor{Name: n("attn_norm_2.bias"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_w1.weight"), Dims: []uint64{C, Dm * 5}},
			Tensor{Name: n("time_mix_w2.weight"), Dims: []uint64{Dm, C, 5}},
			Tensor{Name: n("time_mix_lerp_x.weight"), Dims: []uint64{C, 1, 1}},
			Tensor{Name: n("time_mix_lerp_w.weight"), Dims: []uint64{C, 1, 1}, Optional: true},
			Tensor{Name: n("time_mix_lerp_k.weight"), Dims: []uint64{C, 1, 1}, Optional: true},
			Tensor{Name: n("time_mix_lerp_v.weight"), Dims: []uint64{C, 1, 1}, Optional: true},
			Tensor{Name: n("time_mix_lerp_r.weight"), Dims: []uint64{C, 1, 1}, Optional: true},
			Tensor{Name: n("time_mix_lerp_g.weight"), Dims: []uint64{C, 1, 1}, Optional: true},
			Tensor{Name: n("time_mix_lerp_fused.weight"), Dims: []uint64{C, 1, 1, 5}, Optional: true},
			Tensor{Name: n("time_mix_first.weight"), Dims: []uint64{N, C / N}},
			Tensor{Name: n("time_mix_decay.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_decay_w1.weight"), Dims: []uint64{C, Dd}},
			Tensor{Name: n("time_mix_decay_w2.weight"), Dims: []uint64{Dd, C}},
			Tensor{Name: n("time_mix_key.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("time_mix_value.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("time_mix_receptance.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("time_mix_gate.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("time_mix_ln.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_ln.bias"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_output.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("channel_mix_lerp_k.weight"), Dims: []uint64{C, 1, 1}},
			Tensor{Name: n("channel_mix_lerp_r.weight"), Dims: []uint64{C, 1, 1}},
			Tensor{Name: n("channel_mix_key.weight"), Dims: []uint64{C, F}},
			Tensor{Name: n("channel_mix_value.weight"), Dims: []uint64{F, C}},
			Tensor{Name: n("channel_mix_receptance.weight"), Dims: []uint64{C, C}},
		)
		// GGML_ASSERT(!(layer.time_mix_lerp_fused == NULL && layer.time_mix_lerp_w == NULL))
		oneOf = append(oneOf, []string{n("time_mix_lerp_fused.weight"), n("time_mix_lerp_w.weight")})
	}
	return ts, oneOf
}

// rwkv7Tensors is llama_model_rwkv7::load_arch_tensors' create_tensor list
// (attn_hidden_size = n_embd; layer 0's v1/v2 take the iclr rank: "actually
// not used").
func rwkv7Tensors(h hparams) []Tensor {
	ts := globals(h)
	C, F := h.embd, h.ffn
	for l := uint64(0); l < h.layers; l++ {
		n := func(s string) string { return fmt.Sprintf("blk.%d.%s", l, s) }
		Dv := h.loraValue
		if l == 0 {
			Dv = h.loraICLR
		}
		ts = append(ts,
			Tensor{Name: n("attn_norm.weight"), Dims: []uint64{C}},
			Tensor{Name: n("attn_norm.bias"), Dims: []uint64{C}},
			Tensor{Name: n("attn_norm_2.weight"), Dims: []uint64{C}},
			Tensor{Name: n("attn_norm_2.bias"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_w0.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_w1.weight"), Dims: []uint64{C, h.loraDecay}},
			Tensor{Name: n("time_mix_w2.weight"), Dims: []uint64{h.loraDecay, C}},
			Tensor{Name: n("time_mix_a0.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_a1.weight"), Dims: []uint64{C, h.loraICLR}},
			Tensor{Name: n("time_mix_a2.weight"), Dims: []uint64{h.loraICLR, C}},
			Tensor{Name: n("time_mix_v0.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_v1.weight"), Dims: []uint64{C, Dv}},
			Tensor{Name: n("time_mix_v2.weight"), Dims: []uint64{Dv, C}},
			Tensor{Name: n("time_mix_g1.weight"), Dims: []uint64{C, h.loraGate}},
			Tensor{Name: n("time_mix_g2.weight"), Dims: []uint64{h.loraGate, C}},
			Tensor{Name: n("time_mix_lerp_fused.weight"), Dims: []uint64{C, 1, 1, 6}},
			Tensor{Name: n("time_mix_k_k.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_k_a.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_r_k.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_key.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("time_mix_value.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("time_mix_receptance.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("time_mix_ln.weight"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_ln.bias"), Dims: []uint64{C}},
			Tensor{Name: n("time_mix_output.weight"), Dims: []uint64{C, C}},
			Tensor{Name: n("channel_mix_lerp_k.weight"), Dims: []uint64{C, 1, 1}},
			Tensor{Name: n("channel_mix_key.weight"), Dims: []uint64{C, F}},
			Tensor{Name: n("channel_mix_value.weight"), Dims: []uint64{F, C}},
		)
	}
	return ts
}

// Check tells whether a file with metadata md and tensors ts loads in
// llama.cpp as written, and if not, why.
func Check(md format.Metadata, ts []format.TensorInfo) Result {
	archName, err := md.String("general.architecture")
	if err != nil {
		return Result{Checked: true, Problems: []string{"no general.architecture"}}
	}
	switch archName {
	case "rwkv6", "rwkv7":
	case "rwkv4", "rwkv5":
		return Result{Checked: true, Problems: []string{fmt.Sprintf("llama.cpp has no %s architecture (this layout is rwkv-tools' own)", archName)}}
	default:
		return Result{}
	}
	var res Result
	res.Checked = true
	bad := func(format string, args ...any) { res.Problems = append(res.Problems, fmt.Sprintf(format, args...)) }
	req, missing := Required(archName, md)
	for _, k := range req.Keys {
		v, ok := md[k.Name]
		switch {
		case !ok:
			bad("missing key %s (%s)", k.Name, k.Why)
		case v.Type != k.Type:
			bad("key %s is %v; llama.cpp reads %v", k.Name, v.Type, k.Type)
		}
	}
	model, _ := md.String("tokenizer.ggml.model")
	switch model {
	case "":
	case "none", "no_vocab":
		if _, err := md.Uint(archName + ".vocab_size"); err != nil {
			bad("tokenizer.ggml.model %q needs %s.vocab_size (llama.cpp's vocabulary size)", model, archName)
		}
	case "rwkv", "gpt2":
		if _, err := md.Strings("tokenizer.ggml.tokens"); err != nil {
			bad("tokenizer.ggml.model %q without tokenizer.ggml.tokens", model)
		}
		if _, err := md.Strings("tokenizer.ggml.merges"); model == "gpt2" && err != nil {
			bad("tokenizer.ggml.model \"gpt2\" without tokenizer.ggml.merges (llama_vocab: \"cannot find tokenizer merges\")")
		}
	default:
		bad("tokenizer.ggml.model %q is not one llama.cpp runs RWKV with (none, rwkv, gpt2)", model)
	}
	if len(missing) > 0 {
		bad("tensors not checked: the sizes need %s", strings.Join(missing, ", "))
		return res
	}
	have := make(map[string]format.TensorInfo, len(ts))
	for _, t := range ts {
		have[t.Name] = t
	}
	want := make(map[string]bool, len(req.Tensors))
	for _, t := range req.Tensors {
		want[t.Name] = true
		got, ok := have[t.Name]
		if !ok {
			if !t.Optional {
				bad("missing tensor %s %v", t.Name, t.Dims)
			}
			continue
		}
		if !dimsMatch(got.Dims, t.Dims) {
			bad("tensor %s has dims %v; llama.cpp creates it %v", t.Name, got.Dims, t.Dims)
		}
	}
	for _, group := range req.OneOf {
		if !slices.ContainsFunc(group, func(n string) bool { _, ok := have[n]; return ok }) {
			bad("none of %s (one is required)", strings.Join(group, ", "))
		}
	}
	var extra []string
	for _, t := range ts {
		if !want[t.Name] {
			extra = append(extra, t.Name)
		}
	}
	if len(extra) > 0 {
		shown := extra[:min(len(extra), 4)]
		more := ""
		if len(extra) > 4 {
			more = fmt.Sprintf(" and %d more", len(extra)-4)
		}
		bad("tensors llama.cpp does not create (it refuses a file with any: \"wrong number of tensors\"): %s%s", strings.Join(shown, ", "), more)
	}
	return res
}

// dimsMatch is llama_model_loader::check_tensor_dims: the listed dims
// equal, every further one 1.
func dimsMatch(got, want []uint64) bool {
	for i := 0; i < max(len(got), len(want)); i++ {
		g, w := uint64(1), uint64(1)
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return false
		}
	}
	return true
}
