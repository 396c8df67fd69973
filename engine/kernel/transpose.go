package kernel

import (
	"sync"

	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Transpose", MaxOpset: dmMaxOpset, Build: buildTranspose})
	Register(Op{Type: "DepthToSpace", MaxOpset: dmMaxOpset, Build: buildDepthToSpace})
	Register(Op{Type: "SpaceToDepth", MaxOpset: dmMaxOpset, Build: buildSpaceToDepth})
}

// dmPlan describes a copy of a strided view of one slice into a
// strided view of another: element (i0, ..., ik) of the iteration shape
// goes from src[soff + sum(i*ss)] to dst[doff + sum(i*ds)]. Strides may be
// zero (broadcast) or negative (reversed). Transpose, Slice, Concat, Split,
// Expand, Tile, Pad and the depth/space reshuffles all reduce to one.
//
// A plan is a value: its dimensions live in fixed arrays, so building one
// on the stack for every run allocates nothing (only a plan of more than
// dmPlanDims dimensions after simplification keeps them on the heap).
type dmPlan struct {
	rank int // iteration rank, size-1 dimensions dropped, mergeable ones merged
	// dims holds the iteration shape and the dst and src strides (in
	// elements) per dimension, when rank <= dmPlanDims; else big does.
	dims       [3][dmPlanDims]int
	big        *[3][]int
	doff, soff int
	total      int // number of elements copied
}

// dmPlanDims is the largest iteration rank a plan holds in place: twice
// MaxDims, for Tile's interleaved repeat and copy axes.
const dmPlanDims = 2 * MaxDims

// axes returns the iteration shape and the dst and src strides.
func (p *dmPlan) axes() (shape, ds, ss []int) {
	if p.big != nil {
		return p.big[0], p.big[1], p.big[2]
	}
	return p.dims[0][:p.rank], p.dims[1][:p.rank], p.dims[2][:p.rank]
}

// newDmPlan builds a plan and simplifies it: dimensions of size 1 are
// dropped and a dimension is merged into the one outside it whenever both
// views step through them as one longer dimension.
func newDmPlan(shape, ds, ss []int, doff, soff int) dmPlan {
	var p dmPlan
	p.doff, p.soff, p.total = doff, soff, dmProd(shape)
	if p.total == 0 {
		return p
	}
	if len(shape) <= dmPlanDims {
		p.rank = dmMerge(shape, ds, ss, p.dims[0][:], p.dims[1][:], p.dims[2][:])
		return p
	}
	b := [3][]int{make([]int, len(shape)), make([]int, len(shape)), make([]int, len(shape))}
	p.rank = dmMerge(shape, ds, ss, b[0], b[1], b[2])
	p.big = &[3][]int{b[0][:p.rank], b[1][:p.rank], b[2][:p.rank]}
	return p
}

// dmMerge writes the simplified dimensions of a plan into oshape, ods and
// oss (each at least len(shape) long) and returns their number.
func dmMerge(shape, ds, ss, oshape, ods, oss []int) int {
	k := -1
	for i, d := range shape {
		if d == 1 {
			continue
		}
		if k >= 0 && ods[k] == ds[i]*d && oss[k] == ss[i]*d {
			oshape[k] *= d
			ods[k], oss[k] = ds[i], ss[i]
			continue
		}
		k++
		oshape[k], ods[k], oss[k] = d, ds[i], ss[i]
	}
	return k + 1
}

// isCopy reports whether the plan copies a whole slice of total elements
// unchanged, so the destination can share the source instead.
func (p *dmPlan) isCopy() bool {
	if p.doff != 0 || p.soff != 0 {
		return false
	}
	_, ds, ss := p.axes()
	switch len(ds) {
	case 0:
		return true
	case 1:
		return ds[0] == 1 && ss[0] == 1
	}
	return false
}

// dmTile is the side of the square tiles of the blocked transpose path.
const dmTile = 16

// dmGrainElems is about how many elements one goroutine should copy at
// least for splitting a copy across goroutines to pay off.
const dmGrainElems = 1 << 15

