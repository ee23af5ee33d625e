// Package task turns evaluation data files into scoring requests, the way
// lm-evaluation-harness does: documents in the harness' order, and for each
// document the loglikelihood(context, continuation) requests, the choices and
// the gold answer. It is pure (no model, no tokenizer), so every prompt string
// can be golden-tested. Scoring and metrics live in package eval.
package task

import (
	"fmt"
	"sort"
	"strings"
)

// Protocol names the harness semantics a run reproduces.
type Protocol string

const (
	// HarnessV03 is lm-evaluation-harness <= v0.3 (the RWKV paper's and
	// Pythia's published numbers): context and continuation encoded
	// separately. The default.
	HarnessV03 Protocol = "harness-v0.3"
	// HarnessV04 is the current harness: joint encoding, and the few task
	// strings that changed (COPA's and ReCoRD's continuations, SciQ's
	// context).
	HarnessV04 Protocol = "harness-v0.4"
)

// Protocols lists the accepted protocols, default first.
func Protocols() []Protocol { return []Protocol{HarnessV03, HarnessV04} }

// ParseProtocol accepts a protocol name ("" means the default).
func ParseProtocol(s string) (Protocol, error) {
	if s == "" {
		return HarnessV03, nil
	}
	for _, p := range Protocols() {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown protocol %q (accepted: %s, %s)", s, HarnessV03, HarnessV04)
}

// Kind says how a task's requests are scored.
type Kind int

const (
	// Loglikelihood: one request per document; ppl = exp(-mean ll) and acc
	// = mean(is_greedy) (LAMBADA).
	Loglikelihood Kind = iota
	// MultipleChoice: one request per choice; pred = argmax ll (acc) and
	// argmax ll/len(choice in code points) (acc_norm); ties go to the
	// lowest index.
	MultipleChoice
	// Entities: one request per candidate entity; the prediction is the
	// entity with the largest ll, scored by em/f1 against Doc.Answers
	// (ReCoRD).
	Entities
)

// Request is one loglikelihood(context, continuation) call. The
// continuation carries its leading delimiter (normally one space).
type Request struct {
	Context      string
	Continuation string
}

// Doc is one evaluation example.
type Doc struct {
	// ID is the doc_id: the index in the task's document order.
	ID int
	// Fields is the document as the harness' samples files record it (a
	// JSON-marshalable value).
	Fields any
	// Target is the samples file's "target": the gold choice's
	// continuation, or LAMBADA's target word.
	Target string
	// Requests holds one request per choice, in choice order (one for
	// Loglikelihood tasks).
	Requests []Request
	// Choices are the choice strings without the delimiter; acc_norm
	// divides by their length in Unicode code points. Entities tasks hold
	// the entity names. Nil for Loglikelihood tasks.
	Choices []string
	// Gold is the correct choice's index (-1 for Loglikelihood and
	// Entities tasks).
	Gold int
	// Answers are the gold answer strings of an Entities task.
	Answers []string
}

// DataFile is one file a task reads, relative to the data directory
// (layout: <data-dir>/<task>/<file>, as ../shared/data).
type DataFile struct {
	Path   string // e.g. "piqa/valid.jsonl"
	SHA256 string // hex; "" when no published checksum is known
	URL    string // canonical public download address; "" when none exists
	// Member, when set, says URL is an archive (.zip, .tgz or .tar.gz)
	// and the file is its member at this path, stored unchanged at Path
	// (see ExtractMember); SHA256 is then the member's hash and
	// ArchiveSHA256 the archive's ("" when unknown).
	Member        string
	ArchiveSHA256 string
}

// Task is one evaluation task, named as the harness names it.
type Task struct {
	Name    string
	Version int // the harness task VERSION the requests reproduce
	Kind    Kind
	// Metrics are reported in this order, e.g. {"acc", "acc_norm"} or
	// {"ppl", "acc"} (LAMBADA: ppl is "perplexity" in v0.4's results).
	Metrics []string
	Files   []DataFile
	// Load reads the task's files under dataDir and returns its documents
	// in the harness' order. Errors name the file and line.
	Load func(dataDir string, p Protocol) ([]Doc, error)
}

var registry = map[string]*Task{}

// aliases map accepted names to harness names.
var aliases = map[string]string{
	"lambada": "lambada_openai",
	// Careful: in harness v0.3 "headqa" is the deprecated name of
	// headqa_es (Spanish), so a v0.3 run of "headqa" (ChatRWKV's
	// run_lm_eval.py lists it) scored the Spanish exams. Here it means
	// headqa_en, the only HEAD-QA data this tool reads.
	"headqa": "headqa_en",
}

// register adds a task; called from each task file's init.
func register(t *Task) {
	if _, dup := registry[t.Name]; dup {
		panic("task: duplicate task " + t.Name)
	}
	registry[t.Name] = t
}

// Lookup returns a task by harness name or alias.
func Lookup(name string) (*Task, error) {
	if n, ok := aliases[name]; ok {
		name = n
	}
	if t, ok := registry[name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("unknown task %q (known: %s)", name, strings.Join(Names(), ", "))
}

// Names lists the registered tasks, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// PaperSet is the RWKV paper's zero-shot set (arXiv 2305.13048, appendix
// tables), in the paper's order, restricted to tasks with a loader.
var PaperSet = []string{"lambada_openai", "piqa", "storycloze_2016", "hellaswag", "winogrande", "arc_challenge", "arc_easy", "headqa_en", "openbookqa", "sciq", "record", "copa"}
