package kernel

import (
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
)

// Reshape, Flatten, Squeeze and Unsqueeze only change the shape: their
// output shares the input's data.

func init() {
	Register(Op{Type: "Reshape", MaxOpset: dmMaxOpset, Build: buildReshape})
	Register(Op{Type: "Flatten", MaxOpset: dmMaxOpset, Build: buildFlatten})
	Register(Op{Type: "Squeeze", MaxOpset: dmMaxOpset, Build: buildSqueeze})
	Register(Op{Type: "Unsqueeze", MaxOpset: dmMaxOpset, Build: buildUnsqueeze})
}

// dmReshapeTarget resolves a Reshape shape argument against the input
// shape: 0 copies the input dimension (unless allowzero), -1 is inferred.
// The result is written into buf when it fits.
func dmReshapeTarget(buf *[MaxDims]int, in []int, spec []int64, allowZero bool) ([]int, error) {
	out := dmBuf(buf, len(spec))
	infer := -1
	known := 1
	for i, d := range spec {
		switch {
		case d == -1:
			if infer >= 0 {
				return nil, fmt.Errorf("shape %v has more than one -1", spec)
			}
			infer = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, fmt.Errorf("shape %v copies dimension %d of a rank-%d input", spec, i, len(in))
			}
			out[i] = in[i]
		case d < 0 || d > dmMaxElems:
			return nil, fmt.Errorf("invalid dimension %d in shape %v", d, spec)
		default:
			out[i] = int(d)
		}
		known *= out[i]
	}
	total := tensor.NumElements(in)
	if infer >= 0 {
		if known == 0 {
			if total != 0 {
				return nil, fmt.Errorf("cannot infer -1 in shape %v for %d elements", spec, total)
			}
			out[infer] = 0
		} else {
			if total%known != 0 {
				return nil, fmt.Errorf("cannot reshape %v to %v", in, spec)
			}
			out[infer] = total / known
		}
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, spec)
	}
	return out, nil
}

// buildReshape prepares Reshape. Opsets 1-4 take the shape as an attribute,
// later ones as the second input; allowzero (opset 14+) makes 0 a real
// zero-size dimension instead of "copy the input's".
// https://onnx.ai/onnx/operators/onnx__Reshape.html
func buildReshape(n *Node) (Kernel, error) {
	if err := dmRequire(n, dmIf(n.Opset >= 5, 2, 1)); err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	n.Ignore("consumed_inputs")
	if n.Opset < 5 {
		spec, err := n.Ints("shape", nil)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			var buf [MaxDims]int
			shape, err := dmReshapeTarget(&buf, in[0].Shape, spec, false)
			if err != nil {
				return nil, nd.errf("%w", err)
			}
			return ctx.Out(dmShare(ctx, in[0], shape)), nil
		}), nil
	}
	allowZero, err := n.Int("allowzero", 0)
	if err != nil {
		return nil, err
	}
	if c := n.Const(1); c != nil {
		spec, err := dmInts(c)
		if err != nil {
			return nil, n.Errorf("shape: %w", err)
		}
		hasZero, hasInfer := false, false
		for _, d := range spec {
			hasZero = hasZero || d == 0
			hasInfer = hasInfer || d == -1
		}
		if allowZero != 0 && hasZero && hasInfer {
			return nil, n.Errorf("shape %v has both 0 and -1 with allowzero=1", spec)
		}
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) < 2 || in[1] == nil {
			return nil, nd.errf("missing shape input")
		}
		spec, err := dmInts(in[1])
		if err != nil {
			return nil, nd.errf("shape: %w", err)
		}
		var buf [MaxDims]int
		shape, err := dmReshapeTarget(&buf, in[0].Shape, spec, allowZero != 0)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		return ctx.Out(dmShare(ctx, in[0], shape)), nil
	}), nil
}

