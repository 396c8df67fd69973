package kernel

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "QuantizeLinear", MinOpset: 10, Build: buildQuantizeLinear})
	Register(Op{Type: "DequantizeLinear", MinOpset: 10, Build: buildDequantizeLinear})
	Register(Op{Type: "DynamicQuantizeLinear", MinOpset: 11, Build: buildDynamicQuantizeLinear})
}

// Arithmetic shared by the quantized operators (this file, integer.go,
// qlinear.go, contrib_q.go).
//
// Everything that ONNX Runtime computes in float32 is computed here in
// float32 too, operation by operation in the same order, so that results
// agree bit for bit:
//
//   - quantizing a value v with scale s and zero point z (QuantizeLinear,
//     MLAS's MlasQuantizeLinear): q = v / s in float32, clamped to
//     [qmin - z, qmax - z] (NaN goes to qmin - z, as MLAS's MAXPS does),
//     rounded half to even, plus z;
//   - requantizing an int32 accumulator acc with multiplier m and output
//     zero point z (QLinearConv, QLinearMatMul, QGemm, MLAS's
//     MlasRequantizeOutput): v = float32(acc) * m in float32, clamped to
//     [qmin - z, qmax - z], rounded half to even, plus z. The multiplier is
//     computed as (x_scale * w_scale) / y_scale, left to right in float32.
//
// Go evaluates float32 expressions with float32 rounding at every step and,
// on the default amd64 target, never fuses a multiply and an add; explicit
// float32 conversions are written where a fusion would change the result.

// qRange returns the saturation range of a quantized integer type.
func qRange(dt tensor.DataType) (lo, hi int32, ok bool) {
	switch dt {
	case tensor.Uint8:
		return 0, 255, true
	case tensor.Int8:
		return -128, 127, true
	case tensor.Uint16:
		return 0, 65535, true
	case tensor.Int16:
		return -32768, 32767, true
	case tensor.Uint4:
		return 0, 15, true
	case tensor.Int4:
		return -8, 7, true
	}
	return 0, 0, false
}

// qUnsupportedType reports whether dt is a quantized type of the ONNX
// operators that the engine does not hold in memory (float8, float4, 2-bit
// integers).
func qUnsupportedType(dt tensor.DataType) bool {
	switch dt {
	case tensor.Float8E4M3FN, tensor.Float8E4M3FNUZ, tensor.Float8E5M2, tensor.Float8E5M2FNUZ,
		tensor.Float4E2M1, tensor.Float8E8M0, tensor.Uint2, tensor.Int2:
		return true
	}
	return false
}

// rne32 rounds x to the nearest integer, ties to even, in float32. It is
// exact for |x| <= 2^22: adding 1.5*2^23 moves x to where the float32 grid
// spacing is 1, so the addition itself rounds.
func rne32(x float32) float32 {
	const magic = 12582912 // 1.5 * 2^23
	return (x + magic) - magic
}

// qBounds is a prepared saturation range for one zero point: the float
// clamp limits qmin - z and qmax - z, and z.
type qBounds struct {
	lo, hi float32
	zp     int32
}

func newQBounds(lo, hi, zp int32) qBounds {
	return qBounds{lo: float32(lo - zp), hi: float32(hi - zp), zp: zp}
}

// apply clamps the scaled value q, rounds it half to even and adds the zero
// point. NaN becomes the lower limit.
func (b qBounds) apply(q float32) int32 {
	if !(q >= b.lo) {
		q = b.lo
	}
	if q > b.hi {
		q = b.hi
	}
	return int32(rne32(q)) + b.zp
}

// requantize scales an int32 accumulator by multiplier m and saturates it
// into the output range (MlasRequantizeOutput).
func (b qBounds) requantize(acc int32, m float32) int32 {
	return b.apply(float32(acc) * m)
}

// qThreads returns the number of goroutines a kernel may use.
func qThreads(c *Ctx) int {
	if c == nil || c.Threads < 1 {
		return 1
	}
	return c.Threads
}

// qInt is the set of Go element types of the quantized integer tensors.
type qInt interface {
	int8 | uint8 | int16 | uint16 | int32
}

