package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
)

// lastValue returns the value of key=... on the last line of out.
func lastValue(t *testing.T, out, key string) float64 {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	v, ok := strings.CutPrefix(last, key+"=")
	if !ok {
		t.Fatalf("last line %q does not start with %s=", last, key)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("last line %q: %v", last, err)
	}
	return f
}

// TestBench runs the bench command on mnist-8 (seeded inputs and the
// shared test data set's real input), on the GEMM, and checks that each
// ends with a positive median; the Go engine also reports allocations.
func TestBench(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	dataset := filepath.Join(filepath.Dir(model), "mnist-8-test-data", "test_data_set_0")
	for _, tc := range []struct {
		name string
		args []string
		want []string // substrings of the output
	}{
		{"seeded inputs", []string{"bench", model, "--runs", "5", "--threads", "1"}, []string{"engine=go", "threads=1", "runs=5", "allocs_per_run="}},
		{"input dir", []string{"bench", "--input-dir", dataset, model, "--runs", "3", "--warmup", "0"}, []string{"engine=go", "runs=3"}},
		{"gemm", []string{"bench", "--gemm", "64", "--runs", "3", "--threads", "1"}, []string{"gemm=64x64x64", "gflops_median="}},
		// Paired timing; the second engine is the Go engine again, so that
		// the test needs no ONNX Runtime (scripts/bench-engine.sh pairs
		// with ort).
		{"versus", []string{"bench", model, "--versus", "go", "--block", "3", "--runs", "7", "--threads", "1"}, []string{"engine=go", "runs=7", "versus=go", "versus_median_ms=", "ratio_median="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := evalCLI(tc.args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if m := lastValue(t, out, "median_ms"); !(m > 0) {
				t.Fatalf("median_ms=%g", m)
			}
		})
	}
}

// TestBenchUsage checks the command-line errors: exit status 2 and a
// message naming the problem.
func TestBenchUsage(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"bench"}, "want one MODEL"},
		{"two models", []string{"bench", model, model}, "want one MODEL"},
		{"zero runs", []string{"bench", model, "--runs", "0"}, "--runs 0"},
		{"negative threads", []string{"bench", model, "--threads", "-1"}, "must not be negative"},
		{"block of one", []string{"bench", model, "--versus", "go", "--block", "1"}, "--block 1"},
		{"gemm with model", []string{"bench", "--gemm", "8", model}, "no MODEL"},
		{"gemm too large", []string{"bench", "--gemm", "100000"}, "--gemm 100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := evalCLI(tc.args...)
			if code != 2 || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stderr %q (want 2 and %q)\n%s", code, errs, tc.want, out)
			}
		})
	}
	// A missing file is a runtime error (exit 1), not a usage error.
	if code, _, errs := evalCLI("bench", filepath.Join(t.TempDir(), "none.onnx"), "--runs", "1"); code != 1 || errs == "" {
		t.Fatalf("missing model: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := evalCLI("bench", model, "--versus", "tpu", "--runs", "1"); code != 1 || !strings.Contains(errs, `"tpu"`) {
		t.Fatalf("unknown --versus engine: exit %d, stderr %q", code, errs)
	}
}
