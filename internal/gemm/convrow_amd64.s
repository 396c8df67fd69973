//go:build amd64 && !purego

#include "textflag.h"

// func convRowS1(acc *float32, n int, x *float32, w *float32, kw int)
//
// acc[i] += sum_{j<kw} w[j] * x[i+j] for i < n, n a multiple of 8, kw >= 1.
// 32 outputs per iteration keep four independent accumulation chains.
TEXT ·convRowS1(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), R8
	MOVQ kw+32(FP), R9

s1loop32:
	CMPQ    CX, $32
	JLT     s1loop8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	VMOVUPS 64(DI), Y2
	VMOVUPS 96(DI), Y3
	MOVQ    SI, R10
	MOVQ    R8, R11
	MOVQ    R9, R12

s1tap32:
	VBROADCASTSS (R11), Y15
	VFMADD231PS  (R10), Y15, Y0
	VFMADD231PS  32(R10), Y15, Y1
	VFMADD231PS  64(R10), Y15, Y2
	VFMADD231PS  96(R10), Y15, Y3
	ADDQ         $4, R10
	ADDQ         $4, R11
	DECQ         R12
	JNZ          s1tap32
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	ADDQ         $128, DI
	ADDQ         $128, SI
	SUBQ         $32, CX
	JMP          s1loop32

s1loop8:
	CMPQ    CX, $8
	JLT     s1done
	VMOVUPS (DI), Y0
	MOVQ    SI, R10
	MOVQ    R8, R11
	MOVQ    R9, R12

s1tap8:
	VBROADCASTSS (R11), Y15
	VFMADD231PS  (R10), Y15, Y0
	ADDQ         $4, R10
	ADDQ         $4, R11
	DECQ         R12
	JNZ          s1tap8
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	SUBQ         $8, CX
	JMP          s1loop8

s1done:
	VZEROUPPER
	RET

// EVENS loads the 16 floats at off(R10) and leaves the 8 at even positions
// in dst (Y12, Y13 are scratch).
#define EVENS(off, dst) \
	VMOVUPS off(R10), Y12; \
	VMOVUPS off+32(R10), Y13; \
	VSHUFPS $0x88, Y13, Y12, dst; \
	VPERMPD $0xD8, dst, dst

// func convRowS2(acc *float32, n int, x *float32, w *float32, kw int)
//
// acc[i] += sum_{j<kw} w[j] * x[2*i+j] for i < n, n a multiple of 8,
// kw >= 1. It reads x[0 : 2*n+kw-1+1] (one value past the last tap, as the
// 16-float loads of the last block include x[2*i+j+1]).
TEXT ·convRowS2(SB), NOSPLIT, $0-40
	MOVQ acc+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ w+24(FP), R8
	MOVQ kw+32(FP), R9

s2loop16:
	CMPQ    CX, $16
	JLT     s2loop8
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	MOVQ    SI, R10
	MOVQ    R8, R11
	MOVQ    R9, R12

s2tap16:
	VBROADCASTSS (R11), Y15
	EVENS(0, Y4)
	EVENS(64, Y5)
	VFMADD231PS  Y4, Y15, Y0
	VFMADD231PS  Y5, Y15, Y1
	ADDQ         $4, R10
	ADDQ         $4, R11
	DECQ         R12
	JNZ          s2tap16
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	ADDQ         $64, DI
	ADDQ         $128, SI
	SUBQ         $16, CX
	JMP          s2loop16

s2loop8:
	CMPQ    CX, $8
	JLT     s2done
	VMOVUPS (DI), Y0
	MOVQ    SI, R10
	MOVQ    R8, R11
	MOVQ    R9, R12

s2tap8:
	VBROADCASTSS (R11), Y15
	EVENS(0, Y4)
	VFMADD231PS  Y4, Y15, Y0
	ADDQ         $4, R10
	ADDQ         $4, R11
	DECQ         R12
	JNZ          s2tap8
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $64, SI
	SUBQ         $8, CX
	JMP          s2loop8

s2done:
	VZEROUPPER
	RET

