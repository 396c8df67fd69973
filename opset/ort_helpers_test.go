//go:build cgo

package opset

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// needORT makes the test fail under CI and skip elsewhere when ONNX Runtime
// cannot be loaded.
func needORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
}

// ortSession opens an ONNX Runtime session on m.
func ortSession(t testing.TB, m *onnx.ModelProto) *ort.Session {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(b, ort.Options{Threads: 1})
	if err != nil {
		t.Fatalf("ONNX Runtime rejects the model (opset %d): %v", opsetOf(m), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// runORT runs m once in ONNX Runtime.
func runORT(t testing.TB, m *onnx.ModelProto, inputs map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	t.Helper()
	outs, err := ortSession(t, m).Run(inputs, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime run (opset %d): %v", opsetOf(m), err)
	}
	return outs
}

// closeEnough reports the first element where got and want differ by more
// than tol relative to max(1, |want|); NaN must match NaN.
func closeEnough(want, got *tensor.Tensor, tol float64) error {
	if want.DType != got.DType {
		return fmt.Errorf("element type %v, want %v", got.DType, want.DType)
	}
	if fmt.Sprint(want.Shape) != fmt.Sprint(got.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	if want.DType == tensor.Bool || want.DType == tensor.String {
		if fmt.Sprint(want.Data) != fmt.Sprint(got.Data) {
			return fmt.Errorf("values differ")
		}
		return nil
	}
	w, err := tensor.Convert(want, tensor.Float64)
	if err != nil {
		return err
	}
	g, err := tensor.Convert(got, tensor.Float64)
	if err != nil {
		return err
	}
	wd, gd := tensor.As[float64](w), tensor.As[float64](g)
	for i := range wd {
		a, b := wd[i], gd[i]
		if math.IsNaN(a) || math.IsNaN(b) {
			if math.IsNaN(a) != math.IsNaN(b) {
				return fmt.Errorf("element %d: got %g, want %g", i, b, a)
			}
			continue
		}
		if math.Abs(a-b) > tol*math.Max(1, math.Abs(a)) {
			return fmt.Errorf("element %d: got %g, want %g (tolerance %g)", i, b, a, tol)
		}
	}
	return nil
}

// compareOutputs checks that got has exactly want's outputs, each close.
func compareOutputs(t testing.TB, want, got map[string]*tensor.Tensor, tol float64) {
	t.Helper()
	names := make([]string, 0, len(want))
	for k := range want {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(got) != len(want) {
		t.Errorf("got %d outputs, want %d", len(got), len(want))
	}
	for _, k := range names {
		g, ok := got[k]
		if !ok {
			t.Errorf("output %q missing after the upgrade", k)
			continue
		}
		if err := closeEnough(want[k], g, tol); err != nil {
			t.Errorf("output %q: %v", k, err)
		}
	}
}
