package kernel

import (
	"math"
	"math/rand"
	"testing"

	"github.com/onnxquant/onnxquant/internal/gemm"
)

// dwPaddedRef is the former unit-stride form of depthwise2DF32: each input
// plane copied into a zero-padded plane, one gemm.ConvTaps pass over it laid
// out flat (whole vector blocks), and the rows copied out.
func dwPaddedRef(win *Window, x []float32, batch, c int, w []float32, mult int, bias []float32, lo, hi float32, y []float32) {
	ih, iw := win.In[0], win.In[1]
	oh, ow := win.Out[0], win.Out[1]
	kh, kw := win.Kernel[0], win.Kernel[1]
	dh := win.Dilations[0]
	ph, pw := win.PadBegin[0], win.PadBegin[1]
	ow8 := (ow + 7) &^ 7
	wp := max(pw+iw, (ow8-1)+kw+1)
	accLen := (oh*wp + 7) &^ 7
	hp := max(ph+ih, (oh-1)+(kh-1)*dh+1)
	hp = max(hp, ((kh-1)*dh*wp+(accLen-1)+kw+1+wp-1)/wp)
	taps := make([]int, kh*kw)
	for a := 0; a < kh; a++ {
		for t := 0; t < kw; t++ {
			taps[a*kw+t] = a*dh*wp + t
		}
	}
	m := c * mult
	for p := 0; p < batch*m; p++ {
		img, oc := p/m, p%m
		in := img*c + oc/mult
		pad := make([]float32, hp*wp)
		acc := make([]float32, accLen)
		xp := x[in*ih*iw:]
		for r := 0; r < ih; r++ {
			copy(pad[(r+ph)*wp+pw:], xp[r*iw:(r+1)*iw])
		}
		var bv float32
		if bias != nil {
			bv = bias[oc]
		}
		_ = gemm.ConvTaps(acc, pad, taps, w[oc*kh*kw:(oc+1)*kh*kw], 1, bv, lo, hi)
		for r := 0; r < oh; r++ {
			copy(y[p*oh*ow+r*ow:p*oh*ow+(r+1)*ow], acc[r*wp:r*wp+ow])
		}
	}
}

// TestDepthwiseDirectBits checks the unit-stride depthwise convolution
// (interior in place, borders from padded strips) bit for bit against the
// padded-plane form, over shapes with and without an interior, uneven and
// oversized pads, height dilations, channel multipliers and clamps.
func TestDepthwiseDirectBits(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	cases := []dwCase{
		{12, 20, 3, 3, 1, 1, 1, 1, 1, 1}, {120, 160, 3, 3, 1, 1, 1, 1, 1, 1},
		{9, 9, 3, 3, 1, 0, 0, 0, 0, 2}, {7, 33, 5, 5, 1, 2, 2, 2, 2, 1},
		{10, 10, 3, 3, 2, 2, 2, 2, 2, 1}, {5, 70, 3, 3, 1, 0, 1, 1, 0, 1},
		{2, 2, 3, 3, 1, 1, 1, 1, 1, 1}, {1, 1, 3, 3, 1, 1, 1, 1, 1, 1},
		{6, 6, 3, 3, 1, 4, 4, 4, 4, 1}, {4, 11, 7, 7, 1, 3, 3, 3, 3, 1},
		{16, 16, 3, 1, 1, 1, 0, 1, 0, 1}, {16, 16, 1, 3, 1, 0, 1, 0, 1, 1},
		{13, 65, 3, 3, 3, 3, 1, 3, 1, 3}, {8, 8, 2, 2, 1, 0, 0, 1, 1, 1},
		{9, 24, 3, 3, 1, 1, 1, 1, 1, 2}, {10, 40, 5, 5, 1, 2, 2, 2, 2, 1},
		{10, 40, 3, 3, 1, 0, 1, 1, 0, 1}, {12, 50, 7, 7, 1, 3, 3, 3, 3, 1},
		{12, 23, 3, 3, 1, 1, 1, 1, 1, 1}, {20, 20, 3, 3, 2, 2, 1, 2, 1, 1},
		{30, 40, 3, 3, 1, 5, 9, 0, 0, 1}, {30, 41, 3, 3, 1, 0, 0, 0, 0, 1},
	}
	defer func(d, f int) { dwDirectMin, dwFlatMax = d, f }(dwDirectMin, dwFlatMax)
	for _, dmin := range []int{16, 64, 1 << 30} {
		for _, fmax := range []int{0, 16, 1 << 30} {
			dwDirectMin, dwFlatMax = dmin, fmax
			testDepthwiseCases(t, rng, cases)
		}
	}
}

type dwCase struct{ ih, iw, kh, kw, dh, pt, pl, pb, pr, mult int }

func testDepthwiseCases(t *testing.T, rng *rand.Rand, cases []dwCase) {
	for _, k := range cases {
		oh := k.ih + k.pt + k.pb - (k.kh-1)*k.dh
		ow := k.iw + k.pl + k.pr - (k.kw - 1)
		if oh <= 0 || ow <= 0 {
			t.Fatalf("bad case %+v", k)
		}
		win := &Window{
			In: []int{k.ih, k.iw}, Out: []int{oh, ow}, Kernel: []int{k.kh, k.kw},
			Strides: []int{1, 1}, Dilations: []int{k.dh, 1},
			PadBegin: []int{k.pt, k.pl}, PadEnd: []int{k.pb, k.pr},
		}
		batch, c := 2, 3
		m := c * k.mult
		x := make([]float32, batch*c*k.ih*k.iw)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		w := make([]float32, m*k.kh*k.kw)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		bias := make([]float32, m)
		for i := range bias {
			bias[i] = float32(rng.NormFloat64())
		}
		for _, act := range []*Clamp{nil, {Lo: 0, Hi: 6}} {
			for _, threads := range []int{1, 2} {
				lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
				if act != nil {
					lo, hi = act.Lo, act.Hi
				}
				want := make([]float32, batch*m*oh*ow)
				dwPaddedRef(win, x, batch, c, w, k.mult, bias, lo, hi, want)
				got := make([]float32, len(want))
				for i := range got {
					got[i] = float32(math.NaN())
				}
				depthwise2DF32(win, x, batch, c, w, k.mult, bias, act, got, threads)
				for i := range want {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%+v act %v threads %d: y[%d] = %v, want %v", k, act != nil, threads, i, got[i], want[i])
					}
				}
			}
		}
	}
}
