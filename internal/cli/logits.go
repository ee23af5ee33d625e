package cli

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
)

type logitsOptions struct {
	IO       *IO
	Model    string
	Tokens   string
	Output   string
	StateIn  string
	StateOut string
	Threads  int
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
			return runLogits(opts)
		},
	}
	cmd.Flags().StringVar(&opts.Tokens, "tokens", "", "comma-separated token ids (required)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "", "write float32 [T][V] logits to this file")
	cmd.Flags().StringVar(&opts.StateIn, "state-in", "", "start from a state saved by --state-out")
	cmd.Flags().StringVar(&opts.StateOut, "state-out", "", "save the state after the last token")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "threads for matrix products (default: all cores)")
	cmd.MarkFlagRequired("tokens")
	return cmd
}

func runLogits(opts *logitsOptions) error {
	tokens, err := parseTokens(opts.Tokens)
	if err != nil {
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
	logits := make([]float32, len(tokens)*cfg.Vocab)
	if err := m.Sequence(st, tokens, logits); err != nil {
		return err
	}
	if opts.StateOut != "" {
		if err := saveState(opts.StateOut, st); err != nil {
			return err
		}
	}
	if opts.Output != "" {
		err := atomicfile.Write(opts.Output, func(f *os.File) error {
			w := bufio.NewWriter(f)
			var b [4]byte
			for _, v := range logits {
				binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
				w.Write(b[:])
			}
			return w.Flush()
		})
		if err != nil {
			return err
		}
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
