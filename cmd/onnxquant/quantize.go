package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	register(command{name: "quantize", summary: "write an 8-bit version of a float model", run: runQuantize})
}

func runQuantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quantize", "IN OUT [flags]", `
Quantizes the float32 model IN and writes the 8-bit model OUT (never over IN).
The defaults give the reference tool's default: IntegerOps with dynamic
activation quantization and per-tensor uint8 weights. Static modes need
activation parameters: --params FILE (the reference tool's
{"tensor": [zero_point, scale]} or onnxquant's calibration output), or
--calibrate DATA to calibrate first with the data and method flags of
'onnxquant calibrate'.

Formats: integer (ConvInteger/MatMulInteger), qlinear (QLinearConv,
QLinearMatMul and the com.microsoft QLinear ops), qdq (QuantizeLinear/
DequantizeLinear pairs around float ops; ONNX Runtime's preferred form).`, stderr)
	format := fs.String("format", "integer", "output format: integer, qlinear or qdq")
	static := fs.Bool("static", false, "static activation quantization (parameters from --params)")
	dynamic := fs.Bool("dynamic", false, "dynamic activation quantization (the default for integer and qlinear)")
	paramsFile := fs.String("params", "", "activation parameters (JSON)")
	perChannel := fs.Bool("per-channel", false, "quantize weights per output channel (symmetric: one zero point for all channels)")
	weightType := fs.String("weight-type", "uint8", "weight type: int8 or uint8")
	actType := fs.String("activation-type", "uint8", "activation type: uint8 or int8")
	symW := fs.Bool("symmetric-weights", false, "symmetric weight ranges")
	symA := fs.Bool("symmetric-activations", false, "symmetric activation ranges")
	reduce := fs.Bool("reduce-range", false, "7-bit weights (avoids uint8 x int8 saturation on AVX2 without VNNI)")
	fuse := fs.Bool("fuse-dynamic", false, "one DynamicQuantizeLinear per activation, upgrading an opset-10 model to 11")
	var nodes, exclude, opTypes listFlag
	fs.Var(&nodes, "nodes", "only quantize these nodes (comma-separated names)")
	fs.Var(&exclude, "exclude", "never quantize these nodes (comma-separated names)")
	fs.Var(&opTypes, "op-types", "only quantize these op types (comma-separated)")
	bits := fs.Int("bits", 8, "bits per value (8)")
	keepBN := fs.Bool("keep-batchnorm", false, "do not fold BatchNormalization into the Conv before it")
	report := fs.Bool("report", false, "print the full report")
	calibData := fs.String("calibrate", "", "calibrate on the data at PATH first and quantize statically with the ranges found (data and method flags as for 'onnxquant calibrate')")
	cf := addCalibFlags(fs)
	targetSQNR := fs.Float64("target-sqnr", 0, "with --calibrate: exclude the nodes adding the most error until every output's SQNR (on the calibration data) reaches DB")
	maxDrop := fs.Float64("max-drop", -1, "with --calibrate and labelled data: exclude nodes until the top-1 accuracy drops by at most POINTS")
	labels := fs.String("labels", "", "labels for --max-drop: a name<TAB>index file or a synset table")
	html := fs.String("html", "", "with --target-sqnr/--max-drop: write a report page (per-layer SQNR chart, excluded nodes) to FILE")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want IN and OUT, got %d argument(s)", len(pos))
	}
	in, out := pos[0], pos[1]
	if *static && *dynamic {
		return usagef("--static and --dynamic exclude each other")
	}
	var cfg quantize.Config
	if cfg.Format, err = quantize.ParseFormat(*format); err != nil {
		return &usageError{err.Error()}
	}
	cfg.Static = *static || cfg.Format == quantize.QDQ
	if *dynamic && cfg.Format == quantize.QDQ {
		return usagef("the qdq format is static; drop --dynamic")
	}
	if cfg.WeightType, err = parseQType(*weightType); err != nil {
		return err
	}
	if cfg.ActivationType, err = parseQType(*actType); err != nil {
		return err
	}
	cfg.PerChannel, cfg.SymmetricWeights, cfg.SymmetricActivations = *perChannel, *symW, *symA
	cfg.ReduceRange, cfg.FuseDynamic, cfg.Bits, cfg.KeepBatchNorm = *reduce, *fuse, *bits, *keepBN
	cfg.NodesToQuantize, cfg.NodesToExclude, cfg.OpTypesToQuantize = nodes, exclude, opTypes
	if *calibData != "" {
		switch {
		case *paramsFile != "":
			return usagef("--calibrate and --params exclude each other")
		case *dynamic:
			return usagef("--calibrate quantizes statically; drop --dynamic")
		}
		if err := cf.check(); err != nil {
			return err
		}
		cf.data, cfg.Static = *calibData, true
	}
	if *paramsFile != "" {
		if cfg.Params, err = quantize.ReadParamsFile(*paramsFile); err != nil {
			return err
		}
	}
	fallback := *targetSQNR != 0 || *maxDrop >= 0
	if fallback && *calibData == "" {
		return usagef("--target-sqnr and --max-drop need --calibrate DATA")
	}
	if !fallback && (*html != "" || *labels != "") {
		return usagef("--html and --labels go with --target-sqnr or --max-drop")
	}
	if cfg.Static && cfg.Params == nil && *calibData == "" {
		return usagef("static quantization needs activation parameters: --params FILE or --calibrate DATA")
	}
	if err := sameFile(in, out); err != nil {
		return err
	}
	// Quantizing holds a few large byte buffers with few pointers: collect
	// garbage early, so that peak memory stays near twice the model's size
	// rather than growing to Go's default heap target.
	defer debug.SetGCPercent(debug.SetGCPercent(25))
	m, err := onnx.Load(in)
	if err != nil {
		return err
	}
	if *calibData != "" {
		if cfg.Params, err = calibrateFor(m, cfg, cf, stderr); err != nil {
			return err
		}
	}
	var qm *onnx.ModelProto
	var rep *quantize.Report
	if fallback {
		var frep *evaluate.FallbackReport
		qm, frep, err = runFallback(m, cfg, cf, *targetSQNR, *maxDrop, *labels, stderr)
		if err != nil {
			return err
		}
		rep = frep.Quantize
		defer printFallback(stdout, frep, *targetSQNR, *maxDrop)
		if *html != "" {
			if err := writeFallbackHTML(*html, in, out, frep); err != nil {
				return err
			}
		}
	} else if qm, rep, err = quantize.Model(m, cfg); err != nil {
		return err
	}
	if err := onnx.Save(qm, out, onnx.SaveOptions{Input: in}); err != nil {
		return err
	}
	printQuantSummary(stdout, in, out, rep)
	if *report {
		fmt.Fprint(stdout, rep.String())
	}
	return nil
}

