//go:build cgo

package opset

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

var (
	attrInt    = onnxbuild.AttrInt
	attrInts   = onnxbuild.AttrInts
	attrFloat  = onnxbuild.AttrFloat
	attrString = onnxbuild.AttrString
)

// randF32 returns a float32 tensor of the shape with values in [-2, 2).
func randF32(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	d := tensor.As[float32](t)
	for i := range d {
		d[i] = float32(rng.Float64()*4 - 2)
	}
	return t
}

// convCase is one conversion checked in ONNX Runtime: the model at its
// old opset, the targets to upgrade to, and the expected outputs. With want
// nil the reference is ONNX Runtime's run of the original model; ONNX
// Runtime has no kernels for most operators before opset 7, so those
// cases give hand-computed outputs instead.
type convCase struct {
	name    string
	model   func() *onnxbuild.Model
	inputs  func(rng *rand.Rand) map[string]*tensor.Tensor
	want    func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor
	targets []int64
	change  string // substring the report for the last target must contain
}

func convCases() []convCase {
	f32 := tensor.Float32
	x := func(shape ...int) func(rng *rand.Rand) map[string]*tensor.Tensor {
		return func(rng *rand.Rand) map[string]*tensor.Tensor {
			return map[string]*tensor.Tensor{"x": randF32(rng, shape...)}
		}
	}
	return []convCase{
		{
			name: "Slice-1 attributes to inputs",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 3, 5, 4).OutputNoShape("y", f32).
					Node("Slice", []string{"x"}, []string{"y"}, attrInts("starts", 1, -3), attrInts("ends", 3, 1000), attrInts("axes", 0, 1))
			},
			inputs: x(3, 5, 4), targets: []int64{10, 13, 22}, change: "moved to inputs",
		},
		{
			name: "Pad-2 pads and value to inputs",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 2, 3).OutputNoShape("y", f32).
					Node("Pad", []string{"x"}, []string{"y"}, attrInts("pads", 1, 0, 0, 2), attrFloat("value", 1.5))
			},
			inputs: x(2, 3), targets: []int64{11, 13, 18, 22}, change: "value=1.5 moved to input 2",
		},
		{
			name: "Pad-2 reflect",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(10).Input("x", f32, 3, 4).OutputNoShape("y", f32).
					Node("Pad", []string{"x"}, []string{"y"}, attrInts("pads", 0, 2, 1, 1), attrString("mode", "reflect"))
			},
			inputs: x(3, 4), targets: []int64{11, 19, 22}, change: "pads=",
		},
		{
			name: "Clip-6 min/max to inputs",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 4, 5).OutputNoShape("y", f32).
					Node("Clip", []string{"x"}, []string{"y"}, attrFloat("min", -0.5), attrFloat("max", 0.75))
			},
			inputs: x(4, 5), targets: []int64{11, 13, 22}, change: "max=0.75 moved to input 2",
		},
		{
			name: "Clip-6 max only",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(10).Input("x", f32, 4, 5).OutputNoShape("y", f32).
					Node("Clip", []string{"x"}, []string{"y"}, attrFloat("max", 0.25))
			},
			inputs: x(4, 5), targets: []int64{11, 13}, change: "max=0.25",
		},
		{
			name: "Squeeze and Unsqueeze axes to inputs",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(11).Input("x", f32, 3, 1, 4).OutputNoShape("y", f32).
					Node("Squeeze", []string{"x"}, []string{"s"}, attrInts("axes", 1)).
					Node("Unsqueeze", []string{"s"}, []string{"y"}, attrInts("axes", 0, -1))
			},
			inputs: x(3, 1, 4), targets: []int64{13, 21, 22}, change: "axes=[0 -1] moved to input 1",
		},
		{
			name: "Split-11 sizes to input, equal split gets num_outputs",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(11).Input("x", f32, 6, 4).OutputNoShape("a", f32).OutputNoShape("b", f32).
					OutputNoShape("c", f32).OutputNoShape("d", f32).
					Node("Split", []string{"x"}, []string{"a", "b"}, attrInts("split", 2, 4)).
					Node("Split", []string{"x"}, []string{"c", "d"}, attrInt("axis", 1))
			},
			inputs: x(6, 4), targets: []int64{13, 18, 22}, change: "split=[2 4] moved to input 1",
		},
		{
			name: "ReduceSum-11 and ReduceMean-13 axes to inputs",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(11).Input("x", f32, 2, 3, 4).OutputNoShape("s", f32).OutputNoShape("m", f32).OutputNoShape("a", f32).
					Node("ReduceSum", []string{"x"}, []string{"s"}, attrInts("axes", 1), attrInt("keepdims", 0)).
					Node("ReduceMean", []string{"x"}, []string{"m"}, attrInts("axes", -1, 0)).
					Node("ReduceMax", []string{"x"}, []string{"a"})
			},
			inputs: x(2, 3, 4), targets: []int64{13, 18, 22}, change: "axes=[-1 0] moved to input 1",
		},
		{
			name: "TopK-1 k to input",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 3, 7).OutputNoShape("v", f32).OutputNoShape("i", tensor.Int64).
					Node("TopK", []string{"x"}, []string{"v", "i"}, attrInt("k", 3))
			},
			inputs: x(3, 7), targets: []int64{10, 11, 13}, change: "k=3 moved to input 1",
		},
		{
			name: "Dropout-7 ratio to input, unused mask removed",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 2, 5).OutputNoShape("y", f32).
					Node("Dropout", []string{"x"}, []string{"d", "mask"}, attrFloat("ratio", 0.3)).
					Node("Relu", []string{"d"}, []string{"y"})
			},
			inputs: x(2, 5), targets: []int64{10, 12, 13, 22}, change: "removed unused mask output",
		},
		{
			name: "BatchNormalization-7 spatial removed",
			model: func() *onnxbuild.Model {
				rng := rand.New(rand.NewPCG(3, 4))
				v := randF32(rng, 3)
				for i, e := range tensor.As[float32](v) {
					tensor.As[float32](v)[i] = e*e + 0.1
				}
				return onnxbuild.New(7).Input("x", f32, 2, 3, 4, 4).OutputNoShape("y", f32).
					Init("scale", randF32(rng, 3)).Init("b", randF32(rng, 3)).Init("mean", randF32(rng, 3)).Init("var", v).
					Node("BatchNormalization", []string{"x", "scale", "b", "mean", "var"}, []string{"y"}, attrInt("spatial", 1), attrFloat("epsilon", 1e-3))
			},
			inputs: x(2, 3, 4, 4), targets: []int64{9, 14, 15, 22}, change: "removed spatial=1",
		},
		{
			name: "Upsample-9 nearest to Resize",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 1, 2, 3, 2).OutputNoShape("y", f32).
					Init("scales", tensor.FromSlice([]int{4}, []float32{1, 1, 2, 3})).
					Node("Upsample", []string{"x", "scales"}, []string{"y"}, attrString("mode", "nearest"))
			},
			inputs: x(1, 2, 3, 2), targets: []int64{10, 11, 13, 19, 22}, change: "nearest_mode=floor",
		},
		{
			name: "Upsample-9 nearest with non-integer scale to Resize",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 1, 1, 4, 5).OutputNoShape("y", f32).
					Init("scales", tensor.FromSlice([]int{4}, []float32{1, 1, 1.5, 2.5})).
					Node("Upsample", []string{"x", "scales"}, []string{"y"})
			},
			inputs: x(1, 1, 4, 5), targets: []int64{11, 13}, change: "replaced by Resize",
		},
		{
			name: "Upsample-9 linear to Resize",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 1, 2, 3, 4).OutputNoShape("y", f32).
					Init("scales", tensor.FromSlice([]int{4}, []float32{1, 1, 2, 2})).
					Node("Upsample", []string{"x", "scales"}, []string{"y"}, attrString("mode", "linear"))
			},
			inputs: x(1, 2, 3, 4), targets: []int64{10, 11, 13}, change: "coordinate_transformation_mode=asymmetric",
		},
		{
			name: "Resize-10 nearest and linear to Resize-11 semantics",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(10).Input("x", f32, 1, 1, 3, 4).OutputNoShape("n", f32).OutputNoShape("l", f32).
					Init("s", tensor.FromSlice([]int{4}, []float32{1, 1, 3, 1.5})).
					Node("Resize", []string{"x", "s"}, []string{"n"}, attrString("mode", "nearest")).
					Node("Resize", []string{"x", "s"}, []string{"l"}, attrString("mode", "linear"))
			},
			inputs: x(1, 1, 3, 4), targets: []int64{11, 12, 13, 19, 22}, change: "nearest_mode=floor",
		},
		{
			name: "Softmax-11 axis not last: Flatten/Reshape wrapper",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(11).Input("x", f32, 2, 3, 4).OutputNoShape("s", f32).OutputNoShape("l", f32).OutputNoShape("h", f32).
					Node("Softmax", []string{"x"}, []string{"s"}).
					Node("LogSoftmax", []string{"x"}, []string{"l"}, attrInt("axis", 0)).
					Node("Hardmax", []string{"x"}, []string{"h"}, attrInt("axis", -2))
			},
			inputs: x(2, 3, 4), targets: []int64{13, 22}, change: "wrapped as Reshape",
		},
		{
			name: "Softmax-11 last axis",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(11).Input("x", f32, 2, 3, 4).OutputNoShape("s", f32).
					Node("Softmax", []string{"x"}, []string{"s"}, attrInt("axis", 2))
			},
			inputs: x(2, 3, 4), targets: []int64{13}, change: "flatten-at-axis and per-axis agree",
		},
		{
			name: "Softmax-11 input of unknown rank",
			model: func() *onnxbuild.Model {
				m := onnxbuild.New(11).OutputNoShape("s", f32)
				m.M.Graph.Input = append(m.M.Graph.Input, onnxbuild.ValueInfo("x", f32, nil))
				return m.Node("Softmax", []string{"x"}, []string{"s"})
			},
			inputs: x(3, 2, 5), targets: []int64{13}, change: "unknown rank",
		},
		{
			name: "Scatter-9 to ScatterElements",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(9).Input("x", f32, 3, 4).OutputNoShape("y", f32).
					Init("idx", tensor.FromSlice([]int{2, 4}, []int64{2, 0, 1, 2, 0, 1, 2, 0})).
					Init("upd", tensor.FromSlice([]int{2, 4}, []float32{10, 11, 12, 13, 14, 15, 16, 17})).
					Node("Scatter", []string{"x", "idx", "upd"}, []string{"y"}, attrInt("axis", 0))
			},
			inputs: x(3, 4), targets: []int64{11, 13, 18}, change: "replaced by ScatterElements",
		},
		{
			name: "RoiAlign-10 keeps output_half_pixel",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(10).Input("x", f32, 1, 2, 6, 6).OutputNoShape("y", f32).
					Init("rois", tensor.FromSlice([]int{2, 4}, []float32{0.5, 0.5, 4.2, 3.9, 1, 0, 5, 5})).
					Init("bi", tensor.FromSlice([]int{2}, []int64{0, 0})).
					Node("RoiAlign", []string{"x", "rois", "bi"}, []string{"y"}, attrInt("output_height", 2), attrInt("output_width", 3), attrInt("sampling_ratio", 2))
			},
			inputs: x(1, 2, 6, 6), targets: []int64{16}, change: "output_half_pixel", // ONNX Runtime has no RoiAlign-22 kernel
		},
		{
			name: "If branches converted",
			model: func() *onnxbuild.Model {
				then := onnxbuild.New(11).OutputNoShape("t", f32).Node("Unsqueeze", []string{"x"}, []string{"t"}, attrInts("axes", 0)).M.Graph
				els := onnxbuild.New(11).OutputNoShape("e", f32).Node("ReduceSum", []string{"x"}, []string{"e"}, attrInts("axes", 1)).M.Graph
				then.Name, els.Name = proto.String("then"), proto.String("else")
				return onnxbuild.New(11).Input("x", f32, 2, 3).Input("c", tensor.Bool).OutputNoShape("y", f32).
					Node("If", []string{"c"}, []string{"y"}, onnxbuild.AttrGraph("then_branch", then), onnxbuild.AttrGraph("else_branch", els))
			},
			inputs: func(rng *rand.Rand) map[string]*tensor.Tensor {
				return map[string]*tensor.Tensor{"x": randF32(rng, 2, 3), "c": tensor.Scalar(rng.IntN(2) == 1)}
			},
			targets: []int64{13, 22}, change: "axes=[0] moved to input 1",
		},
		{
			name: "Add-6 legacy broadcast with axis",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(6).Input("a", f32, 2, 3, 4).Input("b", f32, 3).OutputNoShape("y", f32).
					Node("Add", []string{"a", "b"}, []string{"y"}, attrInt("broadcast", 1), attrInt("axis", 1))
			},
			inputs: func(rng *rand.Rand) map[string]*tensor.Tensor {
				return map[string]*tensor.Tensor{"a": randF32(rng, 2, 3, 4), "b": randF32(rng, 3)}
			},
			want: func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
				a, b := tensor.As[float32](in["a"]), tensor.As[float32](in["b"])
				y := tensor.New(tensor.Float32, 2, 3, 4)
				d := tensor.As[float32](y)
				for i := range 2 {
					for j := range 3 {
						for k := range 4 {
							d[(i*3+j)*4+k] = a[(i*3+j)*4+k] + b[j]
						}
					}
				}
				return map[string]*tensor.Tensor{"y": y}
			},
			targets: []int64{7, 13, 14}, change: "trailing dimensions of 1",
		},
		{
			name: "Mul-6 legacy suffix broadcast with constant B, Gemm-6 broadcast",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(6).Input("a", f32, 2, 4).OutputNoShape("y", f32).OutputNoShape("g", f32).
					Init("b", tensor.FromSlice([]int{4}, []float32{1, -2, 0.5, 3})).
					Init("w", tensor.FromSlice([]int{4, 3}, []float32{1, 0, 2, 0, 1, -1, 3, 1, 0, -2, 0, 1})).
					Init("c", tensor.FromSlice([]int{3}, []float32{0.25, -1, 2})).
					Node("Mul", []string{"a", "b"}, []string{"y"}, attrInt("broadcast", 1)).
					Node("Gemm", []string{"a", "w", "c"}, []string{"g"}, attrInt("broadcast", 1), attrFloat("beta", 2))
			},
			inputs: func(rng *rand.Rand) map[string]*tensor.Tensor {
				return map[string]*tensor.Tensor{"a": randF32(rng, 2, 4)}
			},
			want: func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
				a := tensor.As[float32](in["a"])
				b := []float32{1, -2, 0.5, 3}
				w := []float32{1, 0, 2, 0, 1, -1, 3, 1, 0, -2, 0, 1}
				c := []float32{0.25, -1, 2}
				y := tensor.New(tensor.Float32, 2, 4)
				g := tensor.New(tensor.Float32, 2, 3)
				yd, gd := tensor.As[float32](y), tensor.As[float32](g)
				for i := range 2 {
					for k := range 4 {
						yd[i*4+k] = a[i*4+k] * b[k]
					}
					for j := range 3 {
						var s float32
						for k := range 4 {
							s += a[i*4+k] * w[k*3+j]
						}
						gd[i*3+j] = s + 2*c[j]
					}
				}
				return map[string]*tensor.Tensor{"y": y, "g": g}
			},
			targets: []int64{7, 13}, change: "removed broadcast",
		},
		{
			name: "Reshape-1 shape attribute, Cast-1 type name, Concat-1 default axis",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(3).Input("x", f32, 2, 3).OutputNoShape("y", tensor.Int32).
					Node("Reshape", []string{"x"}, []string{"r"}, attrInts("shape", 3, 2)).
					Node("Concat", []string{"r", "r"}, []string{"c"}).
					Node("Cast", []string{"c"}, []string{"y"}, attrString("to", "INT32"))
			},
			inputs: x(2, 3),
			want: func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
				a := tensor.As[float32](in["x"])
				y := tensor.New(tensor.Int32, 3, 4)
				d := tensor.As[int32](y)
				for i := range 3 {
					for j := range 4 {
						d[i*4+j] = int32(a[i*2+j%2])
					}
				}
				return map[string]*tensor.Tensor{"y": y}
			},
			targets: []int64{7, 13}, change: "type number 6",
		},
		{
			name: "PRelu-6 per-channel slope",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(6).Input("x", f32, 1, 3, 2, 2).OutputNoShape("y", f32).
					Init("slope", tensor.FromSlice([]int{3}, []float32{0.1, 0.5, 2})).
					Node("PRelu", []string{"x", "slope"}, []string{"y"})
			},
			inputs: x(1, 3, 2, 2),
			want: func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
				a := tensor.As[float32](in["x"])
				slope := []float32{0.1, 0.5, 2}
				y := tensor.New(tensor.Float32, 1, 3, 2, 2)
				d := tensor.As[float32](y)
				for i, v := range a {
					if v < 0 {
						v *= slope[i/4]
					}
					d[i] = v
				}
				return map[string]*tensor.Tensor{"y": y}
			},
			targets: []int64{7, 16}, change: "per-channel slope",
		},
		{
			name: "BatchNormalization-6 is_test and consumed_inputs, Selu-1 defaults, Pad-1 paddings",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(1).Input("x", f32, 1, 2, 1, 2).OutputNoShape("y", f32).OutputNoShape("s", f32).OutputNoShape("p", f32).
					Init("sc", tensor.FromSlice([]int{2}, []float32{2, -1})).Init("b", tensor.FromSlice([]int{2}, []float32{0.5, 1})).
					Init("m", tensor.FromSlice([]int{2}, []float32{0.25, -0.5})).Init("v", tensor.FromSlice([]int{2}, []float32{4, 0.25})).
					Node("BatchNormalization", []string{"x", "sc", "b", "m", "v"}, []string{"y"}, attrInt("is_test", 1), attrInts("consumed_inputs", 0, 0, 0, 1, 1), attrFloat("epsilon", 0)).
					Node("Selu", []string{"x"}, []string{"s"}).
					Node("Pad", []string{"x"}, []string{"p"}, attrInts("paddings", 0, 0, 0, 1, 0, 0, 0, 0), attrFloat("value", -3))
			},
			inputs: x(1, 2, 1, 2),
			want: func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
				a := tensor.As[float32](in["x"])
				sc, b, m, v := []float64{2, -1}, []float64{0.5, 1}, []float64{0.25, -0.5}, []float64{2, 0.5} // v: square roots
				y := tensor.New(tensor.Float32, 1, 2, 1, 2)
				s := tensor.New(tensor.Float32, 1, 2, 1, 2)
				p := tensor.New(tensor.Float32, 1, 2, 1, 3)
				yd, sd, pd := tensor.As[float32](y), tensor.As[float32](s), tensor.As[float32](p)
				for i, e := range a {
					c := i / 2
					yd[i] = float32(sc[c]*(float64(e)-m[c])/v[c] + b[c])
					if e > 0 {
						sd[i] = float32(1.0507 * float64(e))
					} else {
						sd[i] = float32(1.0507 * 1.6732 * (math.Exp(float64(e)) - 1))
					}
					pd[c*3] = -3
					pd[c*3+1+i%2] = e
				}
				return map[string]*tensor.Tensor{"y": y, "s": s, "p": p}
			},
			targets: []int64{7, 11, 22}, change: "removed is_test=1",
		},
		{
			name: "Split-1 sizes input",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(1).Input("x", f32, 5).OutputNoShape("a", f32).OutputNoShape("b", f32).
					Init("sizes", tensor.FromSlice([]int{2}, []int64{2, 3})).
					Node("Split", []string{"x", "sizes"}, []string{"a", "b"}, attrInt("axis", 0))
			},
			inputs: x(5),
			want: func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
				a := tensor.As[float32](in["x"])
				return map[string]*tensor.Tensor{
					"a": tensor.FromSlice([]int{2}, append([]float32(nil), a[:2]...)),
					"b": tensor.FromSlice([]int{3}, append([]float32(nil), a[2:]...)),
				}
			},
			targets: []int64{2, 13, 18}, change: "split sizes input moved to attribute",
		},
		{
			name: "Tile-1 tiles and axis",
			model: func() *onnxbuild.Model {
				return onnxbuild.New(5).Input("x", f32, 2, 2).OutputNoShape("y", f32).
					Init("tiles", tensor.Scalar(int64(3))).Init("axis", tensor.Scalar(int64(1))).
					Node("Tile", []string{"x", "tiles", "axis"}, []string{"y"})
			},
			inputs: x(2, 2),
			want: func(in map[string]*tensor.Tensor) map[string]*tensor.Tensor {
				a := tensor.As[float32](in["x"])
				y := tensor.New(tensor.Float32, 2, 6)
				d := tensor.As[float32](y)
				for i := range 2 {
					for j := range 6 {
						d[i*6+j] = a[i*2+j%2]
					}
				}
				return map[string]*tensor.Tensor{"y": y}
			},
			targets: []int64{6, 13}, change: "replaced by repeats [1 3]",
		},
	}
}

