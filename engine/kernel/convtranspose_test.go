package kernel

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// cvtNaiveConvTranspose scatters every input value: x[n, c, i] adds
// x * w[c, m, t] to y[n, g*mg+m, i*s - pb + t*d] when that position is
// inside the output (of spatial size out).
func cvtNaiveConvTranspose(x []float64, xs []int, w []float64, ws []int, b []float64, group int, s, d, pb, out []int) []float64 {
	rank := len(xs) - 2
	n, c, mg := xs[0], xs[1], ws[1]
	cg, m := c/group, mg*group
	inSize, outSize, kSize := 1, 1, 1
	for a := 0; a < rank; a++ {
		inSize *= xs[2+a]
		outSize *= out[a]
		kSize *= ws[2+a]
	}
	y := make([]float64, n*m*outSize)
	for img := 0; img < n; img++ {
		for oc := 0; oc < m; oc++ {
			for i := 0; i < outSize; i++ {
				if b != nil {
					y[(img*m+oc)*outSize+i] = b[oc]
				}
			}
		}
	}
	ip := make([]int, rank)
	tp := make([]int, rank)
	for img := 0; img < n; img++ {
		for ic := 0; ic < c; ic++ {
			g := ic / cg
			for ii := 0; ii < inSize; ii++ {
				r := ii
				for a := rank - 1; a >= 0; a-- {
					ip[a] = r % xs[2+a]
					r /= xs[2+a]
				}
				xv := x[(img*c+ic)*inSize+ii]
				for om := 0; om < mg; om++ {
					for ti := 0; ti < kSize; ti++ {
						r := ti
						for a := rank - 1; a >= 0; a-- {
							tp[a] = r % ws[2+a]
							r /= ws[2+a]
						}
						off, ok := 0, true
						for a := 0; a < rank; a++ {
							p := ip[a]*s[a] - pb[a] + tp[a]*d[a]
							if p < 0 || p >= out[a] {
								ok = false
								break
							}
							off = off*out[a] + p
						}
						if ok {
							oc := g*mg + om
							y[(img*m+oc)*outSize+off] += xv * w[(ic*mg+om)*kSize+ti]
						}
					}
				}
			}
		}
	}
	return y
}

func TestConvTransposeAgainstDirect(t *testing.T) {
	type tc struct {
		name      string
		x, w      []int
		group     int
		s, d, pad []int
		outPad    []int
		bias      bool
	}
	tests := []tc{
		{"1d", []int{1, 2, 5}, []int{2, 3, 3}, 1, []int{1}, []int{1}, []int{0, 0}, []int{0}, true},
		{"1d strided padded", []int{2, 3, 6}, []int{3, 2, 4}, 1, []int{3}, []int{1}, []int{1, 2}, []int{1}, false},
		{"2d", []int{1, 2, 4, 5}, []int{2, 3, 3, 3}, 1, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, []int{1, 0}, true},
		{"2d dilated", []int{1, 1, 3, 3}, []int{1, 2, 2, 3}, 1, []int{1, 2}, []int{2, 2}, []int{0, 1, 0, 1}, []int{0, 1}, false},
		{"2d groups", []int{2, 4, 3, 3}, []int{4, 3, 3, 3}, 2, []int{2, 1}, []int{1, 1}, []int{0, 1, 1, 0}, []int{0, 0}, true},
		{"3d", []int{1, 2, 3, 2, 3}, []int{2, 2, 2, 3, 2}, 1, []int{2, 1, 2}, []int{1, 1, 1}, []int{0, 1, 0, 1, 0, 0}, []int{1, 0, 0}, true},
	}
	r := rand.New(rand.NewSource(9))
	for _, tc := range tests {
		for _, constW := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/const=%v", tc.name, constW), func(t *testing.T) {
				rank := len(tc.x) - 2
				out := make([]int, rank)
				for a := 0; a < rank; a++ {
					out[a] = tc.s[a]*(tc.x[2+a]-1) + tc.outPad[a] + (tc.w[2+a]-1)*tc.d[a] + 1 - tc.pad[a] - tc.pad[rank+a]
				}
				x := cvtRand(r, tensor.NumElements(tc.x))
				w := cvtRand(r, tensor.NumElements(tc.w))
				in := []*tensor.Tensor{tensor.FromSlice(tc.x, x), tensor.FromSlice(tc.w, w)}
				m := tc.w[1] * tc.group
				var b []float64
				if tc.bias {
					bs := cvtRand(r, m)
					b = cvtF64(bs)
					in = append(in, tensor.FromSlice([]int{m}, bs))
				}
				c := cvtCall{op: "ConvTranspose", opset: 11, in: in, attrs: []*onnx.AttributeProto{
					cvtInt("group", int64(tc.group)), cvtInts("strides", cvtI64(tc.s)...),
					cvtInts("dilations", cvtI64(tc.d)...), cvtInts("pads", cvtI64(tc.pad)...),
					cvtInts("output_padding", cvtI64(tc.outPad)...),
				}}
				if constW {
					c.consts = []int{1}
				}
				got := cvtRun1(t, c)
				want := cvtNaiveConvTranspose(cvtF64(x), tc.x, cvtF64(w), tc.w, b, tc.group, tc.s, tc.d, tc.pad[:rank], out)
				cvtClose(t, got, append([]int{tc.x[0], m}, out...), want, 1e-5)
			})
		}
	}
}

