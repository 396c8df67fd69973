package kernel

import (
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
	"google.golang.org/protobuf/proto"
)

// Test helpers of the data-movement family (prefixed dmt).

func dmtInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func dmtInts(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INTS.Enum(), Ints: v}
}

func dmtFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func dmtString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_STRING.Enum(), S: []byte(v)}
}

func dmtTensor(name string, v *tensor.Tensor) *onnx.AttributeProto {
	tp, err := tensor.ToProto(v, name)
	if err != nil {
		panic(err)
	}
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_TENSOR.Enum(), T: tp}
}

// dmtT builds a tensor from a shape and values.
func dmtT[T tensor.Elem](shape []int, v ...T) *tensor.Tensor { return tensor.FromSlice(shape, v) }

// dmtV builds a 1-D tensor.
func dmtV[T tensor.Elem](v ...T) *tensor.Tensor { return tensor.FromSlice([]int{len(v)}, v) }

// dmtCase is one kernel run: op at opset on inputs (nil for an omitted
// one), nOut outputs requested, and the expected outputs or an error
// containing errPart (wantUnsupported for ErrUnsupported at build).
type dmtCase struct {
	name            string
	op              string
	opset           int64
	attrs           []*onnx.AttributeProto
	in              []*tensor.Tensor
	consts          []bool // inputs known at build time
	nOut            int    // outputs requested (default 1)
	want            []*tensor.Tensor
	errPart         string
	wantUnsupported bool
}

// dmtBuild builds c's node; unread attributes are an error, as in the engine.
func dmtBuild(c dmtCase) (Kernel, error) {
	p := &onnx.NodeProto{OpType: proto.String(c.op), Attribute: c.attrs}
	consts := make([]*tensor.Tensor, len(c.in))
	for i, x := range c.in {
		name := ""
		if x != nil {
			name = fmt.Sprintf("x%d", i)
			if i < len(c.consts) && c.consts[i] {
				consts[i] = x
			}
		}
		p.Input = append(p.Input, name)
	}
	nOut := max(c.nOut, 1)
	for i := 0; i < nOut; i++ {
		p.Output = append(p.Output, fmt.Sprintf("y%d", i))
	}
	reg, ok := Lookup("", c.op, c.opset)
	if !ok {
		return nil, fmt.Errorf("%s opset %d not registered", c.op, c.opset)
	}
	n := NewNode(p, c.opset, consts, nil)
	k, err := reg.Build(n)
	if err == nil {
		if u := n.Unused(); len(u) > 0 {
			return nil, fmt.Errorf("attributes %v not read: %w", u, ErrUnsupported)
		}
	}
	return k, err
}

// dmtRun runs c and checks its outputs, and that the inputs are unchanged.
func dmtRun(t *testing.T, c dmtCase) {
	t.Helper()
	k, err := dmtBuild(c)
	if err == nil {
		before := make([]*tensor.Tensor, len(c.in))
		for i, x := range c.in {
			if x != nil {
				before[i] = x.Clone()
			}
		}
		var outs []*tensor.Tensor
		outs, err = k.Run(&Ctx{Threads: 2}, c.in)
		for i, x := range c.in {
			if x != nil && dmtDiff(x, before[i]) != "" {
				t.Errorf("input %d modified: %v", i, x.Data)
			}
		}
		if err == nil {
			if c.errPart != "" || c.wantUnsupported {
				t.Fatalf("no error, want one (%q)", c.errPart)
			}
			if len(outs) < len(c.want) {
				t.Fatalf("%d outputs, want %d", len(outs), len(c.want))
			}
			for i, w := range c.want {
				if w == nil {
					continue
				}
				if msg := dmtDiff(outs[i], w); msg != "" {
					t.Errorf("output %d: %s", i, msg)
				}
			}
			return
		}
	}
	switch {
	case c.wantUnsupported:
		if !errors.Is(err, ErrUnsupported) {
			t.Fatalf("error %v, want ErrUnsupported", err)
		}
	case c.errPart == "":
		t.Fatalf("unexpected error: %v", err)
	case !strings.Contains(err.Error(), c.errPart):
		t.Fatalf("error %q does not mention %q", err, c.errPart)
	case errors.Is(err, ErrUnsupported):
		t.Fatalf("error %v is ErrUnsupported, want an invalid-model error", err)
	}
}

