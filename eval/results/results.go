// Package results reads evaluation results files into one normalized shape,
// so that any two can be put side by side: rwkv-tools' own files and
// lm-evaluation-harness files of both schemas.
//
//   - v0.3 (harness <= 0.3, e.g. Pythia's published evals): top-level
//     "results", "versions" (integers) and "config"; metric keys are bare
//     names ("acc", "acc_norm", "ppl") with "<name>_stderr" beside them.
//   - v0.4+: metric keys carry a filter ("acc,none", "acc_stderr,none",
//     "perplexity,none"), results entries may have an "alias", and the file
//     adds "groups", "group_subtasks", "configs", "n-shot", "n-samples",
//     "higher_is_better", "model_name" and more.
//
// Normalization: the filter "none" is dropped ("acc,none" -> "acc"; other
// filters stay: "exact_match,strict-match"), and v0.4's "perplexity" is
// named "ppl" as in v0.3, so LAMBADA numbers of both eras meet. rwkv-tools'
// own files are the v0.3 layout with its provenance in "config"
// (Provenance).
package results

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// MaxFileSize bounds what Read accepts: results files are kilobytes (a v0.4
// file with every task config a few megabytes); per-example samples live in
// separate files.
const MaxFileSize = 64 << 20

// Schema names the layout a file was written in.
type Schema string

const (
	HarnessV03 Schema = "lm-eval v0.3"
	HarnessV04 Schema = "lm-eval v0.4"
)

// Direction says which way a metric improves.
type Direction int8

const (
	UnknownDirection Direction = 0
	HigherIsBetter   Direction = 1
	LowerIsBetter    Direction = -1
)

// Metric is one aggregate value of a task.
type Metric struct {
	// Name is the normalized name: "acc", "acc_norm", "ppl", "em", or
	// "<name>,<filter>" for a filter other than "none".
	Name string
	// Key is the name as written in the file ("perplexity,none").
	Key    string
	Value  float64
	Stderr float64 // NaN when the file records none ("N/A", null, absent)
	Better Direction
}

// HasStderr reports whether the file recorded a usable standard error.
func (m Metric) HasStderr() bool { return !math.IsNaN(m.Stderr) && !math.IsInf(m.Stderr, 0) }

// Task is one task's entry in the "results" object.
type Task struct {
	Name    string
	Alias   string // v0.4 "alias" ("" when absent)
	Version string // as written in "versions" ("0", "1.0", "N/A"); "" when absent
	// N is the number of documents scored ("n-samples" effective), 0 when
	// the file does not say (v0.3 files never do).
	N int
	// Group marks a v0.4 group aggregate (e.g. "mmlu"), not a task of its own.
	Group   bool
	Metrics []Metric // ppl, acc, acc_norm first, then by name
}

// Metric returns the metric of that normalized name.
func (t *Task) Metric(name string) (Metric, bool) {
	for _, m := range t.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return Metric{}, false
}

// Provenance is what rwkv-tools records beyond the harness schema: eval
// writes it into "config" (eval.RunConfig: protocol, tokenizer,
// model_sha256, tool_version; model "rwkv-tools" with the model file as
// model_args); a top-level "rwkv_tools" object of these keys is read too.
// Baseline files say where their numbers were published in a top-level
// "source".
type Provenance struct {
	ToolVersion string `json:"tool_version,omitempty"`
	Protocol    string `json:"protocol,omitempty"`  // "harness-v0.3", "harness-v0.4" (eval/task.Protocol)
	Tokenizer   string `json:"tokenizer,omitempty"` // e.g. "gpt-neox-20b", "rwkv-world"
	Model       string `json:"model,omitempty"`     // model file name or hub id
	ModelSHA256 string `json:"model_sha256,omitempty"`
	Source      string `json:"source,omitempty"` // where published numbers come from
}

