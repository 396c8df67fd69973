package kernel

import (
	"fmt"
	"math"

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
	opMean // Sum followed by a division by the input count
)

// buildArith prepares Add, Sub, Mul and Div (all numeric types; integer
// division truncates toward zero, and a zero integer divisor is an error).
func buildArith(op arithOp) Builder {
	return func(n *Node) (Kernel, error) {
		lb, err := readLegacyBroadcast(n)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 2); err != nil {
				return nil, err
			}
			bs, err := lb.shapeB(in[0].Shape, in[1].Shape)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			out, err := arith(ctx, n, op, in[0], in[1], bs)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{out}, nil
		}), nil
	}
}

// arith computes op(a, b) with b read as having shape bShape.
func arith(ctx *Ctx, n *Node, op arithOp, a, b *tensor.Tensor, bShape []int) (*tensor.Tensor, error) {
	if err := sameTypes(n, a, b); err != nil {
		return nil, err
	}
	bc, err := newBroadcast(a.Shape, bShape)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	if isHalf(a.DType) {
		w, err := widenHalves(a, b)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := arith(ctx, n, op, w[0], w[1], bShape)
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
	o := out.Data.([]T)
	sa, sb := bc.inner(0), bc.inner(1)
	bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
		arithRun(op, o[i:i+k], a[off[0]:], sa, b[off[1]:], sb)
	})
	return out, nil
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
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, len(in)); err != nil {
				return nil, err
			}
			if len(in) == 0 {
				return nil, n.Errorf("no inputs")
			}
			out, err := variadic(ctx, n, op, in)
			if err != nil {
				return nil, err
			}
			return []*tensor.Tensor{out}, nil
		}), nil
	}
}

func variadic(ctx *Ctx, n *Node, op arithOp, in []*tensor.Tensor) (*tensor.Tensor, error) {
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
	shapes := make([][]int, len(in))
	for i, t := range in {
		shapes[i] = t.Shape
	}
	final, err := broadcastShape(shapes...)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	if isHalf(dt) {
		w, err := widenHalves(in...)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := variadic(ctx, n, op, w)
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
		return variadicT[float32](ctx, op, dt, final, in), nil
	case []float64:
		return variadicT[float64](ctx, op, dt, final, in), nil
	case []int8:
		return variadicT[int8](ctx, op, dt, final, in), nil
	case []uint8:
		return variadicT[uint8](ctx, op, dt, final, in), nil
	case []int16:
		return variadicT[int16](ctx, op, dt, final, in), nil
	case []uint16:
		return variadicT[uint16](ctx, op, dt, final, in), nil
	case []int32:
		return variadicT[int32](ctx, op, dt, final, in), nil
	case []uint32:
		return variadicT[uint32](ctx, op, dt, final, in), nil
	case []int64:
		return variadicT[int64](ctx, op, dt, final, in), nil
	case []uint64:
		return variadicT[uint64](ctx, op, dt, final, in), nil
	}
	return nil, unsupportedType(n, dt)
}

