package cli

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/internal/quality"
	"github.com/rwkv-tools/rwkv-tools/internal/rusage"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
)

type quantizeOptions struct {
	IO              *IO
	Input           string
	Output          string
	Type            string
	Embedding       string
	Head            string
	AllowRequantize bool
	DryRun          bool
	Report          bool
	Text            string
	JSON            bool
	Threads         int
	Quiet           bool
}

func newQuantizeCmd(io *IO, runF func(*quantizeOptions) error) *cobra.Command {
	opts := &quantizeOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "quantize IN.gguf -o OUT.gguf --type TYPE",
		Short: "Re-encode a GGUF model's matrices as f16, bf16, int8 (q8_0) or 5/4-bit blocks",
		Long: `Quantize writes a copy of a GGUF model with its matrices in TYPE: f32, f16,
bf16, q8_0 (also spelled int8), q5_1, q5_0, q4_1 or q4_0 (case-insensitive).
The block types are byte-exact ports of ggml's quantizers (llama.cpp,
rwkv.cpp). One policy decides per tensor (the same as convert --dtype):

  1-D tensors (norms, mixes, decays, time_state)  always f32
  RWKV-6/7 LoRA matrices                          always f32
  block matrices                                  TYPE
  token embedding (--embedding), head (--head)    auto: TYPE if a float
                                                  type, else a 16-bit float

auto keeps the embedding (a row lookup: nothing to gain in speed) and the
head (its error lands in every logit) out of the block types, as rwkv.cpp
does, but halves an f32 file's copy of them; keep leaves them as they are,
and a type name forces one (llama.cpp quantizes the head). A tensor whose
rows are not a multiple of the block length (32) gets a 16-bit float
instead, with a note.

The output is written atomically (nothing is left on error or Ctrl-C),
tensor by tensor in a fixed order, so the same input gives the same bytes
for any --threads. A file that already holds block types is refused unless
--allow-requantize. --dry-run prints the plan. --report compares the
output with a float input (see rwkv-tools compare).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Input = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runQuantize(cmd, opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "output GGUF file (required unless --dry-run)")
	cmd.Flags().StringVarP(&opts.Type, "type", "t", "", "matrix type: "+convert.TypeList())
	cmd.Flags().StringVar(&opts.Embedding, "embedding", "auto", "token embedding type: auto, keep or a type")
	cmd.Flags().StringVar(&opts.Head, "head", "auto", "output head type: auto, keep or a type")
	cmd.Flags().BoolVar(&opts.AllowRequantize, "allow-requantize", false, "accept an input that is already block-quantized")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "print the plan (tensor, shape, from, to, bytes) and write nothing")
	cmd.Flags().BoolVar(&opts.Report, "report", false, "compare the output with the (float) input: KL, top-1, Δppl")
	cmd.Flags().StringVar(&opts.Text, "text", "", "with --report: text file to compare on (default: the built-in sample)")
	addJSONFlag(cmd, &opts.JSON)
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "tensors encoded at once (default: all cores)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing but errors")
	cmd.MarkFlagRequired("type")
	return cmd
}

// quantizeSummary is the --json shape of quantize.
type quantizeSummary struct {
	Input       string                  `json:"input"`
	Output      string                  `json:"output,omitempty"`
	Arch        string                  `json:"arch"`
	Type        string                  `json:"type"`
	DryRun      bool                    `json:"dry_run"`
	Requantized bool                    `json:"requantized"`
	InBytes     int64                   `json:"tensor_bytes_in"`
	OutBytes    int64                   `json:"tensor_bytes_out"`
	FileBytes   int64                   `json:"file_bytes,omitempty"`
	Notes       []string                `json:"notes,omitempty"`
	Warnings    []string                `json:"warnings,omitempty"`
	Tensors     []quantizeSummaryTensor `json:"tensors"`
	Report      *compareReport          `json:"report,omitempty"`
}

type quantizeSummaryTensor struct {
	Name  string  `json:"name"`
	Shape []int64 `json:"shape"`
	From  string  `json:"from"`
	To    string  `json:"to"`
	Bytes uint64  `json:"bytes"`
	Note  string  `json:"note,omitempty"`
}

func runQuantize(cmd *cobra.Command, opts *quantizeOptions) error {
	typ, err := convert.ParseType(opts.Type)
	if err != nil {
		return fmt.Errorf("--type: %w", err)
	}
	emb, err := convert.ParseSwitch("embedding", opts.Embedding)
	if err != nil {
		return err
	}
	head, err := convert.ParseSwitch("head", opts.Head)
	if err != nil {
		return err
	}
	if opts.Output == "" && !opts.DryRun {
		return fmt.Errorf("no output file: pass -o OUT.gguf (or --dry-run to see the plan)")
	}
	if opts.Report && opts.DryRun {
		return fmt.Errorf("--report needs an output file; drop --dry-run")
	}
	if err := checkThreads(opts.Threads); err != nil {
		return err
	}
	if !opts.DryRun {
		if err := checkOutputs([]string{opts.Input}, outputFlag{"-o", opts.Output}); err != nil {
			return err
		}
	}
	if opts.Report {
		if err := checkCompareInput(opts.Input, opts.Text); err != nil {
			return fmt.Errorf("--report: %w", err)
		}
	}
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	qopts := convert.QuantizeOptions{Type: typ, Embedding: emb, Head: head, AllowRequantize: opts.AllowRequantize,
		DryRun: opts.DryRun, Threads: threads}
	prog := newProgress(opts.IO, opts.Quiet || opts.JSON || opts.DryRun, "quantize", 0, "tensors")
	qopts.Progress = func(done, total int, name string) {
		prog.total = total
		prog.Update(done, name)
	}
	start := time.Now()
	rep, err := convert.Quantize(cmd.Context(), opts.Input, opts.Output, qopts)
	prog.Done()
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	var cmp *compareReport
	if opts.Report {
		if rep.Requantized {
			fmt.Fprintln(opts.IO.ErrOut, "note: --report skipped: the input is block-quantized, not a float reference")
		} else {
			if cmp, err = compareFiles(cmd.Context(), opts.Input, opts.Output, opts.Text, "", 4096, threads); err != nil {
				return fmt.Errorf("--report: %w", err)
			}
		}
	}
	for _, w := range rep.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "warning:", w)
	}
	if opts.JSON {
		return writeQuantizeJSON(opts.IO.Out, rep, cmp, opts.DryRun)
	}
	if opts.Quiet {
		return nil
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(opts.IO.ErrOut, "note:", n)
	}
	if opts.DryRun {
		return writePlanTable(opts.IO.Out, rep)
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s: %s, %d tensors as %s, tensor data %s → %s (%.1f%%), file %s in %.2fs",
		opts.Output, rep.Arch, len(rep.Tensors), quantizeCounts(rep), humanBytes(rep.InBytes), humanBytes(rep.OutBytes),
		100*float64(rep.OutBytes)/float64(max(rep.InBytes, 1)), humanBytes(rep.FileBytes), elapsed.Seconds())
	if rss := rusage.PeakRSS(); rss > 0 {
		fmt.Fprintf(opts.IO.Out, ", peak RSS %s", humanBytes(rss))
	}
	fmt.Fprintln(opts.IO.Out)
	if rep.Requantized {
		fmt.Fprintln(opts.IO.Out, "re-quantized from a block-quantized input (--allow-requantize): errors compound")
	}
	if cmp != nil {
		fmt.Fprintf(opts.IO.Out, "quality against %s (%d tokens of %s):\n", opts.Input, cmp.Tokens, cmp.Text)
		return writeQualityTable(opts.IO.Out, []string{opts.Output}, []quality.Result{cmp.Result})
	}
	return nil
}

// quantizeCounts is "12 Q8_0, 30 F32" in a fixed order.
func quantizeCounts(rep *convert.QuantizeReport) string {
	count := map[string]int{}
	var order []string
	for _, t := range rep.Tensors {
		k := t.To.String()
		if count[k] == 0 {
			order = append(order, k)
		}
		count[k]++
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%d %s", count[k], k))
	}
	return strings.Join(parts, ", ")
}

// writePlanTable prints the --dry-run plan with totals.
func writePlanTable(w io.Writer, rep *convert.QuantizeReport) error {
	header := []string{"tensor", "shape", "from", "to", "bytes", "note"}
	var rows [][]string
	for _, t := range rep.Tensors {
		rows = append(rows, []string{t.Name, shapeString(t.Shape), t.From.String(), t.To.String(), fmt.Sprint(t.Bytes), t.Note})
	}
	rows = append(rows, []string{fmt.Sprintf("total (%d tensors)", len(rep.Tensors)), "", humanBytes(rep.InBytes), humanBytes(rep.OutBytes),
		fmt.Sprint(rep.OutBytes), fmt.Sprintf("%.1f%% of the input", 100*float64(rep.OutBytes)/float64(max(rep.InBytes, 1)))})
	if err := table.Write(w, table.ASCII, header, rows, 4); err != nil {
		return err
	}
	if rep.Requantized {
		fmt.Fprintln(w, "re-quantizing a block-quantized input (--allow-requantize): errors compound")
	}
	return nil
}

func writeQuantizeJSON(w io.Writer, rep *convert.QuantizeReport, cmp *compareReport, dryRun bool) error {
	s := quantizeSummary{Input: rep.Input, Output: rep.Output, Arch: rep.Arch, Type: strings.ToLower(rep.Type.String()),
		DryRun: dryRun, Requantized: rep.Requantized, InBytes: rep.InBytes, OutBytes: rep.OutBytes,
		FileBytes: rep.FileBytes, Notes: rep.Notes, Warnings: rep.Warnings, Report: cmp}
	for _, t := range rep.Tensors {
		s.Tensors = append(s.Tensors, quantizeSummaryTensor{Name: t.Name, Shape: t.Shape, From: t.From.String(), To: t.To.String(), Bytes: t.Bytes, Note: t.Note})
	}
	return writeJSON(w, s)
}
