package kernel

import (
	"fmt"
	"sync/atomic"
)

// Multidirectional (numpy-style) broadcasting, shared by every elementwise
// operator with more than one input.
//
// Shapes are aligned at their last dimension; a missing leading dimension
// counts as 1, and along each dimension every operand must have either the
// output's size or 1. An operand is then read through per-dimension element
// strides that are its own row-major strides, with 0 on the dimensions where
// it is broadcast, so no operand is ever materialised at the output size.
//
// newBroadcast simplifies the iteration before any element is touched:
// output dimensions of size 1 are dropped, and two neighbouring dimensions
// are merged when every operand walks them as one contiguous (or one
// broadcast) range, that is when stride[d] == stride[d+1]*size[d+1] for
// all operands. What is left is a short list of dimensions whose innermost
// one has stride 0 or 1 for each operand. Common cases collapse as follows:
//
//	same shapes                     [n]          strides 1,1  (one flat loop)
//	tensor op scalar                [n]          strides 1,0
//	[N,C] op [C] (bias row)         [N C]        rows: strides 1,1
//	[N,C] op [N,1] (column)         [N C]        rows: strides 1,0
//	[N,C,H,W] op [C,1,1] (channel)  [N C H*W]    rows: strides 1,0
//
// Kernels then loop over "runs": stretches of consecutive output elements in
// one row of the innermost dimension. Inside a run each operand's element i
// is at offset+i*innerStride, so the kernel's inner loop is a plain slice
// loop in one of three shapes (vector-vector, scalar-vector, vector-scalar)
// with the scalar hoisted out of the loop. broadcast.walkRuns hands out the
// runs of a range of output elements, keeping each operand's row offset with
// an odometer over the outer dimensions (no division per row), and cutting
// a long row into several runs if needed.
//
// The kernels run allocation-free: the broadcast is cached per kernel for
// the last input shapes (bcCache), and the loop is a job taken from a pool
// that parallel.Do splits over threads, whose Range calls walkRuns with the
// job itself as the runner.

// broadcastShape returns the shape that the given shapes broadcast to under
// ONNX multidirectional broadcasting, or an error naming the shapes when they
// are incompatible.
func broadcastShape(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			if d < 0 {
				return nil, fmt.Errorf("kernel: negative dimension in shape %v", append([]int(nil), s...))
			}
			o := &out[off+i]
			switch {
			case d == *o || d == 1:
			case *o == 1:
				*o = d
			default:
				// A copy is formatted so that shapes does not escape.
				return nil, fmt.Errorf("kernel: shapes %v cannot be broadcast together", cloneShapes(shapes))
			}
		}
	}
	return out, nil
}

// cloneShapes returns a deep copy of shapes.
func cloneShapes(shapes [][]int) [][]int {
	c := make([][]int, len(shapes))
	for i, s := range shapes {
		c[i] = append([]int(nil), s...)
	}
	return c
}

// unidirectionalOK reports whether shape from broadcasts to shape to
// without changing it (ONNX unidirectional broadcasting).
func unidirectionalOK(from, to []int) bool {
	if len(from) > len(to) {
		return false
	}
	off := len(to) - len(from)
	for i, d := range from {
		if d != 1 && d != to[off+i] {
			return false
		}
	}
	return true
}

// broadcast is a prepared iteration of several operands broadcast to a
// common output shape (see the comment at the top of this file). It is
// read-only once built, so several goroutines may use it.
type broadcast struct {
	// Out is the output shape and Size its number of elements.
	Out  []int
	Size int
	// dims are the collapsed output dimensions, outermost first; there is
	// at least one. strides[k][d] is operand k's element stride along
	// dims[d] (0 where broadcast).
	dims    []int
	strides [][]int
}

// newBroadcast prepares the broadcast of operands with the given shapes.
// The output shape is broadcastShape(shapes...); to force a larger output,
// pass that shape as an extra operand.
func newBroadcast(shapes ...[]int) (*broadcast, error) {
	out, err := broadcastShape(shapes...)
	if err != nil {
		return nil, err
	}
	return newBroadcastTo(out, shapes...), nil
}

