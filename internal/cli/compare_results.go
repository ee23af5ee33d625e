package cli

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rwkv-tools/rwkv-tools/eval/results"
	"github.com/rwkv-tools/rwkv-tools/internal/table"
)

type compareResultsOptions struct {
	IO       *IO
	Files    []string
	Markdown bool
	Sigma    float64
	AllTasks bool
	Tasks    string
	JSON     bool
}

func newCompareResultsCmd(io *IO, runF func(*compareResultsOptions) error) *cobra.Command {
	opts := &compareResultsOptions{IO: io}
	cmd := &cobra.Command{
		Use:   "compare-results A.json B.json [C.json ...]",
		Short: "Put evaluation results of several models side by side (parity tables)",
		Long: `Compare-results prints tasks × models: each value ± its standard error,
and for every model after the first its difference to the first model and a
verdict: "within 2σ" when |Δ| <= 2·sqrt(se_A² + se_B²), else "better" or
"worse" (by the metric's direction; "differs" when the direction is not
known, "no stderr" when neither file has one).

It reads rwkv-tools results and lm-evaluation-harness results of the v0.3
schema (e.g. Pythia's published evals) and the v0.4+ schema; v0.4's
"perplexity" is shown as "ppl". The shipped baselines/ folder holds
published numbers in this format:

  rwkv-tools compare-results my-rwkv-169m.json baselines/pythia-160m.json

Rows are the first file's tasks and metrics (--all-tasks: every file's;
--tasks a,b: those). --markdown prints a Markdown table for a pull request.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 2 {
				return withExitCode(exitUsage, fmt.Errorf("compare-results needs at least two results files, got %d; usage: %s", len(args), cmd.UseLine()))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			if runF != nil {
				return runF(opts)
			}
			return runCompareResults(opts)
		},
	}
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return withExitCode(exitUsage, fmt.Errorf("%w; see %s --help", err, c.CommandPath()))
	})
	f := cmd.Flags()
	f.BoolVar(&opts.Markdown, "markdown", false, "print a Markdown table")
	f.Float64Var(&opts.Sigma, "sigma", 2, "differences within this many combined standard errors are \"within\"")
	f.BoolVar(&opts.AllTasks, "all-tasks", false, "show the tasks of every file, not only the first's")
	f.StringVar(&opts.Tasks, "tasks", "", "comma-separated tasks to show (default: the first file's)")
	addJSONFlag(cmd, &opts.JSON)
	return cmd
}

// parityCell is one model's value of one metric.
type parityCell struct {
	Value   *float64 `json:"value"`
	Stderr  *float64 `json:"stderr"`
	Delta   *float64 `json:"delta,omitempty"` // to the first model
	Verdict string   `json:"verdict,omitempty"`
}

type parityRow struct {
	Task   string       `json:"task"`
	Metric string       `json:"metric"`
	Models []parityCell `json:"models"`
}

type parityModel struct {
	Name     string `json:"name"`
	File     string `json:"file"`
	Model    string `json:"model"`
	Protocol string `json:"protocol"`
	Schema   string `json:"schema"`
	Source   string `json:"source,omitempty"`
}

type parityReport struct {
	Sigma  float64       `json:"sigma"`
	Models []parityModel `json:"models"`
	Rows   []parityRow   `json:"rows"`
}

func runCompareResults(o *compareResultsOptions) error {
	if !(o.Sigma > 0) || math.IsInf(o.Sigma, 0) {
		return withExitCode(exitUsage, fmt.Errorf("--sigma %v: want a positive number", o.Sigma))
	}
	files := make([]*results.File, len(o.Files))
	for i, p := range o.Files {
		f, err := results.Read(resultsPath(p))
		if err != nil {
			return withExitCode(exitUsage, err)
		}
		files[i] = f
	}
	rep := buildParity(files, o)
	if o.JSON {
		return writeJSON(o.IO.Out, rep)
	}
	return printParity(o, rep)
}

func buildParity(files []*results.File, o *compareResultsOptions) *parityReport {
	rep := &parityReport{Sigma: o.Sigma, Rows: []parityRow{}}
	names := map[string]int{}
	for _, f := range files {
		names[f.DisplayName()]++
	}
	for _, f := range files {
		name := f.DisplayName()
		if names[name] > 1 {
			name = f.Path // two "results.json" from different runs
		}
		proto := f.Protocol
		if f.ProtocolInferred {
			proto += " (inferred)"
		}
		rep.Models = append(rep.Models, parityModel{Name: name, File: f.Path, Model: f.ModelName, Protocol: proto, Schema: string(f.Schema), Source: f.Source})
	}

	// Rows: (task, metric) pairs in order.
	type key struct{ task, metric string }
	seen := map[key]bool{}
	var keys []key
	add := func(f *results.File, only map[string]bool) {
		for _, t := range f.Tasks {
			if t.Group || (only != nil && !only[t.Name]) {
				continue
			}
			for _, m := range t.Metrics {
				k := key{t.Name, m.Name}
				if !seen[k] {
					seen[k] = true
					keys = append(keys, k)
				}
			}
		}
	}
	switch {
	case o.Tasks != "":
		only := map[string]bool{}
		for _, t := range strings.Split(o.Tasks, ",") {
			only[strings.TrimSpace(t)] = true
		}
		for _, f := range files {
			add(f, only)
		}
	case o.AllTasks:
		for _, f := range files {
			add(f, nil)
		}
	default:
		add(files[0], nil)
	}
	metricRank := func(m string) int {
		for i, n := range []string{"ppl", "acc", "acc_norm", "em", "f1"} {
			if m == n {
				return i
			}
		}
		return 99
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].task != keys[j].task {
			return keys[i].task < keys[j].task
		}
		ri, rj := metricRank(keys[i].metric), metricRank(keys[j].metric)
		if ri != rj {
			return ri < rj
		}
		return keys[i].metric < keys[j].metric
	})

	for _, k := range keys {
		row := parityRow{Task: k.task, Metric: k.metric}
		var first results.Metric
		var haveFirst bool
		for i, f := range files {
			var cell parityCell
			m, ok := parityMetric(f, k.task, k.metric)
			if ok {
				cell.Value = num(m.Value)
				if m.HasStderr() {
					s := m.Stderr
					cell.Stderr = &s
				}
			}
			if i == 0 {
				first, haveFirst = m, ok && cell.Value != nil
			} else if ok && haveFirst && cell.Value != nil {
				d := m.Value - first.Value
				cell.Delta = &d
				cell.Verdict = parityVerdict(first, m, o.Sigma)
			}
			row.Models = append(row.Models, cell)
		}
		rep.Rows = append(rep.Rows, row)
	}
	return rep
}

func parityMetric(f *results.File, task, metric string) (results.Metric, bool) {
	t := f.Task(task)
	if t == nil {
		return results.Metric{}, false
	}
	return t.Metric(metric)
}

// parityVerdict judges b against the first model a.
func parityVerdict(a, b results.Metric, sigma float64) string {
	var v float64
	if a.HasStderr() {
		v += a.Stderr * a.Stderr
	}
	if b.HasStderr() {
		v += b.Stderr * b.Stderr
	}
	d := b.Value - a.Value
	within := "within " + strconv.FormatFloat(sigma, 'g', 4, 64) + "σ"
	if !a.HasStderr() && !b.HasStderr() {
		if d == 0 {
			return "equal"
		}
		return "no stderr"
	}
	if math.Abs(d) <= sigma*math.Sqrt(v) {
		return within
	}
	dir := a.Better
	if dir == results.UnknownDirection {
		dir = b.Better
	}
	switch {
	case dir == results.UnknownDirection:
		return "differs"
	case (d > 0) == (dir == results.HigherIsBetter):
		return "better"
	default:
		return "worse"
	}
}

func printParity(o *compareResultsOptions, rep *parityReport) error {
	w := o.IO.Out
	style := table.ASCII
	if o.Markdown {
		style = table.Markdown
	}
	for _, m := range rep.Models {
		desc := m.Model
		if desc == "" {
			desc = "model not recorded"
		}
		name := m.Name
		if o.Markdown {
			name = "`" + name + "`"
		}
		line := fmt.Sprintf("%s: %s, %s, %s", name, desc, m.Protocol, m.Schema)
		if m.Source != "" {
			line += "; source: " + m.Source
		}
		if o.Markdown {
			line = "- " + line
		}
		fmt.Fprintln(w, line)
	}
	protocols := map[string]bool{}
	for _, m := range rep.Models {
		protocols[strings.TrimSuffix(m.Protocol, " (inferred)")] = true
	}
	if len(protocols) > 1 {
		note := "note: the files were evaluated under different protocols (EVAL-SPEC §2.5); part of a difference may come from that"
		if o.Markdown {
			note = "- " + note
		}
		fmt.Fprintln(w, note)
	}
	fmt.Fprintln(w)
	header := []string{"task", "metric", rep.Models[0].Name}
	right := []int{2}
	for _, m := range rep.Models[1:] {
		header = append(header, m.Name, "Δ", "vs "+rep.Models[0].Name)
		right = append(right, len(header)-3, len(header)-2)
	}
	rows := make([][]string, 0, len(rep.Rows))
	for _, r := range rep.Rows {
		cells := []string{r.Task, r.Metric, fmtParityCell(r.Models[0])}
		for _, c := range r.Models[1:] {
			delta, verdict := "—", "—"
			if c.Delta != nil {
				delta = fmt.Sprintf("%+.4f", *c.Delta)
				verdict = c.Verdict
			}
			cells = append(cells, fmtParityCell(c), delta, verdict)
		}
		rows = append(rows, cells)
	}
	return table.Write(w, style, header, rows, right...)
}

func fmtParityCell(c parityCell) string {
	if c.Value == nil {
		return "—"
	}
	s := strconv.FormatFloat(*c.Value, 'f', 4, 64)
	if c.Stderr != nil {
		s += " ± " + strconv.FormatFloat(*c.Stderr, 'f', 4, 64)
	}
	return s
}
