package kernel

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

// Quantized operators of ONNX Runtime's com.microsoft domain (version 1),
// which ONNX Runtime's quantization tools emit. Their semantics are defined
// by ONNX Runtime (docs/ContribOperators.md and its CPU kernels); where a
// result goes through float32 arithmetic, the same operations are done here
// in the same order so that outputs agree with ONNX Runtime on x86-64.

func init() {
	ms := func(typ string, b Builder) {
		Register(Op{Domain: DomainMicrosoft, Type: typ, MaxOpset: 1, Build: b})
	}
	ms("QLinearAdd", func(n *Node) (Kernel, error) { return buildQLinearBinary(n, false) })
	ms("QLinearMul", func(n *Node) (Kernel, error) { return buildQLinearBinary(n, true) })
	ms("QLinearSigmoid", func(n *Node) (Kernel, error) { return buildQLinearLookup(n, false) })
	ms("QLinearLeakyRelu", func(n *Node) (Kernel, error) { return buildQLinearLookup(n, true) })
	ms("QLinearConcat", buildQLinearConcat)
	ms("QLinearGlobalAveragePool", buildQLinearGlobalAveragePool)
	ms("QLinearAveragePool", buildQLinearAveragePool)
	ms("QLinearSoftmax", buildQLinearSoftmax)
	ms("QGemm", buildQGemm)
	ms("DynamicQuantizeMatMul", func(n *Node) (Kernel, error) { return buildMatMulToFloat(n, true) })
	ms("MatMulIntegerToFloat", func(n *Node) (Kernel, error) { return buildMatMulToFloat(n, false) })
}

// fma32 returns x*y + z rounded once to float32, as an FMA instruction
// computes it. The product of two float32 is exact in float64; the sum is
// rounded to float64 with its error recovered exactly (two-sum), and the
// error decides the rare case where the float64 sum sits exactly halfway
// between two float32 values.
func fma32(x, y, z float32) float32 {
	p := float64(x) * float64(y)
	zz := float64(z)
	s := p + zz
	bb := s - p
	e := (p - (s - bb)) + (zz - bb)
	r := float32(s)
	if e == 0 || float64(r) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	var other float32
	if float64(r) < s {
		other = math.Nextafter32(r, float32(math.Inf(1)))
	} else {
		other = math.Nextafter32(r, float32(math.Inf(-1)))
	}
	if s-float64(r) != float64(other)-s {
		return r // not a tie: r is the nearest float32 to s + e as well
	}
	if (e > 0) == (other > r) {
		return other
	}
	return r
}

// qParams8 reads the scale and optional zero point of an 8-bit quantized
// tensor of type dt.
func qParams8(n *Node, s, z *tensor.Tensor, dt tensor.DataType, what string) (float32, int32, error) {
	// The names are built only for an error message.
	sv, err := qScalarF32(n, s, "")
	if err != nil {
		_, err = qScalarF32(n, s, what+"_scale")
		return 0, 0, err
	}
	zv, err := qScalarZP(n, z, dt, "")
	if err != nil {
		_, err = qScalarZP(n, z, dt, what+"_zero_point")
	}
	return sv, zv, err
}

// qInput returns in[i], or nil when the input is absent.
func qInput(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// qlinearBinaryKernel is a prepared QLinearAdd or QLinearMul node.
type qlinearBinaryKernel struct {
	n    *Node
	mul  bool
	plan atomic.Pointer[qBinaryPlan] // broadcast of the last shapes seen
}

// buildQLinearBinary prepares QLinearAdd and QLinearMul (com.microsoft):
// elementwise A + B or A * B of 8-bit tensors with numpy broadcasting,
// from A's and B's scales and zero points to C's. ONNX Runtime computes
// (its AVX2 QLinearAdd kernel and SSE2 QLinearMul kernel, with rA = A_scale
// / C_scale, rB = B_scale / C_scale):
//
//	add: fixed = C_zp - (rA*A_zp + rB*B_zp);
//	     C = round(fma(A, rA, fma(B, rB, fixed)))        (A, B vary)
//	     C = round(fma(A, rA, fixed + B*rB))              (B constant along the run)
//	     C = round(fma(B, rB, fixed + A*rA))              (A constant along the run)
//	mul: C = round(float32((A - A_zp)*(B - B_zp)) * (A_scale*B_scale/C_scale) + C_zp)
//
// rounded half to even and saturated, and so does this kernel.
func buildQLinearBinary(n *Node, mul bool) (Kernel, error) {
	if n.NumInputs() < 7 {
		return nil, n.Errorf("needs at least 7 inputs, has %d", n.NumInputs())
	}
	return &qlinearBinaryKernel{n: n, mul: mul}, nil
}

func (k *qlinearBinaryKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1, 3, 4, 6); err != nil {
		return nil, err
	}
	a, b := in[0], in[3]
	if a.DType != b.DType || !qIs8Bit(a.DType) {
		return nil, n.Errorf("inputs have types %v and %v, want the same 8-bit type", a.DType, b.DType)
	}
	sa, za, err := qParams8(n, in[1], qInput(in, 2), a.DType, "A")
	if err != nil {
		return nil, err
	}
	sb, zb, err := qParams8(n, in[4], qInput(in, 5), a.DType, "B")
	if err != nil {
		return nil, err
	}
	sc, zc, err := qParams8(n, in[6], qInput(in, 7), a.DType, "C")
	if err != nil {
		return nil, err
	}
	bc, err := k.broadcastFor(a.Shape, b.Shape)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	lo, hi, _ := qRange(a.DType)
	j := qBinaryJobs.get()
	*j = qBinaryJob{bc: bc, a: qBytes(a), b: qBytes(b), signed: a.DType == tensor.Int8}
	p := &j.p
	*p = qBinaryParams{
		rA: sa / sc, rB: sb / sc, za: za, zb: zb, zc: zc,
		ratio: float32(sa*sb) / sc, lo: lo, hi: hi, mul: k.mul,
	}
	p.fixed = float32(zc) - (float32(p.rA*float32(za)) + float32(p.rB*float32(zb)))
	y := ctx.NewUninit(a.DType, bc.Out...) // every value is written
	j.y = qBytes(y)
	parallel.Do(bc.Size, grainCheap, qThreads(ctx), j)
	*j = qBinaryJob{}
	qBinaryJobs.put(j)
	return ctx.Out(y), nil
}

// qBinaryPlan is a QLinearAdd or QLinearMul's broadcast for one pair of
// input shapes, read-only once made.
type qBinaryPlan struct {
	a, b []int
	bc   *broadcast
}

// broadcastFor returns the broadcast of inputs of shapes a and b, from the
// last one made when the shapes match.
func (k *qlinearBinaryKernel) broadcastFor(a, b []int) (*broadcast, error) {
	if p := k.plan.Load(); p != nil && cvSameInts(p.a, a) && cvSameInts(p.b, b) {
		return p.bc, nil
	}
	a, b = append([]int(nil), a...), append([]int(nil), b...)
	bc, err := newBroadcast(a, b)
	if err != nil {
		return nil, err
	}
	k.plan.Store(&qBinaryPlan{a: a, b: b, bc: bc})
	return bc, nil
}

// qBinaryJob is one QLinearAdd or QLinearMul evaluation, a loop over the
// output's elements. a, b and y hold the bytes of the tensors, int8 values
// when signed.
type qBinaryJob struct {
	bc      *broadcast
	a, b, y []byte
	signed  bool
	p       qBinaryParams
}

var qBinaryJobs jobPool[qBinaryJob]

func (j *qBinaryJob) Range(lo, hi int) { j.bc.walkRuns(lo, hi, j) }

