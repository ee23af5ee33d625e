package task

import (
	"fmt"
	"path/filepath"
)

func init() {
	register(&Task{
		Name:    "piqa",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc", "acc_norm"},
		// The PIQA author's site (yonatanbisk.com/piqa) is served from the
		// repository ybisk/ybisk.github.io; these are its data files at the
		// commit ../shared/data was taken from. (The HF builder the harness
		// uses downloads the same dev set inside AI2's
		// physicaliqa-train-dev.zip.)
		Files: []DataFile{{
			Path:   "piqa/valid.jsonl",
			SHA256: "93503cc97c679e459b065c3d13e848282e44b2a25213985bed3e5d458abef72d",
			URL:    "https://raw.githubusercontent.com/ybisk/ybisk.github.io/21edab439af693b961be2f069e8690a88d3b4e37/piqa/data/valid.jsonl",
		}, {
			Path:   "piqa/valid-labels.lst",
			SHA256: "b4192dc3a2a0363d9d60ccf79800cbbe2f32ebb17726efdde6970e0b8131bceb",
			URL:    "https://raw.githubusercontent.com/ybisk/ybisk.github.io/21edab439af693b961be2f069e8690a88d3b4e37/piqa/data/valid-labels.lst",
		}},
		Load: loadPIQA,
	})
}

// piqaFields is a PIQA document as the HF "piqa" dataset holds it.
type piqaFields struct {
	Goal  string `json:"goal"`
	Sol1  string `json:"sol1"`
	Sol2  string `json:"sol2"`
	Label int    `json:"label"`
}

// loadPIQA reads valid.jsonl and the line-aligned valid-labels.lst.
// context = "Question: " + goal + "\nAnswer:", choices [sol1, sol2] raw
// (never stripped: 230 solutions carry edge spaces the harness keeps).
func loadPIQA(dataDir string, _ Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "piqa", "valid.jsonl")
	labelPath := filepath.Join(dataDir, "piqa", "valid-labels.lst")
	labels, err := readLabelLines(labelPath)
	if err != nil {
		return nil, err
	}
	var docs []Doc
	err = readJSONL(path, func(line int, raw []byte) error {
		var rec struct{ Goal, Sol1, Sol2 *string }
		if err := decodeJSON(raw, &rec); err != nil {
			return err
		}
		if err := needAll("goal", rec.Goal, "sol1", rec.Sol1, "sol2", rec.Sol2); err != nil {
			return err
		}
		i := len(docs)
		if i >= len(labels) {
			return fmt.Errorf("document %d has no label: %s has only %d lines (the two files must be line-aligned)", i+1, labelPath, len(labels))
		}
		var gold int
		switch labels[i] {
		case "0":
			gold = 0
		case "1":
			gold = 1
		default:
			return fmt.Errorf("label %s at %s:%d is not 0 or 1", quote(labels[i]), labelPath, i+1)
		}
		f := piqaFields{*rec.Goal, *rec.Sol1, *rec.Sol2, gold}
		docs = append(docs, mcDoc(i, f, "Question: "+f.Goal+"\nAnswer:", []string{f.Sol1, f.Sol2}, gold))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(labels) != len(docs) {
		return nil, fmt.Errorf("%s has %d labels but %s has %d documents; the files must be line-aligned (re-download both)", labelPath, len(labels), path, len(docs))
	}
	return docs, nil
}
