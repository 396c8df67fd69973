package opset

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
)

// Error reports a node that Upgrade cannot convert without changing what
// the model computes, or a model it cannot upgrade at all (then Node and
// Op are empty).
type Error struct {
	// Graph is the name of the graph holding the node.
	Graph string
	// Node names the node (its name, or its op type and first output).
	Node string
	// Op is the node's operator type.
	Op string
	// From and To are the model's opset version and the target.
	From, To int64
	// Step is the operator version whose change could not be converted
	// (0 when the refusal is not about one step).
	Step int64
	// Reason says why.
	Reason string
}

// Error implements error.
func (e *Error) Error() string {
	if e.Node == "" {
		return fmt.Sprintf("opset: cannot upgrade the model from opset %d to %d: %s", e.From, e.To, e.Reason)
	}
	step := ""
	if e.Step > 0 {
		step = fmt.Sprintf(" (%s-%d)", e.Op, e.Step)
	}
	return fmt.Sprintf("opset: node %s (%s) in graph %q: cannot upgrade from opset %d to %d%s: %s",
		e.Node, e.Op, e.Graph, e.From, e.To, step, e.Reason)
}

// Report describes what Upgrade did.
type Report struct {
	// From and To are the ai.onnx opset versions before and after.
	From, To int64
	// IRFrom and IRTo are the model's IR versions before and after; IRTo
	// is raised to the IR version released with the target opset when the
	// model's was older.
	IRFrom, IRTo int64
	// Nodes is the number of default-domain nodes checked, subgraphs
	// included.
	Nodes int
	// Converted lists the nodes that were rewritten, in graph order.
	Converted []Conversion
	// Warnings lists facts the caller should know: interpretations of
	// loosely specified semantics, outputs removed, and the like.
	Warnings []string
}

// Conversion is one rewritten node.
type Conversion struct {
	// Graph is the name of the graph holding the node.
	Graph string
	// Node names the node.
	Node string
	// Op is the operator type before the upgrade; NewOp the type after
	// (equal unless the operator was replaced, as Upsample by Resize).
	Op, NewOp string
	// Changes lists what was done, one entry per version step that needed
	// a rewrite, each prefixed with the operator and version.
	Changes []string
}

// String summarises the report on several lines.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ai.onnx opset %d -> %d, IR %d -> %d, %d nodes checked, %d converted\n",
		r.From, r.To, r.IRFrom, r.IRTo, r.Nodes, len(r.Converted))
	for _, c := range r.Converted {
		op := c.Op
		if c.NewOp != c.Op {
			op += "->" + c.NewOp
		}
		fmt.Fprintf(&b, "  %s (%s): %s\n", c.Node, op, strings.Join(c.Changes, "; "))
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(&b, "  warning: %s\n", w)
	}
	return b.String()
}

// irForOpset gives, for each ai.onnx opset version, the IR version of the
// ONNX release that introduced it (ONNX's docs/Versioning.md release
// table).
var irForOpset = map[int64]int64{
	1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3, 8: 3, 9: 4, 10: 5, 11: 6,
	12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10,
}

// Upgrade raises m's ai.onnx opset import to target, rewriting every
// default-domain node (in subgraphs too) whose operator changed between the
// model's version and target so that the model computes the same outputs.
// It edits m in place; on error m is left unchanged. A model already at or
// above target is left as it is. Downgrading, a target above MaxVersion, an
// operator the table does not know and a change that cannot be converted
// are errors; a node refused is reported as an *Error.
func Upgrade(m *onnx.ModelProto, target int64) (*Report, error) {
	if m == nil || m.GetGraph() == nil {
		return nil, errors.New("opset: model has no graph")
	}
	from, err := defaultOpset(m)
	if err != nil {
		return nil, err
	}
	rep := &Report{From: from, To: from, IRFrom: m.GetIrVersion(), IRTo: m.GetIrVersion()}
	if target < 1 {
		return nil, fmt.Errorf("opset: invalid target opset %d", target)
	}
	if from >= target {
		return rep, nil
	}
	if target > MaxVersion {
		return nil, &Error{From: from, To: target, Reason: fmt.Sprintf("target is above opset %d, the newest this package knows", MaxVersion)}
	}
	for _, f := range m.GetFunctions() {
		for _, imp := range f.GetOpsetImport() {
			if d := imp.GetDomain(); d == "" || d == "ai.onnx" {
				return nil, &Error{From: from, To: target, Reason: fmt.Sprintf("model-local function %q imports ai.onnx; upgrading function bodies is not supported", f.GetName())}
			}
		}
	}

	// Work on a copy (tensor bytes shared: none is written) so that m is
	// untouched when a node is refused.
	work := onnx.CloneShared(m)
	g, err := graph.New(work)
	if err != nil {
		return nil, fmt.Errorf("opset: %w", err)
	}
	// Ranks and element types guide some conversions; an inconsistency
	// found here only leaves some types unknown.
	_ = g.InferShapes()

	u := &upgrader{from: from, to: target, rep: rep}
	if err := u.convertGraph(g); err != nil {
		return nil, err
	}

	g.SetOpset("", target)
	work = g.ToProto()
	if ir := irForOpset[target]; work.GetIrVersion() < ir {
		if work.GetIrVersion() < 4 {
			// IR 3 required every initializer to be listed as a graph input
			// and runtimes treat them as constants; from IR 4 a listed
			// initializer is an overridable input instead. Unlisting them
			// keeps them constants.
			if k := unlistInitializers(work.GetGraph()); k > 0 {
				rep.Warnings = append(rep.Warnings, fmt.Sprintf(
					"IR %d -> %d: %d initializers removed from the graph inputs (IR 3 required listing them; from IR 4 listed initializers become overridable inputs)",
					work.GetIrVersion(), ir, k))
			}
		}
		work.IrVersion = proto.Int64(ir)
	}
	rep.To = target
	rep.IRTo = work.GetIrVersion()

	m.Graph = work.Graph
	m.OpsetImport = work.OpsetImport
	m.IrVersion = work.IrVersion
	return rep, nil
}

