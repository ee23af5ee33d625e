package ckpt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
)

func TestDispatch(t *testing.T) {
	cases := []struct {
		path   string
		format source.Format
	}{
		{testutil.Testdata("pth", "rwkv4-bf16.pth"), source.PyTorch},
		{testutil.Testdata("pth", "rwkv4-bf16-legacy.pth"), source.PyTorchLegacy},
		{testutil.Testdata("pth", "rwkv4-bf16.safetensors"), source.Safetensors},
	}
	for _, c := range cases {
		ck, err := Open(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if ck.Format != c.format || len(ck.Tensors) != 42 {
			t.Errorf("%s: %s with %d tensors, want %s with 42", c.path, ck.Format, len(ck.Tensors), c.format)
		}
		ck.Close()
	}
}

func TestDispatchRWKVCpp(t *testing.T) {
	ck, err := Open(testutil.Shared(t, "fixtures", "rwkvcpp", "tiny-rwkv-4v0-660K-FP16.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if ck.Format != source.RWKVCpp || len(ck.Tensors) != 78 {
		t.Errorf("%s with %d tensors", ck.Format, len(ck.Tensors))
	}
}

// TestNeoXTwins: the same weights through two different readers must give
// the same bytes (Hugging Face pytorch_model.bin vs model.safetensors).
func TestNeoXTwins(t *testing.T) {
	dir := testutil.Shared(t, "reference", "neox")
	a, err := Open(filepath.Join(dir, "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if a.Format != source.PyTorch || b.Format != source.Safetensors {
		t.Fatalf("formats %s, %s", a.Format, b.Format)
	}
	if len(a.Tensors) != len(b.Tensors) {
		t.Fatalf("%d vs %d tensors", len(a.Tensors), len(b.Tensors))
	}
	for _, ta := range a.Tensors {
		name := ta.Name
		if name == "lm_head.weight" {
			name = "embed_out.weight" // the two files name the output head differently
		}
		tb := b.Tensor(name)
		if tb == nil {
			t.Fatalf("%s missing from safetensors", ta.Name)
		}
		x, _ := ta.Bytes()
		y, _ := tb.Bytes()
		if ta.DType != tb.DType || !bytes.Equal(x, y) {
			t.Errorf("%s differs", ta.Name)
		}
	}
}

func TestUnknown(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"empty.bin": "",
		"gguf.bin":  "GGUF\x03\x00\x00\x00 and more bytes",
		"text.pth":  "hello, this is not a model",
		"pickle.pt": "\x80\x02}q\x00.", // a bare pickle: not torch's legacy magic
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Open(p)
		var ue *UnknownFormatError
		if !errors.As(err, &ue) {
			t.Errorf("%s: err = %v, want *UnknownFormatError", name, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, p) || !strings.Contains(msg, "safetensors") || !strings.Contains(msg, "rwkv.cpp") {
			t.Errorf("%s: %q should name the file and the supported formats", name, msg)
		}
	}
	if _, err := Open(filepath.Join(dir, "missing.pth")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestUnknownMessage(t *testing.T) {
	err := &UnknownFormatError{Path: "m.bin", Head: []byte("PICK")}
	if got := err.Error(); !strings.HasPrefix(got, "m.bin: unrecognised checkpoint format (first bytes: 50 49 43 4b)") {
		t.Errorf("%q", got)
	}
	// A GGUF file says what it is and what to do instead of showing bytes.
	err = &UnknownFormatError{Path: "m.bin", Head: []byte("GGUF")}
	if got := err.Error(); !strings.HasPrefix(got, "m.bin is already a GGUF model file") {
		t.Errorf("%q", got)
	}
}
