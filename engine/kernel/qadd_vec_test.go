package kernel

import (
	"math"
	"math/rand"
	"testing"
)

// qAddRef is QLinearAdd's scalar formula for one value.
func qAddRef(p *qBinaryParams, a, b int32, ia, ib int) int32 {
	switch {
	case ia == 1 && ib == 1:
		return p.sat(fma32(float32(a), p.rA, fma32(float32(b), p.rB, p.fixed)))
	case ia == 1:
		return p.sat(fma32(float32(a), p.rA, p.fixed+float32(float32(b)*p.rB)))
	}
	return p.sat(fma32(float32(b), p.rB, p.fixed+float32(float32(a)*p.rA)))
}

func testQAddSpan[T int8 | uint8](t *testing.T, seed int64) {
	r := rand.New(rand.NewSource(seed))
	signed := isSigned[T]()
	for trial := 0; trial < 500; trial++ {
		n := r.Intn(80)
		a := make([]T, n+1)
		b := make([]T, n+1)
		for i := range a {
			a[i], b[i] = T(r.Intn(256)), T(r.Intn(256))
		}
		p := &qBinaryParams{rA: r.Float32() * 2, rB: r.Float32() * 2, fixed: float32(r.NormFloat64() * 100), lo: 0, hi: 255}
		if signed {
			p.lo, p.hi = -128, 127
		}
		switch trial % 7 {
		case 0:
			p.rA, p.rB, p.fixed = 0.5, 0.5, 0.5 // ties
		case 1:
			p.rA, p.fixed = 1e30, 0 // saturation both ends
		case 2:
			p.fixed = float32(math.NaN())
		case 3:
			p.rB = float32(math.Inf(1))
		}
		strides := [][2]int{{1, 1}, {1, 0}, {0, 1}}
		st := strides[trial%3]
		out := make([]T, n)
		qBinarySpan(p, a, b, out, 0, 0, st[0], st[1])
		for i := range out {
			ai, bi := int32(a[i*st[0]]), int32(b[i*st[1]])
			if want := qAddRef(p, ai, bi, st[0], st[1]); int32(out[i]) != want {
				t.Fatalf("trial %d strides %v: a %d b %d p %+v: got %d, want %d", trial, st, ai, bi, *p, out[i], want)
			}
		}
	}
}

// TestQAddSpanVector checks QLinearAdd's spans (vector loop and scalar
// tail) against the scalar formula.
func TestQAddSpanVector(t *testing.T) {
	testQAddSpan[uint8](t, 1)
	testQAddSpan[int8](t, 2)
}
