//go:build amd64 && !purego

#include "textflag.h"

// Int8 dots for PrecisionFast MatVec: 4 block rows x 1 activation vector
// quantized to 8-bit blocks (q8Vec), one ymm per 32-element block.
//
// Per row and block: the weight codes as unsigned bytes c = w + off, an
// integer dot Σ c·x of 8 int32 lanes started from the bias off·nsum =
// -off·Σx (so the lanes sum to Σ w·x), converted to float32 and
// accumulated times the block scale dw·dx; types with a min also add mw·s
// into lane 0. The four accumulators are reduced at the end.
//   - VNNI kernels (AVX512-VNNI + VL, BW for the Q5 masks): VPDPBUSD; Q8_0
//     codes are w with the sign bit flipped (off 128).
//   - AVXVNNI kernels (AVX-VNNI, no AVX-512): the VNNI ones with VEX
//     VPDPBUSD (encoded by hand, DOTWB) and AVX2's Q5 high bits.
//   - AVX2 kernels: VPMADDUBSW + VPMADDWD (int16 pair sums cannot saturate:
//     c ≤ 31, or for Q8_0 |w| ≤ 128 with x taking w's sign as ggml does,
//     |x| ≤ 127), then the bias added.
// Float16 scales and mins are widened through f16Table (one load each,
// as ggml's lookup table does), not VCVTPH2PS: fewer vector uops. Each
// step prefetches the next group of four rows (they follow these in
// memory) at the rate this group is read, NEXT2/NEXT3 from R14: per-row
// prefetches 1 KiB ahead land in the next row, already being read, when
// rows are short. Measured from memory, 3072x768 and 768x3072: Q8_0 +33 %
// and ~, Q4_0 +13 % and +109 %, Q5_1 +18 % and +91 % (benchstat, n=5).
//
// func q8Dot4<T><V>(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
// w: row 0's first block, rows of nb ≥ 1 blocks ldw bytes apart and
// contiguous (ldw is the row's size); xq, xd: the activation codes and
// scales; aux: nsum (int32 per block) or s (float32 per block, types with
// a min). groups ≥ 1 groups of four rows, out[4·g+r] = row 4·g+r · x: the
// loop over row groups is here, not in Go, to save a call per four rows.
//
// Registers: row pointers SI, R8, R12, R13; next group R14; f16Table
// R9; accumulators Y0-Y3; temps Y4-Y7; Y8 nibble shifts (dwords 0 x4,
// 4 x4); Y9 0x80 bytes (VNNI Q8_0) or all ones (AVX2 Q5); Y10 0x10
// bytes; Y11 int16 ones; Y12 0x0f bytes; Y13 bias or s; Y14 dx; Y15
// activation codes. R14 (g in Go's internal ABI) is free here: calls into
// ABI0 assembly restore it.

// NEXT2 and NEXT3 prefetch two or three lines at R14 and advance it by
// one step's bytes of the four rows (≤ 128 or ≤ 192).
#define NEXT2(step) \
	PREFETCHT0 (R14); \
	PREFETCHT0 64(R14); \
	ADDQ       step, R14
#define NEXT3(step) \
	PREFETCHT0 (R14); \
	PREFETCHT0 64(R14); \
	PREFETCHT0 128(R14); \
	ADDQ       step, R14

// SCALE adds float32(lanes I) · (dw·dx) to ACC; dw is the float16 at P.
#define SCALE(P, I, ACC) \
	VCVTDQ2PS    I, I; \
	MOVWLZX      (P), AX; \
	VBROADCASTSS (R9)(AX*4), Y7; \
	VMULPS       Y14, Y7, Y7; \
	VFMADD231PS  Y7, I, ACC

// MIN adds mw·s (lane 0 of Y13) to ACC; mw is the float16 at off(P).
#define MIN(off, P, ACC) \
	MOVWLZX      off(P), AX; \
	VBROADCASTSS (R9)(AX*4), Y7; \
	VFMADD231PS  Y7, Y13, ACC

// NIB4 loads the 16 bytes of nibbles at off(P) into both halves of Y4 and
// keeps the low nibbles in the low half, the high ones in the high half:
// codes of elements 0..15, then 16..31.
#define NIB4(off, P) \
	VBROADCASTI128 off(P), Y4; \
	VPSRLVD        Y8, Y4, Y4; \
	VPAND          Y12, Y4, Y4

// HI5V adds 16 to the codes in Y4 whose bit is set in the uint32 at off(P)
// (byte-masked add).
#define HI5V(off, P) \
	KMOVD  off(P), K1; \
	VPADDB Y10, Y4, K1, Y4

