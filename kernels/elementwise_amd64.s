//go:build amd64 && !purego

#include "textflag.h"

// Element-wise kernels of the avx512 set, 16 float32 lanes per zmm. Each
// computes the operations of its pure-Go twin in elementwise.go in the same
// order, with separate multiplies and adds (no FMA), so the bits are the
// same; the Go wrappers run whole 16-element groups here and the tail in Go.
//
// Constants (expTable, broadcast by EXPCONST): Z20 hi clamp, Z21 lo clamp,
// Z22 log2(e), Z23 ln2 high part, Z24 ln2 low part, Z25-Z30 the polynomial
// P0..P5, Z31 1.0, Z19 the sign bit.

#define EXPCONST(tab) \
	VBROADCASTSS 0(tab), Z20; \
	VBROADCASTSS 4(tab), Z21; \
	VBROADCASTSS 8(tab), Z22; \
	VBROADCASTSS 12(tab), Z23; \
	VBROADCASTSS 16(tab), Z24; \
	VBROADCASTSS 20(tab), Z25; \
	VBROADCASTSS 24(tab), Z26; \
	VBROADCASTSS 28(tab), Z27; \
	VBROADCASTSS 32(tab), Z28; \
	VBROADCASTSS 36(tab), Z29; \
	VBROADCASTSS 40(tab), Z30; \
	VBROADCASTSS 44(tab), Z31; \
	VBROADCASTSS 48(tab), Z19

// EXP16: R = expF32(X); clobbers N, T, U and K1. X is kept.
#define EXP16(X, R, N, T, U) \
	VMINPS      Z20, X, R; \
	VMAXPS      Z21, R, R; \
	VMULPS      Z22, R, N; \
	VRNDSCALEPS $0, N, N; \
	VMULPS      Z23, N, T; \
	VSUBPS      T, R, R; \
	VMULPS      Z24, N, T; \
	VSUBPS      T, R, R; \
	VMULPS      Z25, R, T; \
	VADDPS      Z26, T, T; \
	VMULPS      R, T, T; \
	VADDPS      Z27, T, T; \
	VMULPS      R, T, T; \
	VADDPS      Z28, T, T; \
	VMULPS      R, T, T; \
	VADDPS      Z29, T, T; \
	VMULPS      R, T, T; \
	VADDPS      Z30, T, T; \
	VMULPS      R, R, U; \
	VMULPS      U, T, T; \
	VADDPS      R, T, T; \
	VADDPS      Z31, T, T; \
	VSCALEFPS   N, T, R; \
	VCMPPS      $3, X, X, K1; \
	VMOVAPS     X, K1, R

// SIG16: R = 1/(1 + expF32(−X)); clobbers N, T, U, V and K1.
#define SIG16(X, R, N, T, U, V) \
	VPXORD Z19, X, V; \
	EXP16(V, R, N, T, U); \
	VADDPS Z31, R, R; \
	VDIVPS R, Z31, R

// func expAVX512(dst, x *float32, n16 int, tab *float32)
TEXT ·expAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n16+16(FP), CX
	MOVQ tab+24(FP), AX
	EXPCONST(AX)
	TESTQ CX, CX
	JZ   expdone
exploop:
	VMOVUPS (SI), Z0
	EXP16(Z0, Z1, Z2, Z3, Z4)
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  exploop
expdone:
	VZEROUPPER
	RET

// func sigmoidAVX512(dst, x *float32, n16 int, tab *float32)
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n16+16(FP), CX
	MOVQ tab+24(FP), AX
	EXPCONST(AX)
	TESTQ CX, CX
	JZ   sigdone
sigloop:
	VMOVUPS (SI), Z0
	SIG16(Z0, Z1, Z2, Z3, Z4, Z5)
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  sigloop
sigdone:
	VZEROUPPER
	RET

