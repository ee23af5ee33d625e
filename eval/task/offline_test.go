package task

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// TestOfflineTasks loads the four tasks whose data is not in shared/data
// (hellaswag, sciq, storycloze_2016, record) from small files in their
// official formats under testdata/, and compares every document with
// testdata/golden-offline.jsonl, which gen_golden_offline.py wrote with
// the HF builders' reading code and the harness' own task code (Python's
// capitalize, re, csv and code-point slicing).
func TestOfflineTasks(t *testing.T) {
	f, err := os.Open("testdata/golden-offline.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	loaded := map[string][]Doc{}
	counted := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var g struct {
			Task     string
			Protocol Protocol
			Doc      int
			Gold     int
			Answers  []string
			Requests [][2]string
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		key := g.Task + "/" + string(g.Protocol)
		docs, ok := loaded[key]
		if !ok {
			tk, err := Lookup(g.Task)
			if err != nil {
				t.Fatal(err)
			}
			if docs, err = tk.Load("testdata", g.Protocol); err != nil {
				t.Fatal(err)
			}
			loaded[key] = docs
		}
		counted[key]++
		if g.Doc >= len(docs) {
			t.Fatalf("%s: only %d documents, golden has doc %d", key, len(docs), g.Doc)
		}
		d := docs[g.Doc]
		if d.Gold != g.Gold || !slices.Equal(d.Answers, g.Answers) {
			t.Errorf("%s doc %d: gold %d answers %q, want %d %q", key, g.Doc, d.Gold, d.Answers, g.Gold, g.Answers)
		}
		if len(d.Requests) != len(g.Requests) {
			t.Fatalf("%s doc %d: %d requests, want %d", key, g.Doc, len(d.Requests), len(g.Requests))
		}
		for i, r := range d.Requests {
			if r.Context != g.Requests[i][0] || r.Continuation != g.Requests[i][1] {
				t.Errorf("%s doc %d request %d:\n got %q / %q\nwant %q / %q", key, g.Doc, i, r.Context, r.Continuation, g.Requests[i][0], g.Requests[i][1])
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for key, docs := range loaded {
		if counted[key] != len(docs) {
			t.Errorf("%s: %d documents, golden has %d", key, len(docs), counted[key])
		}
	}
	if len(loaded) != 8 {
		t.Errorf("golden covers %d task/protocol pairs, want 8", len(loaded))
	}

	// ReCoRD: entities are the sorted, de-duplicated spans (code-point
	// offsets, end inclusive), the target is the first answer's filled query.
	rec := loaded["record/harness-v0.3"]
	want := []string{"CNN", "Crêpe", "São Paulo", "Zoë Ñúñez"}
	if !slices.Equal(rec[0].Choices, want) || rec[0].Target != "  - Zoë Ñúñez owns a café in São Paulo, says Zoë Ñúñez." {
		t.Errorf("record doc 0: entities %q target %q", rec[0].Choices, rec[0].Target)
	}
	if v4 := loaded["record/harness-v0.4"]; v4[0].Target != " "+rec[0].Target {
		t.Errorf("record v0.4 target %q", v4[0].Target)
	}
}

func TestPythonStringSemantics(t *testing.T) {
	for _, c := range []struct{ in, capitalized, lower string }{
		{"hELLO wORLD", "Hello world", "hello world"},
		{"", "", ""},
		{"ßTRASSE", "Sstrasse", "ßtrasse"},
		{"ΟΔΟΣ ΟΔΟΣ.", "Οδος οδος.", "οδος οδος."},
		{"Σ", "Σ", "σ"},
		{"ǆemal", "ǅemal", "ǆemal"},
		{"İstanbul", "İstanbul", "i̇stanbul"},
		{"ﬁne", "Fine", "ﬁne"},
		{"123 ABC", "123 abc", "123 abc"},
	} {
		if got := pyCapitalize(c.in); got != c.capitalized {
			t.Errorf("capitalize(%q) = %q, want %q", c.in, got, c.capitalized)
		}
		if got := pyLower(c.in); got != c.lower {
			t.Errorf("lower(%q) = %q, want %q", c.in, got, c.lower)
		}
	}
	if got := pyStrip("\x1c\u3000 a b\t\n\u0085"); got != "a b" {
		t.Errorf("strip = %q", got)
	}
	if got := lowerFirst("I took"); got != "i took" {
		t.Errorf("lowerFirst = %q", got)
	}
	for _, c := range []struct {
		a, b int
		want string
	}{{0, 3, "abc"}, {-2, 10, "de"}, {3, 1, ""}, {-10, 2, "ab"}, {5, 9, ""}} {
		if got := pySlice([]rune("abcde"), c.a, c.b); got != c.want {
			t.Errorf("abcde[%d:%d] = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}

// TestRecordMetrics checks SQuAD's em/f1 as the harness applies them to
// ReCoRD (values worked out by hand from transformers' squad_metrics).
func TestRecordMetrics(t *testing.T) {
	for _, c := range []struct {
		pred  string
		golds []string
		em    float64
		f1    float64
	}{
		{"The Beatles", []string{"Beatles"}, 1, 1},
		{"the  beatles!", []string{"Beatles", "Hamburg"}, 1, 1},
		{"Hamburg, Germany", []string{"Hamburg"}, 0, 2 * 0.5 * 1 / 1.5},
		{"New York City", []string{"York", "New York"}, 0, 2 * (2.0 / 3) * 1 / (2.0/3 + 1)},
		{"a", []string{"the"}, 1, 1},               // both normalize to nothing
		{"a", []string{"Bob"}, 0, 0},               // only one is empty
		{"Zoë Ñúñez", []string{"ZOË ÑÚÑEZ"}, 1, 1}, // Unicode lower-casing
		{"an-apple", []string{"anapple"}, 1, 1},    // punctuation goes before articles
		{"l'the", []string{"lthe"}, 1, 1},
		{"x", nil, 0, 0},
		{"cat cat", []string{"cat"}, 0, 2 * 0.5 * 1 / 1.5},
	} {
		if em := RecordEM(c.pred, c.golds); em != c.em {
			t.Errorf("em(%q, %q) = %v, want %v", c.pred, c.golds, em, c.em)
		}
		if f1 := RecordF1(c.pred, c.golds); f1 != c.f1 {
			t.Errorf("f1(%q, %q) = %v, want %v", c.pred, c.golds, f1, c.f1)
		}
	}
	if got := NormalizeAnswer("  The   Quick, brown fox_a a-n  "); got != "quick brown foxa" {
		t.Errorf("NormalizeAnswer = %q", got)
	}
}
