package graph

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// realModels returns the shared real models and the light conformance
// architectures.
func realModels(t *testing.T) []string {
	paths := testenv.Models(t)
	light, _ := filepath.Glob(filepath.Join(testenv.DataDir(t), "onnx-backend", "light", "light_*.onnx"))
	if len(light) == 0 {
		testenv.Unavailable(t, "no light models")
	}
	return append(paths, light...)
}

// TestRoundTripUnchanged checks that a model viewed and written back
// without changes marshals to the bytes of the model as loaded.
func TestRoundTripUnchanged(t *testing.T) {
	for _, path := range realModels(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ref := &onnx.ModelProto{}
			if err := proto.Unmarshal(raw, ref); err != nil {
				t.Fatal(err)
			}
			want, err := proto.Marshal(ref)
			if err != nil {
				t.Fatal(err)
			}
			m := &onnx.ModelProto{}
			if err := proto.Unmarshal(raw, m); err != nil {
				t.Fatal(err)
			}
			g, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			// Touch the view the way a pass would, without changing it.
			for _, n := range g.Nodes() {
				g.Consumers(n.Output(0))
				g.Producer(n.Input(0))
				for _, in := range n.Inputs() {
					g.Constant(in)
				}
			}
			g.UniqueName("x")
			if err := g.TopoSort(); err != nil {
				t.Fatal(err)
			}
			got, err := proto.Marshal(g.ToProto())
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("round trip changed the model: %d bytes, want %d", len(got), len(want))
			}
			if !bytes.Equal(got, raw) {
				t.Logf("note: re-marshalled bytes differ from the file (%d vs %d bytes) in the encoder's own way", len(got), len(raw))
			}
		})
	}
}

// TestRealModelShapes infers the shapes of every real model from its inputs
// alone and compares the graph outputs with the declared output shapes. It
// also infers with the declared value_info kept, where any conflict is an
// error.
func TestRealModelShapes(t *testing.T) {
	for _, path := range realModels(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m := loadModel(t, path)
			g, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.InferShapes(); err != nil {
				t.Errorf("with declared types: %v", err)
			}

			m = loadModel(t, path)
			decl := stripDeclared(m)
			g, err = New(m)
			if err != nil {
				t.Fatal(err)
			}
			if err := g.InferShapes(); err != nil {
				t.Errorf("from inputs only: %v", err)
			}
			for i, name := range g.Outputs() {
				want, ok := typeFromProto(decl[i])
				if !ok {
					continue
				}
				got, _ := g.Type(name)
				if _, err := mergeType(got, want); err != nil {
					t.Errorf("output %q: inferred %v, declared %v: %v", name, got, want, err)
					continue
				}
				t.Logf("output %q: inferred %v, declared %v", name, got, want)
				if want.IsStatic() && !got.IsStatic() {
					t.Logf("output %q: declared static %v, inferred only %v", name, want, got)
				}
			}
		})
	}
}

// TestConstantNodeWeights checks that weights held in Constant nodes (no
// initializers at all in these models) are seen as constants, inside If
// branches too. The expected counts of Conv/MatMul/Gemm nodes whose second
// input comes from a Constant node were counted with the onnx Python
// package.
func TestConstantNodeWeights(t *testing.T) {
	tests := []struct {
		model         string
		weights, cnst int
	}{
		{"ppocr-v4-rec.onnx", 51, 47},
		{"ppocr-mobile-v2-cls.onnx", 54, 54},
		{"silero-vad-v5.onnx", 12, 12},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			g, err := New(loadModel(t, testenv.DataFile(t, "models", tc.model)))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.InferShapes(); err != nil {
				t.Fatal(err)
			}
			weights, cnst := 0, 0
			var walk func(s *Graph)
			walk = func(s *Graph) {
				for _, n := range s.Nodes() {
					for _, sub := range n.Subgraphs() {
						walk(sub)
					}
					switch n.OpType() {
					case "Conv", "MatMul", "Gemm":
					default:
						continue
					}
					weights++
					w := n.Input(1)
					if !s.IsConstant(w) {
						continue
					}
					if p := s.Producer(w); p == nil || p.OpType() != "Constant" {
						t.Errorf("%s: weight %q is constant but not from a Constant node", n, w)
						continue
					}
					cnst++
					v, err := s.ConstantValue(w)
					if err != nil {
						t.Errorf("%s: %v", n, err)
						continue
					}
					ty, _ := s.Type(w)
					if shape, ok := ty.Static(); !ok || !reflect.DeepEqual(shape, v.Shape) {
						t.Errorf("%s: weight %q decodes to shape %v, type %v", n, w, v.Shape, ty)
					}
				}
			}
			walk(g)
			if weights != tc.weights || cnst != tc.cnst {
				t.Errorf("%d weights, %d constant; want %d and %d", weights, cnst, tc.weights, tc.cnst)
			}
		})
	}
}

