package format

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// gb builds GGUF bytes field by field, independently of Write.
type gb struct{ bytes.Buffer }

func (g *gb) u16(v uint16) { g.Write(binary.LittleEndian.AppendUint16(nil, v)) }
func (g *gb) u32(v uint32) { g.Write(binary.LittleEndian.AppendUint32(nil, v)) }
func (g *gb) u64(v uint64) { g.Write(binary.LittleEndian.AppendUint64(nil, v)) }
func (g *gb) str(s string) { g.u64(uint64(len(s))); g.WriteString(s) }
func (g *gb) header(nt, nkv uint64) {
	g.WriteString("GGUF")
	g.u32(3)
	g.u64(nt)
	g.u64(nkv)
}
func (g *gb) tensor(name string, dt quant.DType, off uint64, dims ...uint64) {
	g.str(name)
	g.u32(uint32(len(dims)))
	for _, d := range dims {
		g.u64(d)
	}
	g.u32(uint32(dt))
	g.u64(off)
}
func (g *gb) padTo(a int) {
	for g.Len()%a != 0 {
		g.WriteByte(0)
	}
}

// rejectBase is the valid file every TestParseRejects case mutates. Its
// keys sort as written here, so a.nest is directly followed by a.str.
func rejectBase(t *testing.T) []byte {
	md := Metadata{
		"a.arr":  Int32s([]int32{1, 2, 3}),
		"a.bool": Bool(true),
		"a.dup1": Uint32(1),
		"a.dup2": Uint32(2),
		"a.nest": {Type: TypeArray, Elem: TypeArray, V: []Value{Uint8s([]uint8{1, 2}), Uint8s([]uint8{3})}},
		"a.str":  String("hello"),
	}
	t0, _ := bytesTensor("t.0", quant.F32, []uint64{4, 2}, 1) // 32 bytes, padded to 64
	t1, _ := bytesTensor("t.1", quant.Q8_0, []uint64{32}, 2)  // 34 bytes at 64, padded to 128
	t2, _ := bytesTensor("t.2", quant.F32, []uint64{16}, 3)   // 64 bytes at 128, the last
	return writeBytes(t, md, []WriteTensor{t0, t1, t2})
}

// find returns the offset of the only occurrence of s in b.
func find(t *testing.T, b []byte, s string) int {
	t.Helper()
	i := bytes.Index(b, []byte(s))
	if i < 0 || bytes.Index(b[i+1:], []byte(s)) >= 0 {
		t.Fatalf("%q does not occur exactly once", s)
	}
	return i
}

// layout locates the fields the cases mutate.
type layout struct {
	b []byte
	t *testing.T
}

func (l layout) key(k string) int        { return find(l.t, l.b, k) - 8 }          // the key's length field
func (l layout) typ(k string) int        { return find(l.t, l.b, k) + len(k) }     // its value type
func (l layout) val(k string) int        { return find(l.t, l.b, k) + len(k) + 4 } // its value
func (l layout) name(n string) int       { return find(l.t, l.b, n) - 8 }          // a tensor's name length
func (l layout) ndims(n string) int      { return find(l.t, l.b, n) + len(n) }     // its n_dims
func (l layout) dim(n string, j int) int { return l.ndims(n) + 4 + 8*j }           // its dims[j]
func (l layout) dtype(n string) int {
	nd := int(binary.LittleEndian.Uint32(l.b[l.ndims(n):]))
	return l.dim(n, nd)
}
func (l layout) offset(n string) int { return l.dtype(n) + 4 }

func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

func splice(b []byte, start, end int, repl []byte) []byte {
	return append(append(append([]byte(nil), b[:start]...), repl...), b[end:]...)
}

// nestedPayload encodes an array value levels deep (the innermost [u8 × 0]).
func nestedPayload(levels int) []byte {
	var g gb
	for range levels - 1 {
		g.u32(uint32(TypeArray))
		g.u64(1)
	}
	g.u32(uint32(TypeUint8))
	g.u64(0)
	return g.Bytes()
}

