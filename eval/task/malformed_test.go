package task

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Small valid files in each official format, for the malformed-data tables.
const (
	piqaLine  = `{"goal": "g", "sol1": "a", "sol2": "b"}` + "\n"
	wgLine    = `{"qID": "x", "sentence": "A _ b.", "option1": "X", "option2": "Y", "answer": "1"}` + "\n"
	nutLine   = `{"centerpiece": "Q?", "options": ["a", "b", "c"], "correct_options_idx": [1]}` + "\n"
	keyLine   = `{"id":"q1","answerKey":"B"}` + "\n"
	boolqLine = `{"question": "q", "passage": "T -- p", "idx": 0, "label": true}` + "\n"
	hsLine    = `{"ind": 1, "activity_label": "A", "ctx_a": "a", "ctx_b": "b", "ctx": "c", "split": "val", "split_type": "indomain", "source_id": "s", "endings": ["x", "y"], "label": 1}` + "\n"
	sciqQ     = `{"question": "q", "distractor1": "a", "distractor2": "b", "distractor3": "c", "correct_answer": "d", "support": "s"}`
	recLine   = `{"idx": 0, "passage": {"text": "Bob met Al.\\n@highlight\\nHi", "entities": [{"start": 0, "end": 2}]}, "qas": [{"idx": 0, "query": "@placeholder met Al", "answers": [{"text": "Bob"}]}]}` + "\n"
	scPath    = "storycloze_2016/" + storyClozeTestFile
	scHeader  = "InputStoryid,InputSentence1,InputSentence2,InputSentence3,InputSentence4,RandomFifthSentenceQuiz1,RandomFifthSentenceQuiz2,AnswerRightEnding\n"
	scRow     = "id1,One.,Two.,Three.,Four.,Good.,Bad.,1\n"
)

// copaXML returns a copa-dev.xml holding items first..last; edit changes
// item 401's attributes and body.
func copaXML(first, last int, attrs401, body401 string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE copa-corpus SYSTEM \"copa.dtd\">\n<copa-corpus version=\"1.0\">\n")
	for id := first; id <= last; id++ {
		attrs := `asks-for="cause" most-plausible-alternative="1"`
		body := "<p>The man fell.</p>\n<a1>He slipped.</a1>\n<a2>He sang.</a2>"
		if id == 401 && attrs401 != "" {
			attrs = attrs401
		}
		if id == 401 && body401 != "" {
			body = body401
		}
		fmt.Fprintf(&b, "  <item id=\"%d\" %s>\n%s\n  </item>\n", id, attrs, body)
	}
	b.WriteString("</copa-corpus>\n")
	return b.String()
}

func headqaJSON(questions string) string {
	return `{"version": "1.0", "language": "en", "exams": {"E1": {"name": "E1", "category": "biology", "year": "2016", "data": [` + "\n" + questions + "\n]}}}\n"
}

const headqaQ = `{"qid": "1", "qtext": "Q?", "ra": "2", "answers": [{"aid": 1, "atext": "a"}, {"aid": 2, "atext": "b"}], "image": ""}`

