//go:build amd64 && !purego

package gemm

// expRow is ExpSubF32's vector loop (exp_amd64.s): n a multiple of 8; m
// advances by mstep bytes every 8 values (0: 8 copies of one value).
//
//go:noescape
func expRow(y, x, m *float32, n, mstep int)

// expVec runs expRow over the longest multiple of 8 values of y and
// returns how many it did.
func expVec(y, x, m []float32, sm int) int {
	n := len(y) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	var m8 [8]float32
	pm, mstep := vecOperand(m, sm, n, &m8)
	expRow(&y[0], &x[0], pm, n, mstep)
	return n
}
