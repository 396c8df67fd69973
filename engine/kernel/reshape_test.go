package kernel

import (
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestReshapeFamily(t *testing.T) {
	x := dmtT([]int{2, 3, 4}, make([]float32, 24)...)
	for i := range x.Data.([]float32) {
		x.Data.([]float32)[i] = float32(i)
	}
	same := func(shape ...int) *tensor.Tensor { return &tensor.Tensor{DType: x.DType, Shape: shape, Data: x.Data} }
	empty := dmtT[float32]([]int{0, 3})
	dmtRunAll(t, []dmtCase{
		{name: "reshape 0 and -1", op: "Reshape", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(0), -1)}, want: []*tensor.Tensor{same(2, 12)}},
		{name: "reshape extend", op: "Reshape", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(2), 3, 2, 2)}, want: []*tensor.Tensor{same(2, 3, 2, 2)}},
		{name: "reshape const shape", op: "Reshape", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(-1))}, consts: []bool{false, true}, want: []*tensor.Tensor{same(24)}},
		{name: "reshape count mismatch", op: "Reshape", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(5), -1)}, errPart: "cannot reshape"},
		{name: "reshape two -1", op: "Reshape", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(-1), -1)}, errPart: "more than one -1"},
		{name: "reshape 0 copies, empty input", op: "Reshape", opset: 13, in: []*tensor.Tensor{empty, dmtV(int64(0), 1, 3)}, want: []*tensor.Tensor{dmtT[float32]([]int{0, 1, 3})}},
		{name: "allowzero keeps 0", op: "Reshape", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("allowzero", 1)},
			in: []*tensor.Tensor{empty, dmtV(int64(3), 0)}, want: []*tensor.Tensor{dmtT[float32]([]int{3, 0})}},
		{name: "allowzero with -1 invalid", op: "Reshape", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("allowzero", 1)},
			in: []*tensor.Tensor{empty, dmtV(int64(0), -1)}, consts: []bool{false, true}, errPart: "allowzero"},
		{name: "reshape opset 1 attribute", op: "Reshape", opset: 1, attrs: []*onnx.AttributeProto{dmtInts("shape", 4, -1), dmtInts("consumed_inputs", 0)},
			in: []*tensor.Tensor{x}, want: []*tensor.Tensor{same(4, 6)}},
		{name: "flatten default", op: "Flatten", opset: 13, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{same(2, 12)}},
		{name: "flatten axis 0", op: "Flatten", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)}, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{same(1, 24)}},
		{name: "flatten axis 3", op: "Flatten", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 3)}, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{same(24, 1)}},
		{name: "flatten axis -1", op: "Flatten", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", -1)}, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{same(6, 4)}},
		{name: "flatten axis 4", op: "Flatten", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 4)}, in: []*tensor.Tensor{x}, errPart: "axis"},
		{name: "squeeze all", op: "Squeeze", opset: 13, in: []*tensor.Tensor{same(1, 2, 1, 12, 1)}, want: []*tensor.Tensor{same(2, 12)}},
		{name: "squeeze input axes", op: "Squeeze", opset: 13, in: []*tensor.Tensor{same(1, 2, 1, 12, 1), dmtV(int64(-1), 0)}, want: []*tensor.Tensor{same(2, 1, 12)}},
		{name: "squeeze attribute axes", op: "Squeeze", opset: 11, attrs: []*onnx.AttributeProto{dmtInts("axes", 2)}, in: []*tensor.Tensor{same(1, 2, 1, 12, 1)}, want: []*tensor.Tensor{same(1, 2, 12, 1)}},
		{name: "squeeze size 2", op: "Squeeze", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(0))}, errPart: "cannot squeeze"},
		{name: "squeeze attribute at 13", op: "Squeeze", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("axes", 0)}, in: []*tensor.Tensor{x}, wantUnsupported: true},
		{name: "unsqueeze input", op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(4), 0)}, want: []*tensor.Tensor{same(1, 2, 3, 4, 1)}},
		{name: "unsqueeze negative", op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(-2))}, want: []*tensor.Tensor{same(2, 3, 1, 4)}},
		{name: "unsqueeze attribute", op: "Unsqueeze", opset: 11, attrs: []*onnx.AttributeProto{dmtInts("axes", 1, 3)}, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{same(2, 1, 3, 1, 4)}},
		{name: "unsqueeze scalar", op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{tensor.Scalar("s"), dmtV(int64(0))}, want: []*tensor.Tensor{dmtV("s")}},
		{name: "unsqueeze repeated", op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(0), -5)}, errPart: "repeated"},
		{name: "unsqueeze missing axes", op: "Unsqueeze", opset: 11, in: []*tensor.Tensor{x}, errPart: "axes"},
	})
}

// TestReshapeSharesData checks that shape-only operators do not copy.
func TestReshapeSharesData(t *testing.T) {
	x := dmtT([]int{2, 2}, int32(1), 2, 3, 4)
	for _, c := range []dmtCase{
		{op: "Reshape", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(4))}},
		{op: "Flatten", opset: 13, in: []*tensor.Tensor{x}},
		{op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{x, dmtV(int64(0))}},
		{op: "Squeeze", opset: 13, in: []*tensor.Tensor{dmtT([]int{1, 4}, int32(1), 2, 3, 4)}},
		{op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 1, 0)}, in: []*tensor.Tensor{dmtT([]int{1, 4}, int32(1), 2, 3, 4)}},
	} {
		k, err := dmtBuild(c)
		if err != nil {
			t.Fatal(err)
		}
		out, err := k.Run(&Ctx{}, c.in)
		if err != nil {
			t.Fatal(err)
		}
		if &out[0].Data.([]int32)[0] != &c.in[0].Data.([]int32)[0] {
			t.Errorf("%s copied its input", c.op)
		}
	}
}
