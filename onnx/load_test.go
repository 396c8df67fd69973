package onnx

import (
	"bytes"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// sharedModelPaths returns every .onnx file under the shared test data.
func sharedModelPaths(t testing.TB) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(testenv.DataDir(t), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".onnx") {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk shared test data: %v", err)
	}
	if len(paths) == 0 {
		testenv.Unavailable(t, "no .onnx files under %s", testenv.DataDir(t))
	}
	return paths
}

// TestRoundTripSharedModels loads every shared model and saves it again:
// the output must be the input file, byte for byte.
func TestRoundTripSharedModels(t *testing.T) {
	paths := sharedModelPaths(t)
	out := filepath.Join(t.TempDir(), "out.onnx")
	checked := 0
	for _, p := range paths {
		want, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(p)
		if err != nil {
			t.Errorf("Load: %v", err)
			continue
		}
		if err := Save(m, out, SaveOptions{Input: p}); err != nil {
			t.Errorf("Save %s: %v", p, err)
			continue
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: saved %d bytes differ from the %d bytes read", p, len(got), len(want))
			continue
		}
		checked++
	}
	t.Logf("round trip byte-identical for %d of %d shared .onnx files", checked, len(paths))
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("output folder holds %d entries, want only out.onnx", len(entries))
	}
}

// smallModelBytes returns a small real model from the shared data.
func smallModelBytes(t *testing.T) (string, []byte) {
	t.Helper()
	p := testenv.DataFile(t, "models", "mnist-14x14-cnn.onnx")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// TestUnknownFieldsSurvive appends fields the schema does not have to a
// real model: they must decode into the unknown fields and be written back.
func TestUnknownFieldsSurvive(t *testing.T) {
	_, orig := smallModelBytes(t)
	var extra []byte
	extra = protowire.AppendTag(extra, 999, protowire.VarintType)
	extra = protowire.AppendVarint(extra, 42)
	extra = protowire.AppendTag(extra, 1000, protowire.BytesType)
	extra = protowire.AppendString(extra, "kept by the decoder")
	in := append(append([]byte(nil), orig...), extra...)

	m, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	if u := m.ProtoReflect().GetUnknown(); !bytes.Equal(u, extra) {
		t.Fatalf("unknown fields = %x, want %x", u, extra)
	}
	out := filepath.Join(t.TempDir(), "m.onnx")
	if err := Save(m, out, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, in) {
		t.Errorf("saved %d bytes, want the %d bytes read (model + unknown fields)", len(got), len(in))
	}
}

// TestDecodeBadBytes feeds Decode input that is not a model.
func TestDecodeBadBytes(t *testing.T) {
	_, model := smallModelBytes(t)
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	// A TensorProto (dims, data_type, raw_data) is valid protobuf but no model.
	tensor, err := proto.Marshal(&TensorProto{Dims: []int64{2}, DataType: proto.Int32(1), RawData: make([]byte, 8)})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "empty input"},
		{"truncated to half", model[:len(model)/2], "cannot decode"},
		{"truncated by one byte", model[:len(model)-1], "cannot decode"},
		{"truncated to 3/4", model[:3*len(model)/4], "cannot decode"},
		{"random 1 KiB", random(1024), "not a valid ONNX model"},
		{"random 64 KiB", random(64 << 10), "not a valid ONNX model"},
		{"text", []byte("# not a model\nhello, world\n"), "not a valid ONNX model"},
		{"tensor, not a model", tensor, "no graph field"},
		{"only ir_version", []byte{0x08, 0x07}, "no graph field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.in)
			if err == nil {
				t.Fatalf("Decode succeeded (%v), want an error", m != nil)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T (%v), want *FormatError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "onnx: ") {
				t.Errorf("error %q, want it to start with \"onnx: \" and contain %q", err, tt.want)
			}
		})
	}
}

// TestLoadBadFiles checks that Load names the path and the problem.
func TestLoadBadFiles(t *testing.T) {
	_, model := smallModelBytes(t)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		path string
		want string
	}{
		{"missing", filepath.Join(dir, "nope.onnx"), "no such file"},
		{"directory", dir, "is a directory"},
		{"device", os.DevNull, "not a regular file"},
		{"empty", write("empty.onnx", nil), "empty file"},
		{"truncated", write("trunc.onnx", model[:len(model)/2]), "cannot decode"},
		{"random", write("random.onnx", bytes.Repeat([]byte{0xff, 0x13, 0x00, 0x9a}, 300)), "not a valid ONNX model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.path)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "onnx: ") || !strings.Contains(msg, tt.path) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q, want \"onnx: \" prefix, the path %s and %q", msg, tt.path, tt.want)
			}
		})
	}
}

// f32 and friends build a float tensor with raw little-endian data.
func rawTensor(name string, dt TensorProto_DataType, dims []int64, raw []byte) *TensorProto {
	return &TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: dims, RawData: raw}
}

