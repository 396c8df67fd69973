package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// externalEntries returns the external_data of t as a map.
func externalEntries(t *TensorProto) map[string]string {
	out := map[string]string{}
	for _, e := range t.ExternalData {
		out[e.GetKey()] = e.GetValue()
	}
	return out
}

// TestSaveExternalConvertsTypedFields saves tensors held in typed fields to
// external data and checks the bytes written against hand-encoded
// little-endian values.
func TestSaveExternalConvertsTypedFields(t *testing.T) {
	tp := func(name string, dt TensorProto_DataType, dims []int64) *TensorProto {
		return &TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims}
	}
	withF := func(x *TensorProto, v ...float32) *TensorProto { x.FloatData = v; return x }
	withI := func(x *TensorProto, v ...int32) *TensorProto { x.Int32Data = v; return x }
	withL := func(x *TensorProto, v ...int64) *TensorProto { x.Int64Data = v; return x }
	withD := func(x *TensorProto, v ...float64) *TensorProto { x.DoubleData = v; return x }
	withU := func(x *TensorProto, v ...uint64) *TensorProto { x.Uint64Data = v; return x }
	tests := []struct {
		t    *TensorProto
		want []byte
	}{
		// 1.0f = 0x3f800000, -2.5f = 0xc0200000
		{withF(tp("float", TensorProto_FLOAT, []int64{2}), 1, -2.5), []byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0}},
		{withF(tp("complex64", TensorProto_COMPLEX64, []int64{1}), 1, -2.5), []byte{0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0}},
		{withI(tp("int32", TensorProto_INT32, []int64{2}), -1, 0x01020304), []byte{0xff, 0xff, 0xff, 0xff, 4, 3, 2, 1}},
		{withI(tp("int16", TensorProto_INT16, []int64{2}), -2, 300), []byte{0xfe, 0xff, 0x2c, 0x01}},
		{withI(tp("uint16", TensorProto_UINT16, []int64{1}), 0xfffe), []byte{0xfe, 0xff}},
		{withI(tp("float16", TensorProto_FLOAT16, []int64{2}), 0x3c00, 0xc000), []byte{0x00, 0x3c, 0x00, 0xc0}},
		{withI(tp("bfloat16", TensorProto_BFLOAT16, []int64{1}), 0x3f80), []byte{0x80, 0x3f}},
		{withI(tp("uint8", TensorProto_UINT8, []int64{2}), 255, 1), []byte{0xff, 0x01}},
		{withI(tp("int8", TensorProto_INT8, []int64{2}), -128, 5), []byte{0x80, 0x05}},
		{withI(tp("bool", TensorProto_BOOL, []int64{3}), 1, 0, 1), []byte{1, 0, 1}},
		{withI(tp("float8", TensorProto_FLOAT8E4M3FN, []int64{1}), 0x38), []byte{0x38}},
		{withI(tp("int4", TensorProto_INT4, []int64{3}), 0x21, 0x0f), []byte{0x21, 0x0f}},
		{withL(tp("int64", TensorProto_INT64, []int64{1}), -2), []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		// 1.0 = 0x3ff0000000000000
		{withD(tp("double", TensorProto_DOUBLE, []int64{1}), 1), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
		{withD(tp("complex128", TensorProto_COMPLEX128, []int64{1}), 1, 0), []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0}},
		{withU(tp("uint32", TensorProto_UINT32, []int64{1}), 0xdeadbeef), []byte{0xef, 0xbe, 0xad, 0xde}},
		{withU(tp("uint64", TensorProto_UINT64, []int64{1}), 0x0102030405060708), []byte{8, 7, 6, 5, 4, 3, 2, 1}},
		{rawTensor("raw", TensorProto_UINT8, []int64{3}, []byte{9, 8, 7}), []byte{9, 8, 7}},
	}
	var inits []*TensorProto
	for _, tt := range tests {
		inits = append(inits, tt.t)
	}
	str := &TensorProto{Name: proto.String("string"), DataType: proto.Int32(8), Dims: []int64{1}, StringData: [][]byte{[]byte("stays")}}
	m := modelWith(nil, append(inits, str)...)
	before, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "typed.onnx")
	if err := Save(m, p, SaveOptions{ExternalDataThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	if after, _ := (proto.MarshalOptions{Deterministic: true}).Marshal(m); !bytes.Equal(before, after) {
		t.Error("Save modified the caller's model")
	}

	// As written: every tensor but the string one external, aligned, in
	// "typed.onnx.data".
	saved, err := LoadWithOptions(p, LoadOptions{SkipExternalData: true})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "typed.onnx.data"))
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		x := saved.Graph.Initializer[i]
		e := externalEntries(x)
		off, _ := strconv.Atoi(e["offset"])
		n, _ := strconv.Atoi(e["length"])
		if x.GetDataLocation() != TensorProto_EXTERNAL || e["location"] != "typed.onnx.data" || off%4096 != 0 || n != len(tt.want) {
			t.Errorf("%s: location %v, entries %v; want external in typed.onnx.data, offset a multiple of 4096, length %d",
				x.GetName(), x.GetDataLocation(), e, len(tt.want))
			continue
		}
		if hasTypedData(x) || x.RawData != nil {
			t.Errorf("%s: data left inline", x.GetName())
		}
		if got := data[off : off+n]; !bytes.Equal(got, tt.want) {
			t.Errorf("%s: external bytes %x, want %x", x.GetName(), got, tt.want)
		}
		if x.GetName() != tt.t.GetName() || !equalDims(x.Dims, tt.t.Dims) || x.GetDataType() != tt.t.GetDataType() {
			t.Errorf("%s: name/type/shape changed: %q %d %v", tt.t.GetName(), x.GetName(), x.GetDataType(), x.Dims)
		}
	}
	if s := saved.Graph.Initializer[len(tests)]; s.GetDataLocation() == TensorProto_EXTERNAL || string(s.StringData[0]) != "stays" {
		t.Errorf("string tensor: %v", s)
	}

	// Loaded: raw_data holds the same bytes.
	loaded, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		if got := loaded.Graph.Initializer[i].RawData; !bytes.Equal(got, tt.want) {
			t.Errorf("%s: loaded raw_data %x, want %x", tt.t.GetName(), got, tt.want)
		}
	}
}

