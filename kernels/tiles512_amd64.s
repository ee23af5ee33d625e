//go:build amd64 && !purego

#include "textflag.h"

// Tiles for the avx512 set: the avx2 design (one accumulator per (row,
// token) pair, whole groups only, Go adds the tail) with 16-lane zmm
// accumulators and 4 rows x 4 tokens per MatMul tile (32 registers allow
// 16 accumulators, 4 weight and 4 activation vectors). RSUM16 folds the
// upper 256 bits onto the lower, then reduces as avx2's RSUM does.
//
// Registers: accumulators Z0-Z15 (pair r·4+t), weights Z16-Z19,
// activations Z20-Z23, scratch Z24.

#define RSUM16(Z, Y, X, dst) \
	VEXTRACTF64X4 $1, Z, Y24; \
	VADDPS        Y24, Y, Y; \
	VEXTRACTF32X4 $1, Y, X24; \
	VADDPS        X24, X, X; \
	VMOVHLPS      X, X, X24; \
	VADDPS        X24, X, X; \
	VMOVSHDUP     X, X24; \
	VADDSS        X24, X, X; \
	VMOVSS        X, dst

#define LDF32(src, Z) VMOVUPS src, Z
#define LDF16(src, Z) VCVTPH2PS src, Z
#define LDBF16(src, Z) VPMOVZXWD src, Z; VPSLLD $16, Z, Z

// PREFETCH4 asks for the four rows' weights 1 KiB ahead: the 16-bit
// MatVec tiles (decode) read half a line per row per step and measured
// ~25 % faster from memory with it (the f32 ones already stream at the
// read bandwidth). Rows are contiguous, so past a row's end it fetches
// the next rows' starts.
#define PREFETCH4 \
	PREFETCHT0 1024(SI); \
	PREFETCHT0 1024(SI)(R8*1); \
	PREFETCHT0 1024(SI)(R8*2); \
	PREFETCHT0 1024(SI)(R9*1)

#define W4(LD) \
	LD((SI), Z16); \
	LD((SI)(R8*1), Z17); \
	LD((SI)(R8*2), Z18); \
	LD((SI)(R9*1), Z19)

#define XLOAD4 \
	VMOVUPS (DI), Z20; \
	VMOVUPS (DI)(R10*1), Z21; \
	VMOVUPS (DI)(R10*2), Z22; \
	VMOVUPS (DI)(R11*1), Z23

#define FMA4X4 \
	VFMADD231PS Z20, Z16, Z0; \
	VFMADD231PS Z21, Z16, Z1; \
	VFMADD231PS Z22, Z16, Z2; \
	VFMADD231PS Z23, Z16, Z3; \
	VFMADD231PS Z20, Z17, Z4; \
	VFMADD231PS Z21, Z17, Z5; \
	VFMADD231PS Z22, Z17, Z6; \
	VFMADD231PS Z23, Z17, Z7; \
	VFMADD231PS Z20, Z18, Z8; \
	VFMADD231PS Z21, Z18, Z9; \
	VFMADD231PS Z22, Z18, Z10; \
	VFMADD231PS Z23, Z18, Z11; \
	VFMADD231PS Z20, Z19, Z12; \
	VFMADD231PS Z21, Z19, Z13; \
	VFMADD231PS Z22, Z19, Z14; \
	VFMADD231PS Z23, Z19, Z15

#define FMA4X1 \
	VFMADD231PS Z20, Z16, Z0; \
	VFMADD231PS Z20, Z17, Z1; \
	VFMADD231PS Z20, Z18, Z2; \
	VFMADD231PS Z20, Z19, Z3

#define ZERO16 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; \
	VXORPS Y9, Y9, Y9; \
	VXORPS Y10, Y10, Y10; \
	VXORPS Y11, Y11, Y11; \
	VXORPS Y12, Y12, Y12; \
	VXORPS Y13, Y13, Y13; \
	VXORPS Y14, Y14, Y14; \
	VXORPS Y15, Y15, Y15

