package quantize

import (
	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
)

// QDQ rules. The float operator stays; each quantized activation passes
// through a QuantizeLinear/DequantizeLinear pair and each weight is stored
// 8-bit behind a DequantizeLinear, which ONNX Runtime fuses into integer
// kernels:
//
//	x ─Q─DQ─┐
//	W_q ─DQ─┼─▶ Conv ─▶ y_QuantizeLinear_Input ─Q─DQ─▶ y ─▶ readers
//	B_q ─DQ─┘
//
// The pair after a quantized node writes the node's original output name,
// so every reader (and a graph output) sees the quantized values without
// rewiring; a pair made for an input is shared by all quantized readers.

// qdqInput returns the name a quantized reader of activation v uses: v
// itself when v already comes out of a DequantizeLinear, else the output of
// a new (or shared) QuantizeLinear/DequantizeLinear pair.
func (q *quantizer) qdqInput(v string, reader *graph.Node) (string, error) {
	if _, ok := q.qdqParams[v]; ok {
		if name, ok := q.qdq[v]; ok {
			return name, nil
		}
		return v, nil
	}
	p, err := q.activationParams(v, reader)
	if err != nil {
		return "", err
	}
	scale, zp, err := q.paramInits(v, p)
	if err != nil {
		return "", err
	}
	qname, dq := q.name(v+"_QuantizeLinear_Output"), q.name(v+"_DequantizeLinear_Output")
	q.emit("QuantizeLinear", v+"_QuantizeLinear", []string{v, scale, zp}, []string{qname})
	q.emit("DequantizeLinear", v+"_DequantizeLinear", []string{qname, scale, zp}, []string{dq})
	q.qdq[v] = dq
	q.qdqParams[v] = p
	return dq, nil
}

// qdqWeight returns the DequantizeLinear output of a quantized constant.
func (q *quantizer) qdqWeight(w *qvalue, name string, axis int) string {
	dq := q.name(name + "_DequantizeLinear_Output")
	var attrs []*onnx.AttributeProto
	if w.p.PerChannel() {
		attrs = append(attrs, graph.AttrInt("axis", int64(axis)))
	}
	q.emit("DequantizeLinear", name+"_DequantizeLinear", []string{w.q, w.scale, w.zp}, []string{dq}, attrs...)
	return dq
}

// qdqOutputs emits n with its output renamed and a Q/DQ pair writing the
// original name (or the folded activation's output) with parameters p.
func (q *quantizer) qdqEmitWithOutput(n *graph.Node, inputs []string, out string, p Params) error {
	pre := q.name(out + "_QuantizeLinear_Input")
	np := cloneNode(n)
	np.Input = inputs
	np.Output[0] = pre
	q.out = append(q.out, np)
	for _, o := range n.Outputs()[1:] {
		q.floatOK[o] = true
	}
	scale, zp, err := q.paramInits(out, p)
	if err != nil {
		return err
	}
	qname := q.name(out + "_QuantizeLinear_Output")
	q.emit("QuantizeLinear", out+"_QuantizeLinear", []string{pre, scale, zp}, []string{qname})
	q.emit("DequantizeLinear", out+"_DequantizeLinear", []string{qname, scale, zp}, []string{out})
	q.qdqParams[out] = p
	q.floatOK[out] = true
	return nil
}

func cloneNode(n *graph.Node) *onnx.NodeProto {
	np := &onnx.NodeProto{}
	*np = onnx.NodeProto{
		Name: n.Proto().Name, OpType: n.Proto().OpType, Domain: n.Proto().Domain,
		Input: n.Inputs(), Output: n.Outputs(), Attribute: cloneAttrs(n), DocString: n.Proto().DocString,
	}
	return np
}

