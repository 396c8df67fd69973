//go:build cgo

package calibrate

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

func needORT(t testing.TB) {
	t.Helper()
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
}

// fastestDetImages opens images for fastestdet: RGB/255, 352x352 NCHW,
// stretched.
func fastestDetImages(t testing.TB, m *onnx.ModelProto, path string, n int) dataset.Reader {
	t.Helper()
	r, err := dataset.Open(path, dataset.ModelInputs(m), dataset.Options{Image: dataset.ImageOptions{Resize: dataset.Stretch}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return dataset.Limit(r, n)
}

// calibrationTensors returns what the quantizer asks for, or (when it
// cannot run on the model, as mnist-8 before an opset upgrade exists) the
// tensors around Conv, MatMul and Gemm nodes.
func calibrationTensors(t *testing.T, m *onnx.ModelProto) []string {
	t.Helper()
	tensors, err := quantize.TensorsToCalibrate(m, quantize.Config{Format: quantize.QDQ})
	if err != nil {
		t.Logf("quantize.TensorsToCalibrate: %v; calibrating the tensors around Conv, MatMul and Gemm", err)
		return nodeTensors(m, "Conv", "MatMul", "Gemm")
	}
	return tensors
}

// TestMinMaxGoMatchesORT checks that MinMax ranges from the pure-Go
// engine's observer equal those ONNX Runtime computes with the augmented
// model's ReduceMin/ReduceMax outputs, on the same data.
func TestMinMaxGoMatchesORT(t *testing.T) {
	needORT(t)
	cases := []struct {
		model string
		data  func(t *testing.T, m *onnx.ModelProto) dataset.Reader
	}{
		{"mnist-8.onnx", func(t *testing.T, m *onnx.ModelProto) dataset.Reader { return mnistDigits(t, m, 0, 40) }},
		{"fastestdet-coco-352.onnx", func(t *testing.T, m *onnx.ModelProto) dataset.Reader {
			return fastestDetImages(t, m, testenv.DataFile(t, "images", "photos"), 4)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.model, func(t *testing.T) {
			m := loadModel(t, tc.model)
			tensors := calibrationTensors(t, m)
			aug := filepath.Join(t.TempDir(), "augmented.onnx")
			goRes, err := Run(context.Background(), m, tensors, tc.data(t, m), Options{})
			if err != nil {
				t.Fatal(err)
			}
			ortRes, err := Run(context.Background(), m, tensors, tc.data(t, m), Options{Engine: "ort", AugmentedModel: aug})
			if err != nil {
				t.Fatal(err)
			}
			checkAugmented(t, aug, tensors)
			gr, or := goRes.Ranges(), ortRes.Ranges()
			if len(gr) != len(tensors) || len(or) != len(tensors) {
				t.Fatalf("ranges for %d (go) and %d (ort) of %d tensors; warnings %q %q", len(gr), len(or), len(tensors), goRes.Warnings, ortRes.Warnings)
			}
			var worst float64
			var worstName string
			for name, g := range gr {
				o := or[name]
				// Float32 rounding: the engines sum in different orders.
				scale := math.Max(math.Abs(g.Min), math.Abs(g.Max))
				d := math.Max(math.Abs(g.Min-o.Min), math.Abs(g.Max-o.Max)) / math.Max(scale, 1e-30)
				if d > worst {
					worst, worstName = d, name
				}
				if d > 1e-5 {
					t.Errorf("tensor %q: go [%g, %g], ort [%g, %g]", name, g.Min, g.Max, o.Min, o.Max)
				}
			}
			t.Logf("%d tensors, %d samples: largest difference %.2g of the tensor's max |x| (%s)", len(gr), goRes.Samples, worst, worstName)
		})
	}
}

// checkAugmented reads the saved augmented model back and checks it has a
// ReduceMin and a ReduceMax output for every tensor.
func checkAugmented(t *testing.T, path string, tensors []string) {
	t.Helper()
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatalf("augmented model: %v", err)
	}
	reduced := map[string]int{}
	outputs := map[string]bool{}
	for _, o := range m.GetGraph().GetOutput() {
		outputs[o.GetName()] = true
	}
	for _, n := range m.GetGraph().GetNode() {
		if (n.GetOpType() == "ReduceMin" || n.GetOpType() == "ReduceMax") && outputs[n.GetOutput()[0]] {
			reduced[n.GetInput()[0]]++
		}
	}
	for _, name := range tensors {
		if reduced[name] != 2 {
			t.Errorf("augmented model: tensor %q has %d ReduceMin/ReduceMax outputs, want 2", name, reduced[name])
		}
	}
}

func ortSession(t *testing.T, m *onnx.ModelProto) *ort.Session {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(b, ort.Options{})
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the model: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// perChannelModes are the quantized forms the end-to-end tests check:
// uint8 activations, int8 per-channel weights on 7 bits (ONNX Runtime's
// uint8 x int8 kernels saturate on AVX2 without VNNI otherwise).
var perChannelModes = []struct {
	name string
	cfg  quantize.Config
}{
	{"qlinear-perchannel", quantize.Config{Format: quantize.QLinearOps, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
	{"qdq-perchannel", quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
}

// quantizeOrWait quantizes, skipping the test when the model needs the
// opset upgrade that quantize does not have yet.
func quantizeOrWait(t *testing.T, m *onnx.ModelProto, cfg quantize.Config) *onnx.ModelProto {
	t.Helper()
	qm, _, err := quantize.Model(m, cfg)
	if err != nil && strings.Contains(err.Error(), "opset conversion") && strings.Contains(err.Error(), "not available") {
		t.Skipf("waits on the opset upgrade: %v", err)
	}
	if err != nil {
		t.Fatalf("quantize: %v", err)
	}
	return qm
}

// TestMNISTEndToEnd calibrates mnist-8 on 100 digits, quantizes it and
// scores float and quantized models on the other 9,900 digits in ONNX
// Runtime: top-1 must stay within 0.5 points.
func TestMNISTEndToEnd(t *testing.T) {
	needORT(t)
	m := loadModel(t, "mnist-8.onnx")
	digits, err := dataset.ReadAll(context.Background(), mnistDigits(t, m, 100, 9900))
	if err != nil {
		t.Fatal(err)
	}
	if len(digits) != 9900 {
		t.Fatalf("%d evaluation digits, want 9900", len(digits))
	}
	floatAcc := accuracy(t, ortSession(t, m), digits)
	t.Logf("float top-1 on %d digits: %.2f%%", len(digits), floatAcc)
	for _, md := range perChannelModes {
		t.Run(md.name, func(t *testing.T) {
			cfg := md.cfg
			tensors, err := quantize.TensorsToCalibrate(m, cfg)
			if err != nil && strings.Contains(err.Error(), "opset conversion") {
				t.Skipf("waits on the opset upgrade: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), m, tensors, mnistDigits(t, m, 0, 100), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Params, err = res.Params(tensor.Uint8, false); err != nil {
				t.Fatal(err)
			}
			qm := quantizeOrWait(t, m, cfg)
			acc := accuracy(t, ortSession(t, qm), digits)
			t.Logf("%s: top-1 %.2f%% (float %.2f%%, %+.2f points)", md.name, acc, floatAcc, acc-floatAcc)
			if acc < floatAcc-0.5 {
				t.Errorf("%s: top-1 %.2f%% is more than 0.5 points below float %.2f%%", md.name, acc, floatAcc)
			}
		})
	}
}

func accuracy(t *testing.T, s *ort.Session, digits []dataset.Sample) float64 {
	t.Helper()
	right := 0
	for _, d := range digits {
		out, err := s.Run(d.Inputs, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out {
			if argmax(o.Data.([]float32)) == d.Label {
				right++
			}
		}
	}
	return 100 * float64(right) / float64(len(digits))
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// detection is one decoded FastestDet box in input pixels.
type detection struct {
	class          int
	score          float64
	x1, y1, x2, y2 float64
}

func (d detection) String() string {
	return fmt.Sprintf("class %d %.2f [%.0f %.0f %.0f %.0f]", d.class, d.score, d.x1, d.y1, d.x2, d.y2)
}

// decodeFastestDet decodes the [1, 484, 85] output of the shared
// FastestDet export: per cell of the 22x22 grid, the box centre and size
// in input pixels (the model applies tanh/sigmoid and the grid itself),
// the objectness (sigmoid) and 80 class probabilities (softmax). The score
// is objectness times the best class probability; boxes scoring at least
// minScore are kept, then class-agnostic non-maximum suppression at IoU
// 0.45 removes overlaps.
func decodeFastestDet(out []float32, minScore float64) []detection {
	var dets []detection
	for c := 0; c+85 <= len(out); c += 85 {
		row := out[c : c+85]
		cls := argmax(row[5:])
		score := float64(row[4]) * float64(row[5+cls])
		if score < minScore {
			continue
		}
		cx, cy, w, h := float64(row[0]), float64(row[1]), float64(row[2]), float64(row[3])
		dets = append(dets, detection{cls, score, cx - w/2, cy - h/2, cx + w/2, cy + h/2})
	}
	sort.Slice(dets, func(i, j int) bool { return dets[i].score > dets[j].score })
	var keep []detection
	for _, d := range dets {
		ok := true
		for _, k := range keep {
			if iou(d, k) > 0.45 {
				ok = false
				break
			}
		}
		if ok {
			keep = append(keep, d)
		}
	}
	return keep
}

func iou(a, b detection) float64 {
	iw := math.Min(a.x2, b.x2) - math.Max(a.x1, b.x1)
	ih := math.Min(a.y2, b.y2) - math.Max(a.y1, b.y1)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	return inter / ((a.x2-a.x1)*(a.y2-a.y1) + (b.x2-b.x1)*(b.y2-b.y1) - inter)
}

func sqnr(ref, got []float32) float64 {
	var s, n float64
	for i := range ref {
		d := float64(ref[i]) - float64(got[i])
		s += float64(ref[i]) * float64(ref[i])
		n += d * d
	}
	if n == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/n)
}

// TestFastestDetEndToEnd calibrates fastestdet on ImageNet sample images,
// quantizes it, and checks in ONNX Runtime that the float model's top
// detections on wolves.jpg and bus.jpg survive: each has a quantized
// detection of the same class with IoU > 0.5.
func TestFastestDetEndToEnd(t *testing.T) {
	needORT(t)
	m := loadModel(t, "fastestdet-coco-352.onnx")
	photos := []string{testenv.DataFile(t, "images", "photos", "wolves.jpg"), testenv.DataFile(t, "images", "photos", "bus.jpg")}
	var inputs []map[string]*tensor.Tensor
	for _, p := range photos {
		r := fastestDetImages(t, m, p, 1)
		s, err := r.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, s.Inputs)
	}
	fs := ortSession(t, m)
	var floatOut [][]float32
	for _, in := range inputs {
		o, err := fs.Run(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		floatOut = append(floatOut, o["output"].Data.([]float32))
	}
	const calibImages = 16
	for _, method := range []Method{MinMax, Percentile} {
		cfg := quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}
		tensors, err := quantize.TensorsToCalibrate(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(context.Background(), m, tensors, fastestDetImages(t, m, testenv.DataFile(t, "images", "imagenet-sample"), calibImages), Options{Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Params, err = res.Params(tensor.Uint8, false); err != nil {
			t.Fatal(err)
		}
		qs := ortSession(t, quantizeOrWait(t, m, cfg))
		for i, in := range inputs {
			o, err := qs.Run(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			q := o["output"].Data.([]float32)
			want := decodeFastestDet(floatOut[i], 0.5)
			got := decodeFastestDet(q, 0.3)
			if len(want) == 0 {
				t.Fatalf("%s: the float model detects nothing", photos[i])
			}
			var missed []string
			for _, w := range want {
				found := false
				for _, g := range got {
					if g.class == w.class && iou(g, w) > 0.5 {
						found = true
						break
					}
				}
				if !found {
					missed = append(missed, w.String())
				}
			}
			t.Logf("%s, %s on %d images: output SQNR %.1f dB; float %d detection(s) %v; quantized %v", filepath.Base(photos[i]), method, calibImages, sqnr(floatOut[i], q), len(want), want, decodeFastestDet(q, 0.5))
			if len(missed) > 0 {
				t.Errorf("%s, %s: quantized model lost %d of %d top detection(s): %s", filepath.Base(photos[i]), method, len(missed), len(want), strings.Join(missed, "; "))
			}
		}
	}
}
