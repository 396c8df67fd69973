package kernel

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// Tests of the arithmetic helpers shared by the quantized operators.

func TestRNE32(t *testing.T) {
	cases := []struct{ in, want float32 }{
		{0.5, 0}, {1.5, 2}, {2.5, 2}, {3.5, 4}, {-0.5, 0}, {-1.5, -2}, {-2.5, -2},
		{0.49999997, 0}, {0.50000006, 1}, {-7.25, -7}, {100.75, 101}, {4194303.5, 4194304}, {65535, 65535},
	}
	for _, c := range cases {
		if got := rne32(c.in); got != c.want {
			t.Errorf("rne32(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

func TestQBoundsApply(t *testing.T) {
	u8 := newQBounds(0, 255, 3)
	s8 := newQBounds(-128, 127, -5)
	cases := []struct {
		name string
		b    qBounds
		in   float32
		want int32
	}{
		{"tie down", u8, 2.5, 5},
		{"tie up", u8, 3.5, 7},
		{"negative tie", s8, -2.5, -7},
		{"saturate high", u8, 1e9, 255},
		{"saturate low", u8, -1e9, 0},
		{"just inside", u8, 252.4, 255},
		{"just outside", u8, 252.6, 255},
		{"+inf", s8, float32(math.Inf(1)), 127},
		{"-inf", s8, float32(math.Inf(-1)), -128},
		{"NaN is the minimum", u8, float32(math.NaN()), 0},
		{"NaN int8", s8, float32(math.NaN()), -128},
	}
	for _, c := range cases {
		if got := c.b.apply(c.in); got != c.want {
			t.Errorf("%s: apply(%v) = %d, want %d", c.name, c.in, got, c.want)
		}
	}
	// requantize: 20 * 0.125 = 2.5 rounds to 2, plus the zero point 3.
	if got := u8.requantize(20, 0.125); got != 5 {
		t.Errorf("requantize(20, 0.125) = %d, want 5", got)
	}
}

// exactFMA32 rounds x*y+z computed exactly (big.Float) to float32.
func exactFMA32(x, y, z float32) float32 {
	p := new(big.Float).SetPrec(200).SetFloat64(float64(x))
	p.Mul(p, new(big.Float).SetFloat64(float64(y)))
	p.Add(p, new(big.Float).SetFloat64(float64(z)))
	f, _ := p.Float32()
	return f
}

func TestFMA32(t *testing.T) {
	// x*y = -2^-24 + 2^-54 and z = 1 + 2^-23: the exact sum lies just
	// above the midpoint between 1 and 1 + 2^-23, so it rounds up, while
	// rounding to float64 first lands on the midpoint, which ties to 1.
	x := float32(1 + 1.0/(1<<15))
	y := -float32(math.Ldexp(1-1.0/(1<<15), -24))
	z := float32(1 + 1.0/(1<<23))
	want := float32(1 + 1.0/(1<<23))
	if got := fma32(x, y, z); got != want {
		t.Errorf("fma32 double-rounding case = %v, want %v", got, want)
	}
	if naive := float32(float64(x)*float64(y) + float64(z)); naive == want {
		t.Fatalf("test case does not exercise double rounding")
	}
	if got := exactFMA32(x, y, z); got != want {
		t.Fatalf("reference = %v, want %v", got, want)
	}
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200000; i++ {
		x := float32(r.NormFloat64() * 100)
		y := float32(r.NormFloat64())
		z := float32(r.NormFloat64() * 50)
		if i%3 == 0 {
			z = -x * y // cancellation
		}
		if got, want := fma32(x, y, z), exactFMA32(x, y, z); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fma32(%v, %v, %v) = %v, want %v", x, y, z, got, want)
		}
	}
}

func TestMlasLogistic(t *testing.T) {
	if got := mlasLogistic(0); got != 0.5 {
		t.Errorf("logistic(0) = %v, want 0.5", got)
	}
	for v := float32(-20); v <= 20; v += 0.01 {
		got := mlasLogistic(v)
		want := 1 / (1 + math.Exp(-float64(v)))
		if math.Abs(float64(got)-want) > 2e-6 {
			t.Fatalf("logistic(%v) = %v, want %v", v, got, want)
		}
	}
}

func TestDynamicQuantParams(t *testing.T) {
	cases := []struct {
		name  string
		x     []float32
		scale float32
		zp    uint8
	}{
		// All zero or empty: scale 1, zero point 0 (ONNX Runtime's rule).
		{"zeros", []float32{0, 0, 0}, 1, 0},
		{"empty", nil, 1, 0},
		// min -1, max 3: scale 4/255, zero point round(255/4) = round(63.75) = 64.
		{"mixed", []float32{-1, 0, 3}, 4.0 / 255, 64},
		// Positive only: the range is extended to 0, zero point 0.
		{"positive", []float32{0.5, 2.55}, 2.55 / 255, 0},
		// Negative only: zero point 255.
		{"negative", []float32{-2, -0.5}, 2.0 / 255, 255},
		// min -127.5/16, max 127.5/16: scale 1/16 exactly, zero point 127.5
		// ties to 128.
		{"tie", []float32{-7.96875, 7.96875}, 0.0625, 128},
	}
	for _, c := range cases {
		s, z := dynamicQuantParams(c.x)
		if s != c.scale || z != c.zp {
			t.Errorf("%s: scale %v, zero point %d; want %v, %d", c.name, s, z, c.scale, c.zp)
		}
	}
}
