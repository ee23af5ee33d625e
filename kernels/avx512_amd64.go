//go:build amd64 && !purego

package kernels

import (
	"unsafe"

	"github.com/rwkv-tools/rwkv-tools/quant"
)

// Implemented in tiles512_amd64.s (see tileKernels for the contracts).

//go:noescape
func tile4x1F32AVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *[4]float32)

//go:noescape
func tile4x1F16AVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *[4]float32)

//go:noescape
func tile4x1BF16AVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *[4]float32)

//go:noescape
func tile4x1F16NextAVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *float32, groups int)

//go:noescape
func tile4x1BF16NextAVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *float32, groups int)

//go:noescape
func tile1x1F32AVX512(w unsafe.Pointer, x *float32, n16 int) float32

//go:noescape
func tile1x1F16AVX512(w unsafe.Pointer, x *float32, n16 int) float32

//go:noescape
func tile1x1BF16AVX512(w unsafe.Pointer, x *float32, n16 int) float32

// quantizeQ8AVX512 is quantizeQ8's block loop (q8quant_amd64.s).
//
//go:noescape
func quantizeQ8AVX512(x *float32, nb int, qs *int8, d *float32, nsum *int32, s *float32) int

// Fused block dots for MatVec (tiles_amd64.s, beside the block decoders
// they share): the bits of decoding the rows and calling tile4x1F32AVX512.

//go:noescape
func dot4x1Q8_0AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q4_0AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q4_1AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q5_0AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)

//go:noescape
func dot4x1Q5_1AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)

// avx512Tiles (MatVec): 16-lane zmm accumulators, 4 rows x 1 token.
// Block rows are decoded into float32 panels (the avx2 decoders: exact
// values) for MatMul and in registers for MatVec.
var avx512Tiles = &tileKernels{
	lanes: 16,
	rows:  [3]rowsTile{tile4x1F32AVX512, tile4x1F16AVX512, tile4x1BF16AVX512},
	short: [3]groupTile{nil, tile4x1F16NextAVX512, tile4x1BF16NextAVX512},
	one:   [3]oneTile{tile1x1F32AVX512, tile1x1F16AVX512, tile1x1BF16AVX512},
	fused: map[quant.DType]fusedBlockDot{
		quant.Q8_0: dot4x1Q8_0AVX512, quant.Q4_0: dot4x1Q4_0AVX512, quant.Q4_1: dot4x1Q4_1AVX512,
		quant.Q5_0: dot4x1Q5_0AVX512, quant.Q5_1: dot4x1Q5_1AVX512,
	},
}

// avx512Set (AVX-512F/BW/VL, with the avx2 set's requirements) is chosen
// over avx2 when the CPU has it.
var avx512Set = Set{
	Name:       "avx512",
	MatVecRows: avx512Tiles.matVecRows,
	MatMulRows: avx512Gemm.matMulRows,
	matMulPrep: avx512Gemm.prepare,
	// VPDPBUSD dots replace these where the CPU has AVX512-VNNI.
	matVecQ8Rows: q8MatVecRows(q8DotsAVX2),
	quantizeQ8:   quantizeQ8AVX512,
	fmaBurn:      func(iters int) int64 { fmaBurnAVX512(iters); return int64(iters) * 24 * 16 * 2 },

	chainMatMul: true,
}

//go:noescape
func fmaBurnAVX512(iters int)
