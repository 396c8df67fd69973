package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// TestCalibrateAndQuantize runs calibrate on the shared digits, reads the
// file back as the quantizer does, and quantizes with it.
func TestCalibrateAndQuantize(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	digits := testenv.DataFile(t, "mnist", "digits")
	dir := t.TempDir()
	for _, method := range []string{"minmax", "entropy", "percentile"} {
		t.Run(method, func(t *testing.T) {
			params := filepath.Join(dir, method+".json")
			code, out, errs := runCLI(t, "calibrate", model, "--data", digits, "--scale", "255", "--samples", "20",
				"--method", method, "--activation-type", "uint8,int8", "-o", params)
			if code != 0 {
				t.Fatalf("calibrate: exit %d\n%s%s", code, out, errs)
			}
			if !strings.Contains(errs, "calibrate: 20/20 samples in") {
				t.Errorf("stderr has no final progress line: %q", errs)
			}
			var f struct {
				Method  string
				Samples int
				Tensors map[string]struct {
					Min, Max float64
					Params   map[string]struct{ Scale float64 }
				}
			}
			b, _ := os.ReadFile(params)
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			if f.Method != method || f.Samples != 20 || len(f.Tensors) == 0 {
				t.Fatalf("file says method %q, %d samples, %d tensors", f.Method, f.Samples, len(f.Tensors))
			}
			for name, e := range f.Tensors {
				if len(e.Params) != 2 || e.Min > 0 || e.Max < e.Min {
					t.Errorf("tensor %q: %+v: want params for uint8 and int8", name, e)
				}
			}
			if _, err := quantize.ReadParamsFile(params); err != nil {
				t.Fatalf("the quantizer cannot read the file: %v", err)
			}
			q := filepath.Join(dir, method+".onnx")
			if code, out, errs := runCLI(t, "quantize", model, q, "--format", "qdq", "--params", params); code != 0 {
				t.Fatalf("quantize --params: exit %d\n%s%s", code, out, errs)
			}
		})
	}
}

// TestCalibrateMergeCLI calibrates two shards with --save-stats and checks
// that merging them writes the file one run over both writes.
func TestCalibrateMergeCLI(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	digits := testenv.DataFile(t, "mnist", "digits")
	dir := t.TempDir()
	common := []string{"calibrate", model, "--data", digits, "--scale", "255", "--method", "percentile", "--save-stats"}
	a, b, all, merged := filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"), filepath.Join(dir, "all.json"), filepath.Join(dir, "merged.json")
	for _, args := range [][]string{
		{"--samples", "7", "-o", a},
		{"--skip", "7", "--samples", "9", "-o", b},
		{"--samples", "16", "-o", all},
	} {
		if code, out, errs := runCLI(t, append(common, args...)...); code != 0 {
			t.Fatalf("calibrate %v: exit %d\n%s%s", args, code, out, errs)
		}
	}
	if code, out, errs := runCLI(t, "calibrate", "merge", a, b, "-o", merged); code != 0 {
		t.Fatalf("merge: exit %d\n%s%s", code, out, errs)
	}
	got, _ := os.ReadFile(merged)
	want, _ := os.ReadFile(all)
	if !bytes.Equal(got, want) {
		t.Errorf("merged file differs from one run over all the data (%d and %d bytes)", len(got), len(want))
	}
	noStats := filepath.Join(dir, "nostats.json")
	if code, _, errs := runCLI(t, "calibrate", model, "--data", digits, "--scale", "255", "--samples", "2", "--method", "entropy", "-o", noStats); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := runCLI(t, "calibrate", "merge", noStats, a, "-o", filepath.Join(dir, "x.json")); code != 1 || !strings.Contains(errs, "nostats.json") || !strings.Contains(errs, "save-stats") {
		t.Errorf("merging a file without statistics: exit %d, stderr %q", code, errs)
	}
}

