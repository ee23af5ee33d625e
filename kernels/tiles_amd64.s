//go:build amd64 && !purego

#include "textflag.h"

// MatVec tiles for the avx2 set. Every row gets ONE ymm accumulator, fed 8
// elements at a time with VFMADD231PS, then reduced by RSUM in one fixed
// order, so a row's result is the same bits in a 4x1 or a 1x1 tile and row
// splits change nothing. The tiles only see whole groups of 8 (n8 of
// them); Go adds the tail. (MatMul, sequence mode, has its own kernels:
// gemm2_amd64.s.)
//
// Arguments: w points at row 0, the other rows are ldw bytes apart.

// RSUM reduces accumulator Y (X is its low half) and stores the float32
// at dst: (hi128 + lo128), then (h + l) of that, then the two lanes.
#define RSUM(Y, X, dst) \
	VEXTRACTF128 $1, Y, X14; \
	VADDPS       X14, X, X; \
	VMOVHLPS     X, X, X14; \
	VADDPS       X14, X, X; \
	VMOVSHDUP    X, X14; \
	VADDSS       X14, X, X; \
	VMOVSS       X, dst

#define ZERO8 \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7

// Weight loads, 8 elements into a ymm as float32.
#define LDF32(src, Y) VMOVUPS src, Y
#define LDF16(src, Y) VCVTPH2PS src, Y
#define LDBF16(src, Y) VPMOVZXWD src, Y; VPSLLD $16, Y, Y

// Four weight rows at SI (R8 = ldw, R9 = 3·ldw) into Y8-Y11.
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
	LD((SI), Y8); \
	LD((SI)(R8*1), Y9); \
	LD((SI)(R8*2), Y10); \
	LD((SI)(R9*1), Y11)

#define FMA4X1 \
	VFMADD231PS Y12, Y8, Y0; \
	VFMADD231PS Y12, Y9, Y1; \
	VFMADD231PS Y12, Y10, Y2; \
	VFMADD231PS Y12, Y11, Y3

#define ARGS4 \
	MOVQ w+0(FP), SI; \
	MOVQ ldw+8(FP), R8; \
	LEAQ (R8)(R8*2), R9; \
	MOVQ x+16(FP), DI

#define STORE4X1 \
	RSUM(Y0, X0, 0(DX)); \
	RSUM(Y1, X1, 4(DX)); \
	RSUM(Y2, X2, 8(DX)); \
	RSUM(Y3, X3, 12(DX)); \
	VZEROUPPER

// cvtF16AVX2 and cvtBF16AVX2 widen n8 groups of 8 16-bit weights to
// float32 (MatMul's panels). Every 64 source bytes they prefetch (into
// L2) the line pf bytes further on: MatMul passes the distance to the same
// columns of the next panel of rows, which it widens next, so a panel's
// rows are fetched from memory while the previous panel computes (the
// kernels' own next-panel prefetch covers only single-K-block matrices).

#define CVTLOOP(LD) \
	MOVQ dst+0(FP), DI; \
	MOVQ src+8(FP), SI; \
	MOVQ n8+16(FP), CX; \
	MOVQ pf+24(FP), R8; \
	CMPQ CX, $4; \
	JLT  tail; \
quad: \
	PREFETCHT1 (SI)(R8*1); \
	LD(0(SI), Y0); \
	LD(16(SI), Y1); \
	LD(32(SI), Y2); \
	LD(48(SI), Y3); \
	VMOVUPS Y0, 0(DI); \
	VMOVUPS Y1, 32(DI); \
	VMOVUPS Y2, 64(DI); \
	VMOVUPS Y3, 96(DI); \
	ADDQ $64, SI; \
	ADDQ $128, DI; \
	SUBQ $4, CX; \
	CMPQ CX, $4; \
	JGE  quad; \
tail: \
	TESTQ CX, CX; \
	JEQ   done; \
	PREFETCHT1 (SI)(R8*1); \
one: \
	LD(0(SI), Y0); \
	VMOVUPS Y0, (DI); \
	ADDQ $16, SI; \
	ADDQ $32, DI; \
	DECQ CX; \
	JNE  one; \
done: \
	VZEROUPPER; \
	RET


