//go:build amd64 && !purego

#include "textflag.h"

// Small-T MatMul for the avx512 set (see gemmsmall_amd64.go): rows in
// lanes. Per block of 16 columns, smallT16AVX512 loads 16 weight rows
// (f32, f16/bf16 widened on load, or q8_0 decoded), transposes them in
// registers to 16 vectors w[k][row 0..15], and each token t keeps one
// 16-row accumulator: acc_t = fma(w[k][rows], x[t][k], acc_t) for k in
// order, x[t][k] broadcast from the interleaved activations. That is the
// chain of the token tiles and Generic, so the bits are the same.
//
// Registers: Z0-Z15 the block, Z16-Z23 up to 8 accumulators, Z24 the
// transpose's spare, Z25 q8_0's row offsets, Z26 q8_0's row scales.
// Rows: 0-3 at SI, 4-7 at R10, 8-11 at R11, 12-15 at R12, each group's
// rows at +0, +R8, +2·R8, +R9 (= 3·R8).

// LOAD16 loads (op = VMOVUPS) or widens (VCVTPH2PS, VPMOVZXWD, VPMOVSXBD)
// 16 columns at byte offset o of the 16 rows into Z0-Z15 (Zi = row i).
#define LOAD16(op, o) \
	op o(SI), Z0; \
	op o(SI)(R8*1), Z1; \
	op o(SI)(R8*2), Z2; \
	op o(SI)(R9*1), Z3; \
	op o(R10), Z4; \
	op o(R10)(R8*1), Z5; \
	op o(R10)(R8*2), Z6; \
	op o(R10)(R9*1), Z7; \
	op o(R11), Z8; \
	op o(R11)(R8*1), Z9; \
	op o(R11)(R8*2), Z10; \
	op o(R11)(R9*1), Z11; \
	op o(R12), Z12; \
	op o(R12)(R8*1), Z13; \
	op o(R12)(R8*2), Z14; \
	op o(R12)(R9*1), Z15

// BF16SHIFT16 turns 16 zero-extended bf16 vectors into float32.
#define BF16SHIFT16 \
	VPSLLD $16, Z0, Z0; \
	VPSLLD $16, Z1, Z1; \
	VPSLLD $16, Z2, Z2; \
	VPSLLD $16, Z3, Z3; \
	VPSLLD $16, Z4, Z4; \
	VPSLLD $16, Z5, Z5; \
	VPSLLD $16, Z6, Z6; \
	VPSLLD $16, Z7, Z7; \
	VPSLLD $16, Z8, Z8; \
	VPSLLD $16, Z9, Z9; \
	VPSLLD $16, Z10, Z10; \
	VPSLLD $16, Z11, Z11; \
	VPSLLD $16, Z12, Z12; \
	VPSLLD $16, Z13, Z13; \
	VPSLLD $16, Z14, Z14; \
	VPSLLD $16, Z15, Z15

// CVT16 converts 16 int32 vectors (sign-extended q8_0 quants) to float32.
#define CVT16 \
	VCVTDQ2PS Z0, Z0; \
	VCVTDQ2PS Z1, Z1; \
	VCVTDQ2PS Z2, Z2; \
	VCVTDQ2PS Z3, Z3; \
	VCVTDQ2PS Z4, Z4; \
	VCVTDQ2PS Z5, Z5; \
	VCVTDQ2PS Z6, Z6; \
	VCVTDQ2PS Z7, Z7; \
	VCVTDQ2PS Z8, Z8; \
	VCVTDQ2PS Z9, Z9; \
	VCVTDQ2PS Z10, Z10; \
	VCVTDQ2PS Z11, Z11; \
	VCVTDQ2PS Z12, Z12; \
	VCVTDQ2PS Z13, Z13; \
	VCVTDQ2PS Z14, Z14; \
	VCVTDQ2PS Z15, Z15