// func biasClampRow(v *float32, n int, bias, lo, hi float32, mode int)
//
// For i < n (a multiple of 8): if mode&1, v[i] += bias; if mode&2, v[i] =
// min(max(v[i], lo), hi) with the value as the operand that MAXPS/MINPS
// return when it is NaN, so NaN stays NaN, and a value equal to a bound
// (including -0 against +0) keeps its own sign.
TEXT ·biasClampRow(SB), NOSPLIT, $0-40
	MOVQ         v+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS bias+16(FP), Y13
	VBROADCASTSS lo+20(FP), Y14
	VBROADCASTSS hi+24(FP), Y15
	MOVQ         mode+32(FP), AX
	CMPQ         AX, $1
	JEQ          bonly
	CMPQ         AX, $2
	JEQ          conly

bcloop:
	CMPQ    CX, $8
	JLT     bcdone
	VMOVUPS (DI), Y0
	VADDPS  Y13, Y0, Y0
	VMAXPS  Y0, Y14, Y0
	VMINPS  Y0, Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     bcloop

bonly:
	CMPQ    CX, $8
	JLT     bcdone
	VMOVUPS (DI), Y0
	VADDPS  Y13, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     bonly

conly:
	CMPQ    CX, $8
	JLT     bcdone
	VMOVUPS (DI), Y0
	VMAXPS  Y0, Y14, Y0
	VMINPS  Y0, Y15, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     conly

bcdone:
	VZEROUPPER
	RET

