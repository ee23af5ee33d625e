package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite the golden output files of compare-results")

// golden compares got with testdata/results/golden/name (or rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	p := testutil.Testdata("results", "golden", name)
	if *updateGolden {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/cli -run %s -update-golden to create it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got\n%s\n--- want\n%s", p, got, want)
	}
}

// A real harness v0.3 file (Pythia-160M, as published) and a v0.4 file.
func TestCompareResultsGolden(t *testing.T) {
	v04 := testutil.Testdata("results", "v04-example.json")
	pythia := testutil.Testdata("results", "pythia-160m_step143000.json")
	for _, c := range []struct {
		golden string
		args   []string
	}{
		{"compare-v04-pythia.txt", []string{v04, pythia}},
		{"compare-v04-pythia.md", []string{v04, pythia, "--markdown"}},
		{"compare-pythia-v04-all.txt", []string{pythia, v04, "--tasks", "lambada_openai,piqa,arc_easy,arc_challenge,winogrande,sciq"}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			out, errOut, code := run(t, append([]string{"compare-results"}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden(t, c.golden, out)
		})
	}
}

func TestCompareResultsVerdicts(t *testing.T) {
	dir := t.TempDir()
	a := evalFile(t, dir, "a.json", nil, map[string]float64{"piqa/acc": 0.60, "piqa/acc_stderr": 0.01, "lambada_openai/ppl": 20, "lambada_openai/ppl_stderr": 1, "x/score": 3}, nil)
	b := evalFile(t, dir, "b.json", nil, map[string]float64{"piqa/acc": 0.63, "piqa/acc_stderr": 0.01, "lambada_openai/ppl": 22.9, "lambada_openai/ppl_stderr": 1, "x/score": 4}, nil)
	c := evalFile(t, dir, "c.json", nil, map[string]float64{"piqa/acc": 0.57, "piqa/acc_stderr": 0.01, "lambada_openai/ppl": 17.1, "x/score": 3}, nil)
	out, errOut, code := run(t, "compare-results", a, b, c, "--json")
	if code != 0 {
		t.Fatalf("exit %d %s", code, errOut)
	}
	var rep parityReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string][2]string{
		"lambada_openai/ppl": {"worse", "better"},    // ±2.83 for b; c: only a's stderr, 2σ = 2
		"piqa/acc":           {"better", "worse"},    // 2σ = 0.0283
		"x/score":            {"no stderr", "equal"}, // unknown metric without stderr
	}
	if len(rep.Rows) != 3 {
		t.Fatalf("rows %+v", rep.Rows)
	}
	for _, r := range rep.Rows {
		w := want[r.Task+"/"+r.Metric]
		if r.Models[1].Verdict != w[0] || r.Models[2].Verdict != w[1] {
			t.Errorf("%s/%s: verdicts %q %q, want %v", r.Task, r.Metric, r.Models[1].Verdict, r.Models[2].Verdict, w)
		}
	}
	out, _, _ = run(t, "compare-results", a, b, "--sigma", "3")
	if !strings.Contains(out, "within 3σ") {
		t.Errorf("--sigma 3:\n%s", out)
	}
}

func TestCompareResultsErrors(t *testing.T) {
	dir := t.TempDir()
	a := evalFile(t, dir, "a.json", nil, map[string]float64{"piqa/acc": 0.6}, nil)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"compare-results", a}, "at least two results files"},
		{[]string{"compare-results", a, bad}, bad},
		{[]string{"compare-results", a, filepath.Join(dir, "none.json")}, "none.json"},
		{[]string{"compare-results", a, a, "--sigma", "0"}, "--sigma"},
		{[]string{"compare-results", a, a, "--bogus"}, "unknown flag"},
	} {
		_, errOut, code := run(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}
