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
// Generic. Both amd64 sets have assembly for every weight type. MatVec:
// register tiles of 4 rows x 1 token with one FMA accumulator per row
// (lane-split partial sums, a fixed reduction); MatVec decodes block rows
// in registers. MatMul: a packed outer product (gemm_amd64.go: 12 rows x
// 32 tokens per tile on avx512, 6 x 16 on avx2, tokens in lanes; weights
// widened or decoded once per call into small row panels; K blocks of up
// to 768); for T ≤ 8 (avx512; 4 on avx2), where tokens in lanes would waste
// most lanes, rows in lanes instead (gemmsmall*_amd64.s: 16x16 weight
// blocks loaded, widened and transposed in registers, one accumulator per
// token), with the same bits.
//
// Numerics: activations and accumulators are float32. MatMul's bits for
// output (t, r) depend only on W[r], x[t] and the set, never on T (one
// token included), the tile or the thread split: every set computes each
// output as one in-order chain of fused multiply-adds (gemm.go), so all
// sets' MatMuls agree bit for bit. MatVec sums in another order (they
// agree within float32 rounding); sets' MatVecs differ in the last bits.
// Block-quantized weights are dequantized block by block, so Generic's
// result is exactly its f32 result on the dequantized matrix.
//
// The exception is a Pool's PrecisionFast (the default) MatVec of block
// weights, which engine Step uses through Pool.ForDecode: the activation
// vector is rounded once per product to 8-bit blocks as ggml does
// (quantizeQ8, bit-exact with quantize_row_q8_0_ref/q8_1_ref; an AVX-512
// or AVX2 loop in q8quant_amd64.s) and dotted
// with integer instructions (q8_amd64.s: VPDPBUSD with AVX512-VNNI in the
// avx512 set, or with AVX-VNNI in the avx2 set, else VPMADDUBSW on AVX2;
// dotQ8 in Go). It is still independent of the thread
// count; MatMul keeps float32 activations for any T (one included).
// PrecisionExact keeps float32 everywhere.
//
// The engine's non-matrix work goes through Set.Elementwise
// (elementwise.go): float32 exp/sigmoid/tanh (a Cephes-style polynomial,
// exp within 1 ulp), LayerNorm with float64 lane sums, token shift, gates
// and the WKV recurrences of RWKV-4 (per channel) and RWKV-5/6/7 (per
// head and token). The avx512 set has them in assembly
// (elementwise_amd64.s), the avx2 set exp, sigmoid, tanh and relu²
// (elementwise2_amd64.s), the rest use the pure-Go ones; all give the
// same bits, because the assembly performs the Go code's float32
// operations in its order and without FMA, and sums in the Go code's
// lanes. Each is element- (or channel-, head-) independent, so the
// engine splits them across threads without changing a bit.
//
// Threads: a Pool splits rows (or items) into ranges that its caller and a
// crew of long-lived helper goroutines take as they finish (crew.go); the
// helpers spin for a moment between products, then sleep, since decoding
// one token makes about 90 products and waking an idle CPU for each would
// cost more than some of them. MatVec tiles and the panel widening
// prefetch the next rows while they read these.
package kernels
