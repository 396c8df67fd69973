package gemm

import (
	"math"
	"math/rand"
	"testing"
)

// TestConvTaps2D checks ConvTaps2D bit for bit against ConvTaps run row by
// row over whole vector blocks (so every value takes ConvTaps's vector loop
// where there is one), and that nothing outside the rectangle is written.
func TestConvTaps2D(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	sentinel := float32(math.NaN())
	for _, n := range []int{1, 3, 7, 8, 9, 15, 16, 17, 31, 40, 63, 64, 65, 130} {
		for _, rows := range []int{1, 2, 5} {
			for _, taps := range []int{1, 3, 9, 25} {
				xstride := n + 4 + rng.Intn(5)
				ostride := n + rng.Intn(3)
				offs := make([]int, taps)
				w := make([]float32, taps)
				for i := range offs {
					offs[i] = (i/3)*xstride + i%3
					w[i] = float32(rng.NormFloat64())
				}
				maxOff := offs[taps-1]
				x := make([]float32, (rows-1)*xstride+n+maxOff+16)
				for i := range x {
					x[i] = float32(rng.NormFloat64())
				}
				xs := x[:(rows-1)*xstride+n+maxOff] // exactly what the windows read
				out := make([]float32, rows*ostride+8)
				for i := range out {
					out[i] = sentinel
				}
				for _, clamp := range []bool{false, true} {
					lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
					if clamp {
						lo, hi = -0.5, 0.75
					}
					if err := ConvTaps2D(out, ostride, rows, n, xs, xstride, offs, w, 0.125, lo, hi); err != nil {
						t.Fatal(err)
					}
					n8 := (n + 7) &^ 7
					want := make([]float32, n8)
					for r := 0; r < rows; r++ {
						if err := ConvTaps(want, x[r*xstride:], offs, w, 1, 0.125, lo, hi); err != nil {
							t.Fatal(err)
						}
						for k := 0; k < ostride; k++ {
							got := out[r*ostride+k]
							if k >= n {
								if r < rows-1 && got == got {
									t.Fatalf("n %d rows %d: wrote outside the rectangle at row %d column %d", n, rows, r, k)
								}
								continue
							}
							if math.Float32bits(got) != math.Float32bits(want[k]) {
								t.Fatalf("n %d rows %d taps %d clamp %v: out[%d][%d] = %v, want %v", n, rows, taps, clamp, r, k, got, want[k])
							}
						}
					}
					for _, v := range out[(rows-1)*ostride+n:] {
						if v == v {
							t.Fatalf("n %d rows %d: wrote past the rectangle", n, rows)
						}
					}
				}
			}
		}
	}
	if err := ConvTaps2D(make([]float32, 4), 4, 1, 4, make([]float32, 5), 5, []int{0, 2}, []float32{1, 1}, 0, 0, 1); err == nil {
		t.Fatal("want an error for taps past the end of x")
	}
}
