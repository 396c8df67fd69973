package kernel

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestSlice(t *testing.T) {
	// 3x4 matrix holding 10*row + col.
	x := dmtT([]int{3, 4}, int32(0), 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23)
	i64 := func(v ...int64) *tensor.Tensor { return dmtV(v...) }
	in := func(v ...*tensor.Tensor) []*tensor.Tensor { return append([]*tensor.Tensor{x}, v...) }
	const big, small = math.MaxInt64, math.MinInt64
	dmtRunAll(t, []dmtCase{
		{name: "rows 1..3", op: "Slice", opset: 13, in: in(i64(1), i64(3)),
			want: []*tensor.Tensor{dmtT([]int{2, 4}, int32(10), 11, 12, 13, 20, 21, 22, 23)}},
		{name: "column 2 via axes", op: "Slice", opset: 13, in: in(i64(2), i64(3), i64(1)),
			want: []*tensor.Tensor{dmtT([]int{3, 1}, int32(2), 12, 22)}},
		{name: "negative start, INT_MAX end", op: "Slice", opset: 13, in: in(i64(-2), i64(big), i64(-1)),
			want: []*tensor.Tensor{dmtT([]int{3, 2}, int32(2), 3, 12, 13, 22, 23)}},
		{name: "step 2 on both axes", op: "Slice", opset: 13, in: in(i64(0, 1), i64(big, big), i64(0, 1), i64(2, 2)),
			want: []*tensor.Tensor{dmtT([]int{2, 2}, int32(1), 3, 21, 23)}},
		{name: "reverse all columns", op: "Slice", opset: 13, in: in(i64(-1), i64(small), i64(1), i64(-1)),
			want: []*tensor.Tensor{dmtT([]int{3, 4}, int32(3), 2, 1, 0, 13, 12, 11, 10, 23, 22, 21, 20)}},
		{name: "reverse rows, step -2", op: "Slice", opset: 13, in: in(i64(big), i64(small), i64(0), i64(-2)),
			want: []*tensor.Tensor{dmtT([]int{2, 4}, int32(20), 21, 22, 23, 0, 1, 2, 3)}},
		{name: "negative step partial", op: "Slice", opset: 13, in: in(i64(3, 2), i64(0, -4), i64(1, 0), i64(-2, -1)),
			// columns 3, 1; rows 2, 1, 0 (end -4 wraps to -1, before row 0)
			want: []*tensor.Tensor{dmtT([]int{3, 2}, int32(23), 21, 13, 11, 3, 1)}},
		{name: "empty when start past end", op: "Slice", opset: 13, in: in(i64(3), i64(1), i64(1)),
			want: []*tensor.Tensor{dmtT[int32]([]int{3, 0})}},
		{name: "start out of bounds", op: "Slice", opset: 13, in: in(i64(10), i64(20)),
			want: []*tensor.Tensor{dmtT[int32]([]int{0, 4})}},
		{name: "int32 arguments", op: "Slice", opset: 13, in: in(dmtV(int32(1)), dmtV(int32(2)), dmtV(int32(1))),
			want: []*tensor.Tensor{dmtT([]int{3, 1}, int32(1), 11, 21)}},
		{name: "huge step", op: "Slice", opset: 13, in: in(i64(1), i64(big), i64(1), i64(big)),
			want: []*tensor.Tensor{dmtT([]int{3, 1}, int32(1), 11, 21)}},
		{name: "minimum step", op: "Slice", opset: 13, in: in(i64(-1), i64(small), i64(1), i64(small)),
			want: []*tensor.Tensor{dmtT([]int{3, 1}, int32(3), 13, 23)}},
		{name: "opset 1 attributes", op: "Slice", opset: 1,
			attrs: []*onnx.AttributeProto{dmtInts("starts", 1, 0), dmtInts("ends", 1000, -2), dmtInts("axes", 0, 1)}, in: in(),
			want: []*tensor.Tensor{dmtT([]int{2, 2}, int32(10), 11, 20, 21)}},
		{name: "string data", op: "Slice", opset: 13, in: []*tensor.Tensor{dmtV("a", "b", "c"), i64(-1), i64(small), i64(0), i64(-1)},
			want: []*tensor.Tensor{dmtV("c", "b", "a")}},
		{name: "step 0", op: "Slice", opset: 13, in: in(i64(0), i64(1), i64(0), i64(0)), errPart: "step 0"},
		{name: "repeated axis", op: "Slice", opset: 13, in: in(i64(0, 0), i64(1, 1), i64(0, -2)), errPart: "repeated"},
		{name: "length mismatch", op: "Slice", opset: 13, in: in(i64(0, 0), i64(1)), errPart: "lengths"},
		{name: "bad axis", op: "Slice", opset: 13, in: in(i64(0), i64(1), i64(2)), errPart: "axis"},
	})
}

