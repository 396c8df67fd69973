package kernel

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
	"google.golang.org/protobuf/proto"
)

// Test helpers of the convolution, matrix-product, pooling and
// normalization kernels (prefixed cvt to stay clear of other files'
// helpers in this package).

func cvtInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func cvtInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INTS.Enum(), Ints: v}
}

func cvtFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func cvtString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// cvtCall describes one kernel invocation.
type cvtCall struct {
	op     string
	opset  int64
	in     []*tensor.Tensor // nil for an omitted input
	consts []int            // inputs passed as build-time constants
	outs   int              // outputs requested (default 1)
	attrs  []*onnx.AttributeProto
}

// cvtBuild builds the node, failing the test on unread attributes.
func cvtBuild(t *testing.T, c cvtCall) (Kernel, error) {
	t.Helper()
	p := &onnx.NodeProto{OpType: proto.String(c.op), Attribute: c.attrs}
	consts := make([]*tensor.Tensor, len(c.in))
	for i, x := range c.in {
		if x == nil {
			p.Input = append(p.Input, "")
			continue
		}
		p.Input = append(p.Input, fmt.Sprintf("x%d", i))
	}
	for _, i := range c.consts {
		consts[i] = c.in[i]
	}
	outs := max(c.outs, 1)
	for i := 0; i < outs; i++ {
		p.Output = append(p.Output, fmt.Sprintf("y%d", i))
	}
	reg, ok := Lookup("", c.op, c.opset)
	if !ok {
		t.Fatalf("%s opset %d not registered", c.op, c.opset)
	}
	n := NewNode(p, c.opset, consts, nil)
	k, err := reg.Build(n)
	if err == nil {
		if u := n.Unused(); len(u) > 0 {
			t.Fatalf("%s: attributes %v not read", c.op, u)
		}
	}
	return k, err
}

// cvtRun builds and runs the node and returns its outputs, checking that
// the inputs are left unchanged.
func cvtRun(t *testing.T, c cvtCall) ([]*tensor.Tensor, error) {
	t.Helper()
	k, err := cvtBuild(t, c)
	if err != nil {
		return nil, err
	}
	before := make([]*tensor.Tensor, len(c.in))
	for i, x := range c.in {
		if x != nil {
			before[i] = x.Clone()
		}
	}
	out, err := k.Run(&Ctx{Threads: 3}, c.in)
	for i, x := range c.in {
		if x != nil && fmt.Sprint(x.Data) != fmt.Sprint(before[i].Data) {
			t.Fatalf("%s modified input %d", c.op, i)
		}
	}
	if err != nil {
		return nil, err
	}
	for i, o := range out {
		if o == nil {
			continue
		}
		if err := o.Check(); err != nil {
			t.Fatalf("%s: output %d: %v", c.op, i, err)
		}
	}
	return out, nil
}

// cvtRun1 runs a single-output node and fails the test on an error.
func cvtRun1(t *testing.T, c cvtCall) *tensor.Tensor {
	t.Helper()
	out, err := cvtRun(t, c)
	if err != nil {
		t.Fatal(err)
	}
	return out[0]
}

// cvtRand returns n random float32 values in [-1, 1).
func cvtRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// cvtClose compares a float tensor with float64 expectations.
func cvtClose(t *testing.T, got *tensor.Tensor, shape []int, want []float64, tol float64) {
	t.Helper()
	if fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
		t.Fatalf("shape %v, want %v", got.Shape, shape)
	}
	var g []float64
	switch d := got.Data.(type) {
	case []float32:
		for _, v := range d {
			g = append(g, float64(v))
		}
	case []float64:
		g = d
	case []tensor.F16:
		for _, v := range d {
			g = append(g, float64(v.Float32()))
		}
	default:
		t.Fatalf("not a float tensor: %v", got)
	}
	if len(g) != len(want) {
		t.Fatalf("%d values, want %d", len(g), len(want))
	}
	for i := range want {
		if math.IsNaN(want[i]) && math.IsNaN(g[i]) {
			continue
		}
		if d := math.Abs(g[i] - want[i]); !(d <= tol*(1+math.Abs(want[i]))) {
			t.Fatalf("value %d: got %g, want %g", i, g[i], want[i])
		}
	}
}

func cvtF64(s []float32) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = float64(v)
	}
	return out
}

