package quantize

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// QLinearOps (QOperator) rules. A quantized node reads 8-bit inputs and
// writes an 8-bit output named <output>_quantized; the float output is only
// materialized (DequantizeLinear) when a float node or a graph output reads
// it:
//
//	x ──QuantizeLinear──▶ x_quantized ─┐
//	W (constant) ──▶ W_quantized ──────┼─▶ QLinearConv ─▶ y_quantized ─▶ next QLinear op
//	B (constant) ──▶ B_quantized int32 ┘                     └─DequantizeLinear─▶ y (float readers)

// qActivation returns the 8-bit form of activation v, creating it once: a
// QuantizeLinear with the static parameters, or a DynamicQuantizeLinear
// (computed at run time) in dynamic mode.
func (q *quantizer) qActivation(v string, reader *graph.Node) (*qvalue, error) {
	if qv, ok := q.qv[v]; ok {
		return qv, nil
	}
	if q.cfg.Static {
		p, err := q.activationParams(v, reader)
		if err != nil {
			return nil, err
		}
		qv := &qvalue{p: p}
		if qv.scale, qv.zp, err = q.paramInits(v, p); err != nil {
			return nil, err
		}
		qv.q = q.name(v + "_quantized")
		q.ensureFloat(v)
		q.emit("QuantizeLinear", v+"_QuantizeLinear", []string{v, qv.scale, qv.zp}, []string{qv.q})
		q.qv[v] = qv
		return qv, nil
	}
	if q.cfg.activationType() != tensor.Uint8 {
		return nil, fmt.Errorf("quantize: dynamic quantization produces uint8 activations; use --activation-type uint8 or static quantization")
	}
	qv := &qvalue{p: Params{Type: tensor.Uint8}}
	qv.q, qv.scale, qv.zp = q.name(v+"_quantized"), q.name(v+"_scale"), q.name(v+"_zero_point")
	q.ensureFloat(v)
	if q.g.Opset("") >= 11 {
		q.emit("DynamicQuantizeLinear", v+"_DynamicQuantizeLinear", []string{v}, []string{qv.q, qv.scale, qv.zp})
	} else {
		if err := q.spelledOutDynamic(v, qv); err != nil {
			return nil, err
		}
	}
	q.qv[v] = qv
	return qv, nil
}

// spelledOutDynamic computes DynamicQuantizeLinear's uint8 parameters with
// opset-10 operators (DynamicQuantizeLinear came in opset 11):
//
//	scale = max((max(0, ReduceMax(x)) - min(0, ReduceMin(x))) / 255, FLT_MIN)
//	zero_point = Cast<uint8>(Floor(-min(0, ReduceMin(x)) / scale + 0.5))
//
// Opset 10 has no Round, so the zero point rounds half up where
// DynamicQuantizeLinear rounds half to even (only exact .5 ties differ).
func (q *quantizer) spelledOutDynamic(v string, qv *qvalue) error {
	zero, err := q.addInit(v+"_zero_f", tensor.Scalar(float32(0)))
	if err != nil {
		return err
	}
	qmax, err := q.addInit(v+"_255", tensor.Scalar(float32(255)))
	if err != nil {
		return err
	}
	tiny, err := q.addInit(v+"_flt_min", tensor.Scalar(float32(1.1754944e-38)))
	if err != nil {
		return err
	}
	half, err := q.addInit(v+"_half", tensor.Scalar(float32(0.5)))
	if err != nil {
		return err
	}
	keep0 := graph.AttrInt("keepdims", 0)
	lo, hi := q.name(v+"_ReduceMin"), q.name(v+"_ReduceMax")
	q.emit("ReduceMin", lo, []string{v}, []string{lo}, keep0)
	q.emit("ReduceMax", hi, []string{v}, []string{hi}, graph.AttrInt("keepdims", 0))
	lo0, hi0 := q.name(v+"_min0"), q.name(v+"_max0")
	q.emit("Min", lo0, []string{lo, zero}, []string{lo0})
	q.emit("Max", hi0, []string{hi, zero}, []string{hi0})
	span, raw := q.name(v+"_range"), q.name(v+"_scale_raw")
	q.emit("Sub", span, []string{hi0, lo0}, []string{span})
	q.emit("Div", raw, []string{span, qmax}, []string{raw})
	q.emit("Max", qv.scale, []string{raw, tiny}, []string{qv.scale})
	neg, ratio, shifted, floored := q.name(v+"_neg_min"), q.name(v+"_zp_real"), q.name(v+"_zp_shift"), q.name(v+"_zp_floor")
	q.emit("Sub", neg, []string{zero, lo0}, []string{neg})
	q.emit("Div", ratio, []string{neg, qv.scale}, []string{ratio})
	q.emit("Add", shifted, []string{ratio, half}, []string{shifted})
	q.emit("Floor", floored, []string{shifted}, []string{floored})
	q.emit("Cast", qv.zp, []string{floored}, []string{qv.zp}, graph.AttrInt("to", int64(tensor.Uint8)))
	q.emit("QuantizeLinear", v+"_QuantizeLinear", []string{v, qv.scale, qv.zp}, []string{qv.q})
	return nil
}

