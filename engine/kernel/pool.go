package kernel

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "MaxPool", Build: buildMaxPool})
	Register(Op{Type: "AveragePool", Build: buildAveragePool})
	Register(Op{Type: "LpPool", Build: buildLpPool})
	Register(Op{Type: "GlobalAveragePool", Build: buildGlobalPool(poolAvg)})
	Register(Op{Type: "GlobalMaxPool", Build: buildGlobalPool(poolMax)})
}

// poolKind selects what a window reduces to.
type poolKind int

const (
	poolMax poolKind = iota
	poolAvg
	poolLp
)

// poolKernel is a prepared MaxPool, AveragePool or LpPool node.
type poolKernel struct {
	n          *Node
	kind       poolKind
	attrs      *WindowAttrs
	includePad bool    // AveragePool count_include_pad
	colMajor   bool    // MaxPool storage_order=1 (indices column-major)
	p          float64 // LpPool exponent

	plan atomic.Pointer[poolPlan] // geometry of the last input shape seen
}

// poolPlan is a pool's geometry for one input shape, kept so that repeated
// runs on the same shape allocate nothing for it.
type poolPlan struct {
	xShape   []int
	win      *Window
	g        *poolGeom
	outShape []int
}

// planFor returns the geometry for this input shape, from the last one
// made when the shape matches.
func (k *poolKernel) planFor(xShape []int) (*poolPlan, error) {
	if p := k.plan.Load(); p != nil && cvSameInts(p.xShape, xShape) {
		return p, nil
	}
	win, err := k.attrs.Resolve(xShape[2:], nil)
	if err != nil {
		return nil, k.n.Errorf("input %v: %w", xShape, err)
	}
	g, err := newPoolGeom(win)
	if err != nil {
		return nil, k.n.Errorf("%w", err)
	}
	p := &poolPlan{
		xShape: append([]int(nil), xShape...), win: win, g: g,
		outShape: append([]int{xShape[0], xShape[1]}, win.Out...),
	}
	k.plan.Store(p)
	return p, nil
}

// buildMaxPool prepares MaxPool (opsets 1, 8, 10, 11, 12, 22), with the
// optional Indices output (flat positions in the input, not counting
// padding; column-major over the spatial axes when storage_order is 1).
// https://onnx.ai/onnx/operators/onnx__MaxPool.html
func buildMaxPool(n *Node) (Kernel, error) {
	v10 := n.Opset >= 10
	attrs, err := ReadWindowAttrs(n, WindowAttrOptions{Dilations: v10, CeilMode: v10, KernelRequired: true})
	if err != nil {
		return nil, err
	}
	k := &poolKernel{n: n, kind: poolMax, attrs: attrs}
	if n.Opset >= 8 {
		so, err := n.Int("storage_order", 0)
		if err != nil {
			return nil, err
		}
		if so != 0 && so != 1 {
			return nil, n.Errorf("storage_order %d is not 0 or 1", so)
		}
		k.colMajor = so == 1
	} else if n.HasOutput(1) {
		return nil, n.Errorf("the Indices output needs opset 8")
	}
	return k, nil
}

// buildAveragePool prepares AveragePool (opsets 1, 7, 10, 11, 19, 22). A
// window's divisor counts its taps inside the input, or with
// count_include_pad also those on the explicit padding (never those past
// it that ceil_mode adds).
// https://onnx.ai/onnx/operators/onnx__AveragePool.html
func buildAveragePool(n *Node) (Kernel, error) {
	attrs, err := ReadWindowAttrs(n, WindowAttrOptions{Dilations: n.Opset >= 19, CeilMode: n.Opset >= 10, KernelRequired: true})
	if err != nil {
		return nil, err
	}
	k := &poolKernel{n: n, kind: poolAvg, attrs: attrs}
	if n.Opset >= 7 {
		c, err := n.Int("count_include_pad", 0)
		if err != nil {
			return nil, err
		}
		k.includePad = c != 0
	}
	return k, nil
}

