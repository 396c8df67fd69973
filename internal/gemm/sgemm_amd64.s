//go:build amd64 && !purego

#include "textflag.h"

// One k step of the 6x16 float32 kernel: the 16 B values of step k (two
// YMM registers) times each of the 6 A values of step k (broadcast), added
// into the accumulators Y0..Y11 (row i in Y(2i), Y(2i+1)). ao and bo are the
// byte offsets of the step within the A and B panels.
#define SSTEP(ao, bo) \
	VMOVUPS      bo(DI), Y12; \
	VMOVUPS      bo+32(DI), Y13; \
	VBROADCASTSS ao(SI), Y14; \
	VBROADCASTSS ao+4(SI), Y15; \
	VFMADD231PS  Y12, Y14, Y0; \
	VFMADD231PS  Y13, Y14, Y1; \
	VFMADD231PS  Y12, Y15, Y2; \
	VFMADD231PS  Y13, Y15, Y3; \
	VBROADCASTSS ao+8(SI), Y14; \
	VBROADCASTSS ao+12(SI), Y15; \
	VFMADD231PS  Y12, Y14, Y4; \
	VFMADD231PS  Y13, Y14, Y5; \
	VFMADD231PS  Y12, Y15, Y6; \
	VFMADD231PS  Y13, Y15, Y7; \
	VBROADCASTSS ao+16(SI), Y14; \
	VBROADCASTSS ao+20(SI), Y15; \
	VFMADD231PS  Y12, Y14, Y8; \
	VFMADD231PS  Y13, Y14, Y9; \
	VFMADD231PS  Y12, Y15, Y10; \
	VFMADD231PS  Y13, Y15, Y11

// Adds alpha (in Y14) times one accumulator row (lo, hi) to the 16 floats
// at DX, then moves DX to the next row of C.
#define SROW(lo, hi) \
	VMOVUPS     (DX), Y12; \
	VMOVUPS     32(DX), Y13; \
	VFMADD231PS Y14, lo, Y12; \
	VFMADD231PS Y14, hi, Y13; \
	VMOVUPS     Y12, (DX); \
	VMOVUPS     Y13, 32(DX); \
	ADDQ        R8, DX

// func sgemmKernel6x16(kc int, a, b, c *float32, ldc int, alpha float32)
//
// C[i][j] += alpha * sum_p a[p*6+i] * b[p*16+j] for i < 6, j < 16, where
// C[i][j] is c[i*ldc+j]. kc must be at least 1.
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-44
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   tail

loop4:
	PREFETCHT0 384(DI)
	SSTEP(0, 0)
	SSTEP(24, 64)
	PREFETCHT0 448(DI)
	SSTEP(48, 128)
	SSTEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  loop4

tail:
	ANDQ $3, CX
	JZ   store

loop1:
	SSTEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  loop1

store:
	VBROADCASTSS alpha+40(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)
	VZEROUPPER
	RET

// func sgemmKernel6x16B(kc int, a, b *float32, ldb int, c *float32, ldc int, alpha float32)
//
// sgemmKernel6x16 with B read in place: step p's 16 values are
// b[p*ldb : p*ldb+16] rather than a packed panel. kc must be at least 1.
TEXT ·sgemmKernel6x16B(SB), NOSPLIT, $0-52
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R9
	SHLQ $2, R9
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, BX
	SHRQ $1, BX
	JZ   btail

bloop2:
	SSTEP(0, 0)
	ADDQ R9, DI
	SSTEP(24, 0)
	ADDQ R9, DI
	ADDQ $48, SI
	DECQ BX
	JNZ  bloop2

btail:
	ANDQ $1, CX
	JZ   bstore
	SSTEP(0, 0)

bstore:
	VBROADCASTSS alpha+48(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)
	VZEROUPPER
	RET

// func sgemmKernel6x16I(kc int, a, b *float32, offs *int, c *float32, ldc int, alpha float32)
//
// sgemmKernel6x16 with B rows found through offsets: step p's 16 values
// are b[offs[p] : offs[p]+16]. kc must be at least 1.
TEXT ·sgemmKernel6x16I(SB), NOSPLIT, $0-52
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R13
	MOVQ offs+24(FP), R9
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

iloop:
	MOVQ (R9), R11
	LEAQ (R13)(R11*4), DI
	SSTEP(0, 0)
	ADDQ $8, R9
	ADDQ $24, SI
	DECQ CX
	JNZ  iloop

	VBROADCASTSS alpha+48(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)
	VZEROUPPER
	RET

// func fmaLoop(n int)
//
// Runs n iterations of 12 independent 8-wide FMAs (192 multiply-adds, 384
// floating-point operations), the instruction mix of the kernel without its
// loads: its rate is the core's attainable FMA peak.
TEXT ·fmaLoop(SB), NOSPLIT, $0-8
	MOVQ   n+0(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	TESTQ  CX, CX
	JZ     fmadone

fmanext:
	VFMADD231PS Y12, Y13, Y0
	VFMADD231PS Y12, Y13, Y1
	VFMADD231PS Y12, Y13, Y2
	VFMADD231PS Y12, Y13, Y3
	VFMADD231PS Y12, Y13, Y4
	VFMADD231PS Y12, Y13, Y5
	VFMADD231PS Y12, Y13, Y6
	VFMADD231PS Y12, Y13, Y7
	VFMADD231PS Y12, Y13, Y8
	VFMADD231PS Y12, Y13, Y9
	VFMADD231PS Y12, Y13, Y10
	VFMADD231PS Y12, Y13, Y11
	DECQ        CX
	JNZ         fmanext

fmadone:
	VZEROUPPER
	RET
