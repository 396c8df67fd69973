//go:build cgo

package kernel_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// ortOpen opens a model in ONNX Runtime, failing under CI and skipping
// elsewhere when the library is not installed.
func ortOpen(t *testing.T, model []byte) *ort.Session {
	t.Helper()
	if err := ort.Init(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	s, err := ort.NewSession(model, ort.Options{Threads: 1})
	if err != nil {
		t.Fatalf("ONNX Runtime cannot load the model: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// ortCompare requires every ONNX Runtime output to match the engine's
// within tol (absolute plus relative to each value).
func ortCompare(t *testing.T, what string, got, want map[string]*tensor.Tensor, tol float64) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s: output %q missing", what, name)
			continue
		}
		if fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) || g.DType != w.DType {
			t.Errorf("%s: output %q is %v %v, ONNX Runtime gives %v %v", what, name, g.DType, g.Shape, w.DType, w.Shape)
			continue
		}
		gv, wv := rtFloats(g), rtFloats(w)
		bad := 0
		for i := range wv {
			if !(math.Abs(gv[i]-wv[i]) <= tol*(1+math.Abs(wv[i]))) {
				if bad < 3 {
					t.Errorf("%s: %s[%d] = %.7g, ONNX Runtime %.7g", what, name, i, gv[i], wv[i])
				}
				bad++
			}
		}
		if bad > 3 {
			t.Errorf("%s: %s: %d of %d values differ", what, name, bad, len(wv))
		}
	}
}

// TestRecurrentAgainstORT runs random RNN, GRU and LSTM nodes over the
// attribute space in the engine and in ONNX Runtime.
func TestRecurrentAgainstORT(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	acts := func(v ...string) *onnx.AttributeProto {
		a := &onnx.AttributeProto{Name: pstr("activations"), Type: onnx.AttributeProto_STRINGS.Enum()}
		for _, s := range v {
			a.Strings = append(a.Strings, []byte(s))
		}
		return a
	}
	floats := func(name string, v ...float32) *onnx.AttributeProto {
		return &onnx.AttributeProto{Name: &name, Type: onnx.AttributeProto_FLOATS.Enum(), Floats: v}
	}
	i, s, f := onnxbuild.AttrInt, onnxbuild.AttrString, onnxbuild.AttrFloat
	type opt struct {
		name   string
		attrs  []*onnx.AttributeProto
		noLens bool
	}
	perOp := map[string][]opt{
		"RNN": {
			{name: "relu", attrs: []*onnx.AttributeProto{acts("Relu")}},
			{name: "leakyrelu clip", attrs: []*onnx.AttributeProto{acts("LeakyRelu"), floats("activation_alpha", 0.2), f("clip", 0.7)}},
		},
		"GRU": {
			{name: "linear_before_reset", attrs: []*onnx.AttributeProto{i("linear_before_reset", 1)}},
			{name: "hardsigmoid softsign", attrs: []*onnx.AttributeProto{acts("HardSigmoid", "Softsign"), floats("activation_alpha", 0.3), floats("activation_beta", 0.45)}},
			{name: "clip", attrs: []*onnx.AttributeProto{f("clip", 0.4), i("linear_before_reset", 1)}},
		},
		"LSTM": {
			{name: "input_forget", attrs: []*onnx.AttributeProto{i("input_forget", 1)}},
			{name: "clip", attrs: []*onnx.AttributeProto{f("clip", 0.5)}},
			{name: "elu softplus tanh", attrs: []*onnx.AttributeProto{acts("Sigmoid", "Elu", "Softplus"), floats("activation_alpha", 0.8)}},
			{name: "full length", noLens: true},
		},
	}
	for _, op := range []string{"RNN", "GRU", "LSTM"} {
		opts := append([]opt{{name: "defaults"}}, perOp[op]...)
		for _, dir := range []string{"forward", "reverse", "bidirectional"} {
			for _, o := range opts {
				for _, constW := range []bool{false, true} {
					name := fmt.Sprintf("%s/%s/%s/const=%v", op, dir, o.name, constW)
					t.Run(name, func(t *testing.T) {
						c := rtRecurrent{op: op, dirs: 1, seq: 2 + rng.IntN(5), batch: 1 + rng.IntN(4), in: 1 + rng.IntN(9), h: 1 + rng.IntN(20)}
						if dir == "bidirectional" {
							c.dirs = 2
						}
						extra := o.attrs
						if len(extra) > 0 && extra[0].GetName() == "activations" && c.dirs == 2 {
							// Each direction lists its own functions.
							dup := proto.Clone(extra[0]).(*onnx.AttributeProto)
							dup.Strings = append(dup.Strings, dup.Strings...)
							extra = append([]*onnx.AttributeProto{dup}, extra[1:]...)
						}
						feeds, names := c.feeds(rng)
						if o.noLens {
							names[4] = ""
						}
						attrs := append([]*onnx.AttributeProto{s("direction", dir), i("hidden_size", int64(c.h))}, extra...)
						node := rtNode{op, names, c.outputs(), attrs}
						var inits map[string]*tensor.Tensor
						run := map[string]*tensor.Tensor{}
						for _, n := range names {
							if n != "" {
								run[n] = feeds[n]
							}
						}
						if constW {
							inits = map[string]*tensor.Tensor{"W": feeds["W"], "R": feeds["R"]}
							delete(run, "W")
							delete(run, "R")
						}
						m := rtModel(14, node, run, inits)
						want, err := ortOpen(t, m.Bytes()).Run(run, nil)
						if err != nil {
							t.Fatalf("ONNX Runtime: %v", err)
						}
						got, err := rtRun(m, run)
						if err != nil {
							t.Fatal(err)
						}
						ortCompare(t, name, got, want, 2e-5)
					})
				}
			}
		}
	}
}

