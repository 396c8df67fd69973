package kernel

// This file holds the helpers shared by the shape and data-movement kernels
// (reshape.go, transpose.go, concat.go, split.go, slice.go, gather.go,
// scatter.go, pad.go, expand.go, shape.go) and the smaller data operators:
// Dropout, OneHot, Trilu, NonZero, CumSum, ReverseSequence and Unique.
//
// Data movement is written once for every element type: dmMoverOf[T] holds
// generic loops over []T, and dmMoverFor picks the instantiation from the
// Go type of a tensor's Data with a single type switch per kernel call.
// Helpers are prefixed dm to keep them apart from other kernel families.

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/tensor"
)

// dmMaxOpset is the highest opset the operators of this family are
// registered for. Opsets 26 and 27 added new operators (BitCast, CumProd,
// FlexAttention, CausalConvWithState, LinearAttention) and a new Range
// version (float16/bfloat16 and stash_type), but changed no other
// operator here: ONNX's 1.22 conformance suite has no opset-26/27 case of
// them, and ONNX Runtime's opset 26 and 27 integrations added no kernel
// version for them.
const dmMaxOpset = 27

func init() {
	Register(Op{Type: "Dropout", MaxOpset: dmMaxOpset, Build: buildDropout})
	Register(Op{Type: "OneHot", MinOpset: 9, MaxOpset: dmMaxOpset, Build: buildOneHot})
	Register(Op{Type: "Trilu", MinOpset: 14, MaxOpset: dmMaxOpset, Build: buildTrilu})
	Register(Op{Type: "NonZero", MinOpset: 9, MaxOpset: dmMaxOpset, Build: buildNonZero})
	Register(Op{Type: "CumSum", MinOpset: 11, MaxOpset: dmMaxOpset, Build: buildCumSum})
	Register(Op{Type: "ReverseSequence", MinOpset: 10, MaxOpset: dmMaxOpset, Build: buildReverseSequence})
	Register(Op{Type: "Unique", MinOpset: 11, MaxOpset: dmMaxOpset, Build: buildUnique})
}

// dmNode names a node in run-time errors without keeping the build-time
// Node alive.
type dmNode struct{ op, name string }

func dmNodeOf(n *Node) dmNode { return dmNode{op: n.Proto.GetOpType(), name: n.Name()} }

// errf returns an error naming the node, in the style of Node.Errorf.
func (d dmNode) errf(format string, args ...any) error {
	return fmt.Errorf("kernel: %s node %q: %w", d.op, d.name, fmt.Errorf(format, args...))
}

// dmAxis maps an axis in [-rank, rank) to [0, rank).
func dmAxis(axis int64, rank int) (int, bool) {
	if axis < 0 {
		axis += int64(rank)
	}
	if axis < 0 || axis >= int64(rank) {
		return 0, false
	}
	return int(axis), true
}

// dmStrides returns the row-major element strides of shape.
func dmStrides(shape []int) []int {
	return dmStridesInto(make([]int, len(shape)), shape)
}

// dmStridesInto writes the row-major element strides of shape into st
// (of the same length) and returns it.
func dmStridesInto(st, shape []int) []int {
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// dmBuf returns n values: buf[:n] when they fit (a caller's array on its
// stack), else a new slice. Kernels use it for per-run shapes and strides.
func dmBuf[T any](buf *[MaxDims]T, n int) []T {
	if n <= len(buf) {
		return buf[:n]
	}
	return make([]T, n)
}

// dmProd returns the product of dims (1 for none).
func dmProd(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}

// dmInts reads an integer tensor used as an argument (shape, axes, pads).
func dmInts(t *tensor.Tensor) ([]int64, error) {
	return tensor.Int64s(t)
}

// dmScalarInt reads an integer tensor holding exactly one element (a scalar
// or a one-element vector).
func dmScalarInt(t *tensor.Tensor) (int64, error) {
	v, err := tensor.Int64s(t)
	if err != nil {
		return 0, err
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("want one element, got shape %v", t.Shape)
	}
	return v[0], nil
}

// dmMaxElems bounds the size of an output computed from run-time values
// (Range, Expand, Tile, ConstantOfShape, OneHot, Pad, ...), so a bad input
// gives an error instead of an attempt to allocate the impossible.
const dmMaxElems = 1 << 31

// dmShapeFrom converts shape values to ints, rejecting negative dimensions
// and shapes of more than dmMaxElems elements.
func dmShapeFrom(v []int64) ([]int, error) {
	return dmShapeInto(make([]int, len(v)), v)
}

// dmShapeInto is dmShapeFrom writing into out (of v's length). Neither
// escapes (errors format copies), so both may be on the caller's stack.
func dmShapeInto(out []int, v []int64) ([]int, error) {
	total, zero, tooLarge := int64(1), false, false
	for i, d := range v {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension %d in shape %v", d, slices.Clone(v))
		}
		if d > dmMaxElems {
			tooLarge = true
		} else if d > 0 && !tooLarge {
			if total > dmMaxElems/d {
				tooLarge = true
			} else {
				total *= d
			}
		}
		zero = zero || d == 0
		out[i] = int(d)
	}
	if tooLarge && !zero {
		return nil, fmt.Errorf("shape %v is too large", slices.Clone(v))
	}
	return out, nil
}

