package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sort"
	"strings"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Observer receives a tensor produced during a run, with its value name. It
// is called on the goroutine running the model, before the tensor's buffer
// can be reused: it must not keep t, and must copy what it needs.
type Observer func(name string, t *tensor.Tensor)

// Options configure a Session.
type Options struct {
	// Threads is the number of goroutines kernels may use; 0 means GOMAXPROCS.
	Threads int
	// ExtraOutputs names intermediate values to return from Run besides the
	// graph outputs.
	ExtraOutputs []string
	// Observer, when set, is called for every value every run produces
	// (graph inputs, and the values constant folding computed at New,
	// included) unless RunOptions sets its own.
	Observer Observer
	// NoConstantFolding disables folding of constant-only nodes at New
	// (their outputs are then produced, and observed, on every run).
	NoConstantFolding bool
}

// RunOptions adjust one Run.
type RunOptions struct {
	// Observer overrides Options.Observer for this run.
	Observer Observer
}

// ValueInfo describes a graph input or output.
type ValueInfo struct {
	Name  string
	DType tensor.DataType
	// Shape holds the declared dimensions: -1 for an unknown or symbolic one
	// (its name, if any, is in DimNames). Nil when the rank is unknown.
	Shape    []int
	DimNames []string
}

// Session is a prepared model. Its methods are safe for concurrent use.
type Session struct {
	opts    Options
	main    *plan
	inputs  []ValueInfo
	outputs []ValueInfo
	extra   []string
	arenas  arenas // recycled buffers, one arena per run in progress
}

// UnsupportedError lists every node of a model that the engine cannot run.
type UnsupportedError struct {
	Nodes []UnsupportedNode
}

// UnsupportedNode is one node the engine cannot run, and why.
type UnsupportedNode struct {
	Name, OpType, Domain string
	Opset                int64
	Reason               string
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "engine: %d node(s) not supported:", len(e.Nodes))
	for _, n := range e.Nodes {
		d := n.Domain
		if d == "" {
			d = "ai.onnx"
		}
		fmt.Fprintf(&b, "\n  node %q: %s (domain %s, opset %d): %s", n.Name, n.OpType, d, n.Opset, n.Reason)
	}
	return b.String()
}

// Unwrap lets errors.Is(err, kernel.ErrUnsupported) match.
func (e *UnsupportedError) Unwrap() error { return kernel.ErrUnsupported }

// New prepares m for running. m is not modified and may be reused.
func New(m *onnx.ModelProto, opts Options) (*Session, error) {
	if m.GetGraph() == nil {
		return nil, errors.New("engine: model has no graph")
	}
	if opts.Threads <= 0 {
		opts.Threads = runtime.GOMAXPROCS(0)
	}
	opsets := map[string]int64{}
	for _, o := range m.GetOpsetImport() {
		opsets[kernel.NormalizeDomain(o.GetDomain())] = o.GetVersion()
	}
	if _, ok := opsets[""]; !ok {
		// IR version 1 and 2 models have no opset import: opset 1.
		opsets[""] = 1
	}
	for _, f := range m.GetFunctions() {
		_ = f // model-local functions are reported as unsupported ops below
	}
	c := &compiler{opsets: opsets, opts: &opts}
	p, err := c.compile(m.GetGraph(), nil)
	if err != nil {
		return nil, err
	}
	if len(c.unsupported) > 0 {
		return nil, &UnsupportedError{Nodes: c.unsupported}
	}
	s := &Session{opts: opts, main: p}
	for _, vi := range m.GetGraph().GetInput() {
		if _, isConst := p.consts[vi.GetName()]; isConst {
			continue
		}
		s.inputs = append(s.inputs, valueInfo(vi))
	}
	for _, vi := range m.GetGraph().GetOutput() {
		s.outputs = append(s.outputs, valueInfo(vi))
	}
	for _, name := range opts.ExtraOutputs {
		if _, ok := p.ids[name]; !ok {
			return nil, fmt.Errorf("engine: extra output %q is not a value of the model", name)
		}
		s.extra = append(s.extra, name)
	}
	if len(s.extra) > 0 {
		// compile chose the fusions for the graph outputs alone.
		p.markOutputs(s.extra)
	}
	return s, nil
}

func valueInfo(vi *onnx.ValueInfoProto) ValueInfo {
	v := ValueInfo{Name: vi.GetName()}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return v
	}
	v.DType = tensor.DataType(tt.GetElemType())
	if tt.GetShape() != nil {
		for _, d := range tt.GetShape().GetDim() {
			if _, ok := d.GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok && d.GetDimValue() > 0 {
				v.Shape = append(v.Shape, int(d.GetDimValue()))
			} else {
				v.Shape = append(v.Shape, -1)
			}
			v.DimNames = append(v.DimNames, d.GetDimParam())
		}
		if v.Shape == nil {
			v.Shape = []int{}
		}
	}
	return v
}

