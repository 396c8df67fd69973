package kernel

import (
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestPad(t *testing.T) {
	x := dmtT([]int{2, 3}, int32(1), 2, 3, 4, 5, 6)
	mode := func(m string) []*onnx.AttributeProto { return []*onnx.AttributeProto{dmtString("mode", m)} }
	pads := func(v ...int64) *tensor.Tensor { return dmtV(v...) }
	dmtRunAll(t, []dmtCase{
		{name: "constant value", op: "Pad", opset: 13, in: []*tensor.Tensor{x, pads(0, 1, 1, 0), tensor.Scalar(int32(9))},
			want: []*tensor.Tensor{dmtT([]int{3, 4}, int32(9), 1, 2, 3, 9, 4, 5, 6, 9, 9, 9, 9)}},
		{name: "constant default zero", op: "Pad", opset: 11, in: []*tensor.Tensor{x, pads(1, 0, 0, 0)},
			want: []*tensor.Tensor{dmtT([]int{3, 3}, int32(0), 0, 0, 1, 2, 3, 4, 5, 6)}},
		{name: "reflect", op: "Pad", opset: 13, attrs: mode("reflect"), in: []*tensor.Tensor{x, pads(0, 2, 0, 1)},
			want: []*tensor.Tensor{dmtT([]int{2, 6}, int32(3), 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5)}},
		{name: "edge", op: "Pad", opset: 13, attrs: mode("edge"), in: []*tensor.Tensor{x, pads(1, 1, 0, 1)},
			want: []*tensor.Tensor{dmtT([]int{3, 5}, int32(1), 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6)}},
		{name: "wrap", op: "Pad", opset: 19, attrs: mode("wrap"), in: []*tensor.Tensor{x, pads(0, 1, 0, 2)},
			want: []*tensor.Tensor{dmtT([]int{2, 6}, int32(3), 1, 2, 3, 1, 2, 6, 4, 5, 6, 4, 5)}},
		{name: "wrap needs opset 19", op: "Pad", opset: 18, attrs: mode("wrap"), in: []*tensor.Tensor{x, pads(0, 1, 0, 2)}, errPart: "opset 19"},
		{name: "negative pads crop", op: "Pad", opset: 13, in: []*tensor.Tensor{x, pads(0, -1, 0, 0)},
			want: []*tensor.Tensor{dmtT([]int{2, 2}, int32(2), 3, 5, 6)}},
		{name: "crop and edge", op: "Pad", opset: 13, attrs: mode("edge"), in: []*tensor.Tensor{x, pads(0, -1, 0, 1)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, int32(2), 3, 3, 5, 6, 6)}},
		{name: "reflect size-1 axis", op: "Pad", opset: 13, attrs: mode("reflect"), in: []*tensor.Tensor{dmtT([]int{1, 2}, "a", "b"), pads(2, 0, 0, 0)},
			want: []*tensor.Tensor{dmtT([]int{3, 2}, "a", "b", "a", "b", "a", "b")}},
		{name: "axes input", op: "Pad", opset: 18, in: []*tensor.Tensor{x, pads(1, 1), nil, dmtV(int64(-1))},
			want: []*tensor.Tensor{dmtT([]int{2, 5}, int32(0), 1, 2, 3, 0, 0, 4, 5, 6, 0)}},
		{name: "opset 2 attributes", op: "Pad", opset: 2, attrs: []*onnx.AttributeProto{dmtInts("pads", 0, 0, 0, 1), dmtFloat("value", 1.5)},
			in:   []*tensor.Tensor{dmtT([]int{1, 2}, float32(1), 2)},
			want: []*tensor.Tensor{dmtT([]int{1, 3}, float32(1), 2, 1.5)}},
		{name: "opset 1 paddings", op: "Pad", opset: 1, attrs: []*onnx.AttributeProto{dmtInts("paddings", 0, 1, 0, 0), dmtString("mode", "edge")},
			in:   []*tensor.Tensor{dmtT([]int{1, 2}, float32(1), 2)},
			want: []*tensor.Tensor{dmtT([]int{1, 3}, float32(1), 1, 2)}},
		{name: "3-D reflect both sides", op: "Pad", opset: 13, attrs: mode("reflect"),
			in:   []*tensor.Tensor{dmtT([]int{1, 1, 3}, float64(1), 2, 3), pads(0, 0, 1, 0, 0, 1)},
			want: []*tensor.Tensor{dmtT([]int{1, 1, 5}, float64(2), 1, 2, 3, 2)}},
		{name: "wrong pads length", op: "Pad", opset: 13, in: []*tensor.Tensor{x, pads(1, 1)}, errPart: "pads"},
		{name: "crop too much", op: "Pad", opset: 13, in: []*tensor.Tensor{x, pads(0, -2, 0, -2)}, errPart: "crop"},
		{name: "value type", op: "Pad", opset: 13, in: []*tensor.Tensor{x, pads(0, 0, 0, 0), tensor.Scalar(float32(1))}, errPart: "constant_value"},
		{name: "unknown mode", op: "Pad", opset: 13, attrs: mode("mirror"), in: []*tensor.Tensor{x, pads(0, 0, 0, 0)}, errPart: "mode"},
	})
}