// qConstActivation quantizes a constant operand of an activation op (Add,
// Mul, MatMul's A) per tensor in the activation type.
func (q *quantizer) qConstActivation(v string) (*qvalue, error) {
	key := v + "\x00act"
	if w, ok := q.weights[key]; ok {
		return w, nil
	}
	t, ok := q.constant(v)
	if !ok || t.DType != tensor.Float32 {
		return nil, fmt.Errorf("quantize: %q is not a float32 constant", v)
	}
	p, err := ChooseWeightParams(t, WeightOptions{Type: q.cfg.activationType(), Symmetric: q.cfg.SymmetricActivations, Axis: -1})
	if err != nil {
		return nil, fmt.Errorf("quantize: constant %q: %w", v, err)
	}
	return q.storeWeight(v, key, t, p)
}

// qOperand returns the 8-bit form of an operand: a constant is quantized
// at build time, anything else as an activation.
func (q *quantizer) qOperand(v string, reader *graph.Node) (*qvalue, error) {
	if q.isConstFloat(v) {
		return q.qConstActivation(v)
	}
	return q.qActivation(v, reader)
}

// qOutput prepares the 8-bit output of a QLinear node writing value out:
// its static parameters (scale and zero point initializers) and name.
func (q *quantizer) qOutput(out string, reader *graph.Node) (*qvalue, error) {
	p, err := q.activationParams(out, reader)
	if err != nil {
		return nil, err
	}
	return q.qOutputWith(out, p)
}

func (q *quantizer) qOutputWith(out string, p Params) (*qvalue, error) {
	qv := &qvalue{p: p, q: q.name(out + "_quantized")}
	var err error
	if qv.scale, qv.zp, err = q.paramInits(out, p); err != nil {
		return nil, err
	}
	return qv, nil
}

// produced records that value v now exists only in 8-bit form.
func (q *quantizer) produced(v string, qv *qvalue) {
	q.qv[v] = qv
	q.floatOK[v] = false
}

func (q *quantizer) checkQLinearTypes() error {
	if q.cfg.activationType() == tensor.Int8 && q.cfg.weightType() == tensor.Uint8 {
		return fmt.Errorf("quantize: int8 activations with uint8 weights have no QLinear kernels in ONNX Runtime; use int8 weights or uint8 activations")
	}
	return nil
}

// staticScale is the activation's scale when known before running, else 0.
func staticScale(qv *qvalue) float32 {
	if len(qv.p.Scale) == 1 {
		return qv.p.Scale[0]
	}
	return 0
}