// TestConvTransposeHandWorked checks a 1-D case by hand: x = [1 2 3],
// w = [1 10], stride 2: each x[i] writes x[i] at 2i and 10*x[i] at 2i+1,
// output length 2*(3-1) + 2 = 6: [1 10 2 20 3 30].
func TestConvTransposeHandWorked(t *testing.T) {
	x := tensor.FromSlice([]int{1, 1, 3}, []float64{1, 2, 3})
	w := tensor.FromSlice([]int{1, 1, 2}, []float64{1, 10})
	got := cvtRun1(t, cvtCall{op: "ConvTranspose", opset: 22, in: []*tensor.Tensor{x, w}, attrs: []*onnx.AttributeProto{cvtInts("strides", 2)}})
	cvtClose(t, got, []int{1, 1, 6}, []float64{1, 10, 2, 20, 3, 30}, 0)
	// output_shape 8 extends the end with zeros (total padding 6 - 8 < 0).
	got = cvtRun1(t, cvtCall{op: "ConvTranspose", opset: 22, in: []*tensor.Tensor{x, w}, attrs: []*onnx.AttributeProto{cvtInts("strides", 2), cvtInts("output_shape", 8)}})
	cvtClose(t, got, []int{1, 1, 8}, []float64{1, 10, 2, 20, 3, 30, 0, 0}, 0)
	// pads 1, 1 crop one value at each end.
	got = cvtRun1(t, cvtCall{op: "ConvTranspose", opset: 22, in: []*tensor.Tensor{x, w}, attrs: []*onnx.AttributeProto{cvtInts("strides", 2), cvtInts("pads", 1, 1)}})
	cvtClose(t, got, []int{1, 1, 4}, []float64{10, 2, 20, 3}, 0)
}

func TestConvTransposeErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.New(tensor.Float32, shape...) }
	tests := []struct {
		name  string
		in    []*tensor.Tensor
		attrs []*onnx.AttributeProto
	}{
		{"channels mismatch", []*tensor.Tensor{f(1, 3, 5, 5), f(2, 2, 3, 3)}, nil},
		{"bias length", []*tensor.Tensor{f(1, 2, 5, 5), f(2, 2, 3, 3), f(3)}, nil},
		{"rank mismatch", []*tensor.Tensor{f(1, 2, 5, 5), f(2, 2, 3)}, nil},
		{"pads too large", []*tensor.Tensor{f(1, 1, 2), f(1, 1, 2)}, []*onnx.AttributeProto{cvtInts("pads", 3, 3)}},
		{"output_shape rank", []*tensor.Tensor{f(1, 1, 2, 2), f(1, 1, 2, 2)}, []*onnx.AttributeProto{cvtInts("output_shape", 3)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cvtRun(t, cvtCall{op: "ConvTranspose", opset: 11, in: tc.in, attrs: tc.attrs}); err == nil {
				t.Fatal("no error")
			}
		})
	}
}