// TRANSPOSE16 transposes Z0-Z15 (Zi = row i, lanes = columns) in four
// stages of pairwise shuffles, each output written to the spare register
// and its partner's, so the registers rotate: afterwards column j is in
// the j-th of Z11, Z13, Z14, Z0, Z24, Z1, Z4, Z2, Z3, Z5, Z8, Z6, Z9, Z12, Z10, Z15 (rows in lanes).
#define TRANSPOSE16 \
	VUNPCKLPS Z1, Z0, Z24; \
	VUNPCKHPS Z1, Z0, Z1; \
	VUNPCKLPS Z3, Z2, Z0; \
	VUNPCKHPS Z3, Z2, Z3; \
	VUNPCKLPS Z5, Z4, Z2; \
	VUNPCKHPS Z5, Z4, Z5; \
	VUNPCKLPS Z7, Z6, Z4; \
	VUNPCKHPS Z7, Z6, Z7; \
	VUNPCKLPS Z9, Z8, Z6; \
	VUNPCKHPS Z9, Z8, Z9; \
	VUNPCKLPS Z11, Z10, Z8; \
	VUNPCKHPS Z11, Z10, Z11; \
	VUNPCKLPS Z13, Z12, Z10; \
	VUNPCKHPS Z13, Z12, Z13; \
	VUNPCKLPS Z15, Z14, Z12; \
	VUNPCKHPS Z15, Z14, Z15; \
	VUNPCKLPD Z0, Z24, Z14; \
	VUNPCKHPD Z0, Z24, Z0; \
	VUNPCKLPD Z3, Z1, Z24; \
	VUNPCKHPD Z3, Z1, Z3; \
	VUNPCKLPD Z4, Z2, Z1; \
	VUNPCKHPD Z4, Z2, Z4; \
	VUNPCKLPD Z7, Z5, Z2; \
	VUNPCKHPD Z7, Z5, Z7; \
	VUNPCKLPD Z8, Z6, Z5; \
	VUNPCKHPD Z8, Z6, Z8; \
	VUNPCKLPD Z11, Z9, Z6; \
	VUNPCKHPD Z11, Z9, Z11; \
	VUNPCKLPD Z12, Z10, Z9; \
	VUNPCKHPD Z12, Z10, Z12; \
	VUNPCKLPD Z15, Z13, Z10; \
	VUNPCKHPD Z15, Z13, Z15; \
	VSHUFF32X4 $0x88, Z1, Z14, Z13; \
	VSHUFF32X4 $0xdd, Z1, Z14, Z1; \
	VSHUFF32X4 $0x88, Z4, Z0, Z14; \
	VSHUFF32X4 $0xdd, Z4, Z0, Z4; \
	VSHUFF32X4 $0x88, Z2, Z24, Z0; \
	VSHUFF32X4 $0xdd, Z2, Z24, Z2; \
	VSHUFF32X4 $0x88, Z7, Z3, Z24; \
	VSHUFF32X4 $0xdd, Z7, Z3, Z7; \
	VSHUFF32X4 $0x88, Z9, Z5, Z3; \
	VSHUFF32X4 $0xdd, Z9, Z5, Z9; \
	VSHUFF32X4 $0x88, Z12, Z8, Z5; \
	VSHUFF32X4 $0xdd, Z12, Z8, Z12; \
	VSHUFF32X4 $0x88, Z10, Z6, Z8; \
	VSHUFF32X4 $0xdd, Z10, Z6, Z10; \
	VSHUFF32X4 $0x88, Z15, Z11, Z6; \
	VSHUFF32X4 $0xdd, Z15, Z11, Z15; \
	VSHUFF32X4 $0x88, Z3, Z13, Z11; \
	VSHUFF32X4 $0xdd, Z3, Z13, Z3; \
	VSHUFF32X4 $0x88, Z5, Z14, Z13; \
	VSHUFF32X4 $0xdd, Z5, Z14, Z5; \
	VSHUFF32X4 $0x88, Z8, Z0, Z14; \
	VSHUFF32X4 $0xdd, Z8, Z0, Z8; \
	VSHUFF32X4 $0x88, Z6, Z24, Z0; \
	VSHUFF32X4 $0xdd, Z6, Z24, Z6; \
	VSHUFF32X4 $0x88, Z9, Z1, Z24; \
	VSHUFF32X4 $0xdd, Z9, Z1, Z9; \
	VSHUFF32X4 $0x88, Z12, Z4, Z1; \
	VSHUFF32X4 $0xdd, Z12, Z4, Z12; \
	VSHUFF32X4 $0x88, Z10, Z2, Z4; \
	VSHUFF32X4 $0xdd, Z10, Z2, Z10; \
	VSHUFF32X4 $0x88, Z15, Z7, Z2; \
	VSHUFF32X4 $0xdd, Z15, Z7, Z15

