package tensor

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// The reference used below is independent of float16.go: it decodes every
// 16-bit pattern with math.Ldexp from the format's definition, and rounds a
// value by binary search among the decoded values, comparing against the
// exact midpoint of the two neighbours (a 16-bit format's midpoints need at
// most 12 significant bits, so float64 holds them exactly).

// miniFormat describes a 16-bit binary floating-point format.
type miniFormat struct {
	name     string
	expBits  int
	fracBits int
}

var (
	halfFormat     = miniFormat{"float16", 5, 10}
	bfloat16Format = miniFormat{"bfloat16", 8, 7}
)

// decode returns the value of bit pattern b by the format's definition.
func (f miniFormat) decode(b uint16) float64 {
	bias := 1<<(f.expBits-1) - 1
	sign := 1.0
	if b>>15 == 1 {
		sign = -1
	}
	e := int(b>>f.fracBits) & (1<<f.expBits - 1)
	m := float64(int(b) & (1<<f.fracBits - 1))
	switch {
	case e == 1<<f.expBits-1 && m == 0:
		return sign * math.Inf(1)
	case e == 1<<f.expBits-1:
		return math.NaN()
	case e == 0:
		return sign * math.Ldexp(m, 1-bias-f.fracBits)
	}
	return sign * math.Ldexp(m+float64(int(1)<<f.fracBits), e-bias-f.fracBits)
}

// refRounder rounds float64 values to a miniFormat, to nearest, ties to even.
type refRounder struct {
	f       miniFormat
	vals    []float64 // value of pattern i for the finite non-negative patterns
	infBits uint16
	beyond  float64 // the value the next pattern after the largest would have
}

func newRefRounder(f miniFormat) *refRounder {
	r := &refRounder{f: f, infBits: uint16((1<<f.expBits - 1) << f.fracBits)}
	for b := uint16(0); b < r.infBits; b++ {
		r.vals = append(r.vals, f.decode(b))
	}
	if !sort.Float64sAreSorted(r.vals) {
		panic("reference table not sorted")
	}
	bias := 1<<(f.expBits-1) - 1
	r.beyond = math.Ldexp(1, bias+1) // 2^(emax+1)
	return r
}

// round returns the pattern nearest x (x not NaN).
func (r *refRounder) round(x float64) uint16 {
	var sign uint16
	if math.Signbit(x) {
		sign = 0x8000
		x = -x
	}
	if math.IsInf(x, 0) {
		return sign | r.infBits
	}
	// Largest index whose value is <= x.
	i := sort.Search(len(r.vals), func(k int) bool { return r.vals[k] > x }) - 1
	lo := r.vals[i]
	hi := r.beyond
	hiBits := r.infBits
	if i+1 < len(r.vals) {
		hi, hiBits = r.vals[i+1], uint16(i+1)
	}
	if x == lo {
		return sign | uint16(i)
	}
	mid := (lo + hi) / 2
	switch {
	case x < mid:
		return sign | uint16(i)
	case x > mid:
		return sign | hiBits
	}
	if i%2 == 0 {
		return sign | uint16(i)
	}
	return sign | hiBits
}

func TestF16ExhaustiveRoundTrip(t *testing.T) {
	for b := 0; b < 1<<16; b++ {
		h := F16(b)
		f := h.Float32()
		want := halfFormat.decode(uint16(b))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(f)) || math.Signbit(float64(f)) != (b>>15 == 1) {
				t.Fatalf("F16(%#04x).Float32() = %v (bits %#08x), want a NaN of the same sign", b, f, math.Float32bits(f))
			}
			if !h.IsNaN() {
				t.Fatalf("F16(%#04x).IsNaN() = false", b)
			}
			back := F16FromFloat32(f)
			if back != h|0x0200 {
				t.Fatalf("F16(%#04x) -> float32 -> F16 = %#04x, want the quiet NaN %#04x", b, back, h|0x0200)
			}
			continue
		}
		if float64(f) != want || math.Signbit(float64(f)) != math.Signbit(want) {
			t.Fatalf("F16(%#04x).Float32() = %v, want %v", b, f, want)
		}
		if h.IsNaN() {
			t.Fatalf("F16(%#04x).IsNaN() = true", b)
		}
		if back := F16FromFloat32(f); back != h {
			t.Fatalf("F16(%#04x) -> %v -> F16 = %#04x", b, f, back)
		}
		if back := F16FromFloat64(float64(f)); back != h {
			t.Fatalf("F16(%#04x) -> %v -> F16FromFloat64 = %#04x", b, f, back)
		}
	}
}

