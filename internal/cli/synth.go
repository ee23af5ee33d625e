package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/internal/synth"
)

type synthOptions struct {
	IO        *IO
	Output    string
	Arch      string
	Layers    int
	Embd      int
	Vocab     int
	FFN       int
	HeadSize  int
	Type      string
	Seed      uint64
	Tokenizer string
	Quiet     bool
	JSON      bool
}

func newSynthCmd(io *IO, runF func(*synthOptions) error) *cobra.Command {
	opts := &synthOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "synth --arch rwkv4|rwkv5|rwkv6|rwkv7|gptneox -o OUT.gguf",
		Short: "Write a random-weight model of any published shape (for benchmarks)",
		Long: `Synth writes a GGUF model with random weights: the tensors, metadata and
type policy of a converted checkpoint of that architecture and shape, so
that bench, logits and eval run on it exactly as on a real model (the
outputs are meaningless). Defaults are the 169M shape (12 layers, n_embd 768,
vocab 50277); the FFN width, head size and LoRA ranks follow the published
models of that width. The same options and --seed give the same bytes; the
file is written atomically.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runSynth(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.Output, "output", "o", "", "output GGUF file (required)")
	f.StringVar(&opts.Arch, "arch", "rwkv4", "architecture: rwkv4, rwkv5, rwkv6, rwkv7 or gptneox")
	f.IntVar(&opts.Layers, "layers", 12, "number of blocks")
	f.IntVar(&opts.Embd, "embd", 768, "n_embd (residual width)")
	f.IntVar(&opts.Vocab, "vocab", 50277, "vocabulary size")
	f.IntVar(&opts.FFN, "ffn", 0, "channel-mix width (0: 4·n_embd for rwkv4/7, 3.5·n_embd for rwkv5/6)")
	f.IntVar(&opts.HeadSize, "head-size", 0, "rwkv5-7 head size (0: 64)")
	f.StringVar(&opts.Type, "type", "f16", "matrix type: "+convert.TypeList())
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed")
	f.StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer file to store (tokenizer.json or rwkv_vocab_*.txt; default: none)")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "print nothing but errors")
	addJSONFlag(cmd, &opts.JSON)
	cmd.MarkFlagRequired("output")
	return cmd
}

type synthJSON struct {
	Output    string  `json:"output"`
	Arch      string  `json:"arch"`
	Type      string  `json:"type"`
	Seed      uint64  `json:"seed"`
	Vocab     int     `json:"vocab"`
	Embd      int     `json:"n_embd"`
	Layers    int     `json:"layers"`
	FFN       int     `json:"ffn"`
	HeadSize  int     `json:"head_size,omitempty"`
	Bytes     int64   `json:"bytes"`
	Seconds   float64 `json:"seconds"`
	Tokenizer string  `json:"tokenizer,omitempty"`
}

func runSynth(ctx context.Context, opts *synthOptions) error {
	typ, err := convert.ParseType(opts.Type)
	if err != nil {
		return fmt.Errorf("--type: %w", err)
	}
	so := synth.Options{Arch: strings.ToLower(opts.Arch), Layers: opts.Layers, Embd: opts.Embd, Vocab: opts.Vocab,
		FFN: opts.FFN, HeadSize: opts.HeadSize, Type: typ, Seed: opts.Seed}
	d, err := so.Dims()
	if err != nil {
		return err
	}
	if err := checkOutputs([]string{opts.Tokenizer}, outputFlag{"-o", opts.Output}); err != nil {
		return err
	}
	if opts.Tokenizer != "" {
		if so.TokenizerMetadata, err = convert.TokenizerMetadata(opts.Tokenizer, d.Vocab); err != nil {
			return err
		}
	}
	start := time.Now()
	if !opts.Quiet && !opts.JSON {
		fmt.Fprintf(opts.IO.ErrOut, "synth: writing %s ...\n", opts.Output)
	}
	if _, err := synth.Write(ctx, opts.Output, so); err != nil {
		return err
	}
	st, err := os.Stat(opts.Output)
	if err != nil {
		return err
	}
	sum := synthJSON{Output: opts.Output, Arch: so.Arch, Type: strings.ToLower(typ.String()), Seed: opts.Seed,
		Vocab: d.Vocab, Embd: d.Embd, Layers: d.Layers, FFN: d.FFN, HeadSize: d.HeadSize, Bytes: st.Size(),
		Seconds: time.Since(start).Seconds(), Tokenizer: opts.Tokenizer}
	if opts.JSON {
		return writeJSON(opts.IO.Out, sum)
	}
	if opts.Quiet {
		return nil
	}
	fmt.Fprintf(opts.IO.Out, "wrote %s: random %s, vocab %d, n_embd %d, %d layers, ffn %d, %s matrices, seed %d, %s in %.2fs\n",
		opts.Output, so.Arch, d.Vocab, d.Embd, d.Layers, d.FFN, sum.Type, opts.Seed, humanBytes(st.Size()), sum.Seconds)
	return nil
}
