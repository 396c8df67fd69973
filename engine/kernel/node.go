package kernel

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Kernel runs one prepared node. in holds one tensor per node input, nil for
// an omitted optional input; the result holds one tensor per node output
// (nil is allowed for an optional output nobody reads).
//
// A kernel must not modify its inputs: they may be constants, graph inputs
// or another node's outputs. It may return an input unchanged as an output
// (Identity, a Reshape that keeps the data). It must be safe to run from
// several goroutines at once, so state prepared at build time is read-only.
type Kernel interface {
	Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error)
}

// KernelFunc adapts a function to the Kernel interface.
type KernelFunc func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error)

// Run calls f.
func (f KernelFunc) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) { return f(ctx, in) }

// Builder prepares a node: it reads its attributes and constant inputs and
// returns the kernel that runs it, or an error when the node uses something
// the engine does not implement (wrap ErrUnsupported for those).
type Builder func(n *Node) (Kernel, error)

// ErrUnsupported marks an operator, attribute value or data type that the
// engine does not implement.
var ErrUnsupported = errors.New("not supported by the engine")

// Subgraph is a compiled graph attribute (the branches of If, the body of
// Loop and Scan). Values of enclosing graphs it reads are taken from the
// Ctx's scope when it runs.
type Subgraph interface {
	// Run executes the subgraph on its formal inputs and returns its outputs.
	Run(ctx *Ctx, inputs []*tensor.Tensor) ([]*tensor.Tensor, error)
	// NumInputs and NumOutputs give the subgraph's signature.
	NumInputs() int
	NumOutputs() int
}

// Compiler compiles a graph attribute into a Subgraph; the engine provides it.
type Compiler func(g *onnx.GraphProto) (Subgraph, error)

// Node is the build-time view of one node given to a Builder.
type Node struct {
	Proto *onnx.NodeProto
	// Opset is the version of the node's domain imported by the model.
	Opset int64
	// Inputs and Outputs are the node's value names ("" for omitted ones).
	Inputs, Outputs []string

	consts  []*tensor.Tensor
	attrs   map[string]*onnx.AttributeProto
	used    map[string]bool
	compile Compiler
}

// NewNode prepares the build-time view of p. consts holds, per input, the
// value when it is known before running (initializers, folded constants),
// else nil. compile may be nil when the graph has no subgraphs.
func NewNode(p *onnx.NodeProto, opset int64, consts []*tensor.Tensor, compile Compiler) *Node {
	n := &Node{
		Proto: p, Opset: opset,
		Inputs: p.GetInput(), Outputs: p.GetOutput(),
		consts: consts, attrs: map[string]*onnx.AttributeProto{}, used: map[string]bool{},
		compile: compile,
	}
	for _, a := range p.GetAttribute() {
		n.attrs[a.GetName()] = a
	}
	return n
}

// Name returns a readable identity for messages: the node name, or its op
// type and first output.
func (n *Node) Name() string {
	if s := n.Proto.GetName(); s != "" {
		return s
	}
	if len(n.Outputs) > 0 {
		return n.Proto.GetOpType() + "->" + n.Outputs[0]
	}
	return n.Proto.GetOpType()
}

// Errorf returns an error naming the node.
func (n *Node) Errorf(format string, args ...any) error {
	return fmt.Errorf("kernel: %s node %q: %w", n.Proto.GetOpType(), n.Name(), fmt.Errorf(format, args...))
}

// Unsupported returns an ErrUnsupported error naming the node and what is
// not supported.
func (n *Node) Unsupported(format string, args ...any) error {
	return fmt.Errorf("kernel: %s node %q: %s: %w", n.Proto.GetOpType(), n.Name(), fmt.Sprintf(format, args...), ErrUnsupported)
}

// NumInputs returns the number of inputs, counting omitted optional ones
// that precede present ones.
func (n *Node) NumInputs() int { return len(n.Inputs) }

// HasInput reports whether input i is present (not omitted).
func (n *Node) HasInput(i int) bool { return i < len(n.Inputs) && n.Inputs[i] != "" }

// HasOutput reports whether output i is requested.
func (n *Node) HasOutput(i int) bool { return i < len(n.Outputs) && n.Outputs[i] != "" }

// Const returns input i's value when it is known at build time, else nil.
func (n *Node) Const(i int) *tensor.Tensor {
	if i < len(n.consts) {
		return n.consts[i]
	}
	return nil
}

// Has reports whether the attribute is present (and marks it as read).
func (n *Node) Has(name string) bool {
	_, ok := n.attrs[name]
	if ok {
		n.used[name] = true
	}
	return ok
}

