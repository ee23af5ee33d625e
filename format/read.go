package format

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/rwkv-tools/rwkv-tools/internal/mmap"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

const (
	// Version is the only GGUF version read and written.
	Version = 3
	// Alignment is what Write stores in general.alignment and pads to.
	Alignment = 64
	// DefaultAlignment applies when a file has no general.alignment key
	// (GGUF spec).
	DefaultAlignment = 32
	// KeyAlignment is the one metadata key the container itself interprets.
	KeyAlignment = "general.alignment"
)

// Limits enforced by Parse (and by Write, so that it never produces a file
// Parse refuses). They bound what a corrupt or hostile file can make the
// reader allocate; each is far above what a real model needs.
const (
	MaxDims          = 4         // GGML_MAX_DIMS
	MaxKeyLen        = 1<<16 - 1 // spec: "at most 2^16-1 bytes"
	MaxTensorNameLen = 64 << 10
	MaxStringLen     = 64 << 20 // gguf.cpp GGUF_MAX_STRING_LENGTH
	MaxArrayLen      = 64 << 20 // gguf.cpp GGUF_MAX_ARRAY_ELEMENTS
	MaxArrayDepth    = 8        // levels of array nesting, counting the outermost
	MaxAlignment     = 1 << 20  // gguf.cpp GGUF_MAX_ALIGNMENT
)

// headerSize is magic + version + tensor_count + kv_count.
const headerSize = 4 + 4 + 8 + 8

// The smallest encodings of one KV pair and one tensor info. Counts read
// from the header must fit the bytes that follow at these sizes, so a
// corrupt count is refused before anything is allocated for it.
const (
	minKVSize         = 8 + 1 + 4 + 1     // key length, 1-byte key, value type, 1-byte value
	minTensorInfoSize = 8 + 1 + 4 + 4 + 8 // name length, 1-byte name, n_dims (0), type, offset
)

// FormatError reports malformed input at a byte offset of the file, in the
// manner of debug/elf.
type FormatError struct {
	Off int64
	Msg string
}

func (e *FormatError) Error() string { return fmt.Sprintf("gguf: offset %d: %s", e.Off, e.Msg) }

// File is a parsed GGUF file. Its exported fields are read-only after
// Parse; all methods are safe for concurrent use until Close.
type File struct {
	Version    uint32
	Alignment  uint64
	Metadata   Metadata
	Tensors    []TensorInfo // in file order
	DataOffset uint64       // absolute offset of the data section

	data    []byte        // the whole file; tensor slices alias it
	size    int64         // len(data), kept after Close
	mapping *mmap.Mapping // non-nil when Open mapped the file
	index   map[string]int
	sizes   []uint64 // byte size of each tensor, parallel to Tensors
}

// Open maps the file at path and parses it. Tensor data is not read until
// used. Errors carry the path.
func Open(path string) (*File, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, err // already names the path
	}
	f, err := Parse(m.Data)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.mapping = m
	return f, nil
}

// Close unmaps a file opened with Open; tensor slices must not be used
// afterwards. For a File from Parse it does nothing. Metadata stays valid
// either way: Parse copies every value out of the file.
func (f *File) Close() error {
	if f.mapping == nil {
		return nil
	}
	err := f.mapping.Close()
	f.mapping, f.data = nil, nil
	return err
}

// Size returns the size of the file in bytes.
func (f *File) Size() int64 { return f.size }

// Lookup returns the info of the named tensor.
func (f *File) Lookup(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Tensors[i], true
}

// Tensor returns the info and the encoded bytes of the named tensor. The
// slice is exactly Size() bytes, aliases the file (read-only: a mapping is
// PROT_READ, so writing to it faults) and starts at a file offset that is
// a multiple of f.Alignment.
func (f *File) Tensor(name string) (TensorInfo, []byte, error) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("gguf: no tensor %.80q", name)
	}
	if f.data == nil && f.size > 0 {
		return TensorInfo{}, nil, errors.New("gguf: file is closed")
	}
	ti := f.Tensors[i]
	start := f.DataOffset + ti.Offset
	end := start + f.sizes[i]
	// Parse checked start <= end <= len(data); the full slice expression
	// keeps an append from spilling into the next tensor.
	return ti, f.data[start:end:end], nil
}

