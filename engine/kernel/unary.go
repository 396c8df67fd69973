package kernel

import (
	"math"
	"sync"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

// Unary elementwise math: Abs, Neg, Sqrt, Exp, Log, Reciprocal, Floor, Ceil,
// Round, Sign, the trigonometric and hyperbolic functions, Erf and Clip.
// The activations (activation.go) share the dispatch defined here: one
// type switch per call, then a loop over flat slices chosen by a switch on
// the operation outside the loop. float32 and float64 share generic loops;
// float16 and bfloat16 are widened to float32 and rounded back.
//
// Functions Go only offers for float64 (Exp, Log, Tanh, Erf, ...) are
// evaluated in float64 and rounded to float32; operations that are exact in
// float32 (Neg, Abs, Floor, Sqrt, comparisons, one multiply) stay in the
// element type.

func init() {
	for _, u := range []struct {
		name string
		op   unaryOp
		min  int64
	}{
		{"Abs", uAbs, 1}, {"Neg", uNeg, 1}, {"Sqrt", uSqrt, 1}, {"Exp", uExp, 1},
		{"Log", uLog, 1}, {"Reciprocal", uRecip, 1}, {"Floor", uFloor, 1},
		{"Ceil", uCeil, 1}, {"Round", uRound, 11}, {"Sign", uSign, 9},
		{"Sin", uSin, 7}, {"Cos", uCos, 7}, {"Tan", uTan, 7}, {"Asin", uAsin, 7},
		{"Acos", uAcos, 7}, {"Atan", uAtan, 7}, {"Sinh", uSinh, 9},
		{"Cosh", uCosh, 9}, {"Asinh", uAsinh, 9}, {"Acosh", uAcosh, 9},
		{"Atanh", uAtanh, 9}, {"Erf", uErf, 9},
	} {
		Register(Op{Type: u.name, MinOpset: u.min, Build: buildUnary(u.op, nil)})
	}
	Register(Op{Type: "Clip", Build: buildClip})
}

// unaryOp selects the function of a unary kernel.
type unaryOp uint8

const (
	uAbs unaryOp = iota
	uNeg
	uSqrt
	uExp
	uLog
	uRecip
	uFloor
	uCeil
	uRound
	uSign
	uSin
	uCos
	uTan
	uAsin
	uAcos
	uAtan
	uSinh
	uCosh
	uAsinh
	uAcosh
	uAtanh
	uErf
	// Activations (activation.go) from here on.
	uRelu
	uLeakyRelu
	uElu
	uSelu
	uCelu
	uThresholdedRelu
	uSigmoid
	uHardSigmoid
	uHardSwish
	uSoftplus
	uSoftsign
	uTanh
	uGelu
	uGeluTanh
	uMish
	uShrink
)

// unaryParams is a prepared unary operation with its attributes.
type unaryParams struct {
	op                 unaryOp
	alpha, beta, gamma float64
}

// heavy reports whether op costs about a transcendental call per element
// (which lowers the element count worth a goroutine).
func (p *unaryParams) heavy() bool {
	switch p.op {
	case uAbs, uNeg, uFloor, uCeil, uRound, uSign, uRecip, uSqrt, uRelu,
		uLeakyRelu, uThresholdedRelu, uHardSigmoid, uHardSwish, uSoftsign, uShrink:
		return false
	}
	return true
}

// intKind tells which integer types an operation accepts: none, signed
// only, or all.
func (p *unaryParams) intKind() int {
	switch p.op {
	case uAbs, uSign, uShrink:
		return 2
	case uNeg, uRelu:
		return 1
	}
	return 0
}

// buildUnary returns the builder of a unary operation; attrs, when not nil,
// reads the operation's attributes into p.
func buildUnary(op unaryOp, attrs func(n *Node, p *unaryParams) error) Builder {
	return func(n *Node) (Kernel, error) {
		if n.Opset < 6 {
			n.Ignore("consumed_inputs")
		}
		p := &unaryParams{op: op}
		if attrs != nil {
			if err := attrs(n, p); err != nil {
				return nil, err
			}
		}
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 1); err != nil {
				return nil, err
			}
			out, err := runUnary(ctx, n, p, in[0])
			if err != nil {
				return nil, err
			}
			return ctx.Out(out), nil
		}), nil
	}
}

