//go:build !amd64 || purego

package gemm

// arithVec has no vector version in this build.
func arithVec(op ArithOp, o, a []float32, sa int, b []float32, sb int, clamp bool, lo, hi float32) int {
	return 0
}