// Release hints that the named tensor's bytes will not be read again soon,
// so a tool streaming a model tensor by tensor (quantize) keeps resident
// memory near one tensor rather than the file. The bytes stay readable
// (they are paged in again from the file). A no-op for a File from Parse.
func (f *File) Release(name string) {
	i, ok := f.index[name]
	if !ok || f.mapping == nil {
		return
	}
	f.mapping.DontNeed(int64(f.DataOffset+f.Tensors[i].Offset), int64(f.sizes[i]))
}

// decoder reads little-endian fields from b. Every failure is a
// *FormatError at the offset of the field being read.
type decoder struct {
	b   []byte
	off int
}

func (d *decoder) fail(off int, format string, args ...any) error {
	return &FormatError{Off: int64(off), Msg: fmt.Sprintf(format, args...)}
}

func (d *decoder) remaining() int { return len(d.b) - d.off }

func (d *decoder) need(n int, what string) error {
	if d.remaining() < n {
		return d.fail(d.off, "unexpected end of file reading %s", what)
	}
	return nil
}

func (d *decoder) u8(what string) (uint8, error) {
	if err := d.need(1, what); err != nil {
		return 0, err
	}
	d.off++
	return d.b[d.off-1], nil
}

func (d *decoder) u16(what string) (uint16, error) {
	if err := d.need(2, what); err != nil {
		return 0, err
	}
	d.off += 2
	return binary.LittleEndian.Uint16(d.b[d.off-2:]), nil
}

func (d *decoder) u32(what string) (uint32, error) {
	if err := d.need(4, what); err != nil {
		return 0, err
	}
	d.off += 4
	return binary.LittleEndian.Uint32(d.b[d.off-4:]), nil
}

func (d *decoder) u64(what string) (uint64, error) {
	if err := d.need(8, what); err != nil {
		return 0, err
	}
	d.off += 8
	return binary.LittleEndian.Uint64(d.b[d.off-8:]), nil
}

// str reads a gguf string (u64 length + bytes). The result is a copy:
// metadata must outlive the mapping.
func (d *decoder) str(what string, limit int) (string, error) {
	n, err := d.skipStr(what, limit)
	if err != nil {
		return "", err
	}
	return string(d.b[d.off-n : d.off]), nil
}

// skipStr checks and skips a gguf string, returning its length. The length
// is checked against limit first, then against the bytes left, so nothing
// is ever sized from an unchecked length.
func (d *decoder) skipStr(what string, limit int) (int, error) {
	start := d.off
	if d.remaining() < 8 {
		// Not d.u64(what + " length"): that concatenation would cost an
		// allocation per string of a 65536-token vocabulary.
		return 0, d.fail(d.off, "unexpected end of file reading %s length", what)
	}
	n := binary.LittleEndian.Uint64(d.b[d.off:])
	d.off += 8
	if n > uint64(limit) {
		return 0, d.fail(start, "%s length %d exceeds the limit of %d", what, n, limit)
	}
	if n > uint64(d.remaining()) {
		return 0, d.fail(start, "%s length %d exceeds the %d bytes left in the file", what, n, d.remaining())
	}
	d.off += int(n)
	return int(n), nil
}

// strings reads a string array with two allocations instead of one per
// element: the elements are substrings of a single copy of the array's
// bytes. A first pass checks every length, so the slice allocation is
// backed by bytes actually present (8 at least per element).
func (d *decoder) strings(count int) ([]string, error) {
	start := d.off
	for range count {
		if _, err := d.skipStr("string", MaxStringLen); err != nil {
			return nil, err
		}
	}
	blob := string(d.b[start:d.off])
	ss := make([]string, count)
	p := 0
	for i := range ss {
		n := int(binary.LittleEndian.Uint64(d.b[start+p:]))
		ss[i] = blob[p+8 : p+8+n]
		p += 8 + n
	}
	return ss, nil
}

// valueWhat names each value type in truncation errors, precomputed so
// that reading a value allocates nothing but the value.
var valueWhat = func() (w [TypeFloat64 + 1]string) {
	for t := range w {
		w[t] = ValueType(t).String() + " value"
	}
	return w
}()

