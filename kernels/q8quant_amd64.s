//go:build amd64 && !purego

#include "textflag.h"

// quantizeQ8AVX512 is quantizeQ8's block loop (q8.go) in AVX-512F, the
// same bits: per block of 32, amax = max|x|, d = amax/127, id = 1/d (0
// when d = 0), q = round-half-away(x·id) kept as its low 8 bits, d and
// (with s != nil) Σq·d rounded through float16, nsum = -Σq. It stops at
// the first block it leaves to Go (an Inf or NaN input, or an id that
// overflows) and returns how many blocks it did.
//
// Round half away from zero, exactly: t = trunc(v); v - t is exact, and
// where |v - t| ≥ 0.5, t moves one away from zero. The int32 to int8
// narrowing truncates (VPMOVDB), as the compiled C stores do.

DATA q8qAbs<>+0(SB)/4, $0x7fffffff
DATA q8qExp<>+0(SB)/4, $0x7f800000
DATA q8qSign<>+0(SB)/4, $0x80000000
DATA q8qHalf<>+0(SB)/4, $0x3f000000
DATA q8qOne<>+0(SB)/4, $0x3f800000
DATA q8q127<>+0(SB)/4, $0x42fe0000
GLOBL q8qAbs<>(SB), RODATA|NOPTR, $4
GLOBL q8qExp<>(SB), RODATA|NOPTR, $4
GLOBL q8qSign<>(SB), RODATA|NOPTR, $4
GLOBL q8qHalf<>(SB), RODATA|NOPTR, $4
GLOBL q8qOne<>(SB), RODATA|NOPTR, $4
GLOBL q8q127<>(SB), RODATA|NOPTR, $4

// Q8QARGS loads the arguments of both quantizers.
#define Q8QARGS \
	MOVQ x+0(FP), SI; \
	MOVQ nb+8(FP), CX; \
	MOVQ qs+16(FP), DI; \
	MOVQ d+24(FP), R8; \
	MOVQ nsum+32(FP), R9; \
	MOVQ s+40(FP), R10

// Q8QSTORE finishes a block: -Σq (SUM: int32 in lane 0) into nsum, the
// scale D (float32, lane 0) and, where s is wanted, Σq·D through float16
// into d and s; then it steps the pointers and loops back to block. T1
// and T2 are scratch.
#define Q8QSTORE(D, SUM, T1, T2) \
	VMOVD     SUM, BX; \
	NEGL      BX; \
	MOVL      BX, (R9); \
	VCVTPS2PH $0, D, T1; \
	VCVTPH2PS T1, T1; \
	VMOVSS    T1, (R8); \
	TESTQ     R10, R10; \
	JEQ       next; \
	VCVTDQ2PS SUM, T2; \
	VMULSS    D, T2, T2; \
	VCVTPS2PH $0, T2, T2; \
	VCVTPH2PS T2, T2; \
	VMOVSS    T2, (R10); \
	ADDQ      $4, R10; \
next: \
	ADDQ $128, SI; \
	ADDQ $32, DI; \
	ADDQ $4, R8; \
	ADDQ $4, R9; \
	INCQ AX; \
	CMPQ AX, CX; \
	JLT  block

// ROUNDQ rounds V (float32 lanes) half away from zero into int32 lanes
// in place; T, F temps.
#define ROUNDQ(V, T, F) \
	VRNDSCALEPS $0x0B, V, T; \
	VSUBPS      T, V, F; \
	VPANDD      Z31, F, F; \
	VCMPPS      $0x1D, Z29, F, K1; \
	VPANDD      Z27, V, F; \
	VPORD       Z28, F, F; \
	VADDPS      F, T, K1, T; \
	VCVTTPS2DQ  T, V

// quantizeQ8AVX2 is quantizeQ8AVX512 for the avx2 set (AVX2, FMA, F16C):
// four ymm per block; the int32 codes are narrowed to their low bytes with
// VPSHUFB and VPERMD (no saturation, as VPMOVDB).