// TestQuantizeCalibrateOneShot calibrates and quantizes in one command.
func TestQuantizeCalibrateOneShot(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	out := filepath.Join(t.TempDir(), "q.onnx")
	code, stdout, stderr := runCLI(t, "quantize", model, out, "--format", "qlinear", "--per-channel", "--weight-type", "int8", "--reduce-range",
		"--calibrate", testenv.DataFile(t, "mnist", "digits"), "--scale", "255", "--samples", "10", "--method", "entropy")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "quantized (qlinear)") || !strings.Contains(stderr, "10/10 samples") {
		t.Errorf("stdout %q, stderr %q", stdout, stderr)
	}
	if _, err := os.Stat(out); err != nil {
		t.Error(err)
	}
	for _, args := range [][]string{
		{"quantize", model, out, "--calibrate", "x", "--params", "y"},
		{"quantize", model, out, "--calibrate", "x", "--dynamic"},
		{"quantize", model, out, "--calibrate", "x", "--method", "median"},
	} {
		if code, _, _ := runCLI(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestCalibrateBadInput checks that bad data gives clear errors naming the
// file concerned.
func TestCalibrateBadInput(t *testing.T) {
	mnist := testenv.DataFile(t, "models", "mnist-8.onnx")
	det := testenv.DataFile(t, "models", "fastestdet-coco-352.onnx")
	dir := t.TempDir()

	// Two good photos and a file that is not an image.
	images := filepath.Join(dir, "images")
	os.Mkdir(images, 0o755)
	for _, p := range []string{"wolves.jpg", "bus.jpg"} {
		if err := os.Symlink(testenv.DataFile(t, "images", "photos", p), filepath.Join(images, p)); err != nil {
			t.Fatal(err)
		}
	}
	broken := filepath.Join(images, "broken.jpg")
	os.WriteFile(broken, []byte("not a JPEG"), 0o644)

	// .npy samples for mnist-8 (input Input3, float32 [1,1,28,28]).
	npy := func(name string, x *tensor.Tensor) string {
		d := filepath.Join(dir, name)
		os.MkdirAll(filepath.Join(d, "s0"), 0o755)
		if err := tensor.WriteNpyFile(filepath.Join(d, "s0", "Input3.npy"), x); err != nil {
			t.Fatal(err)
		}
		return filepath.Join(d, "s0", "Input3.npy")
	}
	wrongType := npy("npy-f64", tensor.New(tensor.Float64, 1, 1, 28, 28))
	wrongShape := npy("npy-shape", tensor.New(tensor.Float32, 1, 1, 14, 14))
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	digits := testenv.DataFile(t, "mnist", "digits")

	tests := []struct {
		name     string
		args     []string
		code     int
		inStderr []string
	}{
		{"unreadable image", []string{det, "--data", images, "--resize", "stretch"}, 1, []string{broken}},
		{"image size the model cannot take", []string{det, "--data", images, "--size", "300,300"}, 1, []string{images, "352"}},
		{"npy of the wrong type", []string{mnist, "--data", filepath.Dir(filepath.Dir(wrongType))}, 1, []string{wrongType}},
		{"npy of the wrong shape", []string{mnist, "--data", filepath.Dir(filepath.Dir(wrongShape))}, 1, []string{wrongShape}},
		{"unknown input", []string{mnist, "--data", digits, "--input", "nope"}, 1, []string{"nope", digits}},
		{"empty folder", []string{mnist, "--data", empty}, 1, []string{empty, "empty"}},
		{"missing data", []string{mnist, "--data", filepath.Join(dir, "missing")}, 1, []string{"missing"}},
		{"no --data", []string{mnist}, 2, []string{"--data"}},
		{"bad method", []string{mnist, "--data", digits, "--method", "median"}, 2, []string{"median"}},
		{"bad scale", []string{mnist, "--data", digits, "--scale", "3"}, 2, []string{"--scale"}},
		{"unknown engine", []string{mnist, "--data", digits, "--engine", "tpu"}, 1, []string{"tpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, "out.json")
			args := append([]string{"calibrate"}, tc.args...)
			if tc.code != 2 || tc.name != "no -o" {
				args = append(args, "-o", out)
			}
			code, _, stderr := runCLI(t, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			for _, s := range tc.inStderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr %q does not mention %q", stderr, s)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("a failed run wrote %s", out)
				os.Remove(out)
			}
		})
	}

	// --skip-bad skips the broken image and says so.
	out := filepath.Join(dir, "skipped.json")
	code, _, stderr := runCLI(t, "calibrate", det, "--data", images, "--resize", "stretch", "--skip-bad", "-o", out)
	if code != 0 {
		t.Fatalf("--skip-bad: exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "skipped 1 unreadable image(s)") || !strings.Contains(stderr, "broken.jpg") {
		t.Errorf("--skip-bad: stderr %q does not name the skipped file", stderr)
	}
}

// TestCalibrateInterrupted stops a run as Ctrl-C does: nothing is written.
func TestCalibrateInterrupted(t *testing.T) {
	saved := interruptContext
	defer func() { interruptContext = saved }()
	interruptContext = func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx, cancel
	}
	out := filepath.Join(t.TempDir(), "out.json")
	code, _, stderr := runCLI(t, "calibrate", testenv.DataFile(t, "models", "mnist-8.onnx"), "--data", testenv.DataFile(t, "mnist", "digits"), "--scale", "255", "-o", out)
	if code != 1 || !strings.Contains(stderr, "interrupted") || !strings.Contains(stderr, "nothing was written") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an interrupted run wrote its output")
	}
}