// variadicT folds op over the inputs (at least two): the first two are
// combined into the output, then each further input into the output in
// place. Mean divides the sum by the input count at the end.
func variadicT[T numElem](ctx *Ctx, op arithOp, dt tensor.DataType, final []int, in []*tensor.Tensor) *tensor.Tensor {
	out := ctx.New(dt, final...)
	o := out.Data.([]T)
	a, b := in[0].Data.([]T), in[1].Data.([]T)
	bc := newBroadcastTo(final, in[0].Shape, in[1].Shape)
	sa, sb := bc.inner(0), bc.inner(1)
	bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
		arithRun(op, o[i:i+k], a[off[0]:], sa, b[off[1]:], sb)
	})
	for _, t := range in[2:] {
		c := t.Data.([]T)
		bc := newBroadcastTo(final, final, t.Shape)
		sc := bc.inner(1)
		bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
			arithRun(op, o[i:i+k], o[i:i+k], 1, c[off[1]:], sc)
		})
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
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		a, b := in[0], in[1]
		if n.Opset < 12 {
			if err := sameTypes(n, a, b); err != nil {
				return nil, err
			}
		}
		bs, err := lb.shapeB(a.Shape, b.Shape)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		bc, err := newBroadcast(a.Shape, bs)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		if square && a.DType == tensor.Float32 && b.Len() == 1 {
			out := ctx.New(tensor.Float32, bc.Out...)
			x, o := a.Data.([]float32), out.Data.([]float32)
			sa := bc.inner(0)
			bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
				arithRun(opMul, o[i:i+k], x[off[0]:], sa, x[off[0]:], sa)
			})
			return []*tensor.Tensor{out}, nil
		}
		out, err := pow(ctx, n, bc, a, b)
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
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
	out := ctx.New(dt, bc.Out...)
	o := out.Data.([]T)
	sa, sb := bc.inner(0), bc.inner(1)
	bc.each(ctx.Threads, grainHeavy, func(i, k int, off []int) {
		x, y := a[off[0]:], b[off[1]:]
		for j := range o[i : i+k] {
			o[i+j] = T(math.Pow(float64(x[j*sa]), float64(y[j*sb])))
		}
	})
	return out
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
	out := ctx.New(dt, bc.Out...)
	o := out.Data.([]T)
	sa, sb := bc.inner(0), bc.inner(1)
	bc.each(ctx.Threads, grainHeavy, func(i, k int, off []int) {
		x := a[off[0]:]
		if ei != nil {
			y := ei[off[1]:]
			for j := range o[i : i+k] {
				o[i+j] = ipow(x[j*sa], y[j*sb])
			}
			return
		}
		y := ef[off[1]:]
		for j := range o[i : i+k] {
			o[i+j] = truncInt[T](math.Pow(float64(x[j*sa]), y[j*sb]))
		}
	})
	return out
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
	fmod := f == 1
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		out, err := mod(ctx, n, fmod, in[0], in[1])
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

func mod(ctx *Ctx, n *Node, fmod bool, a, b *tensor.Tensor) (*tensor.Tensor, error) {
	if err := sameTypes(n, a, b); err != nil {
		return nil, err
	}
	bc, err := newBroadcast(a.Shape, b.Shape)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	if isHalf(a.DType) {
		w, err := widenHalves(a, b)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := mod(ctx, n, fmod, w[0], w[1])
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
	out := ctx.New(dt, bc.Out...)
	o := out.Data.([]T)
	sa, sb := bc.inner(0), bc.inner(1)
	bc.each(ctx.Threads, grainHeavy, func(i, k int, off []int) {
		x, y := a[off[0]:], b[off[1]:]
		for j := range o[i : i+k] {
			d := float64(y[j*sb])
			r := math.Mod(float64(x[j*sa]), d)
			if !fmod && r != 0 && (r < 0) != (d < 0) {
				r += d
			}
			o[i+j] = T(r)
		}
	})
	return out
}

func modInt[T intElem](ctx *Ctx, n *Node, bc *broadcast, fmod bool, dt tensor.DataType, a, b []T) (*tensor.Tensor, error) {
	if hasZero(b) {
		return nil, n.Errorf("integer modulo by zero")
	}
	out := ctx.New(dt, bc.Out...)
	o := out.Data.([]T)
	sa, sb := bc.inner(0), bc.inner(1)
	bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
		x, y := a[off[0]:], b[off[1]:]
		for j := range o[i : i+k] {
			d := y[j*sb]
			r := x[j*sa] % d
			if !fmod && r != 0 && (r < 0) != (d < 0) {
				r += d
			}
			o[i+j] = r
		}
	})
	return out, nil
}

// buildPRelu prepares PRelu: x where x >= 0, slope*x elsewhere, with slope
// broadcast to x's shape (unidirectionally).
func buildPRelu(n *Node) (Kernel, error) {
	if n.Opset < 6 {
		n.Ignore("consumed_inputs")
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		out, err := prelu(ctx, n, in[0], in[1])
		if err != nil {
			return nil, err
		}
		return []*tensor.Tensor{out}, nil
	}), nil
}

