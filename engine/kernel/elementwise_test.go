package kernel

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
	"google.golang.org/protobuf/proto"
)

// Test helpers of the elementwise family (prefixed ew to stay clear of other
// files' helpers in this package).

func ewInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func ewFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func ewString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// ewBuild builds op at the given opset with nIn inputs, failing on unread
// attributes as the engine would.
func ewBuild(t *testing.T, op string, opset int64, nIn int, attrs ...*onnx.AttributeProto) (Kernel, error) {
	t.Helper()
	p := &onnx.NodeProto{OpType: proto.String(op), Output: []string{"y"}, Attribute: attrs}
	for i := 0; i < nIn; i++ {
		p.Input = append(p.Input, fmt.Sprintf("x%d", i))
	}
	reg, ok := Lookup("", op, opset)
	if !ok {
		t.Fatalf("%s opset %d not registered", op, opset)
	}
	n := NewNode(p, opset, nil, nil)
	k, err := reg.Build(n)
	if err == nil {
		if u := n.Unused(); len(u) > 0 {
			t.Fatalf("%s: attributes %v not read", op, u)
		}
	}
	return k, err
}

// ewRun builds and runs op on the inputs and returns its single output.
func ewRun(t *testing.T, op string, opset int64, in []*tensor.Tensor, attrs ...*onnx.AttributeProto) (*tensor.Tensor, error) {
	t.Helper()
	k, err := ewBuild(t, op, opset, len(in), attrs...)
	if err != nil {
		return nil, err
	}
	before := make([]string, len(in))
	for i, x := range in {
		if x != nil {
			before[i] = fmt.Sprint(x.Data)
		}
	}
	out, err := k.Run(&Ctx{Threads: 2}, in)
	for i, x := range in {
		if x != nil && fmt.Sprint(x.Data) != before[i] {
			t.Fatalf("%s modified input %d", op, i)
		}
	}
	if err != nil {
		return nil, err
	}
	if len(out) != 1 || out[0] == nil {
		t.Fatalf("%s: %d outputs", op, len(out))
	}
	if err := out[0].Check(); err != nil {
		t.Fatalf("%s: output: %v", op, err)
	}
	return out[0], nil
}

// ewT is a shorthand for tensor.FromSlice.
func ewT[T tensor.Elem](shape []int, data ...T) *tensor.Tensor { return tensor.FromSlice(shape, data) }

// ewSame reports whether got has want's type, shape and values; floats
// compare within a relative 1e-6 (NaN equals NaN).
func ewSame(got, want *tensor.Tensor) string {
	if got.DType != want.DType || fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return fmt.Sprintf("got %v, want %v", got, want)
	}
	if g, ok := got.Data.([]float32); ok {
		w := want.Data.([]float32)
		for i := range w {
			if !closeTo(float64(g[i]), float64(w[i]), 1e-6) {
				return fmt.Sprintf("element %d: got %v, want %v (all: %v)", i, g[i], w[i], g)
			}
		}
		return ""
	}
	if g, ok := got.Data.([]float64); ok {
		w := want.Data.([]float64)
		for i := range w {
			if !closeTo(g[i], w[i], 1e-12) {
				return fmt.Sprintf("element %d: got %v, want %v (all: %v)", i, g[i], w[i], g)
			}
		}
		return ""
	}
	if fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
		return fmt.Sprintf("got %v, want %v", got.Data, want.Data)
	}
	return ""
}

func closeTo(g, w, rel float64) bool {
	if math.IsNaN(w) {
		return math.IsNaN(g)
	}
	if math.IsInf(w, 0) {
		return g == w
	}
	return math.Abs(g-w) <= rel*math.Max(1, math.Abs(w))
}

// ewCase is one table entry: an operator run on inputs with an expected
// output, or an expected error (errSub a substring of it; unsupported when
// the error must wrap ErrUnsupported).
type ewCase struct {
	name        string
	op          string
	opset       int64
	attrs       []*onnx.AttributeProto
	in          []*tensor.Tensor
	want        *tensor.Tensor
	errSub      string
	unsupported bool
}

func runEwCases(t *testing.T, cases []ewCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ewRun(t, tc.op, tc.opset, tc.in, tc.attrs...)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got %v %v, want an error", got, got.Data)
				}
				if tc.unsupported != errors.Is(err, ErrUnsupported) {
					t.Fatalf("error %v: unsupported is %v, want %v", err, !tc.unsupported, tc.unsupported)
				}
				if !strings.Contains(err.Error(), tc.errSub) {
					t.Fatalf("error %q does not mention %q", err, tc.errSub)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := ewSame(got, tc.want); msg != "" {
				t.Fatal(msg)
			}
		})
	}
}