func TestBF16ExhaustiveRoundTrip(t *testing.T) {
	for b := 0; b < 1<<16; b++ {
		h := BF16(b)
		f := h.Float32()
		want := bfloat16Format.decode(uint16(b))
		if math.IsNaN(want) {
			if !math.IsNaN(float64(f)) || math.Signbit(float64(f)) != (b>>15 == 1) || !h.IsNaN() {
				t.Fatalf("BF16(%#04x).Float32() = %v, want a NaN of the same sign", b, f)
			}
			if back := BF16FromFloat32(f); back != h|0x0040 {
				t.Fatalf("BF16(%#04x) -> float32 -> BF16 = %#04x, want the quiet NaN %#04x", b, back, h|0x0040)
			}
			continue
		}
		if float64(f) != want || math.Signbit(float64(f)) != math.Signbit(want) || h.IsNaN() {
			t.Fatalf("BF16(%#04x).Float32() = %v, want %v", b, f, want)
		}
		if back := BF16FromFloat32(f); back != h {
			t.Fatalf("BF16(%#04x) -> %v -> BF16 = %#04x", b, f, back)
		}
		if back := BF16FromFloat64(float64(f)); back != h {
			t.Fatalf("BF16(%#04x) -> %v -> BF16FromFloat64 = %#04x", b, f, back)
		}
	}
}