// SCALE16 multiplies the 16 columns by the rows' q8_0 scales (Z26): the
// product q·d is exact in float32, so this equals quant's decoding.
#define SCALE16 \
	VMULPS Z26, Z11, Z11; \
	VMULPS Z26, Z13, Z13; \
	VMULPS Z26, Z14, Z14; \
	VMULPS Z26, Z0, Z0; \
	VMULPS Z26, Z24, Z24; \
	VMULPS Z26, Z1, Z1; \
	VMULPS Z26, Z4, Z4; \
	VMULPS Z26, Z2, Z2; \
	VMULPS Z26, Z3, Z3; \
	VMULPS Z26, Z5, Z5; \
	VMULPS Z26, Z8, Z8; \
	VMULPS Z26, Z6, Z6; \
	VMULPS Z26, Z9, Z9; \
	VMULPS Z26, Z12, Z12; \
	VMULPS Z26, Z10, Z10; \
	VMULPS Z26, Z15, Z15

// COLn runs one column step c of the chains of n tokens; o is the byte
// offset of its n activations in xs.
#define COL1(c, o) VFMADD231PS.BCST o(DI), c, Z16
#define COL2(c, o) COL1(c, o); VFMADD231PS.BCST o+4(DI), c, Z17
#define COL4(c, o) COL2(c, o); VFMADD231PS.BCST o+8(DI), c, Z18; VFMADD231PS.BCST o+12(DI), c, Z19
#define COL8(c, o) COL4(c, o); VFMADD231PS.BCST o+16(DI), c, Z20; VFMADD231PS.BCST o+20(DI), c, Z21; VFMADD231PS.BCST o+24(DI), c, Z22; VFMADD231PS.BCST o+28(DI), c, Z23

// FMAN steps the chains of COL's tokens through the 16 transposed
// columns, in order; column i's activations are at base+i·step in xs.
#define FMAN(COL, step, base) \
	COL(Z11, base+0*step); \
	COL(Z13, base+1*step); \
	COL(Z14, base+2*step); \
	COL(Z0, base+3*step); \
	COL(Z24, base+4*step); \
	COL(Z1, base+5*step); \
	COL(Z4, base+6*step); \
	COL(Z2, base+7*step); \
	COL(Z3, base+8*step); \
	COL(Z5, base+9*step); \
	COL(Z8, base+10*step); \
	COL(Z6, base+11*step); \
	COL(Z9, base+12*step); \
	COL(Z12, base+13*step); \
	COL(Z10, base+14*step); \
	COL(Z15, base+15*step)

#define FMA1(base) FMAN(COL1, 4, base)
#define FMA2(base) FMAN(COL2, 8, base)
#define FMA4(base) FMAN(COL4, 16, base)
#define FMA8(base) FMAN(COL8, 32, base)