// modelWith returns a minimal model whose graph has the given nodes and
// initializers.
func modelWith(nodes []*NodeProto, inits ...*TensorProto) *ModelProto {
	return &ModelProto{
		IrVersion:   proto.Int64(10),
		OpsetImport: []*OperatorSetIdProto{{Version: proto.Int64(21)}},
		Graph: &GraphProto{
			Name:        proto.String("g"),
			Node:        nodes,
			Initializer: inits,
		},
	}
}

// TestTensorByteSize checks sizes against the ONNX element sizes.
func TestTensorByteSize(t *testing.T) {
	tests := []struct {
		dt   int32
		dims []int64
		want int64 // -1: error
	}{
		{1, []int64{2, 3}, 24},             // float32: 6 x 4
		{2, []int64{5}, 5},                 // uint8
		{3, []int64{5}, 5},                 // int8
		{4, []int64{3}, 6},                 // uint16
		{5, []int64{3}, 6},                 // int16
		{6, []int64{3}, 12},                // int32
		{7, []int64{3}, 24},                // int64
		{8, []int64{3}, -1},                // string: no fixed size
		{9, []int64{4}, 4},                 // bool
		{10, []int64{3, 5}, 30},            // float16
		{11, []int64{2}, 16},               // double
		{12, []int64{2}, 8},                // uint32
		{13, []int64{2}, 16},               // uint64
		{14, []int64{2}, 16},               // complex64
		{15, []int64{2}, 32},               // complex128
		{16, []int64{3}, 6},                // bfloat16
		{17, []int64{3}, 3},                // float8e4m3fn
		{18, []int64{3}, 3},                // float8e4m3fnuz
		{19, []int64{3}, 3},                // float8e5m2
		{20, []int64{3}, 3},                // float8e5m2fnuz
		{21, []int64{7}, 4},                // uint4: ceil(7/2)
		{22, []int64{2, 3}, 3},             // int4: 6 / 2
		{23, []int64{1}, 1},                // float4e2m1: ceil(1/2)
		{24, []int64{3}, 3},                // float8e8m0
		{1, nil, 4},                        // scalar
		{1, []int64{0, 7}, 0},              // empty
		{0, []int64{1}, -1},                // undefined
		{99, []int64{1}, -1},               // unknown
		{1, []int64{-1}, -1},               // negative dim
		{1, []int64{1 << 40, 1 << 40}, -1}, // overflow
	}
	for _, tt := range tests {
		got, err := tensorByteSize(tt.dims, tt.dt)
		if tt.want < 0 {
			if err == nil {
				t.Errorf("type %d dims %v: got %d, want an error", tt.dt, tt.dims, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("type %d dims %v: got %d, %v; want %d", tt.dt, tt.dims, got, err, tt.want)
		}
	}
}

// TestValidate checks the problems decoding lets through.
func TestValidate(t *testing.T) {
	node := func(name string, attrs ...*AttributeProto) *NodeProto {
		return &NodeProto{Name: proto.String(name), OpType: proto.String("Constant"), Output: []string{"y"}, Attribute: attrs}
	}
	tests := []struct {
		name  string
		model *ModelProto
		want  string // "" when valid
	}{
		{"valid float", modelWith(nil, rawTensor("w", TensorProto_FLOAT, []int64{2, 3}, make([]byte, 24))), ""},
		{"valid int4 odd count", modelWith(nil, rawTensor("q", TensorProto_INT4, []int64{3}, make([]byte, 2))), ""},
		{"valid typed", modelWith(nil, &TensorProto{Name: proto.String("f"), DataType: proto.Int32(1), Dims: []int64{2}, FloatData: []float32{1, 2}}), ""},
		{"valid uint4 in int32_data", modelWith(nil, &TensorProto{Name: proto.String("u"), DataType: proto.Int32(21), Dims: []int64{3}, Int32Data: []int32{0x21, 0x03}}), ""},
		{"raw too short", modelWith(nil, rawTensor("w", TensorProto_FLOAT, []int64{2, 3}, make([]byte, 20))),
			`initializer "w": raw_data has 20 bytes, FLOAT shape [2 3] needs 24`},
		{"int4 raw too long", modelWith(nil, rawTensor("q", TensorProto_INT4, []int64{3}, make([]byte, 3))),
			`initializer "q": raw_data has 3 bytes, INT4 shape [3] needs 2`},
		{"typed count", modelWith(nil, &TensorProto{Name: proto.String("f"), DataType: proto.Int32(1), Dims: []int64{3}, FloatData: []float32{1, 2}}),
			`initializer "f": float_data has 2 values, FLOAT shape [3] needs 3`},
		{"negative dim", modelWith(nil, rawTensor("n", TensorProto_FLOAT, []int64{-2}, nil)), `initializer "n": negative dimension`},
		{"unknown data type with raw", modelWith(nil, rawTensor("x", 99, []int64{1}, []byte{0})), `initializer "x": raw_data: unknown data type 99`},
		{"bad attribute tensor", modelWith([]*NodeProto{node("c1", &AttributeProto{Name: proto.String("value"), Type: AttributeProto_TENSOR.Enum(),
			T: rawTensor("", TensorProto_INT64, []int64{2}, make([]byte, 8))})}),
			`node "c1" (Constant): attribute "value": raw_data has 8 bytes, INT64 shape [2] needs 16`},
		{"unknown attribute type set in Go", modelWith([]*NodeProto{node("c2", &AttributeProto{Name: proto.String("a"), Type: AttributeProto_AttributeType(99).Enum()})}),
			`node "c2" (Constant): attribute "a": unknown attribute type 99`},
		{"unknown data_location", modelWith(nil, &TensorProto{Name: proto.String("d"), DataType: proto.Int32(1), Dims: []int64{1},
			RawData: make([]byte, 4), DataLocation: TensorProto_DataLocation(2).Enum()}), `initializer "d": unknown data_location 2`},
		{"external length mismatch", modelWith(nil, &TensorProto{Name: proto.String("e"), DataType: proto.Int32(1), Dims: []int64{4},
			DataLocation: TensorProto_EXTERNAL.Enum(), ExternalData: []*StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String("w.bin")}, {Key: proto.String("length"), Value: proto.String("15")}}}),
			`initializer "e": external data: length 15 does not match the 16 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.model)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted the model, want %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "onnx: ") {
				t.Errorf("error %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

// unknownAttrTypeModel returns the bytes of a model whose node "odd" has an
// attribute "alpha" of type 99, written field by field.
func unknownAttrTypeModel() []byte {
	var attr []byte
	attr = protowire.AppendTag(attr, 1, protowire.BytesType) // name
	attr = protowire.AppendString(attr, "alpha")
	attr = protowire.AppendTag(attr, 20, protowire.VarintType) // type
	attr = protowire.AppendVarint(attr, 99)
	var node []byte
	node = protowire.AppendTag(node, 3, protowire.BytesType) // name
	node = protowire.AppendString(node, "odd")
	node = protowire.AppendTag(node, 4, protowire.BytesType) // op_type
	node = protowire.AppendString(node, "Relu")
	node = protowire.AppendTag(node, 5, protowire.BytesType) // attribute
	node = protowire.AppendBytes(node, attr)
	var graph []byte
	graph = protowire.AppendTag(graph, 1, protowire.BytesType) // node
	graph = protowire.AppendBytes(graph, node)
	var model []byte
	model = protowire.AppendTag(model, 1, protowire.VarintType) // ir_version
	model = protowire.AppendVarint(model, 10)
	model = protowire.AppendTag(model, 7, protowire.BytesType) // graph
	model = protowire.AppendBytes(model, graph)
	return model
}

// TestUnknownAttributeType: type 99 is not an AttributeType. Decoding keeps
// it; Validate and Load reject it, naming the node.
func TestUnknownAttributeType(t *testing.T) {
	b := unknownAttrTypeModel()
	m, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	// Go's protobuf keeps unknown values of proto2 enums in the field
	// itself; a closed-enum decoder puts them among the unknown fields.
	// Either way the 99 must be kept.
	a := m.Graph.Node[0].Attribute[0]
	inUnknown, _ := unknownVarint(a.ProtoReflect().GetUnknown(), attributeTypeField)
	if a.GetName() != "alpha" || (int32(a.GetType()) != 99 && inUnknown != 99) {
		t.Errorf("attribute %q type %v (unknown fields %d), want \"alpha\" keeping type 99", a.GetName(), a.Type, inUnknown)
	}
	const want = `node "odd" (Relu): attribute "alpha": unknown attribute type 99`
	if err := Validate(m); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("Validate: %v, want %q", err, want)
	}
	p := filepath.Join(t.TempDir(), "odd.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
		t.Errorf("Load: %v, want the path and %q", err, want)
	}
	// The value survives a save unchanged.
	out := filepath.Join(t.TempDir(), "out.onnx")
	if err := Save(m, out, SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(out); !bytes.Equal(got, b) {
		t.Errorf("saved bytes %x, want %x", got, b)
	}
}

// TestLoadRejectsRawLengthMismatch: Load runs Validate.
func TestLoadRejectsRawLengthMismatch(t *testing.T) {
	m := modelWith(nil, rawTensor("bias", TensorProto_FLOAT, []int64{4}, make([]byte, 12)))
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "bad.onnx")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(p)
	const want = `initializer "bias": raw_data has 12 bytes, FLOAT shape [4] needs 16`
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), p) {
		t.Errorf("Load: %v, want the path and %q", err, want)
	}
}