// TestControlFlowAgainstORT runs the control-flow test models in ONNX
// Runtime too, confirming the hand-worked expectations of TestControlFlow
// where the semantics are subtle (Scan-8 sequence lengths, loop stops).
func TestControlFlowAgainstORT(t *testing.T) {
	x8 := rtF32([]int{2, 3, 1}, 1, 2, 3, 10, 20, 30)
	zero21 := rtF32([]int{2, 1}, 0, 0)
	one := rtF32([]int{1}, 1)
	cases := []struct {
		name  string
		model *onnxbuild.Model
		feeds map[string]*tensor.Tensor
	}{
		{"scan8 sequence_lens", scan8Model(true), map[string]*tensor.Tensor{"lens": cfI64([]int{2}, 3, 1), "s0": zero21, "x": x8}},
		{"scan8 reverse with lens", scan8Model(true, cfInts("directions", 1)), map[string]*tensor.Tensor{"lens": cfI64([]int{2}, 2, 3), "s0": zero21, "x": x8}},
		{"scan9 reverse both", scanModel(cfInts("scan_input_axes", 1), cfInts("scan_input_directions", 1), cfInts("scan_output_axes", -1), cfInts("scan_output_directions", 1)),
			map[string]*tensor.Tensor{"s0": rtF32([]int{2}, 0, 0), "x": rtF32([]int{2, 3}, 1, 2, 3, 10, 20, 30)}},
		{"loop cond stops first", loopModel("M", "c"), map[string]*tensor.Tensor{"M": cfI64(nil, 100), "c": cfBoolT(true), "acc0": one}},
		{"loop zero trips", loopModel("M", ""), map[string]*tensor.Tensor{"M": cfI64(nil, 0), "acc0": one}},
		{"loop body cond without cond input", counterModel(), map[string]*tensor.Tensor{"M": cfI64(nil, 10), "s0": cfI64(nil, 5)}},
		{"nested loop in if", nestedModel(), map[string]*tensor.Tensor{"cond": cfBoolT(true), "x": rtF32([]int{2}, 1, 2), "a0": rtF32([]int{2}, 10, 20)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := ortOpen(t, c.model.Bytes()).Run(c.feeds, nil)
			if err != nil {
				t.Fatalf("ONNX Runtime: %v", err)
			}
			got, err := rtRun(c.model, c.feeds)
			if err != nil {
				t.Fatal(err)
			}
			ortCompare(t, c.name, got, want, 0)
		})
	}
}

// readWAV16 reads a 16-bit PCM mono WAV file as samples in [-1, 1).
func readWAV16(t *testing.T, path string) ([]float32, int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		t.Fatalf("%s: not a WAV file", path)
	}
	rate := 0
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8 : min(len(b), p+8+size)]
		switch id {
		case "fmt ":
			if binary.LittleEndian.Uint16(body[0:2]) != 1 || binary.LittleEndian.Uint16(body[2:4]) != 1 || binary.LittleEndian.Uint16(body[14:16]) != 16 {
				t.Fatalf("%s: not 16-bit PCM mono", path)
			}
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
		case "data":
			out := make([]float32, len(body)/2)
			for i := range out {
				out[i] = float32(int16(binary.LittleEndian.Uint16(body[2*i:]))) / 32768
			}
			return out, rate
		}
		p += 8 + size + size%2
	}
	t.Fatalf("%s: no data chunk", path)
	return nil, 0
}

