package graph

import (
	"sort"

	"github.com/onnxquant/onnxquant/onnx"
)

// Node is one node of a Graph. It wraps the model's NodeProto, which it edits
// in place. Read a node's fields through its methods; change its inputs,
// outputs and attributes through the Graph and Node methods so that the
// graph's indexes stay right (after editing Proto() directly, call
// Graph.Reindex).
type Node struct {
	proto     *onnx.NodeProto
	graph     *Graph
	index     int
	subgraphs []*Graph
	// implicit caches the outer-scope names read inside the subgraphs;
	// implicitOK is false when it must be recomputed.
	implicit   map[string]bool
	implicitOK bool
}

// Proto returns the underlying NodeProto. Edits to its inputs, outputs or
// graph attributes must be followed by Graph.Reindex.
func (n *Node) Proto() *onnx.NodeProto { return n.proto }

// Graph returns the graph holding the node, or nil once it was removed.
func (n *Node) Graph() *Graph { return n.graph }

// OpType returns the operator name, such as "Conv".
func (n *Node) OpType() string { return n.proto.GetOpType() }

// Domain returns the operator's domain, with "ai.onnx" reported as "".
func (n *Node) Domain() string { return normDomain(n.proto.GetDomain()) }

// Name returns the node's name (possibly empty).
func (n *Node) Name() string { return n.proto.GetName() }

// String names the node for messages: its name, or its op type and first
// output.
func (n *Node) String() string {
	if n.proto.GetName() != "" {
		return n.proto.GetName()
	}
	out := ""
	if len(n.proto.Output) > 0 {
		out = n.proto.Output[0]
	}
	return n.proto.GetOpType() + "(" + out + ")"
}

// Inputs returns a copy of the input names; "" marks an omitted optional
// input.
func (n *Node) Inputs() []string { return append([]string(nil), n.proto.Input...) }

// Outputs returns a copy of the output names; "" marks an unused optional
// output.
func (n *Node) Outputs() []string { return append([]string(nil), n.proto.Output...) }

// Input returns the i-th input name, or "" when the node has fewer inputs.
func (n *Node) Input(i int) string {
	if i < 0 || i >= len(n.proto.Input) {
		return ""
	}
	return n.proto.Input[i]
}

// Output returns the i-th output name, or "" when the node has fewer outputs.
func (n *Node) Output(i int) string {
	if i < 0 || i >= len(n.proto.Output) {
		return ""
	}
	return n.proto.Output[i]
}

// NumInputs returns the number of input slots (omitted trailing optional
// inputs excluded).
func (n *Node) NumInputs() int { return len(n.proto.Input) }

// NumOutputs returns the number of output slots.
func (n *Node) NumOutputs() int { return len(n.proto.Output) }

// Attr returns the attribute with the given name, or nil.
func (n *Node) Attr(name string) *onnx.AttributeProto {
	for _, a := range n.proto.Attribute {
		if a.GetName() == name {
			return a
		}
	}
	return nil
}

// AttrInt returns an integer attribute, or def when it is absent.
func (n *Node) AttrInt(name string, def int64) int64 {
	if a := n.Attr(name); a != nil && a.I != nil {
		return *a.I
	}
	return def
}

// AttrFloat returns a float attribute, or def when it is absent.
func (n *Node) AttrFloat(name string, def float32) float32 {
	if a := n.Attr(name); a != nil && a.F != nil {
		return *a.F
	}
	return def
}

// AttrString returns a string attribute, or def when it is absent.
func (n *Node) AttrString(name string, def string) string {
	if a := n.Attr(name); a != nil && a.S != nil {
		return string(a.S)
	}
	return def
}

// AttrInts returns an integer-list attribute and whether it is present.
func (n *Node) AttrInts(name string) ([]int64, bool) {
	a := n.Attr(name)
	if a == nil {
		return nil, false
	}
	return a.Ints, true
}

// AttrFloats returns a float-list attribute and whether it is present.
func (n *Node) AttrFloats(name string) ([]float32, bool) {
	a := n.Attr(name)
	if a == nil {
		return nil, false
	}
	return a.Floats, true
}

// SetAttr adds the attribute, or replaces the one with the same name.
// Graph-valued attributes become subgraphs of the node.
func (n *Node) SetAttr(a *onnx.AttributeProto) {
	replaced := false
	for i, old := range n.proto.Attribute {
		if old.GetName() == a.GetName() {
			n.proto.Attribute[i] = a
			replaced = true
			break
		}
	}
	if !replaced {
		n.proto.Attribute = append(n.proto.Attribute, a)
	}
	n.attrsChanged()
}

// RemoveAttr removes the named attribute and reports whether it was there.
func (n *Node) RemoveAttr(name string) bool {
	for i, a := range n.proto.Attribute {
		if a.GetName() == name {
			n.proto.Attribute = append(n.proto.Attribute[:i], n.proto.Attribute[i+1:]...)
			n.attrsChanged()
			return true
		}
	}
	return false
}

