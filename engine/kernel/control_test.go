package kernel_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// cfGraph starts a subgraph: a builder whose Graph is used as an attribute.
func cfGraph(name string) *onnxbuild.Model {
	b := onnxbuild.New(1)
	b.M.Graph.Name = &name
	return b
}

// cfInputAny declares a graph input with an element type and no shape.
func cfInputAny(b *onnxbuild.Model, name string, dt tensor.DataType) {
	b.M.Graph.Input = append(b.M.Graph.Input, onnxbuild.ValueInfo(name, dt, nil))
}

// cfInts makes an INTS attribute (possibly negative values).
func cfInts(name string, v ...int64) *onnx.AttributeProto { return onnxbuild.AttrInts(name, v...) }

// cfI64 and cfBoolT make small tensors.
func cfI64(shape []int, v ...int64) *tensor.Tensor { return tensor.FromSlice(shape, v) }
func cfBoolT(v bool) *tensor.Tensor                { return tensor.Scalar(v) }

// cfWant is one expected output.
type cfWant struct {
	shape []int
	vals  []float64
}

// cfCheck compares outputs with hand-worked values (exactly: the cases use
// small integers and sums that float32 represents exactly).
func cfCheck(t *testing.T, got map[string]*tensor.Tensor, want map[string]cfWant) {
	t.Helper()
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("output %s missing", name)
			continue
		}
		rtClose(t, name, g, w.shape, w.vals, 0)
	}
}

// ifModel: y = x + 1 (shape [3]) when cond, else Concat(x, x) (shape [6]);
// both branches read x from the main graph.
func ifModel() *onnxbuild.Model {
	then := cfGraph("then")
	then.Init("one", rtF32([]int{1}, 1))
	then.Node("Add", []string{"x", "one"}, []string{"y_then"})
	then.OutputNoShape("y_then", tensor.Float32)
	els := cfGraph("else")
	els.Node("Concat", []string{"x", "x"}, []string{"y_else"}, onnxbuild.AttrInt("axis", 0))
	els.OutputNoShape("y_else", tensor.Float32)
	m := onnxbuild.New(13)
	m.Input("cond", tensor.Bool).Input("x", tensor.Float32, 3).OutputNoShape("y", tensor.Float32)
	m.Node("If", []string{"cond"}, []string{"y"},
		onnxbuild.AttrGraph("then_branch", then.M.Graph), onnxbuild.AttrGraph("else_branch", els.M.Graph))
	return m
}

// loopModel: acc *= 2 while the body's acc < 10 (cond output) and the trip
// count allows; trip and cond are graph inputs unless omitted ("").
func loopModel(trip, cond string) *onnxbuild.Model {
	body := cfGraph("body")
	body.Input("i", tensor.Int64).Input("c_in", tensor.Bool).Input("acc_in", tensor.Float32, 1)
	body.Init("two", rtF32([]int{1}, 2))
	body.Init("ten", rtF32([]int{1}, 10))
	body.Node("Mul", []string{"acc_in", "two"}, []string{"acc_out"})
	body.Node("Less", []string{"acc_out", "ten"}, []string{"less"})
	body.Node("Squeeze", []string{"less", "zero"}, []string{"c_out"})
	body.Init("zero", cfI64([]int{1}, 0))
	body.Node("Identity", []string{"acc_out"}, []string{"scan"})
	body.Output("c_out", tensor.Bool).Output("acc_out", tensor.Float32, 1).Output("scan", tensor.Float32, 1)
	m := onnxbuild.New(13)
	if trip != "" {
		m.Input(trip, tensor.Int64)
	}
	if cond != "" {
		m.Input(cond, tensor.Bool)
	}
	m.Input("acc0", tensor.Float32, 1).OutputNoShape("acc", tensor.Float32).OutputNoShape("scans", tensor.Float32)
	m.Node("Loop", []string{trip, cond, "acc0"}, []string{"acc", "scans"}, onnxbuild.AttrGraph("body", body.M.Graph))
	return m
}

