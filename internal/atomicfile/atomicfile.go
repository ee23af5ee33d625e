// Package atomicfile writes output files so that a reader never sees a
// half-written one: write to a temp file beside the target, fsync, rename.
package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
)

// Write creates or replaces path with the bytes produced by fill. On any
// error (or a panic in fill) the temp file is removed and path is left as
// it was. A replaced file keeps its permission bits; a new one gets 0644.
func Write(path string, fill func(f *os.File) error) error {
	perm := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	// A flag rather than the returned error, so that a panicking fill does
	// not leave the temporary file behind either.
	renamed := false
	defer func() {
		if !renamed {
			tmp.Close() // may already be closed; the error is moot
			os.Remove(tmp.Name())
		}
	}()
	if err := fill(tmp); err != nil {
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		return err
	}
	// Sync before rename, or a crash can leave a complete-looking name over
	// incomplete data.
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	renamed = true
	syncDir(dir)
	return nil
}

// syncDir makes a rename durable. Best effort: some systems cannot open or
// sync a directory, and by now the file itself is complete.
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	d.Close()
}
