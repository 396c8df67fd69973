package quantize

import (
	"fmt"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/tensor"
)

// IntegerOps rules. The integer op computes an int32 result that is turned
// back into float right away, so every output keeps its float name:
//
//	x ─DynamicQuantizeLinear─▶ x_q, x_scale, x_zp ─┐
//	W_q, W_zp ─────────────────────────────────────┴▶ ConvInteger ─▶ Cast(float) ─▶ Mul(x_scale·W_scale) ─▶ Add(B) ─▶ y

// integerConv: Conv -> ConvInteger + rescale + bias.
func (q *quantizer) integerConv(n *graph.Node) (string, error) {
	x, w, b := n.Input(0), n.Input(1), n.Input(2)
	if !q.isFloat(x) {
		return "input is not float32", nil
	}
	if !q.isConstFloat(w) {
		return "weight is not a float32 constant", nil
	}
	if b != "" && !q.isConstFloat(b) {
		return "bias is not a float32 constant", nil
	}
	wt, _ := q.constant(w)
	xq, err := q.qActivation(x, n)
	if err != nil {
		return "", err
	}
	axis := -1
	if q.cfg.PerChannel {
		axis = 0
	}
	wq, err := q.weight(w, axis)
	if err != nil {
		return "", err
	}
	wzp := wq.zp
	if wq.p.PerChannel() {
		// One zero point for all channels (symmetric ranges), as ONNX
		// Runtime's ConvInteger requires.
		if wzp, err = q.addInit(w+"_zero_point_scalar", zeroPointTensor(Params{Type: wq.p.Type, ZeroPoint: wq.p.ZeroPoint[:1]})); err != nil {
			return "", err
		}
	}
	acc := q.name(n.Output(0) + "_int32")
	q.emit("ConvInteger", n.Name()+"_quant", []string{xq.q, wq.q, xq.zp, wzp}, []string{acc}, cloneAttrs(n)...)
	// The weight scale broadcasts over the output channel: [C, 1, ..., 1].
	bshape := make([]int, len(wt.Shape)-1)
	for i := range bshape {
		bshape[i] = 1
	}
	bshape[0] = wt.Shape[0]
	return q.integerRescale(n, acc, xq, wq, bshape, b)
}

// integerRescale turns the int32 accumulator into the float output:
// Cast, multiply by x_scale * w_scale (w_scale reshaped to bshape when per
// channel), add the bias (reshaped to bshape).
func (q *quantizer) integerRescale(n *graph.Node, acc string, xq, wq *qvalue, bshape []int, b string) (string, error) {
	out := n.Output(0)
	f := q.name(out + "_float")
	q.emit("Cast", f, []string{acc}, []string{f}, graph.AttrInt("to", int64(tensor.Float32)))
	wscale := wq.scale
	if wq.p.PerChannel() {
		t := tensor.FromSlice(bshape, append([]float32(nil), wq.p.Scale...))
		var err error
		if wscale, err = q.addInit(wq.scale+"_reshaped", t); err != nil {
			return "", err
		}
	}
	var scale string
	if s := staticScale(xq); s != 0 {
		vals := make([]float32, len(wq.p.Scale))
		for i, ws := range wq.p.Scale {
			vals[i] = s * ws
		}
		var t *tensor.Tensor
		if len(vals) == 1 {
			t = tensor.Scalar(vals[0])
		} else {
			t = tensor.FromSlice(bshape, vals)
		}
		var err error
		if scale, err = q.addInit(out+"_output_scale", t); err != nil {
			return "", err
		}
	} else {
		scale = q.name(out + "_output_scale")
		q.emit("Mul", scale, []string{xq.scale, wscale}, []string{scale})
	}
	if b == "" {
		q.emit("Mul", out+"_rescale", []string{f, scale}, []string{out})
	} else {
		scaled := q.name(out + "_scaled")
		q.emit("Mul", scaled, []string{f, scale}, []string{scaled})
		bias := b
		if bt, ok := q.constant(b); ok && len(bshape) > 1 && bt.Len() == bshape[0] {
			var err error
			if bias, err = q.addInit(b+"_reshaped", tensor.FromSlice(bshape, append([]float32(nil), bt.Data.([]float32)...))); err != nil {
				return "", err
			}
		}
		q.emit("Add", out+"_bias", []string{scaled, bias}, []string{out})
	}
	q.floatOK[out] = true
	q.quantized(n, fmt.Sprintf("%sInteger", integerOpName(n.OpType())))
	return "", nil
}

func integerOpName(op string) string {
	if op == "Conv" {
		return "Conv"
	}
	return "MatMul"
}

