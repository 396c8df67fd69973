package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

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
	// MaxRounds bounds the number of exclusions tried (0: no bound).
	MaxRounds int
	// Round, when set, is called after each measurement.
	Round func(FallbackRound)
}

// FallbackRound is one quantize-and-measure step.
type FallbackRound struct {
	// Excluded is the node this round tried leaving in float ("" for the
	// first round); the exclusion is kept only when it improved the result
	// (see FallbackReport.Excluded).
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
	// Excluded lists the nodes left in float (the exclusions kept), with
	// the worst output SQNR before and after each.
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
// (Debug) and tries leaving the worst in float: an exclusion that improves
// the measurement is kept (and the ranking recomputed), one that does not
// is undone and the next candidate tried. It stops at the target, when no
// candidate is left, or after MaxRounds tries, and returns the best model.
func Fallback(ctx context.Context, m *onnx.ModelProto, cfg quantize.Config, data dataset.Source, opts FallbackOptions) (*onnx.ModelProto, *FallbackReport, error) {
	if opts.TargetSQNR == 0 && !(opts.MaxDrop >= 0) {
		return nil, nil, errors.New("evaluate: fallback needs a target SQNR or a maximum accuracy drop")
	}
	rep := &FallbackReport{}
	try := func(cfg quantize.Config, excluded, op string) (*onnx.ModelProto, *quantize.Report, FallbackRound, *EvalReport, error) {
		qm, qrep, err := quantize.Model(m, cfg)
		if err != nil {
			return nil, nil, FallbackRound{}, nil, err
		}
		ev, err := measure(ctx, m, qm, data, opts.Eval)
		if err != nil {
			return nil, nil, FallbackRound{}, nil, err
		}
		r := FallbackRound{Excluded: excluded, ExcludedOp: op, WorstSQNR: worstSQNR(ev), AccuracyDrop: math.NaN(), Quantized: qrep.QuantizedCount()}
		if ev.Labelled > 0 {
			r.AccuracyDrop = 100 * (ev.AccuracyFloat - ev.AccuracyQuant)
		}
		rep.Rounds = append(rep.Rounds, r)
		if opts.Round != nil {
			opts.Round(r)
		}
		return qm, qrep, r, ev, nil
	}
	best, bestQ, bestR, bestEv, err := try(cfg, "", "")
	if err != nil {
		return nil, nil, err
	}
	finish := func(met bool, reason string) (*onnx.ModelProto, *FallbackReport, error) {
		rep.Met, rep.Reason, rep.Final, rep.Quantize = met, reason, bestEv, bestQ
		return best, rep, nil
	}
	tried := map[string]bool{}
	// A candidate is a ranked tensor's whole neighbourhood: the nodes that
	// produce it and the quantized nodes that read it. Only together do
	// they stop it from being quantized.
	readers := map[string][]string{}
	for _, n := range m.GetGraph().GetNode() {
		for _, in := range n.GetInput() {
			if in != "" && n.GetName() != "" {
				readers[in] = append(readers[in], n.GetName())
			}
		}
	}
	type candidate struct {
		names []string
		label string
		op    string
	}
	var ranking []candidate
	tries := 0
	for {
		if met(bestR, opts) {
			return finish(true, "")
		}
		if bestQ.QuantizedCount() == 0 {
			return finish(false, "no quantized node is left")
		}
		if opts.MaxRounds > 0 && tries >= opts.MaxRounds {
			return finish(false, fmt.Sprintf("stopped after %d tries (%d node(s) left in float)", tries, len(rep.Excluded)))
		}
		if ranking == nil {
			dr, err := data()
			if err != nil {
				return nil, nil, err
			}
			dbg, err := Debug(m, best, dr, DebugOptions{Context: ctx, Samples: opts.DebugSamples, Threads: opts.Eval.Threads})
			dr.Close()
			if err != nil {
				return nil, nil, err
			}
			rep.Debug = dbg
			for _, ne := range dbg.Nodes {
				var c candidate
				seen := map[string]bool{}
				add := func(name, op string) {
					if name != "" && !seen[name] && quantizedNode(bestQ, name) && !excluded(cfg, name) {
						seen[name] = true
						c.names = append(c.names, name)
						if c.label == "" {
							c.label, c.op = name, op
						}
					}
				}
				for _, n := range ne.Nodes {
					add(n.Name, n.OpType)
				}
				for _, name := range readers[ne.Tensor] {
					add(name, "")
				}
				if len(c.names) > 0 {
					ranking = append(ranking, c)
				}
			}
		}
		var next candidate
		for _, c := range ranking {
			key := strings.Join(c.names, "\x00")
			if !tried[key] {
				tried[key] = true
				next = c
				break
			}
		}
		if next.names == nil {
			return finish(false, "leaving any further ranked node in float does not improve the result")
		}
		tries++
		trial := cfg
		trial.NodesToExclude = append(append([]string(nil), cfg.NodesToExclude...), next.names...)
		label := strings.Join(next.names, "+")
		qm, qrep, r, ev, err := try(trial, label, next.op)
		if err != nil {
			return nil, nil, err
		}
		if !better(r, bestR, opts) {
			continue // undo: keep the node quantized, try the next one
		}
		for _, name := range next.names {
			rep.Excluded = append(rep.Excluded, ExcludedNode{Name: name, OpType: opOf(m, name),
				Reason: fmt.Sprintf("with %s: worst output SQNR %.1f -> %.1f dB", label, bestR.WorstSQNR, r.WorstSQNR)})
		}
		cfg, best, bestQ, bestR, bestEv = trial, qm, qrep, r, ev
		ranking = nil
	}
}

// better reports whether round a improves on b towards the target: a
// smaller accuracy drop when that is the target in question, else a higher
// worst SQNR (by more than 0.05 dB).
func better(a, b FallbackRound, opts FallbackOptions) bool {
	if opts.MaxDrop >= 0 && !math.IsNaN(a.AccuracyDrop) && !math.IsNaN(b.AccuracyDrop) && b.AccuracyDrop > opts.MaxDrop {
		if a.AccuracyDrop != b.AccuracyDrop {
			return a.AccuracyDrop < b.AccuracyDrop
		}
	}
	return a.WorstSQNR > b.WorstSQNR+0.05
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

func excluded(cfg quantize.Config, name string) bool {
	for _, n := range cfg.NodesToExclude {
		if n == name {
			return true
		}
	}
	return false
}

func opOf(m *onnx.ModelProto, name string) string {
	for _, n := range m.GetGraph().GetNode() {
		if n.GetName() == name {
			return n.GetOpType()
		}
	}
	return ""
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
