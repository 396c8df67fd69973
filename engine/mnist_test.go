package engine_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// mnistAccuracy runs mnist-8 on all shared digits with run and returns the
// top-1 accuracy in percent and every prediction.
func mnistAccuracy(t *testing.T, run func(map[string]*tensor.Tensor) (*tensor.Tensor, error)) (float64, []int) {
	t.Helper()
	r, err := dataset.MNISTDigits(testenv.DataFile(t, "mnist", "digits"), dataset.MNISTOptions{Input: "Input3", Scale: 255})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var preds []int
	right := 0
	for {
		s, err := r.Next(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out, err := run(s.Inputs)
		if err != nil {
			t.Fatal(err)
		}
		scores := out.Data.([]float32)
		best := 0
		for i, v := range scores {
			if v > scores[best] {
				best = i
			}
		}
		preds = append(preds, best)
		if best == s.Label {
			right++
		}
	}
	return 100 * float64(right) / float64(len(preds)), preds
}

// TestMNIST runs mnist-8 on the engine: its three reference data sets must
// match, and its accuracy on the 10,000 shared digits is printed (the
// cgo test TestMNISTMatchesORT compares it with ONNX Runtime's).
func TestMNIST(t *testing.T) {
	path := testenv.DataFile(t, "models", "mnist-8.onnx")
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := engine.New(m, engine.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sets, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "mnist-8-test-data", "test_data_set_*"))
	if len(sets) != 3 {
		testenv.Unavailable(t, "mnist-8 test data sets: found %d, want 3", len(sets))
	}
	for _, set := range sets {
		in, _, err := tensor.ReadProtoFile(filepath.Join(set, "input_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := tensor.ReadProtoFile(filepath.Join(set, "output_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		out, err := sess.Run(context.Background(), map[string]*tensor.Tensor{"Input3": in})
		if err != nil {
			t.Fatal(err)
		}
		if msg := compareTensors(out["Plus214_Output_0"], want, 1e-3, 1e-5); msg != "" {
			t.Errorf("%s: %s", filepath.Base(set), msg)
		}
	}
	acc, _ := mnistAccuracy(t, func(in map[string]*tensor.Tensor) (*tensor.Tensor, error) {
		out, err := sess.Run(context.Background(), in)
		if err != nil {
			return nil, err
		}
		return out["Plus214_Output_0"], nil
	})
	t.Logf("mnist-8 on the pure-Go engine: top-1 %.2f%% on 10,000 digits", acc)
	if acc < 99 {
		t.Errorf("top-1 %.2f%% is below the model's known 99.3%%", acc)
	}
}
