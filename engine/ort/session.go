//go:build cgo

package ort

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/onnxquant/onnxquant/tensor"
	ortgo "github.com/yalue/onnxruntime_go"
)

// OptLevel is ONNX Runtime's graph optimization level for a session.
type OptLevel int

// Graph optimization levels. The zero value keeps ONNX Runtime's default,
// which applies every optimization.
const (
	OptDefault  OptLevel = iota // ONNX Runtime's default (all optimizations)
	OptDisabled                 // no graph optimization
	OptBasic                    // constant folding and redundant-node removal
	OptExtended                 // basic plus node fusions
	OptAll                      // extended plus layout optimizations
)

// Options configure a Session. The zero value uses ONNX Runtime's defaults.
type Options struct {
	// Threads is the number of intra-op threads (0 = ONNX Runtime's default,
	// one per physical core).
	Threads int
	// InterOpThreads is the number of inter-op threads (0 = default); it
	// matters only for models run in parallel mode, which this package does
	// not enable.
	InterOpThreads int
	// Optimization is the graph optimization level.
	Optimization OptLevel
}

// IOInfo describes one graph input or output as ONNX Runtime sees it.
type IOInfo struct {
	// Name is the input's or output's name in the graph.
	Name string
	// DType is the element type; Undefined when the value is not a tensor
	// (a sequence, map or optional), which Run cannot pass.
	DType tensor.DataType
	// Shape is the declared shape with -1 for each dynamic dimension. It is
	// empty both for scalars and for values whose rank is not declared.
	Shape []int
}

// Session is one model loaded in ONNX Runtime. Its methods are safe for
// concurrent use; Close must not be called while other methods may still be
// called.
type Session struct {
	name    string // model file path, or a description of in-memory bytes
	inputs  []IOInfo
	outputs []IOInfo
	outIdx  map[string]int

	mu   sync.RWMutex // write-locked by Close, read-locked by Run
	sess *ortgo.DynamicAdvancedSession

	scalarMu  sync.Mutex
	scalarOut []bool // outputs seen to be rank 0, which must be preallocated
}

// NewSessionFromFile loads the ONNX model at path into ONNX Runtime.
func NewSessionFromFile(path string, opts Options) (*Session, error) {
	return newSession(path, opts, func(so *ortgo.SessionOptions) ([]ortgo.InputOutputInfo, []ortgo.InputOutputInfo, error) {
		return ortgo.GetInputOutputInfoWithOptions(path, so)
	}, func(in, out []string, so *ortgo.SessionOptions) (*ortgo.DynamicAdvancedSession, error) {
		return ortgo.NewDynamicAdvancedSession(path, in, out, so)
	})
}

// NewSession loads a serialized ONNX model (the bytes of a .onnx file) into
// ONNX Runtime. Models whose weights live in external data files must be
// loaded with NewSessionFromFile instead.
func NewSession(model []byte, opts Options) (*Session, error) {
	name := fmt.Sprintf("in-memory model (%d bytes)", len(model))
	if len(model) == 0 {
		return nil, fmt.Errorf("ort: %s: empty model", name)
	}
	return newSession(name, opts, func(*ortgo.SessionOptions) ([]ortgo.InputOutputInfo, []ortgo.InputOutputInfo, error) {
		return ortgo.GetInputOutputInfoWithONNXData(model)
	}, func(in, out []string, so *ortgo.SessionOptions) (*ortgo.DynamicAdvancedSession, error) {
		return ortgo.NewDynamicAdvancedSessionWithONNXData(model, in, out, so)
	})
}

