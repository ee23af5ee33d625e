package format

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/rwkv-tools/rwkv-tools/internal/atomicfile"
)

// MaxWriteNameLen is the longest tensor name Write accepts: ggml stores
// names in a char[GGML_MAX_NAME = 64] with a terminating NUL and rejects
// longer ones, so longer names would make files llama.cpp cannot load.
// (Parse is lenient up to MaxTensorNameLen.)
const MaxWriteNameLen = 63

// writeBufSize is the one buffer Write uses, whatever the file size.
const writeBufSize = 1 << 20

// ctxCheckBytes is how often a long tensor copy looks at its context.
const ctxCheckBytes = 64 << 20

// WriteTensor is one tensor to write: its info (Offset is ignored and
// planned by the writer) and a function that streams its encoded bytes.
type WriteTensor struct {
	TensorInfo
	// Write must write exactly Size() bytes to w; Write fails otherwise.
	Write func(w io.Writer) error
}

// Write streams a GGUF v3 file to w: metadata keys sorted (general.alignment
// = 64 added or overwritten), tensor infos in the given order, offsets
// planned first (each a multiple of 64, packed in order), zero padding, then
// each tensor's bytes via its Write func, in order. The output depends only
// on the inputs (not on map order), so the same model always gives the same
// bytes. Nothing is written when the inputs are invalid.
func Write(w io.Writer, md Metadata, tensors []WriteTensor) error {
	return write(context.Background(), w, md, tensors)
}

// WriteFile writes the file atomically: into a temporary file in path's
// directory (so the rename cannot cross file systems), fsync, rename over
// path. On any error, or when ctx is cancelled (checked between tensors and
// every 64 MiB within one), the temporary file is removed, nothing appears
// at path, and an existing file there is left untouched. A replaced file's
// permission bits are kept; a new file gets 0644.
func WriteFile(ctx context.Context, path string, md Metadata, tensors []WriteTensor) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return atomicfile.Write(path, func(f *os.File) error {
		if err := write(ctx, f, md, tensors); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		// A cancellation that arrived during the last tensor still wins:
		// the caller must be able to rely on "cancelled => no file".
		return ctx.Err()
	})
}

// plannedTensor is a validated tensor with its size and offset.
type plannedTensor struct {
	info  TensorInfo
	size  uint64
	write func(io.Writer) error
}

// plan validates everything up front, so that an invalid input fails
// before the first byte is written.
func plan(md Metadata, tensors []WriteTensor) ([]string, []plannedTensor, error) {
	keys := md.Keys()
	if _, ok := md[KeyAlignment]; !ok {
		keys = append(keys, KeyAlignment)
		slices.Sort(keys)
	}
	for _, k := range keys {
		if k == "" {
			return nil, nil, errors.New("gguf: empty metadata key")
		}
		if len(k) > MaxKeyLen {
			return nil, nil, fmt.Errorf("gguf: metadata key %.40q… is %d bytes, at most %d allowed", k, len(k), MaxKeyLen)
		}
		if k == KeyAlignment {
			continue
		}
		if err := md[k].check(0); err != nil {
			return nil, nil, fmt.Errorf("gguf: metadata key %q: %w", k, err)
		}
	}

	planned := make([]plannedTensor, len(tensors))
	seen := make(map[string]bool, len(tensors))
	var next uint64
	for i, t := range tensors {
		name := t.Name
		switch {
		case name == "":
			return nil, nil, fmt.Errorf("gguf: tensor %d has an empty name", i)
		case len(name) > MaxWriteNameLen:
			return nil, nil, fmt.Errorf("gguf: tensor name %q is %d bytes; ggml allows at most %d", name, len(name), MaxWriteNameLen)
		case seen[name]:
			return nil, nil, fmt.Errorf("gguf: duplicate tensor name %q", name)
		case len(t.Dims) == 0:
			// ggml always writes at least one dim; a scalar is [1].
			return nil, nil, fmt.Errorf("gguf: tensor %q has no dims (a scalar is Dims = [1])", name)
		case t.Write == nil:
			return nil, nil, fmt.Errorf("gguf: tensor %q has no Write func", name)
		}
		seen[name] = true
		size, err := t.Size()
		if err != nil {
			return nil, nil, fmt.Errorf("gguf: %w", err)
		}
		padded := alignUp(size, Alignment)
		if padded > math.MaxInt64-next {
			return nil, nil, fmt.Errorf("gguf: tensor %q: total data size overflows int64", name)
		}
		info := t.TensorInfo
		info.Dims = append([]uint64(nil), t.Dims...) // the caller may reuse its slice
		info.Offset = next
		planned[i] = plannedTensor{info: info, size: size, write: t.Write}
		next += padded
	}
	return keys, planned, nil
}

