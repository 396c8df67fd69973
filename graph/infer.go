package graph

import (
	"errors"
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// InferShapes finds, for every value of g and its subgraphs, the element
// type and shape that follow from the graph inputs' declared types, the
// constants and the operators' rules. Dimensions that depend on runtime data
// stay unknown; symbolic dimensions (dim_param) are carried through where
// the rule is plain (same-shape and broadcasting ops, reshapes that keep a
// dimension, shapes computed from Shape). Declared types (value_info,
// outputs) are merged with the inferred ones. Operators it does not know
// leave their outputs as declared.
//
// Results are read with Type; they are written to the model only by
// WriteValueInfo. Calling it again after changes starts afresh from the
// declared types. The error, if any, joins every inconsistency found
// (incompatible shapes, a conflict with a declared type, a cycle); the
// other values are still inferred.
func (g *Graph) InferShapes() error {
	var errs []error
	g.infer(nil, &errs)
	return errors.Join(errs...)
}

// declaredTypes returns the types written in g's proto: initializers, graph
// inputs and outputs, value_info.
func (g *Graph) declaredTypes() map[string]Type {
	m := map[string]Type{}
	for _, tp := range g.proto.Initializer {
		m[tp.GetName()] = typeOfTensorProto(tp)
	}
	for _, sp := range g.proto.SparseInitializer {
		if v := sp.GetValues(); v != nil {
			m[v.GetName()] = TensorType(tensor.DataType(v.GetDataType()), sp.Dims...)
		}
	}
	for _, list := range [][]*onnx.ValueInfoProto{g.proto.ValueInfo, g.proto.Input, g.proto.Output} {
		for _, vi := range list {
			t, ok := typeFromProto(vi.GetType())
			if !ok {
				continue
			}
			if old, ok := m[vi.GetName()]; ok {
				if mt, err := mergeType(old, t); err == nil {
					t = mt
				}
			}
			m[vi.GetName()] = t
		}
	}
	for name, t := range g.extra {
		if old, ok := m[name]; ok {
			if mt, err := mergeType(t, old); err == nil {
				t = mt
			}
		}
		m[name] = t
	}
	return m
}

// infer runs inference over g, seeding graph inputs with seed (subgraph
// inputs given by the owner node).
func (g *Graph) infer(seed map[string]Type, errs *[]error) {
	decl := g.declaredTypes()
	for name, t := range seed {
		if old, ok := decl[name]; ok {
			if mt, err := mergeType(old, t); err == nil {
				t = mt
			}
		}
		decl[name] = t
	}
	g.types = map[string]Type{}
	for k, v := range decl {
		g.types[k] = v
	}
	g.vals = map[string]symValue{}
	order, err := g.topoOrder()
	if err != nil {
		*errs = append(*errs, err)
		order = g.nodes
	}
	for _, n := range order {
		c := &ictx{g: g, n: n}
		outs, err := c.run()
		if err != nil {
			*errs = append(*errs, fmt.Errorf("graph: inferring node %s (%s): %w", n, n.OpType(), err))
		}
		for i, o := range n.proto.Output {
			if o == "" {
				continue
			}
			var t Type
			if i < len(outs) {
				t = outs[i]
			}
			if old, ok := decl[o]; ok {
				mt, err := mergeType(t, old)
				if err != nil {
					*errs = append(*errs, fmt.Errorf("graph: node %s (%s) output %q: inferred %v, declared %v: %w", n, n.OpType(), o, t, old, err))
					mt = t
				}
				t = mt
			}
			if !t.IsZero() {
				g.types[o] = t
			}
		}
	}
}

// mergeType combines two descriptions of one value, the first winning
// where both name different symbols. Known facts that disagree are an
// error.
func mergeType(a, b Type) (Type, error) {
	out := a.clone()
	switch {
	case a.Elem == tensor.Undefined:
		out.Elem = b.Elem
	case b.Elem != tensor.Undefined && a.Elem != b.Elem:
		return a, fmt.Errorf("element type %v against %v", a.Elem, b.Elem)
	}
	if !b.Ranked {
		return out, nil
	}
	if !a.Ranked {
		out.Ranked = true
		out.Dims = append([]Dim(nil), b.Dims...)
		return out, nil
	}
	if len(a.Dims) != len(b.Dims) {
		return a, fmt.Errorf("rank %d against %d", len(a.Dims), len(b.Dims))
	}
	for i := range out.Dims {
		d, e := a.Dims[i], b.Dims[i]
		switch {
		case d.IsKnown() && e.IsKnown():
			if d.Value != e.Value {
				return a, fmt.Errorf("dimension %d is %d against %d", i, d.Value, e.Value)
			}
		case e.IsKnown():
			out.Dims[i] = e
		case !d.IsKnown() && d.Param == "":
			out.Dims[i] = e
		}
	}
	return out, nil
}

// symValue is the value of a small integer tensor of rank 0 or 1 as far as
// inference knows it: each element a known number, a symbol or unknown.
// Shapes computed in the graph (Shape, Gather, Concat, ...) travel this way
// to Reshape, Expand and the like.
type symValue struct {
	elems  []Dim
	scalar bool
}

// known returns the elements as integers when all are known.
func (v symValue) known() ([]int64, bool) {
	out := make([]int64, len(v.elems))
	for i, d := range v.elems {
		if !d.IsKnown() {
			return nil, false
		}
		out[i] = d.Value
	}
	return out, true
}

// maxSymElems bounds the size of the integer tensors inference tracks.
const maxSymElems = 4096

// ictx is the context for inferring one node.
type ictx struct {
	g    *Graph
	n    *Node
	outs map[int]symValue
}

// run infers the node's output types and records propagated values.
func (c *ictx) run() ([]Type, error) {
	n := c.n
	var f inferFunc
	switch n.Domain() {
	case "":
		f = onnxOps[n.OpType()]
	case "com.microsoft":
		f = msOps[n.OpType()]
	}
	if f == nil {
		// Unknown operator: its outputs stay unknown, but its subgraphs
		// are still inferred on their own.
		var errs []error
		for _, s := range n.subgraphs {
			s.infer(nil, &errs)
		}
		return nil, errors.Join(errs...)
	}
	outs, err := f(c)
	for i, v := range c.outs {
		if o := n.Output(i); o != "" {
			c.g.vals[o] = v
		}
	}
	return outs, err
}

// inferFunc infers one operator's output types.
type inferFunc func(c *ictx) ([]Type, error)

// opset returns the version of the node's domain.
func (c *ictx) opset() int64 {
	v := c.g.Opset(c.n.Domain())
	if v == 0 && c.n.Domain() == "" {
		// A model without an import of the default domain: assume the
		// newest rules.
		return math.MaxInt32
	}
	return v
}

// has reports whether input i is given.
func (c *ictx) has(i int) bool { return c.n.Input(i) != "" }

// in returns what is known of input i's type.
func (c *ictx) in(i int) Type {
	name := c.n.Input(i)
	if name == "" {
		return Type{}
	}
	t, _ := c.g.Type(name)
	return t
}

// elem returns input i's element type (Undefined when unknown).
func (c *ictx) elem(i int) tensor.DataType { return c.in(i).Elem }

// val returns input i's value as a symValue: a propagated one, or a small
// integer constant of rank 0 or 1.
func (c *ictx) val(i int) (symValue, bool) {
	name := c.n.Input(i)
	if name == "" {
		return symValue{}, false
	}
	for s := c.g; s != nil; s = s.parent {
		if v, ok := s.vals[name]; ok {
			return v, true
		}
		if s.definesLocally(name) {
			break
		}
	}
	if !c.g.IsConstant(name) {
		return symValue{}, false
	}
	t, ok := c.g.Constant(name)
	if !ok || t.Rank() > 1 || t.Len() > maxSymElems {
		return symValue{}, false
	}
	ints, ok := intsOf(t)
	if !ok {
		return symValue{}, false
	}
	v := symValue{elems: make([]Dim, len(ints)), scalar: t.Rank() == 0}
	for i, x := range ints {
		if x >= 0 {
			v.elems[i] = Known(x)
		} else {
			// Negative numbers (Slice ends, Reshape's -1) are values, not
			// dimensions: keep them in Value with a marker name.
			v.elems[i] = Dim{Value: x, Param: negMarker}
		}
	}
	return v, true
}

// negMarker tags a negative integer held in a Dim of a symValue.
const negMarker = "\x00neg"

// ints returns input i's values as integers when all are known.
func (c *ictx) ints(i int) ([]int64, bool) {
	v, ok := c.val(i)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(v.elems))
	for k, d := range v.elems {
		switch {
		case d.IsKnown():
			out[k] = d.Value
		case d.Param == negMarker:
			out[k] = d.Value
		default:
			return nil, false
		}
	}
	return out, true
}

