package cli

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/eval"
	"github.com/rwkv-tools/rwkv-tools/eval/task"
	"github.com/rwkv-tools/rwkv-tools/internal/buildinfo"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

type evalOptions struct {
	IO             *IO
	Model          string
	Tasks          []string
	DataDir        string
	Limit          int
	Threads        int
	Protocol       string
	PadToken       string
	Tokenizer      string
	BootstrapIters int
	CheckScoring   bool
	Quiet          bool
	JSON           bool
	Output         string
	LogSamples     bool
	Text           string
	MaxTokens      int
	Shard          string     // --shard i/n | auto (eval_shard.go)
	shard          eval.Shard // resolved by resolveEvalShard
}

func newEvalCmd(io *IO, runF func(context.Context, *evalOptions) error) *cobra.Command {
	opts := &evalOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "eval MODEL TASK... | eval MODEL ppl --text FILE",
		Short: "Score a model on zero-shot tasks with lm-evaluation-harness semantics",
		Long: `Eval runs zero-shot tasks the way lm-evaluation-harness scores them
(loglikelihood of each continuation, acc, acc_norm, LAMBADA ppl, stderr) and
prints a table of task, metric, value ± stderr and documents.

TASK is a harness task name (` + strings.Join(task.Names(), ", ") + `),
"lambada" (lambada_openai), or "paper": the RWKV paper's set, restricted to
tasks whose data is present (the rest are listed as skipped).

Data files are read from --data-dir (default $RWKV_TOOLS_DATA, else the user
cache dir's rwkv-tools/data), laid out <dir>/<task>/<file>; "rwkv-tools data
list" shows what is there, "rwkv-tools data fetch TASK" downloads it.

--protocol harness-v0.3 (default; the RWKV paper's and Pythia's published
numbers): context and continuation are tokenized separately.
--protocol harness-v0.4: joint tokenization, the context's trailing
whitespace moved to the continuation, and v0.4's task strings. RWKV models
get a leading pad token, encode("\n") (187 in the GPT-NeoX vocabulary, 11 in
World), as their authors evaluated; other architectures none. --pad-token ID
or --pad-token none overrides.

"eval MODEL ppl --text FILE" instead reports token-level perplexity and
bits per byte of a text, the state carried through the whole text.`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model, opts.Tasks = args[0], args[1:]
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return runEval(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.DataDir, "data-dir", "", "evaluation data directory (default $RWKV_TOOLS_DATA, else <user cache>/rwkv-tools/data)")
	f.IntVar(&opts.Limit, "limit", 0, "score only the first N documents of each task (0 = all)")
	f.IntVar(&opts.Threads, "threads", 0, "workers scoring documents in parallel, each with its own state (default: all cores); results do not depend on it")
	f.StringVar(&opts.Protocol, "protocol", string(task.HarnessV03), "scoring semantics: harness-v0.3 or harness-v0.4")
	f.StringVar(&opts.PadToken, "pad-token", "", `token id prepended to every context, or "none" (default: encode("\n") for RWKV, none otherwise)`)
	f.StringVar(&opts.Tokenizer, "tokenizer", "", "tokenizer file (default: the one stored in MODEL)")
	f.IntVar(&opts.BootstrapIters, "bootstrap-iters", 100000, "bootstrap resamples for the perplexity stderr (0 = skip)")
	f.BoolVar(&opts.CheckScoring, "check-scoring", false, "also score every request from scratch and fail if the shared-prefix scoring differs")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	f.BoolVar(&opts.JSON, "json", false, "print the results JSON instead of the table")
	f.StringVarP(&opts.Output, "output", "o", "", "write results.json (lm-evaluation-harness schema) into this directory")
	f.BoolVar(&opts.LogSamples, "log-samples", false, "with --output, also write samples_<task>.jsonl (the harness' per-document samples)")
	f.StringVar(&opts.Text, "text", "", "ppl: the text file to score")
	f.IntVar(&opts.MaxTokens, "max-tokens", 0, "ppl: score at most the first N tokens (0 = all)")
	f.StringVar(&opts.Shard, "shard", "", `score only slice i of n of every task's documents ("i/n", or "auto" from the scheduler's environment); merge with "eval merge"`)
	cmd.AddCommand(newEvalMergeCmd(io, nil))
	return cmd
}

