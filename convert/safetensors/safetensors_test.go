package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestTwinBitExact reads the safetensors twin of the PyTorch fixtures and
// compares every tensor with PyTorch's bits (testdata/pth/values.json).
func TestTwinBitExact(t *testing.T) {
	var exp struct {
		Tensors []struct {
			Name  string  `json:"name"`
			Shape []int64 `json:"shape"`
			BF16  string  `json:"bf16"`
		} `json:"tensors"`
	}
	b, err := os.ReadFile(testutil.Testdata("pth", "values.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	ck, err := Open(testutil.Testdata("pth", "rwkv4-bf16.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if ck.Meta["format"] != "pt" {
		t.Errorf("meta %v", ck.Meta)
	}
	if len(ck.Tensors) != len(exp.Tensors) {
		t.Fatalf("%d tensors, want %d", len(ck.Tensors), len(exp.Tensors))
	}
	for i, e := range exp.Tensors {
		tn := ck.Tensors[i]
		if tn.Name != e.Name || !slices.Equal(tn.Shape, e.Shape) || tn.DType != quant.BF16 {
			t.Fatalf("tensor %d: %s %v %v, want %s %v BF16", i, tn.Name, tn.Shape, tn.DType, e.Name, e.Shape)
		}
		got, _ := tn.Bytes()
		want, _ := hex.DecodeString(e.BF16)
		if !bytes.Equal(got, want) {
			t.Fatalf("%s differs", tn.Name)
		}
		if &tn.Storage[0] != &ck.Mapping.Data[tn.FileOffset] {
			t.Fatalf("%s does not alias the mapping", tn.Name)
		}
	}
}

func TestSharedNeoX(t *testing.T) {
	ck, err := Open(testutil.Shared(t, "reference", "neox", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if len(ck.Tensors) != 28 {
		t.Errorf("%d tensors, want 28", len(ck.Tensors))
	}
	if e := ck.Tensor("gpt_neox.embed_in.weight"); e == nil || !slices.Equal(e.Shape, []int64{50304, 32}) || e.DType != quant.F16 {
		t.Errorf("embed_in = %+v", e)
	}
}

// file assembles a safetensors file from a header and a data buffer.
func file(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(b, header...), data...)
}

func TestMalformed(t *testing.T) {
	d8 := make([]byte, 8)
	one := `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`
	if _, err := OpenBytes(file(one, d8), "ok"); err != nil {
		t.Fatalf("valid file rejected: %v", err)
	}
	huge := binary.LittleEndian.AppendUint64(nil, 200<<20)
	huge = append(huge, make([]byte, 16)...)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "too short"},
		{"short", []byte{1, 2, 3}, "too short"},
		{"header past end", binary.LittleEndian.AppendUint64(nil, 100), "header length 100 is out of range"},
		{"header too big", huge, "out of range"},
		{"header length wraps", binary.LittleEndian.AppendUint64(nil, 1<<63), "out of range"},
		{"not an object", file(`[]`, nil), "does not start with '{'"},
		{"empty header", file(``, nil), "does not start with '{'"},
		{"invalid json", file(`{"a":`, nil), "header JSON"},
		{"junk after", file(`{} x`, nil), "junk after"},
		{"unknown dtype", file(`{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, d8), `dtype "F64" is not supported`},
		{"int dtype", file(`{"a":{"dtype":"I8","shape":[8],"data_offsets":[0,8]}}`, d8), `dtype "I8"`},
		{"missing field", file(`{"a":{"dtype":"F32","shape":[2]}}`, d8), "needs dtype, shape and data_offsets"},
		{"unknown field", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}`, d8), "unknown field"},
		{"three offsets", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}}`, d8), "3 values"},
		{"negative offset", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, d8), "not an increasing range"},
		{"reversed offsets", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}`, d8), "not an increasing range"},
		{"fractional offset", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.5]}}`, d8), "tensor \"a\""},
		{"size mismatch", file(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, d8), "hold 8 bytes, but F32 [3] needs 12"},
		{"negative dim", file(`{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, d8), "negative dimension"},
		{"huge shape", file(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, d8), "too many elements"},
		{"past end", file(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, d8), "run past the end of the data"},
		{"overlap", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "overlap"},
		{"gap", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), "gap"},
		{"trailing data", file(one, make([]byte, 12)), "4 bytes after the last tensor"},
		{"duplicate name", file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, d8), `names "a" twice`},
		{"metadata not strings", file(`{"__metadata__":{"n":1}}`, nil), "__metadata__ must map strings to strings"},
	}
	for _, c := range cases {
		_, err := OpenBytes(c.in, c.name)
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want *FormatError", c.name, err)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %q, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestScalarAndEmpty(t *testing.T) {
	b := file(`{"s":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"e":{"dtype":"F16","shape":[0,3],"data_offsets":[2,2]}}`, []byte{1, 2})
	ck, err := OpenBytes(b, "x")
	if err != nil {
		t.Fatal(err)
	}
	s := ck.Tensor("s")
	if s == nil || len(s.Shape) != 0 || s.NumElements() != 1 {
		t.Fatalf("scalar %+v", s)
	}
	if got, _ := s.Bytes(); !bytes.Equal(got, []byte{1, 2}) {
		t.Fatalf("scalar bytes %v", got)
	}
	if e := ck.Tensor("e"); e == nil || e.NumElements() != 0 {
		t.Fatalf("empty %+v", e)
	}
}

func TestTruncations(t *testing.T) {
	good, err := os.ReadFile(testutil.Testdata("pth", "rwkv4-bf16.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for k := range 64 {
		n := len(good) * k / 64
		if _, err := OpenBytes(good[:n], "cut"); err == nil {
			t.Errorf("cut at %d accepted", n)
		}
	}
}

// TestSkipNonFloat: a BOOL tensor is left out only when the options name
// it (its bytes still tile the buffer); otherwise it is refused by name.
func TestSkipNonFloat(t *testing.T) {
	hdr := `{"mask":{"dtype":"BOOL","shape":[2,2],"data_offsets":[0,4]},"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(hdr)))
	b = append(b, hdr...)
	b = append(b, 1, 0, 1, 1, 0, 0, 128, 63)
	if _, err := OpenBytes(b, "m.safetensors"); err == nil || !strings.Contains(err.Error(), `dtype "BOOL" is not supported`) {
		t.Errorf("no options: err = %v", err)
	}
	ck, err := OpenBytesWith(b, "m.safetensors", Options{SkipNonFloat: func(n string) bool { return n == "mask" }})
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Tensors) != 1 || ck.Tensors[0].Name != "w" || len(ck.Skipped) != 1 || ck.Skipped[0] != "mask" {
		t.Errorf("tensors %d, skipped %v", len(ck.Tensors), ck.Skipped)
	}
	// A skipped tensor's byte range is still checked.
	bad := strings.Replace(hdr, "[0,4]", "[0,3]", 1)
	bb := binary.LittleEndian.AppendUint64(nil, uint64(len(bad)))
	bb = append(bb, bad...)
	bb = append(bb, 1, 0, 1, 1, 0, 0, 128, 63)
	if _, err := OpenBytesWith(bb, "m.safetensors", Options{SkipNonFloat: func(string) bool { return true }}); err == nil {
		t.Error("a skipped tensor with a wrong byte range was accepted")
	}
}