// newSession reads the model's inputs and outputs with info, then creates
// the session with create, naming every input and every output.
func newSession(name string, opts Options,
	info func(*ortgo.SessionOptions) ([]ortgo.InputOutputInfo, []ortgo.InputOutputInfo, error),
	create func(in, out []string, so *ortgo.SessionOptions) (*ortgo.DynamicAdvancedSession, error),
) (*Session, error) {
	if err := Init(); err != nil {
		return nil, err
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: %w", name, err)
	}
	defer so.Destroy()

	ins, outs, err := info(so)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: reading inputs and outputs: %w", name, err)
	}
	s := &Session{
		name:      name,
		inputs:    convertInfo(ins),
		outputs:   convertInfo(outs),
		outIdx:    make(map[string]int, len(outs)),
		scalarOut: make([]bool, len(outs)),
	}
	if len(s.outputs) == 0 {
		return nil, fmt.Errorf("ort: %s: model has no outputs", name)
	}
	inNames := make([]string, len(s.inputs))
	for i, in := range s.inputs {
		inNames[i] = in.Name
	}
	outNames := make([]string, len(s.outputs))
	for i, out := range s.outputs {
		outNames[i] = out.Name
		s.outIdx[out.Name] = i
	}
	s.sess, err = create(inNames, outNames, so)
	if err != nil {
		return nil, fmt.Errorf("ort: %s: creating session: %w", name, err)
	}
	return s, nil
}

// sessionOptions translates opts into the binding's session options, which
// the caller must destroy.
func sessionOptions(opts Options) (*ortgo.SessionOptions, error) {
	if opts.Threads < 0 || opts.InterOpThreads < 0 {
		return nil, fmt.Errorf("negative thread count in options (Threads %d, InterOpThreads %d)",
			opts.Threads, opts.InterOpThreads)
	}
	var level ortgo.GraphOptimizationLevel
	switch opts.Optimization {
	case OptDefault, OptAll:
		level = ortgo.GraphOptimizationLevelEnableAll
	case OptDisabled:
		level = ortgo.GraphOptimizationLevelDisableAll
	case OptBasic:
		level = ortgo.GraphOptimizationLevelEnableBasic
	case OptExtended:
		level = ortgo.GraphOptimizationLevelEnableExtended
	default:
		return nil, fmt.Errorf("unknown optimization level %d", opts.Optimization)
	}
	so, err := ortgo.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("creating session options: %w", err)
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"setting intra-op threads", func() error { return so.SetIntraOpNumThreads(opts.Threads) }},
		{"setting inter-op threads", func() error { return so.SetInterOpNumThreads(opts.InterOpThreads) }},
		{"setting optimization level", func() error { return so.SetGraphOptimizationLevel(level) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			so.Destroy()
			return nil, fmt.Errorf("%s: %w", st.what, err)
		}
	}
	return so, nil
}

// convertInfo turns the binding's input/output descriptions into IOInfos.
func convertInfo(infos []ortgo.InputOutputInfo) []IOInfo {
	out := make([]IOInfo, len(infos))
	for i, in := range infos {
		out[i].Name = in.Name
		if in.OrtValueType != ortgo.ONNXTypeTensor {
			continue
		}
		out[i].DType = tensor.DataType(in.DataType)
		if len(in.Dimensions) > 0 {
			out[i].Shape = make([]int, len(in.Dimensions))
			for j, d := range in.Dimensions {
				if d < 0 {
					d = -1
				}
				out[i].Shape[j] = int(d)
			}
		}
	}
	return out
}

// Name returns the model's file path, or a description of the in-memory
// model, as used in error messages.
func (s *Session) Name() string { return s.name }

// Inputs describes the inputs Run needs, in the model's order. Initializers
// that the graph also lists as inputs are not included.
func (s *Session) Inputs() []IOInfo { return cloneInfo(s.inputs) }

// Outputs describes the model's outputs, in the model's order.
func (s *Session) Outputs() []IOInfo { return cloneInfo(s.outputs) }

func cloneInfo(infos []IOInfo) []IOInfo {
	out := make([]IOInfo, len(infos))
	for i, in := range infos {
		out[i] = IOInfo{Name: in.Name, DType: in.DType, Shape: slices.Clone(in.Shape)}
	}
	return out
}