#define STORE4X4 \
	RSUM16(Z0, Y0, X0, 0(DX)); \
	RSUM16(Z1, Y1, X1, 4(DX)); \
	RSUM16(Z2, Y2, X2, 8(DX)); \
	RSUM16(Z3, Y3, X3, 12(DX)); \
	RSUM16(Z4, Y4, X4, 16(DX)); \
	RSUM16(Z5, Y5, X5, 20(DX)); \
	RSUM16(Z6, Y6, X6, 24(DX)); \
	RSUM16(Z7, Y7, X7, 28(DX)); \
	RSUM16(Z8, Y8, X8, 32(DX)); \
	RSUM16(Z9, Y9, X9, 36(DX)); \
	RSUM16(Z10, Y10, X10, 40(DX)); \
	RSUM16(Z11, Y11, X11, 44(DX)); \
	RSUM16(Z12, Y12, X12, 48(DX)); \
	RSUM16(Z13, Y13, X13, 52(DX)); \
	RSUM16(Z14, Y14, X14, 56(DX)); \
	RSUM16(Z15, Y15, X15, 60(DX)); \
	VZEROUPPER

#define STORE4X1 \
	RSUM16(Z0, Y0, X0, 0(DX)); \
	RSUM16(Z1, Y1, X1, 4(DX)); \
	RSUM16(Z2, Y2, X2, 8(DX)); \
	RSUM16(Z3, Y3, X3, 12(DX)); \
	VZEROUPPER

// func tile4x4F32AVX512(w unsafe.Pointer, ldw int, x *float32, ldx int, n16 int, out *[16]float32)
// out[4·r+t] = row r · token t.
TEXT ·tile4x4F32AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ x+16(FP), DI
	MOVQ ldx+24(FP), R10
	LEAQ (R10)(R10*2), R11
	MOVQ n16+32(FP), CX
	MOVQ out+40(FP), DX
	ZERO16
	TESTQ CX, CX
	JEQ   done

loop:
	XLOAD4
	W4(LDF32)
	FMA4X4
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	STORE4X4
	RET

// func tile4x1F32AVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *[4]float32)
TEXT ·tile4x1F32AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ x+16(FP), DI
	MOVQ n16+24(FP), CX
	MOVQ out+32(FP), DX
	ZERO16
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS (DI), Z20
	W4(LDF32)
	FMA4X1
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func tile1x1F32AVX512(w unsafe.Pointer, x *float32, n16 int) float32
TEXT ·tile1x1F32AVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n16+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JEQ    done

loop:
	LDF32((SI), Z16)
	VFMADD231PS (DI), Z16, Z0
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	RSUM16(Z0, Y0, X0, ret+24(FP))
	VZEROUPPER
	RET

// func tile4x4F16AVX512(w unsafe.Pointer, ldw int, x *float32, ldx int, n16 int, out *[16]float32)
// out[4·r+t] = row r · token t.
TEXT ·tile4x4F16AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ x+16(FP), DI
	MOVQ ldx+24(FP), R10
	LEAQ (R10)(R10*2), R11
	MOVQ n16+32(FP), CX
	MOVQ out+40(FP), DX
	ZERO16
	TESTQ CX, CX
	JEQ   done

loop:
	XLOAD4
	W4(LDF16)
	FMA4X4
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	STORE4X4
	RET

// func tile4x1F16AVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *[4]float32)
TEXT ·tile4x1F16AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ x+16(FP), DI
	MOVQ n16+24(FP), CX
	MOVQ out+32(FP), DX
	ZERO16
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS (DI), Z20
	PREFETCH4
	W4(LDF16)
	FMA4X1
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func tile1x1F16AVX512(w unsafe.Pointer, x *float32, n16 int) float32
TEXT ·tile1x1F16AVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n16+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JEQ    done

loop:
	LDF16((SI), Z16)
	VFMADD231PS (DI), Z16, Z0
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	RSUM16(Z0, Y0, X0, ret+24(FP))
	VZEROUPPER
	RET

// func tile4x4BF16AVX512(w unsafe.Pointer, ldw int, x *float32, ldx int, n16 int, out *[16]float32)
// out[4·r+t] = row r · token t.
TEXT ·tile4x4BF16AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ x+16(FP), DI
	MOVQ ldx+24(FP), R10
	LEAQ (R10)(R10*2), R11
	MOVQ n16+32(FP), CX
	MOVQ out+40(FP), DX
	ZERO16
	TESTQ CX, CX
	JEQ   done

