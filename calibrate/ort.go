//go:build cgo

package calibrate

import (
	"context"
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	openers["ort"] = openORT
}

// ortRunner runs the augmented model in ONNX Runtime.
type ortRunner struct {
	sess    *ort.Session
	outputs map[string]AugmentedOutputs
	names   []string // graph outputs to fetch
	order   []string // tensors, sorted, for a deterministic fold order
}

func openORT(m *onnx.ModelProto, tensors []string, opts Options) (runner, error) {
	aug, outs, err := Augment(m, tensors, opts.Method)
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(aug)
	if err != nil {
		return nil, fmt.Errorf("calibrate: encoding the augmented model: %w", err)
	}
	s, err := ort.NewSession(b, ort.Options{Threads: opts.Threads})
	if err != nil {
		return nil, fmt.Errorf("calibrate: ONNX Runtime cannot load the augmented model: %w", err)
	}
	r := &ortRunner{sess: s, outputs: outs}
	seen := map[string]bool{}
	for t, o := range outs {
		r.order = append(r.order, t)
		for _, n := range []string{o.Min, o.Max, o.Value} {
			if n != "" && !seen[n] {
				seen[n] = true
				r.names = append(r.names, n)
			}
		}
	}
	sort.Strings(r.order)
	sort.Strings(r.names)
	return r, nil
}

func (r *ortRunner) run(_ context.Context, inputs map[string]*tensor.Tensor, to sink) error {
	res, err := r.sess.Run(inputs, r.names)
	if err != nil {
		return err
	}
	for _, t := range r.order {
		o := r.outputs[t]
		switch {
		case o.Min != "":
			lo, err1 := first(res[o.Min])
			hi, err2 := first(res[o.Max])
			if err1 != nil || err2 != nil {
				return fmt.Errorf("tensor %q: reading ReduceMin/ReduceMax: %v %v", t, err1, err2)
			}
			to.foldRange(t, lo, hi)
		case o.Value != "":
			to.fold(t, res[o.Value])
		default:
			to.fold(t, inputs[t])
		}
	}
	return nil
}

// first returns the single value of a reduced tensor as float32.
func first(t *tensor.Tensor) (float32, error) {
	if t == nil || t.Len() != 1 {
		return 0, fmt.Errorf("not a one-value tensor")
	}
	switch d := t.Data.(type) {
	case []float32:
		return d[0], nil
	case []float64:
		return float32(d[0]), nil
	case []tensor.F16:
		return d[0].Float32(), nil
	case []tensor.BF16:
		return d[0].Float32(), nil
	}
	return 0, fmt.Errorf("element type %v is not floating-point", t.DType)
}

func (r *ortRunner) close() error { return r.sess.Close() }
