package kernel

import (
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "ArgMax", Build: func(n *Node) (Kernel, error) { return buildArgExtreme(n, true) }})
	Register(Op{Type: "ArgMin", Build: func(n *Node) (Kernel, error) { return buildArgExtreme(n, false) }})
}

// argmNumber is the set of element types ArgMax and ArgMin compare directly.
type argmNumber interface {
	int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64 | float32 | float64
}

// buildArgExtreme prepares ArgMax (isMax) or ArgMin: the int64 index of the
// largest (smallest) element along axis (default 0), the first one among
// equal values unless select_last_index (opset 12+) asks for the last.
// keepdims (default 1) keeps the reduced axis with size 1.
// https://onnx.ai/onnx/operators/onnx__ArgMax.html
func buildArgExtreme(n *Node, isMax bool) (Kernel, error) {
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	keep, err := n.Int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	last := int64(0)
	if n.Opset >= 12 {
		if last, err = n.Int("select_last_index", 0); err != nil {
			return nil, err
		}
	}
	name := n.Proto.GetOpType()
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) == 0 || in[0] == nil {
			return nil, fmt.Errorf("kernel: %s: missing input", name)
		}
		x := in[0]
		ax, err := redAxis(axis, len(x.Shape))
		if err != nil {
			return nil, fmt.Errorf("kernel: %s: %w", name, err)
		}
		outer, size, inner := argmSplit(x.Shape, ax)
		if size == 0 {
			return nil, fmt.Errorf("kernel: %s: axis %d of %v is empty", name, axis, x.Shape)
		}
		// The output shape, on the stack up to MaxDims dimensions.
		var shapeBuf [MaxDims]int
		shape := shapeBuf[:0]
		if len(x.Shape) > MaxDims {
			shape = make([]int, 0, len(x.Shape))
		}
		for i, d := range x.Shape {
			if i != ax {
				shape = append(shape, d)
			} else if keep != 0 {
				shape = append(shape, 1)
			}
		}
		out := ctx.NewUninit(tensor.Int64, shape...) // every position is written
		o := out.Data.([]int64)
		pickLast := last != 0
		switch xs := x.Data.(type) {
		case []float32:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []float64:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []int8:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []uint8:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []int16:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []uint16:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []int32:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []uint32:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []int64:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []uint64:
			argmRun(xs, o, outer, size, inner, isMax, pickLast)
		case []tensor.F16, []tensor.BF16:
			f, err := tensor.Float32s(x)
			if err != nil {
				return nil, fmt.Errorf("kernel: %s: %w", name, err)
			}
			argmRun(f, o, outer, size, inner, isMax, pickLast)
		default:
			return nil, fmt.Errorf("kernel: %s: %v input: %w", name, x.DType, ErrUnsupported)
		}
		return ctx.Out(out), nil
	}), nil
}

// argmSplit views shape as [outer, shape[axis], inner].
func argmSplit(shape []int, axis int) (outer, size, inner int) {
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner
}

// argmScratch recycles argmRun's per-column state.
var argmScratch scratchPool

// argmRun writes, for every (outer, inner) position, the index along the
// middle dimension of the extreme value. A NaN counts as the extreme (the
// first NaN, or the last with pickLast), as in NumPy.
func argmRun[T argmNumber](x []T, out []int64, outer, size, inner int, isMax, pickLast bool) {
	bestBuf, nanBuf := getScratch[T](&argmScratch, inner), getScratch[bool](&argmScratch, inner)
	defer putScratch(&argmScratch, bestBuf)
	defer putScratch(&argmScratch, nanBuf)
	best, isNaN := *bestBuf, *nanBuf
	for o := 0; o < outer; o++ {
		base := o * size * inner
		res := out[o*inner : (o+1)*inner]
		copy(best, x[base:base+inner])
		for i := range res {
			res[i] = 0
			isNaN[i] = best[i] != best[i]
		}
		for k := 1; k < size; k++ {
			row := x[base+k*inner : base+(k+1)*inner]
			for i, v := range row {
				if isNaN[i] {
					if pickLast && v != v {
						res[i] = int64(k)
					}
					continue
				}
				var better bool
				switch {
				case v != v:
					better, isNaN[i] = true, true
				case isMax:
					better = v > best[i] || (pickLast && v == best[i])
				default:
					better = v < best[i] || (pickLast && v == best[i])
				}
				if better {
					best[i], res[i] = v, int64(k)
				}
			}
		}
	}
}