// File is a results file, normalized.
type File struct {
	Path   string
	Schema Schema
	// Provenance as recorded; for harness files only Source may be set
	// (by a baseline's author).
	Provenance
	// ProtocolInferred is set when the file names no protocol and Protocol
	// was inferred from the harness schema (v0.3 -> harness-v0.3, v0.4 ->
	// harness-v0.4).
	ProtocolInferred bool
	// ModelName is a human-readable model name: Provenance.Model, else the
	// harness' model_name or the pretrained= (and revision=) of
	// config.model_args, else "".
	ModelName string
	ModelArgs string // config.model_args as written
	// PadToken is rwkv-tools' config.pad_token (the ids prepended to every
	// context; empty for none), nil when the file does not record one.
	PadToken   []int
	NumFewshot int     // config.num_fewshot, or the largest n-shot; -1 when unknown
	Limit      float64 // config.limit; 0 when null or absent (no limit)
	Tasks      []Task  // sorted by name
}

// Task returns the named task, or nil.
func (f *File) Task(name string) *Task {
	i := sort.Search(len(f.Tasks), func(i int) bool { return f.Tasks[i].Name >= name })
	if i < len(f.Tasks) && f.Tasks[i].Name == name {
		return &f.Tasks[i]
	}
	return nil
}

// Read reads and normalizes a results file.
func Read(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: larger than %d MiB; a results file is small (per-example samples belong in separate .jsonl files)", path, MaxFileSize>>20)
	}
	return Parse(data, path)
}

// Parse normalizes the bytes of a results file; name is used in errors.
func Parse(data []byte, name string) (*File, error) {
	f, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f.Path = name
	return f, nil
}

func parse(data []byte) (*File, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	clean, err := pythonJSON(data)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(clean, &top); err != nil {
		return nil, fmt.Errorf("not a JSON object: %s", jsonErr(err, clean))
	}
	rawResults, ok := top["results"]
	if !ok {
		return nil, errors.New(`no "results" object: not an lm-evaluation-harness or rwkv-tools results file`)
	}
	var entries map[string]map[string]json.RawMessage
	if err := json.Unmarshal(rawResults, &entries); err != nil {
		return nil, fmt.Errorf(`"results" must map task names to objects of metrics: %s`, jsonErr(err, rawResults))
	}
	if len(entries) == 0 {
		return nil, errors.New(`"results" is empty: the file holds no task results`)
	}

	f := &File{NumFewshot: -1}
	if err := f.readMeta(top); err != nil {
		return nil, err
	}
	versions, err := readVersions(top["versions"])
	if err != nil {
		return nil, err
	}
	counts, err := readCounts(top["n-samples"])
	if err != nil {
		return nil, err
	}
	directions, err := readDirections(top["higher_is_better"])
	if err != nil {
		return nil, err
	}
	groups, err := readGroups(top)
	if err != nil {
		return nil, err
	}

	filtered := false
	for name, entry := range entries {
		t := Task{Name: name, Version: versions[name], N: counts[name], Group: groups[name]}
		if err := t.readMetrics(entry, directions[name], &filtered); err != nil {
			return nil, fmt.Errorf("results[%q]: %w", name, err)
		}
		if len(t.Metrics) > 0 { // v0.4 groups without an aggregate hold only an alias
			f.Tasks = append(f.Tasks, t)
		}
	}
	if len(f.Tasks) == 0 {
		return nil, errors.New(`"results" holds no metric values`)
	}
	sort.Slice(f.Tasks, func(i, j int) bool { return f.Tasks[i].Name < f.Tasks[j].Name })

	// The v0.4 layout shows in its metric keys (always "<name>,<filter>")
	// and its extra top-level keys.
	f.Schema = HarnessV03
	_, hasNShot := top["n-shot"]
	_, hasConfigs := top["configs"]
	if filtered || hasNShot || hasConfigs {
		f.Schema = HarnessV04
	}
	if f.Protocol == "" && f.ToolVersion == "" {
		f.ProtocolInferred = true
		f.Protocol = "harness-v0.3"
		if f.Schema == HarnessV04 {
			f.Protocol = "harness-v0.4"
		}
	}
	if f.NumFewshot < 0 {
		f.NumFewshot = maxNShot(top["n-shot"])
	}
	return f, nil
}

