package kernel

import (
	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "QLinearConv", MinOpset: 10, Build: buildQLinearConv})
	Register(Op{Domain: DomainMicrosoft, Type: "QLinearConv", MaxOpset: 1, Build: buildQLinearConv})
	Register(Op{Type: "QLinearMatMul", MinOpset: 10, Build: buildQLinearMatMul})
}

// qlinearConvKernel is a prepared QLinearConv node.
type qlinearConvKernel struct {
	*qConv
	channelsLast bool
}

// buildQLinearConv prepares QLinearConv (ONNX opset 10, and com.microsoft
// version 1 with its channels_last attribute): the integer convolution of
// x (uint8 or int8, scalar scale and zero point) with w (uint8 or int8, per
// tensor or per output channel scale and zero point), plus an optional
// int32 bias, requantized to y's scale and zero point:
//
//	y = saturate(round_half_even(float32(acc + B[m]) * M[m]) + y_zero_point)
//	M[m] = x_scale * w_scale[m] / y_scale      (float32, left to right)
//
// which is ONNX Runtime's formula (MlasRequantizeOutput), so results match
// it exactly. https://onnx.ai/onnx/operators/onnx__QLinearConv.html
func buildQLinearConv(n *Node) (Kernel, error) {
	c, err := readQConvAttrs(n)
	if err != nil {
		return nil, err
	}
	k := &qlinearConvKernel{qConv: c}
	if NormalizeDomain(n.Proto.GetDomain()) == DomainMicrosoft {
		cl, err := n.Int("channels_last", 0)
		if err != nil {
			return nil, err
		}
		k.channelsLast = cl != 0
	}
	if n.NumInputs() < 8 {
		return nil, n.Errorf("needs 8 or 9 inputs, has %d", n.NumInputs())
	}
	if w := n.Const(3); w != nil && n.Const(5) != nil {
		if err := c.prepack(w, n.Const(5)); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *qlinearConvKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1, 2, 3, 4, 5, 6, 7); err != nil {
		return nil, err
	}
	x, w := in[0], in[3]
	var bias *tensor.Tensor
	if len(in) > 8 {
		bias = in[8]
	}
	yzT := in[7]
	if !qIs8Bit(x.DType) || !qIs8Bit(w.DType) || !qIs8Bit(yzT.DType) {
		return nil, n.Errorf("x, w and y_zero_point have types %v, %v, %v; want uint8 or int8", x.DType, w.DType, yzT.DType)
	}
	if in[5].DType != w.DType {
		return nil, n.Errorf("w_zero_point has type %v, w has %v", in[5].DType, w.DType)
	}
	xs, err := qScalarF32(n, in[1], "x_scale")
	if err != nil {
		return nil, err
	}
	xz, err := qScalarZP(n, in[2], x.DType, "x_zero_point")
	if err != nil {
		return nil, err
	}
	ys, err := qScalarF32(n, in[6], "y_scale")
	if err != nil {
		return nil, err
	}
	yz, err := qScalarZP(n, yzT, tensor.Undefined, "y_zero_point")
	if err != nil {
		return nil, err
	}
	st := qConvStates.get()
	defer qConvStates.put(st)
	xb, xShape := qBytes(x), x.Shape
	if k.channelsLast {
		if len(x.Shape) < 3 {
			return nil, n.Errorf("input shape %v: need [N, spatial..., C]", x.Shape)
		}
		xb, xShape = channelsFirst(xb, x.Shape, &st.xcf, &st.xShape)
	}
	if bias != nil {
		if bias.DType != tensor.Int32 {
			return nil, n.Errorf("bias has type %v, want int32", bias.DType)
		}
		if len(w.Shape) > 0 && (len(bias.Shape) != 1 || bias.Shape[0] != w.Shape[0]) {
			// Checked here because a cached geometry skips convShapes.
			return nil, n.Errorf("bias shape %v, want [%d]", bias.Shape, w.Shape[0])
		}
	}
	p, err := k.planFor(xShape, w.Shape)
	if err != nil {
		return nil, err
	}
	win := p.win
	m := w.Shape[0]
	wz, err := k.weightZeroPoints(in[5], m, &st.wz)
	if err != nil {
		return nil, err
	}
	wsT := in[4]
	ws, ok := qFloats(wsT)
	if !ok || len(ws) != 1 && (len(wsT.Shape) != 1 || len(ws) != m) {
		return nil, n.Errorf("w_scale has type %v and shape %v, want float, a scalar or [%d]", wsT.DType, wsT.Shape, m)
	}
	mult := cvGrow(st.mult, m)
	st.mult = mult
	for i := range mult {
		wsi := ws[0]
		if len(ws) > 1 {
			wsi = ws[i]
		}
		mult[i] = float32(xs*wsi) / ys
	}
	var bv []int32
	if bias != nil {
		bv = bias.Data.([]int32)
	}
	lo, hi, _ := qRange(yzT.DType)
	acc := cvGrow(st.acc, prodInts(p.outShape))
	st.acc = acc
	if err := k.accumulate(ctx, st, win, xb, x.DType == tensor.Int8, xShape, xz, w, wz, in[5], acc); err != nil {
		return nil, err
	}
	outShape := p.outShape
	if k.channelsLast {
		outShape = p.outLast
	}
	y := ctx.NewUninit(yzT.DType, outShape...) // every value is written
	j := qRequantizeJobs.get()
	*j = qRequantizeJob{acc: acc, y: qBytes(y), signed: yzT.DType == tensor.Int8, m: m, size: win.OutSize(),
		bias: bv, mult: mult, b: newQBounds(lo, hi, yz), channelsLast: k.channelsLast}
	planes := len(acc) / max(j.size, 1)
	parallel.Do(planes, max(1, grainCheap/max(j.size, 1)), qThreads(ctx), j)
	*j = qRequantizeJob{}
	qRequantizeJobs.put(j)
	return ctx.Out(y), nil
}