// qScalarF32 returns the value of a one-element float tensor (float32,
// float16 or bfloat16) as float32. what names it in errors.
func qScalarF32(n *Node, t *tensor.Tensor, what string) (float32, error) {
	if t == nil {
		return 0, n.Errorf("%s is missing", what)
	}
	if t.Len() != 1 {
		return 0, n.Errorf("%s has shape %v, want a scalar", what, t.Shape)
	}
	switch d := t.Data.(type) {
	case []float32:
		return d[0], nil
	case []tensor.F16:
		return d[0].Float32(), nil
	case []tensor.BF16:
		return d[0].Float32(), nil
	}
	return 0, n.Errorf("%s has type %v, want a float type", what, t.DType)
}

// qScalarZP returns the value of a one-element integer zero-point tensor,
// checking its type against want (Undefined accepts any 8-bit type). A nil
// tensor is a zero point of 0.
func qScalarZP(n *Node, t *tensor.Tensor, want tensor.DataType, what string) (int32, error) {
	if t == nil {
		return 0, nil
	}
	if t.Len() != 1 {
		return 0, n.Errorf("%s has shape %v, want a scalar", what, t.Shape)
	}
	if want != tensor.Undefined && t.DType != want {
		return 0, n.Errorf("%s has type %v, want %v", what, t.DType, want)
	}
	v, ok := qIntAt(t, 0)
	if !ok {
		return 0, n.Errorf("%s has type %v, want an integer type", what, t.DType)
	}
	return v, nil
}

// qIntAt returns element i of a quantized integer tensor as int32.
func qIntAt(t *tensor.Tensor, i int) (int32, bool) {
	switch d := t.Data.(type) {
	case []uint8:
		return int32(d[i]), true
	case []int8:
		return int32(d[i]), true
	case []uint16:
		return int32(d[i]), true
	case []int16:
		return int32(d[i]), true
	case []int32:
		return d[i], true
	}
	return 0, false
}

// qInts returns the elements of a quantized integer tensor as int32.
func qInts(t *tensor.Tensor) ([]int32, bool) { return qIntsInto(nil, t) }

// qIntsInto is qInts writing to dst's storage when it is large enough.
func qIntsInto(dst []int32, t *tensor.Tensor) ([]int32, bool) {
	out := cvGrow(dst, t.Len())
	switch d := t.Data.(type) {
	case []uint8:
		for i := range out {
			out[i] = int32(d[i])
		}
	case []int8:
		for i := range out {
			out[i] = int32(d[i])
		}
	case []uint16:
		for i := range out {
			out[i] = int32(d[i])
		}
	case []int16:
		for i := range out {
			out[i] = int32(d[i])
		}
	case []int32:
		copy(out, d[:len(out)])
	default:
		return nil, false
	}
	return out, true
}

// qFloats returns the elements of a float tensor (float32, float16,
// bfloat16) as float32 (the tensor's own slice for float32).
func qFloats(t *tensor.Tensor) ([]float32, bool) {
	switch t.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		f, err := tensor.Float32s(t)
		return f, err == nil
	}
	return nil, false
}

// qLayout maps the elements of x, viewed as [outer, dim, inner] around the
// quantization axis, to their scale and zero point: element (o, d, i) uses
// parameter o*oStride + (d/block)*dStride + i*iStride. Per-tensor
// quantization has all strides 0; per-axis has dStride 1; blocked
// quantization uses the parameters' own row-major strides.
type qLayout struct {
	outer, dim, inner         int
	block                     int
	oStride, dStride, iStride int
	params                    int
}

