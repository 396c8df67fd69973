package kernel

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

// Binary and variadic elementwise arithmetic: Add, Sub, Mul, Div, Pow, Mod,
// Max, Min, Sum, Mean, PRelu, BitShift, BitwiseAnd/Or/Xor/Not and Where.
// Every kernel broadcasts its inputs (broadcast.go) and dispatches once on
// the element type to a generic loop; float16 and bfloat16 are computed in
// float32 and rounded back once per element.

func init() {
	for _, o := range []struct {
		name string
		op   arithOp
	}{{"Add", opAdd}, {"Sub", opSub}, {"Mul", opMul}, {"Div", opDiv}} {
		Register(Op{Type: o.name, Build: buildArith(o.op)})
	}
	Register(Op{Type: "Max", Build: buildVariadic(opMax)})
	Register(Op{Type: "Min", Build: buildVariadic(opMin)})
	Register(Op{Type: "Sum", Build: buildVariadic(opAdd)})
	Register(Op{Type: "Mean", Build: buildVariadic(opMean)})
	Register(Op{Type: "Pow", Build: buildPow})
	Register(Op{Type: "Mod", MinOpset: 10, Build: buildMod})
	Register(Op{Type: "PRelu", Build: buildPRelu})
	Register(Op{Type: "BitShift", MinOpset: 11, Build: buildBitShift})
	Register(Op{Type: "BitwiseAnd", MinOpset: 18, Build: buildBitwise(bitAnd)})
	Register(Op{Type: "BitwiseOr", MinOpset: 18, Build: buildBitwise(bitOr)})
	Register(Op{Type: "BitwiseXor", MinOpset: 18, Build: buildBitwise(bitXor)})
	Register(Op{Type: "BitwiseNot", MinOpset: 18, Build: buildBitwiseNot})
	Register(Op{Type: "Where", MinOpset: 9, Build: buildWhere})
}

// Element type sets of the generic kernels. They list exact types (no ~):
// tensor.F16 and tensor.BF16 are uint16 underneath but are not integers.
type (
	signedElem   interface{ int8 | int16 | int32 | int64 }
	unsignedElem interface {
		uint8 | uint16 | uint32 | uint64
	}
	intElem   interface{ signedElem | unsignedElem }
	floatElem interface{ float32 | float64 }
	numElem   interface{ intElem | floatElem }
)

// elemKinds is the number of element types kindOf tells apart.
const elemKinds = 14

// kindOf numbers the element types of the generic kernels, for kindJobPool.
func kindOf[T any]() int {
	switch any((*T)(nil)).(type) {
	case *float32:
		return 0
	case *float64:
		return 1
	case *int8:
		return 2
	case *uint8:
		return 3
	case *int16:
		return 4
	case *uint16:
		return 5
	case *int32:
		return 6
	case *uint32:
		return 7
	case *int64:
		return 8
	case *uint64:
		return 9
	case *bool:
		return 10
	case *string:
		return 11
	case *tensor.F16:
		return 12
	case *tensor.BF16:
		return 13
	}
	panic(fmt.Sprintf("kernel: no job pool for %T", (*T)(nil)))
}

// kindJobPool recycles the parallel.Do jobs of one generic job type between
// runs, one sync.Pool per element type, so that each pool holds values of
// a single concrete type. Jobs are per call (kernels run from several
// goroutines at once), and taking one from a pool allocates nothing in
// steady state.
type kindJobPool struct{ p [elemKinds]sync.Pool }

// takeJob returns a job of type J (instantiated for element type T) from p.
func takeJob[J any, T any](p *kindJobPool) *J {
	if j, ok := p.p[kindOf[T]()].Get().(*J); ok {
		return j
	}
	return new(J)
}

// dropJob clears j (dropping its references to tensors) and puts it back.
func dropJob[T any, J any](p *kindJobPool, j *J) {
	var z J
	*j = z
	p.p[kindOf[T]()].Put(j)
}

// scratchPool recycles scratch slices of the generic kernels, one
// sync.Pool per element type; slices are kept by pointer so that putting
// one back allocates nothing.
type scratchPool struct{ p [elemKinds]sync.Pool }

// getScratch returns a slice of n values of type T (contents unspecified).
func getScratch[T any](p *scratchPool, n int) *[]T {
	b, _ := p.p[kindOf[T]()].Get().(*[]T)
	if b == nil {
		b = new([]T)
	}
	if cap(*b) < n {
		*b = make([]T, n)
	}
	*b = (*b)[:n]
	return b
}

// putScratch gives b back to p.
func putScratch[T any](p *scratchPool, b *[]T) { p.p[kindOf[T]()].Put(b) }

// isHalf reports whether dt is a 16-bit float type, which kernels compute in
// float32.
func isHalf(dt tensor.DataType) bool { return dt == tensor.Float16 || dt == tensor.BFloat16 }

// checkInputs returns an error when one of the first count inputs is missing
// or its data does not agree with its type and shape.
func checkInputs(n *Node, in []*tensor.Tensor, count int) error {
	if len(in) < count {
		return n.Errorf("%d inputs, want %d", len(in), count)
	}
	for i := 0; i < count; i++ {
		if in[i] == nil {
			return n.Errorf("input %d is missing", i)
		}
		if err := in[i].Check(); err != nil {
			return n.Errorf("input %d: %w", i, err)
		}
	}
	return nil
}

// widenHalves returns the tensors converted to float32 when they are float16
// or bfloat16 (others are returned as they are).
func widenHalves(ts ...*tensor.Tensor) ([]*tensor.Tensor, error) {
	out := make([]*tensor.Tensor, len(ts))
	for i, t := range ts {
		out[i] = t
		if t != nil && isHalf(t.DType) {
			w, err := tensor.Convert(t, tensor.Float32)
			if err != nil {
				return nil, err
			}
			out[i] = w
		}
	}
	return out, nil
}

