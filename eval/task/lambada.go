package task

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

func init() {
	register(&Task{
		Name:    "lambada_openai",
		Version: 0,
		Kind:    Loglikelihood,
		Metrics: []string{"ppl", "acc"},
		Files: []DataFile{{
			Path:   "lambada_openai/lambada_test.jsonl",
			SHA256: "4aa8d02cd17c719165fc8a7887fddd641f43fcafa4b1c806ca8abc31fabdb226",
			URL:    "https://openaipublic.blob.core.windows.net/gpt-2/data/lambada_test.jsonl",
		}},
		Load: loadLambada,
	})
}

// maxLineBytes bounds one JSONL line; real eval files stay far below it.
const maxLineBytes = 16 << 20

// loadLambada reads OpenAI's LAMBADA test file: one {"text": …} per line.
// context = text up to the last ASCII space, continuation = " " + last
// word (split on ' ' only, so a target may hold newlines or quotes).
func loadLambada(dataDir string, _ Protocol) ([]Doc, error) {
	path := filepath.Join(dataDir, "lambada_openai", "lambada_test.jsonl")
	var docs []Doc
	err := readJSONL(path, func(line int, raw []byte) error {
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return err
		}
		if rec.Text == nil {
			return fmt.Errorf(`missing field "text"`)
		}
		i := strings.LastIndexByte(*rec.Text, ' ')
		if i < 0 {
			return fmt.Errorf("text has no space, so no target word: %s", quote(*rec.Text))
		}
		ctx, word := (*rec.Text)[:i], (*rec.Text)[i+1:]
		docs = append(docs, Doc{
			ID:       len(docs),
			Fields:   map[string]string{"text": *rec.Text},
			Target:   " " + word,
			Requests: []Request{{Context: ctx, Continuation: " " + word}},
			Gold:     -1,
		})
		return nil
	})
	return docs, err
}

// readJSONL calls fn for every non-empty line of a JSONL file; an error
// names the file and the 1-based line. Lines must be UTF-8.
func readJSONL(path string, fn func(line int, raw []byte) error) error {
	f, err := openData(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLineBytes)
	n, seen := 0, 0
	for sc.Scan() {
		n++
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		if !utf8.Valid(raw) {
			return fmt.Errorf("%s:%d: not valid UTF-8", path, n)
		}
		if err := fn(n, raw); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
		seen++
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return fmt.Errorf("%s:%d: line longer than %d bytes", path, n+1, maxLineBytes)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	if seen == 0 {
		return fmt.Errorf("%s: no documents (empty file)", path)
	}
	return nil
}

// quote shows untrusted text in a message: at most 80 bytes, quoted.
func quote(s string) string {
	if len(s) > 80 {
		cut := 80
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return fmt.Sprintf("%q…", s[:cut])
	}
	return fmt.Sprintf("%q", s)
}
