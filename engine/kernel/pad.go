package kernel

import (
	"fmt"
	"math"
	"slices"
	"sync/atomic"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Pad", MaxOpset: dmMaxOpset, Build: buildPad})
}

// Pad modes.
const (
	dmPadConstant = iota
	dmPadReflect
	dmPadEdge
	dmPadWrap
)

// buildPad prepares Pad: each axis grows by pads at its start and end
// (negative pads crop). Opset 1 takes the attribute paddings, opsets 2-10
// pads, both with a float value; from opset 11 pads and the optional
// constant_value are inputs, and from 18 an optional axes input limits the
// padded axes. Modes: constant, reflect (mirror without repeating the
// edge), edge (repeat the edge) and wrap (opset 19+, cyclic).
// https://onnx.ai/onnx/operators/onnx__Pad.html
func buildPad(n *Node) (Kernel, error) {
	if err := dmRequire(n, dmIf(n.Opset >= 11, 2, 1)); err != nil {
		return nil, err
	}
	modeName, err := n.String("mode", "constant")
	if err != nil {
		return nil, err
	}
	var mode int
	switch modeName {
	case "constant":
		mode = dmPadConstant
	case "reflect":
		mode = dmPadReflect
	case "edge":
		mode = dmPadEdge
	case "wrap":
		if n.Opset < 19 {
			return nil, n.Errorf("mode wrap needs opset 19")
		}
		mode = dmPadWrap
	default:
		return nil, n.Errorf("unknown mode %q", modeName)
	}
	k := &dmPadKernel{nd: dmNodeOf(n), mode: mode}
	if n.Opset < 11 {
		name := "pads"
		if n.Opset < 2 {
			name = "paddings"
		}
		pads, err := n.Ints(name, nil)
		if err != nil {
			return nil, err
		}
		if pads == nil {
			return nil, n.Errorf("missing %s attribute", name)
		}
		value, err := n.Float("value", 0)
		if err != nil {
			return nil, err
		}
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			x := in[0]
			var val *tensor.Tensor
			if value != 0 || math.Signbit(float64(value)) {
				v, err := k.value(value, x.DType)
				if err != nil {
					return nil, k.nd.errf("value: %w", err)
				}
				val = v
			}
			out, err := k.pad(ctx, x, pads, nil, val)
			if err != nil {
				return nil, k.nd.errf("%w", err)
			}
			return ctx.Out(out), nil
		}), nil
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if len(in) < 2 || in[1] == nil {
			return nil, k.nd.errf("missing pads input")
		}
		pads, err := dmInts(in[1])
		if err != nil {
			return nil, k.nd.errf("pads: %w", err)
		}
		var val *tensor.Tensor
		if len(in) > 2 && in[2] != nil && in[2].Len() > 0 {
			val = in[2]
			if val.DType != x.DType || val.Len() != 1 {
				return nil, k.nd.errf("constant_value must be one %v element, got %v", x.DType, val)
			}
		}
		var axes []int64
		if len(in) > 3 && in[3] != nil {
			if axes, err = dmInts(in[3]); err != nil {
				return nil, k.nd.errf("axes: %w", err)
			}
		}
		out, err := k.pad(ctx, x, pads, axes, val)
		if err != nil {
			return nil, k.nd.errf("%w", err)
		}
		return ctx.Out(out), nil
	}), nil
}

// dmPadKernel is a prepared Pad node.
type dmPadKernel struct {
	nd   dmNode
	mode int
	// val is the value attribute of opsets 1-10 converted to the type of
	// the last input seen (read-only once published).
	val atomic.Pointer[tensor.Tensor]
	// maps is the index geometry of the last input shape and pads, for
	// the modes other than constant (read-only once published).
	maps atomic.Pointer[dmPadMaps]
}

// value returns the float value attribute converted to dt.
func (k *dmPadKernel) value(v float32, dt tensor.DataType) (*tensor.Tensor, error) {
	if t := k.val.Load(); t != nil && t.DType == dt {
		return t, nil
	}
	t, err := tensor.Convert(tensor.Scalar(v), dt)
	if err != nil {
		return nil, err
	}
	k.val.Store(t)
	return t, nil
}

// dmPadMaps is the geometry of a non-constant Pad for one input shape and
// pads: maps[k][o] is the input index read for output index o along axis
// k, rowOffs the input offset of each output row (all but the last axis).
type dmPadMaps struct {
	xShape, begin, end []int
	maps               [][]int
	rowOffs            []int
}

// padMaps returns the geometry for x's shape and the pads, from the last
// one made when they match.
func (k *dmPadKernel) padMaps(xShape, begin, end, shape, ist []int) *dmPadMaps {
	if m := k.maps.Load(); m != nil && slices.Equal(m.xShape, xShape) && slices.Equal(m.begin, begin) && slices.Equal(m.end, end) {
		return m
	}
	r := len(xShape)
	m := &dmPadMaps{xShape: slices.Clone(xShape), begin: slices.Clone(begin), end: slices.Clone(end), maps: make([][]int, r)}
	for a := range m.maps {
		d, mp := xShape[a], make([]int, shape[a])
		for o := range mp {
			i := o - begin[a]
			switch k.mode {
			case dmPadEdge:
				i = min(max(i, 0), d-1)
			case dmPadWrap:
				i = ((i % d) + d) % d
			case dmPadReflect:
				if d == 1 {
					i = 0
					break
				}
				period := 2 * (d - 1)
				i = ((i % period) + period) % period
				if i >= d {
					i = period - i
				}
			}
			mp[o] = i
		}
		m.maps[a] = mp
	}
	rows := tensor.NumElements(shape) / shape[r-1]
	m.rowOffs = make([]int, rows)
	coord := make([]int, r-1)
	for row := range m.rowOffs {
		off := 0
		for a, c := range coord {
			off += m.maps[a][c] * ist[a]
		}
		m.rowOffs[row] = off
		for a := r - 2; a >= 0; a-- {
			coord[a]++
			if coord[a] < shape[a] {
				break
			}
			coord[a] = 0
		}
	}
	k.maps.Store(m)
	return m
}

