package quantize

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// quantizer holds the state of one rewrite. The new node list is rebuilt in
// the original topological order: each node is either copied, or replaced
// by the nodes its format's rule emits.
type quantizer struct {
	cfg   *Config
	g     *graph.Graph
	rep   *Report
	rules *ruleSet

	out         []*onnx.NodeProto
	inits       []*onnx.TensorProto
	usesContrib bool

	// qv holds the 8-bit form of a tensor (QOperator and IntegerOps).
	qv map[string]*qvalue
	// floatOK says whether a tensor's float form exists in the new graph
	// (QOperator: outputs of QLinear nodes exist only as 8-bit until a
	// float reader asks for them).
	floatOK map[string]bool
	// qdq maps a tensor to the DequantizeLinear output its quantized readers
	// use (QDQ format); qdqParams keeps the parameters used.
	qdq       map[string]string
	qdqParams map[string]Params
	// weights caches quantized constants by name, axis and type.
	weights map[string]*qvalue
	// skip marks Relu/Clip nodes folded into the node before them.
	skip map[*graph.Node]bool
	// folds are the BatchNormalization-folded Conv weights whose values
	// are computed when read (see foldBatchNorms); nil with KeepBatchNorm.
	folds *foldedWeights
	// record, when set, collects the activations whose parameters the
	// rewrite asks for, answering with placeholders (TensorsToCalibrate).
	record map[string]bool
}

// qvalue is a tensor in 8-bit form: the names of the quantized tensor, its
// scale and its zero point, and the parameters when known before running
// (static). Dynamic values have no Params.Scale.
type qvalue struct {
	q, scale, zp string
	p            Params
}

func newQuantizer(cfg *Config, g *graph.Graph, rep *Report) *quantizer {
	q := &quantizer{
		cfg: cfg, g: g, rep: rep, rules: rulesFor(cfg.Format),
		qv: map[string]*qvalue{}, floatOK: map[string]bool{},
		qdq: map[string]string{}, qdqParams: map[string]Params{},
		weights: map[string]*qvalue{}, skip: map[*graph.Node]bool{},
	}
	return q
}

// name returns a fresh value name derived from base.
func (q *quantizer) name(base string) string { return q.g.UniqueName(base) }

// emit appends a node of the default domain.
func (q *quantizer) emit(op, name string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	return q.emitIn("", op, name, inputs, outputs, attrs...)
}

// emitIn appends a node of the given domain, named uniquely from name.
func (q *quantizer) emitIn(domain, op, name string, inputs, outputs []string, attrs ...*onnx.AttributeProto) *onnx.NodeProto {
	n := &onnx.NodeProto{OpType: proto.String(op), Name: proto.String(q.name(name)), Input: inputs, Output: outputs, Attribute: attrs}
	if domain != "" {
		n.Domain = proto.String(domain)
		q.usesContrib = true
	}
	q.out = append(q.out, n)
	return n
}

// addInit stores t as a new initializer named uniquely from base.
func (q *quantizer) addInit(base string, t *tensor.Tensor) (string, error) {
	name := q.name(base)
	// The tensor is ours and never changed again: no need to copy it.
	tp, err := tensor.ToProtoShared(t, name)
	if err != nil {
		return "", fmt.Errorf("quantize: initializer %q: %w", name, err)
	}
	q.inits = append(q.inits, tp)
	return name, nil
}

// scaleTensor and zeroPointTensor encode parameters: a scalar per tensor,
// a 1-D vector per channel.
func scaleTensor(p Params) *tensor.Tensor {
	if p.PerChannel() {
		return tensor.FromSlice([]int{len(p.Scale)}, append([]float32(nil), p.Scale...))
	}
	return tensor.Scalar(p.Scale[0])
}

func zeroPointTensor(p Params) *tensor.Tensor {
	var shape []int
	if p.PerChannel() {
		shape = []int{len(p.ZeroPoint)}
	}
	t := tensor.New(p.Type, shape...)
	for i, z := range p.ZeroPoint {
		switch d := t.Data.(type) {
		case []uint8:
			d[i] = uint8(z)
		case []int8:
			d[i] = int8(z)
		case []int32:
			d[i] = z
		}
	}
	return t
}

// paramInits stores scale and zero point initializers for tensor v.
func (q *quantizer) paramInits(v string, p Params) (scale, zp string, err error) {
	if scale, err = q.addInit(v+"_scale", scaleTensor(p)); err != nil {
		return "", "", err
	}
	zp, err = q.addInit(v+"_zero_point", zeroPointTensor(p))
	return scale, zp, err
}

