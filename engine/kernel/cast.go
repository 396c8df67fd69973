package kernel

import (
	"math"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Cast and CastLike. Numeric and bool conversions follow tensor.Convert
// (round to nearest even between floats, truncation toward zero from float
// to integer, wrap-around between integers). Targets the engine cannot
// hold in memory (float8, float4, int2, complex) are unsupported, which is
// also why the saturate attribute, defined only for float8 targets, never
// changes a result here. Strings convert to numbers (decimal or scientific
// notation, INF/-INF/NaN in any case) and integers to decimal strings;
// float to string is unsupported, its formatting being left open by the
// spec.

func init() {
	Register(Op{Type: "Cast", Build: buildCast})
	Register(Op{Type: "CastLike", MinOpset: 15, Build: buildCastLike})
}

// buildCast prepares Cast. Before opset 6 the target type is a string
// attribute naming the TensorProto data type ("FLOAT"); later it is the
// type's number.
func buildCast(n *Node) (Kernel, error) {
	if !n.Has("to") {
		return nil, n.Errorf("missing attribute \"to\"")
	}
	var to tensor.DataType
	if n.Opset < 6 {
		s, err := n.String("to", "")
		if err != nil {
			return nil, err
		}
		v, ok := onnx.TensorProto_DataType_value[strings.ToUpper(s)]
		if !ok {
			return nil, n.Errorf("unknown target type %q", s)
		}
		to = tensor.DataType(v)
	} else {
		v, err := n.Int("to", 0)
		if err != nil {
			return nil, err
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, n.Errorf("target type %d out of range", v)
		}
		to = tensor.DataType(v)
	}
	if err := castAttrs(n); err != nil {
		return nil, err
	}
	if !to.Supported() {
		return nil, n.Unsupported("cast to %v", to)
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		out, err := castTensor(n, in[0], to)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// castAttrs reads and checks saturate (opset 19+) and round_mode (opset
// 25+). Both only concern float8 targets, which are unsupported.
func castAttrs(n *Node) error {
	if n.Opset >= 19 {
		s, err := n.Int("saturate", 1)
		if err != nil {
			return err
		}
		if s != 0 && s != 1 {
			return n.Errorf("saturate is %d, want 0 or 1", s)
		}
	}
	if n.Opset >= 25 {
		m, err := n.String("round_mode", "up")
		if err != nil {
			return err
		}
		switch m {
		case "up", "down", "nearest":
		default:
			return n.Errorf("round_mode is %q, want up, down or nearest", m)
		}
	}
	return nil
}

// buildCastLike prepares CastLike, which casts its first input to the
// element type of its second.
func buildCastLike(n *Node) (Kernel, error) {
	if err := castAttrs(n); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		out, err := castTensor(n, in[0], in[1].DType)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

// castTensor converts x to type to; a tensor already of that type is
// returned as it is.
func castTensor(n *Node, x *tensor.Tensor, to tensor.DataType) (*tensor.Tensor, error) {
	if x.DType == to {
		return x, nil
	}
	if !to.Supported() {
		return nil, n.Unsupported("cast to %v", to)
	}
	switch {
	case x.DType == tensor.String:
		return castFromString(n, x, to)
	case to == tensor.String:
		return castToString(n, x)
	}
	out, err := tensor.Convert(x, to)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	return out, nil
}

// castFromString parses decimal or scientific numbers. Integer targets
// accept a fractional number and truncate it toward zero.
func castFromString(n *Node, x *tensor.Tensor, to tensor.DataType) (*tensor.Tensor, error) {
	src := x.Data.([]string)
	switch {
	case to.IsFloat():
		vals := make([]float64, len(src))
		for i, s := range src {
			v, err := parseFloat(s)
			if err != nil {
				return nil, n.Errorf("element %d: %w", i, err)
			}
			vals[i] = v
		}
		out, err := tensor.Convert(tensor.FromSlice(x.Shape, vals), to)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return out, nil
	case to.IsInteger():
		vals := make([]int64, len(src))
		for i, s := range src {
			s = strings.TrimSpace(s)
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				vals[i] = v
				continue
			}
			f, err := parseFloat(s)
			if err != nil {
				return nil, n.Errorf("element %d: %w", i, err)
			}
			vals[i] = truncInt[int64](f)
		}
		out, err := tensor.Convert(tensor.FromSlice(x.Shape, vals), to)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return out, nil
	}
	return nil, n.Unsupported("cast from string to %v", to)
}

// parseFloat parses a number as Cast reads it from a string; strconv
// already accepts INF, +INF, -INF and NaN in any case.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !isRangeErr(err) {
		return 0, err
	}
	// Out of float64 range: ParseFloat returns ±Inf or 0, the right values.
	return v, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// castToString formats integers in decimal.
func castToString(n *Node, x *tensor.Tensor) (*tensor.Tensor, error) {
	if !x.DType.IsInteger() {
		return nil, n.Unsupported("cast from %v to string", x.DType)
	}
	out := make([]string, x.Len())
	if u, ok := x.Data.([]uint64); ok {
		for i, v := range u {
			out[i] = strconv.FormatUint(v, 10)
		}
	} else {
		vals, err := tensor.Int64s(x)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		for i, v := range vals {
			out[i] = strconv.FormatInt(v, 10)
		}
	}
	return tensor.FromSlice(x.Shape, out), nil
}
