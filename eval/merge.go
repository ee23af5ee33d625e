package eval

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/eval/task"
)

// ShardRun is one shard's output read back: its results file and, per
// task, the lines of its samples file.
type ShardRun struct {
	Name    string // the shard's directory, for messages
	Results *ResultsFile
	Samples map[string][]ShardSample
}

// ShardSample is one samples line: as written (copied unchanged into the
// merged file) and parsed.
type ShardSample struct {
	Line   int // 1-based line number, for messages
	Raw    []byte
	Sample Sample
}

// Merged is the single-run equivalent of a set of shards.
type Merged struct {
	Results *ResultsFile
	Tasks   []*Result           // in task name order; Docs carry only the doc ID and per-document metrics
	Samples map[string][][]byte // task -> samples lines in document order
}

// maxMergeBootstrap bounds the bootstrap resamples a results file can ask
// the merge for (the harness default is 100000; each costs memory).
const maxMergeBootstrap = 10_000_000

// MergeShards combines the outputs of `eval --shard i/n` runs into the
// result of one unsharded run: every shard of the same n exactly once,
// the same model file (sha256), protocol, pad token, tokenizer, limit,
// bootstrap iterations, tool version and tasks; each task's documents
// covered with neither gap nor overlap. The metrics and stderrs are
// recomputed from the per-document values in the samples, in document
// order, with the same Aggregate as a single run, so they equal its
// numbers exactly.
func MergeShards(ctx context.Context, runs []ShardRun) (*Merged, error) {
	if len(runs) == 0 {
		return nil, fmt.Errorf("no shard outputs to merge")
	}
	shards := make([]Shard, len(runs))
	for i, r := range runs {
		if r.Results.Config.Shard == "" {
			return nil, fmt.Errorf("%s: not the output of a sharded run (its results.json has no config.shard); only `eval --shard i/n` outputs can be merged", r.Name)
		}
		s, err := ParseShard(r.Results.Config.Shard)
		if err != nil {
			return nil, fmt.Errorf("%s: results.json config.shard: %w", r.Name, err)
		}
		shards[i] = s
	}
	n := shards[0].Count
	byIndex := make([]int, n)
	for i := range byIndex {
		byIndex[i] = -1
	}
	for i, s := range shards {
		if s.Count != n {
			return nil, fmt.Errorf("%s is shard %s but %s is shard %s: shards of different splits cannot be merged", runs[i].Name, s, runs[0].Name, shards[0])
		}
		if j := byIndex[s.Index]; j >= 0 {
			return nil, fmt.Errorf("shard %s is given twice (%s and %s): each shard must be merged exactly once", s, runs[j].Name, runs[i].Name)
		}
		byIndex[s.Index] = i
	}
	var missing []string
	for idx, j := range byIndex {
		if j < 0 {
			missing = append(missing, fmt.Sprintf("%d/%d", idx, n))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("shard %s missing: a merge needs all %d shards (got %d)", strings.Join(missing, ", "), n, len(runs))
	}
	ordered := make([]ShardRun, n)
	for idx, j := range byIndex {
		ordered[idx] = runs[j]
	}
	if err := sameRun(ordered); err != nil {
		return nil, err
	}
	if b := ordered[0].Results.Config.BootstrapIters; b < 0 || b > maxMergeBootstrap {
		return nil, fmt.Errorf("%s: bootstrap_iters %d outside 0..%d", ordered[0].Name, b, maxMergeBootstrap)
	}

	first := ordered[0].Results
	names := make([]string, 0, len(first.Results))
	for name := range first.Results {
		names = append(names, name)
	}
	sort.Strings(names)
	cfg := first.Config
	cfg.Shard, cfg.WallTimeSeconds = "", 0
	for _, r := range ordered {
		cfg.WallTimeSeconds += r.Results.Config.WallTimeSeconds
	}
	out := &Merged{Results: &ResultsFile{Config: cfg}, Samples: map[string][][]byte{}}
	for _, name := range names {
		res, lines, err := mergeTask(ctx, name, ordered)
		if err != nil {
			return nil, err
		}
		out.Tasks = append(out.Tasks, res)
		out.Samples[name] = lines
		out.Results.AddResult(res, first.NSamples[name].Original)
	}
	return out, nil
}

// sameRun refuses shards of different runs: everything in config but the
// shard, the model path as typed and the wall time must agree, and so must
// the task lists.
func sameRun(runs []ShardRun) error {
	norm := func(c RunConfig) RunConfig {
		c.Shard, c.ModelArgs, c.WallTimeSeconds = "", "", 0
		return c
	}
	a := runs[0]
	ca := norm(a.Results.Config)
	for _, b := range runs[1:] {
		cb := norm(b.Results.Config)
		va, vb := reflect.ValueOf(ca), reflect.ValueOf(cb)
		for i := range va.NumField() {
			if !reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
				key := strings.Split(reflect.TypeOf(ca).Field(i).Tag.Get("json"), ",")[0]
				return fmt.Errorf("%s and %s differ in %s (%v vs %v): shards of different models, protocols or settings cannot be merged", a.Name, b.Name, key, show(va.Field(i)), show(vb.Field(i)))
			}
		}
		if ta, tb := taskList(a.Results), taskList(b.Results); ta != tb {
			return fmt.Errorf("%s has tasks %s but %s has %s: every shard must run the same tasks", a.Name, ta, b.Name, tb)
		}
		for name, v := range a.Results.Versions {
			if b.Results.Versions[name] != v {
				return fmt.Errorf("%s and %s differ in the version of task %s (%d vs %d)", a.Name, b.Name, name, v, b.Results.Versions[name])
			}
			if oa, ob := a.Results.NSamples[name].Original, b.Results.NSamples[name].Original; oa != ob {
				return fmt.Errorf("%s and %s differ in the number of %s documents (%d vs %d): different data files", a.Name, b.Name, name, oa, ob)
			}
		}
	}
	return nil
}

