package quantize

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/modelinfo"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Report says what Model did.
type Report struct {
	Format string `json:"format"`
	Static bool   `json:"static"`
	// OpsetFrom and OpsetTo are the default domain's opset before and after.
	OpsetFrom int64 `json:"opset_from"`
	OpsetTo   int64 `json:"opset_to"`
	// Quantized counts quantized nodes by their original op type.
	Quantized map[string]int `json:"quantized"`
	// Nodes lists every quantized node and how; Float every node of a
	// quantizable type left in float, and why.
	Nodes []NodeNote `json:"nodes"`
	Float []NodeNote `json:"float"`
	// Notes are warnings: opset upgrades, enlarged weight scales, subgraphs
	// left in float.
	Notes []string `json:"notes"`
}

// NodeNote is one node and what happened to it.
type NodeNote struct {
	Name   string `json:"name"`
	OpType string `json:"op_type"`
	Detail string `json:"detail"`
}

// QuantizedCount is the number of quantized nodes.
func (r *Report) QuantizedCount() int {
	n := 0
	for _, c := range r.Quantized {
		n += c
	}
	return n
}

// String renders the report for people.
func (r *Report) String() string {
	var b strings.Builder
	mode := "dynamic"
	if r.Static {
		mode = "static"
	}
	fmt.Fprintf(&b, "format %s (%s activations), opset %d -> %d\n", r.Format, mode, r.OpsetFrom, r.OpsetTo)
	types := make([]string, 0, len(r.Quantized))
	for t := range r.Quantized {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		fmt.Fprintf(&b, "  quantized %-20s %d\n", t, r.Quantized[t])
	}
	for _, n := range r.Nodes {
		fmt.Fprintf(&b, "  node %s (%s): %s\n", n.Name, n.OpType, n.Detail)
	}
	for _, n := range r.Float {
		fmt.Fprintf(&b, "  left float: %s (%s): %s\n", n.Name, n.OpType, n.Detail)
	}
	for _, s := range r.Notes {
		fmt.Fprintf(&b, "  note: %s\n", s)
	}
	return b.String()
}

// ErrAlreadyQuantized is returned for a model that already holds quantized
// operators.
var ErrAlreadyQuantized = errors.New("quantize: model is already quantized")

// Model quantizes m as cfg says and returns a new model and a report. m is
// not modified. The same model and config always give the same bytes.
func Model(m *onnx.ModelProto, cfg Config) (*onnx.ModelProto, *Report, error) {
	out, rep, _, err := run(m, cfg, false)
	return out, rep, err
}

// TensorsToCalibrate returns, sorted, the activations whose parameters a
// static quantization of m with cfg needs: the float inputs and outputs of
// the nodes it selects (op types, node lists), and the outputs of the
// Relu/Clip nodes it folds into them. The set also covers any narrower
// selection (more nodes excluded). Calibrate these; cfg.Params is ignored.
func TensorsToCalibrate(m *onnx.ModelProto, cfg Config) ([]string, error) {
	cfg.Static = true
	cfg.Params = nil
	_, _, rec, err := run(m, cfg, true)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rec))
	for v := range rec {
		out = append(out, v)
	}
	sort.Strings(out)
	return out, nil
}