// func maxIntoRow(dst, src *float32, n int)
//
// dst[i] = max(dst[i], src[i]) for i < n, n a multiple of 8, NaN from
// either side propagating: MAXPS with the new value as its second source
// returns it when either is NaN, and lanes where dst was NaN are then set
// to all ones (a NaN) by OR-ing in the unordered-compare mask.
TEXT ·maxIntoRow(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

maxloop:
	CMPQ    CX, $8
	JLT     maxdone
	VMOVUPS (DI), Y1
	VMAXPS  (SI), Y1, Y0
	VCMPPS  $3, Y1, Y1, Y2
	VORPS   Y2, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     maxloop

maxdone:
	VZEROUPPER
	RET

// Running maximum of one tap for the pooling rows: acc = max(acc, v) by
// MAXPS (which keeps acc when either is NaN), and the NaN lanes of v are
// collected in nanacc.
#define PMAX(v, acc, nanacc, tmp) \
	VMAXPS v, acc, acc; \
	VCMPPS $3, v, v, tmp; \
	VORPS  tmp, nanacc, nanacc

// func poolRowMaxS1(out *float32, n int, x *float32, kw int)
//
// out[i] = max_{j<kw} x[i+j] for i < n, n a multiple of 8, kw >= 1; a NaN
// in a window gives NaN (all-ones bits).
TEXT ·poolRowMaxS1(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ kw+24(FP), R9

p1loop:
	CMPQ    CX, $8
	JLT     p1done
	VMOVUPS (SI), Y0
	VCMPPS  $3, Y0, Y0, Y1
	MOVQ    SI, R10
	MOVQ    R9, R12
	DECQ    R12
	JZ      p1store

p1tap:
	ADDQ    $4, R10
	VMOVUPS (R10), Y2
	PMAX(Y2, Y0, Y1, Y3)
	DECQ    R12
	JNZ     p1tap

p1store:
	VORPS   Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     p1loop

p1done:
	VZEROUPPER
	RET

// func poolRowMaxS2(out *float32, n int, x *float32, kw int)
//
// out[i] = max_{j<kw} x[2*i+j] for i < n, n a multiple of 8, kw >= 1,
// reading one value past the last tap; NaN as in poolRowMaxS1.
TEXT ·poolRowMaxS2(SB), NOSPLIT, $0-32
	MOVQ out+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ kw+24(FP), R9

p2loop:
	CMPQ CX, $8
	JLT  p2done
	MOVQ SI, R10
	EVENS(0, Y0)
	VCMPPS $3, Y0, Y0, Y1
	MOVQ   R9, R12
	DECQ   R12
	JZ     p2store

p2tap:
	ADDQ $4, R10
	EVENS(0, Y2)
	PMAX(Y2, Y0, Y1, Y3)
	DECQ R12
	JNZ  p2tap

p2store:
	VORPS   Y1, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $64, SI
	SUBQ    $8, CX
	JMP     p2loop

p2done:
	VZEROUPPER
	RET

// func copyEvens(dst, src *float32, n int)
//
// dst[i] = src[2*i] for i < n, n a multiple of 8; reads src[0 : 2*n].
TEXT ·copyEvens(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), R10
	MOVQ n+16(FP), CX

celoop:
	CMPQ    CX, $8
	JLT     cedone
	EVENS(0, Y0)
	VMOVUPS Y0, (DI)
	ADDQ    $32, DI
	ADDQ    $64, R10
	SUBQ    $8, CX
	JMP     celoop

cedone:
	VZEROUPPER
	RET

// func convTaps(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias, lo, hi float32)
//
// out[k] = min(max(bias + sum_{t<taps} w[t]*x[k+offs[t]], lo), hi) for
// k < n, n a multiple of 8, taps >= 1, the clamp as in biasClampRow.
TEXT ·convTaps(SB), NOSPLIT, $0-60
	MOVQ         out+0(FP), DI
	MOVQ         n+8(FP), CX
	MOVQ         x+16(FP), SI
	MOVQ         offs+24(FP), R8
	MOVQ         w+32(FP), R9
	MOVQ         taps+40(FP), R10
	VBROADCASTSS bias+48(FP), Y13
	VBROADCASTSS lo+52(FP), Y14
	VBROADCASTSS hi+56(FP), Y15

ct64:
	CMPQ    CX, $64
	JLT     ct32
	VMOVAPS Y13, Y0
	VMOVAPS Y13, Y1
	VMOVAPS Y13, Y2
	VMOVAPS Y13, Y3
	VMOVAPS Y13, Y4
	VMOVAPS Y13, Y5
	VMOVAPS Y13, Y6
	VMOVAPS Y13, Y7
	MOVQ    R8, R11
	MOVQ    R9, R12
	MOVQ    R10, BX

ct64tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R12), Y12
	VFMADD231PS  (DX), Y12, Y0
	VFMADD231PS  32(DX), Y12, Y1
	VFMADD231PS  64(DX), Y12, Y2
	VFMADD231PS  96(DX), Y12, Y3
	VFMADD231PS  128(DX), Y12, Y4
	VFMADD231PS  160(DX), Y12, Y5
	VFMADD231PS  192(DX), Y12, Y6
	VFMADD231PS  224(DX), Y12, Y7
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          ct64tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMAXPS       Y1, Y14, Y1
	VMINPS       Y1, Y15, Y1
	VMAXPS       Y2, Y14, Y2
	VMINPS       Y2, Y15, Y2
	VMAXPS       Y3, Y14, Y3
	VMINPS       Y3, Y15, Y3
	VMAXPS       Y4, Y14, Y4
	VMINPS       Y4, Y15, Y4
	VMAXPS       Y5, Y14, Y5
	VMINPS       Y5, Y15, Y5
	VMAXPS       Y6, Y14, Y6
	VMINPS       Y6, Y15, Y6
	VMAXPS       Y7, Y14, Y7
	VMINPS       Y7, Y15, Y7
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	VMOVUPS      Y4, 128(DI)
	VMOVUPS      Y5, 160(DI)
	VMOVUPS      Y6, 192(DI)
	VMOVUPS      Y7, 224(DI)
	ADDQ         $256, DI
	ADDQ         $256, SI
	SUBQ         $64, CX
	JMP          ct64

ct32:
	CMPQ    CX, $32
	JLT     ct8
	VMOVAPS Y13, Y0
	VMOVAPS Y13, Y1
	VMOVAPS Y13, Y2
	VMOVAPS Y13, Y3
	MOVQ    R8, R11
	MOVQ    R9, R12
	MOVQ    R10, BX

ct32tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R12), Y12
	VFMADD231PS  (DX), Y12, Y0
	VFMADD231PS  32(DX), Y12, Y1
	VFMADD231PS  64(DX), Y12, Y2
	VFMADD231PS  96(DX), Y12, Y3
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          ct32tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMAXPS       Y1, Y14, Y1
	VMINPS       Y1, Y15, Y1
	VMAXPS       Y2, Y14, Y2
	VMINPS       Y2, Y15, Y2
	VMAXPS       Y3, Y14, Y3
	VMINPS       Y3, Y15, Y3
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	ADDQ         $128, DI
	ADDQ         $128, SI
	SUBQ         $32, CX
	JMP          ct32

ct8:
	CMPQ    CX, $8
	JLT     ctdone
	VMOVAPS Y13, Y0
	MOVQ    R8, R11
	MOVQ    R9, R12
	MOVQ    R10, BX

ct8tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R12), Y12
	VFMADD231PS  (DX), Y12, Y0
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          ct8tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	SUBQ         $8, CX
	JMP          ct8

