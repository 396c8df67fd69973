//go:build cgo

package quantize_test

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/lightmodel"
	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestLightModelsInORT quantizes ONNX's light architectures (ResNet50,
// Inception v1/v2, DenseNet121, ShuffleNet, SqueezeNet, VGG19, AlexNet,
// ZFNet512), with seeded random weights put in place of their
// ConstantOfShape fillers, in every mode, and checks that ONNX Runtime loads
// and runs each result with finite outputs. The weights are untrained, so
// this is coverage, not accuracy: static modes use a placeholder range of
// [-10, 10] for every activation.
func TestLightModelsInORT(t *testing.T) {
	if testing.Short() {
		t.Skip("large models; skipped with -short")
	}
	paths, _ := filepath.Glob(filepath.Join(testenv.DataDir(t), "onnx-backend", "light", "light_*.onnx"))
	if len(paths) == 0 {
		testenv.Unavailable(t, "no light models")
	}
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".onnx")
		t.Run(name, func(t *testing.T) {
			light, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := lightmodel.Materialize(light, 7)
			if err != nil {
				t.Fatal(err)
			}
			decl, err := modelzoo.DeclaredInputs(path)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(5, 6))
			in := map[string]*tensor.Tensor{}
			for _, d := range decl {
				if x, err := d.Make(rng); err == nil {
					in[d.Name] = x
				}
			}
			for _, md := range modes {
				cfg := md.cfg
				if cfg.Static {
					names, err := quantize.TensorsToCalibrate(m, cfg)
					if err != nil {
						t.Fatalf("%s: %v", md.name, err)
					}
					cfg.Params = map[string]quantize.TensorParams{}
					for _, n := range names {
						cfg.Params[n] = quantize.TensorParams{Min: -10, Max: 10, HasRange: true}
					}
				}
				qm, rep, err := quantize.Model(m, cfg)
				if err != nil {
					t.Fatalf("%s: quantize: %v", md.name, err)
				}
				b, err := proto.MarshalOptions{Deterministic: true}.Marshal(qm)
				if err != nil {
					t.Fatal(err)
				}
				s, err := ort.NewSession(b, ort.Options{Threads: 2})
				if err != nil {
					t.Fatalf("%s: ONNX Runtime cannot load the quantized model: %v", md.name, err)
				}
				out, err := s.Run(in, nil)
				s.Close()
				if err != nil {
					t.Fatalf("%s: ONNX Runtime cannot run the quantized model: %v", md.name, err)
				}
				for oname, o := range out {
					if f, ok := o.Data.([]float32); ok {
						for _, v := range f {
							if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
								t.Fatalf("%s: output %q has non-finite values", md.name, oname)
							}
						}
					}
				}
				t.Logf("%-30s %4d nodes quantized, %d left float, %.1f MB", md.name, rep.QuantizedCount(), len(rep.Float), float64(len(b))/(1<<20))
			}
		})
	}
}
