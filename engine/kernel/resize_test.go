package kernel

import (
	"math"
	"math/rand"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestResize(t *testing.T) {
	x22 := rtF32([]int{1, 1, 2, 2}, 1, 2, 3, 4)
	sc := func(v ...float32) *tensor.Tensor { return rtF32([]int{len(v)}, v...) }
	// Bilinear 2x2 -> 4x4 with half_pixel coordinates: positions
	// (o+0.5)/2-0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1].
	halfPixel44 := []float32{
		1, 1.25, 1.75, 2,
		1.5, 1.75, 2.25, 2.5,
		2.5, 2.75, 3.25, 3.5,
		3, 3.25, 3.75, 4,
	}
	// The same map with two channels last (NHWC), the second ten times the
	// first.
	nhwcIn := rtF32([]int{1, 2, 2, 2}, 1, 10, 2, 20, 3, 30, 4, 40)
	nhwcWant := make([]float32, 0, 32)
	for _, v := range halfPixel44 {
		nhwcWant = append(nhwcWant, v, 10*v)
	}
	cases := []struct {
		name string
		c    rtCase
		want *tensor.Tensor
	}{
		// ONNX's Upsample-7 example: nearest repeats, linear interpolates
		// with asymmetric coordinates clamped at the border.
		{"upsample-7 nearest attribute scales", rtCase{op: "Upsample", opset: 7, attrs: []*onnx.AttributeProto{rtFloats("scales", 1, 1, 2, 3)}, in: []*tensor.Tensor{x22}},
			rtF32([]int{1, 1, 4, 6}, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4)},
		{"upsample-9 linear", rtCase{op: "Upsample", opset: 9, attrs: []*onnx.AttributeProto{rtString("mode", "linear")}, in: []*tensor.Tensor{x22, sc(1, 1, 2, 2)}},
			rtF32([]int{1, 1, 4, 4}, 1, 1.5, 2, 2, 2, 2.5, 3, 3, 3, 3.5, 4, 4, 3, 3.5, 4, 4)},
		// Resize-10 shrinking with nearest rounds up: positions 0 and 1/0.6.
		{"resize-10 nearest shrink", rtCase{op: "Resize", opset: 10, in: []*tensor.Tensor{rtF32([]int{1, 1, 2, 4}, 1, 2, 3, 4, 5, 6, 7, 8), sc(1, 1, 0.6, 0.6)}},
			rtF32([]int{1, 1, 1, 2}, 1, 3)},
		{"resize-11 bilinear half_pixel (NCHW fast path)", rtCase{op: "Resize", opset: 11, attrs: []*onnx.AttributeProto{rtString("mode", "linear")}, in: []*tensor.Tensor{x22, sc(), sc(1, 1, 2, 2)}},
			rtF32([]int{1, 1, 4, 4}, halfPixel44...)},
		{"resize-13 bilinear NHWC via sizes", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "linear")}, in: []*tensor.Tensor{nhwcIn, nil, nil, rtI64(1, 4, 4, 2)}},
			rtF32([]int{1, 4, 4, 2}, nhwcWant...)},
		{"resize-18 bilinear axes", rtCase{op: "Resize", opset: 18, attrs: []*onnx.AttributeProto{rtString("mode", "linear"), rtInts("axes", 1, 2)}, in: []*tensor.Tensor{nhwcIn, nil, sc(2, 2)}, consts: true},
			rtF32([]int{1, 4, 4, 2}, nhwcWant...)},
		{"one linear axis (separable path)", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "linear")}, in: []*tensor.Tensor{rtF32([]int{2, 2}, 1, 3, 5, 7), nil, sc(1, 2)}},
			rtF32([]int{2, 4}, 1, 1.5, 2.5, 3, 5, 5.5, 6.5, 7)},
		{"linear align_corners", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "linear"), rtString("coordinate_transformation_mode", "align_corners")}, in: []*tensor.Tensor{rtF32([]int{3}, 0, 3, 6), nil, nil, rtI64(5)}},
			rtF32([]int{5}, 0, 1.5, 3, 4.5, 6)},
		// Asymmetric nearest floor doubling, as in FastestDet, on uint8.
		{"uint8 nearest floor asymmetric", rtCase{op: "Resize", opset: 16, attrs: []*onnx.AttributeProto{rtString("coordinate_transformation_mode", "asymmetric"), rtString("nearest_mode", "floor")},
			in: []*tensor.Tensor{tensor.FromSlice([]int{1, 1, 2, 2}, []uint8{1, 200, 30, 255}), nil, sc(1, 1, 2, 2)}},
			tensor.FromSlice([]int{1, 1, 4, 4}, []uint8{1, 1, 200, 200, 1, 1, 200, 200, 30, 30, 255, 255, 30, 30, 255, 255})},
		// half_pixel nearest 3 -> 2: positions 0.25 and 1.75 round to 0 and 2.
		{"int8 nearest half_pixel shrink", rtCase{op: "Resize", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{3}, []int8{-1, -2, -3}), nil, nil, rtI64(2)}},
			tensor.FromSlice([]int{2}, []int8{-1, -3})},
		// round_prefer_ceil vs floor at exact halves: asymmetric 4 -> 8
		// samples 0, 0.5, 1, ...
		{"nearest round_prefer_ceil", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("coordinate_transformation_mode", "asymmetric"), rtString("nearest_mode", "round_prefer_ceil")}, in: []*tensor.Tensor{rtF32([]int{2}, 1, 2), nil, sc(4)}},
			rtF32([]int{8}, 1, 1, 2, 2, 2, 2, 2, 2)},
		{"nearest round_prefer_floor", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("coordinate_transformation_mode", "asymmetric")}, in: []*tensor.Tensor{rtF32([]int{2}, 1, 2), nil, sc(4)}},
			rtF32([]int{8}, 1, 1, 1, 2, 2, 2, 2, 2)},
		{"nearest ceil", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("coordinate_transformation_mode", "asymmetric"), rtString("nearest_mode", "ceil")}, in: []*tensor.Tensor{rtF32([]int{2}, 1, 2), nil, sc(4)}},
			rtF32([]int{8}, 1, 2, 2, 2, 2, 2, 2, 2)},
		// tf_crop_and_resize: roi [0.5, 1.5] of 4 samples samples 1.5, 3,
		// 4.5; the last is outside and takes the extrapolation value.
		{"tf_crop_and_resize nearest extrapolates", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("coordinate_transformation_mode", "tf_crop_and_resize"), rtFloat("extrapolation_value", 9)},
			in: []*tensor.Tensor{rtF32([]int{4}, 1, 2, 3, 4), sc(0.5, 1.5), nil, rtI64(3)}},
			rtF32([]int{3}, 2, 4, 9)},
		{"tf_crop_and_resize linear on uint8", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "linear"), rtString("coordinate_transformation_mode", "tf_crop_and_resize"), rtFloat("extrapolation_value", 7)},
			in: []*tensor.Tensor{tensor.FromSlice([]int{2, 2}, []uint8{0, 100, 200, 255}), sc(0, 0.5, 1, 1.5), nil, rtI64(2, 3)}},
			// rows sample 0 and 1; columns 0.5, 1, 1.5 (outside).
			tensor.FromSlice([]int{2, 3}, []uint8{50, 100, 7, 228, 255, 7})},
		// Integer linear results round to nearest: 127.5 -> 128.
		{"uint8 linear rounds", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "linear"), rtString("coordinate_transformation_mode", "align_corners")}, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []uint8{0, 255}), nil, nil, rtI64(3)}},
			tensor.FromSlice([]int{3}, []uint8{0, 128, 255})},
		// Cubic with a=-0.5 at the midpoint of 4 samples (positions 1.5):
		// weights -1/16, 9/16, 9/16, -1/16.
		{"cubic midpoint", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "cubic"), rtFloat("cubic_coeff_a", -0.5), rtString("coordinate_transformation_mode", "align_corners")},
			in: []*tensor.Tensor{rtF32([]int{4}, 0, 1, 8, 27), nil, nil, rtI64(3)}},
			rtF32([]int{3}, 0, (-0.0+9*1+9*8-27)/16, 27)},
		{"identity returns the input", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "cubic")}, in: []*tensor.Tensor{x22, nil, sc(1, 1, 1, 1)}},
			x22},
		{"keep_aspect_ratio not_larger", rtCase{op: "Resize", opset: 18, attrs: []*onnx.AttributeProto{rtString("keep_aspect_ratio_policy", "not_larger"), rtInts("axes", 2, 3)}, in: []*tensor.Tensor{x22, nil, nil, rtI64(4, 6)}},
			rtF32([]int{1, 1, 4, 4}, 1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4)},
		{"keep_aspect_ratio over all axes", rtCase{op: "Resize", opset: 18, attrs: []*onnx.AttributeProto{rtString("keep_aspect_ratio_policy", "not_larger")}, in: []*tensor.Tensor{x22, nil, nil, rtI64(1, 1, 4, 6)}},
			x22},
		{"antialias ignored by nearest", rtCase{op: "Resize", opset: 18, attrs: []*onnx.AttributeProto{rtInt("antialias", 1)}, in: []*tensor.Tensor{rtF32([]int{4}, 1, 2, 3, 4), nil, sc(0.5)}},
			// half_pixel: positions 0.5 and 2.5 round down.
			rtF32([]int{2}, 1, 3)},
		{"float16 linear", rtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "linear"), rtString("coordinate_transformation_mode", "align_corners")}, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []tensor.F16{tensor.F16FromFloat32(1), tensor.F16FromFloat32(2)}), nil, nil, rtI64(3)}},
			tensor.FromSlice([]int{3}, []tensor.F16{tensor.F16FromFloat32(1), tensor.F16FromFloat32(1.5), tensor.F16FromFloat32(2)})},
		{"string nearest", rtCase{op: "Resize", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []string{"a", "b"}), nil, sc(2)}},
			tensor.FromSlice([]int{4}, []string{"a", "a", "b", "b"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := rtRun(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			rtCheck(t, out[0], tc.want)
		})
	}
}