// TestParseRejects has one case per validation, each made by mutating a
// valid file at a known offset. Each must fail with a *FormatError at that
// offset whose message contains want.
func TestParseRejects(t *testing.T) {
	base := rejectBase(t)
	if _, err := Parse(base); err != nil {
		t.Fatalf("base file: %v", err)
	}
	l := layout{base, t}
	endOfInfos := l.offset("t.2") + 8
	if endOfInfos%Alignment == 0 {
		t.Fatal("rejectBase needs header padding for the 'data section past end' case; change a key")
	}

	cases := []struct {
		reason string
		mutate func(b []byte) []byte
		off    int
		want   string
	}{
		{"the magic is not GGUF", func(b []byte) []byte { b[0] = 'g'; return b }, 0, "bad magic"},
		{"version 0 is invalid", func(b []byte) []byte { put32(b, 4, 0); return b }, 4, "bad GGUF version 0"},
		{"GGUF v1 files must be re-converted", func(b []byte) []byte { put32(b, 4, 1); return b }, 4, "version 1 is not supported, re-convert"},
		{"GGUF v2 files must be re-converted", func(b []byte) []byte { put32(b, 4, 2); return b }, 4, "version 2 is not supported, re-convert"},
		{"a byte-swapped version means a big-endian file", func(b []byte) []byte { put32(b, 4, 0x03000000); return b }, 4, "big-endian or corrupt"},
		{"future versions are refused", func(b []byte) []byte { put32(b, 4, 4); return b }, 4, "newer than the supported version 3"},
		{"tensor count bounded by the remaining bytes", func(b []byte) []byte { put64(b, 8, 1<<40); return b }, 8, "tensor count"},
		{"KV count bounded by the remaining bytes", func(b []byte) []byte { put64(b, 16, 1<<40); return b }, 16, "metadata count"},
		{"key length above the spec's limit", func(b []byte) []byte { put64(b, l.key("a.str"), MaxKeyLen+1); return b }, l.key("a.str"), "key length 65536 exceeds the limit"},
		{"key length beyond the end of the file", func(b []byte) []byte { put64(b, l.key("a.str"), 60000); return b }, l.key("a.str"), "bytes left in the file"},
		{"empty key", func(b []byte) []byte {
			return splice(b, l.key("a.bool"), l.typ("a.bool"), make([]byte, 8))
		}, l.key("a.bool"), "empty metadata key"},
		{"duplicate key", func(b []byte) []byte { b[l.typ("a.dup2")-1] = '1'; return b }, l.key("a.dup2"), `duplicate metadata key "a.dup1"`},
		{"invalid value type", func(b []byte) []byte { put32(b, l.typ("a.dup1"), 13); return b }, l.typ("a.dup1"), "invalid value type 13"},
		{"bool other than 0 or 1", func(b []byte) []byte { b[l.val("a.bool")] = 2; return b }, l.val("a.bool"), "neither 0 nor 1"},
		{"invalid array element type", func(b []byte) []byte { put32(b, l.val("a.arr"), 13); return b }, l.val("a.arr"), "invalid array element type 13"},
		{"array length above the limit", func(b []byte) []byte { put64(b, l.val("a.arr")+4, MaxArrayLen+1); return b }, l.val("a.arr") + 4, "exceeds the limit"},
		{"array length beyond the end of the file", func(b []byte) []byte { put64(b, l.val("a.arr")+4, 1<<20); return b }, l.val("a.arr") + 4, "cannot fit"},
		{"string length above the limit", func(b []byte) []byte { put64(b, l.val("a.str"), MaxStringLen+1); return b }, l.val("a.str"), "exceeds the limit of 67108864"},
		{"string length beyond the end of the file", func(b []byte) []byte { put64(b, l.val("a.str"), 5000); return b }, l.val("a.str"), "bytes left in the file"},
		{"arrays nested too deep", func(b []byte) []byte {
			return splice(b, l.val("a.nest"), l.key("a.str"), nestedPayload(MaxArrayDepth+1))
		}, l.val("a.nest") + 12*(MaxArrayDepth-1), "nested deeper than 8"},
		{"general.alignment must be u32", func(b []byte) []byte { put32(b, l.typ(KeyAlignment), uint32(TypeInt32)); return b }, l.typ(KeyAlignment), "has type i32, want u32"},
		{"general.alignment must be a power of 2", func(b []byte) []byte { put32(b, l.val(KeyAlignment), 48); return b }, l.val(KeyAlignment), "48 is not a power of 2"},
		{"general.alignment must not be 0", func(b []byte) []byte { put32(b, l.val(KeyAlignment), 0); return b }, l.val(KeyAlignment), "0 is not a power of 2"},
		{"general.alignment above gguf.cpp's limit", func(b []byte) []byte { put32(b, l.val(KeyAlignment), 1<<21); return b }, l.val(KeyAlignment), "exceeds the limit"},
		{"empty tensor name", func(b []byte) []byte {
			return splice(b, l.name("t.1"), l.ndims("t.1"), make([]byte, 8))
		}, l.name("t.1"), "empty name"},
		{"tensor name too long", func(b []byte) []byte { put64(b, l.name("t.1"), MaxTensorNameLen+1); return b }, l.name("t.1"), "tensor name length 65537 exceeds the limit"},
		{"duplicate tensor name", func(b []byte) []byte { b[l.ndims("t.1")-1] = '0'; return b }, l.name("t.1"), `duplicate tensor name "t.0"`},
		{"more than 4 dims", func(b []byte) []byte { put32(b, l.ndims("t.0"), 5); return b }, l.ndims("t.0"), "5 dims, at most 4"},
		{"negative dim", func(b []byte) []byte { put64(b, l.dim("t.0", 1), 1<<63); return b }, l.dim("t.0", 1), "dim 1 is 9223372036854775808 (negative as int64)"},
		{"element count overflow", func(b []byte) []byte {
			put64(b, l.dim("t.0", 0), 1<<40)
			put64(b, l.dim("t.0", 1), 1<<40)
			return b
		}, l.dim("t.0", 0), "element count"},
		{"unknown type (ggml's removed Q4_2)", func(b []byte) []byte { put32(b, l.dtype("t.0"), 4); return b }, l.dtype("t.0"), "unknown or unsupported type 4"},
		{"row not a whole number of blocks", func(b []byte) []byte { put64(b, l.dim("t.1", 0), 16); return b }, l.dtype("t.1"), "not a multiple of the Q8_0 block length 32"},
		{"byte size overflow", func(b []byte) []byte { put64(b, l.dim("t.0", 0), 1<<61); return b }, l.dtype("t.0"), "overflow"},
		{"offset not a multiple of the alignment", func(b []byte) []byte { put64(b, l.offset("t.1"), 96); return b }, l.offset("t.1"), "not a multiple of the alignment 64"},
		{"offset not the packed offset", func(b []byte) []byte { put64(b, l.offset("t.1"), 128); return b }, l.offset("t.1"), "has offset 128, want 64"},
		{"first offset not 0", func(b []byte) []byte { put64(b, l.offset("t.0"), 64); return b }, l.offset("t.0"), "want 0"},
		{"total size overflow", func(b []byte) []byte {
			put64(b, l.dim("t.0", 0), 1<<59) // F32 [2^59, 3]: 3·2^61 bytes
			put64(b, l.dim("t.0", 1), 3)
			put64(b, l.dim("t.1", 0), 1<<61) // Q8_0: 34·2^56 bytes more passes MaxInt64
			put64(b, l.offset("t.1"), 3<<61)
			return b
		}, l.offset("t.1"), "data section size overflows"},
		{"tensor data past the end of the file", func(b []byte) []byte { put64(b, l.dim("t.2", 0), 32); return b }, l.offset("t.2"), "extends past the end of the file"},
		{"data section past the end of the file", func(b []byte) []byte { return b[:endOfInfos] }, endOfInfos, "starts past the end"},
	}
	for _, c := range cases {
		b := c.mutate(bytes.Clone(base))
		_, err := Parse(b)
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Errorf("%s: err = %v, want a *FormatError", c.reason, err)
			continue
		}
		if fe.Off != int64(c.off) || !strings.Contains(fe.Msg, c.want) {
			t.Errorf("%s:\n got %v\nwant offset %d, message containing %q", c.reason, err, c.off, c.want)
		}
	}
	var g gb
	g.header(0, 1)
	g.str("k")
	g.u32(uint32(TypeArray))
	g.Write(nestedPayload(MaxArrayDepth))
	if _, err := Parse(g.Bytes()); err != nil {
		t.Errorf("arrays nested exactly MaxArrayDepth deep: %v", err)
	}
}

