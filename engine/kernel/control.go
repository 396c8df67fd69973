package kernel

import (
	"fmt"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// cfMaxOpset is the highest opset the control-flow and recurrent operators
// are registered for. Their latest versions are If, Loop and Scan 25 (new
// element types) and LSTM, GRU and RNN 22 (bfloat16); opsets 26 and 27
// added new operators (BitCast, CumProd, LinearAttention, ...) and a new
// Range, and changed none of these.
const cfMaxOpset = 27

func init() {
	Register(Op{Type: "If", MaxOpset: cfMaxOpset, Build: buildIf})
	Register(Op{Type: "Loop", MaxOpset: cfMaxOpset, Build: buildLoop})
	Register(Op{Type: "Scan", MinOpset: 8, MaxOpset: cfMaxOpset, Build: buildScan})
}

// cfGraphAttr returns the GRAPH attribute name of the node's proto, or nil.
func cfGraphAttr(n *Node, name string) *onnx.GraphProto {
	for _, a := range n.Proto.GetAttribute() {
		if a.GetName() == name {
			return a.GetG()
		}
	}
	return nil
}

// cfTensorsOnly refuses a subgraph whose declared inputs or outputs are
// sequences, optionals or maps: the engine holds only tensors.
func cfTensorsOnly(n *Node, attr string) error {
	g := cfGraphAttr(n, attr)
	if g == nil {
		return nil
	}
	check := func(kind string, vis []*onnx.ValueInfoProto) error {
		for _, vi := range vis {
			t := vi.GetType()
			if t == nil || t.GetValue() == nil {
				continue
			}
			if t.GetTensorType() == nil {
				return n.Unsupported("%s %s %q is not a tensor (sequence, optional and map values are not supported)", attr, kind, vi.GetName())
			}
		}
		return nil
	}
	if err := check("input", g.GetInput()); err != nil {
		return err
	}
	return check("output", g.GetOutput())
}

// cfDeclared returns the element type and shape a subgraph declares for
// output i, with unknown dimensions as 0; ok is false when the type is not
// declared. It sizes the empty scan outputs of zero-iteration loops.
func cfDeclared(n *Node, attr string, i int) (dt tensor.DataType, shape []int, ok bool) {
	g := cfGraphAttr(n, attr)
	if g == nil || i >= len(g.GetOutput()) {
		return 0, nil, false
	}
	tt := g.GetOutput()[i].GetType().GetTensorType()
	if tt == nil || tt.GetElemType() == 0 {
		return 0, nil, false
	}
	dt = tensor.DataType(tt.GetElemType())
	if !dt.Supported() {
		return 0, nil, false
	}
	shape = []int{}
	for _, d := range tt.GetShape().GetDim() {
		v := 0
		if d.GetDimValue() > 0 {
			v = int(d.GetDimValue())
		}
		shape = append(shape, v)
	}
	return dt, shape, true
}

// cfBool reads a one-element bool tensor.
func cfBool(t *tensor.Tensor) (bool, error) {
	d, ok := t.Data.([]bool)
	if !ok || t.DType != tensor.Bool {
		return false, fmt.Errorf("condition has type %v, want bool", t.DType)
	}
	if len(d) != 1 || t.Len() != 1 {
		return false, fmt.Errorf("condition has shape %v, want one element", t.Shape)
	}
	return d[0], nil
}

// buildIf prepares If: it runs then_branch when the condition is true,
// else_branch otherwise, and returns that branch's outputs (whose shapes may
// differ between the branches).
// https://onnx.ai/onnx/operators/onnx__If.html
func buildIf(n *Node) (Kernel, error) {
	for _, attr := range []string{"then_branch", "else_branch"} {
		if err := cfTensorsOnly(n, attr); err != nil {
			return nil, err
		}
	}
	thenG, err := n.Subgraph("then_branch")
	if err != nil {
		return nil, err
	}
	elseG, err := n.Subgraph("else_branch")
	if err != nil {
		return nil, err
	}
	for _, g := range []Subgraph{thenG, elseG} {
		if g.NumInputs() != 0 {
			return nil, n.Errorf("a branch declares %d inputs, want none", g.NumInputs())
		}
		if g.NumOutputs() < len(n.Outputs) {
			return nil, n.Errorf("a branch has %d outputs, the node %d", g.NumOutputs(), len(n.Outputs))
		}
	}
	if thenG.NumOutputs() != elseG.NumOutputs() {
		return nil, n.Errorf("then_branch has %d outputs, else_branch %d", thenG.NumOutputs(), elseG.NumOutputs())
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) < 1 || in[0] == nil {
			return nil, n.Errorf("missing condition")
		}
		c, err := cfBool(in[0])
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		g, which := elseG, "else_branch"
		if c {
			g, which = thenG, "then_branch"
		}
		outs, err := g.Run(ctx, nil)
		if err != nil {
			return nil, n.Errorf("%s: %w", which, err)
		}
		return outs, nil
	}), nil
}