// Hand-worked values from the IEEE 754 binary16 and bfloat16 definitions.
func TestHalfKnownValues(t *testing.T) {
	f16 := []struct {
		in   float32
		want F16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{-2, 0xc000},
		{0.5, 0x3800},
		{65504, 0x7bff},                    // largest finite
		{65519.99, 0x7bff},                 // just below the overflow midpoint
		{65520, 0x7c00},                    // the midpoint rounds to even: infinity
		{1e6, 0x7c00},                      // overflow
		{-1e6, 0xfc00},                     // negative overflow
		{float32(math.Inf(1)), 0x7c00},     // infinity
		{float32(math.Inf(-1)), 0xfc00},    // -infinity
		{0x1p-14, 0x0400},                  // smallest normal
		{0x1p-24, 0x0001},                  // smallest subnormal
		{0x1p-25, 0x0000},                  // half of it: tie, rounds to even 0
		{0x1.8p-25, 0x0001},                // three quarters: rounds up
		{0x1.8p-24, 0x0002},                // 1.5 * 2^-24: tie between 1 and 2, even is 2
		{0x1p-26, 0x0000},                  // underflow
		{1 + 0x1p-11, 0x3c00},              // tie between 1 and 1+2^-10: even is 1
		{1 + 3*0x1p-11, 0x3c02},            // tie between 1+2^-10 and 1+2^-9: even is 0x3c02
		{1 + 0x1p-11 + 0x1p-20, 0x3c01},    // just above the tie
		{0x1.ffcp-15, 0x0400},              // tie between the largest subnormal and the smallest normal: even is the normal
		{2048 + 1, 0x6800},                 // 2049: tie, even is 2048
		{2048 + 3, 0x6802},                 // 2051: tie, even is 2052
		{float32(0.1), 0x2e66},             // 0.1
		{float32(-0.333333333), 0xb555},    // -1/3
		{float32(3.14159265), 0x4248},      // pi
		{float32(1e-5), 0x00a8},            // subnormal 1e-5 ~ 167.77 * 2^-24
		{float32(6.1e-5), 0x03ff},          // just under the smallest normal: largest subnormal
		{float32(6.0975552e-5), 0x03ff},    // the largest subnormal itself
		{float32(math.MaxFloat32), 0x7c00}, // float32 max
	}
	for _, c := range f16 {
		if got := F16FromFloat32(c.in); got != c.want {
			t.Errorf("F16FromFloat32(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
		if got := F16FromFloat64(float64(c.in)); got != c.want {
			t.Errorf("F16FromFloat64(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	bf := []struct {
		in   float32
		want BF16
	}{
		{1, 0x3f80},
		{-1, 0xbf80},
		{float32(math.Copysign(0, -1)), 0x8000},
		{float32(3.14159265), 0x4049},              // pi = 0x40490fdb: rounds down
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie, even down
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie, even up
		{math.Float32frombits(0x3f808001), 0x3f81}, // just above the tie
		{math.MaxFloat32, 0x7f80},                  // rounds up to infinity
		{math.Float32frombits(0x7f7f7fff), 0x7f7f}, // largest finite bfloat16, from below
		{math.Float32frombits(0x00000001), 0x0000}, // float32 subnormal, far below
		{math.Float32frombits(0x00008000), 0x0000}, // tie at the bottom: even 0
		{math.Float32frombits(0x00018000), 0x0002}, // tie: even 2
		{float32(math.Inf(-1)), 0xff80},
	}
	for _, c := range bf {
		if got := BF16FromFloat32(c.in); got != c.want {
			t.Errorf("BF16FromFloat32(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
		if got := BF16FromFloat64(float64(c.in)); got != c.want {
			t.Errorf("BF16FromFloat64(%g) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	// float64 rounding in one step: 1 + 2^-11 + 2^-40 is just above a tie, but
	// rounding to float32 first lands on the tie and then on the even value.
	x := 1 + 0x1p-11 + 0x1p-40
	if got := F16FromFloat64(x); got != 0x3c01 {
		t.Errorf("F16FromFloat64(1+2^-11+2^-40) = %#04x, want 0x3c01", got)
	}
	if got := BF16FromFloat64(1 + 0x1p-8 + 0x1p-40); got != 0x3f81 {
		t.Errorf("BF16FromFloat64(1+2^-8+2^-40) = %#04x, want 0x3f81", got)
	}
}

func TestHalfNaN(t *testing.T) {
	for _, bits := range []uint32{0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fbfffff, 0x7fe00000, 0x7f802000} {
		f := math.Float32frombits(bits)
		neg := bits>>31 == 1
		h := F16FromFloat32(f)
		if !h.IsNaN() || h&0x0200 == 0 || (h>>15 == 1) != neg {
			t.Errorf("F16FromFloat32(NaN %#08x) = %#04x, want a quiet NaN of the same sign", bits, h)
		}
		b := BF16FromFloat32(f)
		if !b.IsNaN() || b&0x0040 == 0 || (b>>15 == 1) != neg {
			t.Errorf("BF16FromFloat32(NaN %#08x) = %#04x, want a quiet NaN of the same sign", bits, b)
		}
		d := float64(f)
		if h := F16FromFloat64(d); !h.IsNaN() || h&0x0200 == 0 || (h>>15 == 1) != neg {
			t.Errorf("F16FromFloat64(NaN) = %#04x", h)
		}
		if b := BF16FromFloat64(d); !b.IsNaN() || b&0x0040 == 0 || (b>>15 == 1) != neg {
			t.Errorf("BF16FromFloat64(NaN) = %#04x", b)
		}
	}
}

// float32Cases returns float32 test inputs for format f: exact values, exact
// midpoints (ties) and their float32 neighbours, then random values, some
// spread over every exponent and some concentrated in f's range.
func float32Cases(f miniFormat, r *refRounder, nRandom int) []float32 {
	var xs []float32
	rng := rand.New(rand.NewPCG(1, uint64(f.expBits)))
	add := func(v float64) {
		x := float32(v)
		if float64(x) != v {
			panic("inexact float32 test value")
		}
		xs = append(xs, x, -x, math.Nextafter32(x, float32(math.Inf(1))), math.Nextafter32(x, 0))
	}
	for i, v := range r.vals {
		next := r.beyond
		if i+1 < len(r.vals) {
			next = r.vals[i+1]
		}
		if f.expBits == 5 || i%7 == 0 || i < 300 || i > len(r.vals)-300 {
			add(v)
			add((v + next) / 2)
		}
	}
	bias := 1<<(f.expBits-1) - 1
	for range nRandom {
		xs = append(xs, math.Float32frombits(rng.Uint32()))
		// Random values in and around the format's range.
		e := rng.IntN(2*bias+f.fracBits+6) - bias - f.fracBits - 3
		m := 1 + rng.Float64()
		if rng.IntN(2) == 0 {
			m = -m
		}
		xs = append(xs, float32(math.Ldexp(m, e)))
	}
	return xs
}

func TestF16FromFloat32AgainstReference(t *testing.T) {
	ref := newRefRounder(halfFormat)
	n := 1_500_000
	if testing.Short() {
		n = 100_000
	}
	checked := 0
	for _, x := range float32Cases(halfFormat, ref, n) {
		if x != x {
			continue
		}
		want := F16(ref.round(float64(x)))
		if got := F16FromFloat32(x); got != want {
			t.Fatalf("F16FromFloat32(%g = %#08x) = %#04x, reference %#04x", x, math.Float32bits(x), got, want)
		}
		checked++
	}
	t.Logf("%d float32 values checked", checked)
}

func TestBF16FromFloat32AgainstReference(t *testing.T) {
	ref := newRefRounder(bfloat16Format)
	n := 1_500_000
	if testing.Short() {
		n = 100_000
	}
	checked := 0
	for _, x := range float32Cases(bfloat16Format, ref, n) {
		if x != x {
			continue
		}
		want := BF16(ref.round(float64(x)))
		if got := BF16FromFloat32(x); got != want {
			t.Fatalf("BF16FromFloat32(%g = %#08x) = %#04x, reference %#04x", x, math.Float32bits(x), got, want)
		}
		checked++
	}
	t.Logf("%d float32 values checked", checked)
}

func TestHalvesFromFloat64AgainstReference(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 50_000
	}
	for _, f := range []miniFormat{halfFormat, bfloat16Format} {
		ref := newRefRounder(f)
		conv := func(x float64) uint16 {
			if f.expBits == 5 {
				return uint16(F16FromFloat64(x))
			}
			return uint16(BF16FromFloat64(x))
		}
		rng := rand.New(rand.NewPCG(7, uint64(f.expBits)))
		var xs []float64
		for i, v := range ref.vals {
			next := ref.beyond
			if i+1 < len(ref.vals) {
				next = ref.vals[i+1]
			}
			if i%5 != 0 {
				continue
			}
			mid := (v + next) / 2
			xs = append(xs, v, mid, -mid, math.Nextafter(mid, 0), math.Nextafter(mid, math.Inf(1)))
		}
		bias := 1<<(f.expBits-1) - 1
		for range n {
			xs = append(xs, math.Float64frombits(rng.Uint64()))
			e := rng.IntN(2*bias+f.fracBits+6) - bias - f.fracBits - 3
			xs = append(xs, math.Ldexp(1+rng.Float64(), e))
		}
		for _, x := range xs {
			if x != x {
				continue
			}
			if got, want := conv(x), ref.round(x); got != want {
				t.Fatalf("%s from float64 %g (%#016x) = %#04x, reference %#04x", f.name, x, math.Float64bits(x), got, want)
			}
		}
		t.Logf("%s: %d float64 values checked", f.name, len(xs))
	}
}

func BenchmarkF16FromFloat32(b *testing.B) {
	xs := make([]float32, 4096)
	for i := range xs {
		xs[i] = float32(i)*0.37 - 700
	}
	var sink F16
	for b.Loop() {
		for _, x := range xs {
			sink ^= F16FromFloat32(x)
		}
	}
	_ = sink
}