// resolveQLayout works out the quantization granularity from the shapes of
// x and of its scale (per tensor: one element; per axis: 1-D of x's axis
// size; blocked: x's shape with the axis dimension divided by block).
func resolveQLayout(n *Node, x, s []int, axis, block int64) (qLayout, error) {
	size := prodInts(x)
	ps := prodInts(s)
	if ps == 1 && len(s) <= 1 && block <= 0 {
		return qLayout{outer: 1, dim: 1, inner: size, block: 1, params: 1}, nil
	}
	r := int64(len(x))
	if axis < -r || axis >= r {
		return qLayout{}, n.Errorf("axis %d out of range for input shape %v", axis, x)
	}
	if axis < 0 {
		axis += r
	}
	ax := int(axis)
	l := qLayout{outer: prodInts(x[:ax]), dim: x[ax], inner: prodInts(x[ax+1:]), block: 1, params: ps}
	if block <= 0 {
		if len(s) != 1 || s[0] != x[ax] {
			return qLayout{}, n.Errorf("scale shape %v does not match input shape %v along axis %d (per-axis quantization needs a 1-D scale of %d values)", s, x, ax, x[ax])
		}
		l.dStride = 1
		return l, nil
	}
	if block > 1<<30 {
		return qLayout{}, n.Errorf("block_size %d out of range", block)
	}
	bs := int(block)
	ok := len(s) == len(x)
	for i := 0; ok && i < len(x); i++ {
		if i == ax {
			ok = s[i] == (x[i]+bs-1)/bs
		} else {
			ok = s[i] == x[i]
		}
	}
	if !ok {
		return qLayout{}, n.Errorf("scale shape %v does not fit input shape %v blocked by %d along axis %d", s, x, bs, ax)
	}
	l.block = bs
	l.dStride = l.inner
	l.oStride = s[ax] * l.inner
	l.iStride = 1
	return l, nil
}

// rows returns the number of runs of elements that share parameters or,
// for blocked quantization, of runs along the inner dimension: a loop
// over [0, rows) with run gives every element once.
func (l qLayout) rows() int {
	if l.inner == 0 {
		return 0
	}
	return l.outer * l.dim
}

// grain returns the fewest runs worth a goroutine.
func (l qLayout) grain() int { return max(1, grainCheap/max(l.inner, 1)) }

// run returns run r: its first element and length, its first parameter
// index and the parameter stride along it.
func (l qLayout) run(r int) (start, count, param, pstride int) {
	o, d := r/l.dim, r%l.dim
	return r * l.inner, l.inner, o*l.oStride + (d/l.block)*l.dStride, l.iStride
}

// qDivMode is the precision of QuantizeLinear's division.
type qDivMode int

const (
	qDivF32 qDivMode = iota
	qDivF16
	qDivBF16
	qDivF64
)

// quantizeKernel is a prepared QuantizeLinear node.
type quantizeKernel struct {
	n         *Node
	axis      int64
	block     int64
	outType   tensor.DataType // output_dtype, Undefined when absent
	precision tensor.DataType // precision, Undefined when absent
}

// buildQuantizeLinear prepares QuantizeLinear (opsets 10, 13, 19, 21, 23,
// 24, 25): y = saturate(round_half_even(x / y_scale) + y_zero_point) per
// tensor, per axis or per block, into uint8, int8, uint16, int16, uint4 or
// int4. Float8, float4 and 2-bit outputs are refused as unsupported.
// https://onnx.ai/onnx/operators/onnx__QuantizeLinear.html
func buildQuantizeLinear(n *Node) (Kernel, error) {
	k := &quantizeKernel{n: n, axis: 1}
	var err error
	if n.Opset >= 13 {
		if k.axis, err = n.Int("axis", 1); err != nil {
			return nil, err
		}
	}
	if n.Opset >= 19 {
		// saturate only concerns float8 outputs, which are refused below.
		if _, err := n.Int("saturate", 1); err != nil {
			return nil, err
		}
	}
	if n.Opset >= 21 {
		if k.block, err = n.Int("block_size", 0); err != nil {
			return nil, err
		}
		if k.block < 0 {
			return nil, n.Errorf("block_size %d is negative", k.block)
		}
		od, err := n.Int("output_dtype", 0)
		if err != nil {
			return nil, err
		}
		k.outType = tensor.DataType(od)
		if k.outType != tensor.Undefined {
			if qUnsupportedType(k.outType) {
				return nil, n.Unsupported("output_dtype %v", k.outType)
			}
			if _, _, ok := qRange(k.outType); !ok {
				return nil, n.Errorf("output_dtype %v is not a quantized type", k.outType)
			}
		}
	}
	if n.Opset >= 23 {
		p, err := n.Int("precision", 0)
		if err != nil {
			return nil, err
		}
		k.precision = tensor.DataType(p)
		switch k.precision {
		case tensor.Undefined, tensor.Float32, tensor.Float16, tensor.BFloat16, tensor.Float64:
		default:
			return nil, n.Unsupported("precision %v", k.precision)
		}
	}
	if n.NumInputs() < 2 {
		return nil, n.Errorf("needs inputs x and y_scale")
	}
	return k, nil
}

