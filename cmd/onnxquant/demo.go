package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/onnxquant/onnxquant/calibrate"
	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	register(command{name: "demo", summary: "quantize the bundled MNIST model end to end and compare it with the float one", run: runDemo})
}

func runDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", "[--dir examples/mnist] [--out FILE] [--format qdq|qlinear|integer]", `
The whole job on the bundled MNIST model (mnist-8, MIT) and 500 bundled digits,
with nothing but the pure-Go engine: calibrate (MinMax) on the first 100 digits,
quantize (per-channel weights), save, and compare the float and 8-bit models on
the other 400 digits: accuracy, output SQNR, size and speed.`, stderr)
	dir := fs.String("dir", filepath.Join("examples", "mnist"), "folder holding mnist-8.onnx, digits.npy and labels.npy")
	outPath := fs.String("out", "", "where to write the quantized model (default: a temporary folder)")
	format := fs.String("format", "qdq", "output format: qdq, qlinear or integer")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("demo takes no arguments")
	}
	f, err := quantize.ParseFormat(*format)
	if err != nil {
		return &usageError{err.Error()}
	}
	in := filepath.Join(*dir, "mnist-8.onnx")
	m, err := onnx.Load(in)
	if err != nil {
		return err
	}
	samples, err := demoDigits(*dir)
	if err != nil {
		return err
	}
	if len(samples) < 200 {
		return fmt.Errorf("%s: %d digits, want at least 200", *dir, len(samples))
	}
	calib, test := samples[:100], samples[100:]

	cfg := quantize.Config{Format: f, Static: f != quantize.IntegerOps, PerChannel: true}
	fmt.Fprintf(stdout, "model:     %s (mnist-8, opset 8)\n", in)
	if cfg.Static {
		tensors, err := quantize.TensorsToCalibrate(m, cfg)
		if err != nil {
			return err
		}
		res, err := calibrate.Run(context.Background(), m, tensors, dataset.FromTensors(inputsOf(calib)), calibrate.Options{Method: calibrate.MinMax, Engine: "go"})
		if err != nil {
			return err
		}
		if cfg.Params, err = res.Params(tensor.Uint8, false); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "calibrate: MinMax ranges of %d tensors from %d digits (pure-Go engine)\n", len(tensors), len(calib))
	}
	qm, rep, err := quantize.Model(m, cfg)
	if err != nil {
		return err
	}
	out := *outPath
	if out == "" {
		tmp, err := os.MkdirTemp("", "onnxquant-demo")
		if err != nil {
			return err
		}
		out = filepath.Join(tmp, "mnist-8-int8.onnx")
	}
	if err := onnx.Save(qm, out, onnx.SaveOptions{Input: in}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "quantize:  %s, per-channel weights: %d nodes quantized -> %s\n", rep.Format, rep.QuantizedCount(), out)
	ev, err := evaluate.Eval(context.Background(), m, qm, &labelledList{s: test}, evaluate.EvalOptions{Engine: "go"})
	if err != nil {
		return err
	}
	if st, err := os.Stat(in); err == nil {
		ev.SizeBytesFloat = st.Size()
	}
	if st, err := os.Stat(out); err == nil {
		ev.SizeBytesQuant = st.Size()
	}
	fmt.Fprintf(stdout, "evaluate:  %d held-out digits on the pure-Go engine\n", len(test))
	if err := ev.WriteText(stdout); err != nil {
		return err
	}
	return nil
}

// demoDigits reads the bundled digits (uint8 [N,28,28]) and labels (int64
// [N]) as mnist-8 samples: [1,1,28,28] pixel values 0..255.
func demoDigits(dir string) ([]dataset.Sample, error) {
	pix, err := tensor.ReadNpyFile(filepath.Join(dir, "digits.npy"))
	if err != nil {
		return nil, err
	}
	lab, err := tensor.ReadNpyFile(filepath.Join(dir, "labels.npy"))
	if err != nil {
		return nil, err
	}
	p, ok1 := pix.Data.([]uint8)
	l, ok2 := lab.Data.([]int64)
	if !ok1 || !ok2 || len(pix.Shape) != 3 || pix.Shape[1] != 28 || pix.Shape[2] != 28 || len(l) != pix.Shape[0] {
		return nil, fmt.Errorf("%s: want digits.npy uint8 [N,28,28] and labels.npy int64 [N], got %v and %v", dir, pix, lab)
	}
	out := make([]dataset.Sample, len(l))
	for i := range out {
		x := make([]float32, 784)
		for j := range x {
			x[j] = float32(p[i*784+j])
		}
		out[i] = dataset.Sample{Name: fmt.Sprintf("digit %d", i), Label: int(l[i]),
			Inputs: map[string]*tensor.Tensor{"Input3": tensor.FromSlice([]int{1, 1, 28, 28}, x)}}
	}
	return out, nil
}

func inputsOf(s []dataset.Sample) []map[string]*tensor.Tensor {
	out := make([]map[string]*tensor.Tensor, len(s))
	for i := range s {
		out[i] = s[i].Inputs
	}
	return out
}

// labelledList yields samples with their labels.
type labelledList struct {
	s []dataset.Sample
	i int
}

func (l *labelledList) Next(ctx context.Context) (dataset.Sample, error) {
	if err := ctx.Err(); err != nil {
		return dataset.Sample{}, err
	}
	if l.i >= len(l.s) {
		return dataset.Sample{}, io.EOF
	}
	l.i++
	return l.s[l.i-1], nil
}

func (l *labelledList) Close() error { return nil }
