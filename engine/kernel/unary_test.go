package kernel

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestUnaryMath(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	f := func(vs ...float64) *tensor.Tensor { return ewT([]int{len(vs)}, vs...) }
	one := func(op string, opset int64, in, want *tensor.Tensor) ewCase {
		return ewCase{name: op, op: op, opset: opset, in: []*tensor.Tensor{in}, want: want}
	}
	runEwCases(t, []ewCase{
		one("Abs", 13, f(-2.5, 0, 3, -inf), f(2.5, 0, 3, inf)),
		one("Neg", 13, f(-2.5, 0, 3), f(2.5, 0, -3)),
		one("Sqrt", 13, f(4, 0, 2.25, -1), f(2, 0, 1.5, nan)),
		one("Exp", 13, f(0, 1, -inf), f(1, math.E, 0)),
		one("Log", 13, f(1, math.E, 0, -1), f(0, 1, -inf, nan)),
		one("Reciprocal", 13, f(2, -0.25, 0), f(0.5, -4, inf)),
		one("Floor", 13, f(1.5, -1.5, 2), f(1, -2, 2)),
		one("Ceil", 13, f(1.5, -1.5, 2), f(2, -1, 2)),
		// Halves go to the even neighbour.
		one("Round", 22, f(0.5, 1.5, 2.5, -0.5, -2.5, 2.3, -2.7), f(0, 2, 2, 0, -2, 2, -3)),
		one("Sign", 13, f(-3, 0, 0.1, nan), f(-1, 0, 1, nan)),
		one("Sin", 22, f(0, math.Pi/2, math.Pi/6), f(0, 1, 0.5)),
		one("Cos", 22, f(0, math.Pi, math.Pi/3), f(1, -1, 0.5)),
		one("Tan", 22, f(0, math.Pi/4), f(0, 1)),
		one("Asin", 22, f(0, 1, 0.5), f(0, math.Pi/2, math.Pi/6)),
		one("Acos", 22, f(1, -1, 2), f(0, math.Pi, nan)),
		one("Atan", 22, f(0, 1, inf), f(0, math.Pi/4, math.Pi/2)),
		// sinh(ln 2) = (2 - 1/2)/2, cosh(ln 2) = (2 + 1/2)/2.
		one("Sinh", 22, f(0, math.Ln2), f(0, 0.75)),
		one("Cosh", 22, f(0, math.Ln2), f(1, 1.25)),
		one("Asinh", 22, f(0, 0.75), f(0, math.Ln2)),
		one("Acosh", 22, f(1, 1.25, 0.5), f(0, math.Ln2, nan)),
		// atanh(1/3) = ln(2)/2.
		one("Atanh", 22, f(0, 1.0/3, 1), f(0, math.Ln2/2, inf)),
		one("Erf", 13, f(0, inf, -inf), f(0, 1, -1)),
		{name: "float32", op: "Sqrt", opset: 13,
			in: []*tensor.Tensor{ewT([]int{2}, float32(9), 0.25)}, want: ewT([]int{2}, float32(3), 0.5)},
		{name: "float16", op: "Neg", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{2}, tensor.F16FromFloat32(1.5), tensor.F16FromFloat32(-2))},
			want: ewT([]int{2}, tensor.F16FromFloat32(-1.5), tensor.F16FromFloat32(2))},
		{name: "bfloat16", op: "Floor", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{2}, tensor.BF16FromFloat32(1.5), tensor.BF16FromFloat32(-2.5))},
			want: ewT([]int{2}, tensor.BF16FromFloat32(1), tensor.BF16FromFloat32(-3))},
		{name: "abs int8 wraps at minimum", op: "Abs", opset: 13,
			in: []*tensor.Tensor{ewT([]int{3}, int8(-5), 7, -128)}, want: ewT([]int{3}, int8(5), 7, -128)},
		{name: "abs uint16", op: "Abs", opset: 13,
			in: []*tensor.Tensor{ewT([]int{2}, uint16(5), 65535)}, want: ewT([]int{2}, uint16(5), 65535)},
		{name: "neg int64", op: "Neg", opset: 13,
			in: []*tensor.Tensor{ewT([]int{2}, int64(5), -7)}, want: ewT([]int{2}, int64(-5), 7)},
		{name: "neg uint8 unsupported", op: "Neg", opset: 13,
			in: []*tensor.Tensor{ewT([]int{1}, uint8(5))}, errSub: "uint8", unsupported: true},
		{name: "sign uint32", op: "Sign", opset: 13,
			in: []*tensor.Tensor{ewT([]int{2}, uint32(0), 9)}, want: ewT([]int{2}, uint32(0), 1)},
		{name: "sign int16", op: "Sign", opset: 13,
			in: []*tensor.Tensor{ewT([]int{3}, int16(-9), 0, 9)}, want: ewT([]int{3}, int16(-1), 0, 1)},
		{name: "exp int unsupported", op: "Exp", opset: 13,
			in: []*tensor.Tensor{ewT([]int{1}, int32(1))}, errSub: "int32", unsupported: true},
		{name: "sqrt string unsupported", op: "Sqrt", opset: 13,
			in: []*tensor.Tensor{ewT([]int{1}, "x")}, errSub: "string", unsupported: true},
	})
}

