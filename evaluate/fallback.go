package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
)

// FallbackOptions set the accuracy target of Fallback. At least one of
// TargetSQNR and MaxDrop must be set.
type FallbackOptions struct {
	// TargetSQNR is the SQNR (dB) every float output must reach; 0: none.
	TargetSQNR float64
	// MaxDrop is the largest accuracy loss allowed, in percentage points,
	// when the data is labelled; a negative value or NaN: none.
	MaxDrop float64
	// Eval runs the measurements (engine, threads).
	Eval EvalOptions
	// DebugSamples is the number of samples the per-layer ranking uses
	// (0: 4).
	DebugSamples int
	// MaxRounds bounds the number of nodes excluded (0: no bound).
	MaxRounds int
	// Round, when set, is called after each measurement.
	Round func(FallbackRound)
}

// FallbackRound is one quantize-and-measure step.
type FallbackRound struct {
	// Excluded is the node excluded before this round ("" for the first).
	Excluded   string
	ExcludedOp string
	// WorstSQNR is the lowest SQNR over the float outputs (dB).
	WorstSQNR float64
	// AccuracyDrop is float minus quantized accuracy in points (NaN
	// without labels).
	AccuracyDrop float64
	// Quantized is the number of quantized nodes.
	Quantized int
}

// FallbackReport says what Fallback did.
type FallbackReport struct {
	Rounds []FallbackRound
	// Excluded lists the nodes left in float, with the SQNR of the tensor
	// each produced when it was excluded.
	Excluded []ExcludedNode
	// Met tells whether the target was reached; Reason says why not.
	Met    bool
	Reason string
	// Final is the measurement of the returned model.
	Final *EvalReport
	// Debug is the last per-layer ranking computed (nil when the first
	// model met the target).
	Debug *DebugReport
	// Quantize is the quantizer's report for the returned model.
	Quantize *quantize.Report
}

// Fallback quantizes m with cfg and measures the result on data; while the
// target is missed, it ranks the quantized nodes by the noise each adds
// (Debug) and excludes the worst from quantization, then quantizes and
// measures again. It stops at the target or when no quantized node is left
// to exclude, and returns the last model.
func Fallback(ctx context.Context, m *onnx.ModelProto, cfg quantize.Config, data dataset.Source, opts FallbackOptions) (*onnx.ModelProto, *FallbackReport, error) {
	if opts.TargetSQNR == 0 && !(opts.MaxDrop >= 0) {
		return nil, nil, errors.New("evaluate: fallback needs a target SQNR or a maximum accuracy drop")
	}
	rep := &FallbackReport{}
	excluded := map[string]bool{}
	for _, n := range cfg.NodesToExclude {
		excluded[n] = true
	}
	lastExcluded, lastOp := "", ""
	for round := 0; ; round++ {
		qm, qrep, err := quantize.Model(m, cfg)
		if err != nil {
			return nil, nil, err
		}
		ev, err := measure(ctx, m, qm, data, opts.Eval)
		if err != nil {
			return nil, nil, err
		}
		r := FallbackRound{Excluded: lastExcluded, ExcludedOp: lastOp, WorstSQNR: worstSQNR(ev), AccuracyDrop: ev.AccuracyFloat - ev.AccuracyQuant, Quantized: qrep.QuantizedCount()}
		if ev.Labelled > 0 {
			r.AccuracyDrop *= 100
		}
		rep.Rounds = append(rep.Rounds, r)
		if opts.Round != nil {
			opts.Round(r)
		}
		rep.Final, rep.Quantize = ev, qrep
		if met(r, opts) {
			rep.Met = true
			return qm, rep, nil
		}
		if qrep.QuantizedCount() == 0 {
			rep.Reason = "no quantized node is left"
			return qm, rep, nil
		}
		if opts.MaxRounds > 0 && round >= opts.MaxRounds {
			rep.Reason = fmt.Sprintf("stopped after excluding %d node(s)", round)
			return qm, rep, nil
		}
		dr, err := data()
		if err != nil {
			return nil, nil, err
		}
		dbg, err := Debug(m, qm, dr, DebugOptions{Context: ctx, Samples: opts.DebugSamples, Threads: opts.Eval.Threads})
		dr.Close()
		if err != nil {
			return nil, nil, err
		}
		rep.Debug = dbg
		next, op, sqnr := "", "", 0.0
		for _, ne := range dbg.Nodes {
			for _, n := range ne.Nodes {
				if n.Name != "" && !excluded[n.Name] && quantizedNode(qrep, n.Name) {
					next, op, sqnr = n.Name, n.OpType, ne.SQNR
					break
				}
			}
			if next != "" {
				break
			}
		}
		if next == "" {
			rep.Reason = "the per-layer ranking names no further quantized node"
			return qm, rep, nil
		}
		excluded[next] = true
		cfg.NodesToExclude = append(append([]string(nil), cfg.NodesToExclude...), next)
		rep.Excluded = append(rep.Excluded, ExcludedNode{Name: next, OpType: op, Reason: fmt.Sprintf("round %d: its output had SQNR %.1f dB", round+1, sqnr)})
		lastExcluded, lastOp = next, op
	}
}

func measure(ctx context.Context, fm, qm *onnx.ModelProto, data dataset.Source, opts EvalOptions) (*EvalReport, error) {
	r, err := data()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if opts.Warmup == 0 {
		opts.Warmup = -1 // latency is not the question here
	}
	return Eval(ctx, fm, qm, r, opts)
}

// worstSQNR is the lowest SQNR over the outputs (+Inf when all are exact).
func worstSQNR(ev *EvalReport) float64 {
	w := math.Inf(1)
	for _, o := range ev.Outputs {
		if s := o.Stats.SQNR(); !math.IsNaN(s) {
			w = math.Min(w, s)
		}
	}
	return w
}

func met(r FallbackRound, opts FallbackOptions) bool {
	if opts.TargetSQNR != 0 && !(r.WorstSQNR >= opts.TargetSQNR) {
		return false
	}
	if opts.MaxDrop >= 0 && !math.IsNaN(r.AccuracyDrop) && r.AccuracyDrop > opts.MaxDrop {
		return false
	}
	return true
}

// quantizedNode reports whether the quantizer's report lists node name as
// quantized.
func quantizedNode(rep *quantize.Report, name string) bool {
	for _, n := range rep.Nodes {
		if n.Name == name {
			return true
		}
	}
	return false
}
