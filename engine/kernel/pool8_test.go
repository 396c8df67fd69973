package kernel

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

// randPoolGeom returns a random 1-D or 2-D pooling geometry over planes
// of at most 40x40, with padding, strides, vertical dilation and ceil_mode.
func randPoolGeom(t *testing.T, r *rand.Rand, unitDilation bool) *poolGeom {
	t.Helper()
	for {
		h, w := 1+r.Intn(40), 1+r.Intn(40)
		kh, kw := 1+r.Intn(4), 1+r.Intn(4)
		a := &WindowAttrs{
			Kernel:    []int{kh, kw},
			Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
			Dilations: []int{1 + r.Intn(2), 1},
			Pads:      []int{r.Intn(kh), r.Intn(kw), r.Intn(kh), r.Intn(kw)},
			CeilMode:  r.Intn(3) == 0,
		}
		if !unitDilation && r.Intn(3) == 0 {
			a.Dilations[1] = 2
		}
		win, err := a.Resolve([]int{h, w}, nil)
		if err != nil || win.OutSize() == 0 {
			continue
		}
		g, err := newPoolGeom(win)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
}

func testMaxPool2D8[T int8 | uint8](t *testing.T, seed int64) {
	r := rand.New(rand.NewSource(seed))
	for trial := 0; trial < 300; trial++ {
		g := randPoolGeom(t, r, true)
		planes := 1 + r.Intn(3)
		x := make([]T, planes*g.inSize)
		for i := range x {
			x[i] = T(r.Intn(256))
			if r.Intn(8) == 0 {
				x[i] = lowest[T]()
			}
		}
		want := make([]T, planes*g.outSize)
		got := make([]T, planes*g.outSize)
		maxPoolPlanes(g, x, want, nil, 0, planes, false)
		maxPool2D8(g, x, got, 0, planes)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: in %v out %v k %v s %v pb %v d %v: got %v, want %v", trial, g.in, g.out, g.k, g.s, g.pb, g.d, got, want)
		}
	}
}

func TestMaxPool2D8(t *testing.T) {
	testMaxPool2D8[uint8](t, 1)
	testMaxPool2D8[int8](t, 2)
}

// TestMaxPoolSmallF32 checks the short-row float max pool against its
// former version, NaN and signed zeros included.
func TestMaxPoolSmallF32(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	special := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), 0, float32(math.Inf(-1)), float32(math.Inf(1))}
	for trial := 0; trial < 600; trial++ {
		g := randPoolGeom(t, r, true)
		planes := 1 + r.Intn(3)
		x := make([]float32, planes*g.inSize)
		for i := range x {
			x[i] = float32(r.NormFloat64())
			if r.Intn(10) == 0 {
				x[i] = special[r.Intn(len(special))]
			}
		}
		want := make([]float32, planes*g.outSize)
		got := make([]float32, planes*g.outSize)
		maxPoolSmallRef(g, x, want, 0, planes)
		maxPoolSmallF32(g, x, got, 0, planes)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("trial %d: in %v out %v k %v s %v pb %v d %v: value %d: got %v, want %v", trial, g.in, g.out, g.k, g.s, g.pb, g.d, i, got[i], want[i])
			}
		}
	}
}

// maxPoolSmallRef is the former maxPoolSmallF32, the reference of the
// unrolled one: every output through the general tap loops and Go's max
// (which, unlike maxPoolPlanes, prefers +0 to -0).
func maxPoolSmallRef(g *poolGeom, x, y []float32, p0, p1 int) {
	in2, out2 := g.in[2], g.out[2]
	lowest := float32(math.Inf(-1))
	for p := p0; p < p1; p++ {
		xp := x[p*g.inSize : (p+1)*g.inSize]
		yp := y[p*g.outSize : (p+1)*g.outSize]
		for o1 := 0; o1 < g.out[1]; o1++ {
			s1, l1, h1 := g.start[1][o1], g.tlo[1][o1], g.thi[1][o1]
			yrow := yp[o1*out2 : (o1+1)*out2]
			for o2 := range yrow {
				s2, l2, h2 := g.start[2][o2], g.tlo[2][o2], g.thi[2][o2]
				best := lowest
				for t1 := l1; t1 < h1; t1++ {
					row := xp[(s1+t1*g.d[1])*in2:]
					for t2 := l2; t2 < h2; t2++ {
						best = max(best, row[s2+t2*g.d[2]])
					}
				}
				yrow[o2] = best
			}
		}
	}
}
