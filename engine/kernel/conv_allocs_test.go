package kernel

import (
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
	"google.golang.org/protobuf/proto"
)

// Steady-state allocations of the convolution, pooling and quantized
// kernels (conv.go, pool.go, integer.go, qlinear.go, contrib_q.go,
// quantizelinear.go): after warm-up, a run on the same shapes allocates
// nothing beyond the outputs, which the engine recycles (steadyAllocs).
// The shapes are of the kind the shared CNN models run (ShuffleNet and
// RFB blocks: 3x3 convolutions of stride 1 and 2, pointwise and depthwise
// convolutions, pools), large enough for the loops to split among two
// goroutines.

// caCase is one kernel built from a node and run on fixed inputs.
type caCase struct {
	name   string
	domain string
	op     string
	opset  int64
	in     []*tensor.Tensor // nil for an omitted input
	consts []int            // inputs given as build-time constants
	outs   int              // outputs requested (default 1)
	attrs  []*onnx.AttributeProto
	// act, when set, is a Relu or Clip fused into the kernel (Clip with
	// constant bounds lo, hi).
	act    string
	lo, hi float32
}

// caBuild builds the kernel of c, with its activation fused when asked.
func caBuild(t *testing.T, c caCase) Kernel {
	t.Helper()
	p := &onnx.NodeProto{OpType: proto.String(c.op), Domain: proto.String(c.domain), Attribute: c.attrs}
	consts := make([]*tensor.Tensor, len(c.in))
	for i, x := range c.in {
		name := ""
		if x != nil {
			name = fmt.Sprintf("x%d", i)
		}
		p.Input = append(p.Input, name)
	}
	for _, i := range c.consts {
		consts[i] = c.in[i]
	}
	for i := 0; i < max(c.outs, 1); i++ {
		p.Output = append(p.Output, fmt.Sprintf("y%d", i))
	}
	opset := c.opset
	if opset == 0 {
		opset = 13
		if c.domain != "" {
			opset = 1
		}
	}
	reg, ok := Lookup(c.domain, c.op, opset)
	if !ok {
		t.Fatalf("%s %s opset %d not registered", c.domain, c.op, opset)
	}
	n := NewNode(p, opset, consts, nil)
	k, err := reg.Build(n)
	if err != nil {
		t.Fatal(err)
	}
	if u := n.Unused(); len(u) > 0 {
		t.Fatalf("attributes %v not read", u)
	}
	if c.act == "" {
		return k
	}
	ap := &onnx.NodeProto{OpType: proto.String(c.act), Input: []string{"y0"}, Output: []string{"z"}}
	actIn := []*tensor.Tensor{nil}
	if c.act == "Clip" {
		ap.Input = append(ap.Input, "lo", "hi")
		actIn = append(actIn, tensor.FromSlice([]int{}, []float32{c.lo}), tensor.FromSlice([]int{}, []float32{c.hi}))
	}
	an := NewNode(ap, 13, actIn, nil)
	areg, _ := Lookup("", c.act, 13)
	ak, err := areg.Build(an)
	if err != nil {
		t.Fatal(err)
	}
	cl, ok := ClampOf(an)
	if !ok {
		t.Fatalf("%s is not a clamp", c.act)
	}
	f := k.(ClampFuser).FuseClamp(cl, ak, actIn)
	if f == nil {
		t.Fatalf("%s did not fuse %s", c.op, c.act)
	}
	return f
}

// caF32 returns a float32 tensor of random values in [-1, 1).
func caF32(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	for i := range t.Data.([]float32) {
		t.Data.([]float32)[i] = r.Float32()*2 - 1
	}
	return t
}

// caU8 returns a uint8 tensor of random values.
func caU8(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Uint8, shape...)
	for i := range t.Data.([]uint8) {
		t.Data.([]uint8)[i] = uint8(r.Intn(256))
	}
	return t
}

// caS8 returns an int8 tensor of random values.
func caS8(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Int8, shape...)
	for i := range t.Data.([]int8) {
		t.Data.([]int8)[i] = int8(r.Intn(256) - 128)
	}
	return t
}

// caI32 returns an int32 tensor of random values in [-1000, 1000).
func caI32(r *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Int32, shape...)
	for i := range t.Data.([]int32) {
		t.Data.([]int32)[i] = int32(r.Intn(2000) - 1000)
	}
	return t
}

