package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Keys of TensorProto.external_data entries.
const (
	extLocation = "location"
	extOffset   = "offset"
	extLength   = "length"
)

// elemBits returns the storage size in bits of one element of the ONNX data
// type dt, or 0 when dt has no fixed size (STRING, UNDEFINED) or is unknown.
func elemBits(dt int32) int64 {
	switch TensorProto_DataType(dt) {
	case TensorProto_UINT4, TensorProto_INT4, TensorProto_FLOAT4E2M1:
		return 4
	case TensorProto_UINT8, TensorProto_INT8, TensorProto_BOOL,
		TensorProto_FLOAT8E4M3FN, TensorProto_FLOAT8E4M3FNUZ,
		TensorProto_FLOAT8E5M2, TensorProto_FLOAT8E5M2FNUZ,
		TensorProto_FLOAT8E8M0:
		return 8
	case TensorProto_UINT16, TensorProto_INT16, TensorProto_FLOAT16, TensorProto_BFLOAT16:
		return 16
	case TensorProto_FLOAT, TensorProto_INT32, TensorProto_UINT32:
		return 32
	case TensorProto_INT64, TensorProto_DOUBLE, TensorProto_UINT64, TensorProto_COMPLEX64:
		return 64
	case TensorProto_COMPLEX128:
		return 128
	}
	return 0
}

// dataTypeName returns the schema name of dt ("FLOAT", "INT4") or its number.
func dataTypeName(dt int32) string {
	if s, ok := TensorProto_DataType_name[dt]; ok {
		return s
	}
	return fmt.Sprintf("data type %d", dt)
}

// maxTensorBytes bounds the sizes computed from dims so that products and
// sums of them cannot overflow an int64.
const maxTensorBytes = 1 << 60

// numElements returns the product of dims (1 for a scalar), refusing
// negative dimensions and products beyond maxTensorBytes.
func numElements(dims []int64) (int64, error) {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", dims)
		}
		hi, lo := bits.Mul64(uint64(n), uint64(d))
		if hi != 0 || lo > maxTensorBytes {
			return 0, fmt.Errorf("shape %v has too many elements", dims)
		}
		n = int64(lo)
	}
	return n, nil
}

// tensorByteSize returns the number of bytes the elements of a tensor of
// type dt and shape dims take in raw_data: elements times element size,
// with 4-bit types packed two to a byte (an odd count rounds up).
func tensorByteSize(dims []int64, dt int32) (int64, error) {
	b := elemBits(dt)
	if b == 0 {
		switch TensorProto_DataType(dt) {
		case TensorProto_STRING:
			return 0, errors.New("STRING tensors have no fixed byte size")
		case TensorProto_UNDEFINED:
			return 0, errors.New("data type is UNDEFINED")
		}
		return 0, fmt.Errorf("unknown data type %d", dt)
	}
	n, err := numElements(dims)
	if err != nil {
		return 0, err
	}
	if b == 4 {
		return (n + 1) / 2, nil
	}
	// n <= 2^60 and b/8 <= 16 could overflow; check.
	hi, lo := bits.Mul64(uint64(n), uint64(b/8))
	if hi != 0 || lo > maxTensorBytes {
		return 0, fmt.Errorf("shape %v of %s is too large", dims, dataTypeName(dt))
	}
	return int64(lo), nil
}

// typedCount returns how many values of the typed field that holds dt a
// tensor of shape dims has: complex types take two values an element,
// 4-bit types two elements a value. The second result names the field.
func typedCount(dims []int64, dt int32) (int64, string, error) {
	n, err := numElements(dims)
	if err != nil {
		return 0, "", err
	}
	switch TensorProto_DataType(dt) {
	case TensorProto_FLOAT:
		return n, "float_data", nil
	case TensorProto_COMPLEX64:
		return 2 * n, "float_data", nil
	case TensorProto_DOUBLE:
		return n, "double_data", nil
	case TensorProto_COMPLEX128:
		return 2 * n, "double_data", nil
	case TensorProto_INT64:
		return n, "int64_data", nil
	case TensorProto_UINT32, TensorProto_UINT64:
		return n, "uint64_data", nil
	case TensorProto_STRING:
		return n, "string_data", nil
	case TensorProto_UINT4, TensorProto_INT4, TensorProto_FLOAT4E2M1:
		return (n + 1) / 2, "int32_data", nil
	}
	if elemBits(dt) == 0 {
		return 0, "", fmt.Errorf("unknown data type %d", dt)
	}
	return n, "int32_data", nil
}

