//go:build linux

package calibrate

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/tensor"
)

// child is one measured run of the onnxquant binary.
type child struct {
	rssMiB float64
	wall   time.Duration
	stderr string
}

func runChild(b *testing.B, bin string, args ...string) child {
	b.Helper()
	cmd := exec.Command(bin, args...)
	var errb strings.Builder
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("onnxquant %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		b.Fatal("no rusage")
	}
	return child{rssMiB: float64(ru.Maxrss) / 1024, wall: time.Since(start), stderr: errb.String()}
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// BenchmarkCalibrateMemory runs the onnxquant binary as a child process
// and reads its peak resident memory (rusage Maxrss): one inference of
// fastestdet (`onnxquant run`), then `onnxquant calibrate` over 20 and 200
// ImageNet sample images with the Go engine, and the cost of Entropy and
// Percentile against MinMax on the same 20 images. Memory must not grow
// with the data (200 images at most 10% above 20) and stay below twice
// one inference; Entropy and Percentile must cost at most 1.5x MinMax.
func BenchmarkCalibrateMemory(b *testing.B) {
	root := testenv.RepoRoot()
	model := testenv.DataFile(b, "models", "fastestdet-coco-352.onnx")
	images := testenv.DataFile(b, "images", "imagenet-sample")
	dir := b.TempDir()
	bin := filepath.Join(dir, "onnxquant")
	build := exec.Command(goTool(), "build", "-o", bin, "./cmd/onnxquant")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building onnxquant: %v\n%s", err, out)
	}
	// One inference's input: wolves.jpg as the model takes it.
	m := loadModel(b, "fastestdet-coco-352.onnx")
	r, err := dataset.Open(testenv.DataFile(b, "images", "photos", "wolves.jpg"), dataset.ModelInputs(m), dataset.Options{Image: dataset.ImageOptions{Resize: dataset.Stretch}})
	if err != nil {
		b.Fatal(err)
	}
	s, err := r.Next(context.Background())
	r.Close()
	if err != nil {
		b.Fatal(err)
	}
	in := filepath.Join(dir, "input.npy")
	if err := tensor.WriteNpyFile(in, s.Inputs["input"]); err != nil {
		b.Fatal(err)
	}
	calib := func(n int, method, engine string) child {
		return runChild(b, bin, "calibrate", model, "--data", images, "--resize", "stretch", "--samples", fmt.Sprint(n),
			"--method", method, "--engine", engine, "-o", filepath.Join(dir, "out.json"))
	}
	for b.Loop() {
		one := runChild(b, bin, "run", model, "--input", "input="+in)
		c20 := calib(20, "minmax", "go")
		c200 := calib(200, "minmax", "go")
		ent := calib(20, "entropy", "go")
		pct := calib(20, "percentile", "go")
		ort20 := calib(20, "minmax", "ort")
		b.Logf("peak RSS: one inference %.1f MiB; calibrate 20 images %.1f MiB, 200 images %.1f MiB (%+.1f%%); ratio to one inference %.2fx and %.2fx",
			one.rssMiB, c20.rssMiB, c200.rssMiB, 100*(c200.rssMiB/c20.rssMiB-1), c20.rssMiB/one.rssMiB, c200.rssMiB/one.rssMiB)
		b.Logf("time on 20 images (Go engine): minmax %.2fs, entropy %.2fs (%.2fx), percentile %.2fs (%.2fx)",
			c20.wall.Seconds(), ent.wall.Seconds(), ent.wall.Seconds()/c20.wall.Seconds(), pct.wall.Seconds(), pct.wall.Seconds()/c20.wall.Seconds())
		b.Logf("throughput (minmax, process wall time incl. model load): Go engine %.1f samples/s (20 images), %.1f samples/s (200 images); ONNX Runtime %.1f samples/s (20 images, peak RSS %.1f MiB)",
			20/c20.wall.Seconds(), 200/c200.wall.Seconds(), 20/ort20.wall.Seconds(), ort20.rssMiB)
		b.ReportMetric(one.rssMiB, "MiB-inference")
		b.ReportMetric(c20.rssMiB, "MiB-calib20")
		b.ReportMetric(c200.rssMiB, "MiB-calib200")
		if c200.rssMiB > 1.1*c20.rssMiB {
			b.Errorf("peak RSS grows with the data: %.1f MiB over 200 images, %.1f MiB over 20", c200.rssMiB, c20.rssMiB)
		}
		if c20.rssMiB >= 2*one.rssMiB || c200.rssMiB >= 2*one.rssMiB {
			b.Errorf("calibration peak RSS (%.1f, %.1f MiB) is not below twice one inference (%.1f MiB)", c20.rssMiB, c200.rssMiB, one.rssMiB)
		}
		for _, c := range []struct {
			name string
			t    time.Duration
		}{{"entropy", ent.wall}, {"percentile", pct.wall}} {
			if c.t.Seconds() > 1.5*c20.wall.Seconds() {
				b.Errorf("%s costs %.2fx MinMax", c.name, c.t.Seconds()/c20.wall.Seconds())
			}
		}
	}
}