// ACCn: the n accumulators from +0 (AX = 0) or from acc (BX), and back.
#define ZERO1 VPXORD Z16, Z16, Z16
#define LOADACC1 VMOVUPS 0(BX), Z16
#define STOREACC1 VMOVUPS Z16, 0(BX)
#define ZERO2 VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17
#define LOADACC2 VMOVUPS 0(BX), Z16; VMOVUPS 64(BX), Z17
#define STOREACC2 VMOVUPS Z16, 0(BX); VMOVUPS Z17, 64(BX)
#define ZERO4 VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19
#define LOADACC4 VMOVUPS 0(BX), Z16; VMOVUPS 64(BX), Z17; VMOVUPS 128(BX), Z18; VMOVUPS 192(BX), Z19
#define STOREACC4 VMOVUPS Z16, 0(BX); VMOVUPS Z17, 64(BX); VMOVUPS Z18, 128(BX); VMOVUPS Z19, 192(BX)
#define ZERO8 VPXORD Z16, Z16, Z16; VPXORD Z17, Z17, Z17; VPXORD Z18, Z18, Z18; VPXORD Z19, Z19, Z19; VPXORD Z20, Z20, Z20; VPXORD Z21, Z21, Z21; VPXORD Z22, Z22, Z22; VPXORD Z23, Z23, Z23
#define LOADACC8 VMOVUPS 0(BX), Z16; VMOVUPS 64(BX), Z17; VMOVUPS 128(BX), Z18; VMOVUPS 192(BX), Z19; VMOVUPS 256(BX), Z20; VMOVUPS 320(BX), Z21; VMOVUPS 384(BX), Z22; VMOVUPS 448(BX), Z23
#define STOREACC8 VMOVUPS Z16, 0(BX); VMOVUPS Z17, 64(BX); VMOVUPS Z18, 128(BX); VMOVUPS Z19, 192(BX); VMOVUPS Z20, 256(BX); VMOVUPS Z21, 320(BX); VMOVUPS Z22, 384(BX); VMOVUPS Z23, 448(BX)

#define ADVANCE(step) ADDQ $step, SI; ADDQ $step, R10; ADDQ $step, R11; ADDQ $step, R12

// func smallT16AVX512(w unsafe.Pointer, ldw int, kind int, xs *float32, ntp int, nb int, acc *float32, load int, rowOff *[16]int32)
// w: 16 rows ldw bytes apart, nb > 0 blocks of 16 columns each, kind 0
// f32, 1 f16, 2 bf16; or kind 3 q8_0: nb blocks of 32 columns (34 bytes:
// f16 scale, 32 int8), decoded as quant does, q·d (exact in float32), with
// the 16 row scales gathered (rowOff: the rows' byte offsets, i·ldw) and
// applied after the transpose, where rows are in lanes;
// xs: [16·nb][ntp] (q8_0: [32·nb][ntp]) activations, ntp in {1, 2, 4, 8};
// acc: [ntp][16], continued when load != 0, else the chains start at +0.
TEXT ·smallT16AVX512(SB), NOSPLIT, $0-72
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	MOVQ kind+16(FP), R13
	MOVQ xs+24(FP), DI
	MOVQ ntp+32(FP), DX
	MOVQ nb+40(FP), CX
	MOVQ acc+48(FP), BX
	MOVQ load+56(FP), AX
	MOVQ rowOff+64(FP), R14
	VMOVDQU32 (R14), Z25
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	LEAQ (R10)(R8*4), R11
	LEAQ (R11)(R8*4), R12
	// Dispatch on kind·16 + ntp.
	SHLQ $4, R13
	ADDQ DX, R13
	CMPQ R13, $1
	JEQ f32_1
	CMPQ R13, $2
	JEQ f32_2
	CMPQ R13, $4
	JEQ f32_4
	CMPQ R13, $8
	JEQ f32_8
	CMPQ R13, $17
	JEQ f16_1
	CMPQ R13, $18
	JEQ f16_2
	CMPQ R13, $20
	JEQ f16_4
	CMPQ R13, $24
	JEQ f16_8
	CMPQ R13, $33
	JEQ bf16_1
	CMPQ R13, $34
	JEQ bf16_2
	CMPQ R13, $36
	JEQ bf16_4
	CMPQ R13, $40
	JEQ bf16_8
	CMPQ R13, $49
	JEQ q8_1
	CMPQ R13, $50
	JEQ q8_2
	CMPQ R13, $52
	JEQ q8_4
	CMPQ R13, $56
	JEQ q8_8
	RET