// Ignore marks attributes as deliberately ignored (they do not change the
// result, such as a training-only flag at its default).
func (n *Node) Ignore(names ...string) {
	for _, s := range names {
		n.used[s] = true
	}
}

func (n *Node) attr(name string, want onnx.AttributeProto_AttributeType) (*onnx.AttributeProto, error) {
	a, ok := n.attrs[name]
	if !ok {
		return nil, nil
	}
	n.used[name] = true
	if a.GetRefAttrName() != "" {
		return nil, n.Unsupported("attribute %q refers to a function attribute", name)
	}
	t := a.GetType()
	if t == onnx.AttributeProto_UNDEFINED {
		t = inferAttrType(a)
	}
	if t != want {
		return nil, n.Errorf("attribute %q has type %v, want %v", name, t, want)
	}
	return a, nil
}

// inferAttrType guesses the type of an IR<2 attribute without a type field.
func inferAttrType(a *onnx.AttributeProto) onnx.AttributeProto_AttributeType {
	switch {
	case a.F != nil:
		return onnx.AttributeProto_FLOAT
	case a.I != nil:
		return onnx.AttributeProto_INT
	case a.S != nil:
		return onnx.AttributeProto_STRING
	case a.T != nil:
		return onnx.AttributeProto_TENSOR
	case a.G != nil:
		return onnx.AttributeProto_GRAPH
	case len(a.Floats) > 0:
		return onnx.AttributeProto_FLOATS
	case len(a.Ints) > 0:
		return onnx.AttributeProto_INTS
	case len(a.Strings) > 0:
		return onnx.AttributeProto_STRINGS
	case len(a.Tensors) > 0:
		return onnx.AttributeProto_TENSORS
	case len(a.Graphs) > 0:
		return onnx.AttributeProto_GRAPHS
	}
	return onnx.AttributeProto_UNDEFINED
}

// Int returns an INT attribute, or def when absent.
func (n *Node) Int(name string, def int64) (int64, error) {
	a, err := n.attr(name, onnx.AttributeProto_INT)
	if err != nil || a == nil {
		return def, err
	}
	return a.GetI(), nil
}

// Float returns a FLOAT attribute, or def when absent.
func (n *Node) Float(name string, def float32) (float32, error) {
	a, err := n.attr(name, onnx.AttributeProto_FLOAT)
	if err != nil || a == nil {
		return def, err
	}
	return a.GetF(), nil
}

// String returns a STRING attribute, or def when absent.
func (n *Node) String(name, def string) (string, error) {
	a, err := n.attr(name, onnx.AttributeProto_STRING)
	if err != nil || a == nil {
		return def, err
	}
	return string(a.GetS()), nil
}

// Ints returns an INTS attribute (a copy), or def when absent.
func (n *Node) Ints(name string, def []int64) ([]int64, error) {
	a, err := n.attr(name, onnx.AttributeProto_INTS)
	if err != nil || a == nil {
		return def, err
	}
	return append([]int64(nil), a.GetInts()...), nil
}

// Floats returns a FLOATS attribute (a copy), or def when absent.
func (n *Node) Floats(name string, def []float32) ([]float32, error) {
	a, err := n.attr(name, onnx.AttributeProto_FLOATS)
	if err != nil || a == nil {
		return def, err
	}
	return append([]float32(nil), a.GetFloats()...), nil
}

// Strings returns a STRINGS attribute, or def when absent.
func (n *Node) Strings(name string, def []string) ([]string, error) {
	a, err := n.attr(name, onnx.AttributeProto_STRINGS)
	if err != nil || a == nil {
		return def, err
	}
	out := make([]string, len(a.GetStrings()))
	for i, s := range a.GetStrings() {
		out[i] = string(s)
	}
	return out, nil
}

// Tensor returns a TENSOR attribute decoded, or nil when absent.
func (n *Node) Tensor(name string) (*tensor.Tensor, error) {
	a, err := n.attr(name, onnx.AttributeProto_TENSOR)
	if err != nil || a == nil {
		return nil, err
	}
	t, err := tensor.FromProto(a.GetT())
	if err != nil {
		return nil, n.Errorf("attribute %q: %w", name, err)
	}
	return t, nil
}

// Subgraph compiles a GRAPH attribute; it is an error when it is absent.
func (n *Node) Subgraph(name string) (Subgraph, error) {
	a, err := n.attr(name, onnx.AttributeProto_GRAPH)
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, n.Errorf("missing graph attribute %q", name)
	}
	if n.compile == nil {
		return nil, n.Unsupported("subgraphs")
	}
	sg, err := n.compile(a.GetG())
	if err != nil {
		return nil, n.Errorf("subgraph %q: %w", name, err)
	}
	return sg, nil
}

