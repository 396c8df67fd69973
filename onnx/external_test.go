package onnx

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// extTensor returns a tensor whose data is at location/offset/length.
func extTensor(name string, dt TensorProto_DataType, dims []int64, loc string, off, length int64) *TensorProto {
	ext := []*StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}}
	if off >= 0 {
		ext = append(ext, &StringStringEntryProto{Key: proto.String("offset"), Value: proto.String(strconv.FormatInt(off, 10))})
	}
	if length >= 0 {
		ext = append(ext, &StringStringEntryProto{Key: proto.String("length"), Value: proto.String(strconv.FormatInt(length, 10))})
	}
	return &TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims,
		DataLocation: TensorProto_EXTERNAL.Enum(), ExternalData: ext}
}

// le32 encodes float32 values as little-endian bytes.
func le32(vs ...float32) []byte {
	b := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// le64 encodes int64 values as little-endian bytes.
func le64(vs ...int64) []byte {
	b := make([]byte, 0, 8*len(vs))
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	return b
}

// writeModel marshals m with plain proto.Marshal (not Save) into dir/name.
func writeModel(t *testing.T, dir, name string, m *ModelProto) string {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// everywhereModel returns a model with an external tensor in each place a
// tensor can be: initializer, Constant attribute, sparse initializer,
// If-branch subgraph, function body and training info.
func everywhereModel() *ModelProto {
	constNode := func(name string, t *TensorProto) *NodeProto {
		return &NodeProto{Name: proto.String(name), OpType: proto.String("Constant"), Output: []string{name + "_out"},
			Attribute: []*AttributeProto{{Name: proto.String("value"), Type: AttributeProto_TENSOR.Enum(), T: t}}}
	}
	sub := &GraphProto{Name: proto.String("then"), Initializer: []*TensorProto{extTensor("sub_w", TensorProto_FLOAT, []int64{2}, "sub/b.bin", 0, 8)}}
	m := modelWith([]*NodeProto{
		constNode("c", extTensor("c_val", TensorProto_INT64, []int64{2}, "a.bin", 0, 16)),
		{Name: proto.String("if"), OpType: proto.String("If"), Input: []string{"cond"},
			Attribute: []*AttributeProto{{Name: proto.String("then_branch"), Type: AttributeProto_GRAPH.Enum(), G: sub}}},
	}, extTensor("w", TensorProto_FLOAT, []int64{3}, "a.bin", 100, 12))
	m.Graph.SparseInitializer = []*SparseTensorProto{{
		Dims:    []int64{10},
		Values:  extTensor("sp_values", TensorProto_FLOAT, []int64{2}, "a.bin", 4096, 8),
		Indices: rawTensor("sp_indices", TensorProto_INT64, []int64{2}, le64(1, 7)),
	}}
	m.Functions = []*FunctionProto{{Name: proto.String("fn"), Domain: proto.String("local"),
		Node: []*NodeProto{constNode("fc", extTensor("fn_val", TensorProto_FLOAT, []int64{1}, "sub/b.bin", 8, 4))}}}
	m.TrainingInfo = []*TrainingInfoProto{{Initialization: &GraphProto{Name: proto.String("init"),
		Initializer: []*TensorProto{extTensor("ti_w", TensorProto_INT64, []int64{1}, "a.bin", 16, -1)}}}}
	return m
}

// everywhereFiles writes the data files everywhereModel reads and returns
// the bytes each tensor must end up with.
func everywhereFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	a := make([]byte, 4096+8)
	copy(a[0:], le64(7, -1))               // c_val
	copy(a[16:], le64(1<<40))              // ti_w
	copy(a[100:], le32(1.5, -2, 3.25))     // w
	copy(a[4096:], le32(0.5, 8))           // sp_values
	b := append(le32(10, 20), le32(-7)...) // sub_w at 0, fn_val at 8
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.bin"), a, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub", "b.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{
		"c_val": le64(7, -1), "ti_w": le64(1 << 40), "w": le32(1.5, -2, 3.25),
		"sp_values": le32(0.5, 8), "sub_w": le32(10, 20), "fn_val": le32(-7),
		"sp_indices": le64(1, 7),
	}
}

