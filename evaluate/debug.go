package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// DebugOptions configure Debug.
type DebugOptions struct {
	// Context stops the runs when done (nil: context.Background()).
	Context context.Context
	// Samples is the number of samples read from the reader: 0 means 4, a
	// negative value all of them.
	Samples int
	// Threads per model run in the pure-Go engine (0: all cores).
	Threads int
	// MaxBytes bounds the float tensors held at once while waiting for
	// their counterparts (0: 256 MiB). A sample whose matched tensors
	// exceed it is run again for the rest, as often as needed.
	MaxBytes int64
}

// DebugReport is the outcome of Debug.
type DebugReport struct {
	// Samples is the number of samples both models ran on.
	Samples int
	// Tensors lists the float model's activations that have a counterpart
	// in the quantized model, worst SQNR first (ties in graph order).
	Tensors []TensorError
	// Weights lists the quantized constants of the quantized model whose
	// float originals are in the float model, worst SQNR first.
	Weights []WeightError
	// Nodes ranks the float model's nodes by the error they add, most
	// first: the candidates to leave in float.
	Nodes []NodeError
	// Unmatched names the float activations (graph inputs and node outputs
	// that are not constant) that have no counterpart.
	Unmatched []string
	// Notes tell what Debug left out and why.
	Notes []string
}

// NodeRef names a node of the float model: its name (possibly empty; Label
// is never empty), op type and position in the graph's node list.
type NodeRef struct {
	Name, OpType string
	Index        int
}

// Label is the node's name, or its op type and position when it has none.
func (n NodeRef) Label() string {
	switch {
	case n.Name != "":
		return n.Name
	case n.Index < 0:
		return "(graph input)"
	}
	return fmt.Sprintf("%s#%d", n.OpType, n.Index)
}

// TensorError is the error of one float activation in the quantized model.
type TensorError struct {
	// Name is the value in the float model; Counterpart the value compared
	// with it in the quantized model, 8-bit when Dequantized.
	Name, Counterpart string
	Dequantized       bool
	// Producer is the float node writing Name (Index -1 for a graph input).
	Producer NodeRef
	// Stats accumulates the error over all samples.
	Stats Stats
}

// WeightError is the rounding error of one quantized constant.
type WeightError struct {
	// Name is the float constant; Quantized the integer constant holding
	// it in the quantized model, of type Type.
	Name, Quantized string
	Type            tensor.DataType
	// Axis is the channel axis of per-channel parameters (-1 per tensor)
	// and Channels the number of scales.
	Axis, Channels int
	// Readers are the float nodes reading the weight.
	Readers []NodeRef
	// Stats over the whole tensor; WorstChannel and WorstChannelSQNR give
	// the worst channel when quantized per channel (-1 and NaN otherwise).
	Stats            Stats
	WorstChannel     int
	WorstChannelSQNR float64
}

// NodeError is the error a group of float nodes adds: the nodes computing
// Tensor from matched tensors (Inputs), none of whose own outputs has a
// counterpart of its own (a Conv whose Relu the quantizer folded forms one
// group with it).
type NodeError struct {
	// Tensor is the matched activation the nodes produce, SQNR its SQNR.
	Tensor string
	SQNR   float64
	// Nodes of the group, in graph order (the last writes Tensor).
	Nodes []NodeRef
	// Inputs are the matched activations feeding the group; InputSQNR is
	// the worst of their SQNRs (+Inf when they are exact: graph inputs).
	Inputs    []string
	InputSQNR float64
	// AddedNSR is the noise-to-signal ratio the group adds: NSR(Tensor)
	// minus the worst NSR of its inputs (NSR = 10^(-SQNR/10)). The ranking
	// key.
	AddedNSR float64
}

// NodeNames returns the names of the nodes of the first k entries of
// Nodes (all when k <= 0 or beyond), without repeats and skipping unnamed
// nodes: the list to exclude from quantization.
func (r *DebugReport) NodeNames(k int) []string {
	if k <= 0 || k > len(r.Nodes) {
		k = len(r.Nodes)
	}
	seen := map[string]bool{}
	var out []string
	for _, ne := range r.Nodes[:k] {
		for _, n := range ne.Nodes {
			if n.Name != "" && !seen[n.Name] {
				seen[n.Name] = true
				out = append(out, n.Name)
			}
		}
	}
	return out
}

// pair is one float activation and how to read its counterpart.
type pair struct {
	te      TensorError
	deq     *qparams
	seen    bool // observed in the float model at least once
	skipped string
}

