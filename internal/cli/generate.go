package cli

import (
	"bufio"
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

type generateOptions struct {
	IO          *IO
	Model       string
	Prompt      string
	Tokenizer   string
	N           int
	Temperature float64
	TopP        float64
	Seed        uint64
	Threads     int
	Stats       bool
}

func newGenerateCmd(io *IO, runF func(*generateOptions) error) *cobra.Command {
	opts := &generateOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "generate MODEL --prompt TEXT [-n N] [--temperature T] [--top-p P] [--seed S]",
		Short: "Continue a prompt, streaming the text",
		Long: `Generate feeds the prompt in sequence mode, then samples one token at a
time and streams the text as it forms complete UTF-8. Temperature 0 is
greedy (deterministic); otherwise nucleus sampling with --top-p, reproducible
for a given --seed. Generation stops after N tokens or at token 0 (end of
text in both RWKV vocabularies). An empty prompt starts from token 0.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runGenerate(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Prompt, "prompt", "", "prompt text")
	cmd.Flags().StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer file (default: the one stored in MODEL)")
	cmd.Flags().IntVarP(&opts.N, "n", "n", 100, "tokens to generate")
	cmd.Flags().Float64Var(&opts.Temperature, "temperature", 1.0, "sampling temperature; 0 = greedy")
	cmd.Flags().Float64Var(&opts.TopP, "top-p", 0.85, "nucleus sampling threshold (1 = off)")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 0, "random seed")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "threads for matrix products (default: all cores)")
	cmd.Flags().BoolVar(&opts.Stats, "stats", false, "print timing to stderr at the end")
	return cmd
}

func runGenerate(ctx context.Context, opts *generateOptions) error {
	if opts.N < 0 {
		return fmt.Errorf("-n %d: must be >= 0", opts.N)
	}
	if opts.Temperature < 0 || opts.TopP <= 0 {
		return fmt.Errorf("--temperature must be >= 0 and --top-p > 0")
	}
	if err := checkThreads(opts.Threads); err != nil {
		return err
	}
	m, f, err := openModel(opts.Model, opts.Threads)
	if err != nil {
		return err
	}
	defer f.Close()
	var tok tokenizer.Tokenizer
	if opts.Tokenizer != "" {
		tok, err = resolveTokenizer(opts.Tokenizer, "")
	} else {
		tok, err = tokenizerFromModel(opts.Model, f)
	}
	if err != nil {
		return err
	}
	if tok.VocabSize() > m.Config().Vocab {
		return fmt.Errorf("tokenizer has %d tokens, the model only %d", tok.VocabSize(), m.Config().Vocab)
	}
	prompt := tok.Encode(opts.Prompt)
	if len(prompt) == 0 {
		prompt = []int{0}
	}
	out := bufio.NewWriter(opts.IO.Out)
	defer out.Flush()
	out.WriteString(opts.Prompt)
	out.Flush()
	stream := &utf8Stream{w: out}
	start := time.Now()
	ids, err := generate(ctx, m, prompt, opts.N, engine.NewSampler(opts.Temperature, opts.TopP, opts.Seed), func(id int) error {
		return stream.write(tok.DecodeBytes([]int{id}))
	})
	if err != nil {
		return err
	}
	stream.flush()
	fmt.Fprintln(out)
	if opts.Stats {
		el := time.Since(start).Seconds()
		fmt.Fprintf(opts.IO.ErrOut, "%d prompt tokens, %d generated in %.2fs (%.1f tok/s), kernels %s\n",
			len(prompt), len(ids), el, float64(len(prompt)+len(ids))/el, m.Kernels())
	}
	return nil
}

// generate feeds the prompt, then samples up to n tokens, calling emit for
// each; it stops early at token 0. It returns the generated ids.
func generate(ctx context.Context, m engine.Model, prompt []int, n int, s *engine.Sampler, emit func(int) error) ([]int, error) {
	st := m.NewState()
	logits := make([]float32, m.Config().Vocab)
	for t0 := 0; t0 < len(prompt); t0 += logitsChunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var out []float32
		t1 := min(t0+logitsChunk, len(prompt))
		if t1 == len(prompt) {
			out = logits
		}
		if err := m.Sequence(st, prompt[t0:t1], out); err != nil {
			return nil, err
		}
	}
	var ids []int
	for len(ids) < n {
		if err := ctx.Err(); err != nil {
			return ids, err
		}
		id := s.Sample(logits)
		if id == 0 {
			break
		}
		ids = append(ids, id)
		if err := emit(id); err != nil {
			return ids, err
		}
		if len(ids) == n {
			break
		}
		if err := m.Step(st, id, logits); err != nil {
			return ids, err
		}
	}
	return ids, nil
}

// utf8Stream writes bytes as soon as they form complete UTF-8 sequences,
// holding back an incomplete tail (a token may end mid-character).
type utf8Stream struct {
	w       *bufio.Writer
	pending []byte
}

func (s *utf8Stream) write(b []byte) error {
	s.pending = append(s.pending, b...)
	i := 0
	for i < len(s.pending) {
		if !utf8.FullRune(s.pending[i:]) {
			break
		}
		_, size := utf8.DecodeRune(s.pending[i:])
		i += size
	}
	if _, err := s.w.Write(s.pending[:i]); err != nil {
		return err
	}
	s.pending = append(s.pending[:0], s.pending[i:]...)
	return s.w.Flush()
}

func (s *utf8Stream) flush() { s.w.Write(s.pending); s.pending = nil }
