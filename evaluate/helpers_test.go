package evaluate_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// mnist8 loads the shared mnist-8 model.
func mnist8(t testing.TB) *onnx.ModelProto {
	t.Helper()
	m, err := onnx.Load(testenv.DataFile(t, "models", "mnist-8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// digits opens the first n shared MNIST digits for mnist-8 (0..255).
func digits(t testing.TB, m *onnx.ModelProto, n int) dataset.Reader {
	t.Helper()
	dir := filepath.Join(testenv.DataDir(t), "mnist", "digits")
	r, err := dataset.Open(dir, dataset.ModelInputs(m), dataset.Options{MNIST: dataset.MNISTOptions{Scale: 255}})
	if err != nil {
		testenv.Unavailable(t, "MNIST digits: %v", err)
	}
	return dataset.Limit(r, n)
}

// quantizeMinMax quantizes m with cfg, the activation ranges being the
// min/max the float model reaches on the calibration samples. shrink
// divides the range of the named tensors (a deliberately bad parameter).
// mnist-8 is opset 8: the quantizer raises it to the opset it needs, and
// Debug still matches the original's tensors.
func quantizeMinMax(t testing.TB, m *onnx.ModelProto, cfg quantize.Config, calib dataset.Reader, shrink map[string]float64) *onnx.ModelProto {
	t.Helper()
	defer calib.Close()
	want, err := quantize.TensorsToCalibrate(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wanted := map[string]bool{}
	for _, v := range want {
		wanted[v] = true
	}
	lo, hi := map[string]float64{}, map[string]float64{}
	obs := func(name string, x *tensor.Tensor) {
		d, ok := x.Data.([]float32)
		if !wanted[name] || !ok {
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
	}
	sess, err := engine.New(m, engine.Options{Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := dataset.ReadAll(context.Background(), calib)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if _, err := sess.Run(context.Background(), s.Inputs); err != nil {
			t.Fatal(err)
		}
	}
	cfg.Params = map[string]quantize.TensorParams{}
	for _, v := range want {
		if _, ok := lo[v]; !ok {
			continue
		}
		l, h := lo[v], hi[v]
		if f, ok := shrink[v]; ok {
			l, h = l/f, h/f
		}
		cfg.Params[v] = quantize.TensorParams{Min: l, Max: h, HasRange: true}
	}
	for v := range shrink {
		if _, ok := cfg.Params[v]; !ok {
			t.Fatalf("tensor %q to break is not one the quantizer calibrates (%v)", v, want)
		}
	}
	qm, _, err := quantize.Model(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return qm
}