// dmIf returns a when cond holds, else b.
func dmIf(cond bool, a, b int) int {
	if cond {
		return a
	}
	return b
}

// dmRequire checks that the first k inputs of n are present.
func dmRequire(n *Node, k int) error {
	for i := 0; i < k; i++ {
		if !n.HasInput(i) {
			return n.Errorf("missing input %d (%d required)", i, k)
		}
	}
	return nil
}

// dmShare returns a tensor with a new shape (copied) sharing t's data
// (kernels never write into their inputs, so sharing is safe); its header
// is the engine's recycled one.
func dmShare(ctx *Ctx, t *tensor.Tensor, shape []int) *tensor.Tensor {
	return ctx.View(t.DType, shape, t.Data)
}

// dmMover moves elements between slices of one element type, given as the
// Data of tensors. All offsets and lengths are in elements and are
// validated by the callers.
type dmMover interface {
	// strided copies the elements described by p from src to dst (p is
	// passed by value so that callers' plans stay on their stacks).
	strided(dst, src any, p dmPlan, threads int)
	// stridedRange runs units [lo, hi) of p (see dmPlan.split).
	stridedRange(dst, src any, p *dmPlan, blocked bool, lo, hi int)
	// gatherBlocks sets dst[i*blk:(i+1)*blk] = src[offs[i]:offs[i]+blk].
	gatherBlocks(dst, src any, offs []int, blk int)
	// gather sets block (o, j) of dst (blocks of inner elements, outer
	// rows of len(idx)) to block (o, k) of src (outer rows of dim blocks),
	// k being idx[j], counted from the end when negative; the indices are
	// known to be in range.
	gather(dst, src any, idx []int64, outer, dim, inner int)
	// scatterBlocks sets dst[offs[i]:offs[i]+blk] = src[i*blk:(i+1)*blk],
	// in order (a later block overwrites an earlier one).
	scatterBlocks(dst, src any, offs []int, blk int)
	// fill sets every element of dst to src[i].
	fill(dst, src any, i int)
	// clearOutside sets to the zero value every element of dst outside
	// the box b (passed by value, so that callers' boxes stay on their
	// stacks).
	clearOutside(dst any, b dmBox)
	// fillAt sets dst[o] = src[i] for every o in offs.
	fillAt(dst, src any, i int, offs []int)
	// gatherRows sets row r of dst (rows of len(cols) elements) to
	// src[rowOffs[r]+cols[j]]; cols[lo:hi] is known to be contiguous.
	gatherRows(dst, src any, rowOffs, cols []int, lo, hi int)
	// trilu copies the kept triangle of batch n-by-m matrices; dst is zero.
	trilu(dst, src any, batch, n, m, k int, upper bool)
}

// dmMoverOf implements dmMover for element type T.
type dmMoverOf[T any] struct{}

// dmMoverFor returns the mover for t's element type, after checking that
// t's data agrees with its type and shape.
func dmMoverFor(t *tensor.Tensor) (dmMover, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	switch t.Data.(type) {
	case []float32:
		return dmMoverOf[float32]{}, nil
	case []float64:
		return dmMoverOf[float64]{}, nil
	case []tensor.F16:
		return dmMoverOf[tensor.F16]{}, nil
	case []tensor.BF16:
		return dmMoverOf[tensor.BF16]{}, nil
	case []int8:
		return dmMoverOf[int8]{}, nil
	case []uint8:
		return dmMoverOf[uint8]{}, nil
	case []int16:
		return dmMoverOf[int16]{}, nil
	case []uint16:
		return dmMoverOf[uint16]{}, nil
	case []int32:
		return dmMoverOf[int32]{}, nil
	case []uint32:
		return dmMoverOf[uint32]{}, nil
	case []int64:
		return dmMoverOf[int64]{}, nil
	case []uint64:
		return dmMoverOf[uint64]{}, nil
	case []bool:
		return dmMoverOf[bool]{}, nil
	case []string:
		return dmMoverOf[string]{}, nil
	}
	return nil, fmt.Errorf("unsupported element type %T", t.Data)
}

