//go:build !linux

package kernels

import "time"

// threadCPU is unknown here: 0 disables the per-CPU-second figures.
func threadCPU() time.Duration { return 0 }