// run computes the output run [o, o+n) (a runner of broadcast.walkRuns).
func (j *qBinaryJob) run(o, n int, off runOffs) {
	ia, ib := j.bc.inner(0), j.bc.inner(1)
	if j.signed {
		a, b, y := qFromBytes[int8](j.a), qFromBytes[int8](j.b), qFromBytes[int8](j.y)
		qBinarySpan(&j.p, a, b, y[o:o+n], off[0], off[1], ia, ib)
		return
	}
	qBinarySpan(&j.p, j.a, j.b, j.y[o:o+n], off[0], off[1], ia, ib)
}

// qBinaryParams holds the constants of one QLinearAdd/QLinearMul run.
type qBinaryParams struct {
	rA, rB, fixed, ratio float32
	za, zb, zc           int32
	lo, hi               int32
	mul                  bool
}

// sat rounds a float32 half to even and saturates it to [lo, hi].
func (p *qBinaryParams) sat(t float32) int32 {
	t = max(float32(p.lo)-1, min(float32(p.hi)+1, t))
	v := int32(rne32(t))
	return max(p.lo, min(p.hi, v))
}

// qBinarySpan computes the run out of the output, whose operands start at
// a[oa] and b[ob] with inner strides ia and ib.
func qBinarySpan[T int8 | uint8](p *qBinaryParams, a, b, out []T, oa, ob, ia, ib int) {
	cnt := len(out)
	if p.mul {
		for i := range out {
			prod := (int32(a[oa+i*ia]) - p.za) * (int32(b[ob+i*ib]) - p.zb)
			out[i] = T(p.sat(float32(float32(prod)*p.ratio) + float32(p.zc)))
		}
		return
	}
	switch {
	case ia == 1 && ib == 1:
		as, bs := a[oa:oa+cnt], b[ob:ob+cnt]
		done := gemm.QAddVec(qToBytes(out), qToBytes(as), qToBytes(bs), p.rA, p.rB, p.fixed, p.lo, p.hi, isSigned[T]())
		for i := done; i < len(out); i++ {
			t := fma32(float32(bs[i]), p.rB, p.fixed)
			out[i] = T(p.sat(fma32(float32(as[i]), p.rA, t)))
		}
	case ia == 1:
		fb := p.fixed + float32(float32(b[ob])*p.rB)
		as := a[oa : oa+cnt]
		done := gemm.QAddVec(qToBytes(out), qToBytes(as), nil, p.rA, 0, fb, p.lo, p.hi, isSigned[T]())
		for i := done; i < len(out); i++ {
			out[i] = T(p.sat(fma32(float32(as[i]), p.rA, fb)))
		}
	default:
		fa := p.fixed + float32(float32(a[oa])*p.rA)
		done := 0
		if ib == 1 {
			done = gemm.QAddVec(qToBytes(out), qToBytes(b[ob:ob+cnt]), nil, p.rB, 0, fa, p.lo, p.hi, isSigned[T]())
		}
		for i := done; i < len(out); i++ {
			out[i] = T(p.sat(fma32(float32(b[ob+i*ib]), p.rB, fa)))
		}
	}
}

// qLookup sets dst[i] = t[src[i]] for i < len(src), four at a time.
func qLookup(dst, src []byte, t *qTable) {
	dst = dst[:len(src)]
	i := 0
	for ; i+4 <= len(src); i += 4 {
		s4 := src[i : i+4 : i+4]
		d4 := dst[i : i+4 : i+4]
		d4[0], d4[1], d4[2], d4[3] = t[s4[0]], t[s4[1]], t[s4[2]], t[s4[3]]
	}
	for ; i < len(src); i++ {
		dst[i] = t[src[i]]
	}
}

// qTable is a 256-entry lookup table of an 8-bit function, indexed by the
// input's byte.
type qTable [256]byte

// qTableFunc selects the function a table applies between dequantizing
// and quantizing.
type qTableFunc int

const (
	qtIdentity qTableFunc = iota // requantizing only
	qtLogistic                   // mlasLogistic
	qtLeaky                      // v >= 0 ? v : alpha*v
)

// qBuildTable tabulates y = quantize(f(dequantize(x))) for every 8-bit x of
// type dt into t, as ONNX Runtime's QlinearBuildLookupTable: x is
// dequantized as x_scale * float32(x - x_zp), f applied to all 256 values
// (alpha is LeakyRelu's), and the results quantized with
// MlasQuantizeLinear's formula.
func qBuildTable(t *qTable, dt tensor.DataType, xs float32, xz int32, ys float32, yz int32, f qTableFunc, alpha float32) {
	var vals [256]float32
	for i := range vals {
		vals[i] = xs * float32(qByteValue(dt, i)-xz)
	}
	switch f {
	case qtLogistic:
		for i, x := range vals {
			vals[i] = mlasLogistic(x)
		}
	case qtLeaky:
		for i, x := range vals {
			if !(x >= 0) {
				vals[i] = alpha * x
			}
		}
	}
	lo, hi, _ := qRange(dt)
	b := newQBounds(lo, hi, yz)
	for i, v := range vals {
		t[i] = byte(b.apply(v / ys))
	}
}

// qByteValue is the value of the 8-bit pattern i in type dt.
func qByteValue(dt tensor.DataType, i int) int32 {
	if dt == tensor.Int8 {
		return int32(int8(uint8(i)))
	}
	return int32(i)
}

// qApplyTable maps every element of an 8-bit tensor through a table.
func qApplyTable(x, y *tensor.Tensor, t *qTable, threads int) {
	xb, yb := qBytes(x), qBytes(y)
	if threads <= 1 || len(xb) < 2*grainCheap {
		qApplyTableRange(xb, yb, t, 0, len(xb))
		return
	}
	j := qTableJobs.get()
	*j = qTableJob{x: xb, y: yb, t: t}
	parallel.Do(len(xb), grainCheap, threads, j)
	*j = qTableJob{}
	qTableJobs.put(j)
}

// qTableJob is qApplyTable's loop.
type qTableJob struct {
	x, y []byte
	t    *qTable
}

var qTableJobs jobPool[qTableJob]

func (j *qTableJob) Range(lo, hi int) { qApplyTableRange(j.x, j.y, j.t, lo, hi) }

// qApplyTableRange maps the bytes x[lo:hi] through t into y. (An int8
// value's byte is its table index, and the entry's byte the result.)
func qApplyTableRange(x, y []byte, t *qTable, lo, hi int) {
	qLookup(y[lo:hi], x[lo:hi], t)
}

// Constants of ONNX Runtime's logistic approximation (MLAS, after Eigen):
// sigmoid(x) ~ x*P(x^2)/Q(x^2) + 1/2 on x clamped to [-18, 18].
const (
	lgAlpha9 = float32(4.37031012579801e-11)
	lgAlpha7 = float32(1.15627324459942e-07)
	lgAlpha5 = float32(6.08574864600143e-05)
	lgAlpha3 = float32(8.51377133304701e-03)
	lgAlpha1 = float32(2.48287947061529e-01)
	lgBeta10 = float32(6.10247389755681e-13)
	lgBeta8  = float32(5.76102136993427e-09)
	lgBeta6  = float32(6.29106785017040e-06)
	lgBeta4  = float32(1.70198817374094e-03)
	lgBeta2  = float32(1.16817656904453e-01)
	lgBeta0  = float32(9.93151921023180e-01)
)

// mlasLogistic is the logistic function as ONNX Runtime computes it on
// x86-64 with FMA3 (its AVX2 kernel): the rational approximation above
// with fused multiply-adds, the result clamped below at 0.
func mlasLogistic(x float32) float32 {
	x = max(float32(-18), min(float32(18), x))
	x2 := x * x
	p := fma32(x2, lgAlpha9, lgAlpha7)
	p = fma32(x2, p, lgAlpha5)
	p = fma32(x2, p, lgAlpha3)
	p = fma32(x2, p, lgAlpha1)
	q := fma32(x2, lgBeta10, lgBeta8)
	q = fma32(x2, q, lgBeta6)
	q = fma32(x2, q, lgBeta4)
	q = fma32(x2, q, lgBeta2)
	q = fma32(x2, q, lgBeta0)
	p = x * p
	return max(0, p/q+0.5)
}

