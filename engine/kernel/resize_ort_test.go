//go:build cgo

package kernel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Cross-checks of the Resize, Upsample, reduction, softmax, ArgMax and TopK
// kernels against ONNX Runtime on single-node models.

func oxNeedORT(t *testing.T) {
	t.Helper()
	if err := ort.Init(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
}

// oxORT runs c as a one-node model in ONNX Runtime: the first input is fed,
// the others are initializers.
func oxORT(c rtCase) ([]*tensor.Tensor, error) {
	nOut := c.nOut
	if nOut == 0 {
		nOut = 1
	}
	g := &onnx.GraphProto{Name: proto.String("g")}
	node := &onnx.NodeProto{OpType: proto.String(c.op), Attribute: c.attrs}
	for i := 0; i < nOut; i++ {
		name := fmt.Sprintf("y%d", i)
		node.Output = append(node.Output, name)
		g.Output = append(g.Output, &onnx.ValueInfoProto{Name: proto.String(name)})
	}
	for i, x := range c.in {
		if x == nil {
			node.Input = append(node.Input, "")
			continue
		}
		name := fmt.Sprintf("in%d", i)
		node.Input = append(node.Input, name)
		if i == 0 {
			g.Input = append(g.Input, &onnx.ValueInfoProto{Name: proto.String(name), Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
				TensorType: &onnx.TypeProto_Tensor{ElemType: proto.Int32(int32(x.DType))}}}})
			continue
		}
		tp, err := tensor.ToProto(x, name)
		if err != nil {
			return nil, err
		}
		g.Initializer = append(g.Initializer, tp)
	}
	g.Node = []*onnx.NodeProto{node}
	m := &onnx.ModelProto{IrVersion: proto.Int64(8), Graph: g,
		OpsetImport: []*onnx.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(c.opset)}}}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, err
	}
	s, err := ort.NewSession(b, ort.Options{Threads: 1})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res, err := s.Run(map[string]*tensor.Tensor{"in0": c.in[0]}, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*tensor.Tensor, nOut)
	for i := range out {
		out[i] = res[fmt.Sprintf("y%d", i)]
	}
	return out, nil
}

// oxCompare runs c in both engines and reports the first difference:
// floats beyond 1e-4 relative, other types not exactly equal.
func oxCompare(c rtCase) error {
	want, err := oxORT(c)
	if err != nil {
		return fmt.Errorf("ONNX Runtime: %w", err)
	}
	got, err := rtRun(c)
	if err != nil {
		return fmt.Errorf("kernel: %w", err)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.DType != w.DType || fmt.Sprint(g.Shape) != fmt.Sprint(w.Shape) {
			return fmt.Errorf("output %d: %v, ONNX Runtime %v", i, g, w)
		}
		if !w.DType.IsFloat() {
			if fmt.Sprint(g.Data) != fmt.Sprint(w.Data) {
				return fmt.Errorf("output %d: %v, ONNX Runtime %v", i, g.Data, w.Data)
			}
			continue
		}
		gs, _ := tensor.Float32s(g)
		ws, _ := tensor.Float32s(w)
		for j := range ws {
			if math.Abs(float64(gs[j]-ws[j])) > 1e-4*math.Max(1, math.Abs(float64(ws[j]))) {
				return fmt.Errorf("output %d element %d: %v, ONNX Runtime %v", i, j, gs[j], ws[j])
			}
		}
	}
	return nil
}

func oxRandom(rng *rand.Rand, shape ...int) *tensor.Tensor {
	x := make([]float32, tensor.NumElements(shape))
	for i := range x {
		x[i] = rng.Float32()*10 - 5
	}
	return tensor.FromSlice(shape, x)
}

