package calibrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Options configure Run.
type Options struct {
	// Method and Settings choose the collectors.
	Method   Method
	Settings Settings
	// Engine is "go" (the pure-Go engine, the default) or "ort" (ONNX
	// Runtime, in cgo builds).
	Engine string
	// Threads bounds the engine's threads (0: all cores).
	Threads int
	// AugmentedModel, when set, is where the augmented model (see Augment)
	// is saved before the runs; Engine "ort" runs that model.
	AugmentedModel string
	// Progress, when set, is called after each sample.
	Progress func(Progress)
	// Total is the number of samples to expect, for Progress, when the
	// reader cannot tell (0: unknown).
	Total int
}

// Progress reports how far a run has come.
type Progress struct {
	// Done is the number of samples (items, counting each image of a
	// batch) folded in; Total is the number expected, or -1 when the
	// reader does not know.
	Done, Total int
	// Elapsed is the time since the run started.
	Elapsed time.Duration
}

// Result holds the collectors of a calibration run, by tensor name.
type Result struct {
	Method   Method
	Settings Settings
	// Engine names the engine that produced the statistics ("go", "ort",
	// or several joined by "+" after a merge).
	Engine string
	// Samples is the number of items calibrated on.
	Samples int
	// Tensors maps tensor names to their collectors. Tensors for which no
	// float value was seen are absent (see Warnings).
	Tensors map[string]Collector
	// Warnings describe data left out: NaN and infinite values, requested
	// tensors never produced or not float.
	Warnings []string
}

// Range is a chosen quantization range.
type Range struct{ Min, Max float64 }

// Ranges returns the chosen range of every tensor.
func (r *Result) Ranges() map[string]Range {
	out := make(map[string]Range, len(r.Tensors))
	for name, c := range r.Tensors {
		if lo, hi, ok := c.Range(); ok {
			out[name] = Range{lo, hi}
		}
	}
	return out
}

// Names returns the calibrated tensor names, sorted.
func (r *Result) Names() []string {
	names := make([]string, 0, len(r.Tensors))
	for n := range r.Tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// sink receives what a run produces for the requested tensors: whole
// tensors, or (ONNX Runtime's MinMax) reduced minima and maxima.
type sink interface {
	fold(name string, t *tensor.Tensor)
	foldRange(name string, lo, hi float32)
}

// runner runs the model once and passes every requested value to the sink.
type runner interface {
	run(ctx context.Context, inputs map[string]*tensor.Tensor, to sink) error
	close() error
}

// openers maps engine names to runner constructors; "ort" is registered in
// cgo builds.
var openers = map[string]func(m *onnx.ModelProto, tensors []string, opts Options) (runner, error){
	"go": openGo,
}

// Engines lists the engines Run can use.
func Engines() []string {
	var out []string
	for n := range openers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Run runs every sample of data through m on the chosen engine and folds
// the values of the named tensors into collectors as they are produced.
// The reader is read to its end (wrap it in dataset.Limit to bound it)
// but not closed. Errors name the sample; a cancelled ctx stops the run
// between two nodes and returns ctx's error.
func Run(ctx context.Context, m *onnx.ModelProto, tensors []string, data dataset.Reader, opts Options) (*Result, error) {
	settings, err := opts.Settings.normalized(opts.Method)
	if err != nil {
		return nil, err
	}
	if len(tensors) == 0 {
		return nil, errors.New("calibrate: no tensors to calibrate")
	}
	if opts.Engine == "" {
		opts.Engine = "go"
	}
	open, ok := openers[opts.Engine]
	if !ok {
		if opts.Engine == "ort" {
			return nil, errors.New("calibrate: engine \"ort\" (ONNX Runtime) needs a build with cgo enabled")
		}
		return nil, fmt.Errorf("calibrate: unknown engine %q (available: %s)", opts.Engine, strings.Join(Engines(), ", "))
	}
	c, err := newCalibration(m, tensors, opts.Method, settings)
	if err != nil {
		return nil, err
	}
	if opts.AugmentedModel != "" {
		aug, _, err := Augment(m, c.dynamic, opts.Method)
		if err != nil {
			return nil, err
		}
		if err := onnx.Save(aug, opts.AugmentedModel, onnx.SaveOptions{}); err != nil {
			return nil, fmt.Errorf("calibrate: saving the augmented model: %w", err)
		}
	}
	r, err := open(m, c.dynamic, opts)
	if err != nil {
		return nil, err
	}
	defer r.close()

	total := -1
	if n, ok := dataset.LenOf(data); ok {
		total = n
	} else if opts.Total > 0 {
		total = opts.Total
	}
	start := time.Now()
	res := &Result{Method: opts.Method, Settings: settings, Engine: opts.Engine}
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("calibrate: stopped after %d sample(s): %w", res.Samples, err)
		}
		s, err := data.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("calibrate: stopped after %d sample(s): %w", res.Samples, ctx.Err())
			}
			return nil, fmt.Errorf("calibrate: reading sample %d: %w", res.Samples+1, err)
		}
		for name, t := range c.consts {
			c.fold(name, t)
		}
		if err := r.run(ctx, s.Inputs, produced{c}); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("calibrate: stopped after %d sample(s): %w", res.Samples, ctx.Err())
			}
			return nil, fmt.Errorf("calibrate: sample %q: %w", s.Name, err)
		}
		if total > 0 && res.Samples == 0 && len(s.Items) > 1 {
			total *= len(s.Items)
		}
		res.Samples += max(1, len(s.Items))
		if opts.Progress != nil {
			opts.Progress(Progress{Done: res.Samples, Total: total, Elapsed: time.Since(start)})
		}
	}
	if res.Samples == 0 {
		return nil, errors.New("calibrate: the data holds no samples")
	}
	res.Tensors, res.Warnings = c.finish()
	warmThresholds(res.Tensors)
	if len(res.Tensors) == 0 {
		return nil, fmt.Errorf("calibrate: none of the %d requested tensors produced a float value: %s", len(tensors), strings.Join(res.Warnings, "; "))
	}
	return res, nil
}

