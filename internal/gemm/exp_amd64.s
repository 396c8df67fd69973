//go:build amd64 && !purego

#include "textflag.h"

DATA expconst<>+0(SB)/4, $-87.33654
DATA expconst<>+4(SB)/4, $88.72283
DATA expconst<>+8(SB)/4, $1.44269504088896341
DATA expconst<>+12(SB)/4, $0.693359375
DATA expconst<>+16(SB)/4, $-2.12194440e-4
DATA expconst<>+20(SB)/4, $1.9875691500e-4
DATA expconst<>+24(SB)/4, $1.3981999507e-3
DATA expconst<>+28(SB)/4, $8.3334519073e-3
DATA expconst<>+32(SB)/4, $4.1665795894e-2
DATA expconst<>+36(SB)/4, $1.6666665459e-1
DATA expconst<>+40(SB)/4, $5.0000001201e-1
DATA expconst<>+44(SB)/4, $1.0
DATA expconst<>+48(SB)/4, $0x7f800000
DATA expconst<>+52(SB)/4, $127
GLOBL expconst<>(SB), RODATA|NOPTR, $56

// func expRow(y, x, m *float32, n, mstep int)
//
// For i < n (a multiple of 8): y[i] = exp(x[i] - m) as expF32 computes it
// (exp.go), with fused multiply-adds in the reduction and the polynomial.
TEXT ·expRow(SB), NOSPLIT, $0-40
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         m+16(FP), DX
	MOVQ         n+24(FP), CX
	MOVQ         mstep+32(FP), R8
	LEAQ         expconst<>(SB), AX
	VBROADCASTSS 0(AX), Y15  // lo
	VBROADCASTSS 4(AX), Y14  // hi
	VBROADCASTSS 8(AX), Y13  // log2(e)
	VBROADCASTSS 12(AX), Y12 // C1
	VBROADCASTSS 16(AX), Y11 // C2
	VBROADCASTSS 44(AX), Y10 // 1
	VBROADCASTSS 48(AX), Y9  // +Inf
	VPBROADCASTD 52(AX), Y8  // 127

loop:
	CMPQ    CX, $8
	JLT     done
	VMOVUPS (SI), Y0
	VSUBPS  (DX), Y0, Y0
	VCMPPS  $1, Y15, Y0, Y6    // x < lo
	VCMPPS  $0x1e, Y14, Y0, Y7 // x > hi
	VMAXPS  Y0, Y15, Y0        // clamped, NaN kept
	VMINPS  Y0, Y14, Y0
	VMULPS  Y13, Y0, Y1
	VROUNDPS $0, Y1, Y1        // n, to nearest even
	VFNMADD231PS Y12, Y1, Y0   // r = x - n*C1
	VFNMADD231PS Y11, Y1, Y0   // r -= n*C2
	VBROADCASTSS 20(AX), Y2
	VBROADCASTSS 24(AX), Y3
	VFMADD213PS  Y3, Y0, Y2
	VBROADCASTSS 28(AX), Y3
	VFMADD213PS  Y3, Y0, Y2
	VBROADCASTSS 32(AX), Y3
	VFMADD213PS  Y3, Y0, Y2
	VBROADCASTSS 36(AX), Y3
	VFMADD213PS  Y3, Y0, Y2
	VBROADCASTSS 40(AX), Y3
	VFMADD213PS  Y3, Y0, Y2
	VMULPS       Y0, Y0, Y3    // r*r
	VFMADD213PS  Y0, Y3, Y2    // p*r*r + r
	VADDPS       Y10, Y2, Y2   // + 1
	VCVTPS2DQ    Y1, Y4        // n in [-126, 128]: 2^n as 2^h * 2^(n-h),
	VPSRAD       $1, Y4, Y5    // h = n>>1, both factors normal
	VPSUBD       Y5, Y4, Y4
	VPADDD       Y8, Y5, Y5
	VPSLLD       $23, Y5, Y5
	VPADDD       Y8, Y4, Y4
	VPSLLD       $23, Y4, Y4
	VMULPS       Y5, Y2, Y2
	VMULPS       Y4, Y2, Y2
	VANDNPS      Y2, Y6, Y2    // 0 below lo
	VBLENDVPS    Y7, Y9, Y2, Y2 // +Inf above hi
	VMOVUPS      Y2, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	ADDQ         R8, DX
	SUBQ         $8, CX
	JMP          loop

done:
	VZEROUPPER
	RET
