package kernel

import (
	"slices"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Split", MaxOpset: dmMaxOpset, Build: buildSplit})
}

// buildSplit prepares Split: the input cut along axis into one piece per
// output. The sizes come from the split attribute (opsets 1-12; in opset 1
// also from the optional second input), the split input (13+), or else
// are equal; with num_outputs (18+) the last piece may be smaller.
// https://onnx.ai/onnx/operators/onnx__Split.html
func buildSplit(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	var attrSplit []int64
	if n.Opset < 13 {
		if attrSplit, err = n.Ints("split", nil); err != nil {
			return nil, err
		}
	}
	splitInput := (n.Opset >= 13 || n.Opset == 1) && n.HasInput(1)
	numOutputs := int64(0)
	if n.Opset >= 18 {
		if numOutputs, err = n.Int("num_outputs", 0); err != nil {
			return nil, err
		}
		if numOutputs != 0 && splitInput {
			return nil, n.Errorf("both split and num_outputs given")
		}
		if numOutputs != 0 && numOutputs != int64(len(n.Outputs)) {
			return nil, n.Errorf("num_outputs %d but %d outputs", numOutputs, len(n.Outputs))
		}
	}
	nout := len(n.Outputs)
	if nout == 0 {
		return nil, n.Errorf("no outputs")
	}
	if attrSplit != nil && len(attrSplit) != nout {
		return nil, n.Errorf("split %v has %d entries for %d outputs", attrSplit, len(attrSplit), nout)
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		ax, ok := dmAxis(axis, len(x.Shape))
		if !ok {
			return nil, nd.errf("axis %d out of range for rank %d", axis, len(x.Shape))
		}
		dim := x.Shape[ax]
		sizes := attrSplit
		if splitInput && len(in) > 1 && in[1] != nil {
			v, err := dmInts(in[1])
			if err != nil {
				return nil, nd.errf("split: %w", err)
			}
			if len(v) != nout {
				return nil, nd.errf("split %v has %d entries for %d outputs", v, len(v), nout)
			}
			sizes = v
		}
		var sizeBuf [MaxDims]int64
		if sizes == nil {
			if nout <= len(sizeBuf) {
				sizes = sizeBuf[:nout]
			} else {
				sizes = make([]int64, nout)
			}
			chunk := int64(dim / nout)
			if dim%nout != 0 {
				if numOutputs == 0 {
					return nil, nd.errf("axis of size %d does not split into %d equal parts", dim, nout)
				}
				chunk++
			}
			rest := int64(dim)
			for i := range sizes {
				sizes[i] = min(chunk, rest)
				rest -= sizes[i]
			}
		}
		total := int64(0)
		for _, s := range sizes {
			if s < 0 {
				return nil, nd.errf("negative split size in %v", slices.Clone(sizes))
			}
			total += s
		}
		if total != int64(dim) {
			return nil, nd.errf("split %v does not add up to %d", slices.Clone(sizes), dim)
		}
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		outer, inner := dmProd(x.Shape[:ax]), dmProd(x.Shape[ax+1:])
		inRow := dim * inner
		var outBuf [MaxDims]*tensor.Tensor
		outs := dmBuf(&outBuf, nout)
		var shapeBuf [MaxDims]int
		shape := dmBuf(&shapeBuf, len(x.Shape))
		copy(shape, x.Shape)
		off := 0
		for i, s := range sizes {
			shape[ax] = int(s)
			outs[i] = ctx.NewUninit(x.DType, shape...) // the plan covers it
			row := int(s) * inner
			mv.strided(outs[i].Data, x.Data, newDmPlan([]int{outer, row}, []int{row, 1}, []int{inRow, 1}, 0, off), redThreads(ctx))
			off += row
		}
		return ctx.Out(outs...), nil
	}), nil
}
