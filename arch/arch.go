// Package arch is the one table of model architectures: for each one, the
// GGUF tensor names the engine reads, the BlinkDL checkpoint key each comes
// from, its shape as a function of the model's dims, and its role (which
// decides its storage type). The converter and the engine both work from
// this table, so a name is defined in exactly one place; a name that is not
// in it is an error everywhere.
package arch

import (
	"fmt"
	"slices"
	"strings"
)

// Names stored in general.architecture.
const (
	RWKV4 = "rwkv4" // the RWKV paper's architecture (RWKV-4 Pile / World / Raven)
	RWKV5 = "rwkv5"
	RWKV6 = "rwkv6"
	RWKV7 = "rwkv7"
	// GPTNeoX is the Transformer baseline (Pythia), llama.cpp's name.
	GPTNeoX = "gptneox"
)

// Role says what a tensor is for; the dtype policy is decided per role.
type Role int

const (
	// Vector: a norm weight/bias, mix coefficient, decay or bonus. Always
	// stored as F32: these are tiny and numerically sensitive.
	Vector Role = iota
	// Embedding: the token embedding matrix (rows are looked up).
	Embedding
	// Head: the output projection to logits.
	Head
	// Projection: a large [out][in] matrix inside a block.
	Projection
	// Lora: a small low-rank [out][in] matrix (RWKV-6 time_maa_w1/w2 and
	// time_decay_w1/w2; RWKV-7 w1/w2, a1/a2, v1/v2, g1/g2). Always stored as F32: small and sensitive (rwkv.cpp never
	// quantizes them either).
	Lora
)

