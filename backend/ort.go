//go:build cgo

package backend

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register("ort", openORT)
}

type ortSession struct {
	s       *ort.Session
	inputs  []engine.ValueInfo
	outputs []engine.ValueInfo
}

func openORT(m *onnx.ModelProto, opts Options) (Session, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("backend: encoding model for ONNX Runtime: %w", err)
	}
	s, err := ort.NewSession(b, ort.Options{Threads: opts.Threads})
	if err != nil {
		return nil, err
	}
	return &ortSession{s: s, inputs: convertInfo(s.Inputs()), outputs: convertInfo(s.Outputs())}, nil
}

func convertInfo(in []ort.IOInfo) []engine.ValueInfo {
	out := make([]engine.ValueInfo, len(in))
	for i, v := range in {
		out[i] = engine.ValueInfo{Name: v.Name, DType: v.DType, Shape: append([]int{}, v.Shape...), DimNames: make([]string, len(v.Shape))}
	}
	return out
}

func (o *ortSession) Inputs() []engine.ValueInfo { return append([]engine.ValueInfo(nil), o.inputs...) }
func (o *ortSession) Outputs() []engine.ValueInfo {
	return append([]engine.ValueInfo(nil), o.outputs...)
}
func (o *ortSession) Close() error { return o.s.Close() }

func (o *ortSession) Run(ctx context.Context, in map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return o.s.Run(in, nil)
}
