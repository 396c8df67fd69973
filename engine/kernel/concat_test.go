package kernel

import (
	"fmt"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestConcatSplitRoundTrip checks Concat and Split on larger tensors (where
// the copies are split across goroutines) against a copy computed element
// by element from coordinates.
func TestConcatSplitRoundTrip(t *testing.T) {
	for _, c := range []struct {
		shape []int
		axis  int
		parts []int
	}{
		{[]int{1, 64, 64, 96}, 3, []int{32, 0, 64}},
		{[]int{2, 48, 40, 40}, 1, []int{16, 32}},
		{[]int{300, 7}, 0, []int{100, 150, 50}},
	} {
		t.Run(fmt.Sprint(c.shape, c.axis), func(t *testing.T) {
			outer := dmProd(c.shape[:c.axis])
			inner := dmProd(c.shape[c.axis+1:])
			dim := c.shape[c.axis]
			var ins []*tensor.Tensor
			off := 0
			for _, p := range c.parts {
				shape := append([]int(nil), c.shape...)
				shape[c.axis] = p
				d := make([]float32, tensor.NumElements(shape))
				// element (o, k, i) of the whole holds o*dim*inner + k*inner + i
				for o := 0; o < outer; o++ {
					for k := 0; k < p; k++ {
						for i := 0; i < inner; i++ {
							d[(o*p+k)*inner+i] = float32((o*dim+off+k)*inner + i)
						}
					}
				}
				ins = append(ins, tensor.FromSlice(shape, d))
				off += p
			}
			whole := make([]float32, tensor.NumElements(c.shape))
			for i := range whole {
				whole[i] = float32(i)
			}
			w := tensor.FromSlice(c.shape, whole)
			dmtRun(t, dmtCase{op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", int64(c.axis))}, in: ins, want: []*tensor.Tensor{w}})
			sizes := make([]int64, len(c.parts))
			for i, p := range c.parts {
				sizes[i] = int64(p)
			}
			dmtRun(t, dmtCase{op: "Split", opset: 13, nOut: len(ins), attrs: []*onnx.AttributeProto{dmtInt("axis", int64(c.axis))},
				in: []*tensor.Tensor{w, dmtV(sizes...)}, want: ins})
		})
	}
}

func BenchmarkConcatNHWCChannels(b *testing.B) {
	x := tensor.FromSlice([]int{1, 64, 64, 32}, make([]float32, 64*64*32))
	y := tensor.FromSlice([]int{1, 64, 64, 32}, make([]float32, 64*64*32))
	k, err := dmtBuild(dmtCase{op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 3)}, in: []*tensor.Tensor{x, y}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Ctx{Threads: 1}
	b.SetBytes(2 * 4 * 64 * 64 * 32)
	for i := 0; i < b.N; i++ {
		if _, err := k.Run(ctx, []*tensor.Tensor{x, y}); err != nil {
			b.Fatal(err)
		}
	}
}
