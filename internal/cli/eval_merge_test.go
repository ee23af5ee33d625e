package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/eval"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// evalDir runs eval on the tiny v4 model into a new directory.
func evalDir(t *testing.T, model, data, shard string, limit int) string {
	t.Helper()
	dir := t.TempDir()
	err := runEval(context.Background(), &evalOptions{IO: &IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Model: model,
		Tasks: []string{"lambada_openai", "piqa"}, DataDir: data, Limit: limit, Threads: 2, BootstrapIters: 1000,
		Quiet: true, Output: dir, LogSamples: true, Shard: shard, Protocol: "harness-v0.3"})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// A 3-way sharded LAMBADA + PIQA run on the tiny reference model, merged,
// equals the single run exactly: every metric and stderr (LAMBADA's
// bootstrap too), n-samples, versions, config (but wall time), and the
// samples files byte for byte. Missing, duplicated or foreign shards and
// gaps are refused.
func TestEvalShardMerge(t *testing.T) {
	model := tinyV4GGUF(t)
	data := testutil.Shared(t, "data")
	const limit = 31 // 10 + 10 + 11 documents per task: uneven shards
	single := evalDir(t, model, data, "", limit)
	shards := []string{evalDir(t, model, data, "0/3", limit), "", evalDir(t, model, data, "2/3", limit)}
	t.Setenv("RWKV_TOOLS_SHARD", "1/3") // --shard auto, as under a GitHub Actions matrix
	shards[1] = evalDir(t, model, data, "auto", limit)

	merged := filepath.Join(t.TempDir(), "merged")
	// Shards given in any order.
	out, errOut, code := run(t, "eval", "merge", shards[2], shards[0], shards[1], "-o", merged)
	if code != 0 {
		t.Fatalf("merge: exit %d %s", code, errOut)
	}
	if !strings.Contains(out, "lambada_openai") || !strings.Contains(out, "piqa") {
		t.Errorf("merge table:\n%s", out)
	}
	want, err := eval.ReadResults(filepath.Join(single, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := eval.ReadResults(filepath.Join(merged, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	for task, metrics := range want.Results {
		for name, v := range metrics {
			g := got.Results[task][name]
			if !(g == v || (g != g && v != v)) {
				t.Errorf("%s %s: merged %v, single run %v", task, name, g, v)
			}
		}
		t.Logf("%s: single %v, merged %v", task, metrics, got.Results[task])
	}
	want.Config.WallTimeSeconds, got.Config.WallTimeSeconds = 0, 0
	if !reflect.DeepEqual(want.Results, got.Results) || !reflect.DeepEqual(want.NSamples, got.NSamples) ||
		!reflect.DeepEqual(want.Versions, got.Versions) || !reflect.DeepEqual(want.Config, got.Config) {
		t.Errorf("merged results.json differs:\n%+v\n%+v", want, got)
	}
	for _, task := range []string{"lambada_openai", "piqa"} {
		a, _ := os.ReadFile(filepath.Join(single, "samples_"+task+".jsonl"))
		b, _ := os.ReadFile(filepath.Join(merged, "samples_"+task+".jsonl"))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s: merged samples differ from the single run's (%d vs %d bytes)", task, len(b), len(a))
		}
	}
	// check agrees: the merged file passes against the single run's.
	if _, e, code := run(t, "check", filepath.Join(merged, "results.json"), "--baseline", filepath.Join(single, "results.json"), "--max-ppl-increase", "0%", "--max-acc-drop", "0"); code != 0 {
		t.Errorf("check merged vs single: %d %s", code, e)
	}

	// Refusals.
	edited := func(src string, edit func(f *eval.ResultsFile)) string {
		dir := t.TempDir()
		for _, name := range []string{"samples_lambada_openai.jsonl", "samples_piqa.jsonl"} {
			b, _ := os.ReadFile(filepath.Join(src, name))
			os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		f, err := eval.ReadResults(filepath.Join(src, "results.json"))
		if err != nil {
			t.Fatal(err)
		}
		edit(f)
		if err := eval.WriteResults(filepath.Join(dir, "results.json"), f); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	gap := edited(shards[1], func(*eval.ResultsFile) {})
	b, _ := os.ReadFile(filepath.Join(gap, "samples_piqa.jsonl"))
	lines := bytes.SplitAfter(b, []byte("\n"))
	os.WriteFile(filepath.Join(gap, "samples_piqa.jsonl"), bytes.Join(append(lines[:3:3], lines[4:]...), nil), 0o644)
	dup := edited(shards[1], func(*eval.ResultsFile) {})
	os.WriteFile(filepath.Join(dup, "samples_piqa.jsonl"), append(b, lines[0]...), 0o644)

	for _, c := range []struct {
		dirs []string
		want string
	}{
		{[]string{shards[0], shards[1]}, "shard 2/3 missing"},
		{[]string{shards[0], shards[1], shards[1], shards[2]}, "shard 1/3 is given twice"},
		{[]string{shards[0], single, shards[2]}, "not the output of a sharded run"},
		{[]string{shards[0], edited(shards[1], func(f *eval.ResultsFile) { f.Config.Protocol = "harness-v0.4" }), shards[2]}, "differ in protocol"},
		{[]string{shards[0], edited(shards[1], func(f *eval.ResultsFile) { f.Config.ModelSHA256 = "00" }), shards[2]}, "differ in model_sha256"},
		{[]string{shards[0], edited(shards[1], func(f *eval.ResultsFile) { f.Config.Shard = "1/4" }), shards[2]}, "different splits"},
		{[]string{shards[0], gap, shards[2]}, "lacks documents 13"},
		{[]string{shards[0], dup, shards[2]}, "appears twice"},
		{[]string{shards[0], edited(shards[1], func(f *eval.ResultsFile) { f.Config.Shard = "0/3" }), shards[2]}, "given twice"},
	} {
		_, errOut, code := run(t, append([]string{"eval", "merge", "-o", t.TempDir()}, c.dirs...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("merge %v: exit %d, %q; want refusal with %q", c.dirs, code, errOut, c.want)
		}
	}
	// A shard without samples cannot be merged; --shard requires them.
	err = runEval(context.Background(), &evalOptions{IO: &IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Model: model,
		Tasks: []string{"piqa"}, DataDir: data, Limit: 3, Shard: "0/2", Output: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "--log-samples") {
		t.Errorf("--shard without --log-samples: %v", err)
	}
	if err := runEval(context.Background(), &evalOptions{IO: &IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}, Model: model,
		Tasks: []string{"ppl"}, Text: "x", Shard: "0/2"}); err == nil || !strings.Contains(err.Error(), "--shard") {
		t.Errorf("--shard with ppl: %v", err)
	}
	var rep map[string]any
	out, _, _ = run(t, "eval", "merge", shards[0], shards[1], shards[2], "-o", t.TempDir(), "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep["results"] == nil {
		t.Errorf("--json: %v %s", err, out)
	}
}
