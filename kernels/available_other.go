//go:build !amd64 || purego

package kernels

var available = []Set{Generic}

var readVector func(p *byte, n256 int) uint64
