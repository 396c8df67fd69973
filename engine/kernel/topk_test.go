package kernel

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestTopK(t *testing.T) {
	// [[3, 1, 3, 2], [0, 5, 5, 5]]
	x := rtF32([]int{2, 4}, 3, 1, 3, 2, 0, 5, 5, 5)
	nan := float32(math.NaN())
	// 20 values for the heap path (k*8 < n): v[i] = (7*i) mod 20, with
	// 19 at i=17, 18 at i=14, 17 at i=11.
	long := make([]int32, 20)
	for i := range long {
		long[i] = int32(7 * i % 20)
	}
	cases := []struct {
		name       string
		c          rtCase
		vals, idxs *tensor.Tensor
	}{
		{"opset 1 attribute k", rtCase{op: "TopK", opset: 1, attrs: []*onnx.AttributeProto{rtInt("k", 2)}, in: []*tensor.Tensor{x}},
			rtF32([]int{2, 2}, 3, 3, 5, 5), tensor.FromSlice([]int{2, 2}, []int64{0, 2, 1, 2})},
		{"opset 10 input k", rtCase{op: "TopK", opset: 10, in: []*tensor.Tensor{x, rtI64(3)}},
			rtF32([]int{2, 3}, 3, 3, 2, 5, 5, 5), tensor.FromSlice([]int{2, 3}, []int64{0, 2, 3, 1, 2, 3})},
		{"constant k", rtCase{op: "TopK", opset: 11, in: []*tensor.Tensor{x, rtI64(1)}, consts: true},
			rtF32([]int{2, 1}, 3, 5), tensor.FromSlice([]int{2, 1}, []int64{0, 1})},
		{"smallest", rtCase{op: "TopK", opset: 11, attrs: []*onnx.AttributeProto{rtInt("largest", 0)}, in: []*tensor.Tensor{x, rtI64(2)}},
			rtF32([]int{2, 2}, 1, 2, 0, 5), tensor.FromSlice([]int{2, 2}, []int64{1, 3, 0, 1})},
		{"axis 0", rtCase{op: "TopK", opset: 11, attrs: []*onnx.AttributeProto{rtInt("axis", 0)}, in: []*tensor.Tensor{x, rtI64(1)}},
			rtF32([]int{1, 4}, 3, 5, 5, 5), tensor.FromSlice([]int{1, 4}, []int64{0, 1, 1, 1})},
		{"sorted 0 still valid", rtCase{op: "TopK", opset: 11, attrs: []*onnx.AttributeProto{rtInt("sorted", 0)}, in: []*tensor.Tensor{rtF32([]int{3}, 1, 3, 2), rtI64(2)}},
			rtF32([]int{2}, 3, 2), tensor.FromSlice([]int{2}, []int64{1, 2})},
		{"k 0", rtCase{op: "TopK", opset: 11, in: []*tensor.Tensor{x, rtI64(0)}},
			rtF32([]int{2, 0}), tensor.FromSlice([]int{2, 0}, []int64{})},
		{"NaN ranks last", rtCase{op: "TopK", opset: 11, in: []*tensor.Tensor{rtF32([]int{3}, nan, 1, 2), rtI64(3)}},
			rtF32([]int{3}, 2, 1, nan), tensor.FromSlice([]int{3}, []int64{2, 1, 0})},
		{"int32 heap path", rtCase{op: "TopK", opset: 11, in: []*tensor.Tensor{tensor.FromSlice([]int{20}, long), rtI64(2)}},
			tensor.FromSlice([]int{2}, []int32{19, 18}), tensor.FromSlice([]int{2}, []int64{17, 14})},
		{"uint8 smallest heap path", rtCase{op: "TopK", opset: 11, attrs: []*onnx.AttributeProto{rtInt("largest", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{10}, []uint8{9, 4, 4, 8, 7, 6, 5, 4, 3, 9}), rtI64(1)}},
			tensor.FromSlice([]int{1}, []uint8{3}), tensor.FromSlice([]int{1}, []int64{8})},
		{"float16", rtCase{op: "TopK", opset: 11, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []tensor.F16{tensor.F16FromFloat32(1), tensor.F16FromFloat32(2)}), rtI64(1)}},
			tensor.FromSlice([]int{1}, []tensor.F16{tensor.F16FromFloat32(2)}), tensor.FromSlice([]int{1}, []int64{1})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.nOut = 2
			out, err := rtRun(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			rtCheck(t, out[0], tc.vals)
			rtCheck(t, out[1], tc.idxs)
		})
	}
}

func TestTopKErrors(t *testing.T) {
	x := rtF32([]int{3}, 1, 2, 3)
	for name, c := range map[string]rtCase{
		"k too large":             {op: "TopK", opset: 11, in: []*tensor.Tensor{x, rtI64(4)}},
		"negative k":              {op: "TopK", opset: 11, in: []*tensor.Tensor{x, rtI64(-1)}},
		"two k values":            {op: "TopK", opset: 11, in: []*tensor.Tensor{x, rtI64(1, 2)}},
		"missing k attribute":     {op: "TopK", opset: 1, in: []*tensor.Tensor{x}},
		"largest before opset 11": {op: "TopK", opset: 10, attrs: []*onnx.AttributeProto{rtInt("largest", 0)}, in: []*tensor.Tensor{x, rtI64(1)}},
		"bad axis":                {op: "TopK", opset: 11, attrs: []*onnx.AttributeProto{rtInt("axis", 1)}, in: []*tensor.Tensor{x, rtI64(1)}},
	} {
		c.nOut = 2
		if _, err := rtRun(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
