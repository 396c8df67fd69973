package graph

import (
	"reflect"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// tt builds a ranked type; dims are ints (known) or strings (symbolic, ""
// for unknown).
func tt(elem tensor.DataType, dims ...any) Type {
	t := Type{Elem: elem, Ranked: true, Dims: []Dim{}}
	for _, d := range dims {
		switch v := d.(type) {
		case int:
			t.Dims = append(t.Dims, Known(int64(v)))
		case string:
			t.Dims = append(t.Dims, Symbolic(v))
		}
	}
	return t
}

// arg is one node input: a graph input of the given type, a constant
// (initializer), or omitted.
type arg struct {
	typ     Type
	val     *tensor.Tensor
	omitted bool
}

func in(t Type) arg                                          { return arg{typ: t} }
func cst(v *tensor.Tensor) arg                               { return arg{val: v} }
func ints(v ...int64) arg                                    { return cst(tensor.FromSlice([]int{len(v)}, v)) }
func floats(v ...float32) arg                                { return cst(tensor.FromSlice([]int{len(v)}, v)) }
func scalarInt(v int64) arg                                  { return cst(tensor.Scalar(v)) }
func none() arg                                              { return arg{omitted: true} }
func f32(dims ...any) Type                                   { return tt(tensor.Float32, dims...) }
func attrs(a ...*onnx.AttributeProto) []*onnx.AttributeProto { return a }

// TestInferOps checks single operators against output shapes worked out by
// hand from the ONNX operator definitions.
func TestInferOps(t *testing.T) {
	tests := []struct {
		name  string
		op    string
		opset int64
		args  []arg
		attrs []*onnx.AttributeProto
		nOut  int
		want  []string
	}{
		{"add broadcast symbolic", "Add", 13, []arg{in(f32("N", 3, 1)), in(f32(4))}, nil, 1, []string{"float32[N,3,4]"}},
		{"add same symbol", "Add", 13, []arg{in(f32("N")), in(f32("N"))}, nil, 1, []string{"float32[N]"}},
		{"add different symbols", "Add", 13, []arg{in(f32("N", 1)), in(f32("M", 1))}, nil, 1, []string{"float32[?,1]"}},
		{"add known beats symbol", "Mul", 13, []arg{in(f32("N", 5)), in(f32(7, 1))}, nil, 1, []string{"float32[7,5]"}},
		{"equal", "Equal", 13, []arg{in(f32(2, 1)), in(f32(3))}, nil, 1, []string{"bool[2,3]"}},
		{"where", "Where", 16, []arg{in(tt(tensor.Bool, "N", 1)), in(tt(tensor.Int32, 3)), in(tt(tensor.Int32))}, nil, 1, []string{"int32[N,3]"}},
		{"prelu like x", "PRelu", 16, []arg{in(f32("N", 3, 4)), in(f32(3, 1))}, nil, 1, []string{"float32[N,3,4]"}},
		{"matmul batched", "MatMul", 13, []arg{in(f32(2, "N", 3, 4)), in(f32(4, 5))}, nil, 1, []string{"float32[2,N,3,5]"}},
		{"matmul broadcast batch", "MatMul", 13, []arg{in(f32(1, 3, 4)), in(f32(2, 4, 5))}, nil, 1, []string{"float32[2,3,5]"}},
		{"matmul vec mat", "MatMul", 13, []arg{in(f32(4)), in(f32(4, 5))}, nil, 1, []string{"float32[5]"}},
		{"matmul mat vec", "MatMul", 13, []arg{in(f32(3, 4)), in(f32(4))}, nil, 1, []string{"float32[3]"}},
		{"matmul vec vec", "MatMul", 13, []arg{in(f32(4)), in(f32(4))}, nil, 1, []string{"float32[]"}},
		{"matmulinteger", "MatMulInteger", 10, []arg{in(tt(tensor.Uint8, "N", 4)), in(tt(tensor.Int8, 4, 6))}, nil, 1, []string{"int32[N,6]"}},
		{"gemm trans", "Gemm", 13, []arg{in(f32(4, 3)), in(f32(5, 4))}, attrs(AttrInt("transA", 1), AttrInt("transB", 1)), 1, []string{"float32[3,5]"}},
		{"conv stride pad", "Conv", 11, []arg{in(f32("N", 3, 32, 32)), in(f32(16, 3, 3, 3))}, attrs(AttrInts("strides", 2, 2), AttrInts("pads", 1, 1, 1, 1)), 1, []string{"float32[N,16,16,16]"}},
		{"conv same upper", "Conv", 11, []arg{in(f32(1, 3, 33, 8)), in(f32(4, 3, 3, 3))}, attrs(AttrString("auto_pad", "SAME_UPPER"), AttrInts("strides", 2, 2)), 1, []string{"float32[1,4,17,4]"}},
		{"conv dilated 1d", "Conv", 11, []arg{in(f32(1, 2, 10)), in(f32(4, 2, 3))}, attrs(AttrInts("dilations", 2)), 1, []string{"float32[1,4,6]"}},
		{"conv valid", "Conv", 11, []arg{in(f32(1, 2, 10)), in(f32(4, 2, 3))}, attrs(AttrString("auto_pad", "VALID"), AttrInts("strides", 3)), 1, []string{"float32[1,4,3]"}},
		{"convtranspose", "ConvTranspose", 11, []arg{in(f32(1, 2, 5, 5)), in(f32(2, 3, 3, 3))}, attrs(AttrInts("strides", 2, 2)), 1, []string{"float32[1,3,11,11]"}},
		{"convtranspose group pads", "ConvTranspose", 11, []arg{in(f32(1, 4, 5, 5)), in(f32(4, 3, 3, 3))}, attrs(AttrInt("group", 2), AttrInts("strides", 2, 2), AttrInts("pads", 1, 1, 1, 1), AttrInts("output_padding", 1, 1)), 1, []string{"float32[1,6,10,10]"}},
		{"convtranspose output_shape", "ConvTranspose", 11, []arg{in(f32(1, 2, 5, 5)), in(f32(2, 3, 3, 3))}, attrs(AttrInts("strides", 2, 2), AttrInts("output_shape", 10, 12)), 1, []string{"float32[1,3,10,12]"}},
		{"qlinearconv", "QLinearConv", 10, []arg{in(tt(tensor.Uint8, 1, 3, 8, 8)), in(f32()), in(tt(tensor.Uint8)), in(tt(tensor.Int8, 5, 3, 3, 3)), in(f32()), in(tt(tensor.Int8)), in(f32()), in(tt(tensor.Int8))}, nil, 1, []string{"int8[1,5,6,6]"}},
		{"convinteger", "ConvInteger", 10, []arg{in(tt(tensor.Uint8, 1, 3, 8, 8)), in(tt(tensor.Uint8, 5, 3, 3, 3))}, nil, 1, []string{"int32[1,5,6,6]"}},
		{"maxpool floor", "MaxPool", 12, []arg{in(f32("N", 1, 5, 5))}, attrs(AttrInts("kernel_shape", 2, 2), AttrInts("strides", 2, 2)), 2, []string{"float32[N,1,2,2]", "int64[N,1,2,2]"}},
		{"maxpool ceil", "MaxPool", 12, []arg{in(f32(1, 1, 5, 5))}, attrs(AttrInts("kernel_shape", 2, 2), AttrInts("strides", 2, 2), AttrInt("ceil_mode", 1)), 1, []string{"float32[1,1,3,3]"}},
		{"maxpool ceil last window in padding", "MaxPool", 12, []arg{in(f32(1, 1, 5))}, attrs(AttrInts("kernel_shape", 2), AttrInts("strides", 2), AttrInts("pads", 1, 1), AttrInt("ceil_mode", 1)), 1, []string{"float32[1,1,3]"}},
		{"avgpool pads", "AveragePool", 11, []arg{in(f32(1, 1, 6, 7))}, attrs(AttrInts("kernel_shape", 3, 3), AttrInts("strides", 2, 2), AttrInts("pads", 1, 1, 1, 1)), 1, []string{"float32[1,1,3,4]"}},
		{"avgpool same lower", "AveragePool", 11, []arg{in(f32(1, 1, 7))}, attrs(AttrInts("kernel_shape", 3), AttrInts("strides", 2), AttrString("auto_pad", "SAME_LOWER")), 1, []string{"float32[1,1,4]"}},
		{"global pool", "GlobalAveragePool", 11, []arg{in(f32("N", 8, "H", "W"))}, nil, 1, []string{"float32[N,8,1,1]"}},
		{"reshape 0 and -1", "Reshape", 13, []arg{in(f32("N", 3, 4)), ints(0, -1)}, nil, 1, []string{"float32[N,12]"}},
		{"reshape -1 symbolic", "Reshape", 13, []arg{in(f32("N", 12)), ints(-1, 3, 4)}, nil, 1, []string{"float32[N,3,4]"}},
		{"reshape -1 not a symbol", "Reshape", 13, []arg{in(f32("N", 3, 4)), ints(-1, 4)}, nil, 1, []string{"float32[?,4]"}},
		{"reshape allowzero", "Reshape", 14, []arg{in(f32(0, 3)), ints(3, 0)}, attrs(AttrInt("allowzero", 1)), 1, []string{"float32[3,0]"}},
		{"reshape runtime shape", "Reshape", 13, []arg{in(f32(2, 3)), in(tt(tensor.Int64, 3))}, nil, 1, []string{"float32[?,?,?]"}},
		{"reshape attr", "Reshape", 1, []arg{in(f32(2, 3))}, attrs(AttrInts("shape", 3, -1)), 1, []string{"float32[3,2]"}},
		{"flatten", "Flatten", 13, []arg{in(f32("N", 3, 4))}, nil, 1, []string{"float32[N,12]"}},
		{"flatten axis 0", "Flatten", 13, []arg{in(f32(2, 3, 4))}, attrs(AttrInt("axis", 0)), 1, []string{"float32[1,24]"}},
		{"flatten axis -1", "Flatten", 13, []arg{in(f32("N", 3, 4))}, attrs(AttrInt("axis", -1)), 1, []string{"float32[?,4]"}},
		{"transpose", "Transpose", 13, []arg{in(f32("N", 3, 4))}, attrs(AttrInts("perm", 2, 0, 1)), 1, []string{"float32[4,N,3]"}},
		{"transpose default", "Transpose", 13, []arg{in(f32("N", 3, 4))}, nil, 1, []string{"float32[4,3,N]"}},
		{"concat", "Concat", 13, []arg{in(f32("N", 3)), in(f32("N", 5))}, attrs(AttrInt("axis", -1)), 1, []string{"float32[N,8]"}},
		{"split input", "Split", 13, []arg{in(f32("N", 10)), ints(3, 7)}, attrs(AttrInt("axis", 1)), 2, []string{"float32[N,3]", "float32[N,7]"}},
		{"split attr", "Split", 11, []arg{in(f32(6, 2))}, attrs(AttrInts("split", 1, 5)), 2, []string{"float32[1,2]", "float32[5,2]"}},
		{"split equal", "Split", 13, []arg{in(f32(6, 2))}, nil, 3, []string{"float32[2,2]", "float32[2,2]", "float32[2,2]"}},
		{"split num_outputs uneven", "Split", 18, []arg{in(f32(10))}, attrs(AttrInt("num_outputs", 3)), 3, []string{"float32[4]", "float32[4]", "float32[2]"}},
		{"slice negative clamped", "Slice", 13, []arg{in(f32(10)), ints(-3), ints(100)}, nil, 1, []string{"float32[3]"}},
		{"slice negative step", "Slice", 13, []arg{in(f32(10)), ints(-1), ints(-100), ints(0), ints(-2)}, nil, 1, []string{"float32[5]"}},
		{"slice axis keeps others", "Slice", 13, []arg{in(f32("N", 10)), ints(2), ints(-1), ints(1)}, nil, 1, []string{"float32[N,7]"}},
		{"slice whole unknown axis", "Slice", 13, []arg{in(f32("N", 10)), ints(0), ints(1 << 62), ints(0)}, nil, 1, []string{"float32[N,10]"}},
		{"slice runtime", "Slice", 13, []arg{in(f32("N", 10)), in(tt(tensor.Int64, 1)), ints(5), ints(1)}, nil, 1, []string{"float32[N,?]"}},
		{"slice attrs", "Slice", 1, []arg{in(f32(4, 10))}, attrs(AttrInts("starts", 1, 2), AttrInts("ends", 3, 8), AttrInts("axes", 0, 1)), 1, []string{"float32[2,6]"}},
		{"squeeze input", "Squeeze", 13, []arg{in(f32(1, "N", 1)), ints(0)}, nil, 1, []string{"float32[N,1]"}},
		{"squeeze attr", "Squeeze", 11, []arg{in(f32(1, "N", 1))}, attrs(AttrInts("axes", -1)), 1, []string{"float32[1,N]"}},
		{"squeeze all", "Squeeze", 13, []arg{in(f32(1, 4, 1))}, nil, 1, []string{"float32[4]"}},
		{"squeeze all unknown", "Squeeze", 13, []arg{in(f32(1, "N"))}, nil, 1, []string{"float32[*]"}},
		{"unsqueeze input", "Unsqueeze", 13, []arg{in(f32("N")), ints(0, -1)}, nil, 1, []string{"float32[1,N,1]"}},
		{"unsqueeze attr", "Unsqueeze", 11, []arg{in(f32(3, 4))}, attrs(AttrInts("axes", 1)), 1, []string{"float32[3,1,4]"}},
		{"shape", "Shape", 15, []arg{in(f32("N", 3, 4))}, attrs(AttrInt("start", 1)), 1, []string{"int64[2]"}},
		{"size", "Size", 13, []arg{in(f32("N", 3))}, nil, 1, []string{"int64[]"}},
		{"gather", "Gather", 13, []arg{in(f32(5, 6)), in(tt(tensor.Int64, "N", 2))}, attrs(AttrInt("axis", 1)), 1, []string{"float32[5,N,2]"}},
		{"gather scalar index", "Gather", 13, []arg{in(f32(5, 6)), scalarInt(1)}, nil, 1, []string{"float32[6]"}},
		{"constantofshape", "ConstantOfShape", 9, []arg{ints(2, 3)}, nil, 1, []string{"float32[2,3]"}},
		{"pad", "Pad", 13, []arg{in(f32("N", 3, 4)), ints(0, 0, 1, 0, 0, 2)}, nil, 1, []string{"float32[N,3,7]"}},
		{"pad axes", "Pad", 18, []arg{in(f32("N", 3, 4)), ints(1, 2), none(), ints(-1)}, nil, 1, []string{"float32[N,3,7]"}},
		{"pad attr", "Pad", 2, []arg{in(f32(2, 3))}, attrs(AttrInts("pads", 1, 0, 1, 0)), 1, []string{"float32[4,3]"}},
		{"reducemean attr", "ReduceMean", 13, []arg{in(f32("N", 3, 4))}, attrs(AttrInts("axes", -1), AttrInt("keepdims", 0)), 1, []string{"float32[N,3]"}},
		{"reducesum input keep", "ReduceSum", 13, []arg{in(f32("N", 3, 4)), ints(1)}, nil, 1, []string{"float32[N,1,4]"}},
		{"reducemax all", "ReduceMax", 18, []arg{in(f32("N", 3))}, attrs(AttrInt("keepdims", 0)), 1, []string{"float32[]"}},
		{"reducemin noop", "ReduceMin", 18, []arg{in(f32("N", 3))}, attrs(AttrInt("noop_with_empty_axes", 1)), 1, []string{"float32[N,3]"}},
		{"argmax", "ArgMax", 13, []arg{in(f32("N", 5, 6))}, attrs(AttrInt("axis", 1), AttrInt("keepdims", 0)), 1, []string{"int64[N,6]"}},
		{"resize scales", "Resize", 13, []arg{in(f32(1, 3, 5, 5)), none(), floats(1, 1, 0.6, 0.6)}, nil, 1, []string{"float32[1,3,3,3]"}},
		{"resize sizes", "Resize", 13, []arg{in(f32("N", 3, 5, 5)), none(), none(), ints(1, 3, 10, 20)}, nil, 1, []string{"float32[1,3,10,20]"}},
		{"resize scales keep symbol", "Resize", 13, []arg{in(f32("N", 3, 5, 5)), floats(), floats(1, 1, 2, 2)}, nil, 1, []string{"float32[N,3,10,10]"}},
		{"resize-10", "Resize", 10, []arg{in(f32(1, 3, 4, 4)), floats(1, 1, 2, 1.5)}, nil, 1, []string{"float32[1,3,8,6]"}},
		{"upsample attr", "Upsample", 7, []arg{in(f32(1, 3, 4, 4))}, attrs(AttrFloats("scales", 1, 1, 2, 2)), 1, []string{"float32[1,3,8,8]"}},
		{"resize axes not_larger", "Resize", 18, []arg{in(f32(1, 3, 4, 8)), none(), none(), ints(6, 6)}, attrs(AttrInts("axes", 2, 3), AttrString("keep_aspect_ratio_policy", "not_larger")), 1, []string{"float32[1,3,3,6]"}},
		{"expand", "Expand", 13, []arg{in(f32(3, 1)), ints(2, 1, 4)}, nil, 1, []string{"float32[2,3,4]"}},
		{"tile", "Tile", 13, []arg{in(f32("N", 2)), ints(1, 3)}, nil, 1, []string{"float32[N,6]"}},
		{"range", "Range", 11, []arg{scalarInt(0), scalarInt(10), scalarInt(3)}, nil, 1, []string{"int64[4]"}},
		{"range negative", "Range", 11, []arg{scalarInt(10), scalarInt(4), scalarInt(-2)}, nil, 1, []string{"int64[3]"}},
		{"range float", "Range", 11, []arg{cst(tensor.Scalar(float32(1))), cst(tensor.Scalar(float32(2))), cst(tensor.Scalar(float32(0.3)))}, nil, 1, []string{"float32[4]"}},
		{"lstm bidirectional", "LSTM", 14, []arg{in(f32("T", "N", 8)), in(f32(2, 64, 8)), in(f32(2, 64, 16))}, attrs(AttrInt("hidden_size", 16), AttrString("direction", "bidirectional")), 3, []string{"float32[T,2,N,16]", "float32[2,N,16]", "float32[2,N,16]"}},
		{"gru layout 1", "GRU", 14, []arg{in(f32("N", "T", 8)), in(f32(1, 48, 8)), in(f32(1, 48, 16))}, attrs(AttrInt("layout", 1)), 2, []string{"float32[N,T,1,16]", "float32[N,1,16]"}},
		{"topk", "TopK", 11, []arg{in(f32("N", 10)), ints(3)}, nil, 2, []string{"float32[N,3]", "int64[N,3]"}},
		{"quantize zp int8", "QuantizeLinear", 13, []arg{in(f32("N", 4)), in(f32()), in(tt(tensor.Int8))}, nil, 1, []string{"int8[N,4]"}},
		{"quantize no zp", "QuantizeLinear", 13, []arg{in(f32("N", 4)), in(f32())}, nil, 1, []string{"uint8[N,4]"}},
		{"dequantize", "DequantizeLinear", 13, []arg{in(tt(tensor.Int8, "N", 4)), in(f32()), in(tt(tensor.Int8))}, nil, 1, []string{"float32[N,4]"}},
		{"dynamicquantize", "DynamicQuantizeLinear", 11, []arg{in(f32("N", 4))}, nil, 3, []string{"uint8[N,4]", "float32[]", "uint8[]"}},
		{"qlinearmatmul", "QLinearMatMul", 10, []arg{in(tt(tensor.Uint8, "N", 4)), in(f32()), in(tt(tensor.Uint8)), in(tt(tensor.Int8, 4, 6)), in(f32()), in(tt(tensor.Int8)), in(f32()), in(tt(tensor.Uint8))}, nil, 1, []string{"uint8[N,6]"}},
		{"cast", "Cast", 13, []arg{in(f32("N", 4))}, attrs(AttrInt("to", int64(tensor.Float16))), 1, []string{"float16[N,4]"}},
		{"dropout mask", "Dropout", 13, []arg{in(f32("N", 4))}, nil, 2, []string{"float32[N,4]", "bool[N,4]"}},
		{"layernorm stats", "LayerNormalization", 17, []arg{in(f32("N", 3, 4)), in(f32(4))}, nil, 3, []string{"float32[N,3,4]", "float32[N,3,1]", "float32[N,3,1]"}},
		{"batchnorm", "BatchNormalization", 15, []arg{in(f32("N", 3, 4, 4)), in(f32(3)), in(f32(3)), in(f32(3)), in(f32(3))}, nil, 1, []string{"float32[N,3,4,4]"}},
		{"softmax", "Softmax", 13, []arg{in(f32("N", 10))}, nil, 1, []string{"float32[N,10]"}},
		{"unknown op", "NoSuchOp", 13, []arg{in(f32(1))}, nil, 1, []string{"?[*]"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var inputs []*onnx.ValueInfoProto
			var inits []*onnx.TensorProto
			names := make([]string, len(tc.args))
			for i, a := range tc.args {
				name := string(rune('a' + i))
				switch {
				case a.omitted:
					name = ""
				case a.val != nil:
					tp, err := tensor.ToProto(a.val, name)
					if err != nil {
						t.Fatal(err)
					}
					inits = append(inits, tp)
				default:
					inputs = append(inputs, &onnx.ValueInfoProto{Name: ptr(name), Type: a.typ.toProto()})
				}
				names[i] = name
			}
			var outs []string
			for i := 0; i < tc.nOut; i++ {
				outs = append(outs, "out"+string(rune('0'+i)))
			}
			m := newModel([]*onnx.NodeProto{MakeNode(tc.op, "n", names, outs, tc.attrs...)}, inputs, nil, inits)
			m.OpsetImport[0].Version = ptr(tc.opset)
			g, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.InferShapes(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range outs {
				ty, _ := g.Type(o)
				got = append(got, ty.String())
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestInferErrors checks that inconsistent shapes are reported, naming the
// node.
func TestInferErrors(t *testing.T) {
	tests := []struct {
		name string
		op   string
		args []Type
	}{
		{"broadcast", "Add", []Type{f32(2, 3), f32(4)}},
		{"matmul inner", "MatMul", []Type{f32(2, 3), f32(4, 5)}},
		{"gemm rank", "Gemm", []Type{f32(2, 3, 1), f32(3, 5)}},
		{"concat rank", "Concat", []Type{f32(2, 3), f32(2)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var inputs []*onnx.ValueInfoProto
			var names []string
			for i, a := range tc.args {
				name := string(rune('a' + i))
				names = append(names, name)
				inputs = append(inputs, &onnx.ValueInfoProto{Name: ptr(name), Type: a.toProto()})
			}
			g, err := New(newModel([]*onnx.NodeProto{MakeNode(tc.op, "bad_node", names, []string{"y"})}, inputs, nil, nil))
			if err != nil {
				t.Fatal(err)
			}
			err = g.InferShapes()
			if err == nil || !containsSub(err.Error(), "bad_node") {
				t.Errorf("error %v, want one naming bad_node", err)
			}
		})
	}
	// A conflict with a declared type is reported too.
	m := newModel([]*onnx.NodeProto{MakeNode("Relu", "r", []string{"x"}, []string{"y"})},
		[]*onnx.ValueInfoProto{vi("x", 2, 3)}, []*onnx.ValueInfoProto{vi("y", 3, 2)}, nil)
	g, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.InferShapes(); err == nil {
		t.Errorf("no error for an output declared [3,2] computed [2,3]")
	}
}

func containsSub(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// TestInferShapeComputation follows shapes computed inside the graph
// (Shape, Gather, Unsqueeze, Concat) into Reshape, as exported models do.
func TestInferShapeComputation(t *testing.T) {
	m := newModel([]*onnx.NodeProto{
		MakeNode("Shape", "shape", []string{"x"}, []string{"s"}),
		MakeNode("Constant", "zero", nil, []string{"zero"}, AttrInt("value_int", 0)),
		MakeNode("Gather", "batch", []string{"s", "zero"}, []string{"b"}),
		MakeNode("Unsqueeze", "unsq", []string{"b", "axes"}, []string{"b1"}),
		MakeNode("Concat", "cat", []string{"b1", "minus1"}, []string{"shp"}, AttrInt("axis", 0)),
		MakeNode("Reshape", "flat", []string{"x", "shp"}, []string{"y"}),
		MakeNode("Slice", "hw", []string{"s", "two", "four"}, []string{"hw"}),
		MakeNode("Cast", "hwf", []string{"hw"}, []string{"hwi"}, AttrInt("to", int64(tensor.Int64))),
		MakeNode("ConstantOfShape", "fill", []string{"hwi"}, []string{"z"}),
		MakeNode("Mul", "dbl", []string{"hw", "two"}, []string{"hw2"}),
		MakeNode("Expand", "exp", []string{"one", "hw2"}, []string{"e"}),
	},
		[]*onnx.ValueInfoProto{{Name: ptr("x"), Type: f32("N", 3, 4, 5).toProto()}},
		nil,
		nil,
	)
	for _, c := range []struct {
		name string
		v    *tensor.Tensor
	}{
		{"axes", tensor.FromSlice([]int{1}, []int64{0})},
		{"minus1", tensor.FromSlice([]int{1}, []int64{-1})},
		{"two", tensor.FromSlice([]int{1}, []int64{2})},
		{"four", tensor.FromSlice([]int{1}, []int64{4})},
		{"one", tensor.FromSlice([]int{1}, []float32{1})},
	} {
		tp, err := tensor.ToProto(c.v, c.name)
		if err != nil {
			t.Fatal(err)
		}
		m.Graph.Initializer = append(m.Graph.Initializer, tp)
	}
	g, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"s": "int64[4]", "b": "int64[]", "b1": "int64[1]", "shp": "int64[2]",
		"y": "float32[N,60]", "hw": "int64[2]", "z": "float32[4,5]", "e": "float32[8,10]",
	} {
		if got, _ := g.Type(name); got.String() != want {
			t.Errorf("Type(%q) = %v, want %s", name, got, want)
		}
	}
}