func TestClip(t *testing.T) {
	f := func(vs ...float32) *tensor.Tensor { return ewT([]int{len(vs)}, vs...) }
	runEwCases(t, []ewCase{
		{name: "inputs", op: "Clip", opset: 13,
			in:   []*tensor.Tensor{f(-2, 0, 5, 7), ewT(nil, float32(-1)), ewT(nil, float32(6))},
			want: f(-1, 0, 5, 6)},
		{name: "min only", op: "Clip", opset: 13,
			in: []*tensor.Tensor{f(-2, 0, 5), ewT(nil, float32(-1))}, want: f(-1, 0, 5)},
		{name: "max only", op: "Clip", opset: 13,
			in: []*tensor.Tensor{f(-2, 0, 5), nil, ewT(nil, float32(1))}, want: f(-2, 0, 1)},
		{name: "no bounds", op: "Clip", opset: 13,
			in: []*tensor.Tensor{f(-2, 0, 5)}, want: f(-2, 0, 5)},
		{name: "min above max", op: "Clip", opset: 13,
			in:   []*tensor.Tensor{f(-2, 0, 5, 9), ewT(nil, float32(3)), ewT(nil, float32(1))},
			want: f(1, 1, 1, 1)},
		{name: "nan passes", op: "Clip", opset: 13,
			in:   []*tensor.Tensor{f(float32(math.NaN()), 4), ewT(nil, float32(0)), ewT(nil, float32(1))},
			want: f(float32(math.NaN()), 1)},
		{name: "int8", op: "Clip", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{4}, int8(-128), -3, 3, 127), ewT(nil, int8(-2)), ewT(nil, int8(100))},
			want: ewT([]int{4}, int8(-2), -2, 3, 100)},
		{name: "bound type mismatch", op: "Clip", opset: 13,
			in:     []*tensor.Tensor{f(1), ewT(nil, float64(0))},
			errSub: "bound 1 is float64"},
		{name: "bound not scalar", op: "Clip", opset: 13,
			in:     []*tensor.Tensor{f(1), ewT([]int{2}, float32(0), 1)},
			errSub: "want a scalar"},
		{name: "attributes", op: "Clip", opset: 6,
			attrs: []*onnx.AttributeProto{ewFloat("min", -1), ewFloat("max", 1)},
			in:    []*tensor.Tensor{f(-2, 0.5, 2)}, want: f(-1, 0.5, 1)},
		// From opset 6 the bounds default to the float32 range.
		{name: "attribute defaults", op: "Clip", opset: 6,
			in:   []*tensor.Tensor{f(float32(math.Inf(-1)), 0.5, float32(math.Inf(1)))},
			want: f(-math.MaxFloat32, 0.5, math.MaxFloat32)},
		{name: "opset 1 without bounds", op: "Clip", opset: 1,
			in:   []*tensor.Tensor{f(float32(math.Inf(-1)), 0.5)},
			want: f(float32(math.Inf(-1)), 0.5)},
		{name: "float16", op: "Clip", opset: 13,
			in: []*tensor.Tensor{
				ewT([]int{3}, tensor.F16FromFloat32(-3), tensor.F16FromFloat32(0.5), tensor.F16FromFloat32(3)),
				ewT(nil, tensor.F16FromFloat32(-1)), ewT(nil, tensor.F16FromFloat32(2))},
			want: ewT([]int{3}, tensor.F16FromFloat32(-1), tensor.F16FromFloat32(0.5), tensor.F16FromFloat32(2))},
	})
}

// TestUnaryLarge checks a tensor big enough to be split over threads.
func TestUnaryLarge(t *testing.T) {
	x := make([]float32, 100003)
	for i := range x {
		x[i] = float32(i%200) - 100.5
	}
	out, err := ewRun(t, "Floor", 13, []*tensor.Tensor{tensor.FromSlice([]int{len(x)}, x)})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out.Data.([]float32) {
		if want := x[i] - 0.5; v != want {
			t.Fatalf("element %d: got %v, want %v", i, v, want)
		}
	}
}
