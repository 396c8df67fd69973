package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
)

// evalCLI runs the command line and returns the exit status and output.
func evalCLI(args ...string) (int, string, string) {
	var o, e bytes.Buffer
	code := run(args, &o, &e)
	return code, o.String(), e.String()
}

// quantizedMNIST8 writes mnist-8 quantized with the quantize command's
// defaults (IntegerOps, dynamic activations) and returns its path.
func quantizedMNIST8(t *testing.T) (float, quant string) {
	t.Helper()
	float = testenv.DataFile(t, "models", "mnist-8.onnx")
	quant = filepath.Join(t.TempDir(), "mnist-8-int8.onnx")
	if code, out, errs := evalCLI("quantize", float, quant); code != 0 {
		t.Fatalf("quantize: exit %d\n%s%s", code, out, errs)
	}
	return float, quant
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case float64:
		return "number"
	case string:
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

// checkKeys checks that obj has each key with a value of the given JSON
// type.
func checkKeys(t *testing.T, where string, obj map[string]any, want map[string]string) {
	t.Helper()
	for k, typ := range want {
		v, ok := obj[k]
		if !ok {
			t.Errorf("%s: no key %q", where, k)
			continue
		}
		if got := jsonType(v); got != typ {
			t.Errorf("%s: %q is %s (%v), want %s", where, k, got, v, typ)
		}
	}
}

func TestEvalJSON(t *testing.T) {
	float, quant := quantizedMNIST8(t)
	digits := testenv.DataFile(t, "mnist", "digits")
	testData := testenv.DataFile(t, "models", "mnist-8-test-data")
	tests := []struct {
		name     string
		data     []string
		labelled bool
		samples  float64
	}{
		{"labelled digits", []string{"--data", digits, "--scale", "255", "--samples", "100"}, true, 100},
		// The model's own test data sets carry no labels.
		{"test data", []string{"--data", testData}, false, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"eval", float, quant, "--json", "--warmup", "1"}, tc.data...)
			code, out, errs := evalCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			var rep map[string]any
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatalf("not one JSON object: %v\n%s", err, out)
			}
			acc := "null"
			if tc.labelled {
				acc = "number"
			}
			checkKeys(t, "report", rep, map[string]string{
				"outputs": "array", "top1_agreement": "number", "top1_output": "string",
				"accuracy_float": acc, "accuracy_quant": acc,
				"latency_ms_float": "number", "latency_ms_quant": "number", "speedup": "number",
				"size_bytes_float": "number", "size_bytes_quant": "number", "samples": "number", "engine": "string",
			})
			if rep["samples"] != tc.samples {
				t.Errorf("samples %v, want %v", rep["samples"], tc.samples)
			}
			outs, _ := rep["outputs"].([]any)
			if len(outs) != 1 {
				t.Fatalf("outputs %v, want one", rep["outputs"])
			}
			o, _ := outs[0].(map[string]any)
			checkKeys(t, "output", o, map[string]string{"name": "string", "sqnr_db": "number", "cosine": "number", "max_abs_err": "number", "top1_agreement": "number"})
			if o["name"] != "Plus214_Output_0" {
				t.Errorf("output name %v", o["name"])
			}
			if s, _ := o["sqnr_db"].(float64); s < 25 {
				t.Errorf("SQNR %v dB: too low for 8 bits", s)
			}
			for key, path := range map[string]string{"size_bytes_float": float, "size_bytes_quant": quant} {
				st, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if rep[key] != float64(st.Size()) {
					t.Errorf("%s = %v, want the file's %d", key, rep[key], st.Size())
				}
			}
		})
	}
}

func TestEvalTextAndHTML(t *testing.T) {
	float, quant := quantizedMNIST8(t)
	digits := testenv.DataFile(t, "mnist", "digits")
	page := filepath.Join(t.TempDir(), "report.html")
	code, out, errs := evalCLI("eval", float, quant, "--data", digits, "--scale", "255", "--samples", "50", "--html", page, "--debug-samples", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"Plus214_Output_0", "top-1 agreement:", "accuracy: float", "latency (median per sample)", "size: float", "wrote " + page} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", `id="summary"`, `id="tensors"`, "Convolution28_Output_0"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestDebugJSON(t *testing.T) {
	float, quant := quantizedMNIST8(t)
	digits := testenv.DataFile(t, "mnist", "digits")
	code, out, errs := evalCLI("debug", float, quant, "--data", digits, "--scale", "255", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not one JSON object: %v\n%s", err, out)
	}
	checkKeys(t, "report", rep, map[string]string{"samples": "number", "tensors": "array", "weights": "array", "nodes": "array", "unmatched": "array", "notes": "array"})
	if rep["samples"] != 4.0 {
		t.Errorf("samples %v, want the default 4", rep["samples"])
	}
	tensors, _ := rep["tensors"].([]any)
	if len(tensors) < 10 {
		t.Fatalf("%d tensors matched, want mnist-8's 12", len(tensors))
	}
	first, _ := tensors[0].(map[string]any)
	checkKeys(t, "tensor", first, map[string]string{"name": "string", "counterpart": "string", "node": "string", "op_type": "string", "index": "number", "sqnr_db": "number", "cosine": "number", "max_abs_err": "number"})
	weights, _ := rep["weights"].([]any)
	if len(weights) == 0 {
		t.Fatal("no weights")
	}
	w, _ := weights[0].(map[string]any)
	checkKeys(t, "weight", w, map[string]string{"name": "string", "quantized": "string", "type": "string", "sqnr_db": "number", "readers": "array"})
	nodes, _ := rep["nodes"].([]any)
	n, _ := nodes[0].(map[string]any)
	checkKeys(t, "node", n, map[string]string{"tensor": "string", "added_nsr": "number", "nodes": "array", "inputs": "array"})

	code, out, errs = evalCLI("debug", float, quant, "--data", digits, "--scale", "255", "--samples", "1", "--top", "3")
	if code != 0 || !strings.Contains(out, "tensors, worst SQNR first") || !strings.Contains(out, "samples: 1;") {
		t.Errorf("text report: exit %d\n%s%s", code, out, errs)
	}
}

func TestEvalDebugBadInput(t *testing.T) {
	float, quant := quantizedMNIST8(t)
	digits := testenv.DataFile(t, "mnist", "digits")
	small := testenv.DataFile(t, "models", "mnist-14x14-cnn.onnx")
	missing := filepath.Join(t.TempDir(), "nothing")
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no data", []string{"eval", float, quant}, 2, "--data PATH is required"},
		{"one model", []string{"eval", float, "--data", digits}, 2, "want FLOAT and QUANT"},
		{"bad scale", []string{"eval", float, quant, "--data", digits, "--scale", "3"}, 2, "--scale 3"},
		{"bad size", []string{"debug", float, quant, "--data", digits, "--size", "28"}, 2, "--size"},
		{"missing data", []string{"eval", float, quant, "--data", missing}, 1, "no such file"},
		{"empty data", []string{"debug", float, quant, "--data", empty}, 1, "folder is empty"},
		{"missing model", []string{"eval", missing, quant, "--data", digits}, 1, "float model"},
		{"different inputs", []string{"eval", float, small, "--data", digits, "--scale", "255", "--samples", "2"}, 1, "different inputs"},
		{"different inputs, debug", []string{"debug", float, small, "--data", digits, "--scale", "255"}, 1, "different inputs"},
		{"bad labels", []string{"eval", float, quant, "--data", digits, "--labels", missing}, 1, "--labels"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := evalCLI(tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q (stdout %q)", code, errs, tc.code, tc.want, out)
			}
		})
	}
}
