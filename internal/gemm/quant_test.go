package gemm

import (
	"math"
	"math/rand"
	"testing"
)

// refRound is the scalar arithmetic of the engine's quantized kernels,
// written independently of quant.go: clamp (NaN to lo), round half to even
// in float64 (exact for these magnitudes), add zp.
func refRound(v, lo, hi float32, zp int32) byte {
	if !(v >= lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return byte(int32(math.RoundToEven(float64(v))) + zp)
}

// quantBounds returns the clamp limits of an 8-bit type for zero point zp.
func quantBounds(signed bool, zp int32) (lo, hi float32) {
	if signed {
		return float32(-128 - zp), float32(127 - zp)
	}
	return float32(0 - zp), float32(255 - zp)
}

// quantZP returns a random zero point of an 8-bit type.
func quantZP(r *rand.Rand, signed bool) int32 {
	if signed {
		return int32(r.Intn(256) - 128)
	}
	return int32(r.Intn(256))
}

// edgeInts returns accumulators with ties, large magnitudes and extremes.
func edgeInts(r *rand.Rand, n int) []int32 {
	special := []int32{0, 1, -1, 2, -2, 3, -3, 5, -5, 127, 128, -128, -129, 255, 256, 1 << 20, -(1 << 20),
		1<<24 + 1, -(1<<24 + 1), math.MaxInt32, math.MinInt32, math.MaxInt32 - 3, math.MinInt32 + 5}
	a := make([]int32, n)
	for i := range a {
		switch r.Intn(4) {
		case 0:
			a[i] = special[r.Intn(len(special))]
		case 1:
			a[i] = int32(r.Uint32())
		default:
			a[i] = int32(r.Intn(4001) - 2000)
		}
	}
	return a
}

func TestRequantize(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	mults := []float32{0.5, 0.25, 1, 0.125, 1.5, 0.0123, 3e-5, 2.5, 1e6, -0.5, -0.0371,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 0}
	for trial := 0; trial < 400; trial++ {
		n := r.Intn(70)
		if trial%10 == 0 {
			n = 1000 + r.Intn(40)
		}
		signed := trial%2 == 1
		zp := quantZP(r, signed)
		lo, hi := quantBounds(signed, zp)
		acc := edgeInts(r, n+r.Intn(3))
		bias := int32(0)
		if r.Intn(2) == 0 {
			bias = int32(r.Intn(20001) - 10000)
		}
		if trial%37 == 0 {
			bias = math.MaxInt32 // wraps in both
		}
		var mult []float32
		if r.Intn(2) == 0 {
			mult = []float32{mults[r.Intn(len(mults))]}
			if r.Intn(2) == 0 {
				mult[0] = r.Float32() * 0.1
			}
		} else {
			mult = make([]float32, n)
			for i := range mult {
				if r.Intn(5) == 0 {
					mult[i] = mults[r.Intn(len(mults))]
				} else {
					mult[i] = r.Float32() * 0.05
				}
			}
		}
		got := make([]byte, n)
		Requantize(got, acc, bias, mult, lo, hi, zp, signed)
		for i := range got {
			m := mult[0]
			if len(mult) > 1 {
				m = mult[i]
			}
			want := refRound(float32(acc[i]+bias)*m, lo, hi, zp)
			if got[i] != want {
				t.Fatalf("trial %d (signed %v, zp %d): value %d: acc %d bias %d mult %g: got %d, want %d", trial, signed, zp, i, acc[i], bias, m, got[i], want)
			}
		}
	}
}

func TestRequantizeTies(t *testing.T) {
	// Every x.5 between -300 and 300 with multiplier 0.5, both signs of
	// rounding, each zero point.
	var acc []int32
	for a := int32(-601); a <= 601; a++ {
		acc = append(acc, a)
	}
	for _, signed := range []bool{false, true} {
		for zp := int32(-128); zp < 256; zp++ {
			if signed && zp > 127 || !signed && zp < 0 {
				continue
			}
			lo, hi := quantBounds(signed, zp)
			got := make([]byte, len(acc))
			Requantize(got, acc, 0, []float32{0.5}, lo, hi, zp, signed)
			for i, a := range acc {
				if want := refRound(float32(a)*0.5, lo, hi, zp); got[i] != want {
					t.Fatalf("signed %v zp %d acc %d: got %d, want %d", signed, zp, a, got[i], want)
				}
			}
		}
	}
}

func TestQuantize(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	special := []float32{0, float32(math.Copysign(0, -1)), 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 127.5, -128.5, 255.5, 1e30, -1e30,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), math.SmallestNonzeroFloat32, math.MaxFloat32}
	scales := []float32{1, 0.5, 0.1, 0.0078125, 3.3, 1e-30, float32(math.Inf(1))}
	for trial := 0; trial < 400; trial++ {
		n := r.Intn(70)
		if trial%10 == 0 {
			n = 999
		}
		signed := trial%2 == 1
		zp := quantZP(r, signed)
		lo, hi := quantBounds(signed, zp)
		x := make([]float32, n)
		for i := range x {
			if r.Intn(4) == 0 {
				x[i] = special[r.Intn(len(special))]
			} else {
				x[i] = float32(r.NormFloat64() * 3)
			}
		}
		s := scales[r.Intn(len(scales))]
		if r.Intn(2) == 0 {
			s = r.Float32()*0.1 + 1e-4
		}
		got := make([]byte, n)
		Quantize(got, x, s, lo, hi, zp, signed)
		for i := range got {
			if want := refRound(x[i]/s, lo, hi, zp); got[i] != want {
				t.Fatalf("trial %d: x %g scale %g zp %d signed %v: got %d, want %d", trial, x[i], s, zp, signed, got[i], want)
			}
		}
	}
}