func TestConcatSplit(t *testing.T) {
	a := dmtT([]int{2, 2}, float32(1), 2, 3, 4)
	b := dmtT([]int{2, 1}, float32(5), 6)
	dmtRunAll(t, []dmtCase{
		{name: "concat axis 1", op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 1)}, in: []*tensor.Tensor{a, b},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float32(1), 2, 5, 3, 4, 6)}},
		{name: "concat axis -2 with empty", op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", -2)},
			in:   []*tensor.Tensor{a, dmtT[float32]([]int{0, 2}), a},
			want: []*tensor.Tensor{dmtT([]int{4, 2}, float32(1), 2, 3, 4, 1, 2, 3, 4)}},
		{name: "concat opset 1 default axis 1", op: "Concat", opset: 1, in: []*tensor.Tensor{b, a},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float32(5), 1, 2, 6, 3, 4)}},
		{name: "concat bool", op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)}, in: []*tensor.Tensor{dmtV(true), dmtV(false, true)},
			want: []*tensor.Tensor{dmtV(true, false, true)}},
		{name: "concat shape mismatch", op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)}, in: []*tensor.Tensor{a, b}, errPart: "shape"},
		{name: "concat type mismatch", op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)}, in: []*tensor.Tensor{a, dmtT([]int{1, 2}, float64(1), 2)}, errPart: "type"},
		{name: "concat missing axis", op: "Concat", opset: 13, in: []*tensor.Tensor{a, b}, errPart: "axis"},
		{name: "split equal", op: "Split", opset: 13, nOut: 2, attrs: []*onnx.AttributeProto{dmtInt("axis", 1)}, in: []*tensor.Tensor{a},
			want: []*tensor.Tensor{dmtT([]int{2, 1}, float32(1), 3), dmtT([]int{2, 1}, float32(2), 4)}},
		{name: "split input sizes", op: "Split", opset: 13, nOut: 3, in: []*tensor.Tensor{dmtV(int64(1), 2, 3, 4, 5), dmtV(int64(2), 0, 3)},
			want: []*tensor.Tensor{dmtV(int64(1), 2), dmtT[int64]([]int{0}), dmtV(int64(3), 4, 5)}},
		{name: "split attribute sizes", op: "Split", opset: 11, nOut: 2, attrs: []*onnx.AttributeProto{dmtInts("split", 1, 4)}, in: []*tensor.Tensor{dmtV(int64(1), 2, 3, 4, 5)},
			want: []*tensor.Tensor{dmtV(int64(1)), dmtV(int64(2), 3, 4, 5)}},
		{name: "split opset 1 input sizes", op: "Split", opset: 1, nOut: 2, in: []*tensor.Tensor{dmtV(int64(1), 2, 3), dmtV(int64(2), 1)},
			want: []*tensor.Tensor{dmtV(int64(1), 2), dmtV(int64(3))}},
		{name: "split num_outputs uneven", op: "Split", opset: 18, nOut: 3, attrs: []*onnx.AttributeProto{dmtInt("num_outputs", 3)}, in: []*tensor.Tensor{dmtV("a", "b", "c", "d", "e")},
			want: []*tensor.Tensor{dmtV("a", "b"), dmtV("c", "d"), dmtV("e")}},
		{name: "split uneven without num_outputs", op: "Split", opset: 13, nOut: 2, in: []*tensor.Tensor{dmtV(int64(1), 2, 3)}, errPart: "equal parts"},
		{name: "split sizes wrong sum", op: "Split", opset: 13, nOut: 2, in: []*tensor.Tensor{dmtV(int64(1), 2, 3), dmtV(int64(1), 1)}, errPart: "add up"},
		{name: "split num_outputs mismatch", op: "Split", opset: 18, nOut: 2, attrs: []*onnx.AttributeProto{dmtInt("num_outputs", 3)}, in: []*tensor.Tensor{a}, errPart: "num_outputs"},
	})
}
