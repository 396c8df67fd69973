package gemm

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
)

// naive computes alpha*op(A)*op(B) + beta*C with a triple loop in float64,
// the reference every test compares against.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			out[i*n+j] = v
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.Intn(17)-8) / 4
	}
	return s
}

// guard is the value written around C; a routine that writes outside its
// region changes it.
const guard = float32(-12345.5)

type shape struct {
	m, n, k        int
	transA, transB bool
	alpha, beta    float32
	padA, padB     int // extra leading-dimension
	padC           int
}

func shapes() []shape {
	var out []shape
	dims := [][3]int{
		{1, 1, 1}, {1, 17, 5}, {17, 1, 5}, {1, 40, 300}, {40, 1, 300}, {2, 3, 4},
		{6, 16, 1}, {7, 17, 9}, {5, 15, 257}, {13, 33, 256}, {64, 64, 64},
		{121, 130, 70}, {250, 20, 520}, {3, 1030, 11}, {1030, 3, 11}, {37, 53, 0},
		{13, 40, 600}, {8, 100, 30}, // several K slices and short K with a partial row panel
	}
	for i, d := range dims {
		for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
			s := shape{m: d[0], n: d[1], k: d[2], transA: tr[0], transB: tr[1], alpha: 1}
			switch i % 4 {
			case 1:
				s.alpha, s.beta = 0.5, 1
			case 2:
				s.alpha, s.beta, s.padC = -1.5, 0.25, 3
			case 3:
				s.padA, s.padB, s.padC = 2, 5, 1
			}
			out = append(out, s)
		}
	}
	out = append(out, shape{m: 9, n: 9, k: 9, alpha: 0, beta: 2, padC: 2})
	return out
}

// operands builds random A, B and a guarded C for s.
func operands(r *rand.Rand, s shape) (a []float32, lda int, b []float32, ldb int, c []float32, ldc, off int) {
	ar, ac := s.m, s.k
	if s.transA {
		ar, ac = s.k, s.m
	}
	br, bc := s.k, s.n
	if s.transB {
		br, bc = s.n, s.k
	}
	lda, ldb, ldc = ac+s.padA, bc+s.padB, s.n+s.padC
	a = randSlice(r, ar*lda)
	b = randSlice(r, br*ldb)
	off = 7
	c = make([]float32, off+s.m*ldc+9)
	for i := range c {
		c[i] = guard
	}
	for i := 0; i < s.m; i++ {
		copy(c[off+i*ldc:off+i*ldc+s.n], randSlice(r, s.n))
	}
	return
}

// checkC compares the m x n region of c with want and verifies that the
// guard values around and between the rows are intact.
func checkC(t *testing.T, s shape, c []float32, off, ldc int, want []float64) {
	t.Helper()
	for i := range c {
		rel := i - off
		in := rel >= 0 && rel < s.m*ldc && rel%ldc < s.n
		if !in {
			if c[i] != guard {
				t.Fatalf("wrote %g at %d, outside C", c[i], i)
			}
			continue
		}
		w := want[(rel/ldc)*s.n+rel%ldc]
		if d := math.Abs(float64(c[i]) - w); d > 1e-4*(1+math.Abs(w)) {
			t.Fatalf("C[%d,%d] = %g, want %g", rel/ldc, rel%ldc, c[i], w)
		}
	}
}

func TestSgemm(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, s := range shapes() {
		for _, threads := range []int{1, 3} {
			name := fmt.Sprintf("%dx%dx%d_tA%v_tB%v_a%g_b%g_pad%d%d%d_t%d", s.m, s.n, s.k, s.transA, s.transB, s.alpha, s.beta, s.padA, s.padB, s.padC, threads)
			t.Run(name, func(t *testing.T) {
				a, lda, b, ldb, c, ldc, off := operands(r, s)
				want := naive(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c[off:], ldc)
				if err := Sgemm(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c[off:off+(s.m-1)*ldc+s.n], ldc, threads); err != nil {
					t.Fatal(err)
				}
				checkC(t, s, c, off, ldc, want)
			})
		}
	}
}

