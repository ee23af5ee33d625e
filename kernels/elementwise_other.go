//go:build !amd64 || purego

package kernels

func elementwiseFor(string) *Elementwise { return GenericElementwise }
