//go:build cgo

package evaluate_test

import (
	"context"
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/quantize"
)

// TestEvalORT runs Eval on ONNX Runtime and checks it against the same
// evaluation on the pure-Go engine: both engines run the float model alike
// (same answers on all but a digit or so), and the quantized model's error
// is of the same size.
func TestEvalORT(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	const n = 100
	m := mnist8(t)
	qm := quantizeMinMax(t, m, quantize.Config{Format: quantize.QDQ, Static: true}, digits(t, m, 30), nil)
	reps := map[string]*evaluate.EvalReport{}
	for _, eng := range []string{"go", "ort"} {
		r := digits(t, m, n)
		rep, err := evaluate.Eval(context.Background(), m, qm, r, evaluate.EvalOptions{Engine: eng, Threads: 1})
		r.Close()
		if err != nil {
			t.Fatalf("%s: %v", eng, err)
		}
		if rep.Engine != eng || rep.Samples != n || rep.Labelled != n {
			t.Fatalf("%s: report %+v", eng, rep)
		}
		reps[eng] = rep
		t.Logf("%s: SQNR %.2f dB, agreement %.3f, accuracy %.3f -> %.3f, latency %.3f -> %.3f ms", eng,
			rep.Outputs[0].Stats.SQNR(), rep.Top1Agreement, rep.AccuracyFloat, rep.AccuracyQuant, rep.LatencyFloatMS, rep.LatencyQuantMS)
	}
	g, o := reps["go"], reps["ort"]
	if math.Abs(g.AccuracyFloat-o.AccuracyFloat) > 0.011 {
		t.Errorf("float accuracy: go %v, ort %v", g.AccuracyFloat, o.AccuracyFloat)
	}
	if o.Top1Agreement < 0.95 || math.Abs(g.Outputs[0].Stats.SQNR()-o.Outputs[0].Stats.SQNR()) > 2 {
		t.Errorf("quantized model: go %.2f dB agreement %.3f, ort %.2f dB agreement %.3f", g.Outputs[0].Stats.SQNR(), g.Top1Agreement, o.Outputs[0].Stats.SQNR(), o.Top1Agreement)
	}
}