// func tanhAVX512(dst, x *float32, n16 int, tab *float32)
// dst = 1 − 2/(expF32(x + x) + 1).
TEXT ·tanhAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n16+16(FP), CX
	MOVQ tab+24(FP), AX
	EXPCONST(AX)
	VBROADCASTSS 52(AX), Z18
	TESTQ CX, CX
	JZ   tanhdone
tanhloop:
	VMOVUPS (SI), Z0
	VADDPS  Z0, Z0, Z0
	EXP16(Z0, Z1, Z2, Z3, Z4)
	VADDPS  Z31, Z1, Z1
	VDIVPS  Z1, Z18, Z1
	VSUBPS  Z1, Z31, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  tanhloop
tanhdone:
	VZEROUPPER
	RET

// EXPPAIR: E1 = exp(X − q), E2 = exp(Z − q) for q = vmax(X, Z) as
// expPairF32: m = exp(−|X − Z|), (E1, E2) = X > Z ? (1, m) : (m, 1).
// Clobbers Z11-Z15, K1, K2.
#define EXPPAIR(X, Z, E1, E2) \
	VSUBPS  Z, X, Z15; \
	VPORD   Z19, Z15, Z15; \
	EXP16(Z15, Z14, Z11, Z12, Z13); \
	VCMPPS  $0x1e, Z, X, K2; \
	VMOVAPS Z14, E1; \
	VMOVAPS Z31, K2, E1; \
	VMOVAPS Z31, E2; \
	VMOVAPS Z14, K2, E2

// func wkv4AVX512(f *wkv4Frame)
// Frame: a 0, b 8, p 16, first 24, decay 32, k 40, v 48, r 56, y 64 (all
// at channel c0), T 72, stride (bytes per token row) 80, n16 88, tab 96.
// Registers: Z0 a, Z1 b, Z2 p, Z3 first, Z4 decay, Z5 k, Z6 v, Z7 ww,
// Z8 q, Z9 e1, Z10 e2, Z11-Z15 and Z18 exp scratch, Z15-Z17 temporaries.
TEXT ·wkv4AVX512(SB), NOSPLIT, $0-8
	MOVQ f+0(FP), DI
	MOVQ 96(DI), AX
	EXPCONST(AX)
	MOVQ 40(DI), SI  // k
	MOVQ 48(DI), DX  // v
	MOVQ 56(DI), BX  // r
	MOVQ 64(DI), CX  // y
	XORQ R8, R8      // channel group byte offset
	MOVQ 88(DI), R12 // groups left
	TESTQ R12, R12
	JZ   wkvdone
wkvgroup:
	MOVQ    0(DI), AX
	VMOVUPS (AX)(R8*1), Z0
	MOVQ    8(DI), AX
	VMOVUPS (AX)(R8*1), Z1
	MOVQ    16(DI), AX
	VMOVUPS (AX)(R8*1), Z2
	MOVQ    24(DI), AX
	VMOVUPS (AX)(R8*1), Z3
	MOVQ    32(DI), AX
	VMOVUPS (AX)(R8*1), Z4
	MOVQ    R8, R10      // row offset of token t
	MOVQ    72(DI), R9   // tokens left
	TESTQ   R9, R9
	JZ      wkvstore
