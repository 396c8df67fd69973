package kernel

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func TestGemmOp(t *testing.T) {
	tests := []struct {
		name           string
		m, n, k        int
		transA, transB bool
		alpha, beta    float32
		c              []int // C's shape, nil for no C
		opset          int64
	}{
		{"plain", 3, 4, 5, false, false, 1, 1, []int{3, 4}, 13},
		{"no C", 3, 4, 5, false, false, 1, 1, nil, 13},
		{"transA", 5, 2, 3, true, false, 0.5, 1, []int{2}, 13},
		{"transB", 4, 6, 7, false, true, 1, 2, []int{1, 6}, 13},
		{"both transposed", 6, 5, 4, true, true, -1, 0.5, []int{6, 1}, 13},
		{"scalar C", 2, 3, 4, false, false, 1, 3, []int{}, 13},
		{"single element C", 2, 3, 4, false, false, 1, 1, []int{1}, 13},
		{"beta zero ignores C", 2, 3, 4, false, false, 1, 0, []int{2, 3}, 13},
		{"large", 70, 90, 130, false, true, 1, 1, []int{90}, 13},
		{"opset 6 broadcast", 3, 4, 2, false, false, 1, 1, []int{4}, 6},
		{"opset 9", 3, 4, 2, false, false, 1, 1, []int{3, 4}, 9},
	}
	r := rand.New(rand.NewSource(11))
	for _, tc := range tests {
		for _, constB := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/const=%v", tc.name, constB), func(t *testing.T) {
				as, bs := []int{tc.m, tc.k}, []int{tc.k, tc.n}
				if tc.transA {
					as = []int{tc.k, tc.m}
				}
				if tc.transB {
					bs = []int{tc.n, tc.k}
				}
				a := cvtRand(r, tc.m*tc.k)
				b := cvtRand(r, tc.k*tc.n)
				in := []*tensor.Tensor{tensor.FromSlice(as, a), tensor.FromSlice(bs, b)}
				var c []float32
				if tc.c != nil {
					c = cvtRand(r, tensor.NumElements(tc.c))
					in = append(in, tensor.FromSlice(tc.c, c))
				}
				attrs := []*onnx.AttributeProto{cvtFloat("alpha", tc.alpha), cvtFloat("beta", tc.beta)}
				if tc.transA {
					attrs = append(attrs, cvtInt("transA", 1))
				}
				if tc.transB {
					attrs = append(attrs, cvtInt("transB", 1))
				}
				if tc.opset < 7 {
					attrs = append(attrs, cvtInt("broadcast", 1))
				}
				call := cvtCall{op: "Gemm", opset: tc.opset, in: in, attrs: attrs}
				if constB {
					call.consts = []int{1}
				}
				got := cvtRun1(t, call)
				want := make([]float64, tc.m*tc.n)
				for i := 0; i < tc.m; i++ {
					for j := 0; j < tc.n; j++ {
						var s float64
						for p := 0; p < tc.k; p++ {
							av, bv := a[i*tc.k+p], b[p*tc.n+j]
							if tc.transA {
								av = a[p*tc.m+i]
							}
							if tc.transB {
								bv = b[j*tc.k+p]
							}
							s += float64(av) * float64(bv)
						}
						v := float64(tc.alpha) * s
						if c != nil {
							// C broadcast: index by its own shape.
							ci := 0
							switch len(tc.c) {
							case 1:
								if tc.c[0] > 1 {
									ci = j
								}
							case 2:
								if tc.c[0] > 1 {
									ci += i * tc.c[1]
								}
								if tc.c[1] > 1 {
									ci += j
								}
							}
							v += float64(tc.beta) * float64(c[ci])
						}
						want[i*tc.n+j] = v
					}
				}
				cvtClose(t, got, []int{tc.m, tc.n}, want, 1e-5)
			})
		}
	}
}

func TestGemmIntAndHandWorked(t *testing.T) {
	// A = [[1 2] [3 4]], B = [[1 0] [0 1]] transposed is I: AB = A;
	// 2*A + 3*[10 20] = [[32 64] [36 68]].
	a := tensor.FromSlice([]int{2, 2}, []int64{1, 2, 3, 4})
	b := tensor.FromSlice([]int{2, 2}, []int64{1, 0, 0, 1})
	c := tensor.FromSlice([]int{2}, []int64{10, 20})
	got := cvtRun1(t, cvtCall{op: "Gemm", opset: 13, in: []*tensor.Tensor{a, b, c},
		attrs: []*onnx.AttributeProto{cvtFloat("alpha", 2), cvtFloat("beta", 3), cvtInt("transB", 1)}})
	if got.DType != tensor.Int64 || fmt.Sprint(got.Data) != "[32 64 36 68]" {
		t.Fatalf("got %v %v", got, got.Data)
	}
	f := tensor.FromSlice([]int{2, 2}, []float64{1, 2, 3, 4})
	got = cvtRun1(t, cvtCall{op: "Gemm", opset: 13, in: []*tensor.Tensor{f, f}, attrs: []*onnx.AttributeProto{cvtInt("transA", 1)}})
	// A^T A = [[1 3] [2 4]] [[1 2] [3 4]] = [[10 14] [14 20]]
	cvtClose(t, got, []int{2, 2}, []float64{10, 14, 14, 20}, 0)
}

func TestGemmErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.New(tensor.Float32, shape...) }
	tests := []struct {
		name  string
		opset int64
		in    []*tensor.Tensor
		attrs []*onnx.AttributeProto
	}{
		{"inner mismatch", 13, []*tensor.Tensor{f(2, 3), f(4, 2)}, nil},
		{"3-D A", 13, []*tensor.Tensor{f(1, 2, 3), f(3, 2)}, nil},
		{"C does not broadcast", 13, []*tensor.Tensor{f(2, 3), f(3, 4), f(3)}, nil},
		{"C rank 3", 13, []*tensor.Tensor{f(2, 3), f(3, 4), f(1, 2, 4)}, nil},
		{"opset 6 broadcast=0 needs full C", 6, []*tensor.Tensor{f(2, 3), f(3, 4), f(4)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cvtRun(t, cvtCall{op: "Gemm", opset: tc.opset, in: tc.in, attrs: tc.attrs}); err == nil {
				t.Fatal("no error")
			}
		})
	}
	t.Run("C required before opset 11", func(t *testing.T) {
		if _, err := cvtBuild(t, cvtCall{op: "Gemm", opset: 9, in: []*tensor.Tensor{f(2, 3), f(3, 4)}}); err == nil {
			t.Fatal("no error")
		}
	})
}
