package kernel

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

// redKind names one of the Reduce* operators.
type redKind int

const (
	redSum redKind = iota
	redMean
	redMax
	redMin
	redProd
	redL1
	redL2
	redLogSum
	redLogSumExp
	redSumSquare
)

// redOps lists the reduce operators with the opset from which their axes
// come from the second input instead of the axes attribute (and from which
// noop_with_empty_axes exists).
var redOps = []struct {
	name       string
	kind       redKind
	axesInput  int64
	boolInputs bool
}{
	{"ReduceSum", redSum, 13, false},
	{"ReduceMean", redMean, 18, false},
	{"ReduceMax", redMax, 18, true},
	{"ReduceMin", redMin, 18, true},
	{"ReduceProd", redProd, 18, false},
	{"ReduceL1", redL1, 18, false},
	{"ReduceL2", redL2, 18, false},
	{"ReduceLogSum", redLogSum, 18, false},
	{"ReduceLogSumExp", redLogSumExp, 18, false},
	{"ReduceSumSquare", redSumSquare, 18, false},
}

func init() {
	for _, op := range redOps {
		op := op
		Register(Op{Type: op.name, Build: func(n *Node) (Kernel, error) {
			return buildReduce(n, op.kind, op.axesInput, op.boolInputs)
		}})
	}
}

// redConfig is a prepared Reduce* node.
type redConfig struct {
	name      string
	kind      redKind
	keepDims  bool
	noop      bool    // noop_with_empty_axes
	axesAttr  []int64 // axes from the attribute (older opsets)
	axesConst []int64 // axes from a constant second input
	axesInput bool    // axes come from input 1
	hasConst  bool
	boolOK    bool

	plan atomic.Pointer[redPlan] // of the last input shape and axes seen
}

// redPlan is a reduction's geometry for one input shape and set of axes,
// kept so that runs on the same shape allocate nothing for it. It is
// read-only once made.
type redPlan struct {
	xShape   []int
	axes     []int64
	noop     bool // no axes with noop_with_empty_axes: element by element
	outShape []int
	dims     []int // merged dimensions (see redMerge)
	red      []bool
	count    int // elements reduced into each output
}

// planFor returns the plan for input shape and axes, from the last one
// made when they match.
func (c *redConfig) planFor(shape []int, axes []int64) (*redPlan, error) {
	if p := c.plan.Load(); p != nil && equalShapes(p.xShape, shape) && slices.Equal(p.axes, axes) {
		return p, nil
	}
	rank := len(shape)
	p := &redPlan{xShape: append([]int(nil), shape...), axes: append([]int64(nil), axes...)}
	reduced := make([]bool, rank)
	if len(axes) == 0 {
		if c.noop {
			p.noop = true
		} else {
			for i := range reduced {
				reduced[i] = true
			}
		}
	} else {
		for _, a := range axes {
			ax, err := redAxis(a, rank)
			if err != nil {
				return nil, err
			}
			if reduced[ax] {
				return nil, fmt.Errorf("axis %d repeated in %v", a, axes)
			}
			reduced[ax] = true
		}
	}
	p.outShape = []int{}
	for i, d := range shape {
		switch {
		case !reduced[i]:
			p.outShape = append(p.outShape, d)
		case c.keepDims:
			p.outShape = append(p.outShape, 1)
		}
	}
	p.dims, p.red = redMerge(shape, reduced)
	p.count = 1
	for i, d := range shape {
		if reduced[i] {
			p.count *= d
		}
	}
	c.plan.Store(p)
	return p, nil
}

// buildReduce prepares ReduceSum, ReduceMean, ReduceMax, ReduceMin,
// ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp and
// ReduceSumSquare. Up to ReduceSum-11 (others -13) the axes are an
// attribute; later versions take them from the optional second input and
// add noop_with_empty_axes. Reducing an empty set gives the reduction's
// identity: 0 for sums, 1 for products, the type's lowest (highest) value
// for max (min), -inf for the logarithmic reductions.
// https://onnx.ai/onnx/operators/onnx__ReduceSum.html
func buildReduce(n *Node, kind redKind, axesInputSince int64, boolOK bool) (Kernel, error) {
	cfg := &redConfig{name: n.Proto.GetOpType(), kind: kind, boolOK: boolOK && n.Opset >= 20}
	keep, err := n.Int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	cfg.keepDims = keep != 0
	if n.Opset >= axesInputSince {
		noop, err := n.Int("noop_with_empty_axes", 0)
		if err != nil {
			return nil, err
		}
		cfg.noop = noop != 0
		cfg.axesInput = true
		if n.HasInput(1) {
			if c := n.Const(1); c != nil {
				ax, err := tensor.Int64s(c)
				if err != nil {
					return nil, n.Errorf("axes input: %w", err)
				}
				cfg.axesConst = append([]int64(nil), ax...)
				cfg.hasConst = true
			}
		} else {
			cfg.hasConst = true
		}
	} else {
		ax, err := n.Ints("axes", nil)
		if err != nil {
			return nil, err
		}
		cfg.axesAttr = ax
	}
	return KernelFunc(cfg.run), nil
}