// calibration is the state of one run: a collector per requested tensor.
type calibration struct {
	colls    map[string]Collector
	consts   map[string]*tensor.Tensor // requested initializers, folded once per sample
	dynamic  []string                  // requested tensors the engine produces
	notFloat map[string]tensor.DataType
	scratch  []float32
}

func newCalibration(m *onnx.ModelProto, tensors []string, method Method, s Settings) (*calibration, error) {
	g := m.GetGraph()
	if g == nil {
		return nil, errors.New("calibrate: model has no graph")
	}
	known := map[string]bool{}
	for _, vi := range g.GetInput() {
		known[vi.GetName()] = true
	}
	inits := map[string]*onnx.TensorProto{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = t
	}
	for _, n := range g.GetNode() {
		for _, o := range n.GetOutput() {
			known[o] = true
		}
	}
	c := &calibration{colls: map[string]Collector{}, consts: map[string]*tensor.Tensor{}, notFloat: map[string]tensor.DataType{}}
	var missing []string
	for _, name := range tensors {
		if _, dup := c.colls[name]; dup {
			continue
		}
		col, err := New(method, s)
		if err != nil {
			return nil, err
		}
		c.colls[name] = col
		if tp, ok := inits[name]; ok {
			t, err := tensor.FromProto(tp)
			if err != nil {
				return nil, fmt.Errorf("calibrate: initializer %q: %w", name, err)
			}
			c.consts[name] = t
			continue
		}
		if !known[name] {
			missing = append(missing, name)
			continue
		}
		c.dynamic = append(c.dynamic, name)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("calibrate: the model has no value named %q", missing)
	}
	return c, nil
}

