package dataset

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/tensor"
)

// inputForStem finds the model input whose name, or sanitized name (see
// SanitizeName), is stem. With no model, the stem names the input.
func inputForStem(model []engine.ValueInfo, stem string) (engine.ValueInfo, bool) {
	if model == nil {
		return engine.ValueInfo{Name: stem}, true
	}
	if vi, ok := findInput(model, stem); ok {
		return vi, true
	}
	for _, vi := range model {
		if SanitizeName(vi.Name) == stem {
			return vi, true
		}
	}
	return engine.ValueInfo{}, false
}

// inputNames lists the model's input names for messages.
func inputNames(model []engine.ValueInfo) string {
	names := make([]string, len(model))
	for i, vi := range model {
		names[i] = fmt.Sprintf("%q", vi.Name)
	}
	return strings.Join(names, ", ")
}

// NpyReader streams samples stored as one folder per sample holding one
// .npy file per input.
type NpyReader struct {
	model   []engine.ValueInfo
	samples []string // sample folders
	next    int
}

// NpyDir returns a reader over dir/SAMPLE/INPUT.npy: each subfolder of dir
// (in name order, numbers compared by value) is one sample and holds one
// .npy file per model input, named by the input's name or by its
// sanitized form (SanitizeName: "input:0" -> input_0.npy). Every model
// input must have a file; a .npy file naming no input, or whose element
// type or static dimensions differ from the input's, is an error naming the
// file. With model nil, every .npy file feeds the input its stem names.
func NpyDir(dir string, model []engine.ValueInfo) (*NpyReader, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var samples []string
	for _, e := range ents {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			samples = append(samples, filepath.Join(dir, e.Name()))
		}
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("dataset: %s: no sample folders (expected %s/SAMPLE/INPUT.npy)", dir, dir)
	}
	slices.SortFunc(samples, func(a, b string) int { return compareNumbered(filepath.Base(a), filepath.Base(b)) })
	return &NpyReader{model: model, samples: samples}, nil
}

// Len returns the number of sample folders.
func (r *NpyReader) Len() int { return len(r.samples) }

// Close makes later Next calls return io.EOF.
func (r *NpyReader) Close() error {
	r.next = len(r.samples)
	return nil
}

// Next reads the next sample folder.
func (r *NpyReader) Next(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	if r.next >= len(r.samples) {
		return Sample{}, io.EOF
	}
	dir := r.samples[r.next]
	r.next++
	ents, err := os.ReadDir(dir)
	if err != nil {
		return Sample{}, fmt.Errorf("dataset: %w", err)
	}
	inputs := make(map[string]*tensor.Tensor)
	for _, e := range ents {
		stem, ok := strings.CutSuffix(e.Name(), ".npy")
		if !ok || e.IsDir() {
			continue
		}
		p := filepath.Join(dir, e.Name())
		vi, ok := inputForStem(r.model, stem)
		if !ok {
			return Sample{}, fmt.Errorf("dataset: %s: %q names no model input (inputs: %s)", p, stem, inputNames(r.model))
		}
		if _, dup := inputs[vi.Name]; dup {
			return Sample{}, fmt.Errorf("dataset: %s: input %q has two files in %s", p, vi.Name, dir)
		}
		t, err := tensor.ReadNpyFile(p)
		if err != nil {
			return Sample{}, fmt.Errorf("dataset: %w", err)
		}
		if err := checkTensor(p, vi, t); err != nil {
			return Sample{}, err
		}
		inputs[vi.Name] = t
	}
	for _, vi := range r.model {
		if _, ok := inputs[vi.Name]; !ok {
			return Sample{}, fmt.Errorf("dataset: %s: missing input %q", filepath.Join(dir, SanitizeName(vi.Name)+".npy"), vi.Name)
		}
	}
	if len(inputs) == 0 {
		return Sample{}, fmt.Errorf("dataset: %s: no .npy files", dir)
	}
	return Sample{Name: filepath.Base(dir), Inputs: inputs, Label: -1}, nil
}

// NpzReader streams samples from .npz archives, one archive in memory at a
// time.
type NpzReader struct {
	model   []engine.ValueInfo
	files   []string
	next    int
	pending []Sample // samples of the current archive not yet returned
}

