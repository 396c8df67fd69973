package kernel

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func cvtVec(v ...float32) *tensor.Tensor { return tensor.FromSlice([]int{len(v)}, v) }

func TestBatchNorm(t *testing.T) {
	// Channel 0: (x - 1)/sqrt(4) * 2 + 0; channel 1: (x - 3)/1 * 1 + 1.
	x := tensor.FromSlice([]int{1, 2, 1, 2}, []float32{1, 2, 3, 4})
	in := []*tensor.Tensor{x, cvtVec(2, 1), cvtVec(0, 1), cvtVec(1, 3), cvtVec(4, 1)}
	eps := cvtFloat("epsilon", 0)
	for _, opset := range []int64{7, 9, 14, 15} {
		t.Run(fmt.Sprint("opset ", opset), func(t *testing.T) {
			got := cvtRun1(t, cvtCall{op: "BatchNormalization", opset: opset, in: in, attrs: []*onnx.AttributeProto{eps, cvtFloat("momentum", 0.9)}})
			cvtClose(t, got, []int{1, 2, 1, 2}, []float64{0, 1, 1, 2}, 1e-7)
		})
	}
	t.Run("opset 6 is_test", func(t *testing.T) {
		got := cvtRun1(t, cvtCall{op: "BatchNormalization", opset: 6, in: in, attrs: []*onnx.AttributeProto{eps, cvtInt("is_test", 1)}})
		cvtClose(t, got, []int{1, 2, 1, 2}, []float64{0, 1, 1, 2}, 1e-7)
	})
	t.Run("opset 6 spatial=0", func(t *testing.T) {
		// One coefficient per (channel, position): scale [1 2 3 4], mean
		// [1 1 1 1], var [1 1 1 1], B 0: y = (x - 1) * scale.
		ones := cvtVec(1, 1, 1, 1)
		pin := []*tensor.Tensor{x, cvtVec(1, 2, 3, 4), cvtVec(0, 0, 0, 0), ones, ones}
		got := cvtRun1(t, cvtCall{op: "BatchNormalization", opset: 6, in: pin, attrs: []*onnx.AttributeProto{eps, cvtInt("spatial", 0)}})
		cvtClose(t, got, []int{1, 2, 1, 2}, []float64{0, 2, 6, 12}, 1e-7)
	})
	t.Run("float64 with float32 parameters", func(t *testing.T) {
		x64 := tensor.FromSlice([]int{1, 2, 1, 2}, []float64{1, 2, 3, 4})
		got := cvtRun1(t, cvtCall{op: "BatchNormalization", opset: 15, in: append([]*tensor.Tensor{x64}, in[1:]...), attrs: []*onnx.AttributeProto{eps}})
		cvtClose(t, got, []int{1, 2, 1, 2}, []float64{0, 1, 1, 2}, 1e-12)
	})
	t.Run("training_mode", func(t *testing.T) {
		_, err := cvtBuild(t, cvtCall{op: "BatchNormalization", opset: 15, in: in, attrs: []*onnx.AttributeProto{cvtInt("training_mode", 1)}})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v, want ErrUnsupported", err)
		}
	})
	t.Run("statistics outputs", func(t *testing.T) {
		_, err := cvtBuild(t, cvtCall{op: "BatchNormalization", opset: 9, in: in, outs: 3})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v, want ErrUnsupported", err)
		}
	})
	t.Run("wrong parameter size", func(t *testing.T) {
		bad := append([]*tensor.Tensor{x}, in[1:]...)
		bad[3] = cvtVec(1, 2, 3)
		if _, err := cvtRun(t, cvtCall{op: "BatchNormalization", opset: 15, in: bad}); err == nil {
			t.Fatal("no error")
		}
	})
}

func TestInstanceNorm(t *testing.T) {
	// [1 2 3 4]: mean 2.5, variance 1.25; y = 2*(x - 2.5)/sqrt(1.25) + 1.
	x := tensor.FromSlice([]int{1, 1, 4}, []float32{1, 2, 3, 4})
	got := cvtRun1(t, cvtCall{op: "InstanceNormalization", opset: 6, in: []*tensor.Tensor{x, cvtVec(2), cvtVec(1)}, attrs: []*onnx.AttributeProto{cvtFloat("epsilon", 0)}})
	s := math.Sqrt(1.25)
	cvtClose(t, got, []int{1, 1, 4}, []float64{2*-1.5/s + 1, 2*-0.5/s + 1, 2*0.5/s + 1, 2*1.5/s + 1}, 1e-6)
	if _, err := cvtRun(t, cvtCall{op: "InstanceNormalization", opset: 6, in: []*tensor.Tensor{x, cvtVec(2, 2), cvtVec(1)}}); err == nil {
		t.Fatal("scale of the wrong length accepted")
	}
}