// pad pads x. axes nil means all axes; val nil means zero.
func (k *dmPadKernel) pad(ctx *Ctx, x *tensor.Tensor, pads, axes []int64, val *tensor.Tensor) (*tensor.Tensor, error) {
	mode := k.mode
	r := len(x.Shape)
	var beginBuf, endBuf [MaxDims]int
	begin, end := dmBuf(&beginBuf, r), dmBuf(&endBuf, r)
	if axes == nil {
		if len(pads) != 2*r {
			return nil, fmt.Errorf("%d pads for rank %d", len(pads), r)
		}
		for i := 0; i < r; i++ {
			begin[i], end[i] = int(pads[i]), int(pads[r+i])
		}
	} else {
		if len(pads) != 2*len(axes) {
			return nil, fmt.Errorf("%d pads for %d axes", len(pads), len(axes))
		}
		var seenBuf [MaxDims]bool
		seen := dmBuf(&seenBuf, r)
		for i, a := range axes {
			ax, ok := dmAxis(a, r)
			if !ok {
				return nil, fmt.Errorf("axis %d out of range for rank %d", a, r)
			}
			if seen[ax] {
				return nil, fmt.Errorf("axis %d repeated", a)
			}
			seen[ax] = true
			begin[ax], end[ax] = int(pads[i]), int(pads[len(axes)+i])
		}
	}
	var specBuf [MaxDims]int64
	spec := dmBuf(&specBuf, r)
	for i, d := range x.Shape {
		if math.Abs(float64(begin[i]))+math.Abs(float64(end[i])) > dmMaxElems {
			return nil, fmt.Errorf("pads %v are too large", pads)
		}
		spec[i] = int64(d + begin[i] + end[i])
		if spec[i] < 0 {
			return nil, fmt.Errorf("pads %v crop more than the input shape %v", pads, x.Shape)
		}
		if mode != dmPadConstant && d == 0 && spec[i] > 0 {
			return nil, fmt.Errorf("cannot pad an empty axis in mode %d", mode)
		}
	}
	var shapeBuf [MaxDims]int
	shape, err := dmShapeInto(dmBuf(&shapeBuf, r), spec)
	if err != nil {
		return nil, err
	}
	mv, err := dmMoverFor(x)
	if err != nil {
		return nil, err
	}
	if r == 0 {
		return x, nil
	}
	fill := mode == dmPadConstant && val != nil && !dmZeroScalar(val)
	var out *tensor.Tensor
	// Zero padding is cleared around the copied box below; otherwise the
	// output is filled, or every element mapped.
	zero := mode == dmPadConstant && !fill
	if zero && r > MaxDims {
		out = ctx.New(x.DType, shape...)
	} else {
		out = ctx.NewUninit(x.DType, shape...)
	}
	if out.Len() == 0 {
		return out, nil
	}
	var istBuf, ostBuf [MaxDims]int
	ist, ost := dmStridesInto(dmBuf(&istBuf, r), x.Shape), dmStridesInto(dmBuf(&ostBuf, r), shape)
	// The part of the input that survives cropping, and where it lands.
	var lensBuf [MaxDims]int
	lens := dmBuf(&lensBuf, r)
	doff, soff := 0, 0
	for i, d := range x.Shape {
		lens[i] = max(d-max(0, -begin[i])-max(0, -end[i]), 0)
		doff += max(0, begin[i]) * ost[i]
		soff += max(0, -begin[i]) * ist[i]
	}
	if mode == dmPadConstant {
		if fill {
			mv.fill(out.Data, val.Data, 0)
		} else if r <= MaxDims {
			b := dmBox{rank: r}
			for i := 0; i < r; i++ {
				b.shape[i], b.strides[i] = shape[i], ost[i]
				b.lo[i], b.lens[i] = max(0, begin[i]), lens[i]
			}
			mv.clearOutside(out.Data, b)
		}
		mv.strided(out.Data, x.Data, newDmPlan(lens, ost, ist, doff, soff), redThreads(ctx))
		return out, nil
	}
	// Other modes: each output coordinate reads a mapped input coordinate.
	m := k.padMaps(x.Shape, begin, end, shape, ist)
	// The output columns copied straight from the input (none when padding
	// and cropping leave nothing of the input on this axis).
	w := shape[r-1]
	lo := min(max(0, begin[r-1]), w)
	hi := min(lo+lens[r-1], w)
	mv.gatherRows(out.Data, x.Data, m.rowOffs, m.maps[r-1], lo, hi)
	return out, nil
}

// dmZeroScalar reports whether the first element of t is the zero value of
// its type (+0 for floats), so filling with it is a no-op on fresh memory.
func dmZeroScalar(t *tensor.Tensor) bool {
	switch d := t.Data.(type) {
	case []float32:
		return math.Float32bits(d[0]) == 0
	case []float64:
		return math.Float64bits(d[0]) == 0
	case []tensor.F16:
		return d[0] == 0
	case []tensor.BF16:
		return d[0] == 0
	case []int8:
		return d[0] == 0
	case []uint8:
		return d[0] == 0
	case []int16:
		return d[0] == 0
	case []uint16:
		return d[0] == 0
	case []int32:
		return d[0] == 0
	case []uint32:
		return d[0] == 0
	case []int64:
		return d[0] == 0
	case []uint64:
		return d[0] == 0
	case []bool:
		return !d[0]
	case []string:
		return d[0] == ""
	}
	return false
}