// qlinearLookupKernel is a prepared QLinearSigmoid or QLinearLeakyRelu.
type qlinearLookupKernel struct {
	n     *Node
	leaky bool
	alpha float32
	// fixed is the table when all scales and zero points are constants.
	fixed *qTable
	fixT  tensor.DataType
}

// buildQLinearLookup prepares QLinearSigmoid and QLinearLeakyRelu
// (com.microsoft): y = quantize(f(dequantize(x))) through a 256-entry
// table, with f the logistic function as ONNX Runtime approximates it, or
// v >= 0 ? v : alpha*v (alpha default 0.01).
func buildQLinearLookup(n *Node, leaky bool) (Kernel, error) {
	k := &qlinearLookupKernel{n: n, leaky: leaky}
	if leaky {
		a, err := n.Float("alpha", 0.01)
		if err != nil {
			return nil, err
		}
		k.alpha = a
	}
	if n.NumInputs() < 4 {
		return nil, n.Errorf("needs at least 4 inputs, has %d", n.NumInputs())
	}
	consts := n.Const(1) != nil && n.Const(3) != nil &&
		(!n.HasInput(2) || n.Const(2) != nil) && (!n.HasInput(4) || n.Const(4) != nil)
	if consts {
		var zt *tensor.Tensor
		if n.HasInput(2) {
			zt = n.Const(2)
		}
		dt := tensor.Uint8
		if zt != nil {
			dt = zt.DType
		}
		if qIs8Bit(dt) {
			ins := []*tensor.Tensor{nil, n.Const(1), zt, n.Const(3), nil}
			if n.HasInput(4) {
				ins[4] = n.Const(4)
			}
			t := new(qTable)
			if err := k.table(t, ins, dt); err == nil {
				k.fixed, k.fixT = t, dt
			}
		}
	}
	return k, nil
}

// table builds the lookup table from the scale and zero-point inputs into
// t.
func (k *qlinearLookupKernel) table(t *qTable, in []*tensor.Tensor, dt tensor.DataType) error {
	xs, xz, err := qParams8(k.n, in[1], qInput(in, 2), dt, "X")
	if err != nil {
		return err
	}
	ys, yz, err := qParams8(k.n, in[3], qInput(in, 4), dt, "Y")
	if err != nil {
		return err
	}
	f := qtLogistic
	if k.leaky {
		f = qtLeaky
	}
	qBuildTable(t, dt, xs, xz, ys, yz, f, k.alpha)
	return nil
}

// qTables recycles the tables of lookup kernels whose parameters are not
// constants.
var qTables jobPool[qTable]

func (k *qlinearLookupKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if !qIs8Bit(x.DType) {
		return nil, n.Errorf("input X has type %v, want uint8 or int8", x.DType)
	}
	t := k.fixed
	fixedOK := t != nil && k.fixT == x.DType && in[1] == n.Const(1) && in[3] == n.Const(3) &&
		qInput(in, 2) == n.Const(2) && qInput(in, 4) == n.Const(4)
	if !fixedOK {
		t = qTables.get()
		defer qTables.put(t)
		if err := k.table(t, in, x.DType); err != nil {
			return nil, err
		}
	}
	y := ctx.NewUninit(x.DType, x.Shape...) // every value is written
	qApplyTable(x, y, t, qThreads(ctx))
	return ctx.Out(y), nil
}

// qAxis normalizes an axis attribute against rank r.
func qAxis(n *Node, axis int64, r int) (int, error) {
	if axis < -int64(r) || axis >= int64(r) {
		return 0, n.Errorf("axis %d out of range for rank %d", axis, r)
	}
	if axis < 0 {
		axis += int64(r)
	}
	return int(axis), nil
}

// buildQLinearConcat prepares QLinearConcat (com.microsoft): inputs Y_scale,
// Y_zero_point, then (X, X_scale, X_zero_point) triples, concatenated along
// axis after requantizing each X to Y's parameters (a table per input,
// dequantize then MlasQuantizeLinear, or a plain copy when the parameters
// are equal, as ONNX Runtime does).
func buildQLinearConcat(n *Node) (Kernel, error) {
	if !n.Has("axis") {
		return nil, n.Errorf("missing axis attribute")
	}
	axis, err := n.Int("axis", 0)
	if err != nil {
		return nil, err
	}
	if n.NumInputs() < 5 || (n.NumInputs()-2)%3 != 0 {
		return nil, n.Errorf("inputs must be Y_scale, Y_zero_point and (X, X_scale, X_zero_point) triples, got %d inputs", n.NumInputs())
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0, 1); err != nil {
			return nil, err
		}
		dt := in[1].DType
		if !qIs8Bit(dt) {
			return nil, n.Errorf("Y_zero_point has type %v, want uint8 or int8", dt)
		}
		ys, yz, err := qParams8(n, in[0], in[1], dt, "Y")
		if err != nil {
			return nil, err
		}
		count := (len(in) - 2) / 3
		st := qConcatStates.get()
		defer qConcatStates.put(st)
		st.tables = cvGrow(st.tables, count)
		st.mapped = cvGrow(st.mapped, count)
		for i := 0; i < count; i++ {
			x, s, z := in[2+3*i], in[3+3*i], in[4+3*i]
			if x == nil || s == nil || z == nil {
				return nil, n.Errorf("input triple %d is incomplete", i)
			}
			if x.DType != dt || z.DType != dt {
				return nil, n.Errorf("input %d has type %v and zero point type %v, want %v", i, x.DType, z.DType, dt)
			}
			sv, zv, err := qParams8(n, s, z, dt, "X")
			if err != nil {
				return nil, err
			}
			st.mapped[i] = sv != ys || zv != yz
			if st.mapped[i] {
				qBuildTable(&st.tables[i], dt, sv, zv, ys, yz, qtIdentity, 0)
			}
		}
		x0 := in[2]
		r := len(x0.Shape)
		ax, err := qAxis(n, axis, r)
		if err != nil {
			return nil, err
		}
		var sbuf [MaxDims]int
		shape := sbuf[:0]
		if r > MaxDims {
			shape = make([]int, 0, r)
		}
		shape = append(shape, x0.Shape...)
		shape[ax] = 0
		for i := 0; i < count; i++ {
			x := in[2+3*i]
			if len(x.Shape) != r {
				return nil, n.Errorf("input %d has shape %v, input 0 %v", i, x.Shape, x0.Shape)
			}
			for d := range shape {
				if d != ax && x.Shape[d] != x0.Shape[d] {
					return nil, n.Errorf("input %d has shape %v, input 0 %v", i, x.Shape, x0.Shape)
				}
			}
			shape[ax] += x.Shape[ax]
		}
		y := ctx.NewUninit(dt, shape...) // every value is written
		outer := prodInts(shape[:ax])
		outPitch := prodInts(shape[ax:])
		yb := qBytes(y)
		off := 0
		for i := 0; i < count; i++ {
			x := in[2+3*i]
			pitch := prodInts(x.Shape[ax:])
			xb := qBytes(x)
			for o := 0; o < outer; o++ {
				src := xb[o*pitch : (o+1)*pitch]
				dst := yb[o*outPitch+off : o*outPitch+off+pitch]
				if !st.mapped[i] {
					copy(dst, src)
					continue
				}
				qLookup(dst, src, &st.tables[i])
			}
			off += pitch
		}
		return ctx.Out(y), nil
	}), nil
}

