package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/quality"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
)

type compareOptions struct {
	IO        *IO
	Ref       string
	Other     string
	Text      string // file; empty: quality.SampleText
	Tokenizer string
	MaxTokens int
	JSON      bool
	Threads   int
	Quiet     bool
}

func newCompareCmd(io *IO, runF func(*compareOptions) error) *cobra.Command {
	opts := &compareOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "compare REF.gguf OTHER.gguf [--text FILE] [--json]",
		Short: "Measure how far a model's predictions are from a reference's (KL, top-1, perplexity)",
		Long: `Compare runs both models over the same tokens and reports, per position,
the KL divergence KL(REF‖OTHER) of OTHER's next-token distribution from
REF's (mean, 99th percentile, max, in nats), the share of positions with the
same top-1 token and the same top-5 set, and the perplexity of each model on
the text with Δppl = ppl(OTHER)/ppl(REF) − 1 in percent.

The text is a short English passage built into the binary, or --text FILE,
tokenized with REF's stored tokenizer (or --tokenizer FILE); a byte-level
model (vocabulary 256) with no tokenizer reads the UTF-8 bytes. Use it to
see what a quantized file costs against its float original.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Ref, opts.Other = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runCompare(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Text, "text", "", "text file to compare on (default: the built-in English sample)")
	cmd.Flags().StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer file (default: the one stored in REF)")
	cmd.Flags().IntVar(&opts.MaxTokens, "max-tokens", 4096, "compare at most this many tokens of the text")
	addJSONFlag(cmd, &opts.JSON)
	cmd.Flags().IntVar(&opts.Threads, "threads", 0, "threads for matrix products (default: all cores)")
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	return cmd
}

// compareReport is the --json shape of compare.
type compareReport struct {
	Ref    string `json:"ref"`
	Other  string `json:"other"`
	Text   string `json:"text"` // the file, or "built-in sample"
	Tokens int    `json:"tokens"`
	quality.Result
}

func runCompare(ctx context.Context, opts *compareOptions) error {
	if err := checkThreads(opts.Threads); err != nil {
		return err
	}
	prog := newProgress(opts.IO, opts.Quiet || opts.JSON, "compare", 0, "tokens")
	rep, err := compareFiles(withProgress(ctx, prog), opts.Ref, opts.Other, opts.Text, opts.Tokenizer, opts.MaxTokens, opts.Threads)
	prog.Done()
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, rep)
	}
	fmt.Fprintf(opts.IO.Out, "%s vs %s: %d tokens of %s\n", opts.Other, opts.Ref, rep.Tokens, rep.Text)
	return writeQualityTable(opts.IO.Out, []string{opts.Other}, []quality.Result{rep.Result})
}

// writeQualityTable prints one row per compared model.
func writeQualityTable(w io.Writer, names []string, rs []quality.Result) error {
	header := []string{"model", "KL mean", "KL p99", "KL max", "top-1", "same top-5", "ppl ref", "ppl", "Δppl %"}
	var rows [][]string
	for i, r := range rs {
		rows = append(rows, []string{names[i],
			fmt.Sprintf("%.3g", r.KLMean), fmt.Sprintf("%.3g", r.KLP99), fmt.Sprintf("%.3g", r.KLMax),
			fmt.Sprintf("%.4f", r.Top1), fmt.Sprintf("%.4f", r.Top5),
			fmt.Sprintf("%.4f", r.PPLRef), fmt.Sprintf("%.4f", r.PPLOther), fmt.Sprintf("%+.3f", r.DeltaPPLPct)})
	}
	return table.Write(w, table.ASCII, header, rows, 1, 2, 3, 4, 5, 6, 7, 8)
}

// compareFiles tokenizes the text for ref and compares other against it.
func compareFiles(ctx context.Context, ref, other, textFile, tokFile string, maxTokens, threads int) (*compareReport, error) {
	text, textName, err := compareText(textFile)
	if err != nil {
		return nil, err
	}
	mRef, fRef, err := openModel(ref, threads)
	if err != nil {
		return nil, err
	}
	defer fRef.Close()
	mOther, fOther, err := openModel(other, threads)
	if err != nil {
		return nil, err
	}
	defer fOther.Close()
	V := mRef.Config().Vocab
	if vo := mOther.Config().Vocab; vo != V {
		return nil, fmt.Errorf("%s has a vocabulary of %d, %s of %d: not the same model", ref, V, other, vo)
	}
	tokens, err := compareTokens(ref, fRef, tokFile, text, V)
	if err != nil {
		return nil, err
	}
	if maxTokens > 0 && len(tokens) > maxTokens {
		tokens = tokens[:maxTokens]
	}
	if len(tokens) < 2 {
		return nil, fmt.Errorf("%s gives %d tokens; compare needs at least 2", textName, len(tokens))
	}
	// Chunks keep memory at 2·chunk·V floats whatever the text length.
	const chunk = 64
	var c quality.Comparer
	stRef, stOther := mRef.NewState(), mOther.NewState()
	lRef, lOther := make([]float32, chunk*V), make([]float32, chunk*V)
	prog := progressFrom(ctx)
	if prog != nil {
		prog.SetTotal(len(tokens))
	}
	for t0 := 0; t0 < len(tokens); t0 += chunk {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		prog.Update(t0, "")
		part := tokens[t0:min(t0+chunk, len(tokens))]
		if err := mRef.Sequence(stRef, part, lRef[:len(part)*V]); err != nil {
			return nil, fmt.Errorf("%s: %w", ref, err)
		}
		if err := mOther.Sequence(stOther, part, lOther[:len(part)*V]); err != nil {
			return nil, fmt.Errorf("%s: %w", other, err)
		}
		for i := range part {
			next := -1
			if t := t0 + i + 1; t < len(tokens) {
				next = tokens[t]
			}
			if err := c.Add(lRef[i*V:(i+1)*V], lOther[i*V:(i+1)*V], next); err != nil {
				return nil, err
			}
		}
	}
	return &compareReport{Ref: ref, Other: other, Text: textName, Tokens: len(tokens), Result: c.Result()}, nil
}

// compareText is the text to compare on and its name for the report.
func compareText(textFile string) (string, string, error) {
	if textFile == "" {
		return quality.SampleText, "built-in sample", nil
	}
	b, err := os.ReadFile(textFile)
	if err != nil {
		return "", "", err
	}
	return string(b), textFile, nil
}

// checkCompareInput fails early (before quantize writes anything) when
// compare could not tokenize the text for the model at path.
func checkCompareInput(path, textFile string) error {
	text, _, err := compareText(textFile)
	if err != nil {
		return err
	}
	f, err := format.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	vocab, err := f.Metadata.Uint(fmt.Sprint(mustString(f.Metadata, "general.architecture"), ".vocab_size"))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	_, err = compareTokens(path, f, "", text, int(vocab))
	return err
}

func mustString(md format.Metadata, key string) string {
	s, _ := md.String(key)
	return s
}

// compareTokens tokenizes text with tokFile, or the model's stored
// tokenizer, or (a byte-level model without one) as UTF-8 bytes.
func compareTokens(path string, f *format.File, tokFile, text string, vocab int) ([]int, error) {
	if tokFile != "" {
		tok, err := resolveTokenizer(tokFile, "")
		if err != nil {
			return nil, err
		}
		return tok.Encode(text), nil
	}
	tok, err := convert.TokenizerFromMetadata(f.Metadata)
	if errors.Is(err, convert.ErrNoTokenizer) && vocab == 256 {
		ids := make([]int, len(text))
		for i := 0; i < len(text); i++ {
			ids[i] = int(text[i])
		}
		return ids, nil
	}
	if errors.Is(err, convert.ErrNoTokenizer) {
		return nil, fmt.Errorf("%s carries no tokenizer; pass --tokenizer FILE (vocabulary %d)", path, vocab)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: stored tokenizer: %w", path, err)
	}
	return tok.Encode(text), nil
}