// loopKernel is a prepared Loop node.
type loopKernel struct {
	n        *Node
	body     Subgraph
	nCarried int
	nScan    int
}

// buildLoop prepares Loop: with M (max trip count) and cond both optional,
// it runs body(iteration_num, cond, carried...) -> (cond, carried...,
// scan...) while iteration_num < M and cond holds, and returns the final
// carried values and each scan output stacked along a new first axis.
//
// The body's cond output always decides whether the loop goes on, also
// when the node has no cond input: the operator's text calls it ignored in
// that case, but ONNX's reference implementation and ONNX Runtime both
// stop on it, and models are made and checked with those.
// https://onnx.ai/onnx/operators/onnx__Loop.html
func buildLoop(n *Node) (Kernel, error) {
	if err := cfTensorsOnly(n, "body"); err != nil {
		return nil, err
	}
	body, err := n.Subgraph("body")
	if err != nil {
		return nil, err
	}
	if len(n.Inputs) < 2 {
		return nil, n.Errorf("has %d inputs, want at least M and cond (possibly empty)", len(n.Inputs))
	}
	if !n.HasInput(0) && !n.HasInput(1) {
		return nil, n.Errorf("has neither a trip count nor a condition: it would never end")
	}
	k := &loopKernel{n: n, body: body, nCarried: len(n.Inputs) - 2}
	if body.NumInputs() != k.nCarried+2 {
		return nil, n.Errorf("body takes %d inputs, want %d (iteration_num, cond and %d carried values)", body.NumInputs(), k.nCarried+2, k.nCarried)
	}
	k.nScan = body.NumOutputs() - 1 - k.nCarried
	if k.nScan < 0 {
		return nil, n.Errorf("body has %d outputs, want at least %d (cond and %d carried values)", body.NumOutputs(), 1+k.nCarried, k.nCarried)
	}
	if len(n.Outputs) > k.nCarried+k.nScan {
		return nil, n.Errorf("has %d outputs, the body gives %d", len(n.Outputs), k.nCarried+k.nScan)
	}
	return k, nil
}

// Run executes the loop.
func (k *loopKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if len(in) != k.nCarried+2 {
		return nil, n.Errorf("got %d inputs, want %d", len(in), k.nCarried+2)
	}
	trips, bounded := int64(0), in[0] != nil
	if bounded {
		v, err := tensor.Int64s(in[0])
		if err != nil || len(v) != 1 {
			return nil, n.Errorf("trip count M must be one int64 value (type %v, shape %v)", in[0].DType, in[0].Shape)
		}
		trips = v[0]
	}
	cond := true
	if in[1] != nil {
		c, err := cfBool(in[1])
		if err != nil {
			return nil, n.Errorf("cond: %w", err)
		}
		cond = c
	}
	carried := append([]*tensor.Tensor(nil), in[2:]...)
	for i, t := range carried {
		if t == nil {
			return nil, n.Errorf("loop-carried input %d is missing", i)
		}
	}
	scans := make([][]*tensor.Tensor, k.nScan)
	args := make([]*tensor.Tensor, 2+k.nCarried)
	for i := int64(0); (!bounded || i < trips) && cond; i++ {
		if ctx.Context != nil {
			if err := ctx.Context.Err(); err != nil {
				return nil, n.Errorf("stopped at iteration %d: %w", i, err)
			}
		}
		args[0] = tensor.Scalar(i)
		args[1] = tensor.Scalar(cond)
		copy(args[2:], carried)
		outs, err := k.body.Run(ctx, args)
		if err != nil {
			return nil, n.Errorf("iteration %d: %w", i, err)
		}
		if len(outs) != 1+k.nCarried+k.nScan {
			return nil, n.Errorf("iteration %d: body gave %d outputs, want %d", i, len(outs), 1+k.nCarried+k.nScan)
		}
		if cond, err = cfBool(outs[0]); err != nil {
			return nil, n.Errorf("iteration %d: body cond: %w", i, err)
		}
		copy(carried, outs[1:1+k.nCarried])
		for j := range scans {
			scans[j] = append(scans[j], outs[1+k.nCarried+j])
		}
	}
	res := make([]*tensor.Tensor, 0, k.nCarried+k.nScan)
	res = append(res, carried...)
	for j, parts := range scans {
		if len(res) >= len(n.Outputs) {
			break // nobody reads the remaining scan outputs
		}
		dt, elem, err := cfPartsShape(parts)
		if err != nil {
			return nil, n.Errorf("scan output %d: %w", j, err)
		}
		if len(parts) == 0 {
			var ok bool
			if dt, elem, ok = cfDeclared(n, "body", 1+k.nCarried+j); !ok {
				return nil, n.Errorf("scan output %d: no iterations ran and the body does not declare its type", j)
			}
		}
		out, err := cfStack(ctx, parts, dt, elem, 0, len(parts), false)
		if err != nil {
			return nil, n.Errorf("scan output %d: %w", j, err)
		}
		res = append(res, out)
	}
	return res, nil
}