// typedLen returns the number of values in the typed field named field.
func typedLen(t *TensorProto, field string) int {
	switch field {
	case "float_data":
		return len(t.FloatData)
	case "double_data":
		return len(t.DoubleData)
	case "int64_data":
		return len(t.Int64Data)
	case "uint64_data":
		return len(t.Uint64Data)
	case "string_data":
		return len(t.StringData)
	case "int32_data":
		return len(t.Int32Data)
	}
	return 0
}

// hasTypedData reports whether any typed value field of t is non-empty.
func hasTypedData(t *TensorProto) bool {
	return len(t.FloatData) > 0 || len(t.Int32Data) > 0 || len(t.Int64Data) > 0 ||
		len(t.DoubleData) > 0 || len(t.Uint64Data) > 0 || len(t.StringData) > 0
}

// rawBytes returns the elements of t as little-endian raw_data bytes: its
// raw_data if set, else its typed field converted. It refuses STRING and
// external tensors and data whose size does not fit the shape. The result
// aliases t.RawData when that is where the data is.
func rawBytes(t *TensorProto) ([]byte, error) {
	dt := t.GetDataType()
	size, err := tensorByteSize(t.Dims, dt)
	if err != nil {
		return nil, err
	}
	if t.RawData != nil {
		if int64(len(t.RawData)) != size {
			return nil, fmt.Errorf("raw_data has %d bytes, %s shape %v needs %d", len(t.RawData), dataTypeName(dt), t.Dims, size)
		}
		return t.RawData, nil
	}
	want, field, err := typedCount(t.Dims, dt)
	if err != nil {
		return nil, err
	}
	if got := typedLen(t, field); int64(got) != want {
		return nil, fmt.Errorf("%s has %d values, %s shape %v needs %d", field, got, dataTypeName(dt), t.Dims, want)
	}
	out := make([]byte, size)
	switch field {
	case "float_data":
		for i, v := range t.FloatData {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case "double_data":
		for i, v := range t.DoubleData {
			binary.LittleEndian.PutUint64(out[8*i:], math.Float64bits(v))
		}
	case "int64_data":
		for i, v := range t.Int64Data {
			binary.LittleEndian.PutUint64(out[8*i:], uint64(v))
		}
	case "uint64_data":
		if TensorProto_DataType(dt) == TensorProto_UINT32 {
			for i, v := range t.Uint64Data {
				binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
			}
		} else {
			for i, v := range t.Uint64Data {
				binary.LittleEndian.PutUint64(out[8*i:], v)
			}
		}
	case "int32_data":
		// Each value holds one element (or, for 4-bit types, one byte of
		// two packed elements) in its low bits.
		switch b := elemBits(dt); b {
		case 32:
			for i, v := range t.Int32Data {
				binary.LittleEndian.PutUint32(out[4*i:], uint32(v))
			}
		case 16:
			for i, v := range t.Int32Data {
				binary.LittleEndian.PutUint16(out[2*i:], uint16(v))
			}
		default: // 8 bits, or 4 bits packed two to a value
			for i, v := range t.Int32Data {
				out[i] = byte(v)
			}
		}
	default:
		return nil, fmt.Errorf("%s tensors cannot be stored as raw bytes", dataTypeName(dt))
	}
	return out, nil
}

// externalInfo is the parsed external_data of a tensor.
type externalInfo struct {
	location  string
	offset    int64
	length    int64
	hasLength bool
}

// parseExternal reads the external_data entries of t. Unknown keys (such as
// "checksum") are ignored; a repeated key takes its last value.
func parseExternal(t *TensorProto) (externalInfo, error) {
	var info externalInfo
	hasLocation := false
	for _, e := range t.ExternalData {
		switch e.GetKey() {
		case extLocation:
			info.location = e.GetValue()
			hasLocation = true
		case extOffset:
			v, err := strconv.ParseInt(strings.TrimSpace(e.GetValue()), 10, 64)
			if err != nil || v < 0 {
				return info, fmt.Errorf("bad offset %q", e.GetValue())
			}
			info.offset = v
		case extLength:
			v, err := strconv.ParseInt(strings.TrimSpace(e.GetValue()), 10, 64)
			if err != nil || v < 0 {
				return info, fmt.Errorf("bad length %q", e.GetValue())
			}
			info.length = v
			info.hasLength = true
		}
	}
	if !hasLocation || info.location == "" {
		return info, errors.New("no location in external_data")
	}
	return info, nil
}

// checkExternalSize checks that an external tensor's length entry, if any,
// fits its shape, and returns the number of bytes to read.
func checkExternalSize(t *TensorProto, info externalInfo) (int64, error) {
	if t.Segment != nil {
		return 0, errors.New("segmented external tensors are not supported")
	}
	size, err := tensorByteSize(t.Dims, t.GetDataType())
	if err != nil {
		return 0, err
	}
	if info.hasLength && info.length != size {
		return 0, fmt.Errorf("length %d does not match the %d bytes of %s shape %v",
			info.length, size, dataTypeName(t.GetDataType()), t.Dims)
	}
	return size, nil
}

// ResolveExternalData reads the data of every external tensor of m (graph
// initializers, sparse initializers, tensors in node attributes, subgraphs
// at any depth, functions and training info) from the file named by its
// "location" entry, relative to dir, at its "offset" and "length", into
// raw_data, and clears its external_data and data_location. Files are opened
// once per location. It refuses absolute locations, locations that lead
// outside dir (through ".." or a symbolic link), missing files, files too
// short for offset+length, and lengths that differ from the size the
// tensor's type and shape give. Errors are *ExternalDataError. On error, m
// may have been partly resolved.
func ResolveExternalData(m *ModelProto, dir string) error {
	if m == nil {
		return errors.New("onnx: ResolveExternalData: nil model")
	}
	r := &resolver{dir: dir, files: map[string]*extFile{}}
	defer r.close()
	return walkModel(m, &walker{tensor: r.resolve})
}

// resolver reads external tensor data relative to one folder.
type resolver struct {
	dir     string
	realDir string // dir with symbolic links resolved, set on first use
	files   map[string]*extFile
}

// extFile is an open external data file.
type extFile struct {
	f    *os.File
	size int64
}

func (r *resolver) close() {
	for _, f := range r.files {
		f.f.Close()
	}
}

func (r *resolver) resolve(w *walker, t *TensorProto) error {
	if t.GetDataLocation() != TensorProto_EXTERNAL {
		return nil
	}
	info, err := parseExternal(t)
	fail := func(err error) error {
		return &ExternalDataError{Dir: r.dir, Tensor: w.where(), Location: info.location, Err: err}
	}
	if err != nil {
		return fail(err)
	}
	size, err := checkExternalSize(t, info)
	if err != nil {
		return fail(err)
	}
	f, err := r.open(info.location)
	if err != nil {
		return fail(err)
	}
	if info.offset > f.size || size > f.size-info.offset {
		return fail(fmt.Errorf("file %s is too short: %d bytes, tensor needs offset %d + length %d",
			f.f.Name(), f.size, info.offset, size))
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(io.NewSectionReader(f.f, info.offset, size), buf); err != nil {
		return fail(fmt.Errorf("read %s: %w", f.f.Name(), err))
	}
	t.RawData = buf
	t.ExternalData = nil
	t.DataLocation = nil
	return nil
}

// checkLocation refuses locations that are empty, absolute, or lexically
// outside the folder they are relative to, and returns the location in the
// host's path syntax.
func checkLocation(loc string) (string, error) {
	if loc == "" {
		return "", errors.New("empty location")
	}
	if strings.ContainsRune(loc, 0) {
		return "", errors.New("location contains a NUL byte")
	}
	native := filepath.FromSlash(loc)
	if strings.HasPrefix(loc, "/") || filepath.IsAbs(native) || filepath.VolumeName(native) != "" {
		return "", errors.New("absolute location refused: it must be relative to the model's folder")
	}
	if !filepath.IsLocal(native) {
		return "", errors.New("location refused: it leads outside the model's folder")
	}
	return native, nil
}

// open returns the file at loc, checked to lie inside r.dir after symbolic
// links are resolved, opening it on first use.
func (r *resolver) open(loc string) (*extFile, error) {
	if f, ok := r.files[loc]; ok {
		return f, nil
	}
	native, err := checkLocation(loc)
	if err != nil {
		return nil, err
	}
	if r.realDir == "" {
		d, err := filepath.EvalSymlinks(r.dir)
		if err != nil {
			return nil, fmt.Errorf("model folder: %w", err)
		}
		if d, err = filepath.Abs(d); err != nil {
			return nil, fmt.Errorf("model folder: %w", err)
		}
		r.realDir = d
	}
	full := filepath.Join(r.dir, native)
	real, err := filepath.EvalSymlinks(full)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("file %s not found: %w", full, err)
		}
		return nil, err
	}
	if real, err = filepath.Abs(real); err != nil {
		return nil, err
	}
	if rel, err := filepath.Rel(r.realDir, real); err != nil || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("location refused: %s resolves to %s, outside the model's folder %s", full, real, r.realDir)
	}
	f, err := os.Open(real)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file", full)
	}
	ef := &extFile{f: f, size: st.Size()}
	r.files[loc] = ef
	return ef, nil
}