func TestResizeErrors(t *testing.T) {
	x := rtF32([]int{2}, 1, 2)
	sc := func(v ...float32) *tensor.Tensor { return rtF32([]int{len(v)}, v...) }
	for name, c := range map[string]rtCase{
		"neither scales nor sizes": {op: "Resize", opset: 13, in: []*tensor.Tensor{x}},
		"scales of wrong length":   {op: "Resize", opset: 13, in: []*tensor.Tensor{x, nil, sc(1, 2)}},
		"zero scale":               {op: "Resize", opset: 13, in: []*tensor.Tensor{x, nil, sc(0)}},
		"negative size":            {op: "Resize", opset: 13, in: []*tensor.Tensor{x, nil, nil, rtI64(-1)}},
		"crop without roi":         {op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("coordinate_transformation_mode", "tf_crop_and_resize")}, in: []*tensor.Tensor{x, nil, nil, rtI64(3)}},
		"unknown mode":             {op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "area")}, in: []*tensor.Tensor{x, nil, sc(2)}},
		"axes before opset 18":     {op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 0)}, in: []*tensor.Tensor{x, nil, sc(2)}},
		"repeated axes":            {op: "Resize", opset: 18, attrs: []*onnx.AttributeProto{rtInts("axes", 0, -1)}, in: []*tensor.Tensor{x, nil, sc(2, 2)}},
		"linear on bool":           {op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{rtString("mode", "linear")}, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []bool{true, false}), nil, sc(2)}},
	} {
		if _, err := rtRun(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestResizeBilinearMatchesSeparable checks the one-sweep bilinear path
// against two single-axis passes on random maps of several layouts and
// scales, including shrinking and align_corners.
func TestResizeBilinearMatchesSeparable(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	cases := []struct {
		shape []int
		h     int
		outH  int
		outW  int
		coord rszCoord
	}{
		{[]int{2, 3, 7, 5}, 2, 14, 10, rszHalfPixel},
		{[]int{1, 4, 9, 11}, 2, 5, 6, rszAlignCorners},
		{[]int{1, 6, 6, 3}, 1, 13, 4, rszPytorchHalfPixel},
		{[]int{3, 5, 4}, 0, 8, 9, rszAsymmetric},
	}
	for _, tc := range cases {
		c := &rszConfig{mode: rszLinear, coord: tc.coord}
		x := make([]float32, tensor.NumElements(tc.shape))
		for i := range x {
			x[i] = rng.Float32()*10 - 5
		}
		outShape := append([]int(nil), tc.shape...)
		outShape[tc.h], outShape[tc.h+1] = tc.outH, tc.outW
		inH, inW := tc.shape[tc.h], tc.shape[tc.h+1]
		sh, sw := float64(tc.outH)/float64(inH), float64(tc.outW)/float64(inW)
		ph := c.plan(inH, tc.outH, sh, float64(tc.outH), 0, 1)
		pw := c.plan(inW, tc.outW, sw, float64(tc.outW), 0, 1)
		fast := make([]float32, tensor.NumElements(outShape))
		rszBilinear(x, fast, tc.shape, tc.h, ph, pw, 2)
		mid := append([]int(nil), tc.shape...)
		mid[tc.h] = tc.outH
		tmp := make([]float32, tensor.NumElements(mid))
		rszPass(x, tmp, mid, tc.h, ph, 1)
		slow := make([]float32, len(fast))
		rszPass(tmp, slow, outShape, tc.h+1, pw, 1)
		for i := range fast {
			if math.Abs(float64(fast[i]-slow[i])) > 1e-4 {
				t.Fatalf("%v -> %v: element %d: one sweep %v, two passes %v", tc.shape, outShape, i, fast[i], slow[i])
			}
		}
	}
}

func TestResizeRejectsHugeOutputs(t *testing.T) {
	x := rtF32([]int{1, 2}, 1, 2)
	for name, c := range map[string]rtCase{
		"huge scale":  {op: "Resize", opset: 13, in: []*tensor.Tensor{x, nil, rtF32([]int{2}, 1, 3e38)}},
		"huge sizes":  {op: "Resize", opset: 13, in: []*tensor.Tensor{x, nil, nil, rtI64(1<<40, 1<<40)}},
		"huge policy": {op: "Resize", opset: 18, attrs: []*onnx.AttributeProto{rtString("keep_aspect_ratio_policy", "not_smaller")}, in: []*tensor.Tensor{x, nil, nil, rtI64(1, math.MaxInt64)}},
	} {
		if _, err := rtRun(c); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
