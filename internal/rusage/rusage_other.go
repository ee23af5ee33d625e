//go:build !(linux || darwin)

// Package rusage reports the process's resource use, so commands can say
// what peak memory they reached.
package rusage

import "time"

// PeakRSS returns 0: this platform does not report it here.
func PeakRSS() int64 { return 0 }

// CPUTime is unknown here.
func CPUTime() time.Duration { return 0 }