func parseQType(s string) (tensor.DataType, error) {
	switch s {
	case "uint8":
		return tensor.Uint8, nil
	case "int8":
		return tensor.Int8, nil
	}
	return 0, usagef("type %q: want int8 or uint8", s)
}

// sameFile refuses OUT naming the input model.
func sameFile(in, out string) error {
	a, errA := os.Stat(in)
	b, errB := os.Stat(out)
	if errA == nil && errB == nil && os.SameFile(a, b) {
		return usagef("OUT %s is the input model; choose another file", out)
	}
	return nil
}

func printQuantSummary(w io.Writer, in, out string, rep *quantize.Report) {
	var parts []string
	types := make([]string, 0, len(rep.Quantized))
	for t := range rep.Quantized {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		parts = append(parts, fmt.Sprintf("%s %d", t, rep.Quantized[t]))
	}
	if len(parts) == 0 {
		parts = append(parts, "none")
	}
	fmt.Fprintf(w, "quantized (%s): %s; %d quantizable node(s) left float\n", rep.Format, strings.Join(parts, ", "), len(rep.Float))
	if a, err := os.Stat(in); err == nil {
		if b, err := os.Stat(out); err == nil {
			fmt.Fprintf(w, "size: %s -> %s (%.1f%%)\n", humanBytes(a.Size()), humanBytes(b.Size()), 100*float64(b.Size())/float64(a.Size()))
		}
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "wrote %s\n", out)
}
