// Package safetensors reads Hugging Face safetensors files into a
// source.Checkpoint whose tensors alias the memory-mapped file.
//
// Layout: u64le N, an N-byte JSON header {name: {"dtype", "shape",
// "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the data
// buffer; offsets are relative to the buffer. The checks follow the
// reference implementation's validate(): every tensor's byte range matches
// its shape and dtype, and the ranges tile the buffer exactly — no gaps, no
// overlap, nothing after the last one.
package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"slices"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// MaxHeaderLen bounds the JSON header. A real header is about 150 bytes
// per tensor (a 14B RWKV: ~1200 tensors, under 200 KB; the largest
// published checkpoints stay under 2 MB), so 16 MiB leaves ample headroom
// while keeping the cost of a hostile header (JSON decoding allocates
// several times its size) bounded. The reference implementation allows
// 100 MB; files between the two limits do not occur in practice.
const MaxHeaderLen = 16 << 20

// MaxMetadataLen bounds the free-form __metadata__ object (real files: a
// few dozen bytes, {"format": "pt"}).
const MaxMetadataLen = 1 << 20

// FormatError reports a malformed or unsupported file. Off is the byte
// offset in the file, or -1 when the problem is not tied to one place.
type FormatError = source.FormatError

// Open maps the file at path and reads it. Close the checkpoint when done.
func Open(path string) (*source.Checkpoint, error) { return source.OpenMapped(path, OpenBytes) }

// Options tune reading; the zero value refuses every non-float tensor.
type Options struct {
	// SkipNonFloat says which non-float tensors (the bool masks and int
	// buffers of files converted from older Hugging Face .bin files) may be
	// left out, by name; their bytes must still tile the buffer. Skipped
	// names are listed in Checkpoint.Skipped.
	SkipNonFloat func(name string) bool
}

// OpenWith is Open with options.
func OpenWith(path string, opts Options) (*source.Checkpoint, error) {
	return source.OpenMapped(path, func(b []byte, name string) (*source.Checkpoint, error) {
		return OpenBytesWith(b, name, opts)
	})
}

