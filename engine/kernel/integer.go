package kernel

import (
	"sync"

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
// [N] or [..., 1, N] for the right one.
func qZeroPointRows(n *Node, z *tensor.Tensor, shape []int, rowwise bool, what string) ([]int32, error) {
	if z == nil {
		return nil, nil
	}
	vals, ok := qInts(z)
	if !ok {
		return nil, n.Errorf("%s has type %v", what, z.DType)
	}
	return qExpandRows(n, vals, z.Shape, shape, rowwise, what)
}

// qScaleRows is qZeroPointRows for a float scale.
func qScaleRows(n *Node, s *tensor.Tensor, shape []int, rowwise bool, what string) ([]float32, error) {
	vals, ok := qFloats(s)
	if !ok {
		return nil, n.Errorf("%s has type %v, want a float type", what, s.DType)
	}
	return qExpandRows(n, vals, s.Shape, shape, rowwise, what)
}

// qExpandRows does the work of qZeroPointRows for values vals of shape zs.
func qExpandRows[T int32 | float32](n *Node, vals []T, zs, shape []int, rowwise bool, what string) ([]T, error) {
	if len(vals) == 1 {
		return vals, nil
	}
	r := len(shape)
	if r < 2 {
		return nil, n.Errorf("%s has shape %v; a 1-D operand takes a scalar", what, zs)
	}
	// Target: the operand's shape without its K dimension.
	var target []int
	kdim := r - 1
	if !rowwise {
		kdim = r - 2
	}
	for i, d := range shape {
		if i != kdim {
			target = append(target, d)
		}
	}
	orig := zs
	if len(zs) == r && zs[kdim] == 1 {
		zs = append(append([]int(nil), zs[:kdim]...), zs[kdim+1:]...)
	}
	if !unidirectionalOK(zs, target) {
		return nil, n.Errorf("%s shape %v does not fit operand shape %v", what, orig, shape)
	}
	out := make([]T, prodInts(target))
	if len(out) == 0 {
		return out, nil
	}
	b := newBroadcastTo(target, zs)
	in := b.inner(0)
	b.walk(0, len(out), func(o, cnt int, off []int) {
		for i := 0; i < cnt; i++ {
			out[o+i] = vals[off[0]+i*in]
		}
	})
	return out, nil
}

// matMulIntegerKernel is a prepared MatMulInteger node.
type matMulIntegerKernel struct {
	n *Node
	// Set when B and its zero point are constants and B is 2-D.
	packedB *gemm.PackedIB
	bConst  *tensor.Tensor
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
		zb, err := qZeroPointRows(n, n.Const(3), b.Shape, false, "b_zero_point")
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
	y, err := qMatMul(ctx, n, a, za, b, zb, k.packedFor(b, zb))
	if err != nil {
		return nil, err
	}
	return []*tensor.Tensor{y}, nil
}

// packedFor returns the prepacked B when b (and its zero point) are the
// constants it was packed from.
func (k *matMulIntegerKernel) packedFor(b, zb *tensor.Tensor) *gemm.PackedIB {
	if k.packedB == nil || b != k.bConst || zb != k.n.Const(3) {
		return nil
	}
	return k.packedB
}

// qMatMul computes the int32 product (A - za) * (B - zb) with numpy matmul
// broadcasting. pb, when not nil, is B packed with its zero points.
func qMatMul(ctx *Ctx, n *Node, a, za, b, zb *tensor.Tensor, pb *gemm.PackedIB) (*tensor.Tensor, error) {
	s, err := matMulShape(n, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	zas, err := qZeroPointRows(n, za, a.Shape, true, "a_zero_point")
	if err != nil {
		return nil, err
	}
	zbs, err := qZeroPointRows(n, zb, b.Shape, false, "b_zero_point")
	if err != nil {
		return nil, err
	}
	y := ctx.New(tensor.Int32, s.out...)
	yd := y.Data.([]int32)
	if len(yd) == 0 || s.k == 0 {
		return y, nil
	}
	threads := qThreads(ctx)
	var run func(ao, bo, yo, m int, za, zb []int32) error
	switch ad := a.Data.(type) {
	case []uint8:
		run = qMatMulRunner(ad, b, pb, s, yd, threads)
	case []int8:
		run = qMatMulRunner(ad, b, pb, s, yd, threads)
	}
	if s.foldA {
		m := len(yd) / s.n
		if err := run(0, 0, 0, m, zas, zbs); err != nil {
			return nil, n.Errorf("%w", err)
		}
		return y, nil
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
		if err := run(s.aOff[t], s.bOff[t], t*s.m*s.n, s.m, za, zb); err != nil {
			return nil, n.Errorf("%w", err)
		}
	}
	return y, nil
}

// qMatMulRunner returns a function computing one product of a batch: m rows
// of A from element ao, B from element bo, into y from element yo.
func qMatMulRunner[TA gemm.Int8](a []TA, b *tensor.Tensor, pb *gemm.PackedIB, s *mmShape, y []int32, threads int) func(ao, bo, yo, m int, za, zb []int32) error {
	return func(ao, bo, yo, m int, za, zb []int32) error {
		yy := y[yo : yo+m*s.n]
		if pb != nil {
			return gemm.IgemmPacked[TA, uint8](false, false, m, s.n, s.k, a[ao:], s.k, za, nil, nil, 0, nil, pb, yy, s.n, threads)
		}
		switch bd := b.Data.(type) {
		case []uint8:
			return gemm.Igemm(false, false, m, s.n, s.k, a[ao:], s.k, za, bd[bo:], s.n, zb, yy, s.n, threads)
		case []int8:
			return gemm.Igemm(false, false, m, s.n, s.k, a[ao:], s.k, za, bd[bo:], s.n, zb, yy, s.n, threads)
		}
		return nil
	}
}

// qConv is the integer convolution shared by ConvInteger and QLinearConv:
// int32 accumulators sum (x - x_zero_point) * (w - w_zero_point) over each
// window, where padding reads x_zero_point (so it adds nothing).
type qConv struct {
	n     *Node
	attrs *WindowAttrs
	group int
	// Set when W and its zero point are constants: W packed per group
	// with the zero points subtracted, and the tensors it came from.
	packed []*gemm.PackedIA
	wConst *tensor.Tensor
	zConst *tensor.Tensor
	bufs   sync.Pool
}

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
	zs, err := c.weightZeroPoints(z, w.Shape[0])
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
	c.wConst, c.zConst = w, z
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
// per output channel.
func (c *qConv) weightZeroPoints(z *tensor.Tensor, m int) ([]int32, error) {
	if z == nil {
		return nil, nil
	}
	zs, ok := qInts(z)
	if !ok {
		return nil, c.n.Errorf("weight zero point has type %v", z.DType)
	}
	if len(zs) != 1 && (len(z.Shape) != 1 || len(zs) != m) {
		return nil, c.n.Errorf("weight zero point shape %v, want a scalar or [%d]", z.Shape, m)
	}
	return zs, nil
}

// accumulate computes the int32 convolution of x (zero point xz) with w
// (zero points wz, nil, one, or one per output channel) into acc, laid out
// as the output [N, M, out...]. win is the resolved window.
func (c *qConv) accumulate(ctx *Ctx, win *Window, x *tensor.Tensor, xz int32, w *tensor.Tensor, wz []int32, wzT *tensor.Tensor, acc []int32) error {
	packed := c.packed
	if packed == nil || w != c.wConst || wzT != c.zConst {
		packed = nil
	}
	switch xd := x.Data.(type) {
	case []uint8:
		return qConvRun(c, ctx, win, xd, x.Shape, uint8(xz), w, wz, packed, acc)
	case []int8:
		return qConvRun(c, ctx, win, xd, x.Shape, int8(xz), w, wz, packed, acc)
	}
	return c.n.Errorf("input x has type %v, want uint8 or int8", x.DType)
}

// qConvRun is accumulate for an x of element type TX.
func qConvRun[TX gemm.Int8](c *qConv, ctx *Ctx, win *Window, x []TX, xShape []int, xz TX, w *tensor.Tensor, wz []int32, packed []*gemm.PackedIA, acc []int32) error {
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
		switch wd := w.Data.(type) {
		case []uint8:
			qDepthwise(win, x, xz, batch, ch, wd, wz, acc, threads)
		case []int8:
			qDepthwise(win, x, xz, batch, ch, wd, wz, acc, threads)
		}
		return nil
	}
	pointwise := win.IsPointwise()
	var col []TX
	if !pointwise {
		if v, ok := c.bufs.Get().(*[]TX); ok && cap(*v) >= kg*outSize {
			col = (*v)[:kg*outSize]
		} else {
			col = make([]TX, kg*outSize)
		}
		defer c.bufs.Put(&col)
	}
	xzs := []int32{int32(xz)}
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

// qDepthwise computes a convolution with one input and one output channel
// per group: for each channel, the patch rows of that channel (kernel taps
// x output positions, padding reading the zero point) are weighted by the
// channel's taps.
func qDepthwise[TX, TW gemm.Int8](win *Window, x []TX, xz TX, batch, ch int, w []TW, wz []int32, acc []int32, threads int) {
	inSize, outSize := win.InSize(), win.OutSize()
	kSize := win.KernelSize()
	if win.Rank() == 2 && win.Dilations[1] == 1 && kSize <= 128 {
		qDepthwiseF32(win, x, xz, batch, ch, w, wz, acc, threads)
		return
	}
	planes := batch * ch
	grain := max(1, (1<<15)/max(kSize*outSize, 1))
	parallel.For(planes, grain, threads, func(lo, hi int) {
		col := make([]TX, kSize*outSize)
		for pl := lo; pl < hi; pl++ {
			c := pl % ch
			Im2colRows(win, x[pl*inSize:(pl+1)*inSize], 0, kSize, col, xz)
			y := acc[pl*outSize : (pl+1)*outSize]
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
	})
}

// qDepthwiseF32 computes qDepthwise exactly in float32 with the vector
// depthwise kernel: every difference x - xz lies in [-255, 255] and w - wz
// in [-511, 511], so a product is at most 130305 in magnitude and a sum of
// up to 128 of them stays below 2^24, where float32 holds every integer:
// each partial sum, and so the result, is exact. Padding reads x = xz, a
// zero difference, as the padded float input's zeros.
func qDepthwiseF32[TX, TW gemm.Int8](win *Window, x []TX, xz TX, batch, ch int, w []TW, wz []int32, acc []int32, threads int) {
	inSize, outSize := win.InSize(), win.OutSize()
	kSize := win.KernelSize()
	xf := make([]float32, batch*ch*inSize)
	parallel.For(len(xf), 1<<14, threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			xf[i] = float32(int32(x[i]) - int32(xz))
		}
	})
	wf := make([]float32, ch*kSize)
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
	yf := make([]float32, batch*ch*outSize)
	depthwise2DF32(win, xf, batch, ch, wf, 1, nil, nil, yf, threads)
	parallel.For(len(yf), 1<<14, threads, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			acc[i] = int32(yf[i])
		}
	})
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
	win, err := convShapes(n, k.attrs, k.group, x.Shape, w.Shape, nil)
	if err != nil {
		return nil, err
	}
	wz, err := k.weightZeroPoints(wzT, w.Shape[0])
	if err != nil {
		return nil, err
	}
	y := ctx.New(tensor.Int32, append([]int{x.Shape[0], w.Shape[0]}, win.Out...)...)
	if err := k.accumulate(ctx, win, x, xz, w, wz, wzT, y.Data.([]int32)); err != nil {
		return nil, err
	}
	return []*tensor.Tensor{y}, nil
}
