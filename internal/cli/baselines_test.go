package cli

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/eval/results"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// The shipped baselines hold exactly the published numbers: Pythia's
// (EleutherAI/pythia evals, two decimals of a percent as tabulated) and the
// RWKV paper's.
func TestBaselines(t *testing.T) {
	dir := filepath.Join(testutil.RepoRoot(), "baselines")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(paths) != 27 {
		t.Errorf("%d baseline files, want 27", len(paths))
	}
	files := map[string]*results.File{}
	for _, p := range paths {
		f, err := results.Read(p)
		if err != nil {
			t.Fatal(err)
		}
		if f.Source == "" || f.Protocol != "harness-v0.3" || f.NumFewshot != 0 || f.Limit != 0 || f.ModelName == "" {
			t.Errorf("%s: source %q protocol %q fewshot %d limit %v model %q", p, f.Source, f.Protocol, f.NumFewshot, f.Limit, f.ModelName)
		}
		files[strings.TrimSuffix(filepath.Base(p), ".json")] = f
	}
	// name: LAMBADA ppl (4 decimals), then percentages: LAMBADA acc, PIQA
	// acc, PIQA acc_norm, WinoGrande, ARC-E acc, ARC-E acc_norm, ARC-C acc,
	// ARC-C acc_norm, SciQ acc, SciQ acc_norm.
	pythia := map[string][]float64{
		"pythia-70m":          {142.4289, 18.46, 59.47, 59.14, 52.80, 37.37, 35.02, 18.09, 22.10, 60.10, 55.20},
		"pythia-160m":         {38.0649, 32.84, 62.73, 61.64, 53.12, 43.52, 39.65, 18.77, 23.29, 74.10, 66.80},
		"pythia-410m":         {10.8282, 51.62, 66.76, 67.14, 53.67, 52.10, 45.79, 21.33, 24.32, 81.10, 72.10},
		"pythia-1.4b":         {6.0857, 61.61, 70.89, 71.06, 57.30, 60.65, 53.91, 26.02, 28.58, 86.50, 79.40},
		"pythia-2.8b":         {5.0361, 64.72, 73.88, 73.39, 59.43, 64.39, 58.96, 29.52, 33.28, 88.20, 83.30},
		"pythia-6.9b":         {4.4491, 67.28, 75.24, 76.50, 60.93, 67.34, 61.36, 31.31, 35.07, 89.70, 84.00},
		"pythia-12b":          {3.9236, 70.46, 76.01, 76.82, 63.93, 70.24, 63.59, 31.83, 34.81, 90.20, 85.00},
		"pythia-160m-deduped": {32.2218, 34.17, 61.81, 61.59, 49.72, 44.02, 38.85, 20.05, 24.15, 72.00, 64.10},
		"pythia-410m-deduped": {10.5741, 52.44, 67.46, 67.41, 53.35, 51.68, 45.71, 20.22, 25.34, 82.60, 73.70},
		"pythia-1b-deduped":   {7.4092, 58.04, 70.02, 70.13, 52.88, 58.46, 52.06, 24.49, 26.54, 87.00, 83.60},
		"pythia-1.4b-deduped": {6.1069, 61.87, 72.03, 72.52, 56.59, 61.70, 56.82, 27.22, 29.78, 86.50, 77.70},
		"pythia-2.8b-deduped": {5.0011, 65.15, 74.10, 74.05, 58.25, 63.47, 59.09, 30.12, 32.94, 88.20, 83.20},
		"pythia-6.9b-deduped": {4.1583, 68.89, 76.01, 76.71, 63.06, 68.60, 63.43, 33.11, 35.24, 91.10, 85.90},
		"pythia-12b-deduped":  {3.8739, 70.97, 76.28, 77.04, 65.98, 70.79, 66.58, 33.19, 38.23, 92.90, 88.40},
	}
	cols := [][2]string{{"lambada_openai", "ppl"}, {"lambada_openai", "acc"}, {"piqa", "acc"}, {"piqa", "acc_norm"}, {"winogrande", "acc"}, {"arc_easy", "acc"}, {"arc_easy", "acc_norm"}, {"arc_challenge", "acc"}, {"arc_challenge", "acc_norm"}, {"sciq", "acc"}, {"sciq", "acc_norm"}}
	for name, want := range pythia {
		f := files[name]
		if f == nil {
			t.Errorf("no baselines/%s.json", name)
			continue
		}
		for i, c := range cols {
			m := metricOf(t, f, c[0], c[1])
			got, scale := m.Value, 100.0
			if i == 0 {
				scale = 1
			}
			if math.Abs(got*scale-want[i]) > 0.5001*math.Pow(10, -decimals(i)) || !m.HasStderr() {
				t.Errorf("%s %s %s = %v (stderr %v), published %v", name, c[0], c[1], got, m.Stderr, want[i])
			}
		}
	}
	// RWKV paper (arXiv 2305.13048v1): 169M and 14B rows, all columns.
	paperCols := [][2]string{{"lambada_openai", "ppl"}, {"lambada_openai", "acc"}, {"piqa", "acc"}, {"storycloze_2016", "acc"}, {"hellaswag", "acc_norm"}, {"winogrande", "acc"}, {"arc_challenge", "acc_norm"}, {"arc_easy", "acc"}, {"headqa_en", "acc_norm"}, {"openbookqa", "acc_norm"}, {"sciq", "acc"}, {"triviaqa", "acc"}, {"record", "em"}, {"copa", "acc"}}
	for name, want := range map[string][]float64{
		"rwkv4-pile-169m":        {29.33, 32.99, 65.07, 58.79, 32.26, 50.83, 24.15, 47.47, 25.78, 29.60, 77.50, 1.26, 62.03, 66.00},
		"rwkv4-pile-14b":         {3.86, 70.83, 77.48, 76.06, 70.65, 63.85, 38.99, 70.24, 32.64, 41.80, 90.40, 24.58, 85.67, 85.00},
		"rwkv-paper-pythia-160m": {24.38, 38.97, 62.68, 58.47, 31.63, 52.01, 23.81, 45.12, 25.82, 29.20, 76.50, 1.31, 66.32, 62.00},
	} {
		for i, c := range paperCols {
			m := metricOf(t, files[name], c[0], c[1])
			scale := 100.0
			if i == 0 {
				scale = 1
			}
			if math.Abs(m.Value*scale-want[i]) > 1e-9 {
				t.Errorf("%s %s %s = %v, paper %v", name, c[0], c[1], m.Value, want[i])
			}
		}
	}
	// The derived stderr of a paper accuracy is the harness formula.
	if m := metricOf(t, files["rwkv4-pile-169m"], "piqa", "acc"); math.Abs(m.Stderr-math.Sqrt(0.6507*0.3493/1837)) > 1e-15 {
		t.Errorf("piqa stderr %v", m.Stderr)
	}

	// Out of the box: compare a run against them.
	out, errOut, code := run(t, "compare-results", testutil.Testdata("results", "v04-example.json"), filepath.Join(dir, "rwkv4-pile-169m.json"), filepath.Join(dir, "pythia-160m.json"))
	if code != 0 || !strings.Contains(out, "| lambada_openai | ppl") || !strings.Contains(out, "38.0649 ± 1.4364") {
		t.Errorf("exit %d %s\n%s", code, errOut, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Error(err)
	}
}

func decimals(col int) float64 {
	if col == 0 {
		return 4
	}
	return 2
}

func metricOf(t *testing.T, f *results.File, task, metric string) results.Metric {
	t.Helper()
	if f == nil {
		t.Fatal("missing baseline file")
	}
	tk := f.Task(task)
	if tk == nil {
		t.Fatalf("%s: no task %s", f.Path, task)
	}
	m, ok := tk.Metric(metric)
	if !ok {
		t.Fatalf("%s: no %s %s", f.Path, task, metric)
	}
	return m
}
