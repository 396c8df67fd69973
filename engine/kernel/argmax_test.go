package kernel

import (
	"errors"
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestArgMaxMin(t *testing.T) {
	// [[2, 9, 9], [7, 1, 7]]
	x := rtF32([]int{2, 3}, 2, 9, 9, 7, 1, 7)
	nan := float32(math.NaN())
	cases := []struct {
		name string
		c    rtCase
		want *tensor.Tensor
	}{
		{"argmax default axis 0", rtCase{op: "ArgMax", opset: 13, in: []*tensor.Tensor{x}},
			tensor.FromSlice([]int{1, 3}, []int64{1, 0, 0})},
		{"argmax axis 1 first of ties", rtCase{op: "ArgMax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("axis", 1), rtInt("keepdims", 0)}, in: []*tensor.Tensor{x}},
			tensor.FromSlice([]int{2}, []int64{1, 0})},
		{"argmax axis -1 last of ties", rtCase{op: "ArgMax", opset: 12, attrs: []*onnx.AttributeProto{rtInt("axis", -1), rtInt("keepdims", 0), rtInt("select_last_index", 1)}, in: []*tensor.Tensor{x}},
			tensor.FromSlice([]int{2}, []int64{2, 2})},
		{"argmin axis 1", rtCase{op: "ArgMin", opset: 11, attrs: []*onnx.AttributeProto{rtInt("axis", 1)}, in: []*tensor.Tensor{x}},
			tensor.FromSlice([]int{2, 1}, []int64{0, 1})},
		{"argmin axis 0 last of ties", rtCase{op: "ArgMin", opset: 13, attrs: []*onnx.AttributeProto{rtInt("select_last_index", 1)}, in: []*tensor.Tensor{rtF32([]int{2, 2}, 1, 1, 1, 0)}},
			tensor.FromSlice([]int{1, 2}, []int64{1, 1})},
		{"int8", rtCase{op: "ArgMax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{3}, []int8{-3, 4, -128})}},
			tensor.FromSlice([]int{}, []int64{1})},
		{"uint64", rtCase{op: "ArgMin", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{3}, []uint64{math.MaxUint64, 5, 6})}},
			tensor.FromSlice([]int{}, []int64{1})},
		{"float16", rtCase{op: "ArgMax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []tensor.F16{tensor.F16FromFloat32(-1), tensor.F16FromFloat32(0.5)})}},
			tensor.FromSlice([]int{}, []int64{1})},
		{"NaN wins", rtCase{op: "ArgMax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{rtF32([]int{3}, 1, nan, 3)}},
			tensor.FromSlice([]int{}, []int64{1})},
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

func TestArgMaxErrors(t *testing.T) {
	x := rtF32([]int{2, 2}, 1, 2, 3, 4)
	cases := []struct {
		name        string
		c           rtCase
		unsupported bool
	}{
		{"select_last_index before opset 12", rtCase{op: "ArgMax", opset: 11, attrs: []*onnx.AttributeProto{rtInt("select_last_index", 1)}, in: []*tensor.Tensor{x}}, true},
		{"axis out of range", rtCase{op: "ArgMin", opset: 13, attrs: []*onnx.AttributeProto{rtInt("axis", 2)}, in: []*tensor.Tensor{x}}, false},
		{"empty axis", rtCase{op: "ArgMax", opset: 13, in: []*tensor.Tensor{rtF32([]int{0, 2})}}, false},
		{"bool input", rtCase{op: "ArgMax", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{1}, []bool{true})}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rtRun(tc.c)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrUnsupported) != tc.unsupported {
				t.Fatalf("error %v: unsupported=%v, want %v", err, !tc.unsupported, tc.unsupported)
			}
		})
	}
}
