package gemm

import (
	"math"
	"math/rand"
	"testing"
)

// ulpDiff returns how many float32 steps apart got is from the exact
// value want.
func ulpDiff(got float32, want float64) float64 {
	w := float32(want)
	step := math.Nextafter32(w, float32(math.Inf(1))) - w
	return math.Abs(float64(got)-want) / float64(step)
}

// TestExpSubF32 checks ExpSubF32 against math.Exp of the same float32
// difference: within 2 units in the last place on [-87.3, 88.72] (swept
// densely, and random), 0 below, +Inf above, NaN for NaN, with a per-value
// and a shared m, on lengths that use the vector loop and the tail.
func TestExpSubF32(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	var x []float32
	for v := -87.3; v <= 88.72; v += 0.0137 {
		x = append(x, float32(v))
	}
	for i := 0; i < 20000; i++ {
		x = append(x, float32(r.Float64()*176-87.3))
	}
	x = append(x, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1, -1)
	for _, sm := range []int{0, 1} {
		for _, n := range []int{len(x), len(x) - 3, 7, 1} {
			m := make([]float32, n)
			for i := range m {
				m[i] = float32(r.Intn(5)) - 2
			}
			if sm == 0 {
				m[0] = 0
			}
			xs := x[:n]
			y := make([]float32, n)
			ExpSubF32(y, xs, m, sm)
			for i, got := range y {
				d := xs[i] - m[i*sm]
				if d < -87.3 || d > 88.72 {
					continue // checked below
				}
				want := math.Exp(float64(d))
				if u := ulpDiff(got, want); u > 2 {
					t.Fatalf("sm %d n %d: exp(%g) = %g, want %g (%.1f ulp)", sm, n, d, got, want, u)
				}
			}
		}
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	edges := []float32{nan, -inf, inf, -88, -200, 88.8, 1000, -87.4, nan, 88.7, 0, 0, 0, 0, 0, 0}
	want := []float32{nan, 0, inf, 0, 0, inf, inf, 0, nan, float32(math.Exp(float64(float32(88.7)))), 1, 1, 1, 1, 1, 1}
	y := make([]float32, len(edges))
	ExpSubF32(y, edges, []float32{0}, 0)
	for i, got := range y {
		if got != want[i] && !(got != got && want[i] != want[i]) {
			t.Fatalf("exp(%g) = %g, want %g", edges[i], got, want[i])
		}
	}
}