// counterModel: a loop summing the iteration numbers into s, with a trip
// count and no cond input; the body's cond output (i < 2) still ends the
// loop after iteration 2, as in ONNX's reference implementation and ONNX
// Runtime.
func counterModel() *onnxbuild.Model {
	body := cfGraph("body")
	body.Input("i", tensor.Int64).Input("c_in", tensor.Bool)
	cfInputAny(body, "s_in", tensor.Int64)
	body.Init("two", cfI64(nil, 2))
	body.Node("Add", []string{"s_in", "i"}, []string{"s_out"})
	body.Node("Less", []string{"i", "two"}, []string{"c_out"})
	body.Node("Identity", []string{"s_out"}, []string{"scan"})
	body.Output("c_out", tensor.Bool).Output("s_out", tensor.Int64).Output("scan", tensor.Int64)
	m := onnxbuild.New(13)
	m.Input("M", tensor.Int64).Input("s0", tensor.Int64).OutputNoShape("s", tensor.Int64).OutputNoShape("scans", tensor.Int64)
	m.Node("Loop", []string{"M", "", "s0"}, []string{"s", "scans"}, onnxbuild.AttrGraph("body", body.M.Graph))
	return m
}

// nestedModel: If whose then branch holds a Loop adding x (a main-graph
// value, two scopes up) to acc three times.
func nestedModel() *onnxbuild.Model {
	body := cfGraph("body")
	body.Input("i", tensor.Int64).Input("c_in", tensor.Bool).Input("acc_in", tensor.Float32, 2)
	body.Node("Add", []string{"acc_in", "x"}, []string{"acc_out"})
	body.Node("Identity", []string{"c_in"}, []string{"c_out"})
	body.Output("c_out", tensor.Bool).Output("acc_out", tensor.Float32, 2)
	then := cfGraph("then")
	then.Init("three", cfI64(nil, 3))
	then.Node("Loop", []string{"three", "", "a0"}, []string{"acc"}, onnxbuild.AttrGraph("body", body.M.Graph))
	then.OutputNoShape("acc", tensor.Float32)
	els := cfGraph("else")
	els.Node("Identity", []string{"a0"}, []string{"same"})
	els.OutputNoShape("same", tensor.Float32)
	m := onnxbuild.New(13)
	m.Input("cond", tensor.Bool).Input("x", tensor.Float32, 2).Input("a0", tensor.Float32, 2).OutputNoShape("y", tensor.Float32)
	m.Node("If", []string{"cond"}, []string{"y"},
		onnxbuild.AttrGraph("then_branch", then.M.Graph), onnxbuild.AttrGraph("else_branch", els.M.Graph))
	return m
}

// scanModel (opset 11): running sum over slices of x along axis 1, with
// the given scan attributes.
func scanModel(attrs ...*onnx.AttributeProto) *onnxbuild.Model {
	body := cfGraph("body")
	body.Input("s_in", tensor.Float32, 2).Input("xi", tensor.Float32, 2)
	body.Node("Add", []string{"s_in", "xi"}, []string{"s_out"})
	body.Node("Identity", []string{"s_out"}, []string{"y"})
	body.Output("s_out", tensor.Float32, 2).Output("y", tensor.Float32, 2)
	m := onnxbuild.New(11)
	m.Input("s0", tensor.Float32, 2).Input("x", tensor.Float32, 2, 3).OutputNoShape("s", tensor.Float32).OutputNoShape("ys", tensor.Float32)
	m.Node("Scan", []string{"s0", "x"}, []string{"s", "ys"},
		append([]*onnx.AttributeProto{onnxbuild.AttrGraph("body", body.M.Graph), onnxbuild.AttrInt("num_scan_inputs", 1)}, attrs...)...)
	return m
}

// scan8Model (opset 8): the running sum per batch entry, with optional
// sequence_lens.
func scan8Model(lens bool, attrs ...*onnx.AttributeProto) *onnxbuild.Model {
	body := cfGraph("body")
	body.Input("s_in", tensor.Float32, 1).Input("xi", tensor.Float32, 1)
	body.Node("Add", []string{"s_in", "xi"}, []string{"s_out"})
	body.Node("Identity", []string{"s_out"}, []string{"y"})
	body.Output("s_out", tensor.Float32, 1).Output("y", tensor.Float32, 1)
	m := onnxbuild.New(8)
	first := ""
	if lens {
		first = "lens"
		m.Input("lens", tensor.Int64, 2)
	}
	m.Input("s0", tensor.Float32, 2, 1).Input("x", tensor.Float32, 2, 3, 1).OutputNoShape("s", tensor.Float32).OutputNoShape("ys", tensor.Float32)
	m.Node("Scan", []string{first, "s0", "x"}, []string{"s", "ys"},
		append([]*onnx.AttributeProto{onnxbuild.AttrGraph("body", body.M.Graph), onnxbuild.AttrInt("num_scan_inputs", 1)}, attrs...)...)
	return m
}

