package task

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

// sharedTaskCounts are the official split sizes (shared/data/README.md).
var sharedTaskCounts = map[string]int{
	"lambada_openai": 5153, "piqa": 1838, "winogrande": 1267, "copa": 100, "boolq": 3270,
	"headqa_en": 2742, "arc_easy": 2376, "arc_challenge": 1172, "openbookqa": 500,
}

// loadShared loads a task from shared/data once per protocol.
var loadedShared = map[string][]Doc{}

func loadShared(t *testing.T, name string, p Protocol) []Doc {
	t.Helper()
	key := name + "/" + string(p)
	if docs, ok := loadedShared[key]; ok {
		return docs
	}
	tk, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := tk.Load(testutil.Shared(t, "data"), p)
	if err != nil {
		t.Fatal(err)
	}
	loadedShared[key] = docs
	return docs
}

// TestGoldenRequests compares the first two documents of every task with
// data in shared/data, for both protocols, with testdata/golden-requests.jsonl,
// which testdata/gen_golden.py wrote from the raw files with the harness'
// own Python expressions (an independent implementation).
func TestGoldenRequests(t *testing.T) {
	f, err := os.Open("testdata/golden-requests.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	seen := map[string]bool{}
	for sc.Scan() {
		var g struct {
			Task     string
			Protocol Protocol
			Doc      int
			Gold     int
			Requests [][2]string
		}
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatal(err)
		}
		seen[g.Task] = true
		docs := loadShared(t, g.Task, g.Protocol)
		if len(docs) != sharedTaskCounts[g.Task] {
			t.Errorf("%s: %d documents, want %d", g.Task, len(docs), sharedTaskCounts[g.Task])
		}
		d := docs[g.Doc]
		if d.ID != g.Doc || d.Gold != g.Gold {
			t.Errorf("%s %s doc %d: ID %d gold %d, want gold %d", g.Task, g.Protocol, g.Doc, d.ID, d.Gold, g.Gold)
		}
		if len(d.Requests) != len(g.Requests) {
			t.Fatalf("%s %s doc %d: %d requests, want %d", g.Task, g.Protocol, g.Doc, len(d.Requests), len(g.Requests))
		}
		for i, r := range d.Requests {
			if r.Context != g.Requests[i][0] || r.Continuation != g.Requests[i][1] {
				t.Errorf("%s %s doc %d request %d:\n got %q / %q\nwant %q / %q", g.Task, g.Protocol, g.Doc, i,
					r.Context, r.Continuation, g.Requests[i][0], g.Requests[i][1])
			}
		}
		if g.Gold >= 0 && d.Target != d.Requests[g.Gold].Continuation {
			t.Errorf("%s doc %d: target %q is not the gold continuation", g.Task, g.Doc, d.Target)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != len(sharedTaskCounts) {
		t.Errorf("golden file covers %d tasks, want %d", len(seen), len(sharedTaskCounts))
	}
}

// TestGoldenTokenIDs pins the 20B (GPT-NeoX) token ids of the last request
// of the first document of every task, encoded the harness-v0.3 way
// (context and continuation separately): the context's length and last
// ids, and the continuation's ids. Single-token pieces are cross-checked
// against the vocabulary file itself.
func TestGoldenTokenIDs(t *testing.T) {
	path := testutil.Shared(t, "tokenizers", "20B_tokenizer.json")
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		task    string
		ctxLen  int
		ctxTail []int
		cont    []int
	}{
		{"lambada_openai", 90, []int{13224, 23805, 13, 309, 1053, 626, 1557, 670}, []int{7871}},
		{"piqa", 19, []int{352, 434, 747, 42448, 32, 187, 32869, 27}, []int{9225, 504, 253, 40315, 8393, 342, 247, 22133, 2120, 273, 247, 1643, 13048, 273, 3722, 5361, 1160, 273, 30548, 27929, 2144, 13, 368, 588, 671, 878, 281, 6186, 352, 342, 247, 1824, 11996, 285, 247, 2739, 11609, 15}},
		{"winogrande", 10, []int{247, 1199, 1805, 20997, 685, 17100, 594, 17100}, []int{1900, 1694, 253, 6927, 2219, 15}},
		{"arc_easy", 20, []int{273, 954, 2739, 3829, 32, 187, 32869, 27}, []int{380, 18014, 275, 512, 36870, 403, 6244, 15}},
		{"arc_challenge", 33, []int{436, 2572, 275, 9381, 32, 187, 32869, 27}, []int{9224, 12745, 12926, 588, 2489, 10046, 15}},
		{"openbookqa", 40, []int{253, 1682, 1039, 281, 5321, 2583, 310, 281}, []int{452, 11157, 342, 3858}},
		{"copa", 9, []int{637, 3531, 327, 253, 4195, 1028, 292, 3103}, []int{1824, 41115, 432, 253, 653, 483, 15}},
		{"boolq", 278, []int{2341, 1056, 326, 11330, 32, 187, 32869, 27}, []int{4754}},
		{"headqa_en", 13, []int{342, 1029, 38383, 4757, 27, 187, 32869, 27}, []int{8694, 19644, 40786}},
	} {
		docs := loadShared(t, c.task, HarnessV03)
		r := docs[0].Requests[len(docs[0].Requests)-1]
		ctx, cont := tok.Encode(r.Context), tok.Encode(r.Continuation)
		if len(ctx) != c.ctxLen || !slices.Equal(ctx[len(ctx)-len(c.ctxTail):], c.ctxTail) || !slices.Equal(cont, c.cont) {
			t.Errorf("%s: context %d ids ending %v, continuation %v; want %d ending %v, %v",
				c.task, len(ctx), ctx[max(0, len(ctx)-8):], cont, c.ctxLen, c.ctxTail, c.cont)
		}
	}

	// COPA under harness-v0.4: the continuation "  the toilet…" starts with
	// two spaces, which the tokenizer cuts out as the added token "  "
	// (50276) before pre-tokenizing, so "the" loses its space. Joint
	// encoding gives the same ids here (the context ends in a word).
	r := loadShared(t, "copa", HarnessV04)[0].Requests[0]
	joint := tok.Encode(r.Context + r.Continuation)
	wantCont := []int{50276, 783, 21487, 6898, 342, 1824, 15}
	if got := joint[len(tok.Encode(r.Context)):]; !slices.Equal(got, wantCont) || !slices.Equal(tok.Encode(r.Continuation), wantCont) {
		t.Errorf("copa v0.4 continuation ids %v (alone %v), want %v", got, tok.Encode(r.Continuation), wantCont)
	}

	// Independent check of single-token pieces against the vocabulary.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var vocab struct {
		Model       struct{ Vocab map[string]int }
		AddedTokens []struct {
			ID      int
			Content string
		} `json:"added_tokens"`
	}
	if err := json.Unmarshal(raw, &vocab); err != nil {
		t.Fatal(err)
	}
	for piece, id := range map[string]int{"Ġyes": 4754, "Ġno": 642, "Ġsigns": 7871, "the": 783, "Ċ": 187, "Answer": 32869, ":": 27} {
		if vocab.Model.Vocab[piece] != id {
			t.Errorf("vocab[%q] = %d, the golden ids assume %d", piece, vocab.Model.Vocab[piece], id)
		}
	}
	if !slices.ContainsFunc(vocab.AddedTokens, func(a struct {
		ID      int
		Content string
	}) bool {
		return a.ID == 50276 && a.Content == "  "
	}) {
		t.Error(`added token 50276 is not "  "`)
	}
}
