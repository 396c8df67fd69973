package kernel

import (
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Gather", MaxOpset: dmMaxOpset, Build: buildGather})
	Register(Op{Type: "GatherElements", MinOpset: 11, MaxOpset: dmMaxOpset, Build: buildGatherElements})
	Register(Op{Type: "GatherND", MinOpset: 11, MaxOpset: dmMaxOpset, Build: buildGatherND})
	Register(Op{Type: "Compress", MinOpset: 9, MaxOpset: dmMaxOpset, Build: buildCompress})
}

// dmIndex checks an index against an axis of size dim; negative indices
// count from the end.
func dmIndex(v int64, dim int) (int, error) {
	if v < 0 {
		v += int64(dim)
	}
	if v < 0 || v >= int64(dim) {
		return 0, fmt.Errorf("index %d out of range for axis of size %d", v, dim)
	}
	return int(v), nil
}

// buildGather prepares Gather: entries of data along axis picked by an
// integer indices tensor of any shape, which replaces that axis in the
// output shape.
// https://onnx.ai/onnx/operators/onnx__Gather.html
func buildGather(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, it := in[0], in[1]
		ax, ok := dmAxis(axis, len(x.Shape))
		if !ok {
			return nil, nd.errf("axis %d out of range for rank %d", axis, len(x.Shape))
		}
		idx, err := dmInts(it)
		if err != nil {
			return nil, nd.errf("indices: %w", err)
		}
		dim := x.Shape[ax]
		outer, inner := dmProd(x.Shape[:ax]), dmProd(x.Shape[ax+1:])
		var buf [MaxDims]int
		shape := dmBuf(&buf, len(x.Shape)-1+len(it.Shape))[:0]
		shape = append(shape, x.Shape[:ax]...)
		shape = append(shape, it.Shape...)
		shape = append(shape, x.Shape[ax+1:]...)
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.NewUninit(x.DType, shape...) // every block is written
		if out.Len() == 0 {
			return ctx.Out(out), nil
		}
		for _, v := range idx {
			if _, err := dmIndex(v, dim); err != nil {
				return nil, nd.errf("%w", err)
			}
		}
		mv.gather(out.Data, x.Data, idx, outer, dim, inner)
		return ctx.Out(out), nil
	}), nil
}

// buildGatherElements prepares GatherElements: output[i] is data at i with
// the axis coordinate replaced by indices[i]; the output has indices' shape.
// https://onnx.ai/onnx/operators/onnx__GatherElements.html
func buildGatherElements(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, it := in[0], in[1]
		offs, err := dmElementOffsets(x.Shape, it, axis)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.New(x.DType, it.Shape...)
		mv.gatherBlocks(out.Data, x.Data, offs, 1)
		return ctx.Out(out), nil
	}), nil
}

// dmElementOffsets returns, for each element of the indices tensor it, the
// flat offset into a tensor of shape shape of the element at the same
// coordinates except along axis, where the index value is used (as in
// GatherElements and ScatterElements).
func dmElementOffsets(shape []int, it *tensor.Tensor, axis int64) ([]int, error) {
	r := len(shape)
	ax, ok := dmAxis(axis, r)
	if !ok {
		return nil, fmt.Errorf("axis %d out of range for rank %d", axis, r)
	}
	if len(it.Shape) != r {
		return nil, fmt.Errorf("indices shape %v and data shape %v differ in rank", it.Shape, shape)
	}
	for k, d := range it.Shape {
		if k != ax && d > shape[k] {
			return nil, fmt.Errorf("indices shape %v exceeds data shape %v", it.Shape, shape)
		}
	}
	idx, err := dmInts(it)
	if err != nil {
		return nil, fmt.Errorf("indices: %w", err)
	}
	st := dmStrides(shape)
	offs := make([]int, len(idx))
	if len(idx) == 0 {
		return offs, nil
	}
	coord := make([]int, r)
	base := 0 // offset of coord with the axis coordinate zeroed
	for i, v := range idx {
		k, err := dmIndex(v, shape[ax])
		if err != nil {
			return nil, err
		}
		offs[i] = base + k*st[ax]
		for a := r - 1; a >= 0; a-- {
			coord[a]++
			if a != ax {
				base += st[a]
			}
			if coord[a] < it.Shape[a] {
				break
			}
			if a != ax {
				base -= st[a] * coord[a]
			}
			coord[a] = 0
		}
	}
	return offs, nil
}