// sameTypes returns an error unless all tensors have the same element type.
func sameTypes(n *Node, ts ...*tensor.Tensor) error {
	for i, t := range ts[1:] {
		if t.DType != ts[0].DType {
			return n.Errorf("input %d is %v but input 0 is %v", i+1, t.DType, ts[0].DType)
		}
	}
	return nil
}

// unsupportedType is the runtime error for an input element type the kernel
// does not implement.
func unsupportedType(n *Node, dt tensor.DataType) error {
	return n.Unsupported("element type %v", dt)
}

// isFloatT reports whether T is a floating-point type.
func isFloatT[T numElem]() bool {
	var x T = 1
	x /= 2
	return x != 0
}

// hasZero reports whether s holds a zero (an integer divisor that would
// make the division undefined).
func hasZero[T numElem](s []T) bool {
	for _, v := range s {
		if v == 0 {
			return true
		}
	}
	return false
}

// arithOp selects the operation of the binary arithmetic loops.
type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opDiv
	opMax
	opMin
	opMean   // Sum followed by a division by the input count
	opSquare // a*a with a read at operand 0's offsets (Pow by 2)
)

// buildArith prepares Add, Sub, Mul and Div (all numeric types; integer
// division truncates toward zero, and a zero integer divisor is an error).
func buildArith(op arithOp) Builder {
	return func(n *Node) (Kernel, error) {
		lb, err := readLegacyBroadcast(n)
		if err != nil {
			return nil, err
		}
		return &arithKernel{n: n, op: op, lb: lb}, nil
	}
}

// arithKernel is a prepared Add, Sub, Mul or Div node; act, when set, is
// a clamp fused into its float32 output (see FuseClamp).
type arithKernel struct {
	n   *Node
	op  arithOp
	lb  legacyBroadcast
	bc  bcCache
	act *Clamp
}

// FuseClamp implements ClampFuser: the clamp is applied as each float32
// result is written, in the same pass.
func (k *arithKernel) FuseClamp(c Clamp, act Kernel, actIn []*tensor.Tensor) Kernel {
	if k.act != nil || act == nil {
		return nil
	}
	fused := &arithKernel{n: k.n, op: k.op, lb: k.lb, act: &c}
	return &fusedClampKernel{fused: fused, plain: k, act: act, actIn: append([]*tensor.Tensor(nil), actIn...)}
}

func (k *arithKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := checkInputs(n, in, 2); err != nil {
		return nil, err
	}
	bc, err := k.lb.cached(&k.bc, in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	if k.act != nil && in[0].DType == tensor.Float32 && in[1].DType == tensor.Float32 {
		out := ctx.NewUninit(tensor.Float32, bc.Out...) // every position is written
		arithBCF32(ctx.Threads, bc, k.op, out.Data.([]float32), in[0].Data.([]float32), in[1].Data.([]float32), k.act)
		return ctx.Out(out), nil
	}
	out, err := arith(ctx, n, k.op, in[0], in[1], bc)
	if err != nil {
		return nil, err
	}
	return ctx.Out(out), nil
}

// arith computes op(a, b) over the broadcast bc of their shapes.
func arith(ctx *Ctx, n *Node, op arithOp, a, b *tensor.Tensor, bc *broadcast) (*tensor.Tensor, error) {
	if err := sameTypes(n, a, b); err != nil {
		return nil, err
	}
	if isHalf(a.DType) {
		w, err := widenHalves(a, b)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := arith(ctx, n, op, w[0], w[1], bc)
		if err != nil {
			return nil, err
		}
		return convertOut(n, r, a.DType)
	}
	switch x := a.Data.(type) {
	case []float32:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []float64:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	}
	if a.DType == tensor.Int4 || a.DType == tensor.Uint4 {
		return nil, unsupportedType(n, a.DType)
	}
	switch x := a.Data.(type) {
	case []int8:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []uint8:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []int16:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []uint16:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []int32:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []uint32:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []int64:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	case []uint64:
		return arithT(ctx, n, bc, op, a.DType, x, b)
	}
	return nil, unsupportedType(n, a.DType)
}

// convertOut rounds a float32 result back to the 16-bit type dt.
func convertOut(n *Node, r *tensor.Tensor, dt tensor.DataType) (*tensor.Tensor, error) {
	c, err := tensor.Convert(r, dt)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	return c, nil
}

func arithT[T numElem](ctx *Ctx, n *Node, bc *broadcast, op arithOp, dt tensor.DataType, a []T, bt *tensor.Tensor) (*tensor.Tensor, error) {
	b := bt.Data.([]T) // same DType, checked data: cannot fail
	if op == opDiv && !isFloatT[T]() && hasZero(b) {
		return nil, n.Errorf("integer division by zero")
	}
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	arithBC(ctx.Threads, bc, op, out.Data.([]T), a, b)
	return out, nil
}

// arithJob computes o = op(a, b) over a broadcast (a parallel.Do job).
type arithJob[T numElem] struct {
	bc      *broadcast
	op      arithOp
	o, a, b []T
	sa, sb  int
}

var arithJobs kindJobPool

func (j *arithJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *arithJob[T]) run(i, k int, off runOffs) {
	if j.op == opSquare {
		a := j.a[off[0]:]
		arithRun(opMul, j.o[i:i+k], a, j.sa, a, j.sa)
		return
	}
	arithRun(j.op, j.o[i:i+k], j.a[off[0]:], j.sa, j.b[off[1]:], j.sb)
}

// arithBC computes o = op(a, b) over the broadcast bc on up to threads
// goroutines.
func arithBC[T numElem](threads int, bc *broadcast, op arithOp, o, a, b []T) {
	if of, ok := any(o).([]float32); ok && op <= opDiv {
		arithBCF32(threads, bc, op, of, any(a).([]float32), any(b).([]float32), nil)
		return
	}
	j := takeJob[arithJob[T], T](&arithJobs)
	*j = arithJob[T]{bc: bc, op: op, o: o, a: a, b: b, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainCheap, threads, j)
	dropJob[T](&arithJobs, j)
}

// arithF32Job is arithJob for float32 Add, Sub, Mul and Div, through
// gemm.ArithF32's vector loops, with a clamp when act is set.
type arithF32Job struct {
	bc      *broadcast
	op      gemm.ArithOp
	o, a, b []float32
	sa, sb  int
	act     *Clamp
}

var arithF32Jobs jobPool[arithF32Job]

func (j *arithF32Job) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *arithF32Job) run(i, k int, off runOffs) {
	if c := j.act; c != nil {
		gemm.ArithF32(j.op, j.o[i:i+k], j.a[off[0]:], j.sa, j.b[off[1]:], j.sb, true, c.Lo, c.Hi)
		return
	}
	gemm.ArithF32(j.op, j.o[i:i+k], j.a[off[0]:], j.sa, j.b[off[1]:], j.sb, false, 0, 0)
}

