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

// Prefetches the 6 rows of 16 floats of the C block at DX (row stride R8
// bytes; each row may straddle two cache lines) into the L1 cache, so
// that the stores at the end of the kernel do not wait for them: C is
// usually far larger than the caches and the block was last touched a
// whole K slice ago. Uses R11.
#define PREFETCHC \
	MOVQ       DX, R11; \
	PREFETCHT0 (R11); \
	PREFETCHT0 60(R11); \
	ADDQ       R8, R11; \
	PREFETCHT0 (R11); \
	PREFETCHT0 60(R11); \
	ADDQ       R8, R11; \
	PREFETCHT0 (R11); \
	PREFETCHT0 60(R11); \
	ADDQ       R8, R11; \
	PREFETCHT0 (R11); \
	PREFETCHT0 60(R11); \
	ADDQ       R8, R11; \
	PREFETCHT0 (R11); \
	PREFETCHT0 60(R11); \
	ADDQ       R8, R11; \
	PREFETCHT0 (R11); \
	PREFETCHT0 60(R11)

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

// Stores alpha (in Y14) times one accumulator row (lo, hi) to the 16
// floats at DX, overwriting them (computed as alpha*acc + 0, exactly what
// SROW gives on a cleared C), then moves DX to the next row of C.
#define SZROW(lo, hi) \
	VXORPS      Y12, Y12, Y12; \
	VXORPS      Y13, Y13, Y13; \
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
	PREFETCHC

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

// func sgemmKernel6x16M(kc int, a, b, c *float32, ldc int, alpha float32, load int, panels int)
//
// sgemmKernel6x16 without ep on panels consecutive 6-row blocks sharing
// one B panel: block q reads the A panel at a + q*kc*6 floats (the panels
// of a packed A block follow each other) and adds alpha times its product
// to C at c + q*6*ldc, or, when load is 0, stores it there without reading
// C (C = alpha*product + 0). kc and panels must be at least 1.
TEXT ·sgemmKernel6x16M(SB), NOSPLIT, $0-64
	MOVQ a+8(FP), SI
	MOVQ c+24(FP), AX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ panels+56(FP), R12

mpanel:
	MOVQ kc+0(FP), CX
	MOVQ b+16(FP), DI
	MOVQ AX, DX
	PREFETCHC

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
	JZ   mtail

mloop4:
	PREFETCHT0 384(DI)
	SSTEP(0, 0)
	SSTEP(24, 64)
	PREFETCHT0 448(DI)
	SSTEP(48, 128)
	SSTEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  mloop4

mtail:
	ANDQ $3, CX
	JZ   mstore

mloop1:
	SSTEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  mloop1

mstore:
	VBROADCASTSS alpha+40(FP), Y14
	MOVQ         load+48(FP), R11
	TESTQ        R11, R11
	JZ           moverwrite
	SROW(Y0, Y1)
	SROW(Y2, Y3)
	SROW(Y4, Y5)
	SROW(Y6, Y7)
	SROW(Y8, Y9)
	SROW(Y10, Y11)
	JMP          mnext

moverwrite:
	SZROW(Y0, Y1)
	SZROW(Y2, Y3)
	SZROW(Y4, Y5)
	SZROW(Y6, Y7)
	SZROW(Y8, Y9)
	SZROW(Y10, Y11)

mnext:
	// SI already points at the next A panel, DX at the next block of C.
	MOVQ DX, AX
	DECQ R12
	JNZ  mpanel
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
// Runs n iterations of 12 independent 8-wide FMAs (96 multiply-adds, 192
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