// scalar reads one value of a non-array type t.
func (d *decoder) scalar(t ValueType) (any, error) {
	what := valueWhat[t]
	switch t {
	case TypeUint8:
		return d.u8(what)
	case TypeInt8:
		v, err := d.u8(what)
		return int8(v), err
	case TypeBool:
		off := d.off
		v, err := d.u8(what)
		if err == nil && v > 1 {
			return nil, d.fail(off, "bool value %d is neither 0 nor 1", v)
		}
		return v == 1, err
	case TypeUint16:
		return d.u16(what)
	case TypeInt16:
		v, err := d.u16(what)
		return int16(v), err
	case TypeUint32:
		return d.u32(what)
	case TypeInt32:
		v, err := d.u32(what)
		return int32(v), err
	case TypeFloat32:
		v, err := d.u32(what)
		return math.Float32frombits(v), err
	case TypeUint64:
		return d.u64(what)
	case TypeInt64:
		v, err := d.u64(what)
		return int64(v), err
	case TypeFloat64:
		v, err := d.u64(what)
		return math.Float64frombits(v), err
	case TypeString:
		return d.str("string", MaxStringLen)
	}
	// Callers validate t; reaching here is a bug in this file.
	panic(fmt.Sprintf("format: scalar of type %v", t))
}

// value reads a value of type t; depth is the number of enclosing arrays.
func (d *decoder) value(t ValueType, depth int) (Value, error) {
	if t != TypeArray {
		v, err := d.scalar(t)
		return Value{Type: t, V: v}, err
	}
	elemOff := d.off
	e, err := d.u32("array element type")
	if err != nil {
		return Value{}, err
	}
	et := ValueType(e)
	if !et.Valid() {
		return Value{}, d.fail(elemOff, "invalid array element type %d", e)
	}
	if et == TypeArray && depth+1 >= MaxArrayDepth {
		return Value{}, d.fail(elemOff, "arrays nested deeper than %d levels", MaxArrayDepth)
	}
	countOff := d.off
	n, err := d.u64("array length")
	if err != nil {
		return Value{}, err
	}
	if n > MaxArrayLen {
		return Value{}, d.fail(countOff, "array of %d elements exceeds the limit of %d", n, MaxArrayLen)
	}
	if n > uint64(d.remaining()/et.minSize()) {
		return Value{}, d.fail(countOff, "array of %d %v elements cannot fit in the %d bytes left in the file", n, et, d.remaining())
	}
	count := int(n)
	var v any
	switch et {
	case TypeUint8:
		v = readFixed(d, count, 1, func(b []byte) uint8 { return b[0] })
	case TypeInt8:
		v = readFixed(d, count, 1, func(b []byte) int8 { return int8(b[0]) })
	case TypeUint16:
		v = readFixed(d, count, 2, binary.LittleEndian.Uint16)
	case TypeInt16:
		v = readFixed(d, count, 2, func(b []byte) int16 { return int16(binary.LittleEndian.Uint16(b)) })
	case TypeUint32:
		v = readFixed(d, count, 4, binary.LittleEndian.Uint32)
	case TypeInt32:
		v = readFixed(d, count, 4, func(b []byte) int32 { return int32(binary.LittleEndian.Uint32(b)) })
	case TypeFloat32:
		v = readFixed(d, count, 4, func(b []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(b)) })
	case TypeUint64:
		v = readFixed(d, count, 8, binary.LittleEndian.Uint64)
	case TypeInt64:
		v = readFixed(d, count, 8, func(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) })
	case TypeFloat64:
		v = readFixed(d, count, 8, func(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) })
	case TypeBool:
		bs := make([]bool, count)
		for i := range bs {
			if d.b[d.off] > 1 {
				return Value{}, d.fail(d.off, "bool element %d is %d, neither 0 nor 1", i, d.b[d.off])
			}
			bs[i] = d.b[d.off] == 1
			d.off++
		}
		v = bs
	case TypeString:
		ss, err := d.strings(count)
		if err != nil {
			return Value{}, err
		}
		v = ss
	case TypeArray:
		// Variable-size elements: grow as they are read instead of
		// trusting n for the allocation.
		vs := make([]Value, 0, min(count, 1024))
		for range count {
			inner, err := d.value(TypeArray, depth+1)
			if err != nil {
				return Value{}, err
			}
			vs = append(vs, inner)
		}
		v = vs
	}
	return Value{Type: TypeArray, Elem: et, V: v}, nil
}

