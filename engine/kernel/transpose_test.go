package kernel

import (
	"fmt"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// dmtNaiveTranspose computes a transpose element by element from the
// definition out[i0..ik] = in[j] with j[perm[a]] = i[a].
func dmtNaiveTranspose[T any](in []T, shape, perm []int) []T {
	oshape := make([]int, len(perm))
	for a, p := range perm {
		oshape[a] = shape[p]
	}
	out := make([]T, len(in))
	idx := make([]int, len(perm))
	for o := range out {
		rem := o
		for a := len(oshape) - 1; a >= 0; a-- {
			idx[a] = rem % oshape[a]
			rem /= oshape[a]
		}
		src := 0
		for k := range shape {
			var c int
			for a, p := range perm {
				if p == k {
					c = idx[a]
				}
			}
			src = src*shape[k] + c
		}
		out[o] = in[src]
	}
	return out
}

func TestTransposeAgainstDefinition(t *testing.T) {
	cases := []struct {
		shape, perm []int
	}{
		{[]int{2, 3}, []int{1, 0}},
		{[]int{1, 3, 5, 7}, []int{0, 2, 3, 1}},       // NCHW -> NHWC
		{[]int{1, 5, 7, 3}, []int{0, 3, 1, 2}},       // NHWC -> NCHW
		{[]int{2, 4, 3, 5}, []int{0, 2, 1, 3}},       // keeps the last axis
		{[]int{3, 1, 4, 1, 2}, []int{4, 3, 2, 1, 0}}, // size-1 axes
		{[]int{2, 3, 4, 5, 6}, []int{1, 4, 0, 3, 2}},
		{[]int{1, 1, 6}, []int{1, 0, 2}},           // no data movement
		{[]int{37, 53}, []int{1, 0}},               // tiles with ragged edges
		{[]int{2, 64, 48, 33}, []int{0, 2, 3, 1}},  // large: blocked and split across goroutines
		{[]int{4, 3, 128, 129}, []int{3, 1, 2, 0}}, // large, strided innermost reads
		{[]int{2, 0, 3}, []int{2, 0, 1}},           // empty
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.shape, c.perm), func(t *testing.T) {
			n := tensor.NumElements(c.shape)
			f := make([]float32, n)
			s := make([]string, n)
			for i := range f {
				f[i] = float32(i)
				s[i] = fmt.Sprint(i)
			}
			perm := make([]int64, len(c.perm))
			for i, p := range c.perm {
				perm[i] = int64(p)
			}
			oshape := dmPermute(c.shape, c.perm)
			for _, x := range []*tensor.Tensor{tensor.FromSlice(c.shape, f), tensor.FromSlice(c.shape, s)} {
				var want *tensor.Tensor
				switch d := x.Data.(type) {
				case []float32:
					want = tensor.FromSlice(oshape, dmtNaiveTranspose(d, c.shape, c.perm))
				case []string:
					want = tensor.FromSlice(oshape, dmtNaiveTranspose(d, c.shape, c.perm))
				}
				dmtRun(t, dmtCase{op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", perm...)},
					in: []*tensor.Tensor{x}, want: []*tensor.Tensor{want}})
			}
		})
	}
}

func TestTranspose(t *testing.T) {
	dmtRunAll(t, []dmtCase{
		{name: "default reverses", op: "Transpose", opset: 1, in: []*tensor.Tensor{dmtT([]int{2, 1, 3}, int8(1), 2, 3, 4, 5, 6)},
			want: []*tensor.Tensor{dmtT([]int{3, 1, 2}, int8(1), 4, 2, 5, 3, 6)}},
		{name: "scalar", op: "Transpose", opset: 13, in: []*tensor.Tensor{tensor.Scalar(true)}, want: []*tensor.Tensor{tensor.Scalar(true)}},
		{name: "bfloat16", op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 1, 0)},
			in:   []*tensor.Tensor{dmtT([]int{1, 2}, tensor.BF16(1), tensor.BF16(2))},
			want: []*tensor.Tensor{dmtT([]int{2, 1}, tensor.BF16(1), tensor.BF16(2))}},
		{name: "bad perm", op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 0, 0)}, in: []*tensor.Tensor{dmtT([]int{1, 1}, int8(1))}, errPart: "permutation"},
		{name: "rank mismatch", op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 1, 0)}, in: []*tensor.Tensor{dmtV(int8(1))}, errPart: "perm"},
	})
}

