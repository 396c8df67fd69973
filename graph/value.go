package graph

import (
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Dim is one dimension of a tensor shape: a known size, a symbolic size
// (an ONNX dim_param name), or unknown.
type Dim struct {
	// Value is the size when it is known (>= 0), and -1 otherwise.
	Value int64
	// Param is the symbolic name of an unknown size, or "" when the size is
	// known or has no name.
	Param string
}

// Known returns a dimension of known size n.
func Known(n int64) Dim { return Dim{Value: n} }

// Symbolic returns an unknown dimension named param. An empty name gives an
// anonymous unknown dimension.
func Symbolic(param string) Dim { return Dim{Value: -1, Param: param} }

// UnknownDim returns an anonymous unknown dimension.
func UnknownDim() Dim { return Dim{Value: -1} }

// IsKnown reports whether the size is known.
func (d Dim) IsKnown() bool { return d.Value >= 0 }

// String prints the size, the symbolic name, or "?".
func (d Dim) String() string {
	if d.Value >= 0 {
		return strconv.FormatInt(d.Value, 10)
	}
	if d.Param != "" {
		return d.Param
	}
	return "?"
}

// same reports whether two dimensions are certainly equal: both known and
// equal, or both carrying the same symbolic name.
func (d Dim) same(e Dim) bool {
	if d.Value >= 0 || e.Value >= 0 {
		return d.Value == e.Value
	}
	return d.Param != "" && d.Param == e.Param
}

// Type is the type of a tensor value as far as it is known: its element type
// (tensor.Undefined when unknown) and its shape. A shape is only meaningful
// when Ranked is true; a rank-0 (scalar) shape is Ranked with no Dims.
type Type struct {
	Elem   tensor.DataType
	Ranked bool
	Dims   []Dim
}

// TensorType returns a ranked type with the given element type and fully
// known dimensions.
func TensorType(elem tensor.DataType, dims ...int64) Type {
	t := Type{Elem: elem, Ranked: true, Dims: make([]Dim, len(dims))}
	for i, d := range dims {
		t.Dims[i] = Known(d)
	}
	return t
}

// Rank returns the number of dimensions, or -1 when the rank is unknown.
func (t Type) Rank() int {
	if !t.Ranked {
		return -1
	}
	return len(t.Dims)
}

// Static returns the shape as plain integers when the rank and every
// dimension are known.
func (t Type) Static() ([]int, bool) {
	if !t.Ranked {
		return nil, false
	}
	out := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		if !d.IsKnown() {
			return nil, false
		}
		out[i] = int(d.Value)
	}
	return out, true
}

// IsStatic reports whether the rank and every dimension are known.
func (t Type) IsStatic() bool {
	_, ok := t.Static()
	return ok
}

// IsZero reports whether nothing at all is known about the type.
func (t Type) IsZero() bool { return t.Elem == tensor.Undefined && !t.Ranked }

// String prints the type as elem[d0,d1,...], with "?" for unknown parts.
func (t Type) String() string {
	var b strings.Builder
	if t.Elem == tensor.Undefined {
		b.WriteString("?")
	} else {
		b.WriteString(t.Elem.String())
	}
	if !t.Ranked {
		b.WriteString("[*]")
		return b.String()
	}
	b.WriteByte('[')
	for i, d := range t.Dims {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.String())
	}
	b.WriteByte(']')
	return b.String()
}

// clone returns a copy whose Dims slice is not shared.
func (t Type) clone() Type {
	t.Dims = append([]Dim(nil), t.Dims...)
	return t
}

// typeFromProto reads a tensor type. Non-tensor types (sequences, maps,
// optionals, sparse tensors) yield the zero Type and false.
func typeFromProto(tp *onnx.TypeProto) (Type, bool) {
	tt := tp.GetTensorType()
	if tt == nil {
		return Type{}, false
	}
	t := Type{Elem: tensor.DataType(tt.GetElemType())}
	if sh := tt.GetShape(); sh != nil {
		t.Ranked = true
		t.Dims = make([]Dim, len(sh.GetDim()))
		for i, d := range sh.GetDim() {
			switch v := d.GetValue().(type) {
			case *onnx.TensorShapeProto_Dimension_DimValue:
				if v.DimValue >= 0 {
					t.Dims[i] = Known(v.DimValue)
				} else {
					t.Dims[i] = UnknownDim()
				}
			case *onnx.TensorShapeProto_Dimension_DimParam:
				t.Dims[i] = Symbolic(v.DimParam)
			default:
				t.Dims[i] = UnknownDim()
			}
		}
	}
	return t, true
}

// toProto writes t as an ONNX tensor type.
func (t Type) toProto() *onnx.TypeProto {
	tt := &onnx.TypeProto_Tensor{}
	if t.Elem != tensor.Undefined {
		e := int32(t.Elem)
		tt.ElemType = &e
	}
	if t.Ranked {
		sh := &onnx.TensorShapeProto{Dim: make([]*onnx.TensorShapeProto_Dimension, len(t.Dims))}
		for i, d := range t.Dims {
			pd := &onnx.TensorShapeProto_Dimension{}
			switch {
			case d.IsKnown():
				pd.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: d.Value}
			case d.Param != "":
				pd.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: d.Param}
			}
			sh.Dim[i] = pd
		}
		tt.Shape = sh
	}
	return &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: tt}}
}

// typeOfTensorProto is the type declared by an initializer.
func typeOfTensorProto(tp *onnx.TensorProto) Type {
	t := Type{Elem: tensor.DataType(tp.GetDataType()), Ranked: true, Dims: make([]Dim, len(tp.GetDims()))}
	for i, d := range tp.GetDims() {
		t.Dims[i] = Known(d)
	}
	return t
}
