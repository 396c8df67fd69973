package quantize

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/graph"
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
func foldBatchNorms(g *graph.Graph) (int, error) {
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
		w, ok := g.Constant(conv.Input(1))
		if !ok || w.DType != tensor.Float32 || w.Rank() < 3 {
			continue
		}
		params := make([][]float32, 4)
		ok = true
		for i := range params {
			t, isConst := g.Constant(bn.Input(i + 1))
			if !isConst || t.DType != tensor.Float32 || t.Len() != w.Shape[0] {
				ok = false
				break
			}
			params[i] = t.Data.([]float32)
		}
		var bias []float32
		if b := conv.Input(2); b != "" {
			t, isConst := g.Constant(b)
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
		inner := w.Len() / channels
		nw := tensor.New(tensor.Float32, w.Shape...)
		nb := tensor.New(tensor.Float32, channels)
		wd, nwd, nbd := w.Data.([]float32), nw.Data.([]float32), nb.Data.([]float32)
		for c := 0; c < channels; c++ {
			s := float64(gamma[c]) / math.Sqrt(float64(variance[c])+eps)
			for i := c * inner; i < (c+1)*inner; i++ {
				nwd[i] = float32(float64(wd[i]) * s)
			}
			b := 0.0
			if bias != nil {
				b = float64(bias[c])
			}
			nbd[c] = float32((b-float64(mean[c]))*s + float64(beta[c]))
		}
		wName := g.UniqueName(conv.Input(1) + "_bn_folded")
		bName := g.UniqueName(cout + "_bias_bn_folded")
		if err := g.SetInitializer(wName, nw); err != nil {
			return folded, err
		}
		if err := g.SetInitializer(bName, nb); err != nil {
			return folded, err
		}
		out := bn.Output(0)
		if err := g.RemoveNode(bn); err != nil {
			return folded, err
		}
		ins := conv.Inputs()
		for len(ins) < 3 {
			ins = append(ins, "")
		}
		ins[1], ins[2] = wName, bName
		if err := g.SetInputs(conv, ins); err != nil {
			return folded, err
		}
		if err := g.ReplaceOutput(conv, 0, out); err != nil {
			return folded, fmt.Errorf("quantize: folding %s into %s: %w", bn, conv, err)
		}
		folded++
	}
	return folded, nil
}