// qlinearConv: Conv -> QLinearConv with 8-bit weights (per channel along
// axis 0 when asked) and an int32 bias.
func (q *quantizer) qlinearConv(n *graph.Node) (string, error) {
	if err := q.checkQLinearTypes(); err != nil {
		return "", err
	}
	x, w, b := n.Input(0), n.Input(1), n.Input(2)
	if !q.isFloat(x) && q.qv[x] == nil {
		return "input is not float32", nil
	}
	if !q.isConstFloat(w) {
		return "weight is not a float32 constant", nil
	}
	if b != "" && !q.isConstFloat(b) {
		return "bias is not a float32 constant", nil
	}
	outName, folded, yq, err := q.foldedOutput(n)
	if err != nil {
		return "", err
	}
	xq, err := q.qActivation(x, n)
	if err != nil {
		return "", err
	}
	axis := -1
	if q.cfg.PerChannel {
		axis = 0
	}
	wq, err := q.weightWithBias(w, axis, b, staticScale(xq))
	if err != nil {
		return "", err
	}
	inputs := []string{xq.q, xq.scale, xq.zp, wq.q, wq.scale, wq.zp, yq.scale, yq.zp}
	if b != "" {
		bq, err := q.qBias(b, xq, wq)
		if err != nil {
			return "", err
		}
		inputs = append(inputs, bq)
	}
	q.emit("QLinearConv", n.Name()+"_quant", inputs, []string{yq.q}, cloneAttrs(n)...)
	q.produced(outName, yq)
	q.quantized(n, "QLinearConv"+foldNote(folded))
	return "", nil
}

// foldedOutput prepares the 8-bit output of a QLinear node n: the folded
// Relu/Clip's output when it has static parameters (foldActivation), else
// n's own output; the fold is undone when the parameters are missing.
func (q *quantizer) foldedOutput(n *graph.Node) (string, *graph.Node, *qvalue, error) {
	outName, folded := q.foldActivation(n.Output(0))
	if q.cfg.Static && !q.hasParams(outName) {
		q.unfold(folded)
		outName, folded = n.Output(0), nil
	}
	yq, err := q.qOutput(outName, n)
	if err != nil {
		q.unfold(folded)
		return "", nil, nil, err
	}
	return outName, folded, yq, nil
}

// unfold undoes foldActivation when the node ends up not folding.
func (q *quantizer) unfold(a *graph.Node) {
	if a != nil {
		delete(q.skip, a)
	}
}

func foldNote(a *graph.Node) string {
	if a == nil {
		return ""
	}
	return " (+" + a.OpType() + " folded)"
}

// qBias returns the int32 bias input: a constant with scale
// x_scale * w_scale when x's scale is static, else computed at run time
// (x_scale known only then):
//
//	B_quantized = Cast<int32>(Round(B / (x_scale * w_scale)))
func (q *quantizer) qBias(b string, xq, wq *qvalue) (string, error) {
	if s := staticScale(xq); s != 0 {
		name, _, err := q.bias(b, s, wq)
		return name, err
	}
	bscale, div, rounded, out := q.name(b+"_bias_scale"), q.name(b+"_div"), q.name(b+"_round"), q.name(b+"_quantized")
	q.emit("Mul", bscale, []string{xq.scale, wq.scale}, []string{bscale})
	q.emit("Div", div, []string{b, bscale}, []string{div})
	if q.g.Opset("") >= 11 {
		q.emit("Round", rounded, []string{div}, []string{rounded})
	} else {
		half, err := q.addInit(b+"_half", tensor.Scalar(float32(0.5)))
		if err != nil {
			return "", err
		}
		shifted := q.name(b + "_shift")
		q.emit("Add", shifted, []string{div, half}, []string{shifted})
		q.emit("Floor", rounded, []string{shifted}, []string{rounded})
	}
	q.emit("Cast", out, []string{rounded}, []string{out}, graph.AttrInt("to", int64(tensor.Int32)))
	return out, nil
}

func cloneAttrs(n *graph.Node) []*onnx.AttributeProto {
	var out []*onnx.AttributeProto
	for _, a := range n.Proto().GetAttribute() {
		out = append(out, proto.Clone(a).(*onnx.AttributeProto))
	}
	return out
}

