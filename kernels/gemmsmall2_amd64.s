//go:build amd64 && !purego

#include "textflag.h"

// Small-T MatMul for the avx2 set (see gemmsmall_amd64.go): rows in
// lanes, as gemmsmall512_amd64.s with 8 rows. Per block of 8 columns,
// smallT8AVX2 loads 8 weight rows (f32, or f16/bf16 widened on load),
// transposes them in registers to 8 vectors w[k][row 0..7], and each token
// t keeps one 8-row accumulator: acc_t = fma(w[k][rows], x[t][k], acc_t)
// for k in order: the chain of the token tiles and Generic.
//
// Registers: Y0-Y7 the block, Y8 the transpose's spare, Y9-Y12 up to 4
// accumulators, Y13 the broadcast activation. Rows 0-3 at SI, 4-7 at R10,
// each group's rows at +0, +R8, +2·R8, +R9 (= 3·R8).

// LOAD8 loads (VMOVUPS) or widens (VCVTPH2PS, VPMOVZXWD) 8 columns of the
// 8 rows into Y0-Y7 (Yi = row i).
#define LOAD8(op) \
	op (SI), Y0; \
	op (SI)(R8*1), Y1; \
	op (SI)(R8*2), Y2; \
	op (SI)(R9*1), Y3; \
	op (R10), Y4; \
	op (R10)(R8*1), Y5; \
	op (R10)(R8*2), Y6; \
	op (R10)(R9*1), Y7

// BF16SHIFT8 turns 8 zero-extended bf16 vectors into float32.
#define BF16SHIFT8 \
	VPSLLD $16, Y0, Y0; \
	VPSLLD $16, Y1, Y1; \
	VPSLLD $16, Y2, Y2; \
	VPSLLD $16, Y3, Y3; \
	VPSLLD $16, Y4, Y4; \
	VPSLLD $16, Y5, Y5; \
	VPSLLD $16, Y6, Y6; \
	VPSLLD $16, Y7, Y7

// TRANSPOSE8 transposes Y0-Y7 in three stages of pairwise shuffles with
// the spare register (the registers rotate): afterwards column j is in
// the j-th of Y5, Y6, Y0, Y8, Y1, Y4, Y2, Y7.
#define TRANSPOSE8 \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y1; \
	VUNPCKLPS Y3, Y2, Y0; \
	VUNPCKHPS Y3, Y2, Y3; \
	VUNPCKLPS Y5, Y4, Y2; \
	VUNPCKHPS Y5, Y4, Y5; \
	VUNPCKLPS Y7, Y6, Y4; \
	VUNPCKHPS Y7, Y6, Y7; \
	VUNPCKLPD Y0, Y8, Y6; \
	VUNPCKHPD Y0, Y8, Y0; \
	VUNPCKLPD Y3, Y1, Y8; \
	VUNPCKHPD Y3, Y1, Y3; \
	VUNPCKLPD Y4, Y2, Y1; \
	VUNPCKHPD Y4, Y2, Y4; \
	VUNPCKLPD Y7, Y5, Y2; \
	VUNPCKHPD Y7, Y5, Y7; \
	VPERM2F128 $0x20, Y1, Y6, Y5; \
	VPERM2F128 $0x31, Y1, Y6, Y1; \
	VPERM2F128 $0x20, Y4, Y0, Y6; \
	VPERM2F128 $0x31, Y4, Y0, Y4; \
	VPERM2F128 $0x20, Y2, Y8, Y0; \
	VPERM2F128 $0x31, Y2, Y8, Y2; \
	VPERM2F128 $0x20, Y7, Y3, Y8; \
	VPERM2F128 $0x31, Y7, Y3, Y7

// COLn runs one column step c of the chains of n tokens; o is the byte
// offset of its n activations in xs.
#define COL1(c, o) VBROADCASTSS o(DI), Y13; VFMADD231PS Y13, c, Y9
#define COL2(c, o) COL1(c, o); VBROADCASTSS o+4(DI), Y13; VFMADD231PS Y13, c, Y10
#define COL4(c, o) COL2(c, o); VBROADCASTSS o+8(DI), Y13; VFMADD231PS Y13, c, Y11; VBROADCASTSS o+12(DI), Y13; VFMADD231PS Y13, c, Y12

// FMAN steps the chains of COL's tokens through the 8 transposed
// columns, in order; column i's activations are at base+i·step in xs.
#define FMAN(COL, step, base) \
	COL(Y5, base+0*step); \
	COL(Y6, base+1*step); \
	COL(Y0, base+2*step); \
	COL(Y8, base+3*step); \
	COL(Y1, base+4*step); \
	COL(Y4, base+5*step); \
	COL(Y2, base+6*step); \
	COL(Y7, base+7*step)

#define FMA1 FMAN(COL1, 4, 0)
#define FMA2 FMAN(COL2, 8, 0)
#define FMA4 FMAN(COL4, 16, 0)

