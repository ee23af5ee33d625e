package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// evalFile writes a results file in eval's layout (v0.3 metric keys, the
// provenance in "config") and returns its path. metrics are "task/metric"
// = value, "task/metric_stderr" = stderr; n maps task -> documents.
func evalFile(t *testing.T, dir, name string, cfg map[string]any, metrics map[string]float64, n map[string]int) string {
	t.Helper()
	res := map[string]map[string]float64{}
	for k, v := range metrics {
		task, m, _ := strings.Cut(k, "/")
		if res[task] == nil {
			res[task] = map[string]float64{}
		}
		res[task][m] = v
	}
	config := map[string]any{"model": "rwkv-tools", "model_args": "tiny.gguf", "num_fewshot": 0, "limit": nil, "protocol": "harness-v0.3", "pad_token": []int{187}, "tokenizer": "gpt-neox-20b", "tool_version": "test"}
	for k, v := range cfg {
		config[k] = v
	}
	ns := map[string]map[string]int{}
	for task, c := range n {
		ns[task] = map[string]int{"original": c, "effective": c}
	}
	b, err := json.MarshalIndent(map[string]any{"results": res, "config": config, "n-samples": ns}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var baseMetrics = map[string]float64{
	"lambada_openai/ppl": 20, "lambada_openai/ppl_stderr": 1, "lambada_openai/acc": 0.40, "lambada_openai/acc_stderr": 0.02,
	"piqa/acc": 0.60, "piqa/acc_stderr": 0.011, "piqa/acc_norm": 0.61, "piqa/acc_norm_stderr": 0.011,
}

func with(m map[string]float64, kv ...any) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
			continue
		}
		out[k] = kv[i+1].(float64)
	}
	return out
}

