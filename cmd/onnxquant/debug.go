package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/onnxquant/onnxquant/evaluate"
)

func init() {
	register(command{name: "debug", summary: "rank a quantized model's layers and weights by their error", run: runDebug})
}

func runDebug(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("debug", "FLOAT QUANT --data PATH [flags]", `
Pairs every activation of the float model FLOAT with its counterpart in the
quantized model QUANT (the same value name, or NAME_quantized dequantized with
its scale and zero point), runs both models on a few samples in the Go engine,
and prints:

  - the tensors, worst SQNR first, with the float node producing each (name,
    op type, position in the graph);
  - the node groups ranked by the error they add (their output's
    noise-to-signal ratio less their inputs'): the nodes to leave in float
    first;
  - the quantized weights, worst rounding SQNR first (per channel aware).

--html FILE writes the same as a self-contained page with a per-layer SQNR
chart.`, stderr)
	data := addEvalDataFlags(fs)
	data.defaultSamples = 4
	threads := fs.Int("threads", 0, "engine threads (0: all cores)")
	top := fs.Int("top", 20, "rows per ranking in the text report (0: all)")
	asJSON := fs.Bool("json", false, "print the report as one JSON object")
	htmlOut := fs.String("html", "", "also write an HTML report to FILE")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want FLOAT and QUANT, got %d argument(s)", len(pos))
	}
	if err := data.check(); err != nil {
		return err
	}
	if *top < 0 {
		return usagef("--top cannot be negative")
	}
	fm, qm, err := loadModelPair(pos[0], pos[1])
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r, err := data.open(fm)
	if err != nil {
		return err
	}
	defer r.Close()
	rep, err := evaluate.Debug(fm, qm, r, evaluate.DebugOptions{Context: ctx, Samples: -1, Threads: *threads})
	if err != nil {
		return err
	}
	if *htmlOut != "" {
		if err := writeHTMLFile(*htmlOut, evaluate.Page{FloatModel: pos[0], QuantModel: pos[1], Debug: rep}); err != nil {
			return err
		}
	}
	if *asJSON {
		return writeJSON(stdout, rep)
	}
	if err := rep.WriteText(stdout, *top); err != nil {
		return err
	}
	if *htmlOut != "" {
		fmt.Fprintf(stdout, "wrote %s\n", *htmlOut)
	}
	return nil
}
