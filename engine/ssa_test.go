package engine

import (
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestRejectsDoubleDefinitions checks that a value defined twice in a graph
// (two initializers, two inputs, a node overwriting an input, initializer
// or another node's output) is refused with an error naming it, since the
// run would otherwise depend on which definition happened to win.
func TestRejectsDoubleDefinitions(t *testing.T) {
	one := tensor.FromSlice([]int{1}, []float32{1})
	two := tensor.FromSlice([]int{1}, []float32{2})
	cases := []struct {
		name  string
		build func() *onnxbuild.Model
		want  string
	}{
		{"two initializers", func() *onnxbuild.Model {
			return onnxbuild.New(13).Input("x", tensor.Float32, 1).Init("w", one).Init("w", two).
				Node("Add", []string{"x", "w"}, []string{"y"}).Output("y", tensor.Float32, 1)
		}, `two initializers named "w"`},
		{"two inputs", func() *onnxbuild.Model {
			return onnxbuild.New(13).Input("x", tensor.Float32, 1).Input("x", tensor.Float32, 1).
				Node("Neg", []string{"x"}, []string{"y"}).Output("y", tensor.Float32, 1)
		}, `two inputs named "x"`},
		{"node writes an input", func() *onnxbuild.Model {
			return onnxbuild.New(13).Input("x", tensor.Float32, 1).Input("z", tensor.Float32, 1).
				Node("Neg", []string{"x"}, []string{"z"}).Output("z", tensor.Float32, 1)
		}, `writes "z", which is a graph input`},
		{"node writes an initializer", func() *onnxbuild.Model {
			return onnxbuild.New(13).Input("x", tensor.Float32, 1).Init("w", one).
				Node("Neg", []string{"x"}, []string{"w"}).Output("w", tensor.Float32, 1)
		}, `writes initializer "w"`},
		{"two nodes write one value", func() *onnxbuild.Model {
			return onnxbuild.New(13).Input("x", tensor.Float32, 1).
				Node("Neg", []string{"x"}, []string{"y"}).Node("Relu", []string{"x"}, []string{"y"}).
				Output("y", tensor.Float32, 1)
		}, `"y" is produced by both node`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.build().M, Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
	// The same graphs with one definition each are accepted.
	ok := onnxbuild.New(13).Input("x", tensor.Float32, 1).Init("w", one).
		Node("Add", []string{"x", "w"}, []string{"y"}).Output("y", tensor.Float32, 1)
	if _, err := New(ok.M, Options{}); err != nil {
		t.Fatal(err)
	}
}
