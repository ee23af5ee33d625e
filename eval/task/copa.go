package task

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
)

func init() {
	register(&Task{
		Name:    "copa",
		Version: 0,
		Kind:    MultipleChoice,
		Metrics: []string{"acc"},
		// COPA's author distributes COPA-resources.tgz (formerly at
		// people.ict.usc.edu/~gordon, now from his GitHub Pages repository
		// asgordon/asgordon.github.io; this is the file at the commit
		// ../shared/data was taken from). The harness reads SuperGLUE's
		// COPA.zip instead, whose validation split is items 401-500 of
		// this archive's copa-dev.xml.
		Files: []DataFile{{
			Path:          "copa/copa-dev.xml",
			SHA256:        "6251d7d99de4cbc6a2c3323923213e5e73071d286039b97a0908736e2be093bc",
			URL:           "https://raw.githubusercontent.com/asgordon/asgordon.github.io/9af88e4a2447e59afb220ade82b4a355da8fa1d6/downloads/COPA-resources.tgz",
			Member:        "COPA-resources/datasets/copa-dev.xml",
			ArchiveSHA256: "5145348834d2081ad90da0397d1db3d70fa044e506bd8ce224194d24b04cdbbe",
		}},
		Load: loadCOPA,
	})
}

// copaFields is a COPA item as the HF "super_glue"/"copa" dataset holds it.
type copaFields struct {
	Premise  string `json:"premise"`
	Choice1  string `json:"choice1"`
	Choice2  string `json:"choice2"`
	Question string `json:"question"`
	Idx      int    `json:"idx"`
	Label    int    `json:"label"`
}

// SuperGLUE's COPA validation split is copa-dev.xml's items 401..500.
const copaFirst, copaLast = 401, 500

// loadCOPA reads copa-dev.xml and maps items 401-500 to SuperGLUE's
// validation split: premise=<p>, choice1=<a1>, choice2=<a2>,
// question=asks-for, label=most-plausible-alternative-1.
// context = premise.strip()[:-1] + " because"|" therefore"; the choices
// get their first letter lower-cased; the continuation is " " + choice
// (v0.3) or "  " + choice (v0.4: its doc_to_choice adds a space and so
// does the default target delimiter).
func loadCOPA(dataDir string, p Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "copa", "copa-dev.xml")
	data, err := readFileBounded(path)
	if err != nil {
		return nil, err
	}
	items, err := parseCOPA(data)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return copaDocs(items, p), nil
}

// copaDocs builds the requests of the parsed items.
func copaDocs(items []copaFields, p Protocol) []Doc {
	delim := " "
	if p == HarnessV04 {
		delim = "  "
	}
	docs := make([]Doc, len(items))
	for i, it := range items {
		connector := map[string]string{"cause": "because", "effect": "therefore"}[it.Question]
		premise := pyStrip(it.Premise)
		ctx := premise[:len(premise)-lastRuneLen(premise)] + " " + connector
		c1, c2 := lowerFirst(it.Choice1), lowerFirst(it.Choice2)
		// Choices are the continuations minus the one target delimiter:
		// v0.4's doc_to_choice strings (with their own space), v0.3's bare.
		d := Doc{ID: i, Fields: it, Choices: []string{delim[1:] + c1, delim[1:] + c2}, Gold: it.Label,
			Requests: []Request{{ctx, delim + c1}, {ctx, delim + c2}}}
		d.Target = d.Requests[it.Label].Continuation
		docs[i] = d
	}
	return docs
}

// parseCOPA returns items 401..500 in file order; an error starts with the
// line number (the caller prefixes the path).
func parseCOPA(data []byte) ([]copaFields, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	var items []copaFields
	seen := map[int]bool{}
	for {
		line, _ := dec.InputPos()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%d: broken XML: %v", line, err)
		}
		start, ok := tok.(xml.StartElement)
		if !ok || start.Name.Local != "item" {
			continue
		}
		line, _ = dec.InputPos()
		var rec struct {
			ID      string  `xml:"id,attr"`
			AsksFor string  `xml:"asks-for,attr"`
			Answer  string  `xml:"most-plausible-alternative,attr"`
			P       *string `xml:"p"`
			A1      *string `xml:"a1"`
			A2      *string `xml:"a2"`
		}
		if err := dec.DecodeElement(&rec, &start); err != nil {
			return nil, fmt.Errorf("%d: broken <item>: %v", line, err)
		}
		id, err := strconv.Atoi(rec.ID)
		if err != nil {
			return nil, fmt.Errorf("%d: <item> id %s is not a number", line, quote(rec.ID))
		}
		if id < copaFirst || id > copaLast {
			continue
		}
		if seen[id] {
			return nil, fmt.Errorf("%d: <item> id %d appears twice", line, id)
		}
		seen[id] = true
		if id != copaFirst+len(items) {
			return nil, fmt.Errorf("%d: <item> id %d out of order (expected %d next)", line, id, copaFirst+len(items))
		}
		for _, f := range []struct {
			name string
			v    *string
		}{{"<p>", rec.P}, {"<a1>", rec.A1}, {"<a2>", rec.A2}} {
			if f.v == nil || *f.v == "" {
				return nil, fmt.Errorf("%d: <item> %d has no %s text", line, id, f.name)
			}
		}
		if rec.AsksFor != "cause" && rec.AsksFor != "effect" {
			return nil, fmt.Errorf(`%d: <item> %d asks-for=%s, want "cause" or "effect"`, line, id, quote(rec.AsksFor))
		}
		if rec.Answer != "1" && rec.Answer != "2" {
			return nil, fmt.Errorf(`%d: <item> %d most-plausible-alternative=%s, want "1" or "2"`, line, id, quote(rec.Answer))
		}
		if pyStrip(*rec.P) == "" {
			return nil, fmt.Errorf("%d: <item> %d has an empty premise", line, id)
		}
		items = append(items, copaFields{Premise: *rec.P, Choice1: *rec.A1, Choice2: *rec.A2,
			Question: rec.AsksFor, Idx: len(items), Label: int(rec.Answer[0] - '1')})
	}
	if len(items) != copaLast-copaFirst+1 {
		return nil, fmt.Errorf("%d: holds %d of the items %d-%d (SuperGLUE's validation split); want all %d",
			bytes.Count(data, []byte{'\n'})+1, len(items), copaFirst, copaLast, copaLast-copaFirst+1)
	}
	return items, nil
}

func lastRuneLen(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i]&0xC0 != 0x80 {
			return len(s) - i
		}
	}
	return len(s)
}
