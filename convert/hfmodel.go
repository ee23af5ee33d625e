package convert

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/convert/hf"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// Input is an opened conversion input: one checkpoint file, or a Hugging
// Face model (folder, index, or file with config.json beside it).
type Input struct {
	Path string
	HF   *hf.Model // nil for a plain checkpoint file
	Ckpt *source.Checkpoint
}

// OpenInput opens path as a Hugging Face model when it is given that way
// (hf.IsModel) and as a checkpoint file otherwise.
func OpenInput(path string) (*Input, error) {
	if hf.IsModel(path) {
		m, ck, err := hf.Open(path)
		if err != nil {
			return nil, err
		}
		return &Input{Path: path, HF: m, Ckpt: ck}, nil
	}
	ck, err := ckpt.Open(path)
	if err != nil {
		return nil, err
	}
	return &Input{Path: path, Ckpt: ck}, nil
}

// Close releases the input's files.
func (in *Input) Close() error { return in.Ckpt.Close() }

// Files are the weight files read.
func (in *Input) Files() []string {
	if in.HF != nil {
		return in.HF.Files
	}
	return []string{in.Path}
}

// Detect identifies the architecture and dims, and for a Hugging Face
// model checks them against config.json.
func (in *Input) Detect() (Detection, error) {
	if in.HF != nil && in.HF.Arch == arch.GPTNeoX {
		return detectNeoX(in.Ckpt, in.HF.Config)
	}
	det, err := Detect(in.Ckpt)
	if err != nil {
		return det, err
	}
	if in.HF != nil {
		if det.Arch != in.HF.Arch {
			return det, fmt.Errorf("%s: the tensors are %s but config.json says model_type %s", in.Path, det.Variant, in.HF.Arch)
		}
		if err := checkRWKVConfig(in.HF, det); err != nil {
			return det, err
		}
		det.Variant += " (Hugging Face RwkvForCausalLM)"
	}
	return det, nil
}

