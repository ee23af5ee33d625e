package results

import (
	"math"
	"os"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

func mustRead(t *testing.T, name string) *File {
	t.Helper()
	f, err := Read(testutil.Testdata("results", name))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func metric(t *testing.T, f *File, task, name string) Metric {
	t.Helper()
	tk := f.Task(task)
	if tk == nil {
		t.Fatalf("%s: no task %s", f.Path, task)
	}
	m, ok := tk.Metric(name)
	if !ok {
		t.Fatalf("%s: task %s has no metric %s (has %+v)", f.Path, task, name, tk.Metrics)
	}
	return m
}

// Pythia's published file: the harness v0.3 layout (EVAL-SPEC §4.2).
func TestReadPythiaV03(t *testing.T) {
	f := mustRead(t, "pythia-160m_step143000.json")
	if f.Schema != HarnessV03 || f.Protocol != "harness-v0.3" || !f.ProtocolInferred {
		t.Errorf("schema %q protocol %q inferred %v", f.Schema, f.Protocol, f.ProtocolInferred)
	}
	if f.ModelName != "EleutherAI/pythia-v1.1-160m@step143000" || f.NumFewshot != 0 || f.Limit != 0 {
		t.Errorf("model %q fewshot %d limit %v", f.ModelName, f.NumFewshot, f.Limit)
	}
	if len(f.Tasks) != 87 {
		t.Errorf("%d tasks, want 87", len(f.Tasks))
	}
	ppl := metric(t, f, "lambada_openai", "ppl")
	if ppl.Value != 38.064877017771195 || ppl.Stderr != 1.4363799633211518 || ppl.Better != LowerIsBetter || ppl.Key != "ppl" {
		t.Errorf("lambada ppl %+v", ppl)
	}
	// EVAL-SPEC §2.3's check value.
	acc := metric(t, f, "arc_challenge", "acc")
	if acc.Value != 0.18771331058020477 || acc.Stderr != 0.011411001314155123 || acc.Better != HigherIsBetter {
		t.Errorf("arc_challenge acc %+v", acc)
	}
	tk := f.Task("lambada_openai")
	if tk.Version != "0" || tk.N != 0 || len(tk.Metrics) != 2 || tk.Metrics[0].Name != "ppl" || tk.Metrics[1].Name != "acc" {
		t.Errorf("lambada task %+v", tk)
	}
	// Metrics without a known direction keep UnknownDirection... except the
	// ones the table knows.
	if d := metric(t, f, "crows_pairs_english", "pct_stereotype").Better; d != UnknownDirection {
		t.Errorf("pct_stereotype direction %v", d)
	}
}

func TestReadV04(t *testing.T) {
	f := mustRead(t, "v04-example.json")
	if f.Schema != HarnessV04 || f.Protocol != "harness-v0.4" || !f.ProtocolInferred {
		t.Errorf("schema %q protocol %q", f.Schema, f.Protocol)
	}
	if f.ModelName != "RWKV/rwkv-4-169m-pile" || f.NumFewshot != 0 {
		t.Errorf("model %q fewshot %d", f.ModelName, f.NumFewshot)
	}
	ppl := metric(t, f, "lambada_openai", "ppl")
	if ppl.Key != "perplexity,none" || ppl.Value != 29.33 || ppl.HasStderr() || ppl.Better != LowerIsBetter {
		t.Errorf("ppl %+v", ppl)
	}
	tk := f.Task("piqa")
	if tk.N != 1838 || tk.Version != "1.0" || tk.Alias != "piqa" || tk.Group {
		t.Errorf("piqa %+v", tk)
	}
}

func TestReadShapes(t *testing.T) {
	cases := []struct {
		name  string
		json  string
		check func(t *testing.T, f *File)
	}{
		{"python NaN and Infinity", `{"results": {"lambada_openai": {"perplexity,none": NaN, "perplexity_stderr,none": NaN, "acc,none": 0.0, "acc_stderr,none": Infinity, "alias": "lambada_openai"}}}`,
			func(t *testing.T, f *File) {
				m, _ := f.Task("lambada_openai").Metric("ppl")
				if !math.IsNaN(m.Value) || m.HasStderr() {
					t.Errorf("%+v", m)
				}
				if m, _ := f.Task("lambada_openai").Metric("acc"); m.HasStderr() || m.Value != 0 {
					t.Errorf("%+v", m)
				}
			}},
		{"NaN inside a string stays", `{"results": {"t": {"alias": "NaN Infinity \"NaN\"", "acc": 0.5}}}`,
			func(t *testing.T, f *File) {
				if a := f.Task("t").Alias; a != `NaN Infinity "NaN"` {
					t.Errorf("alias %q", a)
				}
			}},
		{"filters other than none are kept", `{"results": {"gsm8k": {"exact_match,strict-match": 0.1, "exact_match_stderr,strict-match": 0.01, "exact_match,flexible-extract": 0.2}}}`,
			func(t *testing.T, f *File) {
				tk := f.Task("gsm8k")
				if len(tk.Metrics) != 2 || tk.Metrics[0].Name != "exact_match,flexible-extract" || tk.Metrics[1].Stderr != 0.01 || tk.Metrics[1].Better != HigherIsBetter {
					t.Errorf("%+v", tk.Metrics)
				}
				if f.Schema != HarnessV04 {
					t.Errorf("schema %s", f.Schema)
				}
			}},
		{"groups", `{"results": {"ai2_arc": {"acc,none": 0.4, "alias": "ai2_arc"}, "arc_easy": {"acc,none": 0.5, "alias": " - arc_easy"}}, "group_subtasks": {"ai2_arc": ["arc_easy"], "arc_easy": []}, "higher_is_better": {"ai2_arc": {"acc": false}}}`,
			func(t *testing.T, f *File) {
				if !f.Task("ai2_arc").Group || f.Task("arc_easy").Group {
					t.Error("group flags")
				}
				if m, _ := f.Task("ai2_arc").Metric("acc"); m.Better != LowerIsBetter {
					t.Errorf("higher_is_better not honoured: %+v", m)
				}
			}},
		{"rwkv-tools provenance", `{"results": {"piqa": {"acc,none": 0.6}}, "rwkv_tools": {"tool_version": "v0.1.0", "protocol": "harness-v0.3", "tokenizer": "gpt-neox-20b", "model": "rwkv4-169m.gguf", "model_sha256": "ab"}, "config": {"limit": 300, "num_fewshot": 0}}`,
			func(t *testing.T, f *File) {
				if f.Protocol != "harness-v0.3" || f.ProtocolInferred || f.Tokenizer != "gpt-neox-20b" || f.ModelName != "rwkv4-169m.gguf" || f.ModelSHA256 != "ab" || f.Limit != 300 {
					t.Errorf("%+v", f)
				}
			}},
		{"rwkv-tools eval file", `{"results": {"lambada_openai": {"ppl": 12.5, "ppl_stderr": null, "acc": 0.4, "acc_stderr": 0.03}}, "versions": {"lambada_openai": 0}, "n-samples": {"lambada_openai": {"original": 5153, "effective": 300}}, "config": {"model": "rwkv-tools", "model_args": "tiny.gguf", "model_sha256": "cd", "num_fewshot": 0, "limit": 300, "protocol": "harness-v0.3", "pad_token": [187], "tokenizer": "gpt-neox-20b", "tool_version": "devel", "wall_time_seconds": 1.5}}`,
			func(t *testing.T, f *File) {
				if f.Schema != HarnessV03 || f.Protocol != "harness-v0.3" || f.ProtocolInferred || f.Tokenizer != "gpt-neox-20b" || f.ModelName != "tiny.gguf" || f.ModelSHA256 != "cd" || f.ToolVersion != "devel" || f.Limit != 300 {
					t.Errorf("%+v", f)
				}
				tk := f.Task("lambada_openai")
				if len(f.PadToken) != 1 || f.PadToken[0] != 187 {
					t.Errorf("pad %v", f.PadToken)
				}
				if tk.N != 300 || tk.Metrics[0].HasStderr() || tk.Metrics[1].Stderr != 0.03 {
					t.Errorf("%+v", tk)
				}
			}},
		{"baseline source", `{"results": {"piqa": {"acc": 0.6}}, "source": "paper table 3"}`,
			func(t *testing.T, f *File) {
				if f.Source != "paper table 3" || f.Protocol != "harness-v0.3" {
					t.Errorf("%+v", f)
				}
			}},
		{"null is NaN; a group with only an alias is skipped", `{"results": {"mmlu_humanities": {"alias": " - humanities"}, "piqa": {"acc": null, "acc_stderr": null}}}`,
			func(t *testing.T, f *File) {
				if len(f.Tasks) != 1 || !math.IsNaN(f.Tasks[0].Metrics[0].Value) || f.Tasks[0].Metrics[0].HasStderr() {
					t.Errorf("%+v", f.Tasks)
				}
			}},
		{"BOM and stderr without metric", "\xef\xbb\xbf" + `{"results": {"piqa": {"acc": 0.6, "acc_norm_stderr": 0.1}}}`,
			func(t *testing.T, f *File) {
				if len(f.Task("piqa").Metrics) != 1 {
					t.Errorf("%+v", f.Task("piqa"))
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Parse([]byte(c.json), "x.json")
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, f)
		})
	}
}

func TestReadMalformed(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"empty", ``, "not a JSON object"},
		{"truncated", "{\"results\": {\"piqa\":\n {\"acc\": 0.6", "line 2"},
		{"array", `[1, 2]`, "not a JSON object"},
		{"no results", `{"config": {}}`, `no "results" object`},
		{"empty results", `{"results": {}}`, `"results" is empty`},
		{"results not object", `{"results": [1]}`, `"results" must map task names`},
		{"task not object", `{"results": {"piqa": 0.6}}`, `"results" must map task names`},
		{"no metric values", `{"results": {"piqa": {"alias": "piqa", "acc": "N/A"}}}`, `"results" holds no metric values`},
		{"negative stderr", `{"results": {"piqa": {"acc": 0.6, "acc_stderr": -0.1}}}`, "cannot be negative"},
		{"number out of range", `{"results": {"piqa": {"acc": 1e999}}}`, "out of range"},
		{"alias not string", `{"results": {"piqa": {"acc": 0.6, "alias": 3}}}`, `"alias" must be a string`},
		{"versions wrong", `{"results": {"piqa": {"acc": 0.6}}, "versions": {"piqa": [1]}}`, `"versions"["piqa"]`},
		{"versions not object", `{"results": {"piqa": {"acc": 0.6}}, "versions": 3}`, `"versions" must map`},
		{"n-samples negative", `{"results": {"piqa": {"acc": 0.6}}, "n-samples": {"piqa": {"effective": -1}}}`, "document count"},
		{"n-samples fraction", `{"results": {"piqa": {"acc": 0.6}}, "n-samples": {"piqa": {"original": 1.5}}}`, "document count"},
		{"n-samples huge", `{"results": {"piqa": {"acc": 0.6}}, "n-samples": {"piqa": {"original": 1e12}}}`, "document count"},
		{"higher_is_better wrong", `{"results": {"piqa": {"acc": 0.6}}, "higher_is_better": {"piqa": {"acc": "yes"}}}`, `"higher_is_better"`},
		{"config not object", `{"results": {"piqa": {"acc": 0.6}}, "config": "x"}`, `"config" must be an object`},
		{"negative limit", `{"results": {"piqa": {"acc": 0.6}}, "config": {"limit": -3}}`, `"config.limit"`},
		{"pad token wrong", `{"results": {"piqa": {"acc": 0.6}}, "config": {"pad_token": "x"}}`, `"config.pad_token" must be a list`},
		{"config protocol wrong", `{"results": {"piqa": {"acc": 0.6}}, "config": {"protocol": 3}}`, `"config.protocol" must be a string`},
		{"provenance wrong", `{"results": {"piqa": {"acc": 0.6}}, "rwkv_tools": {"protocol": 3}}`, `"rwkv_tools" must be an object`},
		{"groups wrong", `{"results": {"piqa": {"acc": 0.6}}, "groups": [1]}`, `"groups" must be an object`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.json), "bad.json")
			if err == nil {
				t.Fatalf("accepted %s", c.json)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "bad.json: ") {
				t.Errorf("error %q, want it to name the file and contain %q", err, c.want)
			}
		})
	}
}

