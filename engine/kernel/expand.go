package kernel

import (
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Expand", MinOpset: 8, MaxOpset: dmMaxOpset, Build: buildExpand})
	// Tile 1 took tiles and axis inputs; the repeats form is from opset 6.
	Register(Op{Type: "Tile", MinOpset: 6, MaxOpset: dmMaxOpset, Build: buildTile})
}

// dmExpandShape broadcasts shape in against spec (numpy rules, both ways:
// a 1 on either side takes the other's size). The result is written into
// buf when it fits.
func dmExpandShape(buf *[MaxDims]int, in []int, spec []int64) ([]int, error) {
	r := max(len(in), len(spec))
	var outBuf [MaxDims]int64
	out := dmBuf(&outBuf, r)
	for i := 0; i < r; i++ {
		a, b := int64(1), int64(1)
		if k := i - (r - len(in)); k >= 0 {
			a = int64(in[k])
		}
		if k := i - (r - len(spec)); k >= 0 {
			b = spec[k]
		}
		switch {
		case a == b || b == 1:
			out[i] = a
		case a == 1:
			out[i] = b
		default:
			return nil, fmt.Errorf("cannot broadcast shape %v to %v", in, spec)
		}
	}
	return dmShapeInto(dmBuf(buf, r), out)
}

// buildExpand prepares Expand: the input broadcast to the shape input
// (numpy broadcasting, so the result may be larger than the shape asks).
// https://onnx.ai/onnx/operators/onnx__Expand.html
func buildExpand(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		spec, err := dmInts(in[1])
		if err != nil {
			return nil, nd.errf("shape: %w", err)
		}
		var shapeBuf, istBuf, ssBuf, ostBuf [MaxDims]int
		shape, err := dmExpandShape(&shapeBuf, x.Shape, spec)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		if dmProd(shape) == x.Len() {
			// Only leading 1s were added (or nothing changed).
			return ctx.Out(dmShare(ctx, x, shape)), nil
		}
		r := len(shape)
		ist := dmStridesInto(dmBuf(&istBuf, len(x.Shape)), x.Shape)
		ss := dmBuf(&ssBuf, r)
		for i := range ss {
			k := i - (r - len(x.Shape))
			if k >= 0 && x.Shape[k] != 1 {
				ss[i] = ist[k]
			}
		}
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.NewUninit(x.DType, shape...) // the plan covers it
		mv.strided(out.Data, x.Data, newDmPlan(shape, dmStridesInto(dmBuf(&ostBuf, r), shape), ss, 0, 0), redThreads(ctx))
		return ctx.Out(out), nil
	}), nil
}

// buildTile prepares Tile: the input repeated repeats[i] times along each
// axis i.
// https://onnx.ai/onnx/operators/onnx__Tile.html
func buildTile(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		reps, err := dmInts(in[1])
		if err != nil {
			return nil, nd.errf("repeats: %w", err)
		}
		r := len(x.Shape)
		if len(reps) != r {
			return nil, nd.errf("%d repeats for rank %d", len(reps), r)
		}
		var specBuf [MaxDims]int64
		spec := dmBuf(&specBuf, r)
		for i, k := range reps {
			if k < 0 {
				return nil, nd.errf("negative repeat %d", k)
			}
			if k > 0 && int64(x.Shape[i]) > dmMaxElems/k {
				return nil, nd.errf("repeat %d of an axis of %d is too large", k, x.Shape[i])
			}
			spec[i] = int64(x.Shape[i]) * k
		}
		var shapeBuf, istBuf, ostBuf [MaxDims]int
		shape, err := dmShapeInto(dmBuf(&shapeBuf, r), spec)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.NewUninit(x.DType, shape...) // the copies tile it
		// Iterate over [reps0, dim0, reps1, dim1, ...]: each repeat index
		// moves the destination by a whole copy of the axis and the source
		// not at all.
		ist, ost := dmStridesInto(dmBuf(&istBuf, r), x.Shape), dmStridesInto(dmBuf(&ostBuf, r), shape)
		var itBuf, dsBuf, ssBuf [2 * MaxDims]int
		var it, ds, ss []int
		if 2*r <= len(itBuf) {
			it, ds, ss = itBuf[:2*r], dsBuf[:2*r], ssBuf[:2*r]
		} else {
			it, ds, ss = make([]int, 2*r), make([]int, 2*r), make([]int, 2*r)
		}
		for i := 0; i < r; i++ {
			it[2*i], it[2*i+1] = int(reps[i]), x.Shape[i]
			ds[2*i], ds[2*i+1] = x.Shape[i]*ost[i], ost[i]
			ss[2*i], ss[2*i+1] = 0, ist[i]
		}
		mv.strided(out.Data, x.Data, newDmPlan(it, ds, ss, 0, 0), redThreads(ctx))
		return ctx.Out(out), nil
	}), nil
}
