package kernel

import (
	"sync/atomic"
	"unsafe"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "MatMulInteger", MinOpset: 10, Build: buildMatMulInteger})
	Register(Op{Type: "ConvInteger", MinOpset: 10, Build: buildConvInteger})
}

// Integer products shared by MatMulInteger, ConvInteger and the QLinear
// operators: exact int32 results from 8-bit operands and zero points,
// computed by gemm.Igemm.

// qIs8Bit reports whether dt is int8 or uint8.
func qIs8Bit(dt tensor.DataType) bool { return dt == tensor.Int8 || dt == tensor.Uint8 }

// qZeroPointRows expands the zero point of a matrix-product operand to one
// value per row (left operand, rowwise true) or per column (right operand)
// of every matrix in the operand's batch. shape is the operand's shape; the
// zero point may be a scalar or one-element tensor (returned as a single
// value), or a tensor that broadcasts to the operand's shape with the
// reduced dimension (K) set to 1: [M] or [..., M, 1] for the left operand,
// [N] or [..., 1, N] for the right one. The values are written to the
// storage of buf, and of tmp for a zero point that is expanded, when they
// are large enough (see qmmState); buf and tmp return the storage to keep.
func qZeroPointRows(n *Node, buf, tmp *[]int32, z *tensor.Tensor, shape []int, rowwise bool, what string) ([]int32, error) {
	if z == nil {
		return nil, nil
	}
	vals, ok := qIntsInto(*tmp, z)
	if !ok {
		return nil, n.Errorf("%s has type %v", what, z.DType)
	}
	*tmp = vals
	if len(vals) == 1 {
		return vals, nil
	}
	out, err := qExpandRows(n, *buf, vals, z.Shape, shape, rowwise, what)
	if out != nil {
		*buf = out
	}
	return out, err
}

// qScaleRows is qZeroPointRows for a float scale (the tensor's own values
// when it needs no expansion).
func qScaleRows(n *Node, buf *[]float32, s *tensor.Tensor, shape []int, rowwise bool, what string) ([]float32, error) {
	vals, ok := qFloats(s)
	if !ok {
		return nil, n.Errorf("%s has type %v, want a float type", what, s.DType)
	}
	if len(vals) == 1 {
		return vals, nil
	}
	out, err := qExpandRows(n, *buf, vals, s.Shape, shape, rowwise, what)
	if out != nil {
		*buf = out
	}
	return out, err
}

// qExpandRows does the work of qZeroPointRows for values vals of shape zs
// (more than one value), writing to dst's storage when it is large enough.
func qExpandRows[T int32 | float32](n *Node, dst []T, vals []T, zs, shape []int, rowwise bool, what string) ([]T, error) {
	r := len(shape)
	if r < 2 {
		return nil, n.Errorf("%s has shape %v; a 1-D operand takes a scalar", what, zs)
	}
	// Target: the operand's shape without its K dimension. (The shapes
	// stay on the stack up to rank MaxDims+1.)
	var tbuf, zbuf, sbuf, ibuf [MaxDims + 1]int
	target, zr0, st, idx := tbuf[:0], zbuf[:0], sbuf[:], ibuf[:]
	if r > len(tbuf) || len(zs) > len(zbuf) {
		rr := max(r, len(zs))
		target, zr0, st, idx = make([]int, 0, rr), make([]int, 0, rr), make([]int, rr), make([]int, rr)
	}
	kdim := r - 1
	if !rowwise {
		kdim = r - 2
	}
	for i, d := range shape {
		if i != kdim {
			target = append(target, d)
		}
	}
	zr := zs
	if len(zs) == r && zs[kdim] == 1 {
		zr = append(append(zr0, zs[:kdim]...), zs[kdim+1:]...)
	}
	if !unidirectionalOK(zr, target) {
		return nil, n.Errorf("%s shape %v does not fit operand shape %v", what, zs, shape)
	}
	out := cvGrow(dst, prodInts(target))
	if len(out) == 0 {
		return out, nil
	}
	// Strides of the values over the target's axes, 0 where broadcast,
	// and an odometer over the target.
	off, acc := len(target)-len(zr), 1
	for i := len(zr) - 1; i >= 0; i-- {
		if zr[i] != 1 {
			st[off+i] = acc
		}
		acc *= zr[i]
	}
	src := 0
	for o := range out {
		out[o] = vals[src]
		for d := len(target) - 1; d >= 0; d-- {
			idx[d]++
			src += st[d]
			if idx[d] < target[d] {
				break
			}
			src -= st[d] * target[d]
			idx[d] = 0
		}
	}
	return out, nil
}

