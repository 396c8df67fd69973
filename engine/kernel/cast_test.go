package kernel

import (
	"errors"
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestCast(t *testing.T) {
	to := func(dt tensor.DataType) []*onnx.AttributeProto {
		return []*onnx.AttributeProto{ewInt("to", int64(dt))}
	}
	inf := math.Inf(1)
	runEwCases(t, []ewCase{
		{name: "float to int32 truncates", op: "Cast", opset: 13, attrs: to(tensor.Int32),
			in: []*tensor.Tensor{ewT([]int{3}, float32(1.9), -1.9, 0)}, want: ewT([]int{3}, int32(1), -1, 0)},
		{name: "int to uint8 wraps", op: "Cast", opset: 13, attrs: to(tensor.Uint8),
			in: []*tensor.Tensor{ewT([]int{2}, int32(257), -1)}, want: ewT([]int{2}, uint8(1), 255)},
		{name: "to bool", op: "Cast", opset: 13, attrs: to(tensor.Bool),
			in: []*tensor.Tensor{ewT([]int{3}, 0.0, -2.5, math.NaN())}, want: ewT([]int{3}, false, true, true)},
		{name: "float to float16", op: "Cast", opset: 13, attrs: to(tensor.Float16),
			in:   []*tensor.Tensor{ewT([]int{2}, float32(1.5), 65536)},
			want: ewT([]int{2}, tensor.F16(0x3e00), tensor.F16(0x7c00))},
		{name: "same type", op: "Cast", opset: 13, attrs: to(tensor.Float32),
			in: []*tensor.Tensor{ewT([]int{2}, float32(1.5), 2)}, want: ewT([]int{2}, float32(1.5), 2)},
		{name: "string to float", op: "Cast", opset: 13, attrs: to(tensor.Float32),
			in:   []*tensor.Tensor{ewT([]int{6}, "3.14", "1e-5", "-INF", "+INF", "inf", "1E8")},
			want: ewT([]int{6}, float32(3.14), 1e-5, float32(-inf), float32(inf), float32(inf), 1e8)},
		{name: "string nan", op: "Cast", opset: 13, attrs: to(tensor.Float64),
			in: []*tensor.Tensor{ewT([]int{2}, "NaN", "nan")}, want: ewT([]int{2}, math.NaN(), math.NaN())},
		{name: "string to int", op: "Cast", opset: 13, attrs: to(tensor.Int64),
			in: []*tensor.Tensor{ewT([]int{3}, "1000", "-7", "100.5")}, want: ewT([]int{3}, int64(1000), -7, 100)},
		{name: "string garbage", op: "Cast", opset: 13, attrs: to(tensor.Float32),
			in: []*tensor.Tensor{ewT([]int{1}, "Hello World!")}, errSub: "element 0"},
		{name: "int to string", op: "Cast", opset: 13, attrs: to(tensor.String),
			in: []*tensor.Tensor{ewT([]int{2}, int8(-5), 100)}, want: ewT([]int{2}, "-5", "100")},
		{name: "float to string unsupported", op: "Cast", opset: 13, attrs: to(tensor.String),
			in: []*tensor.Tensor{ewT([]int{1}, float32(1))}, errSub: "float32 to string", unsupported: true},
		{name: "opset 1 type name", op: "Cast", opset: 1, attrs: []*onnx.AttributeProto{ewString("to", "DOUBLE")},
			in: []*tensor.Tensor{ewT([]int{1}, int32(3))}, want: ewT([]int{1}, 3.0)},
		{name: "saturate read", op: "Cast", opset: 19, attrs: append(to(tensor.Int8), ewInt("saturate", 0)),
			in: []*tensor.Tensor{ewT([]int{1}, int32(3))}, want: ewT([]int{1}, int8(3))},
		{name: "bad round mode", op: "Cast", opset: 25, attrs: append(to(tensor.Int8), ewString("round_mode", "sideways")),
			in: []*tensor.Tensor{ewT([]int{1}, int32(3))}, errSub: "round_mode"},
		{name: "castlike", op: "CastLike", opset: 15,
			in: []*tensor.Tensor{ewT([]int{2}, 1.75, -3), ewT(nil, int16(0))}, want: ewT([]int{2}, int16(1), -3)},
		{name: "castlike int4", op: "CastLike", opset: 21,
			in:   []*tensor.Tensor{ewT([]int{3}, float32(7), -8, 8), {DType: tensor.Int4, Data: []int8{0}}},
			want: &tensor.Tensor{DType: tensor.Int4, Shape: []int{3}, Data: []int8{7, -8, -8}}},
	})
}

func TestCastUnsupportedTargets(t *testing.T) {
	for _, dt := range []tensor.DataType{tensor.Float8E4M3FN, tensor.Float8E5M2, tensor.Float4E2M1, tensor.Int2, tensor.Complex64} {
		_, err := ewBuild(t, "Cast", 25, 1, ewInt("to", int64(dt)), ewInt("saturate", 0))
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("cast to %v: error %v, want ErrUnsupported", dt, err)
		}
	}
	if _, err := ewBuild(t, "Cast", 13, 1); err == nil || errors.Is(err, ErrUnsupported) {
		t.Errorf("cast without to: error %v, want an invalid-model error", err)
	}
}
