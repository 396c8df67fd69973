package kernel

import (
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
type dmPlan struct {
	shape      []int // iteration shape, size-1 dimensions dropped, mergeable ones merged
	ds, ss     []int // dst and src strides per dimension, in elements
	doff, soff int
	total      int // number of elements copied
}

// newDmPlan builds a plan and simplifies it: dimensions of size 1 are
// dropped and a dimension is merged into the one outside it whenever both
// views step through them as one longer dimension.
func newDmPlan(shape, ds, ss []int, doff, soff int) *dmPlan {
	p := &dmPlan{doff: doff, soff: soff, total: dmProd(shape)}
	if p.total == 0 {
		return p
	}
	for i, d := range shape {
		if d == 1 {
			continue
		}
		k := len(p.shape) - 1
		if k >= 0 && p.ds[k] == ds[i]*d && p.ss[k] == ss[i]*d {
			p.shape[k] *= d
			p.ds[k], p.ss[k] = ds[i], ss[i]
			continue
		}
		p.shape = append(p.shape, d)
		p.ds = append(p.ds, ds[i])
		p.ss = append(p.ss, ss[i])
	}
	return p
}

// isCopy reports whether the plan copies a whole slice of total elements
// unchanged, so the destination can share the source instead.
func (p *dmPlan) isCopy() bool {
	if p.doff != 0 || p.soff != 0 {
		return false
	}
	switch len(p.shape) {
	case 0:
		return true
	case 1:
		return p.ds[0] == 1 && p.ss[0] == 1
	}
	return false
}

// dmTile is the side of the square tiles of the blocked transpose path.
const dmTile = 16

// dmGrainElems is about how many elements one goroutine should copy at
// least for splitting a copy across goroutines to pay off.
const dmGrainElems = 1 << 15

// dmRun executes p. It splits the work across up to threads
// goroutines when the copy is large.
func dmRun[T any](dst, src []T, p *dmPlan, threads int) {
	if p.total == 0 {
		return
	}
	r := len(p.shape)
	if r == 0 {
		dst[p.doff] = src[p.soff]
		return
	}
	n, di, si := p.shape[r-1], p.ds[r-1], p.ss[r-1]
	if r >= 2 && di == 1 && si != 1 && si != 0 && p.ss[r-2] == 1 && p.shape[r-2] >= 4 {
		dmBlocked(dst, src, p, threads)
		return
	}
	rows := p.total / n
	parallel.For(rows, max(1, dmGrainElems/n), threads, func(lo, hi int) {
		r1 := r - 1
		idx := make([]int, r1)
		dOff, sOff := p.doff, p.soff
		rem := lo
		for k := r1 - 1; k >= 0; k-- {
			idx[k] = rem % p.shape[k]
			rem /= p.shape[k]
			dOff += idx[k] * p.ds[k]
			sOff += idx[k] * p.ss[k]
		}
		for row := lo; row < hi; row++ {
			switch {
			case di == 1 && si == 1:
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
				dOff += p.ds[k]
				sOff += p.ss[k]
				if idx[k] < p.shape[k] {
					break
				}
				dOff -= p.ds[k] * p.shape[k]
				sOff -= p.ss[k] * p.shape[k]
				idx[k] = 0
			}
		}
	})
}

// dmBlocked runs a plan whose last two dimensions form a transpose
// (contiguous writes along the last one, contiguous reads along the one
// before): it walks them in square tiles, each moved as 4x4 blocks held in
// registers, so reads and writes both stay in cache lines already loaded.
func dmBlocked[T any](dst, src []T, p *dmPlan, threads int) {
	r := len(p.shape)
	m, n := p.shape[r-2], p.shape[r-1]
	dA, sB := p.ds[r-2], p.ss[r-1]
	outer := p.total / (m * n)
	tilesA := (m + dmTile - 1) / dmTile
	parallel.For(outer*tilesA, max(1, dmGrainElems/(dmTile*n)), threads, func(lo, hi int) {
		for it := lo; it < hi; it++ {
			o, ta := it/tilesA, it%tilesA
			dOff, sOff := p.doff, p.soff
			for k := r - 3; k >= 0; k-- {
				c := o % p.shape[k]
				o /= p.shape[k]
				dOff += c * p.ds[k]
				sOff += c * p.ss[k]
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
	})
}

// dmPermute returns shape reordered by perm.
func dmPermute(shape, perm []int) []int {
	out := make([]int, len(perm))
	for i, p := range perm {
		out[i] = shape[p]
	}
	return out
}

// dmTransposeData transposes x's data, viewed as shape (same element
// count as x), by perm. When the permutation leaves the element order
// unchanged the result shares x's data.
func dmTransposeData(ctx *Ctx, x *tensor.Tensor, mv dmMover, shape, perm []int) *tensor.Tensor {
	st := dmStrides(shape)
	oshape := dmPermute(shape, perm)
	ss := make([]int, len(perm))
	for i, p := range perm {
		ss[i] = st[p]
	}
	p := newDmPlan(oshape, dmStrides(oshape), ss, 0, 0)
	if p.isCopy() {
		return dmShare(x, oshape)
	}
	out := ctx.NewUninit(x.DType, oshape...) // a permutation writes all
	mv.strided(out.Data, x.Data, p, ctx.Threads)
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
			pm = make([]int, len(x.Shape))
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
		return []*tensor.Tensor{dmTransposeData(ctx, x, mv, x.Shape, pm)}, nil
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
		y := dmTransposeData(ctx, x, mv, vshape, perm)
		y.Shape = []int{nn, c, h * b, w * b}
		return []*tensor.Tensor{y}, nil
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
		y := dmTransposeData(ctx, x, mv, []int{nn, c, h, b, w, b}, []int{0, 3, 5, 1, 2, 4})
		y.Shape = []int{nn, c * b * b, h, w}
		return []*tensor.Tensor{y}, nil
	}), nil
}
