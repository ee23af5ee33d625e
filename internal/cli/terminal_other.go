//go:build unix && !linux

package cli

import "golang.org/x/sys/unix"

func isTerminalFd(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TIOCGETA)
	return err == nil
}
