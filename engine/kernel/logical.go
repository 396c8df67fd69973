package kernel

import (
	"math"
	"sync"

	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

// Comparisons (Equal, Less, LessOrEqual, Greater, GreaterOrEqual), boolean
// logic (And, Or, Xor, Not) and the float classifiers IsNaN and IsInf. All
// produce bool tensors; the binary ones broadcast their inputs.

func init() {
	Register(Op{Type: "Equal", Build: buildCompare(cmpEq)})
	Register(Op{Type: "Less", Build: buildCompare(cmpLt)})
	Register(Op{Type: "LessOrEqual", MinOpset: 12, Build: buildCompare(cmpLe)})
	Register(Op{Type: "Greater", Build: buildCompare(cmpGt)})
	Register(Op{Type: "GreaterOrEqual", MinOpset: 12, Build: buildCompare(cmpGe)})
	Register(Op{Type: "And", Build: buildLogic(logicAnd)})
	Register(Op{Type: "Or", Build: buildLogic(logicOr)})
	Register(Op{Type: "Xor", Build: buildLogic(logicXor)})
	Register(Op{Type: "Not", Build: buildNot})
	Register(Op{Type: "IsNaN", MinOpset: 9, Build: buildIsNaN})
	Register(Op{Type: "IsInf", MinOpset: 10, Build: buildIsInf})
}

// cmpOp selects a comparison.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

// buildCompare prepares a comparison. Equal accepts every element type
// (bool and string included); the ordering comparisons accept numbers.
// float16 and bfloat16 compare exactly through float32.
func buildCompare(op cmpOp) Builder {
	return func(n *Node) (Kernel, error) {
		lb, err := readLegacyBroadcast(n)
		if err != nil {
			return nil, err
		}
		var cache bcCache
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 2); err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			if err := sameTypes(n, a, b); err != nil {
				return nil, err
			}
			bc, err := lb.cached(&cache, a.Shape, b.Shape)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			if isHalf(a.DType) {
				w, err := widenHalves(a, b)
				if err != nil {
					return nil, n.Errorf("%w", err)
				}
				a, b = w[0], w[1]
			}
			var out *tensor.Tensor
			switch x := a.Data.(type) {
			case []float32:
				out = compareT(ctx, bc, op, x, b.Data.([]float32))
			case []float64:
				out = compareT(ctx, bc, op, x, b.Data.([]float64))
			case []int8:
				out = compareT(ctx, bc, op, x, b.Data.([]int8))
			case []uint8:
				out = compareT(ctx, bc, op, x, b.Data.([]uint8))
			case []int16:
				out = compareT(ctx, bc, op, x, b.Data.([]int16))
			case []uint16:
				out = compareT(ctx, bc, op, x, b.Data.([]uint16))
			case []int32:
				out = compareT(ctx, bc, op, x, b.Data.([]int32))
			case []uint32:
				out = compareT(ctx, bc, op, x, b.Data.([]uint32))
			case []int64:
				out = compareT(ctx, bc, op, x, b.Data.([]int64))
			case []uint64:
				out = compareT(ctx, bc, op, x, b.Data.([]uint64))
			case []string:
				out = compareT(ctx, bc, op, x, b.Data.([]string))
			case []bool:
				if op == cmpEq {
					out = equalBool(ctx, bc, x, b.Data.([]bool))
				}
			}
			if out == nil {
				return nil, unsupportedType(n, a.DType)
			}
			return ctx.Out(out), nil
		}), nil
	}
}

// ordered is the set of element types with an order.
type ordered interface{ numElem | string }

func compareT[T ordered](ctx *Ctx, bc *broadcast, op cmpOp, a, b []T) *tensor.Tensor {
	out := ctx.NewUninit(tensor.Bool, bc.Out...) // every position is written
	j := takeJob[compareJob[T], T](&compareJobs)
	*j = compareJob[T]{bc: bc, op: op, o: out.Data.([]bool), a: a, b: b, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainCheap, ctx.Threads, j)
	dropJob[T](&compareJobs, j)
	return out
}

// compareJob compares a with b over a broadcast.
type compareJob[T ordered] struct {
	bc     *broadcast
	op     cmpOp
	o      []bool
	a, b   []T
	sa, sb int
}

var compareJobs kindJobPool

func (j *compareJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *compareJob[T]) run(i, k int, off runOffs) {
	x, y, r, sa, sb := j.a[off[0]:], j.b[off[1]:], j.o[i:i+k], j.sa, j.sb
	switch j.op {
	case cmpEq:
		for jj := range r {
			r[jj] = x[jj*sa] == y[jj*sb]
		}
	case cmpLt:
		for jj := range r {
			r[jj] = x[jj*sa] < y[jj*sb]
		}
	case cmpLe:
		for jj := range r {
			r[jj] = x[jj*sa] <= y[jj*sb]
		}
	case cmpGt:
		for jj := range r {
			r[jj] = x[jj*sa] > y[jj*sb]
		}
	case cmpGe:
		for jj := range r {
			r[jj] = x[jj*sa] >= y[jj*sb]
		}
	}
}

