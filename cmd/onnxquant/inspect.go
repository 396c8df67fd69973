package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/onnxquant/onnxquant/modelinfo"
	"github.com/onnxquant/onnxquant/onnx"
)

func init() {
	register(command{name: "inspect", summary: "show what a model holds: versions, inputs, ops, weights, quantization", run: runInspect})
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "MODEL [--json]", `
Prints a model's IR version, operator sets, producer, inputs and outputs with
types and shapes (symbolic dimensions by name), node count and operator
histogram, parameter count and weight bytes by data type, whether it is
already quantized, and its external data files.`, stderr)
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one MODEL argument, got %d", len(pos))
	}
	path := pos[0]
	m, err := onnx.LoadWithOptions(path, onnx.LoadOptions{SkipExternalData: true})
	if err != nil {
		return err
	}
	s := modelinfo.Summarize(m)
	s.Path = path
	if st, err := os.Stat(path); err == nil {
		s.FileBytes = st.Size()
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	printSummary(stdout, s)
	return nil
}

func printSummary(w io.Writer, s *modelinfo.Summary) {
	fmt.Fprintf(w, "model:      %s (%s)\n", s.Path, humanBytes(s.FileBytes))
	prod := s.Producer
	if s.ProducerVersion != "" {
		prod += " " + s.ProducerVersion
	}
	if prod == "" {
		prod = "(not recorded)"
	}
	fmt.Fprintf(w, "ir version: %d\nproducer:   %s\n", s.IRVersion, prod)
	var ops []string
	for _, o := range s.Opsets {
		ops = append(ops, fmt.Sprintf("%s %d", o.Domain, o.Version))
	}
	fmt.Fprintf(w, "opsets:     %s\n", strings.Join(ops, ", "))
	fmt.Fprintln(w, "inputs:")
	for _, v := range s.Inputs {
		fmt.Fprintf(w, "  %-30s %s%s\n", v.Name, v.Type, shapeText(v))
	}
	fmt.Fprintln(w, "outputs:")
	for _, v := range s.Outputs {
		fmt.Fprintf(w, "  %-30s %s%s\n", v.Name, v.Type, shapeText(v))
	}
	sub := ""
	if s.SubgraphNodes > 0 {
		sub = fmt.Sprintf(" (+%d in subgraphs)", s.SubgraphNodes)
	}
	fmt.Fprintf(w, "nodes:      %d%s\n", s.Nodes, sub)
	for _, o := range s.OpTypes {
		name := o.OpType
		if o.Domain != "" {
			name = o.Domain + "." + o.OpType
		}
		fmt.Fprintf(w, "  %-30s %d\n", name, o.Count)
	}
	fmt.Fprintf(w, "parameters: %d (%s)\n", s.Parameters, humanBytes(s.WeightBytes))
	for _, t := range s.WeightsByType {
		fmt.Fprintf(w, "  %-10s %4d tensors %12d elements %10s\n", t.Type, t.Tensors, t.Elements, humanBytes(t.Bytes))
	}
	if s.Quantized {
		fmt.Fprintf(w, "quantized:  yes (%d quantized ops)\n", s.QuantizedOps)
	} else {
		fmt.Fprintln(w, "quantized:  no")
	}
	if len(s.ExternalData) == 0 {
		fmt.Fprintln(w, "external data: none")
	} else {
		fmt.Fprintln(w, "external data:")
		for _, e := range s.ExternalData {
			fmt.Fprintf(w, "  %-30s %d tensors %s\n", e.Location, e.Tensors, humanBytes(e.Bytes))
		}
	}
}

func shapeText(v modelinfo.Value) string {
	if !v.RankKnown {
		return " (shape unknown)"
	}
	return "[" + strings.Join(v.Shape, ",") + "]"
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
