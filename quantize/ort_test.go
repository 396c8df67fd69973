//go:build cgo

package quantize

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxquant/onnxquant/engine/ort"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/tensor"
)

func ortOrSkip(t *testing.T, model []byte) *ort.Session {
	t.Helper()
	if _, err := ort.LibraryPath(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
	s, err := ort.NewSession(model, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestQuantizeValueMatchesORT checks QuantizeValue against ONNX Runtime's
// QuantizeLinear on ties, saturation, tiny and huge values, for uint8 and
// int8, per tensor and per channel.
func TestQuantizeValueMatchesORT(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var xs []float32
	for i := -600; i <= 600; i++ {
		xs = append(xs, float32(i)*0.25) // many exact ties at scale 0.5
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1e30, -1e30, math.MaxFloat32, -math.MaxFloat32)
	for len(xs)%4 != 0 || len(xs) < 2000 {
		xs = append(xs, float32(rng.NormFloat64()*40))
	}
	channels := 4
	per := len(xs) / channels
	cases := []struct {
		name   string
		qt     tensor.DataType
		scales []float32
		zps    []int32
	}{
		{"uint8 per tensor", tensor.Uint8, []float32{0.5}, []int32{128}},
		{"int8 per tensor", tensor.Int8, []float32{0.5}, []int32{0}},
		{"uint8 odd scale", tensor.Uint8, []float32{0.0123}, []int32{3}},
		{"int8 per channel", tensor.Int8, []float32{0.5, 0.25, 1e-3, 7}, []int32{0, 0, 0, 0}},
		{"uint8 per channel", tensor.Uint8, []float32{0.5, 0.25, 1e-3, 7}, []int32{0, 10, 128, 255}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shape := []int{len(xs)}
			axis := -1
			var scale, zp *tensor.Tensor
			if len(tc.scales) == 1 {
				scale = tensor.Scalar(tc.scales[0])
				zp = zpTensor(tc.qt, nil, tc.zps)
			} else {
				shape = []int{channels, per}
				axis = 0
				scale = tensor.FromSlice([]int{channels}, tc.scales)
				zp = zpTensor(tc.qt, []int{channels}, tc.zps)
			}
			b := onnxbuild.New(13).Input("x", tensor.Float32, shape...).Output("y", tc.qt, shape...).
				Init("s", scale).Init("z", zp)
			if axis >= 0 {
				b.Node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"}, onnxbuild.AttrInt("axis", int64(axis)))
			} else {
				b.Node("QuantizeLinear", []string{"x", "s", "z"}, []string{"y"})
			}
			sess := ortOrSkip(t, b.Bytes())
			out, err := sess.Run(map[string]*tensor.Tensor{"x": tensor.FromSlice(shape, xs)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := Range(tc.qt, false, false)
			got, err := tensor.Convert(out["y"], tensor.Int32)
			if err != nil {
				t.Fatal(err)
			}
			for i, x := range xs {
				c := 0
				if axis >= 0 {
					c = i / per
				}
				want := QuantizeValue(x, tc.scales[c], tc.zps[c], r)
				if g := got.Data.([]int32)[i]; g != want {
					t.Fatalf("x=%g scale=%g zp=%d: ONNX Runtime gives %d, QuantizeValue %d", x, tc.scales[c], tc.zps[c], g, want)
				}
			}
		})
	}
}

func zpTensor(qt tensor.DataType, shape []int, zps []int32) *tensor.Tensor {
	t := tensor.New(qt, shape...)
	for i, z := range zps {
		switch d := t.Data.(type) {
		case []uint8:
			d[i] = uint8(z)
		case []int8:
			d[i] = int8(z)
		}
	}
	return t
}