func TestArithmetic(t *testing.T) {
	f16 := func(vs ...float32) *tensor.Tensor {
		h := make([]tensor.F16, len(vs))
		for i, v := range vs {
			h[i] = tensor.F16FromFloat32(v)
		}
		return tensor.FromSlice([]int{len(vs)}, h)
	}
	nan := float32(math.NaN())
	runEwCases(t, []ewCase{
		{name: "add row broadcast", op: "Add", opset: 14,
			in:   []*tensor.Tensor{ewT([]int{2, 3}, float32(1), 2, 3, 4, 5, 6), ewT([]int{3}, float32(10), 20, 30)},
			want: ewT([]int{2, 3}, float32(11), 22, 33, 14, 25, 36)},
		{name: "add column broadcast", op: "Add", opset: 14,
			in:   []*tensor.Tensor{ewT([]int{2, 1}, float64(1), 2), ewT([]int{1, 3}, float64(10), 20, 30)},
			want: ewT([]int{2, 3}, float64(11), 21, 31, 12, 22, 32)},
		{name: "sub scalar first", op: "Sub", opset: 14,
			in:   []*tensor.Tensor{ewT(nil, int32(10)), ewT([]int{3}, int32(1), 2, 13)},
			want: ewT([]int{3}, int32(9), 8, -3)},
		{name: "sub uint8 wraps", op: "Sub", opset: 14,
			in:   []*tensor.Tensor{ewT([]int{2}, uint8(1), 200), ewT([]int{2}, uint8(2), 100)},
			want: ewT([]int{2}, uint8(255), 100)},
		{name: "mul int16", op: "Mul", opset: 14,
			in:   []*tensor.Tensor{ewT([]int{2, 2}, int16(1), -2, 3, -4), ewT([]int{2, 1}, int16(3), -5)},
			want: ewT([]int{2, 2}, int16(3), -6, -15, 20)},
		{name: "div int truncates", op: "Div", opset: 14,
			in:   []*tensor.Tensor{ewT([]int{4}, int32(7), -7, 7, -7), ewT([]int{4}, int32(2), 2, -2, -2)},
			want: ewT([]int{4}, int32(3), -3, -3, 3)},
		{name: "div float by zero", op: "Div", opset: 14,
			in:   []*tensor.Tensor{ewT([]int{3}, float32(1), -1, 0), ewT(nil, float32(0))},
			want: ewT([]int{3}, float32(math.Inf(1)), float32(math.Inf(-1)), nan)},
		{name: "div int by zero", op: "Div", opset: 14,
			in:     []*tensor.Tensor{ewT([]int{2}, int64(1), 2), ewT([]int{2}, int64(1), 0)},
			errSub: "division by zero"},
		{name: "add float16", op: "Add", opset: 14,
			in: []*tensor.Tensor{f16(1.5, 0.25), f16(2.25, 1024)}, want: f16(3.75, 1024)}, // 1024.25 rounds to 1024 in float16
		{name: "type mismatch", op: "Add", opset: 14,
			in:     []*tensor.Tensor{ewT([]int{1}, float32(1)), ewT([]int{1}, float64(1))},
			errSub: "input 1 is float64"},
		{name: "shape mismatch", op: "Mul", opset: 14,
			in:     []*tensor.Tensor{ewT([]int{2}, float32(1), 2), ewT([]int{3}, float32(1), 2, 3)},
			errSub: "cannot be broadcast"},
		{name: "bool unsupported", op: "Add", opset: 14,
			in:     []*tensor.Tensor{ewT([]int{1}, true), ewT([]int{1}, false)},
			errSub: "bool", unsupported: true},
		{name: "legacy axis", op: "Add", opset: 6, attrs: []*onnx.AttributeProto{ewInt("broadcast", 1), ewInt("axis", 0)},
			in:   []*tensor.Tensor{ewT([]int{2, 2}, float32(1), 2, 3, 4), ewT([]int{2}, float32(10), 20)},
			want: ewT([]int{2, 2}, float32(11), 12, 23, 24)},
		{name: "legacy no broadcast", op: "Add", opset: 6,
			in:     []*tensor.Tensor{ewT([]int{2, 2}, float32(1), 2, 3, 4), ewT([]int{2}, float32(10), 20)},
			errSub: "broadcast is 0"},
		{name: "empty", op: "Add", opset: 14,
			in:   []*tensor.Tensor{ewT([]int{0, 3}, []float32{}...), ewT([]int{3}, float32(1), 2, 3)},
			want: ewT([]int{0, 3}, []float32{}...)},
	})
}

