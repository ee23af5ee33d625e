package cli

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/kernels"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

type generateOptions struct {
	IO          *IO
	Model       string
	Prompt      string
	PromptFile  string
	Tokenizer   string
	N           int
	Temperature float64
	TopP        float64
	TopK        int
	Seed        uint64
	SeedSet     bool // --seed was given
	Stop        []string
	Threads     int
	Precision   kernels.Precision
	Stats       bool
	JSON        bool
}

func newGenerateCmd(io *IO, runF func(*generateOptions) error) *cobra.Command {
	opts := &generateOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "generate MODEL (--prompt TEXT | --prompt-file F | --prompt-file -) [-n N] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--stop STR]",
		Short: "Continue a prompt, streaming the text",
		Long: `Generate feeds the prompt in sequence mode, then samples one token at a
time and streams the text as it forms complete UTF-8. Temperature 0 is
greedy (deterministic); otherwise sampling from the tokens kept by --top-p
(nucleus) and --top-k. Without --seed a random seed is drawn and printed on
stderr, so a run can be reproduced with --seed. Generation stops after N
tokens, at token 0 (end of text in both RWKV vocabularies), or when the text
ends with a --stop string (repeatable; the stop string itself is not
printed). An empty prompt starts from token 0. --prompt-file - reads the
prompt from stdin.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model = args[0]
			opts.SeedSet = cmd.Flags().Changed("seed")
			if runF != nil {
				return runF(opts)
			}
			return runGenerate(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Prompt, "prompt", "", "prompt text")
	cmd.Flags().StringVar(&opts.PromptFile, "prompt-file", "", "read the prompt from a file (- for stdin)")
	cmd.Flags().StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer file (default: the one stored in MODEL)")
	cmd.Flags().IntVarP(&opts.N, "n", "n", 100, "tokens to generate")
	cmd.Flags().Float64Var(&opts.Temperature, "temperature", 1.0, "sampling temperature; 0 = greedy")
	cmd.Flags().Float64Var(&opts.TopP, "top-p", 0.85, "nucleus sampling threshold in (0, 1] (1 = off)")
	cmd.Flags().IntVar(&opts.TopK, "top-k", 0, "sample among the K most likely tokens only (0 = off)")
	cmd.Flags().Uint64Var(&opts.Seed, "seed", 0, "random seed (default: drawn at random and printed)")
	cmd.Flags().StringArrayVar(&opts.Stop, "stop", nil, "stop when the text ends with this string (repeatable)")
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "threads for matrix products (default: all cores)")
	addPrecisionFlag(cmd, &opts.Precision)
	cmd.Flags().BoolVar(&opts.Stats, "stats", false, "print timing to stderr at the end")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

// generateStats is what --stats prints and --json returns.
type generateStats struct {
	Model           string  `json:"model"`
	Seed            uint64  `json:"seed"`
	PromptTokens    int     `json:"prompt_tokens"`
	GeneratedTokens int     `json:"generated_tokens"`
	PromptSeconds   float64 `json:"prompt_seconds"`
	GenSeconds      float64 `json:"generation_seconds"`
	StopReason      string  `json:"stop_reason"` // "length", "end_of_text", "stop_string"
	Kernels         string  `json:"kernels"`
	Precision       string  `json:"precision"` // of the sampled tokens' Steps
	Text            string  `json:"text,omitempty"`
}

func checkGenerateFlags(opts *generateOptions) error {
	switch {
	case opts.N < 0:
		return fmt.Errorf("-n %d: give the number of tokens to generate, 0 or more", opts.N)
	case opts.Temperature < 0 || opts.Temperature != opts.Temperature:
		return fmt.Errorf("--temperature %v: give 0 (greedy) or a positive number", opts.Temperature)
	case !(opts.TopP > 0 && opts.TopP <= 1):
		return fmt.Errorf("--top-p %v: give a probability mass in (0, 1]; 1 turns nucleus sampling off", opts.TopP)
	case opts.TopK < 0:
		return fmt.Errorf("--top-k %d: give 0 (off) or a positive count", opts.TopK)
	case opts.Prompt != "" && opts.PromptFile != "":
		return fmt.Errorf("--prompt and --prompt-file both given; use one")
	}
	for _, s := range opts.Stop {
		if s == "" {
			return fmt.Errorf("--stop \"\": an empty stop string would stop at once")
		}
	}
	return checkThreads(opts.Threads)
}

func runGenerate(ctx context.Context, opts *generateOptions) error {
	if err := checkGenerateFlags(opts); err != nil {
		return err
	}
	promptText := opts.Prompt
	if opts.PromptFile != "" {
		var b []byte
		var err error
		if opts.PromptFile == "-" {
			b, err = readAllCtx(ctx, opts.IO.In)
		} else {
			b, err = os.ReadFile(opts.PromptFile)
		}
		if err != nil {
			return fmt.Errorf("--prompt-file: %w", err)
		}
		if !utf8.Valid(b) {
			return fmt.Errorf("--prompt-file %s is not UTF-8 text", opts.PromptFile)
		}
		promptText = string(b)
	}
	if !opts.SeedSet {
		opts.Seed = rand.Uint64()
	}
	m, f, err := openModelPrecision(opts.Model, opts.Threads, opts.Precision)
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
	prompt := tok.Encode(promptText)
	if len(prompt) == 0 {
		prompt = []int{0}
	}
	if opts.Temperature > 0 && !opts.SeedSet && !opts.JSON {
		fmt.Fprintf(opts.IO.ErrOut, "seed %d (pass --seed %d to repeat this generation)\n", opts.Seed, opts.Seed)
	}
	out := bufio.NewWriter(opts.IO.Out)
	defer out.Flush()
	var text []byte // the generated text, for --stop and --json
	stream := &utf8Stream{w: out}
	if opts.JSON {
		stream.w = bufio.NewWriter(io.Discard)
	} else {
		out.WriteString(promptText)
		out.Flush()
	}
	sampler := engine.NewSampler(opts.Temperature, opts.TopP, opts.Seed)
	sampler.TopK = opts.TopK
	st := generateStats{Model: opts.Model, Seed: opts.Seed, PromptTokens: len(prompt), Kernels: m.Kernels(), Precision: opts.Precision.String(), StopReason: "length"}
	hold := 0 // bytes held back because they may begin a stop string
	for _, s := range opts.Stop {
		hold = max(hold, len(s)-1)
	}
	written := 0
	stopped := false
	timing := &generateTiming{}
	ids, err := generate(ctx, m, prompt, opts.N, sampler, timing, func(id int) error {
		text = append(text, tok.DecodeBytes([]int{id})...)
		for _, s := range opts.Stop {
			if i := bytes.Index(text[max(0, written-len(s)):], []byte(s)); i >= 0 {
				text = text[:max(0, written-len(s))+i]
				stopped = true
				break
			}
		}
		safe := len(text) - hold
		if stopped {
			safe = len(text)
		}
		if safe > written {
			if err := stream.write(text[written:safe]); err != nil {
				return err
			}
			written = safe
		}
		if stopped {
			return errStopString
		}
		return nil
	})
	switch {
	case errors.Is(err, errStopString):
		st.StopReason = "stop_string"
	case errors.Is(err, engine.ErrModelChanged):
		return fmt.Errorf("%s: %w", opts.Model, err)
	case err != nil:
		return err
	case timing.endOfText:
		st.StopReason = "end_of_text"
	}
	if written < len(text) {
		stream.write(text[written:])
	}
	stream.flush()
	st.GeneratedTokens = len(ids)
	st.PromptSeconds, st.GenSeconds = timing.prompt.Seconds(), timing.gen.Seconds()
	if opts.JSON {
		st.Text = string(text)
		return writeJSON(opts.IO.Out, st)
	}
	fmt.Fprintln(out)
	if opts.Stats {
		out.Flush()
		fmt.Fprintf(opts.IO.ErrOut, "prompt: %d tokens in %.2fs (%.1f tok/s); generated: %d tokens in %.2fs (%.1f tok/s); stopped: %s; seed %d; kernels %s, precision %s\n",
			st.PromptTokens, st.PromptSeconds, rate(st.PromptTokens, st.PromptSeconds),
			st.GeneratedTokens, st.GenSeconds, rate(st.GeneratedTokens, st.GenSeconds),
			strings.ReplaceAll(st.StopReason, "_", " "), st.Seed, st.Kernels, st.Precision)
	} else if st.StopReason == "end_of_text" {
		out.Flush()
		fmt.Fprintf(opts.IO.ErrOut, "(stopped at end of text after %d tokens)\n", st.GeneratedTokens)
	}
	return nil
}

func rate(n int, sec float64) float64 {
	if sec <= 0 {
		return 0
	}
	return float64(n) / sec
}

// errStopString ends generation when a --stop string appears.
var errStopString = errors.New("stop string reached")

// generateTiming splits a generation's time into prompt and sampling, and
// says whether it ended at end of text.
type generateTiming struct {
	prompt, gen time.Duration
	endOfText   bool
}

// generate feeds the prompt, then samples up to n tokens, calling emit for
// each; it stops early at token 0 or when emit fails. It returns the
// generated ids. timing may be nil.
func generate(ctx context.Context, m engine.Model, prompt []int, n int, s *engine.Sampler, timing *generateTiming, emit func(int) error) ([]int, error) {
	if timing == nil {
		timing = &generateTiming{}
	}
	start := time.Now()
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
	timing.prompt = time.Since(start)
	start = time.Now()
	defer func() { timing.gen = time.Since(start) }()
	var ids []int
	for len(ids) < n {
		if err := ctx.Err(); err != nil {
			return ids, err
		}
		if countNaN(logits) > 0 {
			return ids, fmt.Errorf("the model produced NaN logits after %d prompt and %d generated tokens: its file holds NaN or infinite weights (corrupt); re-convert it", len(prompt), len(ids))
		}
		id := s.Sample(logits)
		if id == 0 {
			timing.endOfText = true
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
