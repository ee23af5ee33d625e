package task

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

func TestLambadaRequests(t *testing.T) {
	dir := testutil.Shared(t, "data")
	tk, err := Lookup("lambada")
	if err != nil {
		t.Fatal(err)
	}
	docs, err := tk.Load(dir, HarnessV03)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 5153 {
		t.Fatalf("%d documents, want 5153", len(docs))
	}
	// The first document of OpenAI's file.
	r := docs[0].Requests[0]
	if !strings.HasPrefix(r.Context, "In my palm is a clear stone, and inside it is a small ivory statuette.") || r.Continuation != " signs" {
		t.Errorf("doc 0: %q / %q", r.Context[:60], r.Continuation)
	}
	for _, d := range docs {
		rq := d.Requests[0]
		if rq.Context+rq.Continuation != d.Fields.(map[string]string)["text"] || strings.Contains(rq.Continuation[1:], " ") {
			t.Fatalf("doc %d: context/continuation do not split the text at its last space", d.ID)
		}
	}
}

func TestLambadaMalformed(t *testing.T) {
	for _, c := range []struct{ name, body, want string }{
		{"empty", "", "empty file"},
		{"broken json", "{\"text\": \"a b\"}\n{\"text\": \n", ":2:"},
		{"missing field", "{\"txt\": \"a b\"}\n", `missing field "text"`},
		{"no space", "{\"text\": \"word\"}\n", "no space"},
		{"bad utf8", "{\"text\": \"a \xff\"}\n", "UTF-8"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "lambada_openai"), 0o755)
			path := filepath.Join(dir, "lambada_openai", "lambada_test.jsonl")
			if err := os.WriteFile(path, []byte(c.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadLambada(dir, HarnessV03)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v; want one naming %s and containing %q", err, path, c.want)
			}
		})
	}
}
