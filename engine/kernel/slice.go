package kernel

import (
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Slice", MaxOpset: dmMaxOpset, Build: buildSlice})
}

// buildSlice prepares Slice: for each listed axis, elements start, start+step,
// ... up to but excluding end. Opsets 1-9 take starts, ends and axes as
// attributes (step 1); later opsets take starts, ends, axes and steps as
// inputs. Negative starts and ends count from the end of the axis; both are
// then clamped (to [0, dim] for positive steps, [-1, dim-1] for negative
// ones), so INT_MAX/INT_MIN mean "to the end".
// https://onnx.ai/onnx/operators/onnx__Slice.html
func buildSlice(n *Node) (Kernel, error) {
	if err := dmRequire(n, dmIf(n.Opset >= 10, 3, 1)); err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	if n.Opset < 10 {
		starts, err := n.Ints("starts", nil)
		if err != nil {
			return nil, err
		}
		ends, err := n.Ints("ends", nil)
		if err != nil {
			return nil, err
		}
		axes, err := n.Ints("axes", nil)
		if err != nil {
			return nil, err
		}
		if starts == nil || ends == nil {
			return nil, n.Errorf("missing starts or ends attribute")
		}
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			out, err := dmSlice(ctx, in[0], starts, ends, axes, nil)
			if err != nil {
				return nil, nd.errf("%w", err)
			}
			return ctx.Out(out), nil
		}), nil
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) < 3 || in[1] == nil || in[2] == nil {
			return nil, nd.errf("missing starts or ends input")
		}
		var args [4][]int64
		for i := 1; i < len(in) && i <= 4; i++ {
			if in[i] == nil {
				continue
			}
			v, err := dmInts(in[i])
			if err != nil {
				return nil, nd.errf("input %d: %w", i, err)
			}
			args[i-1] = v
		}
		out, err := dmSlice(ctx, in[0], args[0], args[1], args[2], args[3])
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		return ctx.Out(out), nil
	}), nil
}

// dmSlice slices x. axes nil means 0, 1, ...; steps nil means all 1.
func dmSlice(ctx *Ctx, x *tensor.Tensor, starts, ends, axes, steps []int64) (*tensor.Tensor, error) {
	r := len(x.Shape)
	if len(ends) != len(starts) || axes != nil && len(axes) != len(starts) || steps != nil && len(steps) != len(starts) {
		return nil, fmt.Errorf("starts, ends, axes and steps have different lengths (%d, %d, %d, %d)", len(starts), len(ends), len(axes), len(steps))
	}
	var shapeBuf, stBuf, ssBuf [MaxDims]int
	shape := dmBuf(&shapeBuf, r)
	copy(shape, x.Shape)
	st := dmStridesInto(dmBuf(&stBuf, r), x.Shape)
	ss := dmBuf(&ssBuf, r)
	copy(ss, st)
	soff := 0
	var seenBuf [MaxDims]bool
	seen := dmBuf(&seenBuf, r)
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		ax, ok := dmAxis(a, r)
		if !ok {
			return nil, fmt.Errorf("axis %d out of range for rank %d", a, r)
		}
		if seen[ax] {
			return nil, fmt.Errorf("axis %d repeated", a)
		}
		seen[ax] = true
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return nil, fmt.Errorf("step 0 on axis %d", a)
		}
		d := int64(x.Shape[ax])
		start, end := starts[i], ends[i]
		if start < 0 {
			start += d
		}
		if end < 0 {
			end += d
		}
		var cnt int64
		if step > 0 {
			start = min(max(start, 0), d)
			end = min(max(end, 0), d)
			if end > start {
				cnt = 1 + (end-start-1)/step
			}
		} else {
			start = min(max(start, -1), d-1)
			end = min(max(end, -1), d-1)
			if start > end {
				// -step overflows only for the minimum int64, where the
				// quotient is 0 either way.
				cnt = 1 + (start-end-1)/-step
			}
		}
		shape[ax] = int(cnt)
		if cnt > 0 {
			soff += int(start) * st[ax]
			ss[ax] = int(step) * st[ax]
		}
	}
	mv, err := dmMoverFor(x)
	if err != nil {
		return nil, err
	}
	var ostBuf [MaxDims]int
	p := newDmPlan(shape, dmStridesInto(dmBuf(&ostBuf, r), shape), ss, 0, soff)
	if p.total == x.Len() && p.isCopy() {
		return dmShare(ctx, x, shape), nil
	}
	out := ctx.NewUninit(x.DType, shape...) // the plan covers it
	mv.strided(out.Data, x.Data, p, redThreads(ctx))
	return out, nil
}