// buildFlatten prepares Flatten: dimensions before axis (default 1) become
// the first output dimension, the rest the second. Negative axes are
// allowed from opset 11.
// https://onnx.ai/onnx/operators/onnx__Flatten.html
func buildFlatten(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	axis, err := n.Int("axis", 1)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		r := len(x.Shape)
		a := axis
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || a > int64(r) {
			return nil, nd.errf("axis %d out of range for rank %d", axis, r)
		}
		return ctx.Out(dmShare(ctx, x, []int{dmProd(x.Shape[:a]), dmProd(x.Shape[a:])})), nil
	}), nil
}

// buildSqueeze prepares Squeeze: it removes the listed size-1 axes, or
// every size-1 axis when none are listed (attribute before opset 13, input
// from 13).
// https://onnx.ai/onnx/operators/onnx__Squeeze.html
func buildSqueeze(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	attrAxes, hasAttr, fromInput, err := dmReadAxes(n)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		axes, given := attrAxes, hasAttr
		if fromInput && len(in) > 1 && in[1] != nil {
			v, err := dmInts(in[1])
			if err != nil {
				return nil, nd.errf("axes: %w", err)
			}
			axes, given = v, true
		}
		r := len(x.Shape)
		var dropBuf [MaxDims]bool
		drop := dmBuf(&dropBuf, r)
		if given {
			for _, a := range axes {
				ax, ok := dmAxis(a, r)
				if !ok {
					return nil, nd.errf("axis %d out of range for rank %d", a, r)
				}
				if x.Shape[ax] != 1 {
					return nil, nd.errf("cannot squeeze axis %d of size %d (shape %v)", a, x.Shape[ax], x.Shape)
				}
				drop[ax] = true
			}
		} else {
			for i, d := range x.Shape {
				drop[i] = d == 1
			}
		}
		var buf [MaxDims]int
		shape := dmBuf(&buf, r)[:0]
		for i, d := range x.Shape {
			if !drop[i] {
				shape = append(shape, d)
			}
		}
		return ctx.Out(dmShare(ctx, x, shape)), nil
	}), nil
}

// dmReadAxes reads Squeeze/Unsqueeze axes: before opset 13 from the
// attribute (hasAttr reports whether it is present), from 13 on from the
// second input (fromInput).
func dmReadAxes(n *Node) (attr []int64, hasAttr, fromInput bool, err error) {
	if n.Opset >= 13 {
		return nil, false, true, nil
	}
	hasAttr = n.Has("axes")
	attr, err = n.Ints("axes", nil)
	return attr, hasAttr, false, err
}

// buildUnsqueeze prepares Unsqueeze: it inserts size-1 axes at the listed
// positions of the output (attribute before opset 13, input from 13).
// https://onnx.ai/onnx/operators/onnx__Unsqueeze.html
func buildUnsqueeze(n *Node) (Kernel, error) {
	if err := dmRequire(n, dmIf(n.Opset >= 13, 2, 1)); err != nil {
		return nil, err
	}
	attrAxes, hasAttr, fromInput, err := dmReadAxes(n)
	if err != nil {
		return nil, err
	}
	if !fromInput && !hasAttr {
		return nil, n.Errorf("missing axes attribute")
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		axes := attrAxes
		if fromInput {
			if len(in) < 2 || in[1] == nil {
				return nil, nd.errf("missing axes input")
			}
			v, err := dmInts(in[1])
			if err != nil {
				return nil, nd.errf("axes: %w", err)
			}
			axes = v
		}
		r := len(x.Shape) + len(axes)
		var insBuf [MaxDims]bool
		ins := dmBuf(&insBuf, r)
		for _, a := range axes {
			ax, ok := dmAxis(a, r)
			if !ok {
				return nil, nd.errf("axis %d out of range for output rank %d", a, r)
			}
			if ins[ax] {
				return nil, nd.errf("axis %d repeated in %v", a, axes)
			}
			ins[ax] = true
		}
		var buf [MaxDims]int
		shape := dmBuf(&buf, r)
		j := 0
		for i := range shape {
			if ins[i] {
				shape[i] = 1
				continue
			}
			shape[i] = x.Shape[j]
			j++
		}
		return ctx.Out(dmShare(ctx, x, shape)), nil
	}), nil
}