// cvtNaiveConv computes a convolution straight from its definition:
// y[n, m, o] = b[m] + sum over c in m's group and taps t of
// x[n, c, o*s - pb + t*d] * w[m, c, t], positions outside x counting 0.
func cvtNaiveConv(x []float64, xs []int, w []float64, ws []int, b []float64, group int, s, d, pb, out []int) []float64 {
	rank := len(xs) - 2
	n, c, m := xs[0], xs[1], ws[0]
	cg, mg := c/group, m/group
	inSize, outSize, kSize := 1, 1, 1
	for i := 0; i < rank; i++ {
		inSize *= xs[2+i]
		outSize *= out[i]
		kSize *= ws[2+i]
	}
	y := make([]float64, n*m*outSize)
	o := make([]int, rank)
	tp := make([]int, rank)
	for img := 0; img < n; img++ {
		for oc := 0; oc < m; oc++ {
			g := oc / mg
			for oi := 0; oi < outSize; oi++ {
				r := oi
				for a := rank - 1; a >= 0; a-- {
					o[a] = r % out[a]
					r /= out[a]
				}
				sum := 0.0
				if b != nil {
					sum = b[oc]
				}
				for ci := 0; ci < cg; ci++ {
					ic := g*cg + ci
					for ti := 0; ti < kSize; ti++ {
						r := ti
						for a := rank - 1; a >= 0; a-- {
							tp[a] = r % ws[2+a]
							r /= ws[2+a]
						}
						off, ok := 0, true
						for a := 0; a < rank; a++ {
							p := o[a]*s[a] - pb[a] + tp[a]*d[a]
							if p < 0 || p >= xs[2+a] {
								ok = false
								break
							}
							off = off*xs[2+a] + p
						}
						if ok {
							sum += x[(img*c+ic)*inSize+off] * w[(oc*cg+ci)*kSize+ti]
						}
					}
				}
				y[(img*m+oc)*outSize+oi] = sum
			}
		}
	}
	return y
}