func TestMalformedData(t *testing.T) {
	type file struct{ path, body string }
	for _, c := range []struct {
		name  string
		task  string
		files []file
		want  []string // substrings of the error; "@path" is replaced by the file's path
	}{
		// PIQA
		{"piqa empty", "piqa", []file{{"piqa/valid.jsonl", ""}, {"piqa/valid-labels.lst", "0\n"}}, []string{"@piqa/valid.jsonl", "empty file"}},
		{"piqa empty labels", "piqa", []file{{"piqa/valid.jsonl", piqaLine}, {"piqa/valid-labels.lst", ""}}, []string{"@piqa/valid-labels.lst", "empty file"}},
		{"piqa broken json", "piqa", []file{{"piqa/valid.jsonl", piqaLine + `{"goal": "g", "sol1"` + "\n"}, {"piqa/valid-labels.lst", "0\n1\n"}}, []string{"@piqa/valid.jsonl:2:", "broken JSON"}},
		{"piqa missing field", "piqa", []file{{"piqa/valid.jsonl", `{"goal": "g", "sol1": "a"}` + "\n"}, {"piqa/valid-labels.lst", "0\n"}}, []string{"@piqa/valid.jsonl:1:", `missing field "sol2"`}},
		{"piqa wrong type", "piqa", []file{{"piqa/valid.jsonl", `{"goal": 3, "sol1": "a", "sol2": "b"}` + "\n"}, {"piqa/valid-labels.lst", "0\n"}}, []string{"@piqa/valid.jsonl:1:", "broken JSON"}},
		{"piqa wrong label", "piqa", []file{{"piqa/valid.jsonl", piqaLine + piqaLine}, {"piqa/valid-labels.lst", "0\n2\n"}}, []string{"@piqa/valid-labels.lst:2", "not 0 or 1"}},
		{"piqa fewer labels", "piqa", []file{{"piqa/valid.jsonl", piqaLine + piqaLine}, {"piqa/valid-labels.lst", "0\n"}}, []string{"@piqa/valid.jsonl:2:", "line-aligned"}},
		{"piqa more labels", "piqa", []file{{"piqa/valid.jsonl", piqaLine}, {"piqa/valid-labels.lst", "0\n1\n"}}, []string{"@piqa/valid-labels.lst", "2 labels", "1 documents", "line-aligned"}},
		{"piqa bad utf8", "piqa", []file{{"piqa/valid.jsonl", piqaLine + "{\"goal\": \"\xff\", \"sol1\": \"a\", \"sol2\": \"b\"}\n"}, {"piqa/valid-labels.lst", "0\n0\n"}}, []string{"@piqa/valid.jsonl:2:", "UTF-8"}},
		{"piqa utf16 file", "piqa", []file{{"piqa/valid.jsonl", "\xff\xfe{\x00\"\x00"}, {"piqa/valid-labels.lst", "0\n"}}, []string{"@piqa/valid.jsonl:1:", "UTF-8"}},
		{"piqa missing file", "piqa", []file{{"piqa/valid.jsonl", piqaLine}}, []string{"@piqa/valid-labels.lst", "no such file", "data fetch"}},
		// WinoGrande
		{"winogrande missing answer", "winogrande", []file{{"winogrande/dev.jsonl", `{"sentence": "A _ b.", "option1": "X", "option2": "Y"}` + "\n"}}, []string{"@winogrande/dev.jsonl:1:", `missing field "answer"`}},
		{"winogrande wrong answer", "winogrande", []file{{"winogrande/dev.jsonl", wgLine + strings.Replace(wgLine, `"answer": "1"`, `"answer": "3"`, 1)}}, []string{"@winogrande/dev.jsonl:2:", `answer "3"`}},
		{"winogrande no blank", "winogrande", []file{{"winogrande/dev.jsonl", strings.Replace(wgLine, "A _ b.", "A b.", 1)}}, []string{"@winogrande/dev.jsonl:1:", "no blank"}},
		{"winogrande empty", "winogrande", []file{{"winogrande/dev.jsonl", "\n\n"}}, []string{"@winogrande/dev.jsonl", "empty file"}},
		// ARC / OpenBookQA (re-formatted file + official keys)
		{"arc fewer keys", "arc_easy", []file{{"arc_easy/test.json", nutLine + nutLine}, {"arc_easy/question-answers.jsonl", keyLine}}, []string{"@arc_easy/test.json:2:", "line-aligned"}},
		{"arc more keys", "arc_easy", []file{{"arc_easy/test.json", nutLine}, {"arc_easy/question-answers.jsonl", keyLine + keyLine}}, []string{"@arc_easy/question-answers.jsonl", "2 answer keys", "1 questions"}},
		{"arc gold disagrees", "arc_challenge", []file{{"arc_challenge/test.json", nutLine}, {"arc_challenge/question-answers.jsonl", `{"id":"q1","answerKey":"C"}` + "\n"}}, []string{"@arc_challenge/test.json:1:", "@arc_challenge/question-answers.jsonl:1", "disagrees"}},
		{"arc gold out of range", "arc_easy", []file{{"arc_easy/test.json", strings.Replace(nutLine, "[1]", "[7]", 1)}, {"arc_easy/question-answers.jsonl", keyLine}}, []string{"@arc_easy/test.json:1:", "outside the 3 options"}},
		{"arc one option", "arc_easy", []file{{"arc_easy/test.json", `{"centerpiece": "Q?", "options": ["a"], "correct_options_idx": [0]}` + "\n"}, {"arc_easy/question-answers.jsonl", keyLine}}, []string{"@arc_easy/test.json:1:", "1 choices"}},
		{"arc missing centerpiece", "arc_easy", []file{{"arc_easy/test.json", `{"options": ["a", "b"], "correct_options_idx": [0]}` + "\n"}, {"arc_easy/question-answers.jsonl", keyLine}}, []string{"@arc_easy/test.json:1:", `missing field "centerpiece"`}},
		{"arc key missing field", "arc_easy", []file{{"arc_easy/test.json", nutLine}, {"arc_easy/question-answers.jsonl", `{"id":"q1"}` + "\n"}}, []string{"@arc_easy/question-answers.jsonl:1:", `missing field "answerKey"`}},
		{"obqa gold list", "openbookqa", []file{{"openbookqa/test.json", strings.Replace(nutLine, "[1]", "[1, 2]", 1)}, {"openbookqa/question-answers.jsonl", keyLine}}, []string{"@openbookqa/test.json:1:", "list of one integer"}},
		// COPA
		{"copa empty", "copa", []file{{"copa/copa-dev.xml", ""}}, []string{"@copa/copa-dev.xml", "empty file"}},
		{"copa broken xml", "copa", []file{{"copa/copa-dev.xml", copaXML(401, 500, "", "<p>The man fell.</p>\n<a1>He slipped.</a2>")}}, []string{"@copa/copa-dev.xml:", "broken"}},
		{"copa wrong label", "copa", []file{{"copa/copa-dev.xml", copaXML(401, 500, `asks-for="cause" most-plausible-alternative="3"`, "")}}, []string{"@copa/copa-dev.xml:4:", "most-plausible-alternative"}},
		{"copa wrong question", "copa", []file{{"copa/copa-dev.xml", copaXML(401, 500, `asks-for="why" most-plausible-alternative="1"`, "")}}, []string{"@copa/copa-dev.xml:4:", "asks-for"}},
		{"copa missing choice", "copa", []file{{"copa/copa-dev.xml", copaXML(401, 500, "", "<p>The man fell.</p>\n<a1>He slipped.</a1>")}}, []string{"@copa/copa-dev.xml:4:", "no <a2>"}},
		{"copa too few items", "copa", []file{{"copa/copa-dev.xml", copaXML(390, 450, "", "")}}, []string{"@copa/copa-dev.xml:", "holds 50 of the items 401-500"}},
		{"copa bad utf8", "copa", []file{{"copa/copa-dev.xml", copaXML(401, 500, "", "<p>The man \xfe.</p>\n<a1>a</a1>\n<a2>b</a2>")}}, []string{"@copa/copa-dev.xml:5:", "UTF-8"}},
		// BoolQ
		{"boolq label not bool", "boolq", []file{{"boolq/val.jsonl", boolqLine + strings.Replace(boolqLine, "true", `"yes"`, 1)}}, []string{"@boolq/val.jsonl:2:", "not true or false"}},
		{"boolq missing idx", "boolq", []file{{"boolq/val.jsonl", `{"question": "q", "passage": "p", "label": true}` + "\n"}}, []string{"@boolq/val.jsonl:1:", `missing field "idx"`}},
		{"boolq missing label", "boolq", []file{{"boolq/val.jsonl", `{"question": "q", "passage": "p", "idx": 0}` + "\n"}}, []string{"@boolq/val.jsonl:1:", `missing field "label"`}},
		{"boolq broken json", "boolq", []file{{"boolq/val.jsonl", boolqLine + boolqLine + "{]\n"}}, []string{"@boolq/val.jsonl:3:", "broken JSON"}},
		// HEAD-QA
		{"headqa broken json", "headqa_en", []file{{"headqa_en/test_HEAD_EN.json", headqaJSON(headqaQ + ",\n" + `{"qid": "2", "qtext": }`)}}, []string{"@headqa_en/test_HEAD_EN.json:3:", "broken JSON"}},
		{"headqa missing qtext", "headqa_en", []file{{"headqa_en/test_HEAD_EN.json", headqaJSON(strings.Replace(headqaQ, `"qtext": "Q?", `, "", 1))}}, []string{"@headqa_en/test_HEAD_EN.json:2: byte 117: exam \"E1\" question 1", `missing field "qtext"`}},
		{"headqa ra out of range", "headqa_en", []file{{"headqa_en/test_HEAD_EN.json", headqaJSON(strings.Replace(headqaQ, `"ra": "2"`, `"ra": "5"`, 1))}}, []string{"@headqa_en/test_HEAD_EN.json:2: byte", "ra 5 names none"}},
		{"headqa qid not int", "headqa_en", []file{{"headqa_en/test_HEAD_EN.json", headqaJSON(strings.Replace(headqaQ, `"qid": "1"`, `"qid": "x"`, 1))}}, []string{"@headqa_en/test_HEAD_EN.json:2: byte", "not an integer"}},
		{"headqa second question", "headqa_en", []file{{"headqa_en/test_HEAD_EN.json", headqaJSON(headqaQ + ",\n" + strings.Replace(headqaQ, `"ra": "2"`, `"ra": "0"`, 1))}}, []string{"@headqa_en/test_HEAD_EN.json:3: byte 235: exam \"E1\" question 2", "ra 0 names none"}},
		{"headqa no exams", "headqa_en", []file{{"headqa_en/test_HEAD_EN.json", `{"version": "1.0"}`}}, []string{"@headqa_en/test_HEAD_EN.json:1:", `missing field "exams"`}},
		{"headqa empty", "headqa_en", []file{{"headqa_en/test_HEAD_EN.json", "  \n"}}, []string{"@headqa_en/test_HEAD_EN.json", "empty file"}},
		// HellaSwag
		{"hellaswag missing ctx", "hellaswag", []file{{"hellaswag/hellaswag_val.jsonl", hsLine + strings.Replace(hsLine, `"ctx": "c", `, "", 1)}}, []string{"@hellaswag/hellaswag_val.jsonl:2:", `missing field "ctx"`}},
		{"hellaswag label out of range", "hellaswag", []file{{"hellaswag/hellaswag_val.jsonl", strings.Replace(hsLine, `"label": 1`, `"label": 4`, 1)}}, []string{"@hellaswag/hellaswag_val.jsonl:1:", "label \"4\" names none of the 2 endings"}},
		{"hellaswag no label", "hellaswag", []file{{"hellaswag/hellaswag_val.jsonl", strings.Replace(hsLine, `, "label": 1`, "", 1)}}, []string{"@hellaswag/hellaswag_val.jsonl:1:", `"label"`}},
		{"hellaswag no endings", "hellaswag", []file{{"hellaswag/hellaswag_val.jsonl", strings.Replace(hsLine, `["x", "y"]`, `[]`, 1)}}, []string{"@hellaswag/hellaswag_val.jsonl:1:", "endings"}},
		{"hellaswag broken json", "hellaswag", []file{{"hellaswag/hellaswag_val.jsonl", hsLine[:30] + "\n"}}, []string{"@hellaswag/hellaswag_val.jsonl:1:", "broken JSON"}},
		// SciQ
		{"sciq not an array", "sciq", []file{{"sciq/test.json", `{"question": "q"}`}}, []string{"@sciq/test.json:1:", "array of questions"}},
		{"sciq missing support", "sciq", []file{{"sciq/test.json", "[\n" + sciqQ + ",\n" + strings.Replace(sciqQ, `, "support": "s"`, "", 1) + "\n]"}}, []string{"@sciq/test.json:3:", "question 2", `missing field "support"`}},
		{"sciq broken json", "sciq", []file{{"sciq/test.json", "[\n" + sciqQ + ",\n{\"question\": }\n]"}}, []string{"@sciq/test.json:3:", "broken JSON"}},
		{"sciq empty array", "sciq", []file{{"sciq/test.json", "[]"}}, []string{"@sciq/test.json:1:", "no questions"}},
		// StoryCloze
		{"storycloze unclosed quote", "storycloze_2016", []file{{scPath, scHeader + scRow + "\"id\",\"open\n"}}, []string{"@" + scPath + ":3:", "not closed"}},
		{"storycloze short row", "storycloze_2016", []file{{scPath, scHeader + scRow + "a,b,c,d,e,f,1\n"}}, []string{"@" + scPath + ":3:", "7 fields, want 8"}},
		{"storycloze wrong answer", "storycloze_2016", []file{{scPath, scHeader + strings.Replace(scRow, ",1\n", ",3\n", 1)}}, []string{"@" + scPath + ":2:", "AnswerRightEnding \"3\""}},
		{"storycloze header only", "storycloze_2016", []file{{scPath, scHeader}}, []string{"@" + scPath, "no stories"}},
		{"storycloze bad utf8", "storycloze_2016", []file{{scPath, scHeader + scRow + "x,\xc3\x28,b,c,d,e,f,1\n"}}, []string{"@" + scPath + ":3:", "UTF-8"}},
		// ReCoRD
		{"record missing passage", "record", []file{{"record/val.jsonl", recLine + `{"idx": 1, "qas": []}` + "\n"}}, []string{"@record/val.jsonl:2:", `"passage"`}},
		{"record no entities", "record", []file{{"record/val.jsonl", strings.Replace(recLine, `[{"start": 0, "end": 2}]`, `[]`, 1)}}, []string{"@record/val.jsonl:1:", "no entities"}},
		{"record no answers", "record", []file{{"record/val.jsonl", strings.Replace(recLine, `[{"text": "Bob"}]`, `[]`, 1)}}, []string{"@record/val.jsonl:1:", "no answers"}},
		{"record span without end", "record", []file{{"record/val.jsonl", strings.Replace(recLine, `"end": 2`, `"stop": 2`, 1)}}, []string{"@record/val.jsonl:1:", "entity 1"}},
		{"record broken json", "record", []file{{"record/val.jsonl", recLine + recLine[:40] + "\n"}}, []string{"@record/val.jsonl:2:", "broken JSON"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range c.files {
				p := filepath.Join(dir, f.path)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(f.body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tk, err := Lookup(c.task)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range Protocols() {
				_, err := tk.Load(dir, p)
				if err == nil {
					t.Fatalf("%s: no error", p)
				}
				if p == HarnessV03 {
					t.Log(err)
				}
				for _, w := range c.want {
					if strings.HasPrefix(w, "@") {
						w = filepath.Join(dir, w[1:])
					}
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s: error %q does not contain %q", p, err, w)
					}
				}
			}
		})
	}
}
