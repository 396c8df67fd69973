package kernel

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Shape", MaxOpset: dmMaxOpset, Build: buildShape})
	Register(Op{Type: "Size", MaxOpset: dmMaxOpset, Build: buildSize})
	Register(Op{Type: "ConstantOfShape", MinOpset: 9, MaxOpset: dmMaxOpset, Build: buildConstantOfShape})
	// Range 27 adds float16 and bfloat16 (computed here through float64).
	Register(Op{Type: "Range", MinOpset: 11, MaxOpset: dmMaxOpset, Build: buildRange})
	Register(Op{Type: "EyeLike", MinOpset: 9, MaxOpset: dmMaxOpset, Build: buildEyeLike})
}

// buildShape prepares Shape: the input's dimensions as a 1-D int64 tensor,
// limited to [start, end) from opset 15 (negative values count from the
// end; both are clamped to [0, rank]).
// https://onnx.ai/onnx/operators/onnx__Shape.html
func buildShape(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	start, end := int64(0), int64(math.MaxInt64)
	if n.Opset >= 15 {
		var err error
		if start, err = n.Int("start", 0); err != nil {
			return nil, err
		}
		if end, err = n.Int("end", math.MaxInt64); err != nil {
			return nil, err
		}
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		shape := in[0].Shape
		r := int64(len(shape))
		clamp := func(v int64) int {
			if v < 0 {
				v += r
			}
			return int(min(max(v, 0), r))
		}
		lo, hi := clamp(start), clamp(end)
		hi = max(hi, lo)
		out := ctx.New(tensor.Int64, hi-lo)
		d := out.Data.([]int64)
		for i := range d {
			d[i] = int64(shape[lo+i])
		}
		return ctx.Out(out), nil
	}), nil
}

// buildSize prepares Size: the number of elements as an int64 scalar.
// https://onnx.ai/onnx/operators/onnx__Size.html
func buildSize(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		out := ctx.New(tensor.Int64)
		out.Data.([]int64)[0] = int64(in[0].Len())
		return ctx.Out(out), nil
	}), nil
}

// buildConstantOfShape prepares ConstantOfShape: a tensor of the shape given
// by the 1-D int64 input, filled with the one-element value attribute
// (default float32 0).
// https://onnx.ai/onnx/operators/onnx__ConstantOfShape.html
func buildConstantOfShape(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	val, err := n.Tensor("value")
	if err != nil {
		return nil, err
	}
	if val == nil {
		val = tensor.Scalar(float32(0))
	}
	if val.Len() != 1 {
		return nil, n.Errorf("value must hold one element, got shape %v", val.Shape)
	}
	mv, err := dmMoverFor(val)
	if err != nil {
		return nil, n.Errorf("value: %w", err)
	}
	// A zero value needs no fill: outputs start zeroed.
	zero := dmZeroScalar(val)
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		spec, err := dmInts(in[0])
		if err != nil {
			return nil, nd.errf("shape: %w", err)
		}
		var buf [MaxDims]int
		shape, err := dmShapeInto(dmBuf(&buf, len(spec)), spec)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.New(val.DType, shape...)
		if !zero {
			mv.fill(out.Data, val.Data, 0)
		}
		return ctx.Out(out), nil
	}), nil
}

// buildRange prepares Range: start, start+delta, ... up to but excluding
// limit, all scalars of one type. Integer types are computed exactly;
// float types as start + i*delta in float64, rounded once to the type.
// https://onnx.ai/onnx/operators/onnx__Range.html
func buildRange(n *Node) (Kernel, error) {
	if err := dmRequire(n, 3); err != nil {
		return nil, err
	}
	if n.Has("stash_type") {
		st, err := n.Int("stash_type", int64(tensor.Float32))
		if err != nil {
			return nil, err
		}
		if st != int64(tensor.Float32) && st != int64(tensor.Float64) {
			return nil, n.Unsupported("stash_type %d", st)
		}
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		st, lt, dt := in[0], in[1], in[2]
		if lt.DType != st.DType || dt.DType != st.DType {
			return nil, nd.errf("start, limit and delta must have one type, got %v, %v, %v", st.DType, lt.DType, dt.DType)
		}
		for _, t := range in[:3] {
			if err := t.Check(); err != nil {
				return nil, nd.errf("%w", err)
			}
			if t.Len() != 1 {
				return nil, nd.errf("start, limit and delta must be scalars, got shape %v", t.Shape)
			}
		}
		var out *tensor.Tensor
		var err error
		switch st.DType {
		case tensor.Int16:
			out, err = dmRangeInt[int16](ctx, st, lt, dt)
		case tensor.Int32:
			out, err = dmRangeInt[int32](ctx, st, lt, dt)
		case tensor.Int64:
			out, err = dmRangeInt[int64](ctx, st, lt, dt)
		case tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16:
			out, err = dmRangeFloat(ctx, st, lt, dt)
		default:
			return nil, nd.errf("unsupported element type %v", st.DType)
		}
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		return ctx.Out(out), nil
	}), nil
}

