//go:build amd64 && !purego

#include "textflag.h"

// The rounding of VCVTPS2DQ is the MXCSR's, round half to even under Go's
// default; the values it rounds are already clamped to [lo, hi], small
// integers' range. VMAXPS with lo as its second source turns NaN into lo.

// CLAMPPACK clamps the floats in Y0 to [Y2, Y3], rounds them half to
// even, adds the zero points in Y4 and narrows the 8 results (which fit
// the output type) to bytes in the low 8 bytes of X0; pack is VPACKUSWB
// or VPACKSSWB.
#define CLAMPPACK(pack) \
	VMAXPS       Y2, Y0, Y0; \
	VMINPS       Y3, Y0, Y0; \
	VCVTPS2DQ    Y0, Y0; \
	VPADDD       Y4, Y0, Y0; \
	VEXTRACTI128 $1, Y0, X5; \
	VPACKSSDW    X5, X0, X0; \
	pack         X0, X0, X0

// func requantRow(dst *byte, acc *int32, n int, bias int32, mult *float32, mstep int, lo, hi float32, zp int32, signed bool)
TEXT ·requantRow(SB), NOSPLIT, $0-61
	MOVQ         dst+0(FP), DI
	MOVQ         acc+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVL         bias+24(FP), R9
	VMOVD        R9, X1
	VPBROADCASTD X1, Y1
	MOVQ         mult+32(FP), DX
	MOVQ         mstep+40(FP), R8
	VBROADCASTSS lo+48(FP), Y2
	VBROADCASTSS hi+52(FP), Y3
	MOVL         zp+56(FP), R9
	VMOVD        R9, X4
	VPBROADCASTD X4, Y4
	MOVBLZX      signed+60(FP), AX
	TESTL        AX, AX
	JNZ          rqs

rqu:
	VPADDD    (SI), Y1, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    (DX), Y0, Y0
	CLAMPPACK(VPACKUSWB)
	VMOVQ     X0, (DI)
	ADDQ      $32, SI
	ADDQ      R8, DX
	ADDQ      $8, DI
	SUBQ      $8, CX
	JNZ       rqu
	VZEROUPPER
	RET

rqs:
	VPADDD    (SI), Y1, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    (DX), Y0, Y0
	CLAMPPACK(VPACKSSWB)
	VMOVQ     X0, (DI)
	ADDQ      $32, SI
	ADDQ      R8, DX
	ADDQ      $8, DI
	SUBQ      $8, CX
	JNZ       rqs
	VZEROUPPER
	RET

// func quantRow(dst *byte, x *float32, n int, scale, lo, hi float32, zp int32, signed bool)
TEXT ·quantRow(SB), NOSPLIT, $0-41
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y1
	VBROADCASTSS lo+28(FP), Y2
	VBROADCASTSS hi+32(FP), Y3
	MOVL         zp+36(FP), R9
	VMOVD        R9, X4
	VPBROADCASTD X4, Y4
	MOVBLZX      signed+40(FP), AX
	TESTL        AX, AX
	JNZ          qs

qu:
	VMOVUPS (SI), Y0
	VDIVPS  Y1, Y0, Y0
	CLAMPPACK(VPACKUSWB)
	VMOVQ   X0, (DI)
	ADDQ    $32, SI
	ADDQ    $8, DI
	SUBQ    $8, CX
	JNZ     qu
	VZEROUPPER
	RET

qs:
	VMOVUPS (SI), Y0
	VDIVPS  Y1, Y0, Y0
	CLAMPPACK(VPACKSSWB)
	VMOVQ   X0, (DI)
	ADDQ    $32, SI
	ADDQ    $8, DI
	SUBQ    $8, CX
	JNZ     qs
	VZEROUPPER
	RET

// func dequantRow(dst *float32, x *byte, n int, zp int32, scale float32, signed bool)
TEXT ·dequantRow(SB), NOSPLIT, $0-33
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	MOVL         zp+24(FP), R9
	VMOVD        R9, X1
	VPBROADCASTD X1, Y1
	VBROADCASTSS scale+28(FP), Y2
	MOVBLZX      signed+32(FP), AX
	TESTL        AX, AX
	JNZ          dqs

dqu:
	VPMOVZXBD (SI), Y0
	VPSUBD    Y1, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    Y2, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       dqu
	VZEROUPPER
	RET