DATA q8qLowBytes<>+0(SB)/8, $0x808080800c080400
DATA q8qLowBytes<>+8(SB)/8, $0x8080808080808080
DATA q8qLowBytes<>+16(SB)/8, $0x808080800c080400
DATA q8qLowBytes<>+24(SB)/8, $0x8080808080808080
DATA q8qPerm<>+0(SB)/4, $0
DATA q8qPerm<>+4(SB)/4, $4
DATA q8qPerm<>+8(SB)/4, $1
DATA q8qPerm<>+12(SB)/4, $1
DATA q8qPerm<>+16(SB)/4, $1
DATA q8qPerm<>+20(SB)/4, $1
DATA q8qPerm<>+24(SB)/4, $1
DATA q8qPerm<>+28(SB)/4, $1
GLOBL q8qLowBytes<>(SB), RODATA|NOPTR, $32
GLOBL q8qPerm<>(SB), RODATA|NOPTR, $32

// ROUNDQ2 rounds V (8 float32) half away from zero into int32 lanes in
// place and stores their low bytes (8) at off(DI); T, F temps. Y15 abs
// mask, Y14 0.5, Y13 1.0, Y12 sign mask, Y11 byte selector, Y10 dword
// permutation.
#define ROUNDQ2(V, T, TX, F, off) \
	VROUNDPS   $0x0B, V, T; \
	VSUBPS     T, V, F; \
	VANDPS     Y15, F, F; \
	VCMPPS     $0x1D, Y14, F, F; \
	VANDPS     Y12, V, V; \
	VORPS      Y13, V, V; \
	VANDPS     F, V, V; \
	VADDPS     V, T, T; \
	VCVTTPS2DQ T, V; \
	VPSHUFB    Y11, V, T; \
	VPERMD     T, Y10, T; \
	VMOVQ      TX, off(DI)

// func quantizeQ8AVX512(x *float32, nb int, qs *int8, d *float32, nsum *int32, s *float32) int
TEXT ·quantizeQ8AVX512(SB), NOSPLIT, $0-56
	Q8QARGS
	VPBROADCASTD q8qAbs<>(SB), Z31
	VPBROADCASTD q8qExp<>(SB), Z30
	VBROADCASTSS q8qHalf<>(SB), Z29
	VBROADCASTSS q8qOne<>(SB), Z28
	VPBROADCASTD q8qSign<>(SB), Z27
	VMOVSS       q8q127<>(SB), X26
	VMOVSS       q8qOne<>(SB), X25
	XORQ AX, AX
	TESTQ CX, CX
	JEQ   done

block:
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1

	// An exponent of all ones (Inf, NaN) anywhere: leave the block to Go.
	VPANDD   Z30, Z0, Z2
	VPANDD   Z30, Z1, Z3
	VPCMPEQD Z30, Z2, K1
	VPCMPEQD Z30, Z3, K2
	KORW     K1, K2, K1
	KORTESTW K1, K1
	JNE      done

	// amax over the 32 |x| (finite: max is order-free).
	VPANDD        Z31, Z0, Z2
	VPANDD        Z31, Z1, Z3
	VMAXPS        Z3, Z2, Z2
	VEXTRACTF64X4 $1, Z2, Y3
	VMAXPS        Y3, Y2, Y2
	VEXTRACTF128  $1, Y2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0x4E, X2, X3
	VMAXPS        X3, X2, X2
	VPERMILPS     $0xB1, X2, X3
	VMAXPS        X3, X2, X2

	VDIVSS  X26, X2, X4 // d = amax / 127
	VXORPS  X5, X5, X5  // id = 0 when d = 0
	VUCOMISS X5, X4
	JEQ     scaled
	VDIVSS  X4, X25, X5 // id = 1 / d
	VMOVD   X5, BX
	ANDL    $0x7f800000, BX
	CMPL    BX, $0x7f800000
	JEQ     done // id overflowed: Go's path

