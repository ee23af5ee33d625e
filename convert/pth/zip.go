package pth

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// The torch.save zip container (torch >= 1.6): <prefix>/data.pkl, one
// <prefix>/data/<key> record per storage, <prefix>/version and, in newer
// torch, byteorder, .format_version, .storage_alignment. PyTorch writes
// every record STORED with its data 64-byte aligned, so storages are
// sliced straight out of the mapping: no copy, no decompression.

type zipArchive struct {
	path   string
	data   []byte
	prefix string
	files  map[string]*zip.File
}

func readZip(path string, data []byte, opts Options) (*source.Checkpoint, error) {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		// ErrInsecurePath only flags odd names; we match names exactly.
		return nil, &FormatError{Path: path, Off: -1, Msg: fmt.Sprintf("not a readable zip archive: %v", err)}
	}
	a := &zipArchive{path: path, data: data, files: make(map[string]*zip.File, len(zr.File))}
	var pkl []string
	for _, f := range zr.File {
		if _, dup := a.files[f.Name]; dup {
			return nil, a.errf(-1, "zip entry %s appears twice", source.Quote(f.Name))
		}
		a.files[f.Name] = f
		// The prefix is "archive" in recent torch and the file's stem in
		// older ones, so the pickle is found by its suffix.
		if f.Name == "data.pkl" || strings.HasSuffix(f.Name, "/data.pkl") {
			pkl = append(pkl, f.Name)
		}
	}
	switch len(pkl) {
	case 0:
		return nil, a.errf(-1, "zip archive has no data.pkl entry: not a torch.save checkpoint")
	case 1:
	default:
		return nil, a.errf(-1, "zip archive has %d data.pkl entries (%s, ...): ambiguous", len(pkl), strings.Join(pkl[:2], ", "))
	}
	a.prefix = strings.TrimSuffix(pkl[0], "data.pkl")
	if err := a.rejectTorchScript(); err != nil {
		return nil, err
	}
	meta := map[string]string{"zip_prefix": strings.TrimSuffix(a.prefix, "/")}
	if f, ok := a.files[a.prefix+"byteorder"]; ok {
		b, off, err := a.entry(f)
		if err != nil {
			return nil, err
		}
		if string(b) != "little" {
			return nil, a.errf(off, "byteorder record says %s; only little-endian checkpoints are supported", source.Quote(string(b)))
		}
	}
	pb, poff, err := a.entry(a.files[pkl[0]])
	if err != nil {
		return nil, err
	}
	h := newTorchHooks(false)
	top, _, err := unpickle(pb, h)
	if err != nil {
		return nil, pickleFormatError(path, pkl[0], poff, err)
	}
	named, err := stateDict(top)
	if err != nil {
		return nil, &FormatError{Path: path, Off: -1, Msg: err.Error()}
	}
	ck := &source.Checkpoint{Path: path, Format: source.PyTorch, Meta: meta}
	for _, nt := range named {
		if opts.skip(nt) {
			ck.Skipped = append(ck.Skipped, nt.name)
			continue
		}
		t, err := makeTensor(path, nt, a.resolve)
		if err != nil {
			return nil, err
		}
		ck.Tensors = append(ck.Tensors, t)
	}
	return ck, nil
}

func (a *zipArchive) errf(off int64, format string, args ...any) error {
	return &FormatError{Path: a.path, Off: off, Msg: fmt.Sprintf(format, args...)}
}

// rejectTorchScript refuses torch.jit.save archives: their data.pkl pickles
// a scripted module whose code lives in code/, not a state dict.
func (a *zipArchive) rejectTorchScript() error {
	for name := range a.files {
		if name == a.prefix+"constants.pkl" || strings.HasPrefix(name, a.prefix+"code/") {
			return a.errf(-1, "this is a TorchScript archive (torch.jit.save, has %s), not a torch.save state dict", source.Quote(name))
		}
	}
	return nil
}

// entry returns a STORED record's bytes as a slice of the file.
func (a *zipArchive) entry(f *zip.File) ([]byte, int64, error) {
	if f.Method != zip.Store {
		return nil, -1, a.errf(-1, "zip entry %s is compressed (method %d); torch.save stores records uncompressed, so this file was repacked — re-save it with torch.save", source.Quote(f.Name), f.Method)
	}
	off, err := f.DataOffset()
	if err != nil {
		return nil, -1, a.errf(-1, "zip entry %s: %v", source.Quote(f.Name), err)
	}
	size := f.UncompressedSize64
	if f.CompressedSize64 != size {
		return nil, off, a.errf(off, "zip entry %s is stored but its compressed size %d differs from its size %d", source.Quote(f.Name), f.CompressedSize64, size)
	}
	if off < 0 || uint64(off) > uint64(len(a.data)) || size > uint64(len(a.data))-uint64(off) {
		return nil, off, a.errf(off, "zip entry %s: %d bytes at offset %d run past the end of the file (%d bytes)", source.Quote(f.Name), size, off, len(a.data))
	}
	return a.data[off : uint64(off)+size : uint64(off)+size], off, nil
}

// resolve points a storage at its data/<key> record, checking the record
// holds exactly numel elements.
func (a *zipArchive) resolve(st *storageRef) error {
	name := a.prefix + "data/" + st.key
	f, ok := a.files[name]
	if !ok {
		return a.errf(-1, "storage %s has no zip entry %s", source.Quote(st.key), source.Quote(name))
	}
	b, off, err := a.entry(f)
	if err != nil {
		return err
	}
	if want := uint64(st.numel) * uint64(st.cls.elemSize); uint64(len(b)) != want {
		return a.errf(off, "storage %s: zip entry %s holds %d bytes, but %d %s elements need %d",
			source.Quote(st.key), source.Quote(name), len(b), st.numel, st.cls.what, want)
	}
	st.data, st.fileOff = b, off
	return nil
}

// pickleFormatError turns a VM error into a FormatError at a file offset.
func pickleFormatError(path, what string, base int64, err error) error {
	var pe *pickleError
	if errors.As(err, &pe) {
		return &FormatError{Path: path, Off: base + pe.off, Msg: fmt.Sprintf("%s (%s, pickle offset %d)", pe.msg, what, pe.off)}
	}
	return &FormatError{Path: path, Off: base, Msg: fmt.Sprintf("%s: %v", what, err)}
}