// runUnary applies p to every element of x.
func runUnary(ctx *Ctx, n *Node, p *unaryParams, x *tensor.Tensor) (*tensor.Tensor, error) {
	grain := grainCheap
	if p.heavy() {
		grain = grainHeavy
	}
	switch d := x.Data.(type) {
	case []float32:
		return unaryFloatT(ctx, p, grain, x, d), nil
	case []float64:
		return unaryFloatT(ctx, p, grain, x, d), nil
	case []tensor.F16, []tensor.BF16:
		w, err := widenHalves(x)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r := unaryFloatT(ctx, p, grain, w[0], w[0].Data.([]float32))
		return convertOut(n, r, x.DType)
	}
	kind := p.intKind()
	if kind == 0 || x.DType == tensor.Int4 || x.DType == tensor.Uint4 {
		return nil, unsupportedType(n, x.DType)
	}
	switch d := x.Data.(type) {
	case []int8:
		return unaryIntT(ctx, p, x, d), nil
	case []int16:
		return unaryIntT(ctx, p, x, d), nil
	case []int32:
		return unaryIntT(ctx, p, x, d), nil
	case []int64:
		return unaryIntT(ctx, p, x, d), nil
	}
	if kind == 2 {
		switch d := x.Data.(type) {
		case []uint8:
			return unaryIntT(ctx, p, x, d), nil
		case []uint16:
			return unaryIntT(ctx, p, x, d), nil
		case []uint32:
			return unaryIntT(ctx, p, x, d), nil
		case []uint64:
			return unaryIntT(ctx, p, x, d), nil
		}
	}
	return nil, unsupportedType(n, x.DType)
}

func unaryFloatT[T floatElem](ctx *Ctx, p *unaryParams, grain int, x *tensor.Tensor, d []T) *tensor.Tensor {
	out := ctx.NewUninit(x.DType, x.Shape...) // every value is written
	j := takeJob[unaryJob[T], T](&unaryJobs)
	*j = unaryJob[T]{p: p, o: out.Data.([]T), x: d}
	parallel.Do(len(d), grain, ctx.Threads, j)
	dropJob[T](&unaryJobs, j)
	return out
}

// unaryJob applies a unary operation to a flat slice (a parallel.Do job).
type unaryJob[T floatElem] struct {
	p    *unaryParams
	o, x []T
}

var unaryJobs kindJobPool

func (j *unaryJob[T]) Range(lo, hi int) {
	if j.p.op >= uRelu {
		activationLoop(j.p, j.o[lo:hi], j.x[lo:hi])
	} else {
		mathLoop(j.p.op, j.o[lo:hi], j.x[lo:hi])
	}
}

// mathLoop computes o[i] = op(x[i]) for the math functions.
func mathLoop[T floatElem](op unaryOp, o, x []T) {
	o = o[:len(x)]
	switch op {
	case uAbs:
		for i, v := range x {
			o[i] = T(math.Abs(float64(v)))
		}
	case uNeg:
		for i, v := range x {
			o[i] = -v
		}
	case uSqrt:
		// The float64 square root rounded to float32 is the correctly
		// rounded float32 square root.
		for i, v := range x {
			o[i] = T(math.Sqrt(float64(v)))
		}
	case uExp:
		if of, ok := any(o).([]float32); ok {
			// Vector exponentials, within 2 ulp (gemm.ExpSubF32).
			zero := [1]float32{}
			gemm.ExpSubF32(of, any(x).([]float32), zero[:], 0)
			return
		}
		for i, v := range x {
			o[i] = T(math.Exp(float64(v)))
		}
	case uLog:
		for i, v := range x {
			o[i] = T(math.Log(float64(v)))
		}
	case uRecip:
		for i, v := range x {
			o[i] = 1 / v
		}
	case uFloor:
		for i, v := range x {
			o[i] = T(math.Floor(float64(v)))
		}
	case uCeil:
		for i, v := range x {
			o[i] = T(math.Ceil(float64(v)))
		}
	case uRound:
		for i, v := range x {
			o[i] = T(math.RoundToEven(float64(v)))
		}
	case uSign:
		for i, v := range x {
			switch {
			case v > 0:
				o[i] = 1
			case v < 0:
				o[i] = -1
			default:
				o[i] = v // zero or NaN
			}
		}
	default:
		mathLoopSlow(op, o, x)
	}
}

// mathLoopSlow covers the trigonometric, hyperbolic and error functions.
func mathLoopSlow[T floatElem](op unaryOp, o, x []T) {
	o = o[:len(x)]
	switch op {
	case uSin:
		for i, v := range x {
			o[i] = T(math.Sin(float64(v)))
		}
	case uCos:
		for i, v := range x {
			o[i] = T(math.Cos(float64(v)))
		}
	case uTan:
		for i, v := range x {
			o[i] = T(math.Tan(float64(v)))
		}
	case uAsin:
		for i, v := range x {
			o[i] = T(math.Asin(float64(v)))
		}
	case uAcos:
		for i, v := range x {
			o[i] = T(math.Acos(float64(v)))
		}
	case uAtan:
		for i, v := range x {
			o[i] = T(math.Atan(float64(v)))
		}
	case uSinh:
		for i, v := range x {
			o[i] = T(math.Sinh(float64(v)))
		}
	case uCosh:
		for i, v := range x {
			o[i] = T(math.Cosh(float64(v)))
		}
	case uAsinh:
		for i, v := range x {
			o[i] = T(math.Asinh(float64(v)))
		}
	case uAcosh:
		for i, v := range x {
			o[i] = T(math.Acosh(float64(v)))
		}
	case uAtanh:
		for i, v := range x {
			o[i] = T(math.Atanh(float64(v)))
		}
	case uErf:
		for i, v := range x {
			o[i] = T(math.Erf(float64(v)))
		}
	}
}