func TestVariadic(t *testing.T) {
	nan := math.NaN()
	runEwCases(t, []ewCase{
		{name: "max three broadcast", op: "Max", opset: 13,
			in: []*tensor.Tensor{ewT([]int{2}, int32(1), 5), ewT([]int{2, 1}, int32(3), 0), ewT([]int{1}, int32(2))},
			// row 0: max(1,3,2), max(5,3,2); row 1: max(1,0,2), max(5,0,2)
			want: ewT([]int{2, 2}, int32(3), 5, 2, 5)},
		{name: "min nan propagates", op: "Min", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{3}, 1.0, nan, 3), ewT([]int{3}, 2.0, 0, nan)},
			want: ewT([]int{3}, 1.0, nan, nan)},
		{name: "sum three", op: "Sum", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{2}, float32(1), 2), ewT([]int{2}, float32(3), 4), ewT(nil, float32(0.5))},
			want: ewT([]int{2}, float32(4.5), 6.5)},
		{name: "sum one", op: "Sum", opset: 13,
			in: []*tensor.Tensor{ewT([]int{2}, float32(1), 2)}, want: ewT([]int{2}, float32(1), 2)},
		{name: "mean", op: "Mean", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{2}, float32(1), 2), ewT([]int{2}, float32(3), 4), ewT([]int{2}, float32(5), 9)},
			want: ewT([]int{2}, float32(3), 5)},
		{name: "mean int unsupported", op: "Mean", opset: 13,
			in:     []*tensor.Tensor{ewT([]int{1}, int32(1)), ewT([]int{1}, int32(2))},
			errSub: "int32", unsupported: true},
		{name: "max uint64", op: "Max", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{2}, uint64(1<<63), 3), ewT([]int{2}, uint64(5), 4)},
			want: ewT([]int{2}, uint64(1<<63), 4)},
	})
}

