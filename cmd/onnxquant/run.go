package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/onnxquant/onnxquant/backend"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	register(command{name: "run", summary: "run a model on given inputs and print or save its outputs", run: runRun})
}

func runRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "MODEL [--input NAME=FILE ...] [--input-dir DIR] [--engine go|ort] [--threads N] [--output-dir DIR]", `
Runs MODEL once and prints each output's name, type, shape and a summary.
Inputs come from .npy or ONNX TensorProto .pb files: --input NAME=FILE for one
input, --input-dir for a conformance-style test_data_set folder (input_N.pb,
matched by the tensor's name or else by position).`, stderr)
	var inputs listFlag
	fs.Var(&inputs, "input", "an input as NAME=FILE (.npy or .pb); repeat for several")
	inputDir := fs.String("input-dir", "", "a folder of input_N.pb files")
	engineName := fs.String("engine", "go", "engine: go (pure Go) or ort (ONNX Runtime)")
	threads := fs.Int("threads", 0, "threads (0: all cores)")
	outDir := fs.String("output-dir", "", "write each output to DIR/NAME.npy")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one MODEL argument, got %d", len(pos))
	}
	m, err := onnx.Load(pos[0])
	if err != nil {
		return err
	}
	sess, err := backend.Open(*engineName, m, backend.Options{Threads: *threads})
	if err != nil {
		return err
	}
	defer sess.Close()
	feeds, err := loadInputs(sess.Inputs(), inputs, *inputDir)
	if err != nil {
		return err
	}
	start := time.Now()
	outs, err := sess.Run(context.Background(), feeds)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	if *outDir != "" {
		if err := ensureDir(*outDir); err != nil {
			return err
		}
	}
	for _, o := range sess.Outputs() {
		t := outs[o.Name]
		if t == nil {
			return fmt.Errorf("output %q was not produced", o.Name)
		}
		fmt.Fprintf(stdout, "%s %s: %s\n", o.Name, t, summarize(t))
		if *outDir != "" {
			p := filepath.Join(*outDir, outputFileName(o.Name))
			if err := tensor.WriteNpyFile(p, t); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stderr, "ran on %s engine in %.2f ms\n", *engineName, float64(elapsed.Microseconds())/1000)
	return nil
}
