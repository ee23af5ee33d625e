//go:build amd64 && !purego

#include "textflag.h"

// Dot products for the avx2 set. All three share one shape so they round
// the same way: four ymm accumulators over 32 elements per iteration, then
// 8 at a time into Y0, then a scalar tail into X4; reduced as
// ((Y0+Y1)+(Y2+Y3)), high+low 128-bit halves, pairs, lanes, then + tail.
// No software prefetch: PREFETCHT0 1 KiB ahead (GO-NOTES §3.3) measured
// 10-16 % slower on DRAM-resident rows on the current benchmark VM.

// REDUCE sums Y0..Y3 and the scalar tail X4 into X0 in a fixed order.
#define REDUCE \
	VADDPS       Y1, Y0, Y0; \
	VADDPS       Y3, Y2, Y2; \
	VADDPS       Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVHLPS     X0, X0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVSHDUP    X0, X1; \
	VADDSS       X1, X0, X0; \
	VADDSS       X4, X0, X0; \
	VZEROUPPER

#define ZERO \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS X4, X4, X4

// func dotF32AVX2(w, x *float32, n int) float32
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	ZERO

f32loop32:
	CMPQ        CX, $32
	JLT         f32loop8
	VMOVUPS     (SI), Y5
	VMOVUPS     32(SI), Y6
	VMOVUPS     64(SI), Y7
	VMOVUPS     96(SI), Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y1
	VFMADD231PS 64(DI), Y7, Y2
	VFMADD231PS 96(DI), Y8, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         f32loop32

f32loop8:
	CMPQ        CX, $8
	JLT         f32tail
	VMOVUPS     (SI), Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         f32loop8

f32tail:
	TESTQ       CX, CX
	JEQ         f32done
	VMOVSS      (SI), X5
	VFMADD231SS (DI), X5, X4
	ADDQ        $4, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         f32tail

f32done:
	REDUCE
	VMOVSS X0, ret+24(FP)
	RET

// func dotF16AVX2(w *uint16, x *float32, n int) float32
TEXT ·dotF16AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	ZERO

f16loop32:
	CMPQ        CX, $32
	JLT         f16loop8
	VCVTPH2PS   (SI), Y5
	VCVTPH2PS   16(SI), Y6
	VCVTPH2PS   32(SI), Y7
	VCVTPH2PS   48(SI), Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y1
	VFMADD231PS 64(DI), Y7, Y2
	VFMADD231PS 96(DI), Y8, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         f16loop32

f16loop8:
	CMPQ        CX, $8
	JLT         f16tail
	VCVTPH2PS   (SI), Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         f16loop8

f16tail:
	TESTQ       CX, CX
	JEQ         f16done
	MOVWLZX     (SI), AX
	VMOVD       AX, X5
	VCVTPH2PS   X5, X5
	VFMADD231SS (DI), X5, X4
	ADDQ        $2, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         f16tail

f16done:
	REDUCE
	VMOVSS X0, ret+24(FP)
	RET

// func dotBF16AVX2(w *uint16, x *float32, n int) float32
TEXT ·dotBF16AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n+16(FP), CX
	ZERO

bf16loop32:
	CMPQ        CX, $32
	JLT         bf16loop8
	VPMOVZXWD   (SI), Y5
	VPMOVZXWD   16(SI), Y6
	VPMOVZXWD   32(SI), Y7
	VPMOVZXWD   48(SI), Y8
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VPSLLD      $16, Y8, Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y1
	VFMADD231PS 64(DI), Y7, Y2
	VFMADD231PS 96(DI), Y8, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         bf16loop32

bf16loop8:
	CMPQ        CX, $8
	JLT         bf16tail
	VPMOVZXWD   (SI), Y5
	VPSLLD      $16, Y5, Y5
	VFMADD231PS (DI), Y5, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         bf16loop8

bf16tail:
	TESTQ       CX, CX
	JEQ         bf16done
	MOVWLZX     (SI), AX
	SHLL        $16, AX
	VMOVD       AX, X5
	VFMADD231SS (DI), X5, X4
	ADDQ        $2, SI
	ADDQ        $4, DI
	DECQ        CX
	JMP         bf16tail

bf16done:
	REDUCE
	VMOVSS X0, ret+24(FP)
	RET

// Block dots: per 32-element block, Y0..Y3 take elements 0-7, 8-15, 16-23
// and 24-31 of the dequantized weights, each q·d (exact in float32: an
// 8-bit integer times an f16 scale) fused-multiply-added with x; then
// REDUCE. Loads stay inside each block, so nothing reads past the row.

// F16SCALE broadcasts the f16 at (SI) to Y9 as float32.
#define F16SCALE \
	MOVWLZX       (SI), AX; \
	VMOVD         AX, X9; \
	VCVTPH2PS     X9, X9; \
	VBROADCASTSS  X9, Y9

// func dotQ8_0AVX2(w *byte, x *float32, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	ZERO

q8loop:
	TESTQ       CX, CX
	JEQ         q8done
	F16SCALE
	VPMOVSXBD   2(SI), Y5
	VPMOVSXBD   10(SI), Y6
	VPMOVSXBD   18(SI), Y7
	VPMOVSXBD   26(SI), Y8
	VCVTDQ2PS   Y5, Y5
	VCVTDQ2PS   Y6, Y6
	VCVTDQ2PS   Y7, Y7
	VCVTDQ2PS   Y8, Y8
	VMULPS      Y9, Y5, Y5
	VMULPS      Y9, Y6, Y6
	VMULPS      Y9, Y7, Y7
	VMULPS      Y9, Y8, Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y1
	VFMADD231PS 64(DI), Y7, Y2
	VFMADD231PS 96(DI), Y8, Y3
	ADDQ        $34, SI
	ADDQ        $128, DI
	DECQ        CX
	JMP         q8loop

q8done:
	REDUCE
	VMOVSS X0, ret+24(FP)
	RET

// func dotQ4_0AVX2(w *byte, x *float32, nb int) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	ZERO
	MOVL         $0x0f0f0f0f, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, X10
	MOVL         $0x08080808, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, X11

q4loop:
	TESTQ       CX, CX
	JEQ         q4done
	F16SCALE
	VMOVDQU     2(SI), X12
	VPSRLW      $4, X12, X13
	VPAND       X10, X12, X12 // low nibbles: elements 0-15
	VPAND       X10, X13, X13 // high nibbles: elements 16-31
	VPSUBB      X11, X12, X12
	VPSUBB      X11, X13, X13
	VPMOVSXBD   X12, Y5
	VPSRLDQ     $8, X12, X12
	VPMOVSXBD   X12, Y6
	VPMOVSXBD   X13, Y7
	VPSRLDQ     $8, X13, X13
	VPMOVSXBD   X13, Y8
	VCVTDQ2PS   Y5, Y5
	VCVTDQ2PS   Y6, Y6
	VCVTDQ2PS   Y7, Y7
	VCVTDQ2PS   Y8, Y8
	VMULPS      Y9, Y5, Y5
	VMULPS      Y9, Y6, Y6
	VMULPS      Y9, Y7, Y7
	VMULPS      Y9, Y8, Y8
	VFMADD231PS (DI), Y5, Y0
	VFMADD231PS 32(DI), Y6, Y1
	VFMADD231PS 64(DI), Y7, Y2
	VFMADD231PS 96(DI), Y8, Y3
	ADDQ        $18, SI
	ADDQ        $128, DI
	DECQ        CX
	JMP         q4loop

q4done:
	REDUCE
	VMOVSS X0, ret+24(FP)
	RET
