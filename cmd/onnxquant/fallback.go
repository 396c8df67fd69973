package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
)

// runFallback is `quantize --calibrate DATA --target-sqnr/--max-drop`: the
// measurements use the calibration data.
func runFallback(m *onnx.ModelProto, cfg quantize.Config, cf *calibFlags, target, maxDrop float64, labels string, stderr io.Writer) (*onnx.ModelProto, *evaluate.FallbackReport, error) {
	dopts, err := cf.datasetOptions()
	if err != nil {
		return nil, nil, err
	}
	if labels != "" {
		if dopts.Labels, err = evalLabels(labels); err != nil {
			return nil, nil, err
		}
	}
	inputs := dataset.ModelInputs(m)
	samples := cf.samples
	data := func() (dataset.Reader, error) {
		r, err := dataset.Open(cf.data, inputs, dopts)
		if err != nil {
			return nil, err
		}
		if cf.skip > 0 {
			r = dataset.Skip(r, cf.skip)
		}
		if samples > 0 {
			r = dataset.Limit(r, samples)
		}
		return r, nil
	}
	ctx, stop := interruptContext()
	defer stop()
	return evaluate.Fallback(ctx, m, cfg, data, evaluate.FallbackOptions{
		TargetSQNR: target, MaxDrop: maxDrop,
		Eval: evaluate.EvalOptions{Engine: cf.engine, Threads: cf.threads},
		Round: func(r evaluate.FallbackRound) {
			what := "first quantization"
			if r.Excluded != "" {
				what = fmt.Sprintf("excluded %s (%s)", r.Excluded, r.ExcludedOp)
			}
			drop := ""
			if !math.IsNaN(r.AccuracyDrop) {
				drop = fmt.Sprintf(", accuracy drop %.2f points", r.AccuracyDrop)
			}
			fmt.Fprintf(stderr, "fallback: %s: worst output SQNR %.1f dB%s, %d node(s) quantized\n", what, r.WorstSQNR, drop, r.Quantized)
		},
	})
}

func printFallback(w io.Writer, rep *evaluate.FallbackReport, target, maxDrop float64) {
	last := rep.Rounds[len(rep.Rounds)-1]
	if rep.Met {
		fmt.Fprintf(w, "target met after excluding %d node(s): worst output SQNR %.1f dB", len(rep.Excluded), last.WorstSQNR)
	} else {
		fmt.Fprintf(w, "target not met (%s): worst output SQNR %.1f dB", rep.Reason, last.WorstSQNR)
	}
	if !math.IsNaN(last.AccuracyDrop) {
		fmt.Fprintf(w, ", accuracy drop %.2f points", last.AccuracyDrop)
	}
	fmt.Fprintln(w)
	for _, e := range rep.Excluded {
		fmt.Fprintf(w, "left float: %s (%s): %s\n", e.Name, e.OpType, e.Reason)
	}
}

func writeFallbackHTML(path, in, out string, rep *evaluate.FallbackReport) error {
	page := evaluate.Page{
		Title:      "onnxquant: accuracy-aware quantization of " + filepath.Base(in),
		FloatModel: in, QuantModel: out,
		Eval: rep.Final, Debug: rep.Debug, Excluded: rep.Excluded,
	}
	if !rep.Met {
		page.Notes = append(page.Notes, "Target not met: "+rep.Reason)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".onnxquant-*.html")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := evaluate.WriteHTML(f, page); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
