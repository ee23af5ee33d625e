// Package rwkvcpp reads rwkv.cpp model files (.bin, magic "ggmf") into a
// source.Checkpoint whose tensors alias the memory-mapped file.
//
// Layout (little-endian, no alignment): a header of six int32 — magic
// 0x67676d66, version (100 or 101), n_vocab, n_embed, n_layer, data_type —
// then tensors until EOF, each: int32 n_dims, int32 name_len, int32
// data_type, int32 ne[n_dims] (ggml order: ne[0] is the contiguous
// dimension), the name, the data.
//
// The values are whatever rwkv.cpp's converter wrote, already transformed
// for its engine (RWKV-4 time_decay = −exp(w), v7 x_* concatenated, ...).
// This reader does not undo any of it; Format = source.RWKVCpp tells the
// consumer. Shapes are returned in PyTorch order (ne reversed).
package rwkvcpp

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strconv"
	"unicode/utf8"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Magic is the first int32 of every rwkv.cpp file ("fmgg" on disk).
const Magic = 0x67676d66

// Versions: 101 changed every quantized block layout (ggml 00b49ec,
// 2023-05); FP32/FP16 data is the same in both.
const (
	version0 = 100
	version1 = 101
)

// maxNameLen bounds tensor names; real ones are under 40 bytes.
const maxNameLen = 1 << 12

// FormatError reports a malformed or unsupported file. Off is the byte
// offset in the file, or -1 when the problem is not tied to one place.
type FormatError = source.FormatError

// rwkv.cpp's type ids are its own (enum rwkv_type), not ggml's.
type rwkvType struct {
	name  string
	dtype quant.DType
	ok    bool
}

var types = map[int32]rwkvType{
	0: {"FP32", quant.F32, true},
	1: {"FP16", quant.F16, true},
	2: {"Q4_0", quant.Q4_0, true},
	3: {"Q4_1", quant.Q4_1, true},
	4: {"Q4_1_O", 0, false},
	5: {"Q4_2", 0, false},
	6: {"Q4_3", 0, false},
	7: {"Q5_0", quant.Q5_0, true},
	8: {"Q5_1", quant.Q5_1, true},
	9: {"Q8_0", quant.Q8_0, true},
}

func typeOf(id int32, version int32) (rwkvType, error) {
	t, ok := types[id]
	switch {
	case !ok:
		return t, fmt.Errorf("unknown data type %d", id)
	case !t.ok:
		return t, fmt.Errorf("data type %d (%s) is an obsolete format rwkv.cpp no longer loads", id, t.name)
	case version == version0 && id >= 2:
		return t, fmt.Errorf("%s data in a version %d file uses the pre-2023-05 ggml block layout; re-quantize with a current rwkv.cpp", t.name, version)
	}
	return t, nil
}

// Open maps the file at path and reads it. Close the checkpoint when done.
func Open(path string) (*source.Checkpoint, error) { return source.OpenMapped(path, OpenBytes) }