// buildLpPool prepares LpPool (opsets 1, 2, 11, 18, 22): the p-norm of
// each window, (sum |x|^p)^(1/p), padding counting as zeros. p is a float
// attribute in opset 1 and an int from opset 2, default 2.
// https://onnx.ai/onnx/operators/onnx__LpPool.html
func buildLpPool(n *Node) (Kernel, error) {
	v18 := n.Opset >= 18
	attrs, err := ReadWindowAttrs(n, WindowAttrOptions{Dilations: v18, CeilMode: v18, KernelRequired: true})
	if err != nil {
		return nil, err
	}
	k := &poolKernel{n: n, kind: poolLp, attrs: attrs}
	if n.Opset < 2 {
		p, err := n.Float("p", 2)
		if err != nil {
			return nil, err
		}
		k.p = float64(p)
	} else {
		p, err := n.Int("p", 2)
		if err != nil {
			return nil, err
		}
		k.p = float64(p)
	}
	if !(k.p > 0) || math.IsInf(k.p, 0) {
		return nil, n.Errorf("p %g must be positive", k.p)
	}
	return k, nil
}

// poolGeom is a window geometry brought to three spatial axes (1-D and
// 2-D pools get leading axes of size 1) with, per axis and output index,
// the range of taps that land inside the input and the number of taps
// that land inside the input or its explicit padding.
type poolGeom struct {
	in, out, d [3]int
	k, s, pb   [3]int   // kernel size, stride and leading padding
	start      [3][]int // input position of tap 0
	tlo, thi   [3][]int // taps [tlo, thi) are inside the input
	padCount   [3][]int // taps inside [-pad_begin, in+pad_end)
	inSize     int
	outSize    int
	ones       []float32 // k[2] ones: avgPool2DF32's weights
}

func newPoolGeom(w *Window) (*poolGeom, error) {
	r := w.Rank()
	if r > 3 {
		return nil, fmt.Errorf("pooling over %d spatial axes: %w", r, ErrUnsupported)
	}
	g := &poolGeom{inSize: w.InSize(), outSize: w.OutSize()}
	defer func() {
		g.ones = make([]float32, g.k[2])
		for i := range g.ones {
			g.ones[i] = 1
		}
	}()
	for a := 0; a < 3; a++ {
		src := a - (3 - r)
		in, out, k, s, d, pb, pe := 1, 1, 1, 1, 1, 0, 0
		if src >= 0 {
			in, out, k, s, d = w.In[src], w.Out[src], w.Kernel[src], w.Strides[src], w.Dilations[src]
			pb, pe = w.PadBegin[src], w.PadEnd[src]
		}
		g.in[a], g.out[a], g.d[a] = in, out, d
		g.k[a], g.s[a], g.pb[a] = k, s, pb
		g.start[a] = make([]int, out)
		g.tlo[a] = make([]int, out)
		g.thi[a] = make([]int, out)
		g.padCount[a] = make([]int, out)
		for o := 0; o < out; o++ {
			st := o*s - pb
			lo, hi, cnt := k, 0, 0
			for t := 0; t < k; t++ {
				p := st + t*d
				if p >= 0 && p < in {
					lo = min(lo, t)
					hi = t + 1
				}
				if p >= -pb && p < in+pe {
					cnt++
				}
			}
			if hi == 0 {
				lo = 0
			}
			g.start[a][o], g.tlo[a][o], g.thi[a][o], g.padCount[a][o] = st, lo, hi, cnt
		}
	}
	return g, nil
}

// plNumber is the set of element types the pooling loops run on.
type plNumber interface {
	float32 | float64 | int8 | uint8
}

