package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/engine"
	"github.com/rwkv-tools/rwkv-tools/format"
	"github.com/rwkv-tools/rwkv-tools/internal/rusage"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
	"github.com/rwkv-tools/rwkv-tools/kernels"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

type benchOptions struct {
	IO       *IO
	Models   []string
	Threads  string
	Seq      string
	Decode   int
	Reps     int
	ProbeMiB int
	// Precision lists decode precisions to measure ("fast,exact").
	Precision string
	Markdown  bool
	Quiet     bool
	JSON      bool
}

func newBenchCmd(io *IO, runF func(*benchOptions) error) *cobra.Command {
	opts := &benchOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "bench MODEL... [--threads 1,2] [--seq 128,512]",
		Short: "Measure decode and sequence speed of models, next to the machine's bandwidth and FMA peak",
		Long: `Bench runs every model at every thread count: decode (one token at a time
with logits every token, as generation runs) and sequence mode (--seq tokens
in one call from a fresh state, logits at the last position only, as prompt
processing and eval run). It reports tokens/s, GB/s of weights streamed per
decoded token and GFLOP/s, and first measures the machine with the same
harness: memory read bandwidth (a --probe-mib buffer streamed by as many
threads) and one core's FMA peak with the kernel set in use.

Every figure is the best of --reps runs (a shared or throttled machine only
ever makes a run slower). Make random models of any shape with synth.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Models = args
			if runF != nil {
				return runF(opts)
			}
			return runBench(cmd.Context(), opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Threads, "threads", "1,2", "comma-separated thread counts")
	f.StringVar(&opts.Seq, "seq", "128", "comma-separated sequence lengths (0: skip sequence mode)")
	f.IntVar(&opts.Decode, "decode", 32, "tokens per decode run (0: skip decode)")
	f.IntVar(&opts.Reps, "reps", 3, "runs per figure; the best is reported")
	f.StringVar(&opts.Precision, "precision", "fast", "comma-separated decode precisions to measure: fast (8-bit activations for block-quantized weights, as ggml), exact (float32)")
	f.IntVar(&opts.ProbeMiB, "probe-mib", 512, "buffer for the read-bandwidth probe, MiB (0: skip the machine probes)")
	f.BoolVar(&opts.Markdown, "markdown", false, "print Markdown tables")
	f.BoolVarP(&opts.Quiet, "quiet", "q", false, "no progress on stderr")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

// parseIntList reads "1,2" for flag; every value in [lo, hi].
func parseIntList(flag, s string, lo, hi int) ([]int, error) {
	var out []int
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		v, err := strconv.Atoi(p)
		if err != nil || v < lo || v > hi {
			return nil, fmt.Errorf("%s: %q is not an integer in [%d, %d]", flag, p, lo, hi)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: give at least one value", flag)
	}
	return out, nil
}

type benchMachine struct {
	Kernels       string             `json:"kernels"`
	CPUs          int                `json:"cpus"`
	ReadGBs       map[string]float64 `json:"read_gb_s,omitempty"` // by thread count
	FMAPeakGFLOPs float64            `json:"fma_peak_gflop_s,omitempty"`
	ProbeMiB      int                `json:"probe_mib"`
}

type benchResult struct {
	Model   string  `json:"model"`
	Arch    string  `json:"arch"`
	Type    string  `json:"type"`
	SizeGiB float64 `json:"size_gib"`
	Kernels string  `json:"kernels"`
	Threads int     `json:"threads"`
	Test    string  `json:"test"` // "decode" or "seq"
	// Precision of decode ("fast" or "exact"; empty for seq, which is
	// float32 in both).
	Precision string  `json:"precision,omitempty"`
	Tokens    int     `json:"tokens"`
	TokS      float64 `json:"tok_s"`
	GBs       float64 `json:"weights_gb_s,omitempty"` // decode: weight bytes streamed per token × tok/s
	GFLOPs    float64 `json:"gflop_s"`
	Seconds   float64 `json:"best_seconds"`
	// CPUTokS is tokens per CPU-second (least CPU time of a run; 0 when
	// the OS does not report it).
	CPUTokS float64 `json:"tok_per_cpu_s,omitempty"`
}

type benchReport struct {
	Machine benchMachine  `json:"machine"`
	Reps    int           `json:"reps"`
	Results []benchResult `json:"results"`
}

func runBench(ctx context.Context, opts *benchOptions) error {
	threads, err := parseIntList("--threads", opts.Threads, 1, maxThreads)
	if err != nil {
		return err
	}
	seqs, err := parseIntList("--seq", opts.Seq, 0, 1<<20)
	if err != nil {
		return err
	}
	if opts.Decode < 0 || opts.Decode > 1<<20 {
		return fmt.Errorf("--decode %d: give a token count in [0, %d]", opts.Decode, 1<<20)
	}
	if opts.Precision == "" {
		opts.Precision = kernels.PrecisionFast.String()
	}
	precs, err := parsePrecisions(opts.Precision)
	if err != nil {
		return fmt.Errorf("--precision: %w", err)
	}
	if opts.Reps < 1 || opts.Reps > 1000 {
		return fmt.Errorf("--reps %d: give a count in [1, 1000]", opts.Reps)
	}
	if opts.ProbeMiB < 0 || opts.ProbeMiB > 64<<10 {
		return fmt.Errorf("--probe-mib %d: give a size in [0, 65536]", opts.ProbeMiB)
	}
	for _, m := range opts.Models {
		if err := checkModelFile(m); err != nil {
			return err
		}
	}
	ks, err := kernels.Best()
	if err != nil {
		return err
	}
	say := func(format string, a ...any) {
		if !opts.Quiet && !opts.JSON {
			fmt.Fprintf(opts.IO.ErrOut, format+"\n", a...)
		}
	}
	rep := benchReport{Reps: opts.Reps, Machine: benchMachine{Kernels: ks.Name, CPUs: runtime.NumCPU(), ProbeMiB: opts.ProbeMiB}}
	if opts.ProbeMiB > 0 {
		say("bench: probing the machine (read bandwidth over %d MiB, FMA peak)", opts.ProbeMiB)
		rep.Machine.ReadGBs = map[string]float64{}
		buf := make([]byte, opts.ProbeMiB<<20)
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1 // fault the pages in before timing
		}
		for _, t := range threads {
			best, err := bestOf(ctx, opts.Reps, func() { readParallel(buf, t) })
			if err != nil {
				return err
			}
			rep.Machine.ReadGBs[strconv.Itoa(t)] = float64(len(buf)) / best.Seconds() / 1e9
		}
		buf = nil
		const iters = 2 << 20
		var flops int64
		best, err := bestOf(ctx, opts.Reps, func() { flops = ks.FMABurn(iters) })
		if err != nil {
			return err
		}
		rep.Machine.FMAPeakGFLOPs = float64(flops) / best.Seconds() / 1e9
	}
	for _, path := range opts.Models {
		for _, t := range threads {
			rs, err := benchModel(ctx, path, t, opts.Decode, seqs, precs, opts.Reps, say)
			if err != nil {
				return err
			}
			rep.Results = append(rep.Results, rs...)
		}
	}
	if opts.JSON {
		return writeJSON(opts.IO.Out, rep)
	}
	return printBench(opts, &rep, threads)
}

// bestOf runs fn reps times and returns the fastest run.
func bestOf(ctx context.Context, reps int, fn func()) (time.Duration, error) {
	best, _, err := bestOfCPU(ctx, reps, fn)
	return best, err
}

// bestOfCPU is bestOf that also returns the least CPU time (user + system,
// every thread of the process) a run used: on a machine shared with other
// work, tokens per CPU-second show what the code costs when wall time
// mostly shows the waiting.
func bestOfCPU(ctx context.Context, reps int, fn func()) (wall, cpu time.Duration, err error) {
	wall, cpu = time.Duration(1<<63-1), time.Duration(1<<63-1)
	for i := 0; i < reps; i++ {
		if err := ctx.Err(); err != nil {
			return 0, 0, err
		}
		c0, start := rusage.CPUTime(), time.Now()
		fn()
		wall = min(wall, time.Since(start))
		cpu = min(cpu, rusage.CPUTime()-c0)
	}
	return max(wall, time.Nanosecond), max(cpu, 0), nil
}

// readParallel streams buf with n goroutines, one contiguous part each.
func readParallel(buf []byte, n int) {
	var wg sync.WaitGroup
	sums := make([]uint64, n)
	for i := 0; i < n; i++ {
		part := buf[len(buf)*i/n : len(buf)*(i+1)/n]
		wg.Add(1)
		go func() {
			defer wg.Done()
			sums[i] = kernels.ReadAll(part)
		}()
	}
	wg.Wait()
}

// modelCost is what a model's matrices cost per token.
type modelCost struct {
	mainType             string
	sizeGiB              float64
	decodeBytes          int64 // weight bytes a decoded token streams (every matrix but the embedding)
	decodeFlops          int64 // 2 · elements of those matrices
	bodyFlops, headFlops int64 // per token without the head; the head once
	bytesByType          map[string]int64
}

func costOf(f *format.File) modelCost {
	c := modelCost{bytesByType: map[string]int64{}}
	var total int64
	for _, ti := range f.Tensors {
		size, err := ti.Size()
		if err != nil {
			continue
		}
		total += int64(size)
		if len(ti.Dims) < 2 || ti.Name == "token_embd.weight" {
			continue
		}
		n := int64(ti.NumElements())
		c.decodeBytes += int64(size)
		c.decodeFlops += 2 * n
		if ti.Name == "output.weight" {
			c.headFlops += 2 * n
		} else {
			c.bodyFlops += 2 * n
			c.bytesByType[ti.DType.String()] += int64(size)
		}
	}
	var most int64
	for name, b := range c.bytesByType {
		if b > most || (b == most && name < c.mainType) {
			most, c.mainType = b, name
		}
	}
	c.mainType = strings.ToLower(c.mainType)
	c.sizeGiB = float64(total) / (1 << 30)
	return c
}

func benchModel(ctx context.Context, path string, threads, decode int, seqs []int, precs []kernels.Precision, reps int, say func(string, ...any)) ([]benchResult, error) {
	f, err := format.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	models := make([]engine.Model, len(precs))
	for i, pr := range precs {
		if models[i], err = engine.Load(f, engine.Options{Threads: threads, Precision: pr}); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	m := models[0]
	cfg := m.Config()
	cost := costOf(f)
	if cost.mainType == "" {
		cost.mainType = quant.F32.String()
	}
	base := benchResult{Model: filepath.Base(path), Arch: cfg.Arch, Type: cost.mainType, SizeGiB: cost.sizeGiB,
		Kernels: m.Kernels(), Threads: threads}
	logits := make([]float32, cfg.Vocab)
	token := func(i int) int { return (i*7919 + 13) % cfg.Vocab }
	// Warm up: fault every weight page in and fill the scratch pools.
	if err := m.Step(m.NewState(), token(0), logits); err != nil {
		return nil, err
	}
	var out []benchResult
	for i, m := range models {
		if decode <= 0 {
			break
		}
		if i > 0 { // the first model was warmed up above
			if err := m.Step(m.NewState(), token(0), logits); err != nil {
				return nil, err
			}
		}
		say("bench: %s, %d thread(s): decode %d tokens x %d, precision %v", base.Model, threads, decode, reps, precs[i])
		var runErr error
		best, cpu, err := bestOfCPU(ctx, reps, func() {
			st := m.NewState()
			for i := 0; i < decode && runErr == nil; i++ {
				runErr = m.Step(st, token(i), logits)
			}
		})
		if err != nil {
			return nil, err
		}
		if runErr != nil {
			return nil, runErr
		}
		r := base
		r.Test, r.Tokens, r.Seconds, r.Precision = "decode", decode, best.Seconds(), precs[i].String()
		if cpu > 0 {
			r.CPUTokS = float64(decode) / cpu.Seconds()
		}
		r.TokS = float64(decode) / best.Seconds()
		r.GBs = r.TokS * float64(cost.decodeBytes) / 1e9
		r.GFLOPs = r.TokS * float64(cost.decodeFlops) / 1e9
		out = append(out, r)
	}
	for _, L := range seqs {
		if L == 0 {
			continue
		}
		say("bench: %s, %d thread(s): sequence of %d tokens x %d", base.Model, threads, L, reps)
		tokens := make([]int, L)
		for i := range tokens {
			tokens[i] = token(i)
		}
		var runErr error
		best, cpu, err := bestOfCPU(ctx, reps, func() { runErr = m.Sequence(m.NewState(), tokens, logits) })
		if err != nil {
			return nil, err
		}
		if runErr != nil {
			return nil, runErr
		}
		r := base
		r.Test, r.Tokens, r.Seconds = "seq", L, best.Seconds()
		if cpu > 0 {
			r.CPUTokS = float64(L) / cpu.Seconds()
		}
		r.TokS = float64(L) / best.Seconds()
		r.GFLOPs = (float64(L)*float64(cost.bodyFlops) + float64(cost.headFlops)) / best.Seconds() / 1e9
		out = append(out, r)
	}
	return out, nil
}

func printBench(opts *benchOptions, rep *benchReport, threads []int) error {
	style := table.ASCII
	if opts.Markdown {
		style = table.Markdown
	}
	w := opts.IO.Out
	if rep.Machine.ReadGBs != nil {
		var reads []string
		for _, t := range threads {
			reads = append(reads, fmt.Sprintf("%.1f GB/s with %d thread(s)", rep.Machine.ReadGBs[strconv.Itoa(t)], t))
		}
		fmt.Fprintf(w, "machine: %d CPUs, kernels %s; memory read %s (%d MiB); FMA peak %.1f GFLOP/s on one core\n\n",
			rep.Machine.CPUs, rep.Machine.Kernels, strings.Join(reads, ", "), rep.Machine.ProbeMiB, rep.Machine.FMAPeakGFLOPs)
	}
	header := []string{"model", "arch", "type", "size", "kernels", "threads", "test", "tok/s", "tok/CPU-s", "weights GB/s", "GFLOP/s"}
	var rows [][]string
	for _, r := range rep.Results {
		test := fmt.Sprintf("decode %d", r.Tokens)
		if r.Precision != "" && r.Precision != kernels.PrecisionFast.String() {
			test += " " + r.Precision
		}
		gbs := fmt.Sprintf("%.1f", r.GBs)
		if r.Test == "seq" {
			test = fmt.Sprintf("seq %d", r.Tokens)
			gbs = "-"
		}
		rows = append(rows, []string{r.Model, r.Arch, r.Type, humanBytes(int64(r.SizeGiB * (1 << 30))), r.Kernels,
			strconv.Itoa(r.Threads), test, fmt.Sprintf("%.1f", r.TokS), fmt.Sprintf("%.1f", r.CPUTokS), gbs, fmt.Sprintf("%.1f", r.GFLOPs)})
	}
	if err := table.Write(w, style, header, rows, 3, 5, 7, 8, 9, 10); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nbest of %d runs each; decode: logits every token, GB/s = weight bytes per token x tok/s; decode of block types with --precision fast (8-bit activations) unless marked exact; seq: one call from a fresh state, logits at the last position, float32 activations; tok/CPU-s: tokens per CPU-second used (all threads)\n", rep.Reps)
	return nil
}
