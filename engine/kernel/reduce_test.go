package kernel

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
	"google.golang.org/protobuf/proto"
)

// Test helpers shared by the reduce, softmax, argmax, topk and resize tests.

func rtInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func rtInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INTS.Enum(), Ints: v}
}

func rtFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func rtFloats(name string, v ...float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOATS.Enum(), Floats: v}
}

func rtString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// rtCase describes one node run: inputs (nil for an omitted one), whether
// each input is known at build time, and the node's attributes.
type rtCase struct {
	op     string
	opset  int64
	attrs  []*onnx.AttributeProto
	in     []*tensor.Tensor
	consts bool // pass every input after the first as a build-time constant
	nOut   int
}

// rtRun builds the node the way the engine does (unread attributes refuse
// the node) and runs it once.
func rtRun(c rtCase) ([]*tensor.Tensor, error) {
	nOut := c.nOut
	if nOut == 0 {
		nOut = 1
	}
	p := &onnx.NodeProto{OpType: proto.String(c.op), Name: proto.String("n"), Attribute: c.attrs}
	consts := make([]*tensor.Tensor, len(c.in))
	for i, t := range c.in {
		if t == nil {
			p.Input = append(p.Input, "")
			continue
		}
		p.Input = append(p.Input, fmt.Sprintf("in%d", i))
		if c.consts && i > 0 {
			consts[i] = t
		}
	}
	for i := 0; i < nOut; i++ {
		p.Output = append(p.Output, fmt.Sprintf("out%d", i))
	}
	op, ok := Lookup("", c.op, c.opset)
	if !ok {
		return nil, fmt.Errorf("%s-%d: %w", c.op, c.opset, ErrUnsupported)
	}
	n := NewNode(p, c.opset, consts, nil)
	k, err := op.Build(n)
	if err != nil {
		return nil, err
	}
	if u := n.Unused(); len(u) > 0 {
		return nil, fmt.Errorf("unread attributes %v: %w", u, ErrUnsupported)
	}
	return k.Run(&Ctx{Threads: 2}, c.in)
}

// rtCheck compares a result with the expected tensor: same type and shape,
// floats within 1e-5 relative (NaN equal to NaN), other types exactly.
func rtCheck(t *testing.T, got, want *tensor.Tensor) {
	t.Helper()
	if got == nil {
		t.Fatalf("got nil tensor, want %v", want)
	}
	if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
	if want.DType.IsFloat() {
		g, _ := tensor.Convert(got, tensor.Float64)
		w, _ := tensor.Convert(want, tensor.Float64)
		gs, ws := g.Data.([]float64), w.Data.([]float64)
		for i := range ws {
			if math.IsNaN(ws[i]) && math.IsNaN(gs[i]) || gs[i] == ws[i] {
				continue
			}
			if math.Abs(gs[i]-ws[i]) > 1e-5*math.Max(1, math.Abs(ws[i])) {
				t.Fatalf("element %d: got %v, want %v\n got  %v\n want %v", i, gs[i], ws[i], gs, ws)
			}
		}
		return
	}
	if fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
		t.Fatalf("got %v, want %v", got.Data, want.Data)
	}
}

func rtF32(shape []int, v ...float32) *tensor.Tensor { return tensor.FromSlice(shape, v) }
func rtI64(v ...int64) *tensor.Tensor                { return tensor.FromSlice([]int{len(v)}, v) }

