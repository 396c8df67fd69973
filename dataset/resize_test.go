package dataset

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestResizeHandWorked checks the resampler against values worked out by
// hand from each filter's definition (see the comments per case).
func TestResizeHandWorked(t *testing.T) {
	cases := []struct {
		name           string
		src            []uint8
		w, h, outW, oH int
		interp         Interp
		want           []float32
	}{
		// 2 -> 4 upscale: output centres map to source x = (i+0.5)/2-0.5
		// = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1]: 0, 25, 75, 100.
		{"up2x-noaa", []uint8{0, 100}, 2, 1, 4, 1, BilinearNoAntialias, []float32{0, 25, 75, 100}},
		// Upscaling, the tent is not widened: same as two-tap bilinear.
		{"up2x-aa", []uint8{0, 100}, 2, 1, 4, 1, Bilinear, []float32{0, 25, 75, 100}},
		// 4 -> 2 plain bilinear: x = 0.5 and 2.5, midway between pixels.
		{"down2x-noaa", []uint8{0, 40, 80, 120}, 4, 1, 2, 1, BilinearNoAntialias, []float32{20, 100}},
		// 4 -> 2 antialiased: tent widened to 2 pixels, centre 1.0 (edge
		// coordinates): pixels 0,1,2 weigh 0.75, 0.75, 0.25 (sum 1.75):
		// (0*.75+40*.75+80*.25)/1.75 = 50/1.75; centre 3.0: pixels 1,2,3
		// weigh .25,.75,.75: (10+60+90)/1.75 = 160/1.75.
		{"down2x-aa", []uint8{0, 40, 80, 120}, 4, 1, 2, 1, Bilinear, []float32{50 / 1.75, 160 / 1.75}},
		// 4 -> 2 area: means of pixel pairs.
		{"down2x-area", []uint8{0, 40, 80, 120}, 4, 1, 2, 1, Area, []float32{20, 100}},
		// 3 -> 2 area: footprints [0,1.5) and [1.5,3): (30+60/2)/1.5 = 40
		// and (60/2+90)/1.5 = 80.
		{"down1.5x-area", []uint8{30, 60, 90}, 3, 1, 2, 1, Area, []float32{40, 80}},
		// 2x2 -> 3x3 plain bilinear: x, y in {-1/6 -> 0, 0.5, 7/6 -> 1}.
		{"2d-up", []uint8{0, 10, 20, 30}, 2, 2, 3, 3, BilinearNoAntialias,
			[]float32{0, 5, 10, 10, 15, 20, 20, 25, 30}},
		// Same size: identity for every filter.
		{"identity-aa", []uint8{1, 2, 3, 4, 5, 6}, 3, 2, 3, 2, Bilinear, []float32{1, 2, 3, 4, 5, 6}},
		{"identity-area", []uint8{1, 2, 3, 4, 5, 6}, 3, 2, 3, 2, Area, []float32{1, 2, 3, 4, 5, 6}},
		// Vertical 2 -> 1: antialiased tent of width 2 centred at 1.0 gives
		// both rows weight 0.5.
		{"vertical-aa", []uint8{10, 20, 30, 40}, 2, 2, 2, 1, Bilinear, []float32{20, 30}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ResizeGray(c.src, c.w, c.h, c.outW, c.oH, c.interp)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %d values, want %d", len(got), len(c.want))
			}
			for i := range got {
				if math.Abs(float64(got[i]-c.want[i])) > 1e-3 {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

// refResize is a slow, direct 2-D evaluation of each filter, written
// without the separable weight tables: every output pixel visits every
// source pixel.
func refResize(src []uint8, w, h, outW, outH int, interp Interp) []float32 {
	out := make([]float32, outW*outH)
	sx, sy := float64(w)/float64(outW), float64(h)/float64(outH) // source pixels per output pixel
	for oy := 0; oy < outH; oy++ {
		for ox := 0; ox < outW; ox++ {
			switch interp {
			case BilinearNoAntialias:
				fx := (float64(ox)+0.5)*sx - 0.5
				fy := (float64(oy)+0.5)*sy - 0.5
				fx = math.Max(0, math.Min(fx, float64(w-1)))
				fy = math.Max(0, math.Min(fy, float64(h-1)))
				x0, y0 := int(fx), int(fy)
				x1, y1 := min(x0+1, w-1), min(y0+1, h-1)
				ax, ay := fx-float64(x0), fy-float64(y0)
				p := func(x, y int) float64 { return float64(src[y*w+x]) }
				v := (1-ay)*((1-ax)*p(x0, y0)+ax*p(x1, y0)) + ay*((1-ax)*p(x0, y1)+ax*p(x1, y1))
				out[oy*outW+ox] = float32(v)
			default:
				cx, cy := (float64(ox)+0.5)*sx, (float64(oy)+0.5)*sy
				// Footprint for area.
				x0, x1 := float64(ox)*sx, float64(ox+1)*sx
				y0, y1 := float64(oy)*sy, float64(oy+1)*sy
				var num, den float64
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						var wt float64
						if interp == Area {
							ovx := math.Max(0, math.Min(x1, float64(x+1))-math.Max(x0, float64(x)))
							ovy := math.Max(0, math.Min(y1, float64(y+1))-math.Max(y0, float64(y)))
							wt = ovx * ovy
						} else {
							rx, ry := math.Max(sx, 1), math.Max(sy, 1)
							dx := math.Abs(float64(x)+0.5-cx) / rx
							dy := math.Abs(float64(y)+0.5-cy) / ry
							wt = math.Max(0, 1-dx) * math.Max(0, 1-dy)
						}
						num += wt * float64(src[y*w+x])
						den += wt
					}
				}
				out[oy*outW+ox] = float32(num / den)
			}
		}
	}
	return out
}

func TestResizeAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []struct{ w, h, outW, outH int }{
		{17, 13, 5, 4},   // downscale by ~3.4
		{40, 30, 7, 9},   // unequal factors
		{9, 7, 20, 15},   // upscale
		{31, 29, 16, 30}, // down in x, up in y
		{64, 48, 8, 6},   // exact factor 8
		{5, 5, 5, 5},     // identity
		{100, 3, 12, 2},  // thin
	}
	for _, interp := range []Interp{Bilinear, BilinearNoAntialias, Area} {
		for _, s := range sizes {
			src := make([]uint8, s.w*s.h)
			for i := range src {
				src[i] = uint8(rng.IntN(256))
			}
			got, err := ResizeGray(src, s.w, s.h, s.outW, s.outH, interp)
			if err != nil {
				t.Fatal(err)
			}
			want := refResize(src, s.w, s.h, s.outW, s.outH, interp)
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 2e-3 {
					t.Fatalf("%v %dx%d->%dx%d: pixel %d = %v, reference %v", interp, s.w, s.h, s.outW, s.outH, i, got[i], want[i])
				}
			}
		}
	}
}

func TestResizeGrayErrors(t *testing.T) {
	for _, c := range []struct{ n, w, h, ow, oh int }{{4, 2, 2, 0, 1}, {3, 2, 2, 1, 1}, {0, 0, 0, 1, 1}} {
		if _, err := ResizeGray(make([]uint8, c.n), c.w, c.h, c.ow, c.oh, Bilinear); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}
