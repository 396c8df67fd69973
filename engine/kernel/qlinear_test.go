package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Hand-worked cases of the quantized operators, run through the engine.
// Each expected value is derived in the comment beside it; the cases favour
// exact halves, where the rounding rule (half to even) shows.

// qhCase is one single-node model: the node's inputs are the graph inputs
// named in feeds (in order) or initializers (inits), "" for an omitted one.
type qhCase struct {
	name   string
	domain string
	opset  int64
	op     string
	inputs []string
	feeds  map[string]*tensor.Tensor
	inits  map[string]*tensor.Tensor
	attrs  []*onnx.AttributeProto
	outs   []string
	want   []*tensor.Tensor
	// wantErr, when set, is a substring of the expected error (at build
	// or run time) instead of outputs.
	wantErr string
	// unsupported expects the node to be refused as unsupported.
	unsupported bool
}

func qhU8(shape []int, v ...uint8) *tensor.Tensor { return tensor.FromSlice(shape, v) }
func qhS8(shape []int, v ...int8) *tensor.Tensor  { return tensor.FromSlice(shape, v) }
func qhF(shape []int, v ...float32) *tensor.Tensor {
	return tensor.FromSlice(shape, v)
}
func qhI32(shape []int, v ...int32) *tensor.Tensor { return tensor.FromSlice(shape, v) }
func qhSc(v float32) *tensor.Tensor                { return tensor.FromSlice([]int{}, []float32{v}) }
func qhZU(v uint8) *tensor.Tensor                  { return tensor.FromSlice([]int{}, []uint8{v}) }
func qhZS(v int8) *tensor.Tensor                   { return tensor.FromSlice([]int{}, []int8{v}) }

func qhRun(t *testing.T, c qhCase) (map[string]*tensor.Tensor, error) {
	t.Helper()
	opset := c.opset
	if opset == 0 {
		opset = 13
	}
	m := onnxbuild.New(opset)
	if opset >= 21 {
		m.M.IrVersion = proto.Int64(10)
	}
	if c.domain != "" {
		m.Opset(c.domain, 1)
	}
	for _, name := range c.inputs {
		if x, ok := c.feeds[name]; ok {
			m.Input(name, x.DType, x.Shape...)
		}
	}
	for name, v := range c.inits {
		m.Init(name, v)
	}
	m.NodeIn(c.domain, c.op, c.inputs, c.outs, c.attrs...)
	for i, o := range c.outs {
		dt := tensor.Float32
		if i < len(c.want) && c.want[i] != nil {
			dt = c.want[i].DType
		}
		m.OutputNoShape(o, dt)
	}
	sess, err := engine.New(m.M, engine.Options{Threads: 2})
	if err != nil {
		return nil, err
	}
	return sess.Run(context.Background(), c.feeds)
}