func cvtI64(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

func TestConvAgainstDirect(t *testing.T) {
	type tc struct {
		name      string
		x, w      []int // shapes
		group     int
		s, d, pad []int // pad: begins then ends
		bias      bool
	}
	tests := []tc{
		{"1d", []int{2, 3, 11}, []int{4, 3, 3}, 1, []int{1}, []int{1}, []int{0, 0}, true},
		{"1d stride dilation pad", []int{1, 2, 13}, []int{3, 2, 4}, 1, []int{2}, []int{2}, []int{3, 1}, false},
		{"2d", []int{1, 3, 7, 8}, []int{5, 3, 3, 3}, 1, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"2d asym pads strides", []int{2, 4, 9, 10}, []int{6, 4, 3, 2}, 1, []int{2, 3}, []int{1, 1}, []int{0, 2, 1, 0}, true},
		{"2d dilated", []int{1, 2, 12, 12}, []int{3, 2, 3, 3}, 1, []int{1, 2}, []int{2, 3}, []int{2, 2, 2, 2}, false},
		{"2d groups", []int{1, 6, 8, 8}, []int{4, 3, 3, 3}, 2, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"2d depthwise", []int{2, 5, 9, 7}, []int{5, 1, 3, 3}, 5, []int{2, 1}, []int{1, 1}, []int{1, 0, 1, 2}, true},
		{"2d depthwise multiplier dilated", []int{1, 3, 10, 10}, []int{6, 1, 3, 2}, 3, []int{1, 2}, []int{2, 2}, []int{2, 1, 2, 1}, false},
		// The vector depthwise path: rows of 32+8+tail outputs, strides 1
		// and 2, 5x5 taps, a multiplier, height dilation, pads wider than
		// the kernel's reach and an input narrower than the kernel.
		{"2d depthwise 3x3 wide", []int{1, 3, 5, 37}, []int{3, 1, 3, 3}, 3, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"2d depthwise 3x3 stride 2", []int{1, 2, 7, 33}, []int{2, 1, 3, 3}, 2, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"2d depthwise 5x5 multiplier", []int{2, 2, 6, 20}, []int{4, 1, 5, 5}, 2, []int{1, 1}, []int{1, 1}, []int{2, 2, 2, 2}, false},
		{"2d depthwise stride 2 even width", []int{1, 2, 8, 48}, []int{2, 1, 3, 3}, 2, []int{2, 2}, []int{2, 1}, []int{0, 0, 1, 1}, true},
		{"2d depthwise stride 3 big pads", []int{1, 2, 4, 17}, []int{2, 1, 3, 3}, 2, []int{1, 3}, []int{1, 1}, []int{2, 4, 1, 5}, true},
		{"2d depthwise narrow input", []int{1, 2, 3, 2}, []int{2, 1, 3, 3}, 2, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		// The padded-plane patch matrix (2-D, unit strides): dilations,
		// asymmetric and large pads, no pads, groups, batches.
		{"2d flat dilated asym pads", []int{2, 3, 9, 11}, []int{4, 3, 3, 2}, 1, []int{1, 1}, []int{2, 3}, []int{0, 3, 2, 1}, true},
		{"2d flat no pads", []int{1, 2, 6, 7}, []int{3, 2, 3, 4}, 1, []int{1, 1}, []int{1, 1}, []int{0, 0, 0, 0}, false},
		{"2d flat pads past kernel", []int{1, 2, 3, 3}, []int{2, 2, 2, 2}, 1, []int{1, 1}, []int{1, 1}, []int{3, 3, 3, 3}, true},
		{"2d flat groups 5x5", []int{2, 4, 14, 14}, []int{6, 2, 5, 5}, 2, []int{1, 1}, []int{1, 1}, []int{2, 2, 2, 2}, true},
		// Phase planes for strides of 2.
		{"2d flat stride 2", []int{1, 3, 9, 12}, []int{4, 3, 3, 3}, 1, []int{2, 2}, []int{1, 1}, []int{1, 1, 1, 1}, true},
		{"2d flat stride 2x1 dilated groups", []int{2, 4, 8, 7}, []int{6, 2, 5, 5}, 2, []int{2, 1}, []int{1, 2}, []int{2, 0, 1, 3}, true},
		{"2d flat 7x7 stride 2", []int{1, 3, 11, 13}, []int{2, 3, 7, 7}, 1, []int{2, 2}, []int{1, 1}, []int{3, 3, 3, 3}, false},
		{"2d flat stride 1x2 tiny input", []int{1, 2, 2, 1}, []int{3, 2, 2, 3}, 1, []int{1, 2}, []int{1, 1}, []int{1, 2, 0, 2}, true},
		{"2d single input channel", []int{1, 1, 8, 8}, []int{4, 1, 5, 5}, 1, []int{1, 1}, []int{1, 1}, []int{2, 2, 2, 2}, true},
		{"2d pointwise", []int{2, 8, 5, 6}, []int{7, 8, 1, 1}, 1, []int{1, 1}, []int{1, 1}, []int{0, 0, 0, 0}, true},
		{"2d pointwise strided", []int{1, 4, 6, 6}, []int{3, 4, 1, 1}, 1, []int{2, 2}, []int{1, 1}, []int{0, 0, 0, 0}, true},
		{"2d pointwise grouped", []int{1, 4, 5, 5}, []int{6, 2, 1, 1}, 2, []int{1, 1}, []int{1, 1}, []int{0, 0, 0, 0}, false},
		{"2d pad larger than kernel", []int{1, 1, 3, 3}, []int{1, 1, 2, 2}, 1, []int{1, 1}, []int{1, 1}, []int{3, 3, 3, 3}, false},
		{"3d", []int{1, 2, 5, 6, 4}, []int{3, 2, 2, 3, 2}, 1, []int{1, 2, 1}, []int{1, 1, 2}, []int{1, 0, 1, 0, 1, 1}, true},
		{"3d groups", []int{1, 4, 4, 4, 4}, []int{4, 2, 3, 3, 3}, 2, []int{1, 1, 1}, []int{1, 1, 1}, []int{1, 1, 1, 1, 1, 1}, true},
		{"big K", []int{1, 40, 9, 9}, []int{70, 40, 3, 3}, 1, []int{1, 1}, []int{1, 1}, []int{1, 1, 1, 1}, true},
	}
	r := rand.New(rand.NewSource(5))
	for _, tc := range tests {
		for _, constW := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/const=%v", tc.name, constW), func(t *testing.T) {
				rank := len(tc.x) - 2
				out := make([]int, rank)
				for a := 0; a < rank; a++ {
					ext := (tc.w[2+a]-1)*tc.d[a] + 1
					out[a] = (tc.x[2+a]+tc.pad[a]+tc.pad[rank+a]-ext)/tc.s[a] + 1
				}
				x := cvtRand(r, tensor.NumElements(tc.x))
				w := cvtRand(r, tensor.NumElements(tc.w))
				in := []*tensor.Tensor{tensor.FromSlice(tc.x, x), tensor.FromSlice(tc.w, w)}
				var b []float64
				if tc.bias {
					bs := cvtRand(r, tc.w[0])
					b = cvtF64(bs)
					in = append(in, tensor.FromSlice([]int{tc.w[0]}, bs))
				}
				c := cvtCall{op: "Conv", opset: 11, in: in, attrs: []*onnx.AttributeProto{
					cvtInt("group", int64(tc.group)), cvtInts("strides", cvtI64(tc.s)...),
					cvtInts("dilations", cvtI64(tc.d)...), cvtInts("pads", cvtI64(tc.pad)...),
					cvtInts("kernel_shape", cvtI64(tc.w[2:])...),
				}}
				if constW {
					c.consts = []int{1}
					if tc.bias {
						c.consts = []int{1, 2}
					}
				}
				got := cvtRun1(t, c)
				want := cvtNaiveConv(cvtF64(x), tc.x, cvtF64(w), tc.w, b, tc.group, tc.s, tc.d, tc.pad[:rank], out)
				cvtClose(t, got, append([]int{tc.x[0], tc.w[0]}, out...), want, 1e-5)
			})
		}
	}
}