// qConcatState is the scratch of a QLinearConcat run: per input, whether
// it is mapped through a table to the output's parameters, and the table.
type qConcatState struct {
	tables []qTable
	mapped []bool
}

var qConcatStates jobPool[qConcatState]

// qBytes returns the elements of an 8-bit tensor as a byte slice sharing
// its memory (int8 and uint8 have the same size and alignment), so that
// byte-level work (copies, table lookups) serves both types.
func qBytes(t *tensor.Tensor) []byte {
	switch d := t.Data.(type) {
	case []uint8:
		return d
	case []int8:
		if len(d) == 0 {
			return nil
		}
		return unsafe.Slice((*byte)(unsafe.Pointer(&d[0])), len(d))
	}
	return nil
}

// buildQLinearGlobalAveragePool prepares QLinearGlobalAveragePool
// (com.microsoft): the mean of each channel over all spatial positions,
// NCHW or, with channels_last, NHWC. ONNX Runtime sums the values as
// integers and requantizes sum - x_zp*size with multiplier
// x_scale / (y_scale * size), as QLinearConv does.
func buildQLinearGlobalAveragePool(n *Node) (Kernel, error) {
	cl, err := n.Int("channels_last", 0)
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0, 1, 2, 3, 4); err != nil {
			return nil, err
		}
		x := in[0]
		if !qIs8Bit(x.DType) {
			return nil, n.Errorf("input X has type %v, want uint8 or int8", x.DType)
		}
		if len(x.Shape) < 3 {
			return nil, n.Errorf("input shape %v has fewer than 3 dimensions", x.Shape)
		}
		xs, xz, err := qParams8(n, in[1], in[2], x.DType, "x")
		if err != nil {
			return nil, err
		}
		ys, yz, err := qParams8(n, in[3], in[4], x.DType, "y")
		if err != nil {
			return nil, err
		}
		r := len(x.Shape)
		var obuf [MaxDims]int
		out := obuf[:0]
		if r > MaxDims {
			out = make([]int, 0, r)
		}
		out = append(out, x.Shape...)
		var batch, c, size int
		if cl != 0 {
			batch, c, size = x.Shape[0], x.Shape[r-1], prodInts(x.Shape[1:r-1])
			for i := 1; i < r-1; i++ {
				out[i] = 1
			}
		} else {
			batch, c, size = x.Shape[0], x.Shape[1], prodInts(x.Shape[2:])
			for i := 2; i < r; i++ {
				out[i] = 1
			}
		}
		y := ctx.NewUninit(x.DType, out...) // every value is written
		qGlobalAvg(qBytes(x), x.DType, qBytes(y), batch, c, size, cl != 0, xs, xz, ys, yz, qThreads(ctx))
		return ctx.Out(y), nil
	}), nil
}

// qGlobalAvg computes a quantized global average pool of the bytes xb of
// a tensor of type dt into yb: per (batch, channel), requantize(sum -
// xz*size) with multiplier xs / (ys * size).
func qGlobalAvg(xb []byte, dt tensor.DataType, yb []byte, batch, c, size int, channelsLast bool, xs float32, xz int32, ys float32, yz int32, threads int) {
	lo, hi, _ := qRange(dt)
	j := qGlobalJobs.get()
	*j = qGlobalJob{
		x: xb, y: yb, signed: dt == tensor.Int8, c: c, size: size, channelsLast: channelsLast,
		b: newQBounds(lo, hi, yz), mult: xs / (ys * float32(size)), bias: -xz * int32(size),
	}
	parallel.Do(batch*c, max(1, grainCheap/max(size, 1)), threads, j)
	*j = qGlobalJob{}
	qGlobalJobs.put(j)
}

// qGlobalJob is qGlobalAvg's loop over (batch, channel) planes.
type qGlobalJob struct {
	x, y         []byte
	signed       bool
	c, size      int
	channelsLast bool
	b            qBounds
	mult         float32
	bias         int32
}

var qGlobalJobs jobPool[qGlobalJob]

func (j *qGlobalJob) Range(p0, p1 int) {
	xb, yb, c, size := j.x, j.y, j.c, j.size
	val := func(v byte) int32 {
		if j.signed {
			return int32(int8(v))
		}
		return int32(v)
	}
	for p := p0; p < p1; p++ {
		var sum int32
		if j.channelsLast {
			img, ch := p/c, p%c
			base := img * size * c
			for i := 0; i < size; i++ {
				sum += val(xb[base+i*c+ch])
			}
		} else {
			for _, v := range xb[p*size : (p+1)*size] {
				sum += val(v)
			}
		}
		yb[p] = byte(j.b.requantize(sum+j.bias, j.mult))
	}
}

// qlinearAvgPoolKernel is a prepared QLinearAveragePool node.
type qlinearAvgPoolKernel struct {
	n            *Node
	attrs        *WindowAttrs
	includePad   bool
	channelsLast bool
	plan         atomic.Pointer[qAvgPlan] // geometry of the last input shape seen
}

// buildQLinearAveragePool prepares QLinearAveragePool (com.microsoft): an
// average pool of the dequantized input, requantized. Following ONNX
// Runtime, x is dequantized as x_scale * float32(x - x_zp), each window's
// values inside the input are summed in float32 in row-major order and
// divided by the number of values (or the kernel size with
// count_include_pad), and y = saturate(round(avg / y_scale + y_zp)); a
// window covering the whole unpadded input uses the integer global average
// pool formula instead, as ONNX Runtime does.
func buildQLinearAveragePool(n *Node) (Kernel, error) {
	attrs, err := ReadWindowAttrs(n, WindowAttrOptions{CeilMode: true, KernelRequired: true})
	if err != nil {
		return nil, err
	}
	cip, err := n.Int("count_include_pad", 0)
	if err != nil {
		return nil, err
	}
	cl, err := n.Int("channels_last", 0)
	if err != nil {
		return nil, err
	}
	return &qlinearAvgPoolKernel{n: n, attrs: attrs, includePad: cip != 0, channelsLast: cl != 0}, nil
}

func (k *qlinearAvgPoolKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if !qIs8Bit(x.DType) {
		return nil, n.Errorf("input X has type %v, want uint8 or int8", x.DType)
	}
	if len(x.Shape) < 3 {
		return nil, n.Errorf("input shape %v has fewer than 3 dimensions", x.Shape)
	}
	xs, xz, err := qParams8(n, in[1], qInput(in, 2), x.DType, "x")
	if err != nil {
		return nil, err
	}
	ys, yz, err := qParams8(n, in[3], qInput(in, 4), x.DType, "y")
	if err != nil {
		return nil, err
	}
	st := qAvgStates.get()
	defer qAvgStates.put(st)
	xb, xShape := qBytes(x), x.Shape
	if k.channelsLast {
		xb, xShape = channelsFirst(xb, x.Shape, &st.xcf, &st.xShape)
	}
	p, err := k.planFor(xShape)
	if err != nil {
		return nil, err
	}
	win := p.win
	var y *tensor.Tensor
	yb := st.ycf
	if k.channelsLast {
		// The output is computed channels first, then laid out channels
		// last.
		yb = cvGrow(yb, prodInts(p.outShape))
		st.ycf = yb
		y = ctx.NewUninit(x.DType, p.outLast...)
	} else {
		y = ctx.NewUninit(x.DType, p.outShape...) // every value is written
		yb = qBytes(y)
	}
	threads := qThreads(ctx)
	if p.global {
		qGlobalAvg(xb, x.DType, yb, xShape[0], xShape[1], win.InSize(), false, xs, xz, ys, yz, threads)
	} else {
		qAvgPool(win, xb, x.DType, yb, xShape[0]*xShape[1], xs, xz, ys, yz, k.includePad, threads)
	}
	if k.channelsLast {
		transposeBatch(yb, qBytes(y), p.outShape[0], p.outShape[1], win.OutSize())
	}
	return ctx.Out(y), nil
}

