package kernel

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// smxExpect computes softmax of vals by the textbook formula.
func smxExpect(vals ...float64) []float64 {
	var s float64
	for _, v := range vals {
		s += math.Exp(v)
	}
	out := make([]float64, len(vals))
	for i, v := range vals {
		out[i] = math.Exp(v) / s
	}
	return out
}

func smxF32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func TestSoftmaxAxisSemantics(t *testing.T) {
	// x has shape [1, 2, 2]: [[1, 2], [3, 4]].
	x := rtF32([]int{1, 2, 2}, 1, 2, 3, 4)
	all4 := smxExpect(1, 2, 3, 4)
	col0, col1 := smxExpect(1, 3), smxExpect(2, 4)
	row0, row1 := smxExpect(1, 2), smxExpect(3, 4)
	lse := func(v ...float64) float64 {
		var s float64
		for _, x := range v {
			s += math.Exp(x)
		}
		return math.Log(s)
	}
	cases := []struct {
		name  string
		op    string
		opset int64
		axis  *int64
		want  []float64
	}{
		// Before opset 13 the input is flattened to 2-D at axis (default 1):
		// here one row of four values.
		{"softmax-11 default axis 1 flattens", "Softmax", 11, nil, all4},
		{"softmax-11 axis 2 rows", "Softmax", 11, smxAxis(2), []float64{row0[0], row0[1], row1[0], row1[1]}},
		{"softmax-11 axis -2", "Softmax", 11, smxAxis(-2), all4},
		// From opset 13 the softmax runs along the one axis (default -1).
		{"softmax-13 axis 1 per column", "Softmax", 13, smxAxis(1), []float64{col0[0], col1[0], col0[1], col1[1]}},
		{"softmax-13 default last axis", "Softmax", 13, nil, []float64{row0[0], row0[1], row1[0], row1[1]}},
		{"logsoftmax-13 axis 1", "LogSoftmax", 13, smxAxis(1), []float64{1 - lse(1, 3), 2 - lse(2, 4), 3 - lse(1, 3), 4 - lse(2, 4)}},
		{"logsoftmax-11 flattens", "LogSoftmax", 11, nil, []float64{1 - lse(1, 2, 3, 4), 2 - lse(1, 2, 3, 4), 3 - lse(1, 2, 3, 4), 4 - lse(1, 2, 3, 4)}},
		{"hardmax-11 flattens", "Hardmax", 11, nil, []float64{0, 0, 0, 1}},
		{"hardmax-13 axis 1", "Hardmax", 13, smxAxis(1), []float64{0, 0, 1, 1}},
		{"hardmax-13 axis 0 of size 1", "Hardmax", 13, smxAxis(0), []float64{1, 1, 1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var attrs []*onnx.AttributeProto
			if tc.axis != nil {
				attrs = append(attrs, rtInt("axis", *tc.axis))
			}
			out, err := rtRun(rtCase{op: tc.op, opset: tc.opset, attrs: attrs, in: []*tensor.Tensor{x}})
			if err != nil {
				t.Fatal(err)
			}
			rtCheck(t, out[0], rtF32([]int{1, 2, 2}, smxF32(tc.want)...))
		})
	}
}

func smxAxis(v int64) *int64 { return &v }