// defaultDataDir is $RWKV_TOOLS_DATA, else <user cache dir>/rwkv-tools/data.
func defaultDataDir() (string, error) {
	if d := os.Getenv("RWKV_TOOLS_DATA"); d != "" {
		return d, nil
	}
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no data directory: set --data-dir or $RWKV_TOOLS_DATA (%v)", err)
	}
	return filepath.Join(c, "rwkv-tools", "data"), nil
}

// missingData returns the first of t's files absent under dir ("" if all
// are present).
func missingData(t *task.Task, dir string) string {
	for _, f := range t.Files {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Path))); err != nil {
			return filepath.Join(dir, filepath.FromSlash(f.Path))
		}
	}
	return ""
}

// resolveTasks expands aliases and "paper"; it returns the tasks to run and
// a note per skipped paper task.
func resolveTasks(names []string, dataDir string) ([]*task.Task, []string, error) {
	var out []*task.Task
	var skipped []string
	seen := map[string]bool{}
	for _, name := range names {
		if name == "paper" {
			for _, pn := range task.PaperSet {
				t, err := task.Lookup(pn)
				if err != nil {
					skipped = append(skipped, pn+": no loader yet")
					continue
				}
				if miss := missingData(t, dataDir); miss != "" {
					skipped = append(skipped, fmt.Sprintf("%s: data missing (%s)", pn, miss))
					continue
				}
				if !seen[t.Name] {
					seen[t.Name] = true
					out = append(out, t)
				}
			}
			continue
		}
		t, err := task.Lookup(name)
		if err != nil {
			return nil, nil, err
		}
		if miss := missingData(t, dataDir); miss != "" {
			return nil, nil, fmt.Errorf("%s: data file %s is missing; run `rwkv-tools data fetch %s` or point --data-dir at a directory laid out <dir>/<task>/<file>", t.Name, miss, t.Name)
		}
		if !seen[t.Name] {
			seen[t.Name] = true
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, skipped, fmt.Errorf("no task has its data under %s (skipped: %s)", dataDir, strings.Join(skipped, "; "))
	}
	return out, skipped, nil
}

// engineEvalModel adapts an engine.Model to eval.Model.
type engineEvalModel struct{ m engine.Model }

type engineEvalState struct{ st *engine.State }

func (s engineEvalState) Clone() eval.State { return engineEvalState{s.st.Clone()} }

func (a engineEvalModel) Vocab() int           { return a.m.Config().Vocab }
func (a engineEvalModel) NewState() eval.State { return engineEvalState{a.m.NewState()} }
func (a engineEvalModel) Feed(st eval.State, tokens []int, logits []float32) error {
	return a.m.Sequence(st.(engineEvalState).st, tokens, logits)
}

// padTokens resolves --pad-token: "" = encode("\n") for RWKV
// architectures, none for others; "none"; or one id.
func padTokens(flag, archName string, tok tokenizer.Tokenizer, vocab int) ([]int, error) {
	switch flag {
	case "":
		if strings.HasPrefix(archName, "rwkv") {
			return tok.Encode("\n"), nil
		}
		return nil, nil
	case "none":
		return nil, nil
	}
	id, err := strconv.Atoi(flag)
	if err != nil || id < 0 || id >= vocab {
		return nil, fmt.Errorf("--pad-token %q: want a token id in [0, %d) or \"none\"", flag, vocab)
	}
	return []int{id}, nil
}

// loadedModel is an opened model, its tokenizer and provenance.
type loadedModel struct {
	m     engine.Model
	close func() error
	tok   tokenizer.Tokenizer
	arch  string
}

func loadEvalModel(path, tokFlag string, threads int) (*loadedModel, error) {
	m, f, err := openModel(path, threads)
	if err != nil {
		return nil, err
	}
	var tok tokenizer.Tokenizer
	if tokFlag != "" {
		tok, err = resolveTokenizer(tokFlag, "")
	} else {
		tok, err = tokenizerFromModel(path, f)
	}
	if err == nil && tok.VocabSize() > m.Config().Vocab {
		err = fmt.Errorf("tokenizer has %d tokens, the model only %d: not this model's tokenizer", tok.VocabSize(), m.Config().Vocab)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return &loadedModel{m: m, close: f.Close, tok: tok, arch: m.Config().Arch}, nil
}

// evalRun is what runEval computed, for the printers and tests.
type evalRun struct {
	File    *eval.ResultsFile
	Results []*eval.Result
	Skipped []string
}

func runEval(ctx context.Context, opts *evalOptions) (err error) {
	if len(opts.Tasks) == 1 && opts.Tasks[0] == "ppl" {
		if opts.Shard != "" {
			return fmt.Errorf("--shard splits the documents of tasks; eval MODEL ppl scores one text")
		}
		return runEvalPPL(ctx, opts)
	}
	if opts.Text != "" || opts.MaxTokens != 0 {
		return fmt.Errorf("--text and --max-tokens belong to `eval MODEL ppl`")
	}
	if opts.LogSamples && opts.Output == "" {
		return fmt.Errorf("--log-samples needs --output DIR")
	}
	if err := checkThreads(opts.Threads); err != nil {
		return err
	}
	if err := resolveEvalShard(opts); err != nil {
		return err
	}
	if opts.Output != "" {
		_, statErr := os.Stat(opts.Output)
		if err := checkEvalOutputDir(opts); err != nil {
			return err
		}
		if os.IsNotExist(statErr) {
			// We created the directory: a failed or interrupted run takes
			// it away again (Remove only removes it while empty).
			defer func() {
				if err != nil {
					os.Remove(opts.Output)
				}
			}()
		}
	}
	r, err := evaluateTasks(ctx, opts)
	if err != nil {
		return err
	}
	if opts.Output != "" {
		if err := writeEvalOutput(opts.Output, r, opts.LogSamples); err != nil {
			return err
		}
	}
	for _, s := range r.Skipped {
		fmt.Fprintln(opts.IO.ErrOut, "skipped", s)
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, r.File)
	}
	return printEvalTable(opts.IO.Out, r)
}

// evaluateTasks loads the model and data and scores every task; it writes
// nothing.
func evaluateTasks(ctx context.Context, opts *evalOptions) (*evalRun, error) {
	proto, err := task.ParseProtocol(opts.Protocol)
	if err != nil {
		return nil, err
	}
	if opts.Limit < 0 || opts.BootstrapIters < 0 {
		return nil, fmt.Errorf("--limit and --bootstrap-iters must be >= 0")
	}
	dataDir := opts.DataDir
	if dataDir == "" {
		if dataDir, err = defaultDataDir(); err != nil {
			return nil, err
		}
	}
	tasks, skipped, err := resolveTasks(opts.Tasks, dataDir)
	if err != nil {
		return nil, err
	}
	workers := opts.Threads
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	// Workers share the cores; each one's matrix products get the rest.
	lm, err := loadEvalModel(opts.Model, opts.Tokenizer, max(1, runtime.GOMAXPROCS(0)/workers))
	if err != nil {
		return nil, err
	}
	defer lm.close()
	vocab := lm.m.Config().Vocab
	pad, err := padTokens(opts.PadToken, lm.arch, lm.tok, vocab)
	if err != nil {
		return nil, err
	}
	sum, _, err := sha256File(opts.Model)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var limit *int
	if opts.Limit > 0 {
		limit = &opts.Limit
	}
	run := &evalRun{Skipped: skipped, File: &eval.ResultsFile{Config: eval.RunConfig{
		Model: "rwkv-tools", ModelArgs: opts.Model, ModelSHA256: sum, Architecture: lm.arch,
		Device: "cpu", Limit: limit, BootstrapIters: opts.BootstrapIters, Protocol: string(proto),
		PadToken: append([]int{}, pad...), Tokenizer: lm.tok.Kind(), ToolVersion: buildinfo.String(),
		Shard: opts.shard.String(),
	}}}
	type loaded struct {
		t        *task.Task
		docs     []task.Doc
		original int
	}
	var all []loaded
	total := 0
	for _, t := range tasks {
		docs, err := t.Load(dataDir, proto)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.Name, err)
		}
		n := len(docs)
		if opts.Limit > 0 && opts.Limit < len(docs) {
			docs = docs[:opts.Limit]
		}
		lo, hi := opts.shard.Range(len(docs))
		docs = docs[lo:hi]
		all = append(all, loaded{t, docs, n})
		total += len(docs)
	}
	prog := newProgress(opts.IO, opts.Quiet, "eval", total, "documents")
	defer prog.Done()
	enc := eval.Encoder{Tok: lm.tok, Protocol: proto, Pad: pad}
	base, baseTok := 0, int64(0)
	for _, l := range all {
		res, err := eval.Evaluate(ctx, engineEvalModel{lm.m}, l.t, l.docs, eval.Options{
			Encoder: enc, Workers: workers, BootstrapIters: opts.BootstrapIters, CheckScoring: opts.CheckScoring,
			Progress: func(done int, tokens int64) {
				prog.Update(base+done, l.t.Name+" "+progressDetail(start, base+done, total, baseTok+tokens))
			},
		})
		if err != nil {
			return nil, err
		}
		base, baseTok = base+len(l.docs), baseTok+res.Tokens
		if c := res.Check; c != nil {
			fmt.Fprintf(opts.IO.ErrOut, "check-scoring %s: %d requests, max |Δll| %.3g vs from-scratch scoring, %d greedy flags differ\n",
				l.t.Name, c.Requests, c.MaxAbsLLDiff, c.GreedyMismatches)
			if c.GreedyMismatches > 0 || c.MaxAbsLLDiff > 1e-4 {
				return nil, fmt.Errorf("%s: shared-prefix scoring differs from scoring from scratch (max |Δll| %.3g, %d greedy flags)", l.t.Name, c.MaxAbsLLDiff, c.GreedyMismatches)
			}
		}
		run.Results = append(run.Results, res)
		run.File.AddResult(res, l.original)
	}
	run.File.Config.WallTimeSeconds = math.Round(time.Since(start).Seconds()*1000) / 1000
	return run, nil
}