// qAvgPlan is a QLinearAveragePool's geometry for one input shape (channels
// first), read-only once made.
type qAvgPlan struct {
	xShape   []int
	win      *Window
	outShape []int // [N, C, out...]
	outLast  []int // [N, out..., C]
	global   bool  // one window covering the whole unpadded input
}

// planFor returns the geometry for input shape xShape (channels first),
// from the last one made when the shape matches.
func (k *qlinearAvgPoolKernel) planFor(xShape []int) (*qAvgPlan, error) {
	if p := k.plan.Load(); p != nil && cvSameInts(p.xShape, xShape) {
		return p, nil
	}
	win, err := k.attrs.Resolve(xShape[2:], nil)
	if err != nil {
		return nil, k.n.Errorf("input shape %v: %w", xShape, err)
	}
	p := &qAvgPlan{
		xShape: append([]int(nil), xShape...), win: win,
		outShape: append([]int{xShape[0], xShape[1]}, win.Out...),
		outLast:  append(append([]int{xShape[0]}, win.Out...), xShape[1]),
		global:   true,
	}
	for i := range win.In {
		if win.Kernel[i] != win.In[i] || win.PadBegin[i] != 0 || win.PadEnd[i] != 0 {
			p.global = false
		}
	}
	k.plan.Store(p)
	return p, nil
}

// qAvgState is the scratch of a QLinearAveragePool run with channels-last
// tensors: the input's shape and values channels first, and the output's.
type qAvgState struct {
	xShape   []int
	xcf, ycf []byte
}

var qAvgStates jobPool[qAvgState]

// qAvgPool computes QLinearAveragePool's general case on the bytes xb of
// a tensor of type dt with planes planes, into yb.
func qAvgPool(win *Window, xb []byte, dt tensor.DataType, yb []byte, planes int, xs float32, xz int32, ys float32, yz int32, includePad bool, threads int) {
	j := qAvgJobs.get()
	*j = qAvgJob{win: win, x: xb, y: yb, ys: ys, zf: float32(yz), includePad: includePad, inStride: j.inStride}
	signed := dt == tensor.Int8
	for i := range j.dq {
		v := int32(i)
		if signed {
			v = int32(int8(uint8(i)))
		}
		j.dq[i] = xs * float32(v-xz)
	}
	j.lo, j.hi, _ = qRange(dt)
	rank := win.Rank()
	j.inStride = cvGrow(j.inStride, rank)
	st := 1
	for a := rank - 1; a >= 0; a-- {
		j.inStride[a] = st
		st *= win.In[a]
	}
	parallel.Do(planes, max(1, grainCheap/max(win.OutSize()*win.KernelSize(), 1)), threads, j)
	*j = qAvgJob{inStride: j.inStride}
	qAvgJobs.put(j)
}

// qAvgJob is qAvgPool's loop over planes.
type qAvgJob struct {
	win        *Window
	x, y       []byte
	dq         [256]float32 // dequantized value of each byte
	lo, hi     int32
	ys, zf     float32
	includePad bool
	inStride   []int // kept for reuse
}

var qAvgJobs jobPool[qAvgJob]

func (j *qAvgJob) Range(p0, p1 int) {
	win := j.win
	rank := win.Rank()
	if rank == 2 && win.Dilations[0] == 1 && win.Dilations[1] == 1 {
		j.planes2D(p0, p1)
		return
	}
	j.planesND(p0, p1)
}

// planesND computes planes [p0, p1) over any number of spatial axes.
func (j *qAvgJob) planesND(p0, p1 int) {
	win, xb, yb := j.win, j.x, j.y
	rank := win.Rank()
	inSize, outSize := win.InSize(), win.OutSize()
	kSize := win.KernelSize()
	inStride := j.inStride[:rank]
	lo, hi, ys, zf := j.lo, j.hi, j.ys, j.zf
	var ob, sb, eb, ib [MaxDims]int
	o, start, end, idx := ob[:0], sb[:0], eb[:0], ib[:0]
	if rank > MaxDims {
		o, start, end, idx = make([]int, rank), make([]int, rank), make([]int, rank), make([]int, rank)
	} else {
		o, start, end, idx = ob[:rank], sb[:rank], eb[:rank], ib[:rank]
	}
	for p := p0; p < p1; p++ {
		src := xb[p*inSize : (p+1)*inSize]
		dst := yb[p*outSize : (p+1)*outSize]
		clear(o)
		for q := 0; q < outSize; q++ {
			count := 1
			empty := false
			for a := 0; a < rank; a++ {
				s := o[a]*win.Strides[a] - win.PadBegin[a]
				e := min(s+win.Kernel[a], win.In[a])
				s = max(s, 0)
				start[a], end[a] = s, e
				if e <= s {
					empty = true
				}
				count *= max(e-s, 0)
			}
			var sum float32
			if !empty {
				copy(idx, start)
				for {
					off := 0
					for a := 0; a < rank; a++ {
						off += idx[a] * inStride[a]
					}
					sum += j.dq[src[off]]
					a := rank - 1
					for ; a >= 0; a-- {
						idx[a]++
						if idx[a] < end[a] {
							break
						}
						idx[a] = start[a]
					}
					if a < 0 {
						break
					}
				}
			}
			if j.includePad {
				count = kSize
			}
			dst[q] = qAvgFinish(sum, count, lo, hi, ys, zf)
			for a := rank - 1; a >= 0; a-- {
				o[a]++
				if o[a] < win.Out[a] {
					break
				}
				o[a] = 0
			}
		}
	}
}

// qAvgFinish requantizes a window's float32 sum over count values.
func qAvgFinish(sum float32, count int, lo, hi int32, ys, zf float32) byte {
	avg := sum / float32(count)
	v := avg/ys + zf
	v = max(float32(lo)-1, min(float32(hi)+1, v))
	r := int32(rne32(v))
	return byte(max(lo, min(hi, r)))
}

// planes2D is Range for two spatial axes without dilation: the same sums
// in the same order (each window's values in row-major order, added one
// by one in float32 from 0), with four windows of equal width summed side
// by side so that their additions overlap.
func (j *qAvgJob) planes2D(p0, p1 int) {
	win, xb, yb, dq := j.win, j.x, j.y, &j.dq
	h, w := win.In[0], win.In[1]
	oh, ow := win.Out[0], win.Out[1]
	kh, kw := win.Kernel[0], win.Kernel[1]
	sh, sw := win.Strides[0], win.Strides[1]
	ph, pw := win.PadBegin[0], win.PadBegin[1]
	kSize := kh * kw
	lo, hi, ys, zf := j.lo, j.hi, j.ys, j.zf
	for p := p0; p < p1; p++ {
		src := xb[p*h*w : (p+1)*h*w]
		dst := yb[p*oh*ow : (p+1)*oh*ow]
		for r := 0; r < oh; r++ {
			rs := r*sh - ph
			re := min(rs+kh, h)
			rs = max(rs, 0)
			rows := max(re-rs, 0)
			drow := dst[r*ow : (r+1)*ow]
			c := 0
			for ; c+4 <= ow; c += 4 {
				c0, e0 := qAvgCols(c, sw, pw, kw, w)
				c1, e1 := qAvgCols(c+1, sw, pw, kw, w)
				c2, e2 := qAvgCols(c+2, sw, pw, kw, w)
				c3, e3 := qAvgCols(c+3, sw, pw, kw, w)
				n := e0 - c0
				if n <= 0 || e1-c1 != n || e2-c2 != n || e3-c3 != n {
					for q := c; q < c+4; q++ {
						drow[q] = j.window2D(src, w, rs, re, q, sw, pw, kw, kSize)
					}
					continue
				}
				var s0, s1, s2, s3 float32
				for y := rs; y < re; y++ {
					row := src[y*w : (y+1)*w]
					r0, r1, r2, r3 := row[c0:c0+n], row[c1:c1+n], row[c2:c2+n], row[c3:c3+n]
					for t := range r0 {
						s0 += dq[r0[t]]
						s1 += dq[r1[t]]
						s2 += dq[r2[t]]
						s3 += dq[r3[t]]
					}
				}
				count := rows * n
				if j.includePad {
					count = kSize
				}
				drow[c] = qAvgFinish(s0, count, lo, hi, ys, zf)
				drow[c+1] = qAvgFinish(s1, count, lo, hi, ys, zf)
				drow[c+2] = qAvgFinish(s2, count, lo, hi, ys, zf)
				drow[c+3] = qAvgFinish(s3, count, lo, hi, ys, zf)
			}
			for ; c < ow; c++ {
				drow[c] = j.window2D(src, w, rs, re, c, sw, pw, kw, kSize)
			}
		}
	}
}

