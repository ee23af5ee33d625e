package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/engine"
)

type logitsOptions struct {
	IO       *IO
	Model    string
	Tokens   string
	Output   string
	StateIn  string
	StateOut string
	Threads  int
	Quiet    bool
	JSON     bool
}

func newLogitsCmd(io *IO, runF func(*logitsOptions) error) *cobra.Command {
	opts := &logitsOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "logits MODEL --tokens 1,2,3 [-o FILE]",
		Short: "Compute the logits at every position of a token sequence",
		Long: `Logits feeds the tokens to the model (from its initial state: zero, or
a state-tuned RWKV-6 file's tuned state; or from --state-in) and writes the logits for every position as little-endian float32
[T][V] to FILE: row t holds the logits after tokens[0..t]. Without -o it
prints a summary per position. Use it to compare rwkv-tools with another
implementation.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runLogits(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Tokens, "tokens", "", "comma-separated token ids (required)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write float32 [T][V] logits to this file (- for stdout)")
	cmd.Flags().StringVar(&opts.StateIn, "state-in", "", "start from a state saved by --state-out")
	cmd.Flags().StringVar(&opts.StateOut, "state-out", "", "save the state after the last token")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "threads for matrix products (default: all cores)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	addJSONFlag(cmd, &opts.JSON)
	cmd.MarkFlagRequired("tokens")
	return cmd
}

// logitsChunk is how many tokens logits feeds between cancellation checks
// and progress updates (a multiple of the engine's chunk, so the numbers
// equal one Sequence call).
const logitsChunk = 64

func runLogits(ctx context.Context, opts *logitsOptions) error {
	tokens, err := parseTokens(opts.Tokens)
	if err != nil {
		return err
	}
	if err := checkThreads(opts.Threads); err != nil {
		return err
	}
	if opts.JSON && (opts.Output == "-" || opts.StateOut == "-") {
		return fmt.Errorf("--json and an output to stdout (-) would mix on stdout; write the output to a file")
	}
	if err := checkOutputsStdout([]string{opts.Model, opts.StateIn},
		outputFlag{"-o", opts.Output}, outputFlag{"--state-out", opts.StateOut}); err != nil {
		return err
	}
	m, f, err := openModel(opts.Model, opts.Threads)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg := m.Config()
	st := m.NewState()
	if opts.StateIn != "" {
		if err := loadState(opts.StateIn, st); err != nil {
			return err
		}
	}
	if err := checkTokenRange(tokens, cfg.Vocab); err != nil {
		return err
	}
	logits := make([]float32, len(tokens)*cfg.Vocab)
	prog := newProgress(opts.IO, opts.Quiet || opts.JSON, "logits", len(tokens), "tokens")
	for t0 := 0; t0 < len(tokens); t0 += logitsChunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		t1 := min(t0+logitsChunk, len(tokens))
		if err := m.Sequence(st, tokens[t0:t1], logits[t0*cfg.Vocab:t1*cfg.Vocab]); err != nil {
			return fmt.Errorf("%s: %w", opts.Model, err)
		}
		prog.Update(t1, "")
	}
	prog.Done()
	if err := ctx.Err(); err != nil {
		return err
	}
	if n := countNaN(logits); n > 0 {
		// Matrices are not scanned at load (that would read the whole
		// file); NaN logits are where corrupt weights show.
		fmt.Fprintf(opts.IO.ErrOut, "warning: %d of %d logits are NaN: %s holds NaN or infinite weights (a corrupt file); re-convert it\n", n, len(logits), opts.Model)
	}
	if opts.StateOut != "" {
		if err := saveState(ctx, opts.IO, opts.StateOut, st); err != nil {
			return err
		}
	}
	if opts.Output != "" {
		err := writeOutput(ctx, opts.IO, opts.Output, func(f io.Writer) error {
			w := bufio.NewWriter(f)
			var b [4]byte
			for _, v := range logits {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				w.Write(b[:])
			}
			return w.Flush()
		})
		if err != nil {
			if opts.StateOut != "" && ctx.Err() == nil {
				return fmt.Errorf("%w (the state was saved to %s)", err, opts.StateOut)
			}
			return err
		}
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, logitsSummary(opts, m, tokens, logits))
	}
	if opts.Output == "-" {
		return nil
	}
	if opts.Output != "" {
		fmt.Fprintf(opts.IO.Out, "wrote %s: float32 [%d][%d]\n", opts.Output, len(tokens), cfg.Vocab)
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "%s: %s, vocab %d, %d tokens, kernels %s\n", opts.Model, cfg.Arch, cfg.Vocab, len(tokens), m.Kernels())
	fmt.Fprintln(opts.IO.Out, "pos  token  argmax  logit      log p(argmax)")
	for t, tok := range tokens {
		row := logits[t*cfg.Vocab : (t+1)*cfg.Vocab]
		best, lse := argmaxLogSumExp(row)
		fmt.Fprintf(opts.IO.Out, "%3d  %5d  %6d  %9.4f  %9.4f\n", t, tok, best, row[best], float64(row[best])-lse)
	}
	return nil
}

// checkTokenRange refuses token ids outside the vocabulary before any work.
func checkTokenRange(tokens []int, vocab int) error {
	for i, t := range tokens {
		if t < 0 || t >= vocab {
			return fmt.Errorf("--tokens: token %d at position %d is outside the vocabulary [0, %d)", t, i, vocab)
		}
	}
	return nil
}

type logitsPosition struct {
	Token   int     `json:"token"`
	Argmax  int     `json:"argmax"`
	Logit   float32 `json:"logit"`
	LogProb float64 `json:"logprob_argmax"`
}

type logitsJSON struct {
	Model     string           `json:"model"`
	Arch      string           `json:"arch"`
	Vocab     int              `json:"vocab"`
	Kernels   string           `json:"kernels"`
	Output    string           `json:"output,omitempty"`
	StateOut  string           `json:"state_out,omitempty"`
	Positions []logitsPosition `json:"positions"`
}

func logitsSummary(opts *logitsOptions, m engine.Model, tokens []int, logits []float32) logitsJSON {
	cfg := m.Config()
	out := logitsJSON{Model: opts.Model, Arch: cfg.Arch, Vocab: cfg.Vocab, Kernels: m.Kernels(), StateOut: opts.StateOut}
	if opts.Output != "-" {
		out.Output = opts.Output
	}
	for t, tok := range tokens {
		row := logits[t*cfg.Vocab : (t+1)*cfg.Vocab]
		best, lse := argmaxLogSumExp(row)
		out.Positions = append(out.Positions, logitsPosition{tok, best, row[best], float64(row[best]) - lse})
	}
	return out
}

// argmaxLogSumExp returns the argmax and log Σ exp(row), in float64.
func argmaxLogSumExp(row []float32) (int, float64) {
	best := 0
	for i, v := range row {
		if v > row[best] {
			best = i
		}
	}
	mx := float64(row[best])
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return best, mx + math.Log(s)
}

// countNaN counts NaN values.
func countNaN(xs []float32) int {
	n := 0
	for _, x := range xs {
		if x != x {
			n++
		}
	}
	return n
}