func (r Role) String() string {
	switch r {
	case Vector:
		return "vector"
	case Embedding:
		return "embedding"
	case Head:
		return "head"
	case Projection:
		return "projection"
	case Lora:
		return "lora"
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Dims are the sizes that determine every tensor shape.
type Dims struct {
	Vocab  int // rows of the embedding and head
	Embd   int // C, the residual width
	Layers int // L
	FFN    int // F, the channel-mix hidden width

	// RWKV-5/7 (zero for RWKV-4).
	HeadSize int // N; the number of heads is Embd/HeadSize
	// RWKV-5.0 only: no att.gate (the output is not gated).
	NoGate bool

	// RWKV-6/7.
	DecayLora int // Dw, rank of w1/w2 (RWKV-6: Dd, of time_decay_w1/w2)
	// RWKV-6 only.
	MixLora    int  // Dm, rank of each of the five time_maa_w1/w2 slices
	StateTuned bool // the file carries att.time_state, the initial WKV state

	// RWKV-7 only.
	ICLRLora  int // Da, rank of a1/a2 (in-context learning rate)
	ValueLora int // Dv, rank of v1/v2 (value residual mix; 0 if Layers == 1)
	GateLora  int // Dg, rank of g1/g2

	// GPT-NeoX only: attention heads (head size Embd/Heads).
	Heads int

	// Layout of the RWKV-6/7 tensors (the zero value is llama.cpp's, the
	// one convert writes; rwkv4 and rwkv5 have a single layout).
	Layout Layout
}

// Layout is one way of laying out an architecture's tensors in GGUF. The
// layouts of one architecture hold the same values under other names and
// shapes; the engine reads every layout through the same logical names
// (Tensor.Parts), so a layout is a mapping, not another code path.
type Layout int

const (
	// LayoutLlamaCpp is llama.cpp's converter layout (convert_hf_to_gguf.py
	// Rwkv6Model/Rwkv7Model): the token-shift vectors fused into
	// time_mix_lerp_fused (rwkv6: w,k,v,r,g; rwkv7: r,w,k,v,a,g), rwkv7's
	// time_mix_r_k 1-D (C) and rwkv7 layer 0 carrying time_mix_v0/v1/v2
	// (copies of a0/a1/a2, never read). What convert writes.
	LayoutLlamaCpp Layout = iota
	// LayoutRWKVTools1 is what rwkv-tools wrote before it followed
	// llama.cpp's converter: separate time_mix_lerp_* vectors, rwkv7's
	// time_mix_r_k (H, N) and no layer-0 time_mix_v0/v1/v2. Still read.
	LayoutRWKVTools1
)

func (l Layout) String() string {
	switch l {
	case LayoutLlamaCpp:
		return "llama.cpp"
	case LayoutRWKVTools1:
		return "rwkv-tools-1"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// FusedLerp is the per-block GGUF name suffix of llama.cpp's fused
// token-shift tensor; its presence on block 0 marks LayoutLlamaCpp.
const FusedLerp = "time_mix_lerp_fused.weight"

// DetectLayout tells a file's layout of archName from its tensor names
// (has reports whether the file holds a tensor).
func DetectLayout(archName string, has func(name string) bool) Layout {
	if (archName == RWKV6 || archName == RWKV7) && !has(LayerName(0, FusedLerp)) {
		return LayoutRWKVTools1
	}
	return LayoutLlamaCpp
}

// Tensor describes one tensor of an architecture.
type Tensor struct {
	Name   string  // GGUF name, e.g. "blk.3.time_mix_key.weight"
	Source string  // BlinkDL key, e.g. "blocks.3.att.key.weight" ("" for a fused tensor)
	Shape  []int64 // PyTorch order (rows first); GGUF dims are the reverse
	Role   Role
	Layer  int // block index, or -1 for global tensors

	// Parts lists, for a fused tensor, the (C) vectors stacked in it, first
	// row first: Shape is (len(Parts), 1, 1, C).
	Parts []Part
	// SourceShape is the checkpoint's shape when it differs from Shape by
	// more than size-1 dims and a LoRA's transposition (rwkv7's r_k, stored
	// 1-D (C) from (H, N)); nil otherwise.
	SourceShape []int64
}

// Part is one row of a fused tensor: its logical GGUF name (the name it has
// as a separate tensor in LayoutRWKVTools1, the name the engine asks for)
// and its checkpoint key.
type Part struct {
	Name, Source string
}

// GGUFDims returns the shape in GGUF order (fastest-varying first).
func (t Tensor) GGUFDims() []uint64 {
	d := make([]uint64, len(t.Shape))
	for i, s := range t.Shape {
		d[len(t.Shape)-1-i] = uint64(s)
	}
	return d
}

// Key returns the fully qualified metadata key "<arch>.<name>".
func Key(archName, name string) string { return archName + "." + name }

// Metadata key suffixes shared by the architectures (llama.cpp's names,
// src/llama-arch.cpp LLM_KV_NAMES).
const (
	KeyVocabSize      = "vocab_size"
	KeyEmbeddingLen   = "embedding_length"
	KeyBlockCount     = "block_count"
	KeyFeedForwardLen = "feed_forward_length"
	KeyLayerNormEps   = "attention.layer_norm_epsilon"
)

// ContextLength is the <arch>.context_length (KeyContextLen) llama.cpp's converter writes
// for RWKV ("RWKV isn't context limited"): 1048576.
const ContextLength = 1 << 20

// RWKV-7 metadata key suffixes (llama.cpp's names).
const (
	KeyHeadSize      = "wkv.head_size"
	KeyGroupNormEps  = "attention.group_norm_epsilon"
	KeyDecayLoraRank = "attention.decay_lora_rank"
	KeyICLRLoraRank  = "attention.iclr_lora_rank"
	KeyValueLoraRank = "attention.value_residual_mix_lora_rank"
	KeyGateLoraRank  = "attention.gate_lora_rank"
)

// RWKV-6 metadata key suffixes (llama.cpp's names).
const (
	KeyTimeMixExtraDim   = "time_mix_extra_dim"
	KeyTimeDecayExtraDim = "time_decay_extra_dim"
	// KeyRescaleEvery: when n > 0, the residual is halved after every n-th
	// block and the blocks' time_mix_output and channel_mix_value are
	// divided by 2^(l/n) (llama.cpp's converter for Hugging Face RWKV-6
	// with rescale_every). Optional; convert writes 0.
	KeyRescaleEvery = "rescale_every_n_layers"
)

// RWKV-5 metadata key suffix: false for RWKV-5.0 (no att.gate tensor).
const KeyOutputGate = "attention.output_gate"

// LayerNormEps is the LayerNorm epsilon of every RWKV version.
const LayerNormEps = 1e-5

// GroupNormEps is the per-head GroupNorm (att.ln_x) epsilon of RWKV-5/6/7
// official checkpoints (docs/ARCHITECTURES.md §5.2, §9).
const GroupNormEps = 64e-5

// GroupNormEpsRWKVCppV5 is the GroupNorm epsilon rwkv.cpp uses for RWKV-5
// (its own tiny v5 models were trained with it; docs/ARCHITECTURES.md §15).
const GroupNormEpsRWKVCppV5 = 1e-5

// Supported reports whether rwkv-tools can convert and run archName.
func Supported(archName string) bool {
	return archName == RWKV4 || archName == RWKV5 || archName == RWKV6 || archName == RWKV7 || archName == GPTNeoX
}

// Unused reports whether a checkpoint key of archName is a known tensor
// that the model never reads and the converter drops: RWKV-7's layer-0
// att.v0/v1/v2 (BlinkDL files carry them, rwkv.cpp files do not; layer 0
// has no value residual; llama.cpp's layout stores copies of a0/a1/a2 in
// their place).
//
// GPT-NeoX: the buffers older transformers saved with the weights
// (attention.bias, a bool causal mask; attention.masked_bias, a scalar;
// attention.rotary_emb.inv_freq, recomputed from the config). These are
// also the only non-float tensors a checkpoint reader may skip.
func Unused(archName, key string) bool {
	if archName == GPTNeoX {
		rest, ok := strings.CutPrefix(key, "gpt_neox.layers.")
		if !ok {
			return false
		}
		num, suffix, ok := strings.Cut(rest, ".")
		if !ok || !allDigits(num) {
			return false
		}
		switch suffix {
		case "attention.bias", "attention.masked_bias", "attention.rotary_emb.inv_freq":
			return true
		}
		return false
	}
	if archName != RWKV7 {
		return false
	}
	switch key {
	case "blocks.0.att.v0", "blocks.0.att.v1", "blocks.0.att.v2":
		return true
	}
	return false
}

// Tensors returns every tensor of archName with dims d, in the canonical
// file order: global inputs, blocks in order, then the output tensors.
func Tensors(archName string, d Dims) ([]Tensor, error) {
	if d.Vocab <= 0 || d.Embd <= 0 || d.Layers <= 0 || d.FFN <= 0 {
		return nil, fmt.Errorf("%s: invalid dims %+v", archName, d)
	}
	switch archName {
	case RWKV4:
		return rwkv4Tensors(d), nil
	case GPTNeoX:
		if d.Heads <= 0 || d.Embd%d.Heads != 0 {
			return nil, fmt.Errorf("%s: invalid dims %+v (the head count must divide n_embd)", archName, d)
		}
		return gptneoxTensors(d), nil
	case RWKV7:
		if d.HeadSize <= 0 || d.Embd%d.HeadSize != 0 || d.DecayLora <= 0 || d.ICLRLora <= 0 || d.GateLora <= 0 ||
			(d.Layers > 1 && d.ValueLora <= 0) {
			return nil, fmt.Errorf("%s: invalid dims %+v (head size must divide n_embd; LoRA ranks must be positive)", archName, d)
		}
		return rwkv7Tensors(d), nil
	case RWKV5:
		if d.HeadSize <= 0 || d.Embd%d.HeadSize != 0 {
			return nil, fmt.Errorf("%s: invalid dims %+v (head size must divide n_embd)", archName, d)
		}
		return rwkv5Tensors(d), nil
	case RWKV6:
		if d.HeadSize <= 0 || d.Embd%d.HeadSize != 0 || d.MixLora <= 0 || d.DecayLora <= 0 {
			return nil, fmt.Errorf("%s: invalid dims %+v (head size must divide n_embd; LoRA ranks must be positive)", archName, d)
		}
		return rwkv6Tensors(d), nil
	}
	return nil, fmt.Errorf("unknown architecture %q", archName)
}

// layerSpec is one row of a per-block table: GGUF suffix, source suffix,
// shape in terms of C and F.
type layerSpec struct {
	name, source string
	shape        func(d Dims) []int64
	role         Role
}

// rowSpec is a layerSpec that may depend on the layout (RWKV-6/7 tables).
type rowSpec struct {
	name, source string
	shape        func(d Dims) []int64
	role         Role
	// only, when set, is the one layout the row belongs to.
	only *Layout
	// parts are the (name, source) suffixes of a fused tensor's rows.
	parts []Part
	// from is the checkpoint shape when it is not shape (see SourceShape).
	from func(d Dims) []int64
}

var (
	llamaCppOnly   = ptr(LayoutLlamaCpp)
	rwkvTools1Only = ptr(LayoutRWKVTools1)
)

func ptr(l Layout) *Layout { return &l }

// rows lifts a layout-independent table.
func rows(ls []layerSpec) []rowSpec {
	out := make([]rowSpec, len(ls))
	for i, l := range ls {
		out[i] = rowSpec{name: l.name, source: l.source, shape: l.shape, role: l.role}
	}
	return out
}

func vecC(d Dims) []int64  { return []int64{int64(d.Embd)} }
func matCC(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.Embd)} }
func matFC(d Dims) []int64 { return []int64{int64(d.FFN), int64(d.Embd)} }
func matCF(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.FFN)} }

