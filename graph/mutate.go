package graph

import (
	"errors"
	"fmt"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// AddNode appends a node built from np (see MakeNode) at the end of g.
func (g *Graph) AddNode(np *onnx.NodeProto) (*Node, error) {
	return g.insertAt(len(g.nodes), np)
}

// InsertBefore inserts a node built from np just before ref.
func (g *Graph) InsertBefore(ref *Node, np *onnx.NodeProto) (*Node, error) {
	if err := g.owns(ref, "InsertBefore"); err != nil {
		return nil, err
	}
	return g.insertAt(ref.index, np)
}

// InsertAfter inserts a node built from np just after ref.
func (g *Graph) InsertAfter(ref *Node, np *onnx.NodeProto) (*Node, error) {
	if err := g.owns(ref, "InsertAfter"); err != nil {
		return nil, err
	}
	return g.insertAt(ref.index+1, np)
}

func (g *Graph) owns(n *Node, op string) error {
	if n == nil || n.graph != g || n.index >= len(g.nodes) || g.nodes[n.index] != n {
		return fmt.Errorf("graph: %s: node %v is not in graph %q", op, n, g.Name())
	}
	return nil
}

func (g *Graph) insertAt(pos int, np *onnx.NodeProto) (*Node, error) {
	if np == nil || np.GetOpType() == "" {
		return nil, errors.New("graph: cannot add a node without an op type")
	}
	for _, o := range np.Output {
		if o == "" {
			continue
		}
		if p, ok := g.producer[o]; ok {
			return nil, fmt.Errorf("graph: node %s would produce %q, already produced by node %s", nodeLabel(np), o, p)
		}
		if _, ok := g.inits[o]; ok || g.inputs[o] {
			return nil, fmt.Errorf("graph: node %s would produce %q, a graph input or initializer", nodeLabel(np), o)
		}
	}
	n := &Node{proto: np, graph: g}
	g.nodes = append(g.nodes, nil)
	copy(g.nodes[pos+1:], g.nodes[pos:])
	g.nodes[pos] = n
	for i := pos; i < len(g.nodes); i++ {
		g.nodes[i].index = i
	}
	n.buildSubgraphs()
	if len(n.subgraphs) > 0 {
		g.nSub++
	}
	g.indexNode(n)
	g.touch()
	return n, nil
}

func nodeLabel(np *onnx.NodeProto) string {
	if np.GetName() != "" {
		return np.GetName()
	}
	out := ""
	if len(np.Output) > 0 {
		out = np.Output[0]
	}
	return np.GetOpType() + "(" + out + ")"
}

// RemoveNode removes n from g. Its outputs are left without a producer; the
// nodes reading them are not changed.
func (g *Graph) RemoveNode(n *Node) error {
	if err := g.owns(n, "RemoveNode"); err != nil {
		return err
	}
	g.unindexNode(n)
	pos := n.index
	copy(g.nodes[pos:], g.nodes[pos+1:])
	g.nodes[len(g.nodes)-1] = nil
	g.nodes = g.nodes[:len(g.nodes)-1]
	for i := pos; i < len(g.nodes); i++ {
		g.nodes[i].index = i
	}
	if len(n.subgraphs) > 0 {
		g.nSub--
	}
	n.graph = nil
	g.touch()
	return nil
}

// ReplaceInput sets n's input idx to value ("" to omit an optional input).
func (g *Graph) ReplaceInput(n *Node, idx int, value string) error {
	if err := g.owns(n, "ReplaceInput"); err != nil {
		return err
	}
	if idx < 0 || idx >= len(n.proto.Input) {
		return fmt.Errorf("graph: ReplaceInput: node %s has no input %d", n, idx)
	}
	old := n.proto.Input[idx]
	n.proto.Input[idx] = value
	g.inputChanged(n, old, value)
	return nil
}

// SetInputs replaces all of n's inputs.
func (g *Graph) SetInputs(n *Node, inputs []string) error {
	if err := g.owns(n, "SetInputs"); err != nil {
		return err
	}
	for _, in := range distinct(n.proto.Input) {
		g.dropConsumer(in, n)
	}
	n.proto.Input = append(n.proto.Input[:0:0], inputs...)
	for _, in := range distinct(n.proto.Input) {
		g.addConsumer(in, n)
		g.names.add(in)
	}
	g.touch()
	return nil
}

func (g *Graph) inputChanged(n *Node, old, value string) {
	if old != "" && !containsName(n.proto.Input, old) {
		g.dropConsumer(old, n)
	}
	g.addConsumer(value, n)
	g.names.add(value)
	g.touch()
}

func containsName(list []string, s string) bool {
	for _, t := range list {
		if t == s {
			return true
		}
	}
	return false
}

// ReplaceOutput renames n's output idx to value, which must not be
// produced already. Readers of the old name are not changed (see
// RenameValue for that).
func (g *Graph) ReplaceOutput(n *Node, idx int, value string) error {
	if err := g.owns(n, "ReplaceOutput"); err != nil {
		return err
	}
	if idx < 0 || idx >= len(n.proto.Output) {
		return fmt.Errorf("graph: ReplaceOutput: node %s has no output %d", n, idx)
	}
	if value != "" && g.definesLocally(value) && g.producer[value] != n {
		return fmt.Errorf("graph: ReplaceOutput: %q is already defined in graph %q", value, g.Name())
	}
	old := n.proto.Output[idx]
	if old != "" && g.producer[old] == n {
		delete(g.producer, old)
		delete(g.consts, old)
	}
	n.proto.Output[idx] = value
	if value != "" {
		g.producer[value] = n
		g.names.add(value)
	}
	g.touch()
	return nil
}

// ReplaceAllUses makes every node of g that reads old read replacement
// instead, including reads inside subgraphs (where old is not redefined).
// Graph outputs of g are left alone (see ReplaceGraphOutput); outputs of
// subgraphs that pass old through are changed.
func (g *Graph) ReplaceAllUses(old, replacement string) {
	if old == "" || old == replacement {
		return
	}
	g.replaceUses(old, replacement, false)
}

func (g *Graph) replaceUses(old, repl string, outputsToo bool) {
	for _, n := range g.Consumers(old) {
		for i, in := range n.proto.Input {
			if in == old {
				n.proto.Input[i] = repl
			}
		}
		g.dropConsumer(old, n)
		if containsName(n.proto.Input, repl) {
			g.addConsumer(repl, n)
		}
		for _, s := range n.subgraphs {
			if !s.definesLocally(old) {
				s.replaceUses(old, repl, true)
			}
		}
		n.invalidateImplicit()
	}
	if outputsToo {
		for _, vi := range g.proto.Output {
			if vi.GetName() == old {
				vi.Name = &repl
			}
		}
	}
	g.names.add(repl)
	g.touch()
}

// ReplaceGraphOutput makes the graph output named old refer to replacement,
// keeping its declared type. It reports whether old was an output.
func (g *Graph) ReplaceGraphOutput(old, replacement string) bool {
	found := false
	for _, vi := range g.proto.Output {
		if vi.GetName() == old {
			vi.Name = &replacement
			found = true
		}
	}
	if found {
		g.names.add(replacement)
		g.touch()
	}
	return found
}

// RenameValue renames a value defined in g (node output, graph input or
// initializer) everywhere in g and its subgraphs: its definition, every
// read, graph inputs and outputs, value_info and quantization annotations.
func (g *Graph) RenameValue(old, name string) error {
	if old == name {
		return nil
	}
	if name == "" {
		return fmt.Errorf("graph: RenameValue: empty new name for %q", old)
	}
	if g.definesLocally(name) {
		return fmt.Errorf("graph: RenameValue: %q is already defined in graph %q", name, g.Name())
	}
	if p, ok := g.producer[old]; ok {
		for i, o := range p.proto.Output {
			if o == old {
				p.proto.Output[i] = name
			}
		}
		delete(g.producer, old)
		g.producer[name] = p
	}
	if tp, ok := g.inits[old]; ok {
		tp.Name = &name
		delete(g.inits, old)
		g.inits[name] = tp
	}
	if g.inputs[old] {
		delete(g.inputs, old)
		g.inputs[name] = true
	}
	for _, lists := range [][]*onnx.ValueInfoProto{g.proto.Input, g.proto.ValueInfo} {
		for _, vi := range lists {
			if vi.GetName() == old {
				vi.Name = &name
			}
		}
	}
	for _, qa := range g.proto.QuantizationAnnotation {
		if qa.GetTensorName() == old {
			qa.TensorName = &name
		}
	}
	if t, ok := g.consts[old]; ok {
		delete(g.consts, old)
		g.consts[name] = t
	}
	if t, ok := g.types[old]; ok {
		delete(g.types, old)
		g.types[name] = t
	}
	if t, ok := g.extra[old]; ok {
		delete(g.extra, old)
		g.extra[name] = t
	}
	if v, ok := g.vals[old]; ok {
		delete(g.vals, old)
		g.vals[name] = v
	}
	g.names.add(name)
	g.replaceUses(old, name, true)
	return nil
}

// Initializer returns the initializer proto with the given name in g, or
// nil.
func (g *Graph) Initializer(name string) *onnx.TensorProto { return g.inits[name] }

// Initializers returns the names of g's initializers in order.
func (g *Graph) Initializers() []string {
	out := make([]string, len(g.proto.Initializer))
	for i, tp := range g.proto.Initializer {
		out[i] = tp.GetName()
	}
	return out
}

// IsInitializer reports whether name is an initializer of g.
func (g *Graph) IsInitializer(name string) bool {
	_, ok := g.inits[name]
	return ok
}

// SetInitializer stores t as the initializer name of g, replacing an
// existing one in place or appending a new one. It fails when a node of g
// produces name.
func (g *Graph) SetInitializer(name string, t *tensor.Tensor) error {
	tp, err := tensor.ToProto(t, name)
	if err != nil {
		return fmt.Errorf("graph: SetInitializer %q: %w", name, err)
	}
	return g.SetInitializerProto(tp)
}

// SetInitializerProto stores tp (named by tp.Name) as an initializer of g,
// replacing one of the same name in place or appending it.
func (g *Graph) SetInitializerProto(tp *onnx.TensorProto) error {
	name := tp.GetName()
	if name == "" {
		return errors.New("graph: SetInitializer: initializer without a name")
	}
	if p, ok := g.producer[name]; ok {
		return fmt.Errorf("graph: SetInitializer %q: value is produced by node %s", name, p)
	}
	if _, ok := g.inits[name]; ok {
		for i, old := range g.proto.Initializer {
			if old.GetName() == name {
				g.proto.Initializer[i] = tp
			}
		}
	} else {
		g.proto.Initializer = append(g.proto.Initializer, tp)
	}
	g.inits[name] = tp
	delete(g.consts, name)
	delete(g.vals, name)
	g.types[name] = typeOfTensorProto(tp)
	g.names.add(name)
	g.touch()
	return nil
}

// RemoveInitializer removes the initializer name from g (a graph input of
// the same name stays) and reports whether it was there.
func (g *Graph) RemoveInitializer(name string) bool {
	if _, ok := g.inits[name]; !ok {
		return false
	}
	list := g.proto.Initializer[:0]
	for _, tp := range g.proto.Initializer {
		if tp.GetName() != name {
			list = append(list, tp)
		}
	}
	for i := len(list); i < len(g.proto.Initializer); i++ {
		g.proto.Initializer[i] = nil
	}
	g.proto.Initializer = list
	delete(g.inits, name)
	delete(g.consts, name)
	delete(g.vals, name)
	if !g.inputs[name] {
		delete(g.types, name)
	}
	g.touch()
	return true
}

// AddInput appends a graph input of the given type.
func (g *Graph) AddInput(name string, t Type) error {
	if g.definesLocally(name) {
		return fmt.Errorf("graph: AddInput: %q is already defined in graph %q", name, g.Name())
	}
	g.proto.Input = append(g.proto.Input, &onnx.ValueInfoProto{Name: &name, Type: t.toProto()})
	g.inputs[name] = true
	g.types[name] = t.clone()
	g.names.add(name)
	g.touch()
	return nil
}

// RemoveInput removes the graph input name and reports whether it was
// there.
func (g *Graph) RemoveInput(name string) bool {
	found := false
	list := g.proto.Input[:0]
	for _, vi := range g.proto.Input {
		if vi.GetName() == name {
			found = true
			continue
		}
		list = append(list, vi)
	}
	for i := len(list); i < len(g.proto.Input); i++ {
		g.proto.Input[i] = nil
	}
	g.proto.Input = list
	if found {
		delete(g.inputs, name)
		g.touch()
	}
	return found
}

// AddOutput appends a graph output of the given type.
func (g *Graph) AddOutput(name string, t Type) {
	g.proto.Output = append(g.proto.Output, &onnx.ValueInfoProto{Name: &name, Type: t.toProto()})
	if _, ok := g.types[name]; !ok && !t.IsZero() {
		g.types[name] = t.clone()
	}
	g.names.add(name)
	g.touch()
}

// RemoveOutput removes the graph output name and reports whether it was
// there.
func (g *Graph) RemoveOutput(name string) bool {
	found := false
	list := g.proto.Output[:0]
	for _, vi := range g.proto.Output {
		if vi.GetName() == name {
			found = true
			continue
		}
		list = append(list, vi)
	}
	for i := len(list); i < len(g.proto.Output); i++ {
		g.proto.Output[i] = nil
	}
	g.proto.Output = list
	if found {
		g.touch()
	}
	return found
}

// WriteValueInfo records in the model's value_info the known type of every
// value of g and its subgraphs that is not a graph input, output or
// initializer: existing entries are updated in place, new ones appended.
func (g *Graph) WriteValueInfo() {
	have := map[string]*onnx.ValueInfoProto{}
	for _, vi := range g.proto.ValueInfo {
		have[vi.GetName()] = vi
	}
	for _, n := range g.nodes {
		for _, o := range n.proto.Output {
			if o == "" || g.IsOutput(o) {
				continue
			}
			t, ok := g.types[o]
			if !ok || t.IsZero() {
				continue
			}
			if vi, ok := have[o]; ok {
				vi.Type = t.toProto()
				continue
			}
			name := o
			vi := &onnx.ValueInfoProto{Name: &name, Type: t.toProto()}
			g.proto.ValueInfo = append(g.proto.ValueInfo, vi)
			have[o] = vi
		}
		for _, s := range n.subgraphs {
			s.WriteValueInfo()
		}
	}
}
