//go:build cgo

package quantize_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// mode is one quantization configuration of the test matrix.
type mode struct {
	name string
	cfg  quantize.Config
}

var modes = []mode{
	{"integer-dynamic", quantize.Config{Format: quantize.IntegerOps}},
	{"integer-dynamic-perchannel", quantize.Config{Format: quantize.IntegerOps, PerChannel: true}},
	{"qlinear-static-u8", quantize.Config{Format: quantize.QLinearOps, Static: true}},
	// int8 weights use 7 bits: ONNX Runtime's uint8 x int8 kernels on AVX2
	// without VNNI saturate otherwise (quantization-facts.md).
	{"qlinear-static-s8-perchannel", quantize.Config{Format: quantize.QLinearOps, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
	{"qdq-u8", quantize.Config{Format: quantize.QDQ, Static: true}},
	{"qdq-s8-perchannel", quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: tensor.Int8, ReduceRange: true}},
}

// minMaxParams runs the float model on the samples in the pure-Go engine and
// returns the observed range of every tensor the quantizer asks for.
func minMaxParams(t *testing.T, m *onnx.ModelProto, cfg quantize.Config, samples []map[string]*tensor.Tensor) map[string]quantize.TensorParams {
	t.Helper()
	want, err := quantize.TensorsToCalibrate(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wanted := map[string]bool{}
	for _, v := range want {
		wanted[v] = true
	}
	lo, hi := map[string]float64{}, map[string]float64{}
	obs := func(name string, x *tensor.Tensor) {
		if !wanted[name] {
			return
		}
		d, ok := x.Data.([]float32)
		if !ok {
			return
		}
		l, h, ok := quantize.MinMax(d)
		if !ok {
			return
		}
		if v, seen := lo[name]; !seen || float64(l) < v {
			lo[name] = float64(l)
		}
		if v, seen := hi[name]; !seen || float64(h) > v {
			hi[name] = float64(h)
		}
	}
	sess, err := engine.New(m, engine.Options{Observer: obs, NoConstantFolding: false})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range samples {
		if _, err := sess.Run(context.Background(), s); err != nil {
			t.Fatal(err)
		}
	}
	params := map[string]quantize.TensorParams{}
	for _, v := range want {
		if _, ok := lo[v]; !ok {
			continue // constant-folded or not float: the quantizer reports it
		}
		params[v] = quantize.TensorParams{Min: lo[v], Max: hi[v], HasRange: true}
	}
	return params
}

// sqnr is 20 log10(|x| / |x - y|) in dB (+Inf when equal).
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

func ortRun(t *testing.T, m *onnx.ModelProto, in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
	return ortRunOpt(t, m, in, ort.OptDefault)
}

// ortRunOpt runs m in ONNX Runtime at the given graph optimization level.
// With optimizations disabled ONNX Runtime executes the model's operators
// as written (no QDQ fusion into integer kernels), the same computation the
// pure-Go engine does.
func ortRunOpt(t *testing.T, m *onnx.ModelProto, in map[string]*tensor.Tensor, level ort.OptLevel) map[string]*tensor.Tensor {
	t.Helper()
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.NewSession(b, ort.Options{Threads: 1, Optimization: level})
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the model: %v", err)
	}
	defer s.Close()
	out, err := s.Run(in, nil)
	if err != nil {
		t.Fatalf("ONNX Runtime cannot run the model: %v", err)
	}
	return out
}

// TestModelsInORT quantizes every shared model in every mode with MinMax
// parameters from four seeded-random samples, and checks that the result
// (1) loads and runs in ONNX Runtime, (2) gives the same outputs in the
// pure-Go engine as in ONNX Runtime executing the same operators (graph
// optimizations off, so no fusion changes the arithmetic; SQNR between them
// at least 40 dB), and (3) reports its SQNR against the float model on a
// fifth sample.
func TestModelsInORT(t *testing.T) {
	for _, path := range testenv.Models(t) {
		base := filepath.Base(path)
		t.Run(base, func(t *testing.T) {
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			var samples []map[string]*tensor.Tensor
			for i := 0; i < 5; i++ {
				s, err := modelzoo.Inputs(path, rng)
				if err != nil {
					t.Fatal(err)
				}
				samples = append(samples, s)
			}
			eval := samples[4]
			floatOut := ortRun(t, m, eval)
			for _, md := range modes {
				t.Run(md.name, func(t *testing.T) {
					cfg := md.cfg
					if cfg.Static {
						cfg.Params = minMaxParams(t, m, cfg, samples[:4])
					}
					qm, rep, err := quantize.Model(m, cfg)
					if err != nil {
						t.Fatalf("quantize: %v", err)
					}
					qOut := ortRun(t, qm, eval)
					literal := ortRunOpt(t, qm, eval, ort.OptDisabled)
					sess, err := engine.New(qm, engine.Options{})
					if err != nil {
						t.Fatalf("engine: %v", err)
					}
					goOut, err := sess.Run(context.Background(), eval)
					if err != nil {
						t.Fatalf("engine run: %v", err)
					}
					var parts []string
					for name, f := range floatOut {
						fq, ok := qOut[name]
						if !ok {
							t.Fatalf("output %q missing", name)
						}
						if f.DType != tensor.Float32 {
							continue
						}
						db := sqnr(f.Data.([]float32), fq.Data.([]float32))
						agree := sqnr(literal[name].Data.([]float32), goOut[name].Data.([]float32))
						parts = append(parts, fmt.Sprintf("%s: SQNR %.1f dB (engine vs ORT %.1f dB)", name, db, agree))
						// The engine must reproduce ONNX Runtime more closely
						// than quantization changes the model (its difference
						// from ONNX Runtime at least 3 dB below the
						// quantization error), or within 30 dB. Single
						// quantized ops are compared bit for bit in
						// engine/kernel; end to end, a last-bit difference in
						// a float op (a QDQ model's float Conv) can move a
						// later value across a rounding boundary, one
						// quantization step, and such steps compound.
						if agree < 30 && agree < db+3 {
							t.Errorf("output %q: the engine and ONNX Runtime disagree on the quantized model (SQNR %.1f dB, quantization SQNR %.1f dB)", name, agree, db)
						}
					}
					t.Logf("%d nodes quantized; %s", rep.QuantizedCount(), strings.Join(parts, "; "))
				})
			}
		})
	}
}
