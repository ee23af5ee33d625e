package pth

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
	"github.com/rwkv-tools/rwkv-tools/internal/testutil"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// TestFixturesBitExact reads every PyTorch-written fixture and compares each
// tensor's elements with the bits PyTorch reported (values.json).
func TestFixturesBitExact(t *testing.T) {
	exp := loadExpected(t)
	cases := []struct {
		file   string
		format source.Format
		dtype  quant.DType
	}{
		{"rwkv4-bf16.pth", source.PyTorch, quant.BF16},
		{"rwkv4-fp16.pth", source.PyTorch, quant.F16},
		{"rwkv4-fp32.pth", source.PyTorch, quant.F32},
		{"rwkv4-bf16-flat.pth", source.PyTorch, quant.BF16},
		{"rwkv4-bf16-strided.pth", source.PyTorch, quant.BF16},
		{"rwkv4-bf16-module.pth", source.PyTorch, quant.BF16},
		{"rwkv4-bf16-wrapped.pth", source.PyTorch, quant.BF16},
		{"rwkv4-bf16-legacy.pth", source.PyTorchLegacy, quant.BF16},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			ck, err := Open(testutil.Testdata("pth", c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			if ck.Format != c.format {
				t.Errorf("format %q, want %q", ck.Format, c.format)
			}
			if len(ck.Tensors) != len(exp.Tensors) {
				t.Fatalf("%d tensors, want %d", len(ck.Tensors), len(exp.Tensors))
			}
			for i, e := range exp.Tensors {
				tn := ck.Tensors[i]
				if tn.Name != e.Name || !slices.Equal(tn.Shape, e.Shape) || tn.DType != c.dtype {
					t.Fatalf("tensor %d: %s %v %v, want %s %v %v", i, tn.Name, tn.Shape, tn.DType, e.Name, e.Shape, c.dtype)
				}
				got, err := tn.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				want := wantBits(t, c.dtype, e.BF16, e.F16)
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: values differ from PyTorch's", tn.Name)
				}
			}
		})
	}
}

func wantBits(t *testing.T, dt quant.DType, bf16hex, f16hex string) []byte {
	switch dt {
	case quant.BF16:
		return unhex(t, bf16hex)
	case quant.F16:
		return unhex(t, f16hex)
	}
	// bf16 -> f32 is exact: the bf16 bits are the top half.
	b := unhex(t, bf16hex)
	out := make([]byte, 2*len(b))
	for i := 0; i < len(b); i += 2 {
		out[2*i+2], out[2*i+3] = b[i], b[i+1]
	}
	return out
}