// qdqWeighted handles Conv, MatMul and Gemm: activations through Q/DQ,
// constant weights 8-bit (per channel when asked), biases int32.
func (q *quantizer) qdqWeighted(n *graph.Node) (string, error) {
	op := n.OpType()
	inputs := n.Inputs()
	x := inputs[0]
	if !q.isFloat(x) {
		return "input is not float32", nil
	}
	wIdx := 1
	w := inputs[wIdx]
	if !q.isFloat(w) {
		return "weight is not float32", nil
	}
	var b string
	if op != "MatMul" && len(inputs) > 2 {
		b = inputs[2]
		if b != "" && !q.isConstFloat(b) {
			b = "" // an activation bias stays float (Gemm C)
		}
	}
	if op == "Gemm" && b != "" {
		if t, _ := q.constant(b); t.Rank() > 1 && t.Shape[0] != 1 {
			b = ""
		}
		if n.AttrFloat("alpha", 1) != 1 || n.AttrFloat("beta", 1) != 1 {
			b = ""
		}
	}
	outName, folded := q.foldActivation(n.Output(0))
	if !q.hasParams(outName) {
		q.unfold(folded)
		outName = n.Output(0)
	}
	yp, err := q.activationParams(outName, n)
	if err != nil {
		q.unfold(folded)
		return "", err
	}
	xdq, err := q.qdqInput(x, n)
	if err != nil {
		return "", err
	}
	xp := q.qdqParams[x]
	newInputs := append([]string(nil), inputs...)
	newInputs[0] = xdq
	if q.isConstFloat(w) {
		axis := -1
		if q.cfg.PerChannel {
			switch op {
			case "Conv":
				axis = 0
			case "MatMul":
				axis = q.matMulWeightAxis(w)
			case "Gemm":
				axis = 1
				if n.AttrInt("transB", 0) != 0 {
					axis = 0
				}
			}
		}
		wq, err := q.weightWithBias(w, axis, b, xp.Scale[0])
		if err != nil {
			return "", err
		}
		newInputs[wIdx] = q.qdqWeight(wq, w, axis)
		if b != "" {
			bq, scales, err := q.bias(b, xp.Scale[0], wq)
			if err != nil {
				return "", err
			}
			bp := Params{Type: 6 /* int32 */, Scale: scales, ZeroPoint: make([]int32, len(scales))}
			bscale, err := q.addInit(b+"_quantized_scale", scaleTensor(bp))
			if err != nil {
				return "", err
			}
			dq := q.name(b + "_DequantizeLinear_Output")
			var attrs []*onnx.AttributeProto
			if bp.PerChannel() {
				attrs = append(attrs, graph.AttrInt("axis", 0))
			}
			q.emit("DequantizeLinear", b+"_DequantizeLinear", []string{bq, bscale}, []string{dq}, attrs...)
			newInputs[2] = dq
		}
	} else {
		wdq, err := q.qdqInput(w, n)
		if err != nil {
			return "", err
		}
		newInputs[wIdx] = wdq
	}
	if err := q.qdqEmitWithOutput(n, newInputs, outName, yp); err != nil {
		return "", err
	}
	q.quantized(n, "QDQ"+foldNote(folded))
	return "", nil
}

// qdqActivations handles ops whose inputs and output are all activations
// (Add, Mul, pooling, Sigmoid, LeakyRelu, Softmax): constant operands are
// quantized like weights, per tensor in the activation type.
func (q *quantizer) qdqActivations(n *graph.Node) (string, error) {
	inputs := n.Inputs()
	for _, v := range inputs {
		if v != "" && !q.isFloat(v) {
			return "an input is not float32", nil
		}
	}
	out := n.Output(0)
	var yp Params
	var err error
	if n.OpType() == "Softmax" {
		yp = Params{Type: q.cfg.activationType(), Scale: []float32{1.0 / 256}, ZeroPoint: []int32{0}}
		if yp.Type == 3 { // int8
			yp.ZeroPoint[0] = -128
		}
	} else if yp, err = q.activationParams(out, n); err != nil {
		return "", err
	}
	newInputs := append([]string(nil), inputs...)
	for i, v := range inputs {
		if v == "" {
			continue
		}
		if q.isConstFloat(v) {
			cq, err := q.qConstActivation(v)
			if err != nil {
				return "", err
			}
			newInputs[i] = q.qdqWeight(cq, v, -1)
			continue
		}
		if newInputs[i], err = q.qdqInput(v, n); err != nil {
			return "", err
		}
	}
	if err := q.qdqEmitWithOutput(n, newInputs, out, yp); err != nil {
		return "", err
	}
	q.quantized(n, "QDQ")
	return "", nil
}

// qdqPassThrough gives a data movement op whose input comes out of a
// quantized node's DequantizeLinear a Q/DQ pair on its output with the same
// parameters, so ONNX Runtime can run it on 8-bit data.
func (q *quantizer) qdqPassThrough(n *graph.Node) (string, error) {
	data := n.Inputs()[:1]
	if n.OpType() == "Concat" {
		data = n.Inputs()
	}
	var p *Params
	for _, v := range data {
		vp, ok := q.qdqParams[v]
		if !ok {
			return "input is not quantized", nil
		}
		if p != nil && !sameParams(*p, vp) {
			return "inputs have different quantization parameters", nil
		}
		p = &vp
	}
	if why := q.passThroughOK(n); why != "" {
		return why, nil
	}
	if n.NumOutputs() != 1 {
		return "several outputs", nil
	}
	if err := q.qdqEmitWithOutput(n, n.Inputs(), n.Output(0), *p); err != nil {
		return "", err
	}
	q.quantized(n, "QDQ "+n.OpType())
	return "", nil
}