// Unused returns the names of attributes the builder never read, sorted.
func (n *Node) Unused() []string {
	var out []string
	for name := range n.attrs {
		if !n.used[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Scope gives kernels of subgraph-holding operators access to the values of
// the enclosing graphs.
type Scope interface {
	Lookup(name string) (*tensor.Tensor, bool)
}

// Ctx is what a kernel sees while it runs.
type Ctx struct {
	// Context is the run's context; long kernels may check it.
	Context context.Context
	// Threads is the number of goroutines a kernel may use (>= 1).
	Threads int
	// Scope resolves names of enclosing graphs (for If, Loop, Scan).
	Scope Scope
	// Alloc, when set, returns a tensor of type dt and shape, zero-filled
	// when zero is true (else its contents are unspecified: a recycled
	// buffer as it was left); the engine recycles buffers through it. When
	// nil, tensor.New is used. The shape travels by value so that callers'
	// shapes stay on their stacks.
	Alloc func(dt tensor.DataType, shape Dims, zero bool) *tensor.Tensor
	// Observe, when set, receives every value produced, subgraphs included
	// (the engine's observer; kernels do not call it).
	Observe func(name string, t *tensor.Tensor)
	// Header, when set, returns a tensor header the engine recycles
	// between runs, set to dt, a copy of shape and data (see View).
	Header func(dt tensor.DataType, shape Dims, data any) *tensor.Tensor

	// outs is the storage Out reuses for kernels' result slices.
	outs []*tensor.Tensor
}

// Inherit sets c's fields to parent's, keeping c's own storage for Out.
func (c *Ctx) Inherit(parent *Ctx) {
	outs := c.outs
	*c = *parent
	c.outs = outs[:0]
}

// Out returns its arguments as a kernel's result slice, in storage the Ctx
// reuses, so that returning outputs allocates nothing. The slice is valid
// until the next call of Out on the same Ctx: the engine reads it at once,
// and a kernel that runs another kernel must take the tensors out of its
// result before calling Out again.
func (c *Ctx) Out(ts ...*tensor.Tensor) []*tensor.Tensor {
	if c == nil {
		return append([]*tensor.Tensor(nil), ts...)
	}
	c.outs = append(c.outs[:0], ts...)
	return c.outs
}

// View returns a tensor of type dt and the given shape over data, which is
// shared, not copied: for kernels whose output is their input's data seen
// with another shape (Reshape, Squeeze, ...) or a part of it. shape is
// copied. With the engine's Header the header itself is recycled between
// runs; data should be an interface value the caller already has (an
// input's Data), since boxing a new slice into an interface allocates.
func (c *Ctx) View(dt tensor.DataType, shape []int, data any) *tensor.Tensor {
	if c != nil && c.Header != nil {
		if d, ok := DimsOf(shape); ok {
			return c.Header(dt, d, data)
		}
	}
	return &tensor.Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: data}
}

// MaxDims is the largest rank Dims holds.
const MaxDims = 8

// Dims is a shape of rank at most MaxDims, passed by value.
type Dims struct {
	Rank int
	D    [MaxDims]int
}

// DimsOf returns shape as Dims; ok is false when its rank exceeds MaxDims.
func DimsOf(shape []int) (d Dims, ok bool) {
	if len(shape) > MaxDims {
		return d, false
	}
	d.Rank = len(shape)
	copy(d.D[:], shape)
	return d, true
}

// Slice returns the dimensions as a slice (of d's array: d must be
// addressable and outlive it).
func (d *Dims) Slice() []int { return d.D[:d.Rank] }

// NewUninit returns an output tensor whose contents are unspecified, for a
// kernel that writes every element of it: it saves clearing a recycled
// buffer. Without the engine's Alloc it is tensor.New.
func (c *Ctx) NewUninit(dt tensor.DataType, shape ...int) *tensor.Tensor {
	return c.alloc(dt, shape, false)
}

// New returns a zero-filled output tensor, from the engine's allocator when
// it has one.
func (c *Ctx) New(dt tensor.DataType, shape ...int) *tensor.Tensor {
	return c.alloc(dt, shape, true)
}

func (c *Ctx) alloc(dt tensor.DataType, shape []int, zero bool) *tensor.Tensor {
	if c != nil && c.Alloc != nil {
		if d, ok := DimsOf(shape); ok {
			return c.Alloc(dt, d, zero)
		}
	}
	return tensor.New(dt, shape...)
}
