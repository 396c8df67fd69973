package engine

import (
	"fmt"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/tensor"
)

// state holds the values of one run of one plan.
type state struct {
	p      *plan
	vals   []*tensor.Tensor
	parent kernel.Scope
}

// Lookup resolves a value visible from this graph: its own live values and
// constants first, then the enclosing graphs'.
func (s *state) Lookup(name string) (*tensor.Tensor, bool) {
	if id, ok := s.p.ids[name]; ok {
		if t := s.vals[id]; t != nil {
			return t, true
		}
		if t := s.p.cvals[id]; t != nil {
			return t, true
		}
	}
	if s.parent != nil {
		return s.parent.Lookup(name)
	}
	return nil, false
}

// get returns a value after the run (outputs are never released).
func (s *state) get(name string) (*tensor.Tensor, bool) {
	id, ok := s.p.ids[name]
	if !ok {
		return nil, false
	}
	if t := s.vals[id]; t != nil {
		return t, true
	}
	if t := s.p.cvals[id]; t != nil {
		return t, true
	}
	return nil, false
}

// run executes the plan. args are the formal inputs in order; scope resolves
// values of enclosing graphs.
//
// ar, when not nil, supplies the kernels' output buffers and takes back
// those of values that die; subgraphs run with a nil ar and allocate
// plainly.
func (p *plan) run(ctx *kernel.Ctx, args []*tensor.Tensor, scope kernel.Scope, obs Observer, ar *arena) (*state, error) {
	var st *state
	if ar != nil {
		// The main graph's state is the arena's, reused run after run.
		st = &ar.st
		vals := st.vals
		if cap(vals) < len(p.names) {
			vals = make([]*tensor.Tensor, len(p.names))
		}
		vals = vals[:len(p.names)]
		clear(vals)
		*st = state{p: p, vals: vals, parent: scope}
	} else {
		st = &state{p: p, vals: make([]*tensor.Tensor, len(p.names)), parent: scope}
	}
	if len(args) != len(p.inputIDs) {
		return nil, fmt.Errorf("engine: graph %q takes %d inputs, got %d", p.name, len(p.inputIDs), len(args))
	}
	for i, id := range p.inputIDs {
		st.vals[id] = args[i]
		if obs != nil && args[i] != nil {
			obs(p.names[id], args[i])
		}
	}
	// Values folded at New are part of every run: observers see them too.
	if obs != nil {
		for _, id := range p.folded {
			obs(p.names[id], p.cvals[id])
		}
	}
	for i, id := range p.outerIDs {
		if scope == nil {
			return nil, fmt.Errorf("engine: graph %q reads %q from an enclosing graph, but has none", p.name, p.outer[i])
		}
		t, ok := scope.Lookup(p.outer[i])
		if !ok {
			return nil, fmt.Errorf("engine: graph %q: value %q of an enclosing graph is not available", p.name, p.outer[i])
		}
		st.vals[id] = t
	}
	var kctx *kernel.Ctx
	var in []*tensor.Tensor
	if ar != nil {
		kctx, in = &ar.kctx, ar.in[:0]
		kctx.Inherit(ctx)
		kctx.Alloc, kctx.Header = ar.allocFn, ar.viewFn
	} else {
		kctx, in = new(kernel.Ctx), make([]*tensor.Tensor, 0, 8)
		kctx.Inherit(ctx)
		kctx.Alloc, kctx.Header = nil, nil
	}
	kctx.Scope = st
	kctx.Observe = obs
	steps := p.steps
	if obs == nil && p.fast != nil {
		steps = p.fast
	}
	for si := range steps {
		s := &steps[si]
		if ctx.Context != nil {
			if err := ctx.Context.Err(); err != nil {
				return nil, fmt.Errorf("engine: run stopped before node %q: %w", s.name, err)
			}
		}
		in = in[:0]
		for j, id := range s.in {
			if id < 0 {
				in = append(in, nil)
				continue
			}
			t := st.vals[id]
			if t == nil {
				t = p.cvals[id]
			}
			if t == nil {
				return nil, fmt.Errorf("engine: node %q (%s): input %q has no value", s.name, s.proto.GetOpType(), s.proto.GetInput()[j])
			}
			in = append(in, t)
		}
		outs, err := s.kern.Run(kctx, in)
		if err != nil {
			return nil, fmt.Errorf("engine: node %q (%s): %w", s.name, s.proto.GetOpType(), err)
		}
		for j, id := range s.out {
			if id < 0 {
				continue
			}
			if j >= len(outs) || outs[j] == nil {
				return nil, fmt.Errorf("engine: node %q (%s) did not produce output %q", s.name, s.proto.GetOpType(), p.names[id])
			}
			st.vals[id] = outs[j]
			if ar != nil {
				ar.hold(outs[j])
			}
			if obs != nil {
				obs(p.names[id], outs[j])
			}
		}
		for _, id := range s.free {
			if ar != nil && st.vals[id] != nil {
				ar.release(st.vals[id])
			}
			st.vals[id] = nil
		}
	}
	if ar != nil {
		ar.in = in[:0]
	}
	return st, nil
}

// subgraph adapts a compiled plan to kernel.Subgraph.
type subgraph struct {
	p *plan
	c *compiler
}

func (g *subgraph) NumInputs() int  { return len(g.p.inputIDs) }
func (g *subgraph) NumOutputs() int { return len(g.p.outputIDs) }

// Run executes the subgraph; ctx.Scope is the enclosing graph's state.
func (g *subgraph) Run(ctx *kernel.Ctx, inputs []*tensor.Tensor) ([]*tensor.Tensor, error) {
	st, err := g.p.run(ctx, inputs, ctx.Scope, ctx.Observe, nil)
	if err != nil {
		return nil, err
	}
	outs := make([]*tensor.Tensor, len(g.p.outputIDs))
	for i, id := range g.p.outputIDs {
		t := st.vals[id]
		if t == nil {
			t = g.p.cvals[id]
		}
		if t == nil {
			return nil, fmt.Errorf("engine: subgraph %q did not produce output %q", g.p.name, g.p.outputs[i])
		}
		outs[i] = t
	}
	return outs, nil
}
