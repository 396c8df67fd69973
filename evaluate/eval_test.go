package evaluate_test

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestEvalMNIST8 evaluates mnist-8 against its QDQ quantization on 200
// labelled digits, and checks the report against figures computed here
// from plain runs of both models.
func TestEvalMNIST8(t *testing.T) {
	const n = 200
	m := mnist8(t)
	qm := quantizeMinMax(t, m, quantize.Config{Format: quantize.QDQ, Static: true}, digits(t, m, 50), nil)
	r := digits(t, m, n)
	defer r.Close()
	rep, err := evaluate.Eval(context.Background(), m, qm, r, evaluate.EvalOptions{Warmup: 1})
	if err != nil {
		t.Fatal(err)
	}

	// The reference: every digit through both models, sums in float64.
	fs, err := engine.New(m, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	qs, err := engine.New(qm, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := digits(t, m, n)
	defer ref.Close()
	var sig, noise float64
	var agree, rightF, rightQ, count int
	argmax := func(v []float32) int {
		best := 0
		for i := range v {
			if v[i] > v[best] {
				best = i
			}
		}
		return best
	}
	for {
		s, err := ref.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		fo, err := fs.Run(context.Background(), s.Inputs)
		if err != nil {
			t.Fatal(err)
		}
		qo, err := qs.Run(context.Background(), s.Inputs)
		if err != nil {
			t.Fatal(err)
		}
		x := fo["Plus214_Output_0"].Data.([]float32)
		y := qo["Plus214_Output_0"].Data.([]float32)
		for i := range x {
			sig += float64(x[i]) * float64(x[i])
			noise += (float64(x[i]) - float64(y[i])) * (float64(x[i]) - float64(y[i]))
		}
		a, b := argmax(x), argmax(y)
		if a == b {
			agree++
		}
		if a == s.Label {
			rightF++
		}
		if b == s.Label {
			rightQ++
		}
		count++
	}
	if count != n || rep.Samples != n || rep.Labelled != n {
		t.Fatalf("samples: report %d (labelled %d), reference %d, want %d", rep.Samples, rep.Labelled, count, n)
	}
	if len(rep.Outputs) != 1 || rep.Outputs[0].Name != "Plus214_Output_0" || !rep.Outputs[0].Classifier || rep.Top1Output != "Plus214_Output_0" {
		t.Fatalf("outputs %+v, top-1 output %q", rep.Outputs, rep.Top1Output)
	}
	want := 10 * math.Log10(sig/noise)
	if got := rep.Outputs[0].Stats.SQNR(); !near(got, want, 1e-9) {
		t.Errorf("SQNR %v, want %v", got, want)
	}
	if got := rep.Top1Agreement; got != float64(agree)/n {
		t.Errorf("top-1 agreement %v, want %v", got, float64(agree)/n)
	}
	if rep.AccuracyFloat != float64(rightF)/n || rep.AccuracyQuant != float64(rightQ)/n {
		t.Errorf("accuracy %v / %v, want %v / %v", rep.AccuracyFloat, rep.AccuracyQuant, float64(rightF)/n, float64(rightQ)/n)
	}
	// What 8 bits should give on this model: the float model scores about
	// 99% on these digits (shared data's manifest); a min/max-calibrated
	// 8-bit version should lose at most a few points and keep the logits
	// above 25 dB.
	if want < 25 || rep.Top1Agreement < 0.97 || rep.AccuracyFloat < 0.97 || rep.AccuracyQuant < 0.95 {
		t.Errorf("SQNR %.2f dB, agreement %.3f, accuracy %.3f -> %.3f: worse than 8-bit quantization should be", want, rep.Top1Agreement, rep.AccuracyFloat, rep.AccuracyQuant)
	}
	if !(rep.LatencyFloatMS > 0 && rep.LatencyQuantMS > 0) || !near(rep.Speedup, rep.LatencyFloatMS/rep.LatencyQuantMS, 1e-12) {
		t.Errorf("latency %v / %v ms, speedup %v", rep.LatencyFloatMS, rep.LatencyQuantMS, rep.Speedup)
	}
	t.Logf("mnist-8 QDQ on %d digits: SQNR %.2f dB, top-1 agreement %.2f%%, accuracy %.2f%% -> %.2f%%, latency %.3f -> %.3f ms",
		n, want, 100*rep.Top1Agreement, 100*rep.AccuracyFloat, 100*rep.AccuracyQuant, rep.LatencyFloatMS, rep.LatencyQuantMS)
}

// batchReader yields fixed batched samples with per-item labels.
type batchReader struct {
	samples []dataset.Sample
	next    int
}

func (b *batchReader) Next(ctx context.Context) (dataset.Sample, error) {
	if b.next >= len(b.samples) {
		return dataset.Sample{}, io.EOF
	}
	b.next++
	return b.samples[b.next-1], nil
}

func (b *batchReader) Close() error { return nil }

// TestEvalBatchedClassifier checks agreement and accuracy on batched
// samples against counts made by hand. The float "classifier" passes its
// input through; the quantized one adds 0.5 to class 2.
func TestEvalBatchedClassifier(t *testing.T) {
	fb := onnxbuild.New(13).Input("x", tensor.Float32, -1, 3).Output("y", tensor.Float32, -1, 3).
		Node("Identity", []string{"x"}, []string{"y"})
	qb := onnxbuild.New(13).Input("x", tensor.Float32, -1, 3).Output("y", tensor.Float32, -1, 3).
		Init("d", tensor.FromSlice([]int{3}, []float32{0, 0, 0.5})).
		Node("Add", []string{"x", "d"}, []string{"y"})
	r := &batchReader{samples: []dataset.Sample{
		// Float picks (0, 1), quantized (2, 1); labels (0, 2).
		{Name: "a", Label: -1, Inputs: map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{2, 3}, []float32{1, 0, 0.8, 0, 2, 1})},
			Items: []dataset.Item{{Name: "a0", Label: 0}, {Name: "a1", Label: 2}}},
		// Both pick (2, 0); labels (2, unknown).
		{Name: "b", Label: -1, Inputs: map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{2, 3}, []float32{0, 0, 3, 5, 1, 1})},
			Items: []dataset.Item{{Name: "b0", Label: 2}, {Name: "b1", Label: -1}}},
	}}
	rep, err := evaluate.Eval(context.Background(), fb.M, qb.M, r, evaluate.EvalOptions{Warmup: -1})
	if err != nil {
		t.Fatal(err)
	}
	// Agreement 3 of 4 rows; 3 labelled rows, float right on a0 and b0,
	// quantized on b0 only. Σx² = 6.64 + 36, Σ(x-y)² = 4 * 0.25.
	if rep.Top1Agreement != 0.75 || rep.Labelled != 3 || !near(rep.AccuracyFloat, 2.0/3, 1e-12) || !near(rep.AccuracyQuant, 1.0/3, 1e-12) {
		t.Errorf("agreement %v, labelled %d, accuracy %v / %v; want 0.75, 3, 2/3, 1/3", rep.Top1Agreement, rep.Labelled, rep.AccuracyFloat, rep.AccuracyQuant)
	}
	if got, want := rep.Outputs[0].Stats.SQNR(), 10*math.Log10(42.64/1); !near(got, want, 1e-6) {
		t.Errorf("SQNR %v, want %v", got, want)
	}
	if rep.Samples != 2 {
		t.Errorf("samples %d, want 2", rep.Samples)
	}
}

