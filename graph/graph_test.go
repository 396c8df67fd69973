package graph

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func ptr[T any](v T) *T { return &v }

// vi declares a float tensor value.
func vi(name string, dims ...int64) *onnx.ValueInfoProto {
	return &onnx.ValueInfoProto{Name: ptr(name), Type: TensorType(tensor.Float32, dims...).toProto()}
}

// viAny declares a float value of unknown shape.
func viAny(name string) *onnx.ValueInfoProto {
	return &onnx.ValueInfoProto{Name: ptr(name), Type: Type{Elem: tensor.Float32}.toProto()}
}

// initFloat makes a float initializer proto.
func initFloat(t *testing.T, name string, shape []int, data []float32) *onnx.TensorProto {
	t.Helper()
	tp, err := tensor.ToProto(tensor.FromSlice(shape, data), name)
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// newModel wraps nodes in a model of opset 13.
func newModel(nodes []*onnx.NodeProto, inputs, outputs []*onnx.ValueInfoProto, inits []*onnx.TensorProto) *onnx.ModelProto {
	return &onnx.ModelProto{
		IrVersion:   ptr(int64(8)),
		OpsetImport: []*onnx.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(int64(13))}},
		Graph: &onnx.GraphProto{
			Name: ptr("g"), Node: nodes, Input: inputs, Output: outputs, Initializer: inits,
		},
	}
}

// allNames lists every value name of g (not subgraphs).
func allNames(g *Graph) []string {
	set := map[string]bool{}
	for _, n := range g.nodes {
		for _, s := range n.proto.Input {
			set[s] = true
		}
		for _, s := range n.proto.Output {
			set[s] = true
		}
		for _, s := range n.ImplicitInputs() {
			set[s] = true
		}
	}
	for _, s := range g.Inputs() {
		set[s] = true
	}
	for _, s := range g.Initializers() {
		set[s] = true
	}
	delete(set, "")
	var out []string
	for s := range set {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func nodeNames(ns []*Node) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.String()
	}
	return out
}

// checkIndexes compares the indexes kept up to date by mutations with those
// of a fresh view built from the written-back model.
func checkIndexes(t *testing.T, g *Graph) {
	t.Helper()
	m := proto.Clone(g.ToProto()).(*onnx.ModelProto)
	fresh, err := New(m)
	if err != nil {
		t.Fatalf("fresh view: %v", err)
	}
	var cmp func(a, b *Graph, path string)
	cmp = func(a, b *Graph, path string) {
		if !reflect.DeepEqual(nodeNames(a.nodes), nodeNames(b.nodes)) {
			t.Fatalf("%s: node order %v, fresh %v", path, nodeNames(a.nodes), nodeNames(b.nodes))
		}
		for _, name := range allNames(b) {
			pa, pb := a.Producer(name), b.Producer(name)
			if (pa == nil) != (pb == nil) || (pa != nil && pa.String() != pb.String()) {
				t.Errorf("%s: Producer(%q) = %v, fresh %v", path, name, pa, pb)
			}
			ca, cb := nodeNames(a.Consumers(name)), nodeNames(b.Consumers(name))
			if !reflect.DeepEqual(ca, cb) {
				t.Errorf("%s: Consumers(%q) = %v, fresh %v", path, name, ca, cb)
			}
			if a.IsConstant(name) != b.IsConstant(name) {
				t.Errorf("%s: IsConstant(%q) = %v, fresh %v", path, name, a.IsConstant(name), b.IsConstant(name))
			}
		}
		for i, n := range a.nodes {
			if n.index != i {
				t.Errorf("%s: node %s has index %d at position %d", path, n, n.index, i)
			}
			for k, s := range n.subgraphs {
				cmp(s, b.nodes[i].subgraphs[k], path+"/"+n.String())
			}
		}
	}
	cmp(g, fresh, g.Name())
}

// chainModel: x -> A(Relu) -> a -> B(Mul a*w) -> b -> C(Add b+k) -> y, where
// w is an initializer and k a Constant node; plus an unused initializer and
// a dead node.
func chainModel(t *testing.T) *onnx.ModelProto {
	return newModel(
		[]*onnx.NodeProto{
			MakeNode("Relu", "A", []string{"x"}, []string{"a"}),
			MakeNode("Constant", "K", nil, []string{"k"}, AttrFloat("value_float", 2)),
			MakeNode("Mul", "B", []string{"a", "w"}, []string{"b"}),
			MakeNode("Add", "C", []string{"b", "k"}, []string{"y"}),
			MakeNode("Neg", "D", []string{"a"}, []string{"dead"}),
		},
		[]*onnx.ValueInfoProto{vi("x", 2, 3)},
		[]*onnx.ValueInfoProto{vi("y", 2, 3)},
		[]*onnx.TensorProto{
			initFloat(t, "w", []int{3}, []float32{1, 2, 3}),
			initFloat(t, "unused", []int{1}, []float32{0}),
		},
	)
}

