package gemm

import "math"

// Constants of ExpSubF32: Cody-Waite range reduction by ln 2 in two parts
// and the minimax polynomial of exp on [-ln2/2, ln2/2] (Cephes' expf).
const (
	expLo   = -87.33654 // ln(2^-126): below, results are 0
	expHi   = 88.72283  // ln of float32's largest value: above, results are +Inf
	expLog2 = 1.44269504088896341
	expC1   = 0.693359375
	expC2   = -2.12194440e-4
	expP0   = 1.9875691500e-4
	expP1   = 1.3981999507e-3
	expP2   = 8.3334519073e-3
	expP3   = 4.1665795894e-2
	expP4   = 1.6666665459e-1
	expP5   = 5.0000001201e-1
)

// ExpSubF32 sets y[i] = exp(x[i] - m[i*sm]) for i < len(y), with sm 0 (one
// m for all) or 1: the exponentials of a softmax, or of Exp with m = 0.
// Results are within two units in the last place of the exact value for
// arguments in [-87.33, 88.72]; below that they are 0 (the exact values are
// under float32's smallest normal), above it +Inf (as the exact values
// round); NaN gives NaN. x and m must hold the values read.
func ExpSubF32(y, x, m []float32, sm int) {
	n := len(y)
	if n == 0 {
		return
	}
	x = x[:n]
	if sm == 1 {
		m = m[:n]
	}
	done := expVec(y, x, m, sm)
	for i := done; i < n; i++ {
		y[i] = expF32(x[i] - m[i*sm])
	}
}

// expF32 is ExpSubF32's algorithm for one value.
func expF32(x float32) float32 {
	switch {
	case x != x:
		return x
	case x < expLo:
		return 0
	case x > expHi:
		return float32(math.Inf(1))
	}
	n := float32(math.RoundToEven(float64(x * expLog2)))
	r := x - n*expC1
	r -= n * expC2
	p := float32(expP0)
	p = p*r + expP1
	p = p*r + expP2
	p = p*r + expP3
	p = p*r + expP4
	p = p*r + expP5
	p = p*(r*r) + r + 1
	// 2^n as 2^h * 2^(n-h), both normal for n in [-126, 128].
	h := int32(n) >> 1
	p *= math.Float32frombits(uint32(h+127) << 23)
	return p * math.Float32frombits(uint32(int32(n)-h+127)<<23)
}
