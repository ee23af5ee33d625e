package eval

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const sampleLine = `{"doc_id":3,"doc":{"text":"a b"},"target":" b","arguments":[["a"," b"]],"resps":[[[-1.5,true]]],"filtered_resps":[[-1.5,true]],"acc":1,"ppl":-1.5}`

func TestReadSamplesMalformed(t *testing.T) {
	cases := map[string]string{
		"broken json":       `{"doc_id":`,
		"resp not a pair":   `{"doc_id":0,"filtered_resps":[[-1.5]]}`,
		"ll not a number":   `{"doc_id":0,"filtered_resps":[["x",true]]}`,
		"greedy not a bool": `{"doc_id":0,"filtered_resps":[[-1,1]]}`,
		"metric not number": `{"doc_id":0,"acc":"yes"}`,
		"doc_id a string":   `{"doc_id":"0"}`,
	}
	for name, line := range cases {
		p := filepath.Join(t.TempDir(), "s.jsonl")
		os.WriteFile(p, []byte(sampleLine+"\n"+line+"\n"), 0o644)
		if _, err := ReadSamples(p); err == nil || !strings.Contains(err.Error(), "s.jsonl:2") {
			t.Errorf("%s: err = %v, want one naming line 2", name, err)
		}
	}
	p := filepath.Join(t.TempDir(), "s.jsonl")
	os.WriteFile(p, []byte(sampleLine+"\n"), 0o644)
	s, err := ReadSamples(p)
	if err != nil || len(s) != 1 || s[0].DocID != 3 || s[0].Metrics["acc"] != 1 || s[0].FilteredResps[0] != (Resp{-1.5, true}) {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestNumberNull(t *testing.T) {
	b, _ := json.Marshal(map[string]Number{"x": Number(math.NaN())})
	if string(b) != `{"x":null}` {
		t.Fatalf("%s", b)
	}
	var n Number
	if err := json.Unmarshal([]byte("null"), &n); err != nil || !math.IsNaN(float64(n)) {
		t.Fatalf("%v %v", n, err)
	}
}

// FuzzSampleLine: any line either fails to parse or round-trips to a
// line that parses to the same sample.
func FuzzSampleLine(f *testing.F) {
	f.Add(sampleLine)
	f.Add(`{"doc_id":0,"resps":[],"x":null}`)
	f.Fuzz(func(t *testing.T, line string) {
		var s Sample
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			return
		}
		b, err := json.Marshal(s)
		if err != nil {
			return // e.g. a doc holding values json cannot write back
		}
		var again Sample
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatalf("re-read of %s: %v", b, err)
		}
	})
}