// run reduces its input over the configured or given axes.
func (c *redConfig) run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, fmt.Errorf("kernel: %s: missing input", c.name)
	}
	x := in[0]
	var axes []int64
	switch {
	case !c.axesInput:
		axes = c.axesAttr
	case c.hasConst:
		axes = c.axesConst
	case len(in) > 1 && in[1] != nil:
		ax, err := tensor.Int64s(in[1])
		if err != nil {
			return nil, fmt.Errorf("kernel: %s: axes input: %w", c.name, err)
		}
		axes = ax
	}
	p, err := c.planFor(x.Shape, axes)
	if err != nil {
		return nil, fmt.Errorf("kernel: %s: %w", c.name, err)
	}
	if p.noop {
		switch c.kind {
		case redSum, redMean, redMax, redMin, redProd:
			// Every element is reduced on its own, which leaves it
			// unchanged except for the element transforms of L1, L2,
			// SumSquare, LogSum and LogSumExp.
			return ctx.Out(x), nil
		}
	}
	out, err := c.reduce(ctx, x, p)
	if err != nil {
		return nil, err
	}
	return ctx.Out(out), nil
}

// redAxis normalizes a possibly negative axis of a rank-r tensor.
func redAxis(a int64, r int) (int, error) {
	if a < -int64(r) || a >= int64(r) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, r)
	}
	if a < 0 {
		a += int64(r)
	}
	return int(a), nil
}

// reduce reduces x as the plan p says.
func (c *redConfig) reduce(ctx *Ctx, x *tensor.Tensor, p *redPlan) (*tensor.Tensor, error) {
	outShape, dims, red, count := p.outShape, p.dims, p.red, p.count
	switch x.DType {
	case tensor.Float16, tensor.BFloat16:
		x32, err := tensor.Convert(x, tensor.Float32)
		if err != nil {
			return nil, fmt.Errorf("kernel: %s: %w", c.name, err)
		}
		out := &tensor.Tensor{DType: tensor.Float32, Shape: outShape, Data: make([]float32, tensor.NumElements(outShape))}
		redFloat(ctx, c.kind, x32.Data.([]float32), out.Data.([]float32), dims, red, count)
		o, err := tensor.Convert(out, x.DType)
		if err != nil {
			return nil, fmt.Errorf("kernel: %s: %w", c.name, err)
		}
		return o, nil
	}
	out := ctx.New(x.DType, outShape...)
	switch xs := x.Data.(type) {
	case []float32:
		redFloat(ctx, c.kind, xs, out.Data.([]float32), dims, red, count)
	case []float64:
		redFloat(ctx, c.kind, xs, out.Data.([]float64), dims, red, count)
	case []int8:
		redInt[int8, int64](c.kind, xs, out.Data.([]int8), dims, red, count)
	case []uint8:
		redInt[uint8, uint64](c.kind, xs, out.Data.([]uint8), dims, red, count)
	case []int16:
		redInt[int16, int64](c.kind, xs, out.Data.([]int16), dims, red, count)
	case []uint16:
		redInt[uint16, uint64](c.kind, xs, out.Data.([]uint16), dims, red, count)
	case []int32:
		redInt[int32, int64](c.kind, xs, out.Data.([]int32), dims, red, count)
	case []uint32:
		redInt[uint32, uint64](c.kind, xs, out.Data.([]uint32), dims, red, count)
	case []int64:
		redInt[int64, int64](c.kind, xs, out.Data.([]int64), dims, red, count)
	case []uint64:
		redInt[uint64, uint64](c.kind, xs, out.Data.([]uint64), dims, red, count)
	case []bool:
		if !c.boolOK || (c.kind != redMax && c.kind != redMin) {
			return nil, fmt.Errorf("kernel: %s: bool input: %w", c.name, ErrUnsupported)
		}
		redBool(c.kind == redMax, xs, out.Data.([]bool), dims, red)
	default:
		return nil, fmt.Errorf("kernel: %s: %v input: %w", c.name, x.DType, ErrUnsupported)
	}
	return out, nil
}

