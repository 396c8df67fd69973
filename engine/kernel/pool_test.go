package kernel

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func cvtSeq(n int, from float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = from + float32(i)
	}
	return s
}

func TestMaxPoolHandWorked(t *testing.T) {
	// Two 4x4 planes holding 1..16 and 17..32; 2x2 windows, stride 2: the
	// maxima sit at (1,1), (1,3), (3,1), (3,3): row-major offsets 5, 7, 13, 15;
	// column-major (h + w*4) 5, 13, 7, 15; the second plane adds 16.
	x := tensor.FromSlice([]int{1, 2, 4, 4}, cvtSeq(32, 1))
	attrs := []*onnx.AttributeProto{cvtInts("kernel_shape", 2, 2), cvtInts("strides", 2, 2)}
	out, err := cvtRun(t, cvtCall{op: "MaxPool", opset: 12, in: []*tensor.Tensor{x}, outs: 2, attrs: attrs})
	if err != nil {
		t.Fatal(err)
	}
	cvtClose(t, out[0], []int{1, 2, 2, 2}, []float64{6, 8, 14, 16, 22, 24, 30, 32}, 0)
	if got := fmt.Sprint(out[1].Data); got != "[5 7 13 15 21 23 29 31]" {
		t.Fatalf("indices %s", got)
	}
	out, err = cvtRun(t, cvtCall{op: "MaxPool", opset: 12, in: []*tensor.Tensor{x}, outs: 2, attrs: append(attrs, cvtInt("storage_order", 1))})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out[1].Data); got != "[5 13 7 15 21 29 23 31]" {
		t.Fatalf("column-major indices %s", got)
	}
}

func TestMaxPoolCases(t *testing.T) {
	tests := []struct {
		name  string
		opset int64
		x     *tensor.Tensor
		attrs []*onnx.AttributeProto
		shape []int
		want  string
	}{
		// Padding never wins, even against negative values: each window's
		// maximum over its real values.
		{"pads negative", 12, tensor.FromSlice([]int{1, 1, 2, 2}, []float32{-1, -2, -3, -4}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2, 2), cvtInts("pads", 1, 1, 1, 1)},
			[]int{1, 1, 3, 3}, "[-1 -1 -2 -1 -1 -2 -3 -3 -4]"},
		{"int8", 12, tensor.FromSlice([]int{1, 1, 2, 2}, []int8{-1, -2, -3, -4}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2, 2), cvtInts("pads", 1, 1, 1, 1)},
			[]int{1, 1, 3, 3}, "[-1 -1 -2 -1 -1 -2 -3 -3 -4]"},
		{"uint8", 12, tensor.FromSlice([]int{1, 1, 1, 3}, []uint8{7, 200, 3}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 1, 2)},
			[]int{1, 1, 1, 2}, "[200 200]"},
		// Dilation 3: taps x[o] and x[o+3].
		{"dilated 1d", 12, tensor.FromSlice([]int{1, 1, 7}, []float32{1, 5, 2, 8, 3, 0, 4}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2), cvtInts("dilations", 3)},
			[]int{1, 1, 4}, "[8 5 2 8]"},
		// ceil_mode keeps the partial last window [5].
		{"ceil", 12, tensor.FromSlice([]int{1, 1, 5}, []float32{1, 2, 3, 4, 5}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2), cvtInts("strides", 2), cvtInt("ceil_mode", 1)},
			[]int{1, 1, 3}, "[2 4 5]"},
		{"floor", 12, tensor.FromSlice([]int{1, 1, 5}, []float32{1, 2, 3, 4, 5}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2), cvtInts("strides", 2)},
			[]int{1, 1, 2}, "[2 4]"},
		// SAME_LOWER, kernel 2: one pad before: windows [pad 1] [1 3] [3 2].
		{"same lower", 12, tensor.FromSlice([]int{1, 1, 3}, []float32{1, 3, 2}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2), cvtString("auto_pad", "SAME_LOWER")},
			[]int{1, 1, 3}, "[1 3 3]"},
		{"3d", 12, tensor.FromSlice([]int{1, 1, 2, 2, 2}, []float32{1, 8, 3, 4, 5, 6, 7, 2}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2, 1, 2)},
			[]int{1, 1, 1, 2, 1}, "[8 7]"},
		{"float64 opset 1", 1, tensor.FromSlice([]int{1, 1, 4}, []float64{4, 1, 2, 3}),
			[]*onnx.AttributeProto{cvtInts("kernel_shape", 2), cvtInts("strides", 2)},
			[]int{1, 1, 2}, "[4 3]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cvtRun1(t, cvtCall{op: "MaxPool", opset: tc.opset, in: []*tensor.Tensor{tc.x}, attrs: tc.attrs})
			if got.DType != tc.x.DType || fmt.Sprint(got.Shape) != fmt.Sprint(tc.shape) || fmt.Sprint(got.Data) != tc.want {
				t.Fatalf("got %v %v, want %v %s", got, got.Data, tc.shape, tc.want)
			}
		})
	}
}

