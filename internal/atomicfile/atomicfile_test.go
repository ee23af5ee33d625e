package atomicfile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out")
	if err := Write(p, func(f *os.File) error { _, err := f.WriteString("ok"); return err }); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "ok" {
		t.Fatalf("%q", b)
	}
	boom := errors.New("boom")
	if err := Write(p, func(f *os.File) error { f.WriteString("partial"); return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "ok" {
		t.Fatalf("previous content lost: %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temp file left: %v", ents)
	}
}

func TestWriteFIFODirect(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	got := make(chan []byte)
	go func() {
		b, _ := os.ReadFile(p) // blocks until the writer opens and closes
		got <- b
	}()
	if err := Write(p, func(f *os.File) error { _, err := f.WriteString("through"); return err }); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "through" {
		t.Fatalf("reader got %q", b)
	}
	if st, err := os.Lstat(p); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v %v", st.Mode(), err)
	}
}

func TestWriteDirectoryRefused(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, func(f *os.File) error { return nil }); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Fatal(err)
	}
}

func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "out.gguf")
	// A process that has exited: a child we started and reaped.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	dead := filepath.Join(dir, ".out.gguf.tmp"+strconv.Itoa(cmd.Process.Pid)+"-123")
	live := filepath.Join(dir, ".out.gguf.tmp"+strconv.Itoa(os.Getpid())+"-456")
	foreign := filepath.Join(dir, ".out.gguf.tmpnotmine")
	for _, f := range []string{dead, live, foreign} {
		os.WriteFile(f, []byte("x"), 0o644)
	}
	if err := Write(p, func(f *os.File) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Error("stale temp file of a dead process was kept")
	}
	for _, f := range []string{live, foreign} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s removed: %v", f, err)
		}
	}
}
