package eval

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/eval/task"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/tokenizer"
)

// TestEncoderLambadaGoldenIDs: the default protocol's token ids of every
// even LAMBADA document equal Hugging Face tokenizers' ids (20B BPE) and
// ChatRWKV's World tokenizer's (shared/reference/tokenizer-*-lambada.jsonl),
// behind the pad encode("\n") = 187 / 11.
func TestEncoderLambadaGoldenIDs(t *testing.T) {
	data := testutil.Shared(t, "data")
	lt, err := task.Lookup("lambada_openai")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := lt.Load(data, task.HarnessV03)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		golden, vocab string
		pad           int
	}{
		{"tokenizer-20B-lambada.jsonl", "20B_tokenizer.json", 187},
		{"tokenizer-world-lambada.jsonl", "rwkv_vocab_v20230424.txt", 11},
	} {
		tok, err := tokenizer.Load(testutil.Shared(t, "tokenizers", c.vocab))
		if err != nil {
			t.Fatal(err)
		}
		if pad := tok.Encode("\n"); !slices.Equal(pad, []int{c.pad}) {
			t.Fatalf("%s: encode(\"\\n\") = %v, want [%d]", c.vocab, pad, c.pad)
		}
		enc := Encoder{Tok: tok, Protocol: task.HarnessV03, Pad: tok.Encode("\n")}
		f, err := os.Open(testutil.Shared(t, "reference", c.golden))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		n := 0
		for sc.Scan() {
			var g struct {
				I      int   `json:"i"`
				Ctx    []int `json:"context_ids"`
				Target []int `json:"target_ids"`
			}
			if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
				t.Fatal(err)
			}
			got, err := enc.Encode(docs[g.I].Requests[0])
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Context, append([]int{c.pad}, g.Ctx...)) || !slices.Equal(got.Continuation, g.Target) {
				t.Fatalf("%s doc %d: got %v | %v, want pad + %v | %v", c.golden, g.I, got.Context, got.Continuation, g.Ctx, g.Target)
			}
			n++
		}
		f.Close()
		if n < 2500 {
			t.Fatalf("%s: only %d documents checked", c.golden, n)
		}
	}
}