// modelTensors lists the embedding and ln0, then every block's rows of
// layer (less those skip refuses; then extra's tensors, if any), then the
// output norm and head.
func modelTensors(d Dims, layer []rowSpec, skip func(l int, s rowSpec) bool, extra func(l int) []Tensor) []Tensor {
	V, C := int64(d.Vocab), int64(d.Embd)
	ts := []Tensor{
		{Name: "token_embd.weight", Source: "emb.weight", Shape: []int64{V, C}, Role: Embedding, Layer: -1},
		{Name: "token_embd_norm.weight", Source: "blocks.0.ln0.weight", Shape: []int64{C}, Role: Vector, Layer: -1},
		{Name: "token_embd_norm.bias", Source: "blocks.0.ln0.bias", Shape: []int64{C}, Role: Vector, Layer: -1},
	}
	for l := 0; l < d.Layers; l++ {
		for _, s := range layer {
			if (skip != nil && skip(l, s)) || (s.only != nil && *s.only != d.Layout) {
				continue
			}
			t := Tensor{
				Name:   fmt.Sprintf("blk.%d.%s", l, s.name),
				Source: fmt.Sprintf("blocks.%d.%s", l, s.source),
				Shape:  s.shape(d),
				Role:   s.role,
				Layer:  l,
			}
			if s.source == "" {
				t.Source = ""
			}
			for _, p := range s.parts {
				t.Parts = append(t.Parts, Part{LayerName(l, p.Name), fmt.Sprintf("blocks.%d.%s", l, p.Source)})
			}
			if s.from != nil {
				t.SourceShape = s.from(d)
			}
			ts = append(ts, t)
		}
		if extra != nil {
			ts = append(ts, extra(l)...)
		}
	}
	return append(ts,
		Tensor{Name: "output_norm.weight", Source: "ln_out.weight", Shape: []int64{C}, Role: Vector, Layer: -1},
		Tensor{Name: "output_norm.bias", Source: "ln_out.bias", Shape: []int64{C}, Role: Vector, Layer: -1},
		Tensor{Name: "output.weight", Source: "head.weight", Shape: []int64{V, C}, Role: Head, Layer: -1},
	)
}