func write(ctx context.Context, w io.Writer, md Metadata, tensors []WriteTensor) error {
	keys, planned, err := plan(md, tensors)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, writeBufSize)
	e := &encoder{w: bw}

	e.raw([]byte("GGUF"))
	e.u32(Version)
	e.u64(uint64(len(planned)))
	e.u64(uint64(len(keys)))
	for _, k := range keys {
		v := md[k]
		if k == KeyAlignment {
			v = Uint32(Alignment)
		}
		e.str(k)
		e.u32(uint32(v.Type))
		e.value(v)
	}
	for _, p := range planned {
		e.str(p.info.Name)
		e.u32(uint32(len(p.info.Dims)))
		for _, d := range p.info.Dims {
			e.u64(d)
		}
		e.u32(uint32(p.info.DType))
		e.u64(p.info.Offset)
	}
	e.pad()
	if e.err != nil {
		return e.err
	}

	for _, p := range planned {
		if err := ctx.Err(); err != nil {
			return err
		}
		tw := &tensorWriter{e: e, left: p.size, ctx: ctx}
		err := p.write(tw)
		switch {
		case e.err != nil:
			return fmt.Errorf("gguf: tensor %q: %w", p.info.Name, e.err) // the destination failed
		case err != nil:
			return fmt.Errorf("gguf: tensor %q: %w", p.info.Name, err)
		case tw.err != nil:
			return fmt.Errorf("gguf: tensor %q: %w", p.info.Name, tw.err) // an error its Write func ignored
		case tw.left != 0:
			return fmt.Errorf("gguf: tensor %q: Write wrote %d bytes, want %d", p.info.Name, p.size-tw.left, p.size)
		}
		e.pad()
	}
	if e.err != nil {
		return e.err
	}
	return bw.Flush()
}

// encoder writes little-endian fields and remembers the first error, so
// the header code reads as a list of fields.
type encoder struct {
	w   *bufio.Writer
	n   uint64 // bytes written so far, for padding
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(b)
	e.n += uint64(n)
	e.err = err
}

func (e *encoder) u8(v uint8) { e.buf[0] = v; e.raw(e.buf[:1]) }
func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:], v)
	e.raw(e.buf[:2])
}
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:], v)
	e.raw(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:], v)
	e.raw(e.buf[:8])
}

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	if e.err == nil {
		n, err := e.w.WriteString(s)
		e.n += uint64(n)
		e.err = err
	}
}

var zeros [Alignment]byte

// pad writes zeros up to the next multiple of Alignment.
func (e *encoder) pad() { e.raw(zeros[:alignUp(e.n, Alignment)-e.n]) }

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// value writes v's payload (its type was written by the caller). v has
// passed check, so the type assertions hold.
func (e *encoder) value(v Value) {
	switch v.Type {
	case TypeUint8:
		e.u8(v.V.(uint8))
	case TypeInt8:
		e.u8(uint8(v.V.(int8)))
	case TypeBool:
		e.u8(boolByte(v.V.(bool)))
	case TypeUint16:
		e.u16(v.V.(uint16))
	case TypeInt16:
		e.u16(uint16(v.V.(int16)))
	case TypeUint32:
		e.u32(v.V.(uint32))
	case TypeInt32:
		e.u32(uint32(v.V.(int32)))
	case TypeFloat32:
		e.u32(math.Float32bits(v.V.(float32)))
	case TypeUint64:
		e.u64(v.V.(uint64))
	case TypeInt64:
		e.u64(uint64(v.V.(int64)))
	case TypeFloat64:
		e.u64(math.Float64bits(v.V.(float64)))
	case TypeString:
		e.str(v.V.(string))
	case TypeArray:
		e.u32(uint32(v.Elem))
		e.u64(uint64(v.Len()))
		switch s := v.V.(type) {
		case []uint8:
			e.raw(s)
		case []int8:
			for _, x := range s {
				e.u8(uint8(x))
			}
		case []bool:
			for _, x := range s {
				e.u8(boolByte(x))
			}
		case []uint16:
			for _, x := range s {
				e.u16(x)
			}
		case []int16:
			for _, x := range s {
				e.u16(uint16(x))
			}
		case []uint32:
			for _, x := range s {
				e.u32(x)
			}
		case []int32:
			for _, x := range s {
				e.u32(uint32(x))
			}
		case []float32:
			for _, x := range s {
				e.u32(math.Float32bits(x))
			}
		case []uint64:
			for _, x := range s {
				e.u64(x)
			}
		case []int64:
			for _, x := range s {
				e.u64(uint64(x))
			}
		case []float64:
			for _, x := range s {
				e.u64(math.Float64bits(x))
			}
		case []string:
			for _, x := range s {
				e.str(x)
			}
		case []Value:
			for _, x := range s {
				e.value(x)
			}
		}
	}
}

// tensorWriter is the io.Writer a tensor's Write func sees. It refuses
// bytes beyond the planned size (they would shift every later tensor), and
// notices cancellation during a long copy.
type tensorWriter struct {
	e         *encoder
	left      uint64
	err       error
	ctx       context.Context
	sinceTick uint64
}

func (t *tensorWriter) Write(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if uint64(len(p)) > t.left {
		t.err = errors.New("Write wrote more bytes than the tensor's Size")
		return 0, t.err
	}
	if t.sinceTick += uint64(len(p)); t.sinceTick >= ctxCheckBytes {
		t.sinceTick = 0
		if err := t.ctx.Err(); err != nil {
			t.err = err
			return 0, err
		}
	}
	before := t.e.n
	t.e.raw(p)
	n := int(t.e.n - before)
	t.left -= uint64(n)
	return n, t.e.err
}
