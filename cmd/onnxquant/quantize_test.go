package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
)

// TestQuantizeBadInput checks that every bad command line or parameter file
// gives a clear error naming the problem, and writes no output.
func TestQuantizeBadInput(t *testing.T) {
	model := testenv.DataFile(t, "models", "mnist-14x14-cnn.onnx")
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	malformed := write("malformed.json", `{"x": [0, 0.1`)
	zeroScale := write("zero.json", `{"network_input": [0, 0]}`)
	negScale := write("neg.json", `{"network_input": [0, -0.5]}`)
	badZP := write("zp.json", `{"network_input": [300, 0.5]}`)
	missing := write("missing.json", `{"network_input": [0, 0.0039]}`)
	quantized := filepath.Join(dir, "already.onnx")
	if code := run([]string{"quantize", model, quantized}, new(bytes.Buffer), new(bytes.Buffer)); code != 0 {
		t.Fatalf("making a quantized model failed with exit %d", code)
	}
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"malformed JSON", []string{"--format", "qdq", "--params", malformed}, 1, "malformed.json"},
		{"zero scale", []string{"--format", "qdq", "--params", zeroScale}, 1, "scale 0 must be positive"},
		{"negative scale", []string{"--format", "qdq", "--params", negScale}, 1, "scale -0.5 must be positive"},
		{"zero point out of range", []string{"--format", "qdq", "--params", badZP}, 1, "zero point 300"},
		{"tensor missing from params", []string{"--format", "qdq", "--params", missing}, 1, "no quantization parameters for tensor"},
		{"unknown node", []string{"--nodes", "NoSuchNode"}, 1, `no node named ["NoSuchNode"]`},
		{"unknown excluded node", []string{"--exclude", "Ghost"}, 1, "Ghost"},
		{"bits", []string{"--bits", "4"}, 1, "4-bit quantization is not supported"},
		{"unknown format", []string{"--format", "fp8"}, 2, "unknown format"},
		{"static without params", []string{"--static"}, 2, "needs activation parameters"},
		{"bad weight type", []string{"--weight-type", "int16"}, 2, "int16"},
		{"unknown op type", []string{"--op-types", "Frobnicate"}, 1, `op type "Frobnicate" cannot be quantized`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".onnx")
			var stdout, stderr bytes.Buffer
			args := append([]string{"quantize", model, out}, tc.args...)
			code := run(args, &stdout, &stderr)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tc.stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("an output was written despite the error")
			}
		})
	}
	t.Run("same file", func(t *testing.T) {
		var stderr bytes.Buffer
		if code := run([]string{"quantize", quantized, quantized}, new(bytes.Buffer), &stderr); code != 2 || !strings.Contains(stderr.String(), "is the input model") {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	})
	t.Run("already quantized", func(t *testing.T) {
		var stderr bytes.Buffer
		code := run([]string{"quantize", quantized, filepath.Join(dir, "twice.onnx")}, new(bytes.Buffer), &stderr)
		if code != 1 || !strings.Contains(stderr.String(), "already quantized") {
			t.Errorf("exit %d, stderr %q", code, stderr.String())
		}
	})
}

// TestQuantizeDeterministic checks that the same model and options give
// byte-identical outputs, and that the input model is left untouched.
func TestQuantizeDeterministic(t *testing.T) {
	model := testenv.DataFile(t, "models", "ultraface-rfb-320.onnx")
	before, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var outs [][]byte
	for i := 0; i < 2; i++ {
		out := filepath.Join(dir, "q"+string(rune('a'+i))+".onnx")
		var stderr bytes.Buffer
		if code := run([]string{"quantize", model, out, "--per-channel"}, new(bytes.Buffer), &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, b)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Error("two runs gave different bytes")
	}
	after, _ := os.ReadFile(model)
	if !bytes.Equal(before, after) {
		t.Error("the input model changed")
	}
}