// maxPoolPlanes computes max pooling for planes [p0, p1) of x into y and,
// when idx is not nil, the flat input index of each maximum.
func maxPoolPlanes[T plNumber](g *poolGeom, x, y []T, idx []int64, p0, p1 int, colMajor bool) {
	in1, in2 := g.in[1], g.in[2]
	for p := p0; p < p1; p++ {
		xp := x[p*g.inSize : (p+1)*g.inSize]
		yp := y[p*g.outSize : (p+1)*g.outSize]
		o := 0
		for o0 := 0; o0 < g.out[0]; o0++ {
			s0, l0, h0 := g.start[0][o0], g.tlo[0][o0], g.thi[0][o0]
			for o1 := 0; o1 < g.out[1]; o1++ {
				s1, l1, h1 := g.start[1][o1], g.tlo[1][o1], g.thi[1][o1]
				for o2 := 0; o2 < g.out[2]; o2++ {
					s2, l2, h2 := g.start[2][o2], g.tlo[2][o2], g.thi[2][o2]
					var best T
					at := -1
					for t0 := l0; t0 < h0; t0++ {
						i0 := s0 + t0*g.d[0]
						for t1 := l1; t1 < h1; t1++ {
							row := (i0*in1 + s1 + t1*g.d[1]) * in2
							for t2 := l2; t2 < h2; t2++ {
								i := row + s2 + t2*g.d[2]
								// A NaN wins and then stays (v != v only for
								// floats).
								if v := xp[i]; at < 0 || (best == best && (v > best || v != v)) {
									best, at = v, i
								}
							}
						}
					}
					if at < 0 {
						best = lowest[T]()
					}
					yp[o] = best
					if idx != nil {
						if at < 0 {
							idx[p*g.outSize+o] = -1
						} else {
							if colMajor {
								i2 := at % in2
								i1 := (at / in2) % in1
								i0 := at / (in1 * in2)
								at = i0 + g.in[0]*(i1+in1*i2)
							}
							idx[p*g.outSize+o] = int64(p*g.inSize + at)
						}
					}
					o++
				}
			}
		}
	}
}

// maxPool2DF32 is maxPoolPlanes for float32 pools over at most two
// spatial axes without indices. Per output row it first takes the
// elementwise maximum of the window's input rows (gemm.MaxInto, a vector
// loop) into a row padded with -Inf on both sides, then the maximum over
// each window's columns of that row (gemm.PoolRowMax, a vector loop for
// strides 1 and 2). As in maxPoolPlanes, a window holding a NaN gives NaN.
func maxPool2DF32(g *poolGeom, x, y []float32, p0, p1 int) {
	in2, out2 := g.in[2], g.out[2]
	lowest := float32(math.Inf(-1))
	if g.d[2] != 1 {
		maxPoolPlanes(g, x, y, nil, p0, p1, false)
		return
	}
	if out2 < 8 {
		// Short rows: the vector loops' calls cost more than they save.
		maxPoolSmallF32(g, x, y, p0, p1)
		return
	}
	// The padded row holds the input at column pb: window o then starts at
	// column o*s, and the -Inf around the input never wins.
	pb, s2, k2 := g.pb[2], g.s[2], g.k[2]
	wp := max(pb+in2, (out2-1)*s2+k2+1)
	colMaxp := poolRows.get(wp)
	defer poolRows.put(colMaxp)
	colMax := *colMaxp
	for p := p0; p < p1; p++ {
		xp := x[p*g.inSize : (p+1)*g.inSize]
		yp := y[p*g.outSize : (p+1)*g.outSize]
		for o1 := 0; o1 < g.out[1]; o1++ {
			s1, l1, h1 := g.start[1][o1], g.tlo[1][o1], g.thi[1][o1]
			yrow := yp[o1*out2 : (o1+1)*out2]
			if h1 <= l1 {
				for i := range yrow {
					yrow[i] = lowest
				}
				continue
			}
			// The copy below overwrites the middle; only the padding
			// around it must be -Inf.
			for i := range colMax[:pb] {
				colMax[i] = lowest
			}
			for i := pb + in2; i < len(colMax); i++ {
				colMax[i] = lowest
			}
			mid := colMax[pb : pb+in2]
			r0 := s1 + l1*g.d[1]
			copy(mid, xp[r0*in2:(r0+1)*in2])
			for t1 := l1 + 1; t1 < h1; t1++ {
				r := s1 + t1*g.d[1]
				gemm.MaxInto(mid, xp[r*in2:(r+1)*in2])
			}
			_ = gemm.PoolRowMax(yrow, colMax, k2, s2)
		}
	}
}

