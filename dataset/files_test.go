package dataset

import (
	"archive/zip"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestTestDataMNIST reads mnist-8's three ONNX test-data sets.
func TestTestDataMNIST(t *testing.T) {
	model := modelInputs(t, "mnist-8.onnx")
	dir := testenv.DataFile(t, "models", "mnist-8-test-data")
	r, err := TestData(dir, model)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 3 {
		t.Errorf("Len %d, want 3", r.Len())
	}
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 3 {
		t.Fatalf("%d samples", len(samples))
	}
	for i, s := range samples {
		if s.Name != "test_data_set_"+string(rune('0'+i)) {
			t.Errorf("sample %d named %q", i, s.Name)
		}
		x := s.Inputs["Input3"]
		if x == nil || len(s.Inputs) != 1 || !slices.Equal(x.Shape, []int{1, 1, 28, 28}) || x.DType != tensor.Float32 {
			t.Fatalf("%s: inputs %v", s.Name, s.Inputs)
		}
		// The same file read directly.
		want, _, err := tensor.ReadProtoFile(filepath.Join(dir, s.Name, "input_0.pb"))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tensor.As[float32](x), tensor.As[float32](want)) {
			t.Errorf("%s: values differ from input_0.pb", s.Name)
		}
	}

	// One set on its own.
	r1, err := TestData(filepath.Join(dir, "test_data_set_1"), model)
	if err != nil {
		t.Fatal(err)
	}
	if s := readOne(t, r1); s.Name != "test_data_set_1" {
		t.Errorf("single set named %q", s.Name)
	}

	// A model that declares another element type or shape: the error names
	// the file.
	pb := filepath.Join(dir, "test_data_set_0", "input_0.pb")
	for _, vi := range []engine.ValueInfo{
		{Name: "Input3", DType: tensor.Int64, Shape: []int{1, 1, 28, 28}},
		{Name: "Input3", DType: tensor.Float32, Shape: []int{1, 28, 28}},
		{Name: "other", DType: tensor.Float32, Shape: []int{1, 1, 14, 14}}, // by position
	} {
		r, err := TestData(dir, []engine.ValueInfo{vi})
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Next(context.Background())
		if err == nil || !strings.Contains(err.Error(), pb) {
			t.Errorf("%+v: error %v does not name %s", vi, err, pb)
		}
		t.Logf("%s %v %v: %v", vi.Name, vi.DType, vi.Shape, err)
	}
	if _, err := TestData(t.TempDir(), model); err == nil {
		t.Error("empty folder: no error")
	}
}

// writeNpyT writes t as path, creating folders.
func writeNpyT(t *testing.T, path string, x *tensor.Tensor) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := tensor.WriteNpyFile(path, x); err != nil {
		t.Fatal(err)
	}
}