f32_1:
	ZERO1
	TESTQ AX, AX
	JZ f32_1_loop
	LOADACC1
f32_1_loop:
	LOAD16(VMOVUPS, 0)
	TRANSPOSE16
	FMA1(0)
	ADVANCE(64)
	ADDQ $64, DI
	DECQ CX
	JNZ f32_1_loop
	STOREACC1
	VZEROUPPER
	RET

f32_2:
	ZERO2
	TESTQ AX, AX
	JZ f32_2_loop
	LOADACC2
f32_2_loop:
	LOAD16(VMOVUPS, 0)
	TRANSPOSE16
	FMA2(0)
	ADVANCE(64)
	ADDQ $128, DI
	DECQ CX
	JNZ f32_2_loop
	STOREACC2
	VZEROUPPER
	RET

f32_4:
	ZERO4
	TESTQ AX, AX
	JZ f32_4_loop
	LOADACC4
f32_4_loop:
	LOAD16(VMOVUPS, 0)
	TRANSPOSE16
	FMA4(0)
	ADVANCE(64)
	ADDQ $256, DI
	DECQ CX
	JNZ f32_4_loop
	STOREACC4
	VZEROUPPER
	RET

f32_8:
	ZERO8
	TESTQ AX, AX
	JZ f32_8_loop
	LOADACC8
f32_8_loop:
	LOAD16(VMOVUPS, 0)
	TRANSPOSE16
	FMA8(0)
	ADVANCE(64)
	ADDQ $512, DI
	DECQ CX
	JNZ f32_8_loop
	STOREACC8
	VZEROUPPER
	RET

f16_1:
	ZERO1
	TESTQ AX, AX
	JZ f16_1_loop
	LOADACC1
f16_1_loop:
	LOAD16(VCVTPH2PS, 0)
	TRANSPOSE16
	FMA1(0)
	ADVANCE(32)
	ADDQ $64, DI
	DECQ CX
	JNZ f16_1_loop
	STOREACC1
	VZEROUPPER
	RET

f16_2:
	ZERO2
	TESTQ AX, AX
	JZ f16_2_loop
	LOADACC2
f16_2_loop:
	LOAD16(VCVTPH2PS, 0)
	TRANSPOSE16
	FMA2(0)
	ADVANCE(32)
	ADDQ $128, DI
	DECQ CX
	JNZ f16_2_loop
	STOREACC2
	VZEROUPPER
	RET

f16_4:
	ZERO4
	TESTQ AX, AX
	JZ f16_4_loop
	LOADACC4
f16_4_loop:
	LOAD16(VCVTPH2PS, 0)
	TRANSPOSE16
	FMA4(0)
	ADVANCE(32)
	ADDQ $256, DI
	DECQ CX
	JNZ f16_4_loop
	STOREACC4
	VZEROUPPER
	RET

f16_8:
	ZERO8
	TESTQ AX, AX
	JZ f16_8_loop
	LOADACC8
f16_8_loop:
	LOAD16(VCVTPH2PS, 0)
	TRANSPOSE16
	FMA8(0)
	ADVANCE(32)
	ADDQ $512, DI
	DECQ CX
	JNZ f16_8_loop
	STOREACC8
	VZEROUPPER
	RET

bf16_1:
	ZERO1
	TESTQ AX, AX
	JZ bf16_1_loop
	LOADACC1
bf16_1_loop:
	LOAD16(VPMOVZXWD, 0)
	BF16SHIFT16
	TRANSPOSE16
	FMA1(0)
	ADVANCE(32)
	ADDQ $64, DI
	DECQ CX
	JNZ bf16_1_loop
	STOREACC1
	VZEROUPPER
	RET