// dmRangeInt computes Range for an integer type exactly.
func dmRangeInt[T int16 | int32 | int64](ctx *Ctx, st, lt, dt *tensor.Tensor) (*tensor.Tensor, error) {
	start, limit, delta := int64(st.Data.([]T)[0]), int64(lt.Data.([]T)[0]), int64(dt.Data.([]T)[0])
	if delta == 0 {
		return nil, fmt.Errorf("delta is 0")
	}
	// max(ceil((limit-start)/delta), 0), on unsigned differences so that
	// no int64 operation can overflow.
	var cnt uint64
	switch {
	case delta > 0 && limit > start:
		cnt = (uint64(limit)-uint64(start)-1)/uint64(delta) + 1
	case delta < 0 && limit < start:
		cnt = (uint64(start)-uint64(limit)-1)/uint64(-delta) + 1
	}
	if cnt > dmMaxElems {
		return nil, fmt.Errorf("range of %d elements is too large", cnt)
	}
	out := ctx.New(st.DType, int(cnt))
	d := out.Data.([]T)
	v := start
	for i := range d {
		d[i] = T(v)
		v += delta
	}
	return out, nil
}

// dmRangeFloat computes Range for a float type.
func dmRangeFloat(ctx *Ctx, st, lt, dt *tensor.Tensor) (*tensor.Tensor, error) {
	var vals [3]float64
	for i, t := range []*tensor.Tensor{st, lt, dt} {
		c, err := tensor.Convert(t, tensor.Float64)
		if err != nil {
			return nil, err
		}
		vals[i] = c.Data.([]float64)[0]
	}
	start, limit, delta := vals[0], vals[1], vals[2]
	if delta == 0 || math.IsNaN(delta) || math.IsNaN(start) || math.IsNaN(limit) {
		return nil, fmt.Errorf("invalid range start %g limit %g delta %g", start, limit, delta)
	}
	c := math.Ceil((limit - start) / delta)
	if c < 0 {
		c = 0
	}
	if c > dmMaxElems {
		return nil, fmt.Errorf("range of %g elements is too large", c)
	}
	cnt := int(c)
	switch st.DType {
	case tensor.Float32:
		out := ctx.New(tensor.Float32, cnt)
		d := out.Data.([]float32)
		for i := range d {
			d[i] = float32(start + float64(i)*delta)
		}
		return out, nil
	case tensor.Float64:
		out := ctx.New(tensor.Float64, cnt)
		d := out.Data.([]float64)
		for i := range d {
			d[i] = start + float64(i)*delta
		}
		return out, nil
	case tensor.Float16:
		out := ctx.New(tensor.Float16, cnt)
		d := out.Data.([]tensor.F16)
		for i := range d {
			d[i] = tensor.F16FromFloat64(start + float64(i)*delta)
		}
		return out, nil
	default:
		out := ctx.New(tensor.BFloat16, cnt)
		d := out.Data.([]tensor.BF16)
		for i := range d {
			d[i] = tensor.BF16FromFloat64(start + float64(i)*delta)
		}
		return out, nil
	}
}

// buildEyeLike prepares EyeLike: a 2-D tensor shaped like the input, of
// type dtype (default the input's), with ones on the k-th diagonal.
// https://onnx.ai/onnx/operators/onnx__EyeLike.html
func buildEyeLike(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	hasDT := n.Has("dtype")
	dtype, err := n.Int("dtype", 0)
	if err != nil {
		return nil, err
	}
	k, err := n.Int("k", 0)
	if err != nil {
		return nil, err
	}
	if hasDT {
		dt := tensor.DataType(dtype)
		if !dt.Supported() || dt == tensor.String {
			return nil, n.Unsupported("dtype %v", dt)
		}
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if len(x.Shape) != 2 {
			return nil, nd.errf("input shape %v is not 2-D", x.Shape)
		}
		dt := x.DType
		if hasDT {
			dt = tensor.DataType(dtype)
		}
		one, err := tensor.Convert(tensor.Scalar(float32(1)), dt)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		mv, err := dmMoverFor(one)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		rows, cols := x.Shape[0], x.Shape[1]
		out := ctx.New(dt, rows, cols)
		var offs []int
		kk := min(max(k, -int64(rows)), int64(cols)) // beyond either side: no ones
		for i := max(0, -kk); i < int64(rows) && i+kk < int64(cols); i++ {
			offs = append(offs, int(i)*cols+int(i+kk))
		}
		mv.fillAt(out.Data, one.Data, 0, offs)
		return ctx.Out(out), nil
	}), nil
}