// qmmState is the scratch of one run of a quantized matrix product: zero
// points and scales expanded per row or column, the int32 accumulator, a
// quantized A and the multipliers, in buffers kept for reuse between runs.
type qmmState struct {
	za, zb, ztmp []int32
	as, bs       []float32
	acc          []int32
	aq           []uint8
	mults        []float32
}

var qmmStates jobPool[qmmState]

// qmmPlan is the geometry of a matrix product for one pair of operand
// shapes, kept by a kernel so that repeated runs on the same shapes
// allocate nothing for it; it is read-only once made.
type qmmPlan struct {
	a, b []int
	s    *mmShape
}

// qmmPlans holds a kernel's plan of the last shapes seen.
type qmmPlans struct{ p atomic.Pointer[qmmPlan] }

// shape returns the product's geometry for operands of shapes a and b.
func (c *qmmPlans) shape(n *Node, a, b []int) (*mmShape, error) {
	if p := c.p.Load(); p != nil && cvSameInts(p.a, a) && cvSameInts(p.b, b) {
		return p.s, nil
	}
	s, err := matMulShape(n, a, b)
	if err != nil {
		return nil, err
	}
	c.p.Store(&qmmPlan{a: append([]int(nil), a...), b: append([]int(nil), b...), s: s})
	return s, nil
}

// matMulIntegerKernel is a prepared MatMulInteger node.
type matMulIntegerKernel struct {
	n *Node
	// Set when B and its zero point are constants and B is 2-D.
	packedB *gemm.PackedIB
	bConst  *tensor.Tensor
	plans   qmmPlans
}

// buildMatMulInteger prepares MatMulInteger (opset 10): Y = (A - a_zero_point)
// * (B - b_zero_point) as int32 with numpy matmul broadcasting; A and B are
// uint8 or int8, a_zero_point is a scalar or per row of A, b_zero_point a
// scalar or per column of B.
// https://onnx.ai/onnx/operators/onnx__MatMulInteger.html
func buildMatMulInteger(n *Node) (Kernel, error) {
	k := &matMulIntegerKernel{n: n}
	b := n.Const(1)
	zbConst := !n.HasInput(3) || n.Const(3) != nil
	if b != nil && len(b.Shape) == 2 && qIs8Bit(b.DType) && zbConst {
		var buf, tmp []int32
		zb, err := qZeroPointRows(n, &buf, &tmp, n.Const(3), b.Shape, false, "b_zero_point")
		if err != nil {
			return nil, err
		}
		var p *gemm.PackedIB
		switch d := b.Data.(type) {
		case []uint8:
			p, err = gemm.PackIB(false, b.Shape[0], b.Shape[1], d, b.Shape[1], zb)
		case []int8:
			p, err = gemm.PackIB(false, b.Shape[0], b.Shape[1], d, b.Shape[1], zb)
		}
		if err != nil {
			return nil, n.Errorf("packing B: %w", err)
		}
		k.packedB, k.bConst = p, b
	}
	return k, nil
}

