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
	}
	return fmt.Sprintf("Role(%d)", int(r))
}

// Dims are the sizes that determine every tensor shape.
type Dims struct {
	Vocab  int // rows of the embedding and head
	Embd   int // C, the residual width
	Layers int // L
	FFN    int // F, the channel-mix hidden width
}

// Tensor describes one tensor of an architecture.
type Tensor struct {
	Name   string  // GGUF name, e.g. "blk.3.time_mix_key.weight"
	Source string  // BlinkDL key, e.g. "blocks.3.att.key.weight"
	Shape  []int64 // PyTorch order (rows first); GGUF dims are the reverse
	Role   Role
	Layer  int // block index, or -1 for global tensors
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

// Metadata key suffixes shared by the architectures (llama.cpp's names).
const (
	KeyVocabSize      = "vocab_size"
	KeyEmbeddingLen   = "embedding_length"
	KeyBlockCount     = "block_count"
	KeyFeedForwardLen = "feed_forward_length"
	KeyLayerNormEps   = "layer_norm_epsilon"
)

// LayerNormEps is the LayerNorm epsilon of every RWKV version.
const LayerNormEps = 1e-5

// Supported reports whether rwkv-tools can convert and run archName.
func Supported(archName string) bool { return archName == RWKV4 }

// Tensors returns every tensor of archName with dims d, in the canonical
// file order: global inputs, blocks in order, then the output tensors.
func Tensors(archName string, d Dims) ([]Tensor, error) {
	if d.Vocab <= 0 || d.Embd <= 0 || d.Layers <= 0 || d.FFN <= 0 {
		return nil, fmt.Errorf("%s: invalid dims %+v", archName, d)
	}
	switch archName {
	case RWKV4:
		return rwkv4Tensors(d), nil
	case RWKV5, RWKV6, RWKV7:
		return nil, fmt.Errorf("architecture %s is not yet supported by rwkv-tools (RWKV-4 is)", archName)
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

func vecC(d Dims) []int64  { return []int64{int64(d.Embd)} }
func matCC(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.Embd)} }
func matFC(d Dims) []int64 { return []int64{int64(d.FFN), int64(d.Embd)} }
func matCF(d Dims) []int64 { return []int64{int64(d.Embd), int64(d.FFN)} }

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

func rwkv4Tensors(d Dims) []Tensor {
	V, C := int64(d.Vocab), int64(d.Embd)
	ts := []Tensor{
		{"token_embd.weight", "emb.weight", []int64{V, C}, Embedding, -1},
		{"token_embd_norm.weight", "blocks.0.ln0.weight", []int64{C}, Vector, -1},
		{"token_embd_norm.bias", "blocks.0.ln0.bias", []int64{C}, Vector, -1},
	}
	for l := 0; l < d.Layers; l++ {
		for _, s := range rwkv4Layer {
			ts = append(ts, Tensor{
				Name:   fmt.Sprintf("blk.%d.%s", l, s.name),
				Source: fmt.Sprintf("blocks.%d.%s", l, s.source),
				Shape:  s.shape(d),
				Role:   s.role,
				Layer:  l,
			})
		}
	}
	return append(ts,
		Tensor{"output_norm.weight", "ln_out.weight", []int64{C}, Vector, -1},
		Tensor{"output_norm.bias", "ln_out.bias", []int64{C}, Vector, -1},
		Tensor{"output.weight", "head.weight", []int64{V, C}, Head, -1},
	)
}

// LayerName returns the GGUF name of a per-block tensor, e.g.
// LayerName(3, "time_mix_key.weight").
func LayerName(layer int, suffix string) string { return fmt.Sprintf("blk.%d.%s", layer, suffix) }

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
	n := 0
	for _, c := range num {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