func (m dmMoverOf[T]) strided(dst, src any, p dmPlan, threads int) {
	dmRun[T](m, dst, src, &p, threads)
}

func (dmMoverOf[T]) stridedRange(dst, src any, p *dmPlan, blocked bool, lo, hi int) {
	dmRange(dst.([]T), src.([]T), p, blocked, lo, hi)
}

func (dmMoverOf[T]) gatherBlocks(dst, src any, offs []int, blk int) {
	d, s := dst.([]T), src.([]T)
	if blk == 1 {
		d = d[:len(offs)]
		for i, o := range offs {
			d[i] = s[o]
		}
		return
	}
	for i, o := range offs {
		copy(d[i*blk:(i+1)*blk], s[o:o+blk])
	}
}

func (dmMoverOf[T]) gather(dst, src any, idx []int64, outer, dim, inner int) {
	d, s := dst.([]T), src.([]T)
	n := len(idx)
	if inner == 1 {
		for o := 0; o < outer; o++ {
			row, srow := d[o*n:(o+1)*n], s[o*dim:(o+1)*dim]
			for j, v := range idx {
				if v < 0 {
					v += int64(dim)
				}
				row[j] = srow[v]
			}
		}
		return
	}
	for o := 0; o < outer; o++ {
		for j, v := range idx {
			if v < 0 {
				v += int64(dim)
			}
			k := (o*dim + int(v)) * inner
			copy(d[(o*n+j)*inner:(o*n+j+1)*inner], s[k:k+inner])
		}
	}
}

func (dmMoverOf[T]) scatterBlocks(dst, src any, offs []int, blk int) {
	d, s := dst.([]T), src.([]T)
	if blk == 1 {
		s = s[:len(offs)]
		for i, o := range offs {
			d[o] = s[i]
		}
		return
	}
	for i, o := range offs {
		copy(d[o:o+blk], s[i*blk:(i+1)*blk])
	}
}

func (dmMoverOf[T]) fill(dst, src any, i int) {
	d, v := dst.([]T), src.([]T)[i]
	for j := range d {
		d[j] = v
	}
}

// dmBox is a box of a row-major array of rank at most MaxDims: the array's
// shape and strides, and the box's first index and length per axis.
type dmBox struct {
	rank                     int
	shape, strides, lo, lens [MaxDims]int
}

func (dmMoverOf[T]) clearOutside(dst any, b dmBox) {
	d := dst.([]T)
	r := b.rank
	shape, strides, lo, lens := b.shape[:r], b.strides[:r], b.lo[:r], b.lens[:r]
	// Axes from inner on are not cut by the box: inside the box, whole
	// blocks of strides[inner-1] elements are kept.
	inner := len(shape)
	for inner > 0 && lo[inner-1] == 0 && lens[inner-1] == shape[inner-1] {
		inner--
	}
	if inner == 0 {
		return
	}
	dmClearOutside(d, shape, strides, lo, lens, inner, 0, 0)
}

// dmClearOutside clears the elements of axis a on (from offset base)
// outside the box; axes from inner on are whole.
func dmClearOutside[T any](d []T, shape, strides, lo, lens []int, inner, a, base int) {
	st := strides[a]
	lo0, hi0 := min(lo[a], shape[a]), min(lo[a]+lens[a], shape[a])
	if lens[a] == 0 {
		hi0 = lo0
	}
	clear(d[base : base+lo0*st])
	clear(d[base+hi0*st : base+shape[a]*st])
	if a+1 >= inner {
		return
	}
	for i := lo0; i < hi0; i++ {
		dmClearOutside(d, shape, strides, lo, lens, inner, a+1, base+i*st)
	}
}

func (dmMoverOf[T]) fillAt(dst, src any, i int, offs []int) {
	d, v := dst.([]T), src.([]T)[i]
	for _, o := range offs {
		d[o] = v
	}
}