func equalDims(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestSaveExternalThreshold: only tensors of at least the threshold move,
// from every place in the model; the result reloads to the same data.
func TestSaveExternalThreshold(t *testing.T) {
	src := t.TempDir()
	want := everywhereFiles(t, src)
	m, err := Load(writeModel(t, src, "m.onnx", everywhereModel()))
	if err != nil {
		t.Fatal(err)
	}
	before, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	tests := []struct {
		name      string
		opts      SaveOptions
		dataName  string
		externals []string // tensors expected external, sorted
	}{
		{"all", SaveOptions{ExternalDataThreshold: 1}, "out.onnx.data",
			[]string{"c_val", "fn_val", "sp_indices", "sp_values", "sub_w", "ti_w", "w"}},
		{"at least 12 bytes", SaveOptions{ExternalDataThreshold: 12, ExternalDataName: "weights.bin"}, "weights.bin",
			[]string{"c_val", "sp_indices", "w"}},
		{"automatic, small model", SaveOptions{}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "out.onnx")
			if err := Save(m, p, tt.opts); err != nil {
				t.Fatal(err)
			}
			if after, _ := (proto.MarshalOptions{Deterministic: true}).Marshal(m); !bytes.Equal(before, after) {
				t.Fatal("Save modified the caller's model")
			}
			raw, err := LoadWithOptions(p, LoadOptions{SkipExternalData: true})
			if err != nil {
				t.Fatal(err)
			}
			var ext []string
			for name, x := range tensorsByName(t, raw) {
				if x.GetDataLocation() == TensorProto_EXTERNAL {
					ext = append(ext, name)
					if loc := externalEntries(x)["location"]; loc != tt.dataName {
						t.Errorf("%s: location %q, want %q", name, loc, tt.dataName)
					}
				}
			}
			sort.Strings(ext)
			if strings.Join(ext, ",") != strings.Join(tt.externals, ",") {
				t.Errorf("external tensors %v, want %v", ext, tt.externals)
			}
			entries, _ := os.ReadDir(dir)
			if wantFiles := 1 + min(1, len(tt.externals)); len(entries) != wantFiles {
				t.Errorf("%d files in the output folder, want %d", len(entries), wantFiles)
			}
			back, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			for name, x := range tensorsByName(t, back) {
				if !bytes.Equal(x.RawData, want[name]) {
					t.Errorf("%s: reloaded %x, want %x", name, x.RawData, want[name])
				}
			}
		})
	}
}