loop:
	XLOAD4
	W4(LDBF16)
	FMA4X4
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	STORE4X4
	RET

// func tile4x1BF16AVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *[4]float32)
TEXT ·tile4x1BF16AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ x+16(FP), DI
	MOVQ n16+24(FP), CX
	MOVQ out+32(FP), DX
	ZERO16
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS (DI), Z20
	PREFETCH4
	W4(LDBF16)
	FMA4X1
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func tile1x1BF16AVX512(w unsafe.Pointer, x *float32, n16 int) float32
TEXT ·tile1x1BF16AVX512(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n16+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JEQ    done

loop:
	LDBF16((SI), Z16)
	VFMADD231PS (DI), Z16, Z0
	ADDQ $32, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	RSUM16(Z0, Y0, X0, ret+24(FP))
	VZEROUPPER
	RET

// func tile4x4AccF32AVX512(w unsafe.Pointer, ldw int, x *float32, ldx int, n16 int, acc *[256]float32)
// tile4x4F32AVX512 over one block of K: the 16 accumulators (pair r·4+t
// at acc[16·(4·r+t):]) are loaded from acc and stored back unreduced, so
// a MatMul can walk K in blocks that stay in L1 and still add every
// product in the same order as a single pass.
TEXT ·tile4x4AccF32AVX512(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	MOVQ x+16(FP), DI
	MOVQ ldx+24(FP), R10
	LEAQ (R10)(R10*2), R11
	MOVQ n16+32(FP), CX
	MOVQ acc+40(FP), DX
	VMOVUPS 0(DX), Z0
	VMOVUPS 64(DX), Z1
	VMOVUPS 128(DX), Z2
	VMOVUPS 192(DX), Z3
	VMOVUPS 256(DX), Z4
	VMOVUPS 320(DX), Z5
	VMOVUPS 384(DX), Z6
	VMOVUPS 448(DX), Z7
	VMOVUPS 512(DX), Z8
	VMOVUPS 576(DX), Z9
	VMOVUPS 640(DX), Z10
	VMOVUPS 704(DX), Z11
	VMOVUPS 768(DX), Z12
	VMOVUPS 832(DX), Z13
	VMOVUPS 896(DX), Z14
	VMOVUPS 960(DX), Z15
	TESTQ CX, CX
	JEQ   done

loop:
	XLOAD4
	W4(LDF32)
	FMA4X4
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNE  loop

done:
	VMOVUPS Z0, 0(DX)
	VMOVUPS Z1, 64(DX)
	VMOVUPS Z2, 128(DX)
	VMOVUPS Z3, 192(DX)
	VMOVUPS Z4, 256(DX)
	VMOVUPS Z5, 320(DX)
	VMOVUPS Z6, 384(DX)
	VMOVUPS Z7, 448(DX)
	VMOVUPS Z8, 512(DX)
	VMOVUPS Z9, 576(DX)
	VMOVUPS Z10, 640(DX)
	VMOVUPS Z11, 704(DX)
	VMOVUPS Z12, 768(DX)
	VMOVUPS Z13, 832(DX)
	VMOVUPS Z14, 896(DX)
	VMOVUPS Z15, 960(DX)
	VZEROUPPER
	RET

// func reduce4x4AVX512(acc *[256]float32, out *[16]float32)
// Reduces the 16 accumulators tile4x4AccF32AVX512 left in acc, exactly as
// tile4x4F32AVX512 reduces its registers: out[4·r+t].
TEXT ·reduce4x4AVX512(SB), NOSPLIT, $0-16
	MOVQ acc+0(FP), SI
	MOVQ out+8(FP), DX
	VMOVUPS 0(SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMOVUPS 256(SI), Z4
	VMOVUPS 320(SI), Z5
	VMOVUPS 384(SI), Z6
	VMOVUPS 448(SI), Z7
	VMOVUPS 512(SI), Z8
	VMOVUPS 576(SI), Z9
	VMOVUPS 640(SI), Z10
	VMOVUPS 704(SI), Z11
	VMOVUPS 768(SI), Z12
	VMOVUPS 832(SI), Z13
	VMOVUPS 896(SI), Z14
	VMOVUPS 960(SI), Z15
	STORE4X4
	RET