// redMerge drops size-1 dimensions and merges neighbouring dimensions that
// are both reduced or both kept, so that the innermost merged dimension is
// one contiguous run of the input. A tensor with a zero-size dimension keeps
// it (as a single kept or reduced dimension of size 0).
func redMerge(shape []int, reduced []bool) (dims []int, red []bool) {
	for i, d := range shape {
		if d == 0 {
			return []int{0}, []bool{reduced[i]}
		}
	}
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if k := len(dims) - 1; k >= 0 && red[k] == reduced[i] {
			dims[k] *= d
			continue
		}
		dims = append(dims, d)
		red = append(red, reduced[i])
	}
	if len(dims) == 0 {
		dims, red = []int{1}, []bool{false}
	}
	return dims, red
}

// redRows calls row(inOff, outOff) for every contiguous innermost run of
// length dims[len(dims)-1] of the input, in order. outOff is where the run
// goes in the output: all of it into out[outOff] when the innermost
// dimension is reduced, element i into out[outOff+i] when it is kept.
func redRows(dims []int, red []bool, row func(inOff, outOff int)) {
	last := len(dims) - 1
	inner := dims[last]
	// Output strides of the outer dimensions (0 for reduced ones), and the
	// index digits, on the stack up to MaxDims dimensions.
	var ostrBuf, idxBuf [MaxDims]int
	var ostr, idx []int
	if last <= MaxDims {
		ostr, idx = ostrBuf[:last], idxBuf[:last]
	} else {
		ostr, idx = make([]int, last), make([]int, last)
	}
	s := 1
	if !red[last] {
		s = inner
	}
	for i := last - 1; i >= 0; i-- {
		if red[i] {
			continue
		}
		ostr[i] = s
		s *= dims[i]
	}
	rows := 1
	for _, d := range dims[:last] {
		rows *= d
	}
	outOff := 0
	for r := 0; r < rows; r++ {
		row(r*inner, outOff)
		for k := last - 1; k >= 0; k-- {
			idx[k]++
			outOff += ostr[k]
			if idx[k] < dims[k] {
				break
			}
			outOff -= ostr[k] * dims[k]
			idx[k] = 0
		}
	}
}

// redFloat reduces a float tensor with float64 accumulators.
func redFloat[T float32 | float64](ctx *Ctx, kind redKind, x, out []T, dims []int, red []bool, count int) {
	accBuf := redScratch.get(len(out))
	defer redScratch.put(accBuf)
	acc := *accBuf
	var init float64
	switch kind {
	case redProd:
		init = 1
	case redMax, redLogSumExp:
		init = math.Inf(-1)
	case redMin:
		init = math.Inf(1)
	}
	for i := range acc {
		acc[i] = init
	}
	if len(x) > 0 {
		last := len(dims) - 1
		inner := dims[last]
		if kind == redLogSumExp {
			// First pass: the maxima, used as shifts; second: sum exp(x-shift).
			redFloatPass(ctx, redMax, x, acc, dims, red)
			shiftBuf := redScratch.get(len(acc))
			defer redScratch.put(shiftBuf)
			shift := *shiftBuf
			for i, m := range acc {
				if !math.IsInf(m, 0) && !math.IsNaN(m) {
					shift[i] = m
				}
				acc[i] = 0
			}
			redRows(dims, red, func(in, o int) {
				row := x[in : in+inner]
				if red[last] {
					s, m := acc[o], shift[o]
					for _, v := range row {
						s += math.Exp(float64(v) - m)
					}
					acc[o] = s
					return
				}
				a, m := acc[o:o+inner], shift[o:o+inner]
				for i, v := range row {
					a[i] += math.Exp(float64(v) - m[i])
				}
			})
			for i := range acc {
				acc[i] = math.Log(acc[i]) + shift[i]
			}
			for i, v := range acc {
				out[i] = T(v)
			}
			return
		}
		redFloatPass(ctx, kind, x, acc, dims, red)
	}
	switch kind {
	case redMean:
		for i := range acc {
			acc[i] /= float64(count)
		}
	case redL2:
		for i := range acc {
			acc[i] = math.Sqrt(acc[i])
		}
	case redLogSum:
		for i := range acc {
			acc[i] = math.Log(acc[i])
		}
	case redLogSumExp:
		// Only reached for an empty input: log(0) = -inf.
		for i := range acc {
			acc[i] = math.Inf(-1)
		}
	}
	for i, v := range acc {
		out[i] = T(v)
	}
}