func TestCheck(t *testing.T) {
	n := map[string]int{"lambada_openai": 300, "piqa": 1838}
	cases := []struct {
		name    string
		cfg     map[string]any
		metrics map[string]float64
		n       map[string]int
		flags   []string
		code    int
		want    []string // substrings of stdout+stderr
	}{
		{name: "identical", metrics: baseMetrics, code: 0, want: []string{"PASS: 4 compared", "| ok"}},
		{name: "within tolerances", metrics: with(baseMetrics, "lambada_openai/ppl", 20.19, "piqa/acc", 0.596), code: 0, want: []string{"+0.1900 (+0.95%)", "+0.2000 (1%)", "-0.0050 (0.5 pt)"}},
		{name: "ppl rule", metrics: with(baseMetrics, "lambada_openai/ppl", 20.21), code: 1, want: []string{"REGRESSION", "1 regression", "+1.05%"}},
		{name: "ppl rule loosened", metrics: with(baseMetrics, "lambada_openai/ppl", 20.21), flags: []string{"--max-ppl-increase", "2%"}, code: 0},
		{name: "acc rule", metrics: with(baseMetrics, "piqa/acc_norm", 0.6049), code: 1, want: []string{"acc_norm", "REGRESSION", "-0.0051"}},
		{name: "acc rule in points", metrics: with(baseMetrics, "piqa/acc_norm", 0.6049), flags: []string{"--max-acc-drop", "0.6"}, code: 0, want: []string{"(0.6 pt)"}},
		{name: "sigma rule alone is loose", metrics: with(baseMetrics, "piqa/acc", 0.58), flags: []string{"--sigma", "2"}, code: 0, want: []string{"2σ", "| ok"}},
		{name: "sigma rule", metrics: with(baseMetrics, "piqa/acc", 0.56), flags: []string{"--sigma", "2"}, code: 1, want: []string{"-0.0311 (2σ)", "REGRESSION"}},
		{name: "sigma with a fixed rule: tightest wins", metrics: with(baseMetrics, "piqa/acc", 0.58), flags: []string{"--sigma", "2", "--max-acc-drop", "0.5"}, code: 1, want: []string{"(0.5 pt)", "REGRESSION"}},
		{name: "better", metrics: with(baseMetrics, "lambada_openai/ppl", 18.0), code: 0, want: []string{"better"}},
		{name: "better fails two-sided", metrics: with(baseMetrics, "lambada_openai/ppl", 18.0), flags: []string{"--two-sided"}, code: 1, want: []string{"CHANGED", "1 improvement beyond the tolerance"}},
		{name: "exact gate", metrics: with(baseMetrics, "piqa/acc", 0.6000001), flags: []string{"--two-sided", "--max-acc-drop", "0"}, code: 1, want: []string{"CHANGED"}},
		{name: "exact gate passes identical", metrics: baseMetrics, flags: []string{"--two-sided", "--max-acc-drop", "0", "--max-ppl-increase", "0%"}, code: 0, want: []string{"PASS"}},
		{name: "missing metric", metrics: with(baseMetrics, "lambada_openai/ppl", nil), code: 1, want: []string{"MISSING", "metric not in results"}},
		{name: "missing task", metrics: with(baseMetrics, "piqa/acc", nil, "piqa/acc_norm", nil, "piqa/acc_stderr", nil, "piqa/acc_norm_stderr", nil), code: 1, want: []string{"baseline tasks missing from the results: piqa", "2 missing metrics"}},
		{name: "missing task allowed", metrics: with(baseMetrics, "piqa/acc", nil, "piqa/acc_norm", nil), flags: []string{"--allow-missing"}, code: 0, want: []string{"missing from the results: piqa", "PASS"}},
		{name: "extra task noted", metrics: with(baseMetrics, "arc_easy/acc", 0.5), code: 0, want: []string{"not in the baseline, not checked: arc_easy"}},
		{name: "protocol mismatch", cfg: map[string]any{"protocol": "harness-v0.4"}, metrics: baseMetrics, code: 1, want: []string{"MISMATCH protocol: baseline harness-v0.3, results harness-v0.4", "1 mismatch between the files"}},
		{name: "protocol mismatch ignored", cfg: map[string]any{"protocol": "harness-v0.4"}, metrics: baseMetrics, flags: []string{"--ignore-mismatch"}, code: 0, want: []string{"MISMATCH protocol", "compared despite"}},
		{name: "tokenizer mismatch", cfg: map[string]any{"tokenizer": "rwkv-world"}, metrics: baseMetrics, code: 1, want: []string{"MISMATCH tokenizer: baseline gpt-neox-20b, results rwkv-world"}},
		{name: "pad token mismatch", cfg: map[string]any{"pad_token": []int{}}, metrics: baseMetrics, code: 1, want: []string{"MISMATCH pad token: baseline [187], results none"}},
		{name: "limit mismatch", cfg: map[string]any{"limit": 100}, metrics: baseMetrics, code: 1, want: []string{"MISMATCH limit: baseline none, results 100"}},
		{name: "document count mismatch", metrics: baseMetrics, n: map[string]int{"lambada_openai": 299, "piqa": 1838}, code: 1, want: []string{"lambada_openai: baseline scored 300 documents, results 299", "MISMATCH (300 documents vs 299)"}},
		{name: "rule off", metrics: with(baseMetrics, "lambada_openai/ppl", 30.0), flags: []string{"--max-ppl-increase", "off"}, code: 0, want: []string{"unchecked"}},
		{name: "bad tolerance", metrics: baseMetrics, flags: []string{"--max-acc-drop", "-1"}, code: 2, want: []string{"--max-acc-drop"}},
		{name: "everything off", metrics: baseMetrics, flags: []string{"--max-acc-drop", "off", "--max-ppl-increase", "off"}, code: 2, want: []string{"nothing would be checked"}},
		{name: "unknown flag", metrics: baseMetrics, flags: []string{"--max-acc-dorp", "1"}, code: 2, want: []string{"unknown flag"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			base := evalFile(t, dir, "base.json", nil, baseMetrics, n)
			nn := c.n
			if nn == nil {
				nn = n
			}
			now := evalFile(t, dir, "now.json", c.cfg, c.metrics, nn)
			out, errOut, code := run(t, append([]string{"check", now, "--baseline", base}, c.flags...)...)
			if code != c.code {
				t.Errorf("exit %d, want %d\n%s%s", code, c.code, out, errOut)
			}
			for _, w := range c.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output lacks %q:\n%s%s", w, out, errOut)
				}
			}
		})
	}
}

