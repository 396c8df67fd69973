//go:build cgo

package kernel

import (
	"math/rand"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// oxInputs returns a float32 tensor with repeated values (to exercise ties)
// and an int32 tensor of the same shape.
func oxInputs() (*tensor.Tensor, *tensor.Tensor) {
	rng := rand.New(rand.NewSource(5))
	x := make([]float32, 2*3*4*5)
	xi := make([]int32, len(x))
	for i := range x {
		x[i] = float32(rng.Intn(9)-4) + float32(rng.Intn(4))*0.25
		xi[i] = int32(x[i] * 4)
	}
	return tensor.FromSlice([]int{2, 3, 4, 5}, x), tensor.FromSlice([]int{2, 3, 4, 5}, xi)
}

// TestReduceAgainstORT covers every reduction over several axis sets, with
// and without keepdims, through the attribute (opset 11) and the input
// (13 for ReduceSum, 18 for the others), on float32 and int32 data (int32
// ReduceProd is left out: it overflows, which neither engine defines).
func TestReduceAgainstORT(t *testing.T) {
	oxNeedORT(t)
	x, xi := oxInputs()
	for _, op := range []string{"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"} {
		inputOpset := int64(18)
		if op == "ReduceSum" {
			inputOpset = 13
		}
		for _, axes := range [][]int64{{0}, {1}, {3}, {0, 2}, {1, 2}, {-1, 1}, {}} {
			for _, keep := range []int64{0, 1} {
				for _, in := range []*tensor.Tensor{x, xi} {
					if in == xi && (op == "ReduceProd" || op == "ReduceLogSumExp" || op == "ReduceLogSum") {
						continue
					}
					if in == x && op == "ReduceLogSum" {
						// Log of negative sums is NaN in both; use |x|.
						in = oxAbs(x)
					}
					for _, c := range []rtCase{
						{op: op, opset: 11, attrs: []*onnx.AttributeProto{rtInts("axes", axes...), rtInt("keepdims", keep)}, in: []*tensor.Tensor{in}},
						{op: op, opset: inputOpset, attrs: []*onnx.AttributeProto{rtInt("keepdims", keep)}, in: []*tensor.Tensor{in, rtI64(axes...)}, consts: true},
					} {
						if err := oxCompare(c); err != nil {
							t.Errorf("%s-%d axes %v keepdims %d %v: %v", op, c.opset, axes, keep, in.DType, err)
						}
					}
				}
			}
		}
	}
}

func oxAbs(x *tensor.Tensor) *tensor.Tensor {
	v := append([]float32(nil), x.Data.([]float32)...)
	for i, f := range v {
		if f < 0 {
			v[i] = -f
		}
	}
	return tensor.FromSlice(x.Shape, v)
}

// TestSoftmaxAgainstORT checks the opset 11 (flatten to 2-D) and opset 13
// (single axis) semantics of Softmax, LogSoftmax and Hardmax.
func TestSoftmaxAgainstORT(t *testing.T) {
	oxNeedORT(t)
	x, _ := oxInputs()
	for _, op := range []string{"Softmax", "LogSoftmax", "Hardmax"} {
		for _, opset := range []int64{11, 13} {
			cases := []rtCase{{op: op, opset: opset, in: []*tensor.Tensor{x}}}
			for _, ax := range []int64{0, 1, 2, 3, -1, -3} {
				cases = append(cases, rtCase{op: op, opset: opset, attrs: []*onnx.AttributeProto{rtInt("axis", ax)}, in: []*tensor.Tensor{x}})
			}
			for _, c := range cases {
				if err := oxCompare(c); err != nil {
					t.Errorf("%s-%d %v: %v", op, opset, c.attrs, err)
				}
			}
		}
	}
}

// TestArgTopKAgainstORT checks ArgMax, ArgMin and TopK, including ties.
func TestArgTopKAgainstORT(t *testing.T) {
	oxNeedORT(t)
	x, xi := oxInputs()
	for _, in := range []*tensor.Tensor{x, xi} {
		for _, ax := range []int64{0, 1, 2, 3, -1} {
			for _, op := range []string{"ArgMax", "ArgMin"} {
				for _, last := range []int64{0, 1} {
					c := rtCase{op: op, opset: 13, attrs: []*onnx.AttributeProto{rtInt("axis", ax), rtInt("keepdims", last), rtInt("select_last_index", last)}, in: []*tensor.Tensor{in}}
					if err := oxCompare(c); err != nil {
						t.Errorf("%s axis %d last %d %v: %v", op, ax, last, in.DType, err)
					}
				}
			}
			for _, k := range []int64{1, 2} {
				for _, largest := range []int64{0, 1} {
					c := rtCase{op: "TopK", opset: 11, nOut: 2, attrs: []*onnx.AttributeProto{rtInt("axis", ax), rtInt("largest", largest)}, in: []*tensor.Tensor{in, rtI64(k)}, consts: true}
					if err := oxCompare(c); err != nil {
						t.Errorf("TopK axis %d k %d largest %d %v: %v", ax, k, largest, in.DType, err)
					}
				}
			}
		}
	}
}