func (k *matMulIntegerKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	var za, zb *tensor.Tensor
	if len(in) > 2 {
		za = in[2]
	}
	if len(in) > 3 {
		zb = in[3]
	}
	if !qIs8Bit(a.DType) || !qIs8Bit(b.DType) {
		return nil, n.Errorf("inputs have types %v and %v, want uint8 or int8", a.DType, b.DType)
	}
	if za != nil && za.DType != a.DType {
		return nil, n.Errorf("a_zero_point has type %v, A has %v", za.DType, a.DType)
	}
	if zb != nil && zb.DType != b.DType {
		return nil, n.Errorf("b_zero_point has type %v, B has %v", zb.DType, b.DType)
	}
	s, err := k.plans.shape(n, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	st := qmmStates.get()
	defer qmmStates.put(st)
	y := ctx.NewUninit(tensor.Int32, s.out...) // qMatMul writes every value
	if err := st.matMul(ctx, n, s, a, za, b, zb, k.packedFor(b, zb), y.Data.([]int32)); err != nil {
		return nil, err
	}
	return ctx.Out(y), nil
}

// packedFor returns the prepacked B when b (and its zero point) are the
// constants it was packed from.
func (k *matMulIntegerKernel) packedFor(b, zb *tensor.Tensor) *gemm.PackedIB {
	if k.packedB == nil || b != k.bConst || zb != k.n.Const(3) {
		return nil
	}
	return k.packedB
}

// matMul computes the int32 product (A - za) * (B - zb) of geometry s
// (numpy matmul broadcasting) into y. pb, when not nil, is B packed with
// its zero points.
func (st *qmmState) matMul(ctx *Ctx, n *Node, s *mmShape, a, za, b, zb *tensor.Tensor, pb *gemm.PackedIB, y []int32) error {
	zas, err := qZeroPointRows(n, &st.za, &st.ztmp, za, a.Shape, true, "a_zero_point")
	if err != nil {
		return err
	}
	// A single zero point is still in ztmp, which b's reuses: keep it in
	// za.
	if len(zas) == 1 {
		st.za = append(st.za[:0], zas[0])
		zas = st.za
	}
	zbs, err := qZeroPointRows(n, &st.zb, &st.ztmp, zb, b.Shape, false, "b_zero_point")
	if err != nil {
		return err
	}
	var gerr error
	switch ad := a.Data.(type) {
	case []uint8:
		gerr = qMatMul(s, ad, zas, b.Data, zbs, pb, y, qThreads(ctx))
	case []int8:
		gerr = qMatMul(s, ad, zas, b.Data, zbs, pb, y, qThreads(ctx))
	}
	if gerr != nil {
		return n.Errorf("%w", gerr)
	}
	return nil
}

// qMatMul computes the int32 product (A - zas) * (B - zbs) of geometry s
// into y: zas holds the zero points per row of A (one for all, or none),
// zbs those per column of B; b is B's data ([]uint8 or []int8), pb, when
// not nil, B packed with its zero points.
func qMatMul[TA gemm.Int8](s *mmShape, a []TA, zas []int32, b any, zbs []int32, pb *gemm.PackedIB, y []int32, threads int) error {
	if len(y) == 0 {
		return nil
	}
	if s.k == 0 {
		clear(y)
		return nil
	}
	if s.foldA {
		return qMatMulOne(s, a, 0, b, 0, pb, y, len(y)/s.n, zas, zbs, threads)
	}
	for t := 0; t < s.batch; t++ {
		za, zb := zas, zbs
		if len(za) > 1 {
			r := s.aOff[t] / s.k
			za = za[r : r+s.m]
		}
		if len(zb) > 1 {
			c := s.bOff[t] / s.k
			zb = zb[c : c+s.n]
		}
		if err := qMatMulOne(s, a, s.aOff[t], b, s.bOff[t], pb, y[t*s.m*s.n:], s.m, za, zb, threads); err != nil {
			return err
		}
	}
	return nil
}

// qMatMulOne computes one product of a batch: m rows of A from element ao,
// B from element bo, into y.
func qMatMulOne[TA gemm.Int8](s *mmShape, a []TA, ao int, b any, bo int, pb *gemm.PackedIB, y []int32, m int, za, zb []int32, threads int) error {
	yy := y[:m*s.n]
	if pb != nil {
		return gemm.IgemmPacked[TA, uint8](false, false, m, s.n, s.k, a[ao:], s.k, za, nil, nil, 0, nil, pb, yy, s.n, threads)
	}
	switch bd := b.(type) {
	case []uint8:
		return gemm.Igemm(false, false, m, s.n, s.k, a[ao:], s.k, za, bd[bo:], s.n, zb, yy, s.n, threads)
	case []int8:
		return gemm.Igemm(false, false, m, s.n, s.k, a[ao:], s.k, za, bd[bo:], s.n, zb, yy, s.n, threads)
	}
	return nil
}

// qConv is the integer convolution shared by ConvInteger and QLinearConv:
// int32 accumulators sum (x - x_zero_point) * (w - w_zero_point) over each
// window, where padding reads x_zero_point (so it adds nothing).
type qConv struct {
	n     *Node
	attrs *WindowAttrs
	group int
	// Set when W and its zero point are constants: W packed per group
	// with the zero points subtracted, the tensors it came from, and the
	// zero points.
	packed  []*gemm.PackedIA
	wConst  *tensor.Tensor
	zConst  *tensor.Tensor
	wzConst []int32

	plan atomic.Pointer[qConvPlan] // geometry of the last shapes seen
}

// qConvPlan is a quantized convolution's geometry for one pair of input
// (channels first) and weight shapes; it is read-only once made.
type qConvPlan struct {
	xShape, wShape []int
	win            *Window
	outShape       []int // [N, M, out...]
	outLast        []int // [N, out..., M], for channels-last outputs
}

// planFor returns the geometry for these shapes, from the last one made
// when the shapes match.
func (c *qConv) planFor(xShape, wShape []int) (*qConvPlan, error) {
	if p := c.plan.Load(); p != nil && cvSameInts(p.xShape, xShape) && cvSameInts(p.wShape, wShape) {
		return p, nil
	}
	win, err := convShapes(c.n, c.attrs, c.group, xShape, wShape, nil)
	if err != nil {
		return nil, err
	}
	p := &qConvPlan{
		xShape: append([]int(nil), xShape...), wShape: append([]int(nil), wShape...),
		win: win, outShape: append([]int{xShape[0], wShape[0]}, win.Out...),
	}
	p.outLast = append(append([]int{xShape[0]}, win.Out...), wShape[0])
	c.plan.Store(p)
	return p, nil
}

// qConvState is the scratch of one quantized convolution run, in buffers
// kept for reuse between runs (one pool for all the kernels, so that few
// buffers, grown to the largest size needed, serve the model).
type qConvState struct {
	xzs    []int32 // the input zero point, as gemm takes it
	wz     []int32 // weight zero points of a non-constant w_zero_point
	acc    []int32 // QLinearConv's accumulators
	mult   []float32
	xShape []int  // a channels-last input's shape, channels first
	xcf    []byte // a channels-last input, channels first
	col    []byte // the patch matrix
}

var qConvStates jobPool[qConvState]

// readQConvAttrs reads the convolution attributes (auto_pad, dilations,
// group, kernel_shape, pads, strides).
func readQConvAttrs(n *Node) (*qConv, error) {
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
	return &qConv{n: n, attrs: attrs, group: int(g)}, nil
}

// prepack packs a constant weight w with its constant zero point z (nil
// for none), one packed matrix per group.
func (c *qConv) prepack(w, z *tensor.Tensor) error {
	n := c.n
	if len(w.Shape) < 3 || w.Shape[0]%c.group != 0 || !qIs8Bit(w.DType) {
		return nil // let Run report it
	}
	var buf []int32
	zs, err := c.weightZeroPoints(z, w.Shape[0], &buf)
	if err != nil {
		return err
	}
	m := w.Shape[0]
	mg := m / c.group
	kg := prodInts(w.Shape[1:])
	c.packed = make([]*gemm.PackedIA, c.group)
	for g := range c.packed {
		var p *gemm.PackedIA
		switch d := w.Data.(type) {
		case []uint8:
			p, err = gemm.PackIA(false, mg, kg, d[g*mg*kg:(g+1)*mg*kg], kg, qGroupZP(zs, g, mg))
		case []int8:
			p, err = gemm.PackIA(false, mg, kg, d[g*mg*kg:(g+1)*mg*kg], kg, qGroupZP(zs, g, mg))
		}
		if err != nil {
			c.packed = nil
			return n.Errorf("packing W: %w", err)
		}
		c.packed[g] = p
	}
	c.wConst, c.zConst, c.wzConst = w, z, zs
	return nil
}

// qGroupZP returns the zero points of group g's mg output channels.
func qGroupZP(zs []int32, g, mg int) []int32 {
	if len(zs) <= 1 {
		return zs
	}
	return zs[g*mg : (g+1)*mg]
}

// weightZeroPoints returns the weight zero point: nil, one value, or one
// per output channel; the prepared values of the constant one, else values
// written to the storage of buf (which keeps it).
func (c *qConv) weightZeroPoints(z *tensor.Tensor, m int, buf *[]int32) ([]int32, error) {
	if z == nil {
		return nil, nil
	}
	zs := c.wzConst
	if z != c.zConst || zs == nil {
		var ok bool
		if zs, ok = qIntsInto(*buf, z); !ok {
			return nil, c.n.Errorf("weight zero point has type %v", z.DType)
		}
		*buf = zs
	}
	if len(zs) != 1 && (len(z.Shape) != 1 || len(zs) != m) {
		return nil, c.n.Errorf("weight zero point shape %v, want a scalar or [%d]", z.Shape, m)
	}
	return zs, nil
}

// accumulate computes the int32 convolution of x (the bytes of a uint8
// tensor, or of an int8 one when signed, of shape xShape, zero point xz)
// with w (zero points wz, nil, one, or one per output channel) into acc,
// laid out as the output [N, M, out...]. win is the resolved window.
func (c *qConv) accumulate(ctx *Ctx, st *qConvState, win *Window, xb []byte, signed bool, xShape []int, xz int32, w *tensor.Tensor, wz []int32, wzT *tensor.Tensor, acc []int32) error {
	packed := c.packed
	if packed == nil || w != c.wConst || wzT != c.zConst {
		packed = nil
	}
	if signed {
		return qConvRun(c, ctx, st, win, qFromBytes[int8](xb), xShape, int8(xz), w, wz, packed, acc)
	}
	return qConvRun(c, ctx, st, win, xb, xShape, uint8(xz), w, wz, packed, acc)
}

// qFromBytes returns the bytes of b as a slice of the 8-bit type T
// sharing their memory.
func qFromBytes[T gemm.Int8](b []byte) []T {
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b))
}

