// Command benchmodels measures onnxquant end to end on real models and
// writes the table into BENCHMARKS.md (between the quantized-models
// markers): for each model, calibration and quantization time and peak
// memory (the `onnxquant quantize --calibrate` command, as a user runs it),
// model sizes, float and int8 latency in ONNX Runtime and in the pure-Go
// engine, and the int8 model's SQNR (or accuracy) against the float model.
//
// Run it with `make bench-models` (it needs a cgo build for ONNX Runtime and
// the shared test data beside the repository).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/internal/lightmodel"
	"github.com/onnxquant/onnxquant/onnx"
)

const helperEnv = "ONNXQUANT_BENCH_HELPER"

// bench is one model: how its data is read, for calibration (the CLI's
// flags) and for evaluation (dataset options).
type bench struct {
	name      string
	model     string // path, or "resnet50" for the materialized light model
	calibData string
	calibArgs []string
	evalData  string
	evalOpts  dataset.Options
	evalN     int
}

func main() {
	if os.Getenv(helperEnv) == "1" {
		os.Exit(helper())
	}
	root := flag.String("root", ".", "repository root")
	data := flag.String("data", "", "shared test data (default ROOT/../shared/testdata)")
	out := flag.String("o", "BENCHMARKS.md", "report file to update")
	flag.Parse()
	if *data == "" {
		*data = filepath.Join(*root, "..", "shared", "testdata")
	}
	if err := run(*root, *data, *out); err != nil {
		fmt.Fprintln(os.Stderr, "benchmodels:", err)
		os.Exit(1)
	}
}