// Short rows (a panel of four ≤ 8 KiB): as tiles512_amd64.s's short
// tiles, prefetch the next panel linearly (one line per 8 columns of
// 16-bit weights) instead of each row's next KiB, and loop over groups ≥ 1
// of four rows, out[4·g+r] (the same sums as tile4x1). Registers: as
// tile4x1, plus R11 the group's row 0, R10 the prefetch pointer, BX the
// groups left.
#define STORE4X1G \
	RSUM(Y0, X0, 0(DX)); \
	RSUM(Y1, X1, 4(DX)); \
	RSUM(Y2, X2, 8(DX)); \
	RSUM(Y3, X3, 12(DX))

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
	MOVQ n8+24(FP), CX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	TESTQ CX, CX; \
	JEQ   store; \
loop: \
	VMOVUPS (DI), Y12; \
	PREFETCHT0 (R10); \
	ADDQ $64, R10; \
	W4(LD); \
	FMA4X1; \
	ADDQ $16, SI; \
	ADDQ $32, DI; \
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

// func tile4x1F32(w unsafe.Pointer, ldw int, x *float32, n8 int, out *[4]float32)
TEXT ·tile4x1F32(SB), NOSPLIT, $0-40
	ARGS4
	MOVQ n8+24(FP), CX
	MOVQ out+32(FP), DX
	ZERO8
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS (DI), Y12
	W4(LDF32)
	FMA4X1
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func tile4x1F16(w unsafe.Pointer, ldw int, x *float32, n8 int, out *[4]float32)
TEXT ·tile4x1F16(SB), NOSPLIT, $0-40
	ARGS4
	MOVQ n8+24(FP), CX
	MOVQ out+32(FP), DX
	ZERO8
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS (DI), Y12
	PREFETCH4
	W4(LDF16)
	FMA4X1
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func tile4x1BF16(w unsafe.Pointer, ldw int, x *float32, n8 int, out *[4]float32)
TEXT ·tile4x1BF16(SB), NOSPLIT, $0-40
	ARGS4
	MOVQ n8+24(FP), CX
	MOVQ out+32(FP), DX
	ZERO8
	TESTQ CX, CX
	JEQ   done

