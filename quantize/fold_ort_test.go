//go:build cgo

package quantize

import (
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/internal/lightmodel"
	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestFoldBatchNormsInORT folds the BatchNormalization nodes of real models
// into their Convs and checks in ONNX Runtime that the float outputs do not
// change (beyond float32 rounding).
func TestFoldBatchNormsInORT(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	light, err := onnx.Load(testenv.DataFile(t, "onnx-backend", "light", "light_resnet50.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	resnet, err := lightmodel.Materialize(light, 3)
	if err != nil {
		t.Fatal(err)
	}
	cls := testenv.DataFile(t, "models", "ppocr-mobile-v2-cls.onnx")
	clsModel, err := onnx.Load(cls)
	if err != nil {
		t.Fatal(err)
	}
	clsIn, err := modelzoo.Inputs(cls, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(tensor.Float32, 1, 3, 224, 224)
	rng := rand.New(rand.NewPCG(3, 4))
	for i, d := 0, x.Data.([]float32); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	cases := []struct {
		name  string
		m     *onnx.ModelProto
		in    map[string]*tensor.Tensor
		folds int
	}{
		{"resnet50", resnet, map[string]*tensor.Tensor{"gpu_0/data_0": x}, 53},
		{"ppocr-mobile-v2-cls", clsModel, clsIn, -1},
	}
	run := func(m *onnx.ModelProto, in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ort.NewSession(b, ort.Options{Threads: 2, Optimization: ort.OptDisabled})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		out, err := s.Run(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := run(c.m, c.in)
			m := onnx.CloneShared(c.m)
			g, err := graph.New(m)
			if err != nil {
				t.Fatal(err)
			}
			folds, n, err := foldBatchNorms(g)
			if err != nil {
				t.Fatal(err)
			}
			if err := folds.finish(g, func(string) bool { return true }); err != nil {
				t.Fatal(err)
			}
			if n == 0 || c.folds >= 0 && n != c.folds {
				t.Fatalf("folded %d BatchNormalization nodes, want %d", n, c.folds)
			}
			got := run(g.ToProto(), c.in)
			for name, w := range want {
				wd, gd := w.Data.([]float32), got[name].Data.([]float32)
				var maxDiff, scale float64
				for i := range wd {
					maxDiff = math.Max(maxDiff, math.Abs(float64(wd[i]-gd[i])))
					scale = math.Max(scale, math.Abs(float64(wd[i])))
				}
				t.Logf("%d folded; output %q: max error / scale %.2g", n, name, maxDiff/scale)
				if maxDiff > 1e-4*scale {
					t.Errorf("output %q changed: max error %.3g of scale %.3g", name, maxDiff, scale)
				}
			}
		})
	}
}