// TestConversionsORT upgrades small models built for each conversion and
// checks ONNX Runtime's outputs against the original model's (or against
// hand-computed values where ONNX Runtime cannot run the original) on
// random inputs, to 1e-5.
func TestConversionsORT(t *testing.T) {
	needORT(t)
	for _, tc := range convCases() {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.model().M
			for seed := range uint64(3) {
				rng := rand.New(rand.NewPCG(seed, 99))
				in := tc.inputs(rng)
				var want map[string]*tensor.Tensor
				if tc.want != nil {
					want = tc.want(in)
				} else {
					want = runORT(t, orig, in)
				}
				for _, target := range tc.targets {
					m := proto.Clone(orig).(*onnx.ModelProto)
					rep, err := Upgrade(m, target)
					if err != nil {
						t.Fatalf("Upgrade %d -> %d: %v", opsetOf(orig), target, err)
					}
					if target == tc.targets[len(tc.targets)-1] && !strings.Contains(rep.String(), tc.change) {
						t.Errorf("target %d: report lacks %q:\n%s", target, tc.change, rep)
					}
					got := runORT(t, m, in)
					compareOutputs(t, want, got, 1e-5)
				}
			}
		})
	}
}

// TestUpsample7ORT covers Upsample-7's scales attribute, which onnxbuild's
// float-list helper does not make.
func TestUpsample7ORT(t *testing.T) {
	needORT(t)
	b := onnxbuild.New(8).Input("x", tensor.Float32, 1, 1, 3, 3).OutputNoShape("y", tensor.Float32).
		Node("Upsample", []string{"x"}, []string{"y"}, attrString("mode", "nearest"),
			&onnx.AttributeProto{Name: proto.String("scales"), Type: onnx.AttributeProto_FLOATS.Enum(), Floats: []float32{1, 1, 2, 2}})
	rng := rand.New(rand.NewPCG(5, 6))
	in := map[string]*tensor.Tensor{"x": randF32(rng, 1, 1, 3, 3)}
	want := runORT(t, b.M, in)
	for _, target := range []int64{9, 10, 13} {
		m := proto.Clone(b.M).(*onnx.ModelProto)
		rep, err := Upgrade(m, target)
		if err != nil {
			t.Fatal(err)
		}
		if target >= 10 && !strings.Contains(rep.String(), "Resize") {
			t.Errorf("report lacks the Resize replacement:\n%s", rep)
		}
		compareOutputs(t, want, runORT(t, m, in), 1e-5)
	}
}
