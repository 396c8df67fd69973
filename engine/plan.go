package engine

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// plan is one compiled graph: the main graph or a subgraph.
type plan struct {
	parent *plan
	name   string

	ids    map[string]int // every value named in this graph -> slot
	names  []string       // slot -> value name
	consts map[string]*tensor.Tensor
	cvals  []*tensor.Tensor // slot -> constant value, or nil

	inputs    []string // formal inputs, in order
	inputIDs  []int
	outputs   []string
	outputIDs []int
	outer     []string // values read from enclosing graphs
	outerIDs  []int

	steps  []step
	fast   []step          // steps with fusions (see fuse), for runs without observers (nil: none fused)
	folds  map[int]*bnFold // Conv steps with a BatchNormalization folded in, by step index
	keep   []bool          // slot -> never released (outputs)
	folded []int           // slots computed by constant folding at New
	// foldedFrom gives, for a slot computed by constant folding, the step
	// that computed it (a weight's DequantizeLinear, for QDQ fusion).
	foldedFrom map[int]*step
	qdq        map[int]*qdqFuse // QDQ fusions, by index of their Conv/MatMul step

	// The main graph's fused steps are built on its first run without
	// observers (lazy), not at New: runs with observers (calibration,
	// debugging) never use them, and their folded weights and repacked
	// kernels can cost as much memory as the model. mu guards the plan's
	// values (names, ids, cvals, keep), to which fusing adds constants,
	// against runs in progress: runs hold it for reading.
	lazy  bool
	fused atomic.Bool
	mu    sync.RWMutex
}

// step is one node to run.
type step struct {
	proto  *onnx.NodeProto
	name   string
	kern   kernel.Kernel
	in     []int // slots, -1 for omitted inputs
	out    []int // slots, -1 for omitted outputs
	uses   []int // extra slots read through subgraphs (kept alive until here)
	free   []int // slots released after this step
	folded bool
	// clamp is set when the node is a float32 clamp of its first input
	// (Relu, Clip with constant bounds), which a producer may take over.
	clamp *kernel.Clamp
	// consts holds the node's inputs known before running (nil for the
	// others); opset is its domain's version.
	consts []*tensor.Tensor
	opset  int64
}

// compiler builds plans; it gathers unsupported nodes across all graphs.
type compiler struct {
	opsets      map[string]int64
	opts        *Options
	unsupported []UnsupportedNode
}

// nonDeterministic ops are never folded.
var nonDeterministic = map[string]bool{
	"RandomNormal": true, "RandomUniform": true, "RandomNormalLike": true,
	"RandomUniformLike": true, "Multinomial": true, "Bernoulli": true,
}

