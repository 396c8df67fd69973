package quantize

import (
	"sort"

	"github.com/onnxquant/onnxquant/graph"
)

// rule rewrites one selected node in a format. It emits the replacement
// nodes and returns "", or returns why the node stays float (emitting
// nothing; the caller copies the node).
type rule func(q *quantizer, n *graph.Node) (why string, err error)

// ruleSet is one format's registry: op type -> rule. compute marks the ops
// that do arithmetic (reported when left float); the others are data
// movement ops that only carry 8-bit tensors through.
type ruleSet struct {
	byType  map[string]rule
	compute map[string]bool
}

func (r *ruleSet) supports(op string) bool { _, ok := r.byType[op]; return ok }

func (r *ruleSet) isCompute(op string) bool { return r.compute[op] }

func (r *ruleSet) types() []string {
	out := make([]string, 0, len(r.byType))
	for t := range r.byType {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// passThroughOps carry quantized tensors unchanged: their output has the
// input's scale and zero point.
var passThroughOps = []string{
	"Transpose", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity",
	"Slice", "Gather", "MaxPool", "Resize", "Pad", "Split", "Concat",
	"DepthToSpace", "SpaceToDepth",
}

func rulesFor(f Format) *ruleSet {
	r := &ruleSet{byType: map[string]rule{}, compute: map[string]bool{}}
	add := func(op string, fn rule, compute bool) {
		r.byType[op] = fn
		r.compute[op] = compute
	}
	switch f {
	case IntegerOps:
		add("Conv", (*quantizer).integerConv, true)
		add("MatMul", (*quantizer).integerMatMul, true)
		add("Gemm", (*quantizer).integerGemm, true)
	case QLinearOps:
		add("Conv", (*quantizer).qlinearConv, true)
		add("MatMul", (*quantizer).qlinearMatMul, true)
		add("Gemm", (*quantizer).qlinearGemm, true)
		add("Add", (*quantizer).qlinearBinary, true)
		add("Mul", (*quantizer).qlinearBinary, true)
		add("GlobalAveragePool", (*quantizer).qlinearUnary, true)
		add("AveragePool", (*quantizer).qlinearUnary, true)
		add("Sigmoid", (*quantizer).qlinearUnary, true)
		add("LeakyRelu", (*quantizer).qlinearUnary, true)
		add("Softmax", (*quantizer).qlinearUnary, true)
		for _, op := range passThroughOps {
			add(op, (*quantizer).qlinearPassThrough, false)
		}
		r.byType["Concat"] = (*quantizer).qlinearConcat
		r.compute["Concat"] = true
	case QDQ:
		for _, op := range []string{"Conv", "MatMul", "Gemm"} {
			add(op, (*quantizer).qdqWeighted, true)
		}
		for _, op := range []string{"Add", "Mul", "GlobalAveragePool", "AveragePool", "Sigmoid", "LeakyRelu", "Softmax"} {
			add(op, (*quantizer).qdqActivations, true)
		}
		for _, op := range passThroughOps {
			add(op, (*quantizer).qdqPassThrough, false)
		}
	}
	return r
}

// rewrite walks the top graph's nodes in order and rebuilds its node list.
func (q *quantizer) rewrite(sel map[*graph.Node]bool) error {
	for _, v := range q.g.Inputs() {
		q.floatOK[v] = true
	}
	for _, n := range q.g.Nodes() {
		if q.skip[n] {
			continue
		}
		if sel[n] {
			why, err := q.rules.byType[n.OpType()](q, n)
			if err != nil {
				return err
			}
			if why == "" {
				continue
			}
			q.leaveFloat(n, why)
		}
		q.copyNode(n)
	}
	// Graph outputs must exist in float under their own names.
	for _, v := range q.g.Outputs() {
		q.ensureFloat(v)
	}
	return nil
}

// copyNode emits n unchanged, after making sure every value it reads
// (subgraph reads included) exists in float.
func (q *quantizer) copyNode(n *graph.Node) {
	for _, in := range n.Inputs() {
		q.ensureFloat(in)
	}
	for _, in := range n.ImplicitInputs() {
		q.ensureFloat(in)
	}
	q.out = append(q.out, n.Proto())
	for _, o := range n.Outputs() {
		q.floatOK[o] = true
	}
}

// ensureFloat makes v available in float: a value that exists only in 8-bit
// form (the output of a QLinear node) is dequantized once, into its
// original name, so every float reader and graph output is unchanged.
func (q *quantizer) ensureFloat(v string) {
	if v == "" || q.floatOK[v] {
		return
	}
	qv, ok := q.qv[v]
	if !ok {
		q.floatOK[v] = true // an initializer, or produced by a copied node
		return
	}
	q.emit("DequantizeLinear", v+"_DequantizeLinear", []string{qv.q, qv.scale, qv.zp}, []string{v})
	q.floatOK[v] = true
}

// foldActivation finds a Relu, or a Clip whose range contains 0, that is
// the only reader of out (not a graph output) and whose output has static
// parameters: the quantized node can write the activation's output directly,
// its saturation doing the clipping. It returns the name to write and the
// folded node, or out and nil.
func (q *quantizer) foldActivation(out string) (string, *graph.Node) {
	if !q.cfg.Static || q.g.IsOutput(out) {
		return out, nil
	}
	cons := q.g.Consumers(out)
	if len(cons) != 1 {
		return out, nil
	}
	a := cons[0]
	if a.Graph() != q.g || a.Input(0) != out || !q.hasParams(a.Output(0)) {
		return out, nil
	}
	switch a.OpType() {
	case "Relu":
	case "Clip":
		lo, hi, ok := q.clipRange(a)
		if !ok || lo > 0 || hi < 0 {
			return out, nil
		}
	default:
		return out, nil
	}
	for _, ex := range q.cfg.NodesToExclude {
		if ex == a.Name() {
			return out, nil
		}
	}
	q.skip[a] = true
	return a.Output(0), a
}

// clipRange returns a Clip's bounds (attributes before opset 11, constant
// inputs after); ok is false when a bound is not constant.
func (q *quantizer) clipRange(n *graph.Node) (lo, hi float32, ok bool) {
	lo, hi = -3.4028235e38, 3.4028235e38
	if q.g.Opset("") < 11 {
		return n.AttrFloat("min", lo), n.AttrFloat("max", hi), true
	}
	for i, dst := range []*float32{&lo, &hi} {
		name := n.Input(i + 1)
		if name == "" {
			continue
		}
		t, isConst := q.constant(name)
		if !isConst || t.Len() != 1 {
			return 0, 0, false
		}
		f, err := scalarFloat(t)
		if err != nil {
			return 0, 0, false
		}
		*dst = f
	}
	return lo, hi, true
}
