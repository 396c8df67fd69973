//go:build cgo

package ort

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// needORT makes the test fail under CI and skip elsewhere when ONNX Runtime
// cannot be loaded.
func needORT(t *testing.T) {
	t.Helper()
	if err := Init(); err != nil {
		testenv.Unavailable(t, "ONNX Runtime: %v", err)
	}
}

func TestLibraryPathFromEnv(t *testing.T) {
	dir := t.TempDir()
	lib := filepath.Join(dir, "libfake.so")
	if err := os.WriteFile(lib, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		env     string
		chdir   string
		want    string
		wantErr string
	}{
		{name: "absolute", env: lib, want: lib},
		{name: "relative", env: "libfake.so", chdir: dir, want: lib},
		{name: "missing", env: filepath.Join(dir, "nope.so"), wantErr: "ONNXRUNTIME_LIB"},
		{name: "directory", env: dir, wantErr: "not a regular file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(LibraryEnv, tc.env)
			if tc.chdir != "" {
				t.Chdir(tc.chdir)
			}
			got, err := LibraryPath()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("LibraryPath() = %q, %v; want error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("LibraryPath() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestLibraryPathDefault(t *testing.T) {
	t.Setenv(LibraryEnv, "")
	// Outside any onnxquant checkout, with no library beside the test
	// binary, the error must tell the user what to run.
	t.Chdir(t.TempDir())
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(exe), libraryName)); err == nil {
		t.Skip("a library sits beside the test binary")
	}
	if p, err := LibraryPath(); err == nil || !strings.Contains(err.Error(), "scripts/setup-onnxruntime.sh") {
		t.Fatalf("LibraryPath() outside the repository = %q, %v; want an error naming the setup script", p, err)
	}
}

func TestModuleOf(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		content, want string
	}{
		{"module github.com/onnxquant/onnxquant\n\ngo 1.26\n", modulePath},
		{"// comment\nmodule \"github.com/onnxquant/onnxquant\" // quoted\n", modulePath},
		{"module example.com/other\n", "example.com/other"},
		{"modules x\ngo 1.26\n", ""},
		{"", ""},
	}
	for i, tc := range tests {
		p := filepath.Join(dir, fmt.Sprintf("go%d.mod", i))
		if err := os.WriteFile(p, []byte(tc.content), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := moduleOf(p); got != tc.want {
			t.Errorf("moduleOf(%q) = %q, want %q", tc.content, got, tc.want)
		}
	}
}

// TestSharedModels loads every shared model in ONNX Runtime and runs it on
// modelzoo's inputs.
func TestSharedModels(t *testing.T) {
	needORT(t)
	models := testenv.Models(t)
	if v, err := Version(); err == nil {
		t.Logf("ONNX Runtime %s", v)
	}
	for _, path := range models {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			s, err := NewSessionFromFile(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			loaded := time.Since(start)
			if !modelzoo.Known(path) {
				t.Errorf("modelzoo has no recipe for %s", name)
			}
			inputs, err := modelzoo.Inputs(path, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			for _, in := range s.Inputs() {
				if _, ok := inputs[in.Name]; !ok {
					t.Errorf("modelzoo gave no tensor for ONNX Runtime's input %q", in.Name)
				}
			}
			start = time.Now()
			outs, err := s.Run(inputs, nil)
			if err != nil {
				t.Fatal(err)
			}
			ran := time.Since(start)
			declared := s.Outputs()
			if len(outs) != len(declared) {
				t.Errorf("got %d outputs, model declares %d", len(outs), len(declared))
			}
			for _, o := range declared {
				got, ok := outs[o.Name]
				if !ok {
					t.Errorf("output %q missing", o.Name)
					continue
				}
				if err := got.Check(); err != nil {
					t.Errorf("output %q: %v", o.Name, err)
				}
				if got.DType != o.DType {
					t.Errorf("output %q is %v, declared %v", o.Name, got.DType, o.DType)
				}
				if !fitsShape(got.Shape, o.Shape) {
					t.Errorf("output %q has shape %v, declared %v", o.Name, got.Shape, o.Shape)
				}
				if got.Len() == 0 {
					t.Errorf("output %q is empty", o.Name)
				}
				if i, ok := firstNonFinite(got); ok {
					t.Errorf("output %q element %d is not finite", o.Name, i)
				}
			}
			t.Logf("%s: load %v, run %v; outputs %s", name, loaded.Round(time.Millisecond), ran.Round(time.Millisecond), describe(outs))
		})
	}
}

// fitsShape reports whether got agrees with a declared shape (-1 = any).
// An empty declaration may also mean an undeclared rank, so it fits all.
func fitsShape(got, declared []int) bool {
	if len(declared) == 0 {
		return true
	}
	if len(got) != len(declared) {
		return false
	}
	for i, d := range declared {
		if d >= 0 && got[i] != d {
			return false
		}
	}
	return true
}

func firstNonFinite(t *tensor.Tensor) (int, bool) {
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return i, true
			}
		}
	case []float64:
		for i, v := range d {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return i, true
			}
		}
	}
	return 0, false
}

