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

// Finishing a full block (a kernelEp at R10: bias[8] at 0, lo at 32, hi
// at 36, flags at 40; Y14 = lo, Y15 = hi): per row, optionally add C's
// values (L) and the row's bias (B), clamp to [lo, hi] with the value as
// the operand MAXPS/MINPS return for NaN (so NaN stays NaN), and store.
#define ECLAMP(lo, hi) \
	VMAXPS lo, Y14, lo; \
	VMINPS lo, Y15, lo; \
	VMAXPS hi, Y14, hi; \
	VMINPS hi, Y15, hi

#define ESTORE(lo, hi) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ    R8, DX

#define EROW_N(lo, hi, bo) \
	ECLAMP(lo, hi); \
	ESTORE(lo, hi)

#define EROW_L(lo, hi, bo) \
	VADDPS (DX), lo, lo; \
	VADDPS 32(DX), hi, hi; \
	ECLAMP(lo, hi); \
	ESTORE(lo, hi)

#define EROW_B(lo, hi, bo) \
	VBROADCASTSS bo(R10), Y12; \
	VADDPS       Y12, lo, lo; \
	VADDPS       Y12, hi, hi; \
	ECLAMP(lo, hi); \
	ESTORE(lo, hi)

#define EROW_LB(lo, hi, bo) \
	VADDPS       (DX), lo, lo; \
	VADDPS       32(DX), hi, hi; \
	VBROADCASTSS bo(R10), Y12; \
	VADDPS       Y12, lo, lo; \
	VADDPS       Y12, hi, hi; \
	ECLAMP(lo, hi); \
	ESTORE(lo, hi)

#define EBLOCK(ROW) \
	ROW(Y0, Y1, 0); \
	ROW(Y2, Y3, 4); \
	ROW(Y4, Y5, 8); \
	ROW(Y6, Y7, 12); \
	ROW(Y8, Y9, 16); \
	ROW(Y10, Y11, 20)

// Loads lo and hi and jumps on the kernelEp flags at R10 to the finishing
// store of the block: nl (no load, no bias), ll (load C), bl (bias), lbl
// (both).
#define EFINISH(nl, ll, bl, lbl) \
	VBROADCASTSS 32(R10), Y14; \
	VBROADCASTSS 36(R10), Y15; \
	MOVQ         40(R10), R11; \
	CMPQ         R11, $1; \
	JEQ          ll; \
	CMPQ         R11, $2; \
	JEQ          bl; \
	CMPQ         R11, $3; \
	JEQ          lbl; \
	JMP          nl

// func sgemmKernel6x16(kc int, a, b, c *float32, ldc int, alpha float32, ep *kernelEp)
//
// C[i][j] += alpha * sum_p a[p*6+i] * b[p*16+j] for i < 6, j < 16, where
// C[i][j] is c[i*ldc+j]; with ep not nil, the block is finished as ep says
// instead (alpha is then 1). kc must be at least 1.
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-56
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
	MOVQ  ep+48(FP), R10
	TESTQ R10, R10
	JZ    pstore
	EFINISH(pn, pl, pb, plb)

pn:
	EBLOCK(EROW_N)
	JMP pdone

pl:
	EBLOCK(EROW_L)
	JMP pdone

pb:
	EBLOCK(EROW_B)
	JMP pdone

plb:
	EBLOCK(EROW_LB)
	JMP pdone

pstore:
	VBROADCASTSS alpha+40(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)

pdone:
	VZEROUPPER
	RET

// func sgemmKernel6x16B(kc int, a, b *float32, ldb int, c *float32, ldc int, alpha float32, ep *kernelEp)
//
// sgemmKernel6x16 with B read in place: step p's 16 values are
// b[p*ldb : p*ldb+16] rather than a packed panel. kc must be at least 1.
TEXT ·sgemmKernel6x16B(SB), NOSPLIT, $0-64
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
	MOVQ  ep+56(FP), R10
	TESTQ R10, R10
	JZ    bplain
	EFINISH(bn, bl, bb, blb)

bn:
	EBLOCK(EROW_N)
	JMP bdone

bl:
	EBLOCK(EROW_L)
	JMP bdone

