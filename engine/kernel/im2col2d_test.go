package kernel

import (
	"math/rand"
	"slices"
	"testing"
)

func testIm2col2D[T float32 | uint8 | int8](t *testing.T, seed int64, val func(*rand.Rand) T) {
	r := rand.New(rand.NewSource(seed))
	for trial := 0; trial < 300; trial++ {
		kh, kw := 1+r.Intn(4), 1+r.Intn(4)
		a := &WindowAttrs{
			Kernel:    []int{kh, kw},
			Strides:   []int{1 + r.Intn(3), 1 + r.Intn(3)},
			Dilations: []int{1 + r.Intn(2), 1 + r.Intn(2)},
			Pads:      []int{r.Intn(3), r.Intn(3), r.Intn(3), r.Intn(3)},
		}
		if r.Intn(2) == 0 {
			a.Strides[1] = 2
		}
		win, err := a.Resolve([]int{1 + r.Intn(20), 1 + r.Intn(70)}, nil)
		if err != nil {
			continue
		}
		ch := 1 + r.Intn(3)
		x := make([]T, ch*win.InSize())
		for i := range x {
			x[i] = val(r)
		}
		rows := ch * win.KernelSize()
		lo := r.Intn(rows)
		hi := lo + 1 + r.Intn(rows-lo)
		pad := val(r)
		want := make([]T, (hi-lo)*win.OutSize())
		got := make([]T, len(want))
		im2colRowsND(win, x, lo, hi, want, pad)
		im2colRows2D(win, x, lo, hi, got, pad)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: in %v k %v s %v d %v pads %v rows [%d, %d): differ", trial, win.In, win.Kernel, win.Strides, win.Dilations, win.PadBegin, lo, hi)
		}
	}
}

// TestIm2colRows2D checks the two-axis patch rows against the general
// loop.
func TestIm2colRows2D(t *testing.T) {
	testIm2col2D(t, 1, func(r *rand.Rand) float32 { return float32(r.NormFloat64()) })
	testIm2col2D(t, 2, func(r *rand.Rand) uint8 { return uint8(r.Intn(256)) })
	testIm2col2D(t, 3, func(r *rand.Rand) int8 { return int8(r.Intn(256)) })
}
