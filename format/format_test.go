package format

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

var update = flag.Bool("update", false, "rewrite testdata/*.gguf from the generators")

// pattern returns n deterministic bytes; seed keeps tensors distinct.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) + seed
	}
	return b
}

// bytesTensor is a WriteTensor whose data is data; it panics on a size
// mismatch because that is a bug in the test, not in Write.
func bytesTensor(name string, dt quant.DType, dims []uint64, seed byte) (WriteTensor, []byte) {
	ti := TensorInfo{Name: name, DType: dt, Dims: dims}
	size, err := ti.Size()
	if err != nil {
		panic(err)
	}
	data := pattern(int(size), seed)
	return WriteTensor{TensorInfo: ti, Write: func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}}, data
}

// allTypesMetadata holds one value of every scalar type and an array of
// every element type, including nested arrays and strings that are not
// UTF-8 (RWKV World vocabularies have raw byte tokens).
func allTypesMetadata() Metadata {
	return Metadata{
		"general.architecture": String("rwkv4"),
		"general.name":         String(""),
		"t.u8":                 {Type: TypeUint8, V: uint8(200)},
		"t.i8":                 {Type: TypeInt8, V: int8(-100)},
		"t.u16":                {Type: TypeUint16, V: uint16(60000)},
		"t.i16":                {Type: TypeInt16, V: int16(-30000)},
		"t.u32":                Uint32(4000000000),
		"t.i32":                Int32(-2000000000),
		"t.f32":                Float32(-1.5e-7),
		"t.bool.false":         Bool(false),
		"t.bool.true":          Bool(true),
		"t.str":                String("héllo\x00world\xff"),
		"t.u64":                Uint64(math.MaxUint64),
		"t.i64":                {Type: TypeInt64, V: int64(math.MinInt64)},
		"t.f64":                Float64(math.Pi),
		"a.u8":                 Uint8s([]uint8{0, 1, 255}),
		"a.i8":                 {Type: TypeArray, Elem: TypeInt8, V: []int8{-128, 0, 127}},
		"a.u16":                {Type: TypeArray, Elem: TypeUint16, V: []uint16{1, 65535}},
		"a.i16":                {Type: TypeArray, Elem: TypeInt16, V: []int16{-1, 2}},
		"a.u32":                {Type: TypeArray, Elem: TypeUint32, V: []uint32{7}},
		"a.i32":                Int32s([]int32{-1, 0, 1, math.MaxInt32}),
		"a.f32":                Float32s([]float32{0.5, float32(math.Inf(-1)), 3}),
		"a.bool":               {Type: TypeArray, Elem: TypeBool, V: []bool{true, false, true}},
		"a.str":                Strings([]string{"a", "", "\xe4\xb8", "<|endoftext|>"}),
		"a.u64":                {Type: TypeArray, Elem: TypeUint64, V: []uint64{math.MaxUint64, 0}},
		"a.i64":                {Type: TypeArray, Elem: TypeInt64, V: []int64{math.MinInt64}},
		"a.f64":                {Type: TypeArray, Elem: TypeFloat64, V: []float64{-0.25, 1e300}},
		"a.empty":              Strings([]string{}),
		"a.nested": {Type: TypeArray, Elem: TypeArray, V: []Value{
			Int32s([]int32{1, 2}),
			Strings([]string{"x"}),
			{Type: TypeArray, Elem: TypeArray, V: []Value{Uint8s([]uint8{9})}},
			Float32s([]float32{}),
		}},
	}
}

// smallTensors has one tensor per stored type. The last one is 64 bytes,
// so the file ends exactly at the end of tensor data and every truncation
// removes needed bytes.
func smallTensors() ([]WriteTensor, [][]byte) {
	specs := []struct {
		name string
		dt   quant.DType
		dims []uint64
	}{
		{"token_embd.weight", quant.F16, []uint64{8, 3}},
		{"blk.0.attn_norm.weight", quant.F32, []uint64{8}},
		{"blk.0.time_mix_key.weight", quant.Q8_0, []uint64{32, 2}},
		{"blk.0.time_mix_value.weight", quant.Q4_0, []uint64{64}},
		{"blk.0.ffn_key.weight", quant.BF16, []uint64{4, 2, 2}},
		{"output.weight", quant.F32, []uint64{4, 2, 1, 2}},
	}
	var ts []WriteTensor
	var data [][]byte
	for i, s := range specs {
		t, d := bytesTensor(s.name, s.dt, s.dims, byte(i*17+1))
		ts = append(ts, t)
		data = append(data, d)
	}
	return ts, data
}

