package graph

import (
	"errors"
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/tensor"
)

// onnxOps holds the inference rules of the default domain.
var onnxOps = map[string]inferFunc{}

// msOps holds the rules of the com.microsoft domain.
var msOps = map[string]inferFunc{}

func register(m map[string]inferFunc, f inferFunc, ops ...string) {
	for _, op := range ops {
		m[op] = f
	}
}

func init() {
	register(onnxOps, inferSame, "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt",
		"Neg", "Abs", "Erf", "Clip", "LeakyRelu", "HardSigmoid", "HardSwish",
		"Softmax", "LogSoftmax", "Hardmax", "Identity", "Elu", "Selu", "Celu",
		"Softplus", "Softsign", "Reciprocal", "Floor", "Ceil", "Round", "Sign",
		"Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh",
		"Acosh", "Atanh", "Mish", "Gelu", "ThresholdedRelu", "Shrink",
		"BitwiseNot", "Not", "LRN", "MeanVarianceNormalization",
		"InstanceNormalization", "CumSum", "Trilu", "ReverseSequence",
		"ScatterND", "ScatterElements", "Scatter", "Swish")
	register(onnxOps, inferBroadcast(0), "Add", "Sub", "Mul", "Div", "Pow",
		"Max", "Min", "Sum", "Mean", "Mod", "BitShift", "BitwiseAnd",
		"BitwiseOr", "BitwiseXor", "And", "Or", "Xor")
	// PRelu broadcasts the slope to X's shape (and, before opset 7, along
	// the channel axis): the output is shaped like X.
	onnxOps["PRelu"] = inferSame
	register(onnxOps, inferCompare, "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual")
	onnxOps["Where"] = inferWhere
	register(onnxOps, inferPredicate, "IsNaN", "IsInf")
	onnxOps["Identity"] = inferIdentity
	onnxOps["Neg"] = inferNeg
	onnxOps["Cast"] = inferCast
	onnxOps["CastLike"] = inferCastLike
	onnxOps["Dropout"] = inferDropout
	onnxOps["BatchNormalization"] = inferBatchNorm
	onnxOps["LayerNormalization"] = inferLayerNorm
	onnxOps["QuantizeLinear"] = inferQuantize
	onnxOps["DequantizeLinear"] = inferDequantize
	onnxOps["DynamicQuantizeLinear"] = inferDynamicQuantize
	onnxOps["MatMul"] = inferMatMul(0, 1, 0)
	onnxOps["MatMulInteger"] = inferMatMul(0, 1, -1)
	onnxOps["QLinearMatMul"] = inferMatMul(0, 3, 7)
	onnxOps["Gemm"] = inferGemm
	onnxOps["Conv"] = inferConv(0, 1, 0)
	onnxOps["ConvInteger"] = inferConv(0, 1, -1)
	onnxOps["QLinearConv"] = inferConv(0, 3, 7)
	onnxOps["ConvTranspose"] = inferConvTranspose
	register(onnxOps, inferPool, "MaxPool", "AveragePool", "LpPool")
	register(onnxOps, inferGlobalPool, "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
	onnxOps["Reshape"] = inferReshape
	onnxOps["Transpose"] = inferTranspose
	onnxOps["Concat"] = inferConcat
	onnxOps["Split"] = inferSplit
	onnxOps["Slice"] = inferSlice
	onnxOps["Flatten"] = inferFlatten
	onnxOps["Squeeze"] = inferSqueeze
	onnxOps["Unsqueeze"] = inferUnsqueeze
	onnxOps["Shape"] = inferShapeOp
	onnxOps["Size"] = inferSize
	onnxOps["Gather"] = inferGather
	onnxOps["GatherElements"] = inferGatherElements
	onnxOps["GatherND"] = inferGatherND
	onnxOps["ConstantOfShape"] = inferConstantOfShape
	onnxOps["Constant"] = inferConstant
	onnxOps["Pad"] = inferPad
	register(onnxOps, inferReduce, "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum",
		"ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare")
	register(onnxOps, inferArgReduce, "ArgMax", "ArgMin")
	onnxOps["Resize"] = inferResize
	onnxOps["Upsample"] = inferResize
	onnxOps["Expand"] = inferExpand
	onnxOps["Tile"] = inferTile
	onnxOps["Range"] = inferRange
	register(onnxOps, inferRNN, "LSTM", "GRU", "RNN")
	onnxOps["TopK"] = inferTopK
	onnxOps["DepthToSpace"] = inferDepthToSpace
	onnxOps["SpaceToDepth"] = inferSpaceToDepth
	onnxOps["EyeLike"] = inferEyeLike
	onnxOps["NonZero"] = inferNonZero
	onnxOps["OneHot"] = inferOneHot
	onnxOps["If"] = inferIf
	onnxOps["Loop"] = inferLoop
	onnxOps["Scan"] = inferScan

	register(msOps, inferSame, "QLinearSigmoid", "QLinearLeakyRelu", "Gelu", "FastGelu", "QuickGelu")
	msOps["QLinearAdd"] = inferQLinearBinary
	msOps["QLinearMul"] = inferQLinearBinary
	msOps["QLinearGlobalAveragePool"] = inferQLinearGlobalPool
	msOps["QLinearConcat"] = inferQLinearConcat
	msOps["DynamicQuantizeMatMul"] = inferMatMul(0, 1, 0)
	msOps["MatMulIntegerToFloat"] = inferMatMulIntegerToFloat
}

// inferSame: one output like input 0.
func inferSame(c *ictx) ([]Type, error) {
	return []Type{c.in(0)}, nil
}

// inferIdentity: like inferSame, and the value passes through.
func inferIdentity(c *ictx) ([]Type, error) {
	if v, ok := c.val(0); ok {
		c.setVal(0, v)
	}
	return []Type{c.in(0)}, nil
}

// inferNeg negates known values.
func inferNeg(c *ictx) ([]Type, error) {
	if v, ok := c.val(0); ok {
		res := symValue{elems: make([]Dim, len(v.elems)), scalar: v.scalar}
		for i, d := range v.elems {
			if x, ok := numOf(d); ok {
				res.elems[i] = numDim(-x)
			} else {
				res.elems[i] = UnknownDim()
			}
		}
		c.setVal(0, res)
	}
	return []Type{c.in(0)}, nil
}

func inferPredicate(c *ictx) ([]Type, error) {
	return []Type{withElem(c.in(0), tensor.Bool)}, nil
}

// inferBroadcast: all inputs broadcast; element type of input elemFrom.
func inferBroadcast(elemFrom int) inferFunc {
	return func(c *ictx) ([]Type, error) {
		ts := make([]Type, c.n.NumInputs())
		for i := range ts {
			ts[i] = c.in(i)
		}
		out, err := broadcastShapes(ts...)
		if err != nil {
			return nil, err
		}
		out.Elem = c.elem(elemFrom)
		c.propagateArith(out)
		return []Type{out}, nil
	}
}

// propagateArith computes integer arithmetic on known small values (shape
// computations).
func (c *ictx) propagateArith(out Type) {
	op := c.n.OpType()
	if c.n.NumInputs() != 2 || (op != "Add" && op != "Sub" && op != "Mul" && op != "Div" && op != "Max" && op != "Min") {
		return
	}
	if out.Elem != tensor.Int64 && out.Elem != tensor.Int32 {
		return
	}
	a, okA := c.val(0)
	b, okB := c.val(1)
	if okA && okB {
		c.zipVals(a, b, func(x, y Dim) Dim { return symArith(op, x, y) })
	}
}

// symArith applies op to two symValue elements.
func symArith(op string, x, y Dim) Dim {
	xv, xk := numOf(x)
	yv, yk := numOf(y)
	if xk && yk {
		var r int64
		switch op {
		case "Add":
			r = xv + yv
		case "Sub":
			r = xv - yv
		case "Mul":
			r = xv * yv
		case "Div":
			if yv == 0 {
				return UnknownDim()
			}
			r = xv / yv
		case "Max":
			r = max(xv, yv)
		case "Min":
			r = min(xv, yv)
		}
		return numDim(r)
	}
	switch {
	case (op == "Add" || op == "Sub") && yk && yv == 0:
		return x
	case op == "Add" && xk && xv == 0:
		return y
	case (op == "Mul" || op == "Div") && yk && yv == 1:
		return x
	case op == "Mul" && xk && xv == 1:
		return y
	}
	return UnknownDim()
}

// numOf reads a symValue element as a number.
func numOf(d Dim) (int64, bool) {
	if d.IsKnown() || d.Param == negMarker {
		return d.Value, true
	}
	return 0, false
}

// numDim stores a number as a symValue element.
func numDim(v int64) Dim {
	if v >= 0 {
		return Known(v)
	}
	return Dim{Value: v, Param: negMarker}
}

func inferCompare(c *ictx) ([]Type, error) {
	out, err := broadcastShapes(c.in(0), c.in(1))
	if err != nil {
		return nil, err
	}
	out.Elem = tensor.Bool
	if c.n.OpType() == "Equal" {
		// Known values compare to 0/1 (shape arithmetic in exported
		// models tests shape entries against -1 or 0).
		a, okA := c.val(0)
		b, okB := c.val(1)
		if okA && okB {
			c.zipVals(a, b, func(x, y Dim) Dim {
				xv, xk := numOf(x)
				yv, yk := numOf(y)
				switch {
				case xk && yk && xv == yv:
					return Known(1)
				case xk && yk:
					return Known(0)
				}
				return UnknownDim()
			})
		}
	}
	return []Type{out}, nil
}

// zipVals combines two values element by element with broadcasting of
// single elements, and records the result as output 0.
func (c *ictx) zipVals(a, b symValue, f func(x, y Dim) Dim) {
	n := max(len(a.elems), len(b.elems))
	if (len(a.elems) != n && len(a.elems) != 1) || (len(b.elems) != n && len(b.elems) != 1) {
		return
	}
	res := symValue{elems: make([]Dim, n), scalar: a.scalar && b.scalar}
	for i := range res.elems {
		x, y := a.elems[0], b.elems[0]
		if len(a.elems) == n {
			x = a.elems[i]
		}
		if len(b.elems) == n {
			y = b.elems[i]
		}
		res.elems[i] = f(x, y)
	}
	c.setVal(0, res)
}

func inferWhere(c *ictx) ([]Type, error) {
	out, err := broadcastShapes(c.in(0), c.in(1), c.in(2))
	if err != nil {
		return nil, err
	}
	out.Elem = c.elem(1)
	cond, ok0 := c.val(0)
	a, ok1 := c.val(1)
	b, ok2 := c.val(2)
	if ok0 && ok1 && ok2 {
		n := max(len(cond.elems), len(a.elems), len(b.elems))
		pick := func(v symValue, i int) (Dim, bool) {
			switch len(v.elems) {
			case n:
				return v.elems[i], true
			case 1:
				return v.elems[0], true
			}
			return Dim{}, false
		}
		res := symValue{elems: make([]Dim, n), scalar: cond.scalar && a.scalar && b.scalar}
		for i := range res.elems {
			cd, okc := pick(cond, i)
			x, okx := pick(a, i)
			y, oky := pick(b, i)
			if !okc || !okx || !oky {
				return []Type{out}, nil
			}
			switch v, known := numOf(cd); {
			case known && v != 0:
				res.elems[i] = x
			case known:
				res.elems[i] = y
			default:
				res.elems[i] = UnknownDim()
			}
		}
		c.setVal(0, res)
	}
	return []Type{out}, nil
}

func inferCast(c *ictx) ([]Type, error) {
	to := tensor.DataType(c.n.AttrInt("to", 0))
	if v, ok := c.val(0); ok && (to == tensor.Int64 || to == tensor.Int32) {
		c.setVal(0, v)
	}
	return []Type{withElem(c.in(0), to)}, nil
}

func inferCastLike(c *ictx) ([]Type, error) {
	return []Type{withElem(c.in(0), c.elem(1))}, nil
}

func inferDropout(c *ictx) ([]Type, error) {
	x := c.in(0)
	return []Type{x, withElem(x, tensor.Bool)}, nil
}

func inferBatchNorm(c *ictx) ([]Type, error) {
	x := c.in(0)
	outs := []Type{x}
	if c.n.NumOutputs() > 1 {
		// Training mode: running mean and variance, shaped like the
		// scale input [C].
		mean := c.in(3)
		if mean.IsZero() {
			mean = c.in(1)
		}
		outs = append(outs, mean, c.in(4))
		if c.n.NumOutputs() > 3 {
			outs = append(outs, mean, c.in(4))
		}
	}
	return outs, nil
}

func inferLayerNorm(c *ictx) ([]Type, error) {
	x := c.in(0)
	outs := []Type{x}
	if c.n.NumOutputs() > 1 {
		stash := tensor.DataType(c.n.AttrInt("stash_type", int64(tensor.Float32)))
		st := unranked(stash)
		if x.Ranked {
			axis, err := normAxis(c.n.AttrInt("axis", -1), len(x.Dims))
			if err != nil {
				return nil, err
			}
			dims := append([]Dim(nil), x.Dims...)
			for i := axis; i < len(dims); i++ {
				dims[i] = Known(1)
			}
			st = ranked(stash, dims)
		}
		outs = append(outs, st, st)
	}
	return outs, nil
}

func inferQuantize(c *ictx) ([]Type, error) {
	elem := tensor.Uint8
	if c.has(2) {
		elem = c.elem(2)
	} else if dt := c.n.AttrInt("output_dtype", 0); dt != 0 {
		elem = tensor.DataType(dt)
	}
	return []Type{withElem(c.in(0), elem)}, nil
}

func inferDequantize(c *ictx) ([]Type, error) {
	elem := tensor.Float32
	if s := c.elem(1); s != tensor.Undefined {
		elem = s
	}
	if dt := c.n.AttrInt("output_dtype", 0); dt != 0 {
		elem = tensor.DataType(dt)
	}
	return []Type{withElem(c.in(0), elem)}, nil
}

func inferDynamicQuantize(c *ictx) ([]Type, error) {
	return []Type{withElem(c.in(0), tensor.Uint8), TensorType(tensor.Float32), TensorType(tensor.Uint8)}, nil
}

// inferMatMul: A at input a, B at input b; element type of input elemFrom,
// or int32 when elemFrom < 0.
func inferMatMul(a, b, elemFrom int) inferFunc {
	return func(c *ictx) ([]Type, error) {
		elem := tensor.Int32
		if elemFrom >= 0 {
			elem = c.elem(elemFrom)
		}
		t, err := matmulShape(c.in(a), c.in(b))
		t.Elem = elem
		return []Type{t}, err
	}
}

func inferMatMulIntegerToFloat(c *ictx) ([]Type, error) {
	t, err := matmulShape(c.in(0), c.in(1))
	t.Elem = c.elem(2)
	return []Type{t}, err
}

// matmulShape follows numpy.matmul: 1-D operands are promoted and the
// added dimension removed, leading dimensions broadcast.
func matmulShape(a, b Type) (Type, error) {
	if !a.Ranked || !b.Ranked {
		return Type{}, nil
	}
	if len(a.Dims) == 0 || len(b.Dims) == 0 {
		return Type{}, fmt.Errorf("MatMul of a scalar")
	}
	ad, bd := a.Dims, b.Dims
	aVec, bVec := len(ad) == 1, len(bd) == 1
	if aVec {
		ad = []Dim{Known(1), ad[0]}
	}
	if bVec {
		bd = []Dim{bd[0], Known(1)}
	}
	k1, k2 := ad[len(ad)-1], bd[len(bd)-2]
	if k1.IsKnown() && k2.IsKnown() && k1.Value != k2.Value {
		return Type{}, fmt.Errorf("MatMul inner dimensions %d and %d differ", k1.Value, k2.Value)
	}
	batch, err := broadcastShapes(ranked(0, ad[:len(ad)-2]), ranked(0, bd[:len(bd)-2]))
	if err != nil {
		return Type{}, err
	}
	dims := append([]Dim(nil), batch.Dims...)
	if !aVec {
		dims = append(dims, ad[len(ad)-2])
	}
	if !bVec {
		dims = append(dims, bd[len(bd)-1])
	}
	return ranked(0, dims), nil
}

func inferGemm(c *ictx) ([]Type, error) {
	a, b := c.in(0), c.in(1)
	elem := c.elem(0)
	if !a.Ranked || !b.Ranked {
		return []Type{unranked(elem)}, nil
	}
	if len(a.Dims) != 2 || len(b.Dims) != 2 {
		return nil, fmt.Errorf("Gemm operands of rank %d and %d", len(a.Dims), len(b.Dims))
	}
	m, k1 := a.Dims[0], a.Dims[1]
	if c.n.AttrInt("transA", 0) != 0 {
		m, k1 = k1, m
	}
	k2, n := b.Dims[0], b.Dims[1]
	if c.n.AttrInt("transB", 0) != 0 {
		k2, n = n, k2
	}
	if k1.IsKnown() && k2.IsKnown() && k1.Value != k2.Value {
		return nil, fmt.Errorf("Gemm inner dimensions %d and %d differ", k1.Value, k2.Value)
	}
	return []Type{ranked(elem, []Dim{m, n})}, nil
}

// convSpatial computes the output size of one spatial axis of a
// convolution or pooling window.
func convSpatial(in Dim, k, stride, dil, padBegin, padEnd int64, autoPad string, ceil bool) Dim {
	if !in.IsKnown() || stride <= 0 {
		return UnknownDim()
	}
	x := in.Value
	ek := (k-1)*dil + 1
	switch autoPad {
	case "SAME_UPPER", "SAME_LOWER":
		return Known(ceilDiv(x, stride))
	case "VALID":
		return Known(ceilDiv(x-ek+1, stride))
	}
	span := x + padBegin + padEnd - ek
	if ceil {
		o := ceilDiv(span, stride) + 1
		// A window may not start inside the end padding.
		if (o-1)*stride >= x+padBegin {
			o--
		}
		return Known(o)
	}
	return Known(floorDiv(span, stride) + 1)
}

// inferConv: data at input xi, weights at wi; element type of input
// elemFrom, or int32 when elemFrom < 0.
func inferConv(xi, wi, elemFrom int) inferFunc {
	return func(c *ictx) ([]Type, error) {
		elem := tensor.Int32
		if elemFrom >= 0 {
			elem = c.elem(elemFrom)
		}
		x, w := c.in(xi), c.in(wi)
		if !x.Ranked {
			return []Type{unranked(elem)}, nil
		}
		if len(x.Dims) < 3 {
			return nil, fmt.Errorf("convolution input of rank %d", len(x.Dims))
		}
		ns := len(x.Dims) - 2
		kernel, ok := c.n.AttrInts("kernel_shape")
		if !ok {
			if !w.Ranked || len(w.Dims) != ns+2 {
				return []Type{ranked(elem, append([]Dim{x.Dims[0]}, unknownDims(ns+1)...))}, nil
			}
			kernel = make([]int64, ns)
			for i := range kernel {
				kernel[i] = w.Dims[i+2].Value
			}
		}
		if len(kernel) != ns {
			return nil, fmt.Errorf("kernel_shape has %d values for %d spatial axes", len(kernel), ns)
		}
		outC := UnknownDim()
		if w.Ranked && len(w.Dims) > 0 {
			outC = w.Dims[0]
		}
		dims := []Dim{x.Dims[0], outC}
		sp, err := c.windowDims(x.Dims[2:], kernel, false)
		if err != nil {
			return nil, err
		}
		return []Type{ranked(elem, append(dims, sp...))}, nil
	}
}

// windowDims computes the spatial output sizes of a convolution or pooling
// node from its strides, dilations, pads, auto_pad and ceil_mode.
func (c *ictx) windowDims(in []Dim, kernel []int64, pool bool) ([]Dim, error) {
	ns := len(in)
	strides := c.intsAttrOr("strides", ns, 1)
	dil := c.intsAttrOr("dilations", ns, 1)
	pads := c.intsAttrOr("pads", 2*ns, 0)
	if len(strides) != ns || len(dil) != ns || len(pads) != 2*ns {
		return nil, fmt.Errorf("strides, dilations or pads do not match %d spatial axes", ns)
	}
	autoPad := c.n.AttrString("auto_pad", "NOTSET")
	ceil := pool && c.n.AttrInt("ceil_mode", 0) != 0
	out := make([]Dim, ns)
	for i := range out {
		if kernel[i] <= 0 {
			out[i] = UnknownDim()
			continue
		}
		out[i] = convSpatial(in[i], kernel[i], strides[i], dil[i], pads[i], pads[i+ns], autoPad, ceil)
		if out[i].IsKnown() && out[i].Value < 0 {
			return nil, fmt.Errorf("window larger than the padded input on axis %d", i)
		}
	}
	return out, nil
}

func inferConvTranspose(c *ictx) ([]Type, error) {
	x, w := c.in(0), c.in(1)
	elem := c.elem(0)
	if !x.Ranked {
		return []Type{unranked(elem)}, nil
	}
	if len(x.Dims) < 3 {
		return nil, fmt.Errorf("ConvTranspose input of rank %d", len(x.Dims))
	}
	ns := len(x.Dims) - 2
	group := c.n.AttrInt("group", 1)
	outC := UnknownDim()
	if w.Ranked && len(w.Dims) == ns+2 && w.Dims[1].IsKnown() {
		outC = Known(w.Dims[1].Value * group)
	}
	dims := []Dim{x.Dims[0], outC}
	if os, ok := c.n.AttrInts("output_shape"); ok && len(os) >= ns {
		for _, v := range os[len(os)-ns:] {
			dims = append(dims, Known(v))
		}
		return []Type{ranked(elem, dims)}, nil
	}
	kernel, ok := c.n.AttrInts("kernel_shape")
	if !ok {
		if !w.Ranked || len(w.Dims) != ns+2 {
			return []Type{ranked(elem, append(dims, unknownDims(ns)...))}, nil
		}
		kernel = make([]int64, ns)
		for i := range kernel {
			kernel[i] = w.Dims[i+2].Value
		}
	}
	strides := c.intsAttrOr("strides", ns, 1)
	dil := c.intsAttrOr("dilations", ns, 1)
	pads := c.intsAttrOr("pads", 2*ns, 0)
	outPad := c.intsAttrOr("output_padding", ns, 0)
	if len(kernel) != ns || len(strides) != ns || len(dil) != ns || len(pads) != 2*ns || len(outPad) != ns {
		return nil, fmt.Errorf("ConvTranspose attributes do not match %d spatial axes", ns)
	}
	autoPad := c.n.AttrString("auto_pad", "NOTSET")
	for i := 0; i < ns; i++ {
		in := x.Dims[i+2]
		if !in.IsKnown() || kernel[i] < 0 {
			dims = append(dims, UnknownDim())
			continue
		}
		if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
			dims = append(dims, Known(in.Value*strides[i]))
			continue
		}
		total := strides[i]*(in.Value-1) + outPad[i] + (kernel[i]-1)*dil[i] + 1
		if autoPad != "VALID" {
			total -= pads[i] + pads[i+ns]
		}
		dims = append(dims, Known(total))
	}
	return []Type{ranked(elem, dims)}, nil
}

