//go:build amd64 && !purego

package kernels

import "golang.org/x/sys/cpu"

// Every int8 dot variant this CPU can run, not only the one each set
// picked: the avx2 set takes the AVX-VNNI kernels where the CPU has them,
// which would leave the VPMADDUBSW ones untested on such a machine.
func init() {
	x := cpu.X86
	if x.HasAVX2 {
		q8Variants["avx2-vpmaddubsw"] = q8MatVecRows(q8DotsAVX2)
	}
	if x.HasAVX2 && x.HasAVXVNNI {
		q8Variants["avx2-avxvnni"] = q8MatVecRows(q8DotsAVXVNNI)
	}
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI {
		q8Variants["avx512-vnni"] = q8MatVecRows(q8DotsVNNI)
	}
}
