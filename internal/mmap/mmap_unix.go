//go:build unix

package mmap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

type mappingImpl struct{ mapped bool }

func open(path string) (*Mapping, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := st.Size()
	if size == 0 {
		return &Mapping{Data: []byte{}}, nil
	}
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: %d bytes is too large to map", path, size)
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return &Mapping{Data: b, impl: mappingImpl{mapped: true}}, nil
}

func (m mappingImpl) close(b []byte) error {
	if !m.mapped || len(b) == 0 {
		return nil
	}
	return unix.Munmap(b)
}

func pageRange(b []byte, off, n int64) []byte {
	if off < 0 || n <= 0 || off >= int64(len(b)) {
		return nil
	}
	end := min(off+n, int64(len(b)))
	page := int64(unix.Getpagesize())
	start := off &^ (page - 1)
	return b[start:end]
}

func (m mappingImpl) dontNeed(b []byte, off, n int64) {
	if r := pageRange(b, off, n); m.mapped && r != nil {
		_ = unix.Madvise(r, unix.MADV_DONTNEED)
	}
}

func (m mappingImpl) willNeed(b []byte, off, n int64) {
	if r := pageRange(b, off, n); m.mapped && r != nil {
		_ = unix.Madvise(r, unix.MADV_WILLNEED)
	}
}
