//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in tiles_amd64.s (see tileKernels for the contracts).

//go:noescape
func tile4x1F32(w unsafe.Pointer, ldw int, x *float32, n8 int, out *[4]float32)

//go:noescape
func tile4x1F16(w unsafe.Pointer, ldw int, x *float32, n8 int, out *[4]float32)

//go:noescape
func tile4x1BF16(w unsafe.Pointer, ldw int, x *float32, n8 int, out *[4]float32)

//go:noescape
func tile4x1F16Next(w unsafe.Pointer, ldw int, x *float32, n8 int, out *float32, groups int)

//go:noescape
func tile4x1BF16Next(w unsafe.Pointer, ldw int, x *float32, n8 int, out *float32, groups int)

// quantizeQ8AVX2 is quantizeQ8's block loop (q8quant_amd64.s).
//
//go:noescape
func quantizeQ8AVX2(x *float32, nb int, qs *int8, d *float32, nsum *int32, s *float32) int

//go:noescape
func tile1x1F32(w unsafe.Pointer, x *float32, n8 int) float32

//go:noescape
func tile1x1F16(w unsafe.Pointer, x *float32, n8 int) float32

//go:noescape
func tile1x1BF16(w unsafe.Pointer, x *float32, n8 int) float32

//go:noescape
func cvtF16AVX2(dst *float32, src unsafe.Pointer, n8 int, pf int)

//go:noescape
func cvtBF16AVX2(dst *float32, src unsafe.Pointer, n8 int, pf int)

//go:noescape
func deqQ8_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ4_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ4_1AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ5_0AVX2(dst *float32, src *byte, nb int)

//go:noescape
func deqQ5_1AVX2(dst *float32, src *byte, nb int)

//go:noescape
func dot4x1Q8_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q4_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q4_1AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q5_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q5_1AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)

// avx2Tiles (MatVec): 8-lane ymm accumulators, 4 rows x 1 token, block
// rows decoded in registers for MatVec.
var avx2Tiles = &tileKernels{
	lanes: 8,
	rows:  [3]rowsTile{tile4x1F32, tile4x1F16, tile4x1BF16},
	short: [3]groupTile{nil, tile4x1F16Next, tile4x1BF16Next},
	one:   [3]oneTile{tile1x1F32, tile1x1F16, tile1x1BF16},
	fused: map[quant.DType]fusedBlockDot{
		quant.Q8_0: dot4x1Q8_0AVX2, quant.Q4_0: dot4x1Q4_0AVX2, quant.Q4_1: dot4x1Q4_1AVX2,
		quant.Q5_0: dot4x1Q5_0AVX2, quant.Q5_1: dot4x1Q5_1AVX2,
	},
}

//go:noescape
func fmaBurnAVX2(iters int)

//go:noescape
func readAVX2(p *byte, n256 int) uint64

// avx2Set is the AVX2 + FMA + F16C set.
var avx2Set = Set{
	Name:         "avx2",
	MatVecRows:   avx2Tiles.matVecRows,
	MatMulRows:   avx2Gemm.matMulRows,
	matMulPrep:   avx2Gemm.prepare,
	matVecQ8Rows: q8MatVecRows(q8DotsAVX2),
	quantizeQ8:   quantizeQ8AVX2,
	fmaBurn:      func(iters int) int64 { fmaBurnAVX2(iters); return int64(iters) * 12 * 8 * 2 },

	chainMatMul: true,
}

var available = func() []Set {
	sets := []Set{Generic}
	x := cpu.X86
	if !(x.HasAVX2 && x.HasFMA && x.HasF16C) {
		return sets
	}
	if x.HasAVXVNNI {
		avx2Set.matVecQ8Rows = q8MatVecRows(q8DotsAVXVNNI)
	}
	sets = append(sets, avx2Set)
	readVector = readAVX2
	if x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL {
		if x.HasAVX512VNNI {
			avx512Set.matVecQ8Rows = q8MatVecRows(q8DotsVNNI)
		}
		sets = append(sets, avx512Set)
	}
	return sets
}()