func TestPowModPRelu(t *testing.T) {
	third := float32(1) / 3
	runEwCases(t, []ewCase{
		{name: "pow int exact", op: "Pow", opset: 15,
			in:   []*tensor.Tensor{ewT([]int{5}, int32(2), 2, 2, -3, 7), ewT([]int{5}, int32(0), 1, 10, 3, -1)},
			want: ewT([]int{5}, int32(1), 2, 1024, -27, 0)},
		{name: "pow int64 large", op: "Pow", opset: 15,
			in:   []*tensor.Tensor{ewT([]int{2}, int64(3), -1), ewT([]int{2}, int64(39), -3)},
			want: ewT([]int{2}, int64(4052555153018976267), -1)},
		{name: "pow float base int exponent", op: "Pow", opset: 15,
			in:   []*tensor.Tensor{ewT([]int{2}, float32(2), 3), ewT([]int{2}, int64(3), -1)},
			want: ewT([]int{2}, float32(8), third)},
		{name: "pow int base float exponent", op: "Pow", opset: 15,
			in:   []*tensor.Tensor{ewT([]int{3}, int32(3), 4, -8), ewT([]int{3}, float32(0.5), 0.5, 2)},
			want: ewT([]int{3}, int32(1), 2, 64)},
		{name: "pow float broadcast", op: "Pow", opset: 15,
			in:   []*tensor.Tensor{ewT([]int{2, 2}, float64(4), 9, 16, 25), ewT([]int{2}, 0.5, 1)},
			want: ewT([]int{2, 2}, float64(2), 9, 4, 25)},
		{name: "pow square", op: "Pow", opset: 15,
			in:   []*tensor.Tensor{ewT([]int{3}, float32(1.5), -2, 0), ewT(nil, float32(2))},
			want: ewT([]int{3}, float32(2.25), 4, 0)},
		{name: "pow types must match before 12", op: "Pow", opset: 7,
			in:     []*tensor.Tensor{ewT([]int{1}, float32(2)), ewT([]int{1}, int64(2))},
			errSub: "input 1 is int64"},
		// Python: [-4 % 2, 7 % -3, 5 % 8, 4 % -2, -7 % 3, 8 % 5]
		{name: "mod int", op: "Mod", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{6}, int32(-4), 7, 5, 4, -7, 8), ewT([]int{6}, int32(2), -3, 8, -2, 3, 5)},
			want: ewT([]int{6}, int32(0), -2, 5, 0, 2, 3)},
		// C fmod keeps the dividend's sign.
		{name: "mod int fmod", op: "Mod", opset: 13, attrs: []*onnx.AttributeProto{ewInt("fmod", 1)},
			in:   []*tensor.Tensor{ewT([]int{6}, int64(-4), 7, 5, 4, -7, 8), ewT([]int{6}, int64(2), -3, 8, -2, 3, 5)},
			want: ewT([]int{6}, int64(0), 1, 5, 0, -1, 3)},
		{name: "mod float fmod", op: "Mod", opset: 13, attrs: []*onnx.AttributeProto{ewInt("fmod", 1)},
			in:   []*tensor.Tensor{ewT([]int{3}, float32(-5.5), 5.5, 7), ewT([]int{3}, float32(2), 2, -2.5)},
			want: ewT([]int{3}, float32(-1.5), 1.5, 2)},
		{name: "mod float python", op: "Mod", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{3}, -5.5, 5.5, 7), ewT([]int{3}, 2.0, 2, -2.5)},
			want: ewT([]int{3}, 0.5, 1.5, -0.5)},
		{name: "mod uint8 broadcast", op: "Mod", opset: 13,
			in:   []*tensor.Tensor{ewT([]int{3}, uint8(200), 7, 9), ewT(nil, uint8(7))},
			want: ewT([]int{3}, uint8(4), 0, 2)},
		{name: "mod by zero", op: "Mod", opset: 13,
			in:     []*tensor.Tensor{ewT([]int{1}, int8(3)), ewT([]int{1}, int8(0))},
			errSub: "by zero"},
		{name: "mod bad fmod", op: "Mod", opset: 13, attrs: []*onnx.AttributeProto{ewInt("fmod", 2)},
			in:     []*tensor.Tensor{ewT([]int{1}, int8(3)), ewT([]int{1}, int8(1))},
			errSub: "fmod is 2"},
		{name: "prelu scalar slope", op: "PRelu", opset: 16,
			in:   []*tensor.Tensor{ewT([]int{2, 2}, float32(-2), 3, -4, 5), ewT([]int{1}, float32(0.5))},
			want: ewT([]int{2, 2}, float32(-1), 3, -2, 5)},
		{name: "prelu channel slope", op: "PRelu", opset: 16,
			in:   []*tensor.Tensor{ewT([]int{1, 2, 2}, float32(-2), -3, -4, 5), ewT([]int{2, 1}, float32(0.5), 2)},
			want: ewT([]int{1, 2, 2}, float32(-1), -1.5, -8, 5)},
		{name: "prelu legacy channel", op: "PRelu", opset: 6,
			in:   []*tensor.Tensor{ewT([]int{1, 2, 3}, float32(-2), -3, 1, -4, 5, -6), ewT([]int{2}, float32(0.5), 2)},
			want: ewT([]int{1, 2, 3}, float32(-1), -1.5, 1, -8, 5, -12)},
		{name: "prelu int64", op: "PRelu", opset: 16,
			in:   []*tensor.Tensor{ewT([]int{3}, int64(-2), 3, -4), ewT([]int{3}, int64(3), 3, -1)},
			want: ewT([]int{3}, int64(-6), 3, 4)},
		{name: "prelu slope too big", op: "PRelu", opset: 16,
			in:     []*tensor.Tensor{ewT([]int{2}, float32(-2), 3), ewT([]int{2, 2}, float32(1), 2, 3, 4)},
			errSub: "does not broadcast"},
	})
}