// OpenBytes reads an rwkv.cpp file held in memory; name is used in errors
// and as Checkpoint.Path. The tensors alias b.
func OpenBytes(b []byte, name string) (*source.Checkpoint, error) {
	errf := func(off int, format string, args ...any) error {
		return &FormatError{Path: name, Off: int64(off), Msg: fmt.Sprintf(format, args...)}
	}
	i32 := func(off int) int32 { return int32(binary.LittleEndian.Uint32(b[off:])) }
	if len(b) < 24 {
		return nil, errf(0, "file is %d bytes, shorter than the 24-byte header", len(b))
	}
	if m := uint32(i32(0)); m != Magic {
		return nil, errf(0, "magic is 0x%08x, want 0x%08x: not an rwkv.cpp file", m, Magic)
	}
	version := i32(4)
	if version != version0 && version != version1 {
		return nil, errf(4, "file version %d is not supported (100 and 101 are)", version)
	}
	nVocab, nEmbed, nLayer, dataType := i32(8), i32(12), i32(16), i32(20)
	for i, v := range []int32{nVocab, nEmbed, nLayer} {
		if v <= 0 {
			return nil, errf(8+4*i, "header %s is %d, want > 0", []string{"n_vocab", "n_embed", "n_layer"}[i], v)
		}
	}
	ht, err := typeOf(dataType, version)
	if err != nil {
		return nil, errf(20, "header: %v", err)
	}
	ck := &source.Checkpoint{
		Path:   name,
		Format: source.RWKVCpp,
		Meta: map[string]string{
			"version":        strconv.Itoa(int(version)),
			"n_vocab":        strconv.Itoa(int(nVocab)),
			"n_embed":        strconv.Itoa(int(nEmbed)),
			"n_layer":        strconv.Itoa(int(nLayer)),
			"data_type":      strconv.Itoa(int(dataType)),
			"data_type_name": ht.name,
		},
	}
	seen := map[string]bool{}
	pos := 24
	for pos < len(b) {
		start := pos
		if len(b)-pos < 12 {
			return nil, errf(start, "tensor header truncated: %d bytes left, want at least 12", len(b)-pos)
		}
		nDims, nameLen, typ := i32(pos), i32(pos+4), i32(pos+8)
		pos += 12
		if nDims < 1 || nDims > 3 {
			return nil, errf(start, "tensor #%d: n_dims is %d, want 1..3", len(ck.Tensors), nDims)
		}
		if nameLen < 1 || nameLen > maxNameLen {
			return nil, errf(start+4, "tensor #%d: name_len is %d, want 1..%d", len(ck.Tensors), nameLen, maxNameLen)
		}
		if len(b)-pos < 4*int(nDims)+int(nameLen) {
			return nil, errf(pos, "tensor #%d: dims and name (%d bytes) run past the end of the file", len(ck.Tensors), 4*int(nDims)+int(nameLen))
		}
		shape := make([]int64, nDims)
		for d := range int(nDims) {
			ne := i32(pos + 4*d)
			if ne <= 0 {
				return nil, errf(pos+4*d, "tensor #%d: ne[%d] is %d, want > 0", len(ck.Tensors), d, ne)
			}
			shape[int(nDims)-1-d] = int64(ne) // PyTorch order: reverse ggml's
		}
		pos += 4 * int(nDims)
		tname := string(b[pos : pos+int(nameLen)])
		pos += int(nameLen)
		if !utf8.ValidString(tname) {
			return nil, errf(pos-int(nameLen), "tensor #%d: name is not valid UTF-8", len(ck.Tensors))
		}
		if seen[tname] {
			return nil, errf(start, "tensor %s appears twice", source.Quote(tname))
		}
		seen[tname] = true
		tt, err := typeOf(typ, version)
		if err != nil {
			return nil, errf(start+8, "tensor %s: %v", source.Quote(tname), err)
		}
		size, err := dataSize(tt.dtype, shape)
		if err != nil {
			return nil, errf(start, "tensor %s: %v", source.Quote(tname), err)
		}
		if size > uint64(len(b)-pos) {
			return nil, errf(pos, "tensor %s: %d bytes of %s data run past the end of the file (%d bytes left)", source.Quote(tname), size, tt.name, len(b)-pos)
		}
		t := &source.Tensor{
			Name:       tname,
			DType:      tt.dtype,
			Shape:      shape,
			Storage:    b[pos : pos+int(size) : pos+int(size)],
			FileOffset: int64(pos),
		}
		if err := t.Validate(); err != nil {
			return nil, errf(pos, "%v", err)
		}
		ck.Tensors = append(ck.Tensors, t)
		pos += int(size)
	}
	if len(ck.Tensors) == 0 {
		return nil, errf(24, "the file holds no tensors")
	}
	return ck, nil
}

// dataSize is the encoded size of a tensor: rows of shape[last] elements.
func dataSize(dt quant.DType, shape []int64) (uint64, error) {
	row := shape[len(shape)-1]
	rb, err := dt.RowBytes(row)
	if err != nil {
		return 0, err
	}
	rows := uint64(1)
	for _, d := range shape[:len(shape)-1] {
		rows *= uint64(d) // at most two dims of < 2^31: < 2^62
	}
	hi, lo := bits.Mul64(rows, uint64(rb))
	if hi != 0 || lo > 1<<62 {
		return 0, fmt.Errorf("shape %v is too large", shape)
	}
	return lo, nil
}
