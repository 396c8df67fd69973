// Package onnxbuild assembles small ONNX models in code, for tests and
// examples: a graph of nodes with typed inputs, outputs and initializers.
package onnxbuild

import (
	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Model is a model under construction.
type Model struct {
	M *onnx.ModelProto
}

// New starts a model with IR version 8 importing the default domain at the
// given opset version.
func New(opset int64) *Model {
	return &Model{M: &onnx.ModelProto{
		IrVersion:    proto.Int64(8),
		ProducerName: proto.String("onnxquant-test"),
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opset)}},
		Graph:        &onnx.GraphProto{Name: proto.String("g")},
	}}
}

// Opset adds an operator set import.
func (b *Model) Opset(domain string, version int64) *Model {
	b.M.OpsetImport = append(b.M.OpsetImport, &onnx.OperatorSetIdProto{Domain: proto.String(domain), Version: proto.Int64(version)})
	return b
}

// ValueInfo returns a tensor value info; a negative dimension is left
// unknown, and shape nil means no shape.
func ValueInfo(name string, dt tensor.DataType, shape []int) *onnx.ValueInfoProto {
	tt := &onnx.TypeProto_Tensor{ElemType: proto.Int32(int32(dt))}
	if shape != nil {
		tt.Shape = &onnx.TensorShapeProto{}
		for _, d := range shape {
			dim := &onnx.TensorShapeProto_Dimension{}
			if d >= 0 {
				dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
			}
			tt.Shape.Dim = append(tt.Shape.Dim, dim)
		}
	}
	return &onnx.ValueInfoProto{Name: proto.String(name), Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: tt}}}
}

// Input adds a graph input.
func (b *Model) Input(name string, dt tensor.DataType, shape ...int) *Model {
	b.M.Graph.Input = append(b.M.Graph.Input, ValueInfo(name, dt, nonNil(shape)))
	return b
}

// Output adds a graph output.
func (b *Model) Output(name string, dt tensor.DataType, shape ...int) *Model {
	b.M.Graph.Output = append(b.M.Graph.Output, ValueInfo(name, dt, nonNil(shape)))
	return b
}

// OutputNoShape adds a graph output with an element type but no shape.
func (b *Model) OutputNoShape(name string, dt tensor.DataType) *Model {
	b.M.Graph.Output = append(b.M.Graph.Output, ValueInfo(name, dt, nil))
	return b
}

func nonNil(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// Init adds an initializer; it panics when t cannot be encoded (a test bug).
func (b *Model) Init(name string, t *tensor.Tensor) *Model {
	tp, err := tensor.ToProto(t, name)
	if err != nil {
		panic(err)
	}
	b.M.Graph.Initializer = append(b.M.Graph.Initializer, tp)
	return b
}

// Node adds a node of the default domain.
func (b *Model) Node(opType string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *Model {
	return b.NodeIn("", opType, inputs, outputs, attrs...)
}

// NodeIn adds a node of the given domain, named after its first output.
func (b *Model) NodeIn(domain, opType string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *Model {
	n := &onnx.NodeProto{OpType: proto.String(opType), Input: inputs, Output: outputs, Attribute: attrs}
	if len(outputs) > 0 {
		n.Name = proto.String(opType + "_" + outputs[0])
	}
	if domain != "" {
		n.Domain = proto.String(domain)
	}
	b.M.Graph.Node = append(b.M.Graph.Node, n)
	return b
}

// Bytes encodes the model.
func (b *Model) Bytes() []byte {
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(b.M)
	if err != nil {
		panic(err)
	}
	return out
}

// AttrInt makes an INT attribute.
func AttrInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// AttrInts makes an INTS attribute.
func AttrInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INTS.Enum(), Ints: v}
}

// AttrFloat makes a FLOAT attribute.
func AttrFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// AttrString makes a STRING attribute.
func AttrString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// AttrTensor makes a TENSOR attribute; it panics when t cannot be encoded.
func AttrTensor(name string, t *tensor.Tensor) *onnx.AttributeProto {
	tp, err := tensor.ToProto(t, "")
	if err != nil {
		panic(err)
	}
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_TENSOR.Enum(), T: tp}
}

// AttrGraph makes a GRAPH attribute.
func AttrGraph(name string, g *onnx.GraphProto) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_GRAPH.Enum(), G: g}
}
