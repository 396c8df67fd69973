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

// foldBatchNorms merges each inference-mode BatchNormalization that is the
// only reader of a Conv's output into that Conv, as ONNX Runtime's graph
// optimizer does before its quantizer runs:
//
//	s = gamma / sqrt(var + epsilon)              (per output channel)
//	W'[c] = W[c] * s[c]
//	B'[c] = (B[c] - mean[c]) * s[c] + beta[c]
//
// The Conv then writes the BatchNormalization's output, so the values after
// it keep their names (and calibration of the original model still applies).
// Without it the 8-bit Conv would be followed by a float BatchNormalization:
// slower, and quantized before the scaling that follows it.
//
// The folded biases are stored right away. The folded weights, as large as
// the model's Conv weights together, are not: each is a placeholder
// initializer (type and shape, no data) whose values the returned
// foldedWeights computes when a rule reads them. Most are quantized and
// never needed in float; foldedWeights.finish writes those still read.
func foldBatchNorms(g *graph.Graph) (*foldedWeights, int, error) {
	fw := &foldedWeights{pending: map[string]*pendingFold{}}
	folded := 0
	for _, bn := range g.Nodes() {
		if bn.OpType() != "BatchNormalization" || bn.Domain() != "" || bn.NumOutputs() != 1 && bn.Output(1) != "" {
			continue
		}
		if bn.AttrInt("training_mode", 0) != 0 {
			continue
		}
		conv := g.Producer(bn.Input(0))
		if conv == nil || conv.OpType() != "Conv" || conv.Graph() != g || conv.Domain() != "" {
			continue
		}
		cout := conv.Output(0)
		if len(g.Consumers(cout)) != 1 || g.IsOutput(cout) {
			continue
		}
		w, ok := fw.constant(g, conv.Input(1))
		if !ok || w.DType != tensor.Float32 || w.Rank() < 3 {
			continue
		}
		if p, isFolded := fw.pending[conv.Input(1)]; isFolded {
			// A second BatchNormalization after the Conv folds into the
			// first fold's values, which must outlive fw's buffer.
			w = p.values(make([]float32, p.w.Len()))
		}
		params := make([][]float32, 4)
		ok = true
		for i := range params {
			t, isConst := fw.constant(g, bn.Input(i+1))
			if !isConst || t.DType != tensor.Float32 || t.Len() != w.Shape[0] {
				ok = false
				break
			}
			params[i] = t.Data.([]float32)
		}
		var bias []float32
		if b := conv.Input(2); b != "" {
			t, isConst := fw.constant(g, b)
			if !isConst || t.DType != tensor.Float32 || t.Len() != w.Shape[0] {
				ok = false
			} else {
				bias = t.Data.([]float32)
			}
		}
		if !ok {
			continue
		}
		gamma, beta, mean, variance := params[0], params[1], params[2], params[3]
		eps := float64(bn.AttrFloat("epsilon", 1e-5))
		channels := w.Shape[0]
		scale := make([]float64, channels)
		nb := tensor.New(tensor.Float32, channels)
		nbd := nb.Data.([]float32)
		for c := range channels {
			s := float64(gamma[c]) / math.Sqrt(float64(variance[c])+eps)
			scale[c] = s
			b := 0.0
			if bias != nil {
				b = float64(bias[c])
			}
			nbd[c] = float32((b-float64(mean[c]))*s + float64(beta[c]))
		}
		wName := g.UniqueName(conv.Input(1) + "_bn_folded")
		bName := g.UniqueName(cout + "_bias_bn_folded")
		placeholder := &onnx.TensorProto{Name: &wName, DataType: proto.Int32(int32(onnx.TensorProto_FLOAT))}
		for _, d := range w.Shape {
			placeholder.Dims = append(placeholder.Dims, int64(d))
		}
		if err := g.SetInitializerProto(placeholder); err != nil {
			return fw, folded, err
		}
		fw.pending[wName] = &pendingFold{w: w, scale: scale}
		fw.maxLen = max(fw.maxLen, w.Len())
		if err := g.SetInitializer(bName, nb); err != nil {
			return fw, folded, err
		}
		out := bn.Output(0)
		if err := g.RemoveNode(bn); err != nil {
			return fw, folded, err
		}
		ins := conv.Inputs()
		for len(ins) < 3 {
			ins = append(ins, "")
		}
		ins[1], ins[2] = wName, bName
		if err := g.SetInputs(conv, ins); err != nil {
			return fw, folded, err
		}
		if err := g.ReplaceOutput(conv, 0, out); err != nil {
			return fw, folded, fmt.Errorf("quantize: folding %s into %s: %w", bn, conv, err)
		}
		folded++
	}
	return fw, folded, nil
}

