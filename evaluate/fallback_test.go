package evaluate_test

import (
	"context"
	"testing"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestFallbackRepairsBrokenLayer quantizes mnist-8 (QDQ) with MinMax
// parameters from 100 digits, except that one convolution's output range is
// given 100 times too small: the SQNR target is missed, and Fallback must
// exclude that convolution first and then meet the target.
func TestFallbackRepairsBrokenLayer(t *testing.T) {
	m, err := onnx.Load(testenv.DataFile(t, "models", "mnist-8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	digits := testenv.DataFile(t, "mnist", "digits")
	data := func(n int) dataset.Source {
		return func() (dataset.Reader, error) {
			r, err := dataset.MNISTDigits(digits, dataset.MNISTOptions{Input: "Input3", Scale: 255})
			if err != nil {
				return nil, err
			}
			return dataset.Limit(r, n), nil
		}
	}
	cfg := quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true}
	names, err := quantize.TensorsToCalibrate(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	lo, hi := map[string]float64{}, map[string]float64{}
	sess, err := engine.New(m, engine.Options{Observer: func(name string, x *tensor.Tensor) {
		d, ok := x.Data.([]float32)
		if !ok || !want[name] {
			return
		}
		l, h, ok := quantize.MinMax(d)
		if !ok {
			return
		}
		if v, seen := lo[name]; !seen || float64(l) < v {
			lo[name] = float64(l)
		}
		if v, seen := hi[name]; !seen || float64(h) > v {
			hi[name] = float64(h)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r, _ := data(100)()
	for {
		s, err := r.Next(context.Background())
		if err != nil {
			break
		}
		if _, err := sess.Run(context.Background(), s.Inputs); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Params = map[string]quantize.TensorParams{}
	for n := range lo {
		cfg.Params[n] = quantize.TensorParams{Min: lo[n], Max: hi[n], HasRange: true}
	}
	// Break the second convolution: its output range 100x too small.
	const broken = "Convolution110_Output_0"
	p, ok := cfg.Params[broken]
	if !ok {
		t.Fatalf("no parameters for %s; calibrated: %v", broken, names)
	}
	p.Min, p.Max = p.Min/100, p.Max/100
	cfg.Params[broken] = p

	var rounds []evaluate.FallbackRound
	_, rep, err := evaluate.Fallback(context.Background(), m, cfg, data(200), evaluate.FallbackOptions{
		TargetSQNR: 25, MaxDrop: -1, DebugSamples: 4,
		Round: func(r evaluate.FallbackRound) { rounds = append(rounds, r) },
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rounds {
		t.Logf("excluded %q (%s): worst SQNR %.1f dB, %d nodes quantized", r.Excluded, r.ExcludedOp, r.WorstSQNR, r.Quantized)
	}
	if !rep.Met {
		t.Fatalf("target not met: %s", rep.Reason)
	}
	if len(rep.Excluded) == 0 || rep.Excluded[0].Name != "Convolution110" {
		t.Errorf("excluded %v first, want Convolution110 (whose output range was broken)", rep.Excluded)
	}
	if rounds[0].WorstSQNR >= 25 {
		t.Errorf("the broken model already met the target (%.1f dB): the test does not test anything", rounds[0].WorstSQNR)
	}
}