// The generators of the committed testdata files (also the fuzz seeds).
var testdataFiles = map[string]func() (Metadata, []WriteTensor){
	"small.gguf": func() (Metadata, []WriteTensor) {
		ts, _ := smallTensors()
		return allTypesMetadata(), ts
	},
	"metadata-only.gguf": func() (Metadata, []WriteTensor) {
		return Metadata{"general.architecture": String("rwkv4"), "rwkv4.block_count": Uint32(2)}, nil
	},
	"zero-size.gguf": func() (Metadata, []WriteTensor) {
		a, _ := bytesTensor("empty", quant.Q8_0, []uint64{0, 5}, 1)
		b, _ := bytesTensor("after", quant.F16, []uint64{3}, 2)
		return Metadata{"general.alignment": Uint32(32)}, []WriteTensor{a, b} // the writer overrides it with 64
	},
}

func writeBytes(t testing.TB, md Metadata, ts []WriteTensor) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, md, ts); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	md := allTypesMetadata()
	ts, data := smallTensors()
	b := writeBytes(t, md, ts)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if f.Version != Version || f.Alignment != Alignment {
		t.Errorf("version %d alignment %d", f.Version, f.Alignment)
	}
	want := allTypesMetadata()
	want[KeyAlignment] = Uint32(Alignment)
	if !reflect.DeepEqual(f.Metadata, want) {
		for _, k := range want.Keys() {
			if !reflect.DeepEqual(f.Metadata[k], want[k]) {
				t.Errorf("key %s: got %#v, want %#v", k, f.Metadata[k], want[k])
			}
		}
		t.Fatalf("metadata differs: %d keys, want %d", len(f.Metadata), len(want))
	}
	if f.DataOffset%Alignment != 0 {
		t.Errorf("DataOffset %d is not 64-aligned", f.DataOffset)
	}
	if f.Size() != int64(len(b)) {
		t.Errorf("Size %d, want %d", f.Size(), len(b))
	}
	if len(f.Tensors) != len(ts) {
		t.Fatalf("%d tensors, want %d", len(f.Tensors), len(ts))
	}
	var wantOff uint64
	for i, wt := range ts {
		got := f.Tensors[i]
		if got.Name != wt.Name || got.DType != wt.DType || !reflect.DeepEqual(got.Dims, wt.Dims) {
			t.Errorf("tensor %d: got %+v, want %+v", i, got, wt.TensorInfo)
		}
		if got.Offset != wantOff {
			t.Errorf("%s: offset %d, want %d", got.Name, got.Offset, wantOff)
		}
		wantOff += alignUp(uint64(len(data[i])), Alignment)
		if abs := f.DataOffset + got.Offset; abs%Alignment != 0 {
			t.Errorf("%s: data at file offset %d is not 64-aligned", got.Name, abs)
		}
		info, d, err := f.Tensor(wt.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(info, got) || !bytes.Equal(d, data[i]) {
			t.Errorf("%s: Tensor() data differs", wt.Name)
		}
		if cap(d) != len(d) {
			t.Errorf("%s: cap %d > len %d lets an append overwrite the next tensor", wt.Name, cap(d), len(d))
		}
		if l, ok := f.Lookup(wt.Name); !ok || !reflect.DeepEqual(l, got) {
			t.Errorf("Lookup(%s) = %+v, %v", wt.Name, l, ok)
		}
	}
	if _, ok := f.Lookup("nope"); ok {
		t.Error("Lookup of a missing tensor succeeded")
	}
	if _, _, err := f.Tensor("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("Tensor(missing) error = %v", err)
	}
	// The file ends with the last tensor's padded data.
	if want := f.DataOffset + wantOff; uint64(len(b)) != want {
		t.Errorf("file is %d bytes, want %d", len(b), want)
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
}

// TestNestedArrayRead parses a nested array built byte by byte here, not by
// Write, so a bug shared by the encoder and the decoder cannot hide.
func TestNestedArrayRead(t *testing.T) {
	var g gb
	g.header(0, 1)
	g.str("k")
	g.u32(uint32(TypeArray))
	g.u32(uint32(TypeArray)) // outer element type
	g.u64(2)
	g.u32(uint32(TypeString)) // inner 0: [str × 2]
	g.u64(2)
	g.str("ab")
	g.str("")
	g.u32(uint32(TypeArray)) // inner 1: [arr × 1] of [i16 × 1]
	g.u64(1)
	g.u32(uint32(TypeInt16))
	g.u64(1)
	g.u16(0xfffe)
	f, err := Parse(g.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	want := Value{Type: TypeArray, Elem: TypeArray, V: []Value{
		Strings([]string{"ab", ""}),
		{Type: TypeArray, Elem: TypeArray, V: []Value{{Type: TypeArray, Elem: TypeInt16, V: []int16{-2}}}},
	}}
	if !reflect.DeepEqual(f.Metadata["k"], want) {
		t.Fatalf("got %#v\nwant %#v", f.Metadata["k"], want)
	}
	// And Write encodes it to the same bytes.
	if got := writeBytes(t, Metadata{"k": want}, nil); !bytes.Contains(got, g.Bytes()[headerSize:]) {
		t.Error("Write encodes the nested array differently")
	}
}

func TestWriteDeterministic(t *testing.T) {
	ts, _ := smallTensors()
	a := writeBytes(t, allTypesMetadata(), ts)
	// Same contents, inserted in reverse key order: map order must not
	// leak into the output.
	src := allTypesMetadata()
	keys := src.Keys()
	rev := Metadata{}
	for i := len(keys) - 1; i >= 0; i-- {
		rev[keys[i]] = src[keys[i]]
	}
	for range 5 {
		if b := writeBytes(t, rev, ts); !bytes.Equal(a, b) {
			t.Fatal("same inputs gave different bytes")
		}
	}
}

// TestTestdata pins the byte format: the committed files must equal what
// the generators write now. Run with -update after an intended change.
func TestTestdata(t *testing.T) {
	for name, gen := range testdataFiles {
		md, ts := gen()
		b := writeBytes(t, md, ts)
		p := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test ./format -run TestTestdata -update)", err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s: Write output changed (%d bytes, committed %d); if intended, rerun with -update", name, len(b), len(want))
		}
		if _, err := Parse(want); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestZeroTensorFile(t *testing.T) {
	md, _ := testdataFiles["metadata-only.gguf"]()
	b := writeBytes(t, md, nil)
	if len(b)%Alignment != 0 {
		t.Errorf("header of %d bytes is not padded to %d", len(b), Alignment)
	}
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tensors) != 0 || len(f.Metadata) != 3 {
		t.Errorf("%d tensors, %d keys", len(f.Tensors), len(f.Metadata))
	}
}