func (dmMoverOf[T]) gatherRows(dst, src any, rowOffs, cols []int, lo, hi int) {
	d, s := dst.([]T), src.([]T)
	w := len(cols)
	for r, base := range rowOffs {
		row := d[r*w : (r+1)*w]
		for j := 0; j < lo; j++ {
			row[j] = s[base+cols[j]]
		}
		if hi > lo {
			copy(row[lo:hi], s[base+cols[lo]:base+cols[lo]+hi-lo])
		}
		for j := hi; j < w; j++ {
			row[j] = s[base+cols[j]]
		}
	}
}

func (dmMoverOf[T]) trilu(dst, src any, batch, n, m, k int, upper bool) {
	d, s := dst.([]T), src.([]T)
	for b := 0; b < batch; b++ {
		for i := 0; i < n; i++ {
			off := (b*n + i) * m
			lo, hi := 0, m
			if upper {
				lo = min(max(i+k, 0), m)
			} else {
				hi = min(max(i+k+1, 0), m)
			}
			if hi > lo {
				copy(d[off+lo:off+hi], s[off+lo:off+hi])
			}
		}
	}
}

// dmNumber is the set of element types the arithmetic helpers work on
// directly; float16 and bfloat16 go through float32.
type dmNumber interface {
	int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64 | float32 | float64
}

// Reductions of ScatterND and ScatterElements.
const (
	dmReduceNone = iota
	dmReduceAdd
	dmReduceMul
	dmReduceMax
	dmReduceMin
)

// dmArith runs the arithmetic data operators on one numeric element type.
type dmArith interface {
	// scatterReduce combines src blocks into dst at offs (see scatterBlocks).
	scatterReduce(dst, src any, offs []int, blk, red int)
	// cumsum writes the running sums of src along the middle axis of an
	// [outer, n, inner] layout into dst.
	cumsum(dst, src any, outer, n, inner int, exclusive, reverse bool)
}

type dmArithOf[T dmNumber] struct{}

// dmArithFor returns the arithmetic helper for a numeric tensor, or false
// for float16, bfloat16, bool and string (callers convert half floats to
// float32 first).
func dmArithFor(data any) (dmArith, bool) {
	switch data.(type) {
	case []float32:
		return dmArithOf[float32]{}, true
	case []float64:
		return dmArithOf[float64]{}, true
	case []int8:
		return dmArithOf[int8]{}, true
	case []uint8:
		return dmArithOf[uint8]{}, true
	case []int16:
		return dmArithOf[int16]{}, true
	case []uint16:
		return dmArithOf[uint16]{}, true
	case []int32:
		return dmArithOf[int32]{}, true
	case []uint32:
		return dmArithOf[uint32]{}, true
	case []int64:
		return dmArithOf[int64]{}, true
	case []uint64:
		return dmArithOf[uint64]{}, true
	}
	return nil, false
}

func (dmArithOf[T]) scatterReduce(dst, src any, offs []int, blk, red int) {
	d, s := dst.([]T), src.([]T)
	for i, o := range offs {
		dd, ss := d[o:o+blk], s[i*blk:(i+1)*blk]
		switch red {
		case dmReduceAdd:
			for j, v := range ss {
				dd[j] += v
			}
		case dmReduceMul:
			for j, v := range ss {
				dd[j] *= v
			}
		case dmReduceMax:
			for j, v := range ss {
				dd[j] = max(dd[j], v)
			}
		case dmReduceMin:
			for j, v := range ss {
				dd[j] = min(dd[j], v)
			}
		default:
			copy(dd, ss)
		}
	}
}

func (dmArithOf[T]) cumsum(dst, src any, outer, n, inner int, exclusive, reverse bool) {
	d, s := dst.([]T), src.([]T)
	for o := 0; o < outer; o++ {
		base := o * n * inner
		for step := 0; step < n; step++ {
			k, prev := step, step-1
			if reverse {
				k, prev = n-1-step, n-step
			}
			row := d[base+k*inner : base+(k+1)*inner]
			if step == 0 {
				if exclusive {
					clear(row)
				} else {
					copy(row, s[base+k*inner:base+(k+1)*inner])
				}
				continue
			}
			acc := d[base+prev*inner : base+(prev+1)*inner]
			add := s[base+k*inner : base+(k+1)*inner]
			if exclusive {
				add = s[base+prev*inner : base+(prev+1)*inner]
			}
			for j := range row {
				row[j] = acc[j] + add[j]
			}
		}
	}
}

// dmIsHalf reports whether dt is stored as 16-bit float bit patterns.
func dmIsHalf(dt tensor.DataType) bool { return dt == tensor.Float16 || dt == tensor.BFloat16 }

