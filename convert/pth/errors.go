package pth

import (
	"fmt"

	"github.com/rwkv-tools/rwkv-tools/convert/source"
)

// FormatError reports a checkpoint that is malformed or uses a feature this
// reader does not support. Off is the byte offset in the file the problem
// was found at, or -1 when it is not tied to one place (a tensor whose
// shape does not fit its storage, say; Msg then names the tensor).
type FormatError = source.FormatError

// pickleError is what the VM returns: an offset relative to the start of
// the pickle stream. The container code turns it into a FormatError with a
// file offset, because only it knows where the pickle sits in the file.
type pickleError struct {
	off int64
	msg string
}

func (e *pickleError) Error() string { return fmt.Sprintf("pickle offset %d: %s", e.off, e.msg) }
