//go:build amd64 && !purego

#include "textflag.h"

// Element-wise kernels of the avx2 set, 8 float32 lanes per ymm: the
// avx512 ones' operations in the same order (elementwise_amd64.s), so the
// bits are the Go twins'. AVX2 has no VSCALEFPS: y·2^n is computed as the
// Go code does, in float64 (exact) and rounded once to float32. The
// constants are expTable8's rows, 32 bytes each, at AX: 0 hi, 32 lo, 64
// log2e, 96 ln2 high, 128 ln2 low, 160-320 P0..P5, 352 1.0, 384 the sign
// bit, 416 int64 1023, 448 2.0.

// SCALE4: D (DX its low half) = float32(float64(Y)·2^N) for the 4 float32
// in Y and int32 in N (xmm); clobbers Y13.
#define SCALE4(Y, N, D, DX) \
	VCVTPS2PD  Y, D; \
	VPMOVSXDQ  N, Y13; \
	VPADDQ     416(AX), Y13, Y13; \
	VPSLLQ     $52, Y13, Y13; \
	VMULPD     Y13, D, D; \
	VCVTPD2PSY D, DX

// EXP8: R = expF32(X); clobbers Y10-Y13. X is kept.
#define EXP8(X, R) \
	VMINPS       0(AX), X, R; \
	VMAXPS       32(AX), R, R; \
	VMULPS       64(AX), R, Y10; \
	VROUNDPS     $0, Y10, Y10; \
	VMULPS       96(AX), Y10, Y11; \
	VSUBPS       Y11, R, R; \
	VMULPS       128(AX), Y10, Y11; \
	VSUBPS       Y11, R, R; \
	VMULPS       160(AX), R, Y11; \
	VADDPS       192(AX), Y11, Y11; \
	VMULPS       R, Y11, Y11; \
	VADDPS       224(AX), Y11, Y11; \
	VMULPS       R, Y11, Y11; \
	VADDPS       256(AX), Y11, Y11; \
	VMULPS       R, Y11, Y11; \
	VADDPS       288(AX), Y11, Y11; \
	VMULPS       R, Y11, Y11; \
	VADDPS       320(AX), Y11, Y11; \
	VMULPS       R, R, Y12; \
	VMULPS       Y12, Y11, Y11; \
	VADDPS       R, Y11, Y11; \
	VADDPS       352(AX), Y11, Y11; \
	VCVTPS2DQ    Y10, Y10; \
	SCALE4(X11, X10, Y12, X12); \
	VEXTRACTF128 $1, Y11, X11; \
	VEXTRACTI128 $1, Y10, X10; \
	SCALE4(X11, X10, Y11, X11); \
	VINSERTF128  $1, X11, Y12, R; \
	VCMPPS       $3, X, X, Y13; \
	VBLENDVPS    Y13, X, R, R

// func expAVX2(dst, x *float32, n8 int, tab *float32)
TEXT ·expAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n8+16(FP), CX
	MOVQ tab+24(FP), AX
	TESTQ CX, CX
	JZ   expdone
exploop:
	VMOVUPS (SI), Y0
	EXP8(Y0, Y1)
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  exploop
expdone:
	VZEROUPPER
	RET

// func sigmoidAVX2(dst, x *float32, n8 int, tab *float32)
// dst = 1/(expF32(−x) + 1).
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n8+16(FP), CX
	MOVQ tab+24(FP), AX
	VMOVUPS 352(AX), Y9
	TESTQ CX, CX
	JZ   sigdone
sigloop:
	VMOVUPS (SI), Y0
	VXORPS  384(AX), Y0, Y0
	EXP8(Y0, Y1)
	VADDPS  Y9, Y1, Y1
	VDIVPS  Y1, Y9, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  sigloop
sigdone:
	VZEROUPPER
	RET

// func tanhAVX2(dst, x *float32, n8 int, tab *float32)
// dst = 1 − 2/(expF32(x + x) + 1).
TEXT ·tanhAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n8+16(FP), CX
	MOVQ tab+24(FP), AX
	VMOVUPS 352(AX), Y9
	VMOVUPS 448(AX), Y8
	TESTQ CX, CX
	JZ   tanhdone
tanhloop:
	VMOVUPS (SI), Y0
	VADDPS  Y0, Y0, Y0
	EXP8(Y0, Y1)
	VADDPS  Y9, Y1, Y1
	VDIVPS  Y1, Y8, Y1
	VSUBPS  Y1, Y9, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  tanhloop
tanhdone:
	VZEROUPPER
	RET

// func reluSquareAVX2(x *float32, n8 int)
// x = vmax(0, x)² (NaN stays NaN).
TEXT ·reluSquareAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n8+8(FP), CX
	VXORPS Y1, Y1, Y1
	TESTQ CX, CX
	JZ   rsdone
rsloop:
	VMOVUPS (DI), Y0
	VMAXPS  Y0, Y1, Y0
	VMULPS  Y0, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	DECQ CX
	JNZ  rsloop
rsdone:
	VZEROUPPER
	RET