// attrsChanged refreshes what depends on the node's attributes: its
// subgraphs, and decoded constants when it is a Constant node.
func (n *Node) attrsChanged() {
	if n.graph == nil {
		return
	}
	had := len(n.subgraphs) > 0
	n.buildSubgraphs()
	switch has := len(n.subgraphs) > 0; {
	case has && !had:
		n.graph.nSub++
	case had && !has:
		n.graph.nSub--
	}
	n.graph.registerNames(n)
	for _, o := range n.proto.Output {
		delete(n.graph.consts, o)
	}
	n.invalidateImplicit()
	n.graph.touch()
}

// Subgraphs returns the node's subgraphs (the bodies of If, Loop, Scan and
// other graph-valued attributes) in attribute order.
func (n *Node) Subgraphs() []*Graph { return append([]*Graph(nil), n.subgraphs...) }

// Subgraph returns the subgraph held by the named attribute (for a
// graph-list attribute, the first one), or nil.
func (n *Node) Subgraph(attr string) *Graph {
	for _, s := range n.subgraphs {
		if s.attr == attr {
			return s
		}
	}
	return nil
}

// buildSubgraphs makes child views for the node's graph attributes, keeping
// existing views of unchanged GraphProtos.
func (n *Node) buildSubgraphs() {
	old := map[*onnx.GraphProto]*Graph{}
	for _, s := range n.subgraphs {
		old[s.proto] = s
	}
	n.subgraphs = n.subgraphs[:0]
	for _, a := range n.proto.Attribute {
		var gps []*onnx.GraphProto
		if a.G != nil {
			gps = append(gps, a.G)
		}
		gps = append(gps, a.Graphs...)
		for _, gp := range gps {
			if s, ok := old[gp]; ok {
				s.attr = a.GetName()
				n.subgraphs = append(n.subgraphs, s)
				continue
			}
			s := newGraph(gp, n.graph, n)
			s.attr = a.GetName()
			n.subgraphs = append(n.subgraphs, s)
		}
	}
	for _, s := range n.subgraphs {
		delete(old, s.proto)
	}
	for _, s := range old {
		s.detach()
	}
}

// ImplicitInputs returns, sorted, the names that the node's subgraphs read
// from outside themselves (outer-scope values).
func (n *Node) ImplicitInputs() []string {
	m := n.implicitSet()
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (n *Node) implicitSet() map[string]bool {
	if n.implicitOK {
		return n.implicit
	}
	m := map[string]bool{}
	for _, s := range n.subgraphs {
		for k := range s.freeNames() {
			m[k] = true
		}
	}
	n.implicit = m
	n.implicitOK = true
	return m
}

func (n *Node) invalidateImplicit() { n.implicitOK = false }

// uses reports whether the node reads name, explicitly or in a subgraph.
func (n *Node) uses(name string) bool {
	for _, in := range n.proto.Input {
		if in == name {
			return true
		}
	}
	return len(n.subgraphs) > 0 && n.implicitSet()[name]
}

// MakeNode builds a NodeProto for AddNode and its kin.
func MakeNode(opType, name string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	np := &onnx.NodeProto{
		Input:     append([]string(nil), inputs...),
		Output:    append([]string(nil), outputs...),
		OpType:    &opType,
		Attribute: attrs,
	}
	if name != "" {
		np.Name = &name
	}
	return np
}

// AttrInt builds an INT attribute.
func AttrInt(name string, v int64) *onnx.AttributeProto {
	t := onnx.AttributeProto_INT
	return &onnx.AttributeProto{Name: &name, Type: &t, I: &v}
}

// AttrFloat builds a FLOAT attribute.
func AttrFloat(name string, v float32) *onnx.AttributeProto {
	t := onnx.AttributeProto_FLOAT
	return &onnx.AttributeProto{Name: &name, Type: &t, F: &v}
}

// AttrString builds a STRING attribute.
func AttrString(name string, v string) *onnx.AttributeProto {
	t := onnx.AttributeProto_STRING
	return &onnx.AttributeProto{Name: &name, Type: &t, S: []byte(v)}
}

// AttrInts builds an INTS attribute.
func AttrInts(name string, v ...int64) *onnx.AttributeProto {
	t := onnx.AttributeProto_INTS
	return &onnx.AttributeProto{Name: &name, Type: &t, Ints: append([]int64{}, v...)}
}

// AttrFloats builds a FLOATS attribute.
func AttrFloats(name string, v ...float32) *onnx.AttributeProto {
	t := onnx.AttributeProto_FLOATS
	return &onnx.AttributeProto{Name: &name, Type: &t, Floats: append([]float32{}, v...)}
}

// AttrTensor builds a TENSOR attribute.
func AttrTensor(name string, v *onnx.TensorProto) *onnx.AttributeProto {
	t := onnx.AttributeProto_TENSOR
	return &onnx.AttributeProto{Name: &name, Type: &t, T: v}
}

// AttrGraph builds a GRAPH attribute.
func AttrGraph(name string, v *onnx.GraphProto) *onnx.AttributeProto {
	t := onnx.AttributeProto_GRAPH
	return &onnx.AttributeProto{Name: &name, Type: &t, G: v}
}