func run(m *onnx.ModelProto, cfg Config, record bool) (*onnx.ModelProto, *Report, map[string]bool, error) {
	if err := cfg.validate(); err != nil {
		return nil, nil, nil, err
	}
	if m.GetGraph() == nil {
		return nil, nil, nil, errors.New("quantize: model has no graph")
	}
	info := modelinfo.Summarize(m)
	if info.QuantizedOps > 0 {
		var ops []string
		for _, o := range info.OpTypes {
			if modelinfo.IsQuantizedOp(o.OpType) {
				ops = append(ops, fmt.Sprintf("%d %s", o.Count, o.OpType))
			}
		}
		return nil, nil, nil, fmt.Errorf("%w (%s); quantize its float original instead", ErrAlreadyQuantized, strings.Join(ops, ", "))
	}
	m = onnx.CloneShared(m)
	rep := &Report{Format: cfg.Format.String(), Static: cfg.Static, Quantized: map[string]int{}}

	g, err := graph.New(m)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("quantize: %w", err)
	}
	rep.OpsetFrom = g.Opset("")
	target := requiredOpset(&cfg, rep.OpsetFrom)
	if target > rep.OpsetFrom {
		converted, err := upgradeOpset(m, target)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("quantize: the model's opset %d is below the %d this quantization needs, and upgrading it failed: %w", rep.OpsetFrom, target, err)
		}
		rep.Notes = append(rep.Notes, fmt.Sprintf("upgraded the model from opset %d to %d (%d node(s) converted)", rep.OpsetFrom, target, converted))
		if g, err = graph.New(m); err != nil {
			return nil, nil, nil, fmt.Errorf("quantize: after the opset upgrade: %w", err)
		}
	}
	rep.OpsetTo = g.Opset("")
	if err := g.TopoSort(); err != nil {
		return nil, nil, nil, fmt.Errorf("quantize: %w", err)
	}
	var folds *foldedWeights
	if !cfg.KeepBatchNorm {
		var n int
		if folds, n, err = foldBatchNorms(g); err != nil {
			return nil, nil, nil, err
		}
		if n > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("folded %d BatchNormalization node(s) into the Conv before them", n))
		}
	}
	if cfg.weightType() == tensor.Int8 && cfg.activationType() == tensor.Uint8 && !cfg.ReduceRange {
		rep.Notes = append(rep.Notes, "int8 weights with uint8 activations and full 8-bit ranges: on x86 CPUs without VNNI "+
			"(AVX2 only), ONNX Runtime multiplies them with an instruction that saturates (VPMADDUBSW), and its results can "+
			"be far off (fastestdet's outputs by up to 95% of their range in our tests); use --reduce-range or uint8 weights "+
			"for such CPUs")
	}
	// Shape inference informs the rules (which inputs are float, weight
	// ranks); inconsistencies it reports do not stop quantization.
	_ = g.InferShapes()

	q := newQuantizer(&cfg, g, rep)
	q.folds = folds
	if record {
		q.record = map[string]bool{}
	}
	sel, err := q.selectNodes()
	if err != nil {
		return nil, nil, nil, err
	}
	if err := q.rewrite(sel); err != nil {
		return nil, nil, nil, err
	}
	if record {
		// Also every float activation a selected node reads or writes:
		// leaving some nodes in float (NodesToExclude, the accuracy
		// fallback) can make a neighbour quantize a tensor that passed
		// through 8-bit before, and its range must be known too.
		for n := range sel {
			for _, v := range append(n.Inputs(), n.Outputs()...) {
				if v != "" && q.isFloat(v) && !q.g.IsConstant(v) {
					q.record[v] = true
				}
			}
		}
	}
	// Folded weights not quantized (their Conv left in float) are
	// computed now; the placeholders of the others go.
	read := map[string]bool{}
	for _, n := range q.out {
		for _, in := range n.Input {
			read[in] = true
		}
	}
	if err := folds.finish(g, func(name string) bool { return read[name] }); err != nil {
		return nil, nil, nil, err
	}
	m.Graph.Node = q.out
	m.Graph.Initializer = append(m.Graph.Initializer, q.inits...)
	if q.usesContrib && g.Opset("com.microsoft") == 0 {
		m.OpsetImport = append(m.OpsetImport, &onnx.OperatorSetIdProto{Domain: proto.String("com.microsoft"), Version: proto.Int64(1)})
	}
	if g, err = graph.New(m); err != nil {
		return nil, nil, nil, fmt.Errorf("quantize: rewritten graph: %w", err)
	}
	if err := g.TopoSort(); err != nil {
		return nil, nil, nil, fmt.Errorf("quantize: rewritten graph: %w", err)
	}
	g.RemoveUnused()
	out := g.ToProto()
	// Value infos written by the original model may now name values whose
	// type changed (8-bit); drop those of values that no longer exist or
	// changed producer, keeping graph inputs and outputs.
	pruneValueInfo(out.GetGraph())
	return out, rep, q.record, nil
}