func inferPool(c *ictx) ([]Type, error) {
	x := c.in(0)
	elem := c.elem(0)
	nOut := c.n.NumOutputs()
	if !x.Ranked {
		return []Type{unranked(elem), unranked(tensor.Int64)}, nil
	}
	if len(x.Dims) < 3 {
		return nil, fmt.Errorf("pooling input of rank %d", len(x.Dims))
	}
	kernel, ok := c.n.AttrInts("kernel_shape")
	if !ok || len(kernel) != len(x.Dims)-2 {
		return nil, fmt.Errorf("kernel_shape missing or of the wrong length")
	}
	sp, err := c.windowDims(x.Dims[2:], kernel, true)
	if err != nil {
		return nil, err
	}
	dims := append([]Dim{x.Dims[0], x.Dims[1]}, sp...)
	outs := []Type{ranked(elem, dims)}
	if nOut > 1 {
		outs = append(outs, ranked(tensor.Int64, append([]Dim(nil), dims...)))
	}
	return outs, nil
}

func inferGlobalPool(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{x}, nil
	}
	if len(x.Dims) < 2 {
		return nil, fmt.Errorf("global pooling input of rank %d", len(x.Dims))
	}
	dims := append([]Dim(nil), x.Dims...)
	for i := 2; i < len(dims); i++ {
		dims[i] = Known(1)
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferReshape(c *ictx) ([]Type, error) {
	x := c.in(0)
	var target symValue
	var ok bool
	if c.has(1) {
		target, ok = c.val(1)
	} else if s, has := c.n.AttrInts("shape"); has {
		target = symValue{elems: make([]Dim, len(s))}
		for i, v := range s {
			target.elems[i] = numDim(v)
		}
		ok = true
	}
	if !ok {
		// The rank still follows from the shape input's length.
		if st := c.in(1); st.Ranked && len(st.Dims) == 1 && st.Dims[0].IsKnown() {
			return []Type{ranked(x.Elem, unknownDims(int(st.Dims[0].Value)))}, nil
		}
		return []Type{unranked(x.Elem)}, nil
	}
	allowZero := c.n.AttrInt("allowzero", 0) != 0
	out := make([]Dim, len(target.elems))
	minus := -1
	for i, d := range target.elems {
		v, isNum := numOf(d)
		switch {
		case isNum && v == -1:
			if minus >= 0 {
				return nil, fmt.Errorf("Reshape shape has more than one -1")
			}
			minus = i
			out[i] = UnknownDim()
		case isNum && v == 0 && !allowZero:
			if !x.Ranked {
				out[i] = UnknownDim()
			} else if i < len(x.Dims) {
				out[i] = x.Dims[i]
			} else {
				return nil, fmt.Errorf("Reshape copies dimension %d of a rank-%d input", i, len(x.Dims))
			}
		case isNum && v < -1:
			return nil, fmt.Errorf("Reshape shape holds %d", v)
		default:
			out[i] = asDim(d)
		}
	}
	if minus >= 0 && x.Ranked {
		out[minus] = inferMinusOne(x.Dims, out, minus)
	}
	// Propagate the value of a reshaped small vector.
	if v, ok := c.val(0); ok && len(out) <= 1 {
		nv := symValue{elems: v.elems, scalar: len(out) == 0}
		c.setVal(0, nv)
	}
	return []Type{ranked(x.Elem, out)}, nil
}

// inferMinusOne finds the size of the -1 entry of a reshape: the input's
// element count divided by that of the other output dimensions, cancelling
// symbolic dimensions found on both sides.
func inferMinusOne(in, out []Dim, minus int) Dim {
	inKnown, outKnown := int64(1), int64(1)
	syms := map[string]int{}
	for _, d := range in {
		switch {
		case d.IsKnown():
			inKnown *= d.Value
		case d.Param != "":
			syms[d.Param]++
		default:
			return UnknownDim()
		}
	}
	for i, d := range out {
		if i == minus {
			continue
		}
		switch {
		case d.IsKnown():
			outKnown *= d.Value
		case d.Param != "" && syms[d.Param] > 0:
			syms[d.Param]--
		default:
			return UnknownDim()
		}
	}
	var left []string
	for s, k := range syms {
		for ; k > 0; k-- {
			left = append(left, s)
		}
	}
	if outKnown == 0 {
		return UnknownDim()
	}
	if inKnown%outKnown != 0 {
		return UnknownDim()
	}
	ratio := inKnown / outKnown
	switch len(left) {
	case 0:
		return Known(ratio)
	case 1:
		if ratio == 1 {
			return Symbolic(left[0])
		}
	}
	return UnknownDim()
}

func inferTranspose(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{x}, nil
	}
	r := len(x.Dims)
	perm, ok := c.n.AttrInts("perm")
	if !ok || len(perm) == 0 {
		perm = make([]int64, r)
		for i := range perm {
			perm[i] = int64(r - 1 - i)
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("perm has %d values for rank %d", len(perm), r)
	}
	axes, err := normAxes(perm, r)
	if err != nil {
		return nil, err
	}
	dims := make([]Dim, r)
	for i, a := range axes {
		dims[i] = x.Dims[a]
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferConcat(c *ictx) ([]Type, error) {
	n := c.n.NumInputs()
	var elem tensor.DataType
	rank := -1
	for i := 0; i < n; i++ {
		t := c.in(i)
		if elem == tensor.Undefined {
			elem = t.Elem
		}
		if t.Ranked {
			rank = len(t.Dims)
		}
	}
	c.propagateConcat()
	if rank < 0 {
		return []Type{unranked(elem)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), rank)
	if err != nil {
		return nil, err
	}
	dims := unknownDims(rank)
	sum := int64(0)
	sumKnown := true
	for i := 0; i < n; i++ {
		t := c.in(i)
		if !t.Ranked {
			sumKnown = false
			continue
		}
		if len(t.Dims) != rank {
			return nil, fmt.Errorf("Concat inputs of rank %d and %d", rank, len(t.Dims))
		}
		for k, d := range t.Dims {
			if k == axis {
				if d.IsKnown() {
					sum += d.Value
				} else {
					sumKnown = false
				}
				continue
			}
			m, err := mergeType(ranked(0, []Dim{dims[k]}), ranked(0, []Dim{d}))
			if err != nil {
				return nil, fmt.Errorf("Concat input %d: %w", i, err)
			}
			dims[k] = m.Dims[0]
		}
	}
	if sumKnown {
		dims[axis] = Known(sum)
	}
	return []Type{ranked(elem, dims)}, nil
}

// propagateConcat joins known 1-D values (shape building).
func (c *ictx) propagateConcat() {
	var res symValue
	for i := 0; i < c.n.NumInputs(); i++ {
		v, ok := c.val(i)
		if !ok {
			return
		}
		res.elems = append(res.elems, v.elems...)
	}
	c.setVal(0, res)
}

func inferSplit(c *ictx) ([]Type, error) {
	x := c.in(0)
	nOut := c.n.NumOutputs()
	outs := make([]Type, nOut)
	for i := range outs {
		outs[i] = unranked(x.Elem)
	}
	if !x.Ranked {
		return outs, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), len(x.Dims))
	if err != nil {
		return nil, err
	}
	var sizes []int64
	known := false
	if c.has(1) {
		sizes, known = c.ints(1)
	} else if s, ok := c.n.AttrInts("split"); ok && len(s) > 0 {
		sizes, known = s, true
	}
	d := x.Dims[axis]
	if !known && c.has(1) {
		// Sizes given at run time: the rank is known, the axis is not.
		for i := range outs {
			dims := append([]Dim(nil), x.Dims...)
			dims[axis] = UnknownDim()
			outs[i] = ranked(x.Elem, dims)
		}
		return outs, nil
	}
	if !known {
		parts := int64(nOut)
		if k := c.n.AttrInt("num_outputs", 0); k > 0 {
			parts = k
		}
		if d.IsKnown() {
			chunk := ceilDiv(d.Value, parts)
			sizes = make([]int64, nOut)
			rest := d.Value
			for i := range sizes {
				sizes[i] = min(chunk, rest)
				rest -= sizes[i]
			}
			known = true
		}
	}
	if known && len(sizes) != nOut {
		return nil, fmt.Errorf("Split has %d sizes for %d outputs", len(sizes), nOut)
	}
	off := int64(0)
	v, haveVal := c.val(0)
	haveVal = haveVal && known && !v.scalar && len(x.Dims) == 1
	for i := range outs {
		dims := append([]Dim(nil), x.Dims...)
		if known {
			dims[axis] = Known(sizes[i])
			if haveVal && sizes[i] >= 0 && off+sizes[i] <= int64(len(v.elems)) {
				c.setVal(i, symValue{elems: append([]Dim{}, v.elems[off:off+sizes[i]]...)})
			}
			off += sizes[i]
		} else {
			dims[axis] = UnknownDim()
		}
		outs[i] = ranked(x.Elem, dims)
	}
	return outs, nil
}

func inferSlice(c *ictx) ([]Type, error) {
	x := c.in(0)
	var starts, ends, axes, steps []int64
	okS, okE, okA, okT := false, false, true, true
	if c.n.NumInputs() >= 3 {
		starts, okS = c.ints(1)
		ends, okE = c.ints(2)
		if c.has(3) {
			axes, okA = c.ints(3)
		}
		if c.has(4) {
			steps, okT = c.ints(4)
		}
	} else {
		starts, okS = c.n.AttrInts("starts")
		ends, okE = c.n.AttrInts("ends")
		if a, ok := c.n.AttrInts("axes"); ok {
			axes = a
		}
	}
	if !x.Ranked {
		return []Type{x}, nil
	}
	r := len(x.Dims)
	if !okS || !okE || !okA || !okT {
		// Only the sliced axes can change; without axes, any can.
		dims := unknownDims(r)
		if okA && axes != nil {
			dims = append([]Dim(nil), x.Dims...)
			na, err := normAxes(axes, r)
			if err != nil {
				return nil, err
			}
			for _, a := range na {
				dims[a] = UnknownDim()
			}
		}
		return []Type{ranked(x.Elem, dims)}, nil
	}
	if len(ends) != len(starts) {
		return nil, fmt.Errorf("Slice has %d starts and %d ends", len(starts), len(ends))
	}
	if axes == nil {
		axes = make([]int64, len(starts))
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	if steps == nil {
		steps = make([]int64, len(starts))
		for i := range steps {
			steps[i] = 1
		}
	}
	if len(axes) != len(starts) || len(steps) != len(starts) {
		return nil, fmt.Errorf("Slice starts, ends, axes and steps differ in length")
	}
	na, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	dims := append([]Dim(nil), x.Dims...)
	for i, a := range na {
		if steps[i] == 0 {
			return nil, fmt.Errorf("Slice step 0")
		}
		dims[a] = sliceDim(x.Dims[a], starts[i], ends[i], steps[i])
	}
	// Propagate a slice of a known 1-D value.
	if v, ok := c.val(0); ok && r == 1 && !v.scalar && len(na) == 1 {
		n := int64(len(v.elems))
		s, e := clampSlice(n, starts[0], ends[0], steps[0])
		var res symValue
		res.elems = []Dim{}
		for k := s; (steps[0] > 0 && k < e) || (steps[0] < 0 && k > e); k += steps[0] {
			res.elems = append(res.elems, v.elems[k])
		}
		c.setVal(0, res)
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

// clampSlice applies Slice's rules for negative and out-of-range start and
// end on an axis of size n.
func clampSlice(n, start, end, step int64) (int64, int64) {
	if start < 0 {
		start += n
	}
	if end < 0 {
		end += n
	}
	if step > 0 {
		start = max(0, min(start, n))
		end = max(0, min(end, n))
	} else {
		start = max(0, min(start, n-1))
		end = max(-1, min(end, n-1))
	}
	return start, end
}

// sliceDim is the length of one sliced axis.
func sliceDim(d Dim, start, end, step int64) Dim {
	if !d.IsKnown() {
		if step == 1 && start == 0 && end >= math.MaxInt32 {
			return d
		}
		return UnknownDim()
	}
	s, e := clampSlice(d.Value, start, end, step)
	var n int64
	if step > 0 {
		n = ceilDiv(e-s, step)
	} else {
		n = ceilDiv(s-e, -step)
	}
	return Known(max(n, 0))
}

func inferFlatten(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{ranked(x.Elem, unknownDims(2))}, nil
	}
	r := len(x.Dims)
	axis := c.n.AttrInt("axis", 1)
	if axis < 0 {
		axis += int64(r)
	}
	if axis < 0 || axis > int64(r) {
		return nil, fmt.Errorf("Flatten axis %d for rank %d", c.n.AttrInt("axis", 1), r)
	}
	return []Type{ranked(x.Elem, []Dim{prodDims(x.Dims[:axis]), prodDims(x.Dims[axis:])})}, nil
}

// axesArg reads the axes of Squeeze, Unsqueeze and reductions: from the
// attribute, or from input 1 in newer opsets. present tells whether axes
// were given at all; ok whether their values are known.
func (c *ictx) axesArg() (axes []int64, present, ok bool) {
	if a, has := c.n.AttrInts("axes"); has {
		return a, true, true
	}
	if c.has(1) {
		v, ok := c.ints(1)
		return v, true, ok
	}
	return nil, false, true
}

func inferSqueeze(c *ictx) ([]Type, error) {
	x := c.in(0)
	axes, present, ok := c.axesArg()
	if !ok || !x.Ranked {
		return []Type{unranked(x.Elem)}, nil
	}
	r := len(x.Dims)
	drop := map[int]bool{}
	if present && len(axes) > 0 {
		na, err := normAxes(axes, r)
		if err != nil {
			return nil, err
		}
		for _, a := range na {
			if d := x.Dims[a]; d.IsKnown() && d.Value != 1 {
				return nil, fmt.Errorf("Squeeze of axis %d of size %d", a, d.Value)
			}
			drop[a] = true
		}
	} else {
		for i, d := range x.Dims {
			if !d.IsKnown() {
				return []Type{unranked(x.Elem)}, nil
			}
			if d.Value == 1 {
				drop[i] = true
			}
		}
	}
	dims := []Dim{}
	for i, d := range x.Dims {
		if !drop[i] {
			dims = append(dims, d)
		}
	}
	if v, ok := c.val(0); ok && len(v.elems) == 1 && len(dims) == 0 {
		c.setVal(0, symValue{elems: v.elems, scalar: true})
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferUnsqueeze(c *ictx) ([]Type, error) {
	x := c.in(0)
	axes, _, ok := c.axesArg()
	if !ok || !x.Ranked {
		return []Type{unranked(x.Elem)}, nil
	}
	r := len(x.Dims) + len(axes)
	na, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	ins := map[int]bool{}
	for _, a := range na {
		ins[a] = true
	}
	dims := make([]Dim, 0, r)
	k := 0
	for i := 0; i < r; i++ {
		if ins[i] {
			dims = append(dims, Known(1))
		} else {
			dims = append(dims, x.Dims[k])
			k++
		}
	}
	if v, ok := c.val(0); ok && r == 1 {
		c.setVal(0, symValue{elems: v.elems})
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferShapeOp(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{ranked(tensor.Int64, unknownDims(1))}, nil
	}
	r := int64(len(x.Dims))
	start := c.n.AttrInt("start", 0)
	end := c.n.AttrInt("end", r)
	if start < 0 {
		start += r
	}
	if end < 0 {
		end += r
	}
	start = max(0, min(start, r))
	end = max(0, min(end, r))
	if end < start {
		end = start
	}
	c.setVal(0, symValue{elems: append([]Dim{}, x.Dims[start:end]...)})
	return []Type{TensorType(tensor.Int64, end-start)}, nil
}

func inferSize(c *ictx) ([]Type, error) {
	x := c.in(0)
	if x.Ranked {
		if p := prodDims(x.Dims); p.IsKnown() {
			c.setVal(0, symValue{elems: []Dim{p}, scalar: true})
		}
	}
	return []Type{TensorType(tensor.Int64)}, nil
}

func inferGather(c *ictx) ([]Type, error) {
	x, idx := c.in(0), c.in(1)
	if !x.Ranked || !idx.Ranked {
		return []Type{unranked(x.Elem)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), len(x.Dims))
	if err != nil {
		return nil, err
	}
	dims := append([]Dim(nil), x.Dims[:axis]...)
	dims = append(dims, idx.Dims...)
	dims = append(dims, x.Dims[axis+1:]...)
	if v, ok := c.val(0); ok && !v.scalar && axis == 0 {
		if iv, ok := c.ints(1); ok && len(idx.Dims) <= 1 {
			n := int64(len(v.elems))
			res := symValue{scalar: len(idx.Dims) == 0}
			for _, k := range iv {
				if k < 0 {
					k += n
				}
				if k < 0 || k >= n {
					return nil, fmt.Errorf("Gather index %d out of range for %d elements", k, n)
				}
				res.elems = append(res.elems, v.elems[k])
			}
			c.setVal(0, res)
		}
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferGatherElements(c *ictx) ([]Type, error) {
	return []Type{withElem(c.in(1), c.elem(0))}, nil
}

func inferGatherND(c *ictx) ([]Type, error) {
	x, idx := c.in(0), c.in(1)
	if !x.Ranked || !idx.Ranked || len(idx.Dims) == 0 {
		return []Type{unranked(x.Elem)}, nil
	}
	last := idx.Dims[len(idx.Dims)-1]
	b := int(c.n.AttrInt("batch_dims", 0))
	if !last.IsKnown() {
		return []Type{unranked(x.Elem)}, nil
	}
	k := int(last.Value)
	if b+k > len(x.Dims) {
		return nil, fmt.Errorf("GatherND indexes %d axes after %d batch axes of a rank-%d input", k, b, len(x.Dims))
	}
	dims := append([]Dim(nil), idx.Dims[:len(idx.Dims)-1]...)
	dims = append(dims, x.Dims[b+k:]...)
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferConstantOfShape(c *ictx) ([]Type, error) {
	elem := tensor.Float32
	if a := c.n.Attr("value"); a != nil && a.T != nil {
		elem = tensor.DataType(a.T.GetDataType())
	}
	v, ok := c.val(0)
	if !ok {
		if st := c.in(0); st.Ranked && len(st.Dims) == 1 && st.Dims[0].IsKnown() {
			return []Type{ranked(elem, unknownDims(int(st.Dims[0].Value)))}, nil
		}
		return []Type{unranked(elem)}, nil
	}
	dims := make([]Dim, len(v.elems))
	for i, d := range v.elems {
		dims[i] = asDim(d)
	}
	// A small integer fill propagates as a value (shape building).
	if len(dims) <= 1 && (elem == tensor.Int64 || elem == tensor.Int32) {
		fill := int64(0)
		if a := c.n.Attr("value"); a != nil && a.T != nil {
			t, err := tensor.FromProto(a.T)
			if err != nil {
				return []Type{ranked(elem, dims)}, nil
			}
			ints, ok := intsOf(t)
			if !ok || len(ints) != 1 {
				return []Type{ranked(elem, dims)}, nil
			}
			fill = ints[0]
		}
		n := int64(1)
		if len(dims) == 1 {
			n = dims[0].Value
		}
		if n >= 0 && n <= maxSymElems {
			res := symValue{elems: make([]Dim, n), scalar: len(dims) == 0}
			for i := range res.elems {
				res.elems[i] = numDim(fill)
			}
			c.setVal(0, res)
		}
	}
	return []Type{ranked(elem, dims)}, nil
}

func inferConstant(c *ictx) ([]Type, error) {
	t, ok := constantType(c.n)
	if !ok {
		return nil, fmt.Errorf("Constant without a value")
	}
	return []Type{t}, nil
}

func inferPad(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{x}, nil
	}
	r := len(x.Dims)
	var pads []int64
	ok := false
	if c.has(1) {
		pads, ok = c.ints(1)
	} else if p, has := c.n.AttrInts("pads"); has {
		pads, ok = p, true
	} else if p, has := c.n.AttrInts("paddings"); has {
		pads, ok = p, true
	}
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if c.has(3) {
		a, okA := c.ints(3)
		if !okA {
			ok = false
		} else {
			na, err := normAxes(a, r)
			if err != nil {
				return nil, err
			}
			axes = na
		}
	}
	if !ok {
		return []Type{ranked(x.Elem, unknownDims(r))}, nil
	}
	if len(pads) != 2*len(axes) {
		return nil, fmt.Errorf("Pad has %d pads for %d axes", len(pads), len(axes))
	}
	dims := append([]Dim(nil), x.Dims...)
	for i, a := range axes {
		if d := dims[a]; d.IsKnown() {
			dims[a] = Known(d.Value + pads[i] + pads[i+len(axes)])
		} else if pads[i] != 0 || pads[i+len(axes)] != 0 {
			dims[a] = UnknownDim()
		}
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferReduce(c *ictx) ([]Type, error) {
	x := c.in(0)
	keep := c.n.AttrInt("keepdims", 1) != 0
	axes, present, ok := c.axesArg()
	if !x.Ranked {
		return []Type{unranked(x.Elem)}, nil
	}
	r := len(x.Dims)
	if !ok {
		if keep {
			return []Type{ranked(x.Elem, unknownDims(r))}, nil
		}
		return []Type{unranked(x.Elem)}, nil
	}
	if !present || len(axes) == 0 {
		if c.n.AttrInt("noop_with_empty_axes", 0) != 0 {
			return []Type{x}, nil
		}
		axes = make([]int64, r)
		for i := range axes {
			axes[i] = int64(i)
		}
	}
	na, err := normAxes(axes, r)
	if err != nil {
		return nil, err
	}
	red := map[int]bool{}
	for _, a := range na {
		red[a] = true
	}
	dims := []Dim{}
	for i, d := range x.Dims {
		switch {
		case !red[i]:
			dims = append(dims, d)
		case keep:
			dims = append(dims, Known(1))
		}
	}
	if c.n.OpType() == "ReduceProd" && !keep {
		if v, ok := c.val(0); ok && !v.scalar && r == 1 {
			c.setVal(0, symValue{elems: []Dim{prodDims(v.elems)}, scalar: true})
		}
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferArgReduce(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{unranked(tensor.Int64)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), len(x.Dims))
	if err != nil {
		return nil, err
	}
	dims := []Dim{}
	for i, d := range x.Dims {
		switch {
		case i != axis:
			dims = append(dims, d)
		case c.n.AttrInt("keepdims", 1) != 0:
			dims = append(dims, Known(1))
		}
	}
	return []Type{ranked(tensor.Int64, dims)}, nil
}

func inferResize(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{x}, nil
	}
	r := len(x.Dims)
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if a, ok := c.n.AttrInts("axes"); ok && len(a) > 0 {
		na, err := normAxes(a, r)
		if err != nil {
			return nil, err
		}
		axes = na
	}
	var scales []float64
	var sizes []int64
	haveScales, haveSizes := false, false
	switch {
	case c.n.OpType() == "Upsample" && !c.has(1):
		if s, ok := c.n.AttrFloats("scales"); ok {
			scales = make([]float64, len(s))
			for i, v := range s {
				scales[i] = float64(v)
			}
			haveScales = true
		}
	case c.n.NumInputs() == 2:
		// Upsample-9 and Resize-10: X, scales.
		scales, haveScales = c.floats(1)
	default:
		if c.has(3) {
			sizes, haveSizes = c.ints(3)
			if !haveSizes {
				return []Type{ranked(x.Elem, unknownDims(r))}, nil
			}
		}
		if !haveSizes && c.has(2) {
			scales, haveScales = c.floats(2)
			if haveScales && len(scales) == 0 {
				haveScales = false
			}
		}
	}
	if haveSizes && len(sizes) == 0 {
		haveSizes = false
	}
	dims := append([]Dim(nil), x.Dims...)
	switch {
	case haveSizes:
		if len(sizes) != len(axes) {
			return nil, fmt.Errorf("Resize has %d sizes for %d axes", len(sizes), len(axes))
		}
		policy := c.n.AttrString("keep_aspect_ratio_policy", "stretch")
		if policy == "stretch" {
			for i, a := range axes {
				dims[a] = Known(sizes[i])
			}
			break
		}
		scale := 0.0
		for i, a := range axes {
			d := x.Dims[a]
			if !d.IsKnown() || d.Value == 0 {
				for _, a := range axes {
					dims[a] = UnknownDim()
				}
				return []Type{ranked(x.Elem, dims)}, nil
			}
			s := float64(float32(sizes[i]) / float32(d.Value))
			if i == 0 || (policy == "not_larger" && s < scale) || (policy == "not_smaller" && s > scale) {
				scale = s
			}
		}
		for _, a := range axes {
			dims[a] = Known(int64(math.RoundToEven(float64(float32(scale) * float32(x.Dims[a].Value)))))
		}
	case haveScales:
		if len(scales) != len(axes) {
			return nil, fmt.Errorf("Resize has %d scales for %d axes", len(scales), len(axes))
		}
		for i, a := range axes {
			d := x.Dims[a]
			switch {
			case scales[i] == 1:
			case d.IsKnown():
				dims[a] = Known(int64(math.Floor(float64(float32(d.Value) * float32(scales[i])))))
			default:
				dims[a] = UnknownDim()
			}
		}
	default:
		dims = unknownDims(r)
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferExpand(c *ictx) ([]Type, error) {
	x := c.in(0)
	v, ok := c.val(1)
	if !ok {
		return []Type{unranked(x.Elem)}, nil
	}
	shape := make([]Dim, len(v.elems))
	for i, d := range v.elems {
		shape[i] = asDim(d)
	}
	out, err := broadcastShapes(x, ranked(0, shape))
	if err != nil {
		return nil, err
	}
	out.Elem = x.Elem
	return []Type{out}, nil
}

func inferTile(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{x}, nil
	}
	reps, ok := c.ints(1)
	if !ok {
		return []Type{ranked(x.Elem, unknownDims(len(x.Dims)))}, nil
	}
	if len(reps) != len(x.Dims) {
		return nil, fmt.Errorf("Tile has %d repeats for rank %d", len(reps), len(x.Dims))
	}
	dims := make([]Dim, len(x.Dims))
	for i, d := range x.Dims {
		switch {
		case reps[i] == 1:
			dims[i] = d
		case d.IsKnown():
			dims[i] = Known(d.Value * reps[i])
		default:
			dims[i] = UnknownDim()
		}
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferRange(c *ictx) ([]Type, error) {
	elem := c.elem(0)
	if si, ok := c.ints(0); ok && elem != tensor.Float32 && elem != tensor.Float64 {
		li, ok1 := c.ints(1)
		di, ok2 := c.ints(2)
		if ok1 && ok2 && len(si) == 1 && len(li) == 1 && len(di) == 1 {
			if di[0] == 0 {
				return nil, fmt.Errorf("Range delta 0")
			}
			n := max(ceilDivSigned(li[0]-si[0], di[0]), 0)
			if n <= maxSymElems {
				res := symValue{elems: make([]Dim, n)}
				for i := range res.elems {
					res.elems[i] = numDim(si[0] + int64(i)*di[0])
				}
				c.setVal(0, res)
			}
			return []Type{TensorType(elem, n)}, nil
		}
	}
	s, ok0 := c.floats(0)
	l, ok1 := c.floats(1)
	d, ok2 := c.floats(2)
	if ok0 && ok1 && ok2 && len(s) == 1 && len(l) == 1 && len(d) == 1 {
		if d[0] == 0 {
			return nil, fmt.Errorf("Range delta 0")
		}
		n := int64(math.Max(math.Ceil((l[0]-s[0])/d[0]), 0))
		return []Type{TensorType(elem, n)}, nil
	}
	return []Type{ranked(elem, unknownDims(1))}, nil
}

// ceilDivSigned divides rounding towards +infinity, for any signs.
func ceilDivSigned(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a > 0) == (b > 0)) {
		q++
	}
	return q
}

func inferRNN(c *ictx) ([]Type, error) {
	x := c.in(0)
	elem := x.Elem
	numDir := int64(1)
	if c.n.AttrString("direction", "forward") == "bidirectional" {
		numDir = 2
	}
	hidden := UnknownDim()
	if h := c.n.AttrInt("hidden_size", -1); h >= 0 {
		hidden = Known(h)
	} else if rw := c.in(2); rw.Ranked && len(rw.Dims) == 3 {
		hidden = rw.Dims[2]
	}
	seq, batch := UnknownDim(), UnknownDim()
	layout := c.n.AttrInt("layout", 0)
	if x.Ranked && len(x.Dims) == 3 {
		seq, batch = x.Dims[0], x.Dims[1]
		if layout != 0 {
			seq, batch = batch, seq
		}
	}
	nd := Known(numDir)
	var y, yh Type
	if layout == 0 {
		y = ranked(elem, []Dim{seq, nd, batch, hidden})
		yh = ranked(elem, []Dim{nd, batch, hidden})
	} else {
		y = ranked(elem, []Dim{batch, seq, nd, hidden})
		yh = ranked(elem, []Dim{batch, nd, hidden})
	}
	return []Type{y, yh, yh.clone()}, nil
}

func inferTopK(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{unranked(x.Elem), unranked(tensor.Int64)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", -1), len(x.Dims))
	if err != nil {
		return nil, err
	}
	k := UnknownDim()
	if c.has(1) {
		if v, ok := c.ints(1); ok && len(v) == 1 {
			k = Known(v[0])
		}
	} else if kv := c.n.AttrInt("k", -1); kv >= 0 {
		k = Known(kv)
	}
	dims := append([]Dim(nil), x.Dims...)
	dims[axis] = k
	return []Type{ranked(x.Elem, dims), ranked(tensor.Int64, append([]Dim(nil), dims...))}, nil
}

func inferDepthToSpace(c *ictx) ([]Type, error) {
	x := c.in(0)
	b := c.n.AttrInt("blocksize", 0)
	if !x.Ranked || len(x.Dims) != 4 || b <= 0 {
		return []Type{unranked(x.Elem)}, nil
	}
	return []Type{ranked(x.Elem, []Dim{x.Dims[0], divDim(x.Dims[1], b*b), mulDim(x.Dims[2], b), mulDim(x.Dims[3], b)})}, nil
}

func inferSpaceToDepth(c *ictx) ([]Type, error) {
	x := c.in(0)
	b := c.n.AttrInt("blocksize", 0)
	if !x.Ranked || len(x.Dims) != 4 || b <= 0 {
		return []Type{unranked(x.Elem)}, nil
	}
	return []Type{ranked(x.Elem, []Dim{x.Dims[0], mulDim(x.Dims[1], b*b), divDim(x.Dims[2], b), divDim(x.Dims[3], b)})}, nil
}

func mulDim(d Dim, k int64) Dim {
	if d.IsKnown() {
		return Known(d.Value * k)
	}
	if k == 1 {
		return d
	}
	return UnknownDim()
}

func divDim(d Dim, k int64) Dim {
	if d.IsKnown() {
		return Known(d.Value / k)
	}
	if k == 1 {
		return d
	}
	return UnknownDim()
}

func inferEyeLike(c *ictx) ([]Type, error) {
	x := c.in(0)
	if dt := c.n.AttrInt("dtype", 0); dt != 0 {
		return []Type{withElem(x, tensor.DataType(dt))}, nil
	}
	return []Type{x}, nil
}

func inferNonZero(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked {
		return []Type{ranked(tensor.Int64, unknownDims(2))}, nil
	}
	return []Type{ranked(tensor.Int64, []Dim{Known(int64(len(x.Dims))), UnknownDim()})}, nil
}

func inferOneHot(c *ictx) ([]Type, error) {
	idx := c.in(0)
	elem := c.elem(2)
	if !idx.Ranked {
		return []Type{unranked(elem)}, nil
	}
	r := len(idx.Dims) + 1
	axis, err := normAxis(c.n.AttrInt("axis", -1), r)
	if err != nil {
		return nil, err
	}
	depth := UnknownDim()
	if f, ok := c.floats(1); ok && len(f) == 1 {
		depth = Known(int64(f[0]))
	}
	dims := append([]Dim(nil), idx.Dims[:axis]...)
	dims = append(dims, depth)
	dims = append(dims, idx.Dims[axis:]...)
	return []Type{ranked(elem, dims)}, nil
}

func inferQLinearBinary(c *ictx) ([]Type, error) {
	out, err := broadcastShapes(c.in(0), c.in(3))
	if err != nil {
		return nil, err
	}
	out.Elem = c.elem(0)
	return []Type{out}, nil
}

func inferQLinearGlobalPool(c *ictx) ([]Type, error) {
	x := c.in(0)
	if !x.Ranked || len(x.Dims) < 3 {
		return []Type{unranked(x.Elem)}, nil
	}
	dims := append([]Dim(nil), x.Dims...)
	if c.n.AttrInt("channels_last", 0) != 0 {
		for i := 1; i < len(dims)-1; i++ {
			dims[i] = Known(1)
		}
	} else {
		for i := 2; i < len(dims); i++ {
			dims[i] = Known(1)
		}
	}
	return []Type{ranked(x.Elem, dims)}, nil
}

func inferQLinearConcat(c *ictx) ([]Type, error) {
	// Inputs: Y_scale, Y_zero_point, then (X, X_scale, X_zero_point)
	// triples.
	elem := c.elem(1)
	var ts []Type
	for i := 2; i < c.n.NumInputs(); i += 3 {
		ts = append(ts, c.in(i))
	}
	rank := -1
	for _, t := range ts {
		if t.Ranked {
			rank = len(t.Dims)
		}
	}
	if rank < 0 {
		return []Type{unranked(elem)}, nil
	}
	axis, err := normAxis(c.n.AttrInt("axis", 0), rank)
	if err != nil {
		return nil, err
	}
	dims := unknownDims(rank)
	sum, known := int64(0), true
	for _, t := range ts {
		if !t.Ranked || len(t.Dims) != rank {
			known = false
			continue
		}
		for k, d := range t.Dims {
			if k == axis {
				if d.IsKnown() {
					sum += d.Value
				} else {
					known = false
				}
			} else if d.IsKnown() {
				dims[k] = d
			}
		}
	}
	if known {
		dims[axis] = Known(sum)
	}
	return []Type{ranked(elem, dims)}, nil
}

// mergeBranches describes a value that is either a or b.
func mergeBranches(a, b Type) Type {
	out := Type{}
	if a.Elem == b.Elem {
		out.Elem = a.Elem
	}
	if a.Ranked && b.Ranked && len(a.Dims) == len(b.Dims) {
		out.Ranked = true
		out.Dims = make([]Dim, len(a.Dims))
		for i := range a.Dims {
			if a.Dims[i].same(b.Dims[i]) {
				out.Dims[i] = a.Dims[i]
			} else {
				out.Dims[i] = UnknownDim()
			}
		}
	}
	return out
}

func inferIf(c *ictx) ([]Type, error) {
	thenG, elseG := c.n.Subgraph("then_branch"), c.n.Subgraph("else_branch")
	var errs []error
	for _, s := range []*Graph{thenG, elseG} {
		if s != nil {
			s.infer(nil, &errs)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if thenG == nil || elseG == nil {
		return nil, nil
	}
	to, eo := thenG.Outputs(), elseG.Outputs()
	outs := make([]Type, c.n.NumOutputs())
	for i := range outs {
		if i >= len(to) || i >= len(eo) {
			break
		}
		a, _ := thenG.Type(to[i])
		b, _ := elseG.Type(eo[i])
		outs[i] = mergeBranches(a, b)
	}
	return outs, nil
}

func inferLoop(c *ictx) ([]Type, error) {
	body := c.n.Subgraph("body")
	if body == nil {
		return nil, nil
	}
	bodyIn := body.Inputs()
	seed := map[string]Type{}
	if len(bodyIn) > 0 {
		seed[bodyIn[0]] = TensorType(tensor.Int64)
	}
	if len(bodyIn) > 1 {
		seed[bodyIn[1]] = TensorType(tensor.Bool)
	}
	nCarried := c.n.NumInputs() - 2
	for i := 0; i < nCarried && i+2 < len(bodyIn); i++ {
		// A carried value may change shape between iterations: only its
		// element type is certain.
		seed[bodyIn[i+2]] = unranked(c.elem(i + 2))
	}
	var errs []error
	body.infer(seed, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	bodyOut := body.Outputs()
	outs := make([]Type, c.n.NumOutputs())
	for i := range outs {
		if i+1 >= len(bodyOut) {
			break
		}
		t, _ := body.Type(bodyOut[i+1])
		if i < nCarried {
			init := c.in(i + 2)
			if init.IsStatic() && t.IsStatic() && sameType(init, t) {
				outs[i] = t
			} else {
				outs[i] = unranked(init.Elem)
				if outs[i].Elem == tensor.Undefined {
					outs[i].Elem = t.Elem
				}
			}
			continue
		}
		// Scan outputs gain a leading iteration axis.
		if t.Ranked {
			outs[i] = ranked(t.Elem, append([]Dim{UnknownDim()}, t.Dims...))
		} else {
			outs[i] = unranked(t.Elem)
		}
	}
	return outs, nil
}

// sameType reports whether two types are known to be equal.
func sameType(a, b Type) bool {
	if a.Elem != b.Elem || a.Ranked != b.Ranked || len(a.Dims) != len(b.Dims) {
		return false
	}
	for i := range a.Dims {
		if !a.Dims[i].same(b.Dims[i]) {
			return false
		}
	}
	return true
}

func inferScan(c *ictx) ([]Type, error) {
	body := c.n.Subgraph("body")
	if body == nil {
		return nil, nil
	}
	nScanIn := int(c.n.AttrInt("num_scan_inputs", 0))
	first := 0
	if c.opset() < 9 {
		first = 1 // Scan-8 takes sequence_lens first.
	}
	nIn := c.n.NumInputs() - first
	nState := nIn - nScanIn
	if nState < 0 {
		return nil, fmt.Errorf("Scan has %d inputs for %d scan inputs", nIn, nScanIn)
	}
	inAxes := c.intsAttrOr("scan_input_axes", nScanIn, 0)
	legacy := c.opset() < 9 // Scan-8: every input has a leading batch axis
	bodyIn := body.Inputs()
	seed := map[string]Type{}
	seqLen, batch := UnknownDim(), UnknownDim()
	for i := 0; i < nIn && i < len(bodyIn); i++ {
		t := c.in(first + i)
		if !t.Ranked {
			seed[bodyIn[i]] = unranked(t.Elem)
			continue
		}
		dims := append([]Dim(nil), t.Dims...)
		if legacy {
			if len(dims) < 1 {
				return nil, fmt.Errorf("Scan-8 input of rank 0")
			}
			batch = dims[0]
			dims = dims[1:]
		}
		if i >= nState {
			// A scan input loses its scan axis.
			k := i - nState
			axis := int64(0)
			if !legacy {
				if k >= len(inAxes) {
					return nil, fmt.Errorf("scan_input_axes too short")
				}
				axis = inAxes[k]
			}
			a, err := normAxis(axis, len(dims))
			if err != nil {
				return nil, err
			}
			if k == 0 {
				seqLen = dims[a]
			}
			dims = append(dims[:a], dims[a+1:]...)
		}
		seed[bodyIn[i]] = ranked(t.Elem, dims)
	}
	var errs []error
	body.infer(seed, &errs)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	bodyOut := body.Outputs()
	outs := make([]Type, c.n.NumOutputs())
	nScanOut := len(outs) - nState
	outAxes := c.intsAttrOr("scan_output_axes", max(nScanOut, 0), 0)
	for i := range outs {
		if i >= len(bodyOut) {
			break
		}
		t, _ := body.Type(bodyOut[i])
		if !t.Ranked {
			outs[i] = unranked(t.Elem)
			continue
		}
		if i < nState {
			outs[i] = t
			if legacy {
				outs[i] = ranked(t.Elem, append([]Dim{batch}, t.Dims...))
			}
			continue
		}
		if legacy {
			outs[i] = ranked(t.Elem, append([]Dim{batch, seqLen}, t.Dims...))
			continue
		}
		k := i - nState
		if k >= len(outAxes) {
			return nil, fmt.Errorf("scan_output_axes too short")
		}
		a, err := normAxis(outAxes[k], len(t.Dims)+1)
		if err != nil {
			return nil, err
		}
		dims := append([]Dim(nil), t.Dims[:a]...)
		dims = append(dims, seqLen)
		dims = append(dims, t.Dims[a:]...)
		outs[i] = ranked(t.Elem, dims)
	}
	return outs, nil
}
