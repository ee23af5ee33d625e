package cli

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
)

type infoHFJSON struct {
	Path      string             `json:"path"`
	Kind      string             `json:"kind"`
	Format    string             `json:"format"`
	Config    string             `json:"config"`
	ModelType string             `json:"model_type"`
	Index     string             `json:"index,omitempty"`
	Files     []string           `json:"files"`
	Skipped   []string           `json:"skipped,omitempty"`
	Tokenizer string             `json:"tokenizer,omitempty"`
	Arch      string             `json:"arch,omitempty"`
	Variant   string             `json:"variant,omitempty"`
	Vocab     int                `json:"vocab,omitempty"`
	Embd      int                `json:"n_embd,omitempty"`
	Layers    int                `json:"n_layer,omitempty"`
	FFN       int                `json:"ffn,omitempty"`
	Heads     int                `json:"n_head,omitempty"`
	RopeDims  int                `json:"rope_dims,omitempty"`
	Detection string             `json:"detection_error,omitempty"`
	Tensors   []infoHFTensorJSON `json:"tensors"`
}

type infoHFTensorJSON struct {
	Name     string  `json:"name"`      // as the file names it
	TableKey string  `json:"table_key"` // the architecture table's checkpoint key
	Shape    []int64 `json:"shape"`
	Type     string  `json:"type"`
	Bytes    uint64  `json:"bytes"`
	File     string  `json:"file"`
}

// infoHF describes a Hugging Face model (folder, index, or weights file
// with config.json beside it): its config, weight files, the architecture
// convert would detect (or why none), and its tensors under the files'
// names.
func infoHF(opts *infoOptions) error {
	w, path := opts.IO.Out, opts.Path
	in, err := convert.OpenInput(path)
	if err != nil {
		return err
	}
	defer in.Close()
	m, ck := in.HF, in.Ckpt
	if m == nil {
		return fmt.Errorf("%s is not a Hugging Face model", path)
	}
	mt, _ := m.Config.String("model_type")
	out := infoHFJSON{Path: path, Kind: "huggingface", Format: string(ck.Format), Config: m.Config.Path, ModelType: mt,
		Index: m.Index, Files: m.Files, Skipped: ck.Skipped, Tokenizer: m.Tokenizer, Tensors: []infoHFTensorJSON{}}
	det, derr := in.Detect()
	if derr == nil {
		out.Arch, out.Variant = det.Arch, det.Variant
		out.Vocab, out.Embd, out.Layers, out.FFN = det.Dims.Vocab, det.Dims.Embd, det.Dims.Layers, det.Dims.FFN
		out.Heads, out.RopeDims = det.Dims.Heads, det.RopeDims
	} else {
		out.Detection = derr.Error()
	}
	shardOf := map[*source.Tensor]string{}
	for _, sh := range ck.Shards {
		for _, t := range sh.Tensors {
			shardOf[t] = filepath.Base(sh.Path)
		}
	}
	for _, t := range ck.Tensors {
		name := t.Name
		if o, ok := m.Renamed[t.Name]; ok {
			name = o
		}
		file := shardOf[t]
		if file == "" {
			file = filepath.Base(m.Files[0])
		}
		size := t.NumElements() * int64(t.DType.BlockBytes()) / int64(t.DType.BlockLen())
		out.Tensors = append(out.Tensors, infoHFTensorJSON{Name: name, TableKey: t.Name, Shape: t.Shape, Type: t.DType.String(), Bytes: uint64(size), File: file})
	}
	if opts.JSON {
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "%s: Hugging Face model (%s), %d tensors in %d file(s)\n", path, ck.Format, len(ck.Tensors), len(m.Files))
	fmt.Fprintf(w, "  config      %s\n", m.Config.Path)
	for _, k := range []string{"model_type", "architectures", "vocab_size", "hidden_size", "num_hidden_layers", "intermediate_size",
		"attention_hidden_size", "num_attention_heads", "rotary_pct", "rotary_emb_base", "rope_parameters", "use_parallel_residual",
		"layer_norm_epsilon", "layer_norm_eps", "rescale_every", "torch_dtype", "dtype"} {
		if m.Config.Has(k) {
			fmt.Fprintf(w, "    %-22s %s\n", k, printable(strings.Join(strings.Fields(m.Config.Raw(k)), " ")))
		}
	}
	if m.Index != "" {
		fmt.Fprintf(w, "  index       %s\n", m.Index)
	}
	for _, sh := range ck.Shards {
		fmt.Fprintf(w, "  shard       %s (%d tensors)\n", sh.Path, len(sh.Tensors))
	}
	if len(ck.Shards) == 0 {
		fmt.Fprintf(w, "  weights     %s\n", m.Files[0])
	}
	if len(ck.Skipped) > 0 {
		fmt.Fprintf(w, "  skipped     %s (non-float buffers the model never reads)\n", printable(strings.Join(ck.Skipped, ", ")))
	}
	tok := "none"
	if m.Tokenizer != "" {
		tok = m.Tokenizer
	}
	fmt.Fprintf(w, "  tokenizer   %s\n", tok)
	if derr != nil {
		fmt.Fprintf(w, "  detected    nothing convertible: %v\n", derr)
	} else {
		d := det.Dims
		fmt.Fprintf(w, "  detected    %s (%s): vocab %d, n_embd %d, %d layers, ffn %d", det.Variant, det.Arch, d.Vocab, d.Embd, d.Layers, d.FFN)
		if det.Arch == arch.GPTNeoX {
			fmt.Fprintf(w, ", %d heads, %d rotary dims (base %g), parallel residual %v", d.Heads, det.RopeDims, det.RopeBase, det.ParallelResidual)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	var rows [][]string
	for _, t := range out.Tensors {
		key := ""
		if t.TableKey != t.Name {
			key = t.TableKey
		}
		rows = append(rows, []string{printable(t.Name), shapeString(t.Shape), t.Type, strconv.FormatUint(t.Bytes, 10), t.File, key})
	}
	return table.Write(w, table.ASCII, []string{"name", "shape", "type", "bytes", "file", "table key"}, rows, 3)
}