// newBroadcastTo prepares the iteration of operands over the output shape
// out; every shape must broadcast to out (see unidirectionalOK), which the
// caller has checked.
func newBroadcastTo(out []int, shapes ...[]int) *broadcast {
	b := &broadcast{Out: out, Size: 1}
	for _, d := range out {
		b.Size *= d
	}
	rank := len(out)
	// Full strides per operand over the output dimensions.
	full := make([][]int, len(shapes))
	for k, s := range shapes {
		st := make([]int, rank)
		off := rank - len(s)
		acc := 1
		for i := len(s) - 1; i >= 0; i-- {
			if s[i] != 1 {
				st[off+i] = acc
			}
			acc *= s[i]
		}
		full[k] = st
	}
	// Keep dimensions of size > 1, merging a dimension into the one after it
	// when every operand walks both as one range.
	var dims []int
	strides := make([][]int, len(shapes))
	for i := rank - 1; i >= 0; i-- {
		d := out[i]
		if d == 1 {
			continue
		}
		if n := len(dims); n > 0 {
			inner := dims[n-1]
			merge := true
			for k := range shapes {
				if full[k][i] != strides[k][n-1]*inner {
					merge = false
					break
				}
			}
			if merge {
				dims[n-1] *= d
				continue
			}
		}
		dims = append(dims, d)
		for k := range shapes {
			strides[k] = append(strides[k], full[k][i])
		}
	}
	if len(dims) == 0 {
		// A single element: every operand holds exactly one.
		dims = []int{1}
		for k := range shapes {
			strides[k] = []int{1}
		}
	}
	// dims and strides were built innermost first; reverse them.
	for i, j := 0, len(dims)-1; i < j; i, j = i+1, j-1 {
		dims[i], dims[j] = dims[j], dims[i]
		for k := range strides {
			strides[k][i], strides[k][j] = strides[k][j], strides[k][i]
		}
	}
	b.dims, b.strides = dims, strides
	return b
}

// inner returns operand k's stride along the innermost dimension: 1 when it
// is read element by element within a run, 0 when it is broadcast (one value
// for the whole run).
func (b *broadcast) inner(k int) int { return b.strides[k][len(b.dims)-1] }

// Grain sizes for the parallel loops of broadcasting kernels: the fewest elements worth
// a goroutine for a cheap operation (an add) and for one that costs about a
// transcendental function per element.
const (
	grainCheap = 1 << 15
	grainHeavy = 1 << 12
)

// maxRunOps is the most operands walkRuns handles (Where has three).
const maxRunOps = 3

// runOffs holds each operand's element offset at the start of a run.
type runOffs [maxRunOps]int

// runner is the body of walkRuns: run handles the output elements
// [o, o+n) of one row of the innermost dimension, off[k] being operand k's
// offset for element o. The offsets travel by value, so a walk allocates
// nothing; runners are jobs taken from pools (see kindJobPool).
type runner interface {
	run(o, n int, off runOffs)
}

// walkRuns calls r.run for the runs covering output elements [lo, hi), as
// the reference walk in the tests does, for a broadcast of at most
// maxRunOps operands.
func (b *broadcast) walkRuns(lo, hi int, r runner) {
	nd := len(b.dims)
	width := b.dims[nd-1]
	var off runOffs
	if nd == 1 {
		for k, st := range b.strides {
			off[k] = lo * st[0]
		}
		r.run(lo, hi-lo, off)
		return
	}
	// Row index digits over the outer dimensions, and each operand's offset
	// at the start of the current row.
	var idxBuf [MaxDims]int
	var idx []int
	if nd-1 <= len(idxBuf) {
		idx = idxBuf[:nd-1]
	} else {
		idx = make([]int, nd-1)
	}
	var base runOffs
	row, col := lo/width, lo%width
	for d := nd - 2; d >= 0; d-- {
		idx[d] = row % b.dims[d]
		row /= b.dims[d]
	}
	for k, st := range b.strides {
		o := 0
		for d := 0; d < nd-1; d++ {
			o += idx[d] * st[d]
		}
		base[k] = o
	}
	for pos := lo; pos < hi; {
		n := min(width-col, hi-pos)
		for k, st := range b.strides {
			off[k] = base[k] + col*st[nd-1]
		}
		r.run(pos, n, off)
		pos += n
		col = 0
		if pos >= hi {
			break
		}
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < b.dims[d] {
				for k, st := range b.strides {
					base[k] += st[d]
				}
				break
			}
			idx[d] = 0
			for k, st := range b.strides {
				base[k] -= st[d] * (b.dims[d] - 1)
			}
		}
	}
}