scaled:
	VBROADCASTSS X5, Z5
	VMULPS       Z5, Z0, Z0
	VMULPS       Z5, Z1, Z1
	ROUNDQ(Z0, Z2, Z3)
	ROUNDQ(Z1, Z2, Z3)
	VPMOVDB Z0, X6
	VPMOVDB Z1, X7
	VMOVDQU X6, (DI)
	VMOVDQU X7, 16(DI)

	// Σq as int32 (|Σq| ≤ 32·128: exact as a float32 too).
	VPADDD        Z1, Z0, Z8
	VEXTRACTI64X4 $1, Z8, Y9
	VPADDD        Y9, Y8, Y8
	VEXTRACTI128  $1, Y8, X9
	VPADDD        X9, X8, X8
	VPSHUFD       $0x4E, X8, X9
	VPADDD        X9, X8, X8
	VPSHUFD       $0xB1, X8, X9
	VPADDD        X9, X8, X8
	Q8QSTORE(X4, X8, X6, X7)

done:
	MOVQ AX, ret+48(FP)
	VZEROUPPER
	RET

// func quantizeQ8AVX2(x *float32, nb int, qs *int8, d *float32, nsum *int32, s *float32) int
TEXT ·quantizeQ8AVX2(SB), NOSPLIT, $0-56
	Q8QARGS
	VBROADCASTSS q8qAbs<>(SB), Y15
	VBROADCASTSS q8qHalf<>(SB), Y14
	VBROADCASTSS q8qOne<>(SB), Y13
	VBROADCASTSS q8qSign<>(SB), Y12
	VMOVDQU      q8qLowBytes<>(SB), Y11
	VMOVDQU      q8qPerm<>(SB), Y10
	VBROADCASTSS q8qExp<>(SB), Y9
	XORQ AX, AX
	TESTQ CX, CX
	JEQ   done

block:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3

	// An exponent of all ones (Inf, NaN) anywhere: leave the block to Go.
	VANDPS   Y9, Y0, Y4
	VANDPS   Y9, Y1, Y5
	VANDPS   Y9, Y2, Y6
	VANDPS   Y9, Y3, Y7
	VPCMPEQD Y9, Y4, Y4
	VPCMPEQD Y9, Y5, Y5
	VPCMPEQD Y9, Y6, Y6
	VPCMPEQD Y9, Y7, Y7
	VPOR     Y5, Y4, Y4
	VPOR     Y7, Y6, Y6
	VPOR     Y6, Y4, Y4
	VPTEST   Y4, Y4
	JNE      done

	// amax over the 32 |x| (finite: max is order-free).
	VANDPS       Y15, Y0, Y4
	VANDPS       Y15, Y1, Y5
	VANDPS       Y15, Y2, Y6
	VANDPS       Y15, Y3, Y7
	VMAXPS       Y5, Y4, Y4
	VMAXPS       Y7, Y6, Y6
	VMAXPS       Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS       X5, X4, X4
	VPERMILPS    $0x4E, X4, X5
	VMAXPS       X5, X4, X4
	VPERMILPS    $0xB1, X4, X5
	VMAXPS       X5, X4, X4

	VDIVSS   q8q127<>(SB), X4, X8 // d = amax / 127
	VXORPS   X5, X5, X5           // id = 0 when d = 0
	VUCOMISS X5, X8
	JEQ      scaled
	VMOVSS   q8qOne<>(SB), X6
	VDIVSS   X8, X6, X5 // id = 1 / d
	VMOVD    X5, BX
	ANDL     $0x7f800000, BX
	CMPL     BX, $0x7f800000
	JEQ      done // id overflowed: Go's path

scaled:
	VBROADCASTSS X5, Y5
	VMULPS       Y5, Y0, Y0
	VMULPS       Y5, Y1, Y1
	VMULPS       Y5, Y2, Y2
	VMULPS       Y5, Y3, Y3
	// The codes (ROUNDQ2 leaves them in Y0-Y3 as int32 for Σq).
	ROUNDQ2(Y0, Y4, X4, Y6, 0)
	ROUNDQ2(Y1, Y4, X4, Y6, 8)
	ROUNDQ2(Y2, Y4, X4, Y6, 16)
	ROUNDQ2(Y3, Y4, X4, Y6, 24)

	VPADDD       Y1, Y0, Y0
	VPADDD       Y3, Y2, Y2
	VPADDD       Y2, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	Q8QSTORE(X8, X0, X6, X7)

done:
	MOVQ AX, ret+48(FP)
	VZEROUPPER
	RET