func TestProducerConsumers(t *testing.T) {
	g, err := New(chainModel(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value     string
		producer  string
		consumers []string
	}{
		{"x", "", []string{"A"}},
		{"a", "A", []string{"B", "D"}},
		{"w", "", []string{"B"}},
		{"k", "K", []string{"C"}},
		{"y", "C", []string{}},
		{"nothing", "", []string{}},
	}
	for _, tc := range tests {
		p := g.Producer(tc.value)
		got := ""
		if p != nil {
			got = p.Name()
		}
		if got != tc.producer {
			t.Errorf("Producer(%q) = %q, want %q", tc.value, got, tc.producer)
		}
		if c := nodeNames(g.Consumers(tc.value)); !reflect.DeepEqual(c, tc.consumers) {
			t.Errorf("Consumers(%q) = %v, want %v", tc.value, c, tc.consumers)
		}
	}
}

func TestConstants(t *testing.T) {
	sparse := &onnx.SparseTensorProto{
		Values:  initFloat(t, "", []int{1}, []float32{5}),
		Indices: &onnx.TensorProto{DataType: ptr(int32(tensor.Int64)), Dims: []int64{1}, Int64Data: []int64{2}},
		Dims:    []int64{4},
	}
	tAttr := AttrTensor("value", initFloat(t, "", []int{2, 2}, []float32{1, 2, 3, 4}))
	m := newModel(
		[]*onnx.NodeProto{
			MakeNode("Constant", "", nil, []string{"cf"}, AttrFloat("value_float", 1.5)),
			MakeNode("Constant", "", nil, []string{"cfs"}, AttrFloats("value_floats", 1, 2)),
			MakeNode("Constant", "", nil, []string{"ci"}, AttrInt("value_int", -3)),
			MakeNode("Constant", "", nil, []string{"cis"}, AttrInts("value_ints", 4, 5, 6)),
			MakeNode("Constant", "", nil, []string{"cs"}, AttrString("value_string", "hi")),
			MakeNode("Constant", "", nil, []string{"ct"}, tAttr),
			MakeNode("Constant", "", nil, []string{"csp"}, &onnx.AttributeProto{Name: ptr("sparse_value"), Type: ptr(onnx.AttributeProto_SPARSE_TENSOR), SparseTensor: sparse}),
			MakeNode("Identity", "", []string{"ct"}, []string{"id"}),
		},
		[]*onnx.ValueInfoProto{vi("x", 1)},
		[]*onnx.ValueInfoProto{vi("id", 2, 2)},
		[]*onnx.TensorProto{initFloat(t, "w", []int{2}, []float32{7, 8})},
	)
	m.Graph.Node = append(m.Graph.Node, MakeNode("Constant", "", nil, []string{"cstrs"},
		&onnx.AttributeProto{Name: ptr("value_strings"), Type: ptr(onnx.AttributeProto_STRINGS), Strings: [][]byte{[]byte("a"), []byte("b")}}))
	g, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want *tensor.Tensor
	}{
		{"cf", tensor.Scalar(float32(1.5))},
		{"cfs", tensor.FromSlice([]int{2}, []float32{1, 2})},
		{"ci", tensor.Scalar(int64(-3))},
		{"cis", tensor.FromSlice([]int{3}, []int64{4, 5, 6})},
		{"cs", tensor.Scalar("hi")},
		{"cstrs", tensor.FromSlice([]int{2}, []string{"a", "b"})},
		{"ct", tensor.FromSlice([]int{2, 2}, []float32{1, 2, 3, 4})},
		{"w", tensor.FromSlice([]int{2}, []float32{7, 8})},
	}
	for _, tc := range tests {
		if !g.IsConstant(tc.name) {
			t.Errorf("IsConstant(%q) = false", tc.name)
		}
		got, err := g.ConstantValue(tc.name)
		if err != nil {
			t.Errorf("ConstantValue(%q): %v", tc.name, err)
			continue
		}
		if got.DType != tc.want.DType || !reflect.DeepEqual(got.Shape, tc.want.Shape) && !(len(got.Shape) == 0 && len(tc.want.Shape) == 0) || !reflect.DeepEqual(got.Data, tc.want.Data) {
			t.Errorf("Constant(%q) = %v, want %v", tc.name, got, tc.want)
		}
		again, _ := g.Constant(tc.name)
		if again != got {
			t.Errorf("Constant(%q) decoded twice, want cached", tc.name)
		}
	}
	for _, name := range []string{"x", "id", "nothing"} {
		if g.IsConstant(name) {
			t.Errorf("IsConstant(%q) = true", name)
		}
		if _, err := g.ConstantValue(name); !errors.Is(err, ErrNotConstant) {
			t.Errorf("ConstantValue(%q) error %v, want ErrNotConstant", name, err)
		}
	}
	if !g.IsConstant("csp") {
		t.Errorf("sparse Constant not reported constant")
	}
	if _, err := g.ConstantValue("csp"); !errors.Is(err, ErrUnsupportedConstant) {
		t.Errorf("sparse Constant: error %v, want ErrUnsupportedConstant", err)
	}

	// Replacing an initializer drops the cached value; removing it makes
	// the name non-constant.
	if err := g.SetInitializer("w", tensor.FromSlice([]int{1}, []float32{9})); err != nil {
		t.Fatal(err)
	}
	if w, _ := g.Constant("w"); w == nil || tensor.As[float32](w)[0] != 9 {
		t.Errorf("after SetInitializer, Constant(w) = %v", w)
	}
	if err := g.SetInitializer("id", tensor.Scalar(float32(0))); err == nil {
		t.Errorf("SetInitializer over a node output succeeded")
	}
	if !g.RemoveInitializer("w") || g.IsConstant("w") {
		t.Errorf("RemoveInitializer(w) did not remove it")
	}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"cf": "float32[]", "cis": "int64[3]", "ct": "float32[2,2]", "csp": "float32[4]", "cstrs": "string[2]"} {
		if got, _ := g.Type(name); got.String() != want {
			t.Errorf("Type(%q) = %v, want %s", name, got, want)
		}
	}
}