// Run feeds inputs, which must give a tensor for every input in Inputs and
// nothing else, and returns the outputs named by outputNames (every output
// when outputNames is nil) as fresh tensors. ONNX Runtime always computes
// every output; the others are dropped.
//
// Element types supported in both directions: float32, float64, int8, uint8,
// int16, uint16, int32, uint32, int64, uint64 and bool, of any rank. Float16
// and bfloat16 inputs of rank 1 or more are supported; float16 and bfloat16
// outputs only when the model declares their full static shape.
func (s *Session) Run(inputs map[string]*tensor.Tensor, outputNames []string) (map[string]*tensor.Tensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.sess == nil {
		return nil, fmt.Errorf("ort: %s: Run on a closed session", s.name)
	}
	want, err := s.selectOutputs(outputNames)
	if err != nil {
		return nil, err
	}
	values, err := s.inputValues(inputs)
	defer destroyAll(values)
	if err != nil {
		return nil, err
	}

	// A rank-0 output cannot go through the binding's automatic output
	// allocation, which rejects empty shapes after the run. When that
	// happens the output is marked, and the run is repeated with a
	// preallocated scalar for it; later runs preallocate it from the start.
	for attempt := 0; attempt <= len(s.outputs); attempt++ {
		outs, err := s.outputValues()
		if err != nil {
			destroyAll(outs)
			return nil, err
		}
		preset := make([]bool, len(outs))
		for i, v := range outs {
			preset[i] = !isNil(v)
		}
		err = s.sess.Run(values, outs)
		if err != nil && errors.Is(err, ortgo.ZeroShapeLengthError) {
			if i := slices.IndexFunc(outs, isNil); i >= 0 && !preset[i] {
				// Outputs after i were computed but never handed over by
				// the binding; they cannot be freed from here.
				destroyAll(outs)
				s.markScalar(i)
				continue
			}
		}
		if err != nil {
			destroyAll(outs)
			return nil, fmt.Errorf("ort: %s: run: %w", s.name, err)
		}
		res, err := s.collect(outs, want)
		destroyAll(outs)
		return res, err
	}
	return nil, fmt.Errorf("ort: %s: run: could not allocate the model's rank-0 outputs", s.name)
}

// selectOutputs returns the indexes of the outputs to return.
func (s *Session) selectOutputs(names []string) ([]int, error) {
	if names == nil {
		idx := make([]int, len(s.outputs))
		for i := range idx {
			idx[i] = i
		}
		return idx, nil
	}
	idx := make([]int, 0, len(names))
	for _, n := range names {
		i, ok := s.outIdx[n]
		if !ok {
			return nil, fmt.Errorf("ort: %s: no output named %q (outputs: %s)", s.name, n, joinNames(s.outputs))
		}
		if !slices.Contains(idx, i) {
			idx = append(idx, i)
		}
	}
	return idx, nil
}