// qToBytes returns the values of the 8-bit slice s as bytes sharing their
// memory.
func qToBytes[T gemm.Int8](s []T) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// qConvRun is accumulate for an x of element type TX.
func qConvRun[TX gemm.Int8](c *qConv, ctx *Ctx, st *qConvState, win *Window, x []TX, xShape []int, xz TX, w *tensor.Tensor, wz []int32, packed []*gemm.PackedIA, acc []int32) error {
	batch, ch := xShape[0], xShape[1]
	m := w.Shape[0]
	group := c.group
	cg, mg := ch/group, m/group
	inSize, outSize := win.InSize(), win.OutSize()
	kSize := win.KernelSize()
	kg := cg * kSize
	threads := qThreads(ctx)
	if outSize == 0 || m == 0 || batch == 0 {
		return nil
	}
	if kg == 0 {
		clear(acc)
		return nil
	}
	if cg == 1 && mg == 1 {
		qDepthwise(win, qToBytes(x), int32(xz), isSigned[TX](), batch, ch, w, wz, acc, threads)
		return nil
	}
	pointwise := win.IsPointwise()
	var col []TX
	if !pointwise {
		st.col = cvGrow(st.col, kg*outSize)
		col = qFromBytes[TX](st.col)
	}
	if st.xzs == nil {
		st.xzs = make([]int32, 1)
	}
	st.xzs[0] = int32(xz)
	xzs := st.xzs
	for img := 0; img < batch; img++ {
		for g := 0; g < group; g++ {
			xg := x[(img*ch+g*cg)*inSize : (img*ch+(g+1)*cg)*inSize]
			yg := acc[(img*m+g*mg)*outSize : (img*m+(g+1)*mg)*outSize]
			bm := xg
			if !pointwise {
				Im2col(win, xg, cg, col, xz, threads)
				bm = col
			}
			var err error
			switch {
			case packed != nil:
				err = gemm.IgemmPacked[uint8, TX](false, false, mg, outSize, kg, nil, 0, nil, packed[g], bm, outSize, xzs, nil, yg, outSize, threads)
			default:
				switch wd := w.Data.(type) {
				case []uint8:
					err = gemm.Igemm(false, false, mg, outSize, kg, wd[g*mg*kg:(g+1)*mg*kg], kg, qGroupZP(wz, g, mg), bm, outSize, xzs, yg, outSize, threads)
				case []int8:
					err = gemm.Igemm(false, false, mg, outSize, kg, wd[g*mg*kg:(g+1)*mg*kg], kg, qGroupZP(wz, g, mg), bm, outSize, xzs, yg, outSize, threads)
				}
			}
			if err != nil {
				return c.n.Errorf("%w", err)
			}
		}
	}
	return nil
}