dqs:
	VPMOVSXBD (SI), Y0
	VPSUBD    Y1, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMULPS    Y2, Y0, Y0
	VMOVUPS   Y0, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       dqs
	VZEROUPPER
	RET

// func maxBytesRow(dst, src *byte, n int, signed bool)
TEXT ·maxBytesRow(SB), NOSPLIT, $0-25
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	MOVBLZX signed+24(FP), AX
	TESTL   AX, AX
	JNZ     mxs

mxu:
	VMOVDQU (DI), Y0
	VPMAXUB (SI), Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $32, CX
	JNZ     mxu
	VZEROUPPER
	RET

mxs:
	VMOVDQU (DI), Y0
	VPMAXSB (SI), Y0, Y0
	VMOVDQU Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $32, CX
	JNZ     mxs
	VZEROUPPER
	RET

// ROWMAX sets Y0 to the elementwise maximum (max: VPMAXUB or VPMAXSB) of
// the 32 bytes at R9, R9+1, ..., R9+kw-1 (kw in R10 >= 1); clobbers R9,
// R10.
#define ROWMAX(max, loop, done) \
	VMOVDQU (R9), Y0; \
	DECQ    R10; \
	JZ      done; \
loop:; \
	INCQ    R9; \
	max     (R9), Y0, Y0; \
	DECQ    R10; \
	JNZ     loop; \
done:

// func poolRowMax8S1(out *byte, n int, x *byte, kw int, signed bool)
//
// out[i] = max_{j<kw} x[i+j] for i < n, n a multiple of 32, kw >= 1.
TEXT ·poolRowMax8S1(SB), NOSPLIT, $0-33
	MOVQ    out+0(FP), DI
	MOVQ    n+8(FP), CX
	MOVQ    x+16(FP), SI
	MOVQ    kw+24(FP), BX
	MOVBLZX signed+32(FP), AX
	TESTL   AX, AX
	JNZ     s1s

s1u:
	MOVQ    SI, R9
	MOVQ    BX, R10
	ROWMAX(VPMAXUB, s1ualoop, s1uadone)
	VMOVDQU Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $32, CX
	JNZ     s1u
	VZEROUPPER
	RET

s1s:
	MOVQ    SI, R9
	MOVQ    BX, R10
	ROWMAX(VPMAXSB, s1saloop, s1sadone)
	VMOVDQU Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $32, CX
	JNZ     s1s
	VZEROUPPER
	RET

// func poolRowMax8S2(out *byte, n int, x *byte, kw int, signed bool)
//
// out[i] = max_{j<kw} x[2i+j] for i < n, n a multiple of 16, kw >= 1;
// reads x up to x[2n+kw-2]. Each block takes the maxima at every position
// and keeps the even ones: the low byte of each 16-bit word, then packed.
TEXT ·poolRowMax8S2(SB), NOSPLIT, $0-33
	MOVQ     out+0(FP), DI
	MOVQ     n+8(FP), CX
	MOVQ     x+16(FP), SI
	MOVQ     kw+24(FP), BX
	VPCMPEQW Y7, Y7, Y7
	VPSRLW   $8, Y7, Y7
	MOVBLZX  signed+32(FP), AX
	TESTL    AX, AX
	JNZ      s2s

s2u:
	MOVQ         SI, R9
	MOVQ         BX, R10
	ROWMAX(VPMAXUB, s2ualoop, s2uadone)
	VPAND        Y7, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)
	ADDQ         $16, DI
	ADDQ         $32, SI
	SUBQ         $16, CX
	JNZ          s2u
	VZEROUPPER
	RET

s2s:
	MOVQ         SI, R9
	MOVQ         BX, R10
	ROWMAX(VPMAXSB, s2saloop, s2sadone)
	VPAND        Y7, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKUSWB    X1, X0, X0
	VMOVDQU      X0, (DI)
	ADDQ         $16, DI
	ADDQ         $32, SI
	SUBQ         $16, CX
	JNZ          s2s
	VZEROUPPER
	RET