// dmtDiff compares type, shape and elements exactly.
func dmtDiff(got, want *tensor.Tensor) string {
	if got == nil {
		return "nil output"
	}
	if err := got.Check(); err != nil {
		return err.Error()
	}
	if got.DType != want.DType {
		return fmt.Sprintf("type %v, want %v", got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return fmt.Sprintf("shape %v, want %v", got.Shape, want.Shape)
	}
	if got.Len() == 0 && want.Len() == 0 {
		return ""
	}
	if !reflect.DeepEqual(got.Data, want.Data) {
		return fmt.Sprintf("data %v, want %v", got.Data, want.Data)
	}
	return ""
}

func dmtRunAll(t *testing.T, cases []dmtCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { dmtRun(t, c) })
	}
}

func TestDropout(t *testing.T) {
	x := dmtT([]int{2, 2}, float32(1), 2, 3, 4)
	allTrue := dmtT([]int{2, 2}, true, true, true, true)
	dmtRunAll(t, []dmtCase{
		{name: "opset7 ratio", op: "Dropout", opset: 7, attrs: []*onnx.AttributeProto{dmtFloat("ratio", 0.3)}, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{x}},
		{name: "opset7 mask of T", op: "Dropout", opset: 7, in: []*tensor.Tensor{x}, nOut: 2,
			want: []*tensor.Tensor{x, dmtT([]int{2, 2}, float32(1), 1, 1, 1)}},
		{name: "opset6 is_test", op: "Dropout", opset: 6, attrs: []*onnx.AttributeProto{dmtInt("is_test", 1)}, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{x}},
		{name: "opset10 bool mask", op: "Dropout", opset: 10, in: []*tensor.Tensor{x}, nOut: 2, want: []*tensor.Tensor{x, allTrue}},
		{name: "opset13 ratio input", op: "Dropout", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("seed", 3)},
			in: []*tensor.Tensor{x, tensor.Scalar(float32(0.5))}, nOut: 2, want: []*tensor.Tensor{x, allTrue}},
		{name: "training false", op: "Dropout", opset: 13,
			in: []*tensor.Tensor{x, tensor.Scalar(float32(0.5)), tensor.Scalar(false)}, consts: []bool{false, true, true}, want: []*tensor.Tensor{x}},
		{name: "training zero ratio", op: "Dropout", opset: 13,
			in: []*tensor.Tensor{x, tensor.Scalar(float32(0)), tensor.Scalar(true)}, consts: []bool{false, true, true}, nOut: 2, want: []*tensor.Tensor{x, allTrue}},
		{name: "training ratio refused", op: "Dropout", opset: 13,
			in: []*tensor.Tensor{x, tensor.Scalar(float32(0.5)), tensor.Scalar(true)}, consts: []bool{false, true, true}, wantUnsupported: true},
		{name: "training at run time refused", op: "Dropout", opset: 13,
			in: []*tensor.Tensor{x, tensor.Scalar(float32(0.5)), tensor.Scalar(false)}, wantUnsupported: true},
	})
}

func TestOneHot(t *testing.T) {
	vals := dmtV(float32(0), 5)
	dmtRunAll(t, []dmtCase{
		{name: "default axis", op: "OneHot", opset: 11,
			in:   []*tensor.Tensor{dmtV(int64(1), -1, 3), tensor.Scalar(int64(3)), vals},
			want: []*tensor.Tensor{dmtT([]int{3, 3}, float32(0), 5, 0, 0, 0, 5, 0, 0, 0)}},
		{name: "axis 0 float indices", op: "OneHot", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)},
			in:   []*tensor.Tensor{dmtV(float32(0), 2.7), dmtV(float32(3)), dmtV(int32(-1), 1)},
			want: []*tensor.Tensor{dmtT([]int{3, 2}, int32(1), -1, -1, -1, -1, 1)}},
		{name: "2-D indices axis 1", op: "OneHot", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", 1)},
			in:   []*tensor.Tensor{dmtT([]int{2, 2}, int64(0), 1, 1, 0), tensor.Scalar(int64(2)), dmtV("n", "y")},
			want: []*tensor.Tensor{dmtT([]int{2, 2, 2}, "y", "n", "n", "y", "n", "y", "y", "n")}},
		{name: "bad values", op: "OneHot", opset: 11,
			in: []*tensor.Tensor{dmtV(int64(1)), tensor.Scalar(int64(3)), dmtV(float32(1))}, errPart: "values"},
		{name: "bad axis", op: "OneHot", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", 3)},
			in: []*tensor.Tensor{dmtV(int64(1)), tensor.Scalar(int64(3)), vals}, errPart: "axis"},
	})
}

