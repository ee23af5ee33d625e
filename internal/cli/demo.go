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

	"github.com/rwkv-tools/rwkv-tools/convert"
	"github.com/rwkv-tools/rwkv-tools/eval"
	"github.com/rwkv-tools/rwkv-tools/eval/task"
	"github.com/rwkv-tools/rwkv-tools/internal/demo"
	"github.com/rwkv-tools/rwkv-tools/internal/quality"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

type demoOptions struct {
	IO     *IO
	Dir    string // work directory; a temp dir when empty
	Prompt string
	Keep   bool
}

func newDemoCmd(io *IO, runF func(*demoOptions) error) *cobra.Command {
	opts := &demoOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline on a small built-in checkpoint (no download)",
		Long: `Demo writes a small random-weight RWKV-4 checkpoint (bf16 .pth, byte-level
vocabulary, shipped inside the binary), converts it to GGUF in f32 and f16,
shows the file, and runs the engine on the bytes of a prompt: sequence mode
versus token-by-token, f16 versus f32, and a few greedy steps.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runDemo(cmd, opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "work directory (default: a temporary one, removed afterwards)")
	cmd.Flags().StringVar(&opts.Prompt, "prompt", "Hello, RWKV!", "prompt whose bytes are fed as tokens")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the temporary work directory")
	return cmd
}

func runDemo(cmd *cobra.Command, opts *demoOptions) error {
	out := opts.IO.Out
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "rwkv-tools-demo-")
		if err != nil {
			return err
		}
		dir = d
		if !opts.Keep {
			defer os.RemoveAll(dir)
		}
	}
	step := func(n int, what string) { fmt.Fprintf(out, "\n== %d. %s\n", n, what) }

	step(1, "write the built-in checkpoint")
	pth := filepath.Join(dir, demo.CheckpointName)
	if err := os.WriteFile(pth, demo.Checkpoint, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(out, "%s (%s)\n", pth, humanBytes(int64(len(demo.Checkpoint))))

	step(2, "convert to GGUF (f32 and f16 matrices)")
	paths := map[convert.DTypeChoice]string{}
	for _, dt := range []convert.DTypeChoice{convert.DTypeF32, convert.DTypeF16} {
		p := filepath.Join(dir, "tiny-rwkv4-"+string(dt)+".gguf")
		start := time.Now()
		rep, err := convert.Convert(cmd.Context(), pth, p, convert.Options{DType: dt})
		if err != nil {
			return err
		}
		d := rep.Detection.Dims
		fmt.Fprintf(out, "%s: %s from %s, vocab %d, n_embd %d, %d layers, %d tensors, %s, %.0f ms\n",
			filepath.Base(p), rep.Detection.Variant, rep.Format, d.Vocab, d.Embd, d.Layers, len(rep.Tensors),
			humanBytes(rep.OutBytes), float64(time.Since(start).Microseconds())/1000)
		paths[dt] = p
	}

	step(3, "info on the f16 file")
	if err := infoGGUF(&infoOptions{IO: &IO{Out: out}, Path: paths[convert.DTypeF16]}); err != nil {
		return err
	}

	step(4, "run the engine on the prompt bytes")
	m32, f32File, err := openModel(paths[convert.DTypeF32], 0)
	if err != nil {
		return err
	}
	defer f32File.Close()
	m16, f16File, err := openModel(paths[convert.DTypeF16], 0)
	if err != nil {
		return err
	}
	defer f16File.Close()
	tokens := make([]int, len(opts.Prompt))
	for i := 0; i < len(opts.Prompt); i++ {
		tokens[i] = int(opts.Prompt[i])
	}
	if len(tokens) == 0 {
		return fmt.Errorf("--prompt is empty")
	}
	V := m32.Config().Vocab
	seq := make([]float32, len(tokens)*V)
	st := m32.NewState()
	start := time.Now()
	if err := m32.Sequence(st, tokens, seq); err != nil {
		return err
	}
	fmt.Fprintf(out, "prompt %q = %d byte tokens %v\n", opts.Prompt, len(tokens), tokens)
	fmt.Fprintf(out, "sequence mode: logits at every position in %.2f ms (kernels %s)\n",
		float64(time.Since(start).Microseconds())/1000, m32.Kernels())

	stepSt := m32.NewState()
	var maxDiff float64
	row := make([]float32, V)
	for t, tok := range tokens {
		if err := m32.Step(stepSt, tok, row); err != nil {
			return err
		}
		maxDiff = math.Max(maxDiff, maxAbsDiff(row, seq[t*V:(t+1)*V]))
	}
	fmt.Fprintf(out, "token by token: max |Δlogit| vs sequence mode = %.3g; state max |Δ| = %.3g\n",
		maxDiff, maxAbsDiff(st.Data, stepSt.Data))

	seq16 := make([]float32, len(tokens)*V)
	if err := m16.Sequence(m16.NewState(), tokens, seq16); err != nil {
		return err
	}
	agree := 0
	for t := range tokens {
		a, _ := argmaxLogSumExp(seq[t*V : (t+1)*V])
		b, _ := argmaxLogSumExp(seq16[t*V : (t+1)*V])
		if a == b {
			agree++
		}
	}
	fmt.Fprintf(out, "f16 file vs f32 file: max |Δlogit| = %.3g, top-1 agreement %d/%d\n",
		maxAbsDiff(seq, seq16), agree, len(tokens))

	step(5, "greedy continuation (random weights: the bytes mean nothing)")
	cont := st.Clone()
	next, _ := argmaxLogSumExp(seq[(len(tokens)-1)*V:])
	var gen []int
	for i := 0; i < 12; i++ {
		gen = append(gen, next)
		if err := m32.Step(cont, next, row); err != nil {
			return err
		}
		next, _ = argmaxLogSumExp(row)
	}
	fmt.Fprintf(out, "next tokens: %v\n", gen)

	if err := demoQuantize(cmd.Context(), out, dir, paths[convert.DTypeF32], paths[convert.DTypeF16]); err != nil {
		return err
	}
	if err := demoEval(cmd.Context(), out, []string{paths[convert.DTypeF32], paths[convert.DTypeF16], filepath.Join(dir, "tiny-rwkv4-q8_0.gguf")}); err != nil {
		return err
	}
	if opts.Keep || opts.Dir != "" {
		fmt.Fprintf(out, "\nfiles kept in %s\n", dir)
	}
	return nil
}

// demoQuantize is the demo's quantize step: the f32 file to q8_0, then the
// quality table of the f16 and q8_0 files against f32 on the built-in text.
func demoQuantize(ctx context.Context, out io.Writer, dir, f32, f16 string) error {
	fmt.Fprintf(out, "\n== 6. quantize to q8_0 (int8) and compare with f32 on the built-in English sample\n")
	q8 := filepath.Join(dir, "tiny-rwkv4-q8_0.gguf")
	rep, err := convert.Quantize(ctx, f32, q8, convert.QuantizeOptions{Type: quant.Q8_0, Threads: runtime.GOMAXPROCS(0)})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s: %s, tensor data %s → %s\n", filepath.Base(q8), quantizeCounts(rep), humanBytes(rep.InBytes), humanBytes(rep.OutBytes))
	var names []string
	var results []quality.Result
	for _, p := range []string{f16, q8} {
		r, err := compareFiles(ctx, f32, p, "", "", 0, 0)
		if err != nil {
			return err
		}
		names, results = append(names, filepath.Base(p)), append(results, r.Result)
	}
	fmt.Fprintf(out, "against %s (random weights: a trained model's figures are in the README):\n", filepath.Base(f32))
	return writeQualityTable(out, names, results)
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// byteTokens is the demo models' tokenizer: one token per byte.
type byteTokens struct{}

func (byteTokens) Encode(s string) []int {
	ids := make([]int, len(s))
	for i := range len(s) {
		ids[i] = int(s[i])
	}
	return ids
}

// demoTasks builds the demo's own tasks (internal/demo) as harness tasks.
func demoTasks() []struct {
	t    *task.Task
	docs []task.Doc
} {
	choice := &task.Task{Name: "demo_choice", Kind: task.MultipleChoice, Metrics: []string{"acc", "acc_norm"}}
	var cdocs []task.Doc
	for i, it := range demo.ChoiceItems {
		d := task.Doc{ID: i, Fields: it, Choices: it.Choices, Gold: it.Gold, Target: " " + it.Choices[it.Gold]}
		for _, c := range it.Choices {
			d.Requests = append(d.Requests, task.Request{Context: it.Context, Continuation: " " + c})
		}
		cdocs = append(cdocs, d)
	}
	cloze := &task.Task{Name: "demo_cloze", Kind: task.Loglikelihood, Metrics: []string{"ppl", "acc"}}
	var ldocs []task.Doc
	for i, text := range demo.ClozeItems {
		j := strings.LastIndexByte(text, ' ')
		ldocs = append(ldocs, task.Doc{ID: i, Fields: map[string]string{"text": text}, Target: text[j:], Gold: -1,
			Requests: []task.Request{{Context: text[:j], Continuation: text[j:]}}})
	}
	return []struct {
		t    *task.Task
		docs []task.Doc
	}{{choice, cdocs}, {cloze, ldocs}}
}

// demoEval is the demo's last step: the eval pipeline (shared-prefix
// scoring, harness metrics) on the demo's own small tasks, for each file.
func demoEval(ctx context.Context, out io.Writer, models []string) error {
	fmt.Fprintf(out, "\n== 7. eval on the demo's own tasks (%d questions, %d cloze sentences; random weights score at chance)\n",
		len(demo.ChoiceItems), len(demo.ClozeItems))
	var rows [][]string
	for _, path := range models {
		m, f, err := openModel(path, 1)
		if err != nil {
			return err
		}
		enc := eval.Encoder{Tok: byteTokens{}, Protocol: task.HarnessV03, Pad: []int{'\n'}}
		for _, dt := range demoTasks() {
			res, err := eval.Evaluate(ctx, engineEvalModel{m}, dt.t, dt.docs, eval.Options{Encoder: enc, BootstrapIters: 1000, CheckScoring: true})
			if err != nil {
				f.Close()
				return err
			}
			if c := res.Check; c.GreedyMismatches > 0 || c.MaxAbsLLDiff > 1e-4 {
				f.Close()
				return fmt.Errorf("%s %s: shared-prefix scoring differs from scoring from scratch (%+v)", path, dt.t.Name, *c)
			}
			for _, mt := range res.Metrics {
				rows = append(rows, []string{filepath.Base(path), dt.t.Name, mt.Name, fmtMetric(mt.Name, mt.Value), "± " + fmtMetric(mt.Name, mt.Stderr), strconv.Itoa(len(res.Docs))})
			}
		}
		f.Close()
	}
	if err := table.Write(out, table.ASCII, []string{"model", "task", "metric", "value", "stderr", "n"}, rows, 3, 4, 5); err != nil {
		return err
	}
	fmt.Fprintln(out, "(every score also checked against scoring each request from scratch; real tasks: rwkv-tools eval MODEL piqa ...)")
	return nil
}
