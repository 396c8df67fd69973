package engine

import (
	"cmp"
	"math"
	"slices"
	"sync"
	"unsafe"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/tensor"
)

// arena recycles the buffers of a session's intermediate values between
// and within runs, so that a run in steady state allocates little beyond
// its output tensors.
//
// Kernels allocate their outputs through the arena (kernel.Ctx.Alloc).
// Every buffer it hands out is owned: known by the address of its first
// element, with a count of the live values whose data lies in it. Several
// values can share one buffer (Reshape, Identity, Squeeze, ... return their
// input's data; some Slice and Split outputs are views into it), so the
// count is kept per buffer, found by address even for a view that starts
// inside it. When a value dies (the plan's free list), its buffer's count
// drops, and at zero the buffer goes to a free list keyed by element type
// and length, to serve a later allocation of the same size. Graph outputs
// (kept values) never die, so their buffers are never reused; graph inputs
// and constants are not owned, so never recycled either. At the end of a
// run, buffers still in use (the outputs) are forgotten and belong to the
// caller; the free lists stay for the next run.
//
// One arena serves one run at a time; a session keeps a few for runs in
// parallel. Subgraphs (If, Loop, Scan bodies) allocate outside the arena.
type arena struct {
	mu    sync.Mutex
	owned map[uintptr]*arenaBuf
	free  map[arenaKey][]*arenaBuf
	// sorted lists the owned buffers by address, for finding the buffer a
	// view points into; rebuilt when owned has changed (dirty).
	sorted []*arenaBuf
	dirty  bool
	// views counts lookups that found a view starting inside a buffer.
	views int

	// headers are tensor headers free for reuse; issued lists those handed
	// out in this run. At the end of a run the issued ones the caller does
	// not keep (the outputs) become free again.
	headers []*tensor.Tensor
	issued  []*tensor.Tensor
	kept    map[*tensor.Tensor]bool

	// spare holds records of buffers that left the arena with the caller,
	// for reuse on the next new buffer.
	spare []*arenaBuf

	// allocFn and viewFn are the arena's kernel.Ctx hooks, made once (a
	// method value allocates each time it is taken).
	allocFn func(dt tensor.DataType, shape kernel.Dims, zero bool) *tensor.Tensor
	viewFn  func(dt tensor.DataType, shape kernel.Dims, data any) *tensor.Tensor

	// Per-run state of the main graph, reused by the next run.
	st   state
	kctx kernel.Ctx
	in   []*tensor.Tensor
	args []*tensor.Tensor
}

type arenaKey struct {
	dt tensor.DataType
	n  int
}

// arenaBuf is one owned buffer.
type arenaBuf struct {
	key   arenaKey
	data  any     // the typed slice, full length
	start uintptr // address of element 0
	size  uintptr // length in bytes
	refs  int     // live values with data in it
	free  bool
}

func newArena() *arena {
	a := &arena{owned: map[uintptr]*arenaBuf{}, free: map[arenaKey][]*arenaBuf{}, kept: map[*tensor.Tensor]bool{}}
	a.allocFn, a.viewFn = a.alloc, a.view
	return a
}

// header returns a tensor header set to dt, shape and data: a recycled one
// when there is one. Call with a.mu held.
func (a *arena) header(dt tensor.DataType, shape []int, data any) *tensor.Tensor {
	var h *tensor.Tensor
	if n := len(a.headers); n > 0 {
		h = a.headers[n-1]
		a.headers = a.headers[:n-1]
	} else {
		h = new(tensor.Tensor)
	}
	h.DType, h.Shape, h.Data = dt, append(h.Shape[:0], shape...), data
	a.issued = append(a.issued, h)
	return h
}

// view is kernel.Ctx.Header: a recycled header over data.
func (a *arena) view(dt tensor.DataType, shape kernel.Dims, data any) *tensor.Tensor {
	a.mu.Lock()
	h := a.header(dt, shape.D[:shape.Rank], data)
	a.mu.Unlock()
	return h
}