// qAvgCols returns the input columns [cs, ce) of output column c: kw
// columns from c*sw - pw, clipped to [0, w).
func qAvgCols(c, sw, pw, kw, w int) (cs, ce int) {
	cs = c*sw - pw
	return max(cs, 0), min(cs+kw, w)
}

// window2D is planes2D for one output: rows [rs, re) of plane src (w
// columns) and the columns of output column c.
func (j *qAvgJob) window2D(src []byte, w, rs, re, c, sw, pw, kw, kSize int) byte {
	cs, ce := qAvgCols(c, sw, pw, kw, w)
	var sum float32
	count := max(re-rs, 0) * max(ce-cs, 0)
	if count > 0 {
		for y := rs; y < re; y++ {
			for _, v := range src[y*w+cs : y*w+ce] {
				sum += j.dq[v]
			}
		}
	}
	if j.includePad {
		count = kSize
	}
	return qAvgFinish(sum, count, j.lo, j.hi, j.ys, j.zf)
}

// qlinearSoftmaxKernel is a prepared QLinearSoftmax node.
type qlinearSoftmaxKernel struct {
	n       *Node
	axis    int64
	perAxis bool                           // opset >= 13: along one axis; else over the trailing dims
	table   atomic.Pointer[qSoftmaxTables] // table of the last parameters seen
}

// buildQLinearSoftmax prepares QLinearSoftmax (com.microsoft): softmax of a
// quantized tensor, as ONNX Runtime computes it. With D the number of
// values normalized together and s = max(0, ln(FLT_MAX / D) - 5) (keeping
// sums finite), a table holds exp((v - 255) * x_scale + s) for every 8-bit
// v; each row is shifted so that its maximum reads the table's top entry,
// the float32 values are summed in order, and
// y = saturate(round_half_even(e * floor(1 / y_scale) / sum) + y_zp).
// x_zero_point does not matter (softmax ignores shifts). The opset attribute
// selects the Softmax semantics: before 13, the input is coerced to 2-D at
// axis (default 1); from 13, the softmax runs along axis (default -1).
func buildQLinearSoftmax(n *Node) (Kernel, error) {
	if !n.Has("opset") {
		return nil, n.Errorf("missing opset attribute")
	}
	op, err := n.Int("opset", 13)
	if err != nil {
		return nil, err
	}
	k := &qlinearSoftmaxKernel{n: n, perAxis: op >= 13}
	def := int64(1)
	if k.perAxis {
		def = -1
	}
	if k.axis, err = n.Int("axis", def); err != nil {
		return nil, err
	}
	return k, nil
}

func (k *qlinearSoftmaxKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1, 3); err != nil {
		return nil, err
	}
	x := in[0]
	if !qIs8Bit(x.DType) {
		return nil, n.Errorf("input X has type %v, want uint8 or int8", x.DType)
	}
	xs, err := qScalarF32(n, in[1], "X_scale")
	if err != nil {
		return nil, err
	}
	ys, yz, err := qParams8(n, in[3], qInput(in, 4), x.DType, "y")
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	var outer, dim, inner int
	if k.perAxis {
		ax, err := qAxis(n, k.axis, max(r, 1))
		if err != nil {
			return nil, err
		}
		if r == 0 {
			outer, dim, inner = 1, 1, 1
		} else {
			outer, dim, inner = prodInts(x.Shape[:ax]), x.Shape[ax], prodInts(x.Shape[ax+1:])
		}
	} else {
		if k.axis < -int64(r) || k.axis > int64(r) {
			return nil, n.Errorf("axis %d out of range for rank %d", k.axis, r)
		}
		ax := int(k.axis)
		if ax < 0 {
			ax += r
		}
		outer, dim, inner = prodInts(x.Shape[:ax]), prodInts(x.Shape[ax:]), 1
	}
	y := ctx.New(x.DType, x.Shape...)
	if x.Len() == 0 || dim == 0 {
		return ctx.Out(y), nil
	}
	signed := x.DType == tensor.Int8
	lo, hi, _ := qRange(x.DType)
	j := qSoftmaxJobs.get()
	*j = qSoftmaxJob{
		x: qBytes(x), y: qBytes(y), signed: signed, dim: dim, inner: inner,
		table: k.tableFor(xs, dim, signed), yScale: float32(math.Floor(float64(1 / ys))),
		yz: yz, lo: lo, hi: hi,
	}
	parallel.Do(outer*inner, max(1, grainHeavy/dim), qThreads(ctx), j)
	*j = qSoftmaxJob{}
	qSoftmaxJobs.put(j)
	return ctx.Out(y), nil
}

// qSoftmaxTables is a QLinearSoftmax table with the parameters it was
// built for, read-only once made.
type qSoftmaxTables struct {
	xs     float32
	dim    int
	signed bool
	table  []float32
}

// tableFor returns the table of exponentials for these parameters, from
// the last one made when they match.
func (k *qlinearSoftmaxKernel) tableFor(xs float32, dim int, signed bool) []float32 {
	if t := k.table.Load(); t != nil && t.dim == dim && t.signed == signed && math.Float32bits(t.xs) == math.Float32bits(xs) {
		return t.table
	}
	t := &qSoftmaxTables{xs: xs, dim: dim, signed: signed, table: qSoftmaxTable(xs, dim, signed)}
	k.table.Store(t)
	return t.table
}

// qSoftmaxJob is one QLinearSoftmax evaluation, a loop over its rows.
type qSoftmaxJob struct {
	x, y       []byte
	signed     bool
	dim, inner int
	table      []float32
	yScale     float32
	yz, lo, hi int32
}

var qSoftmaxJobs jobPool[qSoftmaxJob]

func (j *qSoftmaxJob) Range(p0, p1 int) {
	xb, yb, table := j.x, j.y, j.table
	dim, inner, signed := j.dim, j.inner, j.signed
	for p := p0; p < p1; p++ {
		o, i := p/inner, p%inner
		base := o*dim*inner + i
		// Shift so that the row's maximum reads the table's top entry.
		var shift int
		if signed {
			xmax := int8(-128)
			for d := 0; d < dim; d++ {
				xmax = max(xmax, int8(xb[base+d*inner]))
			}
			shift = 127 - int(xmax)
		} else {
			xmax := uint8(0)
			for d := 0; d < dim; d++ {
				xmax = max(xmax, xb[base+d*inner])
			}
			shift = 255 - int(xmax)
		}
		entry := func(v byte) float32 {
			if signed {
				return table[uint8(int(int8(v))+shift)]
			}
			return table[int(v)+shift]
		}
		var sum float32
		for d := 0; d < dim; d++ {
			sum += entry(xb[base+d*inner])
		}
		for d := 0; d < dim; d++ {
			e := entry(xb[base+d*inner])
			q := float32(e*j.yScale) / sum
			q = min(q, 1<<20)
			v := int32(rne32(q)) + j.yz
			yb[base+d*inner] = byte(max(j.lo, min(j.hi, v)))
		}
	}
}