// arithOpsF32 maps opAdd, opSub, opMul and opDiv to gemm's operations.
var arithOpsF32 = [...]gemm.ArithOp{opAdd: gemm.ArithAdd, opSub: gemm.ArithSub, opMul: gemm.ArithMul, opDiv: gemm.ArithDiv}

// arithBCF32 is arithBC for float32 Add, Sub, Mul and Div, with the clamp
// act (when not nil) applied to each result.
func arithBCF32(threads int, bc *broadcast, op arithOp, o, a, b []float32, act *Clamp) {
	j := arithF32Jobs.get()
	*j = arithF32Job{bc: bc, op: arithOpsF32[op], o: o, a: a, b: b, sa: bc.inner(0), sb: bc.inner(1), act: act}
	parallel.Do(bc.Size, grainCheap, threads, j)
	*j = arithF32Job{}
	arithF32Jobs.put(j)
}

// arith1 applies op to one pair of values.
func arith1[T numElem](op arithOp, a, b T) T {
	switch op {
	case opAdd, opMean:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		return a / b
	case opMax:
		return max(a, b)
	case opMin:
		return min(a, b)
	}
	return 0
}

// arithRun computes one run: o[i] = op(a[i*sa], b[i*sb]) with sa, sb in
// {0, 1}. Each combination has its own loop with the broadcast value held
// in a register. max and min propagate NaN, as ONNX's Max and Min do.
func arithRun[T numElem](op arithOp, o, a []T, sa int, b []T, sb int) {
	n := len(o)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case opAdd, opMean:
			for i := range o {
				o[i] = a[i] + b[i]
			}
		case opSub:
			for i := range o {
				o[i] = a[i] - b[i]
			}
		case opMul:
			for i := range o {
				o[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range o {
				o[i] = a[i] / b[i]
			}
		case opMax:
			for i := range o {
				o[i] = max(a[i], b[i])
			}
		case opMin:
			for i := range o {
				o[i] = min(a[i], b[i])
			}
		}
	case sa == 1:
		a = a[:n]
		s := b[0]
		switch op {
		case opAdd, opMean:
			for i := range o {
				o[i] = a[i] + s
			}
		case opSub:
			for i := range o {
				o[i] = a[i] - s
			}
		case opMul:
			for i := range o {
				o[i] = a[i] * s
			}
		case opDiv:
			for i := range o {
				o[i] = a[i] / s
			}
		case opMax:
			for i := range o {
				o[i] = max(a[i], s)
			}
		case opMin:
			for i := range o {
				o[i] = min(a[i], s)
			}
		}
	case sb == 1:
		b = b[:n]
		s := a[0]
		switch op {
		case opAdd, opMean:
			for i := range o {
				o[i] = s + b[i]
			}
		case opSub:
			for i := range o {
				o[i] = s - b[i]
			}
		case opMul:
			for i := range o {
				o[i] = s * b[i]
			}
		case opDiv:
			for i := range o {
				o[i] = s / b[i]
			}
		case opMax:
			for i := range o {
				o[i] = max(s, b[i])
			}
		case opMin:
			for i := range o {
				o[i] = min(s, b[i])
			}
		}
	default:
		v := arith1(op, a[0], b[0])
		for i := range o {
			o[i] = v
		}
	}
}

// buildVariadic prepares Sum, Mean, Max and Min over one or more
// broadcast inputs.
func buildVariadic(op arithOp) Builder {
	return func(n *Node) (Kernel, error) {
		if n.Opset < 6 {
			n.Ignore("consumed_inputs")
		}
		if n.NumInputs() < 1 {
			return nil, n.Errorf("needs at least one input")
		}
		return &variadicKernel{n: n, op: op}, nil
	}
}

// variadicKernel is a prepared Sum, Mean, Max or Min node.
type variadicKernel struct {
	n    *Node
	op   arithOp
	plan atomic.Pointer[variadicPlan] // of the last input shapes seen
}

// variadicPlan is the broadcasts of a variadic node for one set of input
// shapes: the first two inputs into the output, then each further input
// into the output.
type variadicPlan struct {
	shapes [][]int
	final  []int
	bcs    []*broadcast
}