func TestTrilu(t *testing.T) {
	x := dmtT([]int{3, 4}, int64(1), 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
	dmtRunAll(t, []dmtCase{
		{name: "upper", op: "Trilu", opset: 14, in: []*tensor.Tensor{x},
			want: []*tensor.Tensor{dmtT([]int{3, 4}, int64(1), 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12)}},
		{name: "upper k=1", op: "Trilu", opset: 14, in: []*tensor.Tensor{x, tensor.Scalar(int64(1))},
			want: []*tensor.Tensor{dmtT([]int{3, 4}, int64(0), 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12)}},
		{name: "lower k=-1", op: "Trilu", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("upper", 0)}, in: []*tensor.Tensor{x, tensor.Scalar(int64(-1))},
			want: []*tensor.Tensor{dmtT([]int{3, 4}, int64(0), 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0)}},
		{name: "lower k huge", op: "Trilu", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("upper", 0)}, in: []*tensor.Tensor{x, tensor.Scalar(int64(1) << 62)},
			want: []*tensor.Tensor{x}},
		{name: "upper k very negative, batched bool", op: "Trilu", opset: 14,
			in:   []*tensor.Tensor{dmtT([]int{2, 1, 2}, true, true, true, false), tensor.Scalar(int64(-1) << 62)},
			want: []*tensor.Tensor{dmtT([]int{2, 1, 2}, true, true, true, false)}},
		{name: "rank 1", op: "Trilu", opset: 14, in: []*tensor.Tensor{dmtV(int64(1))}, errPart: "rank"},
	})
}

func TestNonZero(t *testing.T) {
	negZero := tensor.F16(0x8000)
	dmtRunAll(t, []dmtCase{
		{name: "2-D float", op: "NonZero", opset: 13, in: []*tensor.Tensor{dmtT([]int{2, 3}, float32(0), 1, 0, -2, 0, 3)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, int64(0), 1, 1, 1, 0, 2)}},
		{name: "float16 signed zero", op: "NonZero", opset: 13, in: []*tensor.Tensor{dmtV(negZero, tensor.F16FromFloat32(2))},
			want: []*tensor.Tensor{dmtT([]int{1, 1}, int64(1))}},
		{name: "none", op: "NonZero", opset: 13, in: []*tensor.Tensor{dmtT([]int{2, 2}, false, false, false, false)},
			want: []*tensor.Tensor{dmtT[int64]([]int{2, 0})}},
		{name: "scalar", op: "NonZero", opset: 13, in: []*tensor.Tensor{tensor.Scalar(int32(7))},
			want: []*tensor.Tensor{dmtT([]int{1, 1}, int64(0))}},
	})
}

func TestCumSum(t *testing.T) {
	x := dmtT([]int{2, 3}, float64(1), 2, 3, 4, 5, 6)
	dmtRunAll(t, []dmtCase{
		{name: "axis 1", op: "CumSum", opset: 14, in: []*tensor.Tensor{x, tensor.Scalar(int32(1))},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float64(1), 3, 6, 4, 9, 15)}},
		{name: "axis 0 exclusive", op: "CumSum", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("exclusive", 1)}, in: []*tensor.Tensor{x, tensor.Scalar(int64(0))},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float64(0), 0, 0, 1, 2, 3)}},
		{name: "axis -1 reverse", op: "CumSum", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("reverse", 1)}, in: []*tensor.Tensor{x, dmtV(int64(-1))},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, float64(6), 5, 3, 15, 11, 6)}},
		{name: "reverse exclusive int32", op: "CumSum", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("reverse", 1), dmtInt("exclusive", 1)},
			in:   []*tensor.Tensor{dmtV(int32(1), 2, 3, 4), tensor.Scalar(int64(0))},
			want: []*tensor.Tensor{dmtV(int32(9), 7, 4, 0)}},
		{name: "float16", op: "CumSum", opset: 14, in: []*tensor.Tensor{dmtV(tensor.F16FromFloat32(0.5), tensor.F16FromFloat32(1.5)), tensor.Scalar(int64(0))},
			want: []*tensor.Tensor{dmtV(tensor.F16FromFloat32(0.5), tensor.F16FromFloat32(2))}},
		{name: "bad axis", op: "CumSum", opset: 14, in: []*tensor.Tensor{x, tensor.Scalar(int64(2))}, errPart: "axis"},
		{name: "bool", op: "CumSum", opset: 14, in: []*tensor.Tensor{dmtV(true), tensor.Scalar(int64(0))}, errPart: "element type"},
	})
}

