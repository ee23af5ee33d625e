package task

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

func init() {
	register(&Task{
		Name:    "hellaswag",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc", "acc_norm"},
		// The authors' repository rowanz/hellaswag; the HF "hellaswag"
		// builder the harness uses downloads this URL and records this
		// sha256 (12246618 bytes, 10042 lines).
		Files: []DataFile{{
			Path:   "hellaswag/hellaswag_val.jsonl",
			SHA256: "0aa3b88843990f3f10a97b9575c94d7b71fb2205240ba04ae4884d9e9c992588",
			URL:    "https://github.com/rowanz/hellaswag/raw/master/data/hellaswag_val.jsonl",
		}},
		Load: loadHellaSwag,
	})
}

// hellaswagFields is a HellaSwag item as the HF "hellaswag" dataset holds
// it (label as a string, as there).
type hellaswagFields struct {
	Ind           int      `json:"ind"`
	ActivityLabel string   `json:"activity_label"`
	CtxA          string   `json:"ctx_a"`
	CtxB          string   `json:"ctx_b"`
	Ctx           string   `json:"ctx"`
	Endings       []string `json:"endings"`
	SourceID      string   `json:"source_id"`
	Split         string   `json:"split"`
	SplitType     string   `json:"split_type"`
	Label         string   `json:"label"`
}

// hellaswagBrackets is the harness' re.sub("\\[.*?\\]", "", text); RE2's
// '.' excludes '\n' as Python's does, and *? is lazy in both.
var hellaswagBrackets = regexp.MustCompile(`\[.*?\]`)

// hellaswagPreprocess is the harness' HellaSwag.preprocess: strip, " [title]"
// → ". ", drop [bracketed] spans, then one pass of "  " → " ".
func hellaswagPreprocess(s string) string {
	s = pyStrip(s)
	s = strings.ReplaceAll(s, " [title]", ". ")
	s = hellaswagBrackets.ReplaceAllLiteralString(s, "")
	return strings.ReplaceAll(s, "  ", " ")
}

// loadHellaSwag reads the official hellaswag_val.jsonl.
// context = preprocess(activity_label + ": " + ctx_a + " " +
// ctx_b.capitalize()) (Python capitalize: the rest lower-cased too),
// choices = preprocess(each ending), gold = int(label).
func loadHellaSwag(dataDir string, _ Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "hellaswag", "hellaswag_val.jsonl")
	var docs []Doc
	err := readJSONL(path, func(line int, raw []byte) error {
		var rec struct {
			Ind           *int
			ActivityLabel *string `json:"activity_label"`
			CtxA          *string `json:"ctx_a"`
			CtxB          *string `json:"ctx_b"`
			Ctx           *string
			Endings       []string
			SourceID      *string `json:"source_id"`
			Split         *string
			SplitType     *string `json:"split_type"`
			Label         json.RawMessage
		}
		if err := decodeJSON(raw, &rec); err != nil {
			return err
		}
		// The HF builder requires these and defaults ctx_a, ctx_b and
		// endings to empty.
		if rec.Ind == nil {
			return fmt.Errorf(`missing field "ind"`)
		}
		if err := needAll("activity_label", rec.ActivityLabel, "ctx", rec.Ctx, "source_id", rec.SourceID, "split", rec.Split, "split_type", rec.SplitType); err != nil {
			return err
		}
		f := hellaswagFields{Ind: *rec.Ind, ActivityLabel: *rec.ActivityLabel, Ctx: *rec.Ctx, Endings: rec.Endings,
			SourceID: *rec.SourceID, Split: *rec.Split, SplitType: *rec.SplitType}
		if rec.CtxA != nil {
			f.CtxA = *rec.CtxA
		}
		if rec.CtxB != nil {
			f.CtxB = *rec.CtxB
		}
		if len(f.Endings) == 0 {
			return fmt.Errorf(`no "endings"`)
		}
		// label: a number in the file, str() of it in HF, int() in the harness.
		var n json.Number
		if err := json.Unmarshal(rec.Label, &n); err == nil {
			f.Label = n.String()
		} else if err := json.Unmarshal(rec.Label, &f.Label); err != nil {
			return fmt.Errorf(`missing or malformed field "label" (%s)`, quote(string(rec.Label)))
		}
		gold, err := strconv.Atoi(pyStrip(f.Label))
		if err != nil || gold < 0 || gold >= len(f.Endings) {
			return fmt.Errorf("label %s names none of the %d endings", quote(f.Label), len(f.Endings))
		}
		ctx := hellaswagPreprocess(f.ActivityLabel + ": " + f.CtxA + " " + pyCapitalize(f.CtxB))
		choices := make([]string, len(f.Endings))
		for i, e := range f.Endings {
			choices[i] = hellaswagPreprocess(e)
		}
		docs = append(docs, mcDoc(len(docs), f, ctx, choices, gold))
		return nil
	})
	return docs, err
}