// planFor returns the plan for the inputs' shapes, from the last one made
// when they match.
func (k *variadicKernel) planFor(in []*tensor.Tensor) (*variadicPlan, error) {
	if p := k.plan.Load(); p != nil && len(p.shapes) == len(in) {
		same := true
		for i, t := range in {
			if !equalShapes(p.shapes[i], t.Shape) {
				same = false
				break
			}
		}
		if same {
			return p, nil
		}
	}
	p := &variadicPlan{shapes: make([][]int, len(in))}
	for i, t := range in {
		p.shapes[i] = append([]int(nil), t.Shape...)
	}
	final, err := broadcastShape(p.shapes...)
	if err != nil {
		return nil, err
	}
	p.final = final
	if len(in) > 1 {
		p.bcs = append(p.bcs, newBroadcastTo(final, p.shapes[0], p.shapes[1]))
		for _, s := range p.shapes[2:] {
			p.bcs = append(p.bcs, newBroadcastTo(final, final, s))
		}
	}
	k.plan.Store(p)
	return p, nil
}

func (k *variadicKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := checkInputs(n, in, len(in)); err != nil {
		return nil, err
	}
	if len(in) == 0 {
		return nil, n.Errorf("no inputs")
	}
	out, err := k.variadic(ctx, in)
	if err != nil {
		return nil, err
	}
	return ctx.Out(out), nil
}

func (k *variadicKernel) variadic(ctx *Ctx, in []*tensor.Tensor) (*tensor.Tensor, error) {
	n, op := k.n, k.op
	if err := sameTypes(n, in...); err != nil {
		return nil, err
	}
	dt := in[0].DType
	if op == opMean && !dt.IsFloat() {
		return nil, unsupportedType(n, dt)
	}
	if len(in) == 1 {
		return in[0], nil
	}
	p, err := k.planFor(in)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	if isHalf(dt) {
		w, err := widenHalves(in...)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := k.variadic(ctx, w)
		if err != nil {
			return nil, err
		}
		return convertOut(n, r, dt)
	}
	if dt == tensor.Int4 || dt == tensor.Uint4 {
		return nil, unsupportedType(n, dt)
	}
	switch in[0].Data.(type) {
	case []float32:
		return variadicT[float32](ctx, op, dt, p, in), nil
	case []float64:
		return variadicT[float64](ctx, op, dt, p, in), nil
	case []int8:
		return variadicT[int8](ctx, op, dt, p, in), nil
	case []uint8:
		return variadicT[uint8](ctx, op, dt, p, in), nil
	case []int16:
		return variadicT[int16](ctx, op, dt, p, in), nil
	case []uint16:
		return variadicT[uint16](ctx, op, dt, p, in), nil
	case []int32:
		return variadicT[int32](ctx, op, dt, p, in), nil
	case []uint32:
		return variadicT[uint32](ctx, op, dt, p, in), nil
	case []int64:
		return variadicT[int64](ctx, op, dt, p, in), nil
	case []uint64:
		return variadicT[uint64](ctx, op, dt, p, in), nil
	}
	return nil, unsupportedType(n, dt)
}

// variadicT folds op over the inputs (at least two): the first two are
// combined into the output, then each further input into the output in
// place. Mean divides the sum by the input count at the end.
func variadicT[T numElem](ctx *Ctx, op arithOp, dt tensor.DataType, p *variadicPlan, in []*tensor.Tensor) *tensor.Tensor {
	out := ctx.NewUninit(dt, p.final...) // the first step writes every position
	o := out.Data.([]T)
	arithBC(ctx.Threads, p.bcs[0], op, o, in[0].Data.([]T), in[1].Data.([]T))
	for i, t := range in[2:] {
		arithBC(ctx.Threads, p.bcs[i+1], op, o, o, t.Data.([]T))
	}
	if op == opMean {
		cnt := T(len(in))
		for i := range o {
			o[i] /= cnt
		}
	}
	return out
}

// buildPow prepares Pow. From opset 12 the exponent may have another
// numeric type than the base; the result has the base's type. Integer bases
// with integer exponents are computed exactly (wrapping like repeated
// multiplication); other combinations go through float64 math.Pow, and an
// integer base with a float exponent truncates the result toward zero.
func buildPow(n *Node) (Kernel, error) {
	lb, err := readLegacyBroadcast(n)
	if err != nil {
		return nil, err
	}
	// A constant scalar exponent (x^2 in hand-written normalisations) gets
	// a multiplication-only loop for float32 bases.
	var square bool
	if c := n.Const(1); c != nil && c.Len() == 1 {
		if f, err := tensor.Float32s(c); err == nil && f[0] == 2 {
			square = true
		}
	}
	return &powKernel{n: n, lb: lb, square: square}, nil
}

// powKernel is a prepared Pow node.
type powKernel struct {
	n      *Node
	lb     legacyBroadcast
	square bool // the exponent is the constant 2
	bc     bcCache
}

func (k *powKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := checkInputs(n, in, 2); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if n.Opset < 12 {
		if err := sameTypes(n, a, b); err != nil {
			return nil, err
		}
	}
	bc, err := k.lb.cached(&k.bc, a.Shape, b.Shape)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	if k.square && a.DType == tensor.Float32 && b.Len() == 1 {
		out := ctx.NewUninit(tensor.Float32, bc.Out...) // every position is written
		x := a.Data.([]float32)
		arithBC(ctx.Threads, bc, opSquare, out.Data.([]float32), x, x)
		return ctx.Out(out), nil
	}
	out, err := pow(ctx, n, bc, a, b)
	if err != nil {
		return nil, err
	}
	return ctx.Out(out), nil
}