wkvtoken:
	VMOVUPS (SI)(R10*1), Z5
	VMOVUPS (DX)(R10*1), Z6
	VADDPS  Z5, Z3, Z7       // ww = first + k
	EXPPAIR(Z2, Z7, Z9, Z10) // e1, e2 = exp(p − q), exp(ww − q)
	VMULPS  Z0, Z9, Z15
	VMULPS  Z6, Z10, Z16
	VADDPS  Z16, Z15, Z15    // num = e1·a + e2·v
	VMULPS  Z1, Z9, Z16
	VADDPS  Z10, Z16, Z16    // den = e1·b + e2
	VDIVPS  Z16, Z15, Z17    // wkv
	VADDPS  Z4, Z2, Z7       // ww = p + decay
	VMAXPS  Z5, Z7, Z8       // q = vmax(ww, k)
	EXPPAIR(Z7, Z5, Z9, Z10) // e1, e2 = exp(ww − q), exp(k − q)
	VMULPS  Z0, Z9, Z0
	VMULPS  Z6, Z10, Z16
	VADDPS  Z16, Z0, Z0      // a = e1·a + e2·v
	VMULPS  Z1, Z9, Z1
	VADDPS  Z10, Z1, Z1      // b = e1·b + e2
	VMOVAPS Z8, Z2           // p = q
	VMOVUPS (BX)(R10*1), Z15
	SIG16(Z15, Z16, Z11, Z12, Z13, Z18)
	VMULPS  Z17, Z16, Z16    // y = σ(r)·wkv
	VMOVUPS Z16, (CX)(R10*1)
	ADDQ    80(DI), R10
	DECQ    R9
	JNZ     wkvtoken
wkvstore:
	MOVQ    0(DI), AX
	VMOVUPS Z0, (AX)(R8*1)
	MOVQ    8(DI), AX
	VMOVUPS Z1, (AX)(R8*1)
	MOVQ    16(DI), AX
	VMOVUPS Z2, (AX)(R8*1)
	ADDQ    $64, R8
	DECQ    R12
	JNZ     wkvgroup
wkvdone:
	VZEROUPPER
	RET

// func sumLanesAVX512(acc *[16]float64, x *float32, n16 int)
// acc[l] += x[16j+l] in float64: Z0 lanes 0-7, Z1 lanes 8-15.
TEXT ·sumLanesAVX512(SB), NOSPLIT, $0-24
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n16+16(FP), CX
	VMOVUPD 0(DI), Z0
	VMOVUPD 64(DI), Z1
	TESTQ CX, CX
	JZ   sumdone
sumloop:
	VCVTPS2PD 0(SI), Z2
	VCVTPS2PD 32(SI), Z3
	VADDPD    Z2, Z0, Z0
	VADDPD    Z3, Z1, Z1
	ADDQ $64, SI
	DECQ CX
	JNZ  sumloop
sumdone:
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	VZEROUPPER
	RET

// func sqLanesAVX512(acc *[16]float64, x *float32, mean float64, n16 int)
// acc[l] += (x[16j+l] − mean)² in float64.
TEXT ·sqLanesAVX512(SB), NOSPLIT, $0-32
	MOVQ acc+0(FP), DI
	MOVQ x+8(FP), SI
	VBROADCASTSD mean+16(FP), Z4
	MOVQ n16+24(FP), CX
	VMOVUPD 0(DI), Z0
	VMOVUPD 64(DI), Z1
	TESTQ CX, CX
	JZ   sqdone
sqloop:
	VCVTPS2PD 0(SI), Z2
	VCVTPS2PD 32(SI), Z3
	VSUBPD    Z4, Z2, Z2
	VSUBPD    Z4, Z3, Z3
	VMULPD    Z2, Z2, Z2
	VMULPD    Z3, Z3, Z3
	VADDPD    Z2, Z0, Z0
	VADDPD    Z3, Z1, Z1
	ADDQ $64, SI
	DECQ CX
	JNZ  sqloop
sqdone:
	VMOVUPD Z0, 0(DI)
	VMOVUPD Z1, 64(DI)
	VZEROUPPER
	RET