// QADDFIN finishes 8 sums in Y2 for qaddRow: clamp to [Y12, Y13] (NaN
// kept: VMINPS/VMAXPS return their second Intel source, the sum, when
// either is NaN), round half to even, saturate to [Y14, Y15] as int32
// (a NaN became 0x80000000, so lo), narrow to bytes and store 8 at DI.
#define QADDFIN(pack) \
	VMINPS       Y2, Y13, Y2; \
	VMAXPS       Y2, Y12, Y2; \
	VCVTPS2DQ    Y2, Y2; \
	VPMINSD      Y15, Y2, Y2; \
	VPMAXSD      Y14, Y2, Y2; \
	VEXTRACTI128 $1, Y2, X3; \
	VPACKSSDW    X3, X2, X2; \
	pack         X2, X2, X2; \
	VMOVQ        X2, (DI)

// QADDTWO sets Y2 to fma(float32(b), rB, fixed) for 8 values of b at DX;
// ext widens bytes to int32 (VPMOVZXBD or VPMOVSXBD).
#define QADDTWO(ext) \
	ext         (DX), Y1; \
	VCVTDQ2PS   Y1, Y1; \
	VMOVAPS     Y11, Y2; \
	VFMADD231PS Y10, Y1, Y2

// func qaddRow(out, a, b *byte, n int, rA, rB, fixed float32, lo, hi int32, mode int)
TEXT ·qaddRow(SB), NOSPLIT, $0-64
	MOVQ         out+0(FP), DI
	MOVQ         a+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS rA+32(FP), Y9
	VBROADCASTSS rB+36(FP), Y10
	VBROADCASTSS fixed+40(FP), Y11
	MOVL         lo+44(FP), R9
	VMOVD        R9, X14
	VPBROADCASTD X14, Y14
	VCVTDQ2PS    Y14, Y12
	MOVL         hi+48(FP), R9
	VMOVD        R9, X15
	VPBROADCASTD X15, Y15
	VCVTDQ2PS    Y15, Y13
	MOVL         $1, R9
	VMOVD        R9, X0
	VPBROADCASTD X0, Y0
	VCVTDQ2PS    Y0, Y0
	VSUBPS       Y0, Y12, Y12          // lo - 1
	VADDPS       Y0, Y13, Y13          // hi + 1
	MOVQ         mode+56(FP), AX
	CMPQ         AX, $1
	JEQ          qa1s
	CMPQ         AX, $2
	JEQ          qa2u
	CMPQ         AX, $3
	JEQ          qa2s

qa1u:
	VPMOVZXBD   (SI), Y0
	VCVTDQ2PS   Y0, Y0
	VMOVAPS     Y11, Y2
	VFMADD231PS Y9, Y0, Y2
	QADDFIN(VPACKUSWB)
	ADDQ        $8, SI
	ADDQ        $8, DI
	SUBQ        $8, CX
	JNZ         qa1u
	VZEROUPPER
	RET

qa1s:
	VPMOVSXBD   (SI), Y0
	VCVTDQ2PS   Y0, Y0
	VMOVAPS     Y11, Y2
	VFMADD231PS Y9, Y0, Y2
	QADDFIN(VPACKSSWB)
	ADDQ        $8, SI
	ADDQ        $8, DI
	SUBQ        $8, CX
	JNZ         qa1s
	VZEROUPPER
	RET

qa2u:
	QADDTWO(VPMOVZXBD)
	VPMOVZXBD   (SI), Y0
	VCVTDQ2PS   Y0, Y0
	VFMADD231PS Y9, Y0, Y2
	QADDFIN(VPACKUSWB)
	ADDQ        $8, SI
	ADDQ        $8, DX
	ADDQ        $8, DI
	SUBQ        $8, CX
	JNZ         qa2u
	VZEROUPPER
	RET

qa2s:
	QADDTWO(VPMOVSXBD)
	VPMOVSXBD   (SI), Y0
	VCVTDQ2PS   Y0, Y0
	VFMADD231PS Y9, Y0, Y2
	QADDFIN(VPACKSSWB)
	ADDQ        $8, SI
	ADDQ        $8, DX
	ADDQ        $8, DI
	SUBQ        $8, CX
	JNZ         qa2s
	VZEROUPPER
	RET

// func truncRow(dst *int32, src *float32, n int)
TEXT ·truncRow(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

trl:
	VCVTTPS2DQ (SI), Y0
	VMOVDQU    Y0, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	SUBQ       $8, CX
	JNZ        trl
	VZEROUPPER
	RET