func TestSgemmPacked(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	for _, s := range shapes() {
		for _, which := range []string{"A", "B", "AB"} {
			t.Run(fmt.Sprintf("%s_%dx%dx%d_tA%v_tB%v", which, s.m, s.n, s.k, s.transA, s.transB), func(t *testing.T) {
				a, lda, b, ldb, c, ldc, off := operands(r, s)
				want := naive(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c[off:], ldc)
				var pa *PackedA
				var pb *PackedB
				var err error
				aa, bb := a, b
				if which != "B" {
					if pa, err = PackA(s.transA, s.m, s.k, a, lda); err != nil {
						t.Fatal(err)
					}
					aa = nil
				}
				if which != "A" {
					if pb, err = PackB(s.transB, s.k, s.n, b, ldb); err != nil {
						t.Fatal(err)
					}
					bb = nil
				}
				if err := SgemmPacked(s.transA, s.transB, s.m, s.n, s.k, s.alpha, aa, lda, pa, bb, ldb, pb, s.beta, c[off:off+(s.m-1)*ldc+s.n], ldc, 2); err != nil {
					t.Fatal(err)
				}
				checkC(t, s, c, off, ldc, want)
			})
		}
	}
}

func TestSgemmBatch(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	tests := []struct {
		name                  string
		m, n, k, batch        int
		shareA, shareB        bool
		transA, transB        bool
		alpha, beta           float32
		threads, extraStrideC int
	}{
		{"small", 3, 4, 5, 4, false, false, false, false, 1, 0, 1, 0},
		{"shared A", 7, 20, 9, 3, true, false, false, true, 2, 1, 2, 5},
		{"shared B", 30, 2, 40, 5, false, true, true, false, 1, 0.5, 4, 0},
		{"many small", 2, 2, 2, 64, false, false, false, false, 1, 0, 2, 1},
		{"single row", 1, 50, 30, 3, false, false, true, true, 1, 1, 2, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ar, ac := tc.m, tc.k
			if tc.transA {
				ar, ac = tc.k, tc.m
			}
			br, bc := tc.k, tc.n
			if tc.transB {
				br, bc = tc.n, tc.k
			}
			sa, sb := ar*ac, br*bc
			if tc.shareA {
				sa = 0
			}
			if tc.shareB {
				sb = 0
			}
			sc := tc.m*tc.n + tc.extraStrideC
			a := randSlice(r, sa*(tc.batch-1)+ar*ac)
			b := randSlice(r, sb*(tc.batch-1)+br*bc)
			c := randSlice(r, sc*(tc.batch-1)+tc.m*tc.n)
			orig := append([]float32(nil), c...)
			if err := SgemmBatch(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, ac, sa, b, bc, sb, tc.beta, c, tc.n, sc, tc.batch, tc.threads); err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tc.batch; i++ {
				want := naive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a[i*sa:], ac, b[i*sb:], bc, tc.beta, orig[i*sc:], tc.n)
				for j, w := range want {
					if got := c[i*sc+j]; math.Abs(float64(got)-w) > 1e-4*(1+math.Abs(w)) {
						t.Fatalf("product %d, value %d: got %g, want %g", i, j, got, w)
					}
				}
				for j := tc.m * tc.n; j < sc && i < tc.batch-1; j++ {
					if c[i*sc+j] != orig[i*sc+j] {
						t.Fatalf("product %d wrote past its C region at %d", i, j)
					}
				}
			}
		})
	}
}

