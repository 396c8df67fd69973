package kernel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func TestIm2colHandWorked(t *testing.T) {
	// x = [[1 2 3] [4 5 6] [7 8 9]], 2x2 kernel, pads 1 before and after,
	// stride 2: outputs at rows/cols -1 and 1 (out 2x2). Taps (0,0), (0,1),
	// (1,0), (1,1) read, per output (r, c), x[2r-1+a][2c-1+b]; padding -1.
	w := &Window{In: []int{3, 3}, Out: []int{2, 2}, Kernel: []int{2, 2}, Strides: []int{2, 2},
		Dilations: []int{1, 1}, PadBegin: []int{1, 1}, PadEnd: []int{1, 1}}
	x := []int8{1, 2, 3, 4, 5, 6, 7, 8, 9}
	col := make([]int8, 4*4)
	Im2col(w, x, 1, col, -1, 2)
	want := []int8{
		-1, -1, -1, 5, // tap (0,0): x[-1][-1], x[-1][1], x[1][-1], x[1][1]
		-1, -1, 4, 6, // tap (0,1): x[-1][0], x[-1][2], x[1][0], x[1][2]
		-1, 2, -1, 8, // tap (1,0): x[0][-1], x[0][1], x[2][-1], x[2][1]
		1, 3, 7, 9, // tap (1,1): x[0][0], x[0][2], x[2][0], x[2][2]
	}
	if fmt.Sprint(col) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", col, want)
	}
}

func TestIm2col1DDilated(t *testing.T) {
	// in 6, kernel 2 with dilation 3, stride 1, no padding: out 6 - 4 + 1 = 3;
	// tap 0 reads x[o], tap 1 reads x[o+3]. Two channels.
	w := &Window{In: []int{6}, Out: []int{3}, Kernel: []int{2}, Strides: []int{1},
		Dilations: []int{3}, PadBegin: []int{0}, PadEnd: []int{0}}
	x := []float32{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}
	col := make([]float32, 2*2*3)
	Im2col(w, x, 2, col, 0, 1)
	want := []float32{0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15}
	if fmt.Sprint(col) != fmt.Sprint(want) {
		t.Fatalf("got %v, want %v", col, want)
	}
}

// TestCol2imAdjoint checks <im2col(x), c> == <x, col2im(c)>, which holds
// exactly when Col2im scatters every entry to where Im2col gathered it from.
func TestCol2imAdjoint(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	windows := []*Window{
		{In: []int{7}, Out: []int{4}, Kernel: []int{3}, Strides: []int{2}, Dilations: []int{1}, PadBegin: []int{1}, PadEnd: []int{1}},
		{In: []int{5, 6}, Out: []int{4, 3}, Kernel: []int{2, 3}, Strides: []int{1, 2}, Dilations: []int{2, 1}, PadBegin: []int{1, 1}, PadEnd: []int{1, 0}},
		{In: []int{3, 4, 5}, Out: []int{3, 2, 5}, Kernel: []int{2, 2, 3}, Strides: []int{1, 2, 1}, Dilations: []int{1, 1, 1}, PadBegin: []int{1, 0, 1}, PadEnd: []int{0, 0, 1}},
		{In: []int{4, 4}, Out: []int{5, 5}, Kernel: []int{3, 3}, Strides: []int{1, 1}, Dilations: []int{1, 1}, PadBegin: []int{2, 2}, PadEnd: []int{1, 1}},
		// Negative begin padding (ConvTranspose with a larger output_shape).
		{In: []int{6}, Out: []int{3}, Kernel: []int{2}, Strides: []int{2}, Dilations: []int{1}, PadBegin: []int{-1}, PadEnd: []int{0}},
	}
	for i, w := range windows {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			ch := 2
			rows := ch * w.KernelSize()
			x := make([]float64, ch*w.InSize())
			c := make([]float64, rows*w.OutSize())
			for j := range x {
				x[j] = r.Float64()
			}
			for j := range c {
				c[j] = r.Float64()
			}
			col := make([]float64, len(c))
			Im2col(w, x, ch, col, 0, 2)
			back := make([]float64, len(x))
			Col2im(w, c, ch, back, 2)
			var lhs, rhs float64
			for j := range c {
				lhs += col[j] * c[j]
			}
			for j := range x {
				rhs += x[j] * back[j]
			}
			if math.Abs(lhs-rhs) > 1e-9*math.Abs(lhs) {
				t.Fatalf("<im2col(x), c> = %g, <x, col2im(c)> = %g", lhs, rhs)
			}
		})
	}
}