func TestReduce(t *testing.T) {
	x22 := rtF32([]int{2, 2}, 1, 2, 3, 4)
	// x222[i][j][k] = 4i + 2j + k + 1.
	x222 := rtF32([]int{2, 2, 2}, 1, 2, 3, 4, 5, 6, 7, 8)
	inf := float32(math.Inf(1))
	cases := []struct {
		name string
		c    rtCase
		want *tensor.Tensor
	}{
		{"sum-11 axes attribute", rtCase{op: "ReduceSum", opset: 11, attrs: []*onnx.AttributeProto{rtInts("axes", 1), rtInt("keepdims", 0)}, in: []*tensor.Tensor{x22}},
			rtF32([]int{2}, 3, 7)},
		{"sum-13 axes input", rtCase{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{x22, rtI64(0)}},
			rtF32([]int{1, 2}, 4, 6)},
		{"sum-13 axes constant", rtCase{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{x22, rtI64(-1)}, consts: true},
			rtF32([]int{2, 1}, 3, 7)},
		{"sum-13 no axes reduces all", rtCase{op: "ReduceSum", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{x22}},
			rtF32([]int{}, 10)},
		{"sum-13 noop with empty axes", rtCase{op: "ReduceSum", opset: 13, attrs: []*onnx.AttributeProto{rtInt("noop_with_empty_axes", 1)}, in: []*tensor.Tensor{x22, rtI64()}},
			x22},
		{"sumsquare-18 noop squares", rtCase{op: "ReduceSumSquare", opset: 18, attrs: []*onnx.AttributeProto{rtInt("noop_with_empty_axes", 1)}, in: []*tensor.Tensor{x22}},
			rtF32([]int{2, 2}, 1, 4, 9, 16)},
		{"mean-13 attribute", rtCase{op: "ReduceMean", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", -1)}, in: []*tensor.Tensor{x22}},
			rtF32([]int{2, 1}, 1.5, 3.5)},
		{"mean-18 input", rtCase{op: "ReduceMean", opset: 18, in: []*tensor.Tensor{x22, rtI64(0)}},
			rtF32([]int{1, 2}, 2, 3)},
		{"sum non-adjacent axes", rtCase{op: "ReduceSum", opset: 11, attrs: []*onnx.AttributeProto{rtInts("axes", 0, 2), rtInt("keepdims", 0)}, in: []*tensor.Tensor{x222}},
			rtF32([]int{2}, 1+2+5+6, 3+4+7+8)},
		{"max middle axis", rtCase{op: "ReduceMax", opset: 11, attrs: []*onnx.AttributeProto{rtInts("axes", 1)}, in: []*tensor.Tensor{x222}},
			rtF32([]int{2, 1, 2}, 3, 4, 7, 8)},
		{"min outer axis", rtCase{op: "ReduceMin", opset: 11, attrs: []*onnx.AttributeProto{rtInts("axes", 0), rtInt("keepdims", 0)}, in: []*tensor.Tensor{x222}},
			rtF32([]int{2, 2}, 1, 2, 3, 4)},
		{"prod", rtCase{op: "ReduceProd", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 1)}, in: []*tensor.Tensor{x22}},
			rtF32([]int{2, 1}, 2, 12)},
		{"l1", rtCase{op: "ReduceL1", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{rtF32([]int{3}, -1, 2, -3)}},
			rtF32([]int{}, 6)},
		{"l2", rtCase{op: "ReduceL2", opset: 13, in: []*tensor.Tensor{x22}},
			rtF32([]int{1, 1}, float32(math.Sqrt(30)))},
		{"logsum", rtCase{op: "ReduceLogSum", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 1)}, in: []*tensor.Tensor{x22}},
			rtF32([]int{2, 1}, float32(math.Log(3)), float32(math.Log(7)))},
		{"logsumexp large values", rtCase{op: "ReduceLogSumExp", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{rtF32([]int{2}, 1000, 1000)}},
			rtF32([]int{}, float32(1000+math.Ln2))},
		{"logsumexp outer axis", rtCase{op: "ReduceLogSumExp", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 0)}, in: []*tensor.Tensor{rtF32([]int{2, 2}, 0, 1, 0, 1)}},
			rtF32([]int{1, 2}, float32(math.Ln2), float32(1+math.Ln2))},
		{"float64", rtCase{op: "ReduceMean", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []float64{1, 2})}},
			tensor.FromSlice([]int{1}, []float64{1.5})},
		{"float16", rtCase{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []tensor.F16{tensor.F16FromFloat32(1.5), tensor.F16FromFloat32(2)})}},
			tensor.FromSlice([]int{1}, []tensor.F16{tensor.F16FromFloat32(3.5)})},
		{"empty max is -inf", rtCase{op: "ReduceMax", opset: 18, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{rtF32([]int{2, 0}), rtI64(1)}},
			rtF32([]int{2}, -inf, -inf)},
		{"empty min int32 is max int", rtCase{op: "ReduceMin", opset: 18, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{0}, []int32{})}},
			tensor.FromSlice([]int{}, []int32{math.MaxInt32})},
		{"empty prod is 1", rtCase{op: "ReduceProd", opset: 13, in: []*tensor.Tensor{rtF32([]int{0, 2})}},
			rtF32([]int{1, 1}, 1)},
		{"empty logsum is -inf", rtCase{op: "ReduceLogSum", opset: 13, in: []*tensor.Tensor{rtF32([]int{0})}},
			rtF32([]int{1}, -inf)},
		{"int8 max", rtCase{op: "ReduceMax", opset: 13, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{3}, []int8{-128, -5, -7})}},
			tensor.FromSlice([]int{}, []int8{-5})},
		{"int32 mean truncates", rtCase{op: "ReduceMean", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 1)}, in: []*tensor.Tensor{tensor.FromSlice([]int{2, 2}, []int32{1, 2, -1, -2})}},
			tensor.FromSlice([]int{2, 1}, []int32{1, -1})},
		{"uint8 sum wraps", rtCase{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []uint8{200, 100})}},
			tensor.FromSlice([]int{1}, []uint8{44})},
		{"int64 sumsquare", rtCase{op: "ReduceSumSquare", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{2, 2}, []int64{1, -2, 3, 4})}},
			tensor.FromSlice([]int{1, 2}, []int64{10, 20})},
		{"uint64 max above int64", rtCase{op: "ReduceMax", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []uint64{1, math.MaxUint64})}},
			tensor.FromSlice([]int{1}, []uint64{math.MaxUint64})},
		{"bool max is any", rtCase{op: "ReduceMax", opset: 20, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{2, 2}, []bool{false, true, false, false}), rtI64(1)}},
			tensor.FromSlice([]int{2}, []bool{true, false})},
		{"bool min is all", rtCase{op: "ReduceMin", opset: 20, attrs: []*onnx.AttributeProto{rtInt("keepdims", 0)}, in: []*tensor.Tensor{tensor.FromSlice([]int{2, 2}, []bool{true, true, false, true}), rtI64(1)}},
			tensor.FromSlice([]int{2}, []bool{true, false})},
		{"max NaN propagates", rtCase{op: "ReduceMax", opset: 13, in: []*tensor.Tensor{rtF32([]int{3}, 1, float32(math.NaN()), 2)}},
			rtF32([]int{1}, float32(math.NaN()))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := rtRun(tc.c)
			if err != nil {
				t.Fatal(err)
			}
			rtCheck(t, out[0], tc.want)
		})
	}
}