// isSigned reports whether T is int8.
func isSigned[T gemm.Int8]() bool { return ^T(0) < 0 }

// qDepthwise computes a convolution with one input and one output channel
// per group: for each channel, the patch rows of that channel (kernel taps
// x output positions, padding reading the zero point) are weighted by the
// channel's taps. x holds the bytes of the input, int8 values when signed.
func qDepthwise(win *Window, x []byte, xz int32, signed bool, batch, ch int, w *tensor.Tensor, wz []int32, acc []int32, threads int) {
	kSize := win.KernelSize()
	j := qdwJobs.get()
	defer j.release()
	*j = qdwJob{win: win, x: x, xz: xz, signed: signed, ch: ch, w: w.Data, wz: wz, acc: acc, xf: j.xf, wf: j.wf, yf: j.yf}
	if win.Rank() == 2 && win.Dilations[1] == 1 && kSize <= 128 {
		j.depthwiseF32(batch, threads)
		return
	}
	planes := batch * ch
	grain := max(1, (1<<15)/max(kSize*win.OutSize(), 1))
	j.mode = qdwPlanes
	parallel.Do(planes, grain, threads, j)
}

// qdwJob is a loop of qDepthwise: over planes, or over the values of the
// conversions to and from float32 of depthwiseF32 (mode). xf, wf and yf
// are buffers kept for reuse.
type qdwJob struct {
	mode   int
	win    *Window
	x      []byte
	xz     int32
	signed bool
	ch     int
	w      any // the weight's data, []uint8 or []int8
	wz     []int32
	acc    []int32

	xf, wf, yf []float32
}

