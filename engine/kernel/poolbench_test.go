package kernel

import (
	"fmt"
	"math/rand"
	"testing"
)

// BenchmarkMaxPoolF32 times the float 2-D max pool on the shapes of the
// benchmark CNNs (one thread): mnist-8's two pools and larger ones.
func BenchmarkMaxPoolF32(b *testing.B) {
	for _, s := range []struct{ c, h, w, k, stride, pad int }{
		{8, 28, 28, 2, 2, 0}, {16, 14, 14, 3, 3, 0}, {64, 20, 20, 2, 2, 0}, {24, 88, 88, 3, 2, 1}, {32, 40, 40, 3, 1, 1},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d/k%ds%dp%d", s.c, s.h, s.w, s.k, s.stride, s.pad), func(b *testing.B) {
			a := &WindowAttrs{
				Kernel: []int{s.k, s.k}, Strides: []int{s.stride, s.stride}, Dilations: []int{1, 1},
				Pads: []int{s.pad, s.pad, s.pad, s.pad},
			}
			win, err := a.Resolve([]int{s.h, s.w}, nil)
			if err != nil {
				b.Fatal(err)
			}
			g, err := newPoolGeom(win)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewSource(1))
			x := make([]float32, s.c*g.inSize)
			for i := range x {
				x[i] = rng.Float32()
			}
			y := make([]float32, s.c*g.outSize)
			b.SetBytes(int64(4 * len(x)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				maxPool2DF32(g, x, y, 0, s.c)
			}
		})
	}
}
