package quantize

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/tensor"
)

// The expected values below are worked by hand from the formulas in
// quantization-facts.md, on ranges chosen so the arithmetic is exact in
// binary floating point.
func TestComputeScaleZeroPoint(t *testing.T) {
	u8, _ := Range(tensor.Uint8, false, false)
	i8, _ := Range(tensor.Int8, false, false)
	i8s, _ := Range(tensor.Int8, true, false)
	u8s, _ := Range(tensor.Uint8, true, false)
	u8r, _ := Range(tensor.Uint8, false, true)
	tests := []struct {
		name      string
		lo, hi    float64
		r         QRange
		sym       bool
		scale     float64
		zeroPoint int32
	}{
		{"unit scale", -64, 191, u8, false, 1, 64},
		{"positive range widened to zero", 0, 127.5, u8, false, 0.5, 0},
		{"positive only", 2, 127.5, u8, false, 0.5, 0},
		{"negative only", -127.5, -3, u8, false, 0.5, 255},
		{"zero point tie 63.5 rounds to even 64", -31.75, 95.75, u8, false, 0.5, 64},
		{"zero point tie 64.5 rounds to even 64", -32.25, 95.25, u8, false, 0.5, 64},
		{"int8 full", -64, 63.5, i8, false, 0.5, 0},
		{"int8 symmetric", -63.5, 10, i8s, true, 0.5, 0},
		{"uint8 symmetric", -1, 127, u8s, true, 1, 127},
		{"uint8 reduced", 0, 63.5, u8r, false, 0.5, 0},
		{"all zero", 0, 0, u8, false, 1, 0},
		{"tiny range", 0, 1e-42, u8, false, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, z, err := ComputeScaleZeroPoint(tc.lo, tc.hi, tc.r, tc.sym)
			if err != nil {
				t.Fatal(err)
			}
			if float64(s) != tc.scale || z != tc.zeroPoint {
				t.Errorf("scale %g zero point %d, want %g %d", s, z, tc.scale, tc.zeroPoint)
			}
			// Real zero must be exactly representable: 0 quantizes to the
			// zero point and dequantizes to 0.
			if q := QuantizeValue(0, s, z, tc.r); q != z {
				t.Errorf("0 quantizes to %d, want the zero point %d", q, z)
			}
		})
	}
}

func TestComputeScaleZeroPointErrors(t *testing.T) {
	u8, _ := Range(tensor.Uint8, false, false)
	for _, r := range [][2]float64{{math.NaN(), 1}, {0, math.Inf(1)}, {2, 1}} {
		if _, _, err := ComputeScaleZeroPoint(r[0], r[1], u8, false); err == nil {
			t.Errorf("range %v: no error", r)
		}
	}
	if _, err := Range(tensor.Float32, false, false); err == nil {
		t.Error("float32 accepted as a quantized type")
	}
}

func TestQuantizeValue(t *testing.T) {
	u8, _ := Range(tensor.Uint8, false, false)
	i8, _ := Range(tensor.Int8, false, false)
	tests := []struct {
		x, scale float32
		zp       int32
		r        QRange
		want     int32
	}{
		{2.5, 1, 0, u8, 2},   // tie to even
		{3.5, 1, 0, u8, 4},   // tie to even
		{-2.5, 1, 0, i8, -2}, // tie to even
		{0.75, 0.5, 10, u8, 12},
		{1000, 1, 0, u8, 255},     // saturates
		{-1000, 1, 128, u8, 0},    // saturates
		{1000, 0.1, 0, i8, 127},   // saturates
		{-1000, 0.1, 0, i8, -128}, // saturates
	}
	for _, tc := range tests {
		if got := QuantizeValue(tc.x, tc.scale, tc.zp, tc.r); got != tc.want {
			t.Errorf("QuantizeValue(%g, %g, %d) = %d, want %d", tc.x, tc.scale, tc.zp, got, tc.want)
		}
	}
}