// Debug pairs the activations of floatModel with their counterparts in
// quantModel, runs both models in the pure-Go engine on the samples r
// yields (opts.Samples of them), capturing only the paired tensors through
// observers, and ranks activations, weights and nodes by their error. r is
// not closed.
//
// A float activation v pairs with the quantized model's value of the same
// name, else with the 8-bit value v_quantized dequantized with its
// constant scale and zero point (found on the node writing it, the nodes
// reading it, or the v_scale and v_zero_point constants). A quantized
// constant w_quantized pairs with the float constant w.
func Debug(floatModel, quantModel *onnx.ModelProto, r dataset.Reader, opts DebugOptions) (*DebugReport, error) {
	ctx := opts.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if opts.Samples == 0 {
		opts.Samples = 4
	}
	budget := opts.MaxBytes
	if budget <= 0 {
		budget = 256 << 20
	}
	fg, err := graph.New(floatModel)
	if err != nil {
		return nil, fmt.Errorf("evaluate: float model: %w", err)
	}
	qg, err := graph.New(quantModel)
	if err != nil {
		return nil, fmt.Errorf("evaluate: quantized model: %w", err)
	}
	// Types help skip integer values and follow 8-bit data movement; what
	// inference cannot tell is found out at run time.
	_ = fg.InferShapes()
	_ = qg.InferShapes()
	fs, err := engine.New(floatModel, engine.Options{Threads: opts.Threads})
	if err != nil {
		return nil, fmt.Errorf("evaluate: float model: %w", err)
	}
	qs, err := engine.New(quantModel, engine.Options{Threads: opts.Threads})
	if err != nil {
		return nil, fmt.Errorf("evaluate: quantized model: %w", err)
	}
	if err := CompareInputs(fs.Inputs(), qs.Inputs()); err != nil {
		return nil, err
	}
	rep := &DebugReport{}
	pairs, constant := matchActivations(fg, qg, rep)
	byFloat := map[string]*pair{}
	byQuant := map[string][]*pair{}
	for _, p := range pairs {
		byFloat[p.te.Name] = p
		byQuant[p.te.Counterpart] = append(byQuant[p.te.Counterpart], p)
	}
	var scratch []float32
	for opts.Samples < 0 || rep.Samples < opts.Samples {
		s, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("evaluate: reading sample %d: %w", rep.Samples+1, err)
		}
		pending := map[*pair]bool{}
		for _, p := range pairs {
			if p.skipped == "" {
				pending[p] = true
			}
		}
		for len(pending) > 0 {
			held := map[*pair][]float32{}
			var bytes int64
			fobs := func(name string, t *tensor.Tensor) {
				p := byFloat[name]
				if p == nil || !pending[p] || held[p] != nil {
					return
				}
				p.seen = true
				if !t.DType.IsFloat() {
					p.skipped = "-" // integer or bool values (shapes, indices): not compared
					delete(pending, p)
					return
				}
				n := int64(t.Len()) * 4
				if bytes > 0 && bytes+n > budget {
					return // next pass
				}
				v, err := Floats(t)
				if err != nil {
					p.skipped = err.Error()
					delete(pending, p)
					return
				}
				held[p] = append(make([]float32, 0, len(v)), v...)
				bytes += n
			}
			if _, err := fs.RunWith(ctx, s.Inputs, engine.RunOptions{Observer: fobs}); err != nil {
				return nil, fmt.Errorf("evaluate: float model, sample %s: %w", s.Name, err)
			}
			qobs := func(name string, t *tensor.Tensor) {
				for _, p := range byQuant[name] {
					x, ok := held[p]
					if !ok {
						continue
					}
					delete(held, p)
					delete(pending, p)
					var y []float32
					var err error
					if p.deq != nil {
						scratch, err = dequantize(t, p.deq, scratch)
						y = scratch
					} else {
						y, err = Floats(t)
					}
					if err == nil && len(x) != len(y) {
						err = fmt.Errorf("%d values against %d", len(x), len(y))
					}
					if err == nil {
						err = p.te.Stats.Add(x, y)
					}
					if err != nil {
						// Not the same tensor after all: leave it out.
						p.skipped = fmt.Sprintf("sample %s: against %q: %v", s.Name, p.te.Counterpart, err)
					}
				}
			}
			if _, err := qs.RunWith(ctx, s.Inputs, engine.RunOptions{Observer: qobs}); err != nil {
				return nil, fmt.Errorf("evaluate: quantized model, sample %s: %w", s.Name, err)
			}
			progress := false
			for p := range pending {
				switch {
				case held[p] != nil:
					// Captured but never produced by the quantized run.
					p.skipped = fmt.Sprintf("%q was not computed by the quantized model", p.te.Counterpart)
					delete(pending, p)
					progress = true
				case !p.seen:
					p.skipped = "not computed by the float model"
					delete(pending, p)
				}
			}
			if len(held) > 0 || bytes > 0 {
				progress = true
			}
			if !progress {
				break
			}
		}
		rep.Samples++
	}
	if rep.Samples == 0 {
		return nil, errors.New("evaluate: the data set yielded no samples")
	}
	for _, p := range pairs {
		switch {
		case p.skipped == "-":
		case p.skipped != "":
			rep.Notes = append(rep.Notes, fmt.Sprintf("tensor %q left out: %s", p.te.Name, p.skipped))
		case p.te.Stats.Count+p.te.Stats.NonFinite > 0:
			rep.Tensors = append(rep.Tensors, p.te)
		}
	}
	sort.SliceStable(rep.Tensors, func(i, j int) bool {
		a, b := rep.Tensors[i].Stats.SQNR(), rep.Tensors[j].Stats.SQNR()
		if a != b && !(math.IsNaN(a) || math.IsNaN(b)) {
			return a < b
		}
		if math.IsNaN(a) != math.IsNaN(b) {
			return !math.IsNaN(a)
		}
		return rep.Tensors[i].Producer.Index < rep.Tensors[j].Producer.Index
	})
	rep.Weights = matchWeights(fg, qg, rep)
	rep.Nodes = rankNodes(fg, rep.Tensors, constant)
	return rep, nil
}

