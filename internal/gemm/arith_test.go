package gemm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestArithF32 checks ArithF32 (vector loop and tail) against Go's
// operators value by value, bit for bit (any NaN matching any NaN), on
// random values with NaN, infinities and signed zeros, every broadcast
// combination, with and without a clamp, on lengths around the vector
// width.
func TestArithF32(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e-40, 3e38}
	val := func() float32 {
		if r.Intn(8) == 0 {
			return special[r.Intn(len(special))]
		}
		return float32(r.NormFloat64() * 4)
	}
	ops := []struct {
		op ArithOp
		f  func(x, y float32) float32
	}{
		{ArithAdd, func(x, y float32) float32 { return x + y }},
		{ArithSub, func(x, y float32) float32 { return x - y }},
		{ArithMul, func(x, y float32) float32 { return x * y }},
		{ArithDiv, func(x, y float32) float32 { return x / y }},
	}
	for _, o := range ops {
		for _, st := range [][2]int{{1, 1}, {1, 0}, {0, 1}, {0, 0}} {
			for _, clamp := range []bool{false, true} {
				t.Run(fmt.Sprintf("op%d/sa%d_sb%d/clamp%v", o.op, st[0], st[1], clamp), func(t *testing.T) {
					for n := 0; n <= 41; n++ {
						a, b := make([]float32, n+1), make([]float32, n+1)
						for i := range a {
							a[i], b[i] = val(), val()
						}
						lo, hi := float32(-1), float32(math.Inf(1))
						if r.Intn(2) == 0 {
							lo, hi = 0, 6
						}
						got := make([]float32, n)
						ArithF32(o.op, got, a, st[0], b, st[1], clamp, lo, hi)
						for i := range got {
							v := o.f(a[i*st[0]], b[i*st[1]])
							if clamp {
								if v < lo {
									v = lo
								}
								if v > hi {
									v = hi
								}
							}
							if math.Float32bits(got[i]) != math.Float32bits(v) && !(got[i] != got[i] && v != v) {
								t.Fatalf("n %d, value %d: %v op %v: got %v, want %v", n, i, a[i*st[0]], b[i*st[1]], got[i], v)
							}
						}
					}
				})
			}
		}
	}
}