// matMulWeightAxis returns the per-channel axis of a MatMul's constant B
// (its last axis, for a 2-D weight), or -1.
func (q *quantizer) matMulWeightAxis(b string) int {
	if !q.cfg.PerChannel {
		return -1
	}
	if t, ok := q.constant(b); ok && len(t.Shape) == 2 {
		return 1
	}
	return -1
}

// qlinearMatMul: MatMul -> QLinearMatMul; a constant B is quantized as a
// weight (per column when per-channel), any other operand as an activation.
func (q *quantizer) qlinearMatMul(n *graph.Node) (string, error) {
	if err := q.checkQLinearTypes(); err != nil {
		return "", err
	}
	a, b := n.Input(0), n.Input(1)
	for _, v := range []string{a, b} {
		if !q.isFloat(v) && q.qv[v] == nil {
			return "an input is not float32", nil
		}
	}
	outName, folded, yq, err := q.foldedOutput(n)
	if err != nil {
		return "", err
	}
	aq, err := q.qOperand(a, n)
	if err != nil {
		return "", err
	}
	var bq *qvalue
	if q.isConstFloat(b) {
		bq, err = q.weight(b, q.matMulWeightAxis(b))
	} else {
		bq, err = q.qActivation(b, n)
	}
	if err != nil {
		return "", err
	}
	q.emit("QLinearMatMul", n.Name()+"_quant", []string{aq.q, aq.scale, aq.zp, bq.q, bq.scale, bq.zp, yq.scale, yq.zp}, []string{yq.q})
	q.produced(outName, yq)
	q.quantized(n, "QLinearMatMul"+foldNote(folded))
	return "", nil
}

// qlinearGemm: Gemm (alpha = beta = 1, A not transposed, constant B) ->
// com.microsoft QGemm with an int32 bias.
func (q *quantizer) qlinearGemm(n *graph.Node) (string, error) {
	if err := q.checkQLinearTypes(); err != nil {
		return "", err
	}
	if n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 {
		return "alpha or beta is not 1", nil
	}
	a, b, c := n.Input(0), n.Input(1), n.Input(2)
	if !q.isFloat(a) && q.qv[a] == nil {
		return "input is not float32", nil
	}
	if !q.isConstFloat(b) {
		return "B is not a float32 constant", nil
	}
	if c != "" && !q.isConstFloat(c) {
		return "C is not a float32 constant", nil
	}
	if c != "" {
		if t, _ := q.constant(c); t.Rank() > 1 && t.Shape[0] != 1 {
			return "C is not a bias vector", nil
		}
	}
	outName, folded, yq, err := q.foldedOutput(n)
	if err != nil {
		return "", err
	}
	aq, err := q.qActivation(a, n)
	if err != nil {
		return "", err
	}
	if !q.cfg.Static {
		q.unfold(folded)
		return "dynamic QGemm needs a static bias scale", nil
	}
	axis := -1
	if q.cfg.PerChannel {
		axis = 1
		if n.AttrInt("transB", 0) != 0 {
			axis = 0
		}
	}
	bq, err := q.weightWithBias(b, axis, c, staticScale(aq))
	if err != nil {
		return "", err
	}
	inputs := []string{aq.q, aq.scale, aq.zp, bq.q, bq.scale, bq.zp, "", yq.scale, yq.zp}
	if c != "" {
		cq, err := q.qBias(c, aq, bq)
		if err != nil {
			return "", err
		}
		inputs[6] = cq
	}
	attrs := []*onnx.AttributeProto{graph.AttrFloat("alpha", 1), graph.AttrInt("transA", n.AttrInt("transA", 0)), graph.AttrInt("transB", n.AttrInt("transB", 0))}
	q.emitIn("com.microsoft", "QGemm", n.Name()+"_quant", inputs, []string{yq.q}, attrs...)
	q.produced(outName, yq)
	q.quantized(n, "QGemm"+foldNote(folded))
	return "", nil
}

