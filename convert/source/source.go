// Package source is the common view of a checkpoint that every reader
// (PyTorch .pth, safetensors, rwkv.cpp) produces: named tensors with a dtype,
// a PyTorch-order shape and element strides into a storage that aliases the
// mapped file. Nothing here copies tensor data until Bytes is called on a
// non-contiguous tensor.
package source

import (
	"fmt"
	"math/bits"
	"strconv"
	"sync"

	"github.com/rwkv-tools/rwkv-tools/internal/mmap"
	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Format names the container a checkpoint came from. Converters use it to
// know which transforms the stored values already carry.
type Format string

const (
	PyTorch       Format = "pth"         // torch.save zip container (torch >= 1.6)
	PyTorchLegacy Format = "pth-legacy"  // torch.save before 1.6 (_use_new_zipfile_serialization=False)
	Safetensors   Format = "safetensors" // Hugging Face safetensors
	RWKVCpp       Format = "rwkv.cpp"    // rwkv.cpp .bin (values pre-transformed by its converter)
)

// Tensor is one named tensor as the checkpoint stores it.
type Tensor struct {
	Name  string
	DType quant.DType
	// Shape is in PyTorch order: the last dimension varies fastest when the
	// tensor is contiguous. A scalar has an empty Shape.
	Shape []int64
	// Strides are element strides per dimension (PyTorch order); nil means
	// C-contiguous.
	Strides []int64
	// Storage holds the bytes the tensor views; element (i0,i1,...) lives at
	// byte (Offset + Σ i_d·Strides[d]) · elemsize. It aliases the mapping.
	Storage []byte
	// Offset is the storage offset in elements.
	Offset int64
	// FileOffset is where Storage[0] sits in the source file (for error
	// messages and for releasing pages); -1 when unknown.
	FileOffset int64
}

// NumElements returns the product of the dims (1 for a scalar).
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Contiguous reports whether the tensor is laid out in C order.
func (t *Tensor) Contiguous() bool {
	if t.Strides == nil {
		return true
	}
	if len(t.Strides) != len(t.Shape) {
		// Malformed (Validate rejects it); never index past Strides.
		return false
	}
	want := int64(1)
	for d := len(t.Shape) - 1; d >= 0; d-- {
		if t.Shape[d] != 1 && t.Strides[d] != want {
			return false
		}
		want *= t.Shape[d]
	}
	return true
}

// Validate checks the shape, strides, dtype and that every addressed
// element lies inside Storage. Readers call it before returning a tensor,
// so a length read from a file is never trusted.
func (t *Tensor) Validate() error {
	if t.DType != quant.F32 && t.DType != quant.F16 && t.DType != quant.BF16 && !t.DType.Known() {
		return fmt.Errorf("tensor %s: unsupported element type %v", Quote(t.Name), t.DType)
	}
	if t.Strides != nil && len(t.Strides) != len(t.Shape) {
		return fmt.Errorf("tensor %s: %d strides for %d dims", Quote(t.Name), len(t.Strides), len(t.Shape))
	}
	if t.Offset < 0 {
		return fmt.Errorf("tensor %s: negative storage offset %d", Quote(t.Name), t.Offset)
	}
	// Bound the offset before any arithmetic on it: (Offset+n)·elemsize
	// must not wrap around, or a huge offset read from a file would pass
	// the range check below and make Bytes slice out of range.
	if t.Offset > 1<<60 {
		return fmt.Errorf("tensor %s: storage offset %d is past any storage", Quote(t.Name), t.Offset)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("tensor %s: negative dimension in shape %v", Quote(t.Name), t.Shape)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > 1<<50 {
			return fmt.Errorf("tensor %s: shape %v has too many elements", Quote(t.Name), t.Shape)
		}
		n = int64(lo)
	}
	if n == 0 {
		return nil
	}
	if t.DType.BlockLen() > 1 {
		// Block-quantized data (rwkv.cpp files) is always contiguous.
		if t.Strides != nil && !t.Contiguous() || t.Offset != 0 {
			return fmt.Errorf("tensor %s: %v data must be contiguous", Quote(t.Name), t.DType)
		}
		rowLen := int64(1)
		if len(t.Shape) > 0 {
			rowLen = t.Shape[len(t.Shape)-1]
		}
		rb, err := t.DType.RowBytes(rowLen)
		if err != nil {
			return fmt.Errorf("tensor %s: %v", Quote(t.Name), err)
		}
		if need := rb * (n / rowLen); need > int64(len(t.Storage)) {
			return fmt.Errorf("tensor %s: needs %d bytes, storage has %d", Quote(t.Name), need, len(t.Storage))
		}
		return nil
	}
	// Highest element index addressed.
	last := t.Offset
	if t.Strides == nil {
		last += n - 1
		if last > 1<<60 {
			return fmt.Errorf("tensor %s: offset %d + %d elements is past any storage", Quote(t.Name), t.Offset, n)
		}
	} else {
		for d, s := range t.Strides {
			if s < 0 {
				return fmt.Errorf("tensor %s: negative stride %d", Quote(t.Name), s)
			}
			hi, lo := bits.Mul64(uint64(t.Shape[d]-1), uint64(s))
			if hi != 0 || lo > 1<<60 {
				return fmt.Errorf("tensor %s: stride %d overflows", Quote(t.Name), s)
			}
			last += int64(lo)
			if last > 1<<60 {
				return fmt.Errorf("tensor %s: strides address past any storage", Quote(t.Name))
			}
		}
		// A view with more elements than the storage span it covers
		// repeats elements (stride 0, as torch's expand makes). Refused:
		// Bytes would allocate n elements, which a file could set to 2^50
		// over a one-element storage. Real weights are never such views.
		if span := last - t.Offset + 1; n > span {
			return fmt.Errorf("tensor %s: shape %v with strides %v repeats storage elements (%d elements over a span of %d); expanded views are not supported",
				Quote(t.Name), t.Shape, t.Strides, n, span)
		}
	}
	es := int64(t.DType.BlockBytes())
	if end := (last + 1) * es; end > int64(len(t.Storage)) {
		return fmt.Errorf("tensor %s: offset %d + size runs past its storage (%d elements needed, storage has %d)",
			Quote(t.Name), t.Offset, last+1, int64(len(t.Storage))/es)
	}
	return nil
}

// Bytes returns the tensor's elements in C order. For a contiguous tensor it
// is a slice of the storage (no copy; do not modify it); otherwise the
// elements are gathered into a new buffer.
func (t *Tensor) Bytes() ([]byte, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	n := t.NumElements()
	if n == 0 {
		// Validate does not bound Offset for an empty tensor (PyTorch does
		// not either), so it must not be used to slice.
		return []byte{}, nil
	}
	if t.DType.BlockLen() > 1 {
		rowLen := int64(1)
		if len(t.Shape) > 0 {
			rowLen = t.Shape[len(t.Shape)-1]
		}
		rb, _ := t.DType.RowBytes(rowLen)
		return t.Storage[:rb*(n/max(rowLen, 1))], nil
	}
	es := int64(t.DType.BlockBytes())
	if t.Contiguous() {
		return t.Storage[t.Offset*es : (t.Offset+n)*es], nil
	}
	out := make([]byte, n*es)
	idx := make([]int64, len(t.Shape))
	for i := int64(0); i < n; i++ {
		src := t.Offset
		for d, k := range idx {
			src += k * t.Strides[d]
		}
		copy(out[i*es:(i+1)*es], t.Storage[src*es:(src+1)*es])
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < t.Shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out, nil
}

// Checkpoint is an opened checkpoint file.
type Checkpoint struct {
	Path    string
	Format  Format
	Tensors []*Tensor // file order
	// Meta holds container-level facts (safetensors __metadata__, rwkv.cpp
	// header fields), for info output and provenance.
	Meta    map[string]string
	Mapping *mmap.Mapping // nil when the reader copied the data
	// Skipped names the non-float buffers the reader was allowed to leave
	// out (pth.Options.SkipNonFloat).
	Skipped []string
	// Shards are the files of a merged (sharded) checkpoint; each owns its
	// mapping, and Tensors lists all their tensors (see Merge).
	Shards  []*Checkpoint
	shardOf map[*Tensor]*Checkpoint

	indexMu sync.Mutex
	index   map[string]*Tensor
	indexed int // len(Tensors) when index was built
}

// Tensor returns the tensor with the given name, or nil. Lookups go
// through an index (detectors query names per layer, which was quadratic
// for files with very many tensors); readers may still rename or append
// tensors, so a hit is checked and a miss rebuilds the index once.
func (c *Checkpoint) Tensor(name string) *Tensor {
	c.indexMu.Lock()
	defer c.indexMu.Unlock()
	if t, ok := c.index[name]; ok && t.Name == name && c.indexed == len(c.Tensors) {
		return t
	}
	c.indexed = len(c.Tensors)
	c.index = make(map[string]*Tensor, len(c.Tensors))
	for _, t := range c.Tensors {
		if _, dup := c.index[t.Name]; !dup {
			c.index[t.Name] = t // the first of equal names, as before
		}
	}
	return c.index[name]
}

// Release drops the pages behind t from memory (a hint), so streaming a
// conversion keeps resident memory near one tensor.
func (c *Checkpoint) Release(t *Tensor) {
	if sh := c.shardOf[t]; sh != nil {
		sh.Release(t)
		return
	}
	if c.Mapping == nil || t.FileOffset < 0 {
		return
	}
	// Only the tensor's own bytes: a storage may be shared by every tensor
	// of the model (DeepSpeed flat buffers).
	off, n := int64(0), int64(len(t.Storage))
	if t.Contiguous() && t.DType.BlockLen() == 1 {
		es := int64(t.DType.BlockBytes())
		off, n = t.Offset*es, t.NumElements()*es
	}
	c.Mapping.DontNeed(t.FileOffset+off, n)
}

// Close releases the mapping. Tensors must not be used afterwards.
func (c *Checkpoint) Close() error {
	if c == nil {
		return nil
	}
	var first error
	for _, sh := range c.Shards {
		if err := sh.Close(); err != nil && first == nil {
			first = err
		}
	}
	if c.Mapping != nil {
		if err := c.Mapping.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Merge makes one checkpoint of the shards of a sharded model, in order;
// path names the whole (the index file). A tensor name found twice, in one
// shard or in two, is an error. The merged checkpoint owns the shards:
// Close closes them all, also when Merge fails.
func Merge(path string, format Format, shards []*Checkpoint) (*Checkpoint, error) {
	m := &Checkpoint{Path: path, Format: format, Meta: map[string]string{}, Shards: shards, shardOf: map[*Tensor]*Checkpoint{}}
	where := map[string]string{}
	for _, sh := range shards {
		for _, t := range sh.Tensors {
			if prev, dup := where[t.Name]; dup {
				m.Close()
				if prev == sh.Path {
					return nil, &FormatError{Path: sh.Path, Off: t.FileOffset, Msg: fmt.Sprintf("tensor %q appears twice in this shard", t.Name)}
				}
				return nil, &FormatError{Path: sh.Path, Off: t.FileOffset, Msg: fmt.Sprintf(
					"tensor %q is also in shard %s; a tensor must live in exactly one shard", t.Name, prev)}
			}
			where[t.Name] = sh.Path
			m.Tensors = append(m.Tensors, t)
			m.shardOf[t] = sh
		}
		m.Skipped = append(m.Skipped, sh.Skipped...)
	}
	return m, nil
}

// FormatError reports a malformed or unsupported checkpoint, the way Go's
// debug/elf does: Off is the byte offset in the file the problem was found
// at, or -1 when it is not tied to one place (Msg then names the tensor).
// Every reader returns it.
type FormatError struct {
	Path string
	Off  int64
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Off < 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s: offset %d: %s", e.Path, e.Off, e.Msg)
}

// OpenMapped maps the file at path and parses it with parse (a reader's
// OpenBytes); the checkpoint owns the mapping and unmaps it on Close.
func OpenMapped(path string, parse func(b []byte, name string) (*Checkpoint, error)) (*Checkpoint, error) {
	m, err := mmap.Open(path)
	if err != nil {
		return nil, err
	}
	ck, err := parse(m.Data, path)
	if err != nil {
		m.Close()
		return nil, err
	}
	ck.Mapping = m
	return ck, nil
}

// maxQuoted is how many bytes of an untrusted string (a name or key read
// from a file) a message shows: a hostile file can hold megabyte names.
const maxQuoted = 80

// Quote quotes an untrusted string for an error message: escaped like %q,
// cut to 80 bytes (on a rune boundary) followed by "…" when longer.
func Quote(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut := maxQuoted
	for cut > 0 && s[cut]&0xC0 == 0x80 {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