func (k *quantizeKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	x, s := in[0], in[1]
	var z *tensor.Tensor
	if len(in) > 2 {
		z = in[2]
	}
	outType := tensor.Uint8
	switch {
	case z != nil:
		if k.outType != tensor.Undefined && k.outType != z.DType {
			return nil, n.Errorf("output_dtype %v does not match y_zero_point type %v", k.outType, z.DType)
		}
		outType = z.DType
	case k.outType != tensor.Undefined:
		outType = k.outType
	}
	lo, hi, ok := qRange(outType)
	if !ok {
		return nil, n.Errorf("y_zero_point has type %v, not a supported quantized type", outType)
	}
	if z != nil && !cvSameInts(z.Shape, s.Shape) && !(z.Len() == 1 && s.Len() == 1) {
		return nil, n.Errorf("y_zero_point shape %v differs from y_scale shape %v", z.Shape, s.Shape)
	}
	layout, err := resolveQLayout(n, x.Shape, s.Shape, k.axis, k.block)
	if err != nil {
		return nil, err
	}
	scales, ok := qFloats(s)
	if !ok {
		return nil, fmt.Errorf("kernel: QuantizeLinear node %q: y_scale type %v: %w", n.Name(), s.DType, ErrUnsupported)
	}
	q := quantizeJobs.get()
	defer q.release()
	zps := cvGrow(q.zbuf, len(scales))
	q.zbuf = zps
	if z == nil {
		clear(zps)
	} else if zps, ok = qIntsInto(zps, z); !ok {
		return nil, n.Errorf("y_zero_point has type %v", z.DType)
	}
	bounds := cvGrow(q.bbuf, len(zps))
	q.bbuf = bounds
	for i, zp := range zps {
		if zp < lo || zp > hi {
			return nil, n.Errorf("y_zero_point %d outside the range of %v", zp, outType)
		}
		bounds[i] = newQBounds(lo, hi, zp)
	}
	prec := k.precision
	if prec == tensor.Undefined {
		prec = s.DType
	}
	mode := qDivF32
	switch prec {
	case tensor.Float16:
		mode = qDivF16
	case tensor.BFloat16:
		mode = qDivBF16
	case tensor.Float64:
		mode = qDivF64
	}
	var xf []float32
	var x64 []float64
	switch x.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		xf, _ = tensor.Float32s(x)
	case tensor.Int32:
		xi := x.Data.([]int32)
		if k.precision == tensor.Undefined || mode == qDivF64 {
			// Without a precision attribute an int32 input is divided as
			// ONNX's reference does, in double precision.
			mode = qDivF64
			x64 = cvGrow(q.dbuf, len(xi))
			q.dbuf = x64
			for i, v := range xi {
				x64[i] = float64(v)
			}
		} else {
			xf = cvGrow(q.fbuf, len(xi))
			q.fbuf = xf
			for i, v := range xi {
				xf[i] = float32(v)
			}
		}
	default:
		return nil, n.Errorf("input x has type %v, want float, float16, bfloat16 or int32", x.DType)
	}
	if mode == qDivF64 && x64 == nil {
		x64 = cvGrow(q.dbuf, len(xf))
		q.dbuf = x64
		for i, v := range xf {
			x64[i] = float64(v)
		}
	}
	y := ctx.NewUninit(outType, x.Shape...) // the runs cover every value
	q.layout, q.xf, q.x64, q.scales, q.bounds, q.mode, q.y = layout, xf, x64, scales, bounds, mode, y.Data
	parallel.Do(layout.rows(), layout.grain(), qThreads(ctx), q)
	return ctx.Out(y), nil
}

// quantizeJob is one QuantizeLinear evaluation, a loop over the runs of
// its layout. zbuf, bbuf, fbuf and dbuf are buffers kept for reuse.
type quantizeJob struct {
	layout qLayout
	xf     []float32
	x64    []float64
	scales []float32
	bounds []qBounds
	mode   qDivMode
	y      any // the output's data: []uint8, []int8, []uint16 or []int16

	zbuf []int32
	bbuf []qBounds
	fbuf []float32
	dbuf []float64
}

