package task

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// pyJSONString is Python's json.dumps of a str with the default
// ensure_ascii=True: printable ASCII as is, \" \\ \n \r \t \b \f escaped
// short, everything else as lower-case \uXXXX (UTF-16 surrogate pairs
// above the BMP).
func pyJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}

// harnessV03Hash is what harness v0.3.0's tests/test_version_stable.py
// stores in tests/testdata/<task>-v<N>-loglikelihood: the sha256 of
// json.dumps(reqs, sort_keys=True) where reqs is the list of (context,
// continuation) pairs the evaluator passes to loglikelihood: documents in
// HarnessV03Order, each document's requests in construct_requests order.
func harnessV03Hash(docs []Doc, requestOrder func(Doc) []Request) string {
	var b strings.Builder
	b.WriteByte('[')
	first := true
	for _, k := range HarnessV03Order(len(docs)) {
		for _, r := range requestOrder(docs[k]) {
			if !first {
				b.WriteString(", ")
			}
			first = false
			b.WriteByte('[')
			pyJSONString(&b, r.Context)
			b.WriteString(", ")
			pyJSONString(&b, r.Continuation)
			b.WriteByte(']')
		}
	}
	b.WriteByte(']')
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

func TestHarnessV03Order(t *testing.T) {
	// random.Random(42).shuffle(list(range(20))) in CPython 3.
	want := []int{19, 5, 14, 4, 9, 13, 15, 18, 6, 12, 17, 10, 1, 11, 2, 16, 7, 8, 0, 3}
	if got := HarnessV03Order(20); !slices.Equal(got, want) {
		t.Errorf("HarnessV03Order(20) = %v, want %v", got, want)
	}
	got := HarnessV03Order(1838)
	if !slices.Equal(got[:10], []int{717, 241, 568, 626, 1139, 296, 1255, 1834, 1752, 695}) || !slices.Equal(got[1833:], []int{563, 1518, 51, 228, 1309}) {
		t.Errorf("HarnessV03Order(1838) = %v ... %v", got[:10], got[1833:])
	}
	if len(HarnessV03Order(0)) != 0 || !slices.Equal(HarnessV03Order(1), []int{0}) {
		t.Error("HarnessV03Order of 0 or 1 documents")
	}
}

// TestHarnessV03RequestHashes is the strongest check there is without
// Python: the full request list of every task with data in ../shared,
// built with protocol harness-v0.3, hashes to the value harness v0.3.0
// recorded for its own regression tests (tests/testdata at tag v0.3.0).
func TestHarnessV03RequestHashes(t *testing.T) {
	dir := testutil.Shared(t, "data")
	inOrder := func(d Doc) []Request { return d.Requests }
	// BoolQ v1's construct_requests asks " yes" before " no".
	yesNo := func(d Doc) []Request { return []Request{d.Requests[1], d.Requests[0]} }
	// LAMBADA's construct_requests returns the request's two halves (ll,
	// is_greedy) as two Request objects with the same arguments, and the
	// v0.3 evaluator lists both: every pair appears twice in a row.
	twice := func(d Doc) []Request { return []Request{d.Requests[0], d.Requests[0]} }
	for _, c := range []struct {
		task, file string
		docs       int
		order      func(Doc) []Request
		want       string
	}{
		{"lambada_openai", "lambada_openai-v0-loglikelihood", 5153, twice, "6829e6a8aa5922e6c92dd31403cc060f242dc0ede4a775e085a70da095ab2e20"},
		{"piqa", "piqa-v0-loglikelihood", 1838, inOrder, "6048a3a2bb3ad1e6a3d98139618e06b4d7de766edd685bd38837596199c3f69f"},
		{"winogrande", "winogrande-v0-loglikelihood", 1267, inOrder, "90a3eff49de9173964d46f5ed57bcf9a78a72dd1bfe0e5323b25cebb40b49ea9"},
		{"arc_easy", "arc_easy-v0-loglikelihood", 2376, inOrder, "ffa6e39a35a16299dcb015f17f986aaa598ad8b4840c4cebe0339a7042232741"},
		{"arc_challenge", "arc_challenge-v0-loglikelihood", 1172, inOrder, "41c34c96cca8ace661911d0033d630c554b283f5a3953bcdc50720ae6b00a9c1"},
		{"openbookqa", "openbookqa-v0-loglikelihood", 500, inOrder, "78a49a0ca1a47373adb33463b1d092e6bc0d8f4b01bcb380ada48065037849d7"},
		{"copa", "copa-v0-loglikelihood", 100, inOrder, "66276b9045b5300cba4b81340db06f674f031fa0b8883714ad0d03be464cd799"},
		{"boolq", "boolq-v1-loglikelihood", 3270, yesNo, "6577e0d88572772ef08e64f624c0e3df0953286ae1f118ccef15623b59ffeabf"},
		{"headqa_en", "headqa_en-v0-loglikelihood", 2742, inOrder, "09da45119b12a0144e3081f8fb790c2a22af7b9c3aac42f54423d348a711fbf5"},
	} {
		t.Run(c.task, func(t *testing.T) {
			tk, err := Lookup(c.task)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(c.file, fmt.Sprintf("%s-v%d-", tk.Name, tk.Version)) {
				t.Errorf("Task.Version %d does not match the harness file %s", tk.Version, c.file)
			}
			docs, err := tk.Load(dir, HarnessV03)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != c.docs {
				t.Fatalf("%d documents, want %d", len(docs), c.docs)
			}
			if got := harnessV03Hash(docs, c.order); got != c.want {
				t.Errorf("request-list sha256 %s, harness v0.3.0 %s records %s", got, c.file, c.want)
			}
		})
	}
}