func TestWriteRejects(t *testing.T) {
	okTensor, _ := bytesTensor("ok", quant.F32, []uint64{4}, 0)
	with := func(mod func(*WriteTensor)) []WriteTensor {
		w := okTensor
		w.Dims = append([]uint64(nil), w.Dims...)
		mod(&w)
		return []WriteTensor{w}
	}
	writeN := func(n int) func(io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write(make([]byte, n)); return err }
	}
	cases := []struct {
		reason  string
		md      Metadata
		ts      []WriteTensor
		wantErr string
		partial bool // the failure is found while streaming, after the header
	}{
		{reason: "duplicate names", ts: []WriteTensor{okTensor, okTensor}, wantErr: "duplicate tensor name"},
		{reason: "empty name", ts: with(func(w *WriteTensor) { w.Name = "" }), wantErr: "empty name"},
		{reason: "name longer than ggml allows", ts: with(func(w *WriteTensor) { w.Name = strings.Repeat("x", 64) }), wantErr: "at most 63"},
		{reason: "unknown dtype", ts: with(func(w *WriteTensor) { w.DType = 4 }), wantErr: "unknown type"},
		{reason: "row not whole blocks", ts: with(func(w *WriteTensor) { w.DType = quant.Q8_0; w.Dims = []uint64{48} }), wantErr: "block length 32"},
		{reason: "five dims", ts: with(func(w *WriteTensor) { w.Dims = []uint64{4, 1, 1, 1, 1} }), wantErr: "5 dims"},
		{reason: "no dims", ts: with(func(w *WriteTensor) { w.Dims = nil }), wantErr: "no dims"},
		{reason: "element count overflow", ts: with(func(w *WriteTensor) { w.Dims = []uint64{1 << 40, 1 << 40} }), wantErr: "overflows int64"},
		{reason: "nil Write func", ts: with(func(w *WriteTensor) { w.Write = nil }), wantErr: "no Write func"},
		{reason: "value Go type mismatch", md: Metadata{"k": {Type: TypeUint32, V: 5}}, wantErr: "holds Go type int"},
		{reason: "array Go type mismatch", md: Metadata{"k": {Type: TypeArray, Elem: TypeInt32, V: []uint32{1}}}, wantErr: "holds Go type []uint32"},
		{reason: "invalid value type", md: Metadata{"k": {Type: 13, V: 1}}, wantErr: "invalid value type"},
		{reason: "invalid array element type", md: Metadata{"k": {Type: TypeArray, Elem: 99, V: []int{1}}}, wantErr: "invalid element type"},
		{reason: "nested element not an array", md: Metadata{"k": {Type: TypeArray, Elem: TypeArray, V: []Value{Uint32(1)}}}, wantErr: "want arr"},
		{reason: "empty key", md: Metadata{"": Uint32(1)}, wantErr: "empty metadata key"},
		{reason: "key too long", md: Metadata{strings.Repeat("k", MaxKeyLen+1): Uint32(1)}, wantErr: "at most 65535"},
		{reason: "too deep", md: Metadata{"k": deepArray(MaxArrayDepth + 1)}, wantErr: "nested deeper"},
		{reason: "Write writes too little", ts: with(func(w *WriteTensor) { w.Write = writeN(15) }), wantErr: "wrote 15 bytes, want 16", partial: true},
		{reason: "Write writes too much", ts: with(func(w *WriteTensor) { w.Write = writeN(17) }), wantErr: "more bytes than", partial: true},
		{reason: "Write ignores its overrun error", ts: with(func(w *WriteTensor) {
			w.Write = func(w io.Writer) error { w.Write(make([]byte, 10)); w.Write(make([]byte, 10)); return nil }
		}), wantErr: "more bytes than", partial: true},
		{reason: "Write fails", ts: with(func(w *WriteTensor) {
			w.Write = func(io.Writer) error { return errors.New("source gone") }
		}), wantErr: "source gone", partial: true},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		err := Write(&buf, c.md, c.ts)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("%s: err = %v, want it to contain %q", c.reason, err, c.wantErr)
		}
		if !c.partial && buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before a validation error", c.reason, buf.Len())
		}
	}
	if deepArray(MaxArrayDepth).check(0) != nil {
		t.Error("an array nested exactly MaxArrayDepth deep is rejected")
	}
}

