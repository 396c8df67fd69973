package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestRun runs mnist-8 on its three conformance-style data sets and checks
// the .npy written for the output against the set's expected output_0.pb.
func TestRun(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	sets, _ := filepath.Glob(filepath.Join(filepath.Dir(model), "mnist-8-test-data", "test_data_set_*"))
	if len(sets) == 0 {
		testenv.Unavailable(t, "mnist-8 test data sets missing")
	}
	for _, set := range sets {
		t.Run(filepath.Base(set), func(t *testing.T) {
			dir := t.TempDir()
			var stdout, stderr bytes.Buffer
			if code := run([]string{"run", model, "--input-dir", set, "--output-dir", dir}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "Plus214_Output_0 float32[1 10]") {
				t.Errorf("summary %q does not name the output", stdout.String())
			}
			got, err := tensor.ReadNpyFile(filepath.Join(dir, "Plus214_Output_0.npy"))
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := tensor.ReadProtoFile(filepath.Join(set, "output_0.pb"))
			if err != nil {
				t.Fatal(err)
			}
			g, w := got.Data.([]float32), want.Data.([]float32)
			for i := range w {
				if math.Abs(float64(g[i]-w[i])) > 1e-3*math.Abs(float64(w[i]))+1e-4 {
					t.Fatalf("output %v, want %v", g, w)
				}
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	dir := t.TempDir()
	wrongShape := filepath.Join(dir, "wrong_shape.npy")
	if err := tensor.WriteNpyFile(wrongShape, tensor.New(tensor.Float32, 1, 28, 28)); err != nil {
		t.Fatal(err)
	}
	wrongType := filepath.Join(dir, "wrong_type.npy")
	if err := tensor.WriteNpyFile(wrongType, tensor.New(tensor.Int64, 1, 1, 28, 28)); err != nil {
		t.Fatal(err)
	}
	txt := filepath.Join(dir, "input.txt")
	os.WriteFile(txt, []byte("1 2 3"), 0o644)
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"missing input", []string{"run", model}, 2, "missing input(s) Input3"},
		{"unknown input name", []string{"run", model, "--input", "image=" + wrongShape}, 1, `no input "image"`},
		{"wrong shape", []string{"run", model, "--input", "Input3=" + wrongShape}, 1, "the model wants rank 4"},
		{"wrong type", []string{"run", model, "--input", "Input3=" + wrongType}, 1, "element type int64"},
		{"not a tensor file", []string{"run", model, "--input", "Input3=" + txt}, 1, "unknown tensor file type"},
		{"bad --input", []string{"run", model, "--input", "Input3"}, 2, "want NAME=FILE"},
		{"unknown engine", []string{"run", model, "--engine", "tpu", "--input", "Input3=" + wrongShape}, 1, `unknown engine "tpu"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("exit %d (want %d), stderr %q (want it to say %q)", code, tc.code, stderr.String(), tc.stderr)
			}
		})
	}
}

func TestOutputFileName(t *testing.T) {
	for in, want := range map[string]string{
		"Plus214_Output_0": "Plus214_Output_0.npy",
		"input:0":          "input_0.npy",
		"a/b c.d-e":        "a_b_c.d-e.npy",
		"..":               "_...npy",
		"softmax_11.tmp_0": "softmax_11.tmp_0.npy",
	} {
		if got := outputFileName(in); got != want {
			t.Errorf("outputFileName(%q) = %q, want %q", in, got, want)
		}
	}
}