// Npz returns a reader over path, a .npz archive or a folder of them (read
// in name order, numbers compared by value). Each archive's members are
// keyed by input name or sanitized input name (see NpyDir), and every model
// input must be present. An archive holds either one sample or several
// stacked along a leading axis; for each member that is decided against
// the input's declared shape:
//
//   - rank one more than declared: a stack along a new first axis, one
//     sample per slice ([N,1,28,28] for an input [1,28,28]);
//   - same rank, a static first dimension B and B*k entries along it, k > 1:
//     k samples of B ([100,3,224,224] for an input [1,3,224,224]);
//   - otherwise (including a dynamic first dimension) one sample.
//
// All members of an archive must give the same number of samples. Element
// types and static dimensions are checked; errors name the archive and
// member. With model nil, each archive is one sample keyed by member name.
func Npz(path string, model []engine.ValueInfo) (*NpzReader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if !st.IsDir() {
		return &NpzReader{model: model, files: []string{path}}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var files []string
	for _, e := range ents {
		if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".npz") {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset: %s: no .npz files", path)
	}
	slices.SortFunc(files, func(a, b string) int { return compareNumbered(trimExt(a), trimExt(b)) })
	return &NpzReader{model: model, files: files}, nil
}

func trimExt(p string) string {
	b := filepath.Base(p)
	return strings.TrimSuffix(b, filepath.Ext(b))
}

// Close makes later Next calls return io.EOF.
func (r *NpzReader) Close() error {
	r.next = len(r.files)
	r.pending = nil
	return nil
}

// Next returns the next sample, reading the next archive when the current
// one is used up.
func (r *NpzReader) Next(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	for len(r.pending) == 0 {
		if r.next >= len(r.files) {
			return Sample{}, io.EOF
		}
		p := r.files[r.next]
		r.next++
		samples, err := r.readArchive(p)
		if err != nil {
			return Sample{}, err
		}
		r.pending = samples
	}
	s := r.pending[0]
	r.pending = r.pending[1:]
	return s, nil
}

// readArchive reads one .npz into its samples.
func (r *NpzReader) readArchive(p string) ([]Sample, error) {
	arrays, keys, err := tensor.ReadNpz(p)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	type member struct {
		key   string
		vi    engine.ValueInfo
		t     *tensor.Tensor
		count int // samples it gives
		mode  int // 0: one sample, 1: new axis, 2: split the first axis
	}
	var members []member
	seen := map[string]bool{}
	for _, k := range keys {
		what := fmt.Sprintf("%s member %q", p, k+".npy")
		vi, ok := inputForStem(r.model, k)
		if !ok {
			return nil, fmt.Errorf("dataset: %s: names no model input (inputs: %s)", what, inputNames(r.model))
		}
		if seen[vi.Name] {
			return nil, fmt.Errorf("dataset: %s: input %q given twice", what, vi.Name)
		}
		seen[vi.Name] = true
		m := member{key: what, vi: vi, t: arrays[k], count: 1}
		decl, sh := vi.Shape, m.t.Shape
		switch {
		case decl != nil && len(sh) == len(decl)+1:
			m.mode, m.count = 1, sh[0]
		case decl != nil && len(sh) == len(decl) && len(sh) > 0 && decl[0] > 0 && sh[0] > decl[0] && sh[0]%decl[0] == 0:
			m.mode, m.count = 2, sh[0]/decl[0]
		}
		members = append(members, m)
	}
	for _, vi := range r.model {
		if !seen[vi.Name] {
			return nil, fmt.Errorf("dataset: %s: no member for input %q (expected %s.npy)", p, vi.Name, SanitizeName(vi.Name))
		}
	}
	if len(members) == 0 {
		return nil, fmt.Errorf("dataset: %s: archive is empty", p)
	}
	count := members[0].count
	for _, m := range members[1:] {
		if m.count != count {
			return nil, fmt.Errorf("dataset: %s: %s gives %d samples along its first axis but %s gives %d", p, strings.TrimPrefix(members[0].key, p+" "), count, strings.TrimPrefix(m.key, p+" "), m.count)
		}
	}
	if count == 0 {
		return nil, fmt.Errorf("dataset: %s: no samples along the first axis", members[0].key)
	}
	base := filepath.Base(p)
	samples := make([]Sample, count)
	for i := range samples {
		samples[i] = Sample{Name: base, Inputs: make(map[string]*tensor.Tensor, len(members)), Label: -1}
		if count > 1 {
			samples[i].Name = fmt.Sprintf("%s[%d]", base, i)
		}
		for _, m := range members {
			t := m.t
			switch m.mode {
			case 1:
				t = sliceFirst(m.t, i, i+1, m.t.Shape[1:])
			case 2:
				b := m.vi.Shape[0]
				t = sliceFirst(m.t, i*b, (i+1)*b, append([]int{b}, m.t.Shape[1:]...))
			}
			what := m.key
			if count > 1 {
				what = fmt.Sprintf("%s sample %d", m.key, i)
			}
			if err := checkTensor(what, m.vi, t); err != nil {
				return nil, err
			}
			samples[i].Inputs[m.vi.Name] = t
		}
	}
	return samples, nil
}

// sliceFirst returns entries [a, b) of t's first axis as a tensor of the
// given shape, sharing t's data.
func sliceFirst(t *tensor.Tensor, a, b int, shape []int) *tensor.Tensor {
	inner := 1
	for _, d := range t.Shape[1:] {
		inner *= d
	}
	data := reflect.ValueOf(t.Data).Slice(a*inner, b*inner).Interface()
	return &tensor.Tensor{DType: t.DType, Shape: shape, Data: data}
}
