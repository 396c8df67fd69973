package kernel

import (
	"container/heap"
	"fmt"
	"slices"

	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "TopK", Build: buildTopK})
}

// buildTopK prepares TopK: the k largest (or, with largest=0, smallest)
// elements along axis (default -1) and their int64 indices. k is an
// attribute in opset 1 and the second input (a one-element int64 tensor)
// from opset 10; largest and sorted exist from opset 11. Equal values keep
// their order along the axis (the lower index first). With sorted=0 the
// order is unspecified; the kernel returns it sorted all the same. NaN
// ranks below every number whichever the direction.
// https://onnx.ai/onnx/operators/onnx__TopK.html
func buildTopK(n *Node) (Kernel, error) {
	axis, err := n.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	largest, constK := int64(1), int64(-1)
	if n.Opset < 10 {
		if constK, err = n.Int("k", -1); err != nil {
			return nil, err
		}
		if constK < 0 {
			return nil, n.Errorf("missing or negative attribute k")
		}
	} else if c := n.Const(1); c != nil {
		if constK, err = topkK(c); err != nil {
			return nil, n.Errorf("%w", err)
		}
	}
	if n.Opset >= 11 {
		if largest, err = n.Int("largest", 1); err != nil {
			return nil, err
		}
		// Any order satisfies sorted=0, so the sorted result serves both.
		if _, err = n.Int("sorted", 1); err != nil {
			return nil, err
		}
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) == 0 || in[0] == nil {
			return nil, fmt.Errorf("kernel: %s: missing input", "TopK")
		}
		x := in[0]
		k := constK
		if k < 0 {
			if len(in) < 2 || in[1] == nil {
				return nil, fmt.Errorf("kernel: TopK: missing input k")
			}
			if k, err = topkK(in[1]); err != nil {
				return nil, fmt.Errorf("kernel: TopK: %w", err)
			}
		}
		ax, err := redAxis(axis, len(x.Shape))
		if err != nil {
			return nil, fmt.Errorf("kernel: TopK: %w", err)
		}
		outer, size, inner := argmSplit(x.Shape, ax)
		if k > int64(size) {
			return nil, fmt.Errorf("kernel: TopK: k=%d exceeds axis %d of %v", k, axis, x.Shape)
		}
		// The output shape, on the stack up to MaxDims dimensions.
		var shapeBuf [MaxDims]int
		shape := shapeBuf[:0]
		if len(x.Shape) > MaxDims {
			shape = make([]int, 0, len(x.Shape))
		}
		shape = append(shape, x.Shape...)
		shape[ax] = int(k)
		vals := ctx.NewUninit(x.DType, shape...) // every position is written
		idx := ctx.NewUninit(tensor.Int64, shape...)
		ix := idx.Data.([]int64)
		big := largest != 0
		ki := int(k)
		switch xs := x.Data.(type) {
		case []float32:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]float32), ix, outer, size, inner, ki)
		case []float64:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]float64), ix, outer, size, inner, ki)
		case []int8:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]int8), ix, outer, size, inner, ki)
		case []uint8:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]uint8), ix, outer, size, inner, ki)
		case []int16:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]int16), ix, outer, size, inner, ki)
		case []uint16:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]uint16), ix, outer, size, inner, ki)
		case []int32:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]int32), ix, outer, size, inner, ki)
		case []uint32:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]uint32), ix, outer, size, inner, ki)
		case []int64:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]int64), ix, outer, size, inner, ki)
		case []uint64:
			topkSelect(xs, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]uint64), ix, outer, size, inner, ki)
		case []tensor.F16:
			f, err := tensor.Float32s(x)
			if err != nil {
				return nil, fmt.Errorf("kernel: TopK: %w", err)
			}
			topkSelect(f, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]tensor.F16), ix, outer, size, inner, ki)
		case []tensor.BF16:
			f, err := tensor.Float32s(x)
			if err != nil {
				return nil, fmt.Errorf("kernel: TopK: %w", err)
			}
			topkSelect(f, ix, outer, size, inner, ki, big)
			topkGather(xs, vals.Data.([]tensor.BF16), ix, outer, size, inner, ki)
		default:
			return nil, fmt.Errorf("kernel: TopK: %v input: %w", x.DType, ErrUnsupported)
		}
		return ctx.Out(vals, idx), nil
	}), nil
}

