package kernel

import (
	"math/rand"
	"slices"
	"testing"
)

// TestQAvgPlanes2D checks QLinearAveragePool's two-axis loop against its
// general one on random geometries, types, scales and zero points.
func TestQAvgPlanes2D(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for trial := 0; trial < 400; trial++ {
		h, w := 1+r.Intn(30), 1+r.Intn(30)
		kh, kw := 1+r.Intn(4), 1+r.Intn(4)
		a := &WindowAttrs{
			Kernel:  []int{kh, kw},
			Strides: []int{1 + r.Intn(3), 1 + r.Intn(3)},
			Pads:    []int{r.Intn(kh), r.Intn(kw), r.Intn(kh), r.Intn(kw)},
		}
		a.CeilMode = r.Intn(3) == 0
		win, err := a.Resolve([]int{h, w}, nil)
		if err != nil {
			continue
		}
		planes := 1 + r.Intn(3)
		x := make([]byte, planes*win.InSize())
		r.Read(x)
		j := &qAvgJob{win: win, x: x, ys: 0.01 + r.Float32()*0.2, zf: float32(r.Intn(256)), includePad: r.Intn(2) == 0, lo: 0, hi: 255}
		xs, xz := 0.005+r.Float32()*0.1, int32(r.Intn(256))
		if trial%2 == 1 {
			j.lo, j.hi, j.zf = -128, 127, float32(r.Intn(256)-128)
		}
		for i := range j.dq {
			v := int32(i)
			if trial%2 == 1 {
				v = int32(int8(uint8(i)))
			}
			j.dq[i] = xs * float32(v-xz)
		}
		j.inStride = []int{w, 1}
		want := make([]byte, planes*win.OutSize())
		got := make([]byte, len(want))
		j.y = want
		j.planesND(0, planes)
		j.y = got
		j.planes2D(0, planes)
		if !slices.Equal(got, want) {
			t.Fatalf("trial %d: in %v out %v k %v s %v pads %v %v: got %v, want %v", trial, win.In, win.Out, win.Kernel, win.Strides, win.PadBegin, win.PadEnd, got, want)
		}
	}
}