func TestMutations(t *testing.T) {
	g, err := New(chainModel(t))
	if err != nil {
		t.Fatal(err)
	}
	b := g.Producer("b")
	// Quantize-dequantize the weight of B the way a QDQ pass does.
	q := g.UniqueName("w_q")
	dq := g.UniqueName("w_dq")
	if _, err := g.InsertBefore(b, MakeNode("QuantizeLinear", "Q", []string{"w", "s", "z"}, []string{q})); err != nil {
		t.Fatal(err)
	}
	if _, err := g.InsertBefore(b, MakeNode("DequantizeLinear", "DQ", []string{q, "s", "z"}, []string{dq})); err != nil {
		t.Fatal(err)
	}
	if err := g.ReplaceInput(b, 1, dq); err != nil {
		t.Fatal(err)
	}
	if err := g.SetInitializer("s", tensor.Scalar(float32(0.1))); err != nil {
		t.Fatal(err)
	}
	if err := g.SetInitializer("z", tensor.Scalar(uint8(128))); err != nil {
		t.Fatal(err)
	}
	checkIndexes(t, g)
	if got := nodeNames(g.Consumers("w")); !reflect.DeepEqual(got, []string{"Q"}) {
		t.Errorf("Consumers(w) = %v, want [Q]", got)
	}
	if got := nodeNames(g.Consumers("s")); !reflect.DeepEqual(got, []string{"Q", "DQ"}) {
		t.Errorf("Consumers(s) = %v, want [Q DQ]", got)
	}

	if _, err := g.AddNode(MakeNode("Relu", "dup", []string{"x"}, []string{"a"})); err == nil {
		t.Errorf("AddNode of a second producer of a succeeded")
	}
	if _, err := g.AddNode(MakeNode("Relu", "dup", []string{"x"}, []string{"w"})); err == nil {
		t.Errorf("AddNode producing an initializer succeeded")
	}

	// Rename a everywhere, then reroute its uses.
	if err := g.RenameValue("a", "a2"); err != nil {
		t.Fatal(err)
	}
	if err := g.RenameValue("a2", "b"); err == nil {
		t.Errorf("RenameValue onto an existing value succeeded")
	}
	checkIndexes(t, g)
	if p := g.Producer("a2"); p == nil || p.Name() != "A" {
		t.Errorf("Producer(a2) = %v", p)
	}
	if _, err := g.InsertAfter(g.Producer("a2"), MakeNode("Abs", "abs", []string{"a2"}, []string{"a3"})); err != nil {
		t.Fatal(err)
	}
	g.ReplaceAllUses("a2", "a3")
	// The Abs now reads its own output: point it back.
	if err := g.ReplaceInput(g.Producer("a3"), 0, "a2"); err != nil {
		t.Fatal(err)
	}
	checkIndexes(t, g)
	if got := nodeNames(g.Consumers("a3")); !reflect.DeepEqual(got, []string{"B", "D"}) {
		t.Errorf("Consumers(a3) = %v, want [B D]", got)
	}
	if err := g.ReplaceOutput(g.Producer("y"), 0, "y2"); err != nil {
		t.Fatal(err)
	}
	if !g.ReplaceGraphOutput("y", "y2") {
		t.Errorf("ReplaceGraphOutput(y) found no output")
	}
	if err := g.RemoveNode(g.Producer("dead")); err != nil {
		t.Fatal(err)
	}
	if err := g.RemoveNode(g.Producer("dead")); err == nil {
		t.Errorf("removing a removed node succeeded")
	}
	checkIndexes(t, g)
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if y, _ := g.Type("y2"); y.String() != "float32[2,3]" {
		t.Errorf("Type(y2) = %v, want float32[2,3]", y)
	}
	if q, _ := g.Type(q); q.String() != "uint8[3]" {
		t.Errorf("Type(%s) = %v, want uint8[3]", q, q)
	}
}