func TestReverseSequence(t *testing.T) {
	// [time=3, batch=2, 2]: batch 0 reverses 3 steps, batch 1 reverses 2.
	x := dmtT([]int{3, 2, 2}, int16(0), 1, 10, 11, 2, 3, 12, 13, 4, 5, 14, 15)
	dmtRunAll(t, []dmtCase{
		{name: "time major", op: "ReverseSequence", opset: 10, in: []*tensor.Tensor{x, dmtV(int64(3), 2)},
			want: []*tensor.Tensor{dmtT([]int{3, 2, 2}, int16(4), 5, 12, 13, 2, 3, 10, 11, 0, 1, 14, 15)}},
		{name: "batch major", op: "ReverseSequence", opset: 10, attrs: []*onnx.AttributeProto{dmtInt("batch_axis", 0), dmtInt("time_axis", 1)},
			in:   []*tensor.Tensor{dmtT([]int{2, 3}, "a", "b", "c", "d", "e", "f"), dmtV(int64(1), 3)},
			want: []*tensor.Tensor{dmtT([]int{2, 3}, "a", "b", "c", "f", "e", "d")}},
		{name: "length too big", op: "ReverseSequence", opset: 10, in: []*tensor.Tensor{x, dmtV(int64(4), 2)}, errPart: "out of range"},
		{name: "same axes", op: "ReverseSequence", opset: 10, attrs: []*onnx.AttributeProto{dmtInt("batch_axis", 0)}, in: []*tensor.Tensor{x, dmtV(int64(1), 1)}, errPart: "batch_axis"},
	})
}

func TestUnique(t *testing.T) {
	dmtRunAll(t, []dmtCase{
		{name: "sorted", op: "Unique", opset: 11, nOut: 4, in: []*tensor.Tensor{dmtV(float32(2), 1, 1, 3, 4, 3)},
			want: []*tensor.Tensor{dmtV(float32(1), 2, 3, 4), dmtV(int64(1), 0, 3, 4), dmtV(int64(1), 0, 0, 2, 3, 2), dmtV(int64(2), 1, 2, 1)}},
		{name: "not sorted", op: "Unique", opset: 11, nOut: 4, attrs: []*onnx.AttributeProto{dmtInt("sorted", 0)}, in: []*tensor.Tensor{dmtV(float32(2), 1, 1, 3, 4, 3)},
			want: []*tensor.Tensor{dmtV(float32(2), 1, 3, 4), dmtV(int64(0), 1, 3, 4), dmtV(int64(0), 1, 1, 2, 3, 2), dmtV(int64(1), 2, 2, 1)}},
		{name: "axis 0 rows", op: "Unique", opset: 11, nOut: 4, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)},
			in: []*tensor.Tensor{dmtT([]int{3, 2}, int32(2), 0, 1, 5, 2, 0)},
			want: []*tensor.Tensor{dmtT([]int{2, 2}, int32(1), 5, 2, 0), dmtV(int64(1), 0),
				dmtV(int64(1), 0, 1), dmtV(int64(1), 2)}},
		{name: "axis -1 columns", op: "Unique", opset: 11, nOut: 4, attrs: []*onnx.AttributeProto{dmtInt("axis", -1)},
			in: []*tensor.Tensor{dmtT([]int{2, 3}, int64(1), 0, 1, 2, 3, 2)},
			want: []*tensor.Tensor{dmtT([]int{2, 2}, int64(0), 1, 3, 2), dmtV(int64(1), 0),
				dmtV(int64(1), 0, 1), dmtV(int64(1), 2)}},
		{name: "strings", op: "Unique", opset: 11, in: []*tensor.Tensor{dmtV("b", "a", "b")}, want: []*tensor.Tensor{dmtV("a", "b")}},
	})
}