// TestConvAutoPad checks auto_pad against the same convolution with the
// padding worked out by hand.
func TestConvAutoPad(t *testing.T) {
	tests := []struct {
		name    string
		autoPad string
		in, k   int
		stride  int
		pads    [2]int // begin, end (both axes alike)
		out     int
	}{
		// in 5, k 3, s 1: out 5, total pad 2 -> 1/1.
		{"same_upper odd", "SAME_UPPER", 5, 3, 1, [2]int{1, 1}, 5},
		// in 5, k 4, s 1: out 5, total 3 -> upper 1/2, lower 2/1.
		{"same_upper even kernel", "SAME_UPPER", 5, 4, 1, [2]int{1, 2}, 5},
		{"same_lower even kernel", "SAME_LOWER", 5, 4, 1, [2]int{2, 1}, 5},
		// in 7, k 3, s 2: out 4, total (4-1)*2+3-7 = 2 -> 1/1.
		{"same_upper strided", "SAME_UPPER", 7, 3, 2, [2]int{1, 1}, 4},
		// in 6, k 3, s 2: out 3, total (3-1)*2+3-6 = 1 -> upper 0/1, lower 1/0.
		{"same_upper strided odd", "SAME_UPPER", 6, 3, 2, [2]int{0, 1}, 3},
		{"same_lower strided odd", "SAME_LOWER", 6, 3, 2, [2]int{1, 0}, 3},
		// VALID: in 7, k 3, s 2 -> floor(4/2)+1 = 3, no padding.
		{"valid", "VALID", 7, 3, 2, [2]int{0, 0}, 3},
	}
	r := rand.New(rand.NewSource(6))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			xs := []int{1, 2, tc.in, tc.in}
			ws := []int{3, 2, tc.k, tc.k}
			x := cvtRand(r, tensor.NumElements(xs))
			w := cvtRand(r, tensor.NumElements(ws))
			got := cvtRun1(t, cvtCall{op: "Conv", opset: 11,
				in:    []*tensor.Tensor{tensor.FromSlice(xs, x), tensor.FromSlice(ws, w)},
				attrs: []*onnx.AttributeProto{cvtString("auto_pad", tc.autoPad), cvtInts("strides", int64(tc.stride), int64(tc.stride))},
			})
			st := []int{tc.stride, tc.stride}
			want := cvtNaiveConv(cvtF64(x), xs, cvtF64(w), ws, nil, 1, st, []int{1, 1}, []int{tc.pads[0], tc.pads[0]}, []int{tc.out, tc.out})
			cvtClose(t, got, []int{1, 3, tc.out, tc.out}, want, 1e-5)
		})
	}
}