// qRequantizeJob requantizes accumulators laid out as [N, M, size] by
// planes: plane (n, m) adds bias[m] (when bias is not nil) and scales by
// mult[m], into y laid out as the accumulators or, with channelsLast, as
// [N, size, M]. y holds the bytes of the output, int8 values when signed.
type qRequantizeJob struct {
	acc          []int32
	y            []byte
	signed       bool
	m, size      int
	bias         []int32
	mult         []float32
	b            qBounds
	channelsLast bool
}

var qRequantizeJobs jobPool[qRequantizeJob]

func (j *qRequantizeJob) Range(lo, hi int) {
	if j.signed {
		qRequantizePlanes(j, qFromBytes[int8](j.y), lo, hi)
	} else {
		qRequantizePlanes(j, j.y, lo, hi)
	}
}

// qRequantizePlanes requantizes planes [lo, hi) of j into y.
func qRequantizePlanes[O int8 | uint8](j *qRequantizeJob, y []O, lo, hi int) {
	size, m, b := j.size, j.m, j.b
	for p := lo; p < hi; p++ {
		ch := p % m
		var bv int32
		if j.bias != nil {
			bv = j.bias[ch]
		}
		mu := j.mult[ch]
		src := j.acc[p*size : (p+1)*size]
		if j.channelsLast {
			dst := y[(p-ch)*size+ch:]
			for i, a := range src {
				dst[i*m] = O(b.requantize(a+bv, mu))
			}
			continue
		}
		gemm.Requantize(j.y[p*size:(p+1)*size], src, bv, j.mult[ch:ch+1], b.lo, b.hi, b.zp, j.signed)
	}
}

// transposeBatch transposes each of n row-major rows x cols matrices of s
// into d.
func transposeBatch[T any](s, d []T, n, rows, cols int) {
	for b := 0; b < n; b++ {
		sb := s[b*rows*cols : (b+1)*rows*cols]
		db := d[b*rows*cols : (b+1)*rows*cols]
		for i := 0; i < rows; i++ {
			for j := 0; j < cols; j++ {
				db[j*rows+i] = sb[i*cols+j]
			}
		}
	}
}

// qlinearMatMulKernel is a prepared QLinearMatMul node.
type qlinearMatMulKernel struct {
	n     *Node
	plans qmmPlans
}

// buildQLinearMatMul prepares QLinearMatMul (opsets 10 and 21): the integer
// matrix product of a and b (uint8 or int8, numpy matmul broadcasting) with
// per-tensor or per-row (a) / per-column (b) scales and zero points,
// requantized to y's scale and zero point as QLinearConv does, with
// multiplier a_scale[i] * b_scale[j] / y_scale in float32. Opset 21 allows
// float16 and bfloat16 scales (converted to float32 exactly) and float8
// zero points (refused as unsupported: the engine does not hold float8).
// https://onnx.ai/onnx/operators/onnx__QLinearMatMul.html
func buildQLinearMatMul(n *Node) (Kernel, error) {
	if n.NumInputs() < 8 {
		return nil, n.Errorf("needs 8 inputs, has %d", n.NumInputs())
	}
	return &qlinearMatMulKernel{n: n}, nil
}