// matchActivations pairs the float model's non-constant main-graph values
// with counterparts in the quantized model, in graph order. It also
// returns the set of the float model's constant values.
func matchActivations(fg, qg *graph.Graph, rep *DebugReport) ([]*pair, map[string]bool) {
	constant := constantValues(fg)
	qvals := map[string]bool{}
	for _, in := range qg.ExternalInputs() {
		qvals[in] = true
	}
	for _, n := range qg.Nodes() {
		for _, o := range n.Outputs() {
			if o != "" {
				qvals[o] = true
			}
		}
	}
	res := newResolver(qg)
	var pairs []*pair
	add := func(v string, prod NodeRef) {
		if v == "" || constant[v] {
			return
		}
		if t, ok := fg.Type(v); ok && t.Elem != tensor.Undefined && !t.Elem.IsFloat() {
			return // shapes, indices, masks: nothing to quantize
		}
		p := &pair{te: TensorError{Name: v, Producer: prod}}
		switch {
		case qvals[v]:
			p.te.Counterpart = v
		default:
			for _, cand := range []string{v + "_quantized"} {
				if !qvals[cand] {
					continue
				}
				if qp, ok := res.activation(cand, v); ok {
					p.te.Counterpart, p.te.Dequantized, p.deq = cand, true, qp
				}
			}
		}
		if p.te.Counterpart == "" {
			rep.Unmatched = append(rep.Unmatched, v)
			return
		}
		pairs = append(pairs, p)
	}
	for _, in := range fg.ExternalInputs() {
		add(in, NodeRef{Index: -1})
	}
	for i, n := range fg.Nodes() {
		for _, o := range n.Outputs() {
			add(o, NodeRef{Name: n.Name(), OpType: n.OpType(), Index: i})
		}
	}
	return pairs, constant
}

// constantValues returns the values of g's main graph that do not depend
// on a graph input: initializers, Constant outputs, and outputs of nodes
// all of whose inputs are constant (subgraph holders excluded). An
// initializer listed as a graph input (IR version 3) counts as constant,
// as the engine takes it.
func constantValues(g *graph.Graph) map[string]bool {
	c := map[string]bool{}
	for _, t := range g.Proto().GetInitializer() {
		c[t.GetName()] = true
	}
	for _, n := range g.Nodes() {
		all := len(n.Subgraphs()) == 0
		for _, in := range n.Inputs() {
			if in != "" && !c[in] {
				all = false
				break
			}
		}
		if n.OpType() == "Constant" || all {
			for _, o := range n.Outputs() {
				if o != "" {
					c[o] = true
				}
			}
		}
	}
	return c
}