// pooled reports whether buffers of dt are recycled: numeric and bool
// element types (strings hold pointers the GC must see cleared anyway).
func pooled(dt tensor.DataType) bool { return dt.IsPlain() }

// span returns the address and byte length of a typed slice's elements, or
// 0 when it holds none or is of a type not pooled.
func span(data any) (uintptr, uintptr) {
	switch d := data.(type) {
	case []float32:
		return sliceSpan(d)
	case []float64:
		return sliceSpan(d)
	case []tensor.F16:
		return sliceSpan(d)
	case []tensor.BF16:
		return sliceSpan(d)
	case []int8:
		return sliceSpan(d)
	case []uint8:
		return sliceSpan(d)
	case []int16:
		return sliceSpan(d)
	case []uint16:
		return sliceSpan(d)
	case []int32:
		return sliceSpan(d)
	case []uint32:
		return sliceSpan(d)
	case []int64:
		return sliceSpan(d)
	case []uint64:
		return sliceSpan(d)
	case []bool:
		return sliceSpan(d)
	}
	return 0, 0
}

func sliceSpan[T any](s []T) (uintptr, uintptr) {
	if len(s) == 0 {
		return 0, 0
	}
	var z T
	return uintptr(unsafe.Pointer(unsafe.SliceData(s))), uintptr(len(s)) * unsafe.Sizeof(z)
}

// alloc is kernel.Ctx.Alloc: a tensor from a free buffer of the same
// type and length when there is one, zero-filled when zero is true.
func (a *arena) alloc(dt tensor.DataType, shape kernel.Dims, zero bool) *tensor.Tensor {
	return a.get(dt, shape.D[:shape.Rank], zero)
}

// get returns a tensor of type dt and shape: its buffer a free one of the
// same type and length when there is one, else new and owned from now on;
// its header recycled.
func (a *arena) get(dt tensor.DataType, shape []int, zero bool) *tensor.Tensor {
	n := tensor.NumElements(shape)
	if n <= 0 || !pooled(dt) {
		return tensor.New(dt, shape...)
	}
	for _, d := range shape {
		if d < 0 {
			return tensor.New(dt, shape...) // panics with tensor.New's message
		}
	}
	key := arenaKey{dt, n}
	a.mu.Lock()
	if list := a.free[key]; len(list) > 0 {
		b := list[len(list)-1]
		a.free[key] = list[:len(list)-1]
		b.free = false
		b.refs = 0
		h := a.header(dt, shape, b.data)
		a.mu.Unlock()
		if zero {
			clearData(b.data)
		} else if poisonUninit {
			poison(b.data)
		}
		return h
	}
	a.mu.Unlock()
	data := tensor.MakeSlice(dt, n)
	start, size := span(data)
	if start == 0 {
		return tensor.New(dt, shape...)
	}
	a.mu.Lock()
	var b *arenaBuf
	if k := len(a.spare); k > 0 {
		b = a.spare[k-1]
		a.spare = a.spare[:k-1]
	} else {
		b = new(arenaBuf)
	}
	*b = arenaBuf{key: key, data: data, start: start, size: size}
	a.owned[start] = b
	a.dirty = true
	h := a.header(dt, shape, data)
	a.mu.Unlock()
	return h
}

func clearData(data any) {
	switch d := data.(type) {
	case []float32:
		clear(d)
	case []float64:
		clear(d)
	case []tensor.F16:
		clear(d)
	case []tensor.BF16:
		clear(d)
	case []int8:
		clear(d)
	case []uint8:
		clear(d)
	case []int16:
		clear(d)
	case []uint16:
		clear(d)
	case []int32:
		clear(d)
	case []uint32:
		clear(d)
	case []int64:
		clear(d)
	case []uint64:
		clear(d)
	case []bool:
		clear(d)
	}
}