// func lnApplyAVX512(dst, x, w, b *float32, mean, inv float64, n16 int)
// dst = float32(float32((x − mean)·inv)·w) + b, the products in float64.
TEXT ·lnApplyAVX512(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DX
	MOVQ b+24(FP), BX
	VBROADCASTSD mean+32(FP), Z4
	VBROADCASTSD inv+40(FP), Z5
	MOVQ n16+48(FP), CX
	TESTQ CX, CX
	JZ   lndone
lnloop:
	VCVTPS2PD 0(SI), Z0
	VCVTPS2PD 32(SI), Z1
	VSUBPD    Z4, Z0, Z0
	VSUBPD    Z4, Z1, Z1
	VMULPD    Z5, Z0, Z0
	VMULPD    Z5, Z1, Z1
	VCVTPD2PS Z0, Y0
	VCVTPD2PS Z1, Y1
	VINSERTF64X4 $1, Y1, Z0, Z0
	VMULPS    (DX), Z0, Z0
	VADDPS    (BX), Z0, Z0
	VMOVUPS   Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  lnloop
lndone:
	VZEROUPPER
	RET

// func mixAVX512(dst, cur, prev, mu *float32, n16 int, tab *float32)
// dst = cur·μ + prev·(1 − μ).
TEXT ·mixAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ cur+8(FP), SI
	MOVQ prev+16(FP), DX
	MOVQ mu+24(FP), BX
	MOVQ n16+32(FP), CX
	MOVQ tab+40(FP), AX
	VBROADCASTSS 44(AX), Z31
	TESTQ CX, CX
	JZ   mixdone
mixloop:
	VMOVUPS (BX), Z0
	VMULPS  (SI), Z0, Z1
	VSUBPS  Z0, Z31, Z2
	VMULPS  (DX), Z2, Z2
	VADDPS  Z2, Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  mixloop
mixdone:
	VZEROUPPER
	RET

// func lerpAVX512(dst, cur, prev, mu *float32, n16 int)
// dst = cur + (prev − cur)·μ.
TEXT ·lerpAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ cur+8(FP), SI
	MOVQ prev+16(FP), DX
	MOVQ mu+24(FP), BX
	MOVQ n16+32(FP), CX
	TESTQ CX, CX
	JZ   lerpdone
lerploop:
	VMOVUPS (SI), Z0
	VMOVUPS (DX), Z1
	VSUBPS  Z0, Z1, Z1
	VMULPS  (BX), Z1, Z1
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, BX
	ADDQ $64, DI
	DECQ CX
	JNZ  lerploop
lerpdone:
	VZEROUPPER
	RET

// func addMulAVX512(x, a, b *float32, n16 int)
// x += a·b.
TEXT ·addMulAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n16+24(FP), CX
	TESTQ CX, CX
	JZ   amdone
amloop:
	VMOVUPS (SI), Z0
	VMULPS  (DX), Z0, Z0
	VADDPS  (DI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  amloop
amdone:
	VZEROUPPER
	RET

// func addAVX512(x, a *float32, n16 int)
// x += a.
TEXT ·addAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n16+16(FP), CX
	TESTQ CX, CX
	JZ   adddone
addloop:
	VMOVUPS (DI), Z0
	VADDPS  (SI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  addloop
adddone:
	VZEROUPPER
	RET

// func reluSquareAVX512(x *float32, n16 int)
// x = vmax(0, x)² (NaN stays NaN).
TEXT ·reluSquareAVX512(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n16+8(FP), CX
	VPXORD Z1, Z1, Z1
	TESTQ CX, CX
	JZ   rsdone
rsloop:
	VMOVUPS (DI), Z0
	VMAXPS  Z0, Z1, Z0
	VMULPS  Z0, Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	DECQ CX
	JNZ  rsloop
rsdone:
	VZEROUPPER
	RET

// func mulSiLUAVX512(y, gate *float32, n16 int, tab *float32)
// y = y·(gate·σ(gate)).
TEXT ·mulSiLUAVX512(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ gate+8(FP), SI
	MOVQ n16+16(FP), CX
	MOVQ tab+24(FP), AX
	EXPCONST(AX)
	TESTQ CX, CX
	JZ   siludone
siluloop:
	VMOVUPS (SI), Z0
	SIG16(Z0, Z1, Z2, Z3, Z4, Z5)
	VMULPS  Z1, Z0, Z1
	VMULPS  (DI), Z1, Z1
	VMOVUPS Z1, (DI)
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  siluloop
siludone:
	VZEROUPPER
	RET

// func wkv5HeadAVX512(S, r, k, v, w, u, y *float32, n16 int)
// One token of one RWKV-5/6 head of N = 16·n16 (wkv5Rows): for each block
// of 16 values j, y_j = Σ_i r_i·S_ij in ascending i plus bonus·v_j with
// bonus = Σ_i r_i·u_i·k_i (recomputed per block, same bits), and
// S_ij ← S_ij·w_i + k_i·v_j.
TEXT ·wkv5HeadAVX512(SB), NOSPLIT, $0-64
	MOVQ S+0(FP), DI
	MOVQ r+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ v+24(FP), BX
	MOVQ w+32(FP), R8
	MOVQ u+40(FP), R9
	MOVQ y+48(FP), R10
	MOVQ n16+56(FP), R11
	MOVQ R11, R12
	SHLQ $4, R12 // N
	MOVQ R12, R13
	SHLQ $2, R13 // bytes per row of S (and past the last value block)
	XORQ R11, R11 // byte offset of the value block
w5block:
	VMOVUPS (BX)(R11*1), Z0 // v
	VPXORD  Z1, Z1, Z1      // y
	VXORPS  X9, X9, X9      // bonus
	LEAQ    (DI)(R11*1), AX // &S[0][block]
	XORQ    CX, CX
w5key:
	VBROADCASTSS (SI)(CX*4), Z2 // r_i
	VBROADCASTSS (DX)(CX*4), Z3 // k_i
	VBROADCASTSS (R8)(CX*4), Z4 // w_i
	VMOVSS       (SI)(CX*4), X5
	VMULSS       (R9)(CX*4), X5, X5
	VMULSS       (DX)(CX*4), X5, X5
	VADDSS       X5, X9, X9     // bonus += r_i·u_i·k_i
	VMOVUPS      (AX), Z6       // S_ij
	VMULPS       Z6, Z2, Z7
	VADDPS       Z7, Z1, Z1
	VMULPS       Z4, Z6, Z6
	VMULPS       Z0, Z3, Z8
	VADDPS       Z8, Z6, Z6
	VMOVUPS      Z6, (AX)
	ADDQ         R13, AX
	INCQ         CX
	CMPQ         CX, R12
	JNE          w5key
	VBROADCASTSS X9, Z9
	VMULPS       Z0, Z9, Z8
	VADDPS       Z8, Z1, Z1
	VMOVUPS      Z1, (R10)(R11*1)
	ADDQ         $64, R11
	CMPQ         R11, R13
	JNE          w5block
	VZEROUPPER
	RET

// RSUM16F folds Z's 16 lanes into X's lane 0 in reduce16's order (upper
// eight onto the lower, then 4, 2, 1); T is scratch.
#define RSUM16F(Z, Y, X, ZT, YT, XT) \
	VEXTRACTF64X4 $1, Z, YT; \
	VADDPS        YT, Y, Y; \
	VEXTRACTF128  $1, Y, XT; \
	VADDPS        XT, X, X; \
	VMOVHLPS      X, X, XT; \
	VADDPS        XT, X, X; \
	VMOVSHDUP     X, XT; \
	VADDSS        XT, X, X

// func wkv7HeadAVX512(S, w, k, v, r, kk, kka, y *float32, n16 int)
// One token of one RWKV-7 head of N = 16·n16 (wkv7Rows): per value row i,
// sa = −Σ S_ij·kk_j, S_ij ← S_ij·w_j + sa·kka_j + v_i·k_j, y_i = Σ S_ij·r_j.
TEXT ·wkv7HeadAVX512(SB), NOSPLIT, $0-72
	MOVQ S+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ v+24(FP), BX
	MOVQ r+32(FP), R8
	MOVQ kk+40(FP), R9
	MOVQ kka+48(FP), R10
	MOVQ y+56(FP), R11
	MOVQ n16+64(FP), R12
	MOVQ R12, R13
	SHLQ $6, R13 // bytes per row
	SHLQ $4, R12 // N
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z7 // the sign bit
	XORQ CX, CX // value row i
w7row:
	VPXORD Z0, Z0, Z0
	XORQ   AX, AX
w7sa:
	VMOVUPS (DI)(AX*1), Z1
	VMULPS  (R9)(AX*1), Z1, Z1
	VADDPS  Z1, Z0, Z0
	ADDQ    $64, AX
	CMPQ    AX, R13
	JNE     w7sa
	RSUM16F(Z0, Y0, X0, Z6, Y6, X6)
	VPXORD       Z7, Z0, Z0
	VBROADCASTSS X0, Z2         // sa
	VBROADCASTSS (BX)(CX*4), Z3 // v_i
	VPXORD       Z4, Z4, Z4
	XORQ         AX, AX
w7upd:
	VMOVUPS (DI)(AX*1), Z1
	VMULPS  (SI)(AX*1), Z1, Z1
	VMULPS  (R10)(AX*1), Z2, Z5
	VADDPS  Z5, Z1, Z1
	VMULPS  (DX)(AX*1), Z3, Z5
	VADDPS  Z5, Z1, Z1
	VMOVUPS Z1, (DI)(AX*1)
	VMULPS  (R8)(AX*1), Z1, Z5
	VADDPS  Z5, Z4, Z4
	ADDQ    $64, AX
	CMPQ    AX, R13
	JNE     w7upd
	RSUM16F(Z4, Y4, X4, Z6, Y6, X6)
	VMOVSS X4, (R11)(CX*4)
	ADDQ   R13, DI
	INCQ   CX
	CMPQ   CX, R12
	JNE    w7row
	VZEROUPPER
	RET

// func wkv5Head64AVX512(S, r, k, v, w, u, y *float32)
// wkv5HeadAVX512 for N = 64 (every published head size): v and the four
// y blocks stay in registers, each key's scalars are loaded once.
TEXT ·wkv5Head64AVX512(SB), NOSPLIT, $0-56
	MOVQ S+0(FP), DI
	MOVQ r+8(FP), SI
	MOVQ k+16(FP), DX
	MOVQ v+24(FP), BX
	MOVQ w+32(FP), R8
	MOVQ u+40(FP), R9
	MOVQ y+48(FP), R10
	VMOVUPS 0(BX), Z0
	VMOVUPS 64(BX), Z1
	VMOVUPS 128(BX), Z2
	VMOVUPS 192(BX), Z3
	VPXORD  Z4, Z4, Z4
	VPXORD  Z5, Z5, Z5
	VPXORD  Z6, Z6, Z6
	VPXORD  Z7, Z7, Z7
	VXORPS  X11, X11, X11 // bonus
	MOVQ    $64, CX
w564key:
	VBROADCASTSS (SI), Z8  // r_i
	VBROADCASTSS (DX), Z9  // k_i
	VBROADCASTSS (R8), Z10 // w_i
	VMOVSS       (SI), X24
	VMULSS       (R9), X24, X24
	VMULSS       (DX), X24, X24
	VADDSS       X24, X11, X11 // bonus += r_i·u_i·k_i
	VMOVUPS 0(DI), Z12
	VMULPS  Z12, Z8, Z13
	VADDPS  Z13, Z4, Z4
	VMULPS  Z10, Z12, Z12
	VMULPS  Z0, Z9, Z14
	VADDPS  Z14, Z12, Z12
	VMOVUPS Z12, 0(DI)
	VMOVUPS 64(DI), Z15
	VMULPS  Z15, Z8, Z16
	VADDPS  Z16, Z5, Z5
	VMULPS  Z10, Z15, Z15
	VMULPS  Z1, Z9, Z17
	VADDPS  Z17, Z15, Z15
	VMOVUPS Z15, 64(DI)
	VMOVUPS 128(DI), Z18
	VMULPS  Z18, Z8, Z19
	VADDPS  Z19, Z6, Z6
	VMULPS  Z10, Z18, Z18
	VMULPS  Z2, Z9, Z20
	VADDPS  Z20, Z18, Z18
	VMOVUPS Z18, 128(DI)
	VMOVUPS 192(DI), Z21
	VMULPS  Z21, Z8, Z22
	VADDPS  Z22, Z7, Z7
	VMULPS  Z10, Z21, Z21
	VMULPS  Z3, Z9, Z23
	VADDPS  Z23, Z21, Z21
	VMOVUPS Z21, 192(DI)
	ADDQ $4, SI
	ADDQ $4, DX
	ADDQ $4, R8
	ADDQ $4, R9
	ADDQ $256, DI
	DECQ CX
	JNZ  w564key
	VBROADCASTSS X11, Z11
	VMULPS  Z0, Z11, Z12
	VADDPS  Z12, Z4, Z4
	VMULPS  Z1, Z11, Z13
	VADDPS  Z13, Z5, Z5
	VMULPS  Z2, Z11, Z14
	VADDPS  Z14, Z6, Z6
	VMULPS  Z3, Z11, Z15
	VADDPS  Z15, Z7, Z7
	VMOVUPS Z4, 0(R10)
	VMOVUPS Z5, 64(R10)
	VMOVUPS Z6, 128(R10)
	VMOVUPS Z7, 192(R10)
	VZEROUPPER
	RET

// func wkv7Head64AVX512(S, w, k, v, r, kk, kka, y *float32)
// wkv7HeadAVX512 for N = 64: w Z11-Z14, k Z15-Z18, r Z19-Z22, kk Z23-Z26,
// kka Z27-Z30 stay in registers; row i's blocks in Z0-Z3.
TEXT ·wkv7Head64AVX512(SB), NOSPLIT, $0-64
	MOVQ S+0(FP), DI
	MOVQ w+8(FP), SI
	VMOVUPS 0(SI), Z11
	VMOVUPS 64(SI), Z12
	VMOVUPS 128(SI), Z13
	VMOVUPS 192(SI), Z14
	MOVQ k+16(FP), SI
	VMOVUPS 0(SI), Z15
	VMOVUPS 64(SI), Z16
	VMOVUPS 128(SI), Z17
	VMOVUPS 192(SI), Z18
	MOVQ v+24(FP), BX
	MOVQ r+32(FP), SI
	VMOVUPS 0(SI), Z19
	VMOVUPS 64(SI), Z20
	VMOVUPS 128(SI), Z21
	VMOVUPS 192(SI), Z22
	MOVQ kk+40(FP), SI
	VMOVUPS 0(SI), Z23
	VMOVUPS 64(SI), Z24
	VMOVUPS 128(SI), Z25
	VMOVUPS 192(SI), Z26
	MOVQ kka+48(FP), SI
	VMOVUPS 0(SI), Z27
	VMOVUPS 64(SI), Z28
	VMOVUPS 128(SI), Z29
	VMOVUPS 192(SI), Z30
	MOVQ y+56(FP), R11
	MOVL $0x80000000, AX
	VPBROADCASTD AX, Z31
	MOVQ $64, CX
w764row:
	VMOVUPS 0(DI), Z0
	VMOVUPS 64(DI), Z1
	VMOVUPS 128(DI), Z2
	VMOVUPS 192(DI), Z3
	VPXORD  Z4, Z4, Z4
	VMULPS  Z23, Z0, Z5
	VADDPS  Z5, Z4, Z4
	VMULPS  Z24, Z1, Z5
	VADDPS  Z5, Z4, Z4
	VMULPS  Z25, Z2, Z5
	VADDPS  Z5, Z4, Z4
	VMULPS  Z26, Z3, Z5
	VADDPS  Z5, Z4, Z4
	RSUM16F(Z4, Y4, X4, Z6, Y6, X6)
	VPXORD       Z31, Z4, Z4
	VBROADCASTSS X4, Z7   // sa
	VBROADCASTSS (BX), Z8 // v_i
	VPXORD       Z9, Z9, Z9
	VMULPS  Z11, Z0, Z0
	VMULPS  Z27, Z7, Z10
	VADDPS  Z10, Z0, Z0
	VMULPS  Z15, Z8, Z10
	VADDPS  Z10, Z0, Z0
	VMOVUPS Z0, 0(DI)
	VMULPS  Z19, Z0, Z10
	VADDPS  Z10, Z9, Z9
	VMULPS  Z12, Z1, Z1
	VMULPS  Z28, Z7, Z10
	VADDPS  Z10, Z1, Z1
	VMULPS  Z16, Z8, Z10
	VADDPS  Z10, Z1, Z1
	VMOVUPS Z1, 64(DI)
	VMULPS  Z20, Z1, Z10
	VADDPS  Z10, Z9, Z9
	VMULPS  Z13, Z2, Z2
	VMULPS  Z29, Z7, Z10
	VADDPS  Z10, Z2, Z2
	VMULPS  Z17, Z8, Z10
	VADDPS  Z10, Z2, Z2
	VMOVUPS Z2, 128(DI)
	VMULPS  Z21, Z2, Z10
	VADDPS  Z10, Z9, Z9
	VMULPS  Z14, Z3, Z3
	VMULPS  Z30, Z7, Z10
	VADDPS  Z10, Z3, Z3
	VMULPS  Z18, Z8, Z10
	VADDPS  Z10, Z3, Z3
	VMOVUPS Z3, 192(DI)
	VMULPS  Z22, Z3, Z10
	VADDPS  Z10, Z9, Z9
	RSUM16F(Z9, Y9, X9, Z6, Y6, X6)
	VMOVSS X9, (R11)
	ADDQ   $4, BX
	ADDQ   $4, R11
	ADDQ   $256, DI
	DECQ   CX
	JNZ    w764row
	VZEROUPPER
	RET

// func mulAVX512(dst, a, b *float32, n16 int)
// dst = a·b.
TEXT ·mulAVX512(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n16+24(FP), CX
	TESTQ CX, CX
	JZ   muldone
mulloop:
	VMOVUPS (SI), Z0
	VMULPS  (DX), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  mulloop
muldone:
	VZEROUPPER
	RET

// func scaleAVX512(x *float32, s float32, n16 int)
// x *= s.
TEXT ·scaleAVX512(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), DI
	VBROADCASTSS s+8(FP), Z1
	MOVQ n16+16(FP), CX
	TESTQ CX, CX
	JZ   scdone
scloop:
	VMULPS  (DI), Z1, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, DI
	DECQ CX
	JNZ  scloop
scdone:
	VZEROUPPER
	RET

// func mulAffineAVX512(x, a, mu *float32, n16 int, tab *float32)
// x = x·(1 + (a − 1)·μ).
TEXT ·mulAffineAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ mu+16(FP), DX
	MOVQ n16+24(FP), CX
	MOVQ tab+32(FP), AX
	VBROADCASTSS 44(AX), Z31
	TESTQ CX, CX
	JZ   madone
maloop:
	VMOVUPS (SI), Z0
	VSUBPS  Z31, Z0, Z0
	VMULPS  (DX), Z0, Z0
	VADDPS  Z31, Z0, Z0
	VMULPS  (DI), Z0, Z0
	VMOVUPS Z0, (DI)
	ADDQ $64, SI
	ADDQ $64, DX
	ADDQ $64, DI
	DECQ CX
	JNZ  maloop
madone:
	VZEROUPPER
	RET