// tensorsByName collects every tensor of m by name.
func tensorsByName(t *testing.T, m *ModelProto) map[string]*TensorProto {
	t.Helper()
	out := map[string]*TensorProto{}
	err := walkModel(m, &walker{tensor: func(_ *walker, x *TensorProto) error {
		out[x.GetName()] = x
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLoadExternalEverywhere reads hand-written data files into tensors in
// every place a model can hold one.
func TestLoadExternalEverywhere(t *testing.T) {
	dir := t.TempDir()
	want := everywhereFiles(t, dir)
	p := writeModel(t, dir, "m.onnx", everywhereModel())

	m, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	got := tensorsByName(t, m)
	if len(got) != len(want) {
		t.Errorf("found %d tensors, want %d", len(got), len(want))
	}
	for name, w := range want {
		x := got[name]
		if x == nil {
			t.Errorf("tensor %q missing", name)
			continue
		}
		if !bytes.Equal(x.RawData, w) {
			t.Errorf("tensor %q raw_data %x, want %x", name, x.RawData, w)
		}
		if x.DataLocation != nil || x.ExternalData != nil {
			t.Errorf("tensor %q still marked external: %v %v", name, x.DataLocation, x.ExternalData)
		}
	}

	// SkipExternalData leaves them as they were.
	m, err = LoadWithOptions(p, LoadOptions{SkipExternalData: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, x := range tensorsByName(t, m) {
		if name == "sp_indices" {
			continue
		}
		if x.GetDataLocation() != TensorProto_EXTERNAL || x.RawData != nil {
			t.Errorf("tensor %q: location %v, %d raw bytes; want external, no data", name, x.GetDataLocation(), len(x.RawData))
		}
	}
	// ResolveExternalData on that model gives the data.
	if err := ResolveExternalData(m, dir); err != nil {
		t.Fatal(err)
	}
	if x := tensorsByName(t, m)["fn_val"]; !bytes.Equal(x.RawData, want["fn_val"]) {
		t.Errorf("fn_val after ResolveExternalData: %x, want %x", x.RawData, want["fn_val"])
	}
}

// TestLoadExternalErrors: each refused or broken external reference gives
// an *ExternalDataError naming the model, the tensor and the location.
func TestLoadExternalErrors(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.bin")
	if err := os.WriteFile(secret, make([]byte, 64), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir string) // extra files
		tensor *TensorProto
		want   string
	}{
		{"missing file", nil, extTensor("w", TensorProto_FLOAT, []int64{4}, "gone.bin", 0, 16), "not found"},
		{"file too short", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "w.bin"), 20) },
			extTensor("w", TensorProto_FLOAT, []int64{4}, "w.bin", 8, 16), "too short: 20 bytes, tensor needs offset 8 + length 16"},
		{"offset beyond end", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "w.bin"), 20) },
			extTensor("w", TensorProto_FLOAT, []int64{1}, "w.bin", 100, -1), "too short"},
		{"absolute location", nil, extTensor("w", TensorProto_FLOAT, []int64{4}, secret, 0, 16), "absolute location refused"},
		{"dot-dot escape", nil, extTensor("w", TensorProto_FLOAT, []int64{4}, "../"+filepath.Base(outside)+"/secret.bin", 0, 16), "leads outside the model's folder"},
		{"inner dot-dot escape", nil, extTensor("w", TensorProto_FLOAT, []int64{4}, "sub/../../x.bin", 0, 16), "leads outside the model's folder"},
		{"symlink escape", func(t *testing.T, dir string) { symlink(t, secret, filepath.Join(dir, "link.bin")) },
			extTensor("w", TensorProto_FLOAT, []int64{4}, "link.bin", 0, 16), "outside the model's folder"},
		{"symlinked folder escape", func(t *testing.T, dir string) { symlink(t, outside, filepath.Join(dir, "data")) },
			extTensor("w", TensorProto_FLOAT, []int64{4}, "data/secret.bin", 0, 16), "outside the model's folder"},
		{"length mismatch", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "w.bin"), 64) },
			extTensor("w", TensorProto_FLOAT, []int64{4}, "w.bin", 0, 12), "length 12 does not match the 16 bytes of FLOAT shape [4]"},
		{"int4 length mismatch", func(t *testing.T, dir string) { writeFile(t, filepath.Join(dir, "w.bin"), 64) },
			extTensor("w", TensorProto_INT4, []int64{5}, "w.bin", 0, 5), "length 5 does not match the 3 bytes of INT4 shape [5]"},
		{"bad offset", nil, func() *TensorProto {
			x := extTensor("w", TensorProto_FLOAT, []int64{1}, "w.bin", -1, -1)
			x.ExternalData = append(x.ExternalData, &StringStringEntryProto{Key: proto.String("offset"), Value: proto.String("-5")})
			return x
		}(), `bad offset "-5"`},
		{"no location", nil, &TensorProto{Name: proto.String("w"), DataType: proto.Int32(1), Dims: []int64{1}, DataLocation: TensorProto_EXTERNAL.Enum()}, "no location"},
		{"location is a folder", func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "d"), 0o755) },
			extTensor("w", TensorProto_FLOAT, []int64{1}, "d", 0, 4), "not a regular file"},
		{"string tensor", nil, extTensor("w", TensorProto_STRING, []int64{1}, "w.bin", 0, -1), "STRING tensors have no fixed byte size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			p := writeModel(t, dir, "model.onnx", modelWith(nil, tt.tensor))
			_, err := Load(p)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			var ee *ExternalDataError
			if !errors.As(err, &ee) {
				t.Fatalf("error %T %v, want *ExternalDataError", err, err)
			}
			loc := tt.tensor.ExternalData
			msg := err.Error()
			for _, part := range []string{"onnx: model " + p, `initializer "w"`, tt.want} {
				if !strings.Contains(msg, part) {
					t.Errorf("error %q lacks %q", msg, part)
				}
			}
			if len(loc) > 0 && ee.Location != loc[0].GetValue() {
				t.Errorf("Location = %q, want %q", ee.Location, loc[0].GetValue())
			}
		})
	}
}

// TestLoadExternalSymlinkInside: a symbolic link that stays in the model's
// folder is followed.
func TestLoadExternalSymlinkInside(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "real"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "real", "w.bin"), le32(4, 5), 0o644); err != nil {
		t.Fatal(err)
	}
	symlink(t, filepath.Join(dir, "real", "w.bin"), filepath.Join(dir, "w.bin"))
	// The model's folder itself is reached through a symbolic link.
	linkedDir := filepath.Join(t.TempDir(), "linked")
	symlink(t, dir, linkedDir)
	writeModel(t, dir, "m.onnx", modelWith(nil, extTensor("w", TensorProto_FLOAT, []int64{2}, "w.bin", 0, 8)))
	m, err := Load(filepath.Join(linkedDir, "m.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Graph.Initializer[0].RawData; !bytes.Equal(got, le32(4, 5)) {
		t.Errorf("raw_data %x, want %x", got, le32(4, 5))
	}
}

func writeFile(t *testing.T, p string, n int) {
	t.Helper()
	if err := os.WriteFile(p, make([]byte, n), 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("cannot create symbolic links here: %v", err)
	}
}