ctdone:
	VZEROUPPER
	RET

// func convTapsS2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias, lo, hi float32)
//
// convTaps with stride 2: out[k] = clamp(bias + sum_t w[t]*x[2k+offs[t]])
// for k < n, n a multiple of 8; reads one value past the last tap. (EVENS
// uses Y12 and Y13, so the bias is loaded from the frame for each block.)
TEXT ·convTapsS2(SB), NOSPLIT, $0-60
	MOVQ         out+0(FP), DI
	MOVQ         n+8(FP), CX
	MOVQ         x+16(FP), SI
	MOVQ         offs+24(FP), R8
	MOVQ         w+32(FP), R9
	MOVQ         taps+40(FP), R13
	VBROADCASTSS lo+52(FP), Y14
	VBROADCASTSS hi+56(FP), Y15

cs16:
	CMPQ    CX, $16
	JLT     cs8
	VBROADCASTSS bias+48(FP), Y0
	VMOVAPS      Y0, Y1
	MOVQ    R8, R11
	MOVQ    R9, R12
	MOVQ    R13, BX

cs16tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), R10
	VBROADCASTSS (R12), Y8
	EVENS(0, Y4)
	EVENS(64, Y5)
	VFMADD231PS  Y4, Y8, Y0
	VFMADD231PS  Y5, Y8, Y1
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          cs16tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMAXPS       Y1, Y14, Y1
	VMINPS       Y1, Y15, Y1
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	ADDQ         $64, DI
	ADDQ         $128, SI
	SUBQ         $16, CX
	JMP          cs16

cs8:
	CMPQ    CX, $8
	JLT     csdone
	VBROADCASTSS bias+48(FP), Y0
	MOVQ    R8, R11
	MOVQ    R9, R12
	MOVQ    R13, BX

cs8tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), R10
	VBROADCASTSS (R12), Y8
	EVENS(0, Y4)
	VFMADD231PS  Y4, Y8, Y0
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          cs8tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $64, SI
	SUBQ         $8, CX
	JMP          cs8

csdone:
	VZEROUPPER
	RET

// Masks for the last partial block of convTaps2D: the 8 int32 from byte
// offset (8-k)*4 have their first k lanes set.
DATA ctMask<>+0(SB)/8, $0xffffffffffffffff
DATA ctMask<>+8(SB)/8, $0xffffffffffffffff
DATA ctMask<>+16(SB)/8, $0xffffffffffffffff
DATA ctMask<>+24(SB)/8, $0xffffffffffffffff
DATA ctMask<>+32(SB)/8, $0
DATA ctMask<>+40(SB)/8, $0
DATA ctMask<>+48(SB)/8, $0
DATA ctMask<>+56(SB)/8, $0
GLOBL ctMask<>(SB), RODATA|NOPTR, $64

// func convTaps2D(out *float32, ostride, rows, n int, x *float32, xstride int, offs *int, w *float32, taps int, bias, lo, hi float32)
//
// For r < rows, k < n: out[r*ostride+k] = min(max(bias + sum_{t<taps}
// w[t]*x[r*xstride+k+offs[t]], lo), hi), one fused multiply-add per tap in
// order of t (as convTaps), the last partial block of each row with masked
// loads and stores (no value outside the rows' windows is read or written).
TEXT ·convTaps2D(SB), NOSPLIT, $0-84
	MOVQ         out+0(FP), R14
	MOVQ         x+32(FP), R13
	MOVQ         offs+48(FP), R8
	MOVQ         w+56(FP), R9
	MOVQ         taps+64(FP), R10
	VBROADCASTSS bias+72(FP), Y13
	VBROADCASTSS lo+76(FP), Y14
	VBROADCASTSS hi+80(FP), Y15

c2row:
	CMPQ rows+16(FP), $0
	JEQ  c2done
	MOVQ R14, DI
	MOVQ R13, SI
	MOVQ n+24(FP), CX

c2b64:
	CMPQ    CX, $64
	JLT     c2b8
	VMOVAPS Y13, Y0
	VMOVAPS Y13, Y1
	VMOVAPS Y13, Y2
	VMOVAPS Y13, Y3
	VMOVAPS Y13, Y4
	VMOVAPS Y13, Y5
	VMOVAPS Y13, Y6
	VMOVAPS Y13, Y7
	MOVQ    R8, R11
	MOVQ    R9, R12
	MOVQ    R10, BX