// readMetrics fills t.Metrics from one "results" entry.
func (t *Task) readMetrics(entry map[string]json.RawMessage, better map[string]Direction, filtered *bool) error {
	type pair struct {
		key           string
		value, stderr float64
		hasValue      bool
		stderrKey     string
	}
	byName := map[string]*pair{}
	get := func(name string) *pair {
		p := byName[name]
		if p == nil {
			p = &pair{stderr: math.NaN()}
			byName[name] = p
		}
		return p
	}
	for key, raw := range entry {
		if key == "alias" {
			if err := json.Unmarshal(raw, &t.Alias); err != nil {
				return fmt.Errorf(`"alias" must be a string: %s`, jsonErr(err, raw))
			}
			continue
		}
		base, filter, hasFilter := strings.Cut(key, ",")
		if hasFilter {
			*filtered = true
		}
		v, isNumber, err := number(raw)
		if err != nil {
			return fmt.Errorf("%q: %w", key, err)
		}
		if !isNumber {
			continue // "N/A", null, or a non-metric field (a v0.4 entry may carry strings)
		}
		if metric, ok := strings.CutSuffix(base, "_stderr"); ok {
			if v < 0 {
				return fmt.Errorf("%q: a standard error cannot be negative (%v)", key, v)
			}
			p := get(normalize(metric, filter))
			p.stderr, p.stderrKey = v, key
			continue
		}
		p := get(normalize(base, filter))
		p.key, p.value, p.hasValue = key, v, true
	}
	for name, p := range byName {
		if !p.hasValue {
			continue // a stderr whose metric the file does not give: nothing to compare
		}
		base, _, _ := strings.Cut(p.key, ",")
		dir, ok := better[base]
		if !ok {
			dir = DirectionOf(name)
		}
		t.Metrics = append(t.Metrics, Metric{Name: name, Key: p.key, Value: p.value, Stderr: p.stderr, Better: dir})
	}
	sort.Slice(t.Metrics, func(i, j int) bool { return metricLess(t.Metrics[i].Name, t.Metrics[j].Name) })
	return nil
}

// normalize names a metric the same way in both schemas.
func normalize(name, filter string) string {
	if name == "perplexity" {
		name = "ppl"
	}
	if filter == "" || filter == "none" {
		return name
	}
	return name + "," + filter
}

// metricOrder puts the headline metrics first, as the papers list them.
var metricOrder = map[string]int{"ppl": 0, "acc": 1, "acc_norm": 2, "em": 3, "f1": 4}

func metricLess(a, b string) bool {
	ra, okA := metricOrder[a]
	rb, okB := metricOrder[b]
	switch {
	case okA && okB:
		return ra < rb
	case okA != okB:
		return okA
	}
	return a < b
}

// DirectionOf gives the direction of the well-known metrics of the harness
// (by normalized name, filter ignored); v0.4 files say it themselves in
// "higher_is_better", which takes precedence.
func DirectionOf(name string) Direction {
	base, _, _ := strings.Cut(name, ",")
	switch base {
	case "ppl", "perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte", "bpb", "likelihood_difference":
		return LowerIsBetter
	case "acc", "acc_norm", "acc_mutual_info", "em", "exact_match", "f1", "mcc", "bleu", "rouge1", "rouge2", "rougeL", "chrf", "ter_inverse":
		return HigherIsBetter
	}
	return UnknownDirection
}

// IsFraction reports whether a metric is a proportion in [0, 1] (reported
// as a percentage in papers), as opposed to a perplexity-like value.
func IsFraction(name string) bool {
	base, _, _ := strings.Cut(name, ",")
	switch base {
	case "acc", "acc_norm", "acc_mutual_info", "em", "exact_match", "f1", "mcc", "pct_stereotype":
		return true
	}
	return false
}

// number decodes a metric value. It returns isNumber=false for "N/A" (the
// harness' "none") and for non-numeric fields; null is NaN (eval.Number
// writes NaN and ±Inf as null), and "NaN"/"Infinity" (Python's json spells
// them bare; pythonJSON quotes them) become the float values.
func number(raw json.RawMessage) (float64, bool, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0, false, errors.New("empty value")
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, false, err
		}
		switch s {
		case "NaN":
			return math.NaN(), true, nil
		case "Infinity":
			return math.Inf(1), true, nil
		case "-Infinity":
			return math.Inf(-1), true, nil
		}
		return 0, false, nil
	case 'n':
		if string(raw) == "null" {
			return math.NaN(), true, nil
		}
		return 0, false, nil
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		v, err := strconv.ParseFloat(string(raw), 64)
		if err != nil {
			return 0, false, fmt.Errorf("number %s out of range", raw)
		}
		return v, true, nil
	}
	return 0, false, nil
}