var quantizeJobs jobPool[quantizeJob]

// release returns the job to its pool, keeping only its buffers.
func (q *quantizeJob) release() {
	*q = quantizeJob{zbuf: q.zbuf, bbuf: q.bbuf, fbuf: q.fbuf, dbuf: q.dbuf}
	quantizeJobs.put(q)
}

// quotient returns x[i] / scale in the division precision.
func (q *quantizeJob) quotient(i int, s float32) float32 {
	switch q.mode {
	case qDivF16:
		return tensor.F16FromFloat32(q.xf[i] / s).Float32()
	case qDivBF16:
		return tensor.BF16FromFloat32(q.xf[i] / s).Float32()
	case qDivF64:
		v := q.x64[i] / float64(s)
		// Clamp in double before narrowing so that huge quotients saturate.
		return float32(math.Max(-1e9, math.Min(1e9, v)))
	}
	return q.xf[i] / s
}

func (q *quantizeJob) Range(lo, hi int) {
	switch y := q.y.(type) {
	case []uint8:
		quantizeRuns(q, y, y, false, lo, hi)
	case []int8:
		quantizeRuns(q, y, qToBytes(y), true, lo, hi)
	case []uint16:
		quantizeRuns(q, y, nil, false, lo, hi)
	case []int16:
		quantizeRuns(q, y, nil, false, lo, hi)
	}
}

// quantizeRuns quantizes runs [lo, hi) of the layout into y. yb holds the
// bytes of y for 8-bit outputs (int8 ones when signed), nil otherwise.
func quantizeRuns[O int8 | uint8 | int16 | uint16](q *quantizeJob, y []O, yb []byte, signed bool, lo, hi int) {
	for r := lo; r < hi; r++ {
		start, count, p, ps := q.layout.run(r)
		if ps == 0 && q.mode == qDivF32 {
			s, b := q.scales[p], q.bounds[p]
			if yb != nil {
				gemm.Quantize(yb[start:start+count], q.xf[start:start+count], s, b.lo, b.hi, b.zp, signed)
				continue
			}
			xs := q.xf[start : start+count]
			ys := y[start : start+count]
			for i, v := range xs {
				ys[i] = O(b.apply(v / s))
			}
			continue
		}
		for i := 0; i < count; i++ {
			j := p + i*ps
			y[start+i] = O(q.bounds[j].apply(q.quotient(start+i, q.scales[j])))
		}
	}
}

// dequantizeKernel is a prepared DequantizeLinear node.
type dequantizeKernel struct {
	n       *Node
	axis    int64
	block   int64
	outType tensor.DataType // output_dtype, Undefined when absent
}

// buildDequantizeLinear prepares DequantizeLinear (opsets 10, 13, 19, 21,
// 23, 24, 25): y = (x - x_zero_point) * x_scale per tensor, per axis or per
// block, from 8-, 16- and 32-bit integers and int4/uint4, to float32,
// float16 or bfloat16. Float8, float4 and 2-bit inputs are refused.
// https://onnx.ai/onnx/operators/onnx__DequantizeLinear.html
func buildDequantizeLinear(n *Node) (Kernel, error) {
	k := &dequantizeKernel{n: n, axis: 1}
	var err error
	if n.Opset >= 13 {
		if k.axis, err = n.Int("axis", 1); err != nil {
			return nil, err
		}
	}
	if n.Opset >= 21 {
		if k.block, err = n.Int("block_size", 0); err != nil {
			return nil, err
		}
		if k.block < 0 {
			return nil, n.Errorf("block_size %d is negative", k.block)
		}
	}
	if n.Opset >= 23 {
		od, err := n.Int("output_dtype", 0)
		if err != nil {
			return nil, err
		}
		k.outType = tensor.DataType(od)
		switch k.outType {
		case tensor.Undefined, tensor.Float32, tensor.Float16, tensor.BFloat16:
		default:
			return nil, n.Errorf("output_dtype %v is not float, float16 or bfloat16", k.outType)
		}
	}
	if n.NumInputs() < 2 {
		return nil, n.Errorf("needs inputs x and x_scale")
	}
	return k, nil
}

