package cli

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/eval/task"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

// dataServer serves the shared data files at their canonical addresses'
// host+path (archives as the shared copies of the official archives);
// corrupt lists paths served with one byte changed.
func dataServer(t *testing.T, corrupt ...string) *httptest.Server {
	shared := testutil.Shared(t, "data")
	files := map[string]string{}
	for _, name := range task.Names() {
		tk, _ := task.Lookup(name)
		for _, f := range tk.Files {
			if f.URL == "" {
				continue
			}
			u, _ := url.Parse(f.URL)
			local := filepath.Join(shared, filepath.FromSlash(f.Path))
			if f.Member != "" {
				local = filepath.Join(shared, filepath.Dir(filepath.FromSlash(f.Path)), filepath.Base(u.Path))
			}
			files["/"+u.Host+u.Path] = local
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		local, ok := files[r.URL.Path]
		b, err := os.ReadFile(local)
		if !ok || err != nil {
			http.NotFound(w, r)
			return
		}
		for _, c := range corrupt {
			if strings.HasSuffix(r.URL.Path, c) {
				b[len(b)/2] ^= 1
			}
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDataFetchAndList(t *testing.T) {
	srv := dataServer(t, "dev.jsonl")
	dir := t.TempDir()
	errOut := &bytes.Buffer{}
	opts := &dataOptions{IO: &IO{Out: &bytes.Buffer{}, ErrOut: errOut}, DataDir: dir, URLBase: srv.URL, Tasks: []string{"piqa", "copa", "winogrande"}}
	err := runDataFetch(context.Background(), opts)
	// winogrande's file is served corrupted: refused, nothing written.
	if err == nil || !strings.Contains(err.Error(), "winogrande/dev.jsonl") || !strings.Contains(errOut.String(), "want 1aeac79c") {
		t.Fatalf("err = %v\n%s", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "winogrande", "dev.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a corrupt download was written: %v", err)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "winogrande")); len(ents) != 0 {
		t.Errorf("left files behind: %v", ents)
	}
	// piqa's two files and copa's member of the official archive are
	// written, byte-identical to the shared copies.
	for _, p := range []string{"piqa/valid.jsonl", "piqa/valid-labels.lst", "copa/copa-dev.xml"} {
		got, err := os.ReadFile(filepath.Join(dir, p))
		want, _ := os.ReadFile(testutil.Shared(t, "data", p))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v, %d bytes, want %d", p, err, len(got), len(want))
		}
	}

	out := &bytes.Buffer{}
	if err := runDataList(&dataOptions{IO: &IO{Out: out}, DataDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"piqa/valid.jsonl", "ok (sha256 verified)", "winogrande/dev.jsonl", "missing"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("data list lacks %q:\n%s", want, out)
		}
	}
	// A present file is not downloaded again (the server is gone).
	srv.Close()
	errOut.Reset()
	opts.Tasks = []string{"piqa"}
	if err := runDataFetch(context.Background(), opts); err != nil || !strings.Contains(errOut.String(), "present, sha256 verified") {
		t.Errorf("refetch: %v %s", err, errOut)
	}
	// A modified file shows as a mismatch.
	os.WriteFile(filepath.Join(dir, "piqa", "valid-labels.lst"), []byte("0\n"), 0o644)
	out.Reset()
	runDataList(&dataOptions{IO: &IO{Out: out}, DataDir: dir})
	if !strings.Contains(out.String(), "MISMATCH") {
		t.Errorf("no mismatch shown:\n%s", out)
	}
}

func TestDataFetchErrors(t *testing.T) {
	dir := t.TempDir()
	io := &IO{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
	if err := runDataFetch(context.Background(), &dataOptions{IO: io, DataDir: dir, Tasks: []string{"nope"}}); err == nil || !strings.Contains(err.Error(), `unknown task "nope"`) {
		t.Errorf("unknown task: %v", err)
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	err := runDataFetch(context.Background(), &dataOptions{IO: io, DataDir: dir, URLBase: srv.URL, Tasks: []string{"lambada"}})
	if err == nil || !strings.Contains(io.ErrOut.(*bytes.Buffer).String(), "404") {
		t.Errorf("404: %v %s", err, io.ErrOut)
	}
	err = runDataFetch(context.Background(), &dataOptions{IO: io, DataDir: dir, Tasks: []string{"storycloze_2016"}})
	if err == nil || !strings.Contains(io.ErrOut.(*bytes.Buffer).String(), "no public download address") {
		t.Errorf("storycloze: %v", err)
	}
}