func TestQuantizedOpsHandWorked(t *testing.T) {
	nan := float32(math.NaN())
	cases := []qhCase{
		{
			// x/2 = [0, 0.5, 1.25, -1.5, 500, NaN] -> round half even
			// [0, 0, 1, -2, 500, min] + 128, saturated to [0, 255].
			name: "QuantizeLinear uint8", op: "QuantizeLinear", inputs: []string{"x", "s", "z"},
			feeds: map[string]*tensor.Tensor{"x": qhF([]int{6}, 0, 1, 2.5, -3, 1000, nan)},
			inits: map[string]*tensor.Tensor{"s": qhSc(2), "z": qhZU(128)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhU8([]int{6}, 128, 128, 129, 126, 255, 0)},
		},
		{
			// Per axis 0: row 0 scale 1, zp 0: [1, 2]; row 1 scale 2, zp 1:
			// [1.5 -> 2, 2] + 1 = [3, 3].
			name: "QuantizeLinear per axis", op: "QuantizeLinear", inputs: []string{"x", "s", "z"},
			feeds: map[string]*tensor.Tensor{"x": qhF([]int{2, 2}, 1, 2, 3, 4)},
			inits: map[string]*tensor.Tensor{"s": qhF([]int{2}, 1, 2), "z": qhS8([]int{2}, 0, 1)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("axis", 0)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhS8([]int{2, 2}, 1, 2, 3, 3)},
		},
		{
			// Blocks of 2 along axis 1 with scales 1 and 4, no zero point
			// (uint8): [1, 2, 3/4 -> 1, 4/4 = 1].
			name: "QuantizeLinear blocked", opset: 21, op: "QuantizeLinear", inputs: []string{"x", "s"},
			feeds: map[string]*tensor.Tensor{"x": qhF([]int{1, 4}, 1, 2, 3, 4)},
			inits: map[string]*tensor.Tensor{"s": qhF([]int{1, 2}, 1, 4)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("axis", 1), onnxbuild.AttrInt("block_size", 2)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 4}, 1, 2, 1, 1)},
		},
		{
			// output_dtype int16 without a zero point: 70000.5/1 saturates,
			// -2.5 ties to -2.
			name: "QuantizeLinear output_dtype", opset: 21, op: "QuantizeLinear", inputs: []string{"x", "s"},
			feeds: map[string]*tensor.Tensor{"x": qhF([]int{2}, 70000.5, -2.5)},
			inits: map[string]*tensor.Tensor{"s": qhSc(1)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("output_dtype", int64(tensor.Int16))},
			outs:  []string{"y"}, want: []*tensor.Tensor{tensor.FromSlice([]int{2}, []int16{32767, -2})},
		},
		{
			name: "QuantizeLinear float8 refused", opset: 21, op: "QuantizeLinear", inputs: []string{"x", "s"},
			feeds: map[string]*tensor.Tensor{"x": qhF([]int{2}, 1, 2)},
			inits: map[string]*tensor.Tensor{"s": qhSc(1)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("output_dtype", int64(tensor.Float8E4M3FN))},
			outs:  []string{"y"}, unsupported: true,
		},
		{
			// (x - zp) * scale per row: row 0 [-128, 127]*0.5, row 1
			// [0-1, 5-1]*2.
			name: "DequantizeLinear per axis", op: "DequantizeLinear", inputs: []string{"x", "s", "z"},
			feeds: map[string]*tensor.Tensor{"x": qhS8([]int{2, 2}, -128, 127, 0, 5)},
			inits: map[string]*tensor.Tensor{"s": qhF([]int{2}, 0.5, 2), "z": qhS8([]int{2}, 0, 1)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("axis", 0)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhF([]int{2, 2}, -64, 63.5, -2, 8)},
		},
		{
			// min -1, max 3: scale 4/255, zero point round(63.75) = 64;
			// -1 -> -63.75 -> -64 + 64 = 0, 0 -> 64, 3 -> 191.25 -> 255.
			name: "DynamicQuantizeLinear", opset: 11, op: "DynamicQuantizeLinear", inputs: []string{"x"},
			feeds: map[string]*tensor.Tensor{"x": qhF([]int{3}, -1, 0, 3)},
			outs:  []string{"y", "ys", "yz"},
			want: []*tensor.Tensor{qhU8([]int{3}, 0, 64, 255), tensor.FromSlice([]int{}, []float32{float32(4) / 255}),
				tensor.FromSlice([]int{}, []uint8{64})},
		},
		{
			// All zeros: scale 1 and zero point 0 rather than a division by 0.
			name: "DynamicQuantizeLinear zeros", opset: 11, op: "DynamicQuantizeLinear", inputs: []string{"x"},
			feeds: map[string]*tensor.Tensor{"x": qhF([]int{2}, 0, 0)},
			outs:  []string{"y", "ys", "yz"},
			want:  []*tensor.Tensor{qhU8([]int{2}, 0, 0), qhSc(1), tensor.FromSlice([]int{}, []uint8{0})},
		},
		{
			// (A - [1, 3] per row) = [[0, 1], [0, 1]];
			// (B - [5, 6] per column) = [[0, 0], [2, 2]]; product [[2, 2], [2, 2]].
			name: "MatMulInteger per row and column", opset: 10, op: "MatMulInteger", inputs: []string{"a", "b", "za", "zb"},
			feeds: map[string]*tensor.Tensor{"a": qhU8([]int{2, 2}, 1, 2, 3, 4)},
			inits: map[string]*tensor.Tensor{"b": qhU8([]int{2, 2}, 5, 6, 7, 8), "za": qhU8([]int{2}, 1, 3), "zb": qhU8([]int{2}, 5, 6)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhI32([]int{2, 2}, 2, 2, 2, 2)},
		},
		{
			// x - 1 = 0..8 in a 3x3 grid, a 2x2 window of ones:
			// [0+1+3+4, 1+2+4+5, 3+4+6+7, 4+5+7+8].
			name: "ConvInteger", opset: 10, op: "ConvInteger", inputs: []string{"x", "w", "xz"},
			feeds: map[string]*tensor.Tensor{"x": qhU8([]int{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
			inits: map[string]*tensor.Tensor{"w": qhU8([]int{1, 1, 2, 2}, 1, 1, 1, 1), "xz": qhZU(1)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhI32([]int{1, 1, 2, 2}, 8, 12, 20, 24)},
		},
		{
			// Same windows with weights 2 and bias 4: acc [20, 28, 44, 52];
			// multiplier 0.5*0.25/1 = 0.125: [2.5, 3.5, 5.5, 6.5] rounds half
			// to even to [2, 4, 6, 6], plus 10.
			name: "QLinearConv ties", opset: 10, op: "QLinearConv",
			inputs: []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"},
			feeds:  map[string]*tensor.Tensor{"x": qhU8([]int{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
			inits: map[string]*tensor.Tensor{"xs": qhSc(0.5), "xz": qhZU(1), "w": qhS8([]int{1, 1, 2, 2}, 2, 2, 2, 2),
				"ws": qhF([]int{1}, 0.25), "wz": qhS8([]int{1}, 0), "ys": qhSc(1), "yz": qhZU(10), "b": qhI32([]int{1}, 4)},
			outs: []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 1, 2, 2}, 12, 14, 16, 16)},
		},
		{
			// a - 1 = [1, 1]; B's columns [1, 1] and [1, 0] give acc [2, 1];
			// multiplier 0.5*0.5/0.5 = 0.5: [1, 0.5 -> 0 (tie to even)], plus 7.
			name: "QLinearMatMul", opset: 10, op: "QLinearMatMul",
			inputs: []string{"a", "as", "az", "b", "bs", "bz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"a": qhU8([]int{1, 2}, 2, 2)},
			inits: map[string]*tensor.Tensor{"as": qhSc(0.5), "az": qhZU(1), "b": qhU8([]int{2, 2}, 1, 1, 1, 0),
				"bs": qhSc(0.5), "bz": qhZU(0), "ys": qhSc(0.5), "yz": qhZU(7)},
			outs: []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 2}, 8, 7)},
		},
		{
			// Real a = 0.5*(A-10) = [0, 5, 10, 15], b = 0.25*(6-2) = 1;
			// (a+b)/0.5 + 100 = [102, 112, 122, 132].
			name: "QLinearAdd scalar", domain: kernel.DomainMicrosoft, op: "QLinearAdd",
			inputs: []string{"a", "as", "az", "b", "bs", "bz", "cs", "cz"},
			feeds:  map[string]*tensor.Tensor{"a": qhU8([]int{4}, 10, 20, 30, 40), "b": qhZU(6)},
			inits: map[string]*tensor.Tensor{"as": qhSc(0.5), "az": qhZU(10), "bs": qhSc(0.25), "bz": qhZU(2),
				"cs": qhSc(0.5), "cz": qhZU(100)},
			outs: []string{"y"}, want: []*tensor.Tensor{qhU8([]int{4}, 102, 112, 122, 132)},
		},
		{
			// Real a = 0.5*[1, 3], b = 0.5*[1, 1] (zp 0): sum [1, 2];
			// /0.8 = [1.25, 2.5] -> [1, 2] (tie to even).
			name: "QLinearAdd ties", domain: kernel.DomainMicrosoft, op: "QLinearAdd",
			inputs: []string{"a", "as", "az", "b", "bs", "bz", "cs", "cz"},
			feeds:  map[string]*tensor.Tensor{"a": qhS8([]int{2}, 1, 3), "b": qhS8([]int{2}, 1, 1)},
			inits: map[string]*tensor.Tensor{"as": qhSc(0.5), "az": qhZS(0), "bs": qhSc(0.5), "bz": qhZS(0),
				"cs": qhSc(0.8), "cz": qhZS(0)},
			outs: []string{"y"}, want: []*tensor.Tensor{qhS8([]int{2}, 1, 2)},
		},
		{
			// (A)(B - 1) = [4*2, -6*2] = [8, -12], ratio 0.5*0.5/0.25 = 1.
			name: "QLinearMul", domain: kernel.DomainMicrosoft, op: "QLinearMul",
			inputs: []string{"a", "as", "az", "b", "bs", "bz", "cs", "cz"},
			feeds:  map[string]*tensor.Tensor{"a": qhS8([]int{2}, 4, -6), "b": qhS8([]int{2}, 3, 3)},
			inits: map[string]*tensor.Tensor{"as": qhSc(0.5), "az": qhZS(0), "bs": qhSc(0.5), "bz": qhZS(1),
				"cs": qhSc(0.25), "cz": qhZS(0)},
			outs: []string{"y"}, want: []*tensor.Tensor{qhS8([]int{2}, 8, -12)},
		},
		{
			// x = zero point: sigmoid(0) = 0.5 -> 0.5*256 = 128; x = 0:
			// sigmoid(-12.8) ~ 3e-6 -> 0; x = 255: sigmoid(12.7) ~
			// 0.999997 -> 255.999 -> saturates at 255.
			name: "QLinearSigmoid", domain: kernel.DomainMicrosoft, op: "QLinearSigmoid",
			inputs: []string{"x", "xs", "xz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"x": qhU8([]int{3}, 128, 0, 255)},
			inits:  map[string]*tensor.Tensor{"xs": qhSc(0.1), "xz": qhZU(128), "ys": qhSc(1.0 / 256), "yz": qhZU(0)},
			outs:   []string{"y"}, want: []*tensor.Tensor{qhU8([]int{3}, 128, 0, 255)},
		},
		{
			// dequantized [-5, 5] -> [-0.5, 5] -> /0.05 = [-10, 100].
			name: "QLinearLeakyRelu", domain: kernel.DomainMicrosoft, op: "QLinearLeakyRelu",
			inputs: []string{"x", "xs", "xz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"x": qhS8([]int{2}, -10, 10)},
			inits:  map[string]*tensor.Tensor{"xs": qhSc(0.5), "xz": qhZS(0), "ys": qhSc(0.05), "yz": qhZS(0)},
			attrs:  []*onnx.AttributeProto{onnxbuild.AttrFloat("alpha", 0.1)},
			outs:   []string{"y"}, want: []*tensor.Tensor{qhS8([]int{2}, -10, 100)},
		},
		{
			// Channel means 2.5 -> 2 (tie to even) and 10.25 -> 10.
			name: "QLinearGlobalAveragePool", domain: kernel.DomainMicrosoft, op: "QLinearGlobalAveragePool",
			inputs: []string{"x", "xs", "xz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"x": qhU8([]int{1, 2, 2, 2}, 1, 2, 3, 4, 10, 10, 10, 11)},
			inits:  map[string]*tensor.Tensor{"xs": qhSc(1), "xz": qhZU(0), "ys": qhSc(1), "yz": qhZU(0)},
			outs:   []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 2, 1, 1}, 2, 10)},
		},
		{
			// 2x2 windows over [[1, 2], [3, 4]] padded by 1 at the top and
			// left: {1} = 1, {1, 2} = 1.5 -> 2, {1, 3} = 2, {1..4} = 2.5 -> 2.
			name: "QLinearAveragePool", domain: kernel.DomainMicrosoft, op: "QLinearAveragePool",
			inputs: []string{"x", "xs", "xz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"x": qhU8([]int{1, 1, 2, 2}, 1, 2, 3, 4)},
			inits:  map[string]*tensor.Tensor{"xs": qhSc(1), "xz": qhZU(0), "ys": qhSc(1), "yz": qhZU(0)},
			attrs:  []*onnx.AttributeProto{onnxbuild.AttrInts("kernel_shape", 2, 2), onnxbuild.AttrInts("pads", 1, 1, 0, 0)},
			outs:   []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 1, 2, 2}, 1, 2, 2, 2)},
		},
		{
			// count_include_pad divides by 4: [0.25, 0.75, 1, 2.5] -> [0, 1, 1, 2].
			name: "QLinearAveragePool count_include_pad", domain: kernel.DomainMicrosoft, op: "QLinearAveragePool",
			inputs: []string{"x", "xs", "xz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"x": qhU8([]int{1, 1, 2, 2}, 1, 2, 3, 4)},
			inits:  map[string]*tensor.Tensor{"xs": qhSc(1), "xz": qhZU(0), "ys": qhSc(1), "yz": qhZU(0)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInts("kernel_shape", 2, 2), onnxbuild.AttrInts("pads", 1, 1, 0, 0),
				onnxbuild.AttrInt("count_include_pad", 1)},
			outs: []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 1, 2, 2}, 0, 1, 1, 2)},
		},
		{
			// The second input (scale 0.5) is requantized to scale 1:
			// [2, 4] -> [1, 2]; the first is copied.
			name: "QLinearConcat", domain: kernel.DomainMicrosoft, op: "QLinearConcat",
			inputs: []string{"ys", "yz", "a", "as", "az", "b", "bs", "bz"},
			feeds:  map[string]*tensor.Tensor{"a": qhU8([]int{2}, 1, 2), "b": qhU8([]int{2}, 2, 4)},
			inits: map[string]*tensor.Tensor{"ys": qhSc(1), "yz": qhZU(0), "as": qhSc(1), "az": qhZU(0),
				"bs": qhSc(0.5), "bz": qhZU(0)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("axis", 0)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhU8([]int{4}, 1, 2, 1, 2)},
		},
		{
			// Equal inputs share the mass: 0.5 * floor(1/(1/256)) = 128 each.
			name: "QLinearSoftmax", domain: kernel.DomainMicrosoft, op: "QLinearSoftmax",
			inputs: []string{"x", "xs", "xz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"x": qhU8([]int{1, 2}, 7, 7)},
			inits:  map[string]*tensor.Tensor{"xs": qhSc(0.1), "xz": qhZU(0), "ys": qhSc(1.0 / 256), "yz": qhZU(0)},
			attrs:  []*onnx.AttributeProto{onnxbuild.AttrInt("opset", 13)},
			outs:   []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 2}, 128, 128)},
		},
		{
			// 1*3 + 2*4 + C 5 = 16, times alpha 0.5 = 8 (float output).
			name: "QGemm float", domain: kernel.DomainMicrosoft, op: "QGemm",
			inputs: []string{"a", "as", "az", "b", "bs", "bz", "c"},
			feeds:  map[string]*tensor.Tensor{"a": qhU8([]int{1, 2}, 1, 2)},
			inits: map[string]*tensor.Tensor{"as": qhSc(1), "az": qhZU(0), "b": qhU8([]int{2, 1}, 3, 4),
				"bs": qhSc(1), "bz": qhZU(0), "c": qhI32([]int{1}, 5)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrFloat("alpha", 0.5)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhF([]int{1, 1}, 8)},
		},
		{
			// The same 16 requantized with 0.5/2: 4, plus 1.
			name: "QGemm quantized", domain: kernel.DomainMicrosoft, op: "QGemm",
			inputs: []string{"a", "as", "az", "b", "bs", "bz", "c", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"a": qhU8([]int{1, 2}, 1, 2)},
			inits: map[string]*tensor.Tensor{"as": qhSc(1), "az": qhZU(0), "b": qhU8([]int{2, 1}, 3, 4),
				"bs": qhSc(1), "bz": qhZU(0), "c": qhI32([]int{1}, 5), "ys": qhSc(2), "yz": qhZU(1)},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrFloat("alpha", 0.5)},
			outs:  []string{"y"}, want: []*tensor.Tensor{qhU8([]int{1, 1}, 5)},
		},
		{
			// (3-1)*2 + (4-1)*(-1) = 1; 1 * (0.5*0.25) + bias 1 = 1.125.
			name: "MatMulIntegerToFloat", domain: kernel.DomainMicrosoft, op: "MatMulIntegerToFloat",
			inputs: []string{"a", "b", "as", "bs", "az", "bz", "bias"},
			feeds:  map[string]*tensor.Tensor{"a": qhU8([]int{1, 2}, 3, 4)},
			inits: map[string]*tensor.Tensor{"b": qhS8([]int{2, 1}, 2, -1), "as": qhSc(0.5), "bs": qhSc(0.25),
				"az": qhZU(1), "bz": qhZS(0), "bias": qhF([]int{1}, 1)},
			outs: []string{"y"}, want: []*tensor.Tensor{qhF([]int{1, 1}, 1.125)},
		},
		{
			// A = [-1, 3]: scale 4/255, zero point 64, A quantized to [0, 255]
			// (as DynamicQuantizeLinear); (0-64)*1 + (255-64)*1 = 127 times
			// 4/255 * 0.5 = 254/255 ~ 0.996.
			name: "DynamicQuantizeMatMul", domain: kernel.DomainMicrosoft, op: "DynamicQuantizeMatMul",
			inputs: []string{"a", "b", "bs"},
			feeds:  map[string]*tensor.Tensor{"a": qhF([]int{1, 2}, -1, 3)},
			inits:  map[string]*tensor.Tensor{"b": qhS8([]int{2, 1}, 1, 1), "bs": qhSc(0.5)},
			outs:   []string{"y"}, want: []*tensor.Tensor{qhF([]int{1, 1}, 254.0/255)},
		},
		{
			name: "QLinearConv mismatched weight zero point type", opset: 10, op: "QLinearConv",
			inputs: []string{"x", "xs", "xz", "w", "ws", "wz", "ys", "yz"},
			feeds:  map[string]*tensor.Tensor{"x": qhU8([]int{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
			inits: map[string]*tensor.Tensor{"xs": qhSc(0.5), "xz": qhZU(1), "w": qhS8([]int{1, 1, 2, 2}, 2, 2, 2, 2),
				"ws": qhF([]int{1}, 0.25), "wz": qhU8([]int{1}, 0), "ys": qhSc(1), "yz": qhZU(10)},
			outs: []string{"y"}, wantErr: "w_zero_point has type uint8",
		},
		{
			name: "MatMulInteger bad zero point shape", opset: 10, op: "MatMulInteger", inputs: []string{"a", "b", "za"},
			feeds: map[string]*tensor.Tensor{"a": qhU8([]int{2, 2}, 1, 2, 3, 4)},
			inits: map[string]*tensor.Tensor{"b": qhU8([]int{2, 2}, 5, 6, 7, 8), "za": qhU8([]int{3}, 1, 2, 3)},
			outs:  []string{"y"}, wantErr: "a_zero_point shape [3] does not fit",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := qhRun(t, c)
			switch {
			case c.unsupported:
				if !errors.Is(err, kernel.ErrUnsupported) {
					t.Fatalf("error %v, want an unsupported-feature error", err)
				}
				return
			case c.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for i, name := range c.outs {
				g, w := got[name], c.want[i]
				if g == nil {
					t.Fatalf("output %q missing", name)
				}
				if g.DType != w.DType || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) {
					t.Fatalf("output %q: %v %v, want %v %v", name, g.DType, g.Shape, w.DType, w.Shape)
				}
				if gf, ok := g.Data.([]float32); ok {
					wf := w.Data.([]float32)
					for j := range wf {
						if math.Abs(float64(gf[j]-wf[j])) > 1e-6*math.Max(1, math.Abs(float64(wf[j]))) {
							t.Fatalf("output %q = %v, want %v", name, gf, wf)
						}
					}
					continue
				}
				if fmt.Sprint(g.Data) != fmt.Sprint(w.Data) {
					t.Fatalf("output %q = %v, want %v", name, g.Data, w.Data)
				}
			}
		})
	}
}
