package graph

import (
	"errors"
	"fmt"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// ErrUnsupportedConstant is wrapped by the errors of ConstantValue for a
// constant the view cannot decode: a sparse initializer or a Constant node
// with sparse_value.
var ErrUnsupportedConstant = errors.New("graph: unsupported constant")

// IsConstant reports whether value is a constant seen from g: an
// initializer, or the output of a Constant node, of g or (for an
// outer-scope value) of an enclosing graph. An initializer also listed as a
// graph input counts as a constant. Sparse constants count too, though
// ConstantValue cannot decode them.
func (g *Graph) IsConstant(value string) bool {
	d, kind := g.lookupConst(value)
	return d != nil && kind != constNone
}

type constKind int

const (
	constNone constKind = iota
	constInit
	constNode
	constSparse
)

// lookupConst finds the graph defining value and how.
func (g *Graph) lookupConst(value string) (*Graph, constKind) {
	if value == "" {
		return nil, constNone
	}
	for s := g; s != nil; s = s.parent {
		if _, ok := s.inits[value]; ok {
			return s, constInit
		}
		if s.sparse[value] {
			return s, constSparse
		}
		if p, ok := s.producer[value]; ok {
			if p.OpType() == "Constant" && p.Domain() == "" {
				return s, constNode
			}
			return s, constNone
		}
		if s.inputs[value] {
			return s, constNone
		}
	}
	return nil, constNone
}

// Constant returns the value of a constant (see IsConstant), decoded once
// and cached. The tensor is shared (float32 and 8-bit data are views of the
// model's raw_data, not copies): do not modify it. It returns false for
// a non-constant or a constant that cannot be decoded (ConstantValue tells
// why).
func (g *Graph) Constant(value string) (*tensor.Tensor, bool) {
	t, err := g.ConstantValue(value)
	return t, err == nil
}

// ConstantValue is Constant with the reason for a failure: an error
// wrapping ErrNotConstant for a value that is not constant,
// ErrUnsupportedConstant for a sparse constant, or the decoding error.
func (g *Graph) ConstantValue(value string) (*tensor.Tensor, error) {
	d, kind := g.lookupConst(value)
	switch kind {
	case constNone:
		return nil, fmt.Errorf("%w: %q", ErrNotConstant, value)
	case constSparse:
		return nil, fmt.Errorf("%w: %q is a sparse initializer", ErrUnsupportedConstant, value)
	}
	if t, ok := d.consts[value]; ok {
		return t, nil
	}
	var t *tensor.Tensor
	var err error
	if kind == constInit {
		t, err = tensor.ViewProto(d.inits[value])
		if err != nil {
			err = fmt.Errorf("graph: initializer %q: %w", value, err)
		}
	} else {
		t, err = constantNodeValue(d.producer[value])
	}
	if err != nil {
		return nil, err
	}
	d.consts[value] = t
	return t, nil
}

// constantNodeValue decodes the value attribute of a Constant node.
func constantNodeValue(n *Node) (*tensor.Tensor, error) {
	var found *onnx.AttributeProto
	for _, a := range n.proto.Attribute {
		switch a.GetName() {
		case "value", "value_float", "value_floats", "value_int", "value_ints",
			"value_string", "value_strings", "sparse_value":
			if found != nil {
				return nil, fmt.Errorf("graph: Constant node %s has both %s and %s", n, found.GetName(), a.GetName())
			}
			found = a
		}
	}
	if found == nil {
		return nil, fmt.Errorf("graph: Constant node %s has no value attribute", n)
	}
	switch found.GetName() {
	case "value":
		if found.T == nil {
			return nil, fmt.Errorf("graph: Constant node %s: value attribute holds no tensor", n)
		}
		t, err := tensor.ViewProto(found.T)
		if err != nil {
			return nil, fmt.Errorf("graph: Constant node %s: %w", n, err)
		}
		return t, nil
	case "value_float":
		return tensor.Scalar(found.GetF()), nil
	case "value_floats":
		return tensor.FromSlice([]int{len(found.Floats)}, append([]float32{}, found.Floats...)), nil
	case "value_int":
		return tensor.Scalar(found.GetI()), nil
	case "value_ints":
		return tensor.FromSlice([]int{len(found.Ints)}, append([]int64{}, found.Ints...)), nil
	case "value_string":
		return tensor.Scalar(string(found.S)), nil
	case "value_strings":
		s := make([]string, len(found.Strings))
		for i, b := range found.Strings {
			s[i] = string(b)
		}
		return tensor.FromSlice([]int{len(s)}, s), nil
	}
	return nil, fmt.Errorf("%w: Constant node %s holds a sparse_value", ErrUnsupportedConstant, n)
}

// constantType is the type of a Constant node's output, read from its
// attribute without decoding the data.
func constantType(n *Node) (Type, bool) {
	for _, a := range n.proto.Attribute {
		switch a.GetName() {
		case "value":
			if a.T != nil {
				return typeOfTensorProto(a.T), true
			}
		case "value_float":
			return TensorType(tensor.Float32), true
		case "value_floats":
			return TensorType(tensor.Float32, int64(len(a.Floats))), true
		case "value_int":
			return TensorType(tensor.Int64), true
		case "value_ints":
			return TensorType(tensor.Int64, int64(len(a.Ints))), true
		case "value_string":
			return TensorType(tensor.String), true
		case "value_strings":
			return TensorType(tensor.String, int64(len(a.Strings))), true
		case "sparse_value":
			if sp := a.SparseTensor; sp != nil && sp.Values != nil {
				return TensorType(tensor.DataType(sp.Values.GetDataType()), sp.Dims...), true
			}
		}
	}
	return Type{}, false
}
