package cli

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/eval/results"
	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
)

// Exit statuses of check.
const (
	exitRegression = 1 // the check ran and the numbers got worse (or could not be compared)
	exitUsage      = 2 // bad flags or arguments, or an input that cannot be read
)

type checkOptions struct {
	IO             *IO
	Results        string
	Baseline       string
	MaxPPLIncrease string // "1%" or "off"
	MaxAccDrop     string // points, "0.5" or "off"
	Sigma          string // "2" or "off"
	AllowMissing   bool
	IgnoreMismatch bool
	UpdateBaseline bool
	TwoSided       bool
	JSON           bool

	// Set by the constructor: whether the tolerance flags were given.
	pplGiven, accGiven, sigmaGiven bool
}

func newCheckCmd(io *IO, runF func(*checkOptions) error) *cobra.Command {
	opts := &checkOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "check RESULTS.json --baseline BASELINE.json",
		Short: "Fail when evaluation results regress against a baseline (for CI)",
		Long: `Check compares every task and metric present in both files and fails when
one got worse by more than its tolerance:

  --max-ppl-increase P   perplexity-like metrics (lower is better) may grow
                         by at most P percent of the baseline (default 1%)
  --max-acc-drop D       accuracy-like metrics (fractions, higher is better)
                         may drop by at most D points (default 0.5 = 0.005)
  --sigma K              any metric with a standard error may get worse by at
                         most K x sqrt(se_baseline² + se_now²)

With --two-sided an improvement beyond the tolerance fails too (CHANGED):
a CI gate on a fixed model that must notice any movement, e.g.
--max-ppl-increase 0.001% --max-acc-drop 0 --two-sided.

--sigma replaces the two fixed tolerances unless they are given as well;
every given rule must hold, and the table shows the tightest. "off" turns a
rule off. The combined σ treats the runs as independent, which is
conservative for two runs over the same documents.

Not silently passed: a baseline task or metric missing from RESULTS (unless
--allow-missing), and files that differ in protocol, tokenizer, few-shot
count, --limit or per-task document count (unless --ignore-mismatch; the
difference is still printed).

Both files may be rwkv-tools results or lm-evaluation-harness results
(v0.3 or v0.4+ schema). Exit status: 0 pass, 1 regression or not
comparable, 2 usage error or unreadable input.

--update-baseline accepts RESULTS: after printing the comparison it copies
RESULTS over BASELINE atomically (creating it when it does not exist yet)
and exits 0.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return withExitCode(exitUsage, fmt.Errorf("check takes one RESULTS file, got %d arguments; usage: %s", len(args), cmd.UseLine()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Results = args[0]
			opts.pplGiven = cmd.Flags().Changed("max-ppl-increase")
			opts.accGiven = cmd.Flags().Changed("max-acc-drop")
			opts.sigmaGiven = cmd.Flags().Changed("sigma")
			if runF != nil {
				return runF(opts)
			}
			return runCheck(opts)
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withExitCode(exitUsage, fmt.Errorf("%w; see %s --help", err, c.CommandPath()))
	})
	f := cmd.Flags()
	f.StringVar(&opts.Baseline, "baseline", "", "baseline results file (required)")
	f.StringVar(&opts.MaxPPLIncrease, "max-ppl-increase", "1%", `largest allowed perplexity increase, percent of the baseline, or "off"`)
	f.StringVar(&opts.MaxAccDrop, "max-acc-drop", "0.5", `largest allowed accuracy drop in points (0.5 = 0.005), or "off"`)
	f.StringVar(&opts.Sigma, "sigma", "off", "largest allowed worsening in combined standard errors, e.g. 2")
	f.BoolVar(&opts.AllowMissing, "allow-missing", false, "pass when a baseline task or metric is missing from RESULTS")
	f.BoolVar(&opts.IgnoreMismatch, "ignore-mismatch", false, "compare despite a different protocol, tokenizer, few-shot count or limit")
	f.BoolVar(&opts.UpdateBaseline, "update-baseline", false, "copy RESULTS over BASELINE (atomically) after printing the comparison")
	f.BoolVar(&opts.TwoSided, "two-sided", false, "fail on improvements beyond the tolerance too (a CI gate that notices any movement)")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

// checkRules are the enabled tolerances; a negative value is "off".
type checkRules struct {
	pplIncrease float64 // fraction of the baseline (0.01 = 1%)
	accDrop     float64 // fraction (0.005 = 0.5 points)
	sigma       float64
	twoSided    bool // an improvement beyond the allowance fails too
}

func parseCheckRules(o *checkOptions) (checkRules, error) {
	parse := func(flag, s string, percent bool) (float64, error) {
		s = strings.TrimSpace(s)
		if s == "off" {
			return -1, nil
		}
		if percent {
			s = strings.TrimSuffix(s, "%")
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return 0, fmt.Errorf(`--%s %q: want a non-negative number or "off"`, flag, s)
		}
		return v, nil
	}
	var r checkRules
	var err error
	if r.pplIncrease, err = parse("max-ppl-increase", o.MaxPPLIncrease, true); err != nil {
		return r, err
	}
	if r.accDrop, err = parse("max-acc-drop", o.MaxAccDrop, false); err != nil {
		return r, err
	}
	if r.sigma, err = parse("sigma", o.Sigma, false); err != nil {
		return r, err
	}
	if r.pplIncrease > 0 {
		r.pplIncrease /= 100
	}
	if r.accDrop > 0 {
		r.accDrop /= 100
	}
	// --sigma alone means "judge by the stderrs": the fixed defaults step back.
	if r.sigma >= 0 && o.sigmaGiven {
		if !o.pplGiven {
			r.pplIncrease = -1
		}
		if !o.accGiven {
			r.accDrop = -1
		}
	}
	r.twoSided = o.TwoSided
	if r.pplIncrease < 0 && r.accDrop < 0 && r.sigma < 0 {
		return r, errors.New(`every tolerance is "off": nothing would be checked; enable at least one of --max-ppl-increase, --max-acc-drop, --sigma`)
	}
	return r, nil
}

// Verdicts of a row.
const (
	verdictOK         = "ok"
	verdictBetter     = "better"
	verdictRegression = "REGRESSION"
	verdictChanged    = "CHANGED" // an improvement beyond the allowance, with --two-sided
	verdictMissing    = "MISSING"
	verdictMismatch   = "MISMATCH"
	verdictUnchecked  = "unchecked"
)

// checkRow is one compared metric (JSON field names are the --json schema).
type checkRow struct {
	Task     string   `json:"task"`
	Metric   string   `json:"metric"`
	Baseline *float64 `json:"baseline"`
	Now      *float64 `json:"now"`
	Delta    *float64 `json:"delta"`
	// Allowed is the largest allowed change in the worse direction (signed:
	// positive for perplexity, negative for accuracy); null when no rule
	// applies.
	Allowed *float64 `json:"allowed"`
	Rule    string   `json:"rule,omitempty"` // the tightest rule: "1%", "0.5 pt", "2σ"
	Verdict string   `json:"verdict"`
	Note    string   `json:"note,omitempty"`
}

type checkReport struct {
	Results         string     `json:"results"`
	Baseline        string     `json:"baseline"`
	Pass            bool       `json:"pass"`
	Regressions     int        `json:"regressions"`
	Changed         int        `json:"changed"` // improvements beyond the tolerance, counted with --two-sided
	Missing         int        `json:"missing"` // baseline metrics without a result (0 with --allow-missing)
	MissingTasks    []string   `json:"missing_tasks"`
	Mismatches      []string   `json:"mismatches"`
	Notes           []string   `json:"notes"`
	Rows            []checkRow `json:"rows"`
	BaselineUpdated bool       `json:"baseline_updated"`
}

func runCheck(o *checkOptions) error {
	if o.Baseline == "" {
		return withExitCode(exitUsage, errors.New("--baseline is required: the results file to compare against (create one with --update-baseline)"))
	}
	rules, err := parseCheckRules(o)
	if err != nil {
		return withExitCode(exitUsage, err)
	}
	nowBytes, now, err := readResultsFile(o.Results)
	if err != nil {
		return withExitCode(exitUsage, fmt.Errorf("cannot read results: %w", err))
	}
	if o.UpdateBaseline {
		if err := checkOutputs([]string{o.Results}, outputFlag{Flag: "--baseline", Path: o.Baseline}); err != nil {
			return withExitCode(exitUsage, fmt.Errorf("--update-baseline: %w", err))
		}
	}
	base, err := results.Read(resultsPath(o.Baseline))
	if err != nil {
		if o.UpdateBaseline && errors.Is(err, os.ErrNotExist) {
			// First run: the baseline is created from these results.
			if err := writeBaseline(o.Baseline, nowBytes); err != nil {
				return withExitCode(exitUsage, err)
			}
			fmt.Fprintf(o.IO.ErrOut, "check: %s did not exist; wrote it from %s\n", o.Baseline, o.Results)
			if o.JSON {
				return writeCheckJSON(o, &checkReport{Results: o.Results, Baseline: o.Baseline, Pass: true, BaselineUpdated: true, Mismatches: []string{}, MissingTasks: []string{}, Notes: []string{}, Rows: []checkRow{}})
			}
			return nil
		}
		return withExitCode(exitUsage, fmt.Errorf("cannot read baseline: %w", err))
	}

	rep := compareForCheck(base, now, rules, o)
	if o.UpdateBaseline {
		if err := writeBaseline(o.Baseline, nowBytes); err != nil {
			return withExitCode(exitUsage, err)
		}
		rep.BaselineUpdated = true
	}
	if o.JSON {
		if err := writeCheckJSON(o, rep); err != nil {
			return err
		}
	} else if err := printCheck(o, base, now, rep); err != nil {
		return err
	}
	if rep.BaselineUpdated {
		fmt.Fprintf(o.IO.ErrOut, "check: baseline %s updated from %s\n", o.Baseline, o.Results)
		return nil
	}
	if !rep.Pass {
		var why []string
		if rep.Regressions > 0 {
			why = append(why, plural(rep.Regressions, "regression"))
		}
		if rep.Changed > 0 {
			why = append(why, plural(rep.Changed, "improvement")+" beyond the tolerance (--two-sided: update the baseline if intended)")
		}
		if rep.Missing > 0 {
			why = append(why, plural(rep.Missing, "missing metric")+" (--allow-missing to accept)")
		}
		if n := len(rep.Mismatches); n > 0 && !o.IgnoreMismatch {
			why = append(why, plural(n, "mismatch", "mismatches")+" between the files (--ignore-mismatch to compare anyway)")
		}
		if len(why) == 0 {
			why = append(why, "no metric in common")
		}
		return withExitCode(exitRegression, fmt.Errorf("check failed against %s: %s", o.Baseline, strings.Join(why, ", ")))
	}
	return nil
}

func plural(n int, one string, many ...string) string {
	if n == 1 {
		return "1 " + one
	}
	if len(many) > 0 {
		return fmt.Sprintf("%d %s", n, many[0])
	}
	return fmt.Sprintf("%d %ss", n, one)
}

// compareForCheck builds the report: file-level mismatches, then one row per
// baseline metric.
func compareForCheck(base, now *results.File, rules checkRules, o *checkOptions) *checkReport {
	rep := &checkReport{Results: o.Results, Baseline: o.Baseline, Mismatches: []string{}, MissingTasks: []string{}, Notes: []string{}, Rows: []checkRow{}}
	mismatch := func(format string, a ...any) { rep.Mismatches = append(rep.Mismatches, fmt.Sprintf(format, a...)) }
	note := func(format string, a ...any) { rep.Notes = append(rep.Notes, fmt.Sprintf(format, a...)) }

	describe := func(f *results.File) string {
		if f.ProtocolInferred {
			return f.Protocol + " (from its " + string(f.Schema) + " layout)"
		}
		return f.Protocol
	}
	if base.Protocol != now.Protocol {
		mismatch("protocol: baseline %s, results %s", describe(base), describe(now))
	}
	switch {
	case base.Tokenizer != "" && now.Tokenizer != "" && base.Tokenizer != now.Tokenizer:
		mismatch("tokenizer: baseline %s, results %s", base.Tokenizer, now.Tokenizer)
	case base.Tokenizer == "" && now.Tokenizer != "":
		note("the baseline does not record its tokenizer (results: %s)", now.Tokenizer)
	case base.Tokenizer != "" && now.Tokenizer == "":
		note("the results do not record their tokenizer (baseline: %s)", base.Tokenizer)
	}
	if base.PadToken != nil && now.PadToken != nil && fmt.Sprint(base.PadToken) != fmt.Sprint(now.PadToken) {
		mismatch("pad token: baseline %s, results %s", padString(base.PadToken), padString(now.PadToken))
	}
	if base.NumFewshot >= 0 && now.NumFewshot >= 0 && base.NumFewshot != now.NumFewshot {
		mismatch("few-shot: baseline %d-shot, results %d-shot", base.NumFewshot, now.NumFewshot)
	}
	if base.Limit != now.Limit {
		mismatch("limit: baseline %s, results %s", limitString(base.Limit), limitString(now.Limit))
	}
	if base.ModelSHA256 != "" && now.ModelSHA256 != "" && base.ModelSHA256 != now.ModelSHA256 {
		note("different model files (sha256 %.12s… vs %.12s…)", base.ModelSHA256, now.ModelSHA256)
	}

	for _, bt := range base.Tasks {
		if bt.Group {
			continue // a group's numbers follow from its tasks
		}
		nt := now.Task(bt.Name)
		if nt == nil {
			rep.Missing += len(bt.Metrics)
			rep.MissingTasks = append(rep.MissingTasks, bt.Name)
			continue
		}
		taskMismatch := ""
		if bt.N > 0 && nt.N > 0 && bt.N != nt.N {
			taskMismatch = fmt.Sprintf("%d documents vs %d", bt.N, nt.N)
			mismatch("%s: baseline scored %d documents, results %d", bt.Name, bt.N, nt.N)
		}
		for _, bm := range bt.Metrics {
			nm, ok := nt.Metric(bm.Name)
			if !ok {
				rep.Missing++
				rep.Rows = append(rep.Rows, checkRow{Task: bt.Name, Metric: bm.Name, Baseline: num(bm.Value), Verdict: verdictMissing, Note: "metric not in results"})
				continue
			}
			row := judge(bt.Name, bm, nm, rules)
			if taskMismatch != "" && !o.IgnoreMismatch {
				row.Verdict, row.Note = verdictMismatch, taskMismatch
			}
			switch row.Verdict {
			case verdictRegression:
				rep.Regressions++
			case verdictChanged:
				rep.Changed++
			}
			rep.Rows = append(rep.Rows, row)
		}
	}
	var extra []string
	for _, nt := range now.Tasks {
		if base.Task(nt.Name) == nil && !nt.Group {
			extra = append(extra, nt.Name)
		}
	}
	if len(extra) > 0 {
		note("not in the baseline, not checked: %s", strings.Join(extra, ", "))
	}
	if len(rep.MissingTasks) > 0 {
		note("baseline tasks missing from the results: %s", strings.Join(rep.MissingTasks, ", "))
	}
	if o.AllowMissing {
		rep.Missing = 0
	}
	compared := 0
	for _, r := range rep.Rows {
		if r.Now != nil {
			compared++
		}
	}
	mismatched := len(rep.Mismatches) > 0 && !o.IgnoreMismatch
	rep.Pass = rep.Regressions == 0 && rep.Changed == 0 && rep.Missing == 0 && !mismatched && compared > 0
	if o.IgnoreMismatch && len(rep.Mismatches) > 0 {
		note("compared despite the mismatches (--ignore-mismatch)")
	}
	return rep
}

func padString(p []int) string {
	if len(p) == 0 {
		return "none"
	}
	return fmt.Sprint(p)
}

func limitString(l float64) string {
	if l == 0 {
		return "none"
	}
	return strconv.FormatFloat(l, 'g', -1, 64)
}

// judge applies the enabled rules to one metric.
func judge(task string, bm, nm results.Metric, rules checkRules) checkRow {
	row := checkRow{Task: task, Metric: bm.Name, Baseline: num(bm.Value), Now: num(nm.Value)}
	dir := bm.Better
	if dir == results.UnknownDirection {
		dir = nm.Better
	}
	if math.IsNaN(nm.Value) || math.IsInf(nm.Value, 0) {
		row.Verdict, row.Note = verdictRegression, "the result is not a finite number"
		return row
	}
	if math.IsNaN(bm.Value) || math.IsInf(bm.Value, 0) {
		row.Verdict, row.Note = verdictUnchecked, "the baseline is not a finite number"
		return row
	}
	delta := nm.Value - bm.Value
	row.Delta = &delta
	if dir == results.UnknownDirection {
		row.Verdict, row.Note = verdictUnchecked, "unknown whether higher or lower is better"
		return row
	}
	// worse > 0 means the metric moved the bad way.
	worse := delta
	if dir == results.HigherIsBetter {
		worse = -delta
	}
	allowed := math.Inf(1)
	consider := func(a float64, rule string) {
		if a < allowed {
			allowed, row.Rule = a, rule
		}
	}
	if rules.pplIncrease >= 0 && dir == results.LowerIsBetter {
		consider(rules.pplIncrease*math.Abs(bm.Value), trimFloat(rules.pplIncrease*100)+"%")
	}
	if rules.accDrop >= 0 && dir == results.HigherIsBetter && results.IsFraction(bm.Name) {
		consider(rules.accDrop, trimFloat(rules.accDrop*100)+" pt")
	}
	if rules.sigma >= 0 {
		var v float64
		if bm.HasStderr() {
			v += bm.Stderr * bm.Stderr
		}
		if nm.HasStderr() {
			v += nm.Stderr * nm.Stderr
		}
		if bm.HasStderr() || nm.HasStderr() {
			consider(rules.sigma*math.Sqrt(v), trimFloat(rules.sigma)+"σ")
		}
	}
	if math.IsInf(allowed, 1) {
		row.Verdict, row.Note = verdictUnchecked, "no enabled rule applies (no stderr for --sigma)"
		return row
	}
	signed := allowed
	if dir == results.HigherIsBetter {
		signed = -allowed
	}
	row.Allowed = &signed
	switch {
	case worse > allowed:
		row.Verdict = verdictRegression
	case -worse > allowed && rules.twoSided:
		row.Verdict = verdictChanged
	case -worse > allowed && allowed > 0:
		row.Verdict = verdictBetter
	default:
		row.Verdict = verdictOK
	}
	return row
}

func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

func trimFloat(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }

func printCheck(o *checkOptions, base, now *results.File, rep *checkReport) error {
	w := o.IO.Out
	fmt.Fprintf(w, "baseline: %s (%s, %s)\n", o.Baseline, nameOr(base.ModelName, "model not recorded"), base.Protocol)
	fmt.Fprintf(w, "results:  %s (%s, %s)\n", o.Results, nameOr(now.ModelName, "model not recorded"), now.Protocol)
	for _, m := range rep.Mismatches {
		fmt.Fprintf(w, "MISMATCH %s\n", m)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	rows := make([][]string, 0, len(rep.Rows))
	for _, r := range rep.Rows {
		verdict := r.Verdict
		if r.Note != "" {
			verdict += " (" + r.Note + ")"
		}
		rows = append(rows, []string{r.Task, r.Metric, fmtValue(r.Baseline), fmtValue(r.Now), fmtDelta(r), fmtAllowed(r), verdict})
	}
	if err := table.Write(w, table.ASCII, []string{"task", "metric", "baseline", "now", "Δ", "allowed", "verdict"}, rows, 2, 3, 4, 5); err != nil {
		return err
	}
	status := "PASS"
	if !rep.Pass {
		status = "FAIL"
	}
	changed := ""
	if o.TwoSided {
		changed = fmt.Sprintf(", %d changed", rep.Changed)
	}
	fmt.Fprintf(w, "%s: %d compared, %s%s, %d missing, %s\n", status, countCompared(rep), plural(rep.Regressions, "regression"), changed, rep.Missing, plural(len(rep.Mismatches), "mismatch", "mismatches"))
	return nil
}

func countCompared(rep *checkReport) int {
	n := 0
	for _, r := range rep.Rows {
		if r.Delta != nil {
			n++
		}
	}
	return n
}

func nameOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func fmtValue(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', 4, 64)
}

func fmtDelta(r checkRow) string {
	if r.Delta == nil {
		return "—"
	}
	s := fmt.Sprintf("%+.4f", *r.Delta)
	if r.Baseline != nil && *r.Baseline != 0 && !results.IsFraction(r.Metric) {
		s += fmt.Sprintf(" (%+.2f%%)", 100**r.Delta / *r.Baseline)
	}
	return s
}

func fmtAllowed(r checkRow) string {
	if r.Allowed == nil {
		return "—"
	}
	return fmt.Sprintf("%+.4f (%s)", *r.Allowed, r.Rule)
}

func writeCheckJSON(o *checkOptions, rep *checkReport) error { return writeJSON(o.IO.Out, rep) }

// readResultsFile reads a results file, keeping its bytes for
// --update-baseline (what was checked is exactly what gets written).
func readResultsFile(path string) ([]byte, *results.File, error) {
	path = resultsPath(path)
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if st.Size() > results.MaxFileSize {
		return nil, nil, fmt.Errorf("%s: %d bytes, larger than a results file can be (%d MiB)", path, st.Size(), results.MaxFileSize>>20)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	f, err := results.Parse(b, path)
	return b, f, err
}

// resultsPath accepts an eval --output directory for its results.json.
func resultsPath(p string) string {
	if st, err := os.Stat(p); err == nil && st.IsDir() {
		return filepath.Join(p, "results.json")
	}
	return p
}

// writeBaseline replaces the baseline with b, never leaving a half-written file.
func writeBaseline(path string, b []byte) error {
	return atomicfile.Write(path, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}