// pendingFold is a folded Conv weight not computed yet: W'[c] = W[c] * s[c]
// along the first axis.
type pendingFold struct {
	w     *tensor.Tensor // the Conv's original weight, shared with the model
	scale []float64      // s per output channel
}

// values computes the folded weight into dst (as many values as the
// weight has), rounding each product to float32, and returns it as a
// tensor of the weight's shape.
func (p *pendingFold) values(dst []float32) *tensor.Tensor {
	wd := p.w.Data.([]float32)
	dst = dst[:len(wd)]
	inner := len(wd) / len(p.scale)
	parallel.For(len(p.scale), max(1, parallelGrain/max(1, inner)), 0, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			s := p.scale[c]
			for i := c * inner; i < (c+1)*inner; i++ {
				dst[i] = float32(float64(wd[i]) * s)
			}
		}
	})
	return tensor.FromSlice(append([]int(nil), p.w.Shape...), dst)
}

// foldedWeights are the weights of foldBatchNorms still to be computed, by
// initializer name. A nil *foldedWeights holds none.
type foldedWeights struct {
	pending map[string]*pendingFold
	// buf holds the values of the weight named last, the most recently
	// computed: a rule reads its weight several times (range, parameters,
	// quantization), and reusing one buffer for all weights leaves no
	// garbage behind (the folded weights together are about the size of
	// the model).
	buf []float32
	// maxLen is the size of the largest pending weight: buf is made that
	// large once.
	maxLen int
	last   string
	lastT  *tensor.Tensor
}

// isPending reports whether name is a folded weight not written yet.
func (f *foldedWeights) isPending(name string) bool {
	if f == nil {
		return false
	}
	_, ok := f.pending[name]
	return ok
}

// constant is g.Constant for a graph that may hold placeholders of f. The
// value of a pending folded weight is computed into a buffer that the next
// pending weight asked for overwrites: use it before asking for another,
// and keep nothing of it.
func (f *foldedWeights) constant(g *graph.Graph, name string) (*tensor.Tensor, bool) {
	if !f.isPending(name) {
		return g.Constant(name)
	}
	if f.last != name {
		p := f.pending[name]
		if f.buf == nil {
			f.buf = make([]float32, f.maxLen)
		}
		f.lastT, f.last = p.values(f.buf), name
	}
	return f.lastT, true
}

// finish replaces the placeholder of every pending weight that read says
// is still read (a Conv left in float) by its values, removes the other
// placeholders, and forgets them all.
func (f *foldedWeights) finish(g *graph.Graph, read func(name string) bool) error {
	if f == nil {
		return nil
	}
	f.buf, f.last, f.lastT = nil, "", nil
	for name, p := range f.pending {
		if !read(name) {
			g.RemoveInitializer(name)
			continue
		}
		// The values are ours and never modified: no need to copy them.
		tp, err := tensor.ToProtoShared(p.values(make([]float32, p.w.Len())), name)
		if err != nil {
			return fmt.Errorf("quantize: folded weight %q: %w", name, err)
		}
		if err := g.SetInitializerProto(tp); err != nil {
			return fmt.Errorf("quantize: folded weight %q: %w", name, err)
		}
	}
	f.pending = nil
	return nil
}