// deepArray nests levels arrays, the innermost a [u8 × 1].
func deepArray(levels int) Value {
	v := Uint8s([]uint8{1})
	for range levels - 1 {
		v = Value{Type: TypeArray, Elem: TypeArray, V: []Value{v}}
	}
	return v
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.after {
		n := w.after
		w.after = 0
		return n, errors.New("disk full")
	}
	w.after -= len(p)
	return len(p), nil
}

func TestWriteDestinationError(t *testing.T) {
	big, _ := bytesTensor("big", quant.F32, []uint64{1 << 20}, 0) // 4 MiB, more than the buffer
	for _, after := range []int{0, 100, 3 << 20} {
		err := Write(&failWriter{after: after}, allTypesMetadata(), []WriteTensor{big})
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("after %d bytes: err = %v", after, err)
		}
	}
}

func TestMetadataGetters(t *testing.T) {
	md := allTypesMetadata()
	md["neg"] = Int32(-3)
	md["pos.i64"] = Value{Type: TypeInt64, V: int64(5)}
	if s, err := md.String("general.architecture"); err != nil || s != "rwkv4" {
		t.Errorf("String = %q, %v", s, err)
	}
	for key, want := range map[string]uint64{"t.u8": 200, "t.u16": 60000, "t.u32": 4000000000, "t.u64": math.MaxUint64, "pos.i64": 5} {
		if got, err := md.Uint(key); err != nil || got != want {
			t.Errorf("Uint(%s) = %d, %v", key, got, err)
		}
	}
	if got, err := md.Float("t.f32"); err != nil || got != float64(float32(-1.5e-7)) {
		t.Errorf("Float(f32) = %g, %v", got, err)
	}
	if got, err := md.Float("t.f64"); err != nil || got != math.Pi {
		t.Errorf("Float(f64) = %g, %v", got, err)
	}
	if got, err := md.Bool("t.bool.true"); err != nil || !got {
		t.Errorf("Bool = %v, %v", got, err)
	}
	if got, err := md.Strings("a.str"); err != nil || len(got) != 4 {
		t.Errorf("Strings = %q, %v", got, err)
	}
	if got, err := md.Int32s("a.i32"); err != nil || len(got) != 4 {
		t.Errorf("Int32s = %v, %v", got, err)
	}
	if got, err := md.Float32s("a.f32"); err != nil || len(got) != 3 {
		t.Errorf("Float32s = %v, %v", got, err)
	}

	// Errors name the key; no defaults, no conversions beyond Uint's.
	bad := []struct {
		call    func() error
		wantErr string
	}{
		{func() error { _, err := md.String("t.u32"); return err }, `"t.u32": has type u32, want str`},
		{func() error { _, err := md.Uint("neg"); return err }, `"neg": i32 value -3 is negative`},
		{func() error { _, err := md.Uint("t.f32"); return err }, `"t.f32": has type f32`},
		{func() error { _, err := md.Uint("t.bool.true"); return err }, `"t.bool.true": has type bool`},
		{func() error { _, err := md.Uint("a.u32"); return err }, `"a.u32": has type u32 array`},
		{func() error { _, err := md.Float("t.u32"); return err }, `"t.u32": has type u32, want f32 or f64`},
		{func() error { _, err := md.Bool("t.u8"); return err }, `"t.u8"`},
		{func() error { _, err := md.Strings("t.str"); return err }, `"t.str": has type str, want str array`},
		{func() error { _, err := md.Int32s("a.u32"); return err }, `"a.u32": has type u32 array, want i32 array`},
		{func() error { _, err := md.Float32s("a.f64"); return err }, `"a.f64"`},
	}
	for _, c := range bad {
		if err := c.call(); err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("err = %v, want %q", err, c.wantErr)
		}
	}
	_, err := md.Uint("rwkv4.block_count")
	if !errors.Is(err, ErrMissingKey) || !strings.Contains(err.Error(), `"rwkv4.block_count"`) {
		t.Errorf("missing key: %v", err)
	}
	if keys := md.Keys(); !slicesSorted(keys) || len(keys) != len(md) {
		t.Errorf("Keys not sorted or incomplete: %q", keys)
	}
}

func slicesSorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

func TestValueFormat(t *testing.T) {
	cases := []struct {
		v    Value
		want string
	}{
		{Uint32(7), "7"},
		{Value{Type: TypeInt8, V: int8(-1)}, "-1"},
		{Float32(0.1), "0.1"},
		{Float64(1e300), "1e+300"},
		{Bool(true), "true"},
		{String("rwkv\n"), `"rwkv\n"`},
		{String(strings.Repeat("a", 100)), `"` + strings.Repeat("a", 64) + `"…(100 bytes)`},
		{Int32s([]int32{1, 2}), "[2 × i32] 1, 2"},
		{Strings([]string{"a", "b", "c", "d", "e"}), `[5 × str] "a", "b", "c", "d", …`},
		{Strings(nil), "[0 × str]"},
		{Value{Type: TypeArray, Elem: TypeArray, V: []Value{Uint8s([]uint8{1})}}, "[1 × arr] [1 × u8] 1"},
	}
	for _, c := range cases {
		if got := c.v.Format(); got != c.want {
			t.Errorf("Format(%#v) = %s, want %s", c.v, got, c.want)
		}
	}
}

func TestTensorInfoSize(t *testing.T) {
	cases := []struct {
		ti      TensorInfo
		size    uint64
		wantErr string
	}{
		{TensorInfo{DType: quant.F32, Dims: []uint64{3, 2}}, 24, ""},
		{TensorInfo{DType: quant.Q8_0, Dims: []uint64{64, 3}}, 2 * 34 * 3, ""},
		{TensorInfo{DType: quant.Q4_0, Dims: []uint64{32}}, 18, ""},
		{TensorInfo{DType: quant.F16, Dims: nil}, 2, ""},
		{TensorInfo{DType: quant.F16, Dims: []uint64{0, 7}}, 0, ""},
		{TensorInfo{DType: quant.Q8_0, Dims: []uint64{33}}, 0, "block length"},
		{TensorInfo{DType: 99, Dims: []uint64{1}}, 0, "unknown type"},
		{TensorInfo{DType: quant.F32, Dims: []uint64{1 << 62, 2}}, 0, "overflow"},
		{TensorInfo{DType: quant.F32, Dims: []uint64{1 << 63}}, 0, "negative"},
	}
	for _, c := range cases {
		got, err := c.ti.Size()
		if c.wantErr == "" && (err != nil || got != c.size) {
			t.Errorf("%+v: Size = %d, %v; want %d", c.ti, got, err, c.size)
		}
		if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("%+v: err = %v, want %q", c.ti, err, c.wantErr)
		}
	}
	if n := (TensorInfo{Dims: []uint64{1 << 40, 1 << 40}}).NumElements(); n != math.MaxUint64 {
		t.Errorf("overflowing NumElements = %d, want saturation", n)
	}
}