// integerMatMul: MatMul -> MatMulInteger + rescale; a constant B is
// quantized as a weight (per column when per-channel).
func (q *quantizer) integerMatMul(n *graph.Node) (string, error) {
	a, b := n.Input(0), n.Input(1)
	if !q.isFloat(a) || !q.isFloat(b) {
		return "an input is not float32", nil
	}
	if q.isConstFloat(a) {
		return "A is a constant", nil
	}
	aq, err := q.qActivation(a, n)
	if err != nil {
		return "", err
	}
	var bq *qvalue
	var bshape []int
	if q.isConstFloat(b) {
		axis := q.matMulWeightAxis(b)
		if bq, err = q.weight(b, axis); err != nil {
			return "", err
		}
		if axis >= 0 {
			bt, _ := q.constant(b)
			bshape = []int{bt.Shape[1]}
		}
	} else if bq, err = q.qActivation(b, n); err != nil {
		return "", err
	}
	acc := q.name(n.Output(0) + "_int32")
	q.emit("MatMulInteger", n.Name()+"_quant", []string{aq.q, bq.q, aq.zp, bq.zp}, []string{acc})
	return q.integerRescale(n, acc, aq, bq, bshape, "")
}

// integerGemm: Gemm with constant B and A not transposed -> MatMulInteger
// on B (transposed at build time when transB), times alpha, plus beta * C.
func (q *quantizer) integerGemm(n *graph.Node) (string, error) {
	a, b, c := n.Input(0), n.Input(1), n.Input(2)
	if n.AttrInt("transA", 0) != 0 {
		return "transA is not supported", nil
	}
	if !q.isFloat(a) || q.isConstFloat(a) {
		return "A is not a float32 activation", nil
	}
	if !q.isConstFloat(b) {
		return "B is not a float32 constant", nil
	}
	if c != "" && !q.isConstFloat(c) {
		return "C is not a float32 constant", nil
	}
	alpha, beta := n.AttrFloat("alpha", 1), n.AttrFloat("beta", 1)
	bt, _ := q.constant(b)
	if bt.Rank() != 2 {
		return "B is not 2-D", nil
	}
	wname := b
	if n.AttrInt("transB", 0) != 0 {
		// Store B transposed as a new constant: MatMulInteger has no transB.
		// It goes in the graph, where q.weight reads it; the float copy
		// is not written out (unused, it is removed with the others).
		wname = q.name(b + "_transposed")
		tp, err := tensor.ToProtoShared(transpose2D(bt), wname) // ours, never modified: no copy
		if err != nil {
			return "", fmt.Errorf("quantize: initializer %q: %w", wname, err)
		}
		if err := q.g.SetInitializerProto(tp); err != nil {
			return "", err
		}
	}
	aq, err := q.qActivation(a, n)
	if err != nil {
		return "", err
	}
	axis := -1
	if q.cfg.PerChannel {
		axis = 1
	}
	wq, err := q.weight(wname, axis)
	if err != nil {
		return "", err
	}
	wt, _ := q.constant(wname)
	var bshape []int
	if axis >= 0 {
		bshape = []int{wt.Shape[1]}
	}
	acc := q.name(n.Output(0) + "_int32")
	q.emit("MatMulInteger", n.Name()+"_quant", []string{aq.q, wq.q, aq.zp, wq.zp}, []string{acc})
	bias := ""
	if c != "" {
		ct, _ := q.constant(c)
		scaled := ct.Clone()
		for i, v := range scaled.Data.([]float32) {
			scaled.Data.([]float32)[i] = v * beta
		}
		if bias, err = q.addInit(c+"_beta", scaled); err != nil {
			return "", err
		}
	}
	if alpha != 1 {
		wq = &qvalue{q: wq.q, zp: wq.zp, p: wq.p, scale: wq.scale}
		ps := append([]float32(nil), wq.p.Scale...)
		for i := range ps {
			ps[i] *= alpha
		}
		wq.p.Scale = ps
		if wq.scale, err = q.addInit(wname+"_alpha_scale", scaleTensor(wq.p)); err != nil {
			return "", err
		}
	}
	return q.integerRescale(n, acc, aq, wq, bshape, bias)
}

func transpose2D(t *tensor.Tensor) *tensor.Tensor {
	r, c := t.Shape[0], t.Shape[1]
	src := t.Data.([]float32)
	dst := make([]float32, len(src))
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			dst[j*r+i] = src[i*c+j]
		}
	}
	return tensor.FromSlice([]int{c, r}, dst)
}