// split returns how a plan's work is divided: count units (rows, or
// tiles for the blocked path) of which each goroutine should take at least
// grain, and whether the blocked transpose path applies.
func (p *dmPlan) split() (count, grain int, blocked bool) {
	if p.total == 0 {
		return 0, 1, false
	}
	shape, ds, ss := p.axes()
	r := len(shape)
	if r == 0 {
		return 1, 1, false
	}
	n, di, si := shape[r-1], ds[r-1], ss[r-1]
	if r >= 2 && di == 1 && si != 1 && si != 0 && ss[r-2] == 1 && shape[r-2] >= 4 {
		m := shape[r-2]
		tilesA := (m + dmTile - 1) / dmTile
		return p.total / (m * n) * tilesA, max(1, dmGrainElems/(dmTile*n)), true
	}
	return p.total / n, max(1, dmGrainElems/n), false
}

// dmRun executes p. It splits the work across up to threads goroutines
// when the copy is large; mv is the mover of T, for the parallel job.
func dmRun[T any](mv dmMover, dst, src any, p *dmPlan, threads int) {
	count, grain, blocked := p.split()
	if count == 0 {
		return
	}
	if threads == 1 || count/grain <= 1 {
		dmRange(dst.([]T), src.([]T), p, blocked, 0, count)
		return
	}
	j, _ := dmJobs.Get().(*dmJob)
	if j == nil {
		j = new(dmJob)
	}
	j.p, j.mv, j.dst, j.src, j.blocked = *p, mv, dst, src, blocked
	parallel.Do(count, grain, threads, j)
	j.mv, j.dst, j.src = nil, nil, nil
	dmJobs.Put(j)
}

// dmJob is a parallel run of a plan; dmJobs recycles them.
type dmJob struct {
	p        dmPlan
	mv       dmMover
	dst, src any
	blocked  bool
}

var dmJobs sync.Pool

// Range runs units [lo, hi) of the plan.
func (j *dmJob) Range(lo, hi int) { j.mv.stridedRange(j.dst, j.src, &j.p, j.blocked, lo, hi) }

// dmRange runs units [lo, hi) of p (see split).
func dmRange[T any](dst, src []T, p *dmPlan, blocked bool, lo, hi int) {
	if blocked {
		dmBlocked(dst, src, p, lo, hi)
		return
	}
	shape, ds, ss := p.axes()
	r := len(shape)
	if r == 0 {
		dst[p.doff] = src[p.soff]
		return
	}
	n, di, si := shape[r-1], ds[r-1], ss[r-1]
	r1 := r - 1
	if r1 <= 1 && di == 1 && si == 1 {
		dmRows(dst, src, p, n, lo, hi)
		return
	}
	var idxBuf [dmPlanDims]int
	var idx []int
	if r1 <= dmPlanDims {
		idx = idxBuf[:r1]
	} else {
		idx = make([]int, r1)
	}
	dOff, sOff := p.doff, p.soff
	rem := lo
	for k := r1 - 1; k >= 0; k-- {
		idx[k] = rem % shape[k]
		rem /= shape[k]
		dOff += idx[k] * ds[k]
		sOff += idx[k] * ss[k]
	}
	for row := lo; row < hi; row++ {
		switch {
		case di == 1 && si == 1:
			if n <= dmShortRow {
				d, s := dst[dOff:dOff+n], src[sOff:sOff+n]
				for j := range d {
					d[j] = s[j]
				}
				break
			}
			copy(dst[dOff:dOff+n], src[sOff:sOff+n])
		case di == 1 && si == 0:
			v := src[sOff]
			d := dst[dOff : dOff+n]
			for j := range d {
				d[j] = v
			}
		case di == 1:
			d := dst[dOff : dOff+n]
			s := sOff
			for j := range d {
				d[j] = src[s]
				s += si
			}
		default:
			for j, dj, sj := 0, dOff, sOff; j < n; j++ {
				dst[dj] = src[sj]
				dj += di
				sj += si
			}
		}
		for k := r1 - 1; k >= 0; k-- {
			idx[k]++
			dOff += ds[k]
			sOff += ss[k]
			if idx[k] < shape[k] {
				break
			}
			dOff -= ds[k] * shape[k]
			sOff -= ss[k] * shape[k]
			idx[k] = 0
		}
	}
}

// dmShortRow is the longest contiguous row copied element by element
// rather than by copy (whose call costs more than a few moves).
const dmShortRow = 4