// maxPoolSmallF32 is maxPool2DF32 for short output rows: each window's
// taps inside the input through Go's max, which gives NaN when either
// value is NaN. Windows wholly inside the input along the last axis (all
// of them without padding) of 2 or 3 columns take unrolled loops.
func maxPoolSmallF32(g *poolGeom, x, y []float32, p0, p1 int) {
	in2, out2, k2 := g.in[2], g.out[2], g.k[2]
	lowest := float32(math.Inf(-1))
	// Output columns [c0, c1) have all k2 taps inside the input.
	c0, c1 := 0, 0
	if k2 == 2 || k2 == 3 {
		tlo, thi := g.tlo[2], g.thi[2]
		for c0 < out2 && (tlo[c0] != 0 || thi[c0] != k2) {
			c0++
		}
		c1 = c0
		for c1 < out2 && tlo[c1] == 0 && thi[c1] == k2 {
			c1++
		}
	}
	start2, st2 := g.start[2], g.s[2]
	for p := p0; p < p1; p++ {
		xp := x[p*g.inSize : (p+1)*g.inSize]
		yp := y[p*g.outSize : (p+1)*g.outSize]
		for o1 := 0; o1 < g.out[1]; o1++ {
			s1, l1, h1 := g.start[1][o1], g.tlo[1][o1], g.thi[1][o1]
			yrow := yp[o1*out2 : (o1+1)*out2]
			for o2 := range yrow {
				if o2 == c0 && c1 > c0 {
					maxPoolColsF32(xp, yrow[c0:c1], (s1+l1*g.d[1])*in2+start2[c0], h1-l1, g.d[1]*in2, st2, k2)
				}
				if o2 >= c0 && o2 < c1 {
					continue
				}
				s2, l2, h2 := g.start[2][o2], g.tlo[2][o2], g.thi[2][o2]
				best := lowest
				for t1 := l1; t1 < h1; t1++ {
					row := xp[(s1+t1*g.d[1])*in2:]
					for t2 := l2; t2 < h2; t2++ {
						best = max(best, row[s2+t2*g.d[2]])
					}
				}
				yrow[o2] = best
			}
		}
	}
}

// maxPoolColsF32 sets out[i] to the maximum of the rows x k (2 or 3)
// window starting at x[off + i*s], rows rstep apart, through Go's max.
// The maximum is taken as a tree (each row's, then the rows'), which
// shortens the chain of dependent max operations; Go's max is commutative
// and associative (+0 above -0, NaN when any value is NaN), so the value
// is the one the taps taken one by one from -Inf give.
func maxPoolColsF32(x, out []float32, off, rows, rstep, s, k int) {
	if rows <= 0 {
		for i := range out {
			out[i] = float32(math.Inf(-1))
		}
		return
	}
	for i := range out {
		o := off + i*s
		var best float32
		if k == 2 {
			w := x[o : o+2]
			best = max(w[0], w[1])
			for r := 1; r < rows; r++ {
				w = x[o+r*rstep : o+r*rstep+2]
				best = max(best, max(w[0], w[1]))
			}
		} else {
			w := x[o : o+3]
			best = max(w[0], w[1], w[2])
			for r := 1; r < rows; r++ {
				w = x[o+r*rstep : o+r*rstep+3]
				best = max(best, max(w[0], w[1], w[2]))
			}
		}
		out[i] = best
	}
}

// avgPool2DF32 is sumPoolPlanes for float32 average pools over at most
// two spatial axes: per output row, the window's input rows are summed
// into a zero-padded row, each window's columns of that row are summed
// (both with gemm.ConvRow and unit weights, a vector loop), and the sum is
// divided by the window's count as sumPoolPlanes counts it. The sums are
// float32 (sumPoolPlanes sums in float64), so results may differ in the
// last bits.
func avgPool2DF32(g *poolGeom, x, y []float32, p0, p1 int, includePad bool) {
	in2, out2 := g.in[2], g.out[2]
	pb, s2, k2 := g.pb[2], g.s[2], g.k[2]
	wp := max(pb+in2, (out2-1)*s2+k2+1)
	rowSump := poolRows.get(wp)
	defer poolRows.put(rowSump)
	rowSum := *rowSump
	clear(rowSum)
	ones := g.ones
	mid := rowSum[pb : pb+in2]
	for p := p0; p < p1; p++ {
		xp := x[p*g.inSize : (p+1)*g.inSize]
		yp := y[p*g.outSize : (p+1)*g.outSize]
		for o1 := 0; o1 < g.out[1]; o1++ {
			s1, l1, h1 := g.start[1][o1], g.tlo[1][o1], g.thi[1][o1]
			clear(mid)
			for t1 := l1; t1 < h1; t1++ {
				r := s1 + t1*g.d[1]
				_ = gemm.ConvRow(mid, xp[r*in2:(r+1)*in2], ones[:1], 1)
			}
			yrow := yp[o1*out2 : (o1+1)*out2]
			clear(yrow)
			_ = gemm.ConvRow(yrow, rowSum, ones, s2)
			for o2 := range yrow {
				var cnt int
				if includePad {
					cnt = g.padCount[1][o1] * g.padCount[2][o2]
				} else {
					cnt = (h1 - l1) * (g.thi[2][o2] - g.tlo[2][o2])
				}
				yrow[o2] /= float32(cnt)
			}
		}
	}
}

