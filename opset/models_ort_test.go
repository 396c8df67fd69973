//go:build cgo

package opset

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// sharedModels lists the shared real models and the light conformance
// models, which every upgrade test covers.
func sharedModels(t *testing.T) []string {
	t.Helper()
	paths := testenv.Models(t)
	light, err := filepath.Glob(filepath.Join(testenv.DataDir(t), "onnx-backend", "light", "*.onnx"))
	if err != nil || len(light) == 0 {
		testenv.Unavailable(t, "no light models under onnx-backend/light")
	}
	return append(paths, light...)
}

// modelInputs makes inputs for a shared model: modelzoo's recipe when it
// has one, the declared inputs otherwise (the light models).
func modelInputs(t *testing.T, path string, rng *rand.Rand) map[string]*tensor.Tensor {
	t.Helper()
	if modelzoo.Known(path) {
		in, err := modelzoo.Inputs(path, rng)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	decl, err := modelzoo.DeclaredInputs(path)
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]*tensor.Tensor{}
	for _, d := range decl {
		x, err := d.Make(rng)
		if err != nil {
			t.Fatal(err)
		}
		in[d.Name] = x
	}
	return in
}

// TestSharedModelsUpgradeORT upgrades every shared and light model to 13
// and to MaxVersion and checks, in ONNX Runtime, that the upgraded model
// loads and gives the original's outputs on the same inputs.
func TestSharedModelsUpgradeORT(t *testing.T) {
	needORT(t)
	for _, path := range sharedModels(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			orig, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			inputs := modelInputs(t, path, rand.New(rand.NewPCG(7, 11)))
			want := runORT(t, orig, inputs)
			for _, target := range []int64{13, MaxVersion} {
				m := proto.Clone(orig).(*onnx.ModelProto)
				rep, err := Upgrade(m, target)
				if err != nil {
					var ue *Error
					if !errors.As(err, &ue) {
						t.Fatalf("Upgrade to %d: %v", target, err)
					}
					t.Errorf("Upgrade to %d refused: %v", target, err)
					continue
				}
				if got := opsetOf(m); got != max(target, rep.From) {
					t.Errorf("opset after Upgrade to %d is %d", target, got)
				}
				got := runORT(t, m, inputs)
				compareOutputs(t, want, got, 1e-5)
				t.Logf("opset %d -> %d: %d nodes, %d converted, %d warnings", rep.From, rep.To, rep.Nodes, len(rep.Converted), len(rep.Warnings))
				if os.Getenv("OPSET_VERBOSE") != "" {
					t.Log(rep.String())
				}
			}
		})
	}
}

// readTensorPB reads a TensorProto file of the mnist-8 test sets.
func readTensorPB(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tp onnx.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	x, err := tensor.FromProto(&tp)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return x
}

// TestMNIST8Upgrade upgrades mnist-8 (opset 8) to 10, 11 and 13 and checks
// ONNX Runtime's outputs before and after on its three reference data
// sets (also against the reference outputs) and on 100 seeded random
// digits.
func TestMNIST8Upgrade(t *testing.T) {
	needORT(t)
	path := testenv.DataFile(t, "models", "mnist-8.onnx")
	orig, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if opsetOf(orig) != 8 {
		t.Fatalf("mnist-8 imports opset %d, want 8", opsetOf(orig))
	}
	inName := orig.GetGraph().GetInput()[0].GetName()
	type set struct {
		in   *tensor.Tensor
		want *tensor.Tensor // reference output, nil for random inputs
	}
	var sets []set
	for i := range 3 {
		dir := filepath.Join(filepath.Dir(path), "mnist-8-test-data", "test_data_set_"+string(rune('0'+i)))
		sets = append(sets, set{readTensorPB(t, filepath.Join(dir, "input_0.pb")), readTensorPB(t, filepath.Join(dir, "output_0.pb"))})
	}
	rng := rand.New(rand.NewPCG(8, 13))
	for range 100 {
		x := tensor.New(tensor.Float32, 1, 1, 28, 28)
		d := tensor.As[float32](x)
		for j := range d {
			d[j] = float32(rng.IntN(256))
		}
		sets = append(sets, set{in: x})
	}
	origSess := ortSession(t, orig)
	for _, target := range []int64{10, 11, 13} {
		m := proto.Clone(orig).(*onnx.ModelProto)
		rep, err := Upgrade(m, target)
		if err != nil {
			t.Fatalf("Upgrade to %d: %v", target, err)
		}
		if opsetOf(m) != target {
			t.Fatalf("opset after Upgrade is %d, want %d", opsetOf(m), target)
		}
		sess := ortSession(t, m)
		for i, s := range sets {
			in := map[string]*tensor.Tensor{inName: s.in}
			want, err := origSess.Run(in, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sess.Run(in, nil)
			if err != nil {
				t.Fatalf("opset %d, set %d: %v", target, i, err)
			}
			compareOutputs(t, want, got, 1e-5)
			if s.want != nil {
				for k, g := range got {
					if err := closeEnough(s.want, g, 1e-3); err != nil {
						t.Errorf("opset %d, reference set %d, output %q vs reference: %v", target, i, k, err)
					}
				}
			}
		}
		t.Logf("mnist-8 -> %d: %s", target, strings.TrimSpace(rep.String()))
	}
}
