// Package atomicfile writes output files so that a reader never sees a
// half-written one: write to a temp file beside the target, fsync, rename.
//
// Only regular files (and new paths) are replaced that way. An existing
// device, pipe or socket (/dev/null, a FIFO a reader waits on) is written
// directly: renaming a temp file over it would replace the device node by a
// regular file.
//
// Temp files are named ".NAME.tmp<pid>-<random>". A process killed by
// SIGKILL (or by a second Ctrl-C) cannot remove its temp file; the next
// Write to the same path removes such files whose process is gone.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Write creates or replaces path with the bytes produced by fill. On any
// error (or a panic in fill) the temp file is removed and path is left as
// it was. A replaced file keeps its permission bits; a new one gets 0644.
func Write(path string, fill func(f *os.File) error) error {
	perm := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		switch {
		case st.IsDir():
			return fmt.Errorf("%s is a directory", path)
		case !st.Mode().IsRegular():
			return writeDirect(path, fill)
		}
		perm = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	RemoveStale(path)
	tmp, err := os.CreateTemp(dir, tempPrefix(path)+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
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
		return fmt.Errorf("%s: %w", path, err)
	}
	renamed = true
	syncDir(dir)
	return nil
}

// writeDirect writes a device or pipe in place.
func writeDirect(path string, fill func(f *os.File) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func tempPrefix(path string) string { return "." + filepath.Base(path) + ".tmp" }

// RemoveStale removes temp files of earlier Writes to path whose process no
// longer exists (killed before it could clean up). Files of live processes,
// and names it did not create, are left alone. It returns what it removed.
func RemoveStale(path string) []string {
	prefix := tempPrefix(path)
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil
	}
	var removed []string
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) {
			continue
		}
		pidStr, _, ok := strings.Cut(name[len(prefix):], "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || processAlive(pid) {
			continue
		}
		p := filepath.Join(filepath.Dir(path), name)
		if os.Remove(p) == nil {
			removed = append(removed, p)
		}
	}
	return removed
}

// processAlive reports whether pid exists (signal 0 probes without
// sending). EPERM means it exists but belongs to someone else.
func processAlive(pid int) bool {
	if pid == os.Getpid() {
		return true
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
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
