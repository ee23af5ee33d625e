package task

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFileBytes bounds a whole-file read (HEAD-QA's and SciQ's JSON, the
// COPA XML, a label list); the real files are a few MiB at most.
const maxFileBytes = 256 << 20

// openData opens a data file; a missing one gets an error that says how to
// get it.
func openData(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no such file; get the task's files with `rwkv-tools data fetch TASK` or point --data-dir at a directory laid out like shared/data", path)
	}
	return f, err
}

// readFileBounded reads a whole data file, refusing one larger than
// maxFileBytes or not valid UTF-8.
func readFileBounded(path string) ([]byte, error) {
	f, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes; not an evaluation file", path, maxFileBytes)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: no documents (empty file)", path)
	}
	if !utf8.Valid(data) {
		line := 1 + bytes.Count(data[:invalidUTF8At(data)], []byte{'\n'})
		return nil, fmt.Errorf("%s:%d: not valid UTF-8", path, line)
	}
	return data, nil
}

func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// readLabelLines reads a one-label-per-line file (PIQA's valid-labels.lst)
// the way Python's str.splitlines() on the file does for these files: a
// final newline ends the last line; an empty line is an error here
// (Python would yield "" and fail later on the class label).
func readLabelLines(path string) ([]string, error) {
	f, err := openData(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 4096), 4096)
	var out []string
	for sc.Scan() {
		s := strings.TrimSuffix(sc.Text(), "\r")
		if !utf8.ValidString(s) {
			return nil, fmt.Errorf("%s:%d: not valid UTF-8", path, len(out)+1)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("%s:%d: line longer than 4096 bytes; not a label file", path, len(out)+1)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no labels (empty file)", path)
	}
	return out, nil
}

// decodeJSON unmarshals one JSON document into v; fields v does not name
// are allowed (the official files carry more than the harness reads).
func decodeJSON(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("broken JSON: %v", err)
	}
	return nil
}

// need returns the value of a required string field or an error naming it.
func need(name string, p *string) (string, error) {
	if p == nil {
		return "", fmt.Errorf("missing field %q", name)
	}
	return *p, nil
}

// needAll checks several required string fields at once, in order.
func needAll(fields ...any) error {
	for i := 0; i+1 < len(fields); i += 2 {
		if fields[i+1].(*string) == nil {
			return fmt.Errorf("missing field %q", fields[i].(string))
		}
	}
	return nil
}

// pyIsSpace is Python's str.isspace() for one code point: Go's
// unicode.IsSpace plus the separators U+001C..U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is Python's str.strip() with no argument.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyLStrip is Python's str.lstrip() with no argument.
func pyLStrip(s string) string { return strings.TrimLeftFunc(s, pyIsSpace) }

// pyLower is Python's str.lower(): the Unicode full lower-case mapping.
// Go's simple mapping agrees except for U+0130 (İ → "i̇") and the Greek
// final sigma, which Python lower-cases by context; both are handled.
func pyLower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r == 'İ':
			b.WriteString("i\u0307")
		case r == 'Σ' && finalSigma(rs, i):
			b.WriteRune('ς')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is Unicode's Final_Sigma condition as CPython implements it: a
// cased letter (skipping case-ignorable ones) before, none after.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	k := i + 1
	for k < len(rs) && caseIgnorable(rs[k]) {
		k++
	}
	return k == len(rs) || !cased(rs[k])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r)
}

func caseIgnorable(r rune) bool {
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) ||
		r == '\'' || r == '.' || r == ':' || r == '^' || r == '`' || r == 0xb7 || r == 0x2019
}

// fullTitle holds the title-case mappings that expand to more than one code
// point (SpecialCasing.txt); Python's capitalize() uses them, Go's simple
// unicode.ToTitle does not.
var fullTitle = map[rune]string{
	'ß': "Ss", 'ŉ': "ʼN", 'ǰ': "J̌", 'ﬀ': "Ff", 'ﬁ': "Fi", 'ﬂ': "Fl",
	'ﬃ': "Ffi", 'ﬄ': "Ffl", 'ﬅ': "St", 'ﬆ': "St", 'և': "Եւ",
}

// pyCapitalize is Python 3.8+'s str.capitalize(): the first character in
// title case, every other one lower-cased ("hELLO wORLD" → "Hello world").
func pyCapitalize(s string) string {
	if s == "" {
		return s
	}
	r, _ := utf8.DecodeRuneInString(s)
	first, ok := fullTitle[r]
	if !ok {
		first = string(unicode.ToTitle(r))
	}
	// The rest is lower-cased as a whole string so that a final sigma
	// sees its left neighbour, as in CPython (which lower-cases s[1:] with
	// the context of the full string).
	rest := pyLower(s)
	_, m := utf8.DecodeRuneInString(rest)
	if r == 'İ' {
		m = len("i\u0307")
	}
	return first + rest[m:]
}

// lowerFirst is COPA's convert_choice: c[0].lower() + c[1:].
func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	_, n := utf8.DecodeRuneInString(s)
	return pyLower(s[:n]) + s[n:]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// mcDoc builds a multiple-choice document the harness' MultipleChoiceTask
// way: one request per choice with continuation " " + choice, target the
// gold choice's continuation.
func mcDoc(id int, fields any, context string, choices []string, gold int) Doc {
	reqs := make([]Request, len(choices))
	for i, c := range choices {
		reqs[i] = Request{Context: context, Continuation: " " + c}
	}
	return Doc{ID: id, Fields: fields, Target: " " + choices[gold], Requests: reqs, Choices: choices, Gold: gold}
}

// indexFrom is bytes.Index(data[from:], sub) + from, or -1.
func indexFrom(data, sub []byte, from int) int {
	if from > len(data) {
		return -1
	}
	if i := bytes.Index(data[from:], sub); i >= 0 {
		return from + i
	}
	return -1
}

func countNewlines(b []byte) int { return bytes.Count(b, []byte{'\n'}) }