// buildDropout prepares Dropout for inference: the output is the input and
// the optional mask keeps everything. Dropout 1 and 6 carry is_test; like
// ONNX Runtime the engine always runs them in test mode. From opset 12 the
// training_mode input must be a constant false, or true with a constant
// ratio of 0: random dropping is not implemented.
// https://onnx.ai/onnx/operators/onnx__Dropout.html
func buildDropout(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	n.Ignore("consumed_inputs", "is_test", "seed")
	if n.Opset < 12 {
		if _, err := n.Float("ratio", 0.5); err != nil {
			return nil, err
		}
	} else {
		if n.HasInput(2) {
			tm := n.Const(2)
			if tm == nil {
				return nil, n.Unsupported("training_mode given at run time (training-mode dropout is not implemented)")
			}
			training, err := dmBoolScalar(tm)
			if err != nil {
				return nil, n.Errorf("training_mode: %w", err)
			}
			if training {
				r := n.Const(1)
				if !n.HasInput(1) || r == nil {
					return nil, n.Unsupported("training-mode dropout with a non-zero ratio")
				}
				f, err := tensor.Float32s(r)
				if err != nil || len(f) != 1 {
					return nil, n.Errorf("ratio must be a float scalar")
				}
				if f[0] != 0 {
					return nil, n.Unsupported("training-mode dropout with a non-zero ratio")
				}
			}
		}
	}
	wantMask := n.HasOutput(1)
	boolMask := n.Opset >= 10
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if !wantMask {
			return ctx.Out(x), nil
		}
		var mask *tensor.Tensor
		if boolMask {
			mask = ctx.New(tensor.Bool, x.Shape...)
			m := mask.Data.([]bool)
			for i := range m {
				m[i] = true
			}
		} else {
			one, err := tensor.Convert(tensor.Scalar(float32(1)), x.DType)
			if err != nil {
				return nil, err
			}
			mask = ctx.New(x.DType, x.Shape...)
			mv, err := dmMoverFor(mask)
			if err != nil {
				return nil, err
			}
			mv.fill(mask.Data, one.Data, 0)
		}
		return ctx.Out(x, mask), nil
	}), nil
}

// dmBoolScalar reads a one-element bool (or integer) tensor.
func dmBoolScalar(t *tensor.Tensor) (bool, error) {
	if b, ok := t.Data.([]bool); ok {
		if len(b) != 1 {
			return false, fmt.Errorf("want one element, got shape %v", t.Shape)
		}
		return b[0], nil
	}
	v, err := dmScalarInt(t)
	return v != 0, err
}

// buildOneHot prepares OneHot: indices (any numeric type; negative ones
// count from depth), a scalar depth and values [off, on]; the output has
// values' type and a new axis of size depth.
// https://onnx.ai/onnx/operators/onnx__OneHot.html
func buildOneHot(n *Node) (Kernel, error) {
	if err := dmRequire(n, 3); err != nil {
		return nil, err
	}
	axis, err := n.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		ind, depthT, values := in[0], in[1], in[2]
		if values.Len() != 2 {
			return nil, nd.errf("values must hold 2 elements, got shape %v", values.Shape)
		}
		dt, err := tensor.Convert(depthT, tensor.Int64)
		if err != nil || dt.Len() != 1 {
			return nil, nd.errf("depth must be a numeric scalar (got %v)", depthT)
		}
		depth64 := dt.Data.([]int64)[0]
		if depth64 <= 0 || depth64 > dmMaxElems || int64(int(depth64)) != depth64 {
			return nil, nd.errf("depth %d out of range", depth64)
		}
		depth := int(depth64)
		var idx []int64
		if ind.DType.IsFloat() {
			c, err := tensor.Convert(ind, tensor.Int64)
			if err != nil {
				return nil, nd.errf("indices: %w", err)
			}
			idx = c.Data.([]int64)
		} else if idx, err = dmInts(ind); err != nil {
			return nil, nd.errf("indices: %w", err)
		}
		r := len(ind.Shape)
		ax, ok := dmAxis(axis, r+1)
		if !ok {
			return nil, nd.errf("axis %d out of range for output rank %d", axis, r+1)
		}
		if ind.Len() > 0 && depth64 > dmMaxElems/int64(ind.Len()) {
			return nil, nd.errf("output of %d x %d elements is too large", ind.Len(), depth)
		}
		shape := make([]int, 0, r+1)
		shape = append(shape, ind.Shape[:ax]...)
		shape = append(shape, depth)
		shape = append(shape, ind.Shape[ax:]...)
		inner := dmProd(ind.Shape[ax:])
		out := ctx.New(values.DType, shape...)
		mv, err := dmMoverFor(values)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		mv.fill(out.Data, values.Data, 0)
		offs := make([]int, 0, len(idx))
		for i, v := range idx {
			if v < 0 {
				v += int64(depth)
			}
			if v < 0 || v >= int64(depth) {
				continue
			}
			o, j := i/inner, i%inner
			offs = append(offs, (o*depth+int(v))*inner+j)
		}
		mv.fillAt(out.Data, values.Data, 1, offs)
		return ctx.Out(out), nil
	}), nil
}

