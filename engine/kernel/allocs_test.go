package kernel

import (
	"testing"

	"github.com/onnxquant/onnxquant/tensor"
)

// recycler is an allocator for kernel tests that recycles the way the
// engine's arena does in steady state: run after run, the n-th request of
// a run gets back the tensor (buffer and header) of the n-th request of the
// previous run when its type and size match.
type recycler struct {
	bufs  []*tensor.Tensor
	heads []*tensor.Tensor
	nb    int
	nh    int
}

func (r *recycler) alloc(dt tensor.DataType, d Dims, zero bool) *tensor.Tensor {
	shape := d.D[:d.Rank]
	if r.nb < len(r.bufs) {
		t := r.bufs[r.nb]
		if t.DType == dt && tensor.NumElements(t.Shape) == tensor.NumElements(shape) {
			r.nb++
			t.Shape = append(t.Shape[:0], shape...)
			if zero {
				switch x := t.Data.(type) {
				case []float32:
					clear(x)
				case []uint8:
					clear(x)
				case []int8:
					clear(x)
				case []int32:
					clear(x)
				case []int64:
					clear(x)
				default:
					t.Data = tensor.New(dt, shape...).Data
				}
			}
			return t
		}
		r.bufs = r.bufs[:r.nb]
	}
	t := tensor.New(dt, shape...)
	r.bufs = append(r.bufs, t)
	r.nb++
	return t
}

func (r *recycler) header(dt tensor.DataType, d Dims, data any) *tensor.Tensor {
	if r.nh == len(r.heads) {
		r.heads = append(r.heads, new(tensor.Tensor))
	}
	h := r.heads[r.nh]
	r.nh++
	h.DType, h.Shape, h.Data = dt, append(h.Shape[:0], d.D[:d.Rank]...), data
	return h
}

// steadyAllocs returns the heap allocations of one run of k on in, with
// threads threads, in steady state: after warm-up runs, with the engine's
// kind of recycling allocator.
func steadyAllocs(t testing.TB, k Kernel, in []*tensor.Tensor, threads int) float64 {
	t.Helper()
	r := &recycler{}
	ctx := &Ctx{Threads: threads, Alloc: r.alloc, Header: r.header}
	var err error
	run := func() {
		r.nb, r.nh = 0, 0
		if _, e := k.Run(ctx, in); e != nil && err == nil {
			err = e
		}
	}
	run()
	run()
	a := testing.AllocsPerRun(20, run)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