func TestReadLimits(t *testing.T) {
	if _, err := Read(t.TempDir() + "/missing.json"); err == nil || !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParse: any input either parses into a consistent File or fails with
// an error naming the file; never a panic.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"pythia-160m_step143000.json", "v04-example.json"} {
		b, err := os.ReadFile(testutil.Testdata("results", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"results": {"lambada_openai": {"perplexity,none": NaN, "acc,none": -Infinity, "alias": "x"}}, "n-samples": {"lambada_openai": {"effective": 3}}}`))
	f.Add([]byte(`{"results": {"a": {"acc": 1}}, "rwkv_tools": {"protocol": "harness-v0.3"}, "config": {"limit": 5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data, "fuzz.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json: ") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if len(file.Tasks) == 0 {
			t.Fatal("parsed a file without tasks")
		}
		for i, tk := range file.Tasks {
			if i > 0 && file.Tasks[i-1].Name >= tk.Name {
				t.Fatal("tasks not sorted and unique")
			}
			if len(tk.Metrics) == 0 || tk.N < 0 {
				t.Fatalf("task %+v", tk)
			}
			if file.Task(tk.Name) != &file.Tasks[i] {
				t.Fatal("Task lookup")
			}
			for _, m := range tk.Metrics {
				if m.Stderr < 0 {
					t.Fatalf("negative stderr %+v", m)
				}
			}
		}
	})
}