// find returns the owned buffer holding the tensor's data, or nil.
func (a *arena) find(t *tensor.Tensor) *arenaBuf {
	if t == nil {
		return nil
	}
	start, size := span(t.Data)
	if start == 0 {
		return nil
	}
	if b := a.owned[start]; b != nil {
		return b
	}
	// A view starting inside a buffer: the last buffer starting before it.
	if a.dirty {
		a.sorted = a.sorted[:0]
		for _, b := range a.owned {
			a.sorted = append(a.sorted, b)
		}
		slices.SortFunc(a.sorted, func(x, y *arenaBuf) int { return cmp.Compare(x.start, y.start) })
		a.dirty = false
	}
	i, _ := slices.BinarySearchFunc(a.sorted, start, func(b *arenaBuf, p uintptr) int { return cmp.Compare(b.start, p) })
	if i == 0 {
		return nil
	}
	if b := a.sorted[i-1]; start+size <= b.start+b.size {
		a.views++
		return b
	}
	return nil
}

// hold records a new live value.
func (a *arena) hold(t *tensor.Tensor) {
	a.mu.Lock()
	if b := a.find(t); b != nil && !b.free {
		b.refs++
	}
	a.mu.Unlock()
}

// release records that a live value died, recycling its buffer when no
// other live value uses it.
func (a *arena) release(t *tensor.Tensor) {
	a.mu.Lock()
	if b := a.find(t); b != nil && !b.free && b.refs > 0 {
		b.refs--
		if b.refs == 0 {
			b.free = true
			a.free[b.key] = append(a.free[b.key], b)
		}
	}
	a.mu.Unlock()
}

// endRun forgets the buffers still in use (they now belong to the caller,
// or were scratch a kernel dropped) and keeps the free ones. The headers
// issued in the run become free again, except those in keep (the tensors
// the caller receives).
func (a *arena) endRun(keep map[string]*tensor.Tensor) {
	a.mu.Lock()
	for k, b := range a.owned {
		if !b.free {
			delete(a.owned, k)
			a.dirty = true
			*b = arenaBuf{}
			a.spare = append(a.spare, b)
		}
	}
	clear(a.kept)
	for _, t := range keep {
		a.kept[t] = true
	}
	for _, h := range a.issued {
		if !a.kept[h] {
			h.Shape, h.Data = h.Shape[:0], nil
			a.headers = append(a.headers, h)
		}
	}
	clear(a.issued)
	a.issued = a.issued[:0]
	clear(a.kept)
	// Let go of the run's values (the caller's inputs and outputs).
	clear(a.st.vals)
	a.st.parent = nil
	a.mu.Unlock()
}

// arenas is a session's stock of arenas, one per run in progress.
type arenas struct {
	mu    sync.Mutex
	stock []*arena
}

func (s *arenas) get() *arena {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.stock); n > 0 {
		a := s.stock[n-1]
		s.stock = s.stock[:n-1]
		return a
	}
	return newArena()
}

func (s *arenas) put(a *arena, keep map[string]*tensor.Tensor) {
	a.endRun(keep)
	s.mu.Lock()
	s.stock = append(s.stock, a)
	s.mu.Unlock()
}

// poisonUninit, set by tests, fills buffers handed out without clearing
// with NaN (float types) or 0x5A bytes, so that a kernel that promises to
// write every value but leaves some shows in its output.
var poisonUninit bool

func poison(data any) {
	switch d := data.(type) {
	case []float32:
		nan := float32(math.NaN())
		for i := range d {
			d[i] = nan
		}
	case []float64:
		for i := range d {
			d[i] = math.NaN()
		}
	case []uint8:
		for i := range d {
			d[i] = 0x5A
		}
	case []int8:
		for i := range d {
			d[i] = 0x5A
		}
	case []int32:
		for i := range d {
			d[i] = 0x5A5A5A5A
		}
	case []int64:
		for i := range d {
			d[i] = 0x5A5A5A5A5A5A5A5A
		}
	}
}
