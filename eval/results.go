package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"

	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
)

// Number is a float64 that marshals NaN and ±Inf as JSON null (a skipped
// stderr) and reads null back as NaN.
type Number float64

func (n Number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(f)
}

func (n *Number) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = Number(math.NaN())
		return nil
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*n = Number(f)
	return nil
}

// ResultsFile is lm-evaluation-harness' results JSON: "results" maps a task
// to its metrics and "<metric>_stderr" values (the v0.3 key names: "ppl",
// "acc", "acc_norm", "em", "f1"), "versions" the task versions, "config"
// the run's settings; rwkv-tools adds the model's sha256, the protocol,
// pad token, tokenizer, tool version and wall time to "config", and
// "n-samples" (as v0.4) the documents scored per task.
type ResultsFile struct {
	Results  map[string]map[string]Number `json:"results"`
	Versions map[string]int               `json:"versions"`
	NSamples map[string]NSamples          `json:"n-samples"`
	Config   RunConfig                    `json:"config"`
}

// NSamples counts a task's documents: all of them, and those scored
// (fewer under --limit).
type NSamples struct {
	Original  int `json:"original"`
	Effective int `json:"effective"`
}

// RunConfig is the results file's "config".
type RunConfig struct {
	Model           string  `json:"model"`      // "rwkv-tools"
	ModelArgs       string  `json:"model_args"` // the model file as given
	ModelSHA256     string  `json:"model_sha256"`
	Architecture    string  `json:"architecture"`
	NumFewshot      int     `json:"num_fewshot"`
	BatchSize       *int    `json:"batch_size"`
	Device          string  `json:"device"`
	Limit           *int    `json:"limit"`
	BootstrapIters  int     `json:"bootstrap_iters"`
	Protocol        string  `json:"protocol"`
	PadToken        []int   `json:"pad_token"` // [] when none
	Tokenizer       string  `json:"tokenizer"`
	ToolVersion     string  `json:"tool_version"`
	WallTimeSeconds float64 `json:"wall_time_seconds"`
	Shard           string  `json:"shard,omitempty"` // "i/n" for an `eval --shard` run (see MergeShards)
}

// AddResult records one task's metrics in f.
func (f *ResultsFile) AddResult(r *Result, original int) {
	if f.Results == nil {
		f.Results, f.Versions, f.NSamples = map[string]map[string]Number{}, map[string]int{}, map[string]NSamples{}
	}
	m := map[string]Number{}
	for _, mt := range r.Metrics {
		m[mt.Name] = Number(mt.Value)
		m[mt.Name+"_stderr"] = Number(mt.Stderr)
	}
	f.Results[r.Task.Name] = m
	f.Versions[r.Task.Name] = r.Task.Version
	f.NSamples[r.Task.Name] = NSamples{Original: original, Effective: len(r.Docs)}
}

// WriteResults writes f as indented JSON, atomically.
func WriteResults(path string, f *ResultsFile) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, func(out *os.File) error {
		_, err := out.Write(append(b, '\n'))
		return err
	})
}

// ReadResults reads a results file written by WriteResults.
func ReadResults(path string) (*ResultsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f ResultsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: not a results file: %w", path, err)
	}
	if f.Results == nil {
		return nil, fmt.Errorf(`%s: no "results" object; is it a results file?`, path)
	}
	return &f, nil
}

// Resp is one request's response as the harness' samples record it: the
// JSON pair [ll, is_greedy].
type Resp struct {
	LL     float64
	Greedy bool
}

func (r Resp) MarshalJSON() ([]byte, error) {
	ll, err := json.Marshal(r.LL)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "[%s,%t]", ll, r.Greedy), nil
}

