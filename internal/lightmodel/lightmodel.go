// Package lightmodel materializes ONNX's "light" test models: full-size
// architectures (ResNet50, Inception, ...) whose float weights were replaced
// by ConstantOfShape nodes filling each tensor with one value. Materialize
// puts real tensors back, with seeded random values of a sensible scale, so
// that benchmarks run a ResNet50-size model with ResNet50-size weights.
package lightmodel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Materialize returns a copy of m in which every float ConstantOfShape node
// whose shape is a constant becomes an initializer of that shape filled from
// a PCG generator seeded with seed:
//
//   - weights of rank >= 2: He normal, N(0, 2/fan_in) with fan_in the
//     product of all but the first dimension;
//   - BatchNormalization variances (names with "riv" or "var"): U(0.5, 1.5);
//   - BatchNormalization scales (names ending "_s_0" or with "scale"):
//     U(0.8, 1.2);
//   - other vectors (biases, means): N(0, 0.05^2).
//
// The same model and seed always give the same bytes.
func Materialize(m *onnx.ModelProto, seed uint64) (*onnx.ModelProto, error) {
	out := proto.Clone(m).(*onnx.ModelProto)
	g := out.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("lightmodel: model has no graph")
	}
	inits := map[string]*onnx.TensorProto{}
	for _, t := range g.Initializer {
		inits[t.GetName()] = t
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var kept []*onnx.NodeProto
	for _, n := range g.Node {
		if n.GetOpType() != "ConstantOfShape" || len(n.Input) != 1 {
			kept = append(kept, n)
			continue
		}
		st, ok := inits[n.Input[0]]
		if !ok {
			kept = append(kept, n)
			continue
		}
		shapeT, err := tensor.FromProto(st)
		if err != nil {
			return nil, fmt.Errorf("lightmodel: shape of %q: %w", n.Output[0], err)
		}
		dims, err := tensor.Int64s(shapeT)
		if err != nil {
			return nil, fmt.Errorf("lightmodel: shape of %q: %w", n.Output[0], err)
		}
		if !isFloatFill(n) {
			kept = append(kept, n)
			continue
		}
		shape := make([]int, len(dims))
		for i, d := range dims {
			shape[i] = int(d)
		}
		t := fill(rng, n.Output[0], shape)
		tp, err := tensor.ToProto(t, n.Output[0])
		if err != nil {
			return nil, err
		}
		g.Initializer = append(g.Initializer, tp)
		if out.GetIrVersion() < 4 {
			g.Input = append(g.Input, valueInfo(n.Output[0], shape))
		}
	}
	g.Node = kept
	return out, nil
}

// isFloatFill reports whether a ConstantOfShape produces float32 (its value
// attribute is float, or absent: the default is a float zero).
func isFloatFill(n *onnx.NodeProto) bool {
	for _, a := range n.Attribute {
		if a.GetName() == "value" && a.GetT() != nil {
			return a.GetT().GetDataType() == int32(tensor.Float32)
		}
	}
	return true
}

func fill(rng *rand.Rand, name string, shape []int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	d := t.Data.([]float32)
	lower := strings.ToLower(name)
	switch {
	case len(shape) >= 2:
		fanIn := tensor.NumElements(shape[1:])
		std := math.Sqrt(2 / float64(max(fanIn, 1)))
		for i := range d {
			d[i] = float32(rng.NormFloat64() * std)
		}
	case strings.Contains(lower, "riv") || strings.Contains(lower, "var"):
		for i := range d {
			d[i] = float32(0.5 + rng.Float64())
		}
	case strings.HasSuffix(lower, "_s_0") || strings.Contains(lower, "scale"):
		for i := range d {
			d[i] = float32(0.8 + 0.4*rng.Float64())
		}
	default:
		for i := range d {
			d[i] = float32(rng.NormFloat64() * 0.05)
		}
	}
	return t
}

func valueInfo(name string, shape []int) *onnx.ValueInfoProto {
	tt := &onnx.TypeProto_Tensor{ElemType: proto.Int32(int32(tensor.Float32)), Shape: &onnx.TensorShapeProto{}}
	for _, d := range shape {
		tt.Shape.Dim = append(tt.Shape.Dim, &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}})
	}
	return &onnx.ValueInfoProto{Name: proto.String(name), Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: tt}}}
}