func TestWeightsPerChannel(t *testing.T) {
	// Two output channels; the second is all zero and must get scale 1.
	w := tensor.FromSlice([]int{2, 3}, []float32{-63.5, 0, 31.75, 0, 0, 0})
	p, err := ChooseWeightParams(w, WeightOptions{Type: tensor.Int8, Symmetric: true, Axis: 0})
	if err != nil {
		t.Fatal(err)
	}
	if p.Scale[0] != 0.5 || p.ZeroPoint[0] != 0 || p.Scale[1] != 1 || p.ZeroPoint[1] != 0 {
		t.Fatalf("params %+v, want scales [0.5 1] zero points [0 0]", p)
	}
	q, err := QuantizeWeight(w, p)
	if err != nil {
		t.Fatal(err)
	}
	want := []int8{-127, 0, 64, 0, 0, 0} // 31.75/0.5 = 63.5 -> 64 (half to even)
	for i, v := range q.Data.([]int8) {
		if v != want[i] {
			t.Fatalf("quantized %v, want %v", q.Data, want)
		}
	}
}

func TestBias(t *testing.T) {
	// input scale 0.5, weight scales [0.25, 0.125] -> bias scales [0.125, 0.0625]
	p := Params{Type: tensor.Int8, Scale: []float32{0.25, 0.125}, ZeroPoint: []int32{0, 0}}
	scales := BiasScales(0.5, p)
	b := tensor.FromSlice([]int{2}, []float32{1, -0.03125})
	q, err := QuantizeBias(b, scales)
	if err != nil {
		t.Fatal(err)
	}
	if got := q.Data.([]int32); got[0] != 8 || got[1] != 0 { // -0.5 -> 0 (half to even)
		t.Errorf("bias %v, want [8 0]", got)
	}
	// A bias too large for int32 at these scales enlarges the weight scale.
	huge := []float32{1e9, 1}
	i8s, _ := Range(tensor.Int8, true, false)
	adj, changed := FitBias(huge, 1e-6, p, true, i8s, nil, nil)
	if !changed || adj.Scale[0] <= p.Scale[0] || adj.Scale[1] != p.Scale[1] {
		t.Fatalf("FitBias: changed=%v scales %v", changed, adj.Scale)
	}
	bs := BiasScales(1e-6, adj)
	if v := float64(huge[0]) / float64(bs[0]); v > math.MaxInt32 {
		t.Errorf("bias still overflows: %g", v)
	}
}

// TestParallelRangesMatchSequential checks that the ranges computed over
// pieces in parallel are those of one loop in order, bit for bit: the
// first of equal values (-0 or +0) wins, NaN and infinities are skipped by
// MinMax and propagate through channelRanges as Go's min and max make them.
func TestParallelRangesMatchSequential(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	const n = 5*parallelGrain + 123
	cases := map[string]func(i int) float32{
		"zeros, -0 first": func(i int) float32 {
			if i == 3*parallelGrain+7 {
				return negZero
			}
			return 0
		},
		"-0 with a few +0": func(i int) float32 {
			if i%parallelGrain == 5 && i < 2*parallelGrain {
				return 0
			}
			return negZero
		},
		"ramp with NaN and infinities": func(i int) float32 {
			switch i % 1000 {
			case 17:
				return float32(math.NaN())
			case 400:
				return float32(math.Inf(1))
			case 401:
				return float32(math.Inf(-1))
			}
			return float32(i%7919) - 4000
		},
		"nothing finite": func(int) float32 { return float32(math.NaN()) },
	}
	bits := func(x float32) uint32 { return math.Float32bits(x) }
	for name, f := range cases {
		x := make([]float32, n)
		for i := range x {
			x[i] = f(i)
		}
		lo, hi, ok := MinMax(x)
		plo, phi, pok := minMaxParallel(x)
		if bits(lo) != bits(plo) || bits(hi) != bits(phi) || ok != pok {
			t.Errorf("%s: minMaxParallel = %v, %v, %v; MinMax = %v, %v, %v", name, plo, phi, pok, lo, hi, ok)
		}
		for _, channels := range []int{1, 3, 64} {
			shape := []int{channels, n / channels}
			w := tensor.FromSlice(shape, x[:channels*(n/channels)])
			data := w.Data.([]float32)
			inner := n / channels
			clo, chi := channelRanges(w, 0, channels)
			for c := 0; c < channels; c++ {
				l, h := float32(math.Inf(1)), float32(math.Inf(-1))
				for _, v := range data[c*inner : (c+1)*inner] {
					l, h = min(l, v), max(h, v)
				}
				if bits(l) != bits(clo[c]) || bits(h) != bits(chi[c]) {
					t.Errorf("%s, %d channels: channel %d range [%v, %v], want [%v, %v]", name, channels, c, clo[c], chi[c], l, h)
				}
			}
		}
	}
}