func prelu(ctx *Ctx, n *Node, x, s *tensor.Tensor) (*tensor.Tensor, error) {
	if err := sameTypes(n, x, s); err != nil {
		return nil, err
	}
	if n.Opset < 7 && len(s.Shape) == 1 && len(x.Shape) >= 2 && s.Shape[0] == x.Shape[1] && s.Shape[0] != 1 {
		// Before opset 7 a one-dimensional slope holds one value per
		// channel (axis 1), as PyTorch exported it.
		cs := make([]int, len(x.Shape)-1)
		for i := range cs {
			cs[i] = 1
		}
		cs[0] = s.Shape[0]
		s = &tensor.Tensor{DType: s.DType, Shape: cs, Data: s.Data}
	}
	if !unidirectionalOK(s.Shape, x.Shape) {
		return nil, n.Errorf("slope shape %v does not broadcast to input shape %v", s.Shape, x.Shape)
	}
	bc := newBroadcastTo(x.Shape, x.Shape, s.Shape)
	if isHalf(x.DType) {
		w, err := widenHalves(x, s)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		r, err := prelu(ctx, n, w[0], w[1])
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
	out := ctx.New(dt, bc.Out...)
	o := out.Data.([]T)
	ss := bc.inner(1)
	bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
		xr, or := x[i:i+k], o[i:i+k]
		sr := s[off[1]:]
		if ss == 0 {
			a := sr[0]
			for j, v := range xr {
				if v < 0 {
					v *= a
				}
				or[j] = v
			}
			return
		}
		sr = sr[:k]
		for j, v := range xr {
			if v < 0 {
				v *= sr[j]
			}
			or[j] = v
		}
	})
	return out
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
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := checkInputs(n, in, 2); err != nil {
				return nil, err
			}
			a, b := in[0], in[1]
			if err := sameTypes(n, a, b); err != nil {
				return nil, err
			}
			bc, err := newBroadcast(a.Shape, b.Shape)
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
			return []*tensor.Tensor{out}, nil
		}), nil
	}
}

func bitT[T intElem](ctx *Ctx, bc *broadcast, op bitOp, dt tensor.DataType, a, b []T) *tensor.Tensor {
	out := ctx.New(dt, bc.Out...)
	o := out.Data.([]T)
	sa, sb := bc.inner(0), bc.inner(1)
	bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
		x, y, r := a[off[0]:], b[off[1]:], o[i:i+k]
		switch op {
		case bitAnd:
			for j := range r {
				r[j] = x[j*sa] & y[j*sb]
			}
		case bitOr:
			for j := range r {
				r[j] = x[j*sa] | y[j*sb]
			}
		case bitXor:
			for j := range r {
				r[j] = x[j*sa] ^ y[j*sb]
			}
		case bitShl:
			// Only unsigned types get here; the count is the value itself.
			for j := range r {
				r[j] = x[j*sa] << uint64(y[j*sb])
			}
		case bitShr:
			for j := range r {
				r[j] = x[j*sa] >> uint64(y[j*sb])
			}
		}
	})
	return out
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
		return []*tensor.Tensor{out}, nil
	}), nil
}

func notT[T intElem](ctx *Ctx, dt tensor.DataType, shape []int, x []T) *tensor.Tensor {
	out := ctx.New(dt, shape...)
	o := out.Data.([]T)
	for i, v := range x {
		o[i] = ^v
	}
	return out
}

// buildWhere prepares Where: x where the condition holds, else y, all three
// broadcast together; x and y may have any element type.
func buildWhere(n *Node) (Kernel, error) {
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
		bc, err := newBroadcast(c.Shape, x.Shape, y.Shape)
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
		return []*tensor.Tensor{out}, nil
	}), nil
}

func whereT[T tensor.Elem](ctx *Ctx, bc *broadcast, dt tensor.DataType, c []bool, x, y []T) *tensor.Tensor {
	out := ctx.New(dt, bc.Out...)
	o := out.Data.([]T)
	sc, sx, sy := bc.inner(0), bc.inner(1), bc.inner(2)
	bc.each(ctx.Threads, grainCheap, func(i, k int, off []int) {
		cr, xr, yr, r := c[off[0]:], x[off[1]:], y[off[2]:], o[i:i+k]
		for j := range r {
			if cr[j*sc] {
				r[j] = xr[j*sx]
			} else {
				r[j] = yr[j*sy]
			}
		}
	})
	return out
}