// sha256 hashes the weight files in order (one file: its own hash).
func (in *Input) sha256() (string, error) {
	h := sha256.New()
	for _, p := range in.Files() {
		f, err := os.Open(p)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("%s: %w", p, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// configMismatch says a config value contradicts the tensors.
func configMismatch(c *hf.Config, key string, got any, want any, from string) error {
	return fmt.Errorf("%s: %s is %v, but the tensors say %v (%s); the config belongs to another model (or the weights do)", c.Path, key, got, want, from)
}

// checkInt compares an integer config key with the value the tensors
// imply; an absent key is not checked.
func checkInt(c *hf.Config, key string, want int, from string) error {
	if !c.Has(key) {
		return nil
	}
	v, err := c.Int(key)
	if err != nil {
		return err
	}
	if v != want {
		return configMismatch(c, key, v, want, from)
	}
	return nil
}

// checkEps requires a LayerNorm epsilon equal to the one the engine uses.
func checkEps(c *hf.Config, key string) error {
	if !c.Has(key) {
		return nil
	}
	v, err := c.Float(key)
	if err != nil {
		return err
	}
	if math.Abs(v-arch.LayerNormEps) > 1e-12 {
		return fmt.Errorf("%s: %s is %g; rwkv-tools runs RWKV with the epsilon every released model uses, %g", c.Path, key, v, arch.LayerNormEps)
	}
	return nil
}

// checkRWKVConfig checks RwkvConfig's dims against the tensors. The
// config's rescale_every is transformers' fp16 inference trick; the stored
// weights are never rescaled, so it is ignored.
func checkRWKVConfig(m *hf.Model, det Detection) error {
	c, d := m.Config, det.Dims
	for _, k := range []struct {
		key  string
		want int
		from string
	}{
		{"hidden_size", d.Embd, "rwkv.embeddings.weight's columns"},
		{"attention_hidden_size", d.Embd, "the attention key/value/receptance rows"},
		{"intermediate_size", d.FFN, "rwkv.blocks.0.feed_forward.key.weight's rows"},
		{"num_hidden_layers", d.Layers, "the rwkv.blocks.N tensors"},
		{"vocab_size", d.Vocab, "rwkv.embeddings.weight's rows"},
	} {
		if err := checkInt(c, k.key, k.want, k.from); err != nil {
			return err
		}
	}
	return checkEps(c, "layer_norm_epsilon")
}

// detectNeoX reads a GPT-NeoX model's dims from the tensors and its
// attention shape (heads, rotary dims and base, residual form) from the
// config, which must agree with the tensors.
func detectNeoX(ck *source.Checkpoint, c *hf.Config) (Detection, error) {
	det := Detection{Arch: arch.GPTNeoX, Variant: "GPT-NeoX (Hugging Face GPTNeoXForCausalLM)"}
	emb := ck.Tensor("gpt_neox.embed_in.weight")
	if emb == nil || len(emb.Shape) != 2 {
		return det, fmt.Errorf("%s: required tensor gpt_neox.embed_in.weight (vocab, hidden) is missing or not a matrix", ck.Path)
	}
	d := arch.Dims{Vocab: int(emb.Shape[0]), Embd: int(emb.Shape[1])}
	layers := -1
	for _, t := range ck.Tensors {
		if rest, ok := strings.CutPrefix(t.Name, "gpt_neox.layers."); ok {
			if n, ok := arch.IsLayerKey("blocks." + rest); ok {
				layers = max(layers, n)
			}
		}
	}
	d.Layers = layers + 1
	up := ck.Tensor("gpt_neox.layers.0.mlp.dense_h_to_4h.weight")
	if d.Layers == 0 || up == nil || len(up.Shape) != 2 {
		return det, fmt.Errorf("%s: no gpt_neox.layers.0.mlp.dense_h_to_4h.weight (intermediate, hidden) matrix", ck.Path)
	}
	d.FFN = int(up.Shape[0])
	if d.Vocab <= 0 || d.Embd <= 0 || d.FFN <= 0 || d.Vocab > 1<<24 || d.Embd > 1<<20 || d.FFN > 1<<22 || d.Layers > 4096 {
		return det, fmt.Errorf("%s: implausible dims %+v", ck.Path, d)
	}
	for _, k := range []struct {
		key  string
		want int
		from string
	}{
		{"hidden_size", d.Embd, "gpt_neox.embed_in.weight's columns"},
		{"intermediate_size", d.FFN, "gpt_neox.layers.0.mlp.dense_h_to_4h.weight's rows"},
		{"num_hidden_layers", d.Layers, "the gpt_neox.layers.N tensors"},
		{"vocab_size", d.Vocab, "gpt_neox.embed_in.weight's rows"},
	} {
		if err := checkInt(c, k.key, k.want, k.from); err != nil {
			return det, err
		}
	}
	heads, err := c.Int("num_attention_heads")
	if err != nil {
		return det, err
	}
	if heads <= 0 || d.Embd%heads != 0 {
		return det, fmt.Errorf("%s: num_attention_heads %d does not divide hidden_size %d", c.Path, heads, d.Embd)
	}
	d.Heads = heads
	N := d.Embd / heads
	// Rotary: the published Pythia configs say rotary_pct and
	// rotary_emb_base; newer transformers write rope_parameters.
	pct, base := 1.0, 10000.0
	if c.Has("rope_parameters") {
		rp, err := c.Sub("rope_parameters")
		if err != nil {
			return det, err
		}
		if rp.Has("rope_type") {
			if t, err := rp.String("rope_type"); err != nil || t != "default" {
				return det, fmt.Errorf("%s: rope_type %s is not supported (only \"default\" rotary embeddings are)", rp.Path, rp.Raw("rope_type"))
			}
		}
		if rp.Has("partial_rotary_factor") {
			if pct, err = rp.Float("partial_rotary_factor"); err != nil {
				return det, err
			}
		}
		if rp.Has("rope_theta") {
			if base, err = rp.Float("rope_theta"); err != nil {
				return det, err
			}
		}
	} else {
		if c.Has("rotary_pct") {
			if pct, err = c.Float("rotary_pct"); err != nil {
				return det, err
			}
		}
		if c.Has("rotary_emb_base") {
			if base, err = c.Float("rotary_emb_base"); err != nil {
				return det, err
			}
		}
	}
	if c.Has("rope_scaling") {
		return det, fmt.Errorf("%s: rope_scaling %s is not supported", c.Path, c.Raw("rope_scaling"))
	}
	rot := int(float64(N) * pct) // transformers: int(head_size * rotary_pct)
	if pct <= 0 || pct > 1 || rot%2 != 0 || base <= 1 {
		return det, fmt.Errorf("%s: rotary fraction %g of head size %d gives %d rotary dims (base %g); want an even count in (0, %d]", c.Path, pct, N, rot, base, N)
	}
	det.RopeDims, det.RopeBase = rot, base
	det.ParallelResidual = true
	if c.Has("use_parallel_residual") {
		if det.ParallelResidual, err = c.Bool("use_parallel_residual"); err != nil {
			return det, err
		}
	}
	if c.Has("hidden_act") {
		if act, err := c.String("hidden_act"); err != nil || act != "gelu" {
			return det, fmt.Errorf("%s: hidden_act %s is not supported (the exact erf \"gelu\" of every Pythia model is)", c.Path, c.Raw("hidden_act"))
		}
	}
	if c.Has("tie_word_embeddings") {
		if tie, err := c.Bool("tie_word_embeddings"); err != nil || tie {
			return det, fmt.Errorf("%s: tie_word_embeddings %s is not supported (GPT-NeoX has its own embed_out)", c.Path, c.Raw("tie_word_embeddings"))
		}
	}
	if c.Has("attention_bias") {
		if b, err := c.Bool("attention_bias"); err != nil || !b {
			return det, fmt.Errorf("%s: attention_bias %s is not supported (the Pythia layout has QKV and dense biases)", c.Path, c.Raw("attention_bias"))
		}
	}
	det.LayerNormEps = 1e-5
	if c.Has("layer_norm_eps") {
		if det.LayerNormEps, err = c.Float("layer_norm_eps"); err != nil {
			return det, err
		}
		if det.LayerNormEps <= 0 || det.LayerNormEps > 0.1 {
			return det, fmt.Errorf("%s: layer_norm_eps %g is out of range", c.Path, det.LayerNormEps)
		}
	}
	if c.Has("max_position_embeddings") {
		if det.ContextLen, err = c.Int("max_position_embeddings"); err != nil {
			return det, err
		}
	}
	// The QKV rows must be 3·hidden; the table checks every other shape.
	if qkv := ck.Tensor("gpt_neox.layers.0.attention.query_key_value.weight"); qkv != nil &&
		(len(qkv.Shape) != 2 || qkv.Shape[0] != 3*int64(d.Embd)) {
		return det, fmt.Errorf("%s: gpt_neox.layers.0.attention.query_key_value.weight has shape %v, want (%d, %d) (3 × hidden_size)", ck.Path, qkv.Shape, 3*d.Embd, d.Embd)
	}
	det.Dims = d
	return det, nil
}

// resolveNeoX regroups the fused QKV rows from the checkpoint's per-head
// [q_h | k_h | v_h] to llama.cpp's [q (all heads) | k | v]. ok is false
// for every other tensor.
func resolveNeoX(ck *source.Checkpoint, det Detection, spec arch.Tensor) (p plannedTensor, ok bool, err error) {
	if !strings.HasSuffix(spec.Source, ".attention.query_key_value.weight") && !strings.HasSuffix(spec.Source, ".attention.query_key_value.bias") {
		return p, false, nil
	}
	p.spec = spec
	src := ck.Tensor(spec.Source)
	if src == nil {
		return p, true, fmt.Errorf("%s: required tensor %s is missing (GPT-NeoX with %d layers)", ck.Path, spec.Source, det.Dims.Layers)
	}
	if !slices.Equal(src.Shape, spec.Shape) {
		return p, true, fmt.Errorf("%s: tensor %s has shape %v, but the other tensors imply %v (hidden %d, heads %d)",
			ck.Path, src.Name, src.Shape, spec.Shape, det.Dims.Embd, det.Dims.Heads)
	}
	H, N := det.Dims.Heads, det.Dims.Embd/det.Dims.Heads
	cols := 1
	if len(spec.Shape) == 2 {
		cols = int(spec.Shape[1])
	}
	p.src, p.derived = src, "regroup("+src.Name+") (per-head q,k,v rows to q,k,v blocks, as llama.cpp)"
	p.build = func() ([]float32, error) {
		v, err := readF32(src)
		if err != nil {
			return nil, err
		}
		out := make([]float32, len(v))
		for h := 0; h < H; h++ {
			for part := 0; part < 3; part++ {
				from := (h*3 + part) * N * cols
				to := (part*H + h) * N * cols
				copy(out[to:to+N*cols], v[from:from+N*cols])
			}
		}
		return out, nil
	}
	return p, true, nil
}