// buildTrilu prepares Trilu: the upper (upper=1, default) or lower triangle
// of the last two dimensions, shifted by the optional scalar k input.
// https://onnx.ai/onnx/operators/onnx__Trilu.html
func buildTrilu(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	upper, err := n.Int("upper", 1)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		r := len(x.Shape)
		if r < 2 {
			return nil, nd.errf("input rank %d, want at least 2", r)
		}
		k := int64(0)
		if len(in) > 1 && in[1] != nil {
			var err error
			if k, err = dmScalarInt(in[1]); err != nil {
				return nil, nd.errf("k: %w", err)
			}
		}
		rows, cols := x.Shape[r-2], x.Shape[r-1]
		k = max(min(k, int64(cols)+1), -int64(rows)-1)
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.New(x.DType, x.Shape...)
		if x.Len() > 0 {
			mv.trilu(out.Data, x.Data, x.Len()/(rows*cols), rows, cols, int(k), upper != 0)
		}
		return ctx.Out(out), nil
	}), nil
}

// buildNonZero prepares NonZero: the int64 [rank, count] coordinates of the
// non-zero elements in row-major order (a scalar counts as a 1-D tensor, as
// in numpy).
// https://onnx.ai/onnx/operators/onnx__NonZero.html
func buildNonZero(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if err := x.Check(); err != nil {
			return nil, nd.errf("%w", err)
		}
		var flat []int
		switch d := x.Data.(type) {
		case []float32:
			flat = dmNonZeroT(d)
		case []float64:
			flat = dmNonZeroT(d)
		case []tensor.F16:
			flat = dmNonZeroHalf(d)
		case []tensor.BF16:
			flat = dmNonZeroHalf(d)
		case []int8:
			flat = dmNonZeroT(d)
		case []uint8:
			flat = dmNonZeroT(d)
		case []int16:
			flat = dmNonZeroT(d)
		case []uint16:
			flat = dmNonZeroT(d)
		case []int32:
			flat = dmNonZeroT(d)
		case []uint32:
			flat = dmNonZeroT(d)
		case []int64:
			flat = dmNonZeroT(d)
		case []uint64:
			flat = dmNonZeroT(d)
		case []bool:
			flat = dmNonZeroT(d)
		case []string:
			flat = dmNonZeroT(d)
		default:
			return nil, nd.errf("unsupported element type %v", x.DType)
		}
		shape := x.Shape
		if len(shape) == 0 {
			shape = []int{1}
		}
		r, cnt := len(shape), len(flat)
		out := ctx.New(tensor.Int64, r, cnt)
		o := out.Data.([]int64)
		for j, f := range flat {
			for a := r - 1; a >= 0; a-- {
				o[a*cnt+j] = int64(f % shape[a])
				f /= shape[a]
			}
		}
		return ctx.Out(out), nil
	}), nil
}

// dmNonZeroT returns the flat indices of the elements that differ from T's
// zero value (for floats, -0 equals 0 and NaN is non-zero).
func dmNonZeroT[T comparable](x []T) []int {
	var zero T
	var out []int
	for i, v := range x {
		if v != zero {
			out = append(out, i)
		}
	}
	return out
}

// dmNonZeroHalf is dmNonZeroT for 16-bit float bit patterns, where both
// signed zeros are zero.
func dmNonZeroHalf[T tensor.F16 | tensor.BF16](x []T) []int {
	var out []int
	for i, v := range x {
		if v&0x7fff != 0 {
			out = append(out, i)
		}
	}
	return out
}

