package kernel

import (
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/onnxquant/onnxquant/tensor"
)

// cvtNaiveMatMul computes numpy's matmul from its definition, with the
// operands given as float64 values and shapes; 1-D operands are promoted
// and the promoted axis dropped from the result.
func cvtNaiveMatMul(a []float64, as []int, b []float64, bs []int) ([]float64, []int) {
	a1, b1 := len(as) == 1, len(bs) == 1
	if a1 {
		as = []int{1, as[0]}
	}
	if b1 {
		bs = []int{bs[0], 1}
	}
	m, k, n := as[len(as)-2], as[len(as)-1], bs[len(bs)-1]
	ba, bb := as[:len(as)-2], bs[:len(bs)-2]
	rank := max(len(ba), len(bb))
	dim := func(s []int, i int) int {
		if j := i - (rank - len(s)); j >= 0 {
			return s[j]
		}
		return 1
	}
	batch := make([]int, rank)
	for i := range batch {
		batch[i] = max(dim(ba, i), dim(bb, i))
	}
	nb := tensor.NumElements(batch)
	out := make([]float64, nb*m*n)
	idx := make([]int, rank)
	for t := 0; t < nb; t++ {
		r := t
		for i := rank - 1; i >= 0; i-- {
			idx[i] = r % batch[i]
			r /= batch[i]
		}
		offA, offB := 0, 0
		for i := 0; i < rank; i++ {
			da, db := dim(ba, i), dim(bb, i)
			offA = offA*da + min(idx[i], da-1)
			offB = offB*db + min(idx[i], db-1)
		}
		for i := 0; i < m; i++ {
			for j := 0; j < n; j++ {
				var s float64
				for p := 0; p < k; p++ {
					s += a[offA*m*k+i*k+p] * b[offB*k*n+p*n+j]
				}
				out[t*m*n+i*n+j] = s
			}
		}
	}
	shape := append([]int(nil), batch...)
	if !a1 {
		shape = append(shape, m)
	}
	if !b1 {
		shape = append(shape, n)
	}
	return out, shape
}

func TestMatMulShapes(t *testing.T) {
	tests := []struct{ a, b []int }{
		{[]int{3}, []int{3}},
		{[]int{4}, []int{4, 5}},
		{[]int{4, 5}, []int{5}},
		{[]int{2, 3}, []int{3, 4}},
		{[]int{2, 3, 4}, []int{4, 5}},
		{[]int{4}, []int{2, 4, 3}},
		{[]int{2, 3, 4}, []int{4}},
		{[]int{2, 3, 4}, []int{2, 4, 5}},
		{[]int{1, 3, 4}, []int{5, 4, 2}},
		{[]int{3, 1, 2, 3}, []int{4, 3, 2}},
		{[]int{2, 1, 3, 4}, []int{1, 3, 4, 6}},
		{[]int{7, 1, 5}, []int{5, 1}},
		{[]int{2, 0, 3}, []int{3, 4}},
		{[]int{2, 3, 0}, []int{0, 4}},
		{[]int{20, 70, 33}, []int{33, 90}},
		{[]int{6, 17, 33}, []int{6, 33, 21}},
	}
	r := rand.New(rand.NewSource(10))
	for _, tc := range tests {
		for _, constB := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v x %v const=%v", tc.a, tc.b, constB), func(t *testing.T) {
				a := cvtRand(r, tensor.NumElements(tc.a))
				b := cvtRand(r, tensor.NumElements(tc.b))
				c := cvtCall{op: "MatMul", opset: 13, in: []*tensor.Tensor{tensor.FromSlice(tc.a, a), tensor.FromSlice(tc.b, b)}}
				if constB {
					c.consts = []int{1}
				}
				got := cvtRun1(t, c)
				want, shape := cvtNaiveMatMul(cvtF64(a), tc.a, cvtF64(b), tc.b)
				cvtClose(t, got, shape, want, 1e-5)
			})
		}
	}
}

func TestMatMulTypes(t *testing.T) {
	// [[1 2] [3 4]] x [[5 6] [7 8]] = [[19 22] [43 50]]
	tests := []struct {
		name string
		a, b *tensor.Tensor
		want string
	}{
		{"int32", tensor.FromSlice([]int{2, 2}, []int32{1, 2, 3, 4}), tensor.FromSlice([]int{2, 2}, []int32{5, 6, 7, 8}), "[19 22 43 50]"},
		{"int64", tensor.FromSlice([]int{2, 2}, []int64{1, 2, 3, 4}), tensor.FromSlice([]int{2, 2}, []int64{5, 6, 7, 8}), "[19 22 43 50]"},
		{"uint32", tensor.FromSlice([]int{2, 2}, []uint32{1, 2, 3, 4}), tensor.FromSlice([]int{2, 2}, []uint32{5, 6, 7, 8}), "[19 22 43 50]"},
		{"uint64 batched", tensor.FromSlice([]int{2, 1, 2}, []uint64{1, 2, 3, 4}), tensor.FromSlice([]int{2, 2, 1}, []uint64{5, 7, 6, 8}), "[19 50]"},
		{"float64", tensor.FromSlice([]int{2, 2}, []float64{1, 2, 3, 4}), tensor.FromSlice([]int{2, 2}, []float64{5, 6, 7, 8}), "[19 22 43 50]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := cvtRun1(t, cvtCall{op: "MatMul", opset: 13, in: []*tensor.Tensor{tc.a, tc.b}})
			if got.DType != tc.a.DType || fmt.Sprint(got.Data) != tc.want {
				t.Fatalf("got %v %v, want %s", got, got.Data, tc.want)
			}
		})
	}
	t.Run("float16", func(t *testing.T) {
		a, _ := tensor.Convert(tensor.FromSlice([]int{2, 2}, []float32{1, 2, 3, 4}), tensor.Float16)
		b, _ := tensor.Convert(tensor.FromSlice([]int{2, 2}, []float32{5, 6, 7, 8}), tensor.Float16)
		got := cvtRun1(t, cvtCall{op: "MatMul", opset: 13, in: []*tensor.Tensor{a, b}, consts: []int{1}})
		if got.DType != tensor.Float16 {
			t.Fatalf("type %v", got.DType)
		}
		cvtClose(t, got, []int{2, 2}, []float64{19, 22, 43, 50}, 0)
	})
	t.Run("bool unsupported", func(t *testing.T) {
		_, err := cvtRun(t, cvtCall{op: "MatMul", opset: 13, in: []*tensor.Tensor{tensor.New(tensor.Bool, 1, 1), tensor.New(tensor.Bool, 1, 1)}})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v, want ErrUnsupported", err)
		}
	})
}

func TestMatMulErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.New(tensor.Float32, shape...) }
	tests := []struct {
		name string
		a, b *tensor.Tensor
	}{
		{"inner mismatch", f(2, 3), f(4, 2)},
		{"1-D mismatch", f(3), f(4)},
		{"batch mismatch", f(2, 2, 3), f(3, 3, 2)},
		{"scalar", f(), f(3)},
		{"types differ", f(2, 2), tensor.New(tensor.Float64, 2, 2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cvtRun(t, cvtCall{op: "MatMul", opset: 13, in: []*tensor.Tensor{tc.a, tc.b}}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
