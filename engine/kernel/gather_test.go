package kernel

import (
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestGatherFamily(t *testing.T) {
	// 3x3 matrix holding 10*row + col.
	x := dmtT([]int{3, 3}, int64(0), 1, 2, 10, 11, 12, 20, 21, 22)
	axis := func(a int64) []*onnx.AttributeProto { return []*onnx.AttributeProto{dmtInt("axis", a)} }
	dmtRunAll(t, []dmtCase{
		{name: "gather rows", op: "Gather", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(2), 0)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, int64(20), 21, 22, 0, 1, 2)}},
		{name: "gather columns 2-D indices", op: "Gather", opset: 13, attrs: axis(1), in: []*tensor.Tensor{x, dmtT([]int{1, 2}, int32(-1), 0)},
			want: []*tensor.Tensor{dmtT([]int{3, 1, 2}, int64(2), 0, 12, 10, 22, 20)}},
		{name: "gather scalar index", op: "Gather", opset: 13, in: []*tensor.Tensor{dmtV("a", "b", "c"), tensor.Scalar(int64(1))},
			want: []*tensor.Tensor{tensor.Scalar("b")}},
		{name: "gather out of range", op: "Gather", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(3))}, errPart: "out of range"},
		{name: "gather float indices", op: "Gather", opset: 13, in: []*tensor.Tensor{x, dmtV(float32(1))}, errPart: "indices"},
		{name: "gather_elements axis 1", op: "GatherElements", opset: 13, attrs: axis(1), in: []*tensor.Tensor{x, dmtT([]int{3, 2}, int64(2), 0, -1, 1, 0, 0)},
			want: []*tensor.Tensor{dmtT([]int{3, 2}, int64(2), 0, 12, 11, 20, 20)}},
		{name: "gather_elements axis 0 smaller", op: "GatherElements", opset: 13, in: []*tensor.Tensor{x, dmtT([]int{1, 2}, int64(2), 1)},
			want: []*tensor.Tensor{dmtT([]int{1, 2}, int64(20), 11)}},
		{name: "gather_elements rank", op: "GatherElements", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(0))}, errPart: "rank"},
		{name: "gathernd tuples", op: "GatherND", opset: 13, in: []*tensor.Tensor{x, dmtT([]int{2, 2}, int64(1), 2, 2, 0)},
			want: []*tensor.Tensor{dmtV(int64(12), 20)}},
		{name: "gathernd slices", op: "GatherND", opset: 13, in: []*tensor.Tensor{x, dmtT([]int{2, 1}, int64(-1), 0)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, int64(20), 21, 22, 0, 1, 2)}},
		{name: "gathernd batch_dims 1", op: "GatherND", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("batch_dims", 1)},
			// per row r: pick column idx[r].
			in:   []*tensor.Tensor{x, dmtT([]int{3, 1}, int64(2), 0, 1)},
			want: []*tensor.Tensor{dmtV(int64(2), 10, 21)}},
		{name: "gathernd batch_dims 1 slices", op: "GatherND", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("batch_dims", 1)},
			in:   []*tensor.Tensor{dmtT([]int{2, 2, 2}, int64(0), 1, 2, 3, 4, 5, 6, 7), dmtT([]int{2, 2, 1}, int64(1), 0, 0, 0)},
			want: []*tensor.Tensor{dmtT([]int{2, 2, 2}, int64(2), 3, 0, 1, 4, 5, 4, 5)}},
		{name: "gathernd tuple too long", op: "GatherND", opset: 13, in: []*tensor.Tensor{x, dmtT([]int{1, 3}, int64(0), 0, 0)}, errPart: "tuples"},
		{name: "compress axis 0", op: "Compress", opset: 11, attrs: axis(0), in: []*tensor.Tensor{x, dmtV(false, true)},
			want: []*tensor.Tensor{dmtT([]int{1, 3}, int64(10), 11, 12)}},
		{name: "compress axis -1", op: "Compress", opset: 11, attrs: axis(-1), in: []*tensor.Tensor{x, dmtV(true, false, true)},
			want: []*tensor.Tensor{dmtT([]int{3, 2}, int64(0), 2, 10, 12, 20, 22)}},
		{name: "compress flattened", op: "Compress", opset: 11, in: []*tensor.Tensor{x, dmtV(false, false, false, true, false, true)},
			want: []*tensor.Tensor{dmtV(int64(10), 12)}},
		{name: "compress too long", op: "Compress", opset: 11, attrs: axis(0), in: []*tensor.Tensor{x, dmtV(false, false, false, true)}, errPart: "condition"},
	})
}