// unlistInitializers removes from gp's inputs every entry naming one of
// its initializers and returns how many it removed.
func unlistInitializers(gp *onnx.GraphProto) int {
	inits := map[string]bool{}
	for _, t := range gp.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, t := range gp.GetSparseInitializer() {
		inits[t.GetValues().GetName()] = true
	}
	kept := gp.Input[:0]
	removed := 0
	for _, vi := range gp.Input {
		if inits[vi.GetName()] {
			removed++
			continue
		}
		kept = append(kept, vi)
	}
	for i := len(kept); i < len(gp.Input); i++ {
		gp.Input[i] = nil
	}
	gp.Input = kept
	return removed
}

// defaultOpset returns the model's ai.onnx import version.
func defaultOpset(m *onnx.ModelProto) (int64, error) {
	found := int64(-1)
	for _, imp := range m.GetOpsetImport() {
		if d := imp.GetDomain(); d == "" || d == "ai.onnx" {
			if found >= 0 && found != imp.GetVersion() {
				return 0, fmt.Errorf("opset: model imports ai.onnx twice, at versions %d and %d", found, imp.GetVersion())
			}
			found = imp.GetVersion()
		}
	}
	if found < 0 {
		return 0, errors.New("opset: model does not import the ai.onnx operator set")
	}
	if found < 1 {
		return 0, fmt.Errorf("opset: model imports ai.onnx at invalid version %d", found)
	}
	return found, nil
}

// upgrader holds one Upgrade's state.
type upgrader struct {
	from, to int64
	rep      *Report
}

// nodeCtx is what a conversion function works with: the node, its graph
// and the step being crossed.
type nodeCtx struct {
	u     *upgrader
	g     *graph.Graph
	n     *graph.Node
	op    string // op type at the start of the step
	step  step
	label string // the node's name for messages, fixed before any change
	// fromUpsample marks a Resize made from Upsample, whose scales are at
	// least 1 by definition.
	fromUpsample bool
	notes        []string
}

// convertGraph converts every default-domain node of g, then the
// subgraphs of each node (after the node itself, so that they are read
// from the node as converted).
func (u *upgrader) convertGraph(g *graph.Graph) error {
	for _, n := range g.Nodes() {
		if n.Domain() == "" {
			u.rep.Nodes++
			if err := u.convertNode(n); err != nil {
				return err
			}
		}
		for _, sub := range n.Subgraphs() {
			if err := u.convertGraph(sub); err != nil {
				return err
			}
		}
	}
	return nil
}

// convertNode carries n from the model's version to the target, one
// operator version at a time.
func (u *upgrader) convertNode(n *graph.Node) error {
	c := &nodeCtx{u: u, g: n.Graph(), n: n, op: n.OpType(), label: n.String()}
	origOp := c.op
	hist, ok := table[c.op]
	if !ok {
		return c.refuse("operator %s is not in the ai.onnx opset table of this package", c.op)
	}
	cur := int64(0)
	for _, st := range hist.steps {
		if st.v <= u.from {
			cur = st.v
		}
	}
	if cur == 0 {
		return c.refuse("operator %s does not exist at opset %d (it was introduced at version %d)", c.op, u.from, hist.steps[0].v)
	}
	// A node at the version where its operator was deprecated still means
	// what the previous version meant: convert it as if crossing that step.
	if hist.deprecated != 0 && cur == hist.deprecated {
		cur--
	}
	for {
		var next *step
		for i := range hist.steps {
			if st := &hist.steps[i]; st.v > cur && st.v <= u.to {
				next = st
				break
			}
		}
		if next == nil {
			break
		}
		c.step = *next
		before := len(c.notes)
		if err := next.conv(c); err != nil {
			return err
		}
		for i := before; i < len(c.notes); i++ {
			c.notes[i] = fmt.Sprintf("%s-%d: %s", c.op, next.v, c.notes[i])
		}
		cur = next.v
		if op := c.n.OpType(); op != c.op {
			c.op = op
			if hist, ok = table[op]; !ok {
				return c.refuse("internal: conversion produced unknown operator %s", op)
			}
		}
	}
	if len(c.notes) > 0 {
		u.rep.Converted = append(u.rep.Converted, Conversion{
			Graph: c.g.Name(), Node: c.label, Op: origOp, NewOp: c.n.OpType(), Changes: c.notes,
		})
	}
	return nil
}

// refuse returns the *Error for the node and current step.
func (c *nodeCtx) refuse(format string, args ...any) error {
	return &Error{
		Graph: c.g.Name(), Node: c.label, Op: c.op, From: c.u.from, To: c.u.to,
		Step: c.step.v, Reason: fmt.Sprintf(format, args...),
	}
}

// note records a change made to the node.
func (c *nodeCtx) note(format string, args ...any) {
	c.notes = append(c.notes, fmt.Sprintf(format, args...))
}

// warn records a warning about the node.
func (c *nodeCtx) warn(format string, args ...any) {
	c.u.rep.Warnings = append(c.u.rep.Warnings, fmt.Sprintf("node %s (%s): ", c.label, c.op)+fmt.Sprintf(format, args...))
}