// activationParams returns the static parameters of activation v in the
// configured activation type, from the configuration's parameters.
func (q *quantizer) activationParams(v string, reader *graph.Node) (Params, error) {
	at := q.cfg.activationType()
	if q.record != nil {
		// Distinct placeholders, so that no two tensors look alike and
		// every rule takes its most demanding path (QLinearConcat rather
		// than a plain Concat): the recorded set covers any real values.
		q.record[v] = true
		return Params{Type: at, Scale: []float32{1 + float32(len(q.record))/1024}, ZeroPoint: []int32{0}}, nil
	}
	tp, ok := q.cfg.Params[v]
	if !ok {
		where := ""
		if reader != nil {
			where = fmt.Sprintf(" (read by node %s)", reader)
		}
		return Params{}, fmt.Errorf("quantize: no quantization parameters for tensor %q%s: give them in the parameters file or calibrate the model", v, where)
	}
	r, err := Range(at, q.cfg.SymmetricActivations, false)
	if err != nil {
		return Params{}, err
	}
	if tp.HasRange {
		s, z, err := ComputeScaleZeroPoint(tp.Min, tp.Max, r, q.cfg.SymmetricActivations)
		if err != nil {
			return Params{}, fmt.Errorf("quantize: tensor %q: %w", v, err)
		}
		return Params{Type: at, Scale: []float32{s}, ZeroPoint: []int32{z}}, nil
	}
	full, _ := Range(at, false, false)
	if tp.Type != tensor.Undefined && tp.Type != at {
		return Params{}, fmt.Errorf("quantize: tensor %q: the parameters file gives a %v zero point, but activations are %v", v, tp.Type, at)
	}
	if tp.ZeroPoint < full.Min || tp.ZeroPoint > full.Max {
		return Params{}, fmt.Errorf("quantize: tensor %q: zero point %d is out of the %v range [%d, %d]", v, tp.ZeroPoint, at, full.Min, full.Max)
	}
	return Params{Type: at, Scale: []float32{tp.Scale}, ZeroPoint: []int32{tp.ZeroPoint}}, nil
}

// hasParams reports whether static parameters are available for v.
func (q *quantizer) hasParams(v string) bool {
	if q.record != nil {
		return true
	}
	_, ok := q.cfg.Params[v]
	return ok
}

// weightOptions returns the options for quantizing a weight along axis (-1:
// per tensor).
func (q *quantizer) weightOptions(axis int) WeightOptions {
	wt := q.cfg.weightType()
	sym := q.cfg.SymmetricWeights
	if axis >= 0 {
		// Per-channel weights are symmetric, so that every channel has
		// the same zero point (0 for int8, 127 for uint8). ONNX Runtime's
		// integer convolutions need that: ConvInteger takes one weight
		// zero point, QLinearConv's fast kernels (and its QDQ fusion) one
		// for all channels. With per-channel uint8 zero points, ONNX
		// Runtime 1.30 ran fastestdet-coco-352 more than ten times slower
		// than with symmetric ones, and older versions refuse them
		// ("filter zero point must be constant").
		sym = true
	}
	return WeightOptions{Type: wt, Symmetric: sym, Reduce: q.cfg.ReduceRange, Axis: axis}
}

// weight quantizes the float32 constant v (per tensor, or per channel along
// axis) into an initializer, once per (v, axis).
func (q *quantizer) weight(v string, axis int) (*qvalue, error) {
	key := weightKey(v, axis)
	if w, ok := q.weights[key]; ok {
		return w, nil
	}
	t, ok := q.constant(v)
	if !ok || t.DType != tensor.Float32 {
		return nil, fmt.Errorf("quantize: %q is not a float32 constant", v)
	}
	o := q.weightOptions(axis)
	p, err := ChooseWeightParams(t, o)
	if err != nil {
		return nil, fmt.Errorf("quantize: weight %q: %w", v, err)
	}
	return q.storeWeight(v, key, t, p)
}

// weightKey is the key of weight v quantized along axis in q.weights.
func weightKey(v string, axis int) string { return fmt.Sprintf("%s\x00%d", v, axis) }

