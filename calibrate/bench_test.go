package calibrate

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/quantize"
)

// BenchmarkCollectorAdd measures folding one million activations (ReLU
// outputs) into each kind of collector.
func BenchmarkCollectorAdd(b *testing.B) {
	x := data("relu", 1<<20, rand.New(rand.NewPCG(1, 1)))
	for _, m := range []Method{MinMax, Entropy, Percentile} {
		b.Run(m.String(), func(b *testing.B) {
			c, _ := New(m, Settings{})
			b.SetBytes(int64(4 * len(x)))
			for b.Loop() {
				c.Add(x)
			}
		})
	}
}

// BenchmarkRange measures choosing the range from a full histogram (the
// Entropy search over 2048 to 4096 bins).
func BenchmarkRange(b *testing.B) {
	x := data("normal", 1<<20, rand.New(rand.NewPCG(2, 2)))
	for _, m := range []Method{Entropy, Percentile} {
		b.Run(m.String(), func(b *testing.B) {
			c, _ := New(m, Settings{})
			c.Add(x)
			for b.Loop() {
				if e, ok := c.(*EntropyCollector); ok {
					e.cached = false
				}
				c.Range()
			}
		})
	}
}

// benchImages is the number of images BenchmarkCalibrate calibrates on
// ($CALIBRATE_BENCH_IMAGES, 20 by default).
func benchImages() int {
	if n, err := strconv.Atoi(os.Getenv("CALIBRATE_BENCH_IMAGES")); err == nil && n > 0 {
		return n
	}
	return 20
}

// BenchmarkCalibrate calibrates fastestdet on ImageNet sample images with
// each method on each engine and reports samples per second (image
// decoding and resizing included).
func BenchmarkCalibrate(b *testing.B) {
	m := loadModel(b, "fastestdet-coco-352.onnx")
	tensors, err := quantize.TensorsToCalibrate(m, quantize.Config{Format: quantize.QDQ})
	if err != nil {
		b.Fatal(err)
	}
	n := benchImages()
	dir := testenv.DataFile(b, "images", "imagenet-sample")
	for _, eng := range Engines() {
		for _, meth := range []Method{MinMax, Entropy, Percentile} {
			b.Run(eng+"/"+meth.String(), func(b *testing.B) {
				var samples int
				for b.Loop() {
					r, err := dataset.Open(dir, dataset.ModelInputs(m), dataset.Options{Image: dataset.ImageOptions{Resize: dataset.Stretch}})
					if err != nil {
						b.Fatal(err)
					}
					res, err := Run(context.Background(), m, tensors, dataset.Limit(r, n), Options{Method: meth, Engine: eng})
					r.Close()
					if err != nil {
						b.Fatal(err)
					}
					samples += res.Samples
				}
				b.ReportMetric(float64(samples)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}