// floats returns a constant input's values as float64 (exact conversions of
// the stored values).
func (c *ictx) floats(i int) ([]float64, bool) {
	name := c.n.Input(i)
	if name == "" || !c.g.IsConstant(name) {
		return nil, false
	}
	t, ok := c.g.Constant(name)
	if !ok {
		return nil, false
	}
	switch d := t.Data.(type) {
	case []float32:
		out := make([]float64, len(d))
		for k, x := range d {
			out[k] = float64(x)
		}
		return out, true
	case []float64:
		return append([]float64(nil), d...), true
	case []tensor.F16:
		out := make([]float64, len(d))
		for k, x := range d {
			out[k] = x.Float64()
		}
		return out, true
	case []tensor.BF16:
		out := make([]float64, len(d))
		for k, x := range d {
			out[k] = float64(x.Float32())
		}
		return out, true
	}
	if ints, ok := intsOf(t); ok {
		out := make([]float64, len(ints))
		for k, x := range ints {
			out[k] = float64(x)
		}
		return out, true
	}
	return nil, false
}

// setVal records output i's propagated value.
func (c *ictx) setVal(i int, v symValue) {
	if len(v.elems) > maxSymElems {
		return
	}
	if c.outs == nil {
		c.outs = map[int]symValue{}
	}
	c.outs[i] = v
}

// intsOf reads an integer or bool tensor (bools as 0 and 1) as int64s.
func intsOf(t *tensor.Tensor) ([]int64, bool) {
	if b, ok := t.Data.([]bool); ok {
		out := make([]int64, len(b))
		for i, x := range b {
			if x {
				out[i] = 1
			}
		}
		return out, true
	}
	v, err := tensor.Int64s(t)
	return v, err == nil
}
