package dataset

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestDataReader streams ONNX test-data sets: folders holding input_0.pb,
// input_1.pb, ... (serialised TensorProtos), one sample per folder.
type TestDataReader struct {
	model []engine.ValueInfo
	sets  []string // folders, in order
	next  int
}

// TestData returns a reader over the ONNX test-data folder dir: either a
// folder holding test_data_set_* subfolders (read in numeric order) or one
// such set itself (holding input_*.pb). Each input_N.pb feeds the model
// input its TensorProto names when that name is one of model's inputs, and
// otherwise the N-th input of model. Element types and static dimensions
// are checked against model. With model nil, tensors are fed by their own
// names and unnamed ones are an error.
func TestData(dir string, model []engine.ValueInfo) (*TestDataReader, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var sets []string
	hasInputs := false
	for _, e := range ents {
		switch {
		case e.IsDir() && strings.HasPrefix(e.Name(), "test_data_set_"):
			sets = append(sets, filepath.Join(dir, e.Name()))
		case !e.IsDir() && isInputPB(e.Name()):
			hasInputs = true
		}
	}
	if len(sets) == 0 && hasInputs {
		sets = []string{dir}
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("dataset: %s: no test_data_set_* folders or input_*.pb files", dir)
	}
	slices.SortFunc(sets, func(a, b string) int { return compareNumbered(filepath.Base(a), filepath.Base(b)) })
	return &TestDataReader{model: model, sets: sets}, nil
}

// isInputPB reports whether name is input_N.pb.
func isInputPB(name string) bool {
	_, ok := pbIndex(name)
	return ok
}

// pbIndex returns N of input_N.pb.
func pbIndex(name string) (int, bool) {
	s, ok := strings.CutPrefix(name, "input_")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".pb")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// compareNumbered orders names by their trailing number when both have
// one after the same prefix ("set_2" before "set_10"), else as strings.
func compareNumbered(a, b string) int {
	pa, na, oka := splitNumber(a)
	pb, nb, okb := splitNumber(b)
	if oka && okb && pa == pb && na != nb {
		if na < nb {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func splitNumber(s string) (string, int, bool) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i == len(s) {
		return s, 0, false
	}
	n, err := strconv.Atoi(s[i:])
	return s[:i], n, err == nil
}

// Len returns the number of test-data sets.
func (r *TestDataReader) Len() int { return len(r.sets) }

// Close makes later Next calls return io.EOF.
func (r *TestDataReader) Close() error {
	r.next = len(r.sets)
	return nil
}

// Next reads the next test-data set.
func (r *TestDataReader) Next(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	if r.next >= len(r.sets) {
		return Sample{}, io.EOF
	}
	dir := r.sets[r.next]
	r.next++
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Sample{}, fmt.Errorf("dataset: %w", err)
	}
	type pb struct {
		n    int
		path string
	}
	var files []pb
	for _, e := range ents {
		if n, ok := pbIndex(e.Name()); ok && !e.IsDir() {
			files = append(files, pb{n, filepath.Join(dir, e.Name())})
		}
	}
	if len(files) == 0 {
		return Sample{}, fmt.Errorf("dataset: %s: no input_*.pb files", dir)
	}
	slices.SortFunc(files, func(a, b pb) int { return a.n - b.n })
	inputs := make(map[string]*tensor.Tensor, len(files))
	for _, f := range files {
		t, name, err := tensor.ReadProtoFile(f.path)
		if err != nil {
			return Sample{}, fmt.Errorf("dataset: %w", err)
		}
		vi, ok := findInput(r.model, name)
		switch {
		case ok:
		case r.model == nil && name != "":
			vi = engine.ValueInfo{Name: name}
		case r.model == nil:
			return Sample{}, fmt.Errorf("dataset: %s: tensor has no name and no model inputs were given", f.path)
		case f.n < len(r.model):
			vi = r.model[f.n]
		default:
			return Sample{}, fmt.Errorf("dataset: %s: tensor name %q is not a model input and the model has only %d inputs", f.path, name, len(r.model))
		}
		if _, dup := inputs[vi.Name]; dup {
			return Sample{}, fmt.Errorf("dataset: %s: input %q given twice in %s", f.path, vi.Name, dir)
		}
		if err := checkTensor(f.path, vi, t); err != nil {
			return Sample{}, err
		}
		inputs[vi.Name] = t
	}
	return Sample{Name: filepath.Base(dir), Inputs: inputs, Label: -1}, nil
}