loop:
	VMOVUPS (DI), Y12
	PREFETCH4
	W4(LDBF16)
	FMA4X1
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func tile1x1F32(w unsafe.Pointer, x *float32, n8 int) float32
TEXT ·tile1x1F32(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n8+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JEQ    done

loop:
	VMOVUPS     (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNE         loop

done:
	RSUM(Y0, X0, ret+24(FP))
	VZEROUPPER
	RET

// func tile1x1F16(w unsafe.Pointer, x *float32, n8 int) float32
TEXT ·tile1x1F16(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n8+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JEQ    done

loop:
	VCVTPH2PS   (SI), Y8
	VFMADD231PS (DI), Y8, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	DECQ        CX
	JNE         loop

done:
	RSUM(Y0, X0, ret+24(FP))
	VZEROUPPER
	RET

// func tile1x1BF16(w unsafe.Pointer, x *float32, n8 int) float32
TEXT ·tile1x1BF16(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ n8+16(FP), CX
	VXORPS Y0, Y0, Y0
	TESTQ  CX, CX
	JEQ    done

loop:
	VPMOVZXWD   (SI), Y8
	VPSLLD      $16, Y8, Y8
	VFMADD231PS (DI), Y8, Y0
	ADDQ        $16, SI
	ADDQ        $32, DI
	DECQ        CX
	JNE         loop

done:
	RSUM(Y0, X0, ret+24(FP))
	VZEROUPPER
	RET

// Block decoders: one ggml block at B into Y5-Y8 (elements 0-7, 8-15,
// 16-23, 24-31) as float32, the same values quant.DequantizeRow gives
// (q·d is exact in float32; the q4_1/q5_1 offset is a separate VADDPS, as
// float32(q·d) + m rounds in Go). Constants: X10 0x0f per byte, Y15 1 per
// dword, Y4 the q4_0/q5_0 zero point (8 or 16). Scratch: Y9, Y11-Y14.
// Both the decoders to memory (for MatMul panels) and the fused 4-row
// dots (MatVec) use them, so a block row gives the same bits either way.

// F16SCALE broadcasts the f16 at off(B) to Y as float32.
#define F16SCALE(B, off, X, Y) \
	MOVWLZX      off(B), AX; \
	VMOVD        AX, X; \
	VCVTPH2PS    X, X; \
	VBROADCASTSS X, Y

// NIBBLES splits the 16 bytes at off(B) into dwords: elements 0-7, 8-15
// (low nibbles) in Y5, Y6 and 16-23, 24-31 (high nibbles) in Y7, Y8.
#define NIBBLES(B, off) \
	VMOVDQU   off(B), X12; \
	VPSRLW    $4, X12, X13; \
	VPAND     X10, X12, X12; \
	VPAND     X10, X13, X13; \
	VPMOVZXBD X12, Y5; \
	VPSRLDQ   $8, X12, X12; \
	VPMOVZXBD X12, Y6; \
	VPMOVZXBD X13, Y7; \
	VPSRLDQ   $8, X13, X13; \
	VPMOVZXBD X13, Y8

#define CVT4 \
	VCVTDQ2PS Y5, Y5; \
	VCVTDQ2PS Y6, Y6; \
	VCVTDQ2PS Y7, Y7; \
	VCVTDQ2PS Y8, Y8

#define MUL4(Y) \
	VMULPS Y, Y5, Y5; \
	VMULPS Y, Y6, Y6; \
	VMULPS Y, Y7, Y7; \
	VMULPS Y, Y8, Y8

#define ADD4(Y) \
	VADDPS Y, Y5, Y5; \
	VADDPS Y, Y6, Y6; \
	VADDPS Y, Y7, Y7; \
	VADDPS Y, Y8, Y8

#define SUB4D(Y) \
	VPSUBD Y, Y5, Y5; \
	VPSUBD Y, Y6, Y6; \
	VPSUBD Y, Y7, Y7; \
	VPSUBD Y, Y8, Y8

// HIGHBIT ORs bit e of the 32-bit qh (broadcast in Y14) as bit 4 into
// element e of group Y (its shifts at off(q5shifts)).
#define HIGHBIT(off, Y) \
	VPSRLVD q5shifts<>+off(SB), Y14, Y12; \
	VPAND   Y15, Y12, Y12; \
	VPSLLD  $4, Y12, Y12; \
	VPOR    Y12, Y, Y

#define HIGHBITS(B, qhoff) \
	VPBROADCASTD qhoff(B), Y14; \
	HIGHBIT(0, Y5); \
	HIGHBIT(32, Y6); \
	HIGHBIT(64, Y7); \
	HIGHBIT(96, Y8)

#define DEC_Q8_0(B) \
	F16SCALE(B, 0, X9, Y9); \
	VPMOVSXBD 2(B), Y5; \
	VPMOVSXBD 10(B), Y6; \
	VPMOVSXBD 18(B), Y7; \
	VPMOVSXBD 26(B), Y8; \
	CVT4; \
	MUL4(Y9)

#define DEC_Q4_0(B) \
	F16SCALE(B, 0, X9, Y9); \
	NIBBLES(B, 2); \
	SUB4D(Y4); \
	CVT4; \
	MUL4(Y9)

#define DEC_Q4_1(B) \
	F16SCALE(B, 0, X9, Y9); \
	F16SCALE(B, 2, X11, Y11); \
	NIBBLES(B, 4); \
	CVT4; \
	MUL4(Y9); \
	ADD4(Y11)

#define DEC_Q5_0(B) \
	F16SCALE(B, 0, X9, Y9); \
	NIBBLES(B, 6); \
	HIGHBITS(B, 2); \
	SUB4D(Y4); \
	CVT4; \
	MUL4(Y9)

#define DEC_Q5_1(B) \
	F16SCALE(B, 0, X9, Y9); \
	F16SCALE(B, 2, X11, Y11); \
	NIBBLES(B, 8); \
	HIGHBITS(B, 4); \
	CVT4; \
	MUL4(Y9); \
	ADD4(Y11)

DATA q5shifts<>+0(SB)/4, $0
DATA q5shifts<>+4(SB)/4, $1
DATA q5shifts<>+8(SB)/4, $2
DATA q5shifts<>+12(SB)/4, $3
DATA q5shifts<>+16(SB)/4, $4
DATA q5shifts<>+20(SB)/4, $5
DATA q5shifts<>+24(SB)/4, $6
DATA q5shifts<>+28(SB)/4, $7
DATA q5shifts<>+32(SB)/4, $8
DATA q5shifts<>+36(SB)/4, $9
DATA q5shifts<>+40(SB)/4, $10
DATA q5shifts<>+44(SB)/4, $11
DATA q5shifts<>+48(SB)/4, $12
DATA q5shifts<>+52(SB)/4, $13
DATA q5shifts<>+56(SB)/4, $14
DATA q5shifts<>+60(SB)/4, $15
DATA q5shifts<>+64(SB)/4, $16
DATA q5shifts<>+68(SB)/4, $17
DATA q5shifts<>+72(SB)/4, $18
DATA q5shifts<>+76(SB)/4, $19
DATA q5shifts<>+80(SB)/4, $20
DATA q5shifts<>+84(SB)/4, $21
DATA q5shifts<>+88(SB)/4, $22
DATA q5shifts<>+92(SB)/4, $23
DATA q5shifts<>+96(SB)/4, $24
DATA q5shifts<>+100(SB)/4, $25
DATA q5shifts<>+104(SB)/4, $26
DATA q5shifts<>+108(SB)/4, $27
DATA q5shifts<>+112(SB)/4, $28
DATA q5shifts<>+116(SB)/4, $29
DATA q5shifts<>+120(SB)/4, $30
DATA q5shifts<>+124(SB)/4, $31
GLOBL q5shifts<>(SB), RODATA|NOPTR, $128

// BLOCKCONSTS sets X10, Y15 and Y4 (zero point Z).
#define BLOCKCONSTS(Z) \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X10; \
	VPBROADCASTD X10, X10; \
	MOVL         $1, AX; \
	VMOVD        AX, X15; \
	VPBROADCASTD X15, Y15; \
	MOVL         Z, AX; \
	VMOVD        AX, X4; \
	VPBROADCASTD X4, Y4

#define STORE32 \
	VMOVUPS Y5, (DI); \
	VMOVUPS Y6, 32(DI); \
	VMOVUPS Y7, 64(DI); \
	VMOVUPS Y8, 96(DI)

// FMAROW adds the decoded block (Y5-Y8) times the 32 activations at DI
// into accumulator Y, group by group.
#define FMAROW(Y) \
	VFMADD231PS (DI), Y5, Y; \
	VFMADD231PS 32(DI), Y6, Y; \
	VFMADD231PS 64(DI), Y7, Y; \
	VFMADD231PS 96(DI), Y8, Y

// NEXT2 and NEXT3 prefetch the next panel of four block rows (it follows
// this one: rows are contiguous; R10 starts at row 4) at the rate this
// one is read: two or three lines per step of four blocks (≤ 128 or ≤ 192
// bytes). A per-row prefetch would land in the next row when rows are
// short, and the next panel's rows would start cold.
#define NEXT2(step) \
	PREFETCHT0 (R10); \
	PREFETCHT0 64(R10); \
	ADDQ       step, R10
#define NEXT3(step) \
	PREFETCHT0 (R10); \
	PREFETCHT0 64(R10); \
	PREFETCHT0 128(R10); \
	ADDQ       step, R10

// func deqQ8_0AVX2(dst *float32, src *byte, nb int)
TEXT ·deqQ8_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BLOCKCONSTS($0)
	TESTQ CX, CX
	JEQ   done

loop:
	DEC_Q8_0(SI)
	STORE32
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET

// func dot4x1Q8_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)
// out[r] = row r · x, rows ldw bytes apart, accumulated as tile4x1F32
// does on the decoded rows.
TEXT ·dot4x1Q8_0AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	BLOCKCONSTS($0)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT3($136)
	DEC_Q8_0(SI)
	FMAROW(Y0)
	LEAQ (SI)(R8*1), BX
	DEC_Q8_0(BX)
	FMAROW(Y1)
	LEAQ (SI)(R8*2), BX
	DEC_Q8_0(BX)
	FMAROW(Y2)
	LEAQ (SI)(R9*1), BX
	DEC_Q8_0(BX)
	FMAROW(Y3)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func deqQ4_0AVX2(dst *float32, src *byte, nb int)
TEXT ·deqQ4_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BLOCKCONSTS($8)
	TESTQ CX, CX
	JEQ   done

loop:
	DEC_Q4_0(SI)
	STORE32
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET

// func dot4x1Q4_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)
// out[r] = row r · x, rows ldw bytes apart, accumulated as tile4x1F32
// does on the decoded rows.
TEXT ·dot4x1Q4_0AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	BLOCKCONSTS($8)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($72)
	DEC_Q4_0(SI)
	FMAROW(Y0)
	LEAQ (SI)(R8*1), BX
	DEC_Q4_0(BX)
	FMAROW(Y1)
	LEAQ (SI)(R8*2), BX
	DEC_Q4_0(BX)
	FMAROW(Y2)
	LEAQ (SI)(R9*1), BX
	DEC_Q4_0(BX)
	FMAROW(Y3)
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func deqQ4_1AVX2(dst *float32, src *byte, nb int)
TEXT ·deqQ4_1AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BLOCKCONSTS($0)
	TESTQ CX, CX
	JEQ   done

loop:
	DEC_Q4_1(SI)
	STORE32
	ADDQ $20, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET

// func dot4x1Q4_1AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)
// out[r] = row r · x, rows ldw bytes apart, accumulated as tile4x1F32
// does on the decoded rows.
TEXT ·dot4x1Q4_1AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	BLOCKCONSTS($0)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($80)
	DEC_Q4_1(SI)
	FMAROW(Y0)
	LEAQ (SI)(R8*1), BX
	DEC_Q4_1(BX)
	FMAROW(Y1)
	LEAQ (SI)(R8*2), BX
	DEC_Q4_1(BX)
	FMAROW(Y2)
	LEAQ (SI)(R9*1), BX
	DEC_Q4_1(BX)
	FMAROW(Y3)
	ADDQ $20, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func deqQ5_0AVX2(dst *float32, src *byte, nb int)
TEXT ·deqQ5_0AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BLOCKCONSTS($16)
	TESTQ CX, CX
	JEQ   done

loop:
	DEC_Q5_0(SI)
	STORE32
	ADDQ $22, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET

// func dot4x1Q5_0AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)
// out[r] = row r · x, rows ldw bytes apart, accumulated as tile4x1F32
// does on the decoded rows.
TEXT ·dot4x1Q5_0AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	BLOCKCONSTS($16)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($88)
	DEC_Q5_0(SI)
	FMAROW(Y0)
	LEAQ (SI)(R8*1), BX
	DEC_Q5_0(BX)
	FMAROW(Y1)
	LEAQ (SI)(R8*2), BX
	DEC_Q5_0(BX)
	FMAROW(Y2)
	LEAQ (SI)(R9*1), BX
	DEC_Q5_0(BX)
	FMAROW(Y3)
	ADDQ $22, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func deqQ5_1AVX2(dst *float32, src *byte, nb int)
TEXT ·deqQ5_1AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ nb+16(FP), CX
	BLOCKCONSTS($0)
	TESTQ CX, CX
	JEQ   done

loop:
	DEC_Q5_1(SI)
	STORE32
	ADDQ $24, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	VZEROUPPER
	RET

// func dot4x1Q5_1AVX2(w *byte, ldw int, x *float32, nb int, out *[4]float32)
// out[r] = row r · x, rows ldw bytes apart, accumulated as tile4x1F32
// does on the decoded rows.
TEXT ·dot4x1Q5_1AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	BLOCKCONSTS($0)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($96)
	DEC_Q5_1(SI)
	FMAROW(Y0)
	LEAQ (SI)(R8*1), BX
	DEC_Q5_1(BX)
	FMAROW(Y1)
	LEAQ (SI)(R8*2), BX
	DEC_Q5_1(BX)
	FMAROW(Y2)
	LEAQ (SI)(R9*1), BX
	DEC_Q5_1(BX)
	FMAROW(Y3)
	ADDQ $24, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	STORE4X1
	RET

// func cvtF16AVX2(dst *float32, src unsafe.Pointer, n8 int, pf int)
TEXT ·cvtF16AVX2(SB), NOSPLIT, $0-32
	CVTLOOP(LDF16)

// func cvtBF16AVX2(dst *float32, src unsafe.Pointer, n8 int, pf int)
TEXT ·cvtBF16AVX2(SB), NOSPLIT, $0-32
	CVTLOOP(LDBF16)

#define ZRSUM(Z, Y, X, dst) \
	VEXTRACTF64X4 $1, Z, Y24; \
	VADDPS        Y24, Y, Y; \
	VEXTRACTF32X4 $1, Y, X24; \
	VADDPS        X24, X, X; \
	VMOVHLPS      X, X, X24; \
	VADDPS        X24, X, X; \
	VMOVSHDUP     X, X24; \
	VADDSS        X24, X, X; \
	VMOVSS        X, dst

#define ZBLOCKCONSTS(Z) \
	MOVL         $0x0f0f0f0f, AX; \
	VMOVD        AX, X10; \
	VPBROADCASTD X10, X10; \
	MOVL         $1, AX; \
	VMOVD        AX, X15; \
	VPBROADCASTD X15, Z15; \
	MOVL         Z, AX; \
	VMOVD        AX, X4; \
	VPBROADCASTD X4, Z4

#define ZSCALE(B, off, X, Z) \
	MOVWLZX      off(B), AX; \
	VMOVD        AX, X; \
	VCVTPH2PS    X, X; \
	VBROADCASTSS X, Z

#define ZNIBBLES(B, off) \
	VMOVDQU   off(B), X12; \
	VPSRLW    $4, X12, X13; \
	VPAND     X10, X12, X12; \
	VPAND     X10, X13, X13; \
	VPMOVZXBD X12, Z5; \
	VPMOVZXBD X13, Z7

#define ZHIGHBITS(B, qhoff) \
	VPBROADCASTD qhoff(B), Z14; \
	VPSRLVD      q5shifts<>+0(SB), Z14, Z12; \
	VPANDD       Z15, Z12, Z12; \
	VPSLLD       $4, Z12, Z12; \
	VPORD        Z12, Z5, Z5; \
	VPSRLVD      q5shifts<>+64(SB), Z14, Z12; \
	VPANDD       Z15, Z12, Z12; \
	VPSLLD       $4, Z12, Z12; \
	VPORD        Z12, Z7, Z7

#define ZCVTMUL(Z) \
	VCVTDQ2PS Z5, Z5; \
	VCVTDQ2PS Z7, Z7; \
	VMULPS    Z, Z5, Z5; \
	VMULPS    Z, Z7, Z7

#define ZSUB4 \
	VPSUBD Z4, Z5, Z5; \
	VPSUBD Z4, Z7, Z7

#define ZADDM(Z) \
	VADDPS Z, Z5, Z5; \
	VADDPS Z, Z7, Z7

#define ZDEC_Q8_0(B) \
	ZSCALE(B, 0, X9, Z9); \
	VPMOVSXBD 2(B), Z5; \
	VPMOVSXBD 18(B), Z7; \
	ZCVTMUL(Z9)

#define ZDEC_Q4_0(B) \
	ZSCALE(B, 0, X9, Z9); \
	ZNIBBLES(B, 2); \
	ZSUB4; \
	ZCVTMUL(Z9)

#define ZDEC_Q4_1(B) \
	ZSCALE(B, 0, X9, Z9); \
	ZSCALE(B, 2, X11, Z11); \
	ZNIBBLES(B, 4); \
	ZCVTMUL(Z9); \
	ZADDM(Z11)

#define ZDEC_Q5_0(B) \
	ZSCALE(B, 0, X9, Z9); \
	ZNIBBLES(B, 6); \
	ZHIGHBITS(B, 2); \
	ZSUB4; \
	ZCVTMUL(Z9)

#define ZDEC_Q5_1(B) \
	ZSCALE(B, 0, X9, Z9); \
	ZSCALE(B, 2, X11, Z11); \
	ZNIBBLES(B, 8); \
	ZHIGHBITS(B, 4); \
	ZCVTMUL(Z9); \
	ZADDM(Z11)

#define ZFMAROW(Z) \
	VFMADD231PS (DI), Z5, Z; \
	VFMADD231PS 64(DI), Z7, Z

// func dot4x1Q8_0AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)
TEXT ·dot4x1Q8_0AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	ZBLOCKCONSTS($0)
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT3($136)
	ZDEC_Q8_0(SI)
	ZFMAROW(Z16)
	LEAQ (SI)(R8*1), BX
	ZDEC_Q8_0(BX)
	ZFMAROW(Z17)
	LEAQ (SI)(R8*2), BX
	ZDEC_Q8_0(BX)
	ZFMAROW(Z18)
	LEAQ (SI)(R9*1), BX
	ZDEC_Q8_0(BX)
	ZFMAROW(Z19)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	ZRSUM(Z16, Y16, X16, 0(DX))
	ZRSUM(Z17, Y17, X17, 4(DX))
	ZRSUM(Z18, Y18, X18, 8(DX))
	ZRSUM(Z19, Y19, X19, 12(DX))
	VZEROUPPER
	RET

// func dot4x1Q4_0AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)
TEXT ·dot4x1Q4_0AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	ZBLOCKCONSTS($8)
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($72)
	ZDEC_Q4_0(SI)
	ZFMAROW(Z16)
	LEAQ (SI)(R8*1), BX
	ZDEC_Q4_0(BX)
	ZFMAROW(Z17)
	LEAQ (SI)(R8*2), BX
	ZDEC_Q4_0(BX)
	ZFMAROW(Z18)
	LEAQ (SI)(R9*1), BX
	ZDEC_Q4_0(BX)
	ZFMAROW(Z19)
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	ZRSUM(Z16, Y16, X16, 0(DX))
	ZRSUM(Z17, Y17, X17, 4(DX))
	ZRSUM(Z18, Y18, X18, 8(DX))
	ZRSUM(Z19, Y19, X19, 12(DX))
	VZEROUPPER
	RET

// func dot4x1Q4_1AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)
TEXT ·dot4x1Q4_1AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	ZBLOCKCONSTS($0)
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($80)
	ZDEC_Q4_1(SI)
	ZFMAROW(Z16)
	LEAQ (SI)(R8*1), BX
	ZDEC_Q4_1(BX)
	ZFMAROW(Z17)
	LEAQ (SI)(R8*2), BX
	ZDEC_Q4_1(BX)
	ZFMAROW(Z18)
	LEAQ (SI)(R9*1), BX
	ZDEC_Q4_1(BX)
	ZFMAROW(Z19)
	ADDQ $20, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	ZRSUM(Z16, Y16, X16, 0(DX))
	ZRSUM(Z17, Y17, X17, 4(DX))
	ZRSUM(Z18, Y18, X18, 8(DX))
	ZRSUM(Z19, Y19, X19, 12(DX))
	VZEROUPPER
	RET

// func dot4x1Q5_0AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)
TEXT ·dot4x1Q5_0AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	ZBLOCKCONSTS($16)
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($88)
	ZDEC_Q5_0(SI)
	ZFMAROW(Z16)
	LEAQ (SI)(R8*1), BX
	ZDEC_Q5_0(BX)
	ZFMAROW(Z17)
	LEAQ (SI)(R8*2), BX
	ZDEC_Q5_0(BX)
	ZFMAROW(Z18)
	LEAQ (SI)(R9*1), BX
	ZDEC_Q5_0(BX)
	ZFMAROW(Z19)
	ADDQ $22, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	ZRSUM(Z16, Y16, X16, 0(DX))
	ZRSUM(Z17, Y17, X17, 4(DX))
	ZRSUM(Z18, Y18, X18, 8(DX))
	ZRSUM(Z19, Y19, X19, 12(DX))
	VZEROUPPER
	RET

// func dot4x1Q5_1AVX512(w *byte, ldw int, x *float32, nb int, out *[4]float32)
TEXT ·dot4x1Q5_1AVX512(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ ldw+8(FP), R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10
	MOVQ x+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ out+32(FP), DX
	ZBLOCKCONSTS($0)
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	TESTQ  CX, CX
	JEQ    done

loop:
	NEXT2($96)
	ZDEC_Q5_1(SI)
	ZFMAROW(Z16)
	LEAQ (SI)(R8*1), BX
	ZDEC_Q5_1(BX)
	ZFMAROW(Z17)
	LEAQ (SI)(R8*2), BX
	ZDEC_Q5_1(BX)
	ZFMAROW(Z18)
	LEAQ (SI)(R9*1), BX
	ZDEC_Q5_1(BX)
	ZFMAROW(Z19)
	ADDQ $24, SI
	ADDQ $128, DI
	DECQ CX
	JNE  loop

done:
	ZRSUM(Z16, Y16, X16, 0(DX))
	ZRSUM(Z17, Y17, X17, 4(DX))
	ZRSUM(Z18, Y18, X18, 8(DX))
	ZRSUM(Z19, Y19, X19, 12(DX))
	VZEROUPPER
	RET


// func tile4x1F16Next(w unsafe.Pointer, ldw int, x *float32, n8 int, out *float32, groups int)
TEXT ·tile4x1F16Next(SB), NOSPLIT, $0-48
	SHORTTILE(LDF16)

// func tile4x1BF16Next(w unsafe.Pointer, ldw int, x *float32, n8 int, out *float32, groups int)
TEXT ·tile4x1BF16Next(SB), NOSPLIT, $0-48
	SHORTTILE(LDBF16)