// rwkv4Layer is the RWKV-4 block. μ ("mu") is the weight on the current
// token (x·μ + x_prev·(1−μ)), as in the checkpoint; llama.cpp's "lerp"
// names for v6/v7 mean the weight on the previous token, hence other names.
var rwkv4Layer = []layerSpec{
	{"attn_norm.weight", "ln1.weight", vecC, Vector},
	{"attn_norm.bias", "ln1.bias", vecC, Vector},
	{"time_mix_mu_k.weight", "att.time_mix_k", vecC, Vector},
	{"time_mix_mu_v.weight", "att.time_mix_v", vecC, Vector},
	{"time_mix_mu_r.weight", "att.time_mix_r", vecC, Vector},
	{"time_mix_decay.weight", "att.time_decay", vecC, Vector},
	{"time_mix_first.weight", "att.time_first", vecC, Vector},
	{"time_mix_key.weight", "att.key.weight", matCC, Projection},
	{"time_mix_value.weight", "att.value.weight", matCC, Projection},
	{"time_mix_receptance.weight", "att.receptance.weight", matCC, Projection},
	{"time_mix_output.weight", "att.output.weight", matCC, Projection},
	{"attn_norm_2.weight", "ln2.weight", vecC, Vector},
	{"attn_norm_2.bias", "ln2.bias", vecC, Vector},
	{"channel_mix_mu_k.weight", "ffn.time_mix_k", vecC, Vector},
	{"channel_mix_mu_r.weight", "ffn.time_mix_r", vecC, Vector},
	{"channel_mix_key.weight", "ffn.key.weight", matFC, Projection},
	{"channel_mix_receptance.weight", "ffn.receptance.weight", matCC, Projection},
	{"channel_mix_value.weight", "ffn.value.weight", matCF, Projection},
}

func rwkv4Tensors(d Dims) []Tensor { return modelTensors(d, rows(rwkv4Layer), nil, nil) }

// rwkv5Layer is the RWKV-5 block (docs/ARCHITECTURES.md §5). μ is the
// weight on the current token, as in RWKV-4. The decay and bonus are
// stored per channel (C = H·N) whatever the source layout: decay holds
// w = exp(−exp(time_decay)) and first holds u (time_faaaa raw, or
// exp(time_first) for the 5.0/5.1 previews), the per-head values of
// 5.0/5.1 repeated over the head's N channels. RWKV-5.0 has no gate.
var rwkv5Layer = []layerSpec{
	{"attn_norm.weight", "ln1.weight", vecC, Vector},
	{"attn_norm.bias", "ln1.bias", vecC, Vector},
	{"time_mix_mu_k.weight", "att.time_mix_k", vecC, Vector},
	{"time_mix_mu_v.weight", "att.time_mix_v", vecC, Vector},
	{"time_mix_mu_r.weight", "att.time_mix_r", vecC, Vector},
	{"time_mix_mu_g.weight", "att.time_mix_g", vecC, Vector},
	{"time_mix_decay.weight", "att.time_decay", vecC, Vector},
	{"time_mix_first.weight", "att.time_faaaa", vecC, Vector},
	{"time_mix_key.weight", "att.key.weight", matCC, Projection},
	{"time_mix_value.weight", "att.value.weight", matCC, Projection},
	{"time_mix_receptance.weight", "att.receptance.weight", matCC, Projection},
	{"time_mix_gate.weight", "att.gate.weight", matCC, Projection},
	{"time_mix_output.weight", "att.output.weight", matCC, Projection},
	{"time_mix_ln.weight", "att.ln_x.weight", vecC, Vector},
	{"time_mix_ln.bias", "att.ln_x.bias", vecC, Vector},
	{"attn_norm_2.weight", "ln2.weight", vecC, Vector},
	{"attn_norm_2.bias", "ln2.bias", vecC, Vector},
	{"channel_mix_mu_k.weight", "ffn.time_mix_k", vecC, Vector},
	{"channel_mix_mu_r.weight", "ffn.time_mix_r", vecC, Vector},
	{"channel_mix_key.weight", "ffn.key.weight", matFC, Projection},
	{"channel_mix_receptance.weight", "ffn.receptance.weight", matCC, Projection},
	{"channel_mix_value.weight", "ffn.value.weight", matCF, Projection},
}