func TestDepthToSpace(t *testing.T) {
	// [1, 8, 1, 1] with channel c holding c: blocks of 2x2.
	x := dmtT([]int{1, 8, 1, 1}, float32(0), 1, 2, 3, 4, 5, 6, 7)
	dmtRunAll(t, []dmtCase{
		// DCR: channel = (row*2 + col)*C' + c, C' = 2.
		{name: "DCR", op: "DepthToSpace", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 2)}, in: []*tensor.Tensor{x},
			want: []*tensor.Tensor{dmtT([]int{1, 2, 2, 2}, float32(0), 2, 4, 6, 1, 3, 5, 7)}},
		// CRD: channel = c*4 + row*2 + col.
		{name: "CRD", op: "DepthToSpace", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 2), dmtString("mode", "CRD")}, in: []*tensor.Tensor{x},
			want: []*tensor.Tensor{dmtT([]int{1, 2, 2, 2}, float32(0), 1, 2, 3, 4, 5, 6, 7)}},
		{name: "opset1 has no mode", op: "DepthToSpace", opset: 1, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 2), dmtString("mode", "CRD")}, in: []*tensor.Tensor{x}, wantUnsupported: true},
		{name: "channels", op: "DepthToSpace", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 3)}, in: []*tensor.Tensor{x}, errPart: "multiple"},
		{name: "SpaceToDepth", op: "SpaceToDepth", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 2)},
			in:   []*tensor.Tensor{dmtT([]int{1, 2, 2, 2}, float32(0), 2, 4, 6, 1, 3, 5, 7)},
			want: []*tensor.Tensor{x}},
		{name: "SpaceToDepth wider", op: "SpaceToDepth", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 2)},
			// One channel, 2x4 image a..h: block (0,0) is a b e f.
			in:   []*tensor.Tensor{dmtT([]int{1, 1, 2, 4}, "a", "b", "c", "d", "e", "f", "g", "h")},
			want: []*tensor.Tensor{dmtT([]int{1, 4, 1, 2}, "a", "c", "b", "d", "e", "g", "f", "h")}},
	})
}

func benchTranspose(b *testing.B, shape []int, perm []int64, threads int) {
	n := tensor.NumElements(shape)
	x := tensor.FromSlice(shape, make([]float32, n))
	k, err := dmtBuild(dmtCase{op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", perm...)}, in: []*tensor.Tensor{x}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Ctx{Threads: threads}
	b.SetBytes(int64(4 * n))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Run(ctx, []*tensor.Tensor{x}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTransposeNCHWtoNHWC(b *testing.B) {
	benchTranspose(b, []int{1, 64, 112, 112}, []int64{0, 2, 3, 1}, 1)
}

func BenchmarkTransposeNHWCtoNCHW(b *testing.B) {
	benchTranspose(b, []int{1, 112, 112, 64}, []int64{0, 3, 1, 2}, 1)
}

func BenchmarkTransposeChannelShuffle(b *testing.B) {
	// ShuffleNet: [N, g, C/g, H, W] -> [N, C/g, g, H, W].
	benchTranspose(b, []int{1, 2, 116, 28, 28}, []int64{0, 2, 1, 3, 4}, 1)
}

func BenchmarkTransposeImageToNHWC(b *testing.B) {
	benchTranspose(b, []int{1, 3, 224, 224}, []int64{0, 2, 3, 1}, 1)
}