func (c *compiler) compile(g *onnx.GraphProto, parent *plan) (*plan, error) {
	p := &plan{parent: parent, name: g.GetName(), ids: map[string]int{}, consts: map[string]*tensor.Tensor{}}
	slot := func(name string) int {
		if id, ok := p.ids[name]; ok {
			return id
		}
		id := len(p.names)
		p.ids[name] = id
		p.names = append(p.names, name)
		p.cvals = append(p.cvals, nil)
		return id
	}
	// A value is defined once in a graph (ONNX graphs are in static single
	// assignment form): two definitions would leave which one a reader
	// gets to chance.
	inits := map[string]bool{}
	for _, init := range g.GetInitializer() {
		if inits[init.GetName()] {
			return nil, fmt.Errorf("engine: graph %q has two initializers named %q", g.GetName(), init.GetName())
		}
		inits[init.GetName()] = true
	}
	inputs := map[string]bool{}
	for _, vi := range g.GetInput() {
		if inputs[vi.GetName()] {
			return nil, fmt.Errorf("engine: graph %q has two inputs named %q", g.GetName(), vi.GetName())
		}
		inputs[vi.GetName()] = true
	}
	for _, init := range g.GetInitializer() {
		t, err := tensor.FromProto(init)
		if err != nil {
			return nil, fmt.Errorf("engine: initializer %q: %w", init.GetName(), err)
		}
		id := slot(init.GetName())
		p.consts[init.GetName()] = t
		p.cvals[id] = t
	}
	if len(g.GetSparseInitializer()) > 0 {
		return nil, fmt.Errorf("engine: graph %q has sparse initializers: %w", g.GetName(), kernel.ErrUnsupported)
	}
	for _, vi := range g.GetInput() {
		name := vi.GetName()
		if _, isConst := p.consts[name]; isConst && parent == nil {
			continue // an initializer listed as input (IR < 4): a constant
		}
		if _, isConst := p.consts[name]; isConst {
			delete(p.consts, name)
			p.cvals[p.ids[name]] = nil
		}
		p.inputs = append(p.inputs, name)
		p.inputIDs = append(p.inputIDs, slot(name))
	}

	nodes, err := topoSort(g, p)
	if err != nil {
		return nil, err
	}
	defined := func(name string) bool {
		_, ok := p.ids[name]
		return ok
	}
	outerSeen := map[string]bool{}
	useOuter := func(name string) (int, error) {
		if !visible(parent, name) {
			return -1, fmt.Errorf("engine: graph %q: value %q is used but never produced", g.GetName(), name)
		}
		if t := constIn(parent, name); t != nil {
			id := slot(name)
			p.cvals[id] = t
			p.consts[name] = t
			return id, nil
		}
		id := slot(name)
		if !outerSeen[name] {
			outerSeen[name] = true
			p.outer = append(p.outer, name)
			p.outerIDs = append(p.outerIDs, id)
		}
		return id, nil
	}
	for _, n := range nodes {
		st := step{proto: n, name: nodeName(n)}
		consts := make([]*tensor.Tensor, len(n.GetInput()))
		allConst := true
		for i, in := range n.GetInput() {
			if in == "" {
				st.in = append(st.in, -1)
				continue
			}
			var id int
			if defined(in) {
				id = p.ids[in]
			} else {
				id, err = useOuter(in)
				if err != nil {
					return nil, err
				}
			}
			st.in = append(st.in, id)
			consts[i] = p.cvals[id]
			if consts[i] == nil {
				allConst = false
			}
		}
		domain := kernel.NormalizeDomain(n.GetDomain())
		opset, ok := c.opsets[domain]
		op, found := kernel.Lookup(domain, n.GetOpType(), opset)
		if !ok || !found {
			reason := "operator not implemented"
			switch {
			case !ok:
				reason = "the model imports no opset for this domain"
			case kernel.Known(domain, n.GetOpType()):
				reason = "operator not implemented at this opset version"
			}
			c.unsupported = append(c.unsupported, UnsupportedNode{Name: st.name, OpType: n.GetOpType(), Domain: domain, Opset: opset, Reason: reason})
			for _, out := range n.GetOutput() {
				if out != "" {
					slot(out)
				}
			}
			continue
		}
		var captured []string
		compileSub := func(sg *onnx.GraphProto) (kernel.Subgraph, error) {
			sp, err := c.compile(sg, p)
			if err != nil {
				return nil, err
			}
			captured = append(captured, sp.outer...)
			return &subgraph{p: sp, c: c}, nil
		}
		kn := kernel.NewNode(n, opset, consts, compileSub)
		kern, err := op.Build(kn)
		if err == nil {
			if unused := kn.Unused(); len(unused) > 0 {
				err = kn.Unsupported("attribute(s) %q not implemented", unused)
			}
		}
		if err != nil {
			if errors.Is(err, kernel.ErrUnsupported) {
				c.unsupported = append(c.unsupported, UnsupportedNode{Name: st.name, OpType: n.GetOpType(), Domain: domain, Opset: opset, Reason: err.Error()})
				for _, out := range n.GetOutput() {
					if out != "" {
						slot(out)
					}
				}
				continue
			}
			return nil, fmt.Errorf("engine: preparing node %q (%s): %w", st.name, n.GetOpType(), err)
		}
		st.kern = kern
		st.consts, st.opset = consts, opset
		if c, ok := kernel.ClampOf(kn); ok {
			st.clamp = &c
		}
		for _, name := range captured {
			var id int
			if defined(name) {
				id = p.ids[name]
			} else if id, err = useOuter(name); err != nil {
				return nil, err
			}
			if p.cvals[id] == nil {
				st.uses = append(st.uses, id)
			}
		}
		for _, out := range n.GetOutput() {
			if out == "" {
				st.out = append(st.out, -1)
				continue
			}
			if defined(out) && p.cvals[p.ids[out]] != nil {
				return nil, fmt.Errorf("engine: node %q writes %q, which is an initializer", st.name, out)
			}
			if inputs[out] {
				return nil, fmt.Errorf("engine: node %q writes %q, which is a graph input", st.name, out)
			}

			st.out = append(st.out, slot(out))
		}
		foldable := allConst && !c.opts.NoConstantFolding && !nonDeterministic[n.GetOpType()] && len(captured) == 0 && !hasGraphAttr(n)
		if foldable && len(c.unsupported) == 0 {
			kctx := &kernel.Ctx{Threads: c.opts.Threads}
			outs, err := kern.Run(kctx, consts)
			if err != nil {
				return nil, fmt.Errorf("engine: folding constant node %q (%s): %w", st.name, n.GetOpType(), err)
			}
			for i, id := range st.out {
				if id >= 0 && i < len(outs) && outs[i] != nil {
					p.cvals[id] = outs[i]
					p.consts[p.names[id]] = outs[i]
					p.folded = append(p.folded, id)
					if p.foldedFrom == nil {
						p.foldedFrom = map[int]*step{}
					}
					p.foldedFrom[id] = &st
				}
			}
			st.folded = true
		}
		p.steps = append(p.steps, st)
	}
	for _, vi := range g.GetOutput() {
		name := vi.GetName()
		var id int
		if defined(name) {
			id = p.ids[name]
		} else if id, err = useOuter(name); err != nil {
			return nil, err
		}
		p.outputs = append(p.outputs, name)
		p.outputIDs = append(p.outputIDs, id)
	}
	// Drop folded steps: their outputs are constants now.
	kept := p.steps[:0]
	for _, st := range p.steps {
		if !st.folded {
			kept = append(kept, st)
		}
	}
	p.steps = kept
	p.keep = make([]bool, len(p.names))
	for _, id := range p.outputIDs {
		p.keep[id] = true
	}
	p.lazy = parent == nil
	p.planFrees()
	return p, nil
}