// checkEvalOutputDir creates --output's directory and checks, before any
// work, that its files can be written and none is the model.
func checkEvalOutputDir(opts *evalOptions) error {
	if st, err := os.Stat(opts.Output); err == nil && !st.IsDir() {
		return fmt.Errorf("--output %s is a file; --output names a directory for results.json and the samples", opts.Output)
	}
	if err := os.MkdirAll(opts.Output, 0o755); err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	return checkOutputs([]string{opts.Model}, outputFlag{"--output", filepath.Join(opts.Output, "results.json")})
}

// writeEvalOutput writes results.json (and the samples) into dir, each
// file atomically; it runs only after every task finished.
func writeEvalOutput(dir string, r *evalRun, samples bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if samples {
		for _, res := range r.Results {
			if err := eval.WriteSamples(filepath.Join(dir, "samples_"+res.Task.Name+".jsonl"), eval.Samples(res)); err != nil {
				return err
			}
		}
	}
	return eval.WriteResults(filepath.Join(dir, "results.json"), r.File)
}

func printEvalTable(w io.Writer, r *evalRun) error {
	var rows [][]string
	for _, res := range r.Results {
		for i, m := range res.Metrics {
			name := ""
			if i == 0 {
				name = res.Task.Name
			}
			value, stderr := fmtMetric(m.Name, m.Value), fmtMetric(m.Name, m.Stderr)
			rows = append(rows, []string{name, m.Name, value, "± " + stderr, strconv.Itoa(len(res.Docs))})
		}
	}
	if err := table.Write(w, table.ASCII, []string{"task", "metric", "value", "stderr", "n"}, rows, 2, 3, 4); err != nil {
		return err
	}
	c := r.File.Config
	fmt.Fprintf(w, "protocol %s, pad %v, tokenizer %s, %.1fs\n", c.Protocol, c.PadToken, c.Tokenizer, c.WallTimeSeconds)
	return nil
}

