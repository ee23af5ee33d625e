package kernels

import "encoding/binary"

// Machine probes, so that bench can put kernel speeds next to what the
// machine can do, measured by the same code that does the work.

// FMABurn runs iters iterations of the set's widest independent FMA loop
// (both FMA pipes busy, no memory traffic) and returns the floating-point
// operations done: time it to get one core's FMA peak.
func (s Set) FMABurn(iters int) int64 {
	if s.fmaBurn == nil {
		return genericFMABurn(iters)
	}
	return s.fmaBurn(iters)
}

// genericFMABurn is what pure Go reaches: eight independent multiply-adds
// (the gc compiler neither vectorizes nor fuses them on amd64).
func genericFMABurn(iters int) int64 {
	a0, a1, a2, a3, a4, a5, a6, a7 := float32(0), float32(1), float32(2), float32(3), float32(4), float32(5), float32(6), float32(7)
	const m, c = float32(0.999), float32(0.001)
	for i := 0; i < iters; i++ {
		a0 = a0*m + c
		a1 = a1*m + c
		a2 = a2*m + c
		a3 = a3*m + c
		a4 = a4*m + c
		a5 = a5*m + c
		a6 = a6*m + c
		a7 = a7*m + c
	}
	sink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
	return int64(iters) * 16
}

var sink float32

// ReadAll reads every byte of b once, as fast as this CPU can stream it
// (vector loads on amd64), and returns a checksum: time it on a buffer far
// larger than the caches to get the memory read bandwidth.
func ReadAll(b []byte) uint64 {
	var s uint64
	n := len(b) / 256 * 256
	if n > 0 && readVector != nil {
		s = readVector(&b[0], n/256)
	} else {
		n = 0
	}
	for i := n; i+8 <= len(b); i += 8 {
		s += binary.LittleEndian.Uint64(b[i:])
	}
	return s
}
