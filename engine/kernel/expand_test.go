package kernel

import (
	"testing"

	"github.com/onnxquant/onnxquant/tensor"
)

func TestExpandTile(t *testing.T) {
	col := dmtT([]int{3, 1}, int16(1), 2, 3)
	dmtRunAll(t, []dmtCase{
		{name: "expand rows and batch", op: "Expand", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(2), 1, 4)},
			want: []*tensor.Tensor{dmtT([]int{2, 3, 4}, int16(1), 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3)}},
		{name: "expand to smaller rank", op: "Expand", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(2))},
			want: []*tensor.Tensor{dmtT([]int{3, 2}, int16(1), 1, 2, 2, 3, 3)}},
		{name: "expand leading ones only", op: "Expand", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(1), 1, 1)},
			want: []*tensor.Tensor{dmtT([]int{1, 3, 1}, int16(1), 2, 3)}},
		{name: "expand scalar", op: "Expand", opset: 8, in: []*tensor.Tensor{tensor.Scalar(true), dmtV(int64(2), 2)},
			want: []*tensor.Tensor{dmtT([]int{2, 2}, true, true, true, true)}},
		{name: "expand zero", op: "Expand", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(0), 3, 1)},
			want: []*tensor.Tensor{dmtT[int16]([]int{0, 3, 1})}},
		{name: "expand incompatible", op: "Expand", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(2), 1)}, errPart: "broadcast"},
		{name: "tile", op: "Tile", opset: 13, in: []*tensor.Tensor{dmtT([]int{2, 2}, "a", "b", "c", "d"), dmtV(int64(2), 3)},
			want: []*tensor.Tensor{dmtT([]int{4, 6},
				"a", "b", "a", "b", "a", "b",
				"c", "d", "c", "d", "c", "d",
				"a", "b", "a", "b", "a", "b",
				"c", "d", "c", "d", "c", "d")}},
		{name: "tile inner only", op: "Tile", opset: 6, in: []*tensor.Tensor{col, dmtV(int64(1), 2)},
			want: []*tensor.Tensor{dmtT([]int{3, 2}, int16(1), 1, 2, 2, 3, 3)}},
		{name: "tile zero", op: "Tile", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(0), 2)}, want: []*tensor.Tensor{dmtT[int16]([]int{0, 2})}},
		{name: "tile negative", op: "Tile", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(-1), 2)}, errPart: "negative"},
		{name: "tile rank", op: "Tile", opset: 13, in: []*tensor.Tensor{col, dmtV(int64(2))}, errPart: "repeats"},
	})
}