func rwkv5Tensors(d Dims) []Tensor {
	skip := func(_ int, s rowSpec) bool {
		return d.NoGate && (s.name == "time_mix_mu_g.weight" || s.name == "time_mix_gate.weight")
	}
	return modelTensors(d, rows(rwkv5Layer), skip, nil)
}

func headNN(d Dims) []int64 { return []int64{int64(d.Embd / d.HeadSize), int64(d.HeadSize)} }

// rwkv6Layer is the RWKV-6 block (docs/ARCHITECTURES.md §6), with
// llama.cpp's rwkv6 names. The token-shift coefficients ("lerp") are the
// weight on the previous token. LoRAs are stored [out][in] (BlinkDL keeps
// them [in][out]: the converter transposes them; time_maa_w2 (5, Dm, C)
// becomes (5, C, Dm), five [out][in] slices in the order w, k, v, r, g).
// time_decay stays raw (the decay is computed per token).
var rwkv6Layer = []rowSpec{
	{name: "attn_norm.weight", source: "ln1.weight", shape: vecC, role: Vector},
	{name: "attn_norm.bias", source: "ln1.bias", shape: vecC, role: Vector},
	{name: "time_mix_lerp_x.weight", source: "att.time_maa_x", shape: vecC, role: Vector},
	// llama.cpp stacks the other five in the order of the LoRA slices
	// (convert_hf_to_gguf.py Rwkv6Model.modify_tensors: torch.stack of
	// lerp_w, k, v, r, g, each unsqueezed to (1, 1, C)).
	{name: FusedLerp, shape: fused(5), role: Vector, only: llamaCppOnly, parts: rwkv6LerpParts},
	{name: "time_mix_lerp_w.weight", source: "att.time_maa_w", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_k.weight", source: "att.time_maa_k", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_v.weight", source: "att.time_maa_v", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_r.weight", source: "att.time_maa_r", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_g.weight", source: "att.time_maa_g", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_w1.weight", source: "att.time_maa_w1", shape: func(d Dims) []int64 { return []int64{int64(5 * d.MixLora), int64(d.Embd)} }, role: Lora},
	{name: "time_mix_w2.weight", source: "att.time_maa_w2", shape: func(d Dims) []int64 { return []int64{5, int64(d.Embd), int64(d.MixLora)} }, role: Lora},
	{name: "time_mix_decay.weight", source: "att.time_decay", shape: vecC, role: Vector},
	{name: "time_mix_decay_w1.weight", source: "att.time_decay_w1", shape: func(d Dims) []int64 { return []int64{int64(d.DecayLora), int64(d.Embd)} }, role: Lora},
	{name: "time_mix_decay_w2.weight", source: "att.time_decay_w2", shape: func(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.DecayLora)} }, role: Lora},
	{name: "time_mix_first.weight", source: "att.time_faaaa", shape: headNN, role: Vector},
	{name: "time_mix_key.weight", source: "att.key.weight", shape: matCC, role: Projection},
	{name: "time_mix_value.weight", source: "att.value.weight", shape: matCC, role: Projection},
	{name: "time_mix_receptance.weight", source: "att.receptance.weight", shape: matCC, role: Projection},
	{name: "time_mix_gate.weight", source: "att.gate.weight", shape: matCC, role: Projection},
	{name: "time_mix_output.weight", source: "att.output.weight", shape: matCC, role: Projection},
	{name: "time_mix_ln.weight", source: "att.ln_x.weight", shape: vecC, role: Vector},
	{name: "time_mix_ln.bias", source: "att.ln_x.bias", shape: vecC, role: Vector},
	{name: "attn_norm_2.weight", source: "ln2.weight", shape: vecC, role: Vector},
	{name: "attn_norm_2.bias", source: "ln2.bias", shape: vecC, role: Vector},
	{name: "channel_mix_lerp_k.weight", source: "ffn.time_maa_k", shape: vecC, role: Vector},
	{name: "channel_mix_lerp_r.weight", source: "ffn.time_maa_r", shape: vecC, role: Vector},
	{name: "channel_mix_key.weight", source: "ffn.key.weight", shape: matFC, role: Projection},
	{name: "channel_mix_receptance.weight", source: "ffn.receptance.weight", shape: matCC, role: Projection},
	{name: "channel_mix_value.weight", source: "ffn.value.weight", shape: matCF, role: Projection},
}

var rwkv6LerpParts = []Part{
	{"time_mix_lerp_w.weight", "att.time_maa_w"}, {"time_mix_lerp_k.weight", "att.time_maa_k"},
	{"time_mix_lerp_v.weight", "att.time_maa_v"}, {"time_mix_lerp_r.weight", "att.time_maa_r"},
	{"time_mix_lerp_g.weight", "att.time_maa_g"},
}