// fmtMetric shows a value with 4 decimals (accuracies are fractions), huge
// ones (random-weight perplexities) with 6 significant digits; NaN (no
// stderr) as "-".
func fmtMetric(name string, v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case math.Abs(v) >= 1e6:
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// progressDetail is the tokens/s and ETA shown beside the document count.
func progressDetail(start time.Time, done, total int, tokens int64) string {
	el := time.Since(start).Seconds()
	eta := "?"
	if done > 0 {
		eta = (time.Duration(el / float64(done) * float64(total-done) * float64(time.Second))).Round(time.Second).String()
	}
	return fmt.Sprintf("%.0f tok/s, ETA %s", float64(tokens)/max(el, 1e-9), eta)
}

// runEvalPPL scores a text file: token-level perplexity and bits per byte.
func runEvalPPL(ctx context.Context, opts *evalOptions) error {
	if opts.Text == "" {
		return fmt.Errorf("eval MODEL ppl needs --text FILE")
	}
	if opts.MaxTokens < 0 {
		return fmt.Errorf("--max-tokens must be >= 0")
	}
	text, err := os.ReadFile(opts.Text)
	if err != nil {
		return err
	}
	lm, err := loadEvalModel(opts.Model, opts.Tokenizer, opts.Threads)
	if err != nil {
		return err
	}
	defer lm.close()
	pad, err := padTokens(opts.PadToken, lm.arch, lm.tok, lm.m.Config().Vocab)
	if err != nil {
		return err
	}
	tokens := lm.tok.Encode(string(text))
	if opts.MaxTokens > 0 && len(tokens) > opts.MaxTokens {
		tokens = tokens[:opts.MaxTokens]
	}
	// The bytes whose tokens are scored: all of them with a pad, else all
	// but the first token's (which is only input).
	scored := tokens
	if len(pad) == 0 && len(tokens) > 0 {
		scored = tokens[1:]
	}
	nbytes := len(lm.tok.DecodeBytes(scored))
	prog := newProgress(opts.IO, opts.Quiet, "ppl", len(pad)+len(tokens), "tokens")
	start := time.Now()
	sc, err := eval.ScoreText(ctx, engineEvalModel{lm.m}, pad, tokens, func(fed int) {
		prog.Update(fed, progressDetail(start, fed, len(pad)+len(tokens), int64(fed)))
	})
	prog.Done()
	if err != nil {
		return fmt.Errorf("%s: %w", opts.Text, err)
	}
	wall := time.Since(start).Seconds()
	summary := struct {
		Text        string  `json:"text"`
		Tokens      int     `json:"tokens"`
		Bytes       int     `json:"bytes"`
		NLL         float64 `json:"nll"`
		Perplexity  float64 `json:"perplexity"`
		BitsPerByte float64 `json:"bits_per_byte"`
		PadToken    []int   `json:"pad_token"`
		Seconds     float64 `json:"seconds"`
	}{opts.Text, sc.Tokens, nbytes, sc.NLL, sc.Perplexity(), sc.BitsPerByte(nbytes), append([]int{}, pad...), math.Round(wall*1000) / 1000}
	if opts.JSON {
		return writeJSON(opts.IO.Out, summary)
	}
	return table.Write(opts.IO.Out, table.ASCII, []string{"text", "tokens scored", "bytes", "perplexity", "bits/byte", "tokens/s"},
		[][]string{{opts.Text, strconv.Itoa(sc.Tokens), strconv.Itoa(nbytes), fmt.Sprintf("%.4f", sc.Perplexity()),
			fmt.Sprintf("%.4f", sc.BitsPerByte(nbytes)), fmt.Sprintf("%.0f", float64(len(pad)+len(tokens))/wall)}}, 1, 2, 3, 4, 5)
}