// TestResizeAgainstORT runs a grid of Resize modes, coordinate
// transformations, rounding modes, scales and sizes at opsets 11 to 19.
// Left out, where the two references disagree: align_corners with scales
// whose output length scale*length is not an integer (ONNX's reference and
// conformance data divide by that unrounded length, ONNX Runtime by the
// rounded one), and antialias with tf_crop_and_resize, which ONNX Runtime
// rejects.
func TestResizeAgainstORT(t *testing.T) {
	oxNeedORT(t)
	rng := rand.New(rand.NewSource(3))
	x := oxRandom(rng, 1, 2, 5, 7)
	roi := rtF32([]int{8}, 0, 0, 0.1, 0.3, 1, 1, 0.8, 1.2)
	scales := [][]float32{{1, 1, 2, 3}, {1, 1, 0.6, 0.5}, {1, 1, 1.7, 0.8}, {1, 1, 0.4, 2.5}}
	sizes := [][]int64{{1, 2, 8, 3}, {1, 2, 3, 1}, {1, 2, 1, 10}}
	type config struct {
		mode, coord, round string
		a                  float32
		exclude, antialias int64
	}
	var configs []config
	for _, coord := range []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "half_pixel_symmetric", "tf_crop_and_resize"} {
		for _, round := range []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"} {
			configs = append(configs, config{"nearest", coord, round, -0.75, 0, 0})
		}
		configs = append(configs,
			config{"linear", coord, "", -0.75, 0, 0},
			config{"cubic", coord, "", -0.75, 0, 0},
			config{"cubic", coord, "", -0.5, 1, 0})
		if coord != "tf_crop_and_resize" {
			configs = append(configs, config{"linear", coord, "", -0.75, 0, 1}, config{"cubic", coord, "", -0.75, 0, 1})
		}
	}
	for _, opset := range []int64{11, 13, 19} {
		for _, cf := range configs {
			if opset < 19 && (cf.coord == "half_pixel_symmetric" || cf.antialias != 0) {
				continue
			}
			attrs := []*onnx.AttributeProto{rtString("mode", cf.mode), rtString("coordinate_transformation_mode", cf.coord),
				rtFloat("cubic_coeff_a", cf.a), rtInt("exclude_outside", cf.exclude), rtFloat("extrapolation_value", -7)}
			if cf.round != "" {
				attrs = append(attrs, rtString("nearest_mode", cf.round))
			}
			if cf.antialias != 0 {
				attrs = append(attrs, rtInt("antialias", cf.antialias))
			}
			var runs [][]*tensor.Tensor
			if cf.coord != "align_corners" {
				for _, s := range scales {
					runs = append(runs, []*tensor.Tensor{x, roi, rtF32([]int{4}, s...)})
				}
			}
			for _, s := range sizes {
				runs = append(runs, []*tensor.Tensor{x, roi, rtF32([]int{0}), rtI64(s...)})
			}
			for _, in := range runs {
				c := rtCase{op: "Resize", opset: opset, attrs: attrs, in: in, consts: true}
				if err := oxCompare(c); err != nil {
					t.Errorf("Resize-%d %+v with %v: %v", opset, cf, in[len(in)-1].Data, err)
				}
			}
		}
	}
}

// TestUpsampleAgainstORT covers Upsample-7 and -9 and Resize-10, whose
// nearest mode rounds down when enlarging and up when shrinking.
func TestUpsampleAgainstORT(t *testing.T) {
	oxNeedORT(t)
	x := oxRandom(rand.New(rand.NewSource(4)), 2, 3, 4, 5)
	for _, mode := range []string{"nearest", "linear"} {
		for _, s := range [][]float32{{1, 1, 2, 2}, {1, 1, 2, 3}, {1, 1, 1.5, 2.5}, {1, 2, 1, 1}} {
			for _, c := range []rtCase{
				{op: "Upsample", opset: 7, attrs: []*onnx.AttributeProto{rtString("mode", mode), rtFloats("scales", s...)}, in: []*tensor.Tensor{x}},
				{op: "Upsample", opset: 9, attrs: []*onnx.AttributeProto{rtString("mode", mode)}, in: []*tensor.Tensor{x, rtF32([]int{4}, s...)}, consts: true},
				{op: "Resize", opset: 10, attrs: []*onnx.AttributeProto{rtString("mode", mode)}, in: []*tensor.Tensor{x, rtF32([]int{4}, s...)}, consts: true},
			} {
				if err := oxCompare(c); err != nil {
					t.Errorf("%s-%d %s scales %v: %v", c.op, c.opset, mode, s, err)
				}
			}
		}
		// Shrinking is only valid for Resize.
		c := rtCase{op: "Resize", opset: 10, attrs: []*onnx.AttributeProto{rtString("mode", mode)}, in: []*tensor.Tensor{x, rtF32([]int{4}, 1, 1, 0.5, 0.6)}, consts: true}
		if err := oxCompare(c); err != nil {
			t.Errorf("Resize-10 %s shrinking: %v", mode, err)
		}
	}
	u8 := tensor.FromSlice([]int{1, 1, 2, 3}, []uint8{0, 50, 255, 7, 9, 128})
	c := rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("coordinate_transformation_mode", "asymmetric"), rtString("nearest_mode", "floor")},
		in: []*tensor.Tensor{u8, nil, rtF32([]int{4}, 1, 1, 2, 2)}, consts: true}
	if err := oxCompare(c); err != nil {
		t.Errorf("uint8 nearest: %v", err)
	}
}
