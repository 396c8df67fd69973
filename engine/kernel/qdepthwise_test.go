package kernel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/onnxquant/onnxquant/tensor"
)

// TestQDepthwiseExact checks the integer depthwise convolution against its
// definition summed in int64, with operands at the extremes of their
// types and zero points at the far end (the largest products), kernels up
// to 11x11 (121 taps, near the 128 for which float32 sums stay exact),
// strides 1 and 2, pads and a height dilation; and one width-dilated case,
// which takes the integer loop instead.
func TestQDepthwiseExact(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 7))
	cases := []struct {
		c, h, w, k int
		s, dh, dw  int
		pad        int
	}{
		{3, 9, 10, 3, 1, 1, 1, 1},
		{2, 12, 11, 5, 2, 1, 1, 2},
		{2, 14, 13, 11, 1, 1, 1, 5},
		{2, 9, 9, 3, 2, 2, 1, 1},
		{2, 9, 9, 3, 1, 1, 2, 2},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("c%d_%dx%d_k%d_s%d_d%dx%d", tc.c, tc.h, tc.w, tc.k, tc.s, tc.dh, tc.dw), func(t *testing.T) {
			attrs := &WindowAttrs{
				Kernel: []int{tc.k, tc.k}, Strides: []int{tc.s, tc.s}, Dilations: []int{tc.dh, tc.dw},
				Pads: []int{tc.pad, tc.pad, tc.pad, tc.pad},
			}
			win, err := attrs.Resolve([]int{tc.h, tc.w}, []int{tc.k, tc.k})
			if err != nil {
				t.Fatal(err)
			}
			x := make([]uint8, tc.c*tc.h*tc.w)
			for i := range x {
				x[i] = []uint8{0, 255}[r.IntN(2)] // |x - xz| = 255 or 0
			}
			w := make([]int8, tc.c*tc.k*tc.k)
			for i := range w {
				w[i] = []int8{-128, 127}[r.IntN(2)]
			}
			const xz = uint8(0)
			wz := []int32{127, -128} // per channel: differences up to 255 in size
			wz = wz[:min(len(wz), tc.c)]
			if tc.c > 2 {
				wz = nil
			}
			acc := make([]int32, tc.c*win.OutSize())
			qDepthwise(win, x, int32(xz), false, 1, tc.c, tensor.FromSlice([]int{tc.c, 1, tc.k, tc.k}, w), wz, acc, 2)
			oh, ow := win.Out[0], win.Out[1]
			for c := 0; c < tc.c; c++ {
				var z int64
				if len(wz) > 0 {
					z = int64(wz[c])
				}
				for oy := 0; oy < oh; oy++ {
					for ox := 0; ox < ow; ox++ {
						var want int64
						for a := 0; a < tc.k; a++ {
							for b := 0; b < tc.k; b++ {
								iy, ix := oy*tc.s-tc.pad+a*tc.dh, ox*tc.s-tc.pad+b*tc.dw
								if iy < 0 || iy >= tc.h || ix < 0 || ix >= tc.w {
									continue
								}
								want += (int64(x[(c*tc.h+iy)*tc.w+ix]) - int64(xz)) * (int64(w[(c*tc.k+a)*tc.k+b]) - z)
							}
						}
						if got := acc[(c*oh+oy)*ow+ox]; int64(got) != want {
							t.Fatalf("channel %d output (%d, %d) = %d, want %d", c, oy, ox, got, want)
						}
					}
				}
			}
		})
	}
}
