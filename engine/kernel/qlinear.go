package kernel

import (
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
	if k.channelsLast {
		if len(x.Shape) < 3 {
			return nil, n.Errorf("input shape %v: need [N, spatial..., C]", x.Shape)
		}
		x = qToChannelsFirst(x)
	}
	var bShape []int
	if bias != nil {
		if bias.DType != tensor.Int32 {
			return nil, n.Errorf("bias has type %v, want int32", bias.DType)
		}
		bShape = bias.Shape
	}
	win, err := convShapes(n, k.attrs, k.group, x.Shape, w.Shape, bShape)
	if err != nil {
		return nil, err
	}
	m := w.Shape[0]
	wz, err := k.weightZeroPoints(in[5], m)
	if err != nil {
		return nil, err
	}
	wsT := in[4]
	ws, ok := qFloats(wsT)
	if !ok || len(ws) != 1 && (len(wsT.Shape) != 1 || len(ws) != m) {
		return nil, n.Errorf("w_scale has type %v and shape %v, want float, a scalar or [%d]", wsT.DType, wsT.Shape, m)
	}
	mult := make([]float32, m)
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
	bounds := newQBounds(lo, hi, yz)
	outShape := append([]int{x.Shape[0], m}, win.Out...)
	acc := make([]int32, prodInts(outShape))
	if err := k.accumulate(ctx, win, x, xz, w, wz, in[5], acc); err != nil {
		return nil, err
	}
	y := ctx.New(yzT.DType, outShape...)
	outSize := win.OutSize()
	threads := qThreads(ctx)
	switch yd := y.Data.(type) {
	case []uint8:
		qRequantizePlanes(acc, yd, m, outSize, bv, mult, bounds, threads)
	case []int8:
		qRequantizePlanes(acc, yd, m, outSize, bv, mult, bounds, threads)
	}
	if k.channelsLast {
		y = qToChannelsLast(ctx, y)
	}
	return []*tensor.Tensor{y}, nil
}

// qRequantizePlanes requantizes accumulators laid out as [N, M, size]:
// plane (n, m) adds bias[m] (when bias is not nil) and scales by mult[m].
func qRequantizePlanes[O int8 | uint8](acc []int32, y []O, m, size int, bias []int32, mult []float32, b qBounds, threads int) {
	planes := len(acc) / max(size, 1)
	grain := max(1, grainCheap/max(size, 1))
	parallel.For(planes, grain, threads, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			ch := p % m
			var bv int32
			if bias != nil {
				bv = bias[ch]
			}
			mu := mult[ch]
			src := acc[p*size : (p+1)*size]
			dst := y[p*size : (p+1)*size]
			for i, a := range src {
				dst[i] = O(b.requantize(a+bv, mu))
			}
		}
	})
}

// qToChannelsFirst returns a copy of an [N, spatial..., C] tensor laid out
// as [N, C, spatial...].
func qToChannelsFirst(t *tensor.Tensor) *tensor.Tensor {
	r := len(t.Shape)
	n, c := t.Shape[0], t.Shape[r-1]
	size := prodInts(t.Shape[1 : r-1])
	shape := append([]int{n, c}, t.Shape[1:r-1]...)
	out := tensor.New(t.DType, shape...)
	qTranspose2(t.Data, out.Data, n, size, c)
	return out
}

// qToChannelsLast returns an [N, C, spatial...] tensor laid out as
// [N, spatial..., C].
func qToChannelsLast(ctx *Ctx, t *tensor.Tensor) *tensor.Tensor {
	n, c := t.Shape[0], t.Shape[1]
	size := prodInts(t.Shape[2:])
	shape := append(append([]int{n}, t.Shape[2:]...), c)
	out := ctx.New(t.DType, shape...)
	qTranspose2(t.Data, out.Data, n, c, size)
	return out
}

// qTranspose2 transposes each of n row-major rows x cols matrices of an
// 8-bit slice.
func qTranspose2(src, dst any, n, rows, cols int) {
	switch s := src.(type) {
	case []uint8:
		transposeBatch(s, dst.([]uint8), n, rows, cols)
	case []int8:
		transposeBatch(s, dst.([]int8), n, rows, cols)
	}
}

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
	n *Node
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
	acc, err := qMatMul(ctx, n, a, za, b, zb, nil)
	if err != nil {
		return nil, err
	}
	as, err := qScaleRows(n, in[1], a.Shape, true, "a_scale")
	if err != nil {
		return nil, err
	}
	bs, err := qScaleRows(n, in[4], b.Shape, false, "b_scale")
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
	s, err := matMulShape(n, a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	lo, hi, _ := qRange(yzT.DType)
	bounds := newQBounds(lo, hi, yz)
	y := ctx.New(yzT.DType, acc.Shape...)
	ad := acc.Data.([]int32)
	// Each product t covers rows [t*m, (t+1)*m) of the output; its scale
	// rows and columns follow the operands' batch offsets.
	mult := func(row, col int) float32 {
		av, bv := as[0], bs[0]
		if len(as) > 1 {
			av = as[row]
		}
		if len(bs) > 1 {
			bv = bs[col]
		}
		return float32(av*bv) / ys
	}
	products := 1
	if !s.foldA {
		products = s.batch
	}
	rowsPer := len(ad) / max(s.n, 1) / max(products, 1)
	threads := qThreads(ctx)
	switch yd := y.Data.(type) {
	case []uint8:
		qRequantizeMatrix(ad, yd, s, products, rowsPer, len(as) > 1, mult, bounds, threads)
	case []int8:
		qRequantizeMatrix(ad, yd, s, products, rowsPer, len(as) > 1, mult, bounds, threads)
	}
	return []*tensor.Tensor{y}, nil
}

// qRequantizeMatrix requantizes the accumulators of a batched product:
// product t has rowsPer rows of s.n values; mult(r, c) gives the multiplier
// of the operands' scale row r and scale column c; perRow says whether it
// depends on r at all.
func qRequantizeMatrix[O int8 | uint8](acc []int32, y []O, s *mmShape, products, rowsPer int, perRow bool, mult func(r, c int) float32, b qBounds, threads int) {
	rows := products * rowsPer
	grain := max(1, grainCheap/max(s.n, 1))
	parallel.For(rows, grain, threads, func(lo, hi int) {
		m := make([]float32, s.n)
		lastA, lastB := -1, -1
		for r := lo; r < hi; r++ {
			t, i := r/rowsPer, r%rowsPer
			ar, bc := r, 0
			if s.aOff != nil {
				ar = s.aOff[t]/max(s.k, 1) + i
				bc = s.bOff[t] / max(s.k, 1)
			}
			if !perRow {
				ar = 0
			}
			if ar != lastA || bc != lastB {
				for j := range m {
					m[j] = mult(ar, bc+j)
				}
				lastA, lastB = ar, bc
			}
			src := acc[r*s.n : (r+1)*s.n]
			dst := y[r*s.n : (r+1)*s.n]
			for j, v := range src {
				dst[j] = O(b.requantize(v, m[j]))
			}
		}
	})
}