// TestEvalNoClassifier checks that an output that is not classifier-like
// gets no agreement, and unlabelled data no accuracy.
func TestEvalNoClassifier(t *testing.T) {
	fb := onnxbuild.New(13).Input("x", tensor.Float32, 1, 1, 2, 2).Output("y", tensor.Float32, 1, 1, 2, 2).
		Node("Relu", []string{"x"}, []string{"y"})
	in := []map[string]*tensor.Tensor{{"x": tensor.FromSlice([]int{1, 1, 2, 2}, []float32{1, -1, 2, 3})}}
	rep, err := evaluate.Eval(context.Background(), fb.M, fb.M, dataset.FromTensors(in), evaluate.EvalOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Top1Output != "" || !math.IsNaN(rep.Top1Agreement) || !math.IsNaN(rep.AccuracyFloat) || rep.Outputs[0].Classifier {
		t.Errorf("report %+v: want no top-1 figures", rep)
	}
	if !rep.Outputs[0].Stats.Exact() || !math.IsInf(rep.Outputs[0].Stats.SQNR(), 1) {
		t.Errorf("a model against itself: %+v, want exact", rep.Outputs[0].Stats)
	}
}

func TestEvalErrors(t *testing.T) {
	m := mnist8(t)
	small, err := onnx.Load(testenv.DataFile(t, "models", "mnist-14x14-cnn.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	fb := onnxbuild.New(13).Input("x", tensor.Float32, 1, 2).Output("y", tensor.Float32, 1, 2).Node("Relu", []string{"x"}, []string{"y"})
	otherOut := onnxbuild.New(13).Input("x", tensor.Float32, 1, 2).Output("out", tensor.Float32, 1, 2).Node("Relu", []string{"x"}, []string{"out"})
	otherType := onnxbuild.New(13).Input("x", tensor.Float64, 1, 2).Output("y", tensor.Float64, 1, 2).Node("Relu", []string{"x"}, []string{"y"})
	sample := []map[string]*tensor.Tensor{{"x": tensor.FromSlice([]int{1, 2}, []float32{1, 2})}}
	tests := []struct {
		name         string
		float, quant *onnx.ModelProto
		r            dataset.Reader
		engine       string
		want         string
	}{
		{"different models", m, small, digits(t, m, 1), "", "different inputs"},
		{"different types", fb.M, otherType.M, dataset.FromTensors(sample), "", "is float32 in one and float64 in the other"},
		{"missing output", fb.M, otherOut.M, dataset.FromTensors(sample), "", `lacks output(s) y`},
		{"no samples", fb.M, fb.M, dataset.FromTensors(nil), "", "no samples"},
		{"unknown engine", fb.M, fb.M, dataset.FromTensors(sample), "nope", "unknown engine"},
		{"wrong sample", fb.M, fb.M, dataset.FromTensors([]map[string]*tensor.Tensor{{"z": sample[0]["x"]}}), "", "sample 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := evaluate.Eval(context.Background(), tc.float, tc.quant, tc.r, evaluate.EvalOptions{Engine: tc.engine})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "evaluate: ") {
				t.Errorf("error %v, want one starting \"evaluate: \" and mentioning %q", err, tc.want)
			}
		})
	}
}
