package task

import (
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets: one per loader family (line-oriented JSON, COPA's XML,
// HEAD-QA's and SciQ's whole-file JSON, StoryCloze's CSV). Locally, e.g.
//
//	go test -run '^$' -fuzz '^FuzzCOPA$' -fuzztime 20s -fuzzminimizetime 1x ./eval/task
//
// (the default minimization of the multi-KiB seeds otherwise eats the run).

// checkDocs asserts what every loader promises of a document list it
// returns without error.
func checkDocs(t *testing.T, tk *Task, docs []Doc) {
	t.Helper()
	if len(docs) == 0 {
		t.Fatalf("%s: no documents and no error", tk.Name)
	}
	for i, d := range docs {
		if d.ID != i || len(d.Requests) == 0 || d.Fields == nil {
			t.Fatalf("%s doc %d: ID %d, %d requests, fields %v", tk.Name, i, d.ID, len(d.Requests), d.Fields)
		}
		switch tk.Kind {
		case MultipleChoice:
			if len(d.Choices) != len(d.Requests) || d.Gold < 0 || d.Gold >= len(d.Choices) || d.Target != d.Requests[d.Gold].Continuation {
				t.Fatalf("%s doc %d: %d choices, %d requests, gold %d, target %q", tk.Name, i, len(d.Choices), len(d.Requests), d.Gold, d.Target)
			}
		case Entities:
			if len(d.Choices) != len(d.Requests) || d.Gold != -1 || len(d.Answers) == 0 {
				t.Fatalf("%s doc %d: %d entities, %d requests, gold %d, %d answers", tk.Name, i, len(d.Choices), len(d.Requests), d.Gold, len(d.Answers))
			}
		case Loglikelihood:
			if len(d.Requests) != 1 || d.Gold != -1 {
				t.Fatalf("%s doc %d: %d requests, gold %d", tk.Name, i, len(d.Requests), d.Gold)
			}
		}
	}
}

// fuzzLoad writes the files and loads the task with both protocols.
func fuzzLoad(t *testing.T, task string, files map[string][]byte) {
	dir := t.TempDir()
	for rel, body := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := Lookup(task)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range Protocols() {
		docs, err := tk.Load(dir, p)
		if err == nil {
			checkDocs(t, tk, docs)
		}
	}
}

// FuzzJSONLLoaders covers the line-oriented JSON loaders; aux is the
// companion file (PIQA labels, ARC answer keys) where there is one.
func FuzzJSONLLoaders(f *testing.F) {
	f.Add([]byte(piqaLine+piqaLine), []byte("0\n1\n"), uint8(0))
	f.Add([]byte(wgLine), []byte(nil), uint8(1))
	f.Add([]byte(boolqLine), []byte(nil), uint8(2))
	f.Add([]byte(nutLine), []byte(keyLine), uint8(3))
	f.Add([]byte(`{"text": "a b c"}`+"\n"), []byte(nil), uint8(4))
	f.Add([]byte(nutLine), []byte(keyLine), uint8(5))
	f.Add(readTestdata(f, "hellaswag/hellaswag_val.jsonl"), []byte(nil), uint8(6))
	f.Add(readTestdata(f, "record/val.jsonl"), []byte(nil), uint8(7))
	f.Fuzz(func(t *testing.T, data, aux []byte, which uint8) {
		switch which % 8 {
		case 0:
			fuzzLoad(t, "piqa", map[string][]byte{"piqa/valid.jsonl": data, "piqa/valid-labels.lst": aux})
		case 1:
			fuzzLoad(t, "winogrande", map[string][]byte{"winogrande/dev.jsonl": data})
		case 2:
			fuzzLoad(t, "boolq", map[string][]byte{"boolq/val.jsonl": data})
		case 3:
			fuzzLoad(t, "arc_easy", map[string][]byte{"arc_easy/test.json": data, "arc_easy/question-answers.jsonl": aux})
		case 4:
			fuzzLoad(t, "lambada_openai", map[string][]byte{"lambada_openai/lambada_test.jsonl": data})
		case 5:
			fuzzLoad(t, "openbookqa", map[string][]byte{"openbookqa/test.json": data, "openbookqa/question-answers.jsonl": aux})
		case 6:
			fuzzLoad(t, "hellaswag", map[string][]byte{"hellaswag/hellaswag_val.jsonl": data})
		case 7:
			fuzzLoad(t, "record", map[string][]byte{"record/val.jsonl": data})
		}
	})
}

func FuzzCOPA(f *testing.F) {
	f.Add([]byte(copaXML(401, 500, "", "")))
	f.Add([]byte(copaXML(401, 500, `asks-for="effect" most-plausible-alternative="2"`, "<p>É.</p><a1>Éa</a1><a2>b</a2>")))
	f.Add([]byte(copaXML(1, 3, "", "")))
	tk, _ := Lookup("copa")
	// In memory: the fuzzer minimizes big inputs, and file I/O per run
	// would make that crawl.
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := parseCOPA(data)
		if err != nil {
			return
		}
		for _, p := range Protocols() {
			checkDocs(t, tk, copaDocs(items, p))
		}
	})
}

func FuzzHeadQA(f *testing.F) {
	f.Add([]byte(headqaJSON(headqaQ)))
	f.Add([]byte(headqaJSON(headqaQ + ",\n" + headqaQ)))
	tk, _ := Lookup("headqa_en")
	f.Fuzz(func(t *testing.T, data []byte) {
		if docs, err := parseHeadQA(data); err == nil {
			checkDocs(t, tk, docs)
		}
	})
}

func FuzzSciQ(f *testing.F) {
	f.Add(readTestdata(f, "sciq/test.json"))
	tk, _ := Lookup("sciq")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range Protocols() {
			if docs, err := parseSciQ(data, p); err == nil {
				checkDocs(t, tk, docs)
			}
		}
	})
}

func FuzzStoryCloze(f *testing.F) {
	f.Add(readTestdata(f, "storycloze_2016/"+storyClozeTestFile))
	f.Add([]byte(scHeader + scRow))
	tk, _ := Lookup("storycloze_2016")
	f.Fuzz(func(t *testing.T, data []byte) {
		if docs, err := storyClozeDocs("x.csv", data); err == nil {
			checkDocs(t, tk, docs)
		}
	})
}

func readTestdata(f *testing.F, rel string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		f.Fatal(err)
	}
	return b
}