// dmRows runs rows [lo, hi) of a plan of at most two dimensions whose last
// one is contiguous on both sides (n values per row): Slice and Concat
// along an inner axis, with no index bookkeeping per row, and short rows
// moved element by element.
func dmRows[T any](dst, src []T, p *dmPlan, n, lo, hi int) {
	shape, ds, ss := p.axes()
	dA, sA := 0, 0
	if len(shape) == 2 {
		dA, sA = ds[0], ss[0]
	}
	dOff, sOff := p.doff+lo*dA, p.soff+lo*sA
	if n > dmShortRow {
		for row := lo; row < hi; row++ {
			copy(dst[dOff:dOff+n], src[sOff:sOff+n])
			dOff += dA
			sOff += sA
		}
		return
	}
	for row := lo; row < hi; row++ {
		d, s := dst[dOff:dOff+n], src[sOff:sOff+n]
		for j := range d {
			d[j] = s[j]
		}
		dOff += dA
		sOff += sA
	}
}

// dmBlocked runs tiles [lo, hi) of a plan whose last two dimensions form
// a transpose (contiguous writes along the last one, contiguous reads
// along the one before): it walks them in square tiles, each moved as 4x4
// blocks held in registers, so reads and writes both stay in cache lines
// already loaded.
func dmBlocked[T any](dst, src []T, p *dmPlan, lo, hi int) {
	shape, ds, ss := p.axes()
	r := len(shape)
	m, n := shape[r-2], shape[r-1]
	dA, sB := ds[r-2], ss[r-1]
	tilesA := (m + dmTile - 1) / dmTile
	for it := lo; it < hi; it++ {
		o, ta := it/tilesA, it%tilesA
		dOff, sOff := p.doff, p.soff
		for k := r - 3; k >= 0; k-- {
			c := o % shape[k]
			o /= shape[k]
			dOff += c * ds[k]
			sOff += c * ss[k]
		}
		a0, a1 := ta*dmTile, min(ta*dmTile+dmTile, m)
		for b0 := 0; b0 < n; b0 += dmTile {
			b1 := min(b0+dmTile, n)
			a := a0
			for ; a+4 <= a1; a += 4 {
				b := b0
				for ; b+4 <= b1; b += 4 {
					// One 4x4 block: dst[d+i*dA+j] = src[s+i+j*sB].
					d, s := dOff+a*dA+b, sOff+a+b*sB
					s0 := src[s : s+4]
					s1 := src[s+sB : s+sB+4]
					s2 := src[s+2*sB : s+2*sB+4]
					s3 := src[s+3*sB : s+3*sB+4]
					d0 := dst[d : d+4]
					d1 := dst[d+dA : d+dA+4]
					d2 := dst[d+2*dA : d+2*dA+4]
					d3 := dst[d+3*dA : d+3*dA+4]
					d0[0], d0[1], d0[2], d0[3] = s0[0], s1[0], s2[0], s3[0]
					d1[0], d1[1], d1[2], d1[3] = s0[1], s1[1], s2[1], s3[1]
					d2[0], d2[1], d2[2], d2[3] = s0[2], s1[2], s2[2], s3[2]
					d3[0], d3[1], d3[2], d3[3] = s0[3], s1[3], s2[3], s3[3]
				}
				for ; b < b1; b++ {
					for i := a; i < a+4; i++ {
						dst[dOff+i*dA+b] = src[sOff+i+b*sB]
					}
				}
			}
			for ; a < a1; a++ {
				d := dst[dOff+a*dA+b0 : dOff+a*dA+b1]
				s := sOff + a + b0*sB
				for j := range d {
					d[j] = src[s]
					s += sB
				}
			}
		}
	}
}

// dmPermute returns shape reordered by perm.
func dmPermute(shape, perm []int) []int {
	return dmPermuteInto(make([]int, len(perm)), shape, perm)
}

// dmPermuteInto writes shape reordered by perm into out and returns it.
func dmPermuteInto(out, shape, perm []int) []int {
	for i, p := range perm {
		out[i] = shape[p]
	}
	return out
}

// dmTransposeData transposes x's data, viewed as shape (same element
// count as x), by perm, into a tensor of shape yshape (the permuted shape
// when nil; else of the same element count). When the permutation leaves
// the element order unchanged the result shares x's data.
func dmTransposeData(ctx *Ctx, x *tensor.Tensor, mv dmMover, shape, perm, yshape []int) *tensor.Tensor {
	r := len(perm)
	var b0, b1, b2, b3 [MaxDims]int
	st := dmStridesInto(dmBuf(&b0, r), shape)
	oshape := dmPermuteInto(dmBuf(&b1, r), shape, perm)
	ss := dmBuf(&b2, r)
	for i, p := range perm {
		ss[i] = st[p]
	}
	p := newDmPlan(oshape, dmStridesInto(dmBuf(&b3, r), oshape), ss, 0, 0)
	if yshape == nil {
		yshape = oshape
	}
	if p.isCopy() {
		return ctx.View(x.DType, yshape, x.Data)
	}
	out := ctx.NewUninit(x.DType, yshape...) // a permutation writes all
	mv.strided(out.Data, x.Data, p, redThreads(ctx))
	return out
}

