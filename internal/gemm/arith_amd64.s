//go:build amd64 && !purego

#include "textflag.h"

// One step of arithRow's loops: Y0 = A op B for 8 values, clamped when
// BX is set (the value as the operand MAXPS/MINPS return for NaN, as in
// biasClampRow), stored, and the pointers advanced.
#define ARITH_STEP(OP) \
	VMOVUPS (SI), Y1; \
	OP      (DX), Y1, Y0; \
	TESTQ   BX, BX; \
	JZ      3(PC); \
	VMAXPS  Y0, Y14, Y0; \
	VMINPS  Y0, Y15, Y0; \
	VMOVUPS Y0, (DI); \
	ADDQ    $32, DI; \
	ADDQ    R8, SI; \
	ADDQ    R9, DX; \
	SUBQ    $8, CX

// func arithRow(op int, o, a, b *float32, n, astep, bstep int, lo, hi float32, clamp bool)
//
// For i < n (a multiple of 8): o[i] = a op b, a and b read 8 at a time
// from pointers advancing by astep and bstep bytes (0 repeats 8 values).
// op: 0 add, 1 sub (a - b), 2 mul, 3 div (a / b).
TEXT ·arithRow(SB), NOSPLIT, $0-65
	MOVQ         op+0(FP), AX
	MOVQ         o+8(FP), DI
	MOVQ         a+16(FP), SI
	MOVQ         b+24(FP), DX
	MOVQ         n+32(FP), CX
	MOVQ         astep+40(FP), R8
	MOVQ         bstep+48(FP), R9
	VBROADCASTSS lo+56(FP), Y14
	VBROADCASTSS hi+60(FP), Y15
	MOVBQZX      clamp+64(FP), BX
	CMPQ         AX, $1
	JEQ          subloop
	CMPQ         AX, $2
	JEQ          mulloop
	CMPQ         AX, $3
	JEQ          divloop

addloop:
	CMPQ CX, $8
	JLT  done
	ARITH_STEP(VADDPS)
	JMP  addloop

subloop:
	CMPQ CX, $8
	JLT  done
	ARITH_STEP(VSUBPS)
	JMP  subloop

mulloop:
	CMPQ CX, $8
	JLT  done
	ARITH_STEP(VMULPS)
	JMP  mulloop

divloop:
	CMPQ CX, $8
	JLT  done
	ARITH_STEP(VDIVPS)
	JMP  divloop

done:
	VZEROUPPER
	RET
