package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/arch"
	"github.com/rwkv-tools/rwkv-tools/arch/llamacpp"
	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/convert/ckpt"
	"github.com/rwkv-tools/rwkv-tools/convert/hf"
	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
)

type infoOptions struct {
	IO   *IO
	Path string
	JSON bool
}

func newInfoCmd(io *IO, runF func(*infoOptions) error) *cobra.Command {
	opts := &infoOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "info FILE|DIR",
		Short: "Show the metadata and tensors of a GGUF model file, a checkpoint or a saved state",
		Long: `Info describes a GGUF model file (metadata and tensors), a checkpoint
(.pth, .safetensors, rwkv.cpp .bin: container, detected architecture,
tensors), a Hugging Face model folder (config, shards, detected architecture,
tensors under the files' names) or a state file saved by logits --state-out. Names and values read
from the file are shown escaped when they hold non-printable characters.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runInfo(opts)
		},
	}
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runInfo(opts *infoOptions) error {
	if st, err := os.Stat(opts.Path); err == nil && st.IsDir() {
		return infoHF(opts) // a Hugging Face model folder
	}
	isGGUF, err := hasMagic(opts.Path, "GGUF")
	if err != nil {
		return err
	}
	if isGGUF {
		return infoGGUF(opts)
	}
	if isState, _ := hasMagic(opts.Path, engine.StateMagic); isState {
		return infoState(opts)
	}
	if hf.IsModel(opts.Path) {
		return infoHF(opts)
	}
	return infoCheckpoint(opts)
}

func hasMagic(path, magic string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	b := make([]byte, len(magic))
	if _, err := io.ReadFull(f, b); err != nil {
		return false, nil // too short for any magic; let the readers explain
	}
	return bytes.Equal(b, []byte(magic)), nil
}

// printable returns s as is when it is short, valid UTF-8 without control
// or other non-printable characters, and quoted, escaped and truncated
// otherwise, so that a name read from a file cannot drive the terminal.
func printable(s string) string {
	if len(s) <= maxQuoted && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }) {
		return s
	}
	return quoteTrunc(s, maxQuoted)
}

type infoTensorJSON struct {
	Name       string  `json:"name"`
	Shape      []int64 `json:"shape"` // PyTorch order
	Type       string  `json:"type"`
	Bytes      uint64  `json:"bytes"`
	Offset     int64   `json:"offset"`
	Contiguous *bool   `json:"contiguous,omitempty"`
}

type infoGGUFJSON struct {
	Path      string `json:"path"`
	Kind      string `json:"kind"`
	Version   uint32 `json:"gguf_version"`
	Size      int64  `json:"bytes"`
	Alignment uint64 `json:"alignment"`
	Arch      string `json:"arch,omitempty"`
	// LlamaCpp says whether llama.cpp loads the file as written (absent
	// for architectures not checked).
	LlamaCpp *infoLlamaCppJSON `json:"llama_cpp,omitempty"`
	Metadata map[string]string `json:"metadata"`
	Tensors  []infoTensorJSON  `json:"tensors"`
}

type infoLlamaCppJSON struct {
	Loads    bool     `json:"loads"`
	Layout   string   `json:"layout"`
	Problems []string `json:"problems"`
}

// llamaCppVerdict is info's line on llama.cpp: whether the file loads
// there as written and, where not, why (arch/llamacpp's checker).
func llamaCppVerdict(f *format.File, archName string) *infoLlamaCppJSON {
	r := llamacpp.Check(f.Metadata, f.Tensors)
	if !r.Checked {
		return nil
	}
	layout := "rwkv-tools" // rwkv4, rwkv5: one layout, ours
	if archName == arch.RWKV6 || archName == arch.RWKV7 {
		layout = arch.DetectLayout(archName, func(n string) bool { _, ok := f.Lookup(n); return ok }).String()
	}
	return &infoLlamaCppJSON{Loads: r.OK(), Layout: layout, Problems: append([]string{}, r.Problems...)}
}

func infoGGUF(opts *infoOptions) error {
	w, path := opts.IO.Out, opts.Path
	f, err := format.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	archName, _ := f.Metadata.String("general.architecture")
	verdict := llamaCppVerdict(f, archName)
	if opts.JSON {
		out := infoGGUFJSON{Path: path, Kind: "gguf", Version: f.Version, Size: f.Size(), Alignment: f.Alignment, Arch: archName,
			LlamaCpp: verdict, Metadata: map[string]string{}, Tensors: []infoTensorJSON{}}
		for _, k := range f.Metadata.Keys() {
			out.Metadata[k] = f.Metadata[k].Format()
		}
		for _, t := range f.Tensors {
			size, _ := t.Size()
			out.Tensors = append(out.Tensors, infoTensorJSON{Name: t.Name, Shape: reverseDims(t.Dims), Type: t.DType.String(),
				Bytes: size, Offset: int64(f.DataOffset + t.Offset)})
		}
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "%s: GGUF v%d, %d bytes, alignment %d, %d metadata keys, %d tensors\n\n",
		path, f.Version, f.Size(), f.Alignment, len(f.Metadata), len(f.Tensors))
	var rows [][]string
	for _, k := range f.Metadata.Keys() {
		rows = append(rows, []string{printable(k), printable(f.Metadata[k].Format())})
	}
	if err := table.Write(w, table.ASCII, []string{"key", "value"}, rows); err != nil {
		return err
	}
	fmt.Fprintln(w)
	rows = rows[:0]
	var total uint64
	for _, t := range f.Tensors {
		size, _ := t.Size()
		total += size
		rows = append(rows, []string{printable(t.Name), shapeString(reverseDims(t.Dims)), t.DType.String(),
			strconv.FormatUint(size, 10), strconv.FormatUint(f.DataOffset+t.Offset, 10)})
	}
	if err := table.Write(w, table.ASCII, []string{"name", "shape", "type", "bytes", "offset"}, rows, 3, 4); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d tensors, %d bytes of tensor data (shapes in PyTorch order: rows first)\n", len(f.Tensors), total)
	switch {
	case verdict == nil:
	case verdict.Loads:
		fmt.Fprintf(w, "llama.cpp: loads as written (%s layout)\n", verdict.Layout)
	default:
		fmt.Fprintf(w, "llama.cpp: does not load as written (%s layout):\n", verdict.Layout)
		for _, p := range verdict.Problems {
			// The checker's sentences (long) may quote names from the file:
			// quote only when something is not printable.
			if !utf8.ValidString(p) || strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsPrint(r) }) {
				p = strconv.Quote(p)
			}
			fmt.Fprintf(w, "  - %s\n", sanitizeMessage(p))
		}
	}
	return nil
}

type infoCheckpointJSON struct {
	Path      string            `json:"path"`
	Kind      string            `json:"kind"`
	Format    string            `json:"format"`
	Arch      string            `json:"arch,omitempty"`
	Variant   string            `json:"variant,omitempty"`
	Vocab     int               `json:"vocab,omitempty"`
	Embd      int               `json:"n_embd,omitempty"`
	Layers    int               `json:"n_layer,omitempty"`
	FFN       int               `json:"ffn,omitempty"`
	Detection string            `json:"detection_error,omitempty"`
	Meta      map[string]string `json:"meta,omitempty"`
	Tensors   []infoTensorJSON  `json:"tensors"`
}

func infoCheckpoint(opts *infoOptions) error {
	w, path := opts.IO.Out, opts.Path
	ck, err := ckpt.Open(path)
	if err != nil {
		return err
	}
	defer ck.Close()
	out := infoCheckpointJSON{Path: path, Kind: "checkpoint", Format: string(ck.Format), Meta: ck.Meta, Tensors: []infoTensorJSON{}}
	// The architecture as convert would detect it; a checkpoint convert
	// refuses is still described, with the reason.
	if det, err := convert.Detect(ck); err == nil {
		out.Arch, out.Variant = det.Arch, det.Variant
		out.Vocab, out.Embd, out.Layers, out.FFN = det.Dims.Vocab, det.Dims.Embd, det.Dims.Layers, det.Dims.FFN
	} else {
		out.Detection = err.Error()
	}
	for _, t := range ck.Tensors {
		contiguous := t.Contiguous()
		size := t.NumElements() * int64(t.DType.BlockBytes()) / int64(t.DType.BlockLen())
		out.Tensors = append(out.Tensors, infoTensorJSON{Name: t.Name, Shape: t.Shape, Type: t.DType.String(), Bytes: uint64(size),
			Offset: t.FileOffset, Contiguous: &contiguous})
	}
	if opts.JSON {
		return writeJSON(w, out)
	}
	fmt.Fprintf(w, "%s: %s checkpoint, %d tensors\n", path, ck.Format, len(ck.Tensors))
	if out.Arch != "" {
		fmt.Fprintf(w, "architecture: %s (%s): vocab %d, n_embd %d, %d layers, ffn %d\n", out.Arch, out.Variant, out.Vocab, out.Embd, out.Layers, out.FFN)
	} else {
		fmt.Fprintf(w, "architecture: not recognised: %s\n", out.Detection)
	}
	if len(ck.Meta) > 0 {
		keys := make([]string, 0, len(ck.Meta))
		for k := range ck.Meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  %s = %s\n", printable(k), printable(ck.Meta[k]))
		}
	}
	fmt.Fprintln(w)
	var rows [][]string
	for i, t := range ck.Tensors {
		layout := "contiguous"
		if !t.Contiguous() {
			layout = fmt.Sprintf("strided %v", t.Strides)
		}
		rows = append(rows, []string{printable(t.Name), shapeString(t.Shape), t.DType.String(),
			strconv.FormatUint(out.Tensors[i].Bytes, 10), strconv.FormatInt(t.FileOffset, 10), layout})
	}
	return table.Write(w, table.ASCII, []string{"name", "shape", "type", "bytes", "file offset", "layout"}, rows, 3, 4)
}

type infoStateJSON struct {
	Path   string  `json:"path"`
	Kind   string  `json:"kind"`
	Arch   string  `json:"arch"`
	Layers int     `json:"n_layer"`
	Embd   int     `json:"n_embd"`
	Floats uint64  `json:"floats"`
	NaN    int     `json:"nan,omitempty"`
	MaxAbs float64 `json:"max_abs"`
}

func infoState(opts *infoOptions) error {
	f, err := os.Open(opts.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := engine.ReadState(f)
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Path, err)
	}
	out := infoStateJSON{Path: opts.Path, Kind: "state", Arch: st.Arch, Layers: st.Layers, Embd: st.Embd, Floats: uint64(len(st.Data))}
	for _, v := range st.Data {
		switch a := float64(v); {
		case a != a:
			out.NaN++
		case a > out.MaxAbs:
			out.MaxAbs = a
		case -a > out.MaxAbs:
			out.MaxAbs = -a
		}
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, out)
	}
	fmt.Fprintf(opts.IO.Out, "%s: saved state (logits --state-out) of a %s model, %d layers, n_embd %d: %d floats, max |x| %.4g",
		opts.Path, printable(st.Arch), st.Layers, st.Embd, len(st.Data), out.MaxAbs)
	if out.NaN > 0 {
		fmt.Fprintf(opts.IO.Out, ", %d NaN", out.NaN)
	}
	fmt.Fprintln(opts.IO.Out)
	return nil
}

func reverseDims(d []uint64) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[len(d)-1-i] = int64(v)
	}
	return out
}

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