// fused is the shape (n, 1, 1, C) of a fused token-shift tensor (GGUF dims
// {C, 1, 1, n}, llama.cpp's create_tensor of time_mix_lerp_fused).
func fused(n int64) func(d Dims) []int64 {
	return func(d Dims) []int64 { return []int64{n, 1, 1, int64(d.Embd)} }
}

// RWKV6StateTensor is the per-block GGUF name suffix of a state-tuned
// RWKV-6 model's initial WKV state (no llama.cpp name exists).
const RWKV6StateTensor = "time_mix_state.weight"

func rwkv6Tensors(d Dims) []Tensor {
	var extra func(l int) []Tensor
	if d.StateTuned {
		// Stored [h][key][value], the engine's S layout (the checkpoint's
		// is [h][value][key]: the converter transposes it).
		H, N := int64(d.Embd/d.HeadSize), int64(d.HeadSize)
		extra = func(l int) []Tensor {
			return []Tensor{{Name: LayerName(l, RWKV6StateTensor), Source: fmt.Sprintf("blocks.%d.att.time_state", l),
				Shape: []int64{H, N, N}, Role: Vector, Layer: l}}
		}
	}
	return modelTensors(d, rwkv6Layer, nil, extra)
}

// rwkv7Layer is the RWKV-7 block (docs/ARCHITECTURES.md §7). The six
// token-shift coefficients ("lerp": weight on the previous token) are
// separate vectors; LoRA matrices are stored [out][in] like every other
// matrix (BlinkDL keeps them [in][out]: the converter transposes them).
// Layer 0 has no value residual: its v0/v1/v2 are llama.cpp's placeholders
// (copies of a0/a1/a2, never read) or absent (rwkv-tools-1; see Unused).
var rwkv7Layer = []rowSpec{
	{name: "attn_norm.weight", source: "ln1.weight", shape: vecC, role: Vector},
	{name: "attn_norm.bias", source: "ln1.bias", shape: vecC, role: Vector},
	// llama.cpp stacks the six in the order r, w, k, v, a, g
	// (convert_hf_to_gguf.py Rwkv7Model.modify_tensors, lerp_list).
	{name: FusedLerp, shape: fused(6), role: Vector, only: llamaCppOnly, parts: rwkv7LerpParts},
	{name: "time_mix_lerp_r.weight", source: "att.x_r", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_w.weight", source: "att.x_w", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_k.weight", source: "att.x_k", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_v.weight", source: "att.x_v", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_a.weight", source: "att.x_a", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_lerp_g.weight", source: "att.x_g", shape: vecC, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_w0.weight", source: "att.w0", shape: vecC, role: Vector},
	{name: "time_mix_w1.weight", source: "att.w1", shape: func(d Dims) []int64 { return []int64{int64(d.DecayLora), int64(d.Embd)} }, role: Lora},
	{name: "time_mix_w2.weight", source: "att.w2", shape: func(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.DecayLora)} }, role: Lora},
	{name: "time_mix_a0.weight", source: "att.a0", shape: vecC, role: Vector},
	{name: "time_mix_a1.weight", source: "att.a1", shape: func(d Dims) []int64 { return []int64{int64(d.ICLRLora), int64(d.Embd)} }, role: Lora},
	{name: "time_mix_a2.weight", source: "att.a2", shape: func(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.ICLRLora)} }, role: Lora},
	{name: "time_mix_v0.weight", source: "att.v0", shape: vecC, role: Vector},
	{name: "time_mix_v1.weight", source: "att.v1", shape: func(d Dims) []int64 { return []int64{int64(d.ValueLora), int64(d.Embd)} }, role: Lora},
	{name: "time_mix_v2.weight", source: "att.v2", shape: func(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.ValueLora)} }, role: Lora},
	{name: "time_mix_g1.weight", source: "att.g1", shape: func(d Dims) []int64 { return []int64{int64(d.GateLora), int64(d.Embd)} }, role: Lora},
	{name: "time_mix_g2.weight", source: "att.g2", shape: func(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.GateLora)} }, role: Lora},
	{name: "time_mix_k_k.weight", source: "att.k_k", shape: vecC, role: Vector},
	{name: "time_mix_k_a.weight", source: "att.k_a", shape: vecC, role: Vector},
	// llama.cpp: 1-D (C) (convert_hf_to_gguf.py flattens r_k).
	{name: "time_mix_r_k.weight", source: "att.r_k", shape: vecC, role: Vector, only: llamaCppOnly, from: headNN},
	{name: "time_mix_r_k.weight", source: "att.r_k", shape: headNN, role: Vector, only: rwkvTools1Only},
	{name: "time_mix_receptance.weight", source: "att.receptance.weight", shape: matCC, role: Projection},
	{name: "time_mix_key.weight", source: "att.key.weight", shape: matCC, role: Projection},
	{name: "time_mix_value.weight", source: "att.value.weight", shape: matCC, role: Projection},
	{name: "time_mix_output.weight", source: "att.output.weight", shape: matCC, role: Projection},
	{name: "time_mix_ln.weight", source: "att.ln_x.weight", shape: vecC, role: Vector},
	{name: "time_mix_ln.bias", source: "att.ln_x.bias", shape: vecC, role: Vector},
	{name: "attn_norm_2.weight", source: "ln2.weight", shape: vecC, role: Vector},
	{name: "attn_norm_2.bias", source: "ln2.bias", shape: vecC, role: Vector},
	{name: "channel_mix_lerp_k.weight", source: "ffn.x_k", shape: vecC, role: Vector},
	{name: "channel_mix_key.weight", source: "ffn.key.weight", shape: matFC, role: Projection},
	{name: "channel_mix_value.weight", source: "ffn.value.weight", shape: matCF, role: Projection},
}