// unaryIntT applies the integer-capable operations (Abs, Neg, Sign, Relu,
// Shrink). Neg wraps at the type's minimum, as two's complement does.
func unaryIntT[T intElem](ctx *Ctx, p *unaryParams, x *tensor.Tensor, d []T) *tensor.Tensor {
	out := ctx.New(x.DType, x.Shape...)
	o := out.Data.([]T)
	var one T = 1
	switch p.op {
	case uAbs:
		for i, v := range d {
			if v < 0 {
				v = -v
			}
			o[i] = v
		}
	case uNeg:
		for i, v := range d {
			o[i] = -v
		}
	case uSign:
		for i, v := range d {
			switch {
			case v > 0:
				o[i] = one
			case v < 0:
				o[i] = -one
			}
		}
	case uRelu:
		for i, v := range d {
			o[i] = max(v, 0)
		}
	case uShrink:
		for i, v := range d {
			f := float64(v)
			switch {
			case f < -p.alpha:
				o[i] = truncInt[T](f + p.beta)
			case f > p.alpha:
				o[i] = truncInt[T](f - p.beta)
			}
		}
	}
	return out
}

// buildClip prepares Clip. Before opset 11 the bounds are the attributes
// min and max (from opset 6 they default to the float32 range); from opset
// 11 they are optional scalar inputs of the input's type, and from opset 12
// every numeric type is accepted. Where min > max every element becomes
// max. NaN passes through.
func buildClip(n *Node) (Kernel, error) {
	var attrLo, attrHi float64
	var hasLo, hasHi bool
	if n.Opset < 11 {
		if n.Opset < 6 {
			n.Ignore("consumed_inputs")
		} else {
			attrLo, attrHi, hasLo, hasHi = -math.MaxFloat32, math.MaxFloat32, true, true
		}
		if n.Has("min") {
			f, err := n.Float("min", 0)
			if err != nil {
				return nil, err
			}
			attrLo, hasLo = float64(f), true
		}
		if n.Has("max") {
			f, err := n.Float("max", 0)
			if err != nil {
				return nil, err
			}
			attrHi, hasHi = float64(f), true
		}
	}
	// The attribute bounds converted to each float type, made once.
	var attrBounds [4][2]*tensor.Tensor
	if n.Opset < 11 {
		for i, dt := range clipFloatTypes {
			var lo, hi *tensor.Tensor
			if hasLo {
				lo = tensor.Scalar(attrLo)
			}
			if hasHi {
				hi = tensor.Scalar(attrHi)
			}
			var err error
			if lo, hi, err = convertBounds(n, dt, lo, hi); err != nil {
				return nil, err
			}
			attrBounds[i] = [2]*tensor.Tensor{lo, hi}
		}
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		var lo, hi *tensor.Tensor
		if n.Opset < 11 {
			i := -1
			for k, dt := range clipFloatTypes {
				if x.DType == dt {
					i = k
				}
			}
			if i < 0 {
				return nil, unsupportedType(n, x.DType)
			}
			lo, hi = attrBounds[i][0], attrBounds[i][1]
		} else {
			var err error
			if lo, err = clipBound(n, in, 1, x.DType); err != nil {
				return nil, err
			}
			if hi, err = clipBound(n, in, 2, x.DType); err != nil {
				return nil, err
			}
		}
		out, err := clip(ctx, n, x, lo, hi)
		if err != nil {
			return nil, err
		}
		return ctx.Out(out), nil
	}), nil
}

// clipFloatTypes are the types Clip accepts before opset 11.
var clipFloatTypes = [4]tensor.DataType{tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16}

// clipBound returns Clip's bound input i (nil when absent), checked to be
// a scalar of type dt.
func clipBound(n *Node, in []*tensor.Tensor, i int, dt tensor.DataType) (*tensor.Tensor, error) {
	if len(in) <= i || in[i] == nil {
		return nil, nil
	}
	t := in[i]
	if err := t.Check(); err != nil {
		return nil, n.Errorf("input %d: %w", i, err)
	}
	if t.Len() != 1 {
		return nil, n.Errorf("bound %d has shape %v, want a scalar", i, t.Shape)
	}
	if t.DType != dt {
		return nil, n.Errorf("bound %d is %v but the input is %v", i, t.DType, dt)
	}
	return t, nil
}