// dmNDOffsets resolves the index tuples of GatherND/ScatterND: indices of
// shape [B..., I..., k] address slices of data (shape [B..., D...]) that
// start at D[:k] coordinates. It returns one flat data offset per tuple and
// the slice length prod(D[k:]).
func dmNDOffsets(shape []int, it *tensor.Tensor, batchDims int) (offs []int, blk int, err error) {
	r, q := len(shape), len(it.Shape)
	if q < 1 {
		return nil, 0, fmt.Errorf("indices must have rank at least 1")
	}
	if batchDims < 0 || batchDims >= min(r, q) {
		return nil, 0, fmt.Errorf("batch_dims %d out of range for data rank %d, indices rank %d", batchDims, r, q)
	}
	for i := 0; i < batchDims; i++ {
		if shape[i] != it.Shape[i] {
			return nil, 0, fmt.Errorf("batch dimensions of data %v and indices %v differ", shape, it.Shape)
		}
	}
	k := it.Shape[q-1]
	if k < 1 || batchDims+k > r {
		return nil, 0, fmt.Errorf("index tuples of length %d do not fit data rank %d with %d batch dimensions", k, r, batchDims)
	}
	idx, err := dmInts(it)
	if err != nil {
		return nil, 0, fmt.Errorf("indices: %w", err)
	}
	st := dmStrides(shape)
	blk = dmProd(shape[batchDims+k:])
	ntup := len(idx) / k
	batches := dmProd(shape[:batchDims])
	perBatch := 0
	if batches > 0 {
		perBatch = ntup / batches
	}
	batchStride := dmProd(shape[batchDims:])
	offs = make([]int, ntup)
	for t := range offs {
		off := 0
		if perBatch > 0 {
			off = t / perBatch * batchStride
		}
		for j, v := range idx[t*k : (t+1)*k] {
			c, err := dmIndex(v, shape[batchDims+j])
			if err != nil {
				return nil, 0, err
			}
			off += c * st[batchDims+j]
		}
		offs[t] = off
	}
	return offs, blk, nil
}

// buildGatherND prepares GatherND: slices of data addressed by the index
// tuples in the last dimension of indices, after batch_dims leading
// dimensions shared by both (opset 12+).
// https://onnx.ai/onnx/operators/onnx__GatherND.html
func buildGatherND(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	bd := int64(0)
	if n.Opset >= 12 {
		var err error
		if bd, err = n.Int("batch_dims", 0); err != nil {
			return nil, err
		}
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, it := in[0], in[1]
		offs, blk, err := dmNDOffsets(x.Shape, it, int(bd))
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		q := len(it.Shape)
		k := it.Shape[q-1]
		shape := append(append([]int(nil), it.Shape[:q-1]...), x.Shape[int(bd)+k:]...)
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.New(x.DType, shape...)
		if blk > 0 {
			mv.gatherBlocks(out.Data, x.Data, offs, blk)
		}
		return ctx.Out(out), nil
	}), nil
}

// buildCompress prepares Compress: the slices along axis whose entry in the
// 1-D bool condition is true (condition may be shorter than the axis);
// without axis the input is flattened first.
// https://onnx.ai/onnx/operators/onnx__Compress.html
func buildCompress(n *Node) (Kernel, error) {
	if err := dmRequire(n, 2); err != nil {
		return nil, err
	}
	hasAxis := n.Has("axis")
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x, ct := in[0], in[1]
		cond, ok := ct.Data.([]bool)
		if !ok || len(ct.Shape) != 1 {
			return nil, nd.errf("condition must be a 1-D bool tensor, got %v", ct)
		}
		shape := []int{x.Len()}
		ax := 0
		if hasAxis {
			if ax, ok = dmAxis(axis, len(x.Shape)); !ok {
				return nil, nd.errf("axis %d out of range for rank %d", axis, len(x.Shape))
			}
			shape = append([]int(nil), x.Shape...)
		}
		dim := shape[ax]
		var picked []int
		for i, c := range cond {
			if !c {
				continue
			}
			if i >= dim {
				return nil, nd.errf("condition selects entry %d of an axis of size %d", i, dim)
			}
			picked = append(picked, i)
		}
		outer, inner := dmProd(shape[:ax]), dmProd(shape[ax+1:])
		shape[ax] = len(picked)
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		out := ctx.New(x.DType, shape...)
		if out.Len() == 0 {
			return ctx.Out(out), nil
		}
		offs := make([]int, 0, outer*len(picked))
		for o := 0; o < outer; o++ {
			for _, p := range picked {
				offs = append(offs, (o*dim+p)*inner)
			}
		}
		mv.gatherBlocks(out.Data, x.Data, offs, inner)
		return ctx.Out(out), nil
	}), nil
}