func pow(ctx *Ctx, n *Node, bc *broadcast, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if !b.DType.IsFloat() && !b.DType.IsInteger() || b.DType == tensor.Int4 || b.DType == tensor.Uint4 {
		return nil, unsupportedType(n, b.DType)
	}
	switch {
	case isHalf(a.DType):
		w, err := widenHalves(a)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		e, err := tensor.Convert(b, tensor.Float32)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r := powFloat(ctx, bc, w[0].DType, w[0].Data.([]float32), e.Data.([]float32))
		return convertOut(n, r, a.DType)
	case a.DType == tensor.Float32 || a.DType == tensor.Float64:
		e := b
		if b.DType != a.DType {
			var err error
			if e, err = tensor.Convert(b, a.DType); err != nil {
				return nil, n.Errorf("%w", err)
			}
		}
		if x, ok := a.Data.([]float32); ok {
			return powFloat(ctx, bc, a.DType, x, e.Data.([]float32)), nil
		}
		return powFloat(ctx, bc, a.DType, a.Data.([]float64), e.Data.([]float64)), nil
	case a.DType.IsInteger() && a.DType != tensor.Int4 && a.DType != tensor.Uint4:
		var out *tensor.Tensor
		var err error
		if b.DType.IsInteger() {
			var e []int64
			if e, err = tensor.Int64s(b); err != nil {
				return nil, n.Errorf("%w", err)
			}
			out, err = powIntDispatch(ctx, bc, a, e, nil)
		} else {
			var e *tensor.Tensor
			if e, err = tensor.Convert(b, tensor.Float64); err != nil {
				return nil, n.Errorf("%w", err)
			}
			out, err = powIntDispatch(ctx, bc, a, nil, e.Data.([]float64))
		}
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return out, nil
	}
	return nil, unsupportedType(n, a.DType)
}

func powFloat[T floatElem](ctx *Ctx, bc *broadcast, dt tensor.DataType, a, b []T) *tensor.Tensor {
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	j := takeJob[powFloatJob[T], T](&powFloatJobs)
	*j = powFloatJob[T]{bc: bc, o: out.Data.([]T), a: a, b: b, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainHeavy, ctx.Threads, j)
	dropJob[T](&powFloatJobs, j)
	return out
}

// powFloatJob computes o = a^b for float types over a broadcast.
type powFloatJob[T floatElem] struct {
	bc      *broadcast
	o, a, b []T
	sa, sb  int
}

var powFloatJobs kindJobPool

func (j *powFloatJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *powFloatJob[T]) run(i, k int, off runOffs) {
	x, y, o, sa, sb := j.a[off[0]:], j.b[off[1]:], j.o[i:i+k], j.sa, j.sb
	for jj := range o {
		o[jj] = T(math.Pow(float64(x[jj*sa]), float64(y[jj*sb])))
	}
}

func powIntDispatch(ctx *Ctx, bc *broadcast, a *tensor.Tensor, ei []int64, ef []float64) (*tensor.Tensor, error) {
	switch x := a.Data.(type) {
	case []int8:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	case []uint8:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	case []int16:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	case []uint16:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	case []int32:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	case []uint32:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	case []int64:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	case []uint64:
		return powInt(ctx, bc, a.DType, x, ei, ef), nil
	}
	return nil, fmt.Errorf("kernel: Pow of %v", a.DType)
}

// powInt raises integer bases to integer exponents ei, or, when ei is nil,
// to float exponents ef.
func powInt[T intElem](ctx *Ctx, bc *broadcast, dt tensor.DataType, a []T, ei []int64, ef []float64) *tensor.Tensor {
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	j := takeJob[powIntJob[T], T](&powIntJobs)
	*j = powIntJob[T]{bc: bc, o: out.Data.([]T), a: a, ei: ei, ef: ef, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainHeavy, ctx.Threads, j)
	dropJob[T](&powIntJobs, j)
	return out
}

// powIntJob computes o = a^e for integer bases over a broadcast.
type powIntJob[T intElem] struct {
	bc     *broadcast
	o, a   []T
	ei     []int64
	ef     []float64
	sa, sb int
}

var powIntJobs kindJobPool

func (j *powIntJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *powIntJob[T]) run(i, k int, off runOffs) {
	x, o, sa, sb := j.a[off[0]:], j.o[i:i+k], j.sa, j.sb
	if j.ei != nil {
		y := j.ei[off[1]:]
		for jj := range o {
			o[jj] = ipow(x[jj*sa], y[jj*sb])
		}
		return
	}
	y := j.ef[off[1]:]
	for jj := range o {
		o[jj] = truncInt[T](math.Pow(float64(x[jj*sa]), y[jj*sb]))
	}
}

// ipow returns b^e by repeated squaring, wrapping on overflow. A negative
// exponent gives the truncated real result: 1 for b = 1, ±1 for b = -1,
// and 0 otherwise (b = 0 included, where the real result is undefined).
func ipow[T intElem](b T, e int64) T {
	if e < 0 {
		switch {
		case b == 1:
			return 1
		case b == 0:
			return 0
		case b+1 == 0 && b < 1: // -1 for signed types
			if e%2 == 0 {
				return 1
			}
			return b
		}
		return 0
	}
	r := T(1)
	for e > 0 {
		if e&1 == 1 {
			r *= b
		}
		b *= b
		e >>= 1
	}
	return r
}

// truncInt converts f to T, truncating toward zero, saturating out of range
// and mapping NaN to 0 (Go leaves out-of-range conversions undefined).
func truncInt[T intElem](f float64) T {
	if f != f {
		return 0
	}
	var lo, hi T
	hi = ^hi
	if hi < 0 { // signed: all ones is -1
		hi = T(uint64(1)<<(intBits[T]()-1) - 1)
		lo = -hi - 1
	}
	switch {
	case f <= float64(lo):
		return lo
	case f >= float64(hi):
		return hi
	}
	return T(f)
}