// qlinearBinary: Add/Mul -> com.microsoft QLinearAdd/QLinearMul.
func (q *quantizer) qlinearBinary(n *graph.Node) (string, error) {
	a, b := n.Input(0), n.Input(1)
	for _, v := range []string{a, b} {
		if !q.isFloat(v) && q.qv[v] == nil {
			return "an input is not float32", nil
		}
	}
	if !q.cfg.Static {
		return "needs static output parameters", nil
	}
	outName, folded, yq, err := q.foldedOutput(n)
	if err != nil {
		return "", err
	}
	aq, err := q.qOperand(a, n)
	if err != nil {
		return "", err
	}
	bq, err := q.qOperand(b, n)
	if err != nil {
		return "", err
	}
	op := "QLinear" + n.OpType()
	q.emitIn("com.microsoft", op, n.Name()+"_quant", []string{aq.q, aq.scale, aq.zp, bq.q, bq.scale, bq.zp, yq.scale, yq.zp}, []string{yq.q})
	q.produced(outName, yq)
	q.quantized(n, op+foldNote(folded))
	return "", nil
}

// qlinearUnary: pooling and activations with one input -> their
// com.microsoft QLinear counterparts. Softmax's output has the fixed range
// [0, 1): scale 1/256 with zero point 0 (uint8) or -128 (int8).
func (q *quantizer) qlinearUnary(n *graph.Node) (string, error) {
	x := n.Input(0)
	if !q.isFloat(x) && q.qv[x] == nil {
		return "input is not float32", nil
	}
	if !q.cfg.Static {
		return "needs static output parameters", nil
	}
	out := n.Output(0)
	var yq *qvalue
	var err error
	var attrs []*onnx.AttributeProto
	op := "QLinear" + n.OpType()
	switch n.OpType() {
	case "Softmax":
		p := Params{Type: q.cfg.activationType(), Scale: []float32{1.0 / 256}, ZeroPoint: []int32{0}}
		if p.Type == tensor.Int8 {
			p.ZeroPoint[0] = -128
		}
		yq, err = q.qOutputWith(out, p)
		axis := int64(1)
		if q.g.Opset("") >= 13 {
			axis = -1
		}
		attrs = []*onnx.AttributeProto{graph.AttrInt("axis", n.AttrInt("axis", axis)), graph.AttrInt("opset", q.g.Opset(""))}
	case "GlobalAveragePool":
		yq, err = q.qOutput(out, n)
		attrs = []*onnx.AttributeProto{graph.AttrInt("channels_last", 0)}
	case "AveragePool":
		if n.AttrInt("ceil_mode", 0) != 0 {
			return "ceil_mode is not supported by QLinearAveragePool", nil
		}
		yq, err = q.qOutput(out, n)
		attrs = append(cloneAttrs(n), graph.AttrInt("channels_last", 0))
	default: // Sigmoid, LeakyRelu
		yq, err = q.qOutput(out, n)
		attrs = cloneAttrs(n)
	}
	if err != nil {
		return "", err
	}
	xq, err := q.qActivation(x, n)
	if err != nil {
		return "", err
	}
	q.emitIn("com.microsoft", op, n.Name()+"_quant", []string{xq.q, xq.scale, xq.zp, yq.scale, yq.zp}, []string{yq.q}, attrs...)
	q.produced(out, yq)
	q.quantized(n, op)
	return "", nil
}

// qlinearConcat: Concat of 8-bit inputs with one set of parameters is a
// plain Concat; otherwise com.microsoft QLinearConcat rescales.
func (q *quantizer) qlinearConcat(n *graph.Node) (string, error) {
	if why, err := q.qlinearPassThrough(n); why == "" || err != nil {
		return why, err
	}
	if !q.cfg.Static {
		return "needs static output parameters", nil
	}
	for _, v := range n.Inputs() {
		if !q.isFloat(v) && q.qv[v] == nil {
			return "an input is not float32", nil
		}
	}
	out := n.Output(0)
	yq, err := q.qOutput(out, n)
	if err != nil {
		return "", err
	}
	inputs := []string{yq.scale, yq.zp}
	for _, v := range n.Inputs() {
		vq, err := q.qOperand(v, n)
		if err != nil {
			return "", err
		}
		inputs = append(inputs, vq.q, vq.scale, vq.zp)
	}
	q.emitIn("com.microsoft", "QLinearConcat", n.Name()+"_quant", inputs, []string{yq.q}, graph.AttrInt("axis", n.AttrInt("axis", 0)))
	q.produced(out, yq)
	q.quantized(n, "QLinearConcat")
	return "", nil
}