func describe(outs map[string]*tensor.Tensor) string {
	var parts []string
	for name, t := range outs {
		s := fmt.Sprintf("%s %v%v", name, t.DType, t.Shape)
		if d := tensor.As[float32](t); len(d) > 0 {
			s += fmt.Sprintf(" in [%.4g, %.4g]", slices.Min(d), slices.Max(d))
		}
		parts = append(parts, s)
	}
	slices.Sort(parts)
	return strings.Join(parts, "; ")
}

// readFloatProto decodes a float32 TensorProto file (float_data or
// raw_data), as ONNX test data sets store them.
func readFloatProto(t *testing.T, path string) *tensor.Tensor {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var tp onnx.TensorProto
	if err := proto.Unmarshal(b, &tp); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if tp.GetDataType() != int32(tensor.Float32) {
		t.Fatalf("%s: data type %d, want float32", path, tp.GetDataType())
	}
	shape := make([]int, len(tp.GetDims()))
	for i, d := range tp.GetDims() {
		shape[i] = int(d)
	}
	n := tensor.NumElements(shape)
	data := tp.GetFloatData()
	if raw := tp.GetRawData(); len(raw) > 0 {
		if len(raw) != 4*n {
			t.Fatalf("%s: %d raw bytes for shape %v", path, len(raw), shape)
		}
		data = make([]float32, n)
		for i := range data {
			data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	}
	if len(data) != n {
		t.Fatalf("%s: %d values for shape %v", path, len(data), shape)
	}
	return tensor.FromSlice(shape, data)
}

// TestMNISTReference checks ONNX Runtime against the ONNX model zoo's
// expected outputs for mnist-8.
func TestMNISTReference(t *testing.T) {
	needORT(t)
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	s, err := NewSessionFromFile(model, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		t.Run(fmt.Sprintf("test_data_set_%d", i), func(t *testing.T) {
			dir := testenv.DataFile(t, "models", "mnist-8-test-data", fmt.Sprintf("test_data_set_%d", i))
			in := readFloatProto(t, filepath.Join(dir, "input_0.pb"))
			want := readFloatProto(t, filepath.Join(dir, "output_0.pb"))
			outs, err := s.Run(map[string]*tensor.Tensor{"Input3": in}, []string{"Plus214_Output_0"})
			if err != nil {
				t.Fatal(err)
			}
			got := outs["Plus214_Output_0"]
			if !slices.Equal(got.Shape, want.Shape) {
				t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
			}
			g, w := tensor.As[float32](got), tensor.As[float32](want)
			for j := range w {
				if d := math.Abs(float64(g[j] - w[j])); d > 1e-3+1e-3*math.Abs(float64(w[j])) {
					t.Errorf("element %d = %g, want %g", j, g[j], w[j])
				}
			}
			if slices.Index(g, slices.Max(g)) != slices.Index(w, slices.Max(w)) {
				t.Errorf("predicted class differs from the reference")
			}
		})
	}
}

// valueInfo declares a tensor value; shape nil means a scalar, -1 a
// dynamic dimension.
func valueInfo(name string, dt tensor.DataType, shape []int) *onnx.ValueInfoProto {
	sh := &onnx.TensorShapeProto{}
	for _, d := range shape {
		dim := &onnx.TensorShapeProto_Dimension{}
		if d < 0 {
			dim.Value = &onnx.TensorShapeProto_Dimension_DimParam{DimParam: "n"}
		} else {
			dim.Value = &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		}
		sh.Dim = append(sh.Dim, dim)
	}
	return &onnx.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{TensorType: &onnx.TypeProto_Tensor{
			ElemType: proto.Int32(int32(dt)), Shape: sh,
		}}},
	}
}

// identityModel builds an opset-17 model with one Identity per value:
// input "x<i>" to output "y<i>".
func identityModel(t *testing.T, vals []ioSpec) []byte {
	t.Helper()
	g := &onnx.GraphProto{Name: proto.String("identities")}
	for i, v := range vals {
		x, y := fmt.Sprintf("x%d", i), fmt.Sprintf("y%d", i)
		g.Node = append(g.Node, &onnx.NodeProto{OpType: proto.String("Identity"), Input: []string{x}, Output: []string{y}})
		g.Input = append(g.Input, valueInfo(x, v.dt, v.shape))
		g.Output = append(g.Output, valueInfo(y, v.dt, v.shape))
	}
	return marshalModel(t, g)
}