func TestReduceErrors(t *testing.T) {
	x := rtF32([]int{2, 2}, 1, 2, 3, 4)
	cases := []struct {
		name        string
		c           rtCase
		unsupported bool
	}{
		{"axis out of range", rtCase{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{x, rtI64(2)}}, false},
		{"repeated axis", rtCase{op: "ReduceMean", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 1, -1)}, in: []*tensor.Tensor{x}}, false},
		{"axes attribute after opset 13", rtCase{op: "ReduceSum", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", 1)}, in: []*tensor.Tensor{x}}, true},
		{"noop before opset 18", rtCase{op: "ReduceMean", opset: 13, attrs: []*onnx.AttributeProto{rtInt("noop_with_empty_axes", 1)}, in: []*tensor.Tensor{x}}, true},
		{"bool sum", rtCase{op: "ReduceSum", opset: 13, in: []*tensor.Tensor{tensor.FromSlice([]int{1}, []bool{true})}}, true},
		{"bool max before opset 20", rtCase{op: "ReduceMax", opset: 18, in: []*tensor.Tensor{tensor.FromSlice([]int{1}, []bool{true})}}, true},
		{"string", rtCase{op: "ReduceMax", opset: 18, in: []*tensor.Tensor{tensor.FromSlice([]int{1}, []string{"a"})}}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rtRun(tc.c)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrUnsupported) != tc.unsupported {
				t.Fatalf("error %v: unsupported=%v, want %v", err, errors.Is(err, ErrUnsupported), tc.unsupported)
			}
			if !strings.HasPrefix(err.Error(), "kernel: ") && !tc.unsupported {
				t.Fatalf("error %q does not start with the package name", err)
			}
		})
	}
}

// TestReduceMeanRowsParallel checks the threaded last-axis path on a shape
// large enough to be split, against sums written out per row.
func TestReduceMeanRowsParallel(t *testing.T) {
	const rows, cols = 300, 257
	x := make([]float32, rows*cols)
	want := make([]float32, rows)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			x[r*cols+c] = float32(r) + float32(c)/float32(cols)
		}
		// Mean of r + c/cols over c = r + (cols-1)/(2*cols).
		want[r] = float32(r) + float32(cols-1)/float32(2*cols)
	}
	out, err := rtRun(rtCase{op: "ReduceMean", opset: 13, attrs: []*onnx.AttributeProto{rtInts("axes", -1), rtInt("keepdims", 0)}, in: []*tensor.Tensor{rtF32([]int{rows, cols}, x...)}})
	if err != nil {
		t.Fatal(err)
	}
	rtCheck(t, out[0], rtF32([]int{rows}, want...))
}

// TestMatMulRowVector checks a row vector times a small matrix (the plain
// loop), with B given at run time and as a build-time constant, and a 1-D
// A, against float64 sums.
func TestMatMulRowVector(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	const k, n = 256, 10
	a, b := make([]float32, k), make([]float32, k*n)
	for i := range a {
		a[i] = float32(r.NormFloat64())
	}
	for i := range b {
		b[i] = float32(r.NormFloat64())
	}
	want := make([]float32, n)
	for j := range want {
		var s float64
		for p := range a {
			s += float64(a[p]) * float64(b[p*n+j])
		}
		want[j] = float32(s)
	}
	for _, c := range []struct {
		name   string
		ashape []int
		consts bool
	}{{"2-D", []int{1, k}, false}, {"2-D constant B", []int{1, k}, true}, {"1-D", []int{k}, true}} {
		t.Run(c.name, func(t *testing.T) {
			out, err := rtRun(rtCase{op: "MatMul", opset: 13, consts: c.consts, in: []*tensor.Tensor{rtF32(c.ashape, a...), rtF32([]int{k, n}, b...)}})
			if err != nil {
				t.Fatal(err)
			}
			shape := []int{1, n}
			if len(c.ashape) == 1 {
				shape = []int{n}
			}
			rtCheck(t, out[0], rtF32(shape, want...))
		})
	}
}
