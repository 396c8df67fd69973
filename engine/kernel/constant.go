package kernel

import (
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Constant", Build: buildConstant})
	Register(Op{Type: "Identity", Build: buildIdentity})
}

// buildConstant prepares Constant: its single output is the value held in
// one of the attributes value, value_float(s), value_int(s), value_string(s).
// https://onnx.ai/onnx/operators/onnx__Constant.html
func buildConstant(n *Node) (Kernel, error) {
	var val *tensor.Tensor
	var err error
	switch {
	case n.Has("value"):
		val, err = n.Tensor("value")
	case n.Has("value_float"):
		var f float32
		f, err = n.Float("value_float", 0)
		val = tensor.Scalar(f)
	case n.Has("value_floats"):
		var fs []float32
		fs, err = n.Floats("value_floats", nil)
		val = tensor.FromSlice([]int{len(fs)}, fs)
	case n.Has("value_int"):
		var i int64
		i, err = n.Int("value_int", 0)
		val = tensor.Scalar(i)
	case n.Has("value_ints"):
		var is []int64
		is, err = n.Ints("value_ints", nil)
		val = tensor.FromSlice([]int{len(is)}, is)
	case n.Has("value_string"):
		var s string
		s, err = n.String("value_string", "")
		val = tensor.Scalar(s)
	case n.Has("value_strings"):
		var ss []string
		ss, err = n.Strings("value_strings", nil)
		val = tensor.FromSlice([]int{len(ss)}, ss)
	case n.Has("sparse_value"):
		return nil, n.Unsupported("sparse_value")
	default:
		return nil, n.Errorf("no value attribute")
	}
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, _ []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return ctx.Out(val), nil
	}), nil
}

// buildIdentity prepares Identity, which returns its input (shared, not
// copied: the engine never writes into a kernel's inputs).
// https://onnx.ai/onnx/operators/onnx__Identity.html
func buildIdentity(n *Node) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		return ctx.Out(in[0]), nil
	}), nil
}