// otherDTypes are the element sizes of the non-float dtypes a file may
// hold; such a tensor is only ever skipped (Options.SkipNonFloat).
var otherDTypes = map[string]int{"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8, "F64": 8}

// dtypes maps the safetensors dtype names we read. Others (F64, I64, U8,
// BOOL, F8_*, ...) are refused by name.
var dtypes = map[string]quant.DType{"F32": quant.F32, "F16": quant.F16, "BF16": quant.BF16}

type entry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int64 `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

type span struct {
	name       string
	begin, end int64
	t          *source.Tensor
	skipped    bool // a non-float tensor left out (Options.SkipNonFloat)
}

// OpenBytes reads a safetensors file held in memory; name is used in errors
// and as Checkpoint.Path. The tensors alias b.
func OpenBytes(b []byte, name string) (*source.Checkpoint, error) {
	return OpenBytesWith(b, name, Options{})
}

// OpenBytesWith is OpenBytes with options.
func OpenBytesWith(b []byte, name string, opts Options) (*source.Checkpoint, error) {
	errf := func(off int64, format string, args ...any) error {
		return &FormatError{Path: name, Off: off, Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < 8 {
		return nil, errf(0, "file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderLen || n > uint64(len(b)-8) {
		return nil, errf(0, "header length %d is out of range (file has %d bytes after the length; this reader's limit is %d MiB, far above real checkpoints)", n, len(b)-8, MaxHeaderLen>>20)
	}
	header := b[8 : 8+n]
	if len(header) == 0 || header[0] != '{' {
		return nil, errf(8, "header does not start with '{'")
	}
	buf := b[8+n:]
	base := int64(8 + n)

	dec := json.NewDecoder(bytes.NewReader(header))
	dec.DisallowUnknownFields()
	jsonErr := func(err error) error {
		return errf(8+dec.InputOffset(), "header JSON: %v", err)
	}
	if _, err := dec.Token(); err != nil { // '{'
		return nil, jsonErr(err)
	}
	ck := &source.Checkpoint{Path: name, Format: source.Safetensors, Meta: map[string]string{}}
	seen := map[string]bool{}
	var spans []span
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errf(8+dec.InputOffset(), "header JSON: expected a tensor name, found %v", tok)
		}
		if seen[key] {
			return nil, errf(8+dec.InputOffset(), "header names %s twice", source.Quote(key))
		}
		seen[key] = true
		if key == "__metadata__" {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, errf(8+dec.InputOffset(), "__metadata__: %v", err)
			}
			if len(raw) > MaxMetadataLen {
				return nil, errf(8+dec.InputOffset(), "__metadata__ is %d bytes; this reader's limit is %d KiB (real files carry a few keys such as \"format\")", len(raw), MaxMetadataLen>>10)
			}
			var meta map[string]string
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, errf(8+dec.InputOffset(), "__metadata__ must map strings to strings: %v", err)
			}
			for k, v := range meta {
				ck.Meta[k] = v
			}
			continue
		}
		var e entry
		if err := dec.Decode(&e); err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, errf(8+dec.InputOffset(), "tensor %s: header JSON: %v", source.Quote(key), err)
		}
		skip := false
		if e.DType != nil && opts.SkipNonFloat != nil && opts.SkipNonFloat(key) {
			_, skip = otherDTypes[*e.DType]
		}
		s, err := makeSpan(key, &e, skip)
		if err != nil {
			return nil, errf(8+dec.InputOffset(), "%v", err)
		}
		spans = append(spans, s)
	}
	if _, err := dec.Token(); err != nil { // '}'
		return nil, jsonErr(err)
	}
	// Only the space padding the writers add may follow the object.
	rest := header[dec.InputOffset():]
	if len(bytes.Trim(rest, " \t\r\n")) != 0 {
		return nil, errf(8+dec.InputOffset(), "%d bytes of junk after the header object", len(rest))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errf(8+dec.InputOffset(), "junk after the header object")
	}

	// The byte ranges must tile the buffer: sort by position and walk.
	slices.SortStableFunc(spans, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.begin, b.begin), cmp.Compare(a.end, b.end))
	})
	var pos int64
	for _, s := range spans {
		if s.begin != pos {
			if s.begin < pos {
				return nil, errf(base+s.begin, "tensor %s: data_offsets [%d, %d] overlap the previous tensor (which ends at %d)", source.Quote(s.name), s.begin, s.end, pos)
			}
			return nil, errf(base+pos, "tensor %s: data_offsets [%d, %d] leave a gap after %d", source.Quote(s.name), s.begin, s.end, pos)
		}
		if s.end > int64(len(buf)) {
			return nil, errf(base+s.begin, "tensor %s: data_offsets [%d, %d] run past the end of the data (%d bytes)", source.Quote(s.name), s.begin, s.end, len(buf))
		}
		pos = s.end
		if s.skipped {
			ck.Skipped = append(ck.Skipped, s.name)
			continue
		}
		t := s.t
		t.Storage = buf[s.begin:s.end:s.end]
		t.FileOffset = base + s.begin
		if err := t.Validate(); err != nil {
			return nil, errf(t.FileOffset, "%v", err)
		}
		ck.Tensors = append(ck.Tensors, t)
	}
	if pos != int64(len(buf)) {
		return nil, errf(base+pos, "%d bytes after the last tensor's data are not described by the header", int64(len(buf))-pos)
	}
	return ck, nil
}

// makeSpan checks one header entry: known dtype, sane shape, and a byte
// range whose length is exactly numel·elemsize.
func makeSpan(name string, e *entry, skip bool) (span, error) {
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return span{}, fmt.Errorf("tensor %s: entry needs dtype, shape and data_offsets", source.Quote(name))
	}
	dt, ok := dtypes[*e.DType]
	elem := int64(dt.BlockBytes())
	if skip {
		elem, ok = int64(otherDTypes[*e.DType]), true
	}
	if !ok {
		return span{}, fmt.Errorf("tensor %s: dtype %s is not supported (F32, F16 and BF16 are)", source.Quote(name), source.Quote(*e.DType))
	}
	offs := *e.DataOffsets
	if len(offs) != 2 {
		return span{}, fmt.Errorf("tensor %s: data_offsets has %d values, want [begin, end]", source.Quote(name), len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin {
		return span{}, fmt.Errorf("tensor %s: data_offsets [%d, %d] are not an increasing range", source.Quote(name), begin, end)
	}
	shape := *e.Shape
	if len(shape) > 64 {
		return span{}, fmt.Errorf("tensor %s: %d dims", source.Quote(name), len(shape))
	}
	numel := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return span{}, fmt.Errorf("tensor %s: negative dimension in shape %v", source.Quote(name), shape)
		}
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 || lo > 1<<50 {
			return span{}, fmt.Errorf("tensor %s: shape %v has too many elements", source.Quote(name), shape)
		}
		numel = lo
	}
	size := numel * uint64(elem)
	if uint64(end-begin) != size {
		return span{}, fmt.Errorf("tensor %s: data_offsets [%d, %d] hold %d bytes, but %s %v needs %d", source.Quote(name), begin, end, end-begin, *e.DType, shape, size)
	}
	t := &source.Tensor{Name: name, DType: dt, Shape: slices.Clone(shape), FileOffset: -1}
	if len(t.Shape) == 0 {
		t.Shape = []int64{} // a scalar
	}
	return span{name: name, begin: begin, end: end, t: t, skipped: skip}, nil
}
