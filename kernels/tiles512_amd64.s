//go:build amd64 && !purego

#include "textflag.h"

// MatVec tiles for the avx512 set: the avx2 design (one accumulator per
// row, whole groups only, Go adds the tail) with 16-lane zmm accumulators,
// 4 rows x 1 token. RSUM16 folds the upper 256 bits onto the lower, then
// reduces as avx2's RSUM does.

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

#define STORE4X1 \
	RSUM16(Z0, Y0, X0, 0(DX)); \
	RSUM16(Z1, Y1, X1, 4(DX)); \
	RSUM16(Z2, Y2, X2, 8(DX)); \
	RSUM16(Z3, Y3, X3, 12(DX)); \
	VZEROUPPER

// Short rows (a panel of four ≤ 8 KiB, e.g. the output head's 768
// columns): the per-row prefetch above would land in the next row, which
// is already being read, and every panel would start with four cold
// streams. These variants instead prefetch the next panel (the four rows
// after these: rows are contiguous) linearly, at the rate this one is
// consumed (two lines per 16 columns of 16-bit weights), so it is in L1
// when the tile reaches it. Measured no gain for f32. They also loop over
// groups ≥ 1 of four rows themselves, out[4·g+r] = row 4·g+r · x (the
// same sums as tile4x1), saving a Go call and copy per four short rows.
//
// Registers: as tile4x1, plus R11 the group's row 0, R10 the next
// group's prefetch pointer, BX the groups left.

#define NEXT128(R) \
	PREFETCHT0 0(R); \
	PREFETCHT0 64(R); \
	ADDQ       $128, R

#define STORE4X1G \
	RSUM16(Z0, Y0, X0, 0(DX)); \
	RSUM16(Z1, Y1, X1, 4(DX)); \
	RSUM16(Z2, Y2, X2, 8(DX)); \
	RSUM16(Z3, Y3, X3, 12(DX))

#define SHORTTILE(LD) \
	MOVQ w+0(FP), R11; \
	MOVQ ldw+8(FP), R8; \
	LEAQ (R8)(R8*2), R9; \
	MOVQ out+32(FP), DX; \
	MOVQ groups+40(FP), BX; \
group: \
	MOVQ R11, SI; \
	LEAQ (R11)(R8*4), R10; \
	MOVQ x+16(FP), DI; \
	MOVQ n16+24(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	TESTQ CX, CX; \
	JEQ   store; \
loop: \
	VMOVUPS (DI), Z20; \
	NEXT128(R10); \
	W4(LD); \
	FMA4X1; \
	ADDQ $32, SI; \
	ADDQ $64, DI; \
	DECQ CX; \
	JNE  loop; \
store: \
	STORE4X1G; \
	ADDQ $16, DX; \
	LEAQ (R11)(R8*4), R11; \
	DECQ BX; \
	JNE  group; \
	VZEROUPPER; \
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


// func tile4x1F16NextAVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *float32, groups int)
TEXT ·tile4x1F16NextAVX512(SB), NOSPLIT, $0-48
	SHORTTILE(LDF16)

// func tile4x1BF16NextAVX512(w unsafe.Pointer, ldw int, x *float32, n16 int, out *float32, groups int)
TEXT ·tile4x1BF16NextAVX512(SB), NOSPLIT, $0-48
	SHORTTILE(LDBF16)