// helper runs the command after "--" and prints its wall time and peak
// resident memory: started from this small fresh process, the child's
// ru_maxrss is its own.
func helper() int {
	args := os.Args[1:]
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("seconds=%.3f maxrss_kb=%d\n", time.Since(start).Seconds(), cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
	return 0
}

func run(root, data, out string) error {
	tmp, err := os.MkdirTemp("", "onnxquant-benchmodels")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "onnxquant")
	build := exec.Command("go", "build", "-o", bin, "./cmd/onnxquant")
	build.Dir, build.Stderr = root, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building onnxquant: %w", err)
	}
	// The ResNet50-size model, materialized once.
	light, err := onnx.Load(filepath.Join(data, "onnx-backend", "light", "light_resnet50.onnx"))
	if err != nil {
		return err
	}
	full, err := lightmodel.Materialize(light, 1)
	if err != nil {
		return err
	}
	resnet := filepath.Join(tmp, "resnet50.onnx")
	if err := onnx.Save(full, resnet, onnx.SaveOptions{}); err != nil {
		return err
	}
	full, light = nil, nil
	runtime.GC()

	imagenet := filepath.Join(data, "images", "imagenet-sample")
	photos := filepath.Join(data, "images", "photos")
	half := []float32{0.5, 0.5, 0.5}
	benches := []bench{
		{name: "mnist-8", model: filepath.Join(data, "models", "mnist-8.onnx"),
			calibData: filepath.Join(data, "mnist", "digits"), calibArgs: []string{"--scale", "255", "--samples", "100"},
			evalData: filepath.Join(data, "mnist", "digits"), evalOpts: dataset.Options{MNIST: dataset.MNISTOptions{Scale: 255}}, evalN: 1000},
		{name: "fastestdet-coco-352", model: filepath.Join(data, "models", "fastestdet-coco-352.onnx"),
			calibData: imagenet, calibArgs: []string{"--samples", "32", "--resize", "stretch"},
			evalData: photos, evalOpts: dataset.Options{Image: dataset.ImageOptions{Resize: dataset.Stretch}}, evalN: 18},
		{name: "ultraface-rfb-320", model: filepath.Join(data, "models", "ultraface-rfb-320.onnx"),
			calibData: imagenet, calibArgs: []string{"--samples", "32", "--resize", "stretch", "--scale", "255", "--mean", "127,127,127", "--std", "128,128,128"},
			evalData: photos, evalOpts: dataset.Options{Image: dataset.ImageOptions{Resize: dataset.Stretch, Range: dataset.Byte,
				Mean: []float32{127, 127, 127}, Std: []float32{128, 128, 128}}}, evalN: 18},
		{name: "ppocr-mobile-v2-cls", model: filepath.Join(data, "models", "ppocr-mobile-v2-cls.onnx"),
			calibData: photos, calibArgs: []string{"--resize", "stretch", "--size", "48,192", "--mean", "0.5,0.5,0.5", "--std", "0.5,0.5,0.5"},
			evalData: photos, evalOpts: dataset.Options{Image: dataset.ImageOptions{Resize: dataset.Stretch, Height: 48, Width: 192, Mean: half, Std: half}}, evalN: 18},
		{name: "resnet50-size (random weights)", model: resnet,
			calibData: imagenet, calibArgs: []string{"--samples", "16", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225"},
			evalData: imagenet, evalOpts: dataset.Options{Image: dataset.ImageOptions{Mean: dataset.ImageNetMean, Std: dataset.ImageNetStd}}, evalN: 8},
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var rows []string
	for _, b := range benches {
		fmt.Fprintf(os.Stderr, "benchmodels: %s\n", b.name)
		q := filepath.Join(tmp, "q.onnx")
		args := append([]string{"quantize", b.model, q, "--format", "qdq", "--per-channel", "--weight-type", "int8", "--reduce-range",
			"--calibrate", b.calibData}, b.calibArgs...)
		h := exec.Command(self, append([]string{"--", bin}, args...)...)
		h.Env = append(os.Environ(), helperEnv+"=1")
		h.Stderr = os.Stderr
		hout, err := h.Output()
		if err != nil {
			return fmt.Errorf("%s: onnxquant quantize: %w", b.name, err)
		}
		var secs float64
		var kb int64
		if _, err := fmt.Sscanf(strings.TrimSpace(lastLine(hout)), "seconds=%f maxrss_kb=%d", &secs, &kb); err != nil {
			return fmt.Errorf("%s: helper output %q: %w", b.name, hout, err)
		}
		fm, err := onnx.Load(b.model)
		if err != nil {
			return err
		}
		qm, err := onnx.Load(q)
		if err != nil {
			return err
		}
		fs, _ := os.Stat(b.model)
		qs, _ := os.Stat(q)
		evals := map[string]*evaluate.EvalReport{}
		for _, engine := range []string{"ort", "go"} {
			n := b.evalN
			if engine == "go" && n > 50 {
				n = 50
			}
			r, err := dataset.Open(b.evalData, dataset.ModelInputs(fm), b.evalOpts)
			if err != nil {
				return fmt.Errorf("%s: %w", b.name, err)
			}
			ev, err := evaluate.Eval(context.Background(), fm, qm, dataset.Limit(r, n), evaluate.EvalOptions{Engine: engine, Threads: 2})
			r.Close()
			if err != nil {
				return fmt.Errorf("%s on %s: %w", b.name, engine, err)
			}
			evals[engine] = ev
		}
		ort, goev := evals["ort"], evals["go"]
		quality := fmt.Sprintf("SQNR %.1f dB", worst(ort))
		if ort.Labelled > 0 {
			quality = fmt.Sprintf("top-1 %.2f%% -> %.2f%% (%d digits)", 100*ort.AccuracyFloat, 100*ort.AccuracyQuant, ort.Labelled)
		}
		rows = append(rows, fmt.Sprintf("| %s | %s -> %s | %.2f / %.2f (%.2fx) | %.2f / %.2f (%.2fx) | %s | %.1f s | %.0f MiB |",
			b.name, human(fs.Size()), human(qs.Size()),
			ort.LatencyFloatMS, ort.LatencyQuantMS, ort.Speedup,
			goev.LatencyFloatMS, goev.LatencyQuantMS, goev.Speedup,
			quality, secs, float64(kb)/1024))
	}
	table := strings.Join([]string{
		"## Quantized models end to end",
		"",
		fmt.Sprintf("Generated by `make bench-models` on %s (%s/%s, %d cores; %s).", time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel()),
		"Each model is quantized as a user would: `onnxquant quantize IN OUT --format qdq --per-channel --weight-type int8 --reduce-range --calibrate DATA` (MinMax calibration on the pure-Go engine); the time and peak memory are that whole command's.",
		"Latencies are medians per sample with 2 threads (ms, float / int8, speedup); quality compares the int8 model with the float one on held-out data in ONNX Runtime (photos for the detectors, digits for MNIST, ImageNet images for ResNet50).",
		"",
		"| model | size | ONNX Runtime ms | pure-Go engine ms | int8 quality | calibrate + quantize | peak memory |",
		"|---|---|---|---|---|---|---|",
		strings.Join(rows, "\n"),
	}, "\n")
	return writeSection(out, "quantized-models", table)
}

func worst(ev *evaluate.EvalReport) float64 {
	w := math.Inf(1)
	for _, o := range ev.Outputs {
		if s := o.Stats.SQNR(); !math.IsNaN(s) {
			w = math.Min(w, s)
		}
	}
	return w
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

func human(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i >= 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown CPU"
}

// writeSection replaces the text between <!-- NAME:begin --> and
// <!-- NAME:end --> in path (appending the section when absent), atomically.
func writeSection(path, name, body string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	begin, end := "<!-- "+name+":begin -->", "<!-- "+name+":end -->"
	section := begin + "\n" + body + "\n" + end
	var out []byte
	s := string(old)
	if i, j := strings.Index(s, begin), strings.Index(s, end); i >= 0 && j > i {
		out = []byte(s[:i] + section + s[j+len(end):])
	} else {
		if len(s) > 0 && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		if len(s) > 0 {
			s += "\n"
		}
		out = []byte(s + section + "\n")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, out, 0o644); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "benchmodels: updated", path)
	return os.Rename(tmp, path)
}
