package pth

import "fmt"

// FormatError reports a checkpoint that is malformed or uses a feature this
// reader does not support. Off is the byte offset in the file the problem
// was found at, or -1 when it is not tied to one place (a tensor whose
// shape does not fit its storage, say; Msg then names the tensor).
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

// pickleError is what the VM returns: an offset relative to the start of
// the pickle stream. The container code turns it into a FormatError with a
// file offset, because only it knows where the pickle sits in the file.
type pickleError struct {
	off int64
	msg string
}

func (e *pickleError) Error() string { return fmt.Sprintf("pickle offset %d: %s", e.off, e.msg) }
