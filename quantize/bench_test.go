package quantize_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/onnxquant/onnxquant/internal/lightmodel"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
)

// rssHelperEnv switches the test binary into a helper that runs the
// command after "--" and prints its peak resident memory as
// "maxrss_kb=N".
const rssHelperEnv = "ONNXQUANT_RSS_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(rssHelperEnv) == "1" {
		os.Exit(rssHelper())
	}
	os.Exit(m.Run())
}

func rssHelper() int {
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("maxrss_kb=%d\n", cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	return 0
}

var (
	resnetOnce sync.Once
	resnetPath string
	resnetErr  error
)

// resnet50 writes light_resnet50 with seeded random weights (about 100 MB)
// to a temporary file once per process.
func resnet50(b *testing.B) string {
	b.Helper()
	resnetOnce.Do(func() {
		m, err := onnx.Load(testenv.DataFile(b, "onnx-backend", "light", "light_resnet50.onnx"))
		if err != nil {
			resnetErr = err
			return
		}
		full, err := lightmodel.Materialize(m, 1)
		if err != nil {
			resnetErr = err
			return
		}
		dir, err := os.MkdirTemp("", "onnxquant-bench")
		if err != nil {
			resnetErr = err
			return
		}
		resnetPath = filepath.Join(dir, "resnet50.onnx")
		resnetErr = onnx.Save(full, resnetPath, onnx.SaveOptions{})
	})
	if resnetErr != nil {
		b.Fatal(resnetErr)
	}
	return resnetPath
}

// BenchmarkResNet50 times load + save alone and load + quantize + save
// (IntegerOps dynamic, the default, and QDQ per-channel with placeholder
// parameters) of a ResNet50-size model, and reports their ratio. Target:
// ratio <= 2.
func BenchmarkResNet50(b *testing.B) {
	path := resnet50(b)
	out := filepath.Join(filepath.Dir(path), "out.onnx")
	m0, err := onnx.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	qdqParams := map[string]quantize.TensorParams{}
	names, err := quantize.TensorsToCalibrate(m0, quantize.Config{Format: quantize.QDQ, PerChannel: true})
	if err != nil {
		b.Fatal(err)
	}
	for _, n := range names {
		qdqParams[n] = quantize.TensorParams{Min: -4, Max: 4, HasRange: true}
	}
	cases := []struct {
		name string
		cfg  *quantize.Config
	}{
		{"load+save", nil},
		{"integer-dynamic", &quantize.Config{}},
		{"qdq-perchannel", &quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: 3, Params: qdqParams}},
	}
	var base time.Duration
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				start := time.Now()
				m, err := onnx.Load(path)
				if err != nil {
					b.Fatal(err)
				}
				if c.cfg != nil {
					if m, _, err = quantize.Model(m, *c.cfg); err != nil {
						b.Fatal(err)
					}
				}
				if err := onnx.Save(m, out, onnx.SaveOptions{Input: path}); err != nil {
					b.Fatal(err)
				}
				total += time.Since(start)
			}
			per := total / time.Duration(b.N)
			b.ReportMetric(float64(per.Milliseconds()), "ms/model")
			if c.cfg == nil {
				base = per
			} else if base > 0 {
				b.ReportMetric(float64(per)/float64(base), "x-load+save")
			}
		})
	}
}

// BenchmarkResNet50PeakRSS runs `onnxquant quantize` on the ResNet50-size
// model as a child process and reports its peak resident memory next to
// the model's size, for the default configuration (IntegerOps dynamic) and
// for QDQ per-channel static with placeholder parameters (as
// BenchmarkResNet50 drives it). Target: peak <= 2x the model.
func BenchmarkResNet50PeakRSS(b *testing.B) {
	path := resnet50(b)
	dir := filepath.Dir(path)
	bin := filepath.Join(dir, "onnxquant")
	build := exec.Command("go", "build", "-o", bin, "../cmd/onnxquant")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		b.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	params, err := writeRangeParams(path, filepath.Join(dir, "qdq-params.json"))
	if err != nil {
		b.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name  string
		flags []string
	}{
		{"integer-dynamic", nil},
		{"qdq-perchannel", []string{"--format", "qdq", "--per-channel", "--static", "--weight-type", "int8", "--params", params}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				// A child's ru_maxrss counts the memory of the process it
				// was forked from, so the quantizer is started by a small
				// helper process (this test binary in rssHelper mode),
				// which reports its child's peak.
				helper := exec.Command(self, "-test.run=^$")
				helper.Env = append(os.Environ(), rssHelperEnv+"=1")
				helper.Args = append(helper.Args, "--", bin, "quantize", path, filepath.Join(dir, "q.onnx"))
				helper.Args = append(helper.Args, c.flags...)
				out, err := helper.CombinedOutput()
				if err != nil {
					b.Fatalf("%v: %s", err, out)
				}
				var kb int64
				if _, err := fmt.Sscanf(string(out), "maxrss_kb=%d", &kb); err != nil {
					b.Fatalf("helper output %q: %v", out, err)
				}
				rss := float64(kb) * 1024
				b.ReportMetric(rss/(1<<20), "peak-MB")
				b.ReportMetric(float64(st.Size())/(1<<20), "model-MB")
				b.ReportMetric(rss/float64(st.Size()), "x-model")
			}
		})
	}
}

// writeRangeParams writes a calibration file giving the range [-4, 4] to
// every activation a QDQ per-channel quantization of the model at path
// needs (the placeholder parameters of BenchmarkResNet50), and returns its
// path.
func writeRangeParams(path, out string) (string, error) {
	m, err := onnx.Load(path)
	if err != nil {
		return "", err
	}
	names, err := quantize.TensorsToCalibrate(m, quantize.Config{Format: quantize.QDQ, PerChannel: true})
	if err != nil {
		return "", err
	}
	type entry struct {
		Min float64 `json:"min"`
		Max float64 `json:"max"`
	}
	tensors := map[string]entry{}
	for _, n := range names {
		tensors[n] = entry{Min: -4, Max: 4}
	}
	data, err := json.Marshal(map[string]any{"format": quantize.CalibrationFormat, "tensors": tensors})
	if err != nil {
		return "", err
	}
	return out, os.WriteFile(out, data, 0o644)
}
