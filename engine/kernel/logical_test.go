package kernel

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestComparisons(t *testing.T) {
	nan := float32(math.NaN())
	b := func(vs ...bool) *tensor.Tensor { return ewT([]int{len(vs)}, vs...) }
	runEwCases(t, []ewCase{
		{name: "equal float nan", op: "Equal", opset: 13,
			in: []*tensor.Tensor{ewT([]int{3}, float32(1), nan, 2), ewT([]int{3}, float32(1), nan, 3)}, want: b(true, false, false)},
		{name: "equal strings broadcast", op: "Equal", opset: 19,
			in:   []*tensor.Tensor{ewT([]int{2, 1}, "a", "b"), ewT([]int{2}, "a", "b")},
			want: ewT([]int{2, 2}, true, false, false, true)},
		{name: "equal bool", op: "Equal", opset: 13,
			in: []*tensor.Tensor{b(true, false, true), b(true, true, false)}, want: b(true, false, false)},
		{name: "less int broadcast", op: "Less", opset: 13,
			in: []*tensor.Tensor{ewT([]int{3}, int64(-1), 5, 9), ewT(nil, int64(5))}, want: b(true, false, false)},
		{name: "less or equal uint64", op: "LessOrEqual", opset: 16,
			in: []*tensor.Tensor{ewT([]int{3}, uint64(1<<63), 5, 9), ewT(nil, uint64(5))}, want: b(false, true, false)},
		{name: "greater", op: "Greater", opset: 13,
			in: []*tensor.Tensor{ewT([]int{3}, int8(-1), 5, 9), ewT([]int{3}, int8(-2), 5, 10)}, want: b(true, false, false)},
		{name: "greater or equal float16", op: "GreaterOrEqual", opset: 16,
			in: []*tensor.Tensor{
				ewT([]int{3}, tensor.F16FromFloat32(1), tensor.F16FromFloat32(-2), tensor.F16FromFloat32(0.5)),
				ewT(nil, tensor.F16FromFloat32(0.5))},
			want: b(true, false, true)},
		{name: "less bool unsupported", op: "Less", opset: 13,
			in: []*tensor.Tensor{b(true), b(false)}, errSub: "bool", unsupported: true},
		{name: "legacy broadcast", op: "Greater", opset: 1,
			attrs: []*onnx.AttributeProto{ewInt("broadcast", 1), ewInt("axis", 0)},
			in:    []*tensor.Tensor{ewT([]int{2, 2}, float32(1), 2, 3, 4), ewT([]int{2}, float32(1.5), 3.5)},
			want:  ewT([]int{2, 2}, false, true, false, true)},
	})
}

func TestLogic(t *testing.T) {
	b := func(vs ...bool) *tensor.Tensor { return ewT([]int{len(vs)}, vs...) }
	x, y := b(false, false, true, true), b(false, true, false, true)
	inf := math.Inf(1)
	fl := ewT([]int{5}, 1.0, math.NaN(), inf, -inf, 0)
	runEwCases(t, []ewCase{
		{name: "and", op: "And", opset: 7, in: []*tensor.Tensor{x, y}, want: b(false, false, false, true)},
		{name: "or", op: "Or", opset: 7, in: []*tensor.Tensor{x, y}, want: b(false, true, true, true)},
		{name: "xor", op: "Xor", opset: 7, in: []*tensor.Tensor{x, y}, want: b(false, true, true, false)},
		{name: "and broadcast", op: "And", opset: 7,
			in: []*tensor.Tensor{ewT([]int{2, 1}, true, false), ewT([]int{2}, true, false)}, want: ewT([]int{2, 2}, true, false, false, false)},
		{name: "and not bool", op: "And", opset: 7,
			in: []*tensor.Tensor{ewT([]int{1}, int32(1)), b(true)}, errSub: "want bool"},
		{name: "not", op: "Not", opset: 1, in: []*tensor.Tensor{x}, want: b(true, true, false, false)},
		{name: "isnan", op: "IsNaN", opset: 20, in: []*tensor.Tensor{fl}, want: b(false, true, false, false, false)},
		{name: "isinf", op: "IsInf", opset: 20, in: []*tensor.Tensor{fl}, want: b(false, false, true, true, false)},
		{name: "isinf positive", op: "IsInf", opset: 20, attrs: []*onnx.AttributeProto{ewInt("detect_negative", 0)},
			in: []*tensor.Tensor{fl}, want: b(false, false, true, false, false)},
		{name: "isinf negative", op: "IsInf", opset: 20, attrs: []*onnx.AttributeProto{ewInt("detect_positive", 0)},
			in: []*tensor.Tensor{fl}, want: b(false, false, false, true, false)},
		{name: "isnan float16", op: "IsNaN", opset: 20,
			in:   []*tensor.Tensor{ewT([]int{2}, tensor.F16FromFloat32(float32(math.NaN())), tensor.F16FromFloat32(1))},
			want: b(true, false)},
		{name: "isnan int unsupported", op: "IsNaN", opset: 20,
			in: []*tensor.Tensor{ewT([]int{1}, int32(1))}, errSub: "int32", unsupported: true},
	})
}