// qdwJob modes.
const (
	qdwPlanes  = iota // planes [lo, hi) by patch rows
	qdwToF32          // xf[i] = x[i] - xz
	qdwFromF32        // acc[i] = yf[i]
)

var qdwJobs jobPool[qdwJob]

// qdwCols recycles the patch rows of qDepthwise's planes.
var qdwCols bufPool[byte]

// release returns the job to its pool, keeping only its buffers.
func (j *qdwJob) release() {
	*j = qdwJob{xf: j.xf, wf: j.wf, yf: j.yf}
	qdwJobs.put(j)
}

func (j *qdwJob) Range(lo, hi int) {
	switch j.mode {
	case qdwPlanes:
		switch w := j.w.(type) {
		case []uint8:
			if j.signed {
				qDepthwisePlanes(j, qFromBytes[int8](j.x), w, lo, hi)
			} else {
				qDepthwisePlanes(j, j.x, w, lo, hi)
			}
		case []int8:
			if j.signed {
				qDepthwisePlanes(j, qFromBytes[int8](j.x), w, lo, hi)
			} else {
				qDepthwisePlanes(j, j.x, w, lo, hi)
			}
		}
	case qdwToF32:
		// x - xz as float32 (times 1: exact).
		gemm.Dequantize(j.xf[lo:hi], j.x[lo:hi], j.xz, 1, j.signed)
	case qdwFromF32:
		gemm.TruncInt32(j.acc[lo:hi], j.yf[lo:hi])
	}
}

// qDepthwisePlanes computes planes [lo, hi) of qDepthwise.
func qDepthwisePlanes[TX, TW gemm.Int8](j *qdwJob, x []TX, w []TW, lo, hi int) {
	win := j.win
	inSize, outSize := win.InSize(), win.OutSize()
	kSize := win.KernelSize()
	xz, wz, ch := TX(j.xz), j.wz, j.ch
	colp := qdwCols.get(kSize * outSize)
	col := qFromBytes[TX](*colp)
	for pl := lo; pl < hi; pl++ {
		c := pl % ch
		Im2colRows(win, x[pl*inSize:(pl+1)*inSize], 0, kSize, col, xz)
		y := j.acc[pl*outSize : (pl+1)*outSize]
		clear(y)
		wzc := int32(0)
		switch len(wz) {
		case 0:
		case 1:
			wzc = wz[0]
		default:
			wzc = wz[c]
		}
		for t := 0; t < kSize; t++ {
			wv := int32(w[c*kSize+t]) - wzc
			if wv == 0 {
				continue
			}
			row := col[t*outSize : (t+1)*outSize]
			for o, v := range row {
				y[o] += wv * (int32(v) - int32(xz))
			}
		}
	}
	qdwCols.put(colp)
}

