//go:build !unix

package mmap

import "os"

type mappingImpl struct{}

func open(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return &Mapping{Data: b}, nil
}

func (mappingImpl) close([]byte) error              { return nil }
func (mappingImpl) dontNeed(b []byte, off, n int64) {}
func (mappingImpl) willNeed(b []byte, off, n int64) {}
