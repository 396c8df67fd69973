package kernel

import (
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