func TestBitwiseWhere(t *testing.T) {
	runEwCases(t, []ewCase{
		{name: "shift left", op: "BitShift", opset: 11, attrs: []*onnx.AttributeProto{ewString("direction", "LEFT")},
			in:   []*tensor.Tensor{ewT([]int{4}, uint8(16), 4, 1, 255), ewT([]int{4}, uint8(1), 2, 8, 1)},
			want: ewT([]int{4}, uint8(32), 16, 0, 254)},
		{name: "shift right", op: "BitShift", opset: 11, attrs: []*onnx.AttributeProto{ewString("direction", "RIGHT")},
			in:   []*tensor.Tensor{ewT([]int{3}, uint64(16), 4, 1<<63), ewT(nil, uint64(2))},
			want: ewT([]int{3}, uint64(4), 1, 1<<61)},
		{name: "shift signed unsupported", op: "BitShift", opset: 11, attrs: []*onnx.AttributeProto{ewString("direction", "LEFT")},
			in:     []*tensor.Tensor{ewT([]int{1}, int32(1)), ewT([]int{1}, int32(1))},
			errSub: "int32", unsupported: true},
		{name: "shift bad direction", op: "BitShift", opset: 11, attrs: []*onnx.AttributeProto{ewString("direction", "UP")},
			in: []*tensor.Tensor{ewT([]int{1}, uint8(1)), ewT([]int{1}, uint8(1))}, errSub: "direction"},
		{name: "and", op: "BitwiseAnd", opset: 18,
			in:   []*tensor.Tensor{ewT([]int{2}, int16(0x0ff0), -1), ewT([]int{2}, int16(0x00ff), 0x1234)},
			want: ewT([]int{2}, int16(0x00f0), 0x1234)},
		{name: "or", op: "BitwiseOr", opset: 18,
			in:   []*tensor.Tensor{ewT([]int{2}, uint8(0xf0), 1), ewT(nil, uint8(0x0c))},
			want: ewT([]int{2}, uint8(0xfc), 0x0d)},
		{name: "xor", op: "BitwiseXor", opset: 18,
			in:   []*tensor.Tensor{ewT([]int{2}, int32(5), -1), ewT([]int{2}, int32(3), 0)},
			want: ewT([]int{2}, int32(6), -1)},
		{name: "not", op: "BitwiseNot", opset: 18,
			in: []*tensor.Tensor{ewT([]int{3}, int8(0), -1, 5)}, want: ewT([]int{3}, int8(-1), 0, -6)},
		{name: "not float unsupported", op: "BitwiseNot", opset: 18,
			in: []*tensor.Tensor{ewT([]int{1}, float32(1))}, errSub: "float32", unsupported: true},
		{name: "where broadcast", op: "Where", opset: 16,
			in:   []*tensor.Tensor{ewT([]int{2, 1}, true, false), ewT([]int{2}, float32(1), 2), ewT(nil, float32(9))},
			want: ewT([]int{2, 2}, float32(1), 2, 9, 9)},
		{name: "where strings", op: "Where", opset: 16,
			in:   []*tensor.Tensor{ewT([]int{3}, true, false, true), ewT([]int{3}, "a", "b", "c"), ewT([]int{3}, "x", "y", "z")},
			want: ewT([]int{3}, "a", "y", "c")},
		{name: "where cond not bool", op: "Where", opset: 16,
			in:     []*tensor.Tensor{ewT([]int{1}, int32(1)), ewT([]int{1}, int32(1)), ewT([]int{1}, int32(2))},
			errSub: "want bool"},
	})
}

// TestArithLarge runs a broadcast large enough to be split over threads
// (and mid-row) against a per-element computation from indices.
func TestArithLarge(t *testing.T) {
	const n, c, hw = 3, 5, 5000
	a := make([]float32, n*c*hw)
	for i := range a {
		a[i] = float32(i%97) - 40
	}
	b := []float32{1, 2, 3, 4, 5}
	out, err := ewRun(t, "Mul", 14, []*tensor.Tensor{tensor.FromSlice([]int{n, c, hw}, a), tensor.FromSlice([]int{c, 1}, b)})
	if err != nil {
		t.Fatal(err)
	}
	o := out.Data.([]float32)
	for i := range o {
		ch := i / hw % c
		if want := a[i] * b[ch]; o[i] != want {
			t.Fatalf("element %d: got %v, want %v", i, o[i], want)
		}
	}
}

func BenchmarkAddSame(b *testing.B)    { benchAdd(b, []int{1 << 20}, []int{1 << 20}) }
func BenchmarkAddChannel(b *testing.B) { benchAdd(b, []int{1, 64, 128, 128}, []int{64, 1, 1}) }
func BenchmarkAddScalar(b *testing.B)  { benchAdd(b, []int{1 << 20}, nil) }

func benchAdd(b *testing.B, sa, sb []int) {
	x, y := tensor.New(tensor.Float32, sa...), tensor.New(tensor.Float32, sb...)
	p := &onnx.NodeProto{OpType: proto.String("Add"), Input: []string{"a", "b"}, Output: []string{"y"}}
	k, err := buildArith(opAdd)(NewNode(p, 14, nil, nil))
	if err != nil {
		b.Fatal(err)
	}
	ctx := &Ctx{Threads: 1}
	b.SetBytes(int64(x.Len() * 4))
	for b.Loop() {
		if _, err := k.Run(ctx, []*tensor.Tensor{x, y}); err != nil {
			b.Fatal(err)
		}
	}
}