func TestLayerNorm(t *testing.T) {
	// Rows [1 3] (mean 2, variance 1) and [2 6] (mean 4, variance 4) both
	// normalize to [-1 1]; scale [1 2], bias [0 1] -> [-1 3].
	x := tensor.FromSlice([]int{2, 2}, []float32{1, 3, 2, 6})
	out, err := cvtRun(t, cvtCall{op: "LayerNormalization", opset: 17, outs: 3,
		in: []*tensor.Tensor{x, cvtVec(1, 2), cvtVec(0, 1)}, attrs: []*onnx.AttributeProto{cvtFloat("epsilon", 0)}})
	if err != nil {
		t.Fatal(err)
	}
	cvtClose(t, out[0], []int{2, 2}, []float64{-1, 3, -1, 3}, 1e-6)
	cvtClose(t, out[1], []int{2, 1}, []float64{2, 4}, 1e-7)
	cvtClose(t, out[2], []int{2, 1}, []float64{1, 0.5}, 1e-7)

	// axis 0 over everything: mean 3, variance (4+0+1+9)/4 = 3.5; no bias,
	// scale [1 2] broadcast over both rows.
	got := cvtRun1(t, cvtCall{op: "LayerNormalization", opset: 17,
		in: []*tensor.Tensor{x, cvtVec(1, 2)}, attrs: []*onnx.AttributeProto{cvtFloat("epsilon", 0), cvtInt("axis", 0)}})
	s := math.Sqrt(3.5)
	cvtClose(t, got, []int{2, 2}, []float64{-2 / s, 0, -1 / s, 2 * 3 / s}, 1e-6)

	if _, err := cvtRun(t, cvtCall{op: "LayerNormalization", opset: 17, in: []*tensor.Tensor{x, cvtVec(1, 2, 3)}}); err == nil {
		t.Fatal("scale that does not broadcast accepted")
	}
	if _, err := cvtRun(t, cvtCall{op: "LayerNormalization", opset: 17, in: []*tensor.Tensor{x, cvtVec(1, 2)}, attrs: []*onnx.AttributeProto{cvtInt("axis", 2)}}); err == nil {
		t.Fatal("axis out of range accepted")
	}
}

func TestGroupNorm(t *testing.T) {
	// Groups [1 3] and [2 6] both normalize to [-1 1].
	x := tensor.FromSlice([]int{1, 4, 1}, []float32{1, 3, 2, 6})
	eps := cvtFloat("epsilon", 0)
	got := cvtRun1(t, cvtCall{op: "GroupNormalization", opset: 21,
		in: []*tensor.Tensor{x, cvtVec(1, 2, 3, 4), cvtVec(0, 0, 0, 1)}, attrs: []*onnx.AttributeProto{eps, cvtInt("num_groups", 2)}})
	cvtClose(t, got, []int{1, 4, 1}, []float64{-1, 2, -3, 5}, 1e-6)
	// Opset 18: scale and bias per group.
	got = cvtRun1(t, cvtCall{op: "GroupNormalization", opset: 18,
		in: []*tensor.Tensor{x, cvtVec(1, 2), cvtVec(0, 1)}, attrs: []*onnx.AttributeProto{eps, cvtInt("num_groups", 2)}})
	cvtClose(t, got, []int{1, 4, 1}, []float64{-1, 1, -1, 3}, 1e-6)
	if _, err := cvtRun(t, cvtCall{op: "GroupNormalization", opset: 21, in: []*tensor.Tensor{x, cvtVec(1, 2, 3, 4), cvtVec(0, 0, 0, 1)}, attrs: []*onnx.AttributeProto{cvtInt("num_groups", 3)}}); err == nil {
		t.Fatal("4 channels in 3 groups accepted")
	}
	if _, err := cvtBuild(t, cvtCall{op: "GroupNormalization", opset: 21, in: []*tensor.Tensor{x}}); err == nil {
		t.Fatal("missing num_groups accepted")
	}
}

