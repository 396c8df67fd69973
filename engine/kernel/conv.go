package kernel

import (
	"math"
	"sync"
	"sync/atomic"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Conv", Build: buildConv})
}

// Helpers shared by the convolution, matrix-product, pooling and
// normalization kernels (conv.go, convtranspose.go, matmul.go, gemm.go,
// pool.go, norm.go).

// cvFloat is the set of element types those kernels compute in directly;
// float16 and bfloat16 are widened to float32 and narrowed back.
type cvFloat interface{ float32 | float64 }

// cvIsHalf reports whether dt is a 16-bit float type.
func cvIsHalf(dt tensor.DataType) bool { return dt == tensor.Float16 || dt == tensor.BFloat16 }

// cvWiden returns t itself, or t converted to float32 when it is a 16-bit
// float (nil stays nil).
func cvWiden(t *tensor.Tensor) (*tensor.Tensor, error) {
	if t == nil || !cvIsHalf(t.DType) {
		return t, nil
	}
	return tensor.Convert(t, tensor.Float32)
}

// cvNarrow converts a float32 result back to the 16-bit type dt.
func cvNarrow(t *tensor.Tensor, dt tensor.DataType) (*tensor.Tensor, error) {
	if t == nil || t.DType == dt {
		return t, nil
	}
	return tensor.Convert(t, dt)
}

// cvCheck verifies that the inputs the kernel needs are present and
// consistent. want lists the indices of required inputs.
func cvCheck(n *Node, in []*tensor.Tensor, want ...int) error {
	for _, i := range want {
		if i >= len(in) || in[i] == nil {
			return n.Errorf("input %d is missing", i)
		}
	}
	for i, t := range in {
		if t == nil {
			continue
		}
		if err := t.Check(); err != nil {
			return n.Errorf("input %d: %w", i, err)
		}
	}
	return nil
}