// fold adds one produced tensor to its collector; values nobody asked for
// are ignored.
func (c *calibration) fold(name string, t *tensor.Tensor) {
	col, ok := c.colls[name]
	if !ok || t == nil {
		return
	}
	switch d := t.Data.(type) {
	case []float32:
		col.Add(d)
	case []float64:
		c.addConverted(col, len(d), func(i int) float32 { return float32(d[i]) })
	case []tensor.F16:
		c.addConverted(col, len(d), func(i int) float32 { return d[i].Float32() })
	case []tensor.BF16:
		c.addConverted(col, len(d), func(i int) float32 { return d[i].Float32() })
	default:
		c.notFloat[name] = t.DType
	}
}

// produced is the sink engines write to: initializers, which are folded
// once per sample by Run itself, are ignored there.
type produced struct{ c *calibration }

func (p produced) fold(name string, t *tensor.Tensor) {
	if _, isConst := p.c.consts[name]; isConst {
		return
	}
	p.c.fold(name, t)
}

func (p produced) foldRange(name string, lo, hi float32) {
	if _, isConst := p.c.consts[name]; isConst {
		return
	}
	if col, ok := p.c.colls[name].(*MinMaxCollector); ok {
		col.AddRange(lo, hi)
	}
}

// addConverted converts a float64 or 16-bit float tensor to float32 in a
// buffer reused from call to call, and adds it.
func (c *calibration) addConverted(col Collector, n int, at func(int) float32) {
	if cap(c.scratch) < n {
		c.scratch = make([]float32, n)
	}
	buf := c.scratch[:n]
	for i := range buf {
		buf[i] = at(i)
	}
	col.Add(buf)
}

// finish returns the collectors that saw data and the warnings.
func (c *calibration) finish() (map[string]Collector, []string) {
	out := map[string]Collector{}
	var never, bad []string
	for _, name := range sortedKeys(c.colls) {
		col := c.colls[name]
		s := col.Summary()
		if dt, ok := c.notFloat[name]; ok && s.Batches == 0 {
			bad = append(bad, fmt.Sprintf("%s (%v)", name, dt))
			continue
		}
		if s.Batches == 0 {
			never = append(never, name)
			continue
		}
		out[name] = col
	}
	var warn []string
	if w := nonFiniteWarning(out); w != "" {
		warn = append(warn, w)
	}
	if len(bad) > 0 {
		warn = append(warn, fmt.Sprintf("%d tensor(s) are not floating-point and were not calibrated: %s", len(bad), listSome(bad)))
	}
	if len(never) > 0 {
		warn = append(warn, fmt.Sprintf("%d tensor(s) were never produced: %s", len(never), listSome(never)))
	}
	for _, name := range sortedKeys(out) {
		if !out[name].Summary().HasRange {
			warn = append(warn, fmt.Sprintf("tensor %q held no finite value", name))
			delete(out, name)
		}
	}
	return out, warn
}

// warmThresholds runs the Entropy searches of all tensors on every core,
// so that the ranges are ready (each collector caches its own).
func warmThresholds(colls map[string]Collector) {
	var todo []*EntropyCollector
	for _, c := range colls {
		if e, ok := c.(*EntropyCollector); ok {
			todo = append(todo, e)
		}
	}
	var wg sync.WaitGroup
	next := make(chan *EntropyCollector)
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Go(func() {
			for e := range next {
				e.Threshold()
			}
		})
	}
	for _, e := range todo {
		next <- e
	}
	close(next)
	wg.Wait()
}

// listSome joins up to 20 items, saying how many more there are.
func listSome(items []string) string {
	const most = 20
	if len(items) <= most {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:most], ", ") + fmt.Sprintf(" and %d more", len(items)-most)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// goRunner runs the model on the pure-Go engine, folding values through
// the observer as they are produced.
type goRunner struct {
	sess *engine.Session
}

func openGo(m *onnx.ModelProto, _ []string, opts Options) (runner, error) {
	s, err := engine.New(m, engine.Options{Threads: opts.Threads})
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	return &goRunner{sess: s}, nil
}

func (g *goRunner) run(ctx context.Context, inputs map[string]*tensor.Tensor, to sink) error {
	_, err := g.sess.RunWith(ctx, inputs, engine.RunOptions{Observer: to.fold})
	return err
}

func (g *goRunner) close() error { return nil }

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
