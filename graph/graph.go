// Package graph is a mutable view over an ONNX model for rewriting passes:
// nodes in order with producer and consumer indexes kept up to date by the
// mutation methods, initializers and Constant-node outputs as first-class
// constants, graph inputs and outputs with their types, subgraphs of If,
// Loop and Scan as child graphs, topological sorting, dead-code removal,
// unique names, opsets, and static type and shape inference.
//
// The view edits the model's protos in place and keeps every field it does
// not model, so that ToProto returns the model with the changes made and
// nothing else: a model viewed and written back unchanged marshals to the
// same bytes.
package graph

import (
	"errors"
	"fmt"
	"sort"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Graph is a view over one GraphProto: the model's main graph, or a subgraph
// held by a node attribute (then Parent and Owner are set and names not
// defined inside resolve through the parent).
type Graph struct {
	proto  *onnx.GraphProto
	model  *onnx.ModelProto // main graph only
	parent *Graph
	owner  *Node
	attr   string

	nodes     []*Node
	producer  map[string]*Node
	consumers map[string][]*Node
	inits     map[string]*onnx.TensorProto
	sparse    map[string]bool
	inputs    map[string]bool
	nSub      int // nodes holding subgraphs

	consts map[string]*tensor.Tensor
	types  map[string]Type
	// extra holds types given by SetType, kept across InferShapes.
	extra map[string]Type
	// vals holds values that inference propagated (small integer tensors
	// such as shapes, possibly with symbolic elements).
	vals map[string]symValue

	names *nameTable // shared by the whole tree
}

// nameTable records every name in use in the model (values, nodes, graphs)
// for UniqueName.
type nameTable struct {
	used map[string]bool
	next map[string]int
}

func (t *nameTable) add(s string) {
	if s != "" {
		t.used[s] = true
	}
}

// ErrNotConstant is wrapped by the errors of ConstantValue for a name that
// is neither an initializer nor the output of a Constant node.
var ErrNotConstant = errors.New("graph: not a constant")

// New returns a view over m's main graph. The view takes ownership of m: it
// edits m's protos in place, and ToProto returns m itself. New fails when m
// has no graph or two nodes of one graph produce the same value.
func New(m *onnx.ModelProto) (*Graph, error) {
	if m == nil || m.Graph == nil {
		return nil, errors.New("graph: model has no graph")
	}
	names := &nameTable{used: map[string]bool{}, next: map[string]int{}}
	g := &Graph{model: m, names: names}
	g.init(m.Graph)
	if err := g.checkSSA(); err != nil {
		return nil, err
	}
	return g, nil
}

// newGraph builds the view of a subgraph of owner (in graph parent).
func newGraph(gp *onnx.GraphProto, parent *Graph, owner *Node) *Graph {
	g := &Graph{parent: parent, owner: owner, names: parent.names}
	g.init(gp)
	return g
}

// init (re)builds all indexes from gp.
func (g *Graph) init(gp *onnx.GraphProto) {
	g.proto = gp
	g.names.add(gp.GetName())
	g.nodes = make([]*Node, 0, len(gp.Node))
	for _, np := range gp.Node {
		g.nodes = append(g.nodes, &Node{proto: np, graph: g})
	}
	g.consts = map[string]*tensor.Tensor{}
	g.vals = map[string]symValue{}
	g.reindex()
	for _, list := range [][]*onnx.ValueInfoProto{gp.ValueInfo, gp.Input, gp.Output} {
		for _, vi := range list {
			g.names.add(vi.GetName())
		}
	}
	g.extra = map[string]Type{}
	g.types = g.declaredTypes()
}

// reindex rebuilds producers, consumers, initializers, inputs, node
// positions and subgraph views from the current nodes and proto.
func (g *Graph) reindex() {
	g.producer = map[string]*Node{}
	g.consumers = map[string][]*Node{}
	g.inits = map[string]*onnx.TensorProto{}
	g.sparse = map[string]bool{}
	g.inputs = map[string]bool{}
	g.nSub = 0
	for _, tp := range g.proto.Initializer {
		g.inits[tp.GetName()] = tp
		g.names.add(tp.GetName())
	}
	for _, sp := range g.proto.SparseInitializer {
		name := sp.GetValues().GetName()
		g.sparse[name] = true
		g.names.add(name)
	}
	for _, vi := range g.proto.Input {
		g.inputs[vi.GetName()] = true
	}
	for i, n := range g.nodes {
		n.index = i
		n.graph = g
		n.buildSubgraphs()
		if len(n.subgraphs) > 0 {
			g.nSub++
		}
		n.invalidateImplicit()
		g.indexNode(n)
	}
}

// checkSSA reports a value produced by two nodes, in g or a subgraph.
func (g *Graph) checkSSA() error {
	seen := map[string]*Node{}
	for _, n := range g.nodes {
		for _, o := range n.proto.Output {
			if o == "" {
				continue
			}
			if p, ok := seen[o]; ok {
				return fmt.Errorf("graph: value %q is produced by both node %s and node %s", o, p, n)
			}
			seen[o] = n
		}
		for _, s := range n.subgraphs {
			if err := s.checkSSA(); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexNode adds n to the producer and consumer indexes and the name table.
func (g *Graph) indexNode(n *Node) {
	for _, o := range n.proto.Output {
		if o != "" {
			g.producer[o] = n
		}
	}
	for _, in := range distinct(n.proto.Input) {
		g.consumers[in] = append(g.consumers[in], n)
	}
	g.registerNames(n)
}

// unindexNode removes n from the producer and consumer indexes.
func (g *Graph) unindexNode(n *Node) {
	for _, o := range n.proto.Output {
		if o != "" && g.producer[o] == n {
			delete(g.producer, o)
			delete(g.consts, o)
		}
	}
	for _, in := range distinct(n.proto.Input) {
		g.dropConsumer(in, n)
	}
}

func (g *Graph) dropConsumer(value string, n *Node) {
	list := g.consumers[value]
	for i, c := range list {
		if c == n {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(g.consumers, value)
	} else {
		g.consumers[value] = list
	}
}

func (g *Graph) addConsumer(value string, n *Node) {
	if value == "" {
		return
	}
	for _, c := range g.consumers[value] {
		if c == n {
			return
		}
	}
	g.consumers[value] = append(g.consumers[value], n)
}

// registerNames adds a node's name, values and subgraph names to the table.
func (g *Graph) registerNames(n *Node) {
	g.names.add(n.proto.GetName())
	for _, s := range n.proto.Input {
		g.names.add(s)
	}
	for _, s := range n.proto.Output {
		g.names.add(s)
	}
}

// distinct returns the non-empty names of list, each once, in order.
func distinct(list []string) []string {
	out := make([]string, 0, len(list))
	for i, s := range list {
		if s == "" {
			continue
		}
		dup := false
		for _, t := range list[:i] {
			if t == s {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// touch records that g's contents changed, so that the nodes holding g and
// its ancestors recompute their implicit inputs.
func (g *Graph) touch() {
	for s := g; s.owner != nil; s = s.parent {
		s.owner.invalidateImplicit()
	}
}

// detach cuts a subgraph view loose from its owner.
func (g *Graph) detach() {
	g.parent = nil
	g.owner = nil
}

// Reindex rebuilds every index of g and its subgraphs from the node protos.
// Call it after editing protos directly (Node.Proto, Proto).
func (g *Graph) Reindex() {
	g.reindex()
	g.consts = map[string]*tensor.Tensor{}
	g.touch()
}

// Proto returns the underlying GraphProto. Its node list is brought up to
// date by ToProto.
func (g *Graph) Proto() *onnx.GraphProto { return g.proto }

// Name returns the graph's name.
func (g *Graph) Name() string { return g.proto.GetName() }

// Parent returns the enclosing graph of a subgraph, or nil for the main
// graph.
func (g *Graph) Parent() *Graph { return g.parent }

// Owner returns the node whose attribute holds this subgraph, or nil.
func (g *Graph) Owner() *Node { return g.owner }

// Root returns the main graph.
func (g *Graph) Root() *Graph {
	r := g
	for r.parent != nil {
		r = r.parent
	}
	return r
}

// Model returns the model proto (as held; call ToProto for an up-to-date
// one).
func (g *Graph) Model() *onnx.ModelProto { return g.Root().model }

// Nodes returns the nodes in their current order (a copy of the list).
func (g *Graph) Nodes() []*Node { return append([]*Node(nil), g.nodes...) }

// NumNodes returns the number of nodes.
func (g *Graph) NumNodes() int { return len(g.nodes) }

// Walk calls f for every node of g and of all its subgraphs, depth first,
// each node before its subgraphs' nodes. f returning false stops the walk.
func (g *Graph) Walk(f func(*Node) bool) bool {
	for _, n := range g.Nodes() {
		if !f(n) {
			return false
		}
		for _, s := range n.subgraphs {
			if !s.Walk(f) {
				return false
			}
		}
	}
	return true
}

// Producer returns the node producing value, looking through the enclosing
// graphs for an outer-scope value, or nil for a graph input, an
// initializer or an unknown name.
func (g *Graph) Producer(value string) *Node {
	for s := g; s != nil; s = s.parent {
		if n, ok := s.producer[value]; ok {
			return n
		}
		if s.definesLocally(value) {
			return nil
		}
	}
	return nil
}

// definesLocally reports whether value is a graph input, initializer or node
// output of g itself.
func (g *Graph) definesLocally(value string) bool {
	if _, ok := g.producer[value]; ok {
		return true
	}
	_, ok := g.inits[value]
	return ok || g.inputs[value] || g.sparse[value]
}

// Consumers returns, in node order, the nodes of g that read value: as an
// explicit input, or implicitly inside one of their subgraphs. Nodes of
// subgraphs are not listed; ask the subgraph.
func (g *Graph) Consumers(value string) []*Node {
	out := append([]*Node(nil), g.consumers[value]...)
	if g.nSub > 0 {
		for _, n := range g.nodes {
			if len(n.subgraphs) == 0 || !n.implicitSet()[value] {
				continue
			}
			dup := false
			for _, c := range out {
				if c == n {
					dup = true
					break
				}
			}
			if !dup {
				out = append(out, n)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].index < out[j].index })
	return out
}

// freeNames returns the names read in g (node inputs, subgraph reads, graph
// outputs) that g does not define: the outer-scope values it uses.
func (g *Graph) freeNames() map[string]bool {
	m := map[string]bool{}
	for _, n := range g.nodes {
		for _, in := range n.proto.Input {
			if in != "" && !g.definesLocally(in) {
				m[in] = true
			}
		}
		if len(n.subgraphs) > 0 {
			for in := range n.implicitSet() {
				if !g.definesLocally(in) {
					m[in] = true
				}
			}
		}
	}
	for _, vi := range g.proto.Output {
		if name := vi.GetName(); name != "" && !g.definesLocally(name) {
			m[name] = true
		}
	}
	return m
}

// Inputs returns the graph input names in order (including, in models of IR
// version 3 and below, the initializers listed as inputs).
func (g *Graph) Inputs() []string {
	out := make([]string, len(g.proto.Input))
	for i, vi := range g.proto.Input {
		out[i] = vi.GetName()
	}
	return out
}

// ExternalInputs returns the graph inputs that are not initializers: the
// values a caller has to feed.
func (g *Graph) ExternalInputs() []string {
	var out []string
	for _, vi := range g.proto.Input {
		if _, ok := g.inits[vi.GetName()]; !ok {
			out = append(out, vi.GetName())
		}
	}
	return out
}

// Outputs returns the graph output names in order.
func (g *Graph) Outputs() []string {
	out := make([]string, len(g.proto.Output))
	for i, vi := range g.proto.Output {
		out[i] = vi.GetName()
	}
	return out
}

// IsInput reports whether name is a graph input of g.
func (g *Graph) IsInput(name string) bool { return g.inputs[name] }

// IsOutput reports whether name is a graph output of g.
func (g *Graph) IsOutput(name string) bool {
	for _, vi := range g.proto.Output {
		if vi.GetName() == name {
			return true
		}
	}
	return false
}

// Type returns what is known of value's type: declared in the model or
// found by InferShapes, looking through enclosing graphs for outer-scope
// values.
func (g *Graph) Type(value string) (Type, bool) {
	for s := g; s != nil; s = s.parent {
		if t, ok := s.types[value]; ok {
			return t.clone(), true
		}
		if s.definesLocally(value) {
			return Type{}, false
		}
	}
	return Type{}, false
}

// SetType records value's type in g, merged with what the model declares;
// InferShapes starts from it. It is written to the model only by
// WriteValueInfo.
func (g *Graph) SetType(value string, t Type) {
	g.extra[value] = t.clone()
	g.types[value] = t.clone()
}

// Opset returns the version imported for an operator domain ("" and
// "ai.onnx" both name the default domain), or 0 when it is not imported.
func (g *Graph) Opset(domain string) int64 {
	domain = normDomain(domain)
	for _, op := range g.Model().GetOpsetImport() {
		if normDomain(op.GetDomain()) == domain {
			return op.GetVersion()
		}
	}
	return 0
}

// SetOpset sets the version imported for a domain, adding the import when
// there is none.
func (g *Graph) SetOpset(domain string, version int64) {
	m := g.Model()
	for _, op := range m.OpsetImport {
		if normDomain(op.GetDomain()) == normDomain(domain) {
			op.Version = &version
			return
		}
	}
	d := domain
	m.OpsetImport = append(m.OpsetImport, &onnx.OperatorSetIdProto{Domain: &d, Version: &version})
}

func normDomain(d string) string {
	if d == "ai.onnx" {
		return ""
	}
	return d
}

// UniqueName returns a name not used anywhere in the model (values, node
// names, graph names, in every subgraph): prefix itself when free, else
// prefix followed by "_" and a number. The name is reserved.
func (g *Graph) UniqueName(prefix string) string {
	t := g.names
	if prefix == "" {
		prefix = "v"
	}
	if !t.used[prefix] {
		t.used[prefix] = true
		return prefix
	}
	for i := t.next[prefix] + 1; ; i++ {
		s := fmt.Sprintf("%s_%d", prefix, i)
		if !t.used[s] {
			t.used[s] = true
			t.next[prefix] = i
			return s
		}
	}
}

// ToProto returns the model with every change made through the view. It is
// the model given to New, edited in place.
func (g *Graph) ToProto() *onnx.ModelProto {
	r := g.Root()
	r.sync()
	return r.model
}

// sync writes the node lists back into the protos of g and its subgraphs.
func (g *Graph) sync() {
	if len(g.nodes) == 0 && len(g.proto.Node) == 0 {
		return
	}
	list := g.proto.Node[:0]
	if cap(list) < len(g.nodes) {
		list = make([]*onnx.NodeProto, 0, len(g.nodes))
	}
	for _, n := range g.nodes {
		list = append(list, n.proto)
		for _, s := range n.subgraphs {
			s.sync()
		}
	}
	for i := len(list); i < len(g.proto.Node); i++ {
		g.proto.Node[i] = nil
	}
	g.proto.Node = list
}
