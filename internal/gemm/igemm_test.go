package gemm

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveIgemm is the textbook definition the tests compare against: a
// triple loop in int64, one element at a time, no packing.
func naiveIgemm[TA, TB Int8](transA, transB bool, m, n, k int, a []TA, lda int, za []int32, b []TB, ldb int, zb []int32) []int64 {
	zp := func(z []int32, i int) int64 {
		switch len(z) {
		case 0:
			return 0
		case 1:
			return int64(z[0])
		}
		return int64(z[i])
	}
	out := make([]int64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s int64
			for p := 0; p < k; p++ {
				var av, bv int64
				if transA {
					av = int64(a[p*lda+i])
				} else {
					av = int64(a[i*lda+p])
				}
				if transB {
					bv = int64(b[j*ldb+p])
				} else {
					bv = int64(b[p*ldb+j])
				}
				s += (av - zp(za, i)) * (bv - zp(zb, j))
			}
			out[i*n+j] = s
		}
	}
	return out
}

func randBytes[T Int8](r *rand.Rand, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = T(r.IntN(256))
	}
	return out
}

func randZeroPoints(r *rand.Rand, n int, signed bool) []int32 {
	if n == 0 {
		return nil
	}
	z := make([]int32, n)
	for i := range z {
		z[i] = int32(r.IntN(256))
		if signed {
			z[i] -= 128
		}
	}
	return z
}

// TestIgemmHandWorked checks a product worked out by hand:
// A = [[1 2] [3 4]] with zero point 1, B = [[5 6] [7 8]] with zero points
// per column (5, 6): (A-1) = [[0 1] [2 3]], (B-z) = [[0 0] [2 2]], so
// C = [[2 2] [6 6]].
func TestIgemmHandWorked(t *testing.T) {
	a := []uint8{1, 2, 3, 4}
	b := []int8{5, 6, 7, 8}
	c := make([]int32, 4)
	if err := Igemm(false, false, 2, 2, 2, a, 2, []int32{1}, b, 2, []int32{5, 6}, c, 2, 1); err != nil {
		t.Fatal(err)
	}
	if want := []int32{2, 2, 6, 6}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("C = %v, want %v", c, want)
	}
	// Per-row zero points of A (3, 0) and extreme int8 values of B:
	// (A-z) = [[-2 -1] [3 4]], B = [[-128 127] [127 -128]]:
	// row 0: [-2*-128 + -1*127, -2*127 + -1*-128] = [129, -126]
	// row 1: [3*-128 + 4*127, 3*127 + 4*-128] = [124, -131].
	b2 := []int8{-128, 127, 127, -128}
	if err := Igemm(false, false, 2, 2, 2, a, 2, []int32{3, 0}, b2, 2, nil, c, 2, 1); err != nil {
		t.Fatal(err)
	}
	if want := []int32{129, -126, 124, -131}; fmt.Sprint(c) != fmt.Sprint(want) {
		t.Fatalf("C = %v, want %v", c, want)
	}
}

func TestIgemmMatchesDefinition(t *testing.T) {
	cases := []struct {
		m, n, k        int
		transA, transB bool
		zaPer, zbPer   bool
	}{
		{1, 1, 1, false, false, false, false},
		{3, 5, 7, false, false, true, true},
		{4, 8, 16, true, false, false, true},
		{7, 9, 3, false, true, true, false},
		{13, 17, 31, true, true, true, true},
		{65, 33, 600, false, false, true, true}, // several K slices and row tiles
		{2, 1030, 9, false, true, false, true},  // several column tiles
		{100, 100, 1, true, false, true, true},
		{5, 6, 0, false, false, false, false}, // empty K: C = 0
		// Whole 16-column panels of a non-transposed B (the vector
		// packer) with an odd K, partial row and column blocks.
		{7, 40, 37, false, false, true, true},
		{12, 32, 2, true, false, false, false},
		{6, 16, 513, false, false, true, false}, // an odd last slice of one value
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		for _, threads := range []int{1, 3} {
			name := fmt.Sprintf("%dx%dx%d_tA%v_tB%v_zaPer%v_zbPer%v_t%d", tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.zaPer, tc.zbPer, threads)
			t.Run(name+"/u8s8", func(t *testing.T) {
				checkIgemm[uint8, int8](t, r, tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.zaPer, tc.zbPer, threads)
			})
			t.Run(name+"/s8u8", func(t *testing.T) {
				checkIgemm[int8, uint8](t, r, tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.zaPer, tc.zbPer, threads)
			})
			t.Run(name+"/u8u8", func(t *testing.T) {
				checkIgemm[uint8, uint8](t, r, tc.m, tc.n, tc.k, tc.transA, tc.transB, tc.zaPer, tc.zbPer, threads)
			})
		}
	}
}