func TestTopoSort(t *testing.T) {
	tests := []struct {
		name  string
		nodes []*onnx.NodeProto
		want  []string
		cycle bool
	}{
		{
			name: "already sorted keeps order",
			nodes: []*onnx.NodeProto{
				MakeNode("Relu", "n1", []string{"x"}, []string{"a"}),
				MakeNode("Relu", "n2", []string{"x"}, []string{"b"}),
				MakeNode("Add", "n3", []string{"a", "b"}, []string{"y"}),
			},
			want: []string{"n1", "n2", "n3"},
		},
		{
			name: "reversed",
			nodes: []*onnx.NodeProto{
				MakeNode("Add", "n3", []string{"a", "b"}, []string{"y"}),
				MakeNode("Relu", "n2", []string{"a"}, []string{"b"}),
				MakeNode("Relu", "n1", []string{"x"}, []string{"a"}),
			},
			want: []string{"n1", "n2", "n3"},
		},
		{
			name: "stable among independent nodes",
			nodes: []*onnx.NodeProto{
				MakeNode("Relu", "late", []string{"m"}, []string{"y"}),
				MakeNode("Relu", "free1", []string{"x"}, []string{"f1"}),
				MakeNode("Relu", "mid", []string{"x"}, []string{"m"}),
				MakeNode("Relu", "free2", []string{"x"}, []string{"f2"}),
			},
			want: []string{"free1", "mid", "late", "free2"},
		},
		{
			name: "cycle",
			nodes: []*onnx.NodeProto{
				MakeNode("Relu", "first", []string{"x"}, []string{"a"}),
				MakeNode("Add", "c1", []string{"a", "c"}, []string{"b"}),
				MakeNode("Relu", "c2", []string{"b"}, []string{"c"}),
				MakeNode("Relu", "after", []string{"c"}, []string{"y"}),
			},
			cycle: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := New(newModel(tc.nodes, []*onnx.ValueInfoProto{vi("x", 1)}, []*onnx.ValueInfoProto{vi("y", 1)}, nil))
			if err != nil {
				t.Fatal(err)
			}
			before := nodeNames(g.Nodes())
			err = g.TopoSort()
			if tc.cycle {
				if err == nil || !(strings.Contains(err.Error(), "c1") || strings.Contains(err.Error(), "c2")) {
					t.Fatalf("error %v, want a cycle naming c1 or c2", err)
				}
				if got := nodeNames(g.Nodes()); !reflect.DeepEqual(got, before) {
					t.Errorf("order changed on error: %v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := nodeNames(g.Nodes()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("order %v, want %v", got, tc.want)
			}
			checkIndexes(t, g)
		})
	}
}

// ifModel: an If node whose branches read the outer values x (a graph
// input), r (a Relu output) and w (an initializer), with an outer Constant
// c; the then-branch has its own dead node.
func ifModel(t *testing.T) *onnx.ModelProto {
	thenG := &onnx.GraphProto{
		Name: ptr("then"),
		Node: []*onnx.NodeProto{
			MakeNode("Mul", "tmul", []string{"r", "w"}, []string{"t1"}),
			MakeNode("Neg", "tdead", []string{"x"}, []string{"tdead_out"}),
		},
		Output: []*onnx.ValueInfoProto{viAny("t1")},
	}
	elseG := &onnx.GraphProto{
		Name:   ptr("else"),
		Node:   []*onnx.NodeProto{MakeNode("Add", "eadd", []string{"r", "c"}, []string{"e1"})},
		Output: []*onnx.ValueInfoProto{viAny("e1")},
	}
	return newModel(
		[]*onnx.NodeProto{
			MakeNode("Relu", "relu", []string{"x"}, []string{"r"}),
			MakeNode("Constant", "C", nil, []string{"c"}, AttrFloat("value_float", 1)),
			MakeNode("Constant", "cond", nil, []string{"cond"}, AttrTensor("value", &onnx.TensorProto{DataType: ptr(int32(tensor.Bool)), Int32Data: []int32{1}})),
			MakeNode("If", "if", []string{"cond"}, []string{"y"}, AttrGraph("then_branch", thenG), AttrGraph("else_branch", elseG)),
		},
		[]*onnx.ValueInfoProto{vi("x", 4)},
		[]*onnx.ValueInfoProto{viAny("y")},
		[]*onnx.TensorProto{initFloat(t, "w", []int{4}, []float32{1, 2, 3, 4})},
	)
}

func TestSubgraphs(t *testing.T) {
	g, err := New(ifModel(t))
	if err != nil {
		t.Fatal(err)
	}
	ifn := g.Producer("y")
	thenG, elseG := ifn.Subgraph("then_branch"), ifn.Subgraph("else_branch")
	if thenG == nil || elseG == nil || thenG.Parent() != g || thenG.Owner() != ifn {
		t.Fatalf("subgraphs not linked: %v %v", thenG, elseG)
	}
	if got := ifn.ImplicitInputs(); !reflect.DeepEqual(got, []string{"c", "r", "w", "x"}) {
		t.Errorf("ImplicitInputs = %v, want [c r w x]", got)
	}
	if p := thenG.Producer("r"); p == nil || p.Name() != "relu" {
		t.Errorf("then.Producer(r) = %v, want relu", p)
	}
	if !thenG.IsConstant("w") || !elseG.IsConstant("c") || thenG.IsConstant("r") {
		t.Errorf("outer constants not seen from the branches")
	}
	if c, ok := elseG.Constant("c"); !ok || tensor.As[float32](c)[0] != 1 {
		t.Errorf("else.Constant(c) = %v", c)
	}
	if got := nodeNames(g.Consumers("r")); !reflect.DeepEqual(got, []string{"if"}) {
		t.Errorf("Consumers(r) = %v, want [if]", got)
	}
	if got := nodeNames(g.Consumers("x")); !reflect.DeepEqual(got, []string{"relu", "if"}) {
		t.Errorf("Consumers(x) = %v, want [relu if]", got)
	}

	// Names are unique across the tree, subgraph names included.
	for _, taken := range []string{"then", "t1", "tmul", "e1"} {
		if got := g.UniqueName(taken); got == taken {
			t.Errorf("UniqueName(%q) returned a name in use", taken)
		}
	}
	a, b := g.UniqueName("fresh"), g.UniqueName("fresh")
	if a != "fresh" || b == a {
		t.Errorf("UniqueName(fresh) twice = %q, %q", a, b)
	}

	// Rerouting r reaches into both branches.
	n, err := g.InsertAfter(g.Producer("r"), MakeNode("Sigmoid", "sig", []string{"r"}, []string{"r2"}))
	if err != nil {
		t.Fatal(err)
	}
	g.ReplaceAllUses("r", "r2")
	if err := g.ReplaceInput(n, 0, "r"); err != nil {
		t.Fatal(err)
	}
	if thenG.Producer("r2") != n || elseG.Nodes()[0].Input(0) != "r2" {
		t.Errorf("ReplaceAllUses did not reach the branches")
	}
	if got := nodeNames(g.Consumers("r2")); !reflect.DeepEqual(got, []string{"if"}) {
		t.Errorf("Consumers(r2) = %v, want [if]", got)
	}
	checkIndexes(t, g)

	// Rewriting inside a branch updates the outer view.
	if _, err := elseG.AddNode(MakeNode("Relu", "erelu", []string{"newouter"}, []string{"e2"})); err != nil {
		t.Fatal(err)
	}
	if !containsName(ifn.ImplicitInputs(), "newouter") {
		t.Errorf("ImplicitInputs misses a value read by a node added to a branch")
	}
	if err := elseG.RemoveNode(elseG.Producer("e2")); err != nil {
		t.Fatal(err)
	}

	// Dead code: the then-branch's Neg and nothing else; uses inside the
	// branches keep relu, c and w alive.
	nodes, inits := g.RemoveUnused()
	if nodes != 1 || inits != 0 {
		t.Errorf("RemoveUnused removed %d nodes and %d initializers, want 1 and 0", nodes, inits)
	}
	if thenG.Producer("tdead_out") != nil || g.Producer("r") == nil || g.Producer("c") == nil {
		t.Errorf("RemoveUnused removed the wrong nodes")
	}
	checkIndexes(t, g)

	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	if y, _ := g.Type("y"); y.String() != "float32[4]" {
		t.Errorf("Type(y) = %v, want float32[4]", y)
	}
}

func TestRemoveUnused(t *testing.T) {
	m := chainModel(t)
	// IR 3 style: initializers are also listed as inputs.
	m.Graph.Input = append(m.Graph.Input, vi("w", 3), vi("unused", 1))
	m.Graph.ValueInfo = []*onnx.ValueInfoProto{vi("dead", 2, 3), vi("a", 2, 3)}
	g, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	nodes, inits := g.RemoveUnused()
	if nodes != 1 || inits != 1 {
		t.Errorf("removed %d nodes, %d initializers; want 1 and 1", nodes, inits)
	}
	if got := nodeNames(g.Nodes()); !reflect.DeepEqual(got, []string{"A", "K", "B", "C"}) {
		t.Errorf("nodes left %v", got)
	}
	if got := g.Inputs(); !reflect.DeepEqual(got, []string{"x", "w"}) {
		t.Errorf("inputs left %v", got)
	}
	if got := g.Initializers(); !reflect.DeepEqual(got, []string{"w"}) {
		t.Errorf("initializers left %v", got)
	}
	if len(g.Proto().ValueInfo) != 1 || g.Proto().ValueInfo[0].GetName() != "a" {
		t.Errorf("value_info left %v", g.Proto().ValueInfo)
	}
	checkIndexes(t, g)
}

func TestOpsets(t *testing.T) {
	m := chainModel(t)
	m.OpsetImport = append(m.OpsetImport, &onnx.OperatorSetIdProto{Domain: ptr("com.microsoft"), Version: ptr(int64(1))})
	g, err := New(m)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		domain string
		want   int64
	}{{"", 13}, {"ai.onnx", 13}, {"com.microsoft", 1}, {"ai.onnx.ml", 0}}
	for _, tc := range tests {
		if got := g.Opset(tc.domain); got != tc.want {
			t.Errorf("Opset(%q) = %d, want %d", tc.domain, got, tc.want)
		}
	}
	g.SetOpset("ai.onnx", 21)
	g.SetOpset("ai.onnx.ml", 3)
	if g.Opset("") != 21 || g.Opset("ai.onnx.ml") != 3 || len(g.ToProto().OpsetImport) != 3 {
		t.Errorf("SetOpset: %v", g.ToProto().OpsetImport)
	}
}

func TestNewErrors(t *testing.T) {
	dup := newModel([]*onnx.NodeProto{
		MakeNode("Relu", "p1", []string{"x"}, []string{"a"}),
		MakeNode("Relu", "p2", []string{"x"}, []string{"a"}),
	}, nil, nil, nil)
	for name, m := range map[string]*onnx.ModelProto{"nil": nil, "no graph": {}, "two producers": dup} {
		if _, err := New(m); err == nil || !strings.HasPrefix(err.Error(), "graph: ") {
			t.Errorf("%s: error %v", name, err)
		}
	}
}

func TestWriteValueInfo(t *testing.T) {
	g, err := New(chainModel(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := g.InferShapes(); err != nil {
		t.Fatal(err)
	}
	g.WriteValueInfo()
	got := map[string]string{}
	for _, v := range g.ToProto().Graph.ValueInfo {
		ty, _ := typeFromProto(v.Type)
		got[v.GetName()] = ty.String()
	}
	want := map[string]string{"a": "float32[2,3]", "b": "float32[2,3]", "k": "float32[]", "dead": "float32[2,3]"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("value_info %v, want %v", got, want)
	}
}