// cfPartsShape checks that the per-iteration values of a scan output agree
// in type and shape, and returns them (zero values when there are none).
func cfPartsShape(parts []*tensor.Tensor) (tensor.DataType, []int, error) {
	if len(parts) == 0 {
		return 0, nil, nil
	}
	first := parts[0]
	for i, p := range parts {
		if err := p.Check(); err != nil {
			return 0, nil, fmt.Errorf("iteration %d: %w", i, err)
		}
		if p.DType != first.DType || !rnnShapeIs(p.Shape, first.Shape...) {
			return 0, nil, fmt.Errorf("iteration %d gave %v %v, iteration 0 %v %v", i, p.DType, p.Shape, first.DType, first.Shape)
		}
	}
	return first.DType, first.Shape, nil
}

// cfStack builds the tensor of shape elem with n inserted at axis, whose
// slice at position i along axis is parts[i] (parts[len(parts)-1-i] when
// reverse). Positions from len(parts) on are left zero.
func cfStack(ctx *Ctx, parts []*tensor.Tensor, dt tensor.DataType, elem []int, axis, n int, reverse bool) (*tensor.Tensor, error) {
	shape := make([]int, 0, len(elem)+1)
	shape = append(shape, elem[:axis]...)
	shape = append(shape, n)
	shape = append(shape, elem[axis:]...)
	out := ctx.New(dt, shape...)
	outer := tensor.NumElements(elem[:axis])
	inner := tensor.NumElements(elem[axis:])
	for i, p := range parts {
		pos := i
		if reverse {
			pos = len(parts) - 1 - i
		}
		for o := 0; o < outer; o++ {
			if err := cfCopy(out, (o*n+pos)*inner, p, o*inner, inner); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// cfSlice returns t's slice at index idx of axis, with that axis removed.
func cfSlice(t *tensor.Tensor, axis, idx int) (*tensor.Tensor, error) {
	shape := make([]int, 0, len(t.Shape)-1)
	shape = append(shape, t.Shape[:axis]...)
	shape = append(shape, t.Shape[axis+1:]...)
	out := tensor.New(t.DType, shape...)
	outer := tensor.NumElements(t.Shape[:axis])
	dim := t.Shape[axis]
	inner := tensor.NumElements(t.Shape[axis+1:])
	for o := 0; o < outer; o++ {
		if err := cfCopy(out, o*inner, t, (o*dim+idx)*inner, inner); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cfCopy copies n elements of src from soff into dst at doff; both must
// hold the same element type.
func cfCopy(dst *tensor.Tensor, doff int, src *tensor.Tensor, soff, n int) error {
	switch d := dst.Data.(type) {
	case []float32:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []float64:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []tensor.F16:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []tensor.BF16:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []int8:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []uint8:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []int16:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []uint16:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []int32:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []uint32:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []int64:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []uint64:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []bool:
		return cfCopyT(d, doff, src.Data, soff, n)
	case []string:
		return cfCopyT(d, doff, src.Data, soff, n)
	}
	return fmt.Errorf("element type %v not supported", dst.DType)
}

func cfCopyT[T any](d []T, doff int, src any, soff, n int) error {
	s, ok := src.([]T)
	if !ok {
		return fmt.Errorf("mixed element types (%T and %T)", d, src)
	}
	if doff+n > len(d) || soff+n > len(s) {
		return fmt.Errorf("copy of %d values out of range", n)
	}
	copy(d[doff:doff+n], s[soff:soff+n])
	return nil
}

// scanKernel is a prepared Scan node.
type scanKernel struct {
	n        *Node
	body     Subgraph
	opset8   bool
	nState   int
	nIn      int // scan inputs
	nOut     int // scan outputs
	inAxes   []int64
	outAxes  []int64
	inRev    []bool
	outRev   []bool
	firstArg int // 1 for opset 8 (sequence_lens comes first), else 0
}

// buildScan prepares Scan. From opset 9: inputs are N states then M scan
// inputs, each scanned along scan_input_axes (reversed where
// scan_input_directions is 1); body(states..., slices...) -> (states...,
// scan slices...); outputs are the final states and the K scan outputs,
// slices stacked along scan_output_axes (reversed where
// scan_output_directions is 1). Opset 8 has a leading optional
// sequence_lens input and a batch axis 0 on every input and output, scans
// axis 1, and reverses inputs by directions.
// https://onnx.ai/onnx/operators/onnx__Scan.html
func buildScan(n *Node) (Kernel, error) {
	if err := cfTensorsOnly(n, "body"); err != nil {
		return nil, err
	}
	body, err := n.Subgraph("body")
	if err != nil {
		return nil, err
	}
	m, err := n.Int("num_scan_inputs", -1)
	if err != nil {
		return nil, err
	}
	k := &scanKernel{n: n, body: body, opset8: n.Opset < 9}
	if k.opset8 {
		k.firstArg = 1
	}
	nIn := len(n.Inputs) - k.firstArg
	if m < 1 || int(m) > nIn {
		return nil, n.Errorf("num_scan_inputs %d out of range [1, %d]", m, nIn)
	}
	k.nIn = int(m)
	k.nState = nIn - k.nIn
	if body.NumInputs() != nIn {
		return nil, n.Errorf("body takes %d inputs, the node gives %d", body.NumInputs(), nIn)
	}
	k.nOut = body.NumOutputs() - k.nState
	if k.nOut < 0 {
		return nil, n.Errorf("body has %d outputs, fewer than the %d states", body.NumOutputs(), k.nState)
	}
	if len(n.Outputs) > k.nState+k.nOut {
		return nil, n.Errorf("has %d outputs, the body gives %d", len(n.Outputs), k.nState+k.nOut)
	}
	dirs := func(name string, count int) ([]bool, error) {
		v, err := n.Ints(name, nil)
		if err != nil {
			return nil, err
		}
		out := make([]bool, count)
		if v == nil {
			return out, nil
		}
		if len(v) != count {
			return nil, n.Errorf("%s has %d values, want %d", name, len(v), count)
		}
		for i, d := range v {
			if d != 0 && d != 1 {
				return nil, n.Errorf("%s[%d] = %d, want 0 or 1", name, i, d)
			}
			out[i] = d == 1
		}
		return out, nil
	}
	axes := func(name string, count int) ([]int64, error) {
		v, err := n.Ints(name, nil)
		if err != nil {
			return nil, err
		}
		if v == nil {
			return make([]int64, count), nil
		}
		if len(v) != count {
			return nil, n.Errorf("%s has %d values, want %d", name, len(v), count)
		}
		return v, nil
	}
	if k.opset8 {
		if k.inRev, err = dirs("directions", k.nIn); err != nil {
			return nil, err
		}
		k.outRev = make([]bool, k.nOut)
		k.inAxes, k.outAxes = make([]int64, k.nIn), make([]int64, k.nOut)
		return k, nil
	}
	if k.inRev, err = dirs("scan_input_directions", k.nIn); err != nil {
		return nil, err
	}
	if k.outRev, err = dirs("scan_output_directions", k.nOut); err != nil {
		return nil, err
	}
	if k.inAxes, err = axes("scan_input_axes", k.nIn); err != nil {
		return nil, err
	}
	if k.outAxes, err = axes("scan_output_axes", k.nOut); err != nil {
		return nil, err
	}
	return k, nil
}

// Run executes the scan.
func (k *scanKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if len(in) != k.firstArg+k.nState+k.nIn {
		return nil, n.Errorf("got %d inputs, want %d", len(in), k.firstArg+k.nState+k.nIn)
	}
	args := in[k.firstArg:]
	for i, t := range args {
		if t == nil {
			return nil, n.Errorf("input %d is missing", k.firstArg+i)
		}
		if err := t.Check(); err != nil {
			return nil, n.Errorf("input %d: %w", k.firstArg+i, err)
		}
	}
	states, scanIn := args[:k.nState], args[k.nState:]
	if k.opset8 {
		return k.runBatched(ctx, in[0], states, scanIn)
	}
	axes := make([]int, k.nIn)
	length := -1
	for i, t := range scanIn {
		r := int64(len(t.Shape))
		a := k.inAxes[i]
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r {
			return nil, n.Errorf("scan_input_axes[%d] = %d out of range for shape %v", i, k.inAxes[i], t.Shape)
		}
		axes[i] = int(a)
		if length < 0 {
			length = t.Shape[a]
		} else if t.Shape[a] != length {
			return nil, n.Errorf("scan input %d has %d steps along axis %d, scan input 0 %d", i, t.Shape[a], a, length)
		}
	}
	final, parts, err := k.iterate(ctx, states, scanIn, axes, length)
	if err != nil {
		return nil, err
	}
	res := append([]*tensor.Tensor(nil), final...)
	for j := range parts {
		if len(res) >= len(n.Outputs) {
			break
		}
		dt, elem, err := k.outElem(j, parts[j])
		if err != nil {
			return nil, err
		}
		r := int64(len(elem) + 1)
		a := k.outAxes[j]
		if a < 0 {
			a += r
		}
		if a < 0 || a >= r {
			return nil, n.Errorf("scan_output_axes[%d] = %d out of range for rank %d", j, k.outAxes[j], r)
		}
		out, err := cfStack(ctx, parts[j], dt, elem, int(a), length, k.outRev[j])
		if err != nil {
			return nil, n.Errorf("scan output %d: %w", j, err)
		}
		res = append(res, out)
	}
	return res, nil
}

// outElem returns the type and shape of one iteration's value of scan
// output j.
func (k *scanKernel) outElem(j int, parts []*tensor.Tensor) (tensor.DataType, []int, error) {
	dt, elem, err := cfPartsShape(parts)
	if err != nil {
		return 0, nil, k.n.Errorf("scan output %d: %w", j, err)
	}
	if len(parts) == 0 {
		var ok bool
		if dt, elem, ok = cfDeclared(k.n, "body", k.nState+j); !ok {
			return 0, nil, k.n.Errorf("scan output %d: the sequence is empty and the body does not declare its type", j)
		}
	}
	return dt, elem, nil
}

// iterate runs the body length times, slicing each scan input along its
// axis, and returns the final states and the per-iteration scan outputs.
func (k *scanKernel) iterate(ctx *Ctx, states, scanIn []*tensor.Tensor, axes []int, length int) ([]*tensor.Tensor, [][]*tensor.Tensor, error) {
	cur := append([]*tensor.Tensor(nil), states...)
	parts := make([][]*tensor.Tensor, k.nOut)
	args := make([]*tensor.Tensor, k.nState+k.nIn)
	for it := 0; it < length; it++ {
		if ctx.Context != nil {
			if err := ctx.Context.Err(); err != nil {
				return nil, nil, k.n.Errorf("stopped at iteration %d: %w", it, err)
			}
		}
		copy(args, cur)
		for i, t := range scanIn {
			idx := it
			if k.inRev[i] {
				idx = length - 1 - it
			}
			s, err := cfSlice(t, axes[i], idx)
			if err != nil {
				return nil, nil, k.n.Errorf("scan input %d: %w", i, err)
			}
			args[k.nState+i] = s
		}
		outs, err := k.body.Run(ctx, args)
		if err != nil {
			return nil, nil, k.n.Errorf("iteration %d: %w", it, err)
		}
		if len(outs) != k.nState+k.nOut {
			return nil, nil, k.n.Errorf("iteration %d: body gave %d outputs, want %d", it, len(outs), k.nState+k.nOut)
		}
		copy(cur, outs[:k.nState])
		for j := range parts {
			parts[j] = append(parts[j], outs[k.nState+j])
		}
	}
	return cur, parts, nil
}

// runBatched runs Scan-8: each batch entry is scanned on its own, over its
// sequence length, and the results are stacked along the batch axis; scan
// outputs past an entry's length are zero.
func (k *scanKernel) runBatched(ctx *Ctx, lensT *tensor.Tensor, states, scanIn []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	batch, maxLen := -1, -1
	for i, t := range append(append([]*tensor.Tensor(nil), states...), scanIn...) {
		isScan := i >= len(states)
		if len(t.Shape) < 1 || isScan && len(t.Shape) < 2 {
			return nil, n.Errorf("input %d has shape %v, too few dimensions for the batch (and sequence) axes", 1+i, t.Shape)
		}
		if batch < 0 {
			batch = t.Shape[0]
		} else if t.Shape[0] != batch {
			return nil, n.Errorf("input %d has batch %d, want %d", 1+i, t.Shape[0], batch)
		}
		if isScan {
			if maxLen < 0 {
				maxLen = t.Shape[1]
			} else if t.Shape[1] != maxLen {
				return nil, n.Errorf("input %d has %d steps, want %d", 1+i, t.Shape[1], maxLen)
			}
		}
	}
	lens := make([]int, batch)
	for b := range lens {
		lens[b] = maxLen
	}
	if lensT != nil {
		v, err := tensor.Int64s(lensT)
		if err != nil || len(v) != batch {
			return nil, n.Errorf("sequence_lens must hold %d int64 values (type %v, shape %v)", batch, lensT.DType, lensT.Shape)
		}
		for b, l := range v {
			if l < 0 || l > int64(maxLen) {
				return nil, n.Errorf("sequence_lens[%d] = %d outside [0, %d]", b, l, maxLen)
			}
			lens[b] = int(l)
		}
	}
	finals := make([][]*tensor.Tensor, k.nState)
	scans := make([][]*tensor.Tensor, k.nOut)
	zeroAxes := make([]int, k.nIn)
	for b := 0; b < batch; b++ {
		bs := make([]*tensor.Tensor, len(states))
		for i, t := range states {
			s, err := cfSlice(t, 0, b)
			if err != nil {
				return nil, n.Errorf("state %d: %w", i, err)
			}
			bs[i] = s
		}
		bx := make([]*tensor.Tensor, len(scanIn))
		for i, t := range scanIn {
			s, err := cfSlice(t, 0, b)
			if err != nil {
				return nil, n.Errorf("scan input %d: %w", i, err)
			}
			bx[i] = s // iterate reads only its first lens[b] steps
		}
		final, parts, err := k.iterate(ctx, bs, bx, zeroAxes, lens[b])
		if err != nil {
			return nil, err
		}
		for i, f := range final {
			finals[i] = append(finals[i], f)
		}
		for j := range parts {
			dt, elem, err := k.outElem(j, parts[j])
			if err != nil {
				return nil, err
			}
			seq, err := cfStack(ctx, parts[j], dt, elem, 0, maxLen, false)
			if err != nil {
				return nil, n.Errorf("scan output %d: %w", j, err)
			}
			scans[j] = append(scans[j], seq)
		}
	}
	var res []*tensor.Tensor
	for i, fs := range finals {
		dt, elem, err := cfPartsShape(fs)
		if err != nil {
			return nil, n.Errorf("final state %d: %w", i, err)
		}
		if batch == 0 {
			dt, elem = states[i].DType, states[i].Shape[1:]
		}
		out, err := cfStack(ctx, fs, dt, elem, 0, batch, false)
		if err != nil {
			return nil, n.Errorf("final state %d: %w", i, err)
		}
		res = append(res, out)
	}
	for j, ss := range scans {
		if len(res) >= len(n.Outputs) {
			break
		}
		dt, elem, err := cfPartsShape(ss)
		if err != nil {
			return nil, n.Errorf("scan output %d: %w", j, err)
		}
		if batch == 0 {
			var ok bool
			if dt, elem, ok = cfDeclared(n, "body", k.nState+j); !ok {
				return nil, n.Errorf("scan output %d: the batch is empty and the body does not declare its type", j)
			}
			elem = append([]int{maxLen}, elem...)
		}
		out, err := cfStack(ctx, ss, dt, elem, 0, batch, false)
		if err != nil {
			return nil, n.Errorf("scan output %d: %w", j, err)
		}
		res = append(res, out)
	}
	return res, nil
}
