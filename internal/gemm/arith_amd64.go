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
	pa, astep := &a[0], 32
	if sa == 0 {
		v := a[0]
		a8 := [8]float32{v, v, v, v, v, v, v, v}
		pa, astep = &a8[0], 0
	} else {
		_ = a[n-1]
	}
	pb, bstep := &b[0], 32
	if sb == 0 {
		v := b[0]
		b8 := [8]float32{v, v, v, v, v, v, v, v}
		pb, bstep = &b8[0], 0
	} else {
		_ = b[n-1]
	}
	arithRow(int(op), &o[0], pa, pb, n, astep, bstep, lo, hi, clamp)
	return n
}
