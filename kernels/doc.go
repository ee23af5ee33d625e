// Package kernels holds the numeric inner loops of the engine: matrix-vector
// and matrix-batch products over f32, f16, bf16 and ggml block-quantized
// (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) weights, and the small element-wise
// helpers around them. It is a leaf package (quant and x/sys/cpu only).
//
// Every kernel set is a Set of funcs chosen once at load time. Generic is
// pure Go, always available, and the test oracle; avx2 (amd64 assembly,
// AVX2+FMA+F16C, off with -tags purego) is listed when the CPU has it.
// Tests run every set in Available against Generic. avx2 has assembly for
// every weight type: register tiles of 4 rows x 2 tokens (1 token for
// MatVec) with one FMA accumulator per pair, block rows decoded in
// registers (MatVec) or once per MatMul into float32 panels.
//
// Numerics: activations and accumulators are float32, and a row's dot
// product is computed the same way whether it is called from MatVec or
// MatMul, so a sequence of tokens gives bit-identical results to the same
// tokens fed one by one, and splitting rows across threads changes nothing.
// Sets differ from each other in the last bits (FMA, summation order).
// Block-quantized weights are dequantized block by block; activations are
// never quantized (ggml rounds them to 8 bits), so Generic's result is
// exactly its f32 result on the dequantized matrix.
package kernels
