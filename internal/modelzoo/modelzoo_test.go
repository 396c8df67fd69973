package modelzoo

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestSharedModelsHaveRecipes checks every shared model against its recipe
// (names, types, ranks and static dimensions as the model declares them).
func TestSharedModelsHaveRecipes(t *testing.T) {
	models := testenv.Models(t)
	seen := map[string]bool{}
	for _, path := range models {
		name := filepath.Base(path)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			if !Known(path) {
				t.Fatalf("no recipe for shared model %s", name)
			}
			ins, err := Inputs(path, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for n, x := range ins {
				if err := x.Check(); err != nil {
					t.Errorf("input %q: %v", n, err)
				}
			}
		})
	}
	for name := range recipes {
		if !seen[name] {
			t.Errorf("recipe for %s, which is not among the shared models", name)
		}
	}
}

// writeModel saves a model with the given graph inputs and one initializer
// "w" that is also listed as an input, as IR 3 models do.
func writeModel(t *testing.T, inputs ...*onnx.ValueInfoProto) string {
	t.Helper()
	g := &onnx.GraphProto{
		Name:        proto.String("g"),
		Initializer: []*onnx.TensorProto{{Name: proto.String("w"), DataType: proto.Int32(int32(tensor.Float32)), Dims: []int64{1}, FloatData: []float32{1}}},
		Input:       append([]*onnx.ValueInfoProto{vi("w", tensor.Float32, 1)}, inputs...),
	}
	b, err := proto.Marshal(&onnx.ModelProto{IrVersion: proto.Int64(3), Graph: g})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "custom.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// vi declares a tensor input; -1 is a symbolic dimension.
func vi(name string, dt tensor.DataType, dims ...int) *onnx.ValueInfoProto {
	sh := &onnx.TensorShapeProto{}
	for _, d := range dims {
		dim := &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}}
		if d < 0 {
			dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	return &onnx.ValueInfoProto{Name: proto.String(name), Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
		TensorType: &onnx.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: sh}}}}
}

