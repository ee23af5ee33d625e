// Package mmap maps whole files read-only. On unix the bytes come from the
// page cache (zero copy); elsewhere the file is read into memory, with the
// same API.
package mmap

// Mapping is a read-only view of a whole file.
type Mapping struct {
	Data []byte
	impl mappingImpl
}

// Open maps the file at path. An empty file gives an empty, valid Mapping.
func Open(path string) (*Mapping, error) { return open(path) }

// Close unmaps the file. Data must not be used afterwards.
func (m *Mapping) Close() error {
	if m == nil {
		return nil
	}
	err := m.impl.close(m.Data)
	m.Data = nil
	return err
}

// DontNeed tells the kernel that Data[off:off+n] will not be read again
// soon, so streaming a large file does not keep it all resident. It is a
// hint: errors are ignored and the bytes stay readable.
func (m *Mapping) DontNeed(off, n int64) { m.impl.dontNeed(m.Data, off, n) }

// WillNeed asks the kernel to read Data[off:off+n] ahead.
func (m *Mapping) WillNeed(off, n int64) { m.impl.willNeed(m.Data, off, n) }
