package quantize_test

import (
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestPerChannelWeightsShareZeroPoint checks that per-channel weights get
// one zero point for all channels in every format and weight type: ONNX
// Runtime's ConvInteger takes a single one, and its QLinearConv (and the
// QDQ fusion into it) has fast kernels only for a zero point common to all
// channels (with per-channel uint8 zero points fastestdet ran over ten
// times slower in ONNX Runtime 1.30; older versions refuse them).
func TestPerChannelWeightsShareZeroPoint(t *testing.T) {
	m, err := onnx.Load(testenv.DataFile(t, "models", "mnist-8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// zero-point inputs per op type
	zpInputs := map[string][]int{
		"QLinearConv": {2, 5, 7}, "QLinearMatMul": {2, 5, 7}, "ConvInteger": {2, 3},
		"MatMulInteger": {2, 3}, "DequantizeLinear": {2}, "QuantizeLinear": {2},
	}
	for _, c := range []struct {
		name string
		cfg  quantize.Config
	}{
		{"qlinear-u8", quantize.Config{Format: quantize.QLinearOps, Static: true, WeightType: tensor.Uint8}},
		{"qlinear-s8", quantize.Config{Format: quantize.QLinearOps, Static: true, WeightType: tensor.Int8}},
		{"qdq-u8", quantize.Config{Format: quantize.QDQ, Static: true, WeightType: tensor.Uint8}},
		{"integer-u8", quantize.Config{Format: quantize.IntegerOps, WeightType: tensor.Uint8}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.PerChannel = true
			if cfg.Static {
				names, err := quantize.TensorsToCalibrate(m, cfg)
				if err != nil {
					t.Fatal(err)
				}
				cfg.Params = map[string]quantize.TensorParams{}
				for _, n := range names {
					cfg.Params[n] = quantize.TensorParams{Min: -1, Max: 3, HasRange: true}
				}
			}
			q, _, err := quantize.Model(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			inits := map[string]*onnx.TensorProto{}
			for _, in := range q.GetGraph().GetInitializer() {
				inits[in.GetName()] = in
			}
			perChannel := 0
			for _, n := range q.GetGraph().GetNode() {
				for _, i := range zpInputs[n.GetOpType()] {
					if i >= len(n.GetInput()) || inits[n.GetInput()[i]] == nil {
						continue
					}
					zp, err := tensor.FromProto(inits[n.GetInput()[i]])
					if err != nil {
						t.Fatal(err)
					}
					v, err := tensor.Int64s(zp)
					if err != nil {
						t.Fatal(err)
					}
					if len(v) < 2 {
						continue
					}
					perChannel++
					for j := range v {
						if v[j] != v[0] {
							t.Fatalf("node %q (%s): zero point %q differs across channels: %v", n.GetName(), n.GetOpType(), n.GetInput()[i], zp.Data)
						}
					}
				}
			}
			if perChannel == 0 && c.cfg.Format != quantize.IntegerOps {
				t.Fatal("no per-channel zero point found: the check checked nothing")
			}
		})
	}
}

// TestNoteOnSaturatingWeights checks that int8 weights with uint8
// activations at full range come with a note on ONNX Runtime's saturating
// products on CPUs without VNNI, and that reduce_range or uint8 weights do
// not.
func TestNoteOnSaturatingWeights(t *testing.T) {
	m, err := onnx.Load(testenv.DataFile(t, "models", "mnist-8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		wt     tensor.DataType
		reduce bool
		note   bool
	}{
		{tensor.Int8, false, true}, {tensor.Int8, true, false}, {tensor.Uint8, false, false},
	} {
		_, rep, err := quantize.Model(m, quantize.Config{Format: quantize.IntegerOps, WeightType: c.wt, ReduceRange: c.reduce})
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(strings.Join(rep.Notes, "\n"), "VPMADDUBSW")
		if got != c.note {
			t.Errorf("weights %v, reduce range %v: note present %v, want %v (notes: %q)", c.wt, c.reduce, got, c.note, rep.Notes)
		}
	}
}