func checkIgemm[TA, TB Int8](t *testing.T, r *rand.Rand, m, n, k int, transA, transB, zaPer, zbPer bool, threads int) {
	t.Helper()
	lda, ldb := k+2, n+3
	if transA {
		lda = m + 1
	}
	if transB {
		ldb = k + 1
	}
	rowsA, rowsB := m, k
	if transA {
		rowsA = k
	}
	if transB {
		rowsB = n
	}
	a := randBytes[TA](r, max(rowsA*lda, 1))
	b := randBytes[TB](r, max(rowsB*ldb, 1))
	var aSigned, bSigned bool
	var x TA
	x--
	aSigned = x < 0
	var y TB
	y--
	bSigned = y < 0
	za := randZeroPoints(r, 1, aSigned)
	if zaPer {
		za = randZeroPoints(r, m, aSigned)
	}
	zb := randZeroPoints(r, 1, bSigned)
	if zbPer {
		zb = randZeroPoints(r, n, bSigned)
	}
	want := naiveIgemm(transA, transB, m, n, k, a, lda, za, b, ldb, zb)
	ldc := n + 2
	check := func(label string, c []int32) {
		t.Helper()
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				if int64(c[i*ldc+j]) != want[i*n+j] {
					t.Fatalf("%s: C[%d][%d] = %d, want %d", label, i, j, c[i*ldc+j], want[i*n+j])
				}
			}
			for j := n; j < ldc && i*ldc+j < len(c); j++ {
				if c[i*ldc+j] != -7 {
					t.Fatalf("%s: C[%d][%d] outside the result was overwritten", label, i, j)
				}
			}
		}
	}
	fresh := func() []int32 {
		c := make([]int32, m*ldc)
		for i := range c {
			c[i] = -7
		}
		return c
	}
	c := fresh()
	if err := Igemm(transA, transB, m, n, k, a, lda, za, b, ldb, zb, c, ldc, threads); err != nil {
		t.Fatal(err)
	}
	check("Igemm", c)

	pa, err := PackIA(transA, m, k, a, lda, za)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := PackIB(transB, k, n, b, ldb, zb)
	if err != nil {
		t.Fatal(err)
	}
	c = fresh()
	if err := IgemmPacked[TA, TB](false, transB, m, n, k, nil, 0, nil, pa, b, ldb, zb, nil, c, ldc, threads); err != nil {
		t.Fatal(err)
	}
	check("packed A", c)
	c = fresh()
	if err := IgemmPacked[TA, TB](transA, false, m, n, k, a, lda, za, nil, nil, 0, nil, pb, c, ldc, threads); err != nil {
		t.Fatal(err)
	}
	check("packed B", c)
	c = fresh()
	if err := IgemmPacked[TA, TB](false, false, m, n, k, nil, 0, nil, pa, nil, 0, nil, pb, c, ldc, threads); err != nil {
		t.Fatal(err)
	}
	check("both packed", c)
}

