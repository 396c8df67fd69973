package calibrate

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// nodeTensors returns the non-constant inputs and outputs of the nodes of
// the given op types: the candidates the reference tool's 2020 calibrator
// augments (Conv and MatMul), used where quantize.TensorsToCalibrate
// cannot run (mnist-8 needs an opset upgrade for that).
func nodeTensors(m *onnx.ModelProto, ops ...string) []string {
	g := m.GetGraph()
	consts := map[string]bool{}
	for _, t := range g.GetInitializer() {
		consts[t.GetName()] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, n := range g.GetNode() {
		if n.GetOpType() == "Constant" {
			consts[n.GetOutput()[0]] = true
		}
		if !slices.Contains(ops, n.GetOpType()) {
			continue
		}
		for _, v := range append(slices.Clone(n.GetInput()), n.GetOutput()...) {
			if v != "" && !consts[v] && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// mnistDigits opens the shared digits for mnist-8 (pixels 0..255), from
// digit `from`, at most n.
func mnistDigits(t testing.TB, m *onnx.ModelProto, from, n int) dataset.Reader {
	t.Helper()
	r, err := dataset.Open(testenv.DataFile(t, "mnist", "digits"), dataset.ModelInputs(m), dataset.Options{MNIST: dataset.MNISTOptions{Scale: 255}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dataset.Limit(dataset.Skip(r, from), n)
}

func loadModel(t testing.TB, name string) *onnx.ModelProto {
	t.Helper()
	m, err := onnx.Load(testenv.DataFile(t, "models", name))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMergeEqualsOneRun calibrates mnist-8 on two shards of digits and on
// both at once: the merged files must be byte for byte the one-run file.
func TestMergeEqualsOneRun(t *testing.T) {
	m := loadModel(t, "mnist-8.onnx")
	tensors := nodeTensors(m, "Conv", "MatMul", "Add", "Relu", "MaxPool", "Reshape")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		m    Method
		s    Settings
	}{
		{"minmax", MinMax, Settings{}},
		{"entropy", Entropy, Settings{}},
		{"percentile", Percentile, Settings{Percentile: 99.9}},
		{"percentile-symmetric", Percentile, Settings{Symmetric: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Method: tc.m, Settings: tc.s}
			fo := FileOptions{Types: []tensor.DataType{tensor.Uint8, tensor.Int8}, Stats: true, Model: "mnist-8.onnx"}
			run := func(from, n int, file string) string {
				res, err := Run(context.Background(), m, tensors, mnistDigits(t, m, from, n), opts)
				if err != nil {
					t.Fatal(err)
				}
				p := filepath.Join(dir, tc.name+file)
				if err := WriteFile(p, res, fo); err != nil {
					t.Fatal(err)
				}
				return p
			}
			a, b, all := run(0, 12, "a.json"), run(12, 18, "b.json"), run(0, 30, "all.json")
			merged, mfo, err := MergeFiles(a, b)
			if err != nil {
				t.Fatal(err)
			}
			got, err := merged.Encode(mfo)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(all)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("merged shards differ from one run over all the data:\n%s", firstDiff(got, want))
			}
			if merged.Samples != 30 {
				t.Errorf("merged samples %d, want 30", merged.Samples)
			}
			// The quantizer reads the file: its ranges are the chosen ones.
			params, err := quantize.ReadParamsFile(all)
			if err != nil {
				t.Fatal(err)
			}
			ranges := merged.Ranges()
			if len(params) != len(ranges) || len(ranges) == 0 {
				t.Fatalf("quantizer read %d tensors, the result has %d", len(params), len(ranges))
			}
			for name, r := range ranges {
				p := params[name]
				if !p.HasRange || p.Min != r.Min || p.Max != r.Max || !p.HasScale || p.Type != tensor.Uint8 {
					t.Errorf("tensor %q: quantizer read %+v, want range [%v, %v] and a uint8 scale", name, p, r.Min, r.Max)
				}
				qr, _ := quantize.Range(tensor.Uint8, false, false)
				s, zp, _ := quantize.ComputeScaleZeroPoint(r.Min, r.Max, qr, false)
				if p.Scale != s || p.ZeroPoint != zp {
					t.Errorf("tensor %q: file scale %v zero point %d, want %v %d", name, p.Scale, p.ZeroPoint, s, zp)
				}
			}
		})
	}
}

func firstDiff(a, b []byte) string {
	la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "line " + strconv.Itoa(i+1) + ":\n got  " + la[i] + "\n want " + lb[i]
		}
	}
	return "lengths differ"
}

func TestFileErrors(t *testing.T) {
	m := loadModel(t, "mnist-8.onnx")
	tensors := nodeTensors(m, "Conv")
	res, err := Run(context.Background(), m, tensors, mnistDigits(t, m, 0, 3), Options{Method: Entropy})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	noStats := filepath.Join(dir, "nostats.json")
	if err := WriteFile(noStats, res, FileOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadFile(noStats); !errors.Is(err, errNoStats) {
		t.Errorf("reading an entropy file without statistics: %v, want the missing-statistics error", err)
	}
	withStats := filepath.Join(dir, "stats.json")
	if err := WriteFile(withStats, res, FileOptions{Stats: true}); err != nil {
		t.Fatal(err)
	}
	mm, err := Run(context.Background(), m, tensors, mnistDigits(t, m, 0, 3), Options{})
	if err != nil {
		t.Fatal(err)
	}
	minmax := filepath.Join(dir, "minmax.json")
	if err := WriteFile(minmax, mm, FileOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := MergeFiles(withStats, minmax); !errors.Is(err, ErrMismatch) {
		t.Errorf("merging entropy and minmax files: %v, want ErrMismatch", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"format": "other"}`), 0o644)
	if _, _, err := ReadFile(bad); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("reading a file of another format: %v, want an error naming it", err)
	}
}

func TestRunErrors(t *testing.T) {
	m := loadModel(t, "mnist-8.onnx")
	ctx := context.Background()
	if _, err := Run(ctx, m, []string{"no-such-tensor"}, mnistDigits(t, m, 0, 1), Options{}); err == nil || !strings.Contains(err.Error(), "no-such-tensor") {
		t.Errorf("unknown tensor: %v", err)
	}
	if _, err := Run(ctx, m, nodeTensors(m, "Conv"), mnistDigits(t, m, 0, 0), Options{}); err == nil || !strings.Contains(err.Error(), "no samples") {
		t.Errorf("no data: %v", err)
	}
	if _, err := Run(ctx, m, nodeTensors(m, "Conv"), mnistDigits(t, m, 0, 1), Options{Engine: "tpu"}); err == nil || !strings.Contains(err.Error(), "tpu") {
		t.Errorf("unknown engine: %v", err)
	}
	// A wrong input shape names the sample.
	bad := dataset.FromTensors([]map[string]*tensor.Tensor{{"Input3": tensor.New(tensor.Float32, 1, 1, 14, 14)}})
	if _, err := Run(ctx, m, nodeTensors(m, "Conv"), bad, Options{}); err == nil || !strings.Contains(err.Error(), `sample "0"`) {
		t.Errorf("wrong shape: %v, want an error naming the sample", err)
	}
	// Cancelling stops the run.
	cctx, cancel := context.WithCancel(ctx)
	_, err := Run(cctx, m, nodeTensors(m, "Conv"), mnistDigits(t, m, 0, 50), Options{Progress: func(p Progress) {
		if p.Done == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
}

// TestNonFiniteWarning feeds NaN and infinities through a real model input
// and checks the warning names the tensors and counts.
func TestNonFiniteWarning(t *testing.T) {
	m := loadModel(t, "mnist-8.onnx")
	x := tensor.New(tensor.Float32, 1, 1, 28, 28)
	d := x.Data.([]float32)
	d[0], d[1], d[2] = float32(math.NaN()), float32(math.Inf(1)), 7
	res, err := Run(context.Background(), m, []string{"Input3"}, dataset.FromTensors([]map[string]*tensor.Tensor{{"Input3": x}, {"Input3": x}}), Options{Method: Percentile})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "4 NaN or infinite value(s) in 1 tensor(s): Input3 (4)") {
		t.Errorf("warnings %q, want 4 values left out in Input3", res.Warnings)
	}
	if r := res.Ranges()["Input3"]; r.Min != 0 || r.Max > 7 || r.Max <= 0 {
		t.Errorf("range %+v, want [0, <=7] with the non-finite values left out", r)
	}
}
