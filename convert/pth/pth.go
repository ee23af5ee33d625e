// Package pth reads PyTorch checkpoints written by torch.save — the zip
// container of torch >= 1.6 and the older non-zip ("legacy") format — into a
// source.Checkpoint whose tensors alias the memory-mapped file.
//
// The pickle inside is run by a VM of our own (pickle.go) that knows only
// the objects torch.save writes for a state dict and executes nothing.
// Every size and offset read from the file is checked before use; problems
// are reported as *FormatError naming the file, the offset and the tensor.
//
// Tensors keep PyTorch's shape and strides. Storage is narrowed to the bytes
// each tensor addresses (Offset is therefore 0) even when many tensors are
// views of one shared storage, as in DeepSpeed-saved checkpoints.
package pth

import (
	"bytes"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// Options tune how a checkpoint is read; the zero value refuses every
// non-float tensor.
type Options struct {
	// SkipNonFloat says which non-float tensors (the bool masks and int
	// buffers older Hugging Face files carry) may be left out, by name.
	// Any other non-float tensor is an error. Skipped names are listed in
	// Checkpoint.Skipped.
	SkipNonFloat func(name string) bool
}

// Open maps the file at path and reads it. Close the checkpoint when done;
// its tensors alias the mapping.
func Open(path string) (*source.Checkpoint, error) { return source.OpenMapped(path, OpenBytes) }

// OpenWith is Open with options.
func OpenWith(path string, opts Options) (*source.Checkpoint, error) {
	return source.OpenMapped(path, func(b []byte, name string) (*source.Checkpoint, error) {
		return OpenBytesWith(b, name, opts)
	})
}

// OpenBytes reads a checkpoint held in memory; name is used in errors and
// as Checkpoint.Path. The tensors alias b.
func OpenBytes(b []byte, name string) (*source.Checkpoint, error) {
	return OpenBytesWith(b, name, Options{})
}

// OpenBytesWith is OpenBytes with options.
func OpenBytesWith(b []byte, name string, opts Options) (*source.Checkpoint, error) {
	switch {
	case bytes.HasPrefix(b, []byte("PK\x03\x04")), bytes.HasPrefix(b, []byte("PK\x05\x06")), bytes.HasPrefix(b, []byte("PK\x06\x06")):
		return readZip(name, b, opts)
	case IsLegacy(b):
		return readLegacy(name, b, opts)
	case isTar(b):
		return nil, &FormatError{Path: name, Off: 257, Msg: "this is a tar-format torch checkpoint (torch < 0.4); not supported, re-save it with a current torch"}
	}
	head := b[:min(len(b), 8)]
	return nil, &FormatError{Path: name, Off: 0, Msg: "not a torch.save checkpoint: starts with " + hexBytes(head) + ", want a zip archive (PK\\x03\\x04) or the legacy pickle magic"}
}

// isTar recognises the ustar magic the tar-era torch.save produced.
func isTar(b []byte) bool {
	return len(b) >= 262 && string(b[257:262]) == "ustar"
}

func hexBytes(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b))
	for i, c := range b {
		if i > 0 {
			out = append(out, ' ')
		}
		out = append(out, digits[c>>4], digits[c&15])
	}
	if len(out) == 0 {
		return "(empty file)"
	}
	return string(out)
}
