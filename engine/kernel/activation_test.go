package kernel

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestActivations(t *testing.T) {
	nan := math.NaN()
	f := func(vs ...float64) *tensor.Tensor { return ewT([]int{len(vs)}, vs...) }
	f32 := func(vs ...float32) *tensor.Tensor { return ewT([]int{len(vs)}, vs...) }
	attrs := func(a ...*onnx.AttributeProto) []*onnx.AttributeProto { return a }
	// tanh(ln y) = (y^2-1)/(y^2+1); Mish(1) = tanh(ln(1+e)).
	y := 1 + math.E
	mish1 := (y*y - 1) / (y*y + 1)
	// Phi(1), the standard normal distribution function at 1.
	const phi1 = 0.8413447460685429
	// SELU at -1: gamma*alpha*(1/e - 1) with the spec's constants.
	const seluM1 = -1.1113307412864784
	// tanh-approximated GELU at 1: 0.5*(1+tanh(sqrt(2/pi)*1.044715)).
	const geluTanh1 = 0.8411919906082768
	runEwCases(t, []ewCase{
		{name: "relu", op: "Relu", opset: 14, in: []*tensor.Tensor{f(-1, 0, 2, nan)}, want: f(0, 0, 2, nan)},
		{name: "relu int8", op: "Relu", opset: 14,
			in: []*tensor.Tensor{ewT([]int{3}, int8(-3), 0, 4)}, want: ewT([]int{3}, int8(0), 0, 4)},
		{name: "relu uint8 unsupported", op: "Relu", opset: 14,
			in: []*tensor.Tensor{ewT([]int{1}, uint8(3))}, errSub: "uint8", unsupported: true},
		{name: "relu opset 1", op: "Relu", opset: 1, attrs: attrs(ewInts("consumed_inputs", 0)),
			in: []*tensor.Tensor{f32(-1, 2)}, want: f32(0, 2)},
		{name: "leakyrelu default", op: "LeakyRelu", opset: 16, in: []*tensor.Tensor{f32(-2, 3)}, want: f32(-0.02, 3)},
		{name: "leakyrelu alpha", op: "LeakyRelu", opset: 16, attrs: attrs(ewFloat("alpha", 0.5)),
			in: []*tensor.Tensor{f(-10, 4)}, want: f(-5, 4)},
		{name: "elu", op: "Elu", opset: 22, attrs: attrs(ewFloat("alpha", 2)),
			in: []*tensor.Tensor{f(-1, 1, 0)}, want: f(2*(1/math.E-1), 1, 0)},
		{name: "selu", op: "Selu", opset: 22, in: []*tensor.Tensor{f(1, -1, 0)},
			want: f(1.05070102214813232421875, seluM1, 0)},
		{name: "selu attributes", op: "Selu", opset: 22, attrs: attrs(ewFloat("alpha", 2), ewFloat("gamma", 3)),
			in: []*tensor.Tensor{f(1, -1)}, want: f(3, 6*(1/math.E-1))},
		{name: "celu", op: "Celu", opset: 12, attrs: attrs(ewFloat("alpha", 2)),
			in: []*tensor.Tensor{f(-1, 3)}, want: f(2*(math.Exp(-0.5)-1), 3)},
		{name: "thresholdedrelu", op: "ThresholdedRelu", opset: 22,
			in: []*tensor.Tensor{f(0.5, 1, 2, -3)}, want: f(0, 0, 2, 0)},
		{name: "sigmoid", op: "Sigmoid", opset: 13,
			in: []*tensor.Tensor{f(0, math.Log(3), -math.Log(3), -1000, 1000)}, want: f(0.5, 0.75, 0.25, 0, 1)},
		{name: "hardsigmoid", op: "HardSigmoid", opset: 22,
			in: []*tensor.Tensor{f32(-5, 0, 1, 5)}, want: f32(0, 0.5, 0.7, 1)},
		{name: "hardsigmoid attributes", op: "HardSigmoid", opset: 22, attrs: attrs(ewFloat("alpha", 0.5), ewFloat("beta", 0.25)),
			in: []*tensor.Tensor{f(-1, 0, 1)}, want: f(0, 0.25, 0.75)},
		{name: "hardswish", op: "HardSwish", opset: 22,
			in: []*tensor.Tensor{f(-4, -3, 0, 1, 3, 4)}, want: f(0, 0, 0, 1.0/6+0.5, 3, 4)},
		{name: "softplus", op: "Softplus", opset: 22,
			in: []*tensor.Tensor{f(0, math.Log(3), 100, -100)}, want: f(math.Ln2, 2*math.Ln2, 100, math.Exp(-100))},
		{name: "softsign", op: "Softsign", opset: 22, in: []*tensor.Tensor{f(1, -3, 0)}, want: f(0.5, -0.75, 0)},
		// tanh(ln 2) = (4-1)/(4+1).
		{name: "tanh", op: "Tanh", opset: 13, in: []*tensor.Tensor{f(0, math.Ln2, -math.Ln2)}, want: f(0, 0.6, -0.6)},
		{name: "gelu", op: "Gelu", opset: 20, in: []*tensor.Tensor{f(0, 1, -1)}, want: f(0, phi1, -(1 - phi1))},
		{name: "gelu tanh", op: "Gelu", opset: 20, attrs: attrs(ewString("approximate", "tanh")),
			in: []*tensor.Tensor{f(0, 1)}, want: f(0, geluTanh1)},
		{name: "gelu bad approximate", op: "Gelu", opset: 20, attrs: attrs(ewString("approximate", "erf")),
			in: []*tensor.Tensor{f(0)}, errSub: "approximate"},
		{name: "mish", op: "Mish", opset: 22, in: []*tensor.Tensor{f(0, 1)}, want: f(0, mish1)},
		{name: "shrink", op: "Shrink", opset: 9, attrs: attrs(ewFloat("lambd", 1.5), ewFloat("bias", 1.5)),
			in: []*tensor.Tensor{f32(-2, -1, 0, 1, 2)}, want: f32(-0.5, 0, 0, 0, 0.5)},
		{name: "shrink default", op: "Shrink", opset: 9,
			in: []*tensor.Tensor{f32(-1, 0.4, -0.5, 1)}, want: f32(-1, 0, 0, 1)},
		{name: "shrink int8", op: "Shrink", opset: 9, attrs: attrs(ewFloat("lambd", 1), ewFloat("bias", 1)),
			in: []*tensor.Tensor{ewT([]int{3}, int8(-3), 1, 3)}, want: ewT([]int{3}, int8(-2), 0, 2)},
		{name: "sigmoid float16", op: "Sigmoid", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{1}, tensor.F16FromFloat32(0))},
			want: ewT([]int{1}, tensor.F16FromFloat32(0.5))},
	})
}

func ewInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: &name, Type: onnx.AttributeProto_INTS.Enum(), Ints: v}
}