// readFixed decodes count fixed-size elements. The caller has checked that
// count*size bytes remain.
func readFixed[T any](d *decoder, count, size int, dec func([]byte) T) []T {
	out := make([]T, count)
	for i := range out {
		out[i] = dec(d.b[d.off:])
		d.off += size
	}
	return out
}

// Parse parses a whole GGUF v3 file held in b (read into memory or mapped).
// It performs every check of ggml's gguf.cpp reader and more (see doc.go);
// any violation is a *FormatError. Tensor data is not copied: Tensor
// returns slices of b.
func Parse(b []byte) (*File, error) {
	d := &decoder{b: b}
	if len(b) < 4 {
		return nil, d.fail(0, "file of %d bytes is too short for the GGUF magic", len(b))
	}
	if string(b[:4]) != "GGUF" {
		return nil, d.fail(0, "bad magic %q, want \"GGUF\"", b[:4])
	}
	d.off = 4
	version, err := d.u32("version")
	if err != nil {
		return nil, err
	}
	switch {
	case version == 0:
		return nil, d.fail(4, "bad GGUF version 0")
	case version&0xFFFF == 0:
		// A little-endian 3 read on the wrong side is 0x03000000: the
		// low half is zero for any plausible version (gguf.cpp's test).
		return nil, d.fail(4, "GGUF version %#x: big-endian or corrupt file (only little-endian files are supported)", version)
	case version < Version:
		return nil, d.fail(4, "GGUF version %d is not supported, re-convert the model (version %d is)", version, Version)
	case version > Version:
		return nil, d.fail(4, "GGUF version %d is newer than the supported version %d", version, Version)
	}
	nt, err := d.u64("tensor count")
	if err != nil {
		return nil, err
	}
	nkv, err := d.u64("metadata count")
	if err != nil {
		return nil, err
	}
	rest := uint64(d.remaining())
	if nt > rest/minTensorInfoSize {
		return nil, d.fail(8, "tensor count %d cannot fit in the %d bytes after the header", nt, rest)
	}
	if nkv > rest/minKVSize {
		return nil, d.fail(16, "metadata count %d cannot fit in the %d bytes after the header", nkv, rest)
	}

	f := &File{
		Version:   version,
		Alignment: DefaultAlignment,
		Metadata:  make(Metadata, min(nkv, 1024)),
		data:      b,
		size:      int64(len(b)),
	}
	if err := d.metadata(f, nkv); err != nil {
		return nil, err
	}
	if err := d.tensorInfos(f, nt); err != nil {
		return nil, err
	}
	return f, nil
}

func (d *decoder) metadata(f *File, nkv uint64) error {
	var alignTypeOff, alignValOff int
	for range nkv {
		keyOff := d.off
		key, err := d.str("key", MaxKeyLen)
		if err != nil {
			return err
		}
		if key == "" {
			return d.fail(keyOff, "empty metadata key")
		}
		if _, dup := f.Metadata[key]; dup {
			return d.fail(keyOff, "duplicate metadata key %.80q", key)
		}
		typeOff := d.off
		t, err := d.u32("value type")
		if err != nil {
			return err
		}
		if !ValueType(t).Valid() {
			return d.fail(typeOff, "key %.80q has invalid value type %d", key, t)
		}
		valOff := d.off
		v, err := d.value(ValueType(t), 0)
		if err != nil {
			var fe *FormatError
			if errors.As(err, &fe) {
				fe.Msg = fmt.Sprintf("key %.80q: %s", key, fe.Msg)
			}
			return err
		}
		if key == KeyAlignment {
			alignTypeOff, alignValOff = typeOff, valOff
		}
		f.Metadata[key] = v
	}
	if v, ok := f.Metadata[KeyAlignment]; ok {
		if v.Type != TypeUint32 {
			return d.fail(alignTypeOff, "%s has type %s, want u32", KeyAlignment, v.typeName())
		}
		a := v.V.(uint32)
		if a == 0 || a&(a-1) != 0 {
			return d.fail(alignValOff, "%s %d is not a power of 2", KeyAlignment, a)
		}
		if a > MaxAlignment {
			return d.fail(alignValOff, "%s %d exceeds the limit of %d", KeyAlignment, a, MaxAlignment)
		}
		f.Alignment = uint64(a)
	}
	return nil
}