func equalBool(ctx *Ctx, bc *broadcast, a, b []bool) *tensor.Tensor {
	return logicT(ctx, bc, logicEq, a, b)
}

// logicOp selects a boolean operation.
type logicOp uint8

const (
	logicAnd logicOp = iota
	logicOr
	logicXor
	logicEq
)

// buildLogic prepares And, Or and Xor on bool tensors.
func buildLogic(op logicOp) Builder {
	return func(n *Node) (Kernel, error) {
		lb, err := readLegacyBroadcast(n)
		if err != nil {
			return nil, err
		}
		var cache bcCache
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 2); err != nil {
				return nil, err
			}
			a, aok := in[0].Data.([]bool)
			b, bok := in[1].Data.([]bool)
			if !aok || !bok {
				return nil, n.Errorf("inputs are %v and %v, want bool", in[0].DType, in[1].DType)
			}
			bc, err := lb.cached(&cache, in[0].Shape, in[1].Shape)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			return ctx.Out(logicT(ctx, bc, op, a, b)), nil
		}), nil
	}
}

func logicT(ctx *Ctx, bc *broadcast, op logicOp, a, b []bool) *tensor.Tensor {
	out := ctx.NewUninit(tensor.Bool, bc.Out...) // every position is written
	j, _ := logicJobs.Get().(*logicJob)
	if j == nil {
		j = new(logicJob)
	}
	*j = logicJob{bc: bc, op: op, o: out.Data.([]bool), a: a, b: b, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainCheap, ctx.Threads, j)
	*j = logicJob{}
	logicJobs.Put(j)
	return out
}

// logicJob computes a boolean operation over a broadcast.
type logicJob struct {
	bc      *broadcast
	op      logicOp
	o, a, b []bool
	sa, sb  int
}

var logicJobs sync.Pool

func (j *logicJob) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *logicJob) run(i, k int, off runOffs) {
	x, y, r, sa, sb := j.a[off[0]:], j.b[off[1]:], j.o[i:i+k], j.sa, j.sb
	switch j.op {
	case logicAnd:
		for jj := range r {
			r[jj] = x[jj*sa] && y[jj*sb]
		}
	case logicOr:
		for jj := range r {
			r[jj] = x[jj*sa] || y[jj*sb]
		}
	case logicXor:
		for jj := range r {
			r[jj] = x[jj*sa] != y[jj*sb]
		}
	case logicEq:
		for jj := range r {
			r[jj] = x[jj*sa] == y[jj*sb]
		}
	}
}

// buildNot prepares Not on a bool tensor.
func buildNot(n *Node) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x, ok := in[0].Data.([]bool)
		if !ok {
			return nil, n.Errorf("input is %v, want bool", in[0].DType)
		}
		out := ctx.NewUninit(tensor.Bool, in[0].Shape...) // every position is written
		o := out.Data.([]bool)
		for i, v := range x {
			o[i] = !v
		}
		return ctx.Out(out), nil
	}), nil
}

// buildIsNaN prepares IsNaN on float tensors.
func buildIsNaN(n *Node) (Kernel, error) {
	return buildClassify(n, classNaN), nil
}

// buildIsInf prepares IsInf; detect_negative and detect_positive select
// which infinities count (both by default).
func buildIsInf(n *Node) (Kernel, error) {
	neg, err := n.Int("detect_negative", 1)
	if err != nil {
		return nil, err
	}
	pos, err := n.Int("detect_positive", 1)
	if err != nil {
		return nil, err
	}
	var c floatClass
	if pos != 0 {
		c |= classPosInf
	}
	if neg != 0 {
		c |= classNegInf
	}
	return buildClassify(n, c), nil
}

// floatClass is a set of special float values to detect.
type floatClass uint8

const (
	classNaN floatClass = 1 << iota
	classPosInf
	classNegInf
)

// buildClassify returns a kernel telling, per float element, whether it
// belongs to the class c.
func buildClassify(n *Node, c floatClass) Kernel {
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		if isHalf(x.DType) {
			w, err := widenHalves(x)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			x = w[0]
		}
		out := ctx.New(tensor.Bool, x.Shape...)
		o := out.Data.([]bool)
		switch d := x.Data.(type) {
		case []float32:
			classifyT(c, o, d)
		case []float64:
			classifyT(c, o, d)
		default:
			return nil, unsupportedType(n, x.DType)
		}
		return ctx.Out(out), nil
	})
}

func classifyT[T floatElem](c floatClass, o []bool, x []T) {
	o = o[:len(x)]
	inf := T(math.Inf(1))
	switch c {
	case classNaN:
		for i, v := range x {
			o[i] = v != v
		}
	case classPosInf:
		for i, v := range x {
			o[i] = v == inf
		}
	case classNegInf:
		for i, v := range x {
			o[i] = v == -inf
		}
	case classPosInf | classNegInf:
		for i, v := range x {
			o[i] = v == inf || v == -inf
		}
	}
}