func TestStridedFixture(t *testing.T) {
	ck, err := Open(testutil.Testdata("pth", "rwkv4-bf16-strided.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for _, tn := range ck.Tensors {
		switch tn.Name {
		case "blocks.0.att.key.weight", "blocks.1.ffn.key.weight":
			// Stored transposed: strides (1, rows), gathered by Bytes.
			if want := []int64{1, tn.Shape[0]}; !slices.Equal(tn.Strides, want) {
				t.Errorf("%s: strides %v, want %v", tn.Name, tn.Strides, want)
			}
			if tn.Contiguous() {
				t.Errorf("%s reported contiguous", tn.Name)
			}
		default:
			if tn.Strides != nil {
				t.Errorf("%s: contiguous tensor has strides %v", tn.Name, tn.Strides)
			}
		}
	}
}

// TestFlatFixture checks that views of one shared storage land where
// PyTorch put them: FileOffset = storage start + storage_offset·2.
func TestFlatFixture(t *testing.T) {
	exp := loadExpected(t)
	ck, err := Open(testutil.Testdata("pth", "rwkv4-bf16-flat.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	var base int64 = -1
	for i, e := range exp.Tensors {
		if e.FlatOffset == 0 {
			base = ck.Tensors[i].FileOffset
		}
	}
	if base%64 != 0 {
		t.Errorf("storage starts at %d, not 64-byte aligned", base)
	}
	for i, e := range exp.Tensors {
		tn := ck.Tensors[i]
		if want := base + 2*e.FlatOffset; tn.FileOffset != want {
			t.Errorf("%s: FileOffset %d, want %d", tn.Name, tn.FileOffset, want)
		}
		if tn.Offset != 0 || int64(len(tn.Storage)) != 2*tn.NumElements() {
			t.Errorf("%s: storage not narrowed to the tensor (offset %d, %d bytes)", tn.Name, tn.Offset, len(tn.Storage))
		}
		if &tn.Storage[0] != &ck.Mapping.Data[tn.FileOffset] {
			t.Errorf("%s: Storage does not alias the mapping", tn.Name)
		}
	}
}

func TestParameterWithState(t *testing.T) {
	exp := loadExpected(t)
	ck, err := Open(testutil.Testdata("pth", "param-with-state.pth"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	want := map[string]string{}
	for _, e := range exp.Tensors {
		want[e.Name] = e.BF16
	}
	if len(ck.Tensors) != 2 {
		t.Fatalf("%d tensors", len(ck.Tensors))
	}
	for _, tn := range ck.Tensors {
		got, _ := tn.Bytes()
		if !bytes.Equal(got, unhex(t, want[tn.Name])) {
			t.Errorf("%s differs", tn.Name)
		}
	}
}

// TestRefusedFixtures: files torch wrote that are not raw weight checkpoints.
func TestRefusedFixtures(t *testing.T) {
	cases := []struct{ file, want string }{
		{"chatrwkv-converted.pth", `ChatRWKV-converted file (strategy "cuda fp16i8 *10 -> cpu fp32")`},
		{"unknown-global.pth", "unknown global collections.Counter"},
		{"offset-past-storage.pth", `tensor "ln_out.weight": offset 10 + size runs past its storage`},
		{"int64-tensor.pth", `tensor "step" is int64 (torch.LongStorage)`},
		{"torchscript.pt", "TorchScript"},
	}
	for _, c := range cases {
		_, err := Open(testutil.Testdata("pth", c.file))
		checkFormatError(t, c.file, err, c.want)
	}
}

func checkFormatError(t *testing.T, what string, err error, want string) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Errorf("%s: err = %v, want *FormatError", what, err)
		return
	}
	t.Logf("%s: %v", what, err)
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s: err = %q, want it to contain %q", what, err, want)
	}
}

// TestSharedReference opens the reference checkpoints: key counts as torch
// reports them, dims from manifest.json, every tensor readable.
func TestSharedReference(t *testing.T) {
	dir := testutil.Shared(t, "reference")
	var manifest struct {
		Models []struct {
			Name  string           `json:"name"`
			Dims  map[string]int64 `json:"dims"`
			Files map[string]struct {
				File string `json:"file"`
			} `json:"files"`
		} `json:"models"`
	}
	b, err := os.ReadFile(dir + "/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &manifest); err != nil {
		t.Fatal(err)
	}
	// len(torch.load(f)) for each model.
	keys := map[string]int{"v4": 42, "v5": 50, "v6": 62, "v7": 72}
	dtypes := map[string]quant.DType{"bf16": quant.BF16, "fp16": quant.F16, "fp32": quant.F32}
	n := 0
	for _, m := range manifest.Models {
		for kind, f := range m.Files {
			ck, err := Open(dir + "/" + f.File)
			if err != nil {
				t.Fatal(err)
			}
			n++
			if len(ck.Tensors) != keys[m.Name] {
				t.Errorf("%s: %d tensors, want %d", f.File, len(ck.Tensors), keys[m.Name])
			}
			emb := ck.Tensor("emb.weight")
			if emb == nil || !slices.Equal(emb.Shape, []int64{m.Dims["V"], m.Dims["C"]}) {
				t.Errorf("%s: emb.weight %v, want [V C] = [%d %d]", f.File, emb, m.Dims["V"], m.Dims["C"])
			}
			layers := int64(0)
			for _, tn := range ck.Tensors {
				if tn.DType != dtypes[kind] {
					t.Errorf("%s: %s is %v, want %v", f.File, tn.Name, tn.DType, dtypes[kind])
				}
				var l int64
				if _, err := fmt.Sscanf(tn.Name, "blocks.%d.", &l); err == nil {
					layers = max(layers, l+1)
				}
				if _, err := tn.Bytes(); err != nil {
					t.Errorf("%s: %v", f.File, err)
				}
			}
			if layers != m.Dims["L"] {
				t.Errorf("%s: %d layers, want %d", f.File, layers, m.Dims["L"])
			}
			ck.Close()
		}
	}
	if n < 6 {
		t.Errorf("opened %d reference files, want 6", n)
	}
}

// TestSharedNeoX: a Hugging Face pytorch_model.bin written by a recent
// torch (OrderedDict with _metadata, .format_version and byteorder records).
func TestSharedNeoX(t *testing.T) {
	ck, err := Open(testutil.Shared(t, "reference", "neox", "pytorch_model.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	if len(ck.Tensors) != 28 {
		t.Errorf("%d tensors, want 28", len(ck.Tensors))
	}
	for _, tn := range ck.Tensors {
		if tn.DType != quant.F16 || tn.FileOffset%64 != 0 {
			t.Errorf("%s: %v at %d", tn.Name, tn.DType, tn.FileOffset)
		}
	}
}

// craft builds a one-storage zip checkpoint from a crafted data.pkl.
func craft(t testing.TB, pkl []byte, storage []byte) []byte {
	return makeZip(t,
		zipEntry{name: "archive/data.pkl", data: pkl},
		zipEntry{name: "archive/data/0", data: storage},
		zipEntry{name: "archive/version", data: []byte("3\n")})
}

// TestMalformed: inputs that must give a FormatError and never panic.
func TestMalformed(t *testing.T) {
	good := readFixture(t, "rwkv4-bf16.pth")
	entries := zipEntries(t, good)
	rebuild := func(edit func(e *zipEntry) bool, extra ...zipEntry) []byte {
		out := extra
		for _, e := range entries {
			e.data = slices.Clone(e.data)
			if edit(&e) {
				out = append(out, e)
			}
		}
		return makeZip(t, out...)
	}
	pkl := func(name string) bool { return strings.HasSuffix(name, "/data.pkl") }
	st := func(specs ...tensorSpec) []byte { return torchPickle(specs...) }
	w := tensorSpec{name: "w", cls: "BFloat16Storage", key: "0", numel: 8, shape: []int64{2, 4}, stride: []int64{4, 1}}
	with := func(f func(s *tensorSpec)) tensorSpec { s := w; f(&s); return s }
	raw16 := make([]byte, 16)

	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"wrong magic", append([]byte("XK\x03\x04"), good[4:]...), "not a torch.save checkpoint"},
		{"empty file", nil, "(empty file)"},
		{"compressed entry", rebuild(func(e *zipEntry) bool {
			if strings.HasSuffix(e.name, "/data/3") {
				e.method = 8 // zip.Deflate
			}
			return true
		}), "is compressed (method 8)"},
		{"compressed data.pkl", rebuild(func(e *zipEntry) bool {
			if pkl(e.name) {
				e.method = 8
			}
			return true
		}), "is compressed"},
		{"missing data entry", rebuild(func(e *zipEntry) bool { return !strings.HasSuffix(e.name, "/data/3") }), `has no zip entry "rwkv4-bf16/data/3"`},
		{"missing data.pkl", rebuild(func(e *zipEntry) bool { return !pkl(e.name) }), "no data.pkl"},
		{"two data.pkl", rebuild(func(e *zipEntry) bool { return true }, zipEntry{name: "other/data.pkl", data: []byte("\x80\x02}.")}), "2 data.pkl entries"},
		{"duplicate entry", rebuild(func(e *zipEntry) bool { return true }, zipEntry{name: "rwkv4-bf16/data/3"}), `"rwkv4-bf16/data/3" appears twice`},
		{"size mismatch", rebuild(func(e *zipEntry) bool {
			if strings.HasSuffix(e.name, "/data/3") {
				e.data = append(e.data, 0, 0)
			}
			return true
		}), "holds 34 bytes, but 16 bfloat16 elements need 32"},
		{"truncated pickle", rebuild(func(e *zipEntry) bool {
			if pkl(e.name) {
				e.data = e.data[:len(e.data)/2]
			}
			return true
		}), "truncated"},
		{"big-endian byteorder", makeZip(t, zipEntry{name: "a/byteorder", data: []byte("big")}, zipEntry{name: "a/data.pkl", data: st(w)}, zipEntry{name: "a/data/0", data: raw16}), "little-endian"},
		{"unknown global", craft(t, []byte("\x80\x02cbuiltins\neval\n."), nil), "unknown global builtins.eval"},
		{"unknown storage type", craft(t, st(with(func(s *tensorSpec) { s.cls = "FancyStorage" })), raw16), "unknown global torch.FancyStorage"},
		{"offset past storage", craft(t, st(with(func(s *tensorSpec) { s.offset = 1 })), raw16), "runs past its storage"},
		{"negative LONG1 offset", craft(t, st(with(func(s *tensorSpec) { s.writeOffset = func(p *pk) { p.long1(0xff) } })), raw16), "negative storage offset -1"},
		{"huge LONG1 offset", craft(t, st(with(func(s *tensorSpec) { s.writeOffset = func(p *pk) { p.long1(0, 0, 0, 0, 0, 0, 0, 0, 1) } })), raw16), "storage_offset 18446744073709551616 does not fit"},
		{"wrapping offset", craft(t, st(with(func(s *tensorSpec) { s.offset = 1 << 62 })), raw16), "past any storage"},
		{"negative numel", craft(t, st(with(func(s *tensorSpec) { s.numel = -1 })), raw16), "numel -1 is out of range"},
		{"huge numel", craft(t, st(with(func(s *tensorSpec) { s.numel = 1 << 62 })), raw16), "out of range"},
		{"numel vs entry", craft(t, st(with(func(s *tensorSpec) { s.numel = 9 })), raw16), "holds 16 bytes, but 9 bfloat16 elements need 18"},
		{"negative dim", craft(t, st(with(func(s *tensorSpec) { s.shape = []int64{-2, -4} })), raw16), "negative dimension"},
		{"rank mismatch", craft(t, st(with(func(s *tensorSpec) { s.stride = []int64{1} })), raw16), "size has 2 dims, stride 1"},
		{"stride past storage", craft(t, st(with(func(s *tensorSpec) { s.stride = []int64{5, 1} })), raw16), "runs past its storage"},
		{"shape not tuple", craft(t, st(with(func(s *tensorSpec) { s.writeShape = func(p *pk) { p.int(8) } })), raw16), "size is an int, not a tuple"},
		{"storage key reused", craft(t, st(w, with(func(s *tensorSpec) { s.name = "v"; s.cls = "HalfStorage" })), raw16), "named twice"},
		{"top-level list", craft(t, []byte("\x80\x02]."), nil), "is a list, not a dict"},
		{"non-tensor value", craft(t, []byte("\x80\x02}X\x01\x00\x00\x00aK\x01s."), nil), `entry "a" is an int, not a tensor`},
		{"non-str key", craft(t, []byte("\x80\x02}K\x01K\x01s."), nil), "key #0 is an int"},
		{"empty dict", craft(t, []byte("\x80\x02}."), nil), "no tensors"},
		{"bogus memo", craft(t, []byte("\x80\x02}h\x07s."), nil), "memo index 7"},
		{"deep nesting", craft(t, []byte(strings.Repeat("(", 5000)), nil), "nested deeper"},
		{"build on plain dict", craft(t, []byte("\x80\x02}}b."), nil), "BUILD on a plain dict"},
		{"reduce on storage class", craft(t, []byte("\x80\x02ctorch\nFloatStorage\n)R."), nil), "not an allowed callable"},
		{"pid not tuple", craft(t, []byte("\x80\x02NQ."), nil), "persistent id is None"},
		{"module pid", craft(t, []byte("\x80\x02X\x06\x00\x00\x00module\x85Q."), nil), "whole nn.Module"},
		{"tar", append(make([]byte, 257), []byte("ustar\x0000")...), "tar-format"},
	}
	for _, c := range cases {
		_, err := OpenBytes(c.in, c.name)
		checkFormatError(t, c.name, err, c.want)
	}
}

// TestTruncatedFiles cuts valid zip and legacy files at many points.
func TestTruncatedFiles(t *testing.T) {
	for _, f := range []string{"rwkv4-bf16.pth", "rwkv4-bf16-legacy.pth", "rwkv4-bf16-flat.pth"} {
		good := readFixture(t, f)
		if _, err := OpenBytes(good, f); err != nil {
			t.Fatal(err)
		}
		cuts := []int{0, 1, 3, 4, 20, 100, len(good) - 1, len(good) - 22, len(good) - 23}
		for k := 1; k < 64; k++ {
			cuts = append(cuts, len(good)*k/64)
		}
		for _, n := range cuts {
			_, err := OpenBytes(good[:n], f)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Errorf("%s cut at %d: err = %v, want *FormatError", f, n, err)
			}
		}
	}
}