type ioSpec struct {
	dt    tensor.DataType
	shape []int
}

func marshalModel(t *testing.T, g *onnx.GraphProto) []byte {
	t.Helper()
	m := &onnx.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnx.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph:       g,
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRoundTripTypes passes tensors of every supported element type through
// Identity and expects them back unchanged, shapes included.
func TestRoundTripTypes(t *testing.T) {
	needORT(t)
	tensors := []*tensor.Tensor{
		tensor.FromSlice([]int{2, 2}, []float32{1.5, -2, 3e-8, float32(math.Inf(-1))}),
		tensor.FromSlice([]int{3}, []float64{math.Pi, -1e300, 0}),
		tensor.FromSlice([]int{2}, []int8{-128, 127}),
		tensor.FromSlice([]int{2}, []uint8{0, 255}),
		tensor.FromSlice([]int{2}, []int16{-32768, 32767}),
		tensor.FromSlice([]int{2}, []uint16{0, 65535}),
		tensor.FromSlice([]int{2}, []int32{math.MinInt32, math.MaxInt32}),
		tensor.FromSlice([]int{2}, []uint32{0, math.MaxUint32}),
		tensor.FromSlice([]int{1, 2}, []int64{math.MinInt64, math.MaxInt64}),
		tensor.FromSlice([]int{2}, []uint64{0, math.MaxUint64}),
		tensor.FromSlice([]int{3}, []bool{true, false, true}),
		// 1.0 and -2.0 as float16 and bfloat16 bit patterns.
		tensor.FromSlice([]int{2}, []tensor.F16{0x3c00, 0xc000}),
		tensor.FromSlice([]int{2}, []tensor.BF16{0x3f80, 0xc000}),
		// Rank 0, whose output the binding cannot allocate by itself.
		tensor.Scalar(int64(16000)),
		tensor.Scalar(float32(-0.25)),
		// An empty tensor.
		tensor.New(tensor.Float32, 0, 3),
	}
	var specs []ioSpec
	inputs := map[string]*tensor.Tensor{}
	for i, x := range tensors {
		specs = append(specs, ioSpec{x.DType, x.Shape})
		inputs[fmt.Sprintf("x%d", i)] = x
	}
	s, err := NewSession(identityModel(t, specs), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Twice: the second run preallocates the scalar outputs it learned of.
	for run := range 2 {
		outs, err := s.Run(inputs, nil)
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		for i, want := range tensors {
			got := outs[fmt.Sprintf("y%d", i)]
			if got == nil {
				t.Errorf("run %d: output y%d missing", run, i)
				continue
			}
			if got.DType != want.DType || !slices.Equal(got.Shape, want.Shape) || fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
				t.Errorf("run %d: y%d = %v%v %v, want %v%v %v", run, i, got.DType, got.Shape, got.Data, want.DType, want.Shape, want.Data)
			}
		}
	}
}

// TestOutputSelection runs an Add and a Mul of two inputs and asks for
// subsets of the outputs.
func TestOutputSelection(t *testing.T) {
	needORT(t)
	g := &onnx.GraphProto{
		Name: proto.String("arith"),
		Node: []*onnx.NodeProto{
			{OpType: proto.String("Add"), Input: []string{"a", "b"}, Output: []string{"sum"}},
			{OpType: proto.String("Mul"), Input: []string{"a", "b"}, Output: []string{"prod"}},
		},
		Input:  []*onnx.ValueInfoProto{valueInfo("a", tensor.Float32, []int{-1}), valueInfo("b", tensor.Float32, []int{-1})},
		Output: []*onnx.ValueInfoProto{valueInfo("sum", tensor.Float32, []int{-1}), valueInfo("prod", tensor.Float32, []int{-1})},
	}
	s, err := NewSession(marshalModel(t, g), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.Inputs(); len(got) != 2 || got[0].Name != "a" || got[0].DType != tensor.Float32 || !slices.Equal(got[0].Shape, []int{-1}) {
		t.Errorf("Inputs() = %+v", got)
	}
	in := map[string]*tensor.Tensor{
		"a": tensor.FromSlice([]int{3}, []float32{1, 2, 3}),
		"b": tensor.FromSlice([]int{3}, []float32{4, 5, -6}),
	}
	tests := []struct {
		names []string
		want  map[string][]float32
	}{
		{nil, map[string][]float32{"sum": {5, 7, -3}, "prod": {4, 10, -18}}},
		{[]string{"prod"}, map[string][]float32{"prod": {4, 10, -18}}},
		{[]string{"sum", "sum"}, map[string][]float32{"sum": {5, 7, -3}}},
	}
	for _, tc := range tests {
		outs, err := s.Run(in, tc.names)
		if err != nil {
			t.Fatalf("Run(%v): %v", tc.names, err)
		}
		if len(outs) != len(tc.want) {
			t.Errorf("Run(%v) returned %d outputs, want %d", tc.names, len(outs), len(tc.want))
		}
		for name, want := range tc.want {
			if got := tensor.As[float32](outs[name]); !slices.Equal(got, want) {
				t.Errorf("Run(%v)[%s] = %v, want %v", tc.names, name, got, want)
			}
		}
	}
}

func TestRunErrors(t *testing.T) {
	needORT(t)
	model := identityModel(t, []ioSpec{{tensor.Float32, []int{2}}, {tensor.Float16, []int{1}}})
	s, err := NewSession(model, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f32 := tensor.FromSlice([]int{2}, []float32{1, 2})
	f16 := tensor.FromSlice([]int{1}, []tensor.F16{0x3c00})
	tests := []struct {
		name    string
		inputs  map[string]*tensor.Tensor
		outputs []string
		want    string
	}{
		{"missing input", map[string]*tensor.Tensor{"x0": f32}, []string{"y0"}, `missing input(s) "x1"`},
		{"unknown input", map[string]*tensor.Tensor{"x0": f32, "x1": f16, "zz": f32}, []string{"y0"}, `unknown input(s) "zz"`},
		{"wrong type", map[string]*tensor.Tensor{"x0": f16, "x1": f16}, []string{"y0"}, `input "x0" is float16, model wants float32`},
		{"nil tensor", map[string]*tensor.Tensor{"x0": nil, "x1": f16}, []string{"y0"}, `input "x0" is nil`},
		{"bad tensor", map[string]*tensor.Tensor{"x0": {DType: tensor.Float32, Shape: []int{3}, Data: []float32{1}}, "x1": f16}, []string{"y0"}, `input "x0"`},
		{"unknown output", map[string]*tensor.Tensor{"x0": f32, "x1": f16}, []string{"nope"}, `no output named "nope"`},
		{"wrong shape", map[string]*tensor.Tensor{"x0": tensor.New(tensor.Float32, 3), "x1": f16}, []string{"y0"}, "run:"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run(tc.inputs, tc.outputs)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "ort: ") {
				t.Fatalf("Run error = %v, want one starting with \"ort: \" and containing %q", err, tc.want)
			}
		})
	}

	// The binding cannot return float16 outputs whose shape it does not
	// know beforehand.
	dyn, err := NewSession(identityModel(t, []ioSpec{{tensor.Float16, []int{-1}}}), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dyn.Close()
	if _, err := dyn.Run(map[string]*tensor.Tensor{"x0": f16}, nil); err == nil || !strings.Contains(err.Error(), `output "y0" is float16`) {
		t.Errorf("Run with a dynamic float16 output: %v, want an error naming it", err)
	}

	if _, err := NewSession([]byte("not a model"), Options{}); err == nil {
		t.Error("NewSession accepted garbage bytes")
	}
	if _, err := NewSessionFromFile(filepath.Join(t.TempDir(), "missing.onnx"), Options{}); err == nil {
		t.Error("NewSessionFromFile accepted a missing file")
	}
	if _, err := NewSession(model, Options{Threads: -1}); err == nil {
		t.Error("NewSession accepted a negative thread count")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Run(map[string]*tensor.Tensor{"x0": f32, "x1": f16}, []string{"y0"}); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("Run after Close: %v, want a closed-session error", err)
	}
}

// TestConcurrentRuns runs one session from several goroutines and expects
// each result to equal the single-threaded one.
func TestConcurrentRuns(t *testing.T) {
	needORT(t)
	model := testenv.DataFile(t, "models", "mnist-8.onnx")
	s, err := NewSessionFromFile(model, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const workers = 4
	inputs := make([]map[string]*tensor.Tensor, workers)
	want := make([][]float32, workers)
	for i := range inputs {
		in, err := modelzoo.Inputs(model, rand.New(rand.NewPCG(uint64(i), 7)))
		if err != nil {
			t.Fatal(err)
		}
		inputs[i] = in
		out, err := s.Run(in, nil)
		if err != nil {
			t.Fatal(err)
		}
		want[i] = tensor.As[float32](out["Plus214_Output_0"])
	}
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for i := range workers {
		wg.Go(func() {
			for range 20 {
				out, err := s.Run(inputs[i], nil)
				if err != nil {
					errs[i] = err
					return
				}
				if got := tensor.As[float32](out["Plus214_Output_0"]); !slices.Equal(got, want[i]) {
					errs[i] = fmt.Errorf("worker %d: got %v, want %v", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
