//go:build amd64 && !purego

package gemm

// arithRow is ArithF32's vector loop (arith_amd64.s): n a multiple of 8;
// a and b advance by astep and bstep bytes every 8 values (0: 8 copies of
// one value, 32: one value per output).
//
//go:noescape
func arithRow(op int, o, a, b *float32, n, astep, bstep int, lo, hi float32, clamp bool)

// arithVec runs arithRow over the longest multiple of 8 values of o and
// returns how many it did.
func arithVec(op ArithOp, o, a []float32, sa int, b []float32, sb int, clamp bool, lo, hi float32) int {
	n := len(o) &^ 7
	if !hasAVX2FMA || n == 0 || op > ArithDiv {
		return 0
	}
	var a8, b8 [8]float32
	pa, astep := vecOperand(a, sa, n, &a8)
	pb, bstep := vecOperand(b, sb, n, &b8)
	arithRow(int(op), &o[0], pa, pb, n, astep, bstep, lo, hi, clamp)
	return n
}

// vecOperand returns the pointer and byte step through which a vector loop
// reads an operand of n values: x itself (32 bytes every 8 values), or, for
// a broadcast operand (s 0), 8 copies of x[0] in buf.
func vecOperand(x []float32, s, n int, buf *[8]float32) (*float32, int) {
	if s == 0 {
		for i := range buf {
			buf[i] = x[0]
		}
		return &buf[0], 0
	}
	_ = x[n-1]
	return &x[0], 32
}