// TestLegacyMalformed edits the storage records of the legacy fixture.
func TestLegacyMalformed(t *testing.T) {
	good := readFixture(t, "rwkv4-bf16-legacy.pth")
	ck, err := OpenBytes(good, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	// The first record's numel word sits 8 bytes before the lowest offset.
	first := ck.Tensors[0].FileOffset
	for _, tn := range ck.Tensors {
		first = min(first, tn.FileOffset)
	}
	rec := int(first) - 8
	patched := slices.Clone(good)
	binary.LittleEndian.PutUint64(patched[rec:], 1<<40)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"trailing bytes", append(slices.Clone(good), 0), "1 unexpected bytes after the last storage"},
		{"numel mismatch", patched, "record holds 1099511627776 elements"},
		{"bad magic", append([]byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x18}, good[14:]...), "not a torch.save checkpoint"},
	}
	for _, c := range cases {
		_, err := OpenBytes(c.in, c.name)
		checkFormatError(t, c.name, err, c.want)
	}
}

func TestErrorNamesFile(t *testing.T) {
	_, err := OpenBytes([]byte("hello"), "model.pth")
	if err == nil || !strings.HasPrefix(err.Error(), "model.pth: offset 0: ") {
		t.Fatalf("err = %v", err)
	}
}

// TestSkipNonFloat: a non-float buffer is left out only when the options
// name it; any other stays an error naming the tensor.
func TestSkipNonFloat(t *testing.T) {
	pkl := torchPickle(
		tensorSpec{name: "w", cls: "FloatStorage", key: "0", numel: 2, shape: []int64{2}, stride: []int64{1}},
		tensorSpec{name: "layers.0.attention.bias", cls: "BoolStorage", key: "1", numel: 4, shape: []int64{2, 2}, stride: []int64{2, 1}},
	)
	file := makeZip(t,
		zipEntry{name: "archive/data.pkl", data: pkl},
		zipEntry{name: "archive/data/0", data: make([]byte, 8)},
		zipEntry{name: "archive/data/1", data: []byte{1, 0, 1, 1}},
		zipEntry{name: "archive/version", data: []byte("3\n")})
	_, err := OpenBytes(file, "buffers.bin")
	checkFormatError(t, "no options", err, `tensor "layers.0.attention.bias" is bool (torch.BoolStorage)`)
	_, err = OpenBytesWith(file, "buffers.bin", Options{SkipNonFloat: func(name string) bool { return name == "other" }})
	checkFormatError(t, "other name", err, `tensor "layers.0.attention.bias" is bool`)
	ck, err := OpenBytesWith(file, "buffers.bin", Options{SkipNonFloat: func(name string) bool { return strings.HasSuffix(name, ".attention.bias") }})
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Tensors) != 1 || ck.Tensors[0].Name != "w" || !slices.Equal(ck.Skipped, []string{"layers.0.attention.bias"}) {
		t.Errorf("tensors %d, skipped %v", len(ck.Tensors), ck.Skipped)
	}
	// A float tensor is never skipped, whatever the options say.
	ck, err = OpenBytesWith(file, "buffers.bin", Options{SkipNonFloat: func(string) bool { return true }})
	if err != nil || len(ck.Tensors) != 1 {
		t.Errorf("err %v, %d tensors", err, len(ck.Tensors))
	}
}
