package task

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
)

// The ARC and OpenBookQA files under ../shared/data are the re-formatted
// copies of brucewlee/nutcracker-db (one JSON object per line: the
// question as "centerpiece", the choice texts in the original order as
// "options", the gold index as "correct_options_idx"), paired line by
// line with AI2's official id + answerKey list (allenai/aristo-leaderboard
// question-answers.jsonl). The official AI2 JSONL (ARC-V1-Feb2018.zip,
// OpenBookQA-V1-Sep2018.zip) is the canonical source; these two files are
// what is available without it, and they give the harness' request list
// byte for byte (see shared/data/README.md and the hash tests).

// mcChoices is the HF "choices" field: {"text": [...], "label": [...]}.
type mcChoices struct {
	Text  []string `json:"text"`
	Label []string `json:"label"`
}

// nutcrackerRow is one line of a re-formatted test.json with its official
// id and answer key.
type nutcrackerRow struct {
	question  string
	options   []string
	gold      int
	id        string
	answerKey string
	labels    []string // reconstructed choice labels, see choiceLabels
}

// readNutcracker reads <task>/test.json and <task>/question-answers.jsonl
// and checks that they agree line by line (same count, and the gold index
// equals the official answer key's position).
func readNutcracker(dataDir, task string) ([]nutcrackerRow, error) {
	path := filepath.Join(dataDir, task, "test.json")
	keyPath := filepath.Join(dataDir, task, "question-answers.jsonl")
	type key struct{ id, answerKey string }
	var keys []key
	err := readJSONL(keyPath, func(line int, raw []byte) error {
		var rec struct{ ID, AnswerKey *string }
		if err := decodeJSON(raw, &rec); err != nil {
			return err
		}
		if err := needAll("id", rec.ID, "answerKey", rec.AnswerKey); err != nil {
			return err
		}
		keys = append(keys, key{*rec.ID, pyStrip(*rec.AnswerKey)})
		return nil
	})
	if err != nil {
		return nil, err
	}
	var rows []nutcrackerRow
	err = readJSONL(path, func(line int, raw []byte) error {
		var rec struct {
			Centerpiece *string         `json:"centerpiece"`
			Options     []string        `json:"options"`
			GoldIdx     json.RawMessage `json:"correct_options_idx"`
		}
		if err := decodeJSON(raw, &rec); err != nil {
			return err
		}
		if rec.Centerpiece == nil {
			return fmt.Errorf(`missing field "centerpiece"`)
		}
		if len(rec.Options) < 2 || len(rec.Options) > 5 {
			return fmt.Errorf(`"options" holds %d choices; ARC and OpenBookQA have 2 to 5`, len(rec.Options))
		}
		var idx []int
		if rec.GoldIdx == nil || json.Unmarshal(rec.GoldIdx, &idx) != nil || len(idx) != 1 {
			return fmt.Errorf(`"correct_options_idx" must be a list of one integer, got %s`, quote(string(rec.GoldIdx)))
		}
		gold := idx[0]
		if gold < 0 || gold >= len(rec.Options) {
			return fmt.Errorf(`"correct_options_idx" %d is outside the %d options`, gold, len(rec.Options))
		}
		i := len(rows)
		if i >= len(keys) {
			return fmt.Errorf("row %d has no official answer key: %s has only %d lines (the files must be line-aligned)", i+1, keyPath, len(keys))
		}
		labels, keyIdx := choiceLabels(keys[i].answerKey, len(rec.Options))
		if keyIdx != gold {
			return fmt.Errorf("gold index %d disagrees with the official answer key %s of %s at %s:%d; the files are not line-aligned (re-download both)",
				gold, quote(keys[i].answerKey), keys[i].id, keyPath, i+1)
		}
		rows = append(rows, nutcrackerRow{*rec.Centerpiece, rec.Options, gold, keys[i].id, keys[i].answerKey, labels})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(keys) != len(rows) {
		return nil, fmt.Errorf("%s has %d answer keys but %s has %d questions; the files must be line-aligned (re-download both)", keyPath, len(keys), path, len(rows))
	}
	return rows, nil
}

// choiceLabels reconstructs the official choice labels, which the
// re-formatted file drops: ARC labels its choices "1".."n" when the answer
// key is numeric (97 ARC-E and 22 ARC-C questions) and "A".."E"
// otherwise. It also returns the answer key's index (-1 if it names no
// choice); v0.3 maps "1".."5" to "A".."E" first, which gives the same.
func choiceLabels(answerKey string, n int) ([]string, int) {
	labels := make([]string, n)
	numeric := false
	if k, err := strconv.Atoi(answerKey); err == nil && k >= 1 && k <= 5 && len(answerKey) == 1 {
		numeric = true
	}
	idx := -1
	for i := range labels {
		if numeric {
			labels[i] = strconv.Itoa(i + 1)
		} else {
			labels[i] = string(rune('A' + i))
		}
		if labels[i] == answerKey {
			idx = i
		}
	}
	return labels, idx
}