// TestSileroStreamingAgainstORT runs Silero VAD v4 and v5 (LSTM inside If
// branches chosen by the sample rate) over real speech, frame after frame
// with the recurrent state fed back, at 16 kHz and 8 kHz, and requires
// every frame's outputs to match ONNX Runtime's.
func TestSileroStreamingAgainstORT(t *testing.T) {
	audio, rate := readWAV16(t, testenv.DataFile(t, "audio", "librispeech-1272-141231-0002-16k.wav"))
	if rate != 16000 {
		t.Fatalf("sample rate %d, want 16000", rate)
	}
	for _, model := range []string{"silero-vad-v4.onnx", "silero-vad-v5.onnx"} {
		for _, sr := range []int64{16000, 8000} {
			t.Run(fmt.Sprintf("%s/%d", model, sr), func(t *testing.T) {
				path := testenv.DataFile(t, "models", model)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				m, err := onnx.Decode(data)
				if err != nil {
					t.Fatal(err)
				}
				sess, err := engine.New(m, engine.Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				ref := ortOpen(t, data)
				samples, frame := audio, 512
				if sr == 8000 {
					samples = make([]float32, len(audio)/2)
					for i := range samples {
						samples[i] = (audio[2*i] + audio[2*i+1]) / 2
					}
					frame = 256
				}
				v4 := model == "silero-vad-v4.onnx"
				state := map[string]*tensor.Tensor{}
				if v4 {
					state["h"] = tensor.New(tensor.Float32, 2, 1, 64)
					state["c"] = tensor.New(tensor.Float32, 2, 1, 64)
				} else {
					state["state"] = tensor.New(tensor.Float32, 2, 1, 128)
				}
				maxProb := 0.0
				frames := 0
				for off := 0; off+frame <= len(samples) && frames < 60; off += frame {
					feeds := map[string]*tensor.Tensor{
						"input": rtF32([]int{1, frame}, samples[off:off+frame]...),
						"sr":    tensor.Scalar(sr),
					}
					for k, v := range state {
						feeds[k] = v
					}
					want, err := ref.Run(feeds, nil)
					if err != nil {
						t.Fatalf("ONNX Runtime: %v", err)
					}
					got, err := sess.Run(context.Background(), feeds)
					if err != nil {
						t.Fatal(err)
					}
					ortCompare(t, fmt.Sprintf("frame %d", frames), got, want, 1e-4)
					if t.Failed() {
						return
					}
					maxProb = math.Max(maxProb, rtFloats(got["output"])[0])
					// Feed ONNX Runtime's state back so both keep seeing the same inputs.
					if v4 {
						state["h"], state["c"] = want["hn"], want["cn"]
					} else {
						state["state"] = want["stateN"]
					}
					frames++
				}
				t.Logf("%d frames, highest speech probability %.3f", frames, maxProb)
			})
		}
	}
}

// TestGRUModelAgainstORT runs the GRU + Gemm regressor on batches and
// sequence lengths other than the shared recipe's.
func TestGRUModelAgainstORT(t *testing.T) {
	path := testenv.DataFile(t, "models", "gru-gemm-ndm.onnx")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := onnx.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := engine.New(m, engine.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	ref := ortOpen(t, data)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, size := range [][2]int{{1, 1}, {3, 25}, {8, 60}} {
		batch, seq := size[0], size[1]
		feeds := map[string]*tensor.Tensor{
			"sensor_input":   rtF32([]int{batch, seq, 4}, rtRandom(rng, batch*seq*4, 1)...),
			"setpoint_input": rtF32([]int{batch, 1}, rtRandom(rng, batch, 1)...),
		}
		want, err := ref.Run(feeds, nil)
		if err != nil {
			t.Fatalf("ONNX Runtime: %v", err)
		}
		got, err := sess.Run(context.Background(), feeds)
		if err != nil {
			t.Fatal(err)
		}
		ortCompare(t, fmt.Sprintf("batch %d seq %d", batch, seq), got, want, 1e-4)
	}
}