var rwkv7LerpParts = []Part{
	{"time_mix_lerp_r.weight", "att.x_r"}, {"time_mix_lerp_w.weight", "att.x_w"},
	{"time_mix_lerp_k.weight", "att.x_k"}, {"time_mix_lerp_v.weight", "att.x_v"},
	{"time_mix_lerp_a.weight", "att.x_a"}, {"time_mix_lerp_g.weight", "att.x_g"},
}

func rwkv7Tensors(d Dims) []Tensor {
	skip := func(l int, s rowSpec) bool {
		// layer 0 has no value residual
		return l == 0 && strings.HasPrefix(s.name, "time_mix_v") && s.name != "time_mix_value.weight"
	}
	var extra func(l int) []Tensor
	if d.Layout == LayoutLlamaCpp {
		// llama.cpp requires layer 0's v0/v1/v2 with a1/a2's shapes
		// (llama_model_rwkv7::load_arch_tensors, "actually not used") and
		// its converter fills them with copies of a0/a1/a2
		// (Rwkv7Model.modify_tensors, "dummy v0/v1/v2 on first layer").
		C, Da := int64(d.Embd), int64(d.ICLRLora)
		extra = func(l int) []Tensor {
			if l != 0 {
				return nil
			}
			return []Tensor{
				{Name: LayerName(0, "time_mix_v0.weight"), Source: "blocks.0.att.a0", Shape: []int64{C}, Role: Vector, Layer: 0},
				{Name: LayerName(0, "time_mix_v1.weight"), Source: "blocks.0.att.a1", Shape: []int64{Da, C}, Role: Lora, Layer: 0},
				{Name: LayerName(0, "time_mix_v2.weight"), Source: "blocks.0.att.a2", Shape: []int64{C, Da}, Role: Lora, Layer: 0},
			}
		}
	}
	return modelTensors(d, rwkv7Layer, skip, extra)
}

// LayerName returns the GGUF name of a per-block tensor, e.g.
// LayerName(3, "time_mix_key.weight").
func LayerName(layer int, suffix string) string { return fmt.Sprintf("blk.%d.%s", layer, suffix) }

// FindPart returns the fused tensor of ts that holds the logical vector
// name (e.g. "blk.3.time_mix_lerp_k.weight") and its row.
func FindPart(ts []Tensor, name string) (Tensor, int, bool) {
	for _, t := range ts {
		for i, p := range t.Parts {
			if p.Name == name {
				return t, i, true
			}
		}
	}
	return Tensor{}, 0, false
}

// Find returns the tensor named name (GGUF name) in ts.
func Find(ts []Tensor, name string) (Tensor, bool) {
	i := slices.IndexFunc(ts, func(t Tensor) bool { return t.Name == name })
	if i < 0 {
		return Tensor{}, false
	}
	return ts[i], true
}

// IsLayerKey reports whether a checkpoint key belongs to a block, returning
// its index ("blocks.12.att.key.weight" → 12).
func IsLayerKey(key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, "blocks.")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, ".")
	if !ok || num == "" || len(num) > 6 {
		return 0, false
	}
	if !allDigits(num) {
		return 0, false
	}
	n := 0
	for _, c := range num {
		n = n*10 + int(c-'0')
	}
	return n, true
}