// qlinearPassThrough runs a data movement op directly on an 8-bit tensor
// that exists only in 8-bit form, so no DequantizeLinear/QuantizeLinear
// pair surrounds it; its output keeps the input's scale and zero point.
func (q *quantizer) qlinearPassThrough(n *graph.Node) (string, error) {
	data := n.Inputs()[:1]
	if n.OpType() == "Concat" {
		data = n.Inputs()
	}
	var first *qvalue
	for _, v := range data {
		qv, ok := q.qv[v]
		if !ok || q.floatOK[v] {
			return "input is not 8-bit", nil
		}
		if first != nil && !sameParams(first.p, qv.p) {
			return "inputs have different quantization parameters", nil
		}
		if first == nil {
			first = qv
		}
	}
	if len(first.p.Scale) != 1 {
		return "input parameters are not static", nil
	}
	if why := q.passThroughOK(n); why != "" {
		return why, nil
	}
	inputs := n.Inputs()
	for i := range data {
		inputs[i] = q.qv[data[i]].q
	}
	if n.OpType() == "Pad" {
		zp, err := q.addInit(n.Output(0)+"_pad_value", zeroPointTensor(Params{Type: first.p.Type, ZeroPoint: first.p.ZeroPoint[:1]}))
		if err != nil {
			return "", err
		}
		for len(inputs) < 3 {
			inputs = append(inputs, "")
		}
		inputs[2] = zp
	}
	var outputs []string
	for _, o := range n.Outputs() {
		if o == "" {
			outputs = append(outputs, "")
			continue
		}
		yq := &qvalue{q: q.name(o + "_quantized"), scale: first.scale, zp: first.zp, p: first.p}
		outputs = append(outputs, yq.q)
		q.produced(o, yq)
	}
	q.emit(n.OpType(), n.Name()+"_quant", inputs, outputs, cloneAttrs(n)...)
	q.quantized(n, "8-bit "+n.OpType())
	return "", nil
}

// passThroughOK checks op-specific conditions for running on 8-bit data.
func (q *quantizer) passThroughOK(n *graph.Node) string {
	switch n.OpType() {
	case "MaxPool":
		if q.g.Opset("") < 12 {
			return "8-bit MaxPool needs opset 12"
		}
		if n.NumOutputs() > 1 && n.Output(1) != "" {
			return "MaxPool indices output"
		}
	case "Resize":
		if n.AttrString("mode", "nearest") != "nearest" {
			return "only nearest Resize carries 8-bit values exactly"
		}
	case "Pad":
		if q.g.Opset("") < 11 {
			return "8-bit Pad needs opset 11"
		}
		if n.AttrString("mode", "constant") != "constant" {
			return ""
		}
		if v := n.Input(2); v != "" {
			t, ok := q.constant(v)
			if !ok {
				return "pad value is not constant"
			}
			f, err := scalarFloat(t)
			if err != nil || f != 0 {
				return "pad value is not 0"
			}
		}
	}
	return ""
}

func sameParams(a, b Params) bool {
	if a.Type != b.Type || len(a.Scale) != len(b.Scale) {
		return false
	}
	for i := range a.Scale {
		if a.Scale[i] != b.Scale[i] || a.ZeroPoint[i] != b.ZeroPoint[i] {
			return false
		}
	}
	return true
}

// scalarFloat returns the single value of a numeric tensor as float32.
func scalarFloat(t *tensor.Tensor) (float32, error) {
	if t.Len() != 1 {
		return 0, fmt.Errorf("not a scalar")
	}
	f, err := tensor.Convert(t, tensor.Float32)
	if err != nil {
		return 0, err
	}
	return f.Data.([]float32)[0], nil
}