func TestNpyDir(t *testing.T) {
	model := []engine.ValueInfo{
		{Name: "input:0", DType: tensor.Float32, Shape: []int{1, 3}},
		{Name: "mask", DType: tensor.Int64, Shape: []int{-1}, DimNames: []string{"n"}},
	}
	dir := t.TempDir()
	for i, name := range []string{"s2", "s10", "s1"} {
		f := float32(i)
		writeNpyT(t, filepath.Join(dir, name, "input_0.npy"), tensor.FromSlice([]int{1, 3}, []float32{f, f + 0.5, f + 1}))
		writeNpyT(t, filepath.Join(dir, name, "mask.npy"), tensor.FromSlice([]int{i + 1}, make([]int64, i+1)))
	}
	r, err := NpyDir(dir, model)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range samples {
		names = append(names, s.Name)
	}
	if !slices.Equal(names, []string{"s1", "s2", "s10"}) || r.Len() != 3 {
		t.Fatalf("samples %v (Len %d), want s1 s2 s10", names, r.Len())
	}
	// s1 was written third (i = 2).
	if got := tensor.As[float32](samples[0].Inputs["input:0"]); !slices.Equal(got, []float32{2, 2.5, 3}) {
		t.Errorf("s1 input:0 = %v", got)
	}
	if got := samples[0].Inputs["mask"].Shape; !slices.Equal(got, []int{3}) {
		t.Errorf("s1 mask shape %v", got)
	}

	// Bad samples, each alone in a folder: the error names the file.
	cases := []struct {
		name  string
		setup func(dir string)
		file  string
	}{
		{"wrong dtype", func(d string) {
			writeNpyT(t, filepath.Join(d, "a", "input_0.npy"), tensor.FromSlice([]int{1, 3}, []float64{1, 2, 3}))
			writeNpyT(t, filepath.Join(d, "a", "mask.npy"), tensor.FromSlice([]int{1}, []int64{1}))
		}, "input_0.npy"},
		{"wrong shape", func(d string) {
			writeNpyT(t, filepath.Join(d, "a", "input_0.npy"), tensor.FromSlice([]int{3, 1}, []float32{1, 2, 3}))
			writeNpyT(t, filepath.Join(d, "a", "mask.npy"), tensor.FromSlice([]int{1}, []int64{1}))
		}, "input_0.npy"},
		{"unknown input", func(d string) {
			writeNpyT(t, filepath.Join(d, "a", "input_0.npy"), tensor.FromSlice([]int{1, 3}, []float32{1, 2, 3}))
			writeNpyT(t, filepath.Join(d, "a", "mask.npy"), tensor.FromSlice([]int{1}, []int64{1}))
			writeNpyT(t, filepath.Join(d, "a", "extra.npy"), tensor.FromSlice([]int{1}, []int64{1}))
		}, "extra.npy"},
		{"missing input", func(d string) {
			writeNpyT(t, filepath.Join(d, "a", "input_0.npy"), tensor.FromSlice([]int{1, 3}, []float32{1, 2, 3}))
		}, "mask.npy"},
		{"not npy", func(d string) {
			if err := os.MkdirAll(filepath.Join(d, "a"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(d, "a", "mask.npy"), []byte("garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "mask.npy"},
	}
	for _, c := range cases {
		d := t.TempDir()
		c.setup(d)
		r, err := NpyDir(d, model)
		if err != nil {
			t.Fatal(err)
		}
		want := filepath.Join(d, "a", c.file)
		_, err = r.Next(context.Background())
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v does not name %s", c.name, err, want)
		}
		t.Logf("%s: %v", c.name, err)
	}
	if _, err := NpyDir(t.TempDir(), model); err == nil {
		t.Error("empty folder: no error")
	}
}

// writeNpz writes a .npz archive with the given members, stored or
// deflated as numpy's savez and savez_compressed do.
func writeNpz(t *testing.T, path string, deflate bool, members map[string]*tensor.Tensor) {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	keys := make([]string, 0, len(members))
	for k := range members {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		method := zip.Store
		if deflate {
			method = zip.Deflate
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: k + ".npy", Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if err := tensor.WriteNpy(w, members[k]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func iota32(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(i)
	}
	return v
}

func TestNpz(t *testing.T) {
	model := []engine.ValueInfo{
		{Name: "x", DType: tensor.Float32, Shape: []int{1, 2}},
		{Name: "n:0", DType: tensor.Int32, Shape: []int{}},
	}
	dir := t.TempDir()
	// One sample per archive.
	writeNpz(t, filepath.Join(dir, "b.npz"), false, map[string]*tensor.Tensor{
		"x": tensor.FromSlice([]int{1, 2}, []float32{1, 2}), "n_0": tensor.Scalar(int32(7))})
	writeNpz(t, filepath.Join(dir, "a.npz"), true, map[string]*tensor.Tensor{
		"x": tensor.FromSlice([]int{1, 2}, []float32{3, 4}), "n:0": tensor.Scalar(int32(8))})
	r, err := Npz(dir, model)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 || samples[0].Name != "a.npz" || tensor.As[int32](samples[0].Inputs["n:0"])[0] != 8 ||
		!slices.Equal(tensor.As[float32](samples[1].Inputs["x"]), []float32{1, 2}) {
		t.Fatalf("per-sample archives: %+v", samples)
	}

	// Stacked archives: a new leading axis ([3,1,2] for [1,2], [3] for a
	// scalar), and a first axis that is a multiple of the static batch
	// ([3,2] for [1,2]).
	for _, c := range []struct {
		name string
		x    *tensor.Tensor
	}{
		{"new-axis", tensor.FromSlice([]int{3, 1, 2}, iota32(6))},
		{"split-batch", tensor.FromSlice([]int{3, 2}, iota32(6))},
	} {
		p := filepath.Join(t.TempDir(), c.name+".npz")
		writeNpz(t, p, false, map[string]*tensor.Tensor{"x": c.x, "n_0": tensor.FromSlice([]int{3}, []int32{10, 11, 12})})
		r, err := Npz(p, model)
		if err != nil {
			t.Fatal(err)
		}
		samples, err := ReadAll(context.Background(), r)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(samples) != 3 {
			t.Fatalf("%s: %d samples, want 3", c.name, len(samples))
		}
		for i, s := range samples {
			x, n := s.Inputs["x"], s.Inputs["n:0"]
			if !slices.Equal(x.Shape, []int{1, 2}) || !slices.Equal(tensor.As[float32](x), []float32{float32(2 * i), float32(2*i + 1)}) ||
				len(n.Shape) != 0 || tensor.As[int32](n)[0] != int32(10+i) || s.Name != c.name+".npz["+string(rune('0'+i))+"]" {
				t.Errorf("%s sample %d: %q x=%v n=%v", c.name, i, s.Name, x, n)
			}
		}
	}

	// Errors name the archive.
	bad := []struct {
		name    string
		members map[string]*tensor.Tensor
	}{
		{"wrong-dtype", map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, 2}, []float64{1, 2}), "n_0": tensor.Scalar(int32(1))}},
		{"wrong-shape", map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, 3}, iota32(3)), "n_0": tensor.Scalar(int32(1))}},
		{"unknown-input", map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, 2}, iota32(2)), "n_0": tensor.Scalar(int32(1)), "y": tensor.Scalar(int32(1))}},
		{"missing-input", map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, 2}, iota32(2))}},
		{"counts-differ", map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{3, 2}, iota32(6)), "n_0": tensor.FromSlice([]int{2}, []int32{1, 2})}},
	}
	for _, c := range bad {
		p := filepath.Join(t.TempDir(), c.name+".npz")
		writeNpz(t, p, false, c.members)
		r, err := Npz(p, model)
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.Next(context.Background())
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %v does not name %s", c.name, err, p)
		}
		t.Logf("%s: %v", c.name, err)
	}
	if _, err := Npz(t.TempDir(), model); err == nil {
		t.Error("folder without archives: no error")
	}
}