func TestScatterFamily(t *testing.T) {
	ones := dmtT([]int{2, 3}, float32(1), 1, 1, 1, 1, 1)
	axis := func(a int64, extra ...*onnx.AttributeProto) []*onnx.AttributeProto {
		return append([]*onnx.AttributeProto{dmtInt("axis", a)}, extra...)
	}
	upd := dmtT([]int{2, 2}, float32(2), 3, 4, 5)
	ind := dmtT([]int{2, 2}, int64(0), 2, 2, -3)
	dmtRunAll(t, []dmtCase{
		{name: "elements axis 1", op: "ScatterElements", opset: 16, attrs: axis(1), in: []*tensor.Tensor{ones, ind, upd},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float32(2), 1, 3, 5, 1, 4)}},
		{name: "elements add duplicates", op: "ScatterElements", opset: 16, attrs: axis(1, dmtString("reduction", "add")),
			in:   []*tensor.Tensor{ones, dmtT([]int{1, 3}, int64(1), 1, 1), dmtT([]int{1, 3}, float32(2), 3, 4)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float32(1), 10, 1, 1, 1, 1)}},
		{name: "elements mul", op: "ScatterElements", opset: 16, attrs: axis(1, dmtString("reduction", "mul")), in: []*tensor.Tensor{ones, ind, upd},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float32(2), 1, 3, 5, 1, 4)}},
		{name: "elements max int", op: "ScatterElements", opset: 18, attrs: axis(0, dmtString("reduction", "max")),
			in:   []*tensor.Tensor{dmtV(int32(5), 1, 7), dmtV(int64(0), 1, 2, 2), dmtV(int32(3), 4, 9, 8)},
			want: []*tensor.Tensor{dmtV(int32(5), 4, 9)}},
		{name: "elements min float16", op: "ScatterElements", opset: 18, attrs: axis(0, dmtString("reduction", "min")),
			in:   []*tensor.Tensor{dmtV(tensor.F16FromFloat32(1), tensor.F16FromFloat32(2)), dmtV(int64(1)), dmtV(tensor.F16FromFloat32(-0.5))},
			want: []*tensor.Tensor{dmtV(tensor.F16FromFloat32(1), tensor.F16FromFloat32(-0.5))}},
		{name: "max needs opset 18", op: "ScatterElements", opset: 16, attrs: axis(0, dmtString("reduction", "max")), in: []*tensor.Tensor{ones, ind, upd}, errPart: "opset 18"},
		{name: "reduction on bool", op: "ScatterElements", opset: 16, attrs: axis(0, dmtString("reduction", "add")),
			in: []*tensor.Tensor{dmtV(true), dmtV(int64(0)), dmtV(false)}, errPart: "reduction"},
		{name: "deprecated scatter", op: "Scatter", opset: 10, attrs: axis(1), in: []*tensor.Tensor{dmtT([]int{1, 3}, "a", "b", "c"), dmtT([]int{1, 1}, int64(1)), dmtT([]int{1, 1}, "z")},
			want: []*tensor.Tensor{dmtT([]int{1, 3}, "a", "z", "c")}},
		{name: "elements shapes differ", op: "ScatterElements", opset: 16, in: []*tensor.Tensor{ones, ind, dmtV(float32(1))}, errPart: "shape"},
		{name: "nd rows", op: "ScatterND", opset: 16, in: []*tensor.Tensor{ones, dmtT([]int{1, 1}, int64(1)), dmtT([]int{1, 3}, float32(7), 8, 9)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float32(1), 1, 1, 7, 8, 9)}},
		{name: "nd elements add", op: "ScatterND", opset: 16, attrs: []*onnx.AttributeProto{dmtString("reduction", "add")},
			in:   []*tensor.Tensor{ones, dmtT([]int{3, 2}, int64(0), 1, 0, 1, 1, -1), dmtV(float32(2), 3, 4)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float32(1), 6, 1, 1, 1, 5)}},
		{name: "nd mul", op: "ScatterND", opset: 16, attrs: []*onnx.AttributeProto{dmtString("reduction", "mul")},
			in:   []*tensor.Tensor{dmtV(int64(2), 3), dmtT([]int{2, 1}, int64(1), 1), dmtV(int64(5), 7)},
			want: []*tensor.Tensor{dmtV(int64(2), 105)}},
		{name: "nd reduction before 16", op: "ScatterND", opset: 13, attrs: []*onnx.AttributeProto{dmtString("reduction", "add")},
			in: []*tensor.Tensor{ones, dmtT([]int{1, 1}, int64(1)), dmtT([]int{1, 3}, float32(7), 8, 9)}, wantUnsupported: true},
		{name: "nd updates shape", op: "ScatterND", opset: 16, in: []*tensor.Tensor{ones, dmtT([]int{1, 1}, int64(1)), dmtV(float32(7), 8, 9)}, errPart: "updates shape"},
		{name: "nd index out of range", op: "ScatterND", opset: 16, in: []*tensor.Tensor{ones, dmtT([]int{1, 1}, int64(2)), dmtT([]int{1, 3}, float32(7), 8, 9)}, errPart: "out of range"},
	})
}