// redFloatPass accumulates x into acc with the core operation of kind
// (sum, sum of |x|, sum of squares, product, max or min).
func redFloatPass[T float32 | float64](ctx *Ctx, kind redKind, x []T, acc []float64, dims []int, red []bool) {
	last := len(dims) - 1
	inner := dims[last]
	threads := redThreads(ctx)
	if red[last] {
		// Each output reduces whole rows. With a single kept dimension
		// above, rows map one to one to outputs and are shared among
		// threads.
		if len(dims) == 2 && !red[0] {
			j := takeJob[redFloatJob[T], T](&redFloatJobs)
			*j = redFloatJob[T]{kind: kind, x: x, acc: acc, dims: dims, red: red}
			parallel.Do(dims[0], 1+32768/(inner+1), threads, j)
			dropJob[T](&redFloatJobs, j)
			return
		}
		redRows(dims, red, func(in, o int) { acc[o] = redFloatRow(kind, x[in:in+inner], acc[o]) })
		return
	}
	// Rows accumulate element-wise into the outputs; threads take ranges
	// of columns.
	rows := len(x) / inner
	j := takeJob[redFloatJob[T], T](&redFloatJobs)
	*j = redFloatJob[T]{kind: kind, x: x, acc: acc, dims: dims, red: red, cols: true}
	parallel.Do(inner, 1+32768/(rows+1), threads, j)
	dropJob[T](&redFloatJobs, j)
}

// redFloatJob is redFloatPass's parallel loop: over the rows of a
// [kept, reduced] input, or with cols over ranges of the kept innermost
// columns.
type redFloatJob[T float32 | float64] struct {
	kind redKind
	x    []T
	acc  []float64
	dims []int
	red  []bool
	cols bool
}

var redFloatJobs kindJobPool

// redScratch recycles the float64 accumulators of the reductions.
var redScratch bufPool[float64]

func (j *redFloatJob[T]) Range(lo, hi int) {
	kind, x, acc := j.kind, j.x, j.acc
	inner := j.dims[len(j.dims)-1]
	if !j.cols {
		for r := lo; r < hi; r++ {
			acc[r] = redFloatRow(kind, x[r*inner:(r+1)*inner], acc[r])
		}
		return
	}
	redRows(j.dims, j.red, func(in, o int) {
		redFloatVec(kind, x[in+lo:in+hi], acc[o+lo:o+hi])
	})
}

// redFloatRow folds row into the accumulator a. Sums use four partial
// accumulators to shorten the dependency chain.
func redFloatRow[T float32 | float64](kind redKind, row []T, a float64) float64 {
	switch kind {
	case redSum, redMean, redLogSum, redL1, redL2, redSumSquare:
		var s0, s1, s2, s3 float64
		i := 0
		switch kind {
		case redL1:
			for ; i+4 <= len(row); i += 4 {
				s0 += math.Abs(float64(row[i]))
				s1 += math.Abs(float64(row[i+1]))
				s2 += math.Abs(float64(row[i+2]))
				s3 += math.Abs(float64(row[i+3]))
			}
			for ; i < len(row); i++ {
				s0 += math.Abs(float64(row[i]))
			}
		case redL2, redSumSquare:
			for ; i+4 <= len(row); i += 4 {
				v0, v1, v2, v3 := float64(row[i]), float64(row[i+1]), float64(row[i+2]), float64(row[i+3])
				s0 += v0 * v0
				s1 += v1 * v1
				s2 += v2 * v2
				s3 += v3 * v3
			}
			for ; i < len(row); i++ {
				v := float64(row[i])
				s0 += v * v
			}
		default:
			for ; i+4 <= len(row); i += 4 {
				s0 += float64(row[i])
				s1 += float64(row[i+1])
				s2 += float64(row[i+2])
				s3 += float64(row[i+3])
			}
			for ; i < len(row); i++ {
				s0 += float64(row[i])
			}
		}
		return a + ((s0 + s1) + (s2 + s3))
	case redProd:
		for _, v := range row {
			a *= float64(v)
		}
	case redMax:
		for _, v := range row {
			if f := float64(v); f > a || f != f {
				a = f
				if f != f {
					break
				}
			}
		}
	case redMin:
		for _, v := range row {
			if f := float64(v); f < a || f != f {
				a = f
				if f != f {
					break
				}
			}
		}
	}
	return a
}