// buildCumSum prepares CumSum: running sums along the axis given by the
// second input, optionally exclusive (each output omits its own element)
// and/or reversed.
// https://onnx.ai/onnx/operators/onnx__CumSum.html
func buildCumSum(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	exclusive, err := n.Int("exclusive", 0)
	if err != nil {
		return nil, err
	}
	reverse, err := n.Int("reverse", 0)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		a, err := dmScalarInt(in[1])
		if err != nil {
			return nil, nd.errf("axis: %w", err)
		}
		ax, ok := dmAxis(a, len(x.Shape))
		if !ok {
			return nil, nd.errf("axis %d out of range for rank %d", a, len(x.Shape))
		}
		src := x
		if dmIsHalf(x.DType) {
			if src, err = tensor.Convert(x, tensor.Float32); err != nil {
				return nil, nd.errf("%w", err)
			}
		}
		ar, ok := dmArithFor(src.Data)
		if !ok {
			return nil, nd.errf("unsupported element type %v", x.DType)
		}
		out := ctx.New(src.DType, x.Shape...)
		ar.cumsum(out.Data, src.Data, dmProd(x.Shape[:ax]), x.Shape[ax], dmProd(x.Shape[ax+1:]), exclusive != 0, reverse != 0)
		if src != x {
			if out, err = tensor.Convert(out, x.DType); err != nil {
				return nil, nd.errf("%w", err)
			}
		}
		return ctx.Out(out), nil
	}), nil
}

// buildReverseSequence prepares ReverseSequence: for each batch entry b the
// first sequence_lens[b] steps along time_axis are reversed, the rest
// copied.
// https://onnx.ai/onnx/operators/onnx__ReverseSequence.html
func buildReverseSequence(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	batchAxis, err := n.Int("batch_axis", 1)
	if err != nil {
		return nil, err
	}
	timeAxis, err := n.Int("time_axis", 0)
	if err != nil {
		return nil, err
	}
	if !(batchAxis == 0 && timeAxis == 1 || batchAxis == 1 && timeAxis == 0) {
		return nil, n.Errorf("batch_axis %d and time_axis %d must be 0 and 1 in some order", batchAxis, timeAxis)
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if len(x.Shape) < 2 {
			return nil, nd.errf("input rank %d, want at least 2", len(x.Shape))
		}
		lens, err := dmInts(in[1])
		if err != nil {
			return nil, nd.errf("sequence_lens: %w", err)
		}
		nb, nt := x.Shape[batchAxis], x.Shape[timeAxis]
		if len(lens) != nb {
			return nil, nd.errf("sequence_lens has %d entries for batch size %d", len(lens), nb)
		}
		for _, l := range lens {
			if l < 0 || l > int64(nt) {
				return nil, nd.errf("sequence length %d out of range [0, %d]", l, nt)
			}
		}
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		inner := dmProd(x.Shape[2:])
		offs := make([]int, 0, x.Shape[0]*x.Shape[1])
		for i0 := 0; i0 < x.Shape[0]; i0++ {
			for i1 := 0; i1 < x.Shape[1]; i1++ {
				b, t := i0, i1
				if batchAxis == 1 {
					b, t = i1, i0
				}
				if l := int(lens[b]); t < l {
					t = l - 1 - t
				}
				j0, j1 := b, t
				if batchAxis == 1 {
					j0, j1 = t, b
				}
				offs = append(offs, (j0*x.Shape[1]+j1)*inner)
			}
		}
		out := ctx.New(x.DType, x.Shape...)
		if inner > 0 {
			mv.gatherBlocks(out.Data, x.Data, offs, inner)
		}
		return ctx.Out(out), nil
	}), nil
}

