package task

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

func init() {
	register(&Task{
		Name:    "record",
		Version: 0,
		Kind:    Entities,
		Metrics: []string{"f1", "em"},
		// SuperGLUE's ReCoRD.zip (51.8 MB), which the HF "super_glue"
		// builder downloads; the archive's sha256 is the one it records.
		// No checksum of val.jsonl itself is published.
		Files: []DataFile{{
			Path:          "record/val.jsonl",
			URL:           "https://dl.fbaipublicfiles.com/glue/superglue/data/v2/ReCoRD.zip",
			Member:        "ReCoRD/val.jsonl",
			ArchiveSHA256: "30c7b651ab21b8bf8fab986495cd1084333010e040548f861b839eec0044ac18",
		}},
		Load: loadReCoRD,
	})
}

// recordFields is a ReCoRD query as the HF "super_glue"/"record" dataset
// holds it (entities and answers already sorted(set(...))).
type recordFields struct {
	Passage  string    `json:"passage"`
	Query    string    `json:"query"`
	Entities []string  `json:"entities"`
	Answers  []string  `json:"answers"`
	Idx      recordIdx `json:"idx"`
}

type recordIdx struct {
	Passage int `json:"passage"`
	Query   int `json:"query"`
}

// loadReCoRD reads SuperGLUE's ReCoRD val.jsonl: one passage per line
// with its entity spans and queries; one document per query.
//   - entities: the passage text[start:end+1] of every span (code-point
//     offsets, end inclusive, as the HF builder slices), sorted(set());
//     answers: the answers' texts, sorted(set()).
//   - context: initial, *highlights = passage.strip().split("\n@highlight\n");
//     initial + "\n\n" + "".join("  - " + h + ".\n" for h in highlights).
//   - one request per entity: "  - " + query.replace("@placeholder", e),
//     behind v0.4's target delimiter " " (v0.3 has none).
func loadReCoRD(dataDir string, p Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "record", "val.jsonl")
	delim := ""
	if p == HarnessV04 {
		delim = " "
	}
	var docs []Doc
	err := readJSONL(path, func(line int, raw []byte) error {
		type span struct{ Start, End *int }
		var rec struct {
			Idx     *int
			Passage *struct {
				Text     *string
				Entities []span
			}
			Qas []struct {
				Idx     *int
				Query   *string
				Answers []struct{ Text *string }
			}
		}
		if err := decodeJSON(raw, &rec); err != nil {
			return err
		}
		if rec.Idx == nil {
			return fmt.Errorf(`missing field "idx"`)
		}
		if rec.Passage == nil || rec.Passage.Text == nil {
			return fmt.Errorf(`missing field "passage" or "passage.text"`)
		}
		text := []rune(*rec.Passage.Text)
		set := map[string]bool{}
		for i, e := range rec.Passage.Entities {
			if e.Start == nil || e.End == nil {
				return fmt.Errorf(`entity %d lacks "start" or "end"`, i+1)
			}
			set[pySlice(text, *e.Start, *e.End+1)] = true
		}
		entities := sortedSet(set)
		if len(entities) == 0 {
			return fmt.Errorf("passage has no entities, so no candidates to score")
		}
		ctx := recordContext(*rec.Passage.Text)
		if len(rec.Qas) == 0 {
			return fmt.Errorf(`no queries ("qas")`)
		}
		for qi, qa := range rec.Qas {
			if qa.Idx == nil || qa.Query == nil {
				return fmt.Errorf(`query %d lacks "idx" or "query"`, qi+1)
			}
			aset := map[string]bool{}
			for ai, a := range qa.Answers {
				if a.Text == nil {
					return fmt.Errorf(`query %d answer %d lacks "text"`, qi+1, ai+1)
				}
				aset[*a.Text] = true
			}
			answers := sortedSet(aset)
			if len(answers) == 0 {
				return fmt.Errorf("query %d has no answers (a validation file has them; is this the test split?)", qi+1)
			}
			f := recordFields{Passage: *rec.Passage.Text, Query: *qa.Query, Entities: entities, Answers: answers,
				Idx: recordIdx{*rec.Idx, *qa.Idx}}
			reqs := make([]Request, len(entities))
			for i, e := range entities {
				reqs[i] = Request{Context: ctx, Continuation: delim + recordAnswer(f.Query, e)}
			}
			docs = append(docs, Doc{ID: len(docs), Fields: f, Target: delim + recordAnswer(f.Query, answers[0]),
				Requests: reqs, Choices: entities, Gold: -1, Answers: answers})
		}
		return nil
	})
	return docs, err
}

// recordContext is the harness' ReCoRD doc_to_text.
func recordContext(passage string) string {
	parts := strings.Split(pyStrip(passage), "\n@highlight\n")
	var b strings.Builder
	b.WriteString(parts[0])
	b.WriteString("\n\n")
	for _, h := range parts[1:] {
		b.WriteString("  - ")
		b.WriteString(h)
		b.WriteString(".\n")
	}
	return b.String()
}

// recordAnswer is the harness' format_answer: f"  - {query}" with every
// "@placeholder" replaced by the entity.
func recordAnswer(query, entity string) string {
	return strings.ReplaceAll("  - "+query, "@placeholder", entity)
}

// pySlice is Python's s[a:b] on a code-point sequence: negative indices
// count from the end, out-of-range ones are clamped.
func pySlice(s []rune, a, b int) string {
	n := len(s)
	clamp := func(i int) int {
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	a, b = clamp(a), clamp(b)
	if a >= b {
		return ""
	}
	return string(s[a:b])
}

// sortedSet is Python's sorted(set(xs)) for strings: Go's byte order on
// UTF-8 equals Python's code-point order.
func sortedSet(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}