func TestCheckNaNAndJSON(t *testing.T) {
	dir := t.TempDir()
	base := evalFile(t, dir, "base.json", nil, baseMetrics, nil)
	now := filepath.Join(dir, "now.json")
	// Python's json writes NaN bare; a NaN perplexity (an fp16 overflow) must fail.
	os.WriteFile(now, []byte(`{"results": {"lambada_openai": {"ppl": NaN, "acc": 0.4}, "piqa": {"acc": 0.6, "acc_norm": 0.61}},
		"config": {"protocol": "harness-v0.3", "tokenizer": "gpt-neox-20b", "num_fewshot": 0}}`), 0o644)
	out, errOut, code := run(t, "check", now, "--baseline", base, "--json")
	if code != 1 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--json output is not JSON: %v\n%s", err, out)
	}
	if rep.Pass || rep.Regressions != 1 || len(rep.Rows) != 4 || rep.Rows[0].Metric != "ppl" || rep.Rows[0].Now != nil || rep.Rows[0].Verdict != verdictRegression {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(errOut, "check failed against") {
		t.Errorf("stderr: %s", errOut)
	}
}

func TestCheckUnreadable(t *testing.T) {
	dir := t.TempDir()
	good := evalFile(t, dir, "good.json", nil, baseMetrics, nil)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"results": {"piqa": {"acc": 0.6}`), 0o644)
	notResults := filepath.Join(dir, "other.json")
	os.WriteFile(notResults, []byte(`{"model": "x"}`), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", bad, "--baseline", good}, "cannot read results: " + bad},
		{[]string{"check", good, "--baseline", bad}, "cannot read baseline: " + bad},
		{[]string{"check", good, "--baseline", notResults}, `no "results" object`},
		{[]string{"check", good, "--baseline", filepath.Join(dir, "none.json")}, "cannot read baseline"},
		{[]string{"check", filepath.Join(dir, "none.json"), "--baseline", good}, "cannot read results"},
		{[]string{"check", good}, "--baseline is required"},
		{[]string{"check", good, good, "--baseline", good}, "check takes one RESULTS file"},
		{[]string{"check", good, "--baseline", good, "--update-baseline"}, "would destroy the input"},
	} {
		out, errOut, code := run(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q (stdout %q)", c.args, code, errOut, c.want, out)
		}
	}
}

func TestCheckUpdateBaseline(t *testing.T) {
	dir := t.TempDir()
	base := evalFile(t, dir, "base.json", nil, baseMetrics, nil)
	now := evalFile(t, dir, "now.json", nil, with(baseMetrics, "piqa/acc", 0.5), nil)
	nowBytes, _ := os.ReadFile(now)

	// A regression, accepted: the table is printed, the baseline replaced, exit 0.
	out, errOut, code := run(t, "check", now, "--baseline", base, "--update-baseline")
	if code != 0 || !strings.Contains(out, "REGRESSION") || !strings.Contains(errOut, "baseline "+base+" updated") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(base); string(got) != string(nowBytes) {
		t.Error("baseline is not a copy of the results")
	}
	if _, _, code := run(t, "check", now, "--baseline", base); code != 0 {
		t.Error("the updated baseline does not pass its own results")
	}

	// A missing baseline is created.
	fresh := filepath.Join(dir, "sub", "fresh.json")
	os.Mkdir(filepath.Dir(fresh), 0o755)
	if _, errOut, code := run(t, "check", now, "--baseline", fresh, "--update-baseline"); code != 0 || !strings.Contains(errOut, "did not exist") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if got, _ := os.ReadFile(fresh); string(got) != string(nowBytes) {
		t.Error("created baseline differs")
	}

	// Unreadable results never touch the baseline.
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"results": 3}`), 0o644)
	before, _ := os.ReadFile(base)
	if _, _, code := run(t, "check", bad, "--baseline", base, "--update-baseline"); code != 2 {
		t.Errorf("exit %d", code)
	}
	if after, _ := os.ReadFile(base); string(after) != string(before) {
		t.Error("baseline changed by a failed update")
	}

	// Atomic: a baseline in a directory that cannot be written stays whole,
	// and no temporary file is left behind.
	if os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o755)
		roBase := evalFile(t, ro, "base.json", nil, baseMetrics, nil)
		roBefore, _ := os.ReadFile(roBase)
		os.Chmod(ro, 0o555)
		defer os.Chmod(ro, 0o755)
		if _, errOut, code := run(t, "check", now, "--baseline", roBase, "--update-baseline"); code != 2 {
			t.Errorf("read-only dir: exit %d %s", code, errOut)
		}
		if after, _ := os.ReadFile(roBase); string(after) != string(roBefore) {
			t.Error("baseline changed")
		}
		entries, _ := os.ReadDir(ro)
		if len(entries) != 1 {
			t.Errorf("left behind: %v", entries)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

// Our results against Pythia's published harness file: the v0.3 layout
// implies the protocol, so only real differences are reported.
func TestCheckAgainstHarnessFile(t *testing.T) {
	dir := t.TempDir()
	pythia := testutil.Testdata("results", "pythia-160m_step143000.json")
	now := evalFile(t, dir, "now.json", nil, map[string]float64{"lambada_openai/ppl": 38.06, "lambada_openai/acc": 0.3284}, nil)
	out, errOut, code := run(t, "check", now, "--baseline", pythia, "--allow-missing")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	for _, w := range []string{"harness-v0.3", "EleutherAI/pythia-v1.1-160m@step143000", "the baseline does not record its tokenizer", "38.0649", "-0.0049"} {
		if !strings.Contains(out, w) {
			t.Errorf("lacks %q:\n%s", w, out)
		}
	}
	// Against the v0.4 file: a protocol mismatch.
	_, errOut, code = run(t, "check", now, "--baseline", testutil.Testdata("results", "v04-example.json"), "--allow-missing")
	if code != 1 || !strings.Contains(errOut, "mismatch") {
		t.Errorf("exit %d %s", code, errOut)
	}
}

func TestCheckFlags(t *testing.T) {
	var got *checkOptions
	cmd := newCheckCmd(&IO{}, func(o *checkOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"r.json", "--baseline", "b.json", "--sigma", "3", "--json", "--update-baseline", "--allow-missing", "--ignore-mismatch"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Results != "r.json" || got.Baseline != "b.json" || got.Sigma != "3" || !got.sigmaGiven || got.pplGiven || !got.JSON || !got.UpdateBaseline || !got.AllowMissing || !got.IgnoreMismatch {
		t.Fatalf("%+v", got)
	}
	r, err := parseCheckRules(got)
	if err != nil || r.sigma != 3 || r.pplIncrease >= 0 || r.accDrop >= 0 {
		t.Errorf("rules %+v %v", r, err)
	}
	got.pplGiven = true
	if r, _ := parseCheckRules(got); r.pplIncrease != 0.01 {
		t.Errorf("an explicit --max-ppl-increase stays with --sigma: %+v", r)
	}
}

// An eval --output directory stands for its results.json.
func TestCheckDirectoryArguments(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	evalFile(t, a, "results.json", nil, baseMetrics, nil)
	evalFile(t, b, "results.json", nil, baseMetrics, nil)
	if out, errOut, code := run(t, "check", a, "--baseline", b); code != 0 || !strings.Contains(out, "PASS") {
		t.Errorf("exit %d %s%s", code, out, errOut)
	}
	if out, errOut, code := run(t, "compare-results", a, b); code != 0 || !strings.Contains(out, "within 2σ") {
		t.Errorf("exit %d %s%s", code, out, errOut)
	}
}