// qSoftmaxTable builds QLinearSoftmax's table of exponentials for rows of
// dim values: entry v (the byte of the shifted input) holds
// exp((v - 255 + s/x_scale) * x_scale) computed in double and rounded to
// float32, with s = max(0, ln(FLT_MAX / dim) - 5). For int8 inputs the
// entries are stored at byte(v - 128).
func qSoftmaxTable(xs float32, dim int, signed bool) []float32 {
	bound := float32(math.MaxFloat32) / float32(dim)
	shift := math.Max(0, math.Log(float64(bound))-5) / float64(xs)
	table := make([]float32, 256)
	for i := 0; i < 256; i++ {
		v := float32(math.Exp((float64(i) - 255 + shift) * float64(xs)))
		idx := i
		if signed {
			idx = int(uint8(i - 128))
		}
		table[idx] = v
	}
	return table
}

// qgemmKernel is a prepared QGemm node.
type qgemmKernel struct {
	n              *Node
	alpha          float32
	transA, transB bool
}

// buildQGemm prepares QGemm (com.microsoft): Y = alpha * (A - a_zp) * (B -
// b_zp) with an optional int32 C added to the integer accumulator, either
// requantized to y_scale/y_zero_point (multiplier alpha * a_scale *
// b_scale[j] / y_scale) or, without y_zero_point, returned as float32
// (accumulator times alpha * a_scale * b_scale[j], divided by y_scale when
// given). b's scale and zero point are per tensor or per column.
func buildQGemm(n *Node) (Kernel, error) {
	k := &qgemmKernel{n: n}
	var err error
	if k.alpha, err = n.Float("alpha", 1); err != nil {
		return nil, err
	}
	ta, err := n.Int("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := n.Int("transB", 0)
	if err != nil {
		return nil, err
	}
	k.transA, k.transB = ta != 0, tb != 0
	if n.NumInputs() < 6 {
		return nil, n.Errorf("needs at least 6 inputs, has %d", n.NumInputs())
	}
	return k, nil
}

func (k *qgemmKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1, 3, 4); err != nil {
		return nil, err
	}
	a, b := in[0], in[3]
	za, zb := qInput(in, 2), qInput(in, 5)
	c, ysT, yzT := qInput(in, 6), qInput(in, 7), qInput(in, 8)
	if !qIs8Bit(a.DType) || !qIs8Bit(b.DType) {
		return nil, n.Errorf("A and B have types %v and %v, want uint8 or int8", a.DType, b.DType)
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, n.Errorf("A and B must be 2-D, got %v and %v", a.Shape, b.Shape)
	}
	m, kk := a.Shape[0], a.Shape[1]
	if k.transA {
		m, kk = kk, m
	}
	kb, nn := b.Shape[0], b.Shape[1]
	if k.transB {
		kb, nn = nn, kb
	}
	if kb != kk {
		return nil, n.Errorf("A %v and B %v (transA %v, transB %v) do not multiply", a.Shape, b.Shape, k.transA, k.transB)
	}
	as, err := qScalarF32(n, in[1], "a_scale")
	if err != nil {
		return nil, err
	}
	if za != nil && za.DType != a.DType || zb != nil && zb.DType != b.DType {
		return nil, n.Errorf("zero point types do not match their inputs")
	}
	zav, err := qScalarZP(n, za, a.DType, "a_zero_point")
	if err != nil {
		return nil, err
	}
	bs, ok := qFloats(in[4])
	if !ok || len(bs) != 1 && len(bs) != nn {
		return nil, n.Errorf("b_scale has type %v and shape %v, want float, a scalar or [%d]", in[4].DType, in[4].Shape, nn)
	}
	st := qmmStates.get()
	defer qmmStates.put(st)
	var zbs []int32
	if zb != nil {
		if zbs, ok = qIntsInto(st.zb, zb); !ok || len(zbs) != 1 && len(zbs) != nn {
			return nil, n.Errorf("b_zero_point shape %v, want a scalar or [%d]", zb.Shape, nn)
		}
		st.zb = zbs
	}
	acc := cvGrow(st.acc, m*nn)
	st.acc = acc
	lda, ldb := kk, nn
	if k.transA {
		lda = m
	}
	if k.transB {
		ldb = kk
	}
	threads := qThreads(ctx)
	zas := append(st.za[:0], zav)
	st.za = zas
	var gerr error
	switch ad := a.Data.(type) {
	case []uint8:
		gerr = qgemmRun(k.transA, k.transB, m, nn, kk, ad, lda, zas, b, ldb, zbs, acc, threads)
	case []int8:
		gerr = qgemmRun(k.transA, k.transB, m, nn, kk, ad, lda, zas, b, ldb, zbs, acc, threads)
	}
	if gerr != nil {
		return nil, n.Errorf("%w", gerr)
	}
	if kk == 0 {
		clear(acc)
	}
	if c != nil {
		cv, ok := c.Data.([]int32)
		if !ok {
			return nil, n.Errorf("C has type %v, want int32", c.DType)
		}
		mn := [2]int{m, nn}
		if !unidirectionalOK(c.Shape, mn[:]) {
			return nil, n.Errorf("C shape %v does not broadcast to [%d %d]", c.Shape, m, nn)
		}
		// C's strides over [m, nn], 0 where broadcast.
		var cs [2]int
		off, step := 2-len(c.Shape), 1
		for i := len(c.Shape) - 1; i >= 0; i-- {
			if c.Shape[i] != 1 {
				cs[off+i] = step
			}
			step *= c.Shape[i]
		}
		for i := 0; i < m; i++ {
			row := acc[i*nn : (i+1)*nn]
			for j := range row {
				row[j] += cv[i*cs[0]+j*cs[1]]
			}
		}
	}
	scales := cvGrow(st.mults, len(bs))
	st.mults = scales
	var ys float32
	if ysT != nil {
		if ys, err = qScalarF32(n, ysT, "y_scale"); err != nil {
			return nil, err
		}
	}
	for j, v := range bs {
		scales[j] = float32(k.alpha*as) * v
		if ysT != nil {
			scales[j] /= ys
		}
	}
	scaleAt := func(j int) float32 {
		if len(scales) == 1 {
			return scales[0]
		}
		return scales[j]
	}
	if yzT == nil {
		y := ctx.NewUninit(tensor.Float32, m, nn) // every value is written
		yd := y.Data.([]float32)
		for i := 0; i < m; i++ {
			for j := 0; j < nn; j++ {
				yd[i*nn+j] = float32(acc[i*nn+j]) * scaleAt(j)
			}
		}
		return ctx.Out(y), nil
	}
	if !qIs8Bit(yzT.DType) {
		return nil, n.Errorf("y_zero_point has type %v, want uint8 or int8", yzT.DType)
	}
	yz, err := qScalarZP(n, yzT, tensor.Undefined, "y_zero_point")
	if err != nil {
		return nil, err
	}
	lo, hi, _ := qRange(yzT.DType)
	bnd := newQBounds(lo, hi, yz)
	y := ctx.NewUninit(yzT.DType, m, nn) // every value is written
	yb := qBytes(y)
	for i := 0; i < m; i++ {
		for j := 0; j < nn; j++ {
			yb[i*nn+j] = byte(bnd.requantize(acc[i*nn+j], scaleAt(j)))
		}
	}
	return ctx.Out(y), nil
}

