package format

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

func TestWriteFileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "model.gguf")
	md := allTypesMetadata()
	ts, data := smallTensors()
	if err := WriteFile(context.Background(), path, md, ts); err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, writeBytes(t, md, ts)) {
		t.Error("WriteFile and Write produce different bytes")
	}
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", st.Mode().Perm())
	}
	assertOnly(t, filepath.Dir(path), "model.gguf")

	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(len(onDisk)) {
		t.Errorf("Size %d, want %d", f.Size(), len(onDisk))
	}
	for i, wt := range ts {
		_, d, err := f.Tensor(wt.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d, data[i]) {
			t.Errorf("%s: data differs", wt.Name)
		}
		// A mapping starts on a page, so file alignment is memory alignment.
		if len(d) > 0 && uintptr(unsafe.Pointer(&d[0]))%Alignment != 0 {
			t.Errorf("%s: data at %p is not 64-byte aligned in memory", wt.Name, &d[0])
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Tensor(ts[0].Name); err == nil {
		t.Error("Tensor after Close succeeded")
	}
	if s, err := f.Metadata.String("general.architecture"); err != nil || s != "rwkv4" {
		t.Errorf("metadata after Close: %q, %v", s, err)
	}
	if f.Size() != int64(len(onDisk)) {
		t.Error("Size changed after Close")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOpenErrorsCarryPath(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.gguf")
	os.WriteFile(bad, []byte("GGUF\x02\x00\x00\x00"), 0o644)
	_, err := Open(bad)
	var fe *FormatError
	if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), bad+": gguf: offset 4: ") {
		t.Errorf("corrupt file: %v", err)
	}
	if _, err := Open(filepath.Join(dir, "missing.gguf")); err == nil || !strings.Contains(err.Error(), "missing.gguf") {
		t.Errorf("missing file: %v", err)
	}
}

// assertOnly fails unless dir holds exactly the named entries: no
// temporary file may survive WriteFile, whatever happened.
func assertOnly(t *testing.T, dir string, names ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("directory holds %q, want %q", got, names)
	}
}

func TestWriteFileAtomic(t *testing.T) {
	ts, _ := smallTensors()
	failing := append([]WriteTensor(nil), ts...)
	// Fails midway through the third tensor, after real bytes hit the disk.
	failing[2].Write = func(w io.Writer) error {
		w.Write(make([]byte, 10))
		return errors.New("source read failed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancelling := append([]WriteTensor(nil), ts...)
	cancelling[1].Write = func(w io.Writer) error {
		cancel() // cancelled while a tensor is being written: checked before the next
		return ts[1].Write(w)
	}
	lastCancel, cancelLast := context.WithCancel(context.Background())
	cancellingLast := append([]WriteTensor(nil), ts...)
	cancellingLast[len(ts)-1].Write = func(w io.Writer) error {
		cancelLast() // no tensor follows: the check before the rename must catch it
		return ts[len(ts)-1].Write(w)
	}
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	cases := []struct {
		reason  string
		ctx     context.Context
		ts      []WriteTensor
		md      Metadata
		wantErr error
		want    string
	}{
		{reason: "a Write func fails midway", ctx: context.Background(), ts: failing, want: "source read failed"},
		{reason: "invalid input", ctx: context.Background(), ts: append(ts, ts[0]), want: "duplicate"},
		{reason: "context cancelled during a tensor", ctx: ctx, ts: cancelling, wantErr: context.Canceled},
		{reason: "context cancelled during the last tensor", ctx: lastCancel, ts: cancellingLast, wantErr: context.Canceled},
		{reason: "context cancelled before the call", ctx: done, ts: ts, wantErr: context.Canceled},
	}
	for _, c := range cases {
		for _, existing := range []bool{false, true} {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.gguf")
			old := []byte("the previous model")
			if existing {
				os.WriteFile(path, old, 0o600)
			}
			err := WriteFile(c.ctx, path, c.md, c.ts)
			if err == nil || (c.wantErr != nil && !errors.Is(err, c.wantErr)) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: err = %v", c.reason, err)
			}
			if existing {
				if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
					t.Errorf("%s: the existing file was changed", c.reason)
				}
				assertOnly(t, dir, "out.gguf")
			} else {
				assertOnly(t, dir) // no file at path, no temp file
			}
		}
	}
}

func TestWriteFilePanicLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	tt, _ := bytesTensor("x", quant.F32, []uint64{2}, 0)
	tt.Write = func(io.Writer) error { panic("encoder bug") }
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not propagate")
			}
		}()
		WriteFile(context.Background(), filepath.Join(dir, "out.gguf"), nil, []WriteTensor{tt})
	}()
	assertOnly(t, dir)
}

func TestWriteFileReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.gguf")
	os.WriteFile(path, []byte("old"), 0o600)
	tt, _ := bytesTensor("x", quant.F32, []uint64{2}, 0)
	if err := WriteFile(context.Background(), path, nil, []WriteTensor{tt}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if st, _ := os.Stat(path); runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("replaced file mode %v, want the old 0600", st.Mode().Perm())
	}
	assertOnly(t, dir, "out.gguf")
	// A directory in the way is an error, and nothing is left behind.
	if err := WriteFile(context.Background(), dir, nil, nil); err == nil {
		t.Error("writing over a directory succeeded")
	}
	assertOnly(t, dir, "out.gguf")
}