func TestFormatErrorString(t *testing.T) {
	err := &FormatError{Off: 1234, Msg: "bad thing"}
	if got := err.Error(); got != "gguf: offset 1234: bad thing" {
		t.Errorf("Error() = %q", got)
	}
}

// TestParseTruncated cuts a valid file at every byte: each prefix must be
// refused with a *FormatError inside the prefix, and never panic.
func TestParseTruncated(t *testing.T) {
	md, ts := testdataFiles["small.gguf"]()
	b := writeBytes(t, md, ts)
	for n := range len(b) {
		_, err := Parse(b[:n:n])
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("prefix of %d bytes: err = %v", n, err)
		}
		if fe.Off < 0 || fe.Off > int64(n) {
			t.Fatalf("prefix of %d bytes: error offset %d outside the input", n, fe.Off)
		}
	}
}

// TestParseHonoursAlignment reads files built by hand with another
// alignment, or none (GGUF's default of 32).
func TestParseHonoursAlignment(t *testing.T) {
	for _, align := range []uint32{0, 8, 32, 128, 4096} {
		var g gb
		a := uint64(align)
		nkv := uint64(1)
		if align == 0 {
			a, nkv = DefaultAlignment, 0
		}
		g.header(2, nkv)
		if align != 0 {
			g.str(KeyAlignment)
			g.u32(uint32(TypeUint32))
			g.u32(align)
		}
		g.tensor("a", quant.F32, 0, 3) // 12 bytes
		g.tensor("b", quant.F16, alignUp(12, a), 5)
		g.padTo(int(a))
		dataOff := g.Len()
		g.Write(pattern(12, 1))
		g.padTo(int(a))
		g.Write(pattern(10, 2))
		f, err := Parse(g.Bytes())
		if err != nil {
			t.Fatalf("alignment %d: %v", align, err)
		}
		if f.Alignment != a || f.DataOffset != uint64(dataOff) {
			t.Errorf("alignment %d: got alignment %d, data offset %d (want %d)", align, f.Alignment, f.DataOffset, dataOff)
		}
		_, d, err := f.Tensor("b")
		if err != nil || !bytes.Equal(d, pattern(10, 2)) {
			t.Errorf("alignment %d: tensor b = %v, %v", align, d, err)
		}
	}
}

// A file whose last tensor is not followed by padding (as some writers
// produce) is accepted: only the tensor's own bytes must be present.
func TestParseNoTrailingPadding(t *testing.T) {
	tt, data := bytesTensor("x", quant.F16, []uint64{3}, 7)
	b := writeBytes(t, nil, []WriteTensor{tt})
	b = b[:len(b)-(Alignment-len(data))]
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, d, _ := f.Tensor("x"); !bytes.Equal(d, data) {
		t.Error("data differs")
	}
}