func qgemmRun[TA gemm.Int8](transA, transB bool, m, n, k int, a []TA, lda int, za []int32, b *tensor.Tensor, ldb int, zb []int32, c []int32, threads int) error {
	switch bd := b.Data.(type) {
	case []uint8:
		return gemm.Igemm(transA, transB, m, n, k, a, lda, za, bd, ldb, zb, c, n, threads)
	case []int8:
		return gemm.Igemm(transA, transB, m, n, k, a, lda, za, bd, ldb, zb, c, n, threads)
	}
	return nil
}

// matMulToFloatKernel is a prepared DynamicQuantizeMatMul or
// MatMulIntegerToFloat node.
type matMulToFloatKernel struct {
	n       *Node
	dynamic bool
	plans   qmmPlans
}

// buildMatMulToFloat prepares DynamicQuantizeMatMul and MatMulIntegerToFloat
// (com.microsoft): a float32 result (A - a_zp) * (B - b_zp) * (a_scale *
// b_scale[j]) + bias[j], computed as ONNX Runtime does: int32 accumulator,
// float32(acc) * multiplier, then + bias, with the multiplier a_scale *
// b_scale in float32. DynamicQuantizeMatMul first quantizes the float A to
// uint8 exactly as DynamicQuantizeLinear does. b's scale and zero point are
// per tensor or per column ([N] or [..., 1, N]); A's scale and zero point
// must be scalars (a per-row a_scale is not implemented).
func buildMatMulToFloat(n *Node, dynamic bool) (Kernel, error) {
	need := 4
	if dynamic {
		need = 3
	}
	if n.NumInputs() < need {
		return nil, n.Errorf("needs at least %d inputs, has %d", need, n.NumInputs())
	}
	return &matMulToFloatKernel{n: n, dynamic: dynamic}, nil
}

func (k *matMulToFloatKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	var a, b, za, zb, bsT, bias *tensor.Tensor
	var as float32
	var err error
	st := qmmStates.get()
	defer qmmStates.put(st)
	// A's values, zero points and shape; DynamicQuantizeMatMul quantizes
	// its float A to st.aq with one zero point.
	var aData any
	var zas []int32
	var aShape []int
	var aDT tensor.DataType
	if k.dynamic {
		if err := cvCheck(n, in, 0, 1, 2); err != nil {
			return nil, err
		}
		af, ok := in[0].Data.([]float32)
		if !ok {
			return nil, n.Errorf("input A has type %v, want float", in[0].DType)
		}
		scale, zp := dynamicQuantParams(af)
		st.aq = cvGrow(st.aq, len(af))
		quantizeU8(af, st.aq, scale, zp, qThreads(ctx))
		as = scale
		zas = append(st.za[:0], int32(zp))
		st.za = zas
		aShape, aDT = in[0].Shape, tensor.Uint8
		b, bsT, zb, bias = in[1], in[2], qInput(in, 3), qInput(in, 4)
	} else {
		if err := cvCheck(n, in, 0, 1, 2, 3); err != nil {
			return nil, err
		}
		a, b = in[0], in[1]
		asT := in[2]
		if asT.DType != tensor.Float32 || in[3].DType != tensor.Float32 {
			return nil, n.Unsupported("scales of type %v and %v (float32 only)", asT.DType, in[3].DType)
		}
		if asT.Len() != 1 {
			return nil, n.Unsupported("a_scale of shape %v (only a scalar a_scale is implemented)", asT.Shape)
		}
		if as, err = qScalarF32(n, asT, "a_scale"); err != nil {
			return nil, err
		}
		bsT, za, zb, bias = in[3], qInput(in, 4), qInput(in, 5), qInput(in, 6)
		if za != nil && za.Len() != 1 {
			return nil, n.Unsupported("a_zero_point of shape %v (only a scalar is implemented)", za.Shape)
		}
		aData, aShape, aDT = a.Data, a.Shape, a.DType
	}
	if !qIs8Bit(aDT) || !qIs8Bit(b.DType) {
		return nil, n.Errorf("A and B have types %v and %v, want uint8 or int8", aDT, b.DType)
	}
	if za != nil && za.DType != aDT || zb != nil && zb.DType != b.DType {
		return nil, n.Errorf("zero point types do not match their inputs")
	}
	s, err := k.plans.shape(n, aShape, b.Shape)
	if err != nil {
		return nil, err
	}
	if !k.dynamic {
		if zas, err = qZeroPointRows(n, &st.za, &st.ztmp, za, aShape, true, "a_zero_point"); err != nil {
			return nil, err
		}
		if len(zas) == 1 {
			st.za = append(st.za[:0], zas[0])
			zas = st.za
		}
	}
	zbs, err := qZeroPointRows(n, &st.zb, &st.ztmp, zb, b.Shape, false, "b_zero_point")
	if err != nil {
		return nil, err
	}
	acc := cvGrow(st.acc, prodInts(s.out))
	st.acc = acc
	threads := qThreads(ctx)
	var gerr error
	if k.dynamic {
		gerr = qMatMul(s, st.aq, zas, b.Data, zbs, nil, acc, threads)
	} else {
		switch ad := aData.(type) {
		case []uint8:
			gerr = qMatMul(s, ad, zas, b.Data, zbs, nil, acc, threads)
		case []int8:
			gerr = qMatMul(s, ad, zas, b.Data, zbs, nil, acc, threads)
		}
	}
	if gerr != nil {
		return nil, n.Errorf("%w", gerr)
	}
	bs, err := qScaleRows(n, &st.bs, bsT, b.Shape, false, "b_scale")
	if err != nil {
		return nil, err
	}
	var bv []float32
	if bias != nil {
		f, ok := bias.Data.([]float32)
		if !ok || len(f) != s.n {
			return nil, n.Errorf("bias has type %v and shape %v, want float [%d]", bias.DType, bias.Shape, s.n)
		}
		bv = f
	}
	mults := cvGrow(st.mults, len(bs))
	st.mults = mults
	for i, v := range bs {
		mults[i] = as * v
	}
	y := ctx.New(tensor.Float32, s.out...)
	if s.n == 0 {
		return ctx.Out(y), nil
	}
	rows := len(acc) / s.n
	rowsPer := rows
	if !s.foldA {
		rowsPer = s.m
	}
	j := qToFloatJobs.get()
	*j = qToFloatJob{acc: acc, y: y.Data.([]float32), s: s, rowsPer: rowsPer, mults: mults, bias: bv}
	parallel.Do(rows, max(1, grainCheap/s.n), threads, j)
	*j = qToFloatJob{}
	qToFloatJobs.put(j)
	return ctx.Out(y), nil
}

// qToFloatJob scales the accumulators of DynamicQuantizeMatMul and
// MatMulIntegerToFloat to float32, by rows.
type qToFloatJob struct {
	acc     []int32
	y       []float32
	s       *mmShape
	rowsPer int
	mults   []float32
	bias    []float32
}

var qToFloatJobs jobPool[qToFloatJob]

func (j *qToFloatJob) Range(lo, hi int) {
	s, mults, bv := j.s, j.mults, j.bias
	for r := lo; r < hi; r++ {
		bc := 0
		if !s.foldA && len(mults) > 1 {
			bc = s.bOff[r/j.rowsPer] / max(s.k, 1)
		}
		src, dst := j.acc[r*s.n:(r+1)*s.n], j.y[r*s.n:(r+1)*s.n]
		for c, v := range src {
			mu := mults[0]
			if len(mults) > 1 {
				mu = mults[bc+c]
			}
			f := float32(float32(v) * mu) // no fusion with the bias add
			if bv != nil {
				f += bv[c]
			}
			dst[c] = f
		}
	}
}
