// Package ckpt opens a checkpoint of any supported container by sniffing
// its first bytes, so callers need not trust the file extension (.bin is
// used by both rwkv.cpp and Hugging Face pytorch_model.bin).
package ckpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/rwkv-tools/rwkv-tools/convert/pth"
	"github.com/rwkv-tools/rwkv-tools/convert/rwkvcpp"
	"github.com/rwkv-tools/rwkv-tools/convert/safetensors"
	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// sniffLen covers every magic below, including tar's at offset 257.
const sniffLen = 512

// Supported describes the accepted containers, for messages.
const Supported = "PyTorch torch.save (.pth/.pt/.bin: zip, or the pre-1.6 legacy format), safetensors, rwkv.cpp .bin"

// UnknownFormatError is returned when no reader recognises the file.
type UnknownFormatError struct {
	Path string
	Head []byte // the first bytes seen (up to 16)
}

func (e *UnknownFormatError) Error() string {
	switch {
	case bytes.HasPrefix(e.Head, []byte("GGUF")):
		return fmt.Sprintf("%s is already a GGUF model file, not a checkpoint: use it directly (rwkv-tools info/logits/generate); checkpoints are %s", e.Path, Supported)
	case bytes.HasPrefix(e.Head, []byte("RWKVSTAT")):
		return fmt.Sprintf("%s is a state saved by logits --state-out, not a checkpoint (rwkv-tools info describes it); checkpoints are %s", e.Path, Supported)
	}
	return fmt.Sprintf("%s: unrecognised checkpoint format (first bytes: % x); supported: %s", e.Path, e.Head, Supported)
}

// Detect names the container format of a file from its first bytes (at
// least 16 are needed for the pickle magic, 262 for tar). ok is false when
// nothing matches.
func Detect(head []byte) (f source.Format, ok bool) {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return source.PyTorch, true
	case pth.IsLegacy(head):
		return source.PyTorchLegacy, true
	case len(head) >= 4 && binary.LittleEndian.Uint32(head) == rwkvcpp.Magic:
		return source.RWKVCpp, true
	case len(head) >= 9 && head[8] == '{' && binary.LittleEndian.Uint64(head) <= safetensors.MaxHeaderLen:
		// u64le header length, then the JSON header.
		return source.Safetensors, true
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		// Tar-era torch.save: pth refuses it with a clear message.
		return source.PyTorchLegacy, true
	}
	return "", false
}

// Open sniffs the file at path and opens it with the matching reader. Close
// the checkpoint when done; its tensors alias the mapped file.
func Open(path string) (*source.Checkpoint, error) { return OpenWith(path, pth.Options{}) }

// OpenWith is Open with the PyTorch reader's options; SkipNonFloat applies
// to safetensors files too (converted from the same .bin files, they carry
// the same buffers).
func OpenWith(path string, opts pth.Options) (*source.Checkpoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	head := make([]byte, sniffLen)
	n, err := io.ReadFull(f, head)
	f.Close()
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	head = head[:n]
	format, ok := Detect(head)
	if !ok {
		return nil, &UnknownFormatError{Path: path, Head: head[:min(len(head), 16)]}
	}
	switch format {
	case source.PyTorch, source.PyTorchLegacy:
		return pth.OpenWith(path, opts)
	case source.Safetensors:
		return safetensors.OpenWith(path, safetensors.Options{SkipNonFloat: opts.SkipNonFloat})
	default:
		return rwkvcpp.Open(path)
	}
}