// TestControlFlow runs If, Loop and Scan models against hand-worked
// results.
func TestControlFlow(t *testing.T) {
	x3 := rtF32([]int{3}, 1, 2, 3)
	xs := rtF32([]int{2, 3}, 1, 2, 3, 10, 20, 30)
	x8 := rtF32([]int{2, 3, 1}, 1, 2, 3, 10, 20, 30)
	zero2 := rtF32([]int{2}, 0, 0)
	zero21 := rtF32([]int{2, 1}, 0, 0)
	one := rtF32([]int{1}, 1)
	cases := []struct {
		name  string
		model *onnxbuild.Model
		feeds map[string]*tensor.Tensor
		want  map[string]cfWant
	}{
		{"if then", ifModel(), map[string]*tensor.Tensor{"cond": cfBoolT(true), "x": x3},
			map[string]cfWant{"y": {[]int{3}, []float64{2, 3, 4}}}},
		{"if else other shape", ifModel(), map[string]*tensor.Tensor{"cond": cfBoolT(false), "x": x3},
			map[string]cfWant{"y": {[]int{6}, []float64{1, 2, 3, 1, 2, 3}}}},
		{"loop while", loopModel("", "c"), map[string]*tensor.Tensor{"c": cfBoolT(true), "acc0": one},
			map[string]cfWant{"acc": {[]int{1}, []float64{16}}, "scans": {[]int{4, 1}, []float64{2, 4, 8, 16}}}},
		{"loop trip count stops first", loopModel("M", "c"), map[string]*tensor.Tensor{"M": cfI64(nil, 2), "c": cfBoolT(true), "acc0": one},
			map[string]cfWant{"acc": {[]int{1}, []float64{4}}, "scans": {[]int{2, 1}, []float64{2, 4}}}},
		{"loop cond stops first", loopModel("M", "c"), map[string]*tensor.Tensor{"M": cfI64(nil, 100), "c": cfBoolT(true), "acc0": one},
			map[string]cfWant{"acc": {[]int{1}, []float64{16}}, "scans": {[]int{4, 1}, []float64{2, 4, 8, 16}}}},
		{"loop cond false at start", loopModel("M", "c"), map[string]*tensor.Tensor{"M": cfI64(nil, 5), "c": cfBoolT(false), "acc0": one},
			map[string]cfWant{"acc": {[]int{1}, []float64{1}}, "scans": {[]int{0, 1}, nil}}},
		{"loop zero trips", loopModel("M", ""), map[string]*tensor.Tensor{"M": cfI64(nil, 0), "acc0": one},
			map[string]cfWant{"acc": {[]int{1}, []float64{1}}, "scans": {[]int{0, 1}, nil}}},
		{"loop body cond without cond input", counterModel(), map[string]*tensor.Tensor{"M": cfI64(nil, 10), "s0": cfI64(nil, 5)},
			map[string]cfWant{"s": {[]int{}, []float64{8}}, "scans": {[]int{3}, []float64{5, 6, 8}}}},
		{"loop trip count before body cond", counterModel(), map[string]*tensor.Tensor{"M": cfI64(nil, 2), "s0": cfI64(nil, 5)},
			map[string]cfWant{"s": {[]int{}, []float64{6}}, "scans": {[]int{2}, []float64{5, 6}}}},
		{"nested loop in if", nestedModel(), map[string]*tensor.Tensor{"cond": cfBoolT(true), "x": rtF32([]int{2}, 1, 2), "a0": rtF32([]int{2}, 10, 20)},
			map[string]cfWant{"y": {[]int{2}, []float64{13, 26}}}},
		{"nested else", nestedModel(), map[string]*tensor.Tensor{"cond": cfBoolT(false), "x": rtF32([]int{2}, 1, 2), "a0": rtF32([]int{2}, 10, 20)},
			map[string]cfWant{"y": {[]int{2}, []float64{10, 20}}}},
		{"scan axis 1", scanModel(cfInts("scan_input_axes", 1), cfInts("scan_output_axes", 1)), map[string]*tensor.Tensor{"s0": zero2, "x": xs},
			map[string]cfWant{"s": {[]int{2}, []float64{6, 60}}, "ys": {[]int{2, 3}, []float64{1, 3, 6, 10, 30, 60}}}},
		{"scan reverse input", scanModel(cfInts("scan_input_axes", -1), cfInts("scan_input_directions", 1)), map[string]*tensor.Tensor{"s0": zero2, "x": xs},
			map[string]cfWant{"s": {[]int{2}, []float64{6, 60}}, "ys": {[]int{3, 2}, []float64{3, 30, 5, 50, 6, 60}}}},
		{"scan reverse both, output axis -1", scanModel(cfInts("scan_input_axes", 1), cfInts("scan_input_directions", 1),
			cfInts("scan_output_axes", -1), cfInts("scan_output_directions", 1)), map[string]*tensor.Tensor{"s0": zero2, "x": xs},
			map[string]cfWant{"s": {[]int{2}, []float64{6, 60}}, "ys": {[]int{2, 3}, []float64{6, 5, 3, 60, 50, 30}}}},
		{"scan8", scan8Model(false), map[string]*tensor.Tensor{"s0": zero21, "x": x8},
			map[string]cfWant{"s": {[]int{2, 1}, []float64{6, 60}}, "ys": {[]int{2, 3, 1}, []float64{1, 3, 6, 10, 30, 60}}}},
		{"scan8 sequence_lens", scan8Model(true), map[string]*tensor.Tensor{"lens": cfI64([]int{2}, 3, 1), "s0": zero21, "x": x8},
			map[string]cfWant{"s": {[]int{2, 1}, []float64{6, 10}}, "ys": {[]int{2, 3, 1}, []float64{1, 3, 6, 10, 0, 0}}}},
		{"scan8 reverse with lens", scan8Model(true, cfInts("directions", 1)), map[string]*tensor.Tensor{"lens": cfI64([]int{2}, 2, 3), "s0": zero21, "x": x8},
			map[string]cfWant{"s": {[]int{2, 1}, []float64{3, 60}}, "ys": {[]int{2, 3, 1}, []float64{2, 3, 0, 30, 50, 60}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := rtRun(c.model, c.feeds)
			if err != nil {
				t.Fatal(err)
			}
			cfCheck(t, got, c.want)
		})
	}
}

// TestControlFlowErrors checks refusals and run-time errors.
func TestControlFlowErrors(t *testing.T) {
	seqBranch := func() *onnxbuild.Model {
		then := cfGraph("then")
		then.Node("SequenceEmpty", nil, []string{"s"})
		vi := &onnx.ValueInfoProto{Name: pstr("s"), Type: &onnx.TypeProto{Value: &onnx.TypeProto_SequenceType{SequenceType: &onnx.TypeProto_Sequence{}}}}
		then.M.Graph.Output = append(then.M.Graph.Output, vi)
		m := onnxbuild.New(13)
		m.Input("cond", tensor.Bool).OutputNoShape("y", tensor.Float32)
		m.Node("If", []string{"cond"}, []string{"y"}, onnxbuild.AttrGraph("then_branch", then.M.Graph), onnxbuild.AttrGraph("else_branch", then.M.Graph))
		return m
	}
	cases := []struct {
		name        string
		model       *onnxbuild.Model
		feeds       map[string]*tensor.Tensor
		unsupported bool
		msg         string
	}{
		{"loop without M and cond", loopModel("", ""), map[string]*tensor.Tensor{"acc0": rtF32([]int{1}, 1)}, false, "never end"},
		{"if cond not bool", func() *onnxbuild.Model {
			m := ifModel()
			m.M.Graph.Input[0] = onnxbuild.ValueInfo("cond", tensor.Int64, []int{})
			return m
		}(), map[string]*tensor.Tensor{"cond": cfI64(nil, 1), "x": rtF32([]int{3}, 1, 2, 3)}, false, "bool"},
		{"if cond two values", func() *onnxbuild.Model {
			m := ifModel()
			m.M.Graph.Input[0] = onnxbuild.ValueInfo("cond", tensor.Bool, []int{2})
			return m
		}(), map[string]*tensor.Tensor{"cond": tensor.FromSlice([]int{2}, []bool{true, false}), "x": rtF32([]int{3}, 1, 2, 3)}, false, "one element"},
		{"sequence branch", seqBranch(), map[string]*tensor.Tensor{"cond": cfBoolT(true)}, true, "sequence"},
		{"scan8 lens out of range", scan8Model(true), map[string]*tensor.Tensor{"lens": cfI64([]int{2}, 4, 1), "s0": rtF32([]int{2, 1}, 0, 0), "x": rtF32([]int{2, 3, 1}, make([]float32, 6)...)}, false, "sequence_lens"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := rtRun(c.model, c.feeds)
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.unsupported != errors.Is(err, kernel.ErrUnsupported):
				t.Fatalf("error %v: unsupported = %v, want %v", err, !c.unsupported, c.unsupported)
			case c.msg != "" && !strings.Contains(err.Error(), c.msg):
				t.Fatalf("error %v does not mention %q", err, c.msg)
			}
		})
	}
}