// TestDataOpsNeverPanic runs the kernels on random small shapes with
// random, often invalid or extreme (INT64_MIN/MAX) arguments: each must
// return a result or an error, never panic.
func TestDataOpsNeverPanic(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	vals := []int64{-9223372036854775808, -5, -3, -2, -1, 0, 1, 2, 3, 4, 5, 9223372036854775807, 1 << 40}
	rv := func(n int) *tensor.Tensor {
		v := make([]int64, n)
		for i := range v {
			v[i] = vals[rng.Intn(len(vals))]
		}
		return dmtV(v...)
	}
	for it := 0; it < 10000; it++ {
		r := rng.Intn(4)
		shape := make([]int, r)
		for i := range shape {
			shape[i] = rng.Intn(4)
		}
		x := tensor.FromSlice(shape, make([]float32, tensor.NumElements(shape)))
		k := rng.Intn(4)
		cases := []dmtCase{
			{op: "Slice", opset: 13, in: []*tensor.Tensor{x, rv(k), rv(k), rv(k), rv(k)}},
			{op: "Pad", opset: 19, attrs: []*onnx.AttributeProto{dmtString("mode", []string{"constant", "reflect", "edge", "wrap"}[rng.Intn(4)])}, in: []*tensor.Tensor{x, rv(2 * k), nil, rv(k)}},
			{op: "Pad", opset: 13, attrs: []*onnx.AttributeProto{dmtString("mode", []string{"constant", "reflect", "edge"}[rng.Intn(3)])}, in: []*tensor.Tensor{x, rv(2 * r)}},
			{op: "Expand", opset: 13, in: []*tensor.Tensor{x, rv(k)}},
			{op: "Tile", opset: 13, in: []*tensor.Tensor{x, rv(r)}},
			{op: "Reshape", opset: 14, attrs: []*onnx.AttributeProto{dmtInt("allowzero", int64(rng.Intn(2)))}, in: []*tensor.Tensor{x, rv(k)}},
			{op: "Gather", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x, rv(k)}},
			{op: "Split", opset: 13, nOut: 2, attrs: []*onnx.AttributeProto{dmtInt("axis", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x, rv(2)}},
			{op: "Squeeze", opset: 13, in: []*tensor.Tensor{x, rv(k)}},
			{op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{x, rv(k)}},
			{op: "ConstantOfShape", opset: 13, in: []*tensor.Tensor{rv(k)}},
			{op: "Range", opset: 13, in: []*tensor.Tensor{tensor.Scalar(vals[rng.Intn(len(vals))]), tensor.Scalar(vals[rng.Intn(len(vals))]), tensor.Scalar(vals[rng.Intn(len(vals))])}},
			{op: "Trilu", opset: 14, in: []*tensor.Tensor{x, tensor.Scalar(vals[rng.Intn(len(vals))])}},
			{op: "OneHot", opset: 13, in: []*tensor.Tensor{rv(k), tensor.Scalar(vals[rng.Intn(len(vals))]), dmtV(float32(0), 1)}},
			{op: "CumSum", opset: 14, in: []*tensor.Tensor{x, tensor.Scalar(vals[rng.Intn(len(vals))])}},
			{op: "GatherND", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("batch_dims", int64(rng.Intn(3)))}, in: []*tensor.Tensor{x, tensor.FromSlice([]int{1, k}, rv(k).Data.([]int64))}},
			{op: "ScatterND", opset: 16, in: []*tensor.Tensor{x, tensor.FromSlice([]int{1, k}, rv(k).Data.([]int64)), x}},
			{op: "Unique", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x}},
			{op: "DepthToSpace", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x}},
			{op: "GatherElements", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x, tensor.FromSlice(shape, make([]int64, tensor.NumElements(shape)))}},
			{op: "ScatterElements", opset: 18, attrs: []*onnx.AttributeProto{dmtInt("axis", int64(rng.Intn(3)-1)), dmtString("reduction", "max")}, in: []*tensor.Tensor{x, tensor.FromSlice([]int{1}, rv(1).Data.([]int64)), dmtV(float32(1))}},
			{op: "ScatterElements", opset: 18, attrs: []*onnx.AttributeProto{dmtInt("axis", int64(rng.Intn(3)-1))}, in: []*tensor.Tensor{x, tensor.FromSlice(shape, rv(tensor.NumElements(shape)).Data.([]int64)), x}},
			{op: "Compress", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x, dmtV(true, false, true)}},
			{op: "ReverseSequence", opset: 13, in: []*tensor.Tensor{x, rv(k)}},
			{op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x, x}},
			{op: "SpaceToDepth", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x}},
			{op: "Flatten", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x}},
			{op: "Shape", opset: 15, attrs: []*onnx.AttributeProto{dmtInt("start", vals[rng.Intn(len(vals))]), dmtInt("end", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x}},
			{op: "Split", opset: 18, nOut: 3, attrs: []*onnx.AttributeProto{dmtInt("axis", int64(rng.Intn(3)-1)), dmtInt("num_outputs", 3)}, in: []*tensor.Tensor{x}},
			{op: "NonZero", opset: 13, in: []*tensor.Tensor{x}},
			{op: "EyeLike", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("k", vals[rng.Intn(len(vals))])}, in: []*tensor.Tensor{x}},
		}
		c := cases[rng.Intn(len(cases))]
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s on shape %v, inputs %v: panic %v\n%s", c.op, shape, c.in, p, debug.Stack())
				}
			}()
			kern, err := dmtBuild(c)
			if err != nil {
				return
			}
			_, _ = kern.Run(&Ctx{Threads: 2}, c.in)
		}()
	}
}
