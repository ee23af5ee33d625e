// Package kernels holds the numeric inner loops of the engine: matrix-vector
// and matrix-batch products over f32, f16 and bf16 weights, and the small
// element-wise helpers around them. It is a leaf package (quant only).
//
// Every kernel set is a Set of funcs chosen once at load time. Generic is
// pure Go, always available, and the test oracle for any assembly set added
// later; tests run every set in Available against it.
//
// Numerics: activations and accumulators are float32, and a row's dot
// product is computed the same way whether it is called from MatVec or
// MatMul, so a sequence of tokens gives bit-identical results to the same
// tokens fed one by one, and splitting rows across threads changes nothing.
package kernels