// requiredOpset returns the default-domain opset the configuration needs.
// Quantization operators start at opset 10, but opset 10 lacks
// DynamicQuantizeLinear and Round (and ONNX Runtime's optimizer inserts
// Round when it fuses a float Gemm behind DequantizeLinear), so models are
// raised to 11. A model already at opset 10 stays there unless FuseDynamic
// asks for the fused operator: dynamic quantization is then spelled out, as
// the reference tool does without force_fusions.
func requiredOpset(cfg *Config, have int64) int64 {
	need := int64(11)
	if have == 10 && !cfg.FuseDynamic {
		need = 10
	}
	if cfg.Format == QDQ && cfg.PerChannel {
		need = 13
	}
	return max(need, have)
}

// pruneValueInfo removes value_info entries: their types may be stale after
// rewriting (ONNX Runtime infers them again).
func pruneValueInfo(g *onnx.GraphProto) {
	g.ValueInfo = nil
}

// selectNodes picks the nodes to try, by op type and name lists, and checks
// that every named node exists.
func (q *quantizer) selectNodes() (map[*graph.Node]bool, error) {
	cfg := q.cfg
	names := map[string]bool{}
	q.g.Walk(func(n *graph.Node) bool {
		names[n.Name()] = true
		return true
	})
	var missing []string
	for _, list := range [][]string{cfg.NodesToQuantize, cfg.NodesToExclude} {
		for _, n := range list {
			if !names[n] {
				missing = append(missing, n)
			}
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("quantize: no node named %q in the model", missing)
	}
	types := map[string]bool{}
	if len(cfg.OpTypesToQuantize) > 0 {
		for _, t := range cfg.OpTypesToQuantize {
			if !q.rules.supports(t) {
				return nil, fmt.Errorf("quantize: op type %q cannot be quantized in format %s (supported: %s)", t, cfg.Format, strings.Join(q.rules.types(), ", "))
			}
			types[t] = true
		}
	} else {
		for _, t := range q.rules.types() {
			types[t] = true
		}
	}
	only := map[string]bool{}
	for _, n := range cfg.NodesToQuantize {
		only[n] = true
	}
	exclude := map[string]bool{}
	for _, n := range cfg.NodesToExclude {
		exclude[n] = true
	}
	sel := map[*graph.Node]bool{}
	for _, n := range q.g.Nodes() {
		if !types[n.OpType()] || n.Domain() != "" {
			continue
		}
		switch {
		case len(only) > 0 && !only[n.Name()]:
			q.leaveFloat(n, "not in the list of nodes to quantize")
		case exclude[n.Name()]:
			q.leaveFloat(n, "excluded")
		default:
			sel[n] = true
		}
	}
	// Subgraphs stay float.
	sub := 0
	for _, n := range q.g.Nodes() {
		for _, s := range n.Subgraphs() {
			s.Walk(func(m *graph.Node) bool {
				if types[m.OpType()] && q.rules.isCompute(m.OpType()) {
					sub++
				}
				return true
			})
		}
	}
	if sub > 0 {
		q.rep.Notes = append(q.rep.Notes, fmt.Sprintf("%d quantizable node(s) inside If/Loop/Scan subgraphs were left in float", sub))
	}
	return sel, nil
}

func (q *quantizer) leaveFloat(n *graph.Node, why string) {
	if !q.rules.isCompute(n.OpType()) {
		return // pass-through ops left alone need no explanation
	}
	q.rep.Float = append(q.rep.Float, NodeNote{Name: n.String(), OpType: n.OpType(), Detail: why})
}

func (q *quantizer) quantized(n *graph.Node, how string) {
	if q.rules.isCompute(n.OpType()) {
		q.rep.Quantized[n.OpType()]++
	}
	q.rep.Nodes = append(q.rep.Nodes, NodeNote{Name: n.String(), OpType: n.OpType(), Detail: how})
}

// isFloat reports whether a value is known to be float32.
func (q *quantizer) isFloat(v string) bool {
	if v == "" {
		return false
	}
	if q.folds.isPending(v) {
		return true
	}
	if t, ok := q.constant(v); ok {
		return t.DType == tensor.Float32
	}
	t, ok := q.g.Type(v)
	return ok && t.Elem == tensor.Float32
}