// depthwiseF32 computes qDepthwise exactly in float32 with the vector
// depthwise kernel: every difference x - xz lies in [-255, 255] and w - wz
// in [-511, 511], so a product is at most 130305 in magnitude and a sum of
// up to 128 of them stays below 2^24, where float32 holds every integer:
// each partial sum, and so the result, is exact. Padding reads x = xz, a
// zero difference, as the padded float input's zeros.
func (j *qdwJob) depthwiseF32(batch, threads int) {
	win, ch := j.win, j.ch
	inSize, outSize := win.InSize(), win.OutSize()
	kSize := win.KernelSize()
	j.xf = cvGrow(j.xf, batch*ch*inSize)
	j.mode = qdwToF32
	parallel.Do(len(j.xf), 1<<14, threads, j)
	j.wf = cvGrow(j.wf, ch*kSize)
	switch w := j.w.(type) {
	case []uint8:
		qWeightDiffs(j.wf, w, j.wz, ch, kSize)
	case []int8:
		qWeightDiffs(j.wf, w, j.wz, ch, kSize)
	}
	j.yf = cvGrow(j.yf, batch*ch*outSize)
	depthwise2DF32(win, j.xf, batch, ch, j.wf, 1, nil, nil, j.yf, threads)
	j.mode = qdwFromF32
	parallel.Do(len(j.yf), 1<<14, threads, j)
}

// qWeightDiffs sets wf to the weights w of ch channels of kSize taps less
// their channel's zero point, as float32.
func qWeightDiffs[TW gemm.Int8](wf []float32, w []TW, wz []int32, ch, kSize int) {
	for c := 0; c < ch; c++ {
		var z int32
		switch len(wz) {
		case 0:
		case 1:
			z = wz[0]
		default:
			z = wz[c]
		}
		for t := 0; t < kSize; t++ {
			wf[c*kSize+t] = float32(int32(w[c*kSize+t]) - z)
		}
	}
}

// convIntegerKernel is a prepared ConvInteger node.
type convIntegerKernel struct {
	*qConv
}

// buildConvInteger prepares ConvInteger (opset 10): an int32 convolution of
// uint8/int8 x and w with a scalar x_zero_point and a scalar or
// per-output-channel w_zero_point.
// https://onnx.ai/onnx/operators/onnx__ConvInteger.html
func buildConvInteger(n *Node) (Kernel, error) {
	c, err := readQConvAttrs(n)
	if err != nil {
		return nil, err
	}
	if w := n.Const(1); w != nil && (!n.HasInput(3) || n.Const(3) != nil) {
		if err := c.prepack(w, n.Const(3)); err != nil {
			return nil, err
		}
	}
	return &convIntegerKernel{c}, nil
}

func (k *convIntegerKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	var xzT, wzT *tensor.Tensor
	if len(in) > 2 {
		xzT = in[2]
	}
	if len(in) > 3 {
		wzT = in[3]
	}
	if !qIs8Bit(x.DType) || !qIs8Bit(w.DType) {
		return nil, n.Errorf("inputs have types %v and %v, want uint8 or int8", x.DType, w.DType)
	}
	if xzT != nil && xzT.DType != x.DType || wzT != nil && wzT.DType != w.DType {
		return nil, n.Errorf("zero point types do not match their inputs")
	}
	xz, err := qScalarZP(n, xzT, x.DType, "x_zero_point")
	if err != nil {
		return nil, err
	}
	p, err := k.planFor(x.Shape, w.Shape)
	if err != nil {
		return nil, err
	}
	st := qConvStates.get()
	defer qConvStates.put(st)
	wz, err := k.weightZeroPoints(wzT, w.Shape[0], &st.wz)
	if err != nil {
		return nil, err
	}
	y := ctx.New(tensor.Int32, p.outShape...)
	if err := k.accumulate(ctx, st, p.win, qBytes(x), x.DType == tensor.Int8, x.Shape, xz, w, wz, wzT, y.Data.([]int32)); err != nil {
		return nil, err
	}
	return ctx.Out(y), nil
}