// TestConvHandWorked checks a tiny convolution computed by hand.
func TestConvHandWorked(t *testing.T) {
	// x = [[1 2 3] [4 5 6] [7 8 9]], w = [[1 0] [0 -1]], pads 0, bias 10:
	// y = [[1-5 2-6] [4-8 5-9]] + 10 = [[6 6] [6 6]].
	x := tensor.FromSlice([]int{1, 1, 3, 3}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9})
	w := tensor.FromSlice([]int{1, 1, 2, 2}, []float32{1, 0, 0, -1})
	b := tensor.FromSlice([]int{1}, []float32{10})
	got := cvtRun1(t, cvtCall{op: "Conv", opset: 22, in: []*tensor.Tensor{x, w, b}})
	cvtClose(t, got, []int{1, 1, 2, 2}, []float64{6, 6, 6, 6}, 0)
	// The same with pads 1 after each axis: y[i][j] = x[i][j] - x[i+1][j+1]
	// + 10, where the -1 tap reads padding (0) on the last row and column:
	// y[0][2] = 3 + 10, y[1][2] = 6 + 10, y[2][j] = x[2][j] + 10.
	got = cvtRun1(t, cvtCall{op: "Conv", opset: 22, in: []*tensor.Tensor{x, w, b}, attrs: []*onnx.AttributeProto{cvtInts("pads", 0, 0, 1, 1)}})
	cvtClose(t, got, []int{1, 1, 3, 3}, []float64{6, 6, 13, 6, 6, 16, 17, 18, 19}, 0)
}

func TestConvTypes(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	xs, ws := []int{1, 2, 5, 5}, []int{3, 2, 3, 3}
	x := cvtRand(r, tensor.NumElements(xs))
	w := cvtRand(r, tensor.NumElements(ws))
	want := cvtNaiveConv(cvtF64(x), xs, cvtF64(w), ws, nil, 1, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{5, 5})
	attrs := []*onnx.AttributeProto{cvtInts("pads", 1, 1, 1, 1)}
	t.Run("float64", func(t *testing.T) {
		got := cvtRun1(t, cvtCall{op: "Conv", opset: 11, attrs: attrs,
			in: []*tensor.Tensor{tensor.FromSlice(xs, cvtF64(x)), tensor.FromSlice(ws, cvtF64(w))}})
		if got.DType != tensor.Float64 {
			t.Fatalf("type %v", got.DType)
		}
		cvtClose(t, got, []int{1, 3, 5, 5}, want, 1e-12)
	})
	t.Run("float16", func(t *testing.T) {
		xt, _ := tensor.Convert(tensor.FromSlice(xs, x), tensor.Float16)
		wt, _ := tensor.Convert(tensor.FromSlice(ws, w), tensor.Float16)
		// The reference uses the float16-rounded inputs.
		xh, _ := tensor.Float32s(xt)
		wh, _ := tensor.Float32s(wt)
		want := cvtNaiveConv(cvtF64(xh), xs, cvtF64(wh), ws, nil, 1, []int{1, 1}, []int{1, 1}, []int{1, 1}, []int{5, 5})
		got := cvtRun1(t, cvtCall{op: "Conv", opset: 11, attrs: attrs, consts: []int{1}, in: []*tensor.Tensor{xt, wt}})
		if got.DType != tensor.Float16 {
			t.Fatalf("type %v", got.DType)
		}
		cvtClose(t, got, []int{1, 3, 5, 5}, want, 2e-3)
	})
	t.Run("int32 unsupported", func(t *testing.T) {
		_, err := cvtRun(t, cvtCall{op: "Conv", opset: 11,
			in: []*tensor.Tensor{tensor.New(tensor.Int32, 1, 1, 3, 3), tensor.New(tensor.Int32, 1, 1, 1, 1)}})
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("got %v, want ErrUnsupported", err)
		}
	})
}

func TestConvErrors(t *testing.T) {
	f := func(shape ...int) *tensor.Tensor { return tensor.New(tensor.Float32, shape...) }
	tests := []struct {
		name  string
		in    []*tensor.Tensor
		attrs []*onnx.AttributeProto
	}{
		{"channels mismatch", []*tensor.Tensor{f(1, 3, 5, 5), f(2, 2, 3, 3)}, nil},
		{"rank mismatch", []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3)}, nil},
		{"no spatial axes", []*tensor.Tensor{f(1, 3), f(2, 3)}, nil},
		{"group does not divide M", []*tensor.Tensor{f(1, 4, 5, 5), f(3, 2, 3, 3)}, []*onnx.AttributeProto{cvtInt("group", 2)}},
		{"bias length", []*tensor.Tensor{f(1, 3, 5, 5), f(2, 3, 3, 3), f(3)}, nil},
		{"kernel larger than input", []*tensor.Tensor{f(1, 1, 2, 2), f(1, 1, 3, 3)}, nil},
		{"kernel_shape disagrees", []*tensor.Tensor{f(1, 1, 5, 5), f(1, 1, 3, 3)}, []*onnx.AttributeProto{cvtInts("kernel_shape", 2, 2)}},
		{"pads length", []*tensor.Tensor{f(1, 1, 5, 5), f(1, 1, 3, 3)}, []*onnx.AttributeProto{cvtInts("pads", 1, 1)}},
		{"missing weight", []*tensor.Tensor{f(1, 1, 5, 5), nil}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cvtRun(t, cvtCall{op: "Conv", opset: 11, in: tc.in, attrs: tc.attrs})
			if err == nil {
				t.Fatal("no error")
			}
		})
	}
	t.Run("bad auto_pad", func(t *testing.T) {
		if _, err := cvtBuild(t, cvtCall{op: "Conv", opset: 11, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 1, 1)}, attrs: []*onnx.AttributeProto{cvtString("auto_pad", "SAME")}}); err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("negative stride", func(t *testing.T) {
		if _, err := cvtBuild(t, cvtCall{op: "Conv", opset: 11, in: []*tensor.Tensor{f(1, 1, 3, 3), f(1, 1, 1, 1)}, attrs: []*onnx.AttributeProto{cvtInts("strides", -1, 1)}}); err == nil {
			t.Fatal("no error")
		}
	})
}

