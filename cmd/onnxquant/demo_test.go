package main

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
)

// TestDemo runs the README's first command (in-process) on the bundled
// model and digits, and checks that the 8-bit model keeps the float model's
// accuracy on the 400 held-out digits within one digit.
func TestDemo(t *testing.T) {
	dir := filepath.Join(testenv.RepoRoot(), "examples", "mnist")
	for _, format := range []string{"qdq", "qlinear", "integer"} {
		t.Run(format, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			out := filepath.Join(t.TempDir(), "q.onnx")
			if code := run([]string{"demo", "--dir", dir, "--out", out, "--format", format}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			m := regexp.MustCompile(`accuracy: float ([0-9.]+)%, quantized ([0-9.]+)% \(400 labelled\)`).FindStringSubmatch(stdout.String())
			if m == nil {
				t.Fatalf("no accuracy line in:\n%s", stdout.String())
			}
			f, _ := strconv.ParseFloat(m[1], 64)
			q, _ := strconv.ParseFloat(m[2], 64)
			t.Logf("%s: float %.2f%%, int8 %.2f%%", format, f, q)
			if f < 97 || f-q > 0.25 {
				t.Errorf("float %.2f%%, quantized %.2f%%: want float >= 97%% and a drop of at most one digit in 400", f, q)
			}
		})
	}
}