// TestSgemmBetaZeroIgnoresNaN checks the BLAS convention that C's old
// contents do not matter when beta is 0.
func TestSgemmBetaZeroIgnoresNaN(t *testing.T) {
	nan := float32(math.NaN())
	// Small products (B read in place), single rows and columns, and
	// products through packed panels (more rows than directB, or a
	// transposed B) whose first K slice overwrites C, with partial blocks
	// and several K slices.
	for _, sz := range [][3]int{{4, 5, 3}, {1, 5, 3}, {4, 1, 3}, {200, 37, 300}, {7, 20, 9}} {
		for _, transB := range []bool{false, true} {
			m, n, k := sz[0], sz[1], sz[2]
			a := make([]float32, m*k)
			b := make([]float32, k*n)
			for i := range a {
				a[i] = 1
			}
			for i := range b {
				b[i] = 2
			}
			ldb := n
			if transB {
				ldb = k
			}
			c := make([]float32, m*n)
			for i := range c {
				c[i] = nan
			}
			if err := Sgemm(false, transB, m, n, k, 1, a, k, b, ldb, 0, c, n, 1); err != nil {
				t.Fatal(err)
			}
			for i, v := range c {
				if v != float32(2*k) {
					t.Fatalf("%v transB=%v: c[%d] = %g, want %d", sz, transB, i, v, 2*k)
				}
			}
		}
	}
}

// TestMicroKernelCol checks the kernel that runs a column of full blocks
// sharing a B panel against the single-block kernel, bit for bit: adding
// to C, and overwriting it (which must equal adding to a cleared C, so a
// product of -0 gives +0, and NaN in C is ignored), touching nothing
// outside the blocks.
func TestMicroKernelCol(t *testing.T) {
	if microKernelCol == nil {
		t.Skip("no column kernel in this build")
	}
	r := rand.New(rand.NewSource(41))
	for _, kc := range []int{1, 3, 4, 9, 256} {
		for _, panels := range []int{1, 2, 5} {
			for _, load := range []bool{true, false} {
				a := randSlice(r, panels*kc*MR)
				b := randSlice(r, kc*NR)
				// Zero products of both signs: row 0 of each panel times B
				// is -0 where B is 0 and A is negative.
				for p := 0; p < kc; p++ {
					b[p*NR+3] = 0
					a[p*MR] = -1
				}
				ldc := NR + 5
				rows := panels * MR
				c := make([]float32, rows*ldc+7)
				for i := range c {
					c[i] = guard
				}
				for i := 0; i < rows; i++ {
					for j := 0; j < NR; j++ {
						c[i*ldc+j] = float32(r.Intn(9) - 4)
						if !load && j == 5 {
							c[i*ldc+j] = float32(math.NaN())
						}
					}
				}
				want := append([]float32(nil), c...)
				for q := 0; q < panels; q++ {
					blk := want[q*MR*ldc:]
					if !load {
						for i := 0; i < MR; i++ {
							clear(blk[i*ldc : i*ldc+NR])
						}
					}
					microKernel(kc, a[q*kc*MR:(q+1)*kc*MR], b, blk, ldc, -1.5, MR, NR, nil)
				}
				microKernelCol(kc, a, b, c, ldc, -1.5, load, panels)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
						t.Fatalf("kc=%d panels=%d load=%v: c[%d] = %g, want %g", kc, panels, load, i, c[i], want[i])
					}
				}
			}
		}
	}
}

