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

// MaxHeaderLen bounds the JSON header (the reference implementation uses
// 100 MB as well); a real header is a few hundred bytes per tensor.
const MaxHeaderLen = 100 << 20

// FormatError reports a malformed or unsupported file. Off is the byte
// offset in the file, or -1 when the problem is not tied to one place.
type FormatError = source.FormatError

// Open maps the file at path and reads it. Close the checkpoint when done.
func Open(path string) (*source.Checkpoint, error) { return source.OpenMapped(path, OpenBytes) }

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
}

// OpenBytes reads a safetensors file held in memory; name is used in errors
// and as Checkpoint.Path. The tensors alias b.
func OpenBytes(b []byte, name string) (*source.Checkpoint, error) {
	errf := func(off int64, format string, args ...any) error {
		return &FormatError{Path: name, Off: off, Msg: fmt.Sprintf(format, args...)}
	}
	if len(b) < 8 {
		return nil, errf(0, "file is %d bytes, too short for the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > MaxHeaderLen || n > uint64(len(b)-8) {
		return nil, errf(0, "header length %d is out of range (file has %d bytes after the length, limit %d)", n, len(b)-8, MaxHeaderLen)
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
			return nil, errf(8+dec.InputOffset(), "header names %q twice", key)
		}
		seen[key] = true
		if key == "__metadata__" {
			var meta map[string]string
			if err := dec.Decode(&meta); err != nil {
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
			return nil, errf(8+dec.InputOffset(), "tensor %q: header JSON: %v", key, err)
		}
		s, err := makeSpan(key, &e)
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
				return nil, errf(base+s.begin, "tensor %q: data_offsets [%d, %d] overlap the previous tensor (which ends at %d)", s.name, s.begin, s.end, pos)
			}
			return nil, errf(base+pos, "tensor %q: data_offsets [%d, %d] leave a gap after %d", s.name, s.begin, s.end, pos)
		}
		if s.end > int64(len(buf)) {
			return nil, errf(base+s.begin, "tensor %q: data_offsets [%d, %d] run past the end of the data (%d bytes)", s.name, s.begin, s.end, len(buf))
		}
		pos = s.end
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
func makeSpan(name string, e *entry) (span, error) {
	if e.DType == nil || e.Shape == nil || e.DataOffsets == nil {
		return span{}, fmt.Errorf("tensor %q: entry needs dtype, shape and data_offsets", name)
	}
	dt, ok := dtypes[*e.DType]
	if !ok {
		return span{}, fmt.Errorf("tensor %q: dtype %q is not supported (F32, F16 and BF16 are)", name, *e.DType)
	}
	offs := *e.DataOffsets
	if len(offs) != 2 {
		return span{}, fmt.Errorf("tensor %q: data_offsets has %d values, want [begin, end]", name, len(offs))
	}
	begin, end := offs[0], offs[1]
	if begin < 0 || end < begin {
		return span{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] are not an increasing range", name, begin, end)
	}
	shape := *e.Shape
	if len(shape) > 64 {
		return span{}, fmt.Errorf("tensor %q: %d dims", name, len(shape))
	}
	numel := uint64(1)
	for _, d := range shape {
		if d < 0 {
			return span{}, fmt.Errorf("tensor %q: negative dimension in shape %v", name, shape)
		}
		hi, lo := bits.Mul64(numel, uint64(d))
		if hi != 0 || lo > 1<<50 {
			return span{}, fmt.Errorf("tensor %q: shape %v has too many elements", name, shape)
		}
		numel = lo
	}
	size := numel * uint64(dt.BlockBytes())
	if uint64(end-begin) != size {
		return span{}, fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes, but %s %v needs %d", name, begin, end, end-begin, dt, shape, size)
	}
	t := &source.Tensor{Name: name, DType: dt, Shape: slices.Clone(shape), FileOffset: -1}
	if len(t.Shape) == 0 {
		t.Shape = []int64{} // a scalar
	}
	return span{name: name, begin: begin, end: end, t: t}, nil
}