// convertBounds converts the float64 attribute bounds to the input's type.
func convertBounds(n *Node, dt tensor.DataType, lo, hi *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor, error) {
	var err error
	if lo != nil {
		if lo, err = tensor.Convert(lo, dt); err != nil {
			return nil, nil, n.Errorf("%w", err)
		}
	}
	if hi != nil {
		if hi, err = tensor.Convert(hi, dt); err != nil {
			return nil, nil, n.Errorf("%w", err)
		}
	}
	return lo, hi, nil
}

func clip(ctx *Ctx, n *Node, x, lo, hi *tensor.Tensor) (*tensor.Tensor, error) {
	if isHalf(x.DType) {
		w, err := widenHalves(x, lo, hi)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := clip(ctx, n, w[0], w[1], w[2])
		if err != nil {
			return nil, err
		}
		return convertOut(n, r, x.DType)
	}
	if x.DType == tensor.Int4 || x.DType == tensor.Uint4 {
		return nil, unsupportedType(n, x.DType)
	}
	switch d := x.Data.(type) {
	case []float32:
		return clipT(ctx, x, d, lo, hi), nil
	case []float64:
		return clipT(ctx, x, d, lo, hi), nil
	case []int8:
		return clipT(ctx, x, d, lo, hi), nil
	case []uint8:
		return clipT(ctx, x, d, lo, hi), nil
	case []int16:
		return clipT(ctx, x, d, lo, hi), nil
	case []uint16:
		return clipT(ctx, x, d, lo, hi), nil
	case []int32:
		return clipT(ctx, x, d, lo, hi), nil
	case []uint32:
		return clipT(ctx, x, d, lo, hi), nil
	case []int64:
		return clipT(ctx, x, d, lo, hi), nil
	case []uint64:
		return clipT(ctx, x, d, lo, hi), nil
	}
	return nil, unsupportedType(n, x.DType)
}

// clipT clamps d to [lo, hi]; a nil bound is absent. The lower bound is
// applied first, so min > max yields max everywhere.
func clipT[T numElem](ctx *Ctx, x *tensor.Tensor, d []T, lo, hi *tensor.Tensor) *tensor.Tensor {
	out := ctx.NewUninit(x.DType, x.Shape...) // every position is written
	o := out.Data.([]T)
	var l, h T
	hasLo, hasHi := lo != nil, hi != nil
	if hasLo {
		l = lo.Data.([]T)[0]
	}
	if hasHi {
		h = hi.Data.([]T)[0]
	}
	if of, ok := out.Data.([]float32); ok {
		// float32: the vector clamp, with the same comparisons.
		lf, hf := float32(math.Inf(-1)), float32(math.Inf(1))
		if hasLo {
			lf = lo.Data.([]float32)[0]
		}
		if hasHi {
			hf = hi.Data.([]float32)[0]
		}
		j, _ := clipF32Jobs.Get().(*clipF32Job)
		if j == nil {
			j = new(clipF32Job)
		}
		*j = clipF32Job{o: of, x: x.Data.([]float32), lo: lf, hi: hf}
		parallel.Do(len(d), grainCheap, ctx.Threads, j)
		*j = clipF32Job{}
		clipF32Jobs.Put(j)
		return out
	}
	j := takeJob[clipJob[T], T](&clipJobs)
	*j = clipJob[T]{o: o, x: d, lo: l, hi: h, hasLo: hasLo, hasHi: hasHi}
	parallel.Do(len(d), grainCheap, ctx.Threads, j)
	dropJob[T](&clipJobs, j)
	return out
}

// clipF32Job clamps float32 values with the vector clamp.
type clipF32Job struct {
	o, x   []float32
	lo, hi float32
}

var clipF32Jobs sync.Pool

func (j *clipF32Job) Range(a, b int) {
	copy(j.o[a:b], j.x[a:b])
	gemm.BiasClamp(j.o[a:b], false, 0, true, j.lo, j.hi)
}

// clipJob clamps values of the other numeric types.
type clipJob[T numElem] struct {
	o, x         []T
	lo, hi       T
	hasLo, hasHi bool
}

var clipJobs kindJobPool

func (j *clipJob[T]) Range(a, b int) {
	src, dst := j.x[a:b], j.o[a:b]
	dst = dst[:len(src)]
	l, h := j.lo, j.hi
	switch {
	case j.hasLo && j.hasHi:
		for i, v := range src {
			if v < l {
				v = l
			}
			if v > h {
				v = h
			}
			dst[i] = v
		}
	case j.hasLo:
		for i, v := range src {
			if v < l {
				v = l
			}
			dst[i] = v
		}
	case j.hasHi:
		for i, v := range src {
			if v > h {
				v = h
			}
			dst[i] = v
		}
	default:
		copy(dst, src)
	}
}