func (k *dequantizeKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	x, s := in[0], in[1]
	var z *tensor.Tensor
	if len(in) > 2 {
		z = in[2]
	}
	if _, _, ok := qRange(x.DType); !ok && x.DType != tensor.Int32 {
		return nil, n.Errorf("input x has type %v, not a quantized integer type", x.DType)
	}
	if z != nil {
		if z.DType != x.DType {
			return nil, n.Errorf("x_zero_point has type %v, x has %v", z.DType, x.DType)
		}
		if !cvSameInts(z.Shape, s.Shape) && !(z.Len() == 1 && s.Len() == 1) {
			return nil, n.Errorf("x_zero_point shape %v differs from x_scale shape %v", z.Shape, s.Shape)
		}
	}
	layout, err := resolveQLayout(n, x.Shape, s.Shape, k.axis, k.block)
	if err != nil {
		return nil, err
	}
	scales, ok := qFloats(s)
	if !ok {
		return nil, fmt.Errorf("kernel: DequantizeLinear node %q: x_scale type %v: %w", n.Name(), s.DType, ErrUnsupported)
	}
	j := dequantizeJobs.get()
	defer j.release()
	zps := cvGrow(j.zbuf, len(scales))
	j.zbuf = zps
	if z == nil {
		clear(zps)
	} else {
		zps, _ = qIntsInto(zps, z)
	}
	outType := k.outType
	if outType == tensor.Undefined {
		outType = s.DType
	}
	var yf []float32
	var yt *tensor.Tensor
	if outType == tensor.Float32 {
		yt = ctx.NewUninit(tensor.Float32, x.Shape...) // every value is written
		yf = yt.Data.([]float32)
	} else {
		yf = cvGrow(j.fbuf, x.Len())
		j.fbuf = yf
	}
	j.layout, j.x, j.scales, j.zps, j.y = layout, x.Data, scales, zps, yf
	parallel.Do(layout.rows(), layout.grain(), qThreads(ctx), j)
	if yt != nil {
		return ctx.Out(yt), nil
	}
	yt = ctx.NewUninit(outType, x.Shape...)
	switch d := yt.Data.(type) {
	case []tensor.F16:
		for i, v := range yf {
			d[i] = tensor.F16FromFloat32(v)
		}
	case []tensor.BF16:
		for i, v := range yf {
			d[i] = tensor.BF16FromFloat32(v)
		}
	default:
		return nil, n.Errorf("output type %v is not float, float16 or bfloat16", outType)
	}
	return ctx.Out(yt), nil
}

// dequantizeJob is one DequantizeLinear evaluation, a loop over the runs
// of its layout. zbuf and fbuf are buffers kept for reuse.
type dequantizeJob struct {
	layout qLayout
	x      any // the input's data
	scales []float32
	zps    []int32
	y      []float32

	zbuf []int32
	fbuf []float32
}

var dequantizeJobs jobPool[dequantizeJob]

// release returns the job to its pool, keeping only its buffers.
func (j *dequantizeJob) release() {
	*j = dequantizeJob{zbuf: j.zbuf, fbuf: j.fbuf}
	dequantizeJobs.put(j)
}

func (j *dequantizeJob) Range(lo, hi int) {
	switch x := j.x.(type) {
	case []uint8:
		dequantizeBytes(j, x, false, lo, hi)
	case []int8:
		dequantizeBytes(j, qToBytes(x), true, lo, hi)
	case []uint16:
		dequantizeRuns(j, x, lo, hi)
	case []int16:
		dequantizeRuns(j, x, lo, hi)
	case []int32:
		dequantizeRuns(j, x, lo, hi)
	}
}

// dequantizeBytes is dequantizeRuns for the bytes x of uint8 values, or
// of int8 values when signed.
func dequantizeBytes(j *dequantizeJob, x []byte, signed bool, lo, hi int) {
	y, scales, zps := j.y, j.scales, j.zps
	for r := lo; r < hi; r++ {
		start, count, p, ps := j.layout.run(r)
		if ps == 0 {
			gemm.Dequantize(y[start:start+count], x[start:start+count], zps[p], scales[p], signed)
			continue
		}
		for i := 0; i < count; i++ {
			k := p + i*ps
			v := int32(x[start+i])
			if signed {
				v = int32(int8(x[start+i]))
			}
			y[start+i] = float32(v-zps[k]) * scales[k]
		}
	}
}

