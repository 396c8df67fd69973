package kernel

import (
	"math/rand"
	"testing"
)

// TestClearOutside checks dmMover.clearOutside against a per-element
// check of the box, over random shapes and boxes (empty, whole, cut on
// any axes).
func TestClearOutside(t *testing.T) {
	rng := rand.New(rand.NewSource(9))
	var mv dmMover = dmMoverOf[int32]{}
	for it := 0; it < 500; it++ {
		r := 1 + rng.Intn(4)
		b := dmBox{rank: r}
		n := 1
		for i := r - 1; i >= 0; i-- {
			b.shape[i] = 1 + rng.Intn(5)
			b.strides[i] = n
			n *= b.shape[i]
			b.lo[i] = rng.Intn(b.shape[i] + 1)
			b.lens[i] = rng.Intn(b.shape[i] - b.lo[i] + 1)
			if rng.Intn(3) == 0 {
				b.lo[i], b.lens[i] = 0, b.shape[i]
			}
		}
		d := make([]int32, n)
		for i := range d {
			d[i] = 1
		}
		mv.clearOutside(d, b)
		for e := range d {
			in, rem := true, e
			for i := 0; i < r; i++ {
				c := rem / b.strides[i]
				rem %= b.strides[i]
				if c < b.lo[i] || c >= b.lo[i]+b.lens[i] {
					in = false
				}
			}
			if want := map[bool]int32{true: 1, false: 0}[in]; d[e] != want {
				t.Fatalf("box %+v: element %d = %d, want %d", b, e, d[e], want)
			}
		}
	}
}
