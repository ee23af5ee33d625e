package mmap

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	want := bytes.Repeat([]byte("rwkv"), 5000)
	if err := os.WriteFile(p, want, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Open(p)
	if err != nil {
		t.Fatal(err)
	}
	m.WillNeed(0, 100)
	m.DontNeed(4096, 8192)
	m.DontNeed(-1, 5) // ignored
	if !bytes.Equal(m.Data, want) {
		t.Fatal("content differs after DontNeed")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	e := filepath.Join(dir, "empty")
	os.WriteFile(e, nil, 0o644)
	m, err = Open(e)
	if err != nil || len(m.Data) != 0 {
		t.Fatalf("empty: %v", err)
	}
	m.Close()
	if _, err := Open(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file opened")
	}
}