func (r *Resp) UnmarshalJSON(b []byte) error {
	var pair []json.RawMessage
	if err := json.Unmarshal(b, &pair); err != nil || len(pair) != 2 {
		return fmt.Errorf("a response is [ll, is_greedy], got %.40s", b)
	}
	if err := json.Unmarshal(pair[0], &r.LL); err != nil {
		return fmt.Errorf("response ll: %w", err)
	}
	if err := json.Unmarshal(pair[1], &r.Greedy); err != nil {
		return fmt.Errorf("response is_greedy: %w", err)
	}
	return nil
}

// Sample is one line of the harness' samples file (v0.4 log_samples):
// doc_id, doc, target, arguments ([context, continuation] per request),
// resps ([[ll, is_greedy]] per request), filtered_resps ([ll, is_greedy]
// per request), then the per-example metric values as top-level keys.
type Sample struct {
	DocID         int
	Doc           any
	Target        string
	Arguments     [][2]string
	Resps         [][]Resp
	FilteredResps []Resp
	Metrics       map[string]float64
}

type sampleFixed struct {
	DocID         int         `json:"doc_id"`
	Doc           any         `json:"doc"`
	Target        string      `json:"target"`
	Arguments     [][2]string `json:"arguments"`
	Resps         [][]Resp    `json:"resps"`
	FilteredResps []Resp      `json:"filtered_resps"`
}

func (s Sample) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(sampleFixed{s.DocID, s.Doc, s.Target, s.Arguments, s.Resps, s.FilteredResps})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(s.Metrics))
	for k := range s.Metrics {
		names = append(names, k)
	}
	sort.Strings(names)
	b = b[:len(b)-1] // reopen the object
	for _, k := range names {
		v, err := json.Marshal(Number(s.Metrics[k]))
		if err != nil {
			return nil, err
		}
		b = append(b, ',')
		b = strconv.AppendQuote(b, k)
		b = append(append(b, ':'), v...)
	}
	return append(b, '}'), nil
}

func (s *Sample) UnmarshalJSON(b []byte) error {
	var fx sampleFixed
	if err := json.Unmarshal(b, &fx); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	*s = Sample{DocID: fx.DocID, Doc: fx.Doc, Target: fx.Target, Arguments: fx.Arguments, Resps: fx.Resps, FilteredResps: fx.FilteredResps, Metrics: map[string]float64{}}
	for k, raw := range all {
		switch k {
		case "doc_id", "doc", "target", "arguments", "resps", "filtered_resps":
			continue
		}
		var n Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return fmt.Errorf("metric %q: %w", k, err)
		}
		s.Metrics[k] = float64(n)
	}
	return nil
}

// Samples returns a result's documents as samples lines.
func Samples(r *Result) []Sample {
	out := make([]Sample, len(r.Docs))
	for i, d := range r.Docs {
		s := Sample{DocID: d.Doc.ID, Doc: d.Doc.Fields, Target: d.Doc.Target, Metrics: d.Metrics}
		for j, req := range d.Doc.Requests {
			s.Arguments = append(s.Arguments, [2]string{req.Context, req.Continuation})
			resp := Resp{LL: d.Scores[j].LL, Greedy: d.Scores[j].Greedy}
			s.Resps = append(s.Resps, []Resp{resp})
			s.FilteredResps = append(s.FilteredResps, resp)
		}
		out[i] = s
	}
	return out
}

// WriteSamples writes samples as JSONL, atomically.
func WriteSamples(path string, samples []Sample) error {
	return atomicfile.Write(path, func(f *os.File) error {
		w := bufio.NewWriter(f)
		for _, s := range samples {
			b, err := json.Marshal(s)
			if err != nil {
				return fmt.Errorf("doc %d: %w", s.DocID, err)
			}
			w.Write(b)
			w.WriteByte('\n')
		}
		return w.Flush()
	})
}

// ReadSamples reads a samples JSONL file; errors name the line.
func ReadSamples(path string) ([]Sample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Sample
	for n, line := range bytes.Split(b, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var s Sample
		if err := json.Unmarshal(line, &s); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n+1, err)
		}
		out = append(out, s)
	}
	return out, nil
}