// HI5A is HI5V in AVX2: byte j of Y5 gets byte j/8 of the uint32, ORed
// with every bit but j%8 set, so it is all ones exactly when bit j is set.
#define HI5A(off, P) \
	VPBROADCASTD off(P), Y5; \
	VPSHUFB      q8bytesel<>(SB), Y5, Y5; \
	VPOR         q8bitmask<>(SB), Y5, Y5; \
	VPCMPEQB     Y9, Y5, Y5; \
	VPAND        Y10, Y5, Y5; \
	VPOR         Y5, Y4, Y4

// Integer dots of unsigned U with signed S into int32 lanes I: from the
// bias in Y13 (B) or from zero (Z).
#define DOTVB(S, U, I) \
	VMOVDQU  Y13, I; \
	VPDPBUSD S, U, I
#define DOTVZ(S, U, I) \
	VPXOR    I, I, I; \
	VPDPBUSD S, U, I
// DOTWB is DOTVB(Y15, Y4, Y6) with AVX-VNNI's VEX encoding of VPDPBUSD
// (CPUs with AVX-VNNI but no AVX-512; Go's assembler only emits the EVEX
// form): C4 C2 5D 50 F7 is VEX.256.66.0F38.W0 50 /r with ymm1 = Y6 (reg),
// ymm2 = Y4 (vvvv), ymm3 = Y15 (rm). Fixed registers, hence no arguments.
#define DOTWB \
	VMOVDQU Y13, Y6; \
	BYTE $0xC4; BYTE $0xC2; BYTE $0x5D; BYTE $0x50; BYTE $0xF7
#define DOTWZ \
	VPXOR Y6, Y6, Y6; \
	BYTE $0xC4; BYTE $0xC2; BYTE $0x5D; BYTE $0x50; BYTE $0xF7
#define DOTAB(S, U, I) \
	VPMADDUBSW S, U, I; \
	VPMADDWD   Y11, I, I; \
	VPADDD     Y13, I, I
#define DOTAZ(S, U, I) \
	VPMADDUBSW S, U, I; \
	VPMADDWD   Y11, I, I


