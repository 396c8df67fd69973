//go:build cgo

package evaluate_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/onnxquant/onnxquant/calibrate"
	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestDetectorsFallback calibrates FastestDet and UltraFace on the ImageNet
// sample images, quantizes them (QDQ, per-channel), reports the output SQNR
// on the shared photos (ONNX Runtime), then runs the accuracy-aware
// fallback towards 30 dB: it must reach it or say why not, and each node it
// leaves in float must not make the worst SQNR fall.
func TestDetectorsFallback(t *testing.T) {
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	imagenet := testenv.DataFile(t, "images", "imagenet-sample")
	photos := testenv.DataFile(t, "images", "photos")
	cases := []struct {
		model string
		opts  dataset.ImageOptions
	}{
		{"fastestdet-coco-352.onnx", dataset.ImageOptions{Input: "input", Height: 352, Width: 352, Resize: dataset.Stretch}},
		{"ultraface-rfb-320.onnx", dataset.ImageOptions{Input: "input", Height: 240, Width: 320, Resize: dataset.Stretch,
			Range: dataset.Byte, Mean: []float32{127, 127, 127}, Std: []float32{128, 128, 128}}},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			m, err := onnx.Load(testenv.DataFile(t, "models", c.model))
			if err != nil {
				t.Fatal(err)
			}
			images := func(dir string, n int) dataset.Source {
				return func() (dataset.Reader, error) {
					r, err := dataset.ImageFolder(dir, c.opts)
					if err != nil {
						return nil, err
					}
					return dataset.Limit(r, n), nil
				}
			}
			cfg := quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true}
			tensors, err := quantize.TensorsToCalibrate(m, cfg)
			if err != nil {
				t.Fatal(err)
			}
			cr, err := images(imagenet, 16)()
			if err != nil {
				t.Fatal(err)
			}
			res, err := calibrate.Run(context.Background(), m, tensors, cr, calibrate.Options{Method: calibrate.MinMax, Engine: "ort"})
			cr.Close()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Params, err = res.Params(tensor.Uint8, false); err != nil {
				t.Fatal(err)
			}
			var rounds []evaluate.FallbackRound
			_, rep, err := evaluate.Fallback(context.Background(), m, cfg, images(photos, 8), evaluate.FallbackOptions{
				TargetSQNR: 30, MaxDrop: -1, DebugSamples: 2, MaxRounds: 10,
				Eval:  evaluate.EvalOptions{Engine: "ort"},
				Round: func(r evaluate.FallbackRound) { rounds = append(rounds, r) },
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rounds {
				t.Logf("excluded %-40q worst output SQNR %5.1f dB, %d nodes quantized", r.Excluded, r.WorstSQNR, r.Quantized)
			}
			first, last := rounds[0], rounds[len(rounds)-1]
			t.Logf("%s: calibrated on 16 ImageNet images; on 8 photos: SQNR %.1f dB quantized, %.1f dB after excluding %d node(s); target met: %v %s",
				filepath.Base(c.model), first.WorstSQNR, last.WorstSQNR, len(rep.Excluded), rep.Met, rep.Reason)
			if rep.Met && last.WorstSQNR < 30 {
				t.Errorf("reported met at %.1f dB", last.WorstSQNR)
			}
			if !rep.Met && rep.Reason == "" {
				t.Error("target missed without a reason")
			}
			if last.WorstSQNR+0.5 < first.WorstSQNR {
				t.Errorf("the fallback made the model worse: %.1f -> %.1f dB", first.WorstSQNR, last.WorstSQNR)
			}
		})
	}
}
