package evaluate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/onnxquant/onnxquant/backend"
	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// EvalOptions configure Eval.
type EvalOptions struct {
	// Engine runs both models: "go" (the default) or "ort" (ONNX Runtime,
	// in cgo builds).
	Engine string
	// Threads per model run (0: the engine's default).
	Threads int
	// Warmup is the number of untimed runs of each model on the first
	// sample before timing starts: 0 means 2, a negative value none.
	Warmup int
	// Progress, when set, is called after each sample with the number of
	// samples done.
	Progress func(done int)
}

// EvalReport is the outcome of Eval. Rates that could not be measured are
// NaN (see the field docs); its JSON form writes them as null.
type EvalReport struct {
	// Engine that ran both models.
	Engine string
	// Samples is the number of samples run through both models.
	Samples int
	// Outputs compares each graph output of the float model with the
	// quantized model's output of the same name, in graph order.
	Outputs []OutputReport
	// Top1Output is the first classifier-like output (see ClassRows), ""
	// when there is none; Top1Agreement is the fraction of its rows where
	// both models pick the same class (NaN without such an output).
	Top1Output    string
	Top1Agreement float64
	// Labelled is the number of rows of Top1Output with a known label;
	// AccuracyFloat and AccuracyQuant are each model's top-1 accuracy on
	// them (NaN when nothing is labelled).
	Labelled                     int64
	AccuracyFloat, AccuracyQuant float64
	// LatencyFloatMS and LatencyQuantMS are the median time of one run
	// (one sample) of each model in milliseconds, warm-up runs excluded;
	// Speedup is LatencyFloatMS / LatencyQuantMS.
	LatencyFloatMS, LatencyQuantMS, Speedup float64
	// SizeBytesFloat and SizeBytesQuant are the models' sizes, as the
	// caller sets them (Eval sees models, not files): 0 when unknown.
	SizeBytesFloat, SizeBytesQuant int64
}

// OutputReport compares one graph output.
type OutputReport struct {
	Name string
	// Shape is the float model's output shape on the last sample.
	Shape []int
	// Stats accumulates the error over all samples.
	Stats Stats
	// Classifier says whether the output reads as classifier scores
	// (ClassRows); Top1 then counts rows where both models agree.
	Classifier bool
	Top1       Top1
}