#define ZERO1 VXORPS Y9, Y9, Y9
#define LOADACC1 VMOVUPS 0(BX), Y9
#define STOREACC1 VMOVUPS Y9, 0(BX)
#define ZERO2 VXORPS Y9, Y9, Y9; VXORPS Y10, Y10, Y10
#define LOADACC2 VMOVUPS 0(BX), Y9; VMOVUPS 32(BX), Y10
#define STOREACC2 VMOVUPS Y9, 0(BX); VMOVUPS Y10, 32(BX)
#define ZERO4 VXORPS Y9, Y9, Y9; VXORPS Y10, Y10, Y10; VXORPS Y11, Y11, Y11; VXORPS Y12, Y12, Y12
#define LOADACC4 VMOVUPS 0(BX), Y9; VMOVUPS 32(BX), Y10; VMOVUPS 64(BX), Y11; VMOVUPS 96(BX), Y12
#define STOREACC4 VMOVUPS Y9, 0(BX); VMOVUPS Y10, 32(BX); VMOVUPS Y11, 64(BX); VMOVUPS Y12, 96(BX)

// func smallT8AVX2(w unsafe.Pointer, ldw int, kind int, xs *float32, ntp int, nb int, acc *float32, load int)
// w: 8 rows ldw bytes apart, nb > 0 blocks of 8 columns each, kind 0 f32,
// 1 f16, 2 bf16; xs: [8·nb][ntp] activations, ntp in {1, 2, 4}; acc:
// [ntp][8], continued when load != 0, else the chains start at +0.
TEXT ·smallT8AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	MOVQ kind+16(FP), R13
	MOVQ xs+24(FP), DI
	MOVQ ntp+32(FP), DX
	MOVQ nb+40(FP), CX
	MOVQ acc+48(FP), BX
	MOVQ load+56(FP), AX
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	// Dispatch on kind·16 + ntp.
	SHLQ $4, R13
	ADDQ DX, R13
	CMPQ R13, $1
	JEQ a2f32_1
	CMPQ R13, $2
	JEQ a2f32_2
	CMPQ R13, $4
	JEQ a2f32_4
	CMPQ R13, $17
	JEQ a2f16_1
	CMPQ R13, $18
	JEQ a2f16_2
	CMPQ R13, $20
	JEQ a2f16_4
	CMPQ R13, $33
	JEQ a2bf16_1
	CMPQ R13, $34
	JEQ a2bf16_2
	CMPQ R13, $36
	JEQ a2bf16_4
	RET

a2f32_1:
	ZERO1
	TESTQ AX, AX
	JZ a2f32_1_loop
	LOADACC1
a2f32_1_loop:
	LOAD8(VMOVUPS)
	TRANSPOSE8
	FMA1
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, DI
	DECQ CX
	JNZ a2f32_1_loop
	STOREACC1
	VZEROUPPER
	RET

a2f32_2:
	ZERO2
	TESTQ AX, AX
	JZ a2f32_2_loop
	LOADACC2
a2f32_2_loop:
	LOAD8(VMOVUPS)
	TRANSPOSE8
	FMA2
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $64, DI
	DECQ CX
	JNZ a2f32_2_loop
	STOREACC2
	VZEROUPPER
	RET

a2f32_4:
	ZERO4
	TESTQ AX, AX
	JZ a2f32_4_loop
	LOADACC4
a2f32_4_loop:
	LOAD8(VMOVUPS)
	TRANSPOSE8
	FMA4
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $128, DI
	DECQ CX
	JNZ a2f32_4_loop
	STOREACC4
	VZEROUPPER
	RET

a2f16_1:
	ZERO1
	TESTQ AX, AX
	JZ a2f16_1_loop
	LOADACC1
a2f16_1_loop:
	LOAD8(VCVTPH2PS)
	TRANSPOSE8
	FMA1
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $32, DI
	DECQ CX
	JNZ a2f16_1_loop
	STOREACC1
	VZEROUPPER
	RET

a2f16_2:
	ZERO2
	TESTQ AX, AX
	JZ a2f16_2_loop
	LOADACC2
a2f16_2_loop:
	LOAD8(VCVTPH2PS)
	TRANSPOSE8
	FMA2
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $64, DI
	DECQ CX
	JNZ a2f16_2_loop
	STOREACC2
	VZEROUPPER
	RET

a2f16_4:
	ZERO4
	TESTQ AX, AX
	JZ a2f16_4_loop
	LOADACC4
a2f16_4_loop:
	LOAD8(VCVTPH2PS)
	TRANSPOSE8
	FMA4
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $128, DI
	DECQ CX
	JNZ a2f16_4_loop
	STOREACC4
	VZEROUPPER
	RET

a2bf16_1:
	ZERO1
	TESTQ AX, AX
	JZ a2bf16_1_loop
	LOADACC1
a2bf16_1_loop:
	LOAD8(VPMOVZXWD)
	BF16SHIFT8
	TRANSPOSE8
	FMA1
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $32, DI
	DECQ CX
	JNZ a2bf16_1_loop
	STOREACC1
	VZEROUPPER
	RET

a2bf16_2:
	ZERO2
	TESTQ AX, AX
	JZ a2bf16_2_loop
	LOADACC2
a2bf16_2_loop:
	LOAD8(VPMOVZXWD)
	BF16SHIFT8
	TRANSPOSE8
	FMA2
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $64, DI
	DECQ CX
	JNZ a2bf16_2_loop
	STOREACC2
	VZEROUPPER
	RET

a2bf16_4:
	ZERO4
	TESTQ AX, AX
	JZ a2bf16_4_loop
	LOADACC4
a2bf16_4_loop:
	LOAD8(VPMOVZXWD)
	BF16SHIFT8
	TRANSPOSE8
	FMA4
	ADDQ $16, SI
	ADDQ $16, R10
	ADDQ $128, DI
	DECQ CX
	JNZ a2bf16_4_loop
	STOREACC4
	VZEROUPPER
	RET
