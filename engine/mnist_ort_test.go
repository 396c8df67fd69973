//go:build cgo

package engine_test

import (
	"context"
	"testing"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestMNISTMatchesORT scores mnist-8 on the 10,000 shared digits in the
// engine and in ONNX Runtime: the accuracies must be equal, and so must
// every single prediction.
func TestMNISTMatchesORT(t *testing.T) {
	path := testenv.DataFile(t, "models", "mnist-8.onnx")
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := engine.New(m, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ref := ortSession(t, path)
	goAcc, goPreds := mnistAccuracy(t, func(in map[string]*tensor.Tensor) (*tensor.Tensor, error) {
		out, err := sess.Run(context.Background(), in)
		if err != nil {
			return nil, err
		}
		return out["Plus214_Output_0"], nil
	})
	ortAcc, ortPreds := mnistAccuracy(t, func(in map[string]*tensor.Tensor) (*tensor.Tensor, error) {
		out, err := ref.Run(in, nil)
		if err != nil {
			return nil, err
		}
		return out["Plus214_Output_0"], nil
	})
	t.Logf("mnist-8 top-1 on 10,000 digits: engine %.2f%%, ONNX Runtime %.2f%%", goAcc, ortAcc)
	if goAcc != ortAcc {
		t.Errorf("accuracies differ: engine %.2f%%, ONNX Runtime %.2f%%", goAcc, ortAcc)
	}
	diff := 0
	for i := range goPreds {
		if goPreds[i] != ortPreds[i] {
			diff++
		}
	}
	if diff > 0 {
		t.Errorf("%d of %d predictions differ", diff, len(goPreds))
	}
}
