package engine_test

import (
	"context"
	"testing"

	"github.com/onnxquant/onnxquant/calibrate"
	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// observedRanges calibrates the float model (MinMax) on the one input in
// and returns the quantizer parameters, as quantize --calibrate does.
func observedRanges(t *testing.T, m *onnx.ModelProto, cfg quantize.Config, in map[string]*tensor.Tensor) map[string]quantize.TensorParams {
	t.Helper()
	names, err := quantize.TensorsToCalibrate(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := calibrate.Run(context.Background(), m, names, dataset.FromTensors([]map[string]*tensor.Tensor{in}), calibrate.Options{Method: calibrate.MinMax})
	if err != nil {
		t.Fatal(err)
	}
	params, err := res.Params(tensor.Uint8, false)
	if err != nil {
		t.Fatal(err)
	}
	return params
}