func caScalar(v float32) *tensor.Tensor { return tensor.FromSlice([]int{}, []float32{v}) }
func caZU(v uint8) *tensor.Tensor       { return tensor.FromSlice([]int{}, []uint8{v}) }
func caZS(v int8) *tensor.Tensor        { return tensor.FromSlice([]int{}, []int8{v}) }
func caScales(r *rand.Rand, n int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, n)
	for i := range t.Data.([]float32) {
		t.Data.([]float32)[i] = 0.001 + r.Float32()*0.01
	}
	return t
}

func caCases() []caCase {
	r := rand.New(rand.NewSource(1))
	ints := cvtInts
	pad1 := ints("pads", 1, 1, 1, 1)
	k3 := ints("kernel_shape", 3, 3)
	s2 := ints("strides", 2, 2)
	grp := func(g int64) *onnx.AttributeProto { return cvtInt("group", g) }
	ms := DomainMicrosoft
	var cs []caCase
	// Float convolutions.
	cs = append(cs,
		caCase{name: "Conv 3x3 s1", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 16, 88, 88), caF32(r, 16, 16, 3, 3), caF32(r, 16)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1}},
		caCase{name: "Conv 3x3 s1 Relu", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 16, 88, 88), caF32(r, 16, 16, 3, 3), caF32(r, 16)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1}, act: "Relu"},
		caCase{name: "Conv 3x3 s2 Relu", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 16, 88, 88), caF32(r, 32, 16, 3, 3), caF32(r, 32)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1, s2}, act: "Relu"},
		caCase{name: "Conv 3x3 s2 3ch", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 3, 176, 176), caF32(r, 16, 3, 3, 3), caF32(r, 16)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1, s2}},
		caCase{name: "Conv 3x3 s3 im2col", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 16, 90, 90), caF32(r, 16, 16, 3, 3)}, consts: []int{1}, attrs: []*onnx.AttributeProto{s2, ints("strides", 3, 3)}[1:]},
		caCase{name: "Conv 3x3 W input", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 16, 44, 44), caF32(r, 16, 16, 3, 3), caF32(r, 16)}, attrs: []*onnx.AttributeProto{pad1}},
		caCase{name: "Conv 1x1", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 32, 44, 44), caF32(r, 64, 32, 1, 1), caF32(r, 64)}, consts: []int{1, 2}},
		caCase{name: "Conv 1x1 Relu", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 32, 44, 44), caF32(r, 64, 32, 1, 1), caF32(r, 64)}, consts: []int{1, 2}, act: "Relu"},
		caCase{name: "Conv 1x1 batch 2", op: "Conv", in: []*tensor.Tensor{caF32(r, 2, 32, 22, 22), caF32(r, 32, 32, 1, 1)}, consts: []int{1}},
		caCase{name: "Conv depthwise s1", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 48, 44, 44), caF32(r, 48, 1, 3, 3), caF32(r, 48)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1, grp(48)}},
		caCase{name: "Conv depthwise s2 Clip", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 48, 88, 88), caF32(r, 48, 1, 3, 3), caF32(r, 48)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1, s2, grp(48)}, act: "Clip", lo: 0, hi: 6},
		caCase{name: "Conv depthwise dilated", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 48, 44, 44), caF32(r, 48, 1, 3, 3)}, consts: []int{1}, attrs: []*onnx.AttributeProto{ints("pads", 2, 2, 2, 2), ints("dilations", 2, 2), grp(48)}},
		caCase{name: "Conv grouped", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 32, 22, 22), caF32(r, 32, 8, 3, 3), caF32(r, 32)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1, grp(4)}},
		caCase{name: "Conv grouped Relu", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 32, 22, 22), caF32(r, 32, 8, 3, 3), caF32(r, 32)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{pad1, grp(4)}, act: "Relu"},
		caCase{name: "Conv grouped im2col", op: "Conv", in: []*tensor.Tensor{caF32(r, 2, 32, 21, 21), caF32(r, 32, 16, 3, 3)}, consts: []int{1}, attrs: []*onnx.AttributeProto{ints("strides", 3, 3), grp(2)}},
		caCase{name: "ConvTranspose 2x2 s2", op: "ConvTranspose", in: []*tensor.Tensor{caF32(r, 1, 32, 22, 22), caF32(r, 32, 16, 2, 2), caF32(r, 16)}, consts: []int{1, 2}, attrs: []*onnx.AttributeProto{ints("strides", 2, 2)}},
		caCase{name: "ConvTranspose 3x3 grouped", op: "ConvTranspose", in: []*tensor.Tensor{caF32(r, 1, 32, 22, 22), caF32(r, 32, 8, 3, 3)}, consts: []int{1}, attrs: []*onnx.AttributeProto{pad1, grp(2)}},
		caCase{name: "Conv 1-D", op: "Conv", in: []*tensor.Tensor{caF32(r, 1, 16, 400), caF32(r, 16, 16, 5)}, consts: []int{1}, attrs: []*onnx.AttributeProto{ints("pads", 2, 2)}},
	)
	// Pools.
	cs = append(cs,
		caCase{name: "MaxPool 3x3 s2", op: "MaxPool", opset: 12, in: []*tensor.Tensor{caF32(r, 1, 24, 88, 88)}, attrs: []*onnx.AttributeProto{k3, s2, pad1}},
		caCase{name: "MaxPool 2x2 s2 small", op: "MaxPool", opset: 12, in: []*tensor.Tensor{caF32(r, 1, 64, 20, 20)}, attrs: []*onnx.AttributeProto{ints("kernel_shape", 2, 2), s2}},
		caCase{name: "MaxPool indices", op: "MaxPool", opset: 12, outs: 2, in: []*tensor.Tensor{caF32(r, 1, 24, 44, 44)}, attrs: []*onnx.AttributeProto{k3, s2, pad1}},
		caCase{name: "MaxPool uint8", op: "MaxPool", opset: 12, in: []*tensor.Tensor{caU8(r, 1, 24, 44, 44)}, attrs: []*onnx.AttributeProto{k3, s2, pad1}},
		caCase{name: "MaxPool 3-D", op: "MaxPool", opset: 12, in: []*tensor.Tensor{caF32(r, 1, 8, 16, 16, 16)}, attrs: []*onnx.AttributeProto{ints("kernel_shape", 2, 2, 2), ints("strides", 2, 2, 2)}},
		caCase{name: "AveragePool 3x3 s1", op: "AveragePool", opset: 11, in: []*tensor.Tensor{caF32(r, 1, 24, 44, 44)}, attrs: []*onnx.AttributeProto{k3, pad1}},
		caCase{name: "AveragePool 2x2 s2 pad", op: "AveragePool", opset: 11, in: []*tensor.Tensor{caF32(r, 1, 24, 44, 44)}, attrs: []*onnx.AttributeProto{ints("kernel_shape", 2, 2), s2, cvtInt("count_include_pad", 1)}},
		caCase{name: "AveragePool 1-D", op: "AveragePool", opset: 11, in: []*tensor.Tensor{caF32(r, 1, 24, 400)}, attrs: []*onnx.AttributeProto{ints("kernel_shape", 3), ints("pads", 1, 1)}},
		caCase{name: "LpPool", op: "LpPool", opset: 11, in: []*tensor.Tensor{caF32(r, 1, 24, 44, 44)}, attrs: []*onnx.AttributeProto{k3, s2}},
		caCase{name: "GlobalAveragePool", op: "GlobalAveragePool", in: []*tensor.Tensor{caF32(r, 1, 256, 22, 22)}},
		caCase{name: "GlobalMaxPool", op: "GlobalMaxPool", in: []*tensor.Tensor{caF32(r, 1, 256, 22, 22)}},
	)
	// Quantization.
	xq := caF32(r, 1, 32, 44, 44)
	cs = append(cs,
		caCase{name: "QuantizeLinear uint8", op: "QuantizeLinear", in: []*tensor.Tensor{xq, caScalar(0.01), caZU(128)}, consts: []int{1, 2}},
		caCase{name: "QuantizeLinear uint8 inputs", op: "QuantizeLinear", in: []*tensor.Tensor{xq, caScalar(0.01), caZU(128)}},
		caCase{name: "QuantizeLinear no zp", op: "QuantizeLinear", in: []*tensor.Tensor{xq, caScalar(0.01)}},
		caCase{name: "QuantizeLinear per axis", op: "QuantizeLinear", in: []*tensor.Tensor{xq, caScales(r, 32), tensor.New(tensor.Int8, 32)}, consts: []int{1, 2}},
		caCase{name: "QuantizeLinear per axis inputs", op: "QuantizeLinear", in: []*tensor.Tensor{xq, caScales(r, 32), tensor.New(tensor.Int8, 32)}},
		caCase{name: "DequantizeLinear uint8", op: "DequantizeLinear", in: []*tensor.Tensor{caU8(r, 1, 32, 44, 44), caScalar(0.01), caZU(128)}, consts: []int{1, 2}},
		caCase{name: "DequantizeLinear int8 inputs", op: "DequantizeLinear", in: []*tensor.Tensor{caS8(r, 1, 32, 44, 44), caScalar(0.01), caZS(3)}},
		caCase{name: "DequantizeLinear per axis", op: "DequantizeLinear", in: []*tensor.Tensor{caS8(r, 1, 32, 44, 44), caScales(r, 32), tensor.New(tensor.Int8, 32)}, consts: []int{1, 2}},
		caCase{name: "DequantizeLinear per axis inputs", op: "DequantizeLinear", in: []*tensor.Tensor{caS8(r, 1, 32, 44, 44), caScales(r, 32), tensor.New(tensor.Int8, 32)}},
		caCase{name: "DynamicQuantizeLinear", op: "DynamicQuantizeLinear", opset: 11, outs: 3, in: []*tensor.Tensor{xq}},
	)
	// Integer and quantized convolutions and products.
	qconv := func(name string, x, w *tensor.Tensor, ws *tensor.Tensor, wz *tensor.Tensor, b *tensor.Tensor, attrs ...*onnx.AttributeProto) caCase {
		return caCase{name: name, op: "QLinearConv", attrs: attrs,
			in:     []*tensor.Tensor{x, caScalar(0.02), caZU(120), w, ws, wz, caScalar(0.05), caZU(128), b},
			consts: []int{1, 2, 3, 4, 5, 6, 7, 8}}
	}
	cs = append(cs,
		qconv("QLinearConv 3x3", caU8(r, 1, 16, 44, 44), caS8(r, 32, 16, 3, 3), caScales(r, 32), tensor.New(tensor.Int8, 32), caI32(r, 32), pad1),
		qconv("QLinearConv 3x3 s2", caU8(r, 1, 16, 44, 44), caS8(r, 32, 16, 3, 3), caScalar(0.003), caZS(0), caI32(r, 32), pad1, s2),
		qconv("QLinearConv 1x1", caU8(r, 1, 32, 44, 44), caS8(r, 64, 32, 1, 1), caScales(r, 64), tensor.New(tensor.Int8, 64), caI32(r, 64)),
		qconv("QLinearConv depthwise", caU8(r, 1, 32, 44, 44), caS8(r, 32, 1, 3, 3), caScales(r, 32), tensor.New(tensor.Int8, 32), caI32(r, 32), pad1, grp(32)),
		qconv("QLinearConv depthwise dilated", caU8(r, 1, 32, 44, 44), caS8(r, 32, 1, 3, 3), caScales(r, 32), tensor.New(tensor.Int8, 32), caI32(r, 32), pad1, ints("dilations", 1, 2), grp(32)),
		qconv("QLinearConv grouped", caU8(r, 1, 32, 22, 22), caS8(r, 32, 8, 3, 3), caScales(r, 32), tensor.New(tensor.Int8, 32), caI32(r, 32), pad1, grp(4)),
		caCase{name: "QLinearConv W input", op: "QLinearConv", attrs: []*onnx.AttributeProto{pad1},
			in: []*tensor.Tensor{caU8(r, 1, 16, 44, 44), caScalar(0.02), caZU(120), caU8(r, 32, 16, 3, 3), caScalar(0.003), caZU(127), caScalar(0.05), caZU(128)}},
		caCase{name: "QLinearConv channels_last", domain: ms, op: "QLinearConv", attrs: []*onnx.AttributeProto{pad1, cvtInt("channels_last", 1)},
			in:     []*tensor.Tensor{caU8(r, 1, 44, 44, 16), caScalar(0.02), caZU(120), caS8(r, 32, 16, 3, 3), caScalar(0.003), caZS(0), caScalar(0.05), caZU(128), caI32(r, 32)},
			consts: []int{1, 2, 3, 4, 5, 6, 7, 8}},
		caCase{name: "ConvInteger 3x3", op: "ConvInteger", opset: 10, attrs: []*onnx.AttributeProto{pad1},
			in: []*tensor.Tensor{caU8(r, 1, 16, 44, 44), caU8(r, 32, 16, 3, 3), caZU(120), caZU(130)}, consts: []int{1, 3}},
		caCase{name: "ConvInteger depthwise inputs", op: "ConvInteger", opset: 10, attrs: []*onnx.AttributeProto{pad1, grp(16)},
			in: []*tensor.Tensor{caU8(r, 1, 16, 44, 44), caU8(r, 16, 1, 3, 3), caZU(120), caZU(130)}},
		caCase{name: "MatMulInteger const B", op: "MatMulInteger", opset: 10,
			in: []*tensor.Tensor{caU8(r, 1, 64, 128), caS8(r, 128, 96), caZU(128), caZS(0)}, consts: []int{1, 3}},
		caCase{name: "MatMulInteger inputs", op: "MatMulInteger", opset: 10,
			in: []*tensor.Tensor{caU8(r, 2, 64, 128), caU8(r, 2, 128, 96), caZU(128), caU8(r, 96)}},
		caCase{name: "QLinearMatMul", op: "QLinearMatMul", opset: 10,
			in:     []*tensor.Tensor{caU8(r, 64, 128), caScalar(0.02), caZU(128), caS8(r, 128, 96), caScalar(0.003), caZS(0), caScalar(0.05), caZU(128)},
			consts: []int{1, 2, 3, 4, 5, 6, 7}},
		caCase{name: "QLinearMatMul batched per column", op: "QLinearMatMul", opset: 21,
			in: []*tensor.Tensor{caU8(r, 2, 64, 128), caScalar(0.02), caZU(128), caS8(r, 2, 128, 96), caScales(r, 96), tensor.New(tensor.Int8, 96), caScalar(0.05), caZU(128)}},
	)
	// com.microsoft quantized operators.
	xa, xb := caU8(r, 1, 32, 44, 44), caU8(r, 1, 32, 44, 44)
	qp := func(s float32, z uint8) []*tensor.Tensor { return []*tensor.Tensor{caScalar(s), caZU(z)} }
	join := func(ts ...[]*tensor.Tensor) []*tensor.Tensor {
		var out []*tensor.Tensor
		for _, t := range ts {
			out = append(out, t...)
		}
		return out
	}
	one := func(t *tensor.Tensor) []*tensor.Tensor { return []*tensor.Tensor{t} }
	cs = append(cs,
		caCase{name: "QLinearAdd", domain: ms, op: "QLinearAdd", in: join(one(xa), qp(0.02, 120), one(xb), qp(0.03, 130), qp(0.04, 125)), consts: []int{1, 2, 4, 5, 6, 7}},
		caCase{name: "QLinearAdd broadcast", domain: ms, op: "QLinearAdd", in: join(one(xa), qp(0.02, 120), one(caU8(r, 1, 32, 1, 1)), qp(0.03, 130), qp(0.04, 125)), consts: []int{1, 2, 4, 5, 6, 7}},
		caCase{name: "QLinearMul", domain: ms, op: "QLinearMul", in: join(one(xa), qp(0.02, 120), one(xb), qp(0.03, 130), qp(0.04, 125)), consts: []int{1, 2, 4, 5, 6, 7}},
		caCase{name: "QLinearSigmoid", domain: ms, op: "QLinearSigmoid", in: join(one(xa), qp(0.02, 120), qp(1.0/256, 0)), consts: []int{1, 2, 3, 4}},
		caCase{name: "QLinearSigmoid inputs", domain: ms, op: "QLinearSigmoid", in: join(one(xa), qp(0.02, 120), qp(1.0/256, 0))},
		caCase{name: "QLinearLeakyRelu", domain: ms, op: "QLinearLeakyRelu", in: join(one(xa), qp(0.02, 120), qp(0.02, 100)), consts: []int{1, 2, 3, 4}, attrs: []*onnx.AttributeProto{cvtFloat("alpha", 0.1)}},
		caCase{name: "QLinearConcat", domain: ms, op: "QLinearConcat", attrs: []*onnx.AttributeProto{cvtInt("axis", 1)},
			in: join(qp(0.02, 120), one(xa), qp(0.02, 120), one(caU8(r, 1, 16, 44, 44)), qp(0.03, 100)), consts: []int{0, 1, 3, 4, 6, 7}},
		caCase{name: "QLinearGlobalAveragePool", domain: ms, op: "QLinearGlobalAveragePool", in: join(one(caU8(r, 1, 256, 22, 22)), qp(0.02, 120), qp(0.01, 128)), consts: []int{1, 2, 3, 4}},
		caCase{name: "QLinearGlobalAveragePool channels_last", domain: ms, op: "QLinearGlobalAveragePool", attrs: []*onnx.AttributeProto{cvtInt("channels_last", 1)},
			in: join(one(caU8(r, 1, 22, 22, 256)), qp(0.02, 120), qp(0.01, 128)), consts: []int{1, 2, 3, 4}},
		caCase{name: "QLinearAveragePool", domain: ms, op: "QLinearAveragePool", attrs: []*onnx.AttributeProto{k3, pad1},
			in: join(one(caU8(r, 1, 32, 44, 44)), qp(0.02, 120), qp(0.01, 128)), consts: []int{1, 2, 3, 4}},
		caCase{name: "QLinearAveragePool global", domain: ms, op: "QLinearAveragePool", attrs: []*onnx.AttributeProto{ints("kernel_shape", 44, 44)},
			in: join(one(caU8(r, 1, 32, 44, 44)), qp(0.02, 120), qp(0.01, 128)), consts: []int{1, 2, 3, 4}},
		caCase{name: "QLinearAveragePool channels_last", domain: ms, op: "QLinearAveragePool", attrs: []*onnx.AttributeProto{k3, s2, cvtInt("channels_last", 1)},
			in: join(one(caU8(r, 1, 44, 44, 32)), qp(0.02, 120), qp(0.01, 128)), consts: []int{1, 2, 3, 4}},
		caCase{name: "QLinearSoftmax", domain: ms, op: "QLinearSoftmax", attrs: []*onnx.AttributeProto{cvtInt("opset", 13)},
			in: join(one(caU8(r, 64, 1000)), qp(0.1, 0), qp(1.0/256, 0)), consts: []int{1, 2, 3, 4}},
		caCase{name: "QGemm", domain: ms, op: "QGemm", attrs: []*onnx.AttributeProto{cvtInt("transB", 1)},
			in:     []*tensor.Tensor{caU8(r, 64, 128), caScalar(0.02), caZU(128), caS8(r, 96, 128), caScales(r, 96), tensor.New(tensor.Int8, 96), caI32(r, 96), caScalar(0.05), caZU(128)},
			consts: []int{1, 2, 3, 4, 5, 6, 7, 8}},
		caCase{name: "QGemm float", domain: ms, op: "QGemm",
			in:     []*tensor.Tensor{caU8(r, 64, 128), caScalar(0.02), caZU(128), caS8(r, 128, 96), caScalar(0.003), caZS(0)},
			consts: []int{1, 2, 3, 4, 5}},
		caCase{name: "MatMulIntegerToFloat", domain: ms, op: "MatMulIntegerToFloat",
			in:     []*tensor.Tensor{caU8(r, 64, 128), caS8(r, 128, 96), caScalar(0.02), caScales(r, 96), caZU(128), tensor.New(tensor.Int8, 96), caF32(r, 96)},
			consts: []int{1, 2, 3, 4, 5, 6}},
		caCase{name: "DynamicQuantizeMatMul", domain: ms, op: "DynamicQuantizeMatMul",
			in:     []*tensor.Tensor{caF32(r, 64, 128), caS8(r, 128, 96), caScales(r, 96), tensor.New(tensor.Int8, 96), caF32(r, 96)},
			consts: []int{1, 2, 3, 4}},
	)
	return cs
}