func show(v reflect.Value) any {
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "none"
		}
		return v.Elem().Interface()
	}
	return v.Interface()
}

func taskList(f *ResultsFile) string {
	names := make([]string, 0, len(f.Results))
	for n := range f.Results {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

// mergeTask checks one task's coverage and recomputes its metrics.
func mergeTask(ctx context.Context, name string, runs []ShardRun) (*Result, [][]byte, error) {
	t, err := task.Lookup(name)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", runs[0].Name, err)
	}
	if v := runs[0].Results.Versions[name]; v != t.Version {
		return nil, nil, fmt.Errorf("%s: task %s version %d, this build's is %d: merge with the rwkv-tools that ran the shards", runs[0].Name, name, v, t.Version)
	}
	first := runs[0].Results
	total := first.NSamples[name].Original
	if l := first.Config.Limit; l != nil && *l > 0 && *l < total {
		total = *l
	}
	if total < 0 || total > 1<<31 {
		return nil, nil, fmt.Errorf("%s: results.json says %d %s documents", runs[0].Name, total, name)
	}
	// total comes from a file: every shard's samples are checked against
	// its slice before anything is allocated for it (then total equals the
	// number of lines read).
	for idx, r := range runs {
		sh := Shard{Index: idx, Count: len(runs)}
		lo, hi := sh.Range(total)
		samples, ok := r.Samples[name]
		if !ok {
			return nil, nil, fmt.Errorf("%s: no samples for task %s (samples_%s.jsonl); run the shards with --log-samples", r.Name, name, name)
		}
		if eff := r.Results.NSamples[name].Effective; eff != hi-lo {
			return nil, nil, fmt.Errorf("%s: shard %s scored %d %s documents, the split gives it %d (documents %d..%d of %d)", r.Name, sh, eff, name, hi-lo, lo, hi-1, total)
		}
		seen := make(map[int]bool, len(samples))
		ids := make([]int, 0, len(samples))
		for _, s := range samples {
			id := s.Sample.DocID
			if id < lo || id >= hi {
				return nil, nil, fmt.Errorf("%s: samples_%s.jsonl:%d: document %d is outside shard %s's documents %d..%d: shards overlap or come from a different split", r.Name, name, s.Line, id, sh, lo, hi-1)
			}
			if seen[id] {
				return nil, nil, fmt.Errorf("%s: samples_%s.jsonl:%d: document %d appears twice", r.Name, name, s.Line, id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		if len(ids) != hi-lo {
			sort.Ints(ids)
			return nil, nil, fmt.Errorf("%s: samples_%s.jsonl lacks documents %s of shard %s: a gap (was the shard interrupted?)", r.Name, name, missingIDs(ids, lo, hi, 10), sh)
		}
	}
	docs := make([]DocResult, total)
	out := make([][]byte, total)
	for _, r := range runs {
		for _, s := range r.Samples[name] {
			docs[s.Sample.DocID] = DocResult{Doc: task.Doc{ID: s.Sample.DocID}, Metrics: s.Sample.Metrics}
			out[s.Sample.DocID] = s.Raw
		}
	}
	metrics, err := Aggregate(ctx, t, docs, first.Config.BootstrapIters)
	if err != nil {
		return nil, nil, err
	}
	return &Result{Task: t, Protocol: task.Protocol(first.Config.Protocol), Docs: docs, Metrics: metrics}, out, nil
}

// missingIDs lists up to max of the ids in [lo, hi) absent from sorted ids.
func missingIDs(ids []int, lo, hi, max int) string {
	var miss []string
	next := lo
	for _, id := range append(ids, hi) {
		for ; next < id && len(miss) < max; next++ {
			miss = append(miss, fmt.Sprint(next))
		}
		if len(miss) == max {
			return strings.Join(miss, ", ") + ", …"
		}
		next = id + 1
	}
	return strings.Join(miss, ", ")
}
