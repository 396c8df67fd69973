//go:build cgo

package quantize_test

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestMNISTAccuracy quantizes mnist-8 (opset 8: upgraded on the way) with
// MinMax parameters from the first 100 shared digits, and scores the float
// and the quantized models in ONNX Runtime on all 10,000 labelled digits:
// static QLinearOps and QDQ, per channel, must stay within 0.5 points of
// float top-1.
func TestMNISTAccuracy(t *testing.T) {
	path := testenv.DataFile(t, "models", "mnist-8.onnx")
	digits := testenv.DataFile(t, "mnist", "digits")
	m, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	read := func() []dataset.Sample {
		r, err := dataset.MNISTDigits(digits, dataset.MNISTOptions{Input: "Input3", Scale: 255})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		var all []dataset.Sample
		for {
			s, err := r.Next(context.Background())
			if errors.Is(err, io.EOF) {
				return all
			}
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, s)
		}
	}
	samples := read()
	if len(samples) != 10000 {
		t.Fatalf("%d digits, want 10000", len(samples))
	}
	var calib []map[string]*tensor.Tensor
	for _, s := range samples[:100] {
		calib = append(calib, s.Inputs)
	}
	accuracy := func(m *onnx.ModelProto) float64 {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ort.LibraryPath(); err != nil {
			testenv.Unavailable(t, "ONNX Runtime: %v", err)
		}
		s, err := ort.NewSession(b, ort.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		right := 0
		for _, smp := range samples {
			out, err := s.Run(smp.Inputs, nil)
			if err != nil {
				t.Fatal(err)
			}
			scores := out["Plus214_Output_0"].Data.([]float32)
			best := 0
			for i, v := range scores {
				if v > scores[best] {
					best = i
				}
			}
			if best == smp.Label {
				right++
			}
		}
		return 100 * float64(right) / float64(len(samples))
	}
	floatAcc := accuracy(m)
	t.Logf("float32 top-1: %.2f%%", floatAcc)
	for _, md := range []mode{
		{"qlinear-static-u8-perchannel", quantize.Config{Format: quantize.QLinearOps, Static: true, PerChannel: true}},
		{"qlinear-static-s8-perchannel", quantize.Config{Format: quantize.QLinearOps, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
		{"qdq-u8-perchannel", quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true}},
		{"qdq-s8-perchannel", quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
		{"integer-dynamic", quantize.Config{Format: quantize.IntegerOps}},
	} {
		cfg := md.cfg
		if cfg.Static {
			cfg.Params = minMaxParams(t, m, cfg, calib)
		}
		qm, _, err := quantize.Model(m, cfg)
		if err != nil {
			t.Fatalf("%s: %v", md.name, err)
		}
		acc := accuracy(qm)
		t.Logf("%-30s top-1 %.2f%% (float %.2f%%, drop %.2f points)", md.name, acc, floatAcc, floatAcc-acc)
		if md.cfg.Static && floatAcc-acc > 0.5 {
			t.Errorf("%s: top-1 %.2f%% is more than 0.5 points below float %.2f%%", md.name, acc, floatAcc)
		}
	}
}