func TestDeclaredFallback(t *testing.T) {
	p := writeModel(t, vi("img", tensor.Float32, -1, 3, 4), vi("ids", tensor.Int64, 2), vi("flag", tensor.Bool))
	if Known(p) {
		t.Fatal("custom model reported as known")
	}
	got, err := Recipe(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Input{
		{Name: "img", DType: tensor.Float32, Shape: []int{1, 3, 4}, Lo: 0, Hi: 1},
		{Name: "ids", DType: tensor.Int64, Shape: []int{2}},
		{Name: "flag", DType: tensor.Bool, Shape: []int{}},
	}
	if len(got) != len(want) {
		t.Fatalf("Recipe = %+v, want %+v (the initializer input skipped)", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || g.Lo != w.Lo || g.Hi != w.Hi {
			t.Errorf("input %d = %+v, want %+v", i, g, w)
		}
	}
	ins, err := Inputs(p, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	if d := tensor.As[int64](ins["ids"]); !slices.Equal(d, []int64{0, 0}) {
		t.Errorf("ids = %v, want zeros", d)
	}
	if d := tensor.As[bool](ins["flag"]); len(d) != 1 || d[0] {
		t.Errorf("flag = %v, want [false]", d)
	}
}

func TestRecipeMismatch(t *testing.T) {
	tests := []struct {
		name   string
		inputs []*onnx.ValueInfoProto
		want   string
	}{
		{"extra model input", []*onnx.ValueInfoProto{vi("Input3", tensor.Float32, 1, 1, 28, 28), vi("more", tensor.Float32, 1)}, `"more" has no recipe`},
		{"renamed input", []*onnx.ValueInfoProto{vi("image", tensor.Float32, 1, 1, 28, 28)}, `"Input3" is not a model input`},
		{"other type", []*onnx.ValueInfoProto{vi("Input3", tensor.Float64, 1, 1, 28, 28)}, "recipe says float32, model float64"},
		{"other rank", []*onnx.ValueInfoProto{vi("Input3", tensor.Float32, 1, 784)}, "model rank 2"},
		{"other static dim", []*onnx.ValueInfoProto{vi("Input3", tensor.Float32, 1, 1, 32, 32)}, "dimension 2 is 32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeModel(t, tc.inputs...)
			// Borrow mnist-8's name so that its recipe applies.
			q := filepath.Join(filepath.Dir(p), "mnist-8.onnx")
			if err := os.Rename(p, q); err != nil {
				t.Fatal(err)
			}
			_, err := Inputs(q, rand.New(rand.NewPCG(1, 1)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Inputs error = %v, want one containing %q", err, tc.want)
			}
		})
	}
	// A symbolic dimension takes any recipe size.
	p := writeModel(t, vi("Input3", tensor.Float32, -1, 1, 28, 28))
	q := filepath.Join(filepath.Dir(p), "mnist-8.onnx")
	if err := os.Rename(p, q); err != nil {
		t.Fatal(err)
	}
	if _, err := Inputs(q, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Errorf("symbolic batch dimension: %v", err)
	}
}

func TestMakeRanges(t *testing.T) {
	tests := []struct {
		in     Input
		lo, hi float64
	}{
		{Input{Name: "f", DType: tensor.Float32, Shape: []int{1000}, Lo: -1, Hi: 1}, -1, 1},
		{Input{Name: "d", DType: tensor.Float64, Shape: []int{1000}, Lo: 0, Hi: 255}, 0, 255},
		{Input{Name: "i", DType: tensor.Int8, Shape: []int{1000}, Lo: -3, Hi: 3}, -3, 3},
		{Input{Name: "u", DType: tensor.Uint8, Shape: []int{1000}, Lo: 0, Hi: 255}, 0, 255},
		{Input{Name: "c", DType: tensor.Int64, Lo: 16000, Hi: 16000}, 16000, 16000},
		{Input{Name: "z", DType: tensor.Float32, Shape: []int{2, 0}, Lo: 0, Hi: 1}, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.in.Name, func(t *testing.T) {
			x, err := tc.in.Make(rand.New(rand.NewPCG(5, 6)))
			if err != nil {
				t.Fatal(err)
			}
			if x.DType != tc.in.DType || !slices.Equal(x.Shape, tc.in.Shape) {
				t.Fatalf("got %v%v, want %v%v", x.DType, x.Shape, tc.in.DType, tc.in.Shape)
			}
			vals := asFloats(x)
			if len(vals) != x.Len() {
				t.Fatalf("%d values for %d elements", len(vals), x.Len())
			}
			var minV, maxV float64
			for i, v := range vals {
				if i == 0 || v < minV {
					minV = v
				}
				if i == 0 || v > maxV {
					maxV = v
				}
			}
			if len(vals) > 0 && (minV < tc.lo || maxV > tc.hi) {
				t.Errorf("values in [%g, %g], want within [%g, %g]", minV, maxV, tc.lo, tc.hi)
			}
			// With 1000 draws both ends of the range are approached.
			if len(vals) >= 1000 && (minV > tc.lo+0.05*(tc.hi-tc.lo) || maxV < tc.hi-0.05*(tc.hi-tc.lo)) {
				t.Errorf("values in [%g, %g] do not cover [%g, %g]", minV, maxV, tc.lo, tc.hi)
			}
		})
	}
	for _, dt := range []tensor.DataType{tensor.String, tensor.Float16, tensor.Int4, tensor.Complex64} {
		if _, err := (Input{Name: "s", DType: dt, Shape: []int{1}}).Make(rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("Make filled a %v tensor", dt)
		}
	}
	if _, err := (Input{Name: "n", DType: tensor.Float32, Shape: []int{-1}}).Make(rand.New(rand.NewPCG(1, 1))); err == nil {
		t.Error("Make accepted a negative dimension")
	}
}

func asFloats(x *tensor.Tensor) []float64 {
	var out []float64
	switch d := x.Data.(type) {
	case []float32:
		for _, v := range d {
			out = append(out, float64(v))
		}
	case []float64:
		out = append(out, d...)
	case []int8:
		for _, v := range d {
			out = append(out, float64(v))
		}
	case []uint8:
		for _, v := range d {
			out = append(out, float64(v))
		}
	case []int64:
		for _, v := range d {
			out = append(out, float64(v))
		}
	}
	return out
}