// matchWeights compares every quantized constant of qg whose float
// original is a constant of fg.
func matchWeights(fg, qg *graph.Graph, rep *DebugReport) []WeightError {
	res := newResolver(qg)
	var out []WeightError
	for _, init := range qg.Proto().GetInitializer() {
		q := init.GetName()
		base := quantizedBase(q)
		if base == "" {
			continue
		}
		dt := tensor.DataType(init.GetDataType())
		if !dt.IsInteger() {
			continue
		}
		ft, ok := fg.Constant(base)
		if !ok || !ft.DType.IsFloat() {
			continue
		}
		qt, ok := qg.Constant(q)
		if !ok {
			rep.Notes = append(rep.Notes, fmt.Sprintf("weight %q: cannot decode %q", base, q))
			continue
		}
		if qt.Len() != ft.Len() {
			rep.Notes = append(rep.Notes, fmt.Sprintf("weight %q: %q holds %d values, the float weight %d", base, q, qt.Len(), ft.Len()))
			continue
		}
		p, _, ok := res.weightParams(q, base, len(qt.Shape))
		if !ok {
			rep.Notes = append(rep.Notes, fmt.Sprintf("weight %q: no constant scale found for %q", base, q))
			continue
		}
		y, err := dequantize(qt, p, nil)
		if err != nil {
			rep.Notes = append(rep.Notes, fmt.Sprintf("weight %q: %v", base, err))
			continue
		}
		x, err := Floats(ft)
		if err != nil {
			continue
		}
		we := WeightError{Name: base, Quantized: q, Type: dt, Axis: -1, Channels: len(p.Scale), WorstChannel: -1, WorstChannelSQNR: math.NaN()}
		_ = we.Stats.Add(x, y)
		if p.perChannel() {
			we.Axis = channelAxis(qt.Shape, p)
			inner := tensor.NumElements(qt.Shape[we.Axis+1:])
			per := make([]Stats, len(p.Scale))
			for i := range x {
				c := (i / inner) % len(p.Scale)
				_ = per[c].Add(x[i:i+1], y[i:i+1])
			}
			for c := range per {
				if s := per[c].SQNR(); we.WorstChannel < 0 || s < we.WorstChannelSQNR {
					we.WorstChannel, we.WorstChannelSQNR = c, s
				}
			}
		}
		for i, n := range fg.Nodes() {
			if slices.Contains(n.Inputs(), base) {
				we.Readers = append(we.Readers, NodeRef{Name: n.Name(), OpType: n.OpType(), Index: i})
			}
		}
		out = append(out, we)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Stats.SQNR(), out[j].Stats.SQNR()
		if a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// channelAxis returns the axis dequantize uses for per-channel p.
func channelAxis(shape []int, p *qparams) int {
	if p.Axis >= 0 && p.Axis < len(shape) && shape[p.Axis] == len(p.Scale) {
		return p.Axis
	}
	for i, d := range shape {
		if d == len(p.Scale) {
			return i
		}
	}
	return 0
}

// rankNodes attributes each matched tensor's error to the float nodes
// computing it from other matched tensors and ranks the groups by the
// noise they add.
func rankNodes(fg *graph.Graph, tensors []TensorError, constant map[string]bool) []NodeError {
	byName := map[string]*TensorError{}
	for i := range tensors {
		byName[tensors[i].Name] = &tensors[i]
	}
	nodes := fg.Nodes()
	index := map[*graph.Node]int{}
	for i, n := range nodes {
		index[n] = i
	}
	var out []NodeError
	for i := range tensors {
		t := &tensors[i]
		if t.Producer.Index < 0 {
			continue
		}
		ne := NodeError{Tensor: t.Name, SQNR: t.Stats.SQNR(), InputSQNR: math.Inf(1)}
		inNSR := 0.0
		group := map[int]bool{t.Producer.Index: true}
		queue := []int{t.Producer.Index}
		inputs := map[string]bool{}
		for len(queue) > 0 {
			n := nodes[queue[0]]
			queue = queue[1:]
			ins := n.Inputs()
			ins = append(ins, n.ImplicitInputs()...)
			for _, v := range ins {
				if v == "" || constant[v] || inputs[v] {
					continue
				}
				if m, ok := byName[v]; ok {
					inputs[v] = true
					ne.Inputs = append(ne.Inputs, v)
					if s := m.Stats.SQNR(); s < ne.InputSQNR {
						ne.InputSQNR = s
					}
					if nsr := m.Stats.NSR(); nsr > inNSR {
						inNSR = nsr
					}
					continue
				}
				p := fg.Producer(v)
				if p == nil || p.Graph() != fg {
					inputs[v] = true // a graph input fed alike to both
					continue
				}
				if j := index[p]; !group[j] {
					group[j] = true
					queue = append(queue, j)
				}
			}
		}
		for j := range group {
			n := nodes[j]
			ne.Nodes = append(ne.Nodes, NodeRef{Name: n.Name(), OpType: n.OpType(), Index: j})
		}
		sort.Slice(ne.Nodes, func(a, b int) bool { return ne.Nodes[a].Index < ne.Nodes[b].Index })
		ne.AddedNSR = t.Stats.NSR() - inNSR
		out = append(out, ne)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].AddedNSR, out[j].AddedNSR
		if math.IsNaN(a) != math.IsNaN(b) {
			return !math.IsNaN(a)
		}
		if a != b && !math.IsNaN(a) {
			return a > b
		}
		return out[i].SQNR < out[j].SQNR
	})
	return out
}