func TestAveragePoolHandWorked(t *testing.T) {
	// x = 1..9 as 3x3, 2x2 windows, stride 1, one pad after each axis.
	// Window sums: 12 16 9 / 24 28 15 / 15 17 9; real taps per window:
	// 4 4 2 / 4 4 2 / 2 2 1.
	x := tensor.FromSlice([]int{1, 1, 3, 3}, cvtSeq(9, 1))
	attrs := []*onnx.AttributeProto{cvtInts("kernel_shape", 2, 2), cvtInts("pads", 0, 0, 1, 1)}
	got := cvtRun1(t, cvtCall{op: "AveragePool", opset: 19, in: []*tensor.Tensor{x}, attrs: attrs})
	cvtClose(t, got, []int{1, 1, 3, 3}, []float64{3, 4, 4.5, 6, 7, 7.5, 7.5, 8.5, 9}, 1e-7)
	got = cvtRun1(t, cvtCall{op: "AveragePool", opset: 19, in: []*tensor.Tensor{x}, attrs: append(attrs, cvtInt("count_include_pad", 1))})
	cvtClose(t, got, []int{1, 1, 3, 3}, []float64{3, 4, 2.25, 6, 7, 3.75, 3.75, 4.25, 2.25}, 1e-7)

	// ceil_mode with count_include_pad: x = 1..5, kernel 2, stride 2,
	// pads 1 before: windows [pad 1] [2 3] [4 5]; divisors 2, 2, 2.
	// With one more ceil window there is none here; with pads 1 before and
	// 0 after and length 6 the last window [6 past-end] counts 1 tap.
	x5 := tensor.FromSlice([]int{1, 1, 6}, cvtSeq(6, 1))
	got = cvtRun1(t, cvtCall{op: "AveragePool", opset: 19, in: []*tensor.Tensor{x5}, attrs: []*onnx.AttributeProto{
		cvtInts("kernel_shape", 2), cvtInts("strides", 2), cvtInts("pads", 1, 0), cvtInt("ceil_mode", 1), cvtInt("count_include_pad", 1)}})
	// windows start at -1, 1, 3, 5: [pad 1] [2 3] [4 5] [6 past]: sums 1 5 9 6,
	// divisors 2 2 2 1.
	cvtClose(t, got, []int{1, 1, 4}, []float64{0.5, 2.5, 4.5, 6}, 1e-7)

	// Dilations (opset 19): taps x[o] and x[o+2]: (1+3)/2, (2+4)/2, (3+5)/2.
	got = cvtRun1(t, cvtCall{op: "AveragePool", opset: 19, in: []*tensor.Tensor{tensor.FromSlice([]int{1, 1, 5}, cvtSeq(5, 1))},
		attrs: []*onnx.AttributeProto{cvtInts("kernel_shape", 2), cvtInts("dilations", 2)}})
	cvtClose(t, got, []int{1, 1, 3}, []float64{2, 3, 4}, 1e-7)
}

func TestLpPoolHandWorked(t *testing.T) {
	x := tensor.FromSlice([]int{1, 1, 5}, []float32{3, -4, 0, 5, 12})
	k := cvtInts("kernel_shape", 2)
	got := cvtRun1(t, cvtCall{op: "LpPool", opset: 18, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{k}})
	cvtClose(t, got, []int{1, 1, 4}, []float64{5, 4, 5, 13}, 1e-6)
	got = cvtRun1(t, cvtCall{op: "LpPool", opset: 18, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{k, cvtInt("p", 1)}})
	cvtClose(t, got, []int{1, 1, 4}, []float64{7, 4, 5, 17}, 1e-6)
	// p = 3 (float in opset 1): 91^(1/3), 64^(1/3), 125^(1/3), 1853^(1/3).
	got = cvtRun1(t, cvtCall{op: "LpPool", opset: 1, in: []*tensor.Tensor{x}, attrs: []*onnx.AttributeProto{k, cvtFloat("p", 3)}})
	cvtClose(t, got, []int{1, 1, 4}, []float64{4.497941445275415, 4, 5, 12.282642}, 1e-6)
}

func TestGlobalPools(t *testing.T) {
	x := tensor.FromSlice([]int{1, 2, 2, 2}, []float32{1, 2, 3, 6, -1, -5, -2, -4})
	got := cvtRun1(t, cvtCall{op: "GlobalAveragePool", opset: 22, in: []*tensor.Tensor{x}})
	cvtClose(t, got, []int{1, 2, 1, 1}, []float64{3, -3}, 1e-7)
	got = cvtRun1(t, cvtCall{op: "GlobalMaxPool", opset: 22, in: []*tensor.Tensor{x}})
	cvtClose(t, got, []int{1, 2, 1, 1}, []float64{6, -1}, 0)
	x64 := tensor.FromSlice([]int{2, 1, 3}, []float64{1, 2, 6, 0, 0, 3})
	got = cvtRun1(t, cvtCall{op: "GlobalAveragePool", opset: 1, in: []*tensor.Tensor{x64}})
	cvtClose(t, got, []int{2, 1, 1}, []float64{3, 1}, 1e-12)
}

func TestPoolErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.New(tensor.Float32, shape...) }
	k2 := cvtInts("kernel_shape", 2, 2)
	t.Run("missing kernel_shape", func(t *testing.T) {
		if _, err := cvtBuild(t, cvtCall{op: "MaxPool", opset: 12, in: []*tensor.Tensor{f(1, 1, 3, 3)}}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("dilations before opset 10", func(t *testing.T) {
		p := cvtCall{op: "MaxPool", opset: 8, in: []*tensor.Tensor{f(1, 1, 3, 3)}, attrs: []*onnx.AttributeProto{k2, cvtInts("dilations", 1, 1)}}
		reg, _ := Lookup("", "MaxPool", 8)
		n := NewNode(cvtProto(p), 8, nil, nil)
		if _, err := reg.Build(n); err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(n.Unused()) != "[dilations]" {
			t.Fatalf("unused %v", n.Unused())
		}
	})
	runErr := func(name string, c cvtCall, wantUnsupported bool) {
		t.Run(name, func(t *testing.T) {
			_, err := cvtRun(t, c)
			if err == nil {
				t.Fatal("no error")
			}
			if wantUnsupported != errors.Is(err, ErrUnsupported) {
				t.Fatalf("error %v: unsupported=%v, want %v", err, errors.Is(err, ErrUnsupported), wantUnsupported)
			}
		})
	}
	runErr("4 spatial axes", cvtCall{op: "MaxPool", opset: 12, in: []*tensor.Tensor{f(1, 1, 2, 2, 2, 2)}, attrs: []*onnx.AttributeProto{cvtInts("kernel_shape", 1, 1, 1, 1)}}, true)
	runErr("int8 average", cvtCall{op: "AveragePool", opset: 19, in: []*tensor.Tensor{tensor.New(tensor.Int8, 1, 1, 2, 2)}, attrs: []*onnx.AttributeProto{k2}}, true)
	runErr("int8 max before opset 12", cvtCall{op: "MaxPool", opset: 11, in: []*tensor.Tensor{tensor.New(tensor.Int8, 1, 1, 2, 2)}, attrs: []*onnx.AttributeProto{k2}}, true)
	runErr("window too large", cvtCall{op: "MaxPool", opset: 12, in: []*tensor.Tensor{f(1, 1, 1, 1)}, attrs: []*onnx.AttributeProto{k2}}, false)
	runErr("rank 2 input", cvtCall{op: "AveragePool", opset: 19, in: []*tensor.Tensor{f(2, 2)}, attrs: []*onnx.AttributeProto{k2}}, false)
	runErr("global on rank 1", cvtCall{op: "GlobalMaxPool", opset: 22, in: []*tensor.Tensor{f(3)}}, false)
}

// cvtProto returns the NodeProto cvtBuild would make (without building).
func cvtProto(c cvtCall) *onnx.NodeProto {
	p := &onnx.NodeProto{OpType: &c.op, Attribute: c.attrs, Output: []string{"y0"}}
	for i := range c.in {
		p.Input = append(p.Input, fmt.Sprintf("x%d", i))
	}
	return p
}

// TestMaxPoolNaN checks that a window holding a NaN gives NaN, on the
// float32 path without indices (row maxima first), with indices (the
// index of the first NaN), and in float64. Input, 2x2 windows, stride 1:
//
//	NaN 1   2
//	3   4   NaN
//	5   0   6
//
// windows: {NaN,1,3,4} -> NaN (index 0), {1,2,4,NaN} -> NaN (index 5),
// {3,4,5,0} -> 5 (index 6), {4,NaN,0,6} -> NaN (index 5).
func TestMaxPoolNaN(t *testing.T) {
	nan := float32(math.NaN())
	vals := []float32{nan, 1, 2, 3, 4, nan, 5, 0, 6}
	attrs := []*onnx.AttributeProto{cvtInts("kernel_shape", 2, 2)}
	for _, tc := range []struct {
		name string
		x    *tensor.Tensor
		outs int
	}{
		{"float32", tensor.FromSlice([]int{1, 1, 3, 3}, vals), 1},
		{"float32 indices", tensor.FromSlice([]int{1, 1, 3, 3}, vals), 2},
		{"float64", tensor.FromSlice([]int{1, 1, 3, 3}, []float64{math.NaN(), 1, 2, 3, 4, math.NaN(), 5, 0, 6}), 1},
	} {
		out, err := cvtRun(t, cvtCall{op: "MaxPool", opset: 12, in: []*tensor.Tensor{tc.x}, outs: tc.outs, attrs: attrs})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(out[0].Data); got != "[NaN NaN 5 NaN]" {
			t.Fatalf("%s: got %s", tc.name, got)
		}
		if tc.outs == 2 {
			if got := fmt.Sprint(out[1].Data); got != "[0 5 6 5]" {
				t.Fatalf("%s: indices %s", tc.name, got)
			}
		}
	}
}