func allDigits(s string) bool {
	if s == "" || len(s) > 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// gptneoxLayer is the GPT-NeoX block (docs/ARCHITECTURES.md §12) with
// llama.cpp's gptneox names; the sources are Hugging Face
// GPTNeoXForCausalLM keys. attn_qkv is stored as llama.cpp's converter
// stores it: all heads' q, then all k, then all v (the checkpoint
// interleaves them per head; the converter regroups the rows).
var gptneoxLayer = []layerSpec{
	{"attn_norm.weight", "input_layernorm.weight", vecC, Vector},
	{"attn_norm.bias", "input_layernorm.bias", vecC, Vector},
	{"attn_qkv.weight", "attention.query_key_value.weight", func(d Dims) []int64 { return []int64{3 * int64(d.Embd), int64(d.Embd)} }, Projection},
	{"attn_qkv.bias", "attention.query_key_value.bias", func(d Dims) []int64 { return []int64{3 * int64(d.Embd)} }, Vector},
	{"attn_output.weight", "attention.dense.weight", matCC, Projection},
	{"attn_output.bias", "attention.dense.bias", vecC, Vector},
	{"ffn_norm.weight", "post_attention_layernorm.weight", vecC, Vector},
	{"ffn_norm.bias", "post_attention_layernorm.bias", vecC, Vector},
	{"ffn_up.weight", "mlp.dense_h_to_4h.weight", matFC, Projection},
	{"ffn_up.bias", "mlp.dense_h_to_4h.bias", func(d Dims) []int64 { return []int64{int64(d.FFN)} }, Vector},
	{"ffn_down.weight", "mlp.dense_4h_to_h.weight", matCF, Projection},
	{"ffn_down.bias", "mlp.dense_4h_to_h.bias", vecC, Vector},
}

func gptneoxTensors(d Dims) []Tensor {
	V, C := int64(d.Vocab), int64(d.Embd)
	ts := []Tensor{{Name: "token_embd.weight", Source: "gpt_neox.embed_in.weight", Shape: []int64{V, C}, Role: Embedding, Layer: -1}}
	for l := 0; l < d.Layers; l++ {
		for _, s := range gptneoxLayer {
			ts = append(ts, Tensor{
				Name:   LayerName(l, s.name),
				Source: fmt.Sprintf("gpt_neox.layers.%d.%s", l, s.source),
				Shape:  s.shape(d),
				Role:   s.role,
				Layer:  l,
			})
		}
	}
	return append(ts,
		Tensor{Name: "output_norm.weight", Source: "gpt_neox.final_layer_norm.weight", Shape: []int64{C}, Role: Vector, Layer: -1},
		Tensor{Name: "output_norm.bias", Source: "gpt_neox.final_layer_norm.bias", Shape: []int64{C}, Role: Vector, Layer: -1},
		Tensor{Name: "output.weight", Source: "embed_out.weight", Shape: []int64{V, C}, Role: Head, Layer: -1},
	)
}

// GPT-NeoX metadata key suffixes (llama.cpp's names; the first two are
// written for RWKV too: context_length ContextLength, head_count 0, which
// llama.cpp's converter writes as "required by llama.cpp, unused").
const (
	KeyContextLen       = "context_length"
	KeyHeadCount        = "attention.head_count"
	KeyAttnLayerNormEps = "attention.layer_norm_epsilon"
	KeyRopeDims         = "rope.dimension_count"
	KeyRopeFreqBase     = "rope.freq_base"
	KeyParallelResidual = "use_parallel_residual"
)

// FromTransformers maps a Hugging Face transformers key of archName back
// to the checkpoint key the table's Source names. RWKV-4 undoes
// convert_rwkv_checkpoint_to_hf.py's renames (emb. → rwkv.embeddings.,
// blocks.0.ln0 → rwkv.blocks.0.pre_ln, att → attention, ffn →
// feed_forward, time_mix_k/v/r → time_mix_key/value/receptance, every key
// but head.weight under rwkv.); GPT-NeoX sources are transformers keys
// already. ok is false for a key the renames do not produce.
func FromTransformers(archName, key string) (string, bool) {
	switch archName {
	case GPTNeoX:
		if key == "lm_head.weight" {
			return "embed_out.weight", true // how some transformers versions save embed_out
		}
		return key, true
	case RWKV4:
	default:
		return "", false
	}
	if key == "head.weight" {
		return key, true
	}
	rest, ok := strings.CutPrefix(key, "rwkv.")
	if !ok {
		return "", false
	}
	switch rest {
	case "embeddings.weight":
		return "emb.weight", true
	case "ln_out.weight", "ln_out.bias":
		return rest, true
	case "blocks.0.pre_ln.weight", "blocks.0.pre_ln.bias":
		return "blocks.0.ln0." + strings.TrimPrefix(rest, "blocks.0.pre_ln."), true
	}
	l, ok := IsLayerKey(rest)
	if !ok {
		return "", false
	}
	prefix := fmt.Sprintf("blocks.%d.", l)
	part := strings.TrimPrefix(rest, prefix)
	module, field, ok := strings.Cut(part, ".")
	if !ok {
		return "", false
	}
	switch module {
	case "ln1", "ln2":
		return prefix + part, true
	case "attention":
		module = "att"
	case "feed_forward":
		module = "ffn"
	default:
		return "", false
	}
	switch field {
	case "time_mix_key":
		field = "time_mix_k"
	case "time_mix_value":
		field = "time_mix_v"
	case "time_mix_receptance":
		field = "time_mix_r"
	case "time_mix_k", "time_mix_v", "time_mix_r":
		return "", false // BlinkDL's own spelling is not a transformers key
	}
	return prefix + module + "." + field, true
}
