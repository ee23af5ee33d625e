//go:build linux || darwin

// Package rusage reports the process's resource use, so commands can say
// what peak memory they reached.
package rusage

import (
	"runtime"
	"syscall"
	"time"
)

// PeakRSS returns the peak resident set size of this process in bytes, or
// 0 when the platform does not report it.
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return int64(ru.Maxrss) // bytes on macOS
	}
	return int64(ru.Maxrss) * 1024 // KiB on Linux
}

// CPUTime returns the user plus system CPU time the process has used so
// far (0 when the OS does not say).
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