func TestSgemmErrors(t *testing.T) {
	buf := make([]float32, 12)
	tests := []struct {
		name string
		call func() error
	}{
		{"short A", func() error { return Sgemm(false, false, 3, 2, 4, 1, buf[:11], 4, buf, 2, 0, buf, 2, 1) }},
		{"short B", func() error { return Sgemm(false, false, 2, 3, 4, 1, buf, 4, buf[:11], 3, 0, buf, 3, 1) }},
		{"short C", func() error { return Sgemm(false, false, 3, 4, 1, 1, buf, 1, buf, 4, 0, buf[:11], 4, 1) }},
		{"lda too small", func() error { return Sgemm(false, false, 2, 2, 3, 1, buf, 2, buf, 2, 0, buf, 2, 1) }},
		{"ldc too small", func() error { return Sgemm(false, false, 2, 3, 1, 1, buf, 1, buf, 3, 0, buf, 2, 1) }},
		{"negative", func() error { return Sgemm(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2, 1) }},
		{"shared C", func() error {
			return SgemmBatch(false, false, 1, 1, 1, 1, buf, 1, 1, buf, 1, 1, 0, buf, 1, 0, 2, 1)
		}},
		{"batch past end", func() error {
			return SgemmBatch(false, false, 2, 2, 2, 1, buf, 2, 4, buf, 2, 4, 0, buf, 2, 4, 4, 1)
		}},
		{"packed size mismatch", func() error {
			pa, err := PackA(false, 2, 3, buf, 3)
			if err != nil {
				return nil
			}
			return SgemmPacked(false, false, 2, 2, 2, 1, nil, 0, pa, buf, 2, nil, 0, buf, 2, 1)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

// TestSgemmHandWorked checks one product worked out by hand.
func TestSgemmHandWorked(t *testing.T) {
	// [1 2 3; 4 5 6] * [7 8; 9 10; 11 12] = [58 64; 139 154]
	a := []float32{1, 2, 3, 4, 5, 6}
	b := []float32{7, 8, 9, 10, 11, 12}
	c := []float32{1, 1, 1, 1}
	if err := Sgemm(false, false, 2, 2, 3, 2, a, 3, b, 2, -1, c, 2, 1); err != nil {
		t.Fatal(err)
	}
	want := []float32{115, 127, 277, 307}
	for i := range want {
		if c[i] != want[i] {
			t.Fatalf("got %v, want %v", c, want)
		}
	}
}

func benchSgemm(bm *testing.B, size, threads int) {
	r := rand.New(rand.NewSource(4))
	a := randSlice(r, size*size)
	b := randSlice(r, size*size)
	c := make([]float32, size*size)
	bm.ResetTimer()
	for i := 0; i < bm.N; i++ {
		if err := Sgemm(false, false, size, size, size, 1, a, size, b, size, 0, c, size, threads); err != nil {
			bm.Fatal(err)
		}
	}
	bm.ReportMetric(2*float64(size)*float64(size)*float64(size)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm1024 measures a 1024^3 product on one and two goroutines.
func BenchmarkSgemm1024(bm *testing.B) {
	for _, threads := range []int{1, 2} {
		bm.Run(fmt.Sprintf("threads=%d", threads), func(bm *testing.B) { benchSgemm(bm, 1024, threads) })
	}
}

// microKernels lists the micro-kernels this build can run: the portable
// one always, and the one chosen at start when it differs (the AVX2+FMA
// kernel on amd64 CPUs that have it, unless built with the purego tag).
func microKernels() map[string]func(int, []float32, []float32, []float32, int, float32, int, int, *kernelEp) {
	ks := map[string]func(int, []float32, []float32, []float32, int, float32, int, int, *kernelEp){"go": microKernelGo}
	if Kernel() != "portable Go" {
		ks[Kernel()] = microKernel
	}
	return ks
}

// TestMicroKernel checks every micro-kernel on every partial block size
// and on K lengths around the assembly's 4-step unrolling against a plain
// float64 sum, and that it writes nothing outside the block: C sits in a
// larger buffer whose other values (the columns past the block up to ldc,
// the rows below, and guard bands before and after) must keep their value.
// The operands are multiples of 1/4 in [-2, 2], so every sum is exact in
// float32 and the comparison is exact.
func TestMicroKernel(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	const band = 37
	for name, kern := range microKernels() {
		for _, kc := range []int{1, 2, 3, 4, 5, 7, 8, 13, 256} {
			a := randSlice(r, kc*MR)
			b := randSlice(r, kc*NR)
			ldc := NR + 3
			for mv := 1; mv <= MR; mv++ {
				for nv := 1; nv <= NR; nv++ {
					buf := make([]float32, band+MR*ldc+band)
					for i := range buf {
						buf[i] = guard
					}
					c := buf[band : band+MR*ldc]
					for i := 0; i < mv; i++ {
						for j := 0; j < nv; j++ {
							c[i*ldc+j] = float32(i - j)
						}
					}
					// Give the kernel only the slice a caller would: up to the
					// last value of the block.
					kern(kc, a, b, c[:(mv-1)*ldc+nv], ldc, 2, mv, nv, nil)
					for i, v := range buf[:band] {
						if v != guard {
							t.Fatalf("%s kc=%d mv=%d nv=%d: wrote %d values before C", name, kc, mv, nv, band-i)
						}
					}
					for i, v := range buf[band+MR*ldc:] {
						if v != guard {
							t.Fatalf("%s kc=%d mv=%d nv=%d: wrote past C (+%d)", name, kc, mv, nv, i)
						}
					}
					for i := 0; i < MR; i++ {
						for j := 0; j < ldc; j++ {
							got := c[i*ldc+j]
							if i >= mv || j >= nv {
								if got != guard {
									t.Fatalf("%s kc=%d mv=%d nv=%d: wrote c[%d][%d]", name, kc, mv, nv, i, j)
								}
								continue
							}
							var s float64
							for p := 0; p < kc; p++ {
								s += float64(a[p*MR+i]) * float64(b[p*NR+j])
							}
							if want := float64(i-j) + 2*s; float64(got) != want {
								t.Fatalf("%s kc=%d mv=%d nv=%d: c[%d][%d] = %g, want %g", name, kc, mv, nv, i, j, got, want)
							}
						}
					}
				}
			}
		}
	}
	r = rand.New(rand.NewSource(6))
	kc := 7
	a := randSlice(r, kc*MR)
	b := randSlice(r, kc*NR)
	ldc := NR + 3
	// The narrow-group kernel, used only when NR leaves 1 or 2 columns.
	for cols := 1; cols <= 2; cols++ {
		c := make([]float32, 2*ldc)
		sub2xN(kc, a, b, c, ldc, 1, 2, cols)
		for i := 0; i < 2; i++ {
			for j := 0; j < ldc; j++ {
				var want float64
				if j < cols {
					for p := 0; p < kc; p++ {
						want += float64(a[p*MR+i]) * float64(b[p*NR+j])
					}
				}
				if math.Abs(float64(c[i*ldc+j])-want) > 1e-5 {
					t.Fatalf("sub2xN cols=%d: c[%d][%d] = %g, want %g", cols, i, j, c[i*ldc+j], want)
				}
			}
		}
	}
}

// BenchmarkMicroKernel times the chosen micro-kernel on one full block with
// KC steps, its operands in the L1 cache.
func BenchmarkMicroKernel(bm *testing.B) {
	kc := KC
	a := make([]float32, kc*MR)
	b := make([]float32, kc*NR)
	c := make([]float32, MR*NR)
	for i := 0; i < bm.N; i++ {
		microKernel(kc, a, b, c, NR, 1, MR, NR, nil)
	}
	bm.ReportMetric(float64(2*MR*NR*kc)*float64(bm.N)/bm.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// TestSgemmEpilogue checks the fused bias and clamp against the float64
// product followed by the same steps, on every shape (including the
// single-row and single-column paths and K = 0) and with A packed, B
// packed, or neither.
func TestSgemmEpilogue(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	eps := []struct {
		name string
		ep   *Epilogue
	}{
		{"none", nil},
		{"bias", &Epilogue{}},
		{"relu", &Epilogue{Clamp: true, Lo: 0, Hi: float32(math.Inf(1))}},
		{"bias_clip", &Epilogue{Clamp: true, Lo: -1, Hi: 1.5}},
	}
	for _, s := range shapes() {
		for i, e := range eps {
			which := []string{"none", "A", "B"}[i%3]
			t.Run(fmt.Sprintf("%s_%s_%dx%dx%d_tA%v_tB%v", e.name, which, s.m, s.n, s.k, s.transA, s.transB), func(t *testing.T) {
				a, lda, b, ldb, c, ldc, off := operands(r, s)
				want := naive(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, b, ldb, 0, c[off:], ldc)
				var ep *Epilogue
				if e.ep != nil {
					cp := *e.ep
					ep = &cp
					if e.name != "relu" {
						ep.Bias = randSlice(r, s.m)
					}
					for i := 0; i < s.m; i++ {
						for j := 0; j < s.n; j++ {
							v := want[i*s.n+j]
							if ep.Bias != nil {
								v += float64(ep.Bias[i])
							}
							if ep.Clamp {
								v = math.Min(math.Max(v, float64(ep.Lo)), float64(ep.Hi))
							}
							want[i*s.n+j] = v
						}
					}
				}
				var pa *PackedA
				var pb *PackedB
				var err error
				switch which {
				case "A":
					if pa, err = PackA(s.transA, s.m, s.k, a, lda); err != nil {
						t.Fatal(err)
					}
					a = nil
				case "B":
					if pb, err = PackB(s.transB, s.k, s.n, b, ldb); err != nil {
						t.Fatal(err)
					}
					b = nil
				}
				if err := SgemmEpilogue(s.transA, s.transB, s.m, s.n, s.k, a, lda, pa, b, ldb, pb, c[off:off+(s.m-1)*ldc+s.n], ldc, ep, 2); err != nil {
					t.Fatal(err)
				}
				checkC(t, s, c, off, ldc, want)
			})
		}
	}
	if err := SgemmEpilogue(false, false, 2, 2, 2, make([]float32, 4), 2, nil, make([]float32, 4), 2, nil, make([]float32, 4), 2, &Epilogue{Bias: []float32{1}}, 1); err == nil || !strings.HasPrefix(err.Error(), "gemm: ") {
		t.Fatalf("short bias: error %v", err)
	}
}

// TestSgemmIndirect checks the product with B's rows found through
// (overlapping) offsets against the float64 product with B written out,
// for row counts on both sides of directB (B read in place or packed),
// partial blocks, A packed or not, transposed A, and an epilogue.
func TestSgemmIndirect(t *testing.T) {
	r := rand.New(rand.NewSource(21))
	for _, d := range [][3]int{{1, 1, 1}, {6, 16, 3}, {7, 37, 19}, {13, 100, 300}, {130, 50, 40}, {200, 33, 520}} {
		m, n, k := d[0], d[1], d[2]
		for _, transA := range []bool{false, true} {
			for _, packed := range []bool{false, true} {
				t.Run(fmt.Sprintf("%dx%dx%d_tA%v_packed%v", m, n, k, transA, packed), func(t *testing.T) {
					base := randSlice(r, n+3*k+11)
					boff := make([]int, k)
					bm := make([]float32, k*n)
					for p := range boff {
						boff[p] = r.Intn(len(base) - n + 1)
						copy(bm[p*n:(p+1)*n], base[boff[p]:boff[p]+n])
					}
					s := shape{m: m, n: n, k: k, transA: transA, alpha: 1, padC: 2}
					a, lda, _, _, c, ldc, off := operands(r, s)
					want := naive(transA, false, m, n, k, 1, a, lda, bm, n, 0, c[off:], ldc)
					ep := &Epilogue{Bias: randSlice(r, m), Clamp: true, Lo: -3, Hi: 4}
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							want[i*n+j] = math.Min(math.Max(want[i*n+j]+float64(ep.Bias[i]), -3), 4)
						}
					}
					var pa *PackedA
					if packed {
						var err error
						if pa, err = PackA(transA, m, k, a, lda); err != nil {
							t.Fatal(err)
						}
						a = nil
					}
					if err := SgemmIndirect(transA, m, n, k, a, lda, pa, base, boff, c[off:off+(m-1)*ldc+n], ldc, ep, 2); err != nil {
						t.Fatal(err)
					}
					checkC(t, s, c, off, ldc, want)
				})
			}
		}
	}
	b := make([]float32, 10)
	c := make([]float32, 4)
	for _, tc := range []struct {
		name string
		boff []int
	}{{"offsets count", []int{0}}, {"offset past the end", []int{0, 9}}, {"negative offset", []int{-1, 0}}} {
		err := SgemmIndirect(false, 2, 2, 2, make([]float32, 4), 2, nil, b, tc.boff, c, 2, nil, 1)
		if err == nil || !strings.HasPrefix(err.Error(), "gemm: ") {
			t.Fatalf("%s: error %v", tc.name, err)
		}
	}
}

// TestMicroKernelFinish checks how every full-block kernel (packed B, B in
// place, B through offsets; portable and assembly) finishes a block with a
// kernelEp: overwriting or adding to C, with or without the row bias, and
// clamping (NaN kept). Values are multiples of 1/4, so sums are exact.
func TestMicroKernelFinish(t *testing.T) {
	r := rand.New(rand.NewSource(31))
	type kern struct {
		name string
		run  func(kc int, a, b []float32, c []float32, ldc int, ep *kernelEp)
	}
	var kerns []kern
	for name, k := range microKernels() {
		kerns = append(kerns, kern{"packed " + name, func(kc int, a, b []float32, c []float32, ldc int, ep *kernelEp) {
			k(kc, a, b, c, ldc, 1, MR, NR, ep)
		}})
	}
	if microKernelB != nil {
		// B in place with a leading dimension of NR is the packed panel.
		kerns = append(kerns, kern{"direct", func(kc int, a, b []float32, c []float32, ldc int, ep *kernelEp) {
			microKernelB(kc, a, b, NR, c, ldc, 1, ep)
		}})
	}
	if microKernelI != nil {
		kerns = append(kerns, kern{"indirect", func(kc int, a, b []float32, c []float32, ldc int, ep *kernelEp) {
			offs := make([]int, kc)
			for p := range offs {
				offs[p] = p * NR
			}
			microKernelI(kc, a, b, offs, c, ldc, 1, ep)
		}})
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	for _, k := range kerns {
		for _, flags := range []int64{0, 1, 2, 3} {
			for _, clamp := range []bool{false, true} {
				kc := 9
				a := randSlice(r, kc*MR)
				b := randSlice(r, kc*NR)
				ldc := NR + 2
				c := make([]float32, MR*ldc)
				for i := range c {
					c[i] = guard
				}
				old := randSlice(r, MR*NR)
				old[5] = nan // a NaN in C shows only when C is added
				for i := 0; i < MR; i++ {
					copy(c[i*ldc:i*ldc+NR], old[i*NR:(i+1)*NR])
				}
				ep := &kernelEp{flags: flags, lo: -inf, hi: inf}
				for i := range ep.bias[:MR] {
					ep.bias[i] = float32(i) - 2.5
				}
				if clamp {
					ep.lo, ep.hi = -1, 1.5
				}
				k.run(kc, a, b, c, ldc, ep)
				for i := 0; i < MR; i++ {
					for j := 0; j < ldc; j++ {
						got := c[i*ldc+j]
						if j >= NR {
							if got != guard {
								t.Fatalf("%s: wrote c[%d][%d]", k.name, i, j)
							}
							continue
						}
						var want float64
						for p := 0; p < kc; p++ {
							want += float64(a[p*MR+i]) * float64(b[p*NR+j])
						}
						if flags&1 != 0 {
							want = float64(old[i*NR+j]) + want
						}
						if flags&2 != 0 {
							want += float64(ep.bias[i])
						}
						if clamp && want == want {
							want = math.Min(math.Max(want, -1), 1.5)
						}
						if want != want {
							if got == got {
								t.Fatalf("%s flags %d: c[%d][%d] = %g, want NaN", k.name, flags, i, j, got)
							}
							continue
						}
						if float64(got) != want {
							t.Fatalf("%s flags %d clamp %v: c[%d][%d] = %g, want %g", k.name, flags, clamp, i, j, got, want)
						}
					}
				}
			}
		}
	}
}
