package pth

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// The pre-1.6 format (torch.save(..., _use_new_zipfile_serialization=False)),
// written by torch.serialization._legacy_save as consecutive pickles:
//
//	magic number 0x1950a86a20f9469cfc6c, protocol version 1001, sys_info,
//	the object (storages as persistent ids
//	    ('storage', torch.XStorage, key, location, numel, view_metadata)),
//	the sorted list of storage keys,
//
// then, for each key in that list, int64 numel and the raw little-endian
// elements. The records are unaligned; source.Tensor holds bytes, so they
// are still used in place.

var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

const legacyProtocol = 1001

// legacyHead is how a legacy file starts: PROTO 2, LONG1 of 10 bytes, the
// magic number little-endian. Exported to the sniffer through IsLegacy.
var legacyHead = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19}

// IsLegacy reports whether b starts like a pre-1.6 torch.save file.
func IsLegacy(b []byte) bool {
	// The protocol byte may differ (pickle_protocol argument); the magic may not.
	return len(b) >= len(legacyHead) && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5 &&
		bytes.Equal(b[2:len(legacyHead)], legacyHead[2:])
}

type legacyFile struct {
	path string
	data []byte
	pos  int
}

func (l *legacyFile) errf(off int64, format string, args ...any) error {
	return &FormatError{Path: l.path, Off: off, Msg: fmt.Sprintf(format, args...)}
}

// next unpickles the pickle at l.pos.
func (l *legacyFile) next(what string, h hooks) (any, int64, error) {
	start := l.pos
	v, n, err := unpickle(l.data[l.pos:], h)
	if err != nil {
		return nil, int64(start), pickleFormatError(l.path, what, int64(start), err)
	}
	l.pos += n
	return v, int64(start), nil
}

func readLegacy(path string, data []byte, opts Options) (*source.Checkpoint, error) {
	l := &legacyFile{path: path, data: data}
	magic, off, err := l.next("magic number", noHooks{})
	if err != nil {
		return nil, err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, l.errf(off, "first pickle is not the torch legacy magic number 0x1950a86a20f9469cfc6c")
	}
	proto, off, err := l.next("protocol version", noHooks{})
	if err != nil {
		return nil, err
	}
	if p, ok := proto.(int64); !ok || p != legacyProtocol {
		// Never format the value itself: it can be nested arbitrarily deep.
		got := aType(proto)
		if ok {
			got = fmt.Sprint(p)
		}
		return nil, l.errf(off, "legacy protocol version is %s, want %d", got, legacyProtocol)
	}
	info, off, err := l.next("sys_info", noHooks{})
	if err != nil {
		return nil, err
	}
	d, ok := info.(*pyDict)
	if !ok {
		return nil, l.errf(off, "sys_info is %s, not a dict", aType(info))
	}
	if le, _ := d.get("little_endian"); le != true {
		return nil, l.errf(off, "the file was written on a big-endian machine (sys_info little_endian=%s); not supported", typeName(le))
	}

	h := newTorchHooks(true)
	top, _, err := l.next("state dict pickle", h)
	if err != nil {
		return nil, err
	}
	named, err := stateDict(top)
	if err != nil {
		return nil, &FormatError{Path: path, Off: -1, Msg: err.Error()}
	}
	keysV, off, err := l.next("storage key list", noHooks{})
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*pyList)
	if !ok {
		return nil, l.errf(off, "storage key list is %s, not a list", aType(keysV))
	}
	// Walk the records by arithmetic: nothing is read but the numel words.
	seen := map[string]bool{}
	for i, kv := range keys.items {
		key, ok := kv.(string)
		if !ok {
			return nil, l.errf(off, "storage key #%d is %s, not a str", i, aType(kv))
		}
		st, ok := h.storages[key]
		if !ok {
			return nil, l.errf(off, "storage key list names %s, which the pickle never referenced", source.Quote(key))
		}
		if seen[key] {
			return nil, l.errf(off, "storage key list names %s twice", source.Quote(key))
		}
		seen[key] = true
		rec := int64(l.pos)
		if len(data)-l.pos < 8 {
			return nil, l.errf(rec, "storage %s: record header truncated (file ends)", source.Quote(key))
		}
		numel := int64(binary.LittleEndian.Uint64(data[l.pos:]))
		if numel != st.numel {
			return nil, l.errf(rec, "storage %s: record holds %d elements, its persistent id says %d", source.Quote(key), numel, st.numel)
		}
		l.pos += 8
		size := uint64(numel) * uint64(st.cls.elemSize) // numel was bounded at persistent load
		if size > uint64(len(data)-l.pos) {
			return nil, l.errf(rec, "storage %s: %d bytes of %s data run past the end of the file (%d bytes left)",
				source.Quote(key), size, st.cls.what, len(data)-l.pos)
		}
		st.data = data[l.pos : l.pos+int(size) : l.pos+int(size)]
		st.fileOff = int64(l.pos)
		st.resolved = true
		l.pos += int(size)
	}
	if l.pos != len(data) {
		return nil, l.errf(int64(l.pos), "%d unexpected bytes after the last storage record", len(data)-l.pos)
	}
	ck := &source.Checkpoint{Path: path, Format: source.PyTorchLegacy, Meta: map[string]string{"legacy_protocol": fmt.Sprint(legacyProtocol)}}
	for _, nt := range named {
		if opts.skip(nt) {
			ck.Skipped = append(ck.Skipped, nt.name)
			continue
		}
		t, err := makeTensor(path, nt, func(st *storageRef) error {
			return &FormatError{Path: path, Off: -1, Msg: fmt.Sprintf("storage %s is missing from the storage key list", source.Quote(st.key))}
		})
		if err != nil {
			return nil, err
		}
		ck.Tensors = append(ck.Tensors, t)
	}
	return ck, nil
}