// buildTranspose prepares Transpose: output axis i is input axis perm[i];
// without perm the axes are reversed.
// https://onnx.ai/onnx/operators/onnx__Transpose.html
func buildTranspose(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	perm64, err := n.Ints("perm", nil)
	if err != nil {
		return nil, err
	}
	var perm []int
	if perm64 != nil {
		perm = make([]int, len(perm64))
		seen := make([]bool, len(perm64))
		for i, p := range perm64 {
			if p < 0 || p >= int64(len(perm64)) || seen[p] {
				return nil, n.Errorf("perm %v is not a permutation", perm64)
			}
			seen[p] = true
			perm[i] = int(p)
		}
	}
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		pm := perm
		if pm == nil {
			var buf [MaxDims]int
			pm = dmBuf(&buf, len(x.Shape))
			for i := range pm {
				pm[i] = len(pm) - 1 - i
			}
		} else if len(pm) != len(x.Shape) {
			return nil, nd.errf("perm has %d entries for input shape %v", len(pm), x.Shape)
		}
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		return ctx.Out(dmTransposeData(ctx, x, mv, x.Shape, pm, nil)), nil
	}), nil
}

// buildDepthToSpace prepares DepthToSpace on [N, C, H, W]: blocks of
// blocksize*blocksize channels become blocksize-by-blocksize pixels. In DCR
// mode (the default) the channel index is (row, col, c); in CRD mode
// (opset 11+) it is (c, row, col).
// https://onnx.ai/onnx/operators/onnx__DepthToSpace.html
func buildDepthToSpace(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	bs, err := n.Int("blocksize", 0)
	if err != nil {
		return nil, err
	}
	if bs <= 0 || bs > 1<<15 {
		return nil, n.Errorf("blocksize %d out of range", bs)
	}
	mode := "DCR"
	if n.Opset >= 11 {
		if mode, err = n.String("mode", "DCR"); err != nil {
			return nil, err
		}
	}
	if mode != "DCR" && mode != "CRD" {
		return nil, n.Errorf("unknown mode %q", mode)
	}
	b := int(bs)
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if len(x.Shape) != 4 || x.Shape[1]%(b*b) != 0 {
			return nil, nd.errf("input shape %v must be [N, C, H, W] with C a multiple of %d", x.Shape, b*b)
		}
		nn, c, h, w := x.Shape[0], x.Shape[1]/(b*b), x.Shape[2], x.Shape[3]
		var vshape, perm []int
		if mode == "DCR" {
			vshape, perm = []int{nn, b, b, c, h, w}, []int{0, 3, 4, 1, 5, 2}
		} else {
			vshape, perm = []int{nn, c, b, b, h, w}, []int{0, 1, 4, 2, 5, 3}
		}
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		return ctx.Out(dmTransposeData(ctx, x, mv, vshape, perm, []int{nn, c, h * b, w * b})), nil
	}), nil
}

// buildSpaceToDepth prepares SpaceToDepth on [N, C, H, W], the inverse of
// DepthToSpace in DCR mode.
// https://onnx.ai/onnx/operators/onnx__SpaceToDepth.html
func buildSpaceToDepth(n *Node) (Kernel, error) {
	if err := dmRequire(n, 1); err != nil {
		return nil, err
	}
	bs, err := n.Int("blocksize", 0)
	if err != nil {
		return nil, err
	}
	if bs <= 0 || bs > 1<<15 {
		return nil, n.Errorf("blocksize %d out of range", bs)
	}
	b := int(bs)
	nd := dmNodeOf(n)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		x := in[0]
		if len(x.Shape) != 4 || x.Shape[2]%b != 0 || x.Shape[3]%b != 0 {
			return nil, nd.errf("input shape %v must be [N, C, H, W] with H and W multiples of %d", x.Shape, b)
		}
		nn, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2]/b, x.Shape[3]/b
		mv, err := dmMoverFor(x)
		if err != nil {
			return nil, nd.errf("%w", err)
		}
		y := dmTransposeData(ctx, x, mv, []int{nn, c, h, b, w, b}, []int{0, 3, 5, 1, 2, 4}, []int{nn, c * b * b, h, w})
		return ctx.Out(y), nil
	}), nil
}