func TestDequantize(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	for trial := 0; trial < 200; trial++ {
		n := r.Intn(70)
		if trial%10 == 0 {
			n = 1001
		}
		signed := trial%2 == 1
		zp := quantZP(r, signed)
		x := make([]byte, n)
		r.Read(x)
		s := r.Float32()*0.1 + 1e-5
		if trial%17 == 0 {
			s = float32(math.Inf(1))
		}
		got := make([]float32, n)
		Dequantize(got, x, zp, s, signed)
		for i := range got {
			v := int32(x[i])
			if signed {
				v = int32(int8(x[i]))
			}
			want := float32(int64(v)-int64(zp)) * s
			if math.Float32bits(got[i]) != math.Float32bits(want) && !(got[i] != got[i] && want != want) {
				t.Fatalf("trial %d: x %d zp %d scale %g: got %g, want %g", trial, v, zp, s, got[i], want)
			}
		}
	}
}

func TestMaxBytes(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	for trial := 0; trial < 200; trial++ {
		n := r.Intn(200)
		signed := trial%2 == 1
		a := make([]byte, n)
		b := make([]byte, n+1)
		r.Read(a)
		r.Read(b)
		got := append([]byte(nil), a...)
		MaxBytes(got, b, signed)
		for i := range got {
			want := max(a[i], b[i])
			if signed {
				want = byte(max(int8(a[i]), int8(b[i])))
			}
			if got[i] != want {
				t.Fatalf("trial %d signed %v: %d vs %d: got %d, want %d", trial, signed, a[i], b[i], got[i], want)
			}
		}
	}
}

func TestQuantAllocs(t *testing.T) {
	acc := make([]int32, 100)
	dst := make([]byte, 100)
	m := []float32{0.5}
	if n := testing.AllocsPerRun(10, func() { Requantize(dst, acc, 1, m, 0, 255, 0, false) }); n != 0 {
		t.Errorf("Requantize allocates %v times", n)
	}
}

func BenchmarkRequantize(b *testing.B) {
	acc := make([]int32, 4096)
	for i := range acc {
		acc[i] = int32(i*37 - 50000)
	}
	dst := make([]byte, len(acc))
	m := []float32{0.0123}
	b.SetBytes(int64(len(acc)))
	for b.Loop() {
		Requantize(dst, acc, 7, m, -3, 252, 3, false)
	}
}

func TestPoolRowMaxBytes(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	for trial := 0; trial < 2000; trial++ {
		n := r.Intn(100)
		kw, stride := 1+r.Intn(5), 1+r.Intn(3)
		signed := trial%2 == 1
		need := max(0, (n-1)*stride+kw)
		x := make([]byte, need+r.Intn(2))
		r.Read(x)
		got := make([]byte, n)
		if err := PoolRowMaxBytes(got, x, kw, stride, signed); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			want := x[i*stride]
			for j := 1; j < kw; j++ {
				v := x[i*stride+j]
				if signed && int8(v) > int8(want) || !signed && v > want {
					want = v
				}
			}
			if got[i] != want {
				t.Fatalf("trial %d: n %d kw %d stride %d signed %v: out %d: got %d, want %d", trial, n, kw, stride, signed, i, got[i], want)
			}
		}
	}
	if err := PoolRowMaxBytes(make([]byte, 4), make([]byte, 8), 3, 2, false); err == nil {
		t.Error("short x: no error")
	}
}

func TestTruncInt32(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	for trial := 0; trial < 100; trial++ {
		n := r.Intn(100)
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(r.NormFloat64() * 1e6)
			if r.Intn(4) == 0 {
				src[i] = float32(r.Intn(1<<24) - 1<<23)
			}
		}
		dst := make([]int32, n)
		TruncInt32(dst, src)
		for i := range dst {
			if want := int32(math.Trunc(float64(src[i]))); dst[i] != want {
				t.Fatalf("%g: got %d, want %d", src[i], dst[i], want)
			}
		}
	}
}