// cvSameInts reports whether two int slices are equal.
func cvSameInts(a, b []int) bool {
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

// bufPool recycles scratch buffers of T (patch matrices, padded planes)
// between runs: get returns a buffer of n values with unspecified
// contents, put gives it back. In steady state neither allocates: the
// pool holds pointers to slices, which convert to interface values
// without an allocation, and a buffer too small is replaced in place.
type bufPool[T any] struct{ p sync.Pool }

func (b *bufPool[T]) get(n int) *[]T {
	v, _ := b.p.Get().(*[]T)
	if v == nil {
		v = new([]T)
	}
	if cap(*v) < n {
		*v = make([]T, n)
	}
	*v = (*v)[:n]
	return v
}

func (b *bufPool[T]) put(v *[]T) { b.p.Put(v) }

// cvBufPool recycles float32 scratch buffers between runs.
type cvBufPool = bufPool[float32]

// jobPool recycles the job values of parallel loops (parallel.Do) and the
// scratch of runs, so that they allocate nothing in steady state. A value
// is taken for one loop or run and put back when it is over; the caller
// clears it first, keeping only the buffers its type holds for reuse (see
// the types), so that the pool holds no references to tensors.
type jobPool[J any] struct{ p sync.Pool }

func (jp *jobPool[J]) get() *J {
	if j, ok := jp.p.Get().(*J); ok {
		return j
	}
	return new(J)
}

func (jp *jobPool[J]) put(j *J) { jp.p.Put(j) }

// convKernel is a prepared Conv node.
type convKernel struct {
	n     *Node
	attrs *WindowAttrs
	group int

	// Set when W is a constant: its shape, the float32 weights and their
	// packed form, one per group.
	wShape []int
	wf     []float32
	packed []*gemm.PackedA
	// Constant bias as float32, when B is a constant.
	bias []float32
	// act, when not nil, is a clamp fused into the kernel (a Relu or Clip
	// that read this Conv's output), applied to a float32 output as it is
	// produced (see FuseClamp).
	act *Clamp

	scratch *jobPool[convScratch]     // per-goroutine scratch of runF32 (shared by fused copies)
	plan    *atomic.Pointer[convPlan] // geometry of the last shapes seen (shared by fused copies)
}

// buildConv prepares Conv (opsets 1, 11, 22): X [N, C, D1..Dn], W [M, C/group,
// k1..kn], optional B [M] -> Y [N, M, O1..On].
// https://onnx.ai/onnx/operators/onnx__Conv.html
func buildConv(n *Node) (Kernel, error) {
	attrs, err := ReadWindowAttrs(n, WindowAttrOptions{Dilations: true})
	if err != nil {
		return nil, err
	}
	g, err := n.Int("group", 1)
	if err != nil {
		return nil, err
	}
	if g < 1 || g > 1<<24 {
		return nil, n.Errorf("group %d out of range", g)
	}
	k := &convKernel{n: n, attrs: attrs, group: int(g), plan: new(atomic.Pointer[convPlan])}
	if w := n.Const(1); w != nil && (w.DType == tensor.Float32 || cvIsHalf(w.DType)) {
		if err := k.prepack(w); err != nil {
			return nil, err
		}
	}
	if b := n.Const(2); b != nil && (b.DType == tensor.Float32 || cvIsHalf(b.DType)) {
		bf, err := tensor.Float32s(b)
		if err != nil {
			return nil, n.Errorf("bias: %w", err)
		}
		k.bias = bf
	}
	return k, nil
}

// prepack packs a constant weight per group for the GEMM.
func (k *convKernel) prepack(w *tensor.Tensor) error {
	if err := w.Check(); err != nil {
		return k.n.Errorf("weight: %w", err)
	}
	if len(w.Shape) < 3 || w.Shape[0]%k.group != 0 {
		return k.n.Errorf("weight shape %v does not fit group %d", w.Shape, k.group)
	}
	wf, err := tensor.Float32s(w)
	if err != nil {
		return k.n.Errorf("weight: %w", err)
	}
	mg := w.Shape[0] / k.group
	kg := prodInts(w.Shape[1:])
	k.packed = make([]*gemm.PackedA, k.group)
	for g := range k.packed {
		p, err := gemm.PackA(false, mg, kg, wf[g*mg*kg:(g+1)*mg*kg], kg)
		if err != nil {
			return k.n.Errorf("packing weight: %w", err)
		}
		k.packed[g] = p
	}
	k.wShape = append([]int(nil), w.Shape...)
	k.wf = wf
	return nil
}

// convShapes checks X, W and B against each other and resolves the window.
func convShapes(n *Node, attrs *WindowAttrs, group int, x, w, b []int) (*Window, error) {
	if len(x) < 3 {
		return nil, n.Errorf("input shape %v: need [N, C, spatial...]", x)
	}
	if len(w) != len(x) {
		return nil, n.Errorf("weight shape %v does not match input rank %d", w, len(x))
	}
	if x[1] != w[1]*group {
		return nil, n.Errorf("input has %d channels, weight %v with group %d expects %d", x[1], w, group, w[1]*group)
	}
	if w[0]%group != 0 {
		return nil, n.Errorf("weight has %d output channels, not a multiple of group %d", w[0], group)
	}
	if b != nil && (len(b) != 1 || b[0] != w[0]) {
		return nil, n.Errorf("bias shape %v, want [%d]", b, w[0])
	}
	if attrs.Kernel != nil && !cvSameInts(attrs.Kernel, w[2:]) {
		return nil, n.Errorf("kernel_shape %v does not match weight shape %v", attrs.Kernel, w)
	}
	win, err := attrs.Resolve(x[2:], w[2:])
	if err != nil {
		return nil, n.Errorf("input %v, weight %v: %w", x, w, err)
	}
	return win, nil
}

func (k *convKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	var b *tensor.Tensor
	if len(in) > 2 {
		b = in[2]
	}
	if w.DType != x.DType || (b != nil && b.DType != x.DType) {
		return nil, n.Errorf("input types differ: X %v, W %v", x.DType, w.DType)
	}
	var bShape []int
	if b != nil {
		bShape = b.Shape
	}
	if b != nil && len(w.Shape) > 0 && (len(bShape) != 1 || bShape[0] != w.Shape[0]) {
		// Checked here because a cached geometry skips convShapes.
		return nil, n.Errorf("bias shape %v, want [%d]", bShape, w.Shape[0])
	}
	cp, err := k.planFor(x.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	win, outShape := cp.win, cp.outShape
	switch x.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		xf, err := cvWiden(x)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		packed, wf := k.packed, k.wf
		if packed == nil || in[1] != n.Const(1) || !cvSameInts(k.wShape, w.Shape) {
			packed = nil
			wt, err := cvWiden(w)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			wf = wt.Data.([]float32)
		}
		var bf []float32
		if b != nil {
			if b == n.Const(2) && k.bias != nil {
				bf = k.bias
			} else if bf, err = tensor.Float32s(b); err != nil {
				return nil, n.Errorf("bias: %w", err)
			}
		}
		dt := tensor.Float32
		var y *tensor.Tensor
		if x.DType == tensor.Float32 {
			y = ctx.NewUninit(dt, outShape...) // runF32 writes every value
		} else {
			y = tensor.New(dt, outShape...)
		}
		if err := k.runF32(ctx, win, cp.flat, xf.Data.([]float32), x.Shape, wf, packed, w.Shape, bf, y.Data.([]float32)); err != nil {
			return nil, err
		}
		out, err := cvNarrow(y, x.DType)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return ctx.Out(out), nil
	case tensor.Float64:
		y := ctx.New(tensor.Float64, outShape...)
		var bd []float64
		if b != nil {
			bd = b.Data.([]float64)
		}
		convGeneric(ctx, win, x.Data.([]float64), x.Shape, w.Data.([]float64), w.Shape, bd, k.group, y.Data.([]float64))
		return ctx.Out(y), nil
	}
	return nil, n.Unsupported("element type %v", x.DType)
}

// convPlan is the geometry of a Conv for one pair of input and weight
// shapes, kept so that repeated runs on the same shapes allocate nothing
// for it.
type convPlan struct {
	xShape, wShape []int
	win            *Window
	outShape       []int
	flat           *flatGeom // set when the padded-plane form applies
}

// planFor returns the geometry for these shapes, from the last one made
// when the shapes match.
func (k *convKernel) planFor(xShape, wShape []int) (*convPlan, error) {
	if p := k.plan.Load(); p != nil && cvSameInts(p.xShape, xShape) && cvSameInts(p.wShape, wShape) {
		return p, nil
	}
	win, err := convShapes(k.n, k.attrs, k.group, xShape, wShape, nil)
	if err != nil {
		return nil, err
	}
	p := &convPlan{
		xShape: append([]int(nil), xShape...), wShape: append([]int(nil), wShape...),
		win: win, outShape: append([]int{xShape[0], wShape[0]}, win.Out...),
	}
	cg, mg := xShape[1]/k.group, wShape[0]/k.group
	if useFlat(win, mg) {
		fg := newFlatGeom(win, cg)
		p.flat = &fg
	}
	k.plan.Store(p)
	return p, nil
}

// useFlat reports whether a convolution goes through the padded-plane form
// (see flatGeom): 2-D, strides of 1 or 2, not pointwise, and the extra
// product columns (kw-1)*dw/sw per output row few next to the row or
// cheaper than the per-row overhead of a plain patch matrix (mg*ext
// multiply-adds against 10-20 ns).
func useFlat(win *Window, mg int) bool {
	if win.IsPointwise() || win.Rank() != 2 || win.Strides[0] > 2 || win.Strides[1] > 2 {
		return false
	}
	ext := (win.Kernel[1] - 1) * win.Dilations[1] / win.Strides[1]
	return 4*ext <= win.Out[1] || mg*ext < 256
}

// runF32 computes a float32 convolution. packed, when not nil, holds w
// packed per group.
func (k *convKernel) runF32(ctx *Ctx, win *Window, flat *flatGeom, x []float32, xShape []int, w []float32, packed []*gemm.PackedA, wShape []int, bias []float32, y []float32) error {
	batch, c := xShape[0], xShape[1]
	m := wShape[0]
	group := k.group
	cg, mg := c/group, m/group
	outSize := win.OutSize()
	threads := cvThreads(ctx)
	if outSize == 0 || m == 0 || batch == 0 {
		return nil
	}
	// One input channel per group: depthwise, directly, except a single
	// input channel feeding 8 or more outputs (a first layer on grey
	// images), which the GEMM computes faster.
	if cg == 1 && win.Rank() == 2 && !(group == 1 && mg >= 8 && flat != nil) {
		if win.Dilations[1] == 1 {
			depthwise2DF32(win, x, batch, c, w, mg, bias, k.act, y, threads)
			return nil
		}
		depthwise2D(win, x, batch, c, w, mg, bias, y, threads)
		if k.act != nil {
			k.act.apply(y[:batch*m*outSize])
		}
		return nil
	}
	// One product per (image, group). Small ones (grouped convolutions)
	// run side by side on one goroutine each; large ones run in turn, each
	// shared among all goroutines.
	units := batch * group
	kg := cg * win.KernelSize()
	perUnit := 2 * mg * outSize * kg
	inner, outer := threads, 1
	if units > 1 && perUnit < 1<<22 {
		inner, outer = 1, threads
	}
	j := convJobs.get()
	*j = convJob{
		k: k, win: win, fg: flat, x: x, w: w, bias: bias, y: y, packed: packed,
		c: c, m: m, cg: cg, mg: mg, kg: kg, inSize: win.InSize(), outSize: outSize,
		inner: inner, pointwise: win.IsPointwise(),
	}
	parallel.Do(units, 1, outer, j)
	err := j.err
	*j = convJob{}
	convJobs.put(j)
	return err
}

// convJob is one float32 convolution by products (runF32): Range computes
// the products of units [lo, hi), one per (image, group).
type convJob struct {
	k                *convKernel
	win              *Window
	fg               *flatGeom // the padded-plane form, when it applies
	x, w, bias, y    []float32
	packed           []*gemm.PackedA
	c, m, cg, mg, kg int
	inSize, outSize  int
	inner            int // goroutines per product
	pointwise        bool
	mu               sync.Mutex
	err              error
}

var convJobs jobPool[convJob]

// convScratch is the scratch of one goroutine's products: the patch matrix
// or the padded planes and product columns, and the product's epilogue
// (gemm keeps a pointer to it while it runs).
type convScratch struct {
	buf []float32
	ep  gemm.Epilogue
}

// convScratches recycles the scratch of all Conv kernels: one pool rather
// than one per kernel, so that few buffers (as many as goroutines run
// products at once, grown to the largest size needed) serve the model.
var convScratches jobPool[convScratch]

func (j *convJob) Range(lo, hi int) {
	k, fg := j.k, j.fg
	group, cg, mg, kg := j.k.group, j.cg, j.mg, j.kg
	inSize, outSize := j.inSize, j.outSize
	s := convScratches.get()
	var col, pad, cbuf []float32
	// With strides of 1 or 2 in 2-D, the patch matrix need not be built:
	// its rows are shifted views of padded input planes, which the product
	// reads through row offsets (flat, see flatGeom and useFlat).
	switch {
	case fg != nil:
		s.buf = cvGrow(s.buf, fg.size()+fg.spare()+mg*fg.ncols)
		pad = s.buf[:fg.size()+fg.spare()]
		clear(pad[fg.size():]) // read by the extra product columns
		cbuf = s.buf[fg.size()+fg.spare():]
	case !j.pointwise:
		s.buf = cvGrow(s.buf, kg*outSize)
		col = s.buf
	}
	for u := lo; u < hi; u++ {
		img, g := u/group, u%group
		xg := j.x[(img*j.c+g*cg)*inSize : (img*j.c+(g+1)*cg)*inSize]
		yg := j.y[(img*j.m+g*mg)*outSize : (img*j.m+(g+1)*mg)*outSize]
		// Bias and any fused clamp are applied by the product to each
		// block of the output as it is finished.
		var ep *gemm.Epilogue
		if j.bias != nil || k.act != nil {
			s.ep = gemm.Epilogue{}
			if j.bias != nil {
				s.ep.Bias = j.bias[g*mg : (g+1)*mg]
			}
			if k.act != nil {
				s.ep.Clamp, s.ep.Lo, s.ep.Hi = true, k.act.Lo, k.act.Hi
			}
			ep = &s.ep
		}
		var pa *gemm.PackedA
		var wg []float32
		if j.packed != nil {
			pa = j.packed[g]
		} else {
			wg = j.w[g*mg*kg : (g+1)*mg*kg]
		}
		var err error
		switch {
		case fg != nil:
			fg.pad(xg, pad, j.inner)
			err = gemm.SgemmIndirect(false, mg, fg.ncols, kg, wg, kg, pa, pad, fg.offs, cbuf, fg.ncols, ep, j.inner)
			fg.compact(cbuf, mg, yg, j.inner)
		case j.pointwise:
			err = gemm.SgemmEpilogue(false, false, mg, outSize, kg, wg, kg, pa, xg, outSize, nil, yg, outSize, ep, j.inner)
		default:
			Im2col(j.win, xg, cg, col, 0, j.inner)
			err = gemm.SgemmEpilogue(false, false, mg, outSize, kg, wg, kg, pa, col, outSize, nil, yg, outSize, ep, j.inner)
		}
		if err != nil {
			j.mu.Lock()
			if j.err == nil {
				j.err = k.n.Errorf("%w", err)
			}
			j.mu.Unlock()
			break
		}
	}
	s.ep = gemm.Epilogue{}
	convScratches.put(s)
}

// cvGrow returns s with length n, reallocated when its capacity is short.
func cvGrow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// flatGeom is the geometry of the padded-plane form of a 2-D convolution
// with strides sh, sw of 1 or 2. Think of the input padded with zeros (pt
// rows and pl columns before it) as P; its phase planes are P's values at
// rows u*sh+py and columns v*sw+px, for each phase py < sh, px < sw (one
// plane, P itself, with unit strides). Output (oy, ox) of tap (ky, kx)
// reads P at row oy*sh + ry, column ox*sw + rx (ry = ky*dh, rx = kx*dw):
// that is phase (ry%sh, rx%sw) at row oy + ry/sh, column ox + rx/sw. With
// phase planes of wp columns, that is the flat offset oy*wp + ox plus a
// constant per tap: over all outputs, with ox running to wp rather than
// ow, row (c, ky, kx) of the patch matrix is the run of np = oh*wp values
// of channel c's phase plane starting at (ry/sh)*wp + rx/sw (offs holds
// those starts). The product gives np columns per output channel, and the
// first ow of every wp are the output (compact drops the rest).
type flatGeom struct {
	ih, iw, oh, ow int
	kh, kw, dh, dw int
	sh, sw         int
	pt, pl         int
	hp, wp, np     int // phase plane rows and columns; product columns
	ncols          int // columns the product computes: np, or np rounded up to 16 when small
	channels       int
	offs           []int
}

func newFlatGeom(win *Window, channels int) flatGeom {
	g := flatGeom{
		ih: win.In[0], iw: win.In[1], oh: win.Out[0], ow: win.Out[1],
		kh: win.Kernel[0], kw: win.Kernel[1], dh: win.Dilations[0], dw: win.Dilations[1],
		sh: win.Strides[0], sw: win.Strides[1],
		pt: win.PadBegin[0], pl: win.PadBegin[1], channels: channels,
	}
	g.wp = g.ow + (g.kw-1)*g.dw/g.sw
	g.hp = g.oh + (g.kh-1)*g.dh/g.sh + 1 // a spare zero row
	g.np = g.oh * g.wp
	g.ncols = g.np
	if g.np < 256 {
		// Few columns: the product computes whole 16-column panels
		// (over zeros past the planes) rather than pack a partial one
		// for every row of K.
		g.ncols = (g.np + 15) &^ 15
	}
	plane := g.hp * g.wp
	g.offs = make([]int, 0, channels*g.kh*g.kw)
	for c := 0; c < channels; c++ {
		for ky := 0; ky < g.kh; ky++ {
			for kx := 0; kx < g.kw; kx++ {
				ry, rx := ky*g.dh, kx*g.dw
				phase := (c*g.sh+ry%g.sh)*g.sw + rx%g.sw
				g.offs = append(g.offs, phase*plane+(ry/g.sh)*g.wp+rx/g.sw)
			}
		}
	}
	return g
}

// spare returns the number of zeros the product's extra columns (ncols
// past np) read after the phase planes.
func (g *flatGeom) spare() int { return g.ncols - g.np }

// size returns the number of values of the phase planes of all channels.
func (g *flatGeom) size() int { return g.channels * g.sh * g.sw * g.hp * g.wp }

// pad fills pad with the phase planes of the channels of x, the channels
// shared among threads goroutines.
func (g *flatGeom) pad(x []float32, pad []float32, threads int) {
	grain := max(1, (1<<16)/max(g.ih*g.iw, 1))
	if threads <= 1 || g.channels < 2*grain {
		g.padChannels(x, pad, 0, g.channels)
		return
	}
	j := flatJobs.get()
	*j = flatJob{g: g, src: x, dst: pad}
	parallel.Do(g.channels, grain, threads, j)
	*j = flatJob{}
	flatJobs.put(j)
}

// flatJob is a loop of pad (over channels) or, with compact set, of
// compact (over rows).
type flatJob struct {
	g        *flatGeom
	src, dst []float32
	compact  bool
}

var flatJobs jobPool[flatJob]

func (j *flatJob) Range(lo, hi int) {
	if j.compact {
		j.g.compactRows(j.src, j.dst, lo, hi)
	} else {
		j.g.padChannels(j.src, j.dst, lo, hi)
	}
}

// padChannels fills the phase planes of channels [lo, hi).
func (g *flatGeom) padChannels(x []float32, pad []float32, lo, hi int) {
	plane := g.hp * g.wp
	clear(pad[lo*g.sh*g.sw*plane : hi*g.sh*g.sw*plane])
	if g.sh == 1 && g.sw == 1 {
		// One phase plane, the padded input: each row copied to its place.
		q0, q1 := max(0, -g.pl), min(g.iw, g.wp-g.pl) // input columns inside the plane
		r0, r1 := max(0, -g.pt), min(g.ih, g.hp-g.pt)
		if q1 <= q0 || r1 <= r0 {
			return
		}
		for c := lo; c < hi; c++ {
			xc := x[c*g.ih*g.iw : (c+1)*g.ih*g.iw]
			pc := pad[c*plane : (c+1)*plane]
			for r := r0; r < r1; r++ {
				o := (r+g.pt)*g.wp + q0 + g.pl
				copy(pc[o:o+q1-q0], xc[r*g.iw+q0:r*g.iw+q1])
			}
		}
		return
	}
	for c := lo; c < hi; c++ {
		xc := x[c*g.ih*g.iw : (c+1)*g.ih*g.iw]
		for py := 0; py < g.sh; py++ {
			for px := 0; px < g.sw; px++ {
				pc := pad[((c*g.sh+py)*g.sw+px)*plane:]
				// Phase columns v with input column v*sw + px - pl in [0, iw).
				if g.iw-1+g.pl-px < 0 {
					continue
				}
				v0 := (g.pl - px + g.sw - 1) / g.sw
				v1 := min(g.wp, (g.iw-1+g.pl-px)/g.sw+1)
				if v1 <= v0 {
					continue
				}
				q0 := v0*g.sw + px - g.pl
				for u := 0; u < g.hp; u++ {
					r := u*g.sh + py - g.pt
					if r < 0 || r >= g.ih {
						continue
					}
					dst, src := pc[u*g.wp+v0:u*g.wp+v1], xc[r*g.iw+q0:(r+1)*g.iw]
					if len(dst) < 16 {
						// Short rows (small maps): one by one, cheaper
						// than a call per row.
						for i := range dst {
							dst[i] = src[i*g.sw]
						}
						continue
					}
					_ = gemm.CopyStrided(dst, src, g.sw)
				}
			}
		}
	}
}

// compact copies the first ow of every wp columns of the m rows of np
// values in c to y (m rows of oh*ow values), the rows shared among threads
// goroutines.
func (g *flatGeom) compact(c []float32, m int, y []float32, threads int) {
	grain := max(1, (1<<16)/max(g.np, 1))
	if threads <= 1 || m < 2*grain {
		g.compactRows(c, y, 0, m)
		return
	}
	j := flatJobs.get()
	*j = flatJob{g: g, src: c, dst: y, compact: true}
	parallel.Do(m, grain, threads, j)
	*j = flatJob{}
	flatJobs.put(j)
}

// compactRows is compact for rows [lo, hi).
func (g *flatGeom) compactRows(c []float32, y []float32, lo, hi int) {
	for i := lo; i < hi; i++ {
		ci := c[i*g.ncols : i*g.ncols+g.np]
		yi := y[i*g.oh*g.ow : (i+1)*g.oh*g.ow]
		for r := 0; r < g.oh; r++ {
			copy(yi[r*g.ow:(r+1)*g.ow], ci[r*g.wp:r*g.wp+g.ow])
		}
	}
}

// cvThreads returns the goroutine budget of a run.
func cvThreads(c *Ctx) int {
	if c == nil || c.Threads < 1 {
		return 1
	}
	return c.Threads
}

// depthwise2D computes a 2-D convolution where every group has one input
// channel (depthwise, with mult = M/C output channels per input channel)
// directly, without a patch matrix: each output row accumulates kernel-row
// by kernel-row scaled input rows.
func depthwise2D[T cvFloat](win *Window, x []T, batch, c int, w []T, mult int, bias []T, y []T, threads int) {
	oh, ow := win.Out[0], win.Out[1]
	kh, kw := win.Kernel[0], win.Kernel[1]
	j := dwGenericJobs[T]().get()
	*j = dwGenericJob[T]{win: win, x: x, c: c, w: w, mult: mult, bias: bias, y: y, lo: j.lo, hi: j.hi}
	// Valid output column range per kernel column.
	j.lo, j.hi = cvGrow(j.lo, kw), cvGrow(j.hi, kw)
	iw, sw, dw, pw := win.In[1], win.Strides[1], win.Dilations[1], win.PadBegin[1]
	for t := 0; t < kw; t++ {
		shift := t*dw - pw
		l := 0
		if shift < 0 {
			l = (-shift + sw - 1) / sw
		}
		h := 0
		if iw-1-shift >= 0 {
			h = (iw-1-shift)/sw + 1
		}
		l = min(l, ow)
		j.lo[t], j.hi[t] = l, min(max(h, l), ow)
	}
	planes := batch * c * mult
	grain := max(1, (1<<17)/max(oh*ow*kh*kw, 1))
	parallel.Do(planes, grain, threads, j)
	*j = dwGenericJob[T]{lo: j.lo, hi: j.hi}
	dwGenericJobs[T]().put(j)
}

// dwGenericJob is depthwise2D's loop over output planes; lo and hi, the
// valid output columns per kernel column, are kept for reuse.
type dwGenericJob[T cvFloat] struct {
	win        *Window
	x, w, bias []T
	y          []T
	c, mult    int
	lo, hi     []int
}

var dwGenericPools struct {
	f32 jobPool[dwGenericJob[float32]]
	f64 jobPool[dwGenericJob[float64]]
}

// dwGenericJobs returns the job pool of depthwise2D for T.
func dwGenericJobs[T cvFloat]() *jobPool[dwGenericJob[T]] {
	switch p := any(&dwGenericPools.f32).(type) {
	case *jobPool[dwGenericJob[T]]:
		return p
	}
	return any(&dwGenericPools.f64).(*jobPool[dwGenericJob[T]])
}

func (j *dwGenericJob[T]) Range(p0, p1 int) {
	win := j.win
	ih, iw := win.In[0], win.In[1]
	oh, ow := win.Out[0], win.Out[1]
	kh, kw := win.Kernel[0], win.Kernel[1]
	sh, sw := win.Strides[0], win.Strides[1]
	dh, dw := win.Dilations[0], win.Dilations[1]
	ph, pw := win.PadBegin[0], win.PadBegin[1]
	c, mult := j.c, j.mult
	m := c * mult
	x, w, y := j.x, j.w, j.y
	for p := p0; p < p1; p++ {
		img, oc := p/m, p%m
		ic := oc / mult
		xp := x[(img*c+ic)*ih*iw : (img*c+ic+1)*ih*iw]
		yp := y[p*oh*ow : (p+1)*oh*ow]
		wk := w[oc*kh*kw : (oc+1)*kh*kw]
		var bv T
		if j.bias != nil {
			bv = j.bias[oc]
		}
		for i := range yp {
			yp[i] = bv
		}
		for r := 0; r < oh; r++ {
			yrow := yp[r*ow : (r+1)*ow]
			for a := 0; a < kh; a++ {
				ir := r*sh - ph + a*dh
				if ir < 0 || ir >= ih {
					continue
				}
				xrow := xp[ir*iw : (ir+1)*iw]
				for t := 0; t < kw; t++ {
					wv := wk[a*kw+t]
					l, h := j.lo[t], j.hi[t]
					if h <= l {
						continue
					}
					shift := t*dw - pw
					if sw == 1 {
						src := xrow[l+shift : h+shift]
						dst := yrow[l:h]
						for i, v := range src {
							dst[i] += wv * v
						}
					} else {
						dst := yrow[l:h]
						base := l*sw + shift
						for i := range dst {
							dst[i] += wv * xrow[base+i*sw]
						}
					}
				}
			}
		}
	}
}

// depthwise2DF32 is depthwise2D for float32 with no dilation along the
// width.
//
// With unit strides every output value is bias + one fused multiply-add per
// tap over the zero-padded input, in tap order (gemm.ConvTaps2D). The
// interior rectangle of outputs, whose windows lie inside the input, reads
// the input plane in place; the border rows and columns read small
// zero-padded copies of the input around them (dwJob.border), so the
// values, padding zeros included, are the same as over a padded plane.
//
// Otherwise each input plane is copied once into a zero-padded plane, so
// that no window needs a bounds check, and each output row is one run of
// gemm.ConvTaps over kh padded rows. Both take the fused clamp, if any.
func depthwise2DF32(win *Window, x []float32, batch, c int, w []float32, mult int, bias []float32, act *Clamp, y []float32, threads int) {
	ih, iw := win.In[0], win.In[1]
	oh, ow := win.Out[0], win.Out[1]
	kh, kw := win.Kernel[0], win.Kernel[1]
	sh, sw := win.Strides[0], win.Strides[1]
	dh := win.Dilations[0]
	ph, pw := win.PadBegin[0], win.PadBegin[1]
	j := dwJobs.get()
	*j = dwJob{
		x: x, w: w, bias: bias, y: y, c: c, mult: mult,
		ih: ih, iw: iw, oh: oh, ow: ow, kh: kh, kw: kw, sh: sh, sw: sw, ph: ph, pw: pw, dh: dh,
		lo: float32(math.Inf(-1)), hi: float32(math.Inf(1)),
		taps: j.taps,
	}
	if act != nil {
		j.lo, j.hi = act.Lo, act.Hi
	}
	kk := kh * kw
	// The interior: output rows [r0, r1) and columns [c0, c1).
	r0, c0 := min(ph, oh), min(pw, ow)
	r1 := min(max(ih-(kh-1)*dh+ph, r0), oh)
	c1 := min(max(iw-kw+1+pw, c0), ow)
	if sh == 1 && sw == 1 && r1-r0 >= 4 && c1-c0 >= dwDirectMin {
		j.direct = true
		j.r0, j.r1, j.c0, j.c1 = r0, r1, c0, c1
		ext := (kh - 1) * dh
		// The border columns' padded input is kept transposed, a row of
		// tl values per padded column: output rows [r0, r1) rounded up to
		// whole vector blocks and the rows their windows reach.
		rows8 := (r1 - r0 + 7) &^ 7
		j.tl = rows8 + ext
		// Taps over the input (row stride iw), over a padded copy of
		// whole rows (ow+kw-1) and over the transposed columns.
		j.taps = cvGrow(j.taps, 3*kk)
		for a := 0; a < kh; a++ {
			for t := 0; t < kw; t++ {
				j.taps[a*kw+t] = a*dh*iw + t
				j.taps[kk+a*kw+t] = a*dh*(ow+kw-1) + t
				j.taps[2*kk+a*kw+t] = t*j.tl + a*dh
			}
		}
		cols := max(c0, ow-c1) + kw - 1
		j.scratch = max((max(r0, oh-r1)+ext)*(ow+kw-1), cols*j.tl+rows8)
	} else {
		ow8 := (ow + 7) &^ 7
		// Padded row width: the input at column pw, zeros around it, and
		// room for a rounded-up output row plus the value the stride-2
		// loop may read past its last tap.
		wp := max(pw+iw, (ow8-1)*sw+kw+1)
		// Padded rows: the input at row ph, and zero rows below it as far
		// as the last output row reads.
		j.wp = wp
		j.hp = max(ph+ih, (oh-1)*sh+(kh-1)*dh+1)
		j.scratch = j.hp * wp
		if sh == 1 && sw == 1 && ow < dwFlatMax {
			// One flat run over the padded plane (a spare
			// zero row for its last values) into an accumulator of oh
			// rows of wp, copied out.
			j.flat = true
			j.hp = max(j.hp, oh+(kh-1)*dh+1)
			j.scratch = j.hp*wp + oh*wp
		}
		// Tap (a, t) reads the rows from an output row's first one at
		// a*dh*wp + t.
		j.taps = cvGrow(j.taps, kk)
		for a := 0; a < kh; a++ {
			for t := 0; t < kw; t++ {
				j.taps[a*kw+t] = a*dh*wp + t
			}
		}
	}
	planes := batch * c * mult
	grain := max(1, (1<<15)/max(oh*ow*kh*kw, 1))
	parallel.Do(planes, grain, threads, j)
	*j = dwJob{taps: j.taps}
	dwJobs.put(j)
}

// dwDirectMin is the fewest interior columns for which depthwise2DF32
// reads the interior in place.
var dwDirectMin = 64

// dwFlatMax is the narrowest output row for which depthwise2DF32 computes
// a padded unit-stride plane row by row rather than laid out flat: never,
// by default, as short rows keep too few accumulation chains in flight
// (the flat form runs in blocks of 64 values and copies the rows out).
var dwFlatMax = 1 << 30

// dwJob is depthwise2DF32's loop over output planes; taps is kept for
// reuse.
type dwJob struct {
	x, w, bias, y  []float32
	c, mult        int
	ih, iw, oh, ow int
	kh, kw, sh, sw int
	ph, pw, dh     int
	wp, hp         int // the padded plane (not direct)
	direct         bool
	flat           bool // narrow unit-stride planes (not direct)
	r0, r1, c0, c1 int  // the interior (direct)
	tl             int  // transposed border column length (direct)
	scratch        int  // scratch values per goroutine
	lo, hi         float32
	taps           []int
}

var dwJobs jobPool[dwJob]

// dwScratch recycles the depthwise kernel's padded rows between runs.
var dwScratch cvBufPool

func (j *dwJob) Range(p0, p1 int) {
	ih, iw, oh, ow := j.ih, j.iw, j.oh, j.ow
	kh, kw, wp := j.kh, j.kw, j.wp
	c, mult := j.c, j.mult
	m := c * mult
	kk := kh * kw
	sp := dwScratch.get(j.scratch)
	pad := *sp
	if !j.direct {
		clear(pad)
	}
	lastIn := -1
	for p := p0; p < p1; p++ {
		img, oc := p/m, p%m
		ic := oc / mult
		in := img*c + ic
		xp := j.x[in*ih*iw : (in+1)*ih*iw]
		yp := j.y[p*oh*ow : (p+1)*oh*ow]
		wk := j.w[oc*kk : (oc+1)*kk]
		var bv float32
		if j.bias != nil {
			bv = j.bias[oc]
		}
		if j.direct {
			r0, r1, c0, c1 := j.r0, j.r1, j.c0, j.c1
			_ = gemm.ConvTaps2D(yp[r0*ow+c0:], ow, r1-r0, c1-c0, xp[(r0-j.ph)*iw+c0-j.pw:], iw, j.taps[:kk], wk, bv, j.lo, j.hi)
			j.rowsBorder(yp, xp, pad, j.taps[kk:2*kk], wk, bv, 0, r0)
			j.rowsBorder(yp, xp, pad, j.taps[kk:2*kk], wk, bv, r1, oh)
			j.colsBorder(yp, xp, pad, j.taps[2*kk:], wk, bv, 0, c0)
			j.colsBorder(yp, xp, pad, j.taps[2*kk:], wk, bv, c1, ow)
			continue
		}
		if in != lastIn {
			for r := 0; r < ih; r++ {
				o := (r+j.ph)*wp + j.pw
				copy(pad[o:o+iw], xp[r*iw:(r+1)*iw])
			}
			lastIn = in
		}
		if j.flat {
			acc := pad[j.hp*wp : j.hp*wp+oh*wp]
			_ = gemm.ConvTaps2D(acc, oh*wp, 1, oh*wp, pad, 0, j.taps, wk, bv, j.lo, j.hi)
			for r := 0; r < oh; r++ {
				copy(yp[r*ow:(r+1)*ow], acc[r*wp:r*wp+ow])
			}
			continue
		}
		if j.sh == 1 && j.sw == 1 {
			_ = gemm.ConvTaps2D(yp, ow, oh, ow, pad, wp, j.taps, wk, bv, j.lo, j.hi)
			continue
		}
		// Row by row: each output row straight from the padded rows it
		// reads, with the bias and the clamp (gemm.ConvTapsRows).
		_ = gemm.ConvTapsRows(yp, ow, oh, ow, pad, j.sh*wp, j.taps, wk, j.sw, bv, j.lo, j.hi)
	}
	dwScratch.put(sp)
}

// rowsBorder computes the output rows [ra, rb) of a plane with unit
// strides from a zero-padded copy (in patch) of the input rows they read:
// padded rows [ra, rb+(kh-1)*dh), all ow+kw-1 padded columns, the padded
// input holding the input at row ph, column pw. taps are the tap offsets
// for that row width.
func (j *dwJob) rowsBorder(yp, xp, patch []float32, taps []int, wk []float32, bv float32, ra, rb int) {
	if rb <= ra {
		return
	}
	ow, iw, pw := j.ow, j.iw, j.pw
	pwid := ow + j.kw - 1
	prows := rb - ra + (j.kh-1)*j.dh
	patch = patch[:prows*pwid]
	clear(patch)
	// Input columns [0, q1) land at padded columns from pw.
	q1 := min(pwid-pw, iw)
	for u := 0; u < prows; u++ {
		if r := ra + u - j.ph; r >= 0 && r < j.ih && q1 > 0 {
			copy(patch[u*pwid+pw:], xp[r*iw:r*iw+q1])
		}
	}
	_ = gemm.ConvTaps2D(yp[ra*ow:], ow, rb-ra, ow, patch, pwid, taps, wk, bv, j.lo, j.hi)
}

// colsBorder computes the output columns [ca, cb) of the interior rows
// [r0, r1) of a plane with unit strides. The padded input columns they
// read, [ca, cb+kw-1), are laid out as rows of tl values (padded rows from
// r0, zeros past the padded input): output column c is then one flat
// gemm.ConvTaps run over them from row c-ca, tap (a, t) at offset
// t*tl + a*dh (taps), computed over whole vector blocks into a strip and
// stored down the column.
func (j *dwJob) colsBorder(yp, xp, patch []float32, taps []int, wk []float32, bv float32, ca, cb int) {
	if cb <= ca {
		return
	}
	iw, ow, tl := j.iw, j.ow, j.tl
	ncols := cb - ca + j.kw - 1
	rows := j.r1 - j.r0
	rows8 := (rows + 7) &^ 7
	tcols := patch[:ncols*tl]
	strip := patch[ncols*tl : ncols*tl+rows8]
	// Input rows [u0, u1) are the padded rows from r0 that hold input.
	u0 := j.r0 - j.ph
	u1 := min(j.ih-u0, tl)
	for v := 0; v < ncols; v++ {
		col := tcols[v*tl : (v+1)*tl]
		q := ca + v - j.pw
		if q < 0 || q >= iw {
			clear(col)
			continue
		}
		src := xp[u0*iw+q:]
		for u := range col[:u1] {
			col[u] = src[u*iw]
		}
		clear(col[u1:])
	}
	for c := ca; c < cb; c++ {
		_ = gemm.ConvTaps(strip, tcols[(c-ca)*tl:], taps, wk, 1, bv, j.lo, j.hi)
		dst := yp[j.r0*ow+c:]
		for i, v := range strip[:rows] {
			dst[i*ow] = v
		}
	}
}

// convGeneric is the float64 convolution: patch matrix and a plain product.
func convGeneric[T cvFloat](ctx *Ctx, win *Window, x []T, xShape []int, w []T, wShape []int, bias []T, group int, y []T) {
	batch, c := xShape[0], xShape[1]
	m := wShape[0]
	cg, mg := c/group, m/group
	inSize, outSize := win.InSize(), win.OutSize()
	kg := cg * win.KernelSize()
	threads := cvThreads(ctx)
	if outSize == 0 || m == 0 || batch == 0 {
		return
	}
	if cg == 1 && win.Rank() == 2 {
		depthwise2D(win, x, batch, c, w, mg, bias, y, threads)
		return
	}
	col := make([]T, kg*outSize)
	for img := 0; img < batch; img++ {
		for g := 0; g < group; g++ {
			xg := x[(img*c+g*cg)*inSize : (img*c+(g+1)*cg)*inSize]
			yg := y[(img*m+g*mg)*outSize : (img*m+(g+1)*mg)*outSize]
			Im2col(win, xg, cg, col, 0, threads)
			gemmGeneric(false, false, mg, outSize, kg, w[g*mg*kg:(g+1)*mg*kg], kg, col, outSize, yg, outSize, false, threads)
			if bias != nil {
				for i := 0; i < mg; i++ {
					bv := bias[g*mg+i]
					row := yg[i*outSize : (i+1)*outSize]
					for j := range row {
						row[j] += bv
					}
				}
			}
		}
	}
}