func TestSoftmaxTypesAndEdges(t *testing.T) {
	big := smxExpect(0, -1) // softmax(1000, 999) = softmax(0, -1)
	cases := []struct {
		name string
		c    rtCase
		want *tensor.Tensor
	}{
		{"large values do not overflow", rtCase{op: "Softmax", opset: 13, in: []*tensor.Tensor{rtF32([]int{2}, 1000, 999)}},
			rtF32([]int{2}, smxF32(big)...)},
		{"float64", rtCase{op: "Softmax", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []float64{1000, 999})}},
			tensor.FromSlice([]int{2}, big)},
		{"float16", rtCase{op: "Softmax", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []tensor.F16{tensor.F16FromFloat32(0), tensor.F16FromFloat32(0)})}},
			tensor.FromSlice([]int{2}, []tensor.F16{tensor.F16FromFloat32(0.5), tensor.F16FromFloat32(0.5)})},
		{"hardmax ties pick the first", rtCase{op: "Hardmax", opset: 13, in: []*tensor.Tensor{rtF32([]int{2, 3}, 5, 7, 7, 2, 2, 1)}},
			rtF32([]int{2, 3}, 0, 1, 0, 1, 0, 0)},
		{"hardmax strided ties pick the first", rtCase{op: "Hardmax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("axis", 0)}, in: []*tensor.Tensor{rtF32([]int{3, 2}, 1, 4, 3, 4, 3, 0)}},
			rtF32([]int{3, 2}, 0, 1, 1, 0, 0, 0)},
		{"empty tensor", rtCase{op: "Softmax", opset: 13, in: []*tensor.Tensor{rtF32([]int{0, 3})}},
			rtF32([]int{0, 3})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := rtRun(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			rtCheck(t, out[0], tc.want)
		})
	}
}

// TestSoftmaxStridedLarge checks the threaded strided path (softmax over
// channels of an NCHW map, as detection heads do) against the formula.
func TestSoftmaxStridedLarge(t *testing.T) {
	const c, hw = 5, 1000
	x := make([]float32, 2*c*hw)
	for i := range x {
		x[i] = float32((i*37)%23) / 7
	}
	want := make([]float32, len(x))
	for b := 0; b < 2; b++ {
		for p := 0; p < hw; p++ {
			vals := make([]float64, c)
			for k := 0; k < c; k++ {
				vals[k] = float64(x[(b*c+k)*hw+p])
			}
			for k, v := range smxExpect(vals...) {
				want[(b*c+k)*hw+p] = float32(v)
			}
		}
	}
	out, err := rtRun(rtCase{op: "Softmax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("axis", 1)}, in: []*tensor.Tensor{rtF32([]int{2, c, 10, 100}, x...)}})
	if err != nil {
		t.Fatal(err)
	}
	rtCheck(t, out[0], rtF32([]int{2, c, 10, 100}, want...))
}

func TestSoftmaxErrors(t *testing.T) {
	x := rtF32([]int{2, 2}, 1, 2, 3, 4)
	for _, c := range []rtCase{
		{op: "Softmax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("axis", 2)}, in: []*tensor.Tensor{x}},
		{op: "Softmax", opset: 11, attrs: []*onnx.AttributeProto{rtInt("axis", 3)}, in: []*tensor.Tensor{x}},
		{op: "Softmax", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{1}, []int32{1})}},
	} {
		if _, err := rtRun(c); err == nil {
			t.Errorf("%s-%d %v: no error", c.op, c.opset, c.attrs)
		}
	}
}

// TestSmxExpAccuracy compares the fast exponential with math.Exp.
func TestSmxExpAccuracy(t *testing.T) {
	worst := 0.0
	for x := -744.0; x <= 709; x += 0.0137 {
		want, got := math.Exp(x), smxExp(x)
		if want < 0x1p-1022 {
			// Subnormal results carry fewer significant bits.
			if math.Abs(got-want) > 0x1p-1074*2 && math.Abs(got-want) > 1e-8*want {
				t.Fatalf("exp(%v) = %v, want %v", x, got, want)
			}
			continue
		}
		if e := math.Abs(got-want) / want; e > worst {
			worst = e
		}
	}
	if worst > 1e-8 {
		t.Errorf("largest relative error %g, want below 1e-8", worst)
	}
	for _, tc := range []struct{ x, want float64 }{
		{0, 1}, {-800, 0}, {800, math.Inf(1)}, {math.Inf(-1), 0}, {math.Inf(1), math.Inf(1)},
	} {
		if got := smxExp(tc.x); got != tc.want {
			t.Errorf("exp(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := smxExp(math.NaN()); !math.IsNaN(got) {
		t.Errorf("exp(NaN) = %v", got)
	}
}