// walker visits every tensor and attribute of a model, keeping the path to
// the current one for messages.
type walker struct {
	path   []string
	tensor func(w *walker, t *TensorProto) error
	attr   func(w *walker, a *AttributeProto) error
}

// where describes the current position, e.g.
// `graph "main": node "c1" (Constant): attribute "value"`.
func (w *walker) where() string { return strings.Join(w.path, ": ") }

func (w *walker) push(format string, args ...any) {
	w.path = append(w.path, fmt.Sprintf(format, args...))
}
func (w *walker) pop() { w.path = w.path[:len(w.path)-1] }

// walkModel calls w's callbacks for every tensor and attribute in m, in the
// order they are stored.
func walkModel(m *ModelProto, w *walker) error {
	if m.Graph != nil {
		if err := w.graph(m.Graph); err != nil {
			return err
		}
	}
	for i, f := range m.Functions {
		w.push("function %q (#%d)", f.GetName(), i)
		if err := w.nodes(f.Node); err != nil {
			return err
		}
		for _, a := range f.AttributeProto {
			if err := w.attribute(a); err != nil {
				return err
			}
		}
		w.pop()
	}
	for i, ti := range m.TrainingInfo {
		for _, g := range []struct {
			name string
			g    *GraphProto
		}{{"initialization", ti.Initialization}, {"algorithm", ti.Algorithm}} {
			if g.g == nil {
				continue
			}
			w.push("training_info[%d] %s", i, g.name)
			if err := w.graph(g.g); err != nil {
				return err
			}
			w.pop()
		}
	}
	return nil
}