c2b64tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R12), Y12
	VFMADD231PS  (DX), Y12, Y0
	VFMADD231PS  32(DX), Y12, Y1
	VFMADD231PS  64(DX), Y12, Y2
	VFMADD231PS  96(DX), Y12, Y3
	VFMADD231PS  128(DX), Y12, Y4
	VFMADD231PS  160(DX), Y12, Y5
	VFMADD231PS  192(DX), Y12, Y6
	VFMADD231PS  224(DX), Y12, Y7
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          c2b64tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMAXPS       Y1, Y14, Y1
	VMINPS       Y1, Y15, Y1
	VMAXPS       Y2, Y14, Y2
	VMINPS       Y2, Y15, Y2
	VMAXPS       Y3, Y14, Y3
	VMINPS       Y3, Y15, Y3
	VMAXPS       Y4, Y14, Y4
	VMINPS       Y4, Y15, Y4
	VMAXPS       Y5, Y14, Y5
	VMINPS       Y5, Y15, Y5
	VMAXPS       Y6, Y14, Y6
	VMINPS       Y6, Y15, Y6
	VMAXPS       Y7, Y14, Y7
	VMINPS       Y7, Y15, Y7
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	VMOVUPS      Y2, 64(DI)
	VMOVUPS      Y3, 96(DI)
	VMOVUPS      Y4, 128(DI)
	VMOVUPS      Y5, 160(DI)
	VMOVUPS      Y6, 192(DI)
	VMOVUPS      Y7, 224(DI)
	ADDQ         $256, DI
	ADDQ         $256, SI
	SUBQ         $64, CX
	JMP          c2b64

c2b8:
	CMPQ    CX, $8
	JLT     c2tail
	VMOVAPS Y13, Y0
	VMOVAPS Y13, Y1
	MOVQ    R8, R11
	MOVQ    R9, R12
	MOVQ    R10, BX
	CMPQ    CX, $16
	JLT     c2b8tap

c2b16tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R12), Y12
	VFMADD231PS  (DX), Y12, Y0
	VFMADD231PS  32(DX), Y12, Y1
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          c2b16tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMAXPS       Y1, Y14, Y1
	VMINPS       Y1, Y15, Y1
	VMOVUPS      Y0, (DI)
	VMOVUPS      Y1, 32(DI)
	ADDQ         $64, DI
	ADDQ         $64, SI
	SUBQ         $16, CX
	JMP          c2b8

c2b8tap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R12), Y12
	VFMADD231PS  (DX), Y12, Y0
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          c2b8tap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMOVUPS      Y0, (DI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	SUBQ         $8, CX

c2tail:
	TESTQ     CX, CX
	JEQ       c2next
	// With a whole block in the row, the last one overlaps the one
	// before: its values are recomputed the same.
	MOVQ      n+24(FP), AX
	CMPQ      AX, $8
	JLT       c2mask
	MOVQ      $8, AX
	SUBQ      CX, AX
	SHLQ      $2, AX
	SUBQ      AX, SI
	SUBQ      AX, DI
	MOVQ      $8, CX
	JMP       c2b8

c2mask:
	LEAQ      ctMask<>(SB), AX
	MOVQ      $8, DX
	SUBQ      CX, DX
	VMOVDQU   (AX)(DX*4), Y11
	VMOVAPS   Y13, Y0
	MOVQ      R8, R11
	MOVQ      R9, R12
	MOVQ      R10, BX

c2tailtap:
	MOVQ         (R11), AX
	LEAQ         (SI)(AX*4), DX
	VBROADCASTSS (R12), Y12
	VMASKMOVPS   (DX), Y11, Y4
	VFMADD231PS  Y4, Y12, Y0
	ADDQ         $8, R11
	ADDQ         $4, R12
	DECQ         BX
	JNZ          c2tailtap
	VMAXPS       Y0, Y14, Y0
	VMINPS       Y0, Y15, Y0
	VMASKMOVPS   Y0, Y11, (DI)

c2next:
	MOVQ ostride+8(FP), AX
	LEAQ (R14)(AX*4), R14
	MOVQ xstride+40(FP), AX
	LEAQ (R13)(AX*4), R13
	DECQ rows+16(FP)
	JMP  c2row

c2done:
	VZEROUPPER
	RET