func (f *File) readMeta(top map[string]json.RawMessage) error {
	if raw, ok := top["rwkv_tools"]; ok {
		if err := json.Unmarshal(raw, &f.Provenance); err != nil {
			return fmt.Errorf(`"rwkv_tools" must be an object of strings (%s)`, jsonErr(err, raw))
		}
	}
	// A baseline's author may record its source beside the harness keys.
	if f.Source == "" {
		if raw, ok := top["source"]; ok {
			if err := json.Unmarshal(raw, &f.Source); err != nil {
				return fmt.Errorf(`"source" must be a string (%s)`, jsonErr(err, raw))
			}
		}
	}
	if raw, ok := top["config"]; ok && !isNull(raw) {
		var cfg map[string]json.RawMessage
		if err := json.Unmarshal(raw, &cfg); err != nil {
			return fmt.Errorf(`"config" must be an object (%s)`, jsonErr(err, raw))
		}
		if a, ok := cfg["model_args"]; ok {
			// v0.4 may write model_args as an object; keep the string form only.
			json.Unmarshal(a, &f.ModelArgs)
		}
		// rwkv-tools' eval writes its provenance into "config" (eval.RunConfig).
		for _, kv := range []struct {
			key string
			dst *string
		}{{"protocol", &f.Protocol}, {"tokenizer", &f.Tokenizer}, {"model_sha256", &f.ModelSHA256}, {"tool_version", &f.ToolVersion}, {"source", &f.Source}} {
			if raw, ok := cfg[kv.key]; ok && *kv.dst == "" && !isNull(raw) {
				if err := json.Unmarshal(raw, kv.dst); err != nil {
					return fmt.Errorf(`"config.%s" must be a string (%s)`, kv.key, jsonErr(err, raw))
				}
			}
		}
		if raw, ok := cfg["pad_token"]; ok && !isNull(raw) {
			f.PadToken = []int{}
			if err := json.Unmarshal(raw, &f.PadToken); err != nil {
				return fmt.Errorf(`"config.pad_token" must be a list of token ids (%s)`, jsonErr(err, raw))
			}
		}
		var model string
		if raw, ok := cfg["model"]; ok && json.Unmarshal(raw, &model) == nil && model == "rwkv-tools" && f.Model == "" {
			f.Model = f.ModelArgs // the model file as given to eval
		}
		if n, ok := cfg["num_fewshot"]; ok {
			if v, isNum, err := number(n); err == nil && isNum && v >= 0 && v < 1e6 {
				f.NumFewshot = int(v)
			}
		}
		if l, ok := cfg["limit"]; ok && !isNull(l) {
			v, isNum, err := number(l)
			if err != nil || (isNum && !(v >= 0)) {
				return fmt.Errorf(`"config.limit" must be null or a non-negative number, got %s`, bytes.TrimSpace(l))
			}
			if isNum {
				f.Limit = v
			}
		}
	}
	f.ModelName = f.Model
	if f.ModelName == "" {
		if raw, ok := top["model_name"]; ok {
			json.Unmarshal(raw, &f.ModelName)
		}
	}
	if f.ModelName == "" {
		f.ModelName = pretrained(f.ModelArgs)
	}
	return nil
}

// pretrained extracts "pretrained=X,revision=R" from harness model_args.
func pretrained(args string) string {
	var name, rev string
	for _, kv := range strings.Split(args, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		switch k {
		case "pretrained":
			name = v
		case "revision":
			rev = v
		}
	}
	if name != "" && rev != "" {
		return name + "@" + rev
	}
	return name
}

func readVersions(raw json.RawMessage) (map[string]string, error) {
	out := map[string]string{}
	if raw == nil || isNull(raw) {
		return out, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf(`"versions" must map task names to versions (%s)`, jsonErr(err, raw))
	}
	for k, v := range m {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
			continue
		}
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return nil, fmt.Errorf(`"versions"[%q]: expected a number or string, got %s`, k, bytes.TrimSpace(v))
		}
		out[k] = n.String()
	}
	return out, nil
}