// poolRows recycles the padded rows of maxPool2DF32 and avgPool2DF32.
var poolRows cvBufPool

// lowest returns the smallest value of T (-Inf for floats).
func lowest[T plNumber]() T {
	var z T
	switch any(z).(type) {
	case float32:
		return T(float32(math.Inf(-1)))
	case float64:
		return T(math.Inf(-1))
	case int8:
		v := int8(math.MinInt8)
		return T(v)
	}
	return 0
}

// sumPoolPlanes computes average (lp == 0) or Lp pooling for planes
// [p0, p1).
func sumPoolPlanes[T cvFloat](g *poolGeom, x, y []T, p0, p1 int, includePad bool, lp float64) {
	in1, in2 := g.in[1], g.in[2]
	for p := p0; p < p1; p++ {
		xp := x[p*g.inSize : (p+1)*g.inSize]
		yp := y[p*g.outSize : (p+1)*g.outSize]
		o := 0
		for o0 := 0; o0 < g.out[0]; o0++ {
			s0, l0, h0 := g.start[0][o0], g.tlo[0][o0], g.thi[0][o0]
			for o1 := 0; o1 < g.out[1]; o1++ {
				s1, l1, h1 := g.start[1][o1], g.tlo[1][o1], g.thi[1][o1]
				for o2 := 0; o2 < g.out[2]; o2++ {
					s2, l2, h2 := g.start[2][o2], g.tlo[2][o2], g.thi[2][o2]
					var sum float64
					for t0 := l0; t0 < h0; t0++ {
						i0 := s0 + t0*g.d[0]
						for t1 := l1; t1 < h1; t1++ {
							row := xp[(i0*in1+s1+t1*g.d[1])*in2:]
							switch lp {
							case 0:
								for t2 := l2; t2 < h2; t2++ {
									sum += float64(row[s2+t2*g.d[2]])
								}
							case 1:
								for t2 := l2; t2 < h2; t2++ {
									sum += math.Abs(float64(row[s2+t2*g.d[2]]))
								}
							case 2:
								for t2 := l2; t2 < h2; t2++ {
									v := float64(row[s2+t2*g.d[2]])
									sum += v * v
								}
							default:
								for t2 := l2; t2 < h2; t2++ {
									sum += math.Pow(math.Abs(float64(row[s2+t2*g.d[2]])), lp)
								}
							}
						}
					}
					switch {
					case lp == 1:
						yp[o] = T(sum)
					case lp == 2:
						yp[o] = T(math.Sqrt(sum))
					case lp > 0:
						yp[o] = T(math.Pow(sum, 1/lp))
					default:
						var cnt int
						if includePad {
							cnt = g.padCount[0][o0] * g.padCount[1][o1] * g.padCount[2][o2]
						} else {
							cnt = (h0 - l0) * (h1 - l1) * (h2 - l2)
						}
						yp[o] = T(sum / float64(cnt))
					}
					o++
				}
			}
		}
	}
}