// nodeRefJSON is a NodeRef in JSON.
type nodeRefJSON struct {
	Name   string `json:"name"`
	OpType string `json:"op_type"`
	Index  int    `json:"index"`
}

func refsJSON(refs []NodeRef) []nodeRefJSON {
	out := make([]nodeRefJSON, len(refs))
	for i, r := range refs {
		out[i] = nodeRefJSON{r.Name, r.OpType, r.Index}
	}
	return out
}

// MarshalJSON writes the report with snake_case keys: samples, tensors
// (name, counterpart, dequantized, node, op_type, index, sqnr_db, cosine,
// max_abs_err, elements), weights (name, quantized, type, axis, channels,
// readers, sqnr_db, cosine, max_abs_err, worst_channel,
// worst_channel_sqnr_db), nodes (tensor, sqnr_db, input_sqnr_db,
// added_nsr, nodes, inputs), unmatched and notes. Infinite or undefined
// figures are null.
func (r *DebugReport) MarshalJSON() ([]byte, error) {
	type tensorJSON struct {
		Name        string   `json:"name"`
		Counterpart string   `json:"counterpart"`
		Dequantized bool     `json:"dequantized"`
		Node        string   `json:"node"`
		OpType      string   `json:"op_type"`
		Index       int      `json:"index"`
		SQNRdB      *float64 `json:"sqnr_db"`
		Cosine      *float64 `json:"cosine"`
		MaxAbsErr   *float64 `json:"max_abs_err"`
		Exact       bool     `json:"exact"`
		Elements    int64    `json:"elements"`
	}
	type weightJSON struct {
		Name        string        `json:"name"`
		Quantized   string        `json:"quantized"`
		Type        string        `json:"type"`
		Axis        int           `json:"axis"`
		Channels    int           `json:"channels"`
		Readers     []nodeRefJSON `json:"readers"`
		SQNRdB      *float64      `json:"sqnr_db"`
		Cosine      *float64      `json:"cosine"`
		MaxAbsErr   *float64      `json:"max_abs_err"`
		Worst       *int          `json:"worst_channel"`
		WorstSQNRdB *float64      `json:"worst_channel_sqnr_db"`
	}
	type nodeJSON struct {
		Tensor      string        `json:"tensor"`
		SQNRdB      *float64      `json:"sqnr_db"`
		InputSQNRdB *float64      `json:"input_sqnr_db"`
		AddedNSR    *float64      `json:"added_nsr"`
		Nodes       []nodeRefJSON `json:"nodes"`
		Inputs      []string      `json:"inputs"`
	}
	ts := make([]tensorJSON, len(r.Tensors))
	for i, t := range r.Tensors {
		ts[i] = tensorJSON{t.Name, t.Counterpart, t.Dequantized, t.Producer.Name, t.Producer.OpType, t.Producer.Index,
			jsonNum(t.Stats.SQNR()), jsonNum(t.Stats.Cosine()), jsonNum(t.Stats.MaxAbsErr), t.Stats.Exact(), t.Stats.Count}
	}
	ws := make([]weightJSON, len(r.Weights))
	for i, w := range r.Weights {
		ws[i] = weightJSON{Name: w.Name, Quantized: w.Quantized, Type: w.Type.String(), Axis: w.Axis, Channels: w.Channels, Readers: refsJSON(w.Readers),
			SQNRdB: jsonNum(w.Stats.SQNR()), Cosine: jsonNum(w.Stats.Cosine()), MaxAbsErr: jsonNum(w.Stats.MaxAbsErr)}
		if w.WorstChannel >= 0 {
			c := w.WorstChannel
			ws[i].Worst, ws[i].WorstSQNRdB = &c, jsonNum(w.WorstChannelSQNR)
		}
	}
	ns := make([]nodeJSON, len(r.Nodes))
	for i, n := range r.Nodes {
		ns[i] = nodeJSON{n.Tensor, jsonNum(n.SQNR), jsonNum(n.InputSQNR), jsonNum(n.AddedNSR), refsJSON(n.Nodes), append([]string{}, n.Inputs...)}
	}
	return json.Marshal(struct {
		Samples   int          `json:"samples"`
		Tensors   []tensorJSON `json:"tensors"`
		Weights   []weightJSON `json:"weights"`
		Nodes     []nodeJSON   `json:"nodes"`
		Unmatched []string     `json:"unmatched"`
		Notes     []string     `json:"notes"`
	}{r.Samples, ts, ws, ns, append([]string{}, r.Unmatched...), append([]string{}, r.Notes...)})
}