// dequantizeRuns computes y = float32(x - zp) * scale over runs [lo, hi)
// of the layout. The difference is taken in integers (exact) and converted
// once, as ONNX Runtime does.
func dequantizeRuns[T qInt](j *dequantizeJob, x []T, lo, hi int) {
	y, scales, zps := j.y, j.scales, j.zps
	for r := lo; r < hi; r++ {
		start, count, p, ps := j.layout.run(r)
		if ps == 0 {
			s, z := scales[p], int64(zps[p])
			xs := x[start : start+count]
			ys := y[start : start+count]
			for i, v := range xs {
				ys[i] = float32(int64(v)-z) * s
			}
			continue
		}
		for i := 0; i < count; i++ {
			k := p + i*ps
			y[start+i] = float32(int64(x[start+i])-int64(zps[k])) * scales[k]
		}
	}
}

// buildDynamicQuantizeLinear prepares DynamicQuantizeLinear (opset 11):
// uint8 quantization of a float32 tensor with a scale and zero point
// computed from its range. It follows ONNX Runtime's arithmetic, all in
// float32: min = min(0, min(x)), max = max(0, max(x)); scale = (max - min)
// / 255, or 1 when max == min (an all-zero or empty input, where the ONNX
// function body would divide by zero); zero point = round_half_even(
// clamp(0 - min / scale, 0, 255)); then y as QuantizeLinear.
// https://onnx.ai/onnx/operators/onnx__DynamicQuantizeLinear.html
func buildDynamicQuantizeLinear(n *Node) (Kernel, error) {
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0); err != nil {
			return nil, err
		}
		x := in[0]
		xf, ok := x.Data.([]float32)
		if !ok {
			return nil, n.Errorf("input x has type %v, want float", x.DType)
		}
		scale, zp := dynamicQuantParams(xf)
		y := ctx.NewUninit(tensor.Uint8, x.Shape...) // every value is written
		quantizeU8(xf, y.Data.([]uint8), scale, zp, qThreads(ctx))
		ys := ctx.NewUninit(tensor.Float32)
		ys.Data.([]float32)[0] = scale
		yz := ctx.NewUninit(tensor.Uint8)
		yz.Data.([]uint8)[0] = zp
		return ctx.Out(y, ys, yz), nil
	}), nil
}

// dynamicQuantParams returns the uint8 scale and zero point that ONNX
// Runtime's DynamicQuantizeLinear (and DynamicQuantizeMatMul) derive from
// the range of x.
func dynamicQuantParams(x []float32) (float32, uint8) {
	lo, hi := float32(math.MaxFloat32), float32(-math.MaxFloat32)
	for _, v := range x {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	lo = min(lo, 0)
	hi = max(hi, 0)
	scale := float32(1)
	if hi != lo {
		scale = (hi - lo) / 255
	}
	izp := 0 - lo/scale
	izp = max(0, min(255, izp))
	return scale, uint8(rne32(izp))
}

// quantizeU8 quantizes x into y with one scale and zero point.
func quantizeU8(x []float32, y []uint8, scale float32, zp uint8, threads int) {
	b := newQBounds(0, 255, int32(zp))
	if threads <= 1 || len(x) < 2*grainCheap {
		quantizeU8Range(x, y, scale, b, 0, len(x))
		return
	}
	j := quantizeU8Jobs.get()
	*j = quantizeU8Job{x: x, y: y, scale: scale, b: b}
	parallel.Do(len(x), grainCheap, threads, j)
	*j = quantizeU8Job{}
	quantizeU8Jobs.put(j)
}

// quantizeU8Job is quantizeU8's loop.
type quantizeU8Job struct {
	x     []float32
	y     []uint8
	scale float32
	b     qBounds
}

var quantizeU8Jobs jobPool[quantizeU8Job]

func (j *quantizeU8Job) Range(lo, hi int) { quantizeU8Range(j.x, j.y, j.scale, j.b, lo, hi) }

// quantizeU8Range quantizes x[lo:hi] into y[lo:hi].
func quantizeU8Range(x []float32, y []uint8, scale float32, b qBounds, lo, hi int) {
	gemm.Quantize(y[lo:hi], x[lo:hi], scale, b.lo, b.hi, b.zp, false)
}