func (k *poolKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0); err != nil {
		return nil, err
	}
	x := in[0]
	if len(x.Shape) < 3 {
		return nil, n.Errorf("input shape %v: need [N, C, spatial...]", x.Shape)
	}
	pp, err := k.planFor(x.Shape)
	if err != nil {
		return nil, err
	}
	win, g, outShape := pp.win, pp.g, pp.outShape
	planes := x.Shape[0] * x.Shape[1]
	threads := cvThreads(ctx)
	grain := max(1, (1<<15)/max(g.outSize*win.KernelSize(), 1))
	var idx *tensor.Tensor
	var idxData []int64
	if k.kind == poolMax && n.HasOutput(1) {
		idx = ctx.New(tensor.Int64, outShape...)
		idxData = idx.Data.([]int64)
	}
	dt := x.DType
	xw, err := cvWiden(x)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	var y *tensor.Tensor
	if cvIsHalf(dt) {
		y = tensor.New(tensor.Float32, outShape...)
	} else {
		switch dt {
		case tensor.Float32, tensor.Float64:
		case tensor.Int8, tensor.Uint8:
			if k.kind != poolMax || n.Opset < 12 {
				return nil, n.Unsupported("element type %v", dt)
			}
		default:
			return nil, n.Unsupported("element type %v", dt)
		}
		if (dt == tensor.Float32 || dt == tensor.Int8 || dt == tensor.Uint8) && k.kind == poolMax {
			y = ctx.NewUninit(dt, outShape...) // every output is written
		} else {
			y = ctx.New(dt, outShape...)
		}
	}
	j := poolJobs.get()
	*j = poolJob{k: k, g: g, idx: idxData}
	switch xd := xw.Data.(type) {
	case []float32:
		j.xf, j.yf = xd, y.Data.([]float32)
		switch {
		case k.kind == poolMax && idxData == nil && g.in[0] == 1 && g.out[0] == 1:
			j.mode = poolMax2DF32
		case k.kind == poolMax:
			j.mode = poolMaxF32
		case k.kind == poolAvg && g.in[0] == 1 && g.out[0] == 1 && g.d[2] == 1:
			j.mode = poolAvg2DF32
		default:
			j.mode = poolSumF32
		}
	case []float64:
		j.xd, j.yd = xd, y.Data.([]float64)
		j.mode = poolSumF64
		if k.kind == poolMax {
			j.mode = poolMaxF64
		}
	case []int8:
		j.xs8, j.ys8 = xd, y.Data.([]int8)
		j.mode = poolMaxS8
		if pool2D8(g, idxData) {
			j.mode = poolMax2DS8
		}
	case []uint8:
		j.xu8, j.yu8 = xd, y.Data.([]uint8)
		j.mode = poolMaxU8
		if pool2D8(g, idxData) {
			j.mode = poolMax2DU8
		}
	}
	parallel.Do(planes, grain, threads, j)
	*j = poolJob{}
	poolJobs.put(j)
	out, err := cvNarrow(y, dt)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	if idx != nil {
		return ctx.Out(out, idx), nil
	}
	return ctx.Out(out), nil
}

// poolJob is a pooling loop over planes: mode selects the loop and the
// element type.
type poolJob struct {
	k        *poolKernel
	g        *poolGeom
	mode     int
	idx      []int64
	xf, yf   []float32
	xd, yd   []float64
	xs8, ys8 []int8
	xu8, yu8 []uint8
}

// poolJob modes.
const (
	poolMax2DF32 = iota
	poolMaxF32
	poolAvg2DF32
	poolSumF32
	poolMaxF64
	poolSumF64
	poolMaxS8
	poolMaxU8
	poolMax2DS8
	poolMax2DU8
)

// pool2D8 reports whether an 8-bit max pool of geometry g (indices wanted
// when idx is not nil) can run as maxPool2D8.
func pool2D8(g *poolGeom, idx []int64) bool {
	return idx == nil && g.in[0] == 1 && g.out[0] == 1 && g.d[2] == 1
}

var poolJobs jobPool[poolJob]

func (j *poolJob) Range(p0, p1 int) {
	k, g := j.k, j.g
	switch j.mode {
	case poolMax2DF32:
		maxPool2DF32(g, j.xf, j.yf, p0, p1)
	case poolMaxF32:
		maxPoolPlanes(g, j.xf, j.yf, j.idx, p0, p1, k.colMajor)
	case poolAvg2DF32:
		avgPool2DF32(g, j.xf, j.yf, p0, p1, k.includePad)
	case poolSumF32:
		sumPoolPlanes(g, j.xf, j.yf, p0, p1, k.includePad, k.lpExp())
	case poolMaxF64:
		maxPoolPlanes(g, j.xd, j.yd, j.idx, p0, p1, k.colMajor)
	case poolSumF64:
		sumPoolPlanes(g, j.xd, j.yd, p0, p1, k.includePad, k.lpExp())
	case poolMaxS8:
		maxPoolPlanes(g, j.xs8, j.ys8, j.idx, p0, p1, k.colMajor)
	case poolMaxU8:
		maxPoolPlanes(g, j.xu8, j.yu8, j.idx, p0, p1, k.colMajor)
	case poolMax2DS8:
		maxPool2D8(g, j.xs8, j.ys8, p0, p1)
	case poolMax2DU8:
		maxPool2D8(g, j.xu8, j.yu8, p0, p1)
	}
}