// intBits returns the width of T in bits.
func intBits[T intElem]() int {
	var x T = 1
	n := 0
	for x != 0 {
		x <<= 1
		n++
	}
	return n
}

// buildMod prepares Mod. fmod=0 takes the sign of the divisor (Python's %),
// fmod=1 the sign of the dividend (C's fmod). A zero integer divisor is an
// error.
func buildMod(n *Node) (Kernel, error) {
	f, err := n.Int("fmod", 0)
	if err != nil {
		return nil, err
	}
	if f != 0 && f != 1 {
		return nil, n.Errorf("fmod is %d, want 0 or 1", f)
	}
	return &modKernel{n: n, fmod: f == 1}, nil
}

// modKernel is a prepared Mod node.
type modKernel struct {
	n    *Node
	fmod bool
	bc   bcCache
}

func (k *modKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := checkInputs(n, in, 2); err != nil {
		return nil, err
	}
	if err := sameTypes(n, in[0], in[1]); err != nil {
		return nil, err
	}
	bc, err := k.bc.get(in[0].Shape, in[1].Shape)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	out, err := mod(ctx, n, bc, k.fmod, in[0], in[1])
	if err != nil {
		return nil, err
	}
	return ctx.Out(out), nil
}

func mod(ctx *Ctx, n *Node, bc *broadcast, fmod bool, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if isHalf(a.DType) {
		w, err := widenHalves(a, b)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := mod(ctx, n, bc, fmod, w[0], w[1])
		if err != nil {
			return nil, err
		}
		return convertOut(n, r, a.DType)
	}
	if a.DType == tensor.Int4 || a.DType == tensor.Uint4 {
		return nil, unsupportedType(n, a.DType)
	}
	switch x := a.Data.(type) {
	case []float32:
		return modFloat(ctx, bc, fmod, a.DType, x, b.Data.([]float32)), nil
	case []float64:
		return modFloat(ctx, bc, fmod, a.DType, x, b.Data.([]float64)), nil
	case []int8:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]int8))
	case []uint8:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]uint8))
	case []int16:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]int16))
	case []uint16:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]uint16))
	case []int32:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]int32))
	case []uint32:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]uint32))
	case []int64:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]int64))
	case []uint64:
		return modInt(ctx, n, bc, fmod, a.DType, x, b.Data.([]uint64))
	}
	return nil, unsupportedType(n, a.DType)
}

func modFloat[T floatElem](ctx *Ctx, bc *broadcast, fmod bool, dt tensor.DataType, a, b []T) *tensor.Tensor {
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	j := takeJob[modFloatJob[T], T](&modFloatJobs)
	*j = modFloatJob[T]{bc: bc, fmod: fmod, o: out.Data.([]T), a: a, b: b, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainHeavy, ctx.Threads, j)
	dropJob[T](&modFloatJobs, j)
	return out
}

func modInt[T intElem](ctx *Ctx, n *Node, bc *broadcast, fmod bool, dt tensor.DataType, a, b []T) (*tensor.Tensor, error) {
	if hasZero(b) {
		return nil, n.Errorf("integer modulo by zero")
	}
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	j := takeJob[modIntJob[T], T](&modIntJobs)
	*j = modIntJob[T]{bc: bc, fmod: fmod, o: out.Data.([]T), a: a, b: b, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainCheap, ctx.Threads, j)
	dropJob[T](&modIntJobs, j)
	return out, nil
}

// modFloatJob computes o = a mod b over a broadcast for float types,
// through float64 math.Mod.
type modFloatJob[T floatElem] struct {
	bc      *broadcast
	fmod    bool
	o, a, b []T
	sa, sb  int
}

var modFloatJobs, modIntJobs kindJobPool

func (j *modFloatJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *modFloatJob[T]) run(i, k int, off runOffs) {
	x, y, o, sa, sb := j.a[off[0]:], j.b[off[1]:], j.o[i:i+k], j.sa, j.sb
	for jj := range o {
		d := float64(y[jj*sb])
		r := math.Mod(float64(x[jj*sa]), d)
		if !j.fmod && r != 0 && (r < 0) != (d < 0) {
			r += d
		}
		o[jj] = T(r)
	}
}

// modIntJob computes o = a mod b over a broadcast for integer types.
type modIntJob[T intElem] struct {
	bc      *broadcast
	fmod    bool
	o, a, b []T
	sa, sb  int
}

func (j *modIntJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *modIntJob[T]) run(i, k int, off runOffs) {
	x, y, o, sa, sb := j.a[off[0]:], j.b[off[1]:], j.o[i:i+k], j.sa, j.sb
	for jj := range o {
		d := y[jj*sb]
		r := x[jj*sa] % d
		if !j.fmod && r != 0 && (r < 0) != (d < 0) {
			r += d
		}
		o[jj] = r
	}
}

// buildPRelu prepares PRelu: x where x >= 0, slope*x elsewhere, with slope
// broadcast to x's shape (unidirectionally).
func buildPRelu(n *Node) (Kernel, error) {
	if n.Opset < 6 {
		n.Ignore("consumed_inputs")
	}
	return &preluKernel{n: n}, nil
}

// preluKernel is a prepared PRelu node.
type preluKernel struct {
	n  *Node
	bc bcCache // keyed by the input and slope shapes as given
}