// redFloatVec folds row element-wise into a.
func redFloatVec[T float32 | float64](kind redKind, row []T, a []float64) {
	a = a[:len(row)]
	switch kind {
	case redSum, redMean, redLogSum:
		for i, v := range row {
			a[i] += float64(v)
		}
	case redL1:
		for i, v := range row {
			a[i] += math.Abs(float64(v))
		}
	case redL2, redSumSquare:
		for i, v := range row {
			f := float64(v)
			a[i] += f * f
		}
	case redProd:
		for i, v := range row {
			a[i] *= float64(v)
		}
	case redMax:
		for i, v := range row {
			if f := float64(v); (f > a[i] || f != f) && a[i] == a[i] {
				a[i] = f
			}
		}
	case redMin:
		for i, v := range row {
			if f := float64(v); (f < a[i] || f != f) && a[i] == a[i] {
				a[i] = f
			}
		}
	}
}

// redThreads returns the goroutine budget of a kernel call (1 without a
// Ctx).
func redThreads(c *Ctx) int {
	if c == nil || c.Threads < 1 {
		return 1
	}
	return c.Threads
}

// redInteger is the set of integer element types the reductions accept.
type redInteger interface {
	int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64
}

// redLimits returns the lowest and highest values of T.
func redLimits[T redInteger]() (lo, hi T) {
	var z T
	if ^z < 0 {
		// Signed: the highest value has every bit but the sign bit set.
		bits := unsafe.Sizeof(z) * 8
		u := uint64(1)<<(bits-1) - 1
		hi = T(u)
		return -hi - 1, hi
	}
	return 0, ^z
}

// redInt reduces an integer tensor, accumulating in A (int64 for signed
// types, uint64 for unsigned ones; sums and products wrap around as
// integer arithmetic does). Mean divides with truncation; L2, LogSum and
// LogSumExp go through float64 and truncate toward zero.
func redInt[T redInteger, A int64 | uint64](kind redKind, x, out []T, dims []int, red []bool, count int) {
	lo, hi := redLimits[T]()
	if kind == redLogSumExp {
		f := make([]float64, len(x))
		for i, v := range x {
			f[i] = float64(v)
		}
		res := make([]float64, len(out))
		redFloat(nil, kind, f, res, dims, red, count)
		for i, v := range res {
			out[i] = redTruncate[T](v, lo, hi)
		}
		return
	}
	acc := make([]A, len(out))
	var init A
	switch kind {
	case redProd:
		init = 1
	case redMax:
		init = A(lo)
	case redMin:
		init = A(hi)
	}
	for i := range acc {
		acc[i] = init
	}
	if len(x) > 0 {
		last := len(dims) - 1
		inner := dims[last]
		vec := !red[last]
		redRows(dims, red, func(in, o int) {
			row := x[in : in+inner]
			for i, v := range row {
				j := o
				if vec {
					j += i
				}
				a, w := acc[j], A(v)
				switch kind {
				case redSum, redMean, redLogSum:
					a += w
				case redL1:
					if v < 0 {
						w = -w
					}
					a += w
				case redL2, redSumSquare:
					a += w * w
				case redProd:
					a *= w
				case redMax:
					if w > a {
						a = w
					}
				case redMin:
					if w < a {
						a = w
					}
				}
				acc[j] = a
			}
		})
	}
	for i, a := range acc {
		switch kind {
		case redMean:
			if count > 0 {
				a /= A(count)
			}
			out[i] = T(a)
		case redL2:
			out[i] = redTruncate[T](math.Sqrt(float64(a)), lo, hi)
		case redLogSum:
			out[i] = redTruncate[T](math.Log(float64(a)), lo, hi)
		default:
			out[i] = T(a)
		}
	}
}

// redTruncate converts v to T truncating toward zero, saturating out of
// range values (NaN gives 0).
func redTruncate[T redInteger](v float64, lo, hi T) T {
	switch {
	case v != v:
		return 0
	case v <= float64(lo):
		return lo
	case v >= float64(hi):
		return hi
	}
	return T(v)
}

// redBool reduces a bool tensor: max is "any", min is "all".
func redBool(isMax bool, x, out []bool, dims []int, red []bool) {
	for i := range out {
		out[i] = !isMax
	}
	if len(x) == 0 {
		return
	}
	last := len(dims) - 1
	inner := dims[last]
	vec := !red[last]
	redRows(dims, red, func(in, o int) {
		for i, v := range x[in : in+inner] {
			j := o
			if vec {
				j += i
			}
			if isMax {
				out[j] = out[j] || v
			} else {
				out[j] = out[j] && v
			}
		}
	})
}
