//go:build amd64 && !purego

#include "textflag.h"

// One K pair of the 6x16 integer kernel: B's 16 column pairs (two YMM
// registers of 8 int16 pairs) times each of the 6 row pairs of A
// (broadcast as one 32-bit lane), multiplied and pair-summed by VPMADDWD
// into 32-bit lanes and added to the accumulators Y0..Y11 (row i in Y(2i),
// Y(2i+1)). ao and bo are the byte offsets of the pair in the panels.
#define IROW(ao, lo, hi) \
	VPBROADCASTD ao(SI), Y14; \
	VPMADDWD     Y12, Y14, Y15; \
	VPADDD       Y15, lo, lo; \
	VPMADDWD     Y13, Y14, Y15; \
	VPADDD       Y15, hi, hi

#define ISTEP(ao, bo) \
	VMOVDQU bo(DI), Y12; \
	VMOVDQU bo+32(DI), Y13; \
	IROW(ao, Y0, Y1); \
	IROW(ao+4, Y2, Y3); \
	IROW(ao+8, Y4, Y5); \
	IROW(ao+12, Y6, Y7); \
	IROW(ao+16, Y8, Y9); \
	IROW(ao+20, Y10, Y11)

// Adds one accumulator row (lo, hi) to the 16 int32 at DX and moves DX to
// the next row of C.
#define IADDROW(lo, hi) \
	VPADDD  (DX), lo, lo; \
	VPADDD  32(DX), hi, hi; \
	VMOVDQU lo, (DX); \
	VMOVDQU hi, 32(DX); \
	ADDQ    R8, DX

// func iKernel6x16(kp int, a, b *int16, c *int32, ldc int)
//
// C[i][j] += sum_q a[(q*6+i)*2]*b[(q*16+j)*2] + a[(q*6+i)*2+1]*b[(q*16+j)*2+1]
// for i < 6, j < 16, with int32 lanes; kp >= 1.
TEXT ·iKernel6x16(SB), NOSPLIT, $0-40
	MOVQ kp+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
	VPXOR Y2, Y2, Y2
	VPXOR Y3, Y3, Y3
	VPXOR Y4, Y4, Y4
	VPXOR Y5, Y5, Y5
	VPXOR Y6, Y6, Y6
	VPXOR Y7, Y7, Y7
	VPXOR Y8, Y8, Y8
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11

	MOVQ CX, BX
	SHRQ $1, BX
	JZ   itail

iloop2:
	ISTEP(0, 0)
	ISTEP(24, 64)
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ BX
	JNZ  iloop2

itail:
	ANDQ $1, CX
	JZ   istore
	ISTEP(0, 0)

istore:
	IADDROW(Y0, Y1)
	IADDROW(Y2, Y3)
	IADDROW(Y4, Y5)
	IADDROW(Y6, Y7)
	IADDROW(Y8, Y9)
	IADDROW(Y10, Y11)
	VZEROUPPER
	RET

// Packs one pair of rows (at SI and SI+R9) of 16 bytes each, widened to
// int16 by WIDEN (VPMOVZXBW or VPMOVSXBW), minus the column zero points
// X14 (columns 0-7) and X15 (8-15), as 16 interleaved (row p, row p+1)
// pairs at DI.
#define PACKPAIR(WIDEN) \
	WIDEN      (SI), X0; \
	WIDEN      8(SI), X1; \
	WIDEN      (SI)(R9*1), X2; \
	WIDEN      8(SI)(R9*1), X3; \
	VPSUBW     X14, X0, X0; \
	VPSUBW     X15, X1, X1; \
	VPSUBW     X14, X2, X2; \
	VPSUBW     X15, X3, X3; \
	VPUNPCKLWD X2, X0, X4; \
	VPUNPCKHWD X2, X0, X5; \
	VPUNPCKLWD X3, X1, X6; \
	VPUNPCKHWD X3, X1, X7; \
	VMOVDQU    X4, (DI); \
	VMOVDQU    X5, 16(DI); \
	VMOVDQU    X6, 32(DI); \
	VMOVDQU    X7, 48(DI)

// func packIBPairsU8(dst *int16, src *uint8, ldb int, pairs int, zb *int16)
//
// For q < pairs: the 16 values of rows 2q and 2q+1 of src (row stride ldb
// bytes), zero-extended to int16 minus zb[j], stored as pairs
// dst[(q*16+j)*2 + r] (r = 0 for row 2q, 1 for row 2q+1).
TEXT ·packIBPairsU8(SB), NOSPLIT, $0-40
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    ldb+16(FP), R9
	MOVQ    pairs+24(FP), CX
	MOVQ    zb+32(FP), AX
	VMOVDQU (AX), X14
	VMOVDQU 16(AX), X15
	TESTQ   CX, CX
	JZ      pu8done

pu8loop:
	PACKPAIR(VPMOVZXBW)
	LEAQ (SI)(R9*2), SI
	ADDQ $64, DI
	DECQ CX
	JNZ  pu8loop

pu8done:
	RET

// func packIBPairsS8(dst *int16, src *int8, ldb int, pairs int, zb *int16)
//
// packIBPairsU8 for signed bytes (sign-extended).
TEXT ·packIBPairsS8(SB), NOSPLIT, $0-40
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    ldb+16(FP), R9
	MOVQ    pairs+24(FP), CX
	MOVQ    zb+32(FP), AX
	VMOVDQU (AX), X14
	VMOVDQU 16(AX), X15
	TESTQ   CX, CX
	JZ      ps8done

ps8loop:
	PACKPAIR(VPMOVSXBW)
	LEAQ (SI)(R9*2), SI
	ADDQ $64, DI
	DECQ CX
	JNZ  ps8loop

ps8done:
	RET