func TestIgemmErrors(t *testing.T) {
	a := make([]uint8, 6)
	b := make([]int8, 6)
	c := make([]int32, 4)
	pa, _ := PackIA(false, 2, 3, a, 3, nil)
	cases := []struct {
		name string
		call func() error
		want string
	}{
		{"negative", func() error { return Igemm(false, false, -1, 2, 3, a, 3, nil, b, 2, nil, c, 2, 1) }, "negative size"},
		{"short A", func() error { return Igemm(false, false, 3, 2, 3, a, 3, nil, b, 2, nil, c, 2, 1) }, "A holds 6 values"},
		{"short B", func() error { return Igemm(false, false, 2, 3, 3, a, 3, nil, b, 3, nil, c, 3, 1) }, "B holds 6 values"},
		{"short C", func() error { return Igemm(false, false, 2, 2, 3, a, 3, nil, b, 2, nil, c[:3], 2, 1) }, "C holds 3 values"},
		{"small lda", func() error { return Igemm(false, false, 2, 2, 3, a, 2, nil, b, 2, nil, c, 2, 1) }, "leading dimension of A"},
		{"zero points of A", func() error { return Igemm(false, false, 2, 2, 3, a, 3, []int32{1, 2, 3}, b, 2, nil, c, 2, 1) }, "3 zero points"},
		{"zero points of B", func() error { return Igemm(false, false, 2, 2, 3, a, 3, nil, b, 2, []int32{1, 2, 3}, c, 2, 1) }, "3 zero points"},
		{"zero point range", func() error { return Igemm(false, false, 2, 2, 3, a, 3, []int32{1 << 20}, b, 2, nil, c, 2, 1) }, "out of range"},
		{"packed size", func() error {
			return IgemmPacked[uint8, int8](false, false, 3, 2, 3, nil, 0, nil, pa, b, 2, nil, nil, c, 2, 1)
		}, "packed A is 2x3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "gemm: ") {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func BenchmarkIgemm(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, s := range []struct{ m, n, k int }{{64, 3136, 576}, {256, 256, 256}} {
		a := randBytes[int8](r, s.m*s.k)
		bb := randBytes[uint8](r, s.k*s.n)
		c := make([]int32, s.m*s.n)
		pa, _ := PackIA(false, s.m, s.k, a, s.k, []int32{3})
		b.Run(fmt.Sprintf("%dx%dx%d", s.m, s.n, s.k), func(b *testing.B) {
			b.SetBytes(int64(2 * s.m * s.n * s.k))
			for i := 0; i < b.N; i++ {
				_ = IgemmPacked[int8, uint8](false, false, s.m, s.n, s.k, nil, 0, nil, pa, bb, s.n, []int32{128}, nil, c, s.n, 1)
			}
		})
	}
}

// TestIgemmExtremes checks exactness where 8-bit arithmetic is most at
// risk: every product at the largest magnitude of its type pair (255*127,
// 255*-128, -128*-128 and with zero points pushing the differences to
// -383 and 511), summed over K long enough to pass 2^31 across slices
// (the result then wraps as an int32 accumulator does). A kernel that
// paired products in 16 bits (VPMADDUBSW saturates at 32767) or
// accumulated a slice in fewer bits would fail. Expected values are
// computed here in int64 and reduced mod 2^32.
func TestIgemmExtremes(t *testing.T) {
	wrap := func(v int64) int32 { return int32(uint32(v)) }
	cases := []struct {
		name   string
		a, b   int // the one value of every element
		za, zb int32
		k      int
		signed [2]bool // A signed, B signed
	}{
		{"u8 255 x s8 127", 255, 127, 0, 0, 1000, [2]bool{false, true}},
		{"u8 255 x s8 -128", 255, -128, 0, 0, 1000, [2]bool{false, true}},
		{"s8 -128 x s8 -128", -128, -128, 0, 0, 4097, [2]bool{true, true}},
		{"u8 255-(-256) x u8 0-255", 255, 0, -256, 255, 777, [2]bool{false, false}},
		{"s8 -128-255 x s8 127-(-256)", -128, 127, 255, -256, 33, [2]bool{true, true}},
		{"wraps past 2^31", 255, -128, -256, 127, 20000, [2]bool{false, true}},
	}
	for _, tc := range cases {
		for _, threads := range []int{1, 2} {
			m, n := 7, 19
			c := make([]int32, m*n)
			want := wrap(int64(tc.k) * (int64(tc.a) - int64(tc.za)) * (int64(tc.b) - int64(tc.zb)))
			var err error
			za, zb := []int32{tc.za}, []int32{tc.zb}
			switch tc.signed {
			case [2]bool{false, true}:
				err = Igemm(false, false, m, n, tc.k, fill[uint8](m*tc.k, tc.a), tc.k, za, fill[int8](tc.k*n, tc.b), n, zb, c, n, threads)
			case [2]bool{true, true}:
				err = Igemm(false, false, m, n, tc.k, fill[int8](m*tc.k, tc.a), tc.k, za, fill[int8](tc.k*n, tc.b), n, zb, c, n, threads)
			default:
				err = Igemm(false, false, m, n, tc.k, fill[uint8](m*tc.k, tc.a), tc.k, za, fill[uint8](tc.k*n, tc.b), n, zb, c, n, threads)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range c {
				if v != want {
					t.Fatalf("%s (threads %d): C[%d] = %d, want %d", tc.name, threads, i, v, want)
				}
			}
		}
	}
}

func fill[T Int8](n, v int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = T(v)
	}
	return s
}