// inputValues converts the caller's tensors into binding values in the
// session's input order. The returned values must be destroyed even when an
// error is returned.
func (s *Session) inputValues(inputs map[string]*tensor.Tensor) ([]ortgo.Value, error) {
	var missing []string
	for _, in := range s.inputs {
		if _, ok := inputs[in.Name]; !ok {
			missing = append(missing, fmt.Sprintf("%q", in.Name))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("ort: %s: missing input(s) %s", s.name, strings.Join(missing, ", "))
	}
	if len(inputs) != len(s.inputs) {
		var extra []string
		for n := range inputs {
			if !slices.ContainsFunc(s.inputs, func(in IOInfo) bool { return in.Name == n }) {
				extra = append(extra, fmt.Sprintf("%q", n))
			}
		}
		sort.Strings(extra)
		return nil, fmt.Errorf("ort: %s: unknown input(s) %s (inputs: %s)", s.name, strings.Join(extra, ", "), joinNames(s.inputs))
	}
	values := make([]ortgo.Value, 0, len(s.inputs))
	for _, in := range s.inputs {
		t := inputs[in.Name]
		if t == nil {
			return values, fmt.Errorf("ort: %s: input %q is nil", s.name, in.Name)
		}
		if in.DType == tensor.Undefined {
			return values, fmt.Errorf("ort: %s: input %q is not a tensor; only tensor inputs are supported", s.name, in.Name)
		}
		if t.DType != in.DType {
			return values, fmt.Errorf("ort: %s: input %q is %v, model wants %v", s.name, in.Name, t.DType, in.DType)
		}
		v, err := toValue(t)
		if err != nil {
			return values, fmt.Errorf("ort: %s: input %q: %w", s.name, in.Name, err)
		}
		values = append(values, v)
	}
	return values, nil
}

// outputValues returns the output slot list for one run: nil for outputs
// the binding allocates, preallocated values for rank-0 outputs and for
// types the binding cannot allocate itself.
func (s *Session) outputValues() ([]ortgo.Value, error) {
	s.scalarMu.Lock()
	scalar := slices.Clone(s.scalarOut)
	s.scalarMu.Unlock()
	outs := make([]ortgo.Value, len(s.outputs))
	for i, o := range s.outputs {
		switch {
		case o.DType == tensor.Undefined:
			return outs, fmt.Errorf("ort: %s: output %q is not a tensor; only tensor outputs are supported", s.name, o.Name)
		case o.DType == tensor.Float16 || o.DType == tensor.BFloat16:
			// The binding copies too few bytes when it allocates such
			// outputs itself, so they need a buffer of the declared shape.
			if len(o.Shape) == 0 || slices.Contains(o.Shape, -1) {
				return outs, fmt.Errorf("ort: %s: output %q is %v with shape %v; only %v outputs of fully declared, nonzero rank are supported",
					s.name, o.Name, o.DType, o.Shape, o.DType)
			}
			v, err := newOutput(o.DType, o.Shape)
			if err != nil {
				return outs, fmt.Errorf("ort: %s: output %q: %w", s.name, o.Name, err)
			}
			outs[i] = v
		case scalar[i]:
			v, err := newOutput(o.DType, nil)
			if err != nil {
				return outs, fmt.Errorf("ort: %s: output %q: %w", s.name, o.Name, err)
			}
			outs[i] = v
		case !isNative(o.DType):
			return outs, fmt.Errorf("ort: %s: output %q has unsupported element type %v", s.name, o.Name, o.DType)
		}
	}
	return outs, nil
}

func (s *Session) markScalar(i int) {
	s.scalarMu.Lock()
	s.scalarOut[i] = true
	s.scalarMu.Unlock()
}

// collect copies the wanted outputs into tensors.
func (s *Session) collect(outs []ortgo.Value, want []int) (map[string]*tensor.Tensor, error) {
	res := make(map[string]*tensor.Tensor, len(want))
	for _, i := range want {
		name := s.outputs[i].Name
		if isNil(outs[i]) {
			return nil, fmt.Errorf("ort: %s: output %q was not produced", s.name, name)
		}
		t, err := fromValue(outs[i], s.outputs[i].DType)
		if err != nil {
			return nil, fmt.Errorf("ort: %s: output %q: %w", s.name, name, err)
		}
		res[name] = t
	}
	return res, nil
}

// Close releases the ONNX Runtime session. Closing twice is harmless.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sess == nil {
		return nil
	}
	err := s.sess.Destroy()
	s.sess = nil
	if err != nil {
		return fmt.Errorf("ort: %s: closing session: %w", s.name, err)
	}
	return nil
}

// isNil reports whether v is nil or holds a nil pointer, as the binding
// stores for an output it failed to convert.
func isNil(v ortgo.Value) bool {
	if v == nil {
		return true
	}
	rv := reflect.ValueOf(v)
	return rv.Kind() == reflect.Pointer && rv.IsNil()
}

// destroyAll releases every value in values that is set.
func destroyAll(values []ortgo.Value) {
	for _, v := range values {
		if !isNil(v) {
			v.Destroy()
		}
	}
}

func joinNames(infos []IOInfo) string {
	names := make([]string, len(infos))
	for i, in := range infos {
		names[i] = fmt.Sprintf("%q", in.Name)
	}
	return strings.Join(names, ", ")
}
