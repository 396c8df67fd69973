package gemm

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestConvRow checks ConvRow against the definition summed in float64, for
// both strides the vector code handles and one it does not, lengths around
// its 8-, 16- and 32-output blocks, and x slices exactly as long as needed
// followed by NaNs in the same array, which would show in the sums if a
// value past the end were used. Operands are multiples of 1/4, so sums are
// exact.
func TestConvRow(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	for _, stride := range []int{1, 2, 3} {
		for _, kw := range []int{1, 3, 5, 7} {
			for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 40, 64, 71} {
				t.Run(fmt.Sprintf("s%d_k%d_n%d", stride, kw, n), func(t *testing.T) {
					need := (n-1)*stride + kw
					buf := append(randSlice(r, need), make([]float32, 40)...)
					for i := need; i < len(buf); i++ {
						buf[i] = float32(math.NaN())
					}
					x := buf[:need]
					w := randSlice(r, kw)
					acc := randSlice(r, n)
					want := make([]float64, n)
					for i := range want {
						want[i] = float64(acc[i])
						for j := 0; j < kw; j++ {
							want[i] += float64(w[j]) * float64(x[i*stride+j])
						}
					}
					if err := ConvRow(acc, x, w, stride); err != nil {
						t.Fatal(err)
					}
					for i, v := range acc {
						if float64(v) != want[i] {
							t.Fatalf("acc[%d] = %g, want %g", i, v, want[i])
						}
					}
				})
			}
		}
	}
	if err := ConvRow(make([]float32, 4), make([]float32, 5), make([]float32, 3), 1); err == nil {
		t.Fatal("short x: no error")
	}
	if err := ConvRow(make([]float32, 4), make([]float32, 9), make([]float32, 3), 0); err == nil {
		t.Fatal("stride 0: no error")
	}
}

// TestBiasClamp checks BiasClamp on hand-worked values (NaN, signed zeros,
// infinities, bounds crossed) repeated to lengths that use the vector loop
// and the scalar tail.
func TestBiasClamp(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	in := []float32{-1, negZero, 0, 0.5, 2, nan, inf, -inf, 1.5}
	cases := []struct {
		name           string
		addBias, clamp bool
		bias, lo, hi   float32
		want           []float32
	}{
		{"relu", false, true, 0, 0, inf, []float32{0, negZero, 0, 0.5, 2, nan, inf, 0, 1.5}},
		{"bias", true, false, 1, 0, 0, []float32{0, 1, 1, 1.5, 3, nan, inf, -inf, 2.5}},
		{"bias relu6", true, true, -1, 0, 6, []float32{0, 0, 0, 0, 1, nan, 6, 0, 0.5}},
		{"clip", false, true, 0, -0.5, 1, []float32{-0.5, negZero, 0, 0.5, 1, nan, 1, -0.5, 1}},
		{"lo above hi", false, true, 0, 2, 1, []float32{1, 1, 1, 1, 1, nan, 1, 1, 1}},
		{"nothing", false, false, 5, 0, 0, in},
	}
	for _, c := range cases {
		for _, reps := range []int{1, 2, 3} {
			var v, want []float32
			for r := 0; r < reps; r++ {
				v = append(v, in...)
				want = append(want, c.want...)
			}
			BiasClamp(v, c.addBias, c.bias, c.clamp, c.lo, c.hi)
			for i := range v {
				g, w := v[i], want[i]
				same := g == w && math.Signbit(float64(g)) == math.Signbit(float64(w))
				if w != w {
					same = g != g
				}
				if !same {
					t.Fatalf("%s len %d: v[%d] = %g, want %g (input %g)", c.name, len(v), i, g, w, in[i%len(in)])
				}
			}
		}
	}
}

// TestMaxInto checks MaxInto on hand-worked pairs (NaN on either side,
// infinities; equal values, signed zeros included, take src) repeated to lengths that use the vector loop
// and the scalar tail.
func TestMaxInto(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	negZero := float32(math.Copysign(0, -1))
	dst := []float32{1, 1, nan, 1, -inf, 0, negZero, 2, -3}
	src := []float32{2, nan, 5, -inf, -7, negZero, 0, 2, inf}
	want := []float32{2, nan, nan, 1, -7, negZero, 0, 2, inf}
	for _, reps := range []int{1, 2, 3} {
		var d, s, w []float32
		for r := 0; r < reps; r++ {
			d = append(d, dst...)
			s = append(s, src...)
			w = append(w, want...)
		}
		MaxInto(d, s)
		for i := range d {
			g, x := d[i], w[i]
			same := g == x && math.Signbit(float64(g)) == math.Signbit(float64(x))
			if x != x {
				same = g != g
			}
			if !same {
				t.Fatalf("len %d: dst[%d] = %g, want %g", len(d), i, g, x)
			}
		}
	}
}

