package opset

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// baseName is the prefix for names derived from the node.
func (c *nodeCtx) baseName() string {
	if s := c.n.Name(); s != "" {
		return s
	}
	if s := c.n.Output(0); s != "" {
		return s
	}
	return c.op
}

// removeAttr removes an attribute and reports whether it was there.
func (c *nodeCtx) removeAttr(name string) bool { return c.n.RemoveAttr(name) }

// attrInts returns an INTS attribute (or a single INT given instead).
func (c *nodeCtx) attrInts(name string) ([]int64, bool) {
	a := c.n.Attr(name)
	if a == nil {
		return nil, false
	}
	if a.GetType() == onnx.AttributeProto_INT {
		return []int64{a.GetI()}, true
	}
	return append([]int64(nil), a.GetInts()...), true
}

// attrFloat returns a FLOAT attribute's value (an INT one is accepted).
func (c *nodeCtx) attrFloat(name string) (float64, bool) {
	a := c.n.Attr(name)
	if a == nil {
		return 0, false
	}
	if a.GetType() == onnx.AttributeProto_INT {
		return float64(a.GetI()), true
	}
	return float64(a.GetF()), true
}

// rank returns the rank of a value, or -1 when unknown.
func (c *nodeCtx) rank(value string) int {
	if value == "" {
		return -1
	}
	if t, ok := c.g.Constant(value); ok {
		return len(t.Shape)
	}
	t, ok := c.g.Type(value)
	if !ok {
		return -1
	}
	return t.Rank()
}

// elem returns the element type of a value, or tensor.Undefined.
func (c *nodeCtx) elem(value string) tensor.DataType {
	if value == "" {
		return tensor.Undefined
	}
	if t, ok := c.g.Constant(value); ok {
		return t.DType
	}
	t, _ := c.g.Type(value)
	return t.Elem
}

// used reports whether a value is read by any node (subgraphs included) or
// is a graph output.
func (c *nodeCtx) used(value string) bool {
	return len(c.g.Consumers(value)) > 0 || c.g.IsOutput(value)
}

// addConst stores t as a new initializer of the node's graph and returns
// its name.
func (c *nodeCtx) addConst(suffix string, t *tensor.Tensor) (string, error) {
	name := c.g.UniqueName(c.baseName() + "_" + suffix)
	if err := c.g.SetInitializer(name, t); err != nil {
		return "", fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	return name, nil
}

// setInput sets input pos of the node, padding the input list with empty
// (omitted) inputs as needed.
func (c *nodeCtx) setInput(pos int, value string) error {
	in := c.n.Inputs()
	for len(in) <= pos {
		in = append(in, "")
	}
	in[pos] = value
	for len(in) > 0 && in[len(in)-1] == "" {
		in = in[:len(in)-1]
	}
	if err := c.g.SetInputs(c.n, in); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	return nil
}

// attrToInput moves an INTS attribute to input pos as a 1-D int64 tensor;
// it reports whether the attribute was there.
func (c *nodeCtx) attrToInput(attr string, pos int) (bool, error) {
	vals, ok := c.attrInts(attr)
	if !ok {
		return false, nil
	}
	name, err := c.addConst(attr, tensor.FromSlice([]int{len(vals)}, vals))
	if err != nil {
		return false, err
	}
	if err := c.setInput(pos, name); err != nil {
		return false, err
	}
	c.removeAttr(attr)
	c.note("attribute %s=%v moved to input %d (%s)", attr, vals, pos, name)
	return true, nil
}

// scalarOf returns a scalar tensor of type dt holding v, or an error when
// dt is not a floating-point type (the only ones the attributes this is
// used for allowed).
func scalarOf(dt tensor.DataType, v float64) (*tensor.Tensor, error) {
	switch dt {
	case tensor.Float32:
		return tensor.Scalar(float32(v)), nil
	case tensor.Float64:
		return tensor.Scalar(v), nil
	case tensor.Float16:
		return tensor.Scalar(tensor.F16FromFloat64(v)), nil
	case tensor.BFloat16:
		return tensor.Scalar(tensor.BF16FromFloat64(v)), nil
	}
	return nil, fmt.Errorf("element type %v", dt)
}

// isInf reports whether an attribute value stands for "no bound".
func isInf(v float64, sign int) bool {
	if math.IsInf(v, sign) {
		return true
	}
	// Older exporters wrote the float32 extremes.
	return (sign > 0 && v >= math.MaxFloat32) || (sign < 0 && v <= -math.MaxFloat32)
}

// insertBefore adds a helper node just before the node being converted.
func (c *nodeCtx) insertBefore(np *onnx.NodeProto) error {
	if _, err := c.g.InsertBefore(c.n, np); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	return nil
}

// insertAfter adds a helper node just after the node being converted.
func (c *nodeCtx) insertAfter(np *onnx.NodeProto) error {
	if _, err := c.g.InsertAfter(c.n, np); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	return nil
}

// unsqueeze inserts, before the node, an Unsqueeze of x at axes in the
// target opset's form and returns its output.
func (c *nodeCtx) unsqueeze(x string, axes []int64) (string, error) {
	out := c.g.UniqueName(x + "_unsqueezed")
	name := c.g.UniqueName(c.baseName() + "_unsqueeze")
	var np *onnx.NodeProto
	if c.u.to >= 13 {
		an, err := c.addConst("unsqueeze_axes", tensor.FromSlice([]int{len(axes)}, axes))
		if err != nil {
			return "", err
		}
		np = graph.MakeNode("Unsqueeze", name, []string{x, an}, []string{out})
	} else {
		np = graph.MakeNode("Unsqueeze", name, []string{x}, []string{out}, graph.AttrInts("axes", axes...))
	}
	if err := c.insertBefore(np); err != nil {
		return "", err
	}
	return out, nil
}

// appendOnes makes value broadcast numpy-style as if its dimensions were
// followed by extra ones: a constant gets a reshaped copy, anything else an
// Unsqueeze. It returns the new value's name.
func (c *nodeCtx) appendOnes(value string, rank, extra int) (string, error) {
	axes := make([]int64, extra)
	for i := range axes {
		axes[i] = int64(rank + i)
	}
	if t, ok := c.g.Constant(value); ok {
		r := t.Clone()
		for range extra {
			r.Shape = append(r.Shape, 1)
		}
		return c.addConst("reshaped", r)
	}
	return c.unsqueeze(value, axes)
}

// setAttr sets an attribute on the node.
func (c *nodeCtx) setAttr(a *onnx.AttributeProto) { c.n.SetAttr(a) }

// setOpType replaces the node's operator type.
func (c *nodeCtx) setOpType(op string) { c.n.Proto().OpType = proto.String(op) }
