package calibrate

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// AugmentedOutputs names the graph outputs of an augmented model that carry
// one calibrated tensor: Min and Max (ReduceMin and ReduceMax outputs, for
// MinMax) or Value (the tensor itself, for the histogram methods; empty
// when the tensor is a graph input, which the caller already has).
type AugmentedOutputs struct {
	Min, Max string
	Value    string
}

// Augment returns a copy of m prepared for calibration on another runtime,
// as the reference tool does: for MinMax, a ReduceMin and a ReduceMax node
// (keepdims 1, reducing every axis) per tensor, their outputs added as
// graph outputs named TENSOR_ReduceMin and TENSOR_ReduceMax (with a number
// appended if the name is taken); for Entropy and Percentile, which need
// every value, the tensors themselves become graph outputs. m is not
// modified. The returned map gives, per tensor, the outputs to read.
func Augment(m *onnx.ModelProto, tensors []string, method Method) (*onnx.ModelProto, map[string]AugmentedOutputs, error) {
	if m.GetGraph() == nil {
		return nil, nil, fmt.Errorf("calibrate: model has no graph")
	}
	out := proto.Clone(m).(*onnx.ModelProto)
	// A second copy gives value types and free names; out itself is
	// edited as a plain proto.
	view, err := graph.New(proto.Clone(m).(*onnx.ModelProto))
	if err != nil {
		return nil, nil, fmt.Errorf("calibrate: %w", err)
	}
	_ = view.InferShapes() // types help; inconsistencies are not ours to report
	g := out.GetGraph()
	isOutput := map[string]bool{}
	for _, o := range g.GetOutput() {
		isOutput[o.GetName()] = true
	}
	isInput := map[string]bool{}
	for _, i := range g.GetInput() {
		isInput[i.GetName()] = true
	}
	elem := func(name string) tensor.DataType {
		if t, ok := view.Type(name); ok && t.Elem != tensor.Undefined {
			return t.Elem
		}
		return tensor.Float32
	}
	addOutput := func(name string, dt tensor.DataType) {
		et := int32(dt)
		g.Output = append(g.Output, &onnx.ValueInfoProto{
			Name: proto.String(name),
			Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{ElemType: &et}}},
		})
		isOutput[name] = true
	}
	res := map[string]AugmentedOutputs{}
	for _, t := range tensors {
		if _, done := res[t]; done {
			continue
		}
		dt := elem(t)
		if method != MinMax {
			switch {
			case isInput[t]:
				res[t] = AugmentedOutputs{}
			case isOutput[t]:
				res[t] = AugmentedOutputs{Value: t}
			default:
				addOutput(t, dt)
				res[t] = AugmentedOutputs{Value: t}
			}
			continue
		}
		var o AugmentedOutputs
		for _, op := range []string{"ReduceMin", "ReduceMax"} {
			name := view.UniqueName(t + "_" + op)
			node := &onnx.NodeProto{
				Name:   proto.String(name),
				OpType: proto.String(op),
				Input:  []string{t},
				Output: []string{name},
				Attribute: []*onnx.AttributeProto{{
					Name: proto.String("keepdims"),
					Type: onnx.AttributeProto_INT.Enum(),
					I:    proto.Int64(1),
				}},
			}
			g.Node = append(g.Node, node)
			addOutput(name, dt)
			if op == "ReduceMin" {
				o.Min = name
			} else {
				o.Max = name
			}
		}
		res[t] = o
	}
	return out, res, nil
}