// TestPoolRowMax checks PoolRowMax against the window maxima computed
// here, for strides 1, 2 (vector loops) and 3, window sizes 1 to 5 and
// lengths around the 8-output blocks, x followed by NaNs in its array that
// must not be read into a result; a second pass puts a NaN inside x and
// expects NaN exactly for the windows holding it.
func TestPoolRowMax(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	for _, stride := range []int{1, 2, 3} {
		for _, kw := range []int{1, 2, 3, 5} {
			for _, n := range []int{1, 7, 8, 9, 16, 17, 25} {
				for _, withNaN := range []bool{false, true} {
					need := (n-1)*stride + kw
					buf := append(randSlice(r, need), make([]float32, 40)...)
					for i := need; i < len(buf); i++ {
						buf[i] = float32(math.NaN())
					}
					x := buf[:need]
					at := -1
					if withNaN {
						at = r.Intn(need)
						x[at] = float32(math.NaN())
					}
					out := make([]float32, n)
					if err := PoolRowMax(out, x, kw, stride); err != nil {
						t.Fatal(err)
					}
					for i, got := range out {
						lo := i * stride
						if at >= lo && at < lo+kw {
							if got == got {
								t.Fatalf("s%d k%d n%d: out[%d] = %g, want NaN (NaN at %d)", stride, kw, n, i, got, at)
							}
							continue
						}
						want := x[lo]
						for _, v := range x[lo+1 : lo+kw] {
							want = max(want, v)
						}
						if got != want {
							t.Fatalf("s%d k%d n%d nan@%d: out[%d] = %g, want %g", stride, kw, n, at, i, got, want)
						}
					}
				}
			}
		}
	}
	if err := PoolRowMax(make([]float32, 3), make([]float32, 4), 3, 1); err == nil {
		t.Fatal("short x: no error")
	}
}

// TestCopyStrided checks CopyStrided against the definition for strides 1
// to 3 and lengths around the vector blocks, with src exactly as long as
// needed.
func TestCopyStrided(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	for _, stride := range []int{1, 2, 3} {
		for _, n := range []int{1, 7, 8, 9, 16, 23, 40} {
			src := randSlice(r, (n-1)*stride+1)
			dst := make([]float32, n)
			if err := CopyStrided(dst, src, stride); err != nil {
				t.Fatal(err)
			}
			for i, v := range dst {
				if v != src[i*stride] {
					t.Fatalf("stride %d n %d: dst[%d] = %g, want %g", stride, n, i, v, src[i*stride])
				}
			}
		}
	}
	if err := CopyStrided(make([]float32, 4), make([]float32, 6), 2); err == nil {
		t.Fatal("short src: no error")
	}
}

// TestConvTaps checks ConvTaps against the definition in float64 (exact
// for multiples of 1/4) for tap sets like a flattened 3x3 and 5x5 window,
// strides 1, 2 (vector loops) and 3, lengths around the vector blocks, a
// clamp, and a NaN in x (NaN where it is read); x is exactly as long as
// the last tap needs and followed by NaNs in its array.
func TestConvTaps(t *testing.T) {
	r := rand.New(rand.NewSource(17))
	for _, stride := range []int{1, 2, 3} {
		for _, k := range []int{1, 3, 5} {
			for _, n := range []int{1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 70, 135} {
				for _, clamp := range []bool{false, true} {
					wp := 13
					var offs []int
					for a := 0; a < k; a++ {
						for b := 0; b < k; b++ {
							offs = append(offs, a*wp+b)
						}
					}
					w := randSlice(r, len(offs))
					need := (n-1)*stride + offs[len(offs)-1] + 1
					buf := append(randSlice(r, need), make([]float32, 40)...)
					for i := need; i < len(buf); i++ {
						buf[i] = float32(math.NaN())
					}
					x := buf[:need]
					x[r.Intn(len(x))] = float32(math.NaN())
					lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
					if clamp {
						lo, hi = -1, 2
					}
					out := make([]float32, n)
					if err := ConvTaps(out, x, offs, w, stride, 0.25, lo, hi); err != nil {
						t.Fatal(err)
					}
					for i, got := range out {
						want := 0.25
						for tp, o := range offs {
							want += float64(w[tp]) * float64(x[i*stride+o])
						}
						if want != want {
							if got == got {
								t.Fatalf("s%d k%d n%d: out[%d] = %g, want NaN", stride, k, n, i, got)
							}
							continue
						}
						want = math.Min(math.Max(want, float64(lo)), float64(hi))
						if float64(got) != want {
							t.Fatalf("s%d k%d n%d clamp %v: out[%d] = %g, want %g", stride, k, n, clamp, i, got, want)
						}
					}
				}
			}
		}
	}
	if err := ConvTaps(make([]float32, 4), make([]float32, 5), []int{0, 2}, []float32{1, 1}, 1, 0, 0, 1); err == nil {
		t.Fatal("short x: no error")
	}
}

// TestConvTapsRows checks ConvTapsRows against ConvTaps called row by row
// (bit for bit, strides 1 to 3, widths around the vector block) and its
// refusal of rows that do not fit.
func TestConvTapsRows(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	offs := []int{0, 1, 2, 40, 41, 42, 80, 81, 82}
	w := randSlice(r, len(offs))
	for _, stride := range []int{1, 2, 3} {
		for _, n := range []int{3, 8, 13, 19} {
			const rows, xstride, ostride = 5, 80, 24
			x := randSlice(r, (rows-1)*xstride+(n-1)*stride+82+2)
			got := make([]float32, (rows-1)*ostride+n)
			want := make([]float32, len(got))
			if err := ConvTapsRows(got, ostride, rows, n, x, xstride, offs, w, stride, 0.5, -1, 1); err != nil {
				t.Fatal(err)
			}
			for row := 0; row < rows; row++ {
				if err := ConvTaps(want[row*ostride:row*ostride+n], x[row*xstride:], offs, w, stride, 0.5, -1, 1); err != nil {
					t.Fatal(err)
				}
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("stride %d n %d: out[%d] = %v, want %v", stride, n, i, got[i], want[i])
				}
			}
			if err := ConvTapsRows(got, ostride, rows+1, n, x, xstride, offs, w, stride, 0, -1, 1); err == nil {
				t.Fatalf("stride %d n %d: a row past x accepted", stride, n)
			}
		}
	}
}
