//go:build cgo

package quantize_test

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// BenchmarkResNet50ORT times the ResNet50-size model in ONNX Runtime (2
// threads) in float32 and quantized (QDQ and QLinearOps, per-channel int8
// weights with 7-bit range, uint8 activations; placeholder activation
// ranges: speed does not depend on them), and reports each int8 model's
// speedup over float. The field's published reference is about 1.8x on a
// 4-core Xeon with VNNI.
func BenchmarkResNet50ORT(b *testing.B) {
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(b, "ONNX Runtime: %v", err)
	}
	m, err := onnx.Load(resnet50(b))
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	x := tensor.New(tensor.Float32, 1, 3, 224, 224)
	for i, d := 0, x.Data.([]float32); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	in := map[string]*tensor.Tensor{"gpu_0/data_0": x}
	models := []struct {
		name string
		cfg  *quantize.Config
	}{
		{"float32", nil},
		{"qdq-s8-perchannel", &quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
		{"qlinear-s8-perchannel", &quantize.Config{Format: quantize.QLinearOps, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
		{"integer-dynamic", &quantize.Config{}},
		{"qlinear-s8-perchannel-keepbn", &quantize.Config{Format: quantize.QLinearOps, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true, KeepBatchNorm: true}},
	}
	var floatMS float64
	for _, c := range models {
		b.Run(c.name, func(b *testing.B) {
			qm := m
			if c.cfg != nil {
				cfg := *c.cfg
				if cfg.Static {
					names, err := quantize.TensorsToCalibrate(m, cfg)
					if err != nil {
						b.Fatal(err)
					}
					cfg.Params = map[string]quantize.TensorParams{}
					for _, n := range names {
						cfg.Params[n] = quantize.TensorParams{Min: -4, Max: 4, HasRange: true}
					}
				}
				if qm, _, err = quantize.Model(m, cfg); err != nil {
					b.Fatal(err)
				}
			}
			buf, err := proto.Marshal(qm)
			if err != nil {
				b.Fatal(err)
			}
			s, err := ort.NewSession(buf, ort.Options{Threads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for i := 0; i < 3; i++ { // warm up
				if _, err := s.Run(in, nil); err != nil {
					b.Fatal(err)
				}
			}
			var times []float64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := s.Run(in, nil); err != nil {
					b.Fatal(err)
				}
				times = append(times, float64(time.Since(start).Microseconds())/1000)
			}
			sort.Float64s(times)
			med := times[len(times)/2]
			b.ReportMetric(med, "median-ms")
			if c.cfg == nil {
				floatMS = med
			} else if floatMS > 0 {
				b.ReportMetric(floatMS/med, "speedup")
			}
		})
	}
}