func TestLpNorm(t *testing.T) {
	x := tensor.FromSlice([]int{2, 2}, []float32{3, 0, 4, 0})
	got := cvtRun1(t, cvtCall{op: "LpNormalization", opset: 1, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{cvtInt("axis", 0)}})
	cvtClose(t, got, []int{2, 2}, []float64{0.6, 0, 0.8, 0}, 1e-7)
	x = tensor.FromSlice([]int{1, 2}, []float32{1, -3})
	got = cvtRun1(t, cvtCall{op: "LpNormalization", opset: 22, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{cvtInt("p", 1)}})
	cvtClose(t, got, []int{1, 2}, []float64{0.25, -0.75}, 1e-7)
	if _, err := cvtBuild(t, cvtCall{op: "LpNormalization", opset: 22, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{cvtInt("p", 3)}}); err == nil {
		t.Fatal("p=3 accepted")
	}
}

func TestLRN(t *testing.T) {
	x := tensor.FromSlice([]int{1, 3, 1, 1}, []float32{1, 2, 3})
	// size 3, alpha/size = 1, beta 1, bias 1: sums of squares over
	// neighbours 5, 14, 13 -> 1/6, 2/15, 3/14.
	got := cvtRun1(t, cvtCall{op: "LRN", opset: 13, in: []*tensor.Tensor{x},
		attrs: []*onnx.AttributeProto{cvtInt("size", 3), cvtFloat("alpha", 3), cvtFloat("beta", 1), cvtFloat("bias", 1)}})
	cvtClose(t, got, []int{1, 3, 1, 1}, []float64{1.0 / 6, 2.0 / 15, 3.0 / 14}, 1e-6)
	// size 2: the window is [c, c+1]: 5, 13, 9 -> 1/6, 2/14, 3/10.
	got = cvtRun1(t, cvtCall{op: "LRN", opset: 13, in: []*tensor.Tensor{x},
		attrs: []*onnx.AttributeProto{cvtInt("size", 2), cvtFloat("alpha", 2), cvtFloat("beta", 1), cvtFloat("bias", 1)}})
	cvtClose(t, got, []int{1, 3, 1, 1}, []float64{1.0 / 6, 2.0 / 14, 3.0 / 10}, 1e-6)
	if _, err := cvtBuild(t, cvtCall{op: "LRN", opset: 13, in: []*tensor.Tensor{x}}); err == nil {
		t.Fatal("missing size accepted")
	}
}

func TestMVN(t *testing.T) {
	// Channels [1 3] and [2 6] over axes (0, 2, 3) both give [-1 1].
	x := tensor.FromSlice([]int{1, 2, 1, 2}, []float32{1, 3, 2, 6})
	got := cvtRun1(t, cvtCall{op: "MeanVarianceNormalization", opset: 13, in: []*tensor.Tensor{x}})
	cvtClose(t, got, []int{1, 2, 1, 2}, []float64{-1, 1, -1, 1}, 1e-6)
	// Over the channel axis: pairs (1, 2) and (3, 6).
	got = cvtRun1(t, cvtCall{op: "MeanVarianceNormalization", opset: 9, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{cvtInts("axes", 1)}})
	cvtClose(t, got, []int{1, 2, 1, 2}, []float64{-1, -1, 1, 1}, 1e-6)
	if _, err := cvtRun(t, cvtCall{op: "MeanVarianceNormalization", opset: 13, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{cvtInts("axes", 4)}}); err == nil {
		t.Fatal("axis out of range accepted")
	}
}

func TestNormHalf(t *testing.T) {
	x, _ := tensor.Convert(tensor.FromSlice([]int{2, 2}, []float32{1, 3, 2, 6}), tensor.Float16)
	s, _ := tensor.Convert(cvtVec(1, 2), tensor.Float16)
	got := cvtRun1(t, cvtCall{op: "LayerNormalization", opset: 17, in: []*tensor.Tensor{x, s}, attrs: []*onnx.AttributeProto{cvtFloat("epsilon", 0)}})
	if got.DType != tensor.Float16 {
		t.Fatalf("type %v", got.DType)
	}
	cvtClose(t, got, []int{2, 2}, []float64{-1, 2, -1, 2}, 1e-3)
}