func BenchmarkConv3x3(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	xs, ws := []int{1, 64, 56, 56}, []int{64, 64, 3, 3}
	x := tensor.FromSlice(xs, cvtRand(r, tensor.NumElements(xs)))
	w := tensor.FromSlice(ws, cvtRand(r, tensor.NumElements(ws)))
	p := &onnx.NodeProto{OpType: proto.String("Conv"), Input: []string{"x", "w"}, Output: []string{"y"},
		Attribute: []*onnx.AttributeProto{cvtInts("pads", 1, 1, 1, 1)}}
	reg, _ := Lookup("", "Conv", 11)
	k, err := reg.Build(NewNode(p, 11, []*tensor.Tensor{nil, w}, nil))
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Ctx{Threads: 2}
	in := []*tensor.Tensor{x, w}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := k.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
	flops := 2.0 * 64 * 64 * 9 * 56 * 56
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConvFirst times the first convolutions of the benchmark CNNs
// (few input channels, large planes, stride 2) on one thread.
func BenchmarkConvFirst(b *testing.B) {
	for _, s := range []struct {
		name                  string
		cin, cout, h, w, k, s int
	}{
		{"fastestdet_3x3s2", 3, 24, 352, 352, 3, 2},
		{"blazeface_5x5s2", 3, 24, 128, 128, 5, 2},
		{"ultraface_3x3s2", 3, 16, 240, 320, 3, 2},
		{"resnet_7x7s2", 3, 64, 224, 224, 7, 2},
		{"mnist_5x5s1", 1, 8, 28, 28, 5, 1},
		{"ultraface_head_3x3", 256, 12, 4, 5, 3, 1},
	} {
		b.Run(s.name, func(b *testing.B) {
			r := rand.New(rand.NewSource(1))
			xs, ws := []int{1, s.cin, s.h, s.w}, []int{s.cout, s.cin, s.k, s.k}
			x := tensor.FromSlice(xs, cvtRand(r, tensor.NumElements(xs)))
			w := tensor.FromSlice(ws, cvtRand(r, tensor.NumElements(ws)))
			bias := tensor.FromSlice([]int{s.cout}, cvtRand(r, s.cout))
			p := s.k / 2
			node := &onnx.NodeProto{OpType: proto.String("Conv"), Input: []string{"x", "w", "b"}, Output: []string{"y"},
				Attribute: []*onnx.AttributeProto{cvtInts("pads", int64(p), int64(p), int64(p), int64(p)), cvtInts("strides", int64(s.s), int64(s.s))}}
			reg, _ := Lookup("", "Conv", 11)
			k, err := reg.Build(NewNode(node, 11, []*tensor.Tensor{nil, w, bias}, nil))
			if err != nil {
				b.Fatal(err)
			}
			// One output buffer, reused as the engine's arena does.
			var out *tensor.Tensor
			ctx := &Ctx{Threads: 1, Alloc: func(dt tensor.DataType, shape Dims, zero bool) *tensor.Tensor {
				if out == nil {
					out = tensor.New(dt, shape.Slice()...)
				}
				return out
			}}
			in := []*tensor.Tensor{x, w, bias}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := k.Run(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
			oh, ow := (s.h+2*p-s.k)/s.s+1, (s.w+2*p-s.k)/s.s+1
			flops := 2.0 * float64(s.cout*s.cin*s.k*s.k*oh*ow)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
