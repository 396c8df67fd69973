package kernel

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"testing"
)

// BenchmarkDepthwise3x3 times depthwise2DF32 on the 3x3 shapes of the
// benchmark CNNs (one thread).
func BenchmarkDepthwise3x3(b *testing.B) {
	if v := os.Getenv("DWMIN"); v != "" {
		dwDirectMin, _ = strconv.Atoi(v)
	}
	for _, s := range []struct{ c, h, w, stride int }{
		{32, 120, 160, 1}, {64, 60, 80, 1}, {128, 30, 40, 1}, {256, 15, 20, 1}, {512, 8, 10, 1}, {64, 60, 80, 2}, {128, 30, 40, 2},
	} {
		b.Run(fmt.Sprintf("%dx%dx%d/s%d", s.c, s.h, s.w, s.stride), func(b *testing.B) {
			oh, ow := (s.h-1)/s.stride+1, (s.w-1)/s.stride+1
			win := &Window{
				In: []int{s.h, s.w}, Out: []int{oh, ow}, Kernel: []int{3, 3},
				Strides: []int{s.stride, s.stride}, Dilations: []int{1, 1},
				PadBegin: []int{1, 1}, PadEnd: []int{1, 1},
			}
			rng := rand.New(rand.NewSource(1))
			x := make([]float32, s.c*s.h*s.w)
			for i := range x {
				x[i] = rng.Float32()
			}
			w := make([]float32, s.c*9)
			for i := range w {
				w[i] = rng.Float32()
			}
			bias := make([]float32, s.c)
			y := make([]float32, s.c*oh*ow)
			act := &Clamp{Lo: 0, Hi: 6}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				depthwise2DF32(win, x, 1, s.c, w, 1, bias, act, y, 1)
			}
		})
	}
}
