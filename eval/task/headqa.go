package task

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
)

func init() {
	register(&Task{
		Name:    "headqa_en",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc", "acc_norm"},
		// The canonical source is the HEAD-QA authors' archive (a Google
		// Drive file linked from aghie.github.io/head-qa, the URL harness
		// v0.3's dataset builder downloads), which holds
		// HEAD_EN/test_HEAD_EN.json among much else (79 MB). This is the
		// GitHub copy of that file that ../shared/data was taken from.
		Files: []DataFile{{
			Path:   "headqa_en/test_HEAD_EN.json",
			SHA256: "41f9f178b5d363ecd665f56ecca42deff7834c66f491617cc2687bbcfccd03b7",
			URL:    "https://raw.githubusercontent.com/claudiaqw/head-qa-afi/9a8c0b3be470a1d3a271dac15e9b0ef400e70d75/data/HEAD_EN/test_HEAD_EN.json",
		}},
		Load: loadHeadQA,
	})
}

// headqaAnswer and headqaFields are a HEAD-QA question as the harness'
// dataset builder yields it (texts stripped, qid and ra as integers).
type headqaAnswer struct {
	Aid   int    `json:"aid"`
	Atext string `json:"atext"`
}

type headqaFields struct {
	Name     string         `json:"name"`
	Year     string         `json:"year"`
	Category string         `json:"category"`
	Qid      int            `json:"qid"`
	Qtext    string         `json:"qtext"`
	Ra       int            `json:"ra"`
	Answers  []headqaAnswer `json:"answers"`
}

// loadHeadQA reads test_HEAD_EN.json: exams in the file's key order (the
// builder iterates the JSON object as Python keeps it), each exam's
// questions in order. context = "Question: " + qtext + "\nAnswer:",
// choices = the answer texts, gold = ra - 1. Questions with images stay.
func loadHeadQA(dataDir string, _ Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "headqa_en", "test_HEAD_EN.json")
	data, err := readFileBounded(path)
	if err != nil {
		return nil, err
	}
	docs, err := parseHeadQA(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return docs, nil
}

// parseHeadQA's errors start with a line number.
func parseHeadQA(data []byte) ([]Doc, error) {
	lineAt := func(off int64) int { return 1 + bytes.Count(data[:min(int(off), len(data))], []byte{'\n'}) }
	// The official file is one line, so errors give the byte offset too.
	where := func(off int64) string { return fmt.Sprintf("%d: byte %d", lineAt(off), off) }
	var top struct {
		Exams json.RawMessage `json:"exams"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%s: broken JSON: %v", jsonErrWhere(data, err), err)
	}
	if top.Exams == nil {
		return nil, fmt.Errorf(`1: missing field "exams"`)
	}
	// Walk "exams" as tokens to keep the key order that Go maps lose.
	examsOff := int64(bytes.Index(data, top.Exams))
	dec := json.NewDecoder(bytes.NewReader(top.Exams))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf(`%d: "exams" is not an object`, lineAt(examsOff))
	}
	var docs []Doc
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: broken JSON: %v", where(examsOff+dec.InputOffset()), err)
		}
		examKey, _ := keyTok.(string)
		examOff := examsOff + dec.InputOffset()
		var exam struct {
			Name, Year, Category *string
			Data                 []json.RawMessage
		}
		if err := dec.Decode(&exam); err != nil {
			return nil, fmt.Errorf("%s: exam %s: %v", where(examOff), quote(examKey), err)
		}
		if err := needAll("name", exam.Name, "year", exam.Year, "category", exam.Category); err != nil {
			return nil, fmt.Errorf("%s: exam %s: %v", where(examOff), quote(examKey), err)
		}
		qOff := int(examOff)
		for qi, raw := range exam.Data {
			// raw is a verbatim slice of the file: find it for its offset.
			if at := indexFrom(data, raw, qOff); at >= 0 {
				qOff = at
			}
			at := fmt.Sprintf("%s: exam %s question %d", where(int64(qOff)), quote(examKey), qi+1)
			var q struct {
				Qid, Qtext, Ra *string
				Answers        []struct {
					Aid   *int
					Atext *string
				}
			}
			if err := json.Unmarshal(raw, &q); err != nil {
				return nil, fmt.Errorf("%s: %v", at, err)
			}
			if err := needAll("qid", q.Qid, "qtext", q.Qtext, "ra", q.Ra); err != nil {
				return nil, fmt.Errorf("%s: %v", at, err)
			}
			qid, err := strconv.Atoi(pyStrip(*q.Qid))
			if err != nil {
				return nil, fmt.Errorf("%s: qid %s is not an integer", at, quote(*q.Qid))
			}
			ra, err := strconv.Atoi(pyStrip(*q.Ra))
			if err != nil {
				return nil, fmt.Errorf("%s: ra %s is not an integer", at, quote(*q.Ra))
			}
			if len(q.Answers) == 0 {
				return nil, fmt.Errorf("%s: no answers", at)
			}
			f := headqaFields{Name: pyStrip(*exam.Name), Year: pyStrip(*exam.Year), Category: pyStrip(*exam.Category),
				Qid: qid, Qtext: pyStrip(*q.Qtext), Ra: ra}
			choices := make([]string, len(q.Answers))
			for ai, a := range q.Answers {
				if a.Aid == nil || a.Atext == nil {
					return nil, fmt.Errorf(`%s: answer %d lacks "aid" or "atext"`, at, ai+1)
				}
				choices[ai] = pyStrip(*a.Atext)
				f.Answers = append(f.Answers, headqaAnswer{*a.Aid, choices[ai]})
			}
			if ra < 1 || ra > len(choices) {
				return nil, fmt.Errorf("%s: ra %d names none of the %d answers", at, ra, len(choices))
			}
			docs = append(docs, mcDoc(len(docs), f, "Question: "+f.Qtext+"\nAnswer:", choices, ra-1))
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%d: no questions", lineAt(examsOff))
	}
	return docs, nil
}

// jsonErrWhere is "LINE: byte OFFSET" of a json.Unmarshal error ("1: byte
// 0" if it has no offset).
func jsonErrWhere(data []byte, err error) string {
	var off int64
	switch e := err.(type) {
	case *json.SyntaxError:
		off = e.Offset
	case *json.UnmarshalTypeError:
		off = e.Offset
	}
	off = min(max(off, 0), int64(len(data)))
	return fmt.Sprintf("%d: byte %d", 1+bytes.Count(data[:off], []byte{'\n'}), off)
}