// Inputs describes the inputs a Run needs (initializers excluded).
func (s *Session) Inputs() []ValueInfo { return append([]ValueInfo(nil), s.inputs...) }

// Outputs describes the graph outputs.
func (s *Session) Outputs() []ValueInfo { return append([]ValueInfo(nil), s.outputs...) }

// Run executes the model on inputs (by graph input name) and returns the
// graph outputs and any ExtraOutputs by name.
func (s *Session) Run(ctx context.Context, inputs map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	return s.RunWith(ctx, inputs, RunOptions{})
}

// RunWith is Run with per-run options.
func (s *Session) RunWith(ctx context.Context, inputs map[string]*tensor.Tensor, ro RunOptions) (map[string]*tensor.Tensor, error) {
	if err := s.checkInputs(inputs); err != nil {
		return nil, err
	}
	obs := ro.Observer
	if obs == nil {
		obs = s.opts.Observer
	}
	if obs == nil {
		s.main.ensureFused()
	}
	// Fusing adds constants to the plan: not while this run reads it.
	s.main.mu.RLock()
	defer s.main.mu.RUnlock()
	ar := s.arenas.get()
	var out map[string]*tensor.Tensor
	defer func() { s.arenas.put(ar, out) }()
	ar.args = ar.args[:0]
	for _, name := range s.main.inputs {
		ar.args = append(ar.args, inputs[name])
	}
	if s.opts.Threads > 1 {
		// Keep the kernels' helper goroutines awake between the run's
		// parallel loops.
		parallel.Hold()
		defer parallel.Release()
	}
	st, err := s.main.run(&kernel.Ctx{Context: ctx, Threads: s.opts.Threads}, ar.args, nil, obs, ar)
	clear(ar.args)
	if err != nil {
		return nil, err
	}
	out = make(map[string]*tensor.Tensor, len(s.outputs)+len(s.extra))
	for _, vi := range s.outputs {
		t, ok := st.get(vi.Name)
		if !ok {
			return nil, fmt.Errorf("engine: graph output %q was not produced", vi.Name)
		}
		out[vi.Name] = t
	}
	for _, name := range s.extra {
		t, ok := st.get(name)
		if !ok {
			return nil, fmt.Errorf("engine: extra output %q was not produced", name)
		}
		out[name] = t
	}
	return out, nil
}

func (s *Session) checkInputs(inputs map[string]*tensor.Tensor) error {
	var missing []string
	found := 0
	for _, vi := range s.inputs {
		t, ok := inputs[vi.Name]
		if ok {
			found++
		}
		if !ok || t == nil {
			missing = append(missing, vi.Name)
			continue
		}
		if err := t.Check(); err != nil {
			return fmt.Errorf("engine: input %q: %w", vi.Name, err)
		}
		if vi.DType != tensor.Undefined && t.DType != vi.DType {
			return fmt.Errorf("engine: input %q has element type %v, the model wants %v", vi.Name, t.DType, vi.DType)
		}
		if vi.Shape != nil {
			if len(t.Shape) != len(vi.Shape) {
				return fmt.Errorf("engine: input %q has shape %v, the model wants rank %d (%s)", vi.Name, t.Shape, len(vi.Shape), shapeString(vi))
			}
			for i, d := range vi.Shape {
				if d >= 0 && t.Shape[i] != d {
					return fmt.Errorf("engine: input %q has shape %v, the model wants %s", vi.Name, t.Shape, shapeString(vi))
				}
			}
		}
	}
	if len(inputs) > found {
		known := map[string]bool{}
		for _, vi := range s.inputs {
			known[vi.Name] = true
		}
		var unknown []string
		for name := range inputs {
			if !known[name] {
				unknown = append(unknown, name)
			}
		}
		sort.Strings(unknown)
		return fmt.Errorf("engine: unknown input name(s) %q; the model's inputs are %q", unknown, inputNames(s.inputs))
	}
	if len(missing) > 0 {
		return fmt.Errorf("engine: missing input(s) %q", missing)
	}
	return nil
}

func inputNames(vs []ValueInfo) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Name
	}
	return out
}

func shapeString(vi ValueInfo) string {
	parts := make([]string, len(vi.Shape))
	for i, d := range vi.Shape {
		switch {
		case d >= 0:
			parts[i] = fmt.Sprint(d)
		case vi.DimNames[i] != "":
			parts[i] = vi.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}