func (d *decoder) tensorInfos(f *File, nt uint64) error {
	f.Tensors = make([]TensorInfo, 0, min(nt, 1024))
	f.sizes = make([]uint64, 0, min(nt, 1024))
	f.index = make(map[string]int, min(nt, 1024))
	offsetOffs := make([]int, 0, min(nt, 1024)) // where each offset field is, for errors
	align := f.Alignment
	var next uint64 // the packed offset the next tensor must have
	for i := range nt {
		nameOff := d.off
		name, err := d.str("tensor name", MaxTensorNameLen)
		if err != nil {
			return err
		}
		if name == "" {
			return d.fail(nameOff, "tensor %d has an empty name", i)
		}
		if j, dup := f.index[name]; dup {
			return d.fail(nameOff, "duplicate tensor name %.80q (tensors %d and %d)", name, j, i)
		}
		ndOff := d.off
		nd, err := d.u32("n_dims")
		if err != nil {
			return err
		}
		if nd > MaxDims {
			return d.fail(ndOff, "tensor %.80q has %d dims, at most %d allowed", name, nd, MaxDims)
		}
		ti := TensorInfo{Name: name, Dims: make([]uint64, nd)}
		dimsOff := d.off
		for j := range ti.Dims {
			if ti.Dims[j], err = d.u64("dim"); err != nil {
				return err
			}
			if ti.Dims[j] > math.MaxInt64 {
				return d.fail(d.off-8, "tensor %.80q: dim %d is %d (negative as int64)", name, j, ti.Dims[j])
			}
		}
		if msg := ti.dimsCheck(); msg != "" {
			return d.fail(dimsOff, "tensor %.80q: %s", name, msg)
		}
		typeOff := d.off
		dt, err := d.u32("tensor type")
		if err != nil {
			return err
		}
		ti.DType = quant.DType(dt)
		if !ti.DType.Known() {
			return d.fail(typeOff, "tensor %.80q has unknown or unsupported type %d", name, dt)
		}
		// Block divisibility and byte-size overflow: the remaining
		// sizeCheck failures are about the type/dims combination.
		msg, size := ti.sizeCheck()
		if msg != "" {
			return d.fail(typeOff, "tensor %.80q: %s", name, msg)
		}
		offOff := d.off
		if ti.Offset, err = d.u64("tensor offset"); err != nil {
			return err
		}
		if ti.Offset%align != 0 {
			return d.fail(offOff, "tensor %.80q offset %d is not a multiple of the alignment %d", name, ti.Offset, align)
		}
		// Like gguf.cpp: tensors are packed in file order, each at the
		// aligned end of the previous one, so no two overlap and no data
		// hides between them.
		if ti.Offset != next {
			return d.fail(offOff, "tensor %.80q has offset %d, want %d (tensors are packed in file order)", name, ti.Offset, next)
		}
		padded := alignUp(size, align)
		if padded > math.MaxInt64-next {
			return d.fail(offOff, "tensor %.80q: data section size overflows int64", name)
		}
		next += padded
		f.index[name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
		f.sizes = append(f.sizes, size)
		offsetOffs = append(offsetOffs, offOff)
	}

	if nt == 0 {
		// gguf.cpp only seeks to the aligned data section when there are
		// tensors; a metadata-only file may end without padding.
		f.DataOffset = uint64(d.off)
		return nil
	}
	f.DataOffset = alignUp(uint64(d.off), align)
	if f.DataOffset > uint64(len(d.b)) {
		return d.fail(d.off, "data section at %d starts past the end of the file (%d bytes)", f.DataOffset, len(d.b))
	}
	for i, ti := range f.Tensors {
		// DataOffset <= len(b) and Offset+size <= MaxInt64: no overflow.
		end := f.DataOffset + ti.Offset + f.sizes[i]
		if end > uint64(len(d.b)) {
			return d.fail(offsetOffs[i], "tensor %.80q data [%d, %d) extends past the end of the file (%d bytes)",
				ti.Name, f.DataOffset+ti.Offset, end, len(d.b))
		}
	}
	return nil
}

// alignUp rounds x up to a multiple of a (a power of 2). Callers keep x
// below 2^63 and a at most MaxAlignment, so it cannot overflow.
func alignUp(x, a uint64) uint64 { return (x + a - 1) &^ (a - 1) }
