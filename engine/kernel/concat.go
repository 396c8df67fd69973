package kernel

import (
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Concat", MaxOpset: dmMaxOpset, Build: buildConcat})
}

// buildConcat prepares Concat: the inputs joined along axis (in opset 1 an
// optional attribute defaulting to 1; negative values from opset 11).
// https://onnx.ai/onnx/operators/onnx__Concat.html
func buildConcat(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	def := int64(1)
	if n.Opset >= 4 && !n.Has("axis") {
		return nil, n.Errorf("missing axis attribute")
	}
	axis, err := n.Int("axis", def)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		var first *tensor.Tensor
		for _, t := range in {
			if t != nil {
				first = t
				break
			}
		}
		if first == nil {
			return nil, nd.errf("no inputs")
		}
		r := len(first.Shape)
		ax, ok := dmAxis(axis, r)
		if !ok {
			return nil, nd.errf("axis %d out of range for rank %d", axis, r)
		}
		var shapeBuf [MaxDims]int
		shape := dmBuf(&shapeBuf, r)
		copy(shape, first.Shape)
		shape[ax] = 0
		present := 0
		for i, t := range in {
			if t == nil {
				continue
			}
			present++
			if t.DType != first.DType {
				return nil, nd.errf("input %d has type %v, input 0 %v", i, t.DType, first.DType)
			}
			if len(t.Shape) != r {
				return nil, nd.errf("input %d has shape %v, input 0 %v", i, t.Shape, first.Shape)
			}
			for k, d := range t.Shape {
				if k != ax && d != first.Shape[k] {
					return nil, nd.errf("input %d has shape %v, input 0 %v", i, t.Shape, first.Shape)
				}
			}
			shape[ax] += t.Shape[ax]
		}
		if present == 1 {
			return ctx.Out(dmShare(ctx, first, shape)), nil
		}
		mv, err := dmMoverFor(first)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.NewUninit(first.DType, shape...) // the inputs tile it
		outer := dmProd(shape[:ax])
		inner := dmProd(shape[ax+1:])
		outRow := shape[ax] * inner
		off := 0
		for _, t := range in {
			if t == nil || t.Len() == 0 {
				continue
			}
			if err := t.Check(); err != nil {
				return nil, nd.errf("%w", err)
			}
			row := t.Shape[ax] * inner
			mv.strided(out.Data, t.Data, newDmPlan([]int{outer, row}, []int{outRow, 1}, []int{row, 1}, off, 0), redThreads(ctx))
			off += row
		}
		return ctx.Out(out), nil
	}), nil
}
