package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// shardFixture is one shard of a lambada_openai run over total documents:
// its results.json and samples lines (per-document ll and greedy flag).
func shardFixture(idx, count, total int) ([]byte, []byte) {
	lo, hi := Shard{idx, count}.Range(total)
	var samples bytes.Buffer
	for id := lo; id < hi; id++ {
		fmt.Fprintf(&samples, `{"doc_id":%d,"doc":{"text":"w%d"},"target":" w","arguments":[["c"," w"]],"resps":[[[%g,false]]],"filtered_resps":[[%g,false]],"acc":%d,"ppl":%g}`+"\n",
			id, id, -float64(id%7)-0.5, -float64(id%7)-0.5, id%2, -float64(id%7)-0.5)
	}
	res := fmt.Sprintf(`{"results":{"lambada_openai":{"ppl":1,"acc":0}},"versions":{"lambada_openai":0},"n-samples":{"lambada_openai":{"original":%d,"effective":%d}},"config":{"model":"rwkv-tools","model_args":"m.gguf","model_sha256":"ab","num_fewshot":0,"limit":null,"bootstrap_iters":100,"protocol":"harness-v0.3","pad_token":[187],"tokenizer":"gpt2-bpe","tool_version":"t","shard":"%d/%d"}}`,
		total, hi-lo, idx, count)
	return []byte(res), samples.Bytes()
}

// parseShard builds a ShardRun from the bytes of results.json and samples.
func parseShard(name string, res, samples []byte) (ShardRun, error) {
	var f ResultsFile
	if err := json.Unmarshal(res, &f); err != nil {
		return ShardRun{}, err
	}
	run := ShardRun{Name: name, Results: &f, Samples: map[string][]ShardSample{}}
	for task := range f.Results {
		var ss []ShardSample
		for i, line := range bytes.Split(samples, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			var s Sample
			if err := json.Unmarshal(line, &s); err != nil {
				return ShardRun{}, err
			}
			ss = append(ss, ShardSample{Line: i + 1, Raw: line, Sample: s})
		}
		run.Samples[task] = ss
	}
	return run, nil
}

func TestMergeShardsSynthetic(t *testing.T) {
	var runs []ShardRun
	for i := range 3 {
		res, samples := shardFixture(i, 3, 20)
		r, err := parseShard(fmt.Sprint("s", i), res, samples)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	m, err := MergeShards(context.Background(), []ShardRun{runs[1], runs[2], runs[0]})
	if err != nil {
		t.Fatal(err)
	}
	one, samples := shardFixture(0, 1, 20)
	single, _ := parseShard("single", one, samples)
	var docs []DocResult
	for _, s := range single.Samples["lambada_openai"] {
		docs = append(docs, DocResult{Metrics: s.Sample.Metrics})
	}
	want, _ := Aggregate(context.Background(), m.Tasks[0].Task, docs, 100)
	for i, mt := range m.Tasks[0].Metrics {
		if mt != want[i] {
			t.Errorf("%s: merged %+v, single %+v", mt.Name, mt, want[i])
		}
	}
	if got := bytes.Join(m.Samples["lambada_openai"], []byte("\n")); !bytes.Equal(append(got, '\n'), samples) {
		t.Error("merged samples differ from the single run's")
	}
	if n := m.Results.NSamples["lambada_openai"]; n.Effective != 20 || m.Results.Config.Shard != "" {
		t.Errorf("%+v %+v", n, m.Results.Config)
	}

	// A results file claiming more documents than the samples hold is a gap,
	// refused before anything is allocated for the claim.
	res, smp := shardFixture(0, 1, 20)
	huge, _ := parseShard("huge", bytes.Replace(res, []byte(`"original":20`), []byte(`"original":2000000000000`), 1), smp)
	if _, err := MergeShards(context.Background(), []ShardRun{huge}); err == nil || !strings.Contains(err.Error(), "says 2000000000000 lambada_openai documents") {
		t.Errorf("huge count: %v", err)
	}
	iters, _ := parseShard("iters", bytes.Replace(res, []byte(`"bootstrap_iters":100`), []byte(`"bootstrap_iters":1000000000000`), 1), smp)
	if _, err := MergeShards(context.Background(), []ShardRun{iters}); err == nil || !strings.Contains(err.Error(), "bootstrap_iters") {
		t.Errorf("huge bootstrap_iters: %v", err)
	}
}

// FuzzMergeShards: a two-shard merge with one shard's results.json and
// samples fuzzed either fails with an error or yields full coverage; never
// a panic.
func FuzzMergeShards(f *testing.F) {
	res, samples := shardFixture(1, 2, 9)
	f.Add(res, samples)
	f.Add(res, append(samples, samples...))
	r2, s2 := shardFixture(1, 2, 7)
	f.Add(r2, s2)
	goodRes, goodSamples := shardFixture(0, 2, 9)
	good, err := parseShard("good", goodRes, goodSamples)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, res, samples []byte) {
		other, err := parseShard("fuzz", res, samples)
		if err != nil {
			return
		}
		m, err := MergeShards(context.Background(), []ShardRun{good, other})
		if err != nil {
			return
		}
		for name, lines := range m.Samples {
			if len(lines) != m.Results.NSamples[name].Effective {
				t.Fatalf("%s: %d lines, effective %d", name, len(lines), m.Results.NSamples[name].Effective)
			}
			for i, l := range lines {
				if l == nil {
					t.Fatalf("%s: document %d missing after a successful merge", name, i)
				}
			}
		}
	})
}