// topkK reads the k input: a single non-negative integer.
func topkK(t *tensor.Tensor) (int64, error) {
	v, err := tensor.Int64s(t)
	if err != nil {
		return 0, fmt.Errorf("k input: %w", err)
	}
	if len(v) != 1 || v[0] < 0 {
		return 0, fmt.Errorf("k input must hold one non-negative value, got %v", v)
	}
	return v[0], nil
}

// topkEntry is one candidate: its value and its position along the axis.
type topkEntry[T argmNumber] struct {
	v T
	i int
}

// topkFirst reports whether a ranks before b: the larger (smaller) value,
// NaN last, and the lower index among equals.
func topkFirst[T argmNumber](a, b topkEntry[T], largest bool) bool {
	an, bn := a.v != a.v, b.v != b.v
	switch {
	case an || bn:
		if an && bn {
			return a.i < b.i
		}
		return bn
	case a.v == b.v:
		return a.i < b.i
	case largest:
		return a.v > b.v
	}
	return a.v < b.v
}

// topkHeap keeps the best k entries seen, the worst of them at the root.
type topkHeap[T argmNumber] struct {
	e       []topkEntry[T]
	largest bool
}

func (h *topkHeap[T]) Len() int { return len(h.e) }
func (h *topkHeap[T]) Less(i, j int) bool {
	return topkFirst(h.e[j], h.e[i], h.largest)
}
func (h *topkHeap[T]) Swap(i, j int) { h.e[i], h.e[j] = h.e[j], h.e[i] }
func (h *topkHeap[T]) Push(x any)    { h.e = append(h.e, x.(topkEntry[T])) }
func (h *topkHeap[T]) Pop() any {
	last := h.e[len(h.e)-1]
	h.e = h.e[:len(h.e)-1]
	return last
}

// topkState is topkSelect's scratch: the candidates of one slice and the
// heap.
type topkState[T argmNumber] struct {
	all []topkEntry[T]
	h   topkHeap[T]
}

var topkStates kindJobPool

// topkSelect writes into idx, viewed as [outer, k, inner], the positions of
// the k first-ranked elements of each slice of x, viewed as
// [outer, size, inner], in rank order.
func topkSelect[T argmNumber](x []T, idx []int64, outer, size, inner, k int, largest bool) {
	if k == 0 {
		return
	}
	cmp := func(a, b topkEntry[T]) int {
		if topkFirst(a, b, largest) {
			return -1
		}
		return 1
	}
	// The candidates and the heap, recycled between runs.
	st := takeJob[topkState[T], T](&topkStates)
	defer topkStates.p[kindOf[T]()].Put(st)
	if cap(st.all) < size {
		st.all = make([]topkEntry[T], size)
	}
	all := st.all[:size]
	h := &st.h
	h.e, h.largest = h.e[:0], largest
	useHeap := k*8 < size
	for o := 0; o < outer; o++ {
		for in := 0; in < inner; in++ {
			base := o*size*inner + in
			var best []topkEntry[T]
			if useHeap {
				h.e = h.e[:0]
				for j := 0; j < k; j++ {
					h.e = append(h.e, topkEntry[T]{x[base+j*inner], j})
				}
				heap.Init(h)
				for j := k; j < size; j++ {
					e := topkEntry[T]{x[base+j*inner], j}
					if topkFirst(e, h.e[0], largest) {
						h.e[0] = e
						heap.Fix(h, 0)
					}
				}
				best = h.e
			} else {
				for j := range all {
					all[j] = topkEntry[T]{x[base+j*inner], j}
				}
				best = all
			}
			slices.SortFunc(best, cmp)
			ob := o*k*inner + in
			for j := 0; j < k; j++ {
				idx[ob+j*inner] = int64(best[j].i)
			}
		}
	}
}

// topkGather copies the selected elements of x into vals, both laid out as
// in topkSelect.
func topkGather[T any](x, vals []T, idx []int64, outer, size, inner, k int) {
	for o := 0; o < outer; o++ {
		for j := 0; j < k; j++ {
			ob := (o*k + j) * inner
			for in := 0; in < inner; in++ {
				vals[ob+in] = x[(o*size+int(idx[ob+in]))*inner+in]
			}
		}
	}
}
