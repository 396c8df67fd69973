package kernel

import (
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "ScatterND", MinOpset: 11, MaxOpset: dmMaxOpset, Build: buildScatterND})
	Register(Op{Type: "ScatterElements", MinOpset: 11, MaxOpset: dmMaxOpset, Build: buildScatterElements})
	// Scatter was deprecated in opset 11 in favour of ScatterElements.
	Register(Op{Type: "Scatter", MinOpset: 9, MaxOpset: 10, Build: buildScatter})
}

// dmReduction reads the reduction attribute (opset 16+; max and min from
// 18).
func dmReduction(n *Node) (int, error) {
	if n.Opset < 16 {
		return dmReduceNone, nil
	}
	s, err := n.String("reduction", "none")
	if err != nil {
		return 0, err
	}
	switch s {
	case "none":
		return dmReduceNone, nil
	case "add":
		return dmReduceAdd, nil
	case "mul":
		return dmReduceMul, nil
	case "max", "min":
		if n.Opset < 18 {
			return 0, n.Errorf("reduction %q needs opset 18", s)
		}
		if s == "max" {
			return dmReduceMax, nil
		}
		return dmReduceMin, nil
	}
	return 0, n.Errorf("unknown reduction %q", s)
}

// dmScatter returns a copy of x with the blocks of updates written (or
// combined by red) at offs, in order.
func dmScatter(ctx *Ctx, nd dmNode, x, updates *tensor.Tensor, offs []int, blk, red int) (*tensor.Tensor, error) {
	if updates.DType != x.DType {
		return nil, nd.errf("updates have type %v, data %v", updates.DType, x.DType)
	}
	if err := updates.Check(); err != nil {
		return nil, nd.errf("updates: %w", err)
	}
	if updates.Len() != len(offs)*blk {
		return nil, nd.errf("updates shape %v does not match the %d indexed slices of %d elements", updates.Shape, len(offs), blk)
	}
	if red != dmReduceNone && dmIsHalf(x.DType) {
		// Combine in float32, then round back once.
		xf, err := tensor.Convert(x, tensor.Float32)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		uf, err := tensor.Convert(updates, tensor.Float32)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		dmArithOf[float32]{}.scatterReduce(xf.Data, uf.Data, offs, blk, red)
		out, err := tensor.Convert(xf, x.DType)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		return out, nil
	}
	mv, err := dmMoverFor(x)
	if err != nil {
		return nil, nd.errf("%w", err)
	}
	out := ctx.New(x.DType, x.Shape...)
	mv.strided(out.Data, x.Data, newDmPlan([]int{x.Len()}, []int{1}, []int{1}, 0, 0), redThreads(ctx))
	if blk == 0 || len(offs) == 0 {
		return out, nil
	}
	if red == dmReduceNone {
		mv.scatterBlocks(out.Data, updates.Data, offs, blk)
		return out, nil
	}
	ar, ok := dmArithFor(out.Data)
	if !ok {
		return nil, nd.errf("reduction on %v elements", x.DType)
	}
	ar.scatterReduce(out.Data, updates.Data, offs, blk, red)
	return out, nil
}

// buildScatterND prepares ScatterND: a copy of data with the slices
// addressed by the index tuples of indices replaced by (or, opset 16+,
// combined with) the matching slices of updates.
// https://onnx.ai/onnx/operators/onnx__ScatterND.html
func buildScatterND(n *Node) (Kernel, error) {
	if err := dmRequire(n, 3); err != nil {
		return nil, err
	}
	red, err := dmReduction(n)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, it, upd := in[0], in[1], in[2]
		offs, blk, err := dmNDOffsets(x.Shape, it, 0)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		q := len(it.Shape)
		want := append(append([]int(nil), it.Shape[:q-1]...), x.Shape[it.Shape[q-1]:]...)
		if !dmSameShape(upd.Shape, want) {
			return nil, nd.errf("updates shape %v, want %v", upd.Shape, want)
		}
		out, err := dmScatter(ctx, nd, x, upd, offs, blk, red)
		if err != nil {
			return nil, err
		}
		return ctx.Out(out), nil
	}), nil
}

// dmSameShape reports whether two shapes are equal.
func dmSameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// buildScatterElements prepares ScatterElements: a copy of data where, for
// each element of indices, the element at the same coordinates except along
// axis (taken from indices) is replaced by (or, opset 16+, combined with)
// the matching element of updates.
// https://onnx.ai/onnx/operators/onnx__ScatterElements.html
func buildScatterElements(n *Node) (Kernel, error) {
	if err := dmRequire(n, 3); err != nil {
		return nil, err
	}
	red, err := dmReduction(n)
	if err != nil {
		return nil, err
	}
	return dmScatterElementsKernel(n, red)
}

// buildScatter prepares the deprecated Scatter (opsets 9-10), which is
// ScatterElements without reduction.
// https://onnx.ai/onnx/operators/onnx__Scatter.html
func buildScatter(n *Node) (Kernel, error) {
	if err := dmRequire(n, 3); err != nil {
		return nil, err
	}
	return dmScatterElementsKernel(n, dmReduceNone)
}

func dmScatterElementsKernel(n *Node, red int) (Kernel, error) {
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, it, upd := in[0], in[1], in[2]
		if !dmSameShape(upd.Shape, it.Shape) {
			return nil, nd.errf("updates shape %v differs from indices shape %v", upd.Shape, it.Shape)
		}
		offs, err := dmElementOffsets(x.Shape, it, axis)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out, err := dmScatter(ctx, nd, x, upd, offs, 1, red)
		if err != nil {
			return nil, err
		}
		return ctx.Out(out), nil
	}), nil
}