// TestConvFamilySteadyAllocs checks that the kernels allocate nothing per
// run in steady state, with one and two threads: steadyAllocs counts every
// allocation (with GOMAXPROCS at 1, as testing.AllocsPerRun sets it, so
// the loops run on the caller), and caOwnAllocs counts, with two threads
// sharing the loops for real, those made outside internal/gemm. The
// products of internal/gemm have their own allocation work and tests: the
// test fails on allocations made anywhere else, and logs those of gemm.
func TestConvFamilySteadyAllocs(t *testing.T) {
	if caRace {
		// The race detector makes sync.Pool drop recycled values at
		// random, so buffers are reallocated now and then.
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	for _, c := range caCases() {
		t.Run(c.name, func(t *testing.T) {
			k := caBuild(t, c)
			own, inGemm := caOwnAllocs(t, k, c.in, 2)
			if own != 0 {
				t.Errorf("threads 2: %v allocations per run outside internal/gemm, want 0", own)
			}
			for _, threads := range []int{1, 2} {
				if all := steadyAllocs(t, k, c.in, threads); all != 0 {
					if inGemm == 0 {
						t.Errorf("threads %d: %v allocations per run, want 0", threads, all)
					} else {
						t.Logf("threads %d: %v allocations per run, all in internal/gemm (%v per run in parallel)", threads, all, inGemm)
					}
				}
			}
		})
	}
}

// caOwnAllocs runs k on in as steadyAllocs does, but without changing
// GOMAXPROCS, so that parallel loops use helper goroutines, and returns
// the allocations per run made outside internal/gemm and those made in it,
// as the heap profile records them (every allocation, with the profile
// rate at 1 while it runs). The profile is published by garbage
// collections, which also empty sync.Pools; the allocations that refill
// them (a few per stack) are told from those of every run by their count:
// a stack counts when it allocated in at least half of the runs.
func caOwnAllocs(t *testing.T, k Kernel, in []*tensor.Tensor, threads int) (own, inGemm float64) {
	t.Helper()
	r := &recycler{}
	ctx := &Ctx{Threads: threads, Alloc: r.alloc, Header: r.header}
	run := func() {
		r.nb, r.nh = 0, 0
		if _, err := k.Run(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	run()
	run()
	defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
	runtime.MemProfileRate = 1
	const runs = 20
	before := caProfile()
	for i := 0; i < runs; i++ {
		run()
	}
	after := caProfile()
	for key, n := range after {
		d := n - before[key]
		if d < runs/2 {
			continue
		}
		if strings.Contains(key, "/internal/gemm.") {
			inGemm += float64(d)
			continue
		}
		own += float64(d)
		if os.Getenv("CA_DEBUG") != "" {
			t.Logf("%v allocations at:\n%s", d, key)
		}
	}
	return own / runs, inGemm / runs
}

// caProfile returns the heap profile's allocation counts by stack (the
// functions' names, innermost first), for stacks through a function of
// this module other than this one, once the allocations made so far are
// all published.
func caProfile() map[string]int64 {
	// An allocation is published by the second collection after it.
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	for {
		n, ok := runtime.MemProfile(recs, true)
		if ok {
			recs = recs[:n]
			break
		}
		recs = make([]runtime.MemProfileRecord, n+64)
	}
	out := map[string]int64{}
	for i := range recs {
		var b strings.Builder
		frames := runtime.CallersFrames(recs[i].Stack())
		ours, self := false, false
		for {
			f, more := frames.Next()
			ours = ours || strings.HasPrefix(f.Function, "github.com/onnxquant/onnxquant/")
			self = self || strings.HasSuffix(f.Function, "kernel.caProfile")
			b.WriteString(f.Function)
			b.WriteByte('\n')
			if !more {
				break
			}
		}
		if ours && !self {
			out[b.String()] += recs[i].AllocObjects
		}
	}
	return out
}

// TestConvFamilySteadyResults checks that runs reusing recycled buffers and
// scratch give the same outputs as a first run, with one and two threads
// (under the race detector too, where the loops' sharing is checked).
func TestConvFamilySteadyResults(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	for _, c := range caCases() {
		t.Run(c.name, func(t *testing.T) {
			k := caBuild(t, c)
			ref, err := k.Run(nil, c.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, threads := range []int{1, 2} {
				r := &recycler{}
				ctx := &Ctx{Threads: threads, Alloc: r.alloc, Header: r.header}
				for run := 0; run < 3; run++ {
					r.nb, r.nh = 0, 0
					got, err := k.Run(ctx, c.in)
					if err != nil {
						t.Fatal(err)
					}
					if len(got) != len(ref) {
						t.Fatalf("%d outputs, want %d", len(got), len(ref))
					}
					for i := range ref {
						if !caSameBits(got[i], ref[i]) {
							t.Fatalf("threads %d, run %d: output %d differs from the first run", threads, run, i)
						}
					}
				}
			}
		})
	}
}

// caSameBits reports whether two tensors have the same type, shape and
// element bits (NaNs compare equal to themselves).
func caSameBits(a, b *tensor.Tensor) bool {
	if a.DType != b.DType || !cvSameInts(a.Shape, b.Shape) {
		return false
	}
	if af, ok := a.Data.([]float32); ok {
		bf := b.Data.([]float32)
		for i := range af {
			if af[i] != bf[i] && !(af[i] != af[i] && bf[i] != bf[i]) {
				return false
			}
		}
		return true
	}
	return fmt.Sprint(a.Data) == fmt.Sprint(b.Data)
}