func (k *preluKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := checkInputs(n, in, 2); err != nil {
		return nil, err
	}
	x, s := in[0], in[1]
	if err := sameTypes(n, x, s); err != nil {
		return nil, err
	}
	bc := k.bc.lookup(x.Shape, s.Shape)
	if bc == nil {
		ss := s.Shape
		if n.Opset < 7 && len(ss) == 1 && len(x.Shape) >= 2 && ss[0] == x.Shape[1] && ss[0] != 1 {
			// Before opset 7 a one-dimensional slope holds one value per
			// channel (axis 1), as PyTorch exported it.
			cs := make([]int, len(x.Shape)-1)
			for i := range cs {
				cs[i] = 1
			}
			cs[0] = ss[0]
			ss = cs
		}
		if !unidirectionalOK(ss, x.Shape) {
			return nil, n.Errorf("slope shape %v does not broadcast to input shape %v", ss, x.Shape)
		}
		bc = newBroadcastTo(append([]int(nil), x.Shape...), x.Shape, ss)
		k.bc.store(bc, x.Shape, s.Shape)
	}
	out, err := prelu(ctx, n, bc, x, s)
	if err != nil {
		return nil, err
	}
	return ctx.Out(out), nil
}

func prelu(ctx *Ctx, n *Node, bc *broadcast, x, s *tensor.Tensor) (*tensor.Tensor, error) {
	if isHalf(x.DType) {
		w, err := widenHalves(x, s)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := prelu(ctx, n, bc, w[0], w[1])
		if err != nil {
			return nil, err
		}
		return convertOut(n, r, x.DType)
	}
	switch d := x.Data.(type) {
	case []float32:
		return preluT(ctx, bc, x.DType, d, s.Data.([]float32)), nil
	case []float64:
		return preluT(ctx, bc, x.DType, d, s.Data.([]float64)), nil
	case []int32:
		return preluT(ctx, bc, x.DType, d, s.Data.([]int32)), nil
	case []int64:
		return preluT(ctx, bc, x.DType, d, s.Data.([]int64)), nil
	case []int8:
		if x.DType == tensor.Int8 {
			return preluT(ctx, bc, x.DType, d, s.Data.([]int8)), nil
		}
	case []int16:
		return preluT(ctx, bc, x.DType, d, s.Data.([]int16)), nil
	case []uint8, []uint16, []uint32, []uint64:
		// Unsigned inputs are never negative: PRelu is the identity.
		return x, nil
	}
	return nil, unsupportedType(n, x.DType)
}

func preluT[T numElem](ctx *Ctx, bc *broadcast, dt tensor.DataType, x, s []T) *tensor.Tensor {
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	j := takeJob[preluJob[T], T](&preluJobs)
	*j = preluJob[T]{bc: bc, o: out.Data.([]T), x: x, s: s, ss: bc.inner(1)}
	parallel.Do(bc.Size, grainCheap, ctx.Threads, j)
	dropJob[T](&preluJobs, j)
	return out
}

// preluJob computes PRelu over a broadcast of x and the slope.
type preluJob[T numElem] struct {
	bc      *broadcast
	o, x, s []T
	ss      int
}

var preluJobs kindJobPool

func (j *preluJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *preluJob[T]) run(i, k int, off runOffs) {
	xr, or := j.x[i:i+k], j.o[i:i+k]
	sr := j.s[off[1]:]
	if j.ss == 0 {
		a := sr[0]
		for jj, v := range xr {
			if v < 0 {
				v *= a
			}
			or[jj] = v
		}
		return
	}
	sr = sr[:k]
	for jj, v := range xr {
		if v < 0 {
			v *= sr[jj]
		}
		or[jj] = v
	}
}

// bitOp selects a bitwise operation.
type bitOp uint8

const (
	bitAnd bitOp = iota
	bitOr
	bitXor
	bitShl
	bitShr
)

// buildBitShift prepares BitShift on unsigned integers; shifting by the
// type's width or more gives 0.
func buildBitShift(n *Node) (Kernel, error) {
	dir, err := n.String("direction", "")
	if err != nil {
		return nil, err
	}
	var op bitOp
	switch dir {
	case "LEFT":
		op = bitShl
	case "RIGHT":
		op = bitShr
	default:
		return nil, n.Errorf("direction is %q, want LEFT or RIGHT", dir)
	}
	return buildBitwise(op)(n)
}

// buildBitwise prepares BitwiseAnd, BitwiseOr and BitwiseXor (and, through
// buildBitShift, BitShift) on integer tensors.
func buildBitwise(op bitOp) Builder {
	return func(n *Node) (Kernel, error) {
		var cache bcCache
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 2); err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			if err := sameTypes(n, a, b); err != nil {
				return nil, err
			}
			bc, err := cache.get(a.Shape, b.Shape)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			var out *tensor.Tensor
			shift := op == bitShl || op == bitShr
			switch x := a.Data.(type) {
			case []uint8:
				out = bitT(ctx, bc, op, a.DType, x, b.Data.([]uint8))
			case []uint16:
				out = bitT(ctx, bc, op, a.DType, x, b.Data.([]uint16))
			case []uint32:
				out = bitT(ctx, bc, op, a.DType, x, b.Data.([]uint32))
			case []uint64:
				out = bitT(ctx, bc, op, a.DType, x, b.Data.([]uint64))
			case []int8:
				if !shift {
					out = bitT(ctx, bc, op, a.DType, x, b.Data.([]int8))
				}
			case []int16:
				if !shift {
					out = bitT(ctx, bc, op, a.DType, x, b.Data.([]int16))
				}
			case []int32:
				if !shift {
					out = bitT(ctx, bc, op, a.DType, x, b.Data.([]int32))
				}
			case []int64:
				if !shift {
					out = bitT(ctx, bc, op, a.DType, x, b.Data.([]int64))
				}
			}
			if out == nil || a.DType == tensor.Int4 || a.DType == tensor.Uint4 {
				return nil, unsupportedType(n, a.DType)
			}
			return ctx.Out(out), nil
		}), nil
	}
}