// markOutputs keeps the named values alive to the end of a run.
func (p *plan) markOutputs(names []string) {
	for _, name := range names {
		if id, ok := p.ids[name]; ok {
			p.keep[id] = true
		}
	}
	// Fusions were chosen with fewer kept values: choose again. The
	// folded weights the old folds added as constants go with them (a
	// fold made again adds its own).
	for _, f := range p.folds {
		p.cvals[f.wID], p.cvals[f.bID] = nil, nil
	}
	p.folds, p.qdq = nil, nil
	p.planFrees()
}

// planFrees records, for every step, the values whose last reader it is,
// for the plain steps and (unless lazy: see ensureFused) the fused ones.
func (p *plan) planFrees() {
	p.planFreesOf(p.steps)
	p.fast = nil
	p.fused.Store(false)
	if !p.lazy {
		p.buildFused()
	}
}

// buildFused chooses the fusions and plans the fused steps' frees.
func (p *plan) buildFused() {
	p.fast = p.fuse()
	if p.fast != nil {
		p.planFreesOf(p.fast)
	}
	p.fused.Store(true)
}

// ensureFused builds a lazy plan's fused steps if they are not built yet,
// waiting for runs in progress to end.
func (p *plan) ensureFused() {
	if p.fused.Load() {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.fused.Load() {
		p.buildFused()
	}
}

// fuse returns the steps of a run without observers, which need not
// produce every value: a quantized Conv or MatMul in QDQ form runs as one
// integer kernel (see fuseQDQ), a zero Pad of the spatial axes before a
// Conv becomes the Conv's padding (see foldPads), a Conv followed by the BatchNormalization that alone
// reads it becomes one Conv with folded weights (see foldBN), and a Conv
// whose output only a Relu or Clip reads takes that clamp over
// (kernel.ClampFuser). It returns nil when nothing fuses.
func (p *plan) fuse() []step {
	steps, qdq := p.fuseQDQ(p.steps)
	steps, padded := p.foldPads(steps)
	steps, folded := p.foldBNs(steps)
	steps, clamped := p.fuseClamps(steps)
	if !qdq && !padded && !folded && !clamped {
		return nil
	}
	return steps
}

// readersOf counts, per value, the steps reading it (subgraph reads count
// double, so they never look like a single reader) and the last reader.
func (p *plan) readersOf(steps []step) (readers, reader []int) {
	readers = make([]int, len(p.names))
	reader = make([]int, len(p.names))
	for i, st := range steps {
		for _, id := range st.in {
			if id >= 0 {
				readers[id]++
				reader[id] = i
			}
		}
		for _, id := range st.uses {
			readers[id] += 2
		}
	}
	return readers, reader
}

// fuseClamps merges each ClampFuser step with the Relu or Clip that is the
// only reader of its (not kept) output.
func (p *plan) fuseClamps(in []step) ([]step, bool) {
	readers, reader := p.readersOf(in)
	var out []step
	dropped := map[int]bool{}
	for i := range in {
		if dropped[i] {
			continue
		}
		st := in[i]
		st.free = nil
		if f, ok := st.kern.(kernel.ClampFuser); ok && len(st.out) == 1 && st.out[0] >= 0 {
			id := st.out[0]
			if j := reader[id]; !p.keep[id] && readers[id] == 1 && j > i {
				act := &in[j]
				if act.clamp != nil && len(act.in) > 0 && act.in[0] == id && len(act.out) == 1 && act.out[0] >= 0 {
					if k := f.FuseClamp(*act.clamp, act.kern, act.consts); k != nil {
						st.kern = k
						st.out = []int{act.out[0]}
						st.name = st.name + "+" + act.name
						dropped[j] = true
					}
				}
			}
		}
		out = append(out, st)
	}
	return out, len(dropped) > 0
}

// planFreesOf fills the free lists of steps.
func (p *plan) planFreesOf(steps []step) {
	last := make([]int, len(p.names))
	for i := range last {
		last[i] = -1
	}
	for i, st := range steps {
		for _, id := range st.in {
			if id >= 0 {
				last[id] = i
			}
		}
		for _, id := range st.uses {
			last[id] = i
		}
		for _, id := range st.out {
			if id >= 0 && last[id] < i {
				last[id] = i // produced but maybe never read: release right away
			}
		}
	}
	for i := range steps {
		steps[i].free = nil
	}
	for id, s := range last {
		if s < 0 || p.keep[id] || p.cvals[id] != nil {
			continue
		}
		steps[s].free = append(steps[s].free, id)
	}
}

func hasGraphAttr(n *onnx.NodeProto) bool {
	for _, a := range n.GetAttribute() {
		if a.G != nil || len(a.Graphs) > 0 {
			return true
		}
	}
	return false
}

// visible reports whether name is defined in p or an enclosing graph.
func visible(p *plan, name string) bool {
	for ; p != nil; p = p.parent {
		if _, ok := p.ids[name]; ok {
			return true
		}
	}
	return false
}

// constIn returns name's constant value in the nearest enclosing graph that
// defines it, or nil when it is not a constant there.
func constIn(p *plan, name string) *tensor.Tensor {
	for ; p != nil; p = p.parent {
		if id, ok := p.ids[name]; ok {
			return p.cvals[id]
		}
	}
	return nil
}

func nodeName(n *onnx.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	if len(n.GetOutput()) > 0 {
		return n.GetOpType() + "->" + n.GetOutput()[0]
	}
	return n.GetOpType()
}

// topoSort orders g's nodes so that every value is produced before it is
// read, keeping the file's order where it already is valid. Values not
// produced in g (inputs, initializers, enclosing graphs' values) count as
// available.
func topoSort(g *onnx.GraphProto, p *plan) ([]*onnx.NodeProto, error) {
	nodes := g.GetNode()
	producer := map[string]int{}
	for i, n := range nodes {
		for _, out := range n.GetOutput() {
			if out == "" {
				continue
			}
			if j, dup := producer[out]; dup {
				return nil, fmt.Errorf("engine: graph %q: value %q is produced by both node %q and node %q", g.GetName(), out, nodeName(nodes[j]), nodeName(n))
			}
			if _, isConst := p.consts[out]; isConst {
				return nil, fmt.Errorf("engine: graph %q: node %q writes initializer %q", g.GetName(), nodeName(n), out)
			}
			producer[out] = i
		}
	}
	deps := make([][]int, len(nodes))
	indeg := make([]int, len(nodes))
	users := make([][]int, len(nodes))
	for i, n := range nodes {
		seen := map[int]bool{}
		for _, in := range nodeReads(n) {
			if j, ok := producer[in]; ok && !seen[j] && j != i {
				seen[j] = true
				deps[i] = append(deps[i], j)
				users[j] = append(users[j], i)
				indeg[i]++
			} else if ok && j == i {
				return nil, fmt.Errorf("engine: graph %q: node %q reads its own output %q", g.GetName(), nodeName(n), in)
			}
		}
	}
	// Kahn's algorithm with a min-heap on the original index keeps order stable.
	var ready intHeap
	for i := range nodes {
		if indeg[i] == 0 {
			ready.push(i)
		}
	}
	out := make([]*onnx.NodeProto, 0, len(nodes))
	for ready.len() > 0 {
		i := ready.pop()
		out = append(out, nodes[i])
		for _, u := range users[i] {
			indeg[u]--
			if indeg[u] == 0 {
				ready.push(u)
			}
		}
	}
	if len(out) != len(nodes) {
		for i, d := range indeg {
			if d > 0 {
				return nil, fmt.Errorf("engine: graph %q has a cycle through node %q", g.GetName(), nodeName(nodes[i]))
			}
		}
	}
	return out, nil
}

// nodeReads lists the values a node reads, including those its subgraphs
// read from enclosing scopes.
func nodeReads(n *onnx.NodeProto) []string {
	var out []string
	for _, in := range n.GetInput() {
		if in != "" {
			out = append(out, in)
		}
	}
	for _, a := range n.GetAttribute() {
		if a.G != nil {
			out = append(out, freeVars(a.G)...)
		}
		for _, sg := range a.Graphs {
			out = append(out, freeVars(sg)...)
		}
	}
	return out
}

// freeVars lists values a graph reads but does not define.
func freeVars(g *onnx.GraphProto) []string {
	defined := map[string]bool{}
	for _, t := range g.GetInitializer() {
		defined[t.GetName()] = true
	}
	for _, vi := range g.GetInput() {
		defined[vi.GetName()] = true
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			defined[o] = true
		}
	}
	var out []string
	seen := map[string]bool{}
	add := func(name string) {
		if name != "" && !defined[name] && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	for _, n := range g.GetNode() {
		for _, in := range nodeReads(n) {
			add(in)
		}
	}
	for _, vi := range g.GetOutput() {
		add(vi.GetName())
	}
	return out
}

// intHeap is a min-heap of ints.
type intHeap struct{ a []int }

func (h *intHeap) len() int { return len(h.a) }

func (h *intHeap) push(v int) {
	h.a = append(h.a, v)
	i := len(h.a) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h.a[parent] <= h.a[i] {
			break
		}
		h.a[parent], h.a[i] = h.a[i], h.a[parent]
		i = parent
	}
}

func (h *intHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h.a) && h.a[l] < h.a[m] {
			m = l
		}
		if r < len(h.a) && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			return top
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
}