// lpExp returns the exponent sumPoolPlanes takes: 0 for averaging.
func (k *poolKernel) lpExp() float64 {
	if k.kind == poolLp {
		return k.p
	}
	return 0
}

// buildGlobalPool prepares GlobalAveragePool or GlobalMaxPool (opsets 1,
// 22): the mean or max of every [N, C] plane, keeping the spatial axes as
// size 1.
// https://onnx.ai/onnx/operators/onnx__GlobalAveragePool.html
// https://onnx.ai/onnx/operators/onnx__GlobalMaxPool.html
func buildGlobalPool(kind poolKind) Builder {
	return func(n *Node) (Kernel, error) {
		return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
			if err := cvCheck(n, in, 0); err != nil {
				return nil, err
			}
			x := in[0]
			if len(x.Shape) < 2 {
				return nil, n.Errorf("input shape %v: need [N, C, ...]", x.Shape)
			}
			var buf [MaxDims]int
			outShape := buf[:0]
			if len(x.Shape) > MaxDims {
				outShape = make([]int, 0, len(x.Shape))
			}
			outShape = append(outShape, x.Shape[:2]...)
			for len(outShape) < len(x.Shape) {
				outShape = append(outShape, 1)
			}
			planes := x.Shape[0] * x.Shape[1]
			size := prodInts(x.Shape[2:])
			dt := x.DType
			xw, err := cvWiden(x)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			var y *tensor.Tensor
			if cvIsHalf(dt) {
				y = tensor.New(tensor.Float32, outShape...)
			} else if dt == tensor.Float32 || dt == tensor.Float64 {
				y = ctx.New(dt, outShape...)
			} else {
				return nil, n.Unsupported("element type %v", dt)
			}
			if size == 0 && planes > 0 {
				return nil, n.Errorf("input %v has empty spatial axes", x.Shape)
			}
			threads := cvThreads(ctx)
			switch xd := xw.Data.(type) {
			case []float32:
				globalPool(xd, y.Data.([]float32), planes, size, kind, threads)
			case []float64:
				globalPool(xd, y.Data.([]float64), planes, size, kind, threads)
			}
			out, err := cvNarrow(y, dt)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			return ctx.Out(out), nil
		}), nil
	}
}

func globalPool[T cvFloat](x, y []T, planes, size int, kind poolKind, threads int) {
	grain := max(1, (1<<15)/max(size, 1))
	if threads <= 1 || planes < 2*grain {
		globalPoolPlanes(x, y, size, kind, 0, planes)
		return
	}
	switch xd := any(x).(type) {
	case []float32:
		j := globalJobsF32.get()
		*j = globalJob[float32]{x: xd, y: any(y).([]float32), size: size, kind: kind}
		parallel.Do(planes, grain, threads, j)
		*j = globalJob[float32]{}
		globalJobsF32.put(j)
	case []float64:
		j := globalJobsF64.get()
		*j = globalJob[float64]{x: xd, y: any(y).([]float64), size: size, kind: kind}
		parallel.Do(planes, grain, threads, j)
		*j = globalJob[float64]{}
		globalJobsF64.put(j)
	}
}

// globalJob is globalPool's loop over planes.
type globalJob[T cvFloat] struct {
	x, y []T
	size int
	kind poolKind
}

var (
	globalJobsF32 jobPool[globalJob[float32]]
	globalJobsF64 jobPool[globalJob[float64]]
)

func (j *globalJob[T]) Range(p0, p1 int) { globalPoolPlanes(j.x, j.y, j.size, j.kind, p0, p1) }

// globalPoolPlanes reduces planes [p0, p1) of x into y.
func globalPoolPlanes[T cvFloat](x, y []T, size int, kind poolKind, p0, p1 int) {
	for p := p0; p < p1; p++ {
		xp := x[p*size : (p+1)*size]
		if kind == poolMax {
			best := xp[0]
			for _, v := range xp[1:] {
				if v > best || best != best {
					best = v
				}
			}
			y[p] = best
			continue
		}
		var s float64
		for _, v := range xp {
			s += float64(v)
		}
		y[p] = T(s / float64(size))
	}
}
