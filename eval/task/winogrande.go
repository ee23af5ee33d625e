package task

import (
	"fmt"
	"path/filepath"
	"strings"
)

func init() {
	register(&Task{
		Name:    "winogrande",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc"},
		// The official distribution is AI2's winogrande_1.1.zip
		// (storage.googleapis.com/ai2-mosaic/public/winogrande/), whose dev
		// split the harness reads as winogrande_xl validation. It publishes
		// no checksum; this is the GitHub copy of its data/ folder that
		// ../shared/data was taken from (the sha256 is of that copy).
		Files: []DataFile{{
			Path:   "winogrande/dev.jsonl",
			SHA256: "1aeac79cf46a3dcbe59a71ca7e5372a1490cde2b4ae2387dc56f00378104d2e8",
			URL:    "https://raw.githubusercontent.com/zhang-edward/WinoGrande/ea61adace986f13f152757273a9b0840887efe65/data/dev.jsonl",
		}},
		Load: loadWinogrande,
	})
}

// winograndeFields is a WinoGrande document as the HF "winogrande"
// dataset holds it.
type winograndeFields struct {
	Sentence string `json:"sentence"`
	Option1  string `json:"option1"`
	Option2  string `json:"option2"`
	Answer   string `json:"answer"`
}

// loadWinogrande reads dev.jsonl (its "answer" field is the label; the
// dev-labels.lst beside it repeats it and is not needed). Partial
// scoring: the two contexts are the sentence up to the blank with each
// option filled in, the continuation is the rest after the blank,
// stripped, behind one space; both choices share it.
func loadWinogrande(dataDir string, p Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "winogrande", "dev.jsonl")
	var docs []Doc
	err := readJSONL(path, func(line int, raw []byte) error {
		var rec struct{ Sentence, Option1, Option2, Answer *string }
		if err := decodeJSON(raw, &rec); err != nil {
			return err
		}
		if err := needAll("sentence", rec.Sentence, "option1", rec.Option1, "option2", rec.Option2, "answer", rec.Answer); err != nil {
			return err
		}
		f := winograndeFields{*rec.Sentence, *rec.Option1, *rec.Option2, *rec.Answer}
		var gold int
		switch f.Answer {
		case "1":
			gold = 0
		case "2":
			gold = 1
		default:
			return fmt.Errorf(`answer %s is not "1" or "2"`, quote(f.Answer))
		}
		blank := strings.IndexByte(f.Sentence, '_')
		if blank < 0 {
			return fmt.Errorf("sentence has no blank '_': %s", quote(f.Sentence))
		}
		cont := " " + pyStrip(f.Sentence[blank+1:])
		reqs := make([]Request, 2)
		for i, opt := range []string{f.Option1, f.Option2} {
			ctx := f.Sentence[:blank] + opt // v0.4's doc_to_choice
			if p == HarnessV03 {
				ctx = winograndeContextV03(f.Sentence[:blank], opt, f.Option1, f.Option2, gold)
			}
			reqs[i] = Request{Context: ctx, Continuation: cont}
		}
		docs = append(docs, Doc{ID: len(docs), Fields: f, Target: cont, Requests: reqs, Choices: []string{f.Option1, f.Option2}, Gold: gold})
		return nil
	})
	return docs, err
}

// winograndeContextV03 is v0.3's append_context(ctx, partial_context(option))
// at zero shots: ctx is the gold-filled prefix, split on "\n\n", its last
// piece replaced by the option-filled prefix. No real sentence holds
// "\n\n", and then this is just prefix + option, as in v0.4.
func winograndeContextV03(prefix, option, opt1, opt2 string, gold int) string {
	goldCtx := prefix + []string{opt1, opt2}[gold]
	pieces := strings.Split(goldCtx, "\n\n")
	pieces[len(pieces)-1] = prefix + option
	return strings.Join(pieces, "\n\n")
}