func (k *qlinearMatMulKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1, 3, 4, 6, 7); err != nil {
		return nil, err
	}
	a, b := in[0], in[3]
	za, zb, yzT := in[2], in[5], in[7]
	if !qIs8Bit(a.DType) || !qIs8Bit(b.DType) || !qIs8Bit(yzT.DType) {
		return nil, n.Errorf("a, b and y_zero_point have types %v, %v, %v; want uint8 or int8", a.DType, b.DType, yzT.DType)
	}
	if za != nil && za.DType != a.DType || zb != nil && zb.DType != b.DType {
		return nil, n.Errorf("zero point types do not match their inputs")
	}
	s, err := k.plans.shape(n, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	st := qmmStates.get()
	defer qmmStates.put(st)
	acc := cvGrow(st.acc, prodInts(s.out))
	st.acc = acc
	if err := st.matMul(ctx, n, s, a, za, b, zb, nil, acc); err != nil {
		return nil, err
	}
	as, err := qScaleRows(n, &st.as, in[1], a.Shape, true, "a_scale")
	if err != nil {
		return nil, err
	}
	bs, err := qScaleRows(n, &st.bs, in[4], b.Shape, false, "b_scale")
	if err != nil {
		return nil, err
	}
	ys, err := qScalarF32(n, in[6], "y_scale")
	if err != nil {
		return nil, err
	}
	yz, err := qScalarZP(n, yzT, tensor.Undefined, "y_zero_point")
	if err != nil {
		return nil, err
	}
	lo, hi, _ := qRange(yzT.DType)
	y := ctx.NewUninit(yzT.DType, s.out...) // every value is written
	products := 1
	if !s.foldA {
		products = s.batch
	}
	rowsPer := len(acc) / max(s.n, 1) / max(products, 1)
	j := qMatrixJobs.get()
	*j = qMatrixJob{acc: acc, y: qBytes(y), signed: yzT.DType == tensor.Int8, s: s, rowsPer: rowsPer,
		as: as, bs: bs, ys: ys, b: newQBounds(lo, hi, yz)}
	parallel.Do(products*rowsPer, max(1, grainCheap/max(s.n, 1)), qThreads(ctx), j)
	*j = qMatrixJob{}
	qMatrixJobs.put(j)
	return ctx.Out(y), nil
}

// qMatrixJob requantizes the accumulators of a batched product, by rows:
// product t has rowsPer rows of s.n values; the multiplier of the value
// at scale row r and scale column c is as[r] * bs[c] / ys (as and bs may
// hold one value for all). y holds the bytes of the output, int8 values
// when signed.
type qMatrixJob struct {
	acc     []int32
	y       []byte
	signed  bool
	s       *mmShape
	rowsPer int
	as, bs  []float32
	ys      float32
	b       qBounds
}

var qMatrixJobs jobPool[qMatrixJob]

// qMatrixRows recycles the row multipliers of qMatrixJob's loops.
var qMatrixRows cvBufPool

func (j *qMatrixJob) Range(lo, hi int) {
	mp := qMatrixRows.get(j.s.n)
	qRequantizeMatrix(j, *mp, lo, hi)
	qMatrixRows.put(mp)
}

// qRequantizeMatrix requantizes rows [lo, hi) of j into j.y, with m as the
// buffer of a row's multipliers.
func qRequantizeMatrix(j *qMatrixJob, m []float32, lo, hi int) {
	s, as, bs, ys, b := j.s, j.as, j.bs, j.ys, j.b
	perRow := len(as) > 1
	lastA, lastB := -1, -1
	for r := lo; r < hi; r++ {
		t, i := r/j.rowsPer, r%j.rowsPer
		ar, bc := r, 0
		if s.aOff != nil {
			ar = s.aOff[t]/max(s.k, 1) + i
			bc = s.bOff[t] / max(s.k, 1)
		}
		if !perRow {
			ar = 0
		}
		if ar != lastA || bc != lastB {
			// Each product t covers rows [t*m, (t+1)*m) of the output; its
			// scale rows and columns follow the operands' batch offsets.
			for c := range m {
				av, bv := as[0], bs[0]
				if len(as) > 1 {
					av = as[ar]
				}
				if len(bs) > 1 {
					bv = bs[bc+c]
				}
				m[c] = float32(av*bv) / ys
			}
			lastA, lastB = ar, bc
		}
		gemm.Requantize(j.y[r*s.n:(r+1)*s.n], j.acc[r*s.n:(r+1)*s.n], 0, m, b.lo, b.hi, b.zp, j.signed)
	}
}

// channelsFirst lays out the bytes xb of a channels-last tensor of shape
// [N, spatial..., C] channels first in *buf (grown as needed), puts that
// layout's shape in *bufShape, and returns both.
func channelsFirst(xb []byte, shape []int, buf *[]byte, bufShape *[]int) ([]byte, []int) {
	r := len(shape)
	nb, c := shape[0], shape[r-1]
	*bufShape = append(append((*bufShape)[:0], nb, c), shape[1:r-1]...)
	*buf = cvGrow(*buf, len(xb))
	transposeBatch(xb, *buf, nb, prodInts(shape[1:r-1]), c)
	return *buf, *bufShape
}
