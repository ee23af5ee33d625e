// Package kernels holds the numeric inner loops of the engine: matrix-vector
// and matrix-batch products over f32, f16, bf16 and ggml block-quantized
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) weights, and the small element-wise
// helpers around them. It is a leaf package (quant and x/sys/cpu only).
//
// Every kernel set is a Set of funcs chosen once at load time. Generic is
// pure Go, always available, and the test oracle. On amd64 (off with
// -tags purego) avx2 (AVX2+FMA+F16C) and avx512 (AVX-512F/BW/VL too) are
// listed when the CPU has them, and Best picks the last one available
// ($RWKV_KERNELS forces one). Tests run every set in Available against
// Generic. Both amd64 sets have assembly for every weight type: register
// tiles of 4 rows x 2 tokens (avx2, ymm) or 4 x 4 (avx512, zmm) for MatMul
// and 4 x 1 for MatVec, one FMA accumulator per (row, token) pair; block
// rows (and f16/bf16 rows in long MatMuls) are decoded once into float32
// panels, rows of 1024+ elements are walked in L1-sized K blocks (the
// accumulators wait in memory, same order), and MatVec decodes block rows
// in registers.
//
// Numerics: activations and accumulators are float32, and a row's dot
// product is computed the same way whether it is called from MatVec or
// MatMul, so a sequence of tokens gives bit-identical results to the same
// tokens fed one by one, and splitting rows across threads changes nothing.
// Sets differ from each other in the last bits (FMA, summation order).
// Block-quantized weights are dequantized block by block, so Generic's
// result is exactly its f32 result on the dequantized matrix.
//
// The exception is a Pool's PrecisionFast (the default) MatVec of block
// weights, which engine Step uses through Pool.ForDecode: the activation
// vector is rounded once per product to 8-bit blocks as ggml does
// (quantizeQ8, bit-exact with quantize_row_q8_0_ref/q8_1_ref) and dotted
// with integer instructions (q8_amd64.s: VPDPBUSD with AVX512-VNNI,
// VPMADDUBSW on AVX2; dotQ8 in Go). It is still independent of the thread
// count, but no longer equal to MatMul, which keeps float32 activations
// for any T (one included). PrecisionExact keeps float32 everywhere.
package kernels