func (q *quantizer) storeWeight(v, key string, t *tensor.Tensor, p Params) (*qvalue, error) {
	qt, err := QuantizeWeight(t, p)
	if err != nil {
		return nil, fmt.Errorf("quantize: weight %q: %w", v, err)
	}
	w := &qvalue{p: p}
	if w.q, err = q.addInit(v+"_quantized", qt); err != nil {
		return nil, err
	}
	if w.scale, w.zp, err = q.paramInits(v, p); err != nil {
		return nil, err
	}
	q.weights[key] = w
	return w, nil
}

// weightWithBias quantizes weight w along axis and, when bias b is given,
// enlarges the weight scales as needed so that the int32 bias (scale
// inputScale * weight scale) cannot overflow.
func (q *quantizer) weightWithBias(w string, axis int, b string, inputScale float32) (*qvalue, error) {
	if b == "" || inputScale == 0 {
		return q.weight(w, axis)
	}
	t, ok := q.constant(w)
	if !ok || t.DType != tensor.Float32 {
		return nil, fmt.Errorf("quantize: %q is not a float32 constant", w)
	}
	bt, ok := q.constant(b)
	if !ok || bt.DType != tensor.Float32 {
		return q.weight(w, axis)
	}
	o := q.weightOptions(axis)
	p, err := ChooseWeightParams(t, o)
	if err != nil {
		return nil, fmt.Errorf("quantize: weight %q: %w", w, err)
	}
	r, _ := Range(o.Type, o.Symmetric, o.Reduce)
	lo, hi := channelRanges(t, axis, len(p.Scale))
	adj, changed := FitBias(bt.Data.([]float32), inputScale, p, o.Symmetric, r, lo, hi)
	if changed {
		q.rep.Notes = append(q.rep.Notes, fmt.Sprintf("enlarged the scale of weight %q so that bias %q fits in int32", w, b))
		key := fmt.Sprintf("%s\x00%d\x00bias %s %g", w, axis, b, inputScale)
		if cached, ok := q.weights[key]; ok {
			return cached, nil
		}
		return q.storeWeight(w, key, t, adj)
	}
	// As q.weight(w, axis), without choosing the same parameters again.
	key := weightKey(w, axis)
	if cached, ok := q.weights[key]; ok {
		return cached, nil
	}
	return q.storeWeight(w, key, t, p)
}

// channelRanges returns per-channel (or whole-tensor) minimum and maximum.
func channelRanges(t *tensor.Tensor, axis, channels int) (lo, hi []float32) {
	data := t.Data.([]float32)
	lo = make([]float32, channels)
	hi = make([]float32, channels)
	for c := range lo {
		lo[c], hi[c] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	inner := len(data)
	if axis >= 0 {
		inner = tensor.NumElements(t.Shape[axis+1:])
	}
	if inner == 0 {
		return lo, hi
	}
	// Element i is in channel (i / inner) % channels: channels in
	// parallel, each one's runs of inner elements in order.
	step := inner * channels
	parallel.For(channels, max(1, parallelGrain*channels/max(1, len(data))), 0, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			l, h := lo[c], hi[c]
			for start := c * inner; start < len(data); start += step {
				for _, v := range data[start : start+inner] {
					l = min(l, v)
					h = max(h, v)
				}
			}
			lo[c], hi[c] = l, h
		}
	})
	return lo, hi
}

// bias quantizes the float32 constant bias b to int32 with scales
// inputScale * weight scales, as an initializer.
func (q *quantizer) bias(b string, inputScale float32, w *qvalue) (string, []float32, error) {
	t, ok := q.constant(b)
	if !ok || t.DType != tensor.Float32 {
		return "", nil, fmt.Errorf("quantize: bias %q is not a float32 constant", b)
	}
	scales := BiasScales(inputScale, w.p)
	qt, err := QuantizeBias(t, scales)
	if err != nil {
		return "", nil, fmt.Errorf("quantize: bias %q: %w", b, err)
	}
	name, err := q.addInit(b+"_quantized", qt)
	return name, scales, err
}

// constant returns the value of constant v (see graph.Graph.Constant),
// computing a pending folded weight. Do not modify it.
func (q *quantizer) constant(v string) (*tensor.Tensor, bool) {
	return q.folds.constant(q.g, v)
}

// isConstFloat reports whether v is a float32 constant.
func (q *quantizer) isConstFloat(v string) bool {
	if q.folds.isPending(v) {
		return true
	}
	t, ok := q.constant(v)
	return ok && t.DType == tensor.Float32
}
