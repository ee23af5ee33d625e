package task

import (
	"encoding/json"
	"fmt"
	"path/filepath"
)

func init() {
	register(&Task{
		Name:    "boolq",
		Version: 1,
		Kind:    MultipleChoice,
		Metrics: []string{"acc"},
		// SuperGLUE's BoolQ.zip is the canonical source of the harness'
		// data (HF "super_glue"/"boolq" downloads it); val.jsonl inside it
		// has the sha256 below (the same file as ../shared/data's derived
		// val.jsonl, see its README); the archive's sha256 is the one the
		// HF datasets builder records.
		Files: []DataFile{{
			Path:          "boolq/val.jsonl",
			SHA256:        "0c86a5045886e5795fe9052003873f7d94b88ed3028a33007c51d99e44fd66d9",
			URL:           "https://dl.fbaipublicfiles.com/glue/superglue/data/v2/BoolQ.zip",
			Member:        "BoolQ/val.jsonl",
			ArchiveSHA256: "853fbe7922f70c59629f06a39e8d9ca440c3d740e760fd3b87a5ddf3dcba2436",
		}},
		Load: loadBoolQ,
	})
}

// boolqFields is a BoolQ question as the HF "super_glue"/"boolq" dataset
// holds it (label 1 = True = "yes").
type boolqFields struct {
	Question string `json:"question"`
	Passage  string `json:"passage"`
	Idx      int    `json:"idx"`
	Label    int    `json:"label"`
}

// loadBoolQ reads SuperGLUE's val.jsonl (passage = title + " -- " +
// passage; Google's original dev.jsonl lacks the title and gives other
// prompts). context = passage + "\nQuestion: " + question + "?\nAnswer:",
// choices ["no", "yes"]. v0.3 asks " yes" before " no" and scores
// ll_yes > ll_no; the choice order here is v0.4's, and with ties going
// to the lowest index both give "no" on a tie.
func loadBoolQ(dataDir string, _ Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "boolq", "val.jsonl")
	var docs []Doc
	err := readJSONL(path, func(line int, raw []byte) error {
		var rec struct {
			Question, Passage *string
			Idx               *int
			Label             json.RawMessage
		}
		if err := decodeJSON(raw, &rec); err != nil {
			return err
		}
		if err := needAll("question", rec.Question, "passage", rec.Passage); err != nil {
			return err
		}
		if rec.Idx == nil {
			return fmt.Errorf(`missing field "idx"`)
		}
		var label bool
		if rec.Label == nil {
			return fmt.Errorf(`missing field "label"`)
		}
		if err := json.Unmarshal(rec.Label, &label); err != nil {
			return fmt.Errorf(`label %s is not true or false`, quote(string(rec.Label)))
		}
		f := boolqFields{Question: *rec.Question, Passage: *rec.Passage, Idx: *rec.Idx}
		if label {
			f.Label = 1
		}
		ctx := f.Passage + "\nQuestion: " + f.Question + "?\nAnswer:"
		docs = append(docs, mcDoc(len(docs), f, ctx, []string{"no", "yes"}, f.Label))
		return nil
	})
	return docs, err
}