// buildUnique prepares Unique: the distinct elements (or, with axis, the
// distinct slices along axis), sorted ascending (sorted=1, the default) or
// in order of first occurrence, with the optional outputs indices (first
// occurrence of each), inverse_indices (position in Y of each input element
// or slice) and counts.
// https://onnx.ai/onnx/operators/onnx__Unique.html
func buildUnique(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	sorted, err := n.Int("sorted", 1)
	if err != nil {
		return nil, err
	}
	hasAxis := n.Has("axis")
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		// Lay the input out as rows: the slices along axis, each flattened.
		shape := []int{x.Len()}
		ax := 0
		if hasAxis {
			var ok bool
			if ax, ok = dmAxis(axis, len(x.Shape)); !ok {
				return nil, nd.errf("axis %d out of range for rank %d", axis, len(x.Shape))
			}
			shape = x.Shape
		}
		nrows := shape[ax]
		rowLen := 0
		if nrows > 0 {
			rowLen = x.Len() / nrows
		}
		perm := make([]int, 0, len(shape))
		perm = append(perm, ax)
		for i := range shape {
			if i != ax {
				perm = append(perm, i)
			}
		}
		rows := dmTransposeData(ctx, x, mv, shape, perm, nil)
		var order, inverse, counts []int
		switch d := rows.Data.(type) {
		case []float32:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[float32], sorted != 0)
		case []float64:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[float64], sorted != 0)
		case []tensor.F16:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, func(a, b tensor.F16) int { return cmp.Compare(a.Float32(), b.Float32()) }, sorted != 0)
		case []tensor.BF16:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, func(a, b tensor.BF16) int { return cmp.Compare(a.Float32(), b.Float32()) }, sorted != 0)
		case []int8:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[int8], sorted != 0)
		case []uint8:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[uint8], sorted != 0)
		case []int16:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[int16], sorted != 0)
		case []uint16:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[uint16], sorted != 0)
		case []int32:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[int32], sorted != 0)
		case []uint32:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[uint32], sorted != 0)
		case []int64:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[int64], sorted != 0)
		case []uint64:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[uint64], sorted != 0)
		case []bool:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, func(a, b bool) int {
				switch {
				case a == b:
					return 0
				case b:
					return -1
				}
				return 1
			}, sorted != 0)
		case []string:
			order, inverse, counts = dmUniqueRows(d, nrows, rowLen, cmp.Compare[string], sorted != 0)
		default:
			return nil, nd.errf("unsupported element type %v", x.DType)
		}
		// Y: the selected rows, moved back into place.
		nu := len(order)
		picked := ctx.New(x.DType, append([]int{nu}, dmPermute(shape, perm)[1:]...)...)
		offs := make([]int, nu)
		for i, r := range order {
			offs[i] = r * rowLen
		}
		if rowLen > 0 {
			mv.gatherBlocks(picked.Data, rows.Data, offs, rowLen)
		}
		inv := make([]int, len(perm))
		for i, p := range perm {
			inv[p] = i
		}
		y := dmTransposeData(ctx, picked, mv, picked.Shape, inv, nil)
		return ctx.Out(y, dmInt64Vec(ctx, order), dmInt64Vec(ctx, inverse), dmInt64Vec(ctx, counts)), nil
	}), nil
}

// dmInt64Vec returns v as a 1-D int64 tensor.
func dmInt64Vec(ctx *Ctx, v []int) *tensor.Tensor {
	t := ctx.New(tensor.Int64, len(v))
	d := t.Data.([]int64)
	for i, x := range v {
		d[i] = int64(x)
	}
	return t
}

// dmUniqueRows finds the distinct rows of x (nrows rows of rowLen elements)
// under compare. order lists, for each distinct row in output order, the
// index of its first occurrence; inverse maps every row to its position in
// order; counts gives the multiplicities.
func dmUniqueRows[T any](x []T, nrows, rowLen int, compare func(a, b T) int, sorted bool) (order, inverse, counts []int) {
	rowCmp := func(a, b int) int {
		ra, rb := x[a*rowLen:(a+1)*rowLen], x[b*rowLen:(b+1)*rowLen]
		for i := range ra {
			if c := compare(ra[i], rb[i]); c != 0 {
				return c
			}
		}
		return 0
	}
	idx := make([]int, nrows)
	for i := range idx {
		idx[i] = i
	}
	// A stable sort keeps equal rows in input order, so each group starts
	// with its first occurrence.
	slices.SortStableFunc(idx, rowCmp)
	group := make([]int, nrows) // row -> group number in sorted order
	for i, r := range idx {
		if i == 0 || rowCmp(idx[i-1], r) != 0 {
			order = append(order, r)
			counts = append(counts, 0)
		}
		group[r] = len(order) - 1
		counts[len(counts)-1]++
	}
	pos := make([]int, len(order)) // group -> output position
	for i := range pos {
		pos[i] = i
	}
	if !sorted {
		byFirst := make([]int, len(order))
		for i := range byFirst {
			byFirst[i] = i
		}
		slices.SortFunc(byFirst, func(a, b int) int { return cmp.Compare(order[a], order[b]) })
		newOrder := make([]int, len(order))
		newCounts := make([]int, len(order))
		for p, g := range byFirst {
			pos[g] = p
			newOrder[p] = order[g]
			newCounts[p] = counts[g]
		}
		order, counts = newOrder, newCounts
	}
	inverse = make([]int, nrows)
	for r := range inverse {
		inverse[r] = pos[group[r]]
	}
	return order, inverse, counts
}