// Eval runs floatModel and quantModel on every sample r yields (closing
// neither r nor the models) and compares their outputs. The models must
// take the same inputs, and the quantized model must have every output of
// the float model under the same name.
func Eval(ctx context.Context, floatModel, quantModel *onnx.ModelProto, r dataset.Reader, opts EvalOptions) (*EvalReport, error) {
	if opts.Engine == "" {
		opts.Engine = "go"
	}
	warmup := opts.Warmup
	if warmup == 0 {
		warmup = 2
	}
	fs, err := backend.Open(opts.Engine, floatModel, backend.Options{Threads: opts.Threads})
	if err != nil {
		return nil, fmt.Errorf("evaluate: float model: %w", err)
	}
	defer fs.Close()
	qs, err := backend.Open(opts.Engine, quantModel, backend.Options{Threads: opts.Threads})
	if err != nil {
		return nil, fmt.Errorf("evaluate: quantized model: %w", err)
	}
	defer qs.Close()
	if err := CompareInputs(fs.Inputs(), qs.Inputs()); err != nil {
		return nil, err
	}
	if err := compareOutputs(fs.Outputs(), qs.Outputs()); err != nil {
		return nil, err
	}
	rep := &EvalReport{Engine: opts.Engine, Top1Agreement: math.NaN(), AccuracyFloat: math.NaN(), AccuracyQuant: math.NaN()}
	for _, o := range fs.Outputs() {
		rep.Outputs = append(rep.Outputs, OutputReport{Name: o.Name})
	}
	var accF, accQ Accuracy
	var tf, tq []float64
	top1 := -1 // index in rep.Outputs of the output used for accuracy
	for {
		s, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("evaluate: reading sample %d: %w", rep.Samples+1, err)
		}
		if rep.Samples == 0 && warmup > 0 {
			for i := 0; i < warmup; i++ {
				if _, err := fs.Run(ctx, s.Inputs); err != nil {
					return nil, fmt.Errorf("evaluate: float model, sample %s: %w", s.Name, err)
				}
				if _, err := qs.Run(ctx, s.Inputs); err != nil {
					return nil, fmt.Errorf("evaluate: quantized model, sample %s: %w", s.Name, err)
				}
			}
		}
		start := time.Now()
		fo, err := fs.Run(ctx, s.Inputs)
		if err != nil {
			return nil, fmt.Errorf("evaluate: float model, sample %s: %w", s.Name, err)
		}
		mid := time.Now()
		qo, err := qs.Run(ctx, s.Inputs)
		if err != nil {
			return nil, fmt.Errorf("evaluate: quantized model, sample %s: %w", s.Name, err)
		}
		tq = append(tq, ms(time.Since(mid)))
		tf = append(tf, ms(mid.Sub(start)))
		for i := range rep.Outputs {
			o := &rep.Outputs[i]
			x, y := fo[o.Name], qo[o.Name]
			if x == nil || y == nil {
				return nil, fmt.Errorf("evaluate: sample %s: output %q was not produced", s.Name, o.Name)
			}
			if err := o.Stats.AddTensors(x, y); err != nil {
				return nil, fmt.Errorf("evaluate: sample %s: output %q: %w", s.Name, o.Name, err)
			}
			o.Shape = slices.Clone(x.Shape)
			rows, classes, ok := ClassRows(x.Shape)
			if rep.Samples == 0 {
				o.Classifier = ok
				if ok && top1 < 0 {
					top1 = i
				}
			}
			if !o.Classifier {
				continue
			}
			if !ok {
				return nil, fmt.Errorf("evaluate: sample %s: output %q changed shape to %v", s.Name, o.Name, x.Shape)
			}
			px, err := argmaxOf(x, rows, classes)
			if err != nil {
				return nil, fmt.Errorf("evaluate: sample %s: output %q: %w", s.Name, o.Name, err)
			}
			py, err := argmaxOf(y, rows, classes)
			if err != nil {
				return nil, fmt.Errorf("evaluate: sample %s: quantized output %q: %w", s.Name, o.Name, err)
			}
			o.Top1.Add(px, py)
			if i == top1 {
				labels := rowLabels(s, rows)
				accF.Add(px, labels)
				accQ.Add(py, labels)
			}
		}
		rep.Samples++
		if opts.Progress != nil {
			opts.Progress(rep.Samples)
		}
	}
	if rep.Samples == 0 {
		return nil, errors.New("evaluate: the data set yielded no samples")
	}
	if top1 >= 0 {
		rep.Top1Output = rep.Outputs[top1].Name
		rep.Top1Agreement = rep.Outputs[top1].Top1.Rate()
	}
	rep.Labelled = accF.Labelled
	rep.AccuracyFloat, rep.AccuracyQuant = accF.Rate(), accQ.Rate()
	rep.LatencyFloatMS, rep.LatencyQuantMS = median(tf), median(tq)
	if rep.LatencyQuantMS > 0 {
		rep.Speedup = rep.LatencyFloatMS / rep.LatencyQuantMS
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// median returns the middle value (the mean of the two middle ones for an
// even count), NaN for none.
func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func argmaxOf(t *tensor.Tensor, rows, classes int) ([]int, error) {
	v, err := Floats(t)
	if err != nil {
		return nil, err
	}
	return Argmax(v, rows, classes)
}

// rowLabels returns the label of each row of a classifier output for a
// sample: its batch items' labels, or the sample's own for a single row
// (-1 where unknown).
func rowLabels(s dataset.Sample, rows int) []int {
	out := make([]int, rows)
	for i := range out {
		out[i] = -1
	}
	switch {
	case len(s.Items) == rows:
		for i, it := range s.Items {
			out[i] = it.Label
		}
	case rows == 1 && len(s.Items) <= 1:
		out[0] = s.Label
		if len(s.Items) == 1 {
			out[0] = s.Items[0].Label
		}
	}
	return out
}

// CompareInputs checks that two models take the same inputs: the same
// names, element types and (where both declare them) dimensions. The error
// lists both models' inputs.
func CompareInputs(float, quant []engine.ValueInfo) error {
	describe := func(vs []engine.ValueInfo) string {
		parts := make([]string, len(vs))
		for i, v := range vs {
			parts[i] = v.Name + " " + v.DType.String() + dims(v.Shape)
		}
		return strings.Join(parts, ", ")
	}
	fail := func(why string) error {
		return fmt.Errorf("evaluate: the models take different inputs (%s): float model: %s; quantized model: %s", why, describe(float), describe(quant))
	}
	if len(float) != len(quant) {
		return fail(fmt.Sprintf("%d against %d", len(float), len(quant)))
	}
	byName := map[string]engine.ValueInfo{}
	for _, v := range quant {
		byName[v.Name] = v
	}
	for _, f := range float {
		q, ok := byName[f.Name]
		if !ok {
			return fail(fmt.Sprintf("the quantized model has no input %q", f.Name))
		}
		if f.DType != q.DType && f.DType != tensor.Undefined && q.DType != tensor.Undefined {
			return fail(fmt.Sprintf("input %q is %v in one and %v in the other", f.Name, f.DType, q.DType))
		}
		if f.Shape != nil && q.Shape != nil {
			if len(f.Shape) != len(q.Shape) {
				return fail(fmt.Sprintf("input %q has rank %d in one and %d in the other", f.Name, len(f.Shape), len(q.Shape)))
			}
			for i := range f.Shape {
				if f.Shape[i] > 0 && q.Shape[i] > 0 && f.Shape[i] != q.Shape[i] {
					return fail(fmt.Sprintf("input %q has shape %s in one and %s in the other", f.Name, dims(f.Shape), dims(q.Shape)))
				}
			}
		}
	}
	return nil
}

// compareOutputs checks that the quantized model has every output of the
// float model.
func compareOutputs(float, quant []engine.ValueInfo) error {
	have := map[string]bool{}
	var names []string
	for _, v := range quant {
		have[v.Name] = true
		names = append(names, v.Name)
	}
	var missing []string
	for _, v := range float {
		if !have[v.Name] {
			missing = append(missing, v.Name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("evaluate: the quantized model lacks output(s) %s of the float model (its outputs: %s)", strings.Join(missing, ", "), strings.Join(names, ", "))
	}
	return nil
}

func dims(s []int) string {
	if s == nil {
		return "[?]"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "?"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// jsonNum is a float for JSON: null when NaN or infinite.
func jsonNum(v float64) *float64 {
	if !finite(v) {
		return nil
	}
	return &v
}

// evalOutputJSON is one entry of the JSON "outputs" list.
type evalOutputJSON struct {
	Name          string   `json:"name"`
	Shape         []int    `json:"shape"`
	SQNRdB        *float64 `json:"sqnr_db"`
	Cosine        *float64 `json:"cosine"`
	MaxAbsErr     *float64 `json:"max_abs_err"`
	Exact         bool     `json:"exact"`
	Elements      int64    `json:"elements"`
	Mismatched    int64    `json:"nonfinite_mismatches"`
	Top1Agreement *float64 `json:"top1_agreement"`
}

// MarshalJSON writes the report with snake_case keys: outputs (name,
// shape, sqnr_db, cosine, max_abs_err, exact, elements,
// nonfinite_mismatches, top1_agreement), top1_output, top1_agreement,
// labelled, accuracy_float, accuracy_quant, latency_ms_float,
// latency_ms_quant, speedup, size_bytes_float, size_bytes_quant, samples
// and engine. Figures that could not be measured are null; sqnr_db is also
// null for an output reproduced exactly (infinite SQNR; exact is then
// true).
func (r *EvalReport) MarshalJSON() ([]byte, error) {
	outs := make([]evalOutputJSON, 0, len(r.Outputs))
	for i := range r.Outputs {
		o := &r.Outputs[i]
		e := evalOutputJSON{
			Name: o.Name, Shape: o.Shape, SQNRdB: jsonNum(o.Stats.SQNR()), Cosine: jsonNum(o.Stats.Cosine()),
			MaxAbsErr: jsonNum(o.Stats.MaxAbsErr), Exact: o.Stats.Exact(), Elements: o.Stats.Count, Mismatched: o.Stats.Mismatched,
		}
		if o.Classifier {
			e.Top1Agreement = jsonNum(o.Top1.Rate())
		}
		outs = append(outs, e)
	}
	var top1 *string
	if r.Top1Output != "" {
		top1 = &r.Top1Output
	}
	size := func(n int64) *int64 {
		if n <= 0 {
			return nil
		}
		return &n
	}
	return json.Marshal(struct {
		Engine         string           `json:"engine"`
		Samples        int              `json:"samples"`
		Outputs        []evalOutputJSON `json:"outputs"`
		Top1Output     *string          `json:"top1_output"`
		Top1Agreement  *float64         `json:"top1_agreement"`
		Labelled       int64            `json:"labelled"`
		AccuracyFloat  *float64         `json:"accuracy_float"`
		AccuracyQuant  *float64         `json:"accuracy_quant"`
		LatencyFloatMS *float64         `json:"latency_ms_float"`
		LatencyQuantMS *float64         `json:"latency_ms_quant"`
		Speedup        *float64         `json:"speedup"`
		SizeFloat      *int64           `json:"size_bytes_float"`
		SizeQuant      *int64           `json:"size_bytes_quant"`
	}{
		r.Engine, r.Samples, outs, top1, jsonNum(r.Top1Agreement), r.Labelled,
		jsonNum(r.AccuracyFloat), jsonNum(r.AccuracyQuant),
		jsonNum(r.LatencyFloatMS), jsonNum(r.LatencyQuantMS), jsonNum(r.Speedup),
		size(r.SizeBytesFloat), size(r.SizeBytesQuant),
	})
}

// WriteText writes the report as the CLI prints it: one line per output,
// then agreement, accuracy, latency and sizes.
func (r *EvalReport) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "samples: %d (engine %s)\n", r.Samples, r.Engine)
	fmt.Fprintf(&b, "%-32s %10s %10s %12s %8s\n", "output", "SQNR dB", "cosine", "max |err|", "top-1")
	for i := range r.Outputs {
		o := &r.Outputs[i]
		t1 := "-"
		if o.Classifier {
			t1 = pct(o.Top1.Rate())
		}
		fmt.Fprintf(&b, "%-32s %10s %10s %12s %8s\n", o.Name, fmtDB(o.Stats.SQNR()), fmtG(o.Stats.Cosine(), 6), fmtG(o.Stats.MaxAbsErr, 4), t1)
		if o.Stats.Mismatched > 0 {
			fmt.Fprintf(&b, "  %d value(s) NaN or infinite in one model only\n", o.Stats.Mismatched)
		}
	}
	if r.Top1Output != "" {
		var rows int64
		for i := range r.Outputs {
			if r.Outputs[i].Name == r.Top1Output {
				rows = r.Outputs[i].Top1.Rows
			}
		}
		fmt.Fprintf(&b, "top-1 agreement: %s (%s, %d rows)\n", pct(r.Top1Agreement), r.Top1Output, rows)
	} else {
		fmt.Fprintln(&b, "top-1 agreement: n/a (no classifier-like output)")
	}
	if r.Labelled > 0 {
		fmt.Fprintf(&b, "accuracy: float %s, quantized %s (%d labelled)\n", pct(r.AccuracyFloat), pct(r.AccuracyQuant), r.Labelled)
	} else {
		fmt.Fprintln(&b, "accuracy: n/a (no labels)")
	}
	fmt.Fprintf(&b, "latency (median per sample): float %.3f ms, quantized %.3f ms, speedup %.2fx\n", r.LatencyFloatMS, r.LatencyQuantMS, r.Speedup)
	if r.SizeBytesFloat > 0 && r.SizeBytesQuant > 0 {
		fmt.Fprintf(&b, "size: float %s, quantized %s (%.1f%%)\n", humanBytes(r.SizeBytesFloat), humanBytes(r.SizeBytesQuant), 100*float64(r.SizeBytesQuant)/float64(r.SizeBytesFloat))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func pct(v float64) string {
	if !finite(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f%%", 100*v)
}

func fmtDB(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "exact"
	case math.IsNaN(v):
		return "n/a"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return fmt.Sprintf("%.2f", v)
}

func fmtG(v float64, prec int) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.*g", prec, v)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