// bcCache keeps a kernel's broadcast for the last input shapes it saw, so
// that runs on unchanged shapes neither compute nor allocate the geometry.
// The cached broadcast is read-only; a new pair of shapes replaces it.
type bcCache struct {
	last atomic.Pointer[bcEntry]
}

// bcEntry is a cached broadcast and the operand shapes it was made for.
type bcEntry struct {
	shapes [maxRunOps][]int
	n      int
	bc     *broadcast
}

// lookup returns the cached broadcast when shapes are those it was made
// for, else nil.
func (c *bcCache) lookup(shapes ...[]int) *broadcast {
	e := c.last.Load()
	if e == nil || e.n != len(shapes) {
		return nil
	}
	for i, s := range shapes {
		if !equalShapes(e.shapes[i], s) {
			return nil
		}
	}
	return e.bc
}

// store caches bc as the broadcast of shapes (at most maxRunOps of them).
func (c *bcCache) store(bc *broadcast, shapes ...[]int) {
	if len(shapes) > maxRunOps {
		return
	}
	e := &bcEntry{n: len(shapes), bc: bc}
	for i, s := range shapes {
		e.shapes[i] = append([]int(nil), s...)
	}
	c.last.Store(e)
}

// get returns the broadcast of operands with the given shapes (at most
// maxRunOps), from the cache when they have not changed.
func (c *bcCache) get(shapes ...[]int) (*broadcast, error) {
	if bc := c.lookup(shapes...); bc != nil {
		return bc, nil
	}
	bc, err := newBroadcast(shapes...)
	if err != nil {
		return nil, err
	}
	c.store(bc, shapes...)
	return bc, nil
}

// legacyBroadcast holds the broadcast and axis attributes of the arithmetic
// and comparison operators before opset 7, where the second input is
// broadcast to the first only when broadcast=1, aligned at axis (by default
// at the trailing dimensions).
type legacyBroadcast struct {
	on   bool // the attributes apply (opset < 7)
	bc   bool // broadcast=1
	axis int64
	has  bool // axis was given
}

// readLegacyBroadcast reads the pre-opset-7 broadcast attributes (and marks
// consumed_inputs, an opset-1 memory hint without effect on results).
func readLegacyBroadcast(n *Node) (legacyBroadcast, error) {
	var lb legacyBroadcast
	if n.Opset >= 7 {
		return lb, nil
	}
	lb.on = true
	n.Ignore("consumed_inputs")
	v, err := n.Int("broadcast", 0)
	if err != nil {
		return lb, err
	}
	lb.bc = v != 0
	lb.has = n.Has("axis")
	if lb.axis, err = n.Int("axis", 0); err != nil {
		return lb, err
	}
	return lb, nil
}

// shapeB returns the shape to broadcast the second operand with: under the
// legacy rules, b's dimensions are placed at axis of a's rank.
func (lb legacyBroadcast) shapeB(a, b []int) ([]int, error) {
	if !lb.on {
		return b, nil
	}
	if !lb.bc {
		if !equalShapes(a, b) {
			return nil, fmt.Errorf("kernel: shapes %v and %v differ and broadcast is 0", a, b)
		}
		return b, nil
	}
	axis := int64(len(a) - len(b))
	if lb.has {
		axis = lb.axis
		if axis < 0 {
			axis += int64(len(a))
		}
	}
	if axis < 0 || int(axis)+len(b) > len(a) {
		return nil, fmt.Errorf("kernel: cannot broadcast shape %v to %v at axis %d", b, a, lb.axis)
	}
	s := make([]int, len(a))
	for i := range s {
		s[i] = 1
	}
	for i, d := range b {
		if d != 1 && d != a[int(axis)+i] {
			return nil, fmt.Errorf("kernel: cannot broadcast shape %v to %v at axis %d", b, a, axis)
		}
		s[int(axis)+i] = d
	}
	return s, nil
}

// cached returns the broadcast of shapes a and b (b placed under the
// legacy rules when they apply), from c when the shapes have not changed.
func (lb legacyBroadcast) cached(c *bcCache, a, b []int) (*broadcast, error) {
	if bc := c.lookup(a, b); bc != nil {
		return bc, nil
	}
	bs, err := lb.shapeB(a, b)
	if err != nil {
		return nil, err
	}
	bc, err := newBroadcast(a, bs)
	if err != nil {
		return nil, err
	}
	c.store(bc, a, b)
	return bc, nil
}

// equalShapes reports whether two shapes are identical.
func equalShapes(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