// TestSaveKeepsExternalReferences: tensors left external are written as
// they are, and Save will not overwrite the data file they read from.
func TestSaveKeepsExternalReferences(t *testing.T) {
	dir := t.TempDir()
	want := everywhereFiles(t, dir)
	m, err := LoadWithOptions(writeModel(t, dir, "m.onnx", everywhereModel()), LoadOptions{SkipExternalData: true})
	if err != nil {
		t.Fatal(err)
	}
	cp := filepath.Join(dir, "copy.onnx")
	if err := Save(m, cp, SaveOptions{ExternalDataThreshold: 1}); err != nil {
		t.Fatal(err)
	}
	back, err := Load(cp)
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range tensorsByName(t, back) {
		if !bytes.Equal(x.RawData, want[name]) {
			t.Errorf("%s: %x, want %x", name, x.RawData, want[name])
		}
	}
	err = Save(m, filepath.Join(dir, "other.onnx"), SaveOptions{ExternalDataThreshold: 1, ExternalDataName: "a.bin"})
	if err == nil || !strings.Contains(err.Error(), "holds data of tensors still external") {
		t.Errorf("Save over a referenced data file: %v, want a refusal", err)
	}
}

// TestSaveRefusesInput: the output may not be the input model, by name or
// through links, and the data file may not be it either.
func TestSaveRefusesInput(t *testing.T) {
	dir := t.TempDir()
	m := modelWith(nil, rawTensor("w", TensorProto_FLOAT, []int64{2}, le32(1, 2)))
	in := writeModel(t, dir, "in.onnx", m)
	orig, _ := os.ReadFile(in)
	sym := filepath.Join(dir, "sym.onnx")
	symlink(t, in, sym)
	hard := filepath.Join(dir, "hard.onnx")
	if err := os.Link(in, hard); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		out  string
		opts SaveOptions
	}{
		{"same path", in, SaveOptions{Input: in}},
		{"same path, other spelling", filepath.Join(dir, ".", "in.onnx"), SaveOptions{Input: in}},
		{"symbolic link", sym, SaveOptions{Input: in}},
		{"hard link", hard, SaveOptions{Input: in}},
		{"input as data file", filepath.Join(dir, "out.onnx"), SaveOptions{Input: in, ExternalDataThreshold: 1, ExternalDataName: "in.onnx"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Save(m, tt.out, tt.opts)
			if err == nil || !strings.Contains(err.Error(), "refusing to overwrite the input model "+in) {
				t.Errorf("Save: %v, want a refusal naming %s", err, in)
			}
			if got, _ := os.ReadFile(in); !bytes.Equal(got, orig) {
				t.Error("input changed")
			}
		})
	}
	// Another path with Input set is fine.
	if err := Save(m, filepath.Join(dir, "new.onnx"), SaveOptions{Input: in}); err != nil {
		t.Errorf("Save to a new file: %v", err)
	}
}

// TestSaveBadOptions checks refused arguments.
func TestSaveBadOptions(t *testing.T) {
	dir := t.TempDir()
	m := modelWith(nil, rawTensor("w", TensorProto_FLOAT, []int64{2}, le32(1, 2)))
	tests := []struct {
		name string
		m    *ModelProto
		path string
		opts SaveOptions
		want string
	}{
		{"nil model", nil, filepath.Join(dir, "a.onnx"), SaveOptions{}, "nil model"},
		{"empty path", m, "", SaveOptions{}, "empty output path"},
		{"data name with folder", m, filepath.Join(dir, "a.onnx"), SaveOptions{ExternalDataName: "sub/a.data"}, "must be a plain file name"},
		{"data name is the model", m, filepath.Join(dir, "a.onnx"), SaveOptions{ExternalDataThreshold: 1, ExternalDataName: "a.onnx"}, "is the model file itself"},
		{"output is a folder", m, dir, SaveOptions{}, "is a directory"},
		{"bad typed data", modelWith(nil, &TensorProto{Name: proto.String("f"), DataType: proto.Int32(1), Dims: []int64{3}, FloatData: []float32{1}}),
			filepath.Join(dir, "a.onnx"), SaveOptions{ExternalDataThreshold: 1}, `initializer "f": float_data has 1 values, FLOAT shape [3] needs 3`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Save(tt.m, tt.path, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "onnx: ") {
				t.Errorf("Save: %v, want %q", err, tt.want)
			}
			assertOnlyFiles(t, dir)
		})
	}
}

