package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

type tokenizeOptions struct {
	IO        *IO
	Tokenizer string
	Model     string
	Texts     []string
	Verbose   bool
	JSONL     bool
}

func newTokenizeCmd(io *IO, runF func(*tokenizeOptions) error) *cobra.Command {
	opts := &tokenizeOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "tokenize [--tokenizer F | --model M] TEXT...",
		Short: "Print the token ids of texts",
		Long: `Tokenize prints the ids of each TEXT, one line per text (with -v, one
line per token: id and piece). --tokenizer takes a tokenizer file
(tokenizer.json, rwkv_vocab_*.txt) or a model file that carries one; --model
takes a model file. With --jsonl it reads {"text": ...} lines on stdin and
writes {"ids": [...]} lines.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Texts = args
			if runF != nil {
				return runF(opts)
			}
			return runTokenize(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer file, or a model file that carries its tokenizer")
	cmd.Flags().StringVar(&opts.Model, "model", "", "model file whose stored tokenizer to use")
	cmd.Flags().BoolVarP(&opts.Verbose, "verbose", "v", false, "print each token: id, decoded text, raw vocabulary entry")
	cmd.Flags().BoolVar(&opts.JSONL, "jsonl", false, `read {"text": ...} lines on stdin, write {"ids": [...]} lines`)
	return cmd
}

// resolveTokenizer loads the tokenizer named by --tokenizer (a tokenizer
// file or a model file) or the one stored in --model.
func resolveTokenizer(tokFlag, modelFlag string) (tokenizer.Tokenizer, error) {
	if tokFlag != "" && modelFlag != "" {
		return nil, fmt.Errorf("give --tokenizer or --model, not both")
	}
	path := tokFlag
	if path == "" {
		path = modelFlag
	}
	if path == "" {
		return nil, fmt.Errorf("no tokenizer: pass --tokenizer FILE or --model MODEL.gguf")
	}
	isGGUF, err := hasMagic(path, "GGUF")
	if err != nil {
		return nil, err
	}
	if !isGGUF {
		if modelFlag != "" {
			return nil, fmt.Errorf("--model %s is not a GGUF model file", path)
		}
		return tokenizer.Load(path)
	}
	f, err := format.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return tokenizerFromModel(path, f)
}

func tokenizerFromModel(path string, f *format.File) (tokenizer.Tokenizer, error) {
	tok, err := convert.TokenizerFromMetadata(f.Metadata)
	if errors.Is(err, convert.ErrNoTokenizer) {
		return nil, fmt.Errorf("%s carries no tokenizer; pass --tokenizer FILE, or re-convert with --tokenizer", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: stored tokenizer: %w", path, err)
	}
	return tok, nil
}

func runTokenize(ctx context.Context, opts *tokenizeOptions) error {
	tok, err := resolveTokenizer(opts.Tokenizer, opts.Model)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(opts.IO.Out)
	defer out.Flush()
	if opts.JSONL {
		if len(opts.Texts) > 0 {
			return fmt.Errorf("--jsonl reads texts from stdin; got arguments too")
		}
		return readLines(ctx, opts.IO.In, "stdin", out.Flush, func(line int, text []byte) error {
			if len(bytes.TrimSpace(text)) == 0 {
				return nil
			}
			var in struct {
				Text *string `json:"text"`
			}
			if err := json.Unmarshal(text, &in); err != nil {
				return fmt.Errorf("stdin line %d: %w", line, err)
			}
			if in.Text == nil {
				return fmt.Errorf("stdin line %d: no \"text\" field", line)
			}
			ids := tok.Encode(*in.Text)
			if ids == nil {
				ids = []int{}
			}
			b, _ := json.Marshal(struct {
				IDs []int `json:"ids"`
			}{ids})
			_, err := out.Write(append(b, '\n'))
			return err
		})
	}
	if len(opts.Texts) == 0 {
		return fmt.Errorf("no TEXT given (or use --jsonl)")
	}
	for _, text := range opts.Texts {
		ids := tok.Encode(text)
		if opts.Verbose {
			for _, id := range ids {
				// The decoded text first (what the token stands for, partial
				// UTF-8 escaped), then the vocabulary's raw form (byte-level
				// "Ġworld", World bytes, "<0x0A>").
				fmt.Fprintf(out, "%6d  %-14s  %s\n", id, strconv.Quote(string(tok.DecodeBytes([]int{id}))), printable(tok.Token(id)))
			}
			fmt.Fprintln(out)
			continue
		}
		parts := make([]string, len(ids))
		for i, id := range ids {
			parts[i] = strconv.Itoa(id)
		}
		fmt.Fprintln(out, strings.Join(parts, " "))
	}
	return nil
}
