package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/internal/rusage"
)

type convertOptions struct {
	IO          *IO
	Input       string
	Output      string
	DType       string
	Embedding   string
	Head        string
	Threads     int
	Tokenizer   string
	NoTokenizer bool
	Quiet       bool
	JSON        bool
	AllowLarge  bool
}

func newConvertCmd(io *IO, runF func(*convertOptions) error) *cobra.Command {
	opts := &convertOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "convert MODEL -o OUT.gguf",
		Short: "Convert a .pth, .safetensors or rwkv.cpp checkpoint to a GGUF model file",
		Long: `Convert reads a PyTorch .pth checkpoint (as BlinkDL publishes them: zip,
bf16, possibly one shared storage), a .safetensors file or an rwkv.cpp .bin
file, and writes one memory-mappable GGUF v3 file (docs/FORMAT.md).

Vectors (norms, mixes, decays) and RWKV-6/7 LoRA matrices are always stored
as f32. --dtype chooses the type of the matrices: f32, f16, bf16, q8_0 (also
spelled int8), q5_1, q5_0, q4_1, q4_0, or source (keep the checkpoint's type;
rwkv.cpp Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 matrices keep their ggml blocks). The
policy is quantize's (see rwkv-tools quantize --help): under a block type
the embedding and head get a 16-bit float unless --embedding/--head say
otherwise.
The output is written to a temporary file and renamed at the end, so an
interrupted or failed run leaves nothing behind.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Input = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runConvert(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output GGUF file (default: MODEL with a .gguf extension)")
	cmd.Flags().StringVar(&opts.DType, "dtype", "source", "matrix type: "+convert.TypeList()+", or source")
	cmd.Flags().StringVar(&opts.Embedding, "embedding", "auto", "token embedding type: auto, keep or a type")
	cmd.Flags().StringVar(&opts.Head, "head", "auto", "output head type: auto, keep or a type")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "tensors encoded at once (default: all cores)")
	cmd.Flags().StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer file to store in the model (tokenizer.json or rwkv_vocab_*.txt; default: look beside MODEL)")
	cmd.Flags().BoolVar(&opts.NoTokenizer, "no-tokenizer", false, "store no tokenizer")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing but errors")
	cmd.Flags().BoolVar(&opts.AllowLarge, "allow-large-output", false, "allow an output more than 8× the checkpoint's size (tensors aliasing one storage)")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

func runConvert(ctx context.Context, opts *convertOptions) error {
	dt, err := convert.ParseDType(strings.ToLower(opts.DType))
	if err != nil {
		return err
	}
	if opts.NoTokenizer && opts.Tokenizer != "" {
		return fmt.Errorf("--no-tokenizer and --tokenizer %s contradict each other; give one", opts.Tokenizer)
	}
	if isGGUF, err := hasMagic(opts.Input, "GGUF"); err == nil && isGGUF {
		return fmt.Errorf("%s is already a GGUF model file: use it directly (rwkv-tools info/logits/generate %s); there is nothing to convert", opts.Input, opts.Input)
	}
	emb, err := convert.ParseSwitch("embedding", opts.Embedding)
	if err != nil {
		return err
	}
	head, err := convert.ParseSwitch("head", opts.Head)
	if err != nil {
		return err
	}
	if err := checkThreads(opts.Threads); err != nil {
		return err
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	outFlag := "-o"
	if opts.Output == "" {
		opts.Output = strings.TrimSuffix(opts.Input, filepath.Ext(opts.Input)) + ".gguf"
		outFlag = "output (default from MODEL)"
	}
	if err := checkOutputs([]string{opts.Input, opts.Tokenizer}, outputFlag{outFlag, opts.Output}); err != nil {
		return err
	}
	start := time.Now()
	copts := convert.Options{DType: dt, Embedding: emb, Head: head, Threads: threads, Tokenizer: opts.Tokenizer, NoTokenizer: opts.NoTokenizer, AllowLargeOutput: opts.AllowLarge}
	prog := newProgress(opts.IO, opts.Quiet || opts.JSON, "convert", 0, "tensors")
	copts.Progress = func(done, total int, name string) {
		prog.SetTotal(total)
		prog.Update(done, name)
	}
	rep, err := convert.Convert(ctx, opts.Input, opts.Output, copts)
	prog.Done()
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, convertSummary(opts, rep, time.Since(start)))
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "warning:", w)
	}
	if opts.Quiet {
		return nil
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(opts.IO.ErrOut, "note:", n)
	}
	d := rep.Detection.Dims
	fmt.Fprintf(opts.IO.Out, "%s (%s, %s): vocab %d, n_embd %d, %d layers, ffn %d\n",
		opts.Input, rep.Format, rep.Detection.Variant, d.Vocab, d.Embd, d.Layers, d.FFN)
	countOf := map[string]int{}
	for _, t := range rep.Tensors {
		countOf[t.From.String()+"→"+t.To.String()]++
	}
	var kinds []string
	for k, n := range countOf {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	slices.Sort(kinds)
	counts := strings.Join(kinds, ", ")
	tok := "no tokenizer"
	if rep.Tokenizer != "" {
		tok = "tokenizer " + filepath.Base(rep.Tokenizer)
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s: %d tensors (%s), %s, %s in %.2fs",
		opts.Output, len(rep.Tensors), counts, tok, humanBytes(rep.OutBytes), time.Since(start).Seconds())
	if rss := rusage.PeakRSS(); rss > 0 {
		fmt.Fprintf(opts.IO.Out, ", peak RSS %s", humanBytes(rss))
	}
	fmt.Fprintln(opts.IO.Out)
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// convertJSON is convert's --json summary.
type convertJSON struct {
	Input     string         `json:"input"`
	Output    string         `json:"output"`
	Format    string         `json:"format"`
	Variant   string         `json:"variant"`
	Vocab     int            `json:"vocab"`
	Embd      int            `json:"n_embd"`
	Layers    int            `json:"n_layer"`
	FFN       int            `json:"ffn"`
	Tensors   int            `json:"tensors"`
	Types     map[string]int `json:"types"`
	Tokenizer string         `json:"tokenizer,omitempty"`
	Bytes     int64          `json:"bytes"`
	Seconds   float64        `json:"seconds"`
	Warnings  []string       `json:"warnings,omitempty"`
	Notes     []string       `json:"notes,omitempty"`
}

func convertSummary(opts *convertOptions, rep *convert.Report, took time.Duration) convertJSON {
	d := rep.Detection.Dims
	types := map[string]int{}
	for _, t := range rep.Tensors {
		types[t.From.String()+"→"+t.To.String()]++
	}
	return convertJSON{Input: opts.Input, Output: opts.Output, Format: fmt.Sprint(rep.Format), Variant: fmt.Sprint(rep.Detection.Variant),
		Vocab: d.Vocab, Embd: d.Embd, Layers: d.Layers, FFN: d.FFN, Tensors: len(rep.Tensors), Types: types,
		Tokenizer: rep.Tokenizer, Bytes: rep.OutBytes, Seconds: took.Seconds(), Warnings: rep.Warnings, Notes: rep.Notes}
}