func bitT[T intElem](ctx *Ctx, bc *broadcast, op bitOp, dt tensor.DataType, a, b []T) *tensor.Tensor {
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	j := takeJob[bitJob[T], T](&bitJobs)
	*j = bitJob[T]{bc: bc, op: op, o: out.Data.([]T), a: a, b: b, sa: bc.inner(0), sb: bc.inner(1)}
	parallel.Do(bc.Size, grainCheap, ctx.Threads, j)
	dropJob[T](&bitJobs, j)
	return out
}

// bitJob computes a bitwise operation over a broadcast.
type bitJob[T intElem] struct {
	bc      *broadcast
	op      bitOp
	o, a, b []T
	sa, sb  int
}

var bitJobs kindJobPool

func (j *bitJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *bitJob[T]) run(i, k int, off runOffs) {
	x, y, r, sa, sb := j.a[off[0]:], j.b[off[1]:], j.o[i:i+k], j.sa, j.sb
	switch j.op {
	case bitAnd:
		for jj := range r {
			r[jj] = x[jj*sa] & y[jj*sb]
		}
	case bitOr:
		for jj := range r {
			r[jj] = x[jj*sa] | y[jj*sb]
		}
	case bitXor:
		for jj := range r {
			r[jj] = x[jj*sa] ^ y[jj*sb]
		}
	case bitShl:
		// Only unsigned types get here; the count is the value itself.
		for jj := range r {
			r[jj] = x[jj*sa] << uint64(y[jj*sb])
		}
	case bitShr:
		for jj := range r {
			r[jj] = x[jj*sa] >> uint64(y[jj*sb])
		}
	}
}

// buildBitwiseNot prepares BitwiseNot on integer tensors.
func buildBitwiseNot(n *Node) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		x := in[0]
		var out *tensor.Tensor
		switch d := x.Data.(type) {
		case []int8:
			out = notT(ctx, x.DType, x.Shape, d)
		case []uint8:
			out = notT(ctx, x.DType, x.Shape, d)
		case []int16:
			out = notT(ctx, x.DType, x.Shape, d)
		case []uint16:
			out = notT(ctx, x.DType, x.Shape, d)
		case []int32:
			out = notT(ctx, x.DType, x.Shape, d)
		case []uint32:
			out = notT(ctx, x.DType, x.Shape, d)
		case []int64:
			out = notT(ctx, x.DType, x.Shape, d)
		case []uint64:
			out = notT(ctx, x.DType, x.Shape, d)
		}
		if out == nil || x.DType == tensor.Int4 || x.DType == tensor.Uint4 || isHalf(x.DType) {
			return nil, unsupportedType(n, x.DType)
		}
		return ctx.Out(out), nil
	}), nil
}

func notT[T intElem](ctx *Ctx, dt tensor.DataType, shape []int, x []T) *tensor.Tensor {
	out := ctx.NewUninit(dt, shape...) // every position is written
	o := out.Data.([]T)
	for i, v := range x {
		o[i] = ^v
	}
	return out
}

// buildWhere prepares Where: x where the condition holds, else y, all three
// broadcast together; x and y may have any element type.
func buildWhere(n *Node) (Kernel, error) {
	var cache bcCache
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 3); err != nil {
			return nil, err
		}
		c, x, y := in[0], in[1], in[2]
		cond, ok := c.Data.([]bool)
		if !ok {
			return nil, n.Errorf("condition is %v, want bool", c.DType)
		}
		if err := sameTypes(n, x, y); err != nil {
			return nil, err
		}
		bc, err := cache.get(c.Shape, x.Shape, y.Shape)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		var out *tensor.Tensor
		switch d := x.Data.(type) {
		case []float32:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]float32))
		case []float64:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]float64))
		case []tensor.F16:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]tensor.F16))
		case []tensor.BF16:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]tensor.BF16))
		case []int8:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]int8))
		case []uint8:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]uint8))
		case []int16:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]int16))
		case []uint16:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]uint16))
		case []int32:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]int32))
		case []uint32:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]uint32))
		case []int64:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]int64))
		case []uint64:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]uint64))
		case []bool:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]bool))
		case []string:
			out = whereT(ctx, bc, x.DType, cond, d, y.Data.([]string))
		default:
			return nil, unsupportedType(n, x.DType)
		}
		return ctx.Out(out), nil
	}), nil
}

func whereT[T tensor.Elem](ctx *Ctx, bc *broadcast, dt tensor.DataType, c []bool, x, y []T) *tensor.Tensor {
	out := ctx.NewUninit(dt, bc.Out...) // every position is written
	j := takeJob[whereJob[T], T](&whereJobs)
	*j = whereJob[T]{bc: bc, o: out.Data.([]T), c: c, x: x, y: y, sc: bc.inner(0), sx: bc.inner(1), sy: bc.inner(2)}
	parallel.Do(bc.Size, grainCheap, ctx.Threads, j)
	dropJob[T](&whereJobs, j)
	return out
}

// whereJob selects x or y by the condition over a broadcast.
type whereJob[T tensor.Elem] struct {
	bc         *broadcast
	o, x, y    []T
	c          []bool
	sc, sx, sy int
}

var whereJobs kindJobPool

func (j *whereJob[T]) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

func (j *whereJob[T]) run(i, k int, off runOffs) {
	cr, xr, yr, r := j.c[off[0]:], j.x[off[1]:], j.y[off[2]:], j.o[i:i+k]
	sc, sx, sy := j.sc, j.sx, j.sy
	for jj := range r {
		if cr[jj*sc] {
			r[jj] = xr[jj*sx]
		} else {
			r[jj] = yr[jj*sy]
		}
	}
}
