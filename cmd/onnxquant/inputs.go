package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/tensor"
)

// readTensorFile reads a .npy file or an ONNX TensorProto .pb file. It also
// returns the tensor's name when the file records one (.pb).
func readTensorFile(path string) (*tensor.Tensor, string, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		t, err := tensor.ReadNpyFile(path)
		return t, "", err
	case ".pb":
		return tensor.ReadProtoFile(path)
	}
	return nil, "", fmt.Errorf("%s: unknown tensor file type (want .npy or .pb)", path)
}

// loadInputs gathers the inputs given by --input NAME=FILE and --input-dir
// DIR (a test_data_set folder of input_N.pb files, matched to the model's
// inputs by the tensor's name, else by position) and checks that every
// model input is given and no unknown one is.
func loadInputs(model []engine.ValueInfo, named []string, dir string) (map[string]*tensor.Tensor, error) {
	feeds := map[string]*tensor.Tensor{}
	known := map[string]bool{}
	for _, v := range model {
		known[v.Name] = true
	}
	if dir != "" {
		files, err := filepath.Glob(filepath.Join(dir, "input_*.pb"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s: no input_N.pb files", dir)
		}
		sort.Slice(files, func(i, j int) bool { return fileIndex(files[i]) < fileIndex(files[j]) })
		for i, f := range files {
			t, name, err := tensor.ReadProtoFile(f)
			if err != nil {
				return nil, err
			}
			if !known[name] {
				if i >= len(model) {
					return nil, fmt.Errorf("%s: the model has only %d inputs", f, len(model))
				}
				name = model[i].Name
			}
			feeds[name] = t
		}
	}
	for _, spec := range named {
		name, file, ok := strings.Cut(spec, "=")
		if !ok || name == "" || file == "" {
			return nil, usagef("--input %q: want NAME=FILE", spec)
		}
		if !known[name] {
			return nil, fmt.Errorf("--input %s: the model has no input %q (its inputs: %s)", spec, name, describeInputs(model))
		}
		t, _, err := readTensorFile(file)
		if err != nil {
			return nil, err
		}
		feeds[name] = t
	}
	var missing []string
	for _, v := range model {
		if _, ok := feeds[v.Name]; !ok {
			missing = append(missing, v.Name)
		}
	}
	if len(missing) > 0 {
		return nil, usagef("missing input(s) %s; the model's inputs: %s (give them with --input NAME=FILE.npy or --input-dir)", strings.Join(missing, ", "), describeInputs(model))
	}
	return feeds, nil
}

func fileIndex(path string) int {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	i, _ := strconv.Atoi(base[strings.LastIndexByte(base, '_')+1:])
	return i
}

func describeInputs(model []engine.ValueInfo) string {
	var parts []string
	for _, v := range model {
		parts = append(parts, v.Name+" "+v.DType.String()+shapeOf(v))
	}
	return strings.Join(parts, ", ")
}

func shapeOf(v engine.ValueInfo) string {
	if v.Shape == nil {
		return "[?]"
	}
	s := make([]string, len(v.Shape))
	for i, d := range v.Shape {
		switch {
		case d >= 0:
			s[i] = strconv.Itoa(d)
		case i < len(v.DimNames) && v.DimNames[i] != "":
			s[i] = v.DimNames[i]
		default:
			s[i] = "?"
		}
	}
	return "[" + strings.Join(s, ",") + "]"
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// outputFileName maps a value name to a safe file name: characters outside
// [A-Za-z0-9._-] become '_'.
func outputFileName(name string) string {
	s := unsafeName.ReplaceAllString(name, "_")
	if s == "" || s == "." || s == ".." {
		s = "_" + s
	}
	return s + ".npy"
}

// summarize describes a tensor in one line: min, max, mean and the first
// values, and the arg max of a small float vector (a classifier's answer).
func summarize(t *tensor.Tensor) string {
	n := t.Len()
	if n == 0 {
		return "empty"
	}
	if t.DType == tensor.String || t.DType == tensor.Bool {
		return fmt.Sprintf("values %v", head(fmt.Sprint(t.Data), 80))
	}
	f, err := tensor.Convert(t, tensor.Float64)
	if err != nil {
		return fmt.Sprintf("values %v", head(fmt.Sprint(t.Data), 80))
	}
	v := f.Data.([]float64)
	lo, hi, sum, nan := math.Inf(1), math.Inf(-1), 0.0, 0
	arg := 0
	for i, x := range v {
		if math.IsNaN(x) {
			nan++
			continue
		}
		if x < lo {
			lo = x
		}
		if x > hi {
			hi, arg = x, i
		}
		sum += x
	}
	s := fmt.Sprintf("min %.6g max %.6g mean %.6g", lo, hi, sum/float64(n-nan))
	if nan > 0 {
		s += fmt.Sprintf(" NaN %d", nan)
	}
	if t.DType.IsFloat() && n > 1 && n <= 1000 && n == t.Shape[len(t.Shape)-1] {
		s += fmt.Sprintf(" argmax %d", arg)
	}
	k := min(n, 6)
	parts := make([]string, k)
	for i := 0; i < k; i++ {
		parts[i] = strconv.FormatFloat(v[i], 'g', 6, 64)
	}
	more := ""
	if n > k {
		more = " ..."
	}
	return s + " first [" + strings.Join(parts, " ") + more + "]"
}

func head(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// ensureDir creates dir (and parents) for outputs.
func ensureDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating output folder: %w", err)
	}
	return nil
}
