//go:build !unix

package cli

import "os"

func isTerminalFd(fd int) bool {
	st, err := os.NewFile(uintptr(fd), "").Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