// assertOnlyFiles fails when dir holds anything but names.
func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	sort.Strings(names)
	if strings.Join(got, ",") != strings.Join(names, ",") {
		t.Errorf("folder holds %v, want %v", got, names)
	}
}

// TestSaveFailureLeavesNoTemp makes Save fail after its temporary files
// exist: they must be removed and the old output left in place.
func TestSaveFailureLeavesNoTemp(t *testing.T) {
	m := modelWith(nil, rawTensor("w", TensorProto_FLOAT, []int64{2}, le32(1, 2)))
	tests := []struct {
		name     string
		opts     SaveOptions
		failOn   string // base name of the rename target that fails
		leftover []string
	}{
		{"model rename", SaveOptions{}, "out.onnx", []string{"out.onnx"}},
		{"data rename", SaveOptions{ExternalDataThreshold: 1}, "out.onnx.data", []string{"out.onnx"}},
		// The data file is in place when the model rename fails: the old
		// model stays, beside the new data file.
		{"model rename after data", SaveOptions{ExternalDataThreshold: 1}, "out.onnx", []string{"out.onnx", "out.onnx.data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out.onnx")
			old := []byte("previous content")
			if err := os.WriteFile(out, old, 0o644); err != nil {
				t.Fatal(err)
			}
			rename = func(from, to string) error {
				if filepath.Base(to) == tt.failOn {
					return errors.New("injected failure")
				}
				return os.Rename(from, to)
			}
			defer func() { rename = os.Rename }()
			err := Save(m, out, tt.opts)
			if err == nil || !strings.Contains(err.Error(), "injected failure") || !strings.Contains(err.Error(), out) {
				t.Fatalf("Save: %v, want the injected failure naming %s", err, out)
			}
			assertOnlyFiles(t, dir, tt.leftover...)
			if got, _ := os.ReadFile(out); !bytes.Equal(got, old) {
				t.Errorf("output replaced by %d bytes after a failed save", len(got))
			}
		})
	}
	t.Run("read-only folder", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("skipped: running as root, folder permissions do not apply")
		}
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod(dir, 0o755)
		if err := Save(m, filepath.Join(dir, "out.onnx"), SaveOptions{}); err == nil {
			t.Fatal("Save into a read-only folder succeeded")
		}
		assertOnlyFiles(t, dir)
	})
}

// TestSaveDeterministic: saving the same model twice gives the same bytes,
// model and data file alike.
func TestSaveDeterministic(t *testing.T) {
	src := t.TempDir()
	everywhereFiles(t, src)
	m, err := Load(writeModel(t, src, "m.onnx", everywhereModel()))
	if err != nil {
		t.Fatal(err)
	}
	m.MetadataProps = []*StringStringEntryProto{{Key: proto.String("k"), Value: proto.String("v")}}
	var outs [2][2][]byte
	for i := range outs {
		dir := t.TempDir()
		p := filepath.Join(dir, "m.onnx")
		if err := Save(m, p, SaveOptions{ExternalDataThreshold: 8}); err != nil {
			t.Fatal(err)
		}
		outs[i][0], _ = os.ReadFile(p)
		outs[i][1], _ = os.ReadFile(p + ".data")
	}
	if !bytes.Equal(outs[0][0], outs[1][0]) || !bytes.Equal(outs[0][1], outs[1][1]) || len(outs[0][1]) == 0 {
		t.Errorf("two saves differ: model %d/%d bytes, data %d/%d bytes",
			len(outs[0][0]), len(outs[1][0]), len(outs[0][1]), len(outs[1][1]))
	}
}