// func packA6(dst, src *float32, lda, blocks int)
//
// Packs 6 rows of A (row i at src + i*lda floats) times 8*blocks columns
// into an A panel: dst[p*6+i] = src[i*lda+p]. Each block of 8 columns is
// an 8x8 transpose of the 6 rows (rows 6 and 7 never read), written as 8
// overlapping 8-float stores of which the first 6 floats count; the last
// one stores only its 6, so nothing past the block's 48 floats is written.
TEXT ·packA6(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (R8)(R8*4), R10
	MOVQ blocks+24(FP), CX
	TESTQ CX, CX
	JZ   pa6done

pa6loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (SI)(R8*4), Y4
	VMOVUPS (SI)(R10*1), Y5
	PREFETCHT0 256(SI)
	PREFETCHT0 256(SI)(R8*1)
	PREFETCHT0 256(SI)(R8*2)
	PREFETCHT0 256(SI)(R9*1)
	PREFETCHT0 256(SI)(R8*4)
	PREFETCHT0 256(SI)(R10*1)

	// t0 = r0[0] r1[0] r0[1] r1[1] | [4] [5]; t1 = [2] [3] | [6] [7]
	VUNPCKLPS Y1, Y0, Y6
	VUNPCKHPS Y1, Y0, Y7
	VUNPCKLPS Y3, Y2, Y8
	VUNPCKHPS Y3, Y2, Y9
	VUNPCKLPS Y5, Y4, Y10
	VUNPCKHPS Y5, Y4, Y11

	// rows 0-3 of columns 0,1,2,3 | 4,5,6,7
	VSHUFPS $0x44, Y8, Y6, Y0
	VSHUFPS $0xEE, Y8, Y6, Y1
	VSHUFPS $0x44, Y9, Y7, Y2
	VSHUFPS $0xEE, Y9, Y7, Y3

	// rows 4-5 of columns 1 and 3 (| 5 and 7) moved to the bottom
	VSHUFPS $0xEE, Y10, Y10, Y12
	VSHUFPS $0xEE, Y11, Y11, Y13

	VPERM2F128 $0x20, Y10, Y0, Y4
	VMOVUPS    Y4, (DI)
	VPERM2F128 $0x20, Y12, Y1, Y5
	VMOVUPS    Y5, 24(DI)
	VPERM2F128 $0x20, Y11, Y2, Y4
	VMOVUPS    Y4, 48(DI)
	VPERM2F128 $0x20, Y13, Y3, Y5
	VMOVUPS    Y5, 72(DI)
	VPERM2F128 $0x31, Y10, Y0, Y4
	VMOVUPS    Y4, 96(DI)
	VPERM2F128 $0x31, Y12, Y1, Y5
	VMOVUPS    Y5, 120(DI)
	VPERM2F128 $0x31, Y11, Y2, Y4
	VMOVUPS    Y4, 144(DI)
	VPERM2F128 $0x31, Y13, Y3, Y5
	VMOVUPS    X5, 168(DI)
	VEXTRACTF128 $1, Y5, X5
	VMOVSD     X5, 184(DI)

	ADDQ $32, SI
	ADDQ $192, DI
	DECQ CX
	JNZ  pa6loop

pa6done:
	VZEROUPPER
	RET

// func packB16(dst, src *float32, ldb, kc int)
//
// Packs kc rows of 16 floats (row p at src + p*ldb floats) into a B panel:
// dst[p*16+j] = src[p*ldb+j]. The rows are far apart (one cache line
// each, usually a page apart), so each is prefetched 8 rows ahead.
TEXT ·packB16(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ldb+16(FP), R8
	SHLQ $2, R8
	MOVQ kc+24(FP), CX
	TESTQ CX, CX
	JZ   pb16done

pb16loop:
	VMOVUPS    (SI), Y0
	VMOVUPS    32(SI), Y1
	PREFETCHT0 (SI)(R8*8)
	PREFETCHT0 60(SI)(R8*8)
	VMOVUPS    Y0, (DI)
	VMOVUPS    Y1, 32(DI)
	ADDQ       R8, SI
	ADDQ       $64, DI
	DECQ       CX
	JNZ        pb16loop

pb16done:
	VZEROUPPER
	RET
