package graph_test

import (
	"fmt"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Build a small CNN, infer its shapes, then insert a node the way a
// quantization pass would.
func Example() {
	i64 := func(v int64) *int64 { return &v }
	str := func(s string) *string { return &s }
	m := &onnx.ModelProto{
		IrVersion:   i64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Domain: str(""), Version: i64(13)}},
		Graph:       &onnx.GraphProto{Name: str("tiny")},
	}
	g, err := graph.New(m)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := graph.TensorType(tensor.Float32, 1, 3, 8, 8)
	x.Dims[0] = graph.Symbolic("N")
	if err := g.AddInput("x", x); err != nil {
		fmt.Println(err)
		return
	}
	if err := g.SetInitializer("w", tensor.New(tensor.Float32, 4, 3, 3, 3)); err != nil {
		fmt.Println(err)
		return
	}
	for _, np := range []*onnx.NodeProto{
		graph.MakeNode("Conv", "conv", []string{"x", "w"}, []string{"c"}, graph.AttrInts("pads", 1, 1, 1, 1)),
		graph.MakeNode("Relu", "relu", []string{"c"}, []string{"r"}),
		graph.MakeNode("MaxPool", "pool", []string{"r"}, []string{"p"},
			graph.AttrInts("kernel_shape", 2, 2), graph.AttrInts("strides", 2, 2)),
		graph.MakeNode("Flatten", "flat", []string{"p"}, []string{"y"}),
	} {
		if _, err := g.AddNode(np); err != nil {
			fmt.Println(err)
			return
		}
	}
	g.AddOutput("y", graph.Type{})

	if err := g.InferShapes(); err != nil {
		fmt.Println(err)
		return
	}
	for _, n := range g.Nodes() {
		t, _ := g.Type(n.Output(0))
		fmt.Printf("%-7s %s\n", n.OpType(), t)
	}

	// Put a Sigmoid between the Conv and its readers.
	conv := g.Producer("c")
	s := g.UniqueName("c")
	if _, err := g.InsertAfter(conv, graph.MakeNode("Sigmoid", "", []string{"c"}, []string{s})); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range g.Consumers("c") {
		if r.OpType() == "Sigmoid" {
			continue
		}
		if err := g.ReplaceInput(r, 0, s); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println(g.Consumers(s)[0].Name(), "reads", s, "; w is constant:", g.IsConstant("w"))
	fmt.Println(len(g.ToProto().Graph.Node), "nodes")
	// Output:
	// Conv    float32[N,4,8,8]
	// Relu    float32[N,4,8,8]
	// MaxPool float32[N,4,4,4]
	// Flatten float32[N,64]
	// relu reads c_1 ; w is constant: true
	// 5 nodes
}
