package task

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// storyClozeTestFile is the 2016 test split's file name as the authors
// distribute it (and as the HF "story_cloze" builder expects it).
const storyClozeTestFile = "cloze_test_test__spring2016 - cloze_test_ALL_test.csv"

func init() {
	register(&Task{
		Name:    "storycloze_2016",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc"},
		// No public download: the authors (cs.rochester.edu/nlp/rocstories)
		// send a link after a request form, so there is no URL and no
		// published checksum. Put the file at this path by hand.
		Files: []DataFile{{Path: "storycloze_2016/" + storyClozeTestFile}},
		Load:  loadStoryCloze,
	})
}

// storyClozeFields is a story as the HF "story_cloze" dataset holds it.
type storyClozeFields struct {
	StoryID           string `json:"story_id"`
	InputSentence1    string `json:"input_sentence_1"`
	InputSentence2    string `json:"input_sentence_2"`
	InputSentence3    string `json:"input_sentence_3"`
	InputSentence4    string `json:"input_sentence_4"`
	SentenceQuiz1     string `json:"sentence_quiz1"`
	SentenceQuiz2     string `json:"sentence_quiz2"`
	AnswerRightEnding int    `json:"answer_right_ending"`
}

// loadStoryCloze reads the 2016 test CSV (header InputStoryid,
// InputSentence1..4, RandomFifthSentenceQuiz1, RandomFifthSentenceQuiz2,
// AnswerRightEnding) as the HF builder does: Python's csv.reader with
// skipinitialspace=True, the header skipped, empty rows skipped.
// context = the four sentences joined by " ", choices = the two endings,
// gold = AnswerRightEnding - 1.
func loadStoryCloze(dataDir string, _ Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "storycloze_2016", storyClozeTestFile)
	data, err := readFileBounded(path)
	if err != nil {
		return nil, err
	}
	return storyClozeDocs(path, data)
}

// storyClozeDocs parses the CSV text of the file at path.
func storyClozeDocs(path string, data []byte) ([]Doc, error) {
	rows, err := pyCSVRows(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	var docs []Doc
	for i, r := range rows {
		if i == 0 {
			continue // the header
		}
		if len(r.fields) == 0 {
			continue
		}
		if len(r.fields) != 8 {
			return nil, fmt.Errorf("%s:%d: %d fields, want 8 (InputStoryid, InputSentence1..4, RandomFifthSentenceQuiz1, RandomFifthSentenceQuiz2, AnswerRightEnding)", path, r.line, len(r.fields))
		}
		x := r.fields
		ans, err := strconv.Atoi(pyStrip(x[7]))
		if err != nil || (ans != 1 && ans != 2) {
			return nil, fmt.Errorf("%s:%d: AnswerRightEnding %s is not 1 or 2", path, r.line, quote(x[7]))
		}
		f := storyClozeFields{x[0], x[1], x[2], x[3], x[4], x[5], x[6], ans}
		ctx := strings.Join([]string{f.InputSentence1, f.InputSentence2, f.InputSentence3, f.InputSentence4}, " ")
		docs = append(docs, mcDoc(len(docs), f, ctx, []string{f.SentenceQuiz1, f.SentenceQuiz2}, ans-1))
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%s: no stories (only a header, or empty)", path)
	}
	return docs, nil
}

type csvRow struct {
	line   int // 1-based line where the record starts
	fields []string
}

// pyCSVRows parses text as Python's csv.reader does with the excel dialect
// (delimiter ',', quotechar '"', doublequote, strict=False) and
// skipinitialspace=True, after open()'s universal newlines turned "\r\n"
// and "\r" into "\n". A record ending inside quotes is an error here
// (Python would silently keep it). Empty lines give empty records.
func pyCSVRows(text string) ([]csvRow, error) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	const (
		startRecord = iota
		startField
		inField
		inQuoted
		quoteInQuoted
	)
	var rows []csvRow
	var fields []string
	var field strings.Builder
	state, line, recLine := startRecord, 1, 1
	endField := func() { fields = append(fields, field.String()); field.Reset() }
	endRecord := func() {
		rows = append(rows, csvRow{recLine, fields})
		fields = nil
		state = startRecord
	}
	for _, c := range text {
		switch state {
		case startRecord:
			recLine = line
			if c == '\n' {
				endRecord()
				break
			}
			state = startField
			fallthrough
		case startField:
			switch c {
			case '\n':
				endField()
				endRecord()
			case '"':
				state = inQuoted
			case ' ':
				// skipinitialspace
			case ',':
				endField()
			default:
				field.WriteRune(c)
				state = inField
			}
		case inField:
			switch c {
			case '\n':
				endField()
				endRecord()
			case ',':
				endField()
				state = startField
			default:
				field.WriteRune(c)
			}
		case inQuoted:
			if c == '"' {
				state = quoteInQuoted
			} else {
				field.WriteRune(c)
			}
		case quoteInQuoted:
			switch c {
			case '"':
				field.WriteRune('"')
				state = inQuoted
			case ',':
				endField()
				state = startField
			case '\n':
				endField()
				endRecord()
			default:
				field.WriteRune(c)
				state = inField
			}
		}
		if c == '\n' {
			line++
		}
	}
	switch state {
	case inQuoted:
		return nil, fmt.Errorf("%d: quoted field not closed before the end of the file", recLine)
	case startField, inField, quoteInQuoted:
		endField()
		endRecord()
	}
	return rows, nil
}