// readCounts reads v0.4's "n-samples": {"task": {"original": N, "effective": M}}.
func readCounts(raw json.RawMessage) (map[string]int, error) {
	out := map[string]int{}
	if raw == nil || isNull(raw) {
		return out, nil
	}
	var m map[string]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf(`"n-samples" must map task names to {"original": N, "effective": N} (%s)`, jsonErr(err, raw))
	}
	for task, c := range m {
		raw, ok := c["effective"]
		if !ok {
			raw, ok = c["original"]
		}
		if !ok {
			continue
		}
		v, isNum, err := number(raw)
		if err != nil || !isNum || v < 0 || v > math.MaxInt32 || v != math.Trunc(v) {
			return nil, fmt.Errorf(`"n-samples"[%q]: expected a document count, got %s`, task, bytes.TrimSpace(raw))
		}
		out[task] = int(v)
	}
	return out, nil
}

// readDirections reads v0.4's "higher_is_better": {"task": {"acc": true}}.
func readDirections(raw json.RawMessage) (map[string]map[string]Direction, error) {
	out := map[string]map[string]Direction{}
	if raw == nil || isNull(raw) {
		return out, nil
	}
	var m map[string]map[string]*bool
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf(`"higher_is_better" must map task names to {"metric": true|false} (%s)`, jsonErr(err, raw))
	}
	for task, metrics := range m {
		d := map[string]Direction{}
		for name, hib := range metrics {
			switch {
			case hib == nil:
			case *hib:
				d[name] = HigherIsBetter
			default:
				d[name] = LowerIsBetter
			}
		}
		out[task] = d
	}
	return out, nil
}

// readGroups collects v0.4 group names ("groups" and "group_subtasks" keys).
func readGroups(top map[string]json.RawMessage) (map[string]bool, error) {
	out := map[string]bool{}
	for _, key := range []string{"groups", "group_subtasks"} {
		raw, ok := top[key]
		if !ok || isNull(raw) {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("%q must be an object keyed by group name (%s)", key, jsonErr(err, raw))
		}
		for g, sub := range m {
			// group_subtasks lists every task, with an empty list for plain ones.
			if key == "group_subtasks" && (isNull(sub) || string(bytes.TrimSpace(sub)) == "[]") {
				continue
			}
			out[g] = true
		}
	}
	return out, nil
}

func maxNShot(raw json.RawMessage) int {
	var m map[string]json.RawMessage
	if raw == nil || json.Unmarshal(raw, &m) != nil {
		return -1
	}
	best := -1
	for _, v := range m {
		if n, isNum, err := number(v); err == nil && isNum && n >= 0 && n < 1e6 && int(n) > best {
			best = int(n)
		}
	}
	return best
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// jsonErr makes a decoding error say where: line and column for syntax errors.
func jsonErr(err error, data []byte) string {
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset <= int64(len(data)) {
		line := 1 + bytes.Count(data[:se.Offset], []byte("\n"))
		col := se.Offset - int64(bytes.LastIndexByte(data[:se.Offset], '\n'))
		return fmt.Sprintf("%v at line %d, column %d", se, line, col)
	}
	return err.Error()
}

// pythonJSON quotes the bare NaN, Infinity and -Infinity that Python's json
// module writes (and encoding/json rejects), outside strings only.
func pythonJSON(data []byte) ([]byte, error) {
	if !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return data, nil
	}
	out := make([]byte, 0, len(data)+64)
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out = append(out, c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		replaced := false
		for _, word := range []string{"NaN", "Infinity", "-Infinity"} {
			if bytes.HasPrefix(data[i:], []byte(word)) {
				out = append(out, '"')
				out = append(out, word...)
				out = append(out, '"')
				i += len(word) - 1
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, c)
		}
	}
	return out, nil
}

// DisplayName is a short name for a file in tables: its base name without
// ".json".
func (f *File) DisplayName() string {
	return strings.TrimSuffix(filepath.Base(f.Path), ".json")
}