// func q8Dot4Q8_0VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q8_0VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x80808080, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT3($136)
	VMOVD (R11), X13
	VPSLLD $7, X13, X13
	VPXOR 2(SI), Y9, Y4
	DOTVB(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	VPXOR 2(R8), Y9, Y4
	DOTVB(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	VPXOR 2(R12), Y9, Y4
	DOTVB(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	VPXOR 2(R13), Y9, Y4
	DOTVB(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, R12
	ADDQ $34, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q4_0VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q4_0VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($72)
	VMOVD (R11), X13
	VPSLLD $3, X13, X13
	NIB4(2, SI)
	DOTVB(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	NIB4(2, R8)
	DOTVB(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	NIB4(2, R12)
	DOTVB(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	NIB4(2, R13)
	DOTVB(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R12
	ADDQ $18, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q4_1VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q4_1VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($80)
	VMOVSS (R11), X13
	NIB4(4, SI)
	DOTVZ(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	MIN(2, SI, Y0)
	NIB4(4, R8)
	DOTVZ(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	MIN(2, R8, Y1)
	NIB4(4, R12)
	DOTVZ(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	MIN(2, R12, Y2)
	NIB4(4, R13)
	DOTVZ(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	MIN(2, R13, Y3)
	ADDQ $20, SI
	ADDQ $20, R8
	ADDQ $20, R12
	ADDQ $20, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q5_0VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q5_0VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x10101010, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($88)
	VMOVD (R11), X13
	VPSLLD $4, X13, X13
	NIB4(6, SI)
	HI5V(2, SI)
	DOTVB(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	NIB4(6, R8)
	HI5V(2, R8)
	DOTVB(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	NIB4(6, R12)
	HI5V(2, R12)
	DOTVB(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	NIB4(6, R13)
	HI5V(2, R13)
	DOTVB(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $22, R12
	ADDQ $22, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q5_1VNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q5_1VNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x10101010, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($96)
	VMOVSS (R11), X13
	NIB4(8, SI)
	HI5V(4, SI)
	DOTVZ(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	MIN(2, SI, Y0)
	NIB4(8, R8)
	HI5V(4, R8)
	DOTVZ(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	MIN(2, R8, Y1)
	NIB4(8, R12)
	HI5V(4, R12)
	DOTVZ(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	MIN(2, R12, Y2)
	NIB4(8, R13)
	HI5V(4, R13)
	DOTVZ(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	MIN(2, R13, Y3)
	ADDQ $24, SI
	ADDQ $24, R8
	ADDQ $24, R12
	ADDQ $24, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q8_0AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q8_0AVXVNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x80808080, AX
	VMOVD AX, X9
	VPBROADCASTD X9, Y9
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT3($136)
	VMOVD (R11), X13
	VPSLLD $7, X13, X13
	VPXOR 2(SI), Y9, Y4
	DOTWB
	SCALE(SI, Y6, Y0)
	VPXOR 2(R8), Y9, Y4
	DOTWB
	SCALE(R8, Y6, Y1)
	VPXOR 2(R12), Y9, Y4
	DOTWB
	SCALE(R12, Y6, Y2)
	VPXOR 2(R13), Y9, Y4
	DOTWB
	SCALE(R13, Y6, Y3)
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, R12
	ADDQ $34, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q4_0AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q4_0AVXVNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($72)
	VMOVD (R11), X13
	VPSLLD $3, X13, X13
	NIB4(2, SI)
	DOTWB
	SCALE(SI, Y6, Y0)
	NIB4(2, R8)
	DOTWB
	SCALE(R8, Y6, Y1)
	NIB4(2, R12)
	DOTWB
	SCALE(R12, Y6, Y2)
	NIB4(2, R13)
	DOTWB
	SCALE(R13, Y6, Y3)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R12
	ADDQ $18, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q4_1AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q4_1AVXVNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($80)
	VMOVSS (R11), X13
	NIB4(4, SI)
	DOTWZ
	SCALE(SI, Y6, Y0)
	MIN(2, SI, Y0)
	NIB4(4, R8)
	DOTWZ
	SCALE(R8, Y6, Y1)
	MIN(2, R8, Y1)
	NIB4(4, R12)
	DOTWZ
	SCALE(R12, Y6, Y2)
	MIN(2, R12, Y2)
	NIB4(4, R13)
	DOTWZ
	SCALE(R13, Y6, Y3)
	MIN(2, R13, Y3)
	ADDQ $20, SI
	ADDQ $20, R8
	ADDQ $20, R12
	ADDQ $20, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q5_0AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q5_0AVXVNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x10101010, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VPCMPEQB Y9, Y9, Y9
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($88)
	VMOVD (R11), X13
	VPSLLD $4, X13, X13
	NIB4(6, SI)
	HI5A(2, SI)
	DOTWB
	SCALE(SI, Y6, Y0)
	NIB4(6, R8)
	HI5A(2, R8)
	DOTWB
	SCALE(R8, Y6, Y1)
	NIB4(6, R12)
	HI5A(2, R12)
	DOTWB
	SCALE(R12, Y6, Y2)
	NIB4(6, R13)
	HI5A(2, R13)
	DOTWB
	SCALE(R13, Y6, Y3)
	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $22, R12
	ADDQ $22, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q5_1AVXVNNI(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q5_1AVXVNNI(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x10101010, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VPCMPEQB Y9, Y9, Y9
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($96)
	VMOVSS (R11), X13
	NIB4(8, SI)
	HI5A(4, SI)
	DOTWZ
	SCALE(SI, Y6, Y0)
	MIN(2, SI, Y0)
	NIB4(8, R8)
	HI5A(4, R8)
	DOTWZ
	SCALE(R8, Y6, Y1)
	MIN(2, R8, Y1)
	NIB4(8, R12)
	HI5A(4, R12)
	DOTWZ
	SCALE(R12, Y6, Y2)
	MIN(2, R12, Y2)
	NIB4(8, R13)
	HI5A(4, R13)
	DOTWZ
	SCALE(R13, Y6, Y3)
	MIN(2, R13, Y3)
	ADDQ $24, SI
	ADDQ $24, R8
	ADDQ $24, R12
	ADDQ $24, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q8_0AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q8_0AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x00010001, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT3($136)
	VMOVDQU 2(SI), Y4
	VPSIGNB Y4, Y15, Y5
	VPABSB Y4, Y4
	DOTAZ(Y5, Y4, Y6)
	SCALE(SI, Y6, Y0)
	VMOVDQU 2(R8), Y4
	VPSIGNB Y4, Y15, Y5
	VPABSB Y4, Y4
	DOTAZ(Y5, Y4, Y6)
	SCALE(R8, Y6, Y1)
	VMOVDQU 2(R12), Y4
	VPSIGNB Y4, Y15, Y5
	VPABSB Y4, Y4
	DOTAZ(Y5, Y4, Y6)
	SCALE(R12, Y6, Y2)
	VMOVDQU 2(R13), Y4
	VPSIGNB Y4, Y15, Y5
	VPABSB Y4, Y4
	DOTAZ(Y5, Y4, Y6)
	SCALE(R13, Y6, Y3)
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, R12
	ADDQ $34, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q4_0AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q4_0AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x00010001, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($72)
	VMOVD (R11), X13
	VPSLLD $3, X13, X13
	NIB4(2, SI)
	DOTAB(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	NIB4(2, R8)
	DOTAB(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	NIB4(2, R12)
	DOTAB(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	NIB4(2, R13)
	DOTAB(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R12
	ADDQ $18, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q4_1AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q4_1AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x00010001, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($80)
	VMOVSS (R11), X13
	NIB4(4, SI)
	DOTAZ(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	MIN(2, SI, Y0)
	NIB4(4, R8)
	DOTAZ(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	MIN(2, R8, Y1)
	NIB4(4, R12)
	DOTAZ(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	MIN(2, R12, Y2)
	NIB4(4, R13)
	DOTAZ(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	MIN(2, R13, Y3)
	ADDQ $20, SI
	ADDQ $20, R8
	ADDQ $20, R12
	ADDQ $20, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q5_0AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q5_0AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x10101010, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VPCMPEQB Y9, Y9, Y9
	MOVL $0x00010001, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($88)
	VMOVD (R11), X13
	VPSLLD $4, X13, X13
	NIB4(6, SI)
	HI5A(2, SI)
	DOTAB(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	NIB4(6, R8)
	HI5A(2, R8)
	DOTAB(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	NIB4(6, R12)
	HI5A(2, R12)
	DOTAB(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	NIB4(6, R13)
	HI5A(2, R13)
	DOTAB(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $22, R12
	ADDQ $22, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// func q8Dot4Q5_1AVX2(w *byte, ldw int, xq *int8, xd *float32, aux unsafe.Pointer, nb int, out *float32, groups int)
TEXT ·q8Dot4Q5_1AVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	LEAQ (R13)(DX*1), R14
	LEAQ (DX)(DX*2), DX
	MOVQ out+48(FP), BX
	MOVQ ·f16Table(SB), R9
	MOVL $0x0f0f0f0f, AX
	VMOVD AX, X12
	VPBROADCASTD X12, Y12
	VMOVDQU q8nibshift<>(SB), Y8
	MOVL $0x10101010, AX
	VMOVD AX, X10
	VPBROADCASTD X10, Y10
	VPCMPEQB Y9, Y9, Y9
	MOVL $0x00010001, AX
	VMOVD AX, X11
	VPBROADCASTD X11, Y11
	
group:
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	MOVQ xq+16(FP), DI
	MOVQ xd+24(FP), R10
	MOVQ aux+32(FP), R11
	MOVQ nb+40(FP), CX
loop:
	VMOVDQU (DI), Y15
	VBROADCASTSS (R10), Y14
	NEXT2($96)
	VMOVSS (R11), X13
	NIB4(8, SI)
	HI5A(4, SI)
	DOTAZ(Y15, Y4, Y6)
	SCALE(SI, Y6, Y0)
	MIN(2, SI, Y0)
	NIB4(8, R8)
	HI5A(4, R8)
	DOTAZ(Y15, Y4, Y6)
	SCALE(R8, Y6, Y1)
	MIN(2, R8, Y1)
	NIB4(8, R12)
	HI5A(4, R12)
	DOTAZ(Y15, Y4, Y6)
	SCALE(R12, Y6, Y2)
	MIN(2, R12, Y2)
	NIB4(8, R13)
	HI5A(4, R13)
	DOTAZ(Y15, Y4, Y6)
	SCALE(R13, Y6, Y3)
	MIN(2, R13, Y3)
	ADDQ $24, SI
	ADDQ $24, R8
	ADDQ $24, R12
	ADDQ $24, R13
	ADDQ $32, DI
	ADDQ $4, R10
	ADDQ $4, R11
	DECQ CX
	JNZ loop
	VHADDPS Y1, Y0, Y0
	VHADDPS Y3, Y2, Y2
	VHADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVUPS X0, (BX)
	ADDQ $16, BX
	ADDQ DX, SI
	ADDQ DX, R8
	ADDQ DX, R12
	ADDQ DX, R13
	DECQ groups+56(FP)
	JNZ group
	VZEROUPPER
	RET

// q8nibshift: dword shift counts for NIB4, 0 in the low half, 4 in the high.
DATA q8nibshift<>+0(SB)/8, $0
DATA q8nibshift<>+8(SB)/8, $0
DATA q8nibshift<>+16(SB)/8, $0x0000000400000004
DATA q8nibshift<>+24(SB)/8, $0x0000000400000004
GLOBL q8nibshift<>(SB), RODATA|NOPTR, $32

// q8bytesel: byte j of each 128-bit lane selects byte j/8 of the lane's
// broadcast uint32 (lane 1: bytes 2 and 3).
DATA q8bytesel<>+0(SB)/8, $0x0000000000000000
DATA q8bytesel<>+8(SB)/8, $0x0101010101010101
DATA q8bytesel<>+16(SB)/8, $0x0202020202020202
DATA q8bytesel<>+24(SB)/8, $0x0303030303030303
GLOBL q8bytesel<>(SB), RODATA|NOPTR, $32

// q8bitmask: byte j is ^(1 << (j%8)).
DATA q8bitmask<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q8bitmask<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q8bitmask<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA q8bitmask<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL q8bitmask<>(SB), RODATA|NOPTR, $32