// TestRewriteRealModel inserts a QuantizeLinear/DequantizeLinear pair in
// front of every Conv and Gemm weight of real models, removes dead code,
// and checks that the rewritten model is consistent and infers the same
// output shapes.
func TestRewriteRealModel(t *testing.T) {
	for _, name := range []string{"mnist-8.onnx", "ppocr-mobile-v2-cls.onnx", "silero-vad-v5.onnx", "fastestdet-coco-352.onnx"} {
		t.Run(name, func(t *testing.T) {
			g, err := New(loadModel(t, testenv.DataFile(t, "models", name)))
			if err != nil {
				t.Fatal(err)
			}
			if err := g.InferShapes(); err != nil {
				t.Fatal(err)
			}
			before := map[string]string{}
			for _, o := range g.Outputs() {
				ty, _ := g.Type(o)
				before[o] = ty.String()
			}
			countNodes := func(g *Graph) int {
				k := 0
				g.Walk(func(*Node) bool { k++; return true })
				return k
			}
			nodes := countNodes(g)
			inserted := 0
			var rewrite func(s *Graph)
			rewrite = func(s *Graph) {
				for _, n := range s.Nodes() {
					for _, sub := range n.Subgraphs() {
						rewrite(sub)
					}
					if (n.OpType() != "Conv" && n.OpType() != "Gemm") || !s.IsConstant(n.Input(1)) {
						continue
					}
					w := n.Input(1)
					scale, zp := s.UniqueName(w+"_scale"), s.UniqueName(w+"_zp")
					q, dq := s.UniqueName(w+"_q"), s.UniqueName(w+"_dq")
					if err := s.SetInitializer(scale, tensor.Scalar(float32(0.01))); err != nil {
						t.Fatal(err)
					}
					if err := s.SetInitializer(zp, tensor.Scalar(int8(0))); err != nil {
						t.Fatal(err)
					}
					if _, err := s.InsertBefore(n, MakeNode("QuantizeLinear", "", []string{w, scale, zp}, []string{q})); err != nil {
						t.Fatal(err)
					}
					if _, err := s.InsertBefore(n, MakeNode("DequantizeLinear", "", []string{q, scale, zp}, []string{dq})); err != nil {
						t.Fatal(err)
					}
					if err := s.ReplaceInput(n, 1, dq); err != nil {
						t.Fatal(err)
					}
					inserted++
				}
			}
			rewrite(g)
			if inserted == 0 {
				t.Fatal("no weights rewritten")
			}
			if n, _ := g.RemoveUnused(); n != 0 {
				t.Errorf("RemoveUnused removed %d nodes of a live model", n)
			}
			checkIndexes(t, g)
			if err := g.TopoSort(); err != nil {
				t.Fatal(err)
			}
			m := proto.Clone(g.ToProto()).(*onnx.ModelProto)
			g2, err := New(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := countNodes(g2); got != nodes+2*inserted {
				t.Errorf("%d nodes after rewrite, want %d", got, nodes+2*inserted)
			}
			if err := g2.InferShapes(); err != nil {
				t.Fatal(err)
			}
			for _, o := range g2.Outputs() {
				ty, _ := g2.Type(o)
				if ty.String() != before[o] {
					t.Errorf("output %q: %v after rewrite, %v before", o, ty, before[o])
				}
			}
		})
	}
}

// TestRemoveUnusedRealModels checks dead-code removal on real models: no
// node is dead in any of them, and the unread initializers are those the
// onnx Python package finds unread (counted once, by hand, with it).
func TestRemoveUnusedRealModels(t *testing.T) {
	unread := map[string]int{
		"blazeface-front-128-nhwc.onnx": 3, "mlsd-tiny-320-nhwc.onnx": 4,
		"silero-vad-op18-ifless.onnx": 3, "light_resnet50.onnx": 1, "light_zfnet512.onnx": 1,
	}
	for _, path := range realModels(t) {
		g, err := New(loadModel(t, path))
		if err != nil {
			t.Fatal(err)
		}
		base := filepath.Base(path)
		nodes, inits := g.RemoveUnused()
		if nodes != 0 || inits != unread[base] {
			t.Errorf("%s: removed %d nodes and %d initializers, want 0 and %d", base, nodes, inits, unread[base])
		}
		checkIndexes(t, g)
	}
}