bf16_2:
	ZERO2
	TESTQ AX, AX
	JZ bf16_2_loop
	LOADACC2
bf16_2_loop:
	LOAD16(VPMOVZXWD, 0)
	BF16SHIFT16
	TRANSPOSE16
	FMA2(0)
	ADVANCE(32)
	ADDQ $128, DI
	DECQ CX
	JNZ bf16_2_loop
	STOREACC2
	VZEROUPPER
	RET

bf16_4:
	ZERO4
	TESTQ AX, AX
	JZ bf16_4_loop
	LOADACC4
bf16_4_loop:
	LOAD16(VPMOVZXWD, 0)
	BF16SHIFT16
	TRANSPOSE16
	FMA4(0)
	ADVANCE(32)
	ADDQ $256, DI
	DECQ CX
	JNZ bf16_4_loop
	STOREACC4
	VZEROUPPER
	RET

bf16_8:
	ZERO8
	TESTQ AX, AX
	JZ bf16_8_loop
	LOADACC8
bf16_8_loop:
	LOAD16(VPMOVZXWD, 0)
	BF16SHIFT16
	TRANSPOSE16
	FMA8(0)
	ADVANCE(32)
	ADDQ $512, DI
	DECQ CX
	JNZ bf16_8_loop
	STOREACC8
	VZEROUPPER
	RET

q8_1:
	ZERO1
	TESTQ AX, AX
	JZ q8_1_loop
	LOADACC1
q8_1_loop:
	KXNORW K1, K1, K1
	VPGATHERDD (SI)(Z25*1), K1, Z26
	VPMOVDW Z26, Y26
	VCVTPH2PS Y26, Z26
	LOAD16(VPMOVSXBD, 2)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA1(0)
	LOAD16(VPMOVSXBD, 18)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA1(64)
	ADVANCE(34)
	ADDQ $128, DI
	DECQ CX
	JNZ q8_1_loop
	STOREACC1
	VZEROUPPER
	RET

q8_2:
	ZERO2
	TESTQ AX, AX
	JZ q8_2_loop
	LOADACC2
q8_2_loop:
	KXNORW K1, K1, K1
	VPGATHERDD (SI)(Z25*1), K1, Z26
	VPMOVDW Z26, Y26
	VCVTPH2PS Y26, Z26
	LOAD16(VPMOVSXBD, 2)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA2(0)
	LOAD16(VPMOVSXBD, 18)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA2(128)
	ADVANCE(34)
	ADDQ $256, DI
	DECQ CX
	JNZ q8_2_loop
	STOREACC2
	VZEROUPPER
	RET

q8_4:
	ZERO4
	TESTQ AX, AX
	JZ q8_4_loop
	LOADACC4
q8_4_loop:
	KXNORW K1, K1, K1
	VPGATHERDD (SI)(Z25*1), K1, Z26
	VPMOVDW Z26, Y26
	VCVTPH2PS Y26, Z26
	LOAD16(VPMOVSXBD, 2)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA4(0)
	LOAD16(VPMOVSXBD, 18)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA4(256)
	ADVANCE(34)
	ADDQ $512, DI
	DECQ CX
	JNZ q8_4_loop
	STOREACC4
	VZEROUPPER
	RET

q8_8:
	ZERO8
	TESTQ AX, AX
	JZ q8_8_loop
	LOADACC8
q8_8_loop:
	KXNORW K1, K1, K1
	VPGATHERDD (SI)(Z25*1), K1, Z26
	VPMOVDW Z26, Y26
	VCVTPH2PS Y26, Z26
	LOAD16(VPMOVSXBD, 2)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA8(0)
	LOAD16(VPMOVSXBD, 18)
	CVT16
	TRANSPOSE16
	SCALE16
	FMA8(512)
	ADVANCE(34)
	ADDQ $1024, DI
	DECQ CX
	JNZ q8_8_loop
	STOREACC8
	VZEROUPPER
	RET