func (w *walker) graph(g *GraphProto) error {
	w.push("graph %q", g.GetName())
	for _, t := range g.Initializer {
		w.push("initializer %q", t.GetName())
		if err := w.visitTensor(t); err != nil {
			return err
		}
		w.pop()
	}
	for i, s := range g.SparseInitializer {
		w.push("sparse_initializer[%d]", i)
		if err := w.sparse(s); err != nil {
			return err
		}
		w.pop()
	}
	if err := w.nodes(g.Node); err != nil {
		return err
	}
	w.pop()
	return nil
}

func (w *walker) nodes(nodes []*NodeProto) error {
	for i, n := range nodes {
		if n.GetName() != "" {
			w.push("node %q (%s)", n.GetName(), n.GetOpType())
		} else {
			w.push("node #%d (%s)", i, n.GetOpType())
		}
		for _, a := range n.Attribute {
			if err := w.attribute(a); err != nil {
				return err
			}
		}
		w.pop()
	}
	return nil
}

func (w *walker) attribute(a *AttributeProto) error {
	w.push("attribute %q", a.GetName())
	if w.attr != nil {
		if err := w.attr(w, a); err != nil {
			return err
		}
	}
	if a.T != nil {
		if err := w.visitTensor(a.T); err != nil {
			return err
		}
	}
	for i, t := range a.Tensors {
		w.push("tensors[%d]", i)
		if err := w.visitTensor(t); err != nil {
			return err
		}
		w.pop()
	}
	if a.SparseTensor != nil {
		if err := w.sparse(a.SparseTensor); err != nil {
			return err
		}
	}
	for i, s := range a.SparseTensors {
		w.push("sparse_tensors[%d]", i)
		if err := w.sparse(s); err != nil {
			return err
		}
		w.pop()
	}
	if a.G != nil {
		if err := w.graph(a.G); err != nil {
			return err
		}
	}
	for _, g := range a.Graphs {
		if err := w.graph(g); err != nil {
			return err
		}
	}
	w.pop()
	return nil
}

func (w *walker) sparse(s *SparseTensorProto) error {
	if s.Values != nil {
		w.push("values %q", s.Values.GetName())
		if err := w.visitTensor(s.Values); err != nil {
			return err
		}
		w.pop()
	}
	if s.Indices != nil {
		w.push("indices %q", s.Indices.GetName())
		if err := w.visitTensor(s.Indices); err != nil {
			return err
		}
		w.pop()
	}
	return nil
}

func (w *walker) visitTensor(t *TensorProto) error {
	if w.tensor == nil {
		return nil
	}
	return w.tensor(w, t)
}