bb:
	EBLOCK(EROW_B)
	JMP bdone

blb:
	EBLOCK(EROW_LB)
	JMP bdone

bplain:
	VBROADCASTSS alpha+48(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)

bdone:
	VZEROUPPER
	RET

// func sgemmKernel6x16I(kc int, a, b *float32, offs *int, c *float32, ldc int, alpha float32, ep *kernelEp)
//
// sgemmKernel6x16 with B rows found through offsets: step p's 16 values
// are b[offs[p] : offs[p]+16]. kc must be at least 1.
TEXT ·sgemmKernel6x16I(SB), NOSPLIT, $0-64
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

	MOVQ  ep+56(FP), R10
	TESTQ R10, R10
	JZ    iplain
	EFINISH(ien, iel, ieb, ielb)

ien:
	EBLOCK(EROW_N)
	JMP idone

iel:
	EBLOCK(EROW_L)
	JMP idone

ieb:
	EBLOCK(EROW_B)
	JMP idone

ielb:
	EBLOCK(EROW_LB)
	JMP idone

iplain:
	VBROADCASTSS alpha+48(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)

idone:
	VZEROUPPER
	RET

// func sgemmKernel6x16BN(kc int, a, b *float32, ldb int, c *float32, ldc int, alpha float32, ep *kernelEp, panels int)
//
// sgemmKernel6x16B on panels consecutive 16-column blocks: block q reads
// B from b+16q and writes C at c+16q (same A panel, same ep). panels >= 1.
TEXT ·sgemmKernel6x16BN(SB), NOSPLIT, $0-72
	MOVQ ldb+24(FP), R9
	SHLQ $2, R9
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	MOVQ b+16(FP), R13
	MOVQ c+32(FP), AX
	MOVQ panels+64(FP), BX

bnpanel:
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ R13, DI
	MOVQ AX, DX

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

bnloop:
	SSTEP(0, 0)
	ADDQ R9, DI
	ADDQ $24, SI
	DECQ CX
	JNZ  bnloop

	MOVQ  ep+56(FP), R10
	TESTQ R10, R10
	JZ    bnplain
	EFINISH(bnn, bnl, bnb, bnlb)

bnn:
	EBLOCK(EROW_N)
	JMP bnnext

bnl:
	EBLOCK(EROW_L)
	JMP bnnext

bnb:
	EBLOCK(EROW_B)
	JMP bnnext

bnlb:
	EBLOCK(EROW_LB)
	JMP bnnext

bnplain:
	VBROADCASTSS alpha+48(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)

bnnext:
	ADDQ $64, R13
	ADDQ $64, AX
	DECQ BX
	JNZ  bnpanel
	VZEROUPPER
	RET

// func sgemmKernel6x16IN(kc int, a, b *float32, offs *int, c *float32, ldc int, alpha float32, ep *kernelEp, panels int)
//
// sgemmKernel6x16I on panels consecutive 16-column blocks: block q reads
// B rows at b+16q+offs[p] and writes C at c+16q. panels >= 1.
TEXT ·sgemmKernel6x16IN(SB), NOSPLIT, $0-72
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8
	MOVQ b+16(FP), R13
	MOVQ c+32(FP), AX
	MOVQ panels+64(FP), BX

inpanel:
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ offs+24(FP), R9
	MOVQ AX, DX

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

inloop:
	MOVQ (R9), R11
	LEAQ (R13)(R11*4), DI
	SSTEP(0, 0)
	ADDQ $8, R9
	ADDQ $24, SI
	DECQ CX
	JNZ  inloop

	MOVQ  ep+56(FP), R10
	TESTQ R10, R10
	JZ    inplain
	EFINISH(inn, inl, inb, inlb)

inn:
	EBLOCK(EROW_N)
	JMP innext

inl:
	EBLOCK(EROW_L)
	JMP innext

inb:
	EBLOCK(EROW_B)
	JMP innext

inlb:
	EBLOCK(EROW_LB)
	JMP innext

inplain:
	VBROADCASTSS alpha+48(FP), Y14
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)

innext:
	ADDQ $64, R13
	ADDQ $64, AX
	DECQ BX
	JNZ  inpanel
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
