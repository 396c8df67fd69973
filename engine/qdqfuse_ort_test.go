//go:build cgo

package engine_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestQDQFusionMatchesORT quantizes shared models to QDQ (per channel,
// uint8 and int8 weights, ranges from a run of the float model) and runs
// them three ways: in ONNX Runtime, which fuses each QDQ group into an
// integer kernel; on the engine without observers, which fuses them too;
// and on the engine with an observer, which computes in float on
// dequantized values. Every Conv must be fused, and the fused engine must
// agree with ONNX Runtime at least as closely as the float emulation does
// and in all but 1 in 10,000 elements (it agreed in every one when this
// was written, where the emulation differed in hundreds).
func TestQDQFusionMatchesORT(t *testing.T) {
	for _, name := range []string{"mnist-8.onnx", "fastestdet-coco-352.onnx", "ultraface-rfb-320.onnx"} {
		for _, wt := range []tensor.DataType{tensor.Uint8, tensor.Int8} {
			t.Run(name+"/"+wt.String(), func(t *testing.T) {
				path := testenv.DataFile(t, "models", name)
				m, err := onnx.Load(path)
				if err != nil {
					t.Fatal(err)
				}
				in, real, err := modelzoo.RealInputs(path, testenv.DataDir(t))
				if err != nil {
					t.Fatal(err)
				}
				if !real {
					if in, err = modelzoo.Inputs(path, rand.New(rand.NewPCG(3, 4))); err != nil {
						t.Fatal(err)
					}
				}
				// int8 weights with 7-bit ranges: ONNX Runtime's uint8 x int8
				// kernels on AVX2 without VNNI saturate otherwise.
				cfg := quantize.Config{Format: quantize.QDQ, Static: true, PerChannel: true, WeightType: wt, ReduceRange: wt == tensor.Int8}
				cfg.Params = observedRanges(t, m, cfg, in)
				q, _, err := quantize.Model(m, cfg)
				if err != nil {
					t.Fatal(err)
				}
				convs := 0
				for _, n := range q.GetGraph().GetNode() {
					if n.GetOpType() == "Conv" {
						convs++
					}
				}
				ref := ortModelSession(t, q, 2)
				want, err := ref.Run(in, nil)
				if err != nil {
					t.Fatal(err)
				}
				s, err := engine.New(q, engine.Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				got := engine.FusedQDQ(s)
				if got < convs {
					t.Errorf("%d QDQ groups fused, want at least the %d Convs", got, convs)
				}
				t.Logf("%d QDQ groups fused (%d Convs) among %d nodes", got, convs, len(q.GetGraph().GetNode()))
				fused, err := s.Run(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				emulated, err := s.RunWith(context.Background(), in, engine.RunOptions{Observer: func(string, *tensor.Tensor) {}})
				if err != nil {
					t.Fatal(err)
				}
				for name, w := range want {
					ef, nf := qdqError(t, fused[name], w)
					ee, ne := qdqError(t, emulated[name], w)
					t.Logf("output %q: fused vs ORT max error / scale %.3g (%d elements off), emulated %.3g (%d off) of %d",
						name, ef, nf, ee, ne, w.Len())
					if nf > ne || nf*10000 > w.Len() {
						t.Errorf("output %q: the fused engine differs from ONNX Runtime in %d elements (float emulation: %d)", name, nf, ne)
					}
				}
			})
		}
	}
}

// qdqError returns max|got-want| / max|want| and the number of elements
// that differ by more than 1e-4 of that scale.
func qdqError(t *testing.T, got, want *tensor.Tensor) (float64, int) {
	t.Helper()
	if got == nil {
		t.Fatal("output missing")
	}
	g, err := tensor.Float32s(got)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tensor.Float32s(want)
	if err != nil {
		t.Fatal(err)
	}
	var scale, worst float64
	for _, v := range w {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	n := 0
	for i := range w {
		d := math.Abs(float64(g[i]) - float64(w[i]))
		worst = math.Max(worst, d)
		if d > 1e-4*scale {
			n++
		}
	}
	return worst / scale, n
}

// TestQDQGroupsMatchORT runs small QDQ graphs of each group the engine
// fuses (data movement between a DequantizeLinear and a QuantizeLinear of
// one scale and zero point, which runs on the 8-bit values; a Concat of
// inputs with different parameters, run as QLinearConcat) and requires the
// fused engine's 8-bit output to equal ONNX Runtime's exactly, and the
// group to be fused.
func TestQDQGroupsMatchORT(t *testing.T) {
	scalar := func(v float32) *tensor.Tensor { return tensor.FromSlice([]int{}, []float32{v}) }
	zp := func(v uint8) *tensor.Tensor { return tensor.FromSlice([]int{}, []uint8{v}) }
	i64 := func(v ...int64) *tensor.Tensor { return tensor.FromSlice([]int{len(v)}, v) }
	const s, z = 0.0517, 131
	// qdq wraps op between x's DequantizeLinear and y's QuantizeLinear,
	// with the given parameters, and dequantizes nothing after: the graph
	// output is the 8-bit y.
	qdq := func(op string, extra []string, attrs []*onnx.AttributeProto, inits map[string]*tensor.Tensor, outShape ...int) *onnx.ModelProto {
		b := onnxbuild.New(13).Input("x", tensor.Uint8, 1, 8, 6, 6).
			Init("s", scalar(s)).Init("z", zp(z))
		for name, v := range inits {
			b.Init(name, v)
		}
		b.Node("DequantizeLinear", []string{"x", "s", "z"}, []string{"xf"}).
			Node(op, append([]string{"xf"}, extra...), []string{"yf"}, attrs...).
			Node("QuantizeLinear", []string{"yf", "s", "z"}, []string{"y"}).
			Output("y", tensor.Uint8, outShape...)
		return b.M
	}
	other := qdq("Transpose", nil, []*onnx.AttributeProto{onnxbuild.AttrInts("perm", 0, 2, 3, 1)}, nil, 1, 6, 6, 8)
	other.Graph.Node[2].Input[1] = "s2" // quantized with another scale: not fusable
	other.Graph.Initializer = append(other.Graph.Initializer, mustProto(t, scalar(0.0333), "s2"))
	// MaxPool takes 8-bit data only from opset 12: at 11 the group stays.
	pool11 := qdq("MaxPool", nil, []*onnx.AttributeProto{onnxbuild.AttrInts("kernel_shape", 2, 2), onnxbuild.AttrInts("strides", 2, 2)}, nil, 1, 8, 3, 3)
	pool11.OpsetImport[0].Version = proto.Int64(11)
	cases := []struct {
		name  string
		m     *onnx.ModelProto
		fused int
	}{
		{"Transpose with other output scale", other, 0},
		{"MaxPool at opset 11", pool11, 0},
		{"Transpose", qdq("Transpose", nil, []*onnx.AttributeProto{onnxbuild.AttrInts("perm", 0, 2, 3, 1)}, nil, 1, 6, 6, 8), 1},
		{"Reshape", qdq("Reshape", []string{"shape"}, nil, map[string]*tensor.Tensor{"shape": i64(1, 2, 4, 36)}, 1, 2, 4, 36), 1},
		{"MaxPool", qdq("MaxPool", nil, []*onnx.AttributeProto{onnxbuild.AttrInts("kernel_shape", 3, 3), onnxbuild.AttrInts("strides", 2, 2), onnxbuild.AttrInts("pads", 1, 1, 1, 1)}, nil, 1, 8, 3, 3), 1},
		{"Gather", qdq("Gather", []string{"idx"}, []*onnx.AttributeProto{onnxbuild.AttrInt("axis", 1)}, map[string]*tensor.Tensor{"idx": i64(7, 0, 3)}, 1, 3, 6, 6), 1},
		{"Slice", qdq("Slice", []string{"st", "en", "ax"}, nil, map[string]*tensor.Tensor{"st": i64(1), "en": i64(5), "ax": i64(2)}, 1, 8, 4, 6), 1},
		{"Resize nearest", qdq("Resize", []string{"", "sc"}, []*onnx.AttributeProto{onnxbuild.AttrString("mode", "nearest")},
			map[string]*tensor.Tensor{"sc": tensor.FromSlice([]int{4}, []float32{1, 1, 2, 2})}, 1, 8, 12, 12), 1},
		{"Concat", onnxbuild.New(13).Input("x", tensor.Uint8, 1, 8, 6, 6).Input("x2", tensor.Uint8, 1, 3, 6, 6).
			Init("s", scalar(s)).Init("z", zp(z)).Init("s2", scalar(0.0231)).Init("z2", zp(17)).
			Init("s3", scalar(0.0609)).Init("z3", zp(120)).
			Node("DequantizeLinear", []string{"x", "s", "z"}, []string{"xf"}).
			Node("DequantizeLinear", []string{"x2", "s2", "z2"}, []string{"x2f"}).
			Node("Concat", []string{"xf", "x2f"}, []string{"yf"}, onnxbuild.AttrInt("axis", 1)).
			Node("QuantizeLinear", []string{"yf", "s3", "z3"}, []string{"y"}).
			Output("y", tensor.Uint8, 1, 11, 6, 6).M, 1},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := map[string]*tensor.Tensor{}
			for _, vi := range c.m.GetGraph().GetInput() {
				var shape []int
				for _, d := range vi.GetType().GetTensorType().GetShape().GetDim() {
					shape = append(shape, int(d.GetDimValue()))
				}
				x := tensor.New(tensor.Uint8, shape...)
				for i := range x.Data.([]uint8) {
					x.Data.([]uint8)[i] = uint8(rng.IntN(256))
				}
				in[vi.GetName()] = x
			}
			ref := ortModelSession(t, c.m, 1)
			want, err := ref.Run(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			s, err := engine.New(c.m, engine.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			if n := engine.FusedQDQ(s); n != c.fused {
				t.Fatalf("%d groups fused, want %d", n, c.fused)
			}
			got, err := s.Run(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			g, w := got["y"].Data.([]uint8), want["y"].Data.([]uint8)
			if len(g) != len(w) {
				t.Fatalf("%d values, ONNX Runtime %d", len(g), len(w))
			}
			for i := range w {
				if g[i] != w[i] {
					t.Fatalf("y[%d] = %d, ONNX Runtime %d", i, g[i], w[i])
				}
			}
		})
	}
}

func mustProto(t *testing.T, x *tensor.Tensor, name string) *onnx.TensorProto {
	t.Helper()
	p, err := tensor.ToProto(x, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
