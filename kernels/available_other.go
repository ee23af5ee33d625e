//go:build !amd64 || purego

package kernels

var available = []Set{Generic}
