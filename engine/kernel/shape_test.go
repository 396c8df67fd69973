package kernel

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestShapeOps(t *testing.T) {
	x := dmtT[float32]([]int{2, 3, 0, 5})
	se := func(start, end int64) []*onnx.AttributeProto {
		return []*onnx.AttributeProto{dmtInt("start", start), dmtInt("end", end)}
	}
	f16 := tensor.F16FromFloat32
	dmtRunAll(t, []dmtCase{
		{name: "shape", op: "Shape", opset: 13, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{dmtV(int64(2), 3, 0, 5)}},
		{name: "shape start end", op: "Shape", opset: 15, attrs: se(1, -1), in: []*tensor.Tensor{x}, want: []*tensor.Tensor{dmtV(int64(3), 0)}},
		{name: "shape clamped", op: "Shape", opset: 15, attrs: se(-10, 10), in: []*tensor.Tensor{x}, want: []*tensor.Tensor{dmtV(int64(2), 3, 0, 5)}},
		{name: "shape start after end", op: "Shape", opset: 15, attrs: se(3, 1), in: []*tensor.Tensor{x}, want: []*tensor.Tensor{dmtT[int64]([]int{0})}},
		{name: "shape of scalar", op: "Shape", opset: 15, in: []*tensor.Tensor{tensor.Scalar("s")}, want: []*tensor.Tensor{dmtT[int64]([]int{0})}},
		{name: "shape start before 15", op: "Shape", opset: 13, attrs: se(1, 2), in: []*tensor.Tensor{x}, wantUnsupported: true},
		{name: "size", op: "Size", opset: 13, in: []*tensor.Tensor{dmtT([]int{2, 3}, true, true, true, true, true, true)}, want: []*tensor.Tensor{tensor.Scalar(int64(6))}},
		{name: "size of empty", op: "Size", opset: 13, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{tensor.Scalar(int64(0))}},
		{name: "constant of shape default", op: "ConstantOfShape", opset: 9, in: []*tensor.Tensor{dmtV(int64(2), 1)}, want: []*tensor.Tensor{dmtT([]int{2, 1}, float32(0), 0)}},
		{name: "constant of shape int32", op: "ConstantOfShape", opset: 20, attrs: []*onnx.AttributeProto{dmtTensor("value", dmtV(int32(7)))},
			in: []*tensor.Tensor{dmtV(int64(3))}, want: []*tensor.Tensor{dmtV(int32(7), 7, 7)}},
		{name: "constant of shape scalar", op: "ConstantOfShape", opset: 20, attrs: []*onnx.AttributeProto{dmtTensor("value", dmtV(true))},
			in: []*tensor.Tensor{dmtT[int64]([]int{0})}, want: []*tensor.Tensor{tensor.Scalar(true)}},
		{name: "constant of shape negative", op: "ConstantOfShape", opset: 20, in: []*tensor.Tensor{dmtV(int64(-1))}, errPart: "negative"},
		{name: "constant of shape two values", op: "ConstantOfShape", opset: 20, attrs: []*onnx.AttributeProto{dmtTensor("value", dmtV(int32(7), 8))},
			in: []*tensor.Tensor{dmtV(int64(3))}, errPart: "one element"},
		{name: "range int", op: "Range", opset: 11, in: []*tensor.Tensor{tensor.Scalar(int32(10)), tensor.Scalar(int32(1)), tensor.Scalar(int32(-3))},
			want: []*tensor.Tensor{dmtV(int32(10), 7, 4)}},
		{name: "range empty", op: "Range", opset: 11, in: []*tensor.Tensor{tensor.Scalar(int16(1)), tensor.Scalar(int16(1)), tensor.Scalar(int16(1))},
			want: []*tensor.Tensor{dmtT[int16]([]int{0})}},
		{name: "range int64 extremes", op: "Range", opset: 11,
			in:   []*tensor.Tensor{tensor.Scalar(int64(math.MinInt64)), tensor.Scalar(int64(math.MaxInt64)), tensor.Scalar(int64(math.MaxInt64))},
			want: []*tensor.Tensor{dmtV(int64(math.MinInt64), -1, math.MaxInt64-1)}},
		{name: "range float", op: "Range", opset: 11, in: []*tensor.Tensor{tensor.Scalar(float32(0)), tensor.Scalar(float32(1)), tensor.Scalar(float32(0.25))},
			want: []*tensor.Tensor{dmtV(float32(0), 0.25, 0.5, 0.75)}},
		{name: "range float16 opset 27", op: "Range", opset: 27, in: []*tensor.Tensor{tensor.Scalar(f16(1)), tensor.Scalar(f16(2)), tensor.Scalar(f16(0.5))},
			want: []*tensor.Tensor{dmtV(f16(1), f16(1.5))}},
		{name: "range zero delta", op: "Range", opset: 11, in: []*tensor.Tensor{tensor.Scalar(int64(0)), tensor.Scalar(int64(1)), tensor.Scalar(int64(0))}, errPart: "delta"},
		{name: "range mixed types", op: "Range", opset: 11, in: []*tensor.Tensor{tensor.Scalar(int64(0)), tensor.Scalar(int32(1)), tensor.Scalar(int64(1))}, errPart: "one type"},
		{name: "eyelike", op: "EyeLike", opset: 9, in: []*tensor.Tensor{dmtT([]int{2, 3}, int32(5), 5, 5, 5, 5, 5)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, int32(1), 0, 0, 0, 1, 0)}},
		{name: "eyelike k=1 bool", op: "EyeLike", opset: 22, attrs: []*onnx.AttributeProto{dmtInt("k", 1), dmtInt("dtype", int64(tensor.Bool))},
			in:   []*tensor.Tensor{dmtT[float32]([]int{3, 3}, 0, 0, 0, 0, 0, 0, 0, 0, 0)},
			want: []*tensor.Tensor{dmtT([]int{3, 3}, false, true, false, false, false, true, false, false, false)}},
		{name: "eyelike k=-2", op: "EyeLike", opset: 22, attrs: []*onnx.AttributeProto{dmtInt("k", -2)},
			in:   []*tensor.Tensor{dmtT([]int{3, 2}, float64(9), 9, 9, 9, 9, 9)},
			want: []*tensor.Tensor{dmtT([]int{3, 2}, float64(0), 0, 0, 0, 1, 0)}},
		{name: "eyelike string dtype", op: "EyeLike", opset: 22, attrs: []*onnx.AttributeProto{dmtInt("dtype", int64(tensor.String))},
			in: []*tensor.Tensor{dmtT([]int{1, 1}, float64(9))}, wantUnsupported: true},
	})
}