// WriteText writes the report as the CLI prints it: the worst top
// tensors, weights and node groups (all when top <= 0).
func (r *DebugReport) WriteText(w io.Writer, top int) error {
	lim := func(n int) int {
		if top <= 0 || top > n {
			return n
		}
		return top
	}
	var b strings.Builder
	fmt.Fprintf(&b, "samples: %d; %d matched tensor(s), %d unmatched; %d quantized weight(s)\n", r.Samples, len(r.Tensors), len(r.Unmatched), len(r.Weights))
	fmt.Fprintf(&b, "\ntensors, worst SQNR first:\n%4s %10s %10s %12s  %-28s %s\n", "#", "SQNR dB", "cosine", "max |err|", "tensor", "node (op, index)")
	for i, t := range r.Tensors[:lim(len(r.Tensors))] {
		cp := ""
		if t.Counterpart != t.Name {
			cp = " <- " + t.Counterpart
		}
		fmt.Fprintf(&b, "%4d %10s %10s %12s  %-28s %s (%s, %d)%s\n", i+1, fmtDB(t.Stats.SQNR()), fmtG(t.Stats.Cosine(), 6), fmtG(t.Stats.MaxAbsErr, 4), t.Name, t.Producer.Label(), t.Producer.OpType, t.Producer.Index, cp)
	}
	if len(r.Nodes) > 0 {
		fmt.Fprintf(&b, "\nnodes, most added error first:\n%4s %10s %10s %10s  %s\n", "#", "added NSR", "SQNR dB", "in SQNR", "nodes -> tensor")
		for i, n := range r.Nodes[:lim(len(r.Nodes))] {
			labels := make([]string, len(n.Nodes))
			for j, x := range n.Nodes {
				labels[j] = x.Label() + " (" + x.OpType + ")"
			}
			fmt.Fprintf(&b, "%4d %10s %10s %10s  %s -> %s\n", i+1, fmtG(n.AddedNSR, 3), fmtDB(n.SQNR), fmtDB(n.InputSQNR), strings.Join(labels, ", "), n.Tensor)
		}
	}
	if len(r.Weights) > 0 {
		fmt.Fprintf(&b, "\nweights, worst SQNR first:\n%4s %10s %12s %-8s %12s  %s\n", "#", "SQNR dB", "max |err|", "type", "channels", "weight (readers)")
		for i, wt := range r.Weights[:lim(len(r.Weights))] {
			ch := "tensor"
			if wt.Channels > 1 {
				ch = fmt.Sprintf("%d@axis%d", wt.Channels, wt.Axis)
			}
			var rd []string
			for _, x := range wt.Readers {
				rd = append(rd, x.Label())
			}
			extra := ""
			if wt.WorstChannel >= 0 {
				extra = fmt.Sprintf("; worst channel %d: %s dB", wt.WorstChannel, fmtDB(wt.WorstChannelSQNR))
			}
			fmt.Fprintf(&b, "%4d %10s %12s %-8s %12s  %s (%s)%s\n", i+1, fmtDB(wt.Stats.SQNR()), fmtG(wt.Stats.MaxAbsErr, 4), wt.Type, ch, wt.Name, strings.Join(rd, ", "), extra)
		}
	}
	if len(r.Unmatched) > 0 {
		list := r.Unmatched[:lim(len(r.Unmatched))]
		more := ""
		if len(list) < len(r.Unmatched) {
			more = fmt.Sprintf(" and %d more", len(r.Unmatched)-len(list))
		}
		fmt.Fprintf(&b, "\nunmatched float tensors (no counterpart in the quantized model): %s%s\n", strings.Join(list, ", "), more)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
