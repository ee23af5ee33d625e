package task

import (
	"encoding/json"
	"fmt"
	"path/filepath"
)

func init() {
	register(&Task{
		Name:    "sciq",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc", "acc_norm"},
		// AI2's SciQ.zip, which the HF "sciq" builder downloads; the
		// archive's sha256 is the one it records. No checksum of the test
		// file itself is published.
		Files: []DataFile{{
			Path:          "sciq/test.json",
			URL:           "https://s3-us-west-2.amazonaws.com/ai2-website/data/SciQ.zip",
			Member:        "SciQ dataset-2 3/test.json",
			ArchiveSHA256: "7f3312f6ac6b09970b32942d106a8c44ec0dad46a0369f17d635aff8e348a87c",
		}},
		Load: loadSciQ,
	})
}

// sciqFields is a SciQ question as the HF "sciq" dataset holds it.
type sciqFields struct {
	Question      string `json:"question"`
	Distractor3   string `json:"distractor3"`
	Distractor1   string `json:"distractor1"`
	Distractor2   string `json:"distractor2"`
	CorrectAnswer string `json:"correct_answer"`
	Support       string `json:"support"`
}

// loadSciQ reads SciQ's test.json (one JSON array of questions).
// choices = [distractor1, distractor2, distractor3, correct_answer],
// gold = 3. context, v0.3: (support + "\nQuestion: " + question +
// "\nAnswer:").strip(); v0.4: support.lstrip() + "\nQuestion: " + … —
// they differ only for an empty or blank support, where v0.4 keeps the
// leading "\n".
func loadSciQ(dataDir string, p Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "sciq", "test.json")
	data, err := readFileBounded(path)
	if err != nil {
		return nil, err
	}
	docs, err := parseSciQ(data, p)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return docs, nil
}

// parseSciQ's errors start with a line number.
func parseSciQ(data []byte, p Protocol) ([]Doc, error) {
	var rows []json.RawMessage
	if err := json.Unmarshal(data, &rows); err != nil {
		return nil, fmt.Errorf("%s: broken JSON (want an array of questions): %v", jsonErrWhere(data, err), err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("1: no questions")
	}
	docs := make([]Doc, 0, len(rows))
	off := 0
	for i, raw := range rows {
		// Each raw row is a verbatim slice of the file: find it for its line.
		line := 1
		if at := indexFrom(data, raw, off); at >= 0 {
			line += countNewlines(data[:at])
			off = at + len(raw)
		}
		var rec struct {
			Question      *string `json:"question"`
			Distractor1   *string `json:"distractor1"`
			Distractor2   *string `json:"distractor2"`
			Distractor3   *string `json:"distractor3"`
			CorrectAnswer *string `json:"correct_answer"`
			Support       *string `json:"support"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("%d: question %d: %v", line, i+1, err)
		}
		if err := needAll("question", rec.Question, "distractor1", rec.Distractor1, "distractor2", rec.Distractor2,
			"distractor3", rec.Distractor3, "correct_answer", rec.CorrectAnswer, "support", rec.Support); err != nil {
			return nil, fmt.Errorf("%d: question %d: %v", line, i+1, err)
		}
		f := sciqFields{*rec.Question, *rec.Distractor3, *rec.Distractor1, *rec.Distractor2, *rec.CorrectAnswer, *rec.Support}
		ctx := pyStrip(f.Support + "\nQuestion: " + f.Question + "\nAnswer:")
		if p == HarnessV04 {
			ctx = pyLStrip(f.Support) + "\nQuestion: " + f.Question + "\nAnswer:"
		}
		docs = append(docs, mcDoc(i, f, ctx, []string{f.Distractor1, f.Distractor2, f.Distractor3, f.CorrectAnswer}, 3))
	}
	return docs, nil
}