// TestSaveOver2GiB builds a model whose tensors hold more than protobuf's
// 2 GiB limit and saves it with no threshold: Save must move the data to
// an external file by itself, and Load must bring it back.
func TestSaveOver2GiB(t *testing.T) {
	if testing.Short() {
		t.Skip("skipped under -short: writes 2.4 GiB")
	}
	const (
		count = 3
		size  = 800 << 20
	)
	dir := t.TempDir()
	free, err := freeBytes(dir)
	if err != nil {
		t.Skipf("skipped: cannot read free space of %s: %v", dir, err)
	}
	if need := uint64(count*size + (256 << 20)); free < need {
		t.Skipf("skipped: %s has %d MiB free, the test needs %d MiB", dir, free>>20, need>>20)
	}
	start := time.Now()
	// A cheap fill: the data stays zero (untouched pages cost no memory)
	// except for a stamp at the start of every 1 MiB chunk, unique to the
	// tensor and the chunk, and a marker byte in its middle, so that data
	// read from the wrong place shows.
	const chunk = 1 << 20
	stamp := func(k, c int) uint64 { return uint64(k)<<32 | uint64(c) | 1<<63 }
	marker := func(k, c int) byte { return byte(c*7+k) | 1 }
	var inits []*TensorProto
	for k := range count {
		b := make([]byte, size)
		for c := range size / chunk {
			binary.LittleEndian.PutUint64(b[c*chunk:], stamp(k, c))
			b[c*chunk+chunk/2] = marker(k, c)
		}
		inits = append(inits, rawTensor("big"+strconv.Itoa(k), TensorProto_UINT8, []int64{size}, b))
	}
	m := modelWith(nil, append(inits, rawTensor("small", TensorProto_FLOAT, []int64{2}, le32(3, 4)))...)
	if n := proto.Size(m); n <= MaxProtoSize {
		t.Fatalf("test model takes %d bytes, not over the limit", n)
	}
	// A threshold above every tensor still moves them all: the model
	// would not fit otherwise.
	if moves, _, err := planExternal(m, 1<<40); err != nil || len(moves) != count {
		t.Errorf("planExternal with a threshold of 1 TiB: %d tensors to move, %v; want %d", len(moves), err, count)
	}
	p := filepath.Join(dir, "big.onnx")
	if err := Save(m, p, SaveOptions{ExternalDataThreshold: -1}); err == nil || !strings.Contains(err.Error(), "over protobuf's limit") {
		t.Fatalf("Save with external data off: %v, want the size limit error", err)
	}
	built := time.Since(start)
	if err := Save(m, p, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	saved := time.Since(start)
	m, inits = nil, nil
	runtime.GC()

	st1, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st1.Size() > 4096 {
		t.Errorf("model file has %d bytes, want a small file with the data outside", st1.Size())
	}
	st2, err := os.Stat(p + ".data")
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(count * size); st2.Size() < want {
		t.Errorf("data file has %d bytes, want at least %d", st2.Size(), want)
	}
	back, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	loaded := time.Since(start)
	for k := range count {
		x := back.Graph.Initializer[k]
		if len(x.RawData) != size || x.GetName() != "big"+strconv.Itoa(k) {
			t.Fatalf("initializer %d: %q with %d bytes, want big%d with %d", k, x.GetName(), len(x.RawData), k, size)
		}
		for c := range size / chunk {
			d := x.RawData[c*chunk : (c+1)*chunk]
			if got := binary.LittleEndian.Uint64(d); got != stamp(k, c) || d[chunk/2] != marker(k, c) ||
				d[8] != 0 || d[chunk/2-1] != 0 || d[chunk-1] != 0 {
				t.Fatalf("big%d chunk %d: stamp %#x marker %d (zeros %d %d %d), want %#x, %d and zeros",
					k, c, got, d[chunk/2], d[8], d[chunk/2-1], d[chunk-1], stamp(k, c), marker(k, c))
			}
		}
	}
	if x := back.Graph.Initializer[count]; !bytes.Equal(x.RawData, le32(3, 4)) || x.DataLocation != nil {
		t.Errorf("small tensor: %x %v, want inline %x", x.RawData, x.DataLocation, le32(3, 4))
	}
	t.Logf("%d x %d MiB: built in %v, saved in %v, loaded in %v (model file %d bytes)",
		count, size>>20, built.Round(time.Millisecond), (saved - built).Round(time.Millisecond),
		(loaded - saved).Round(time.Millisecond), st1.Size())
}
