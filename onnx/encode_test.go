package onnx

import (
	"bytes"
	"os"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// unknownFields returns the encoding of fields absent from the schema,
// numbered below and above the known ones.
func unknownFields(nums ...protowire.Number) []byte {
	var b []byte
	for _, n := range nums {
		b = protowire.AppendTag(b, n, protowire.BytesType)
		b = protowire.AppendString(b, "unknown")
	}
	return b
}

// streamingModel is a model with data in every place encodeTo streams:
// initializers (raw, typed, empty), a Constant node's tensor, a subgraph's
// initializer, and unknown fields in the model, graph, node and tensor.
func streamingModel() *ModelProto {
	big := make([]byte, 3<<10)
	for i := range big {
		big[i] = byte(i * 7)
	}
	sub := &GraphProto{
		Name:        proto.String("then"),
		Initializer: []*TensorProto{rawTensor("sub_w", TensorProto_UINT8, []int64{int64(len(big))}, big)},
		Output:      []*ValueInfoProto{{Name: proto.String("sub_w")}},
	}
	typed := &TensorProto{Name: proto.String("typed"), DataType: proto.Int32(int32(TensorProto_FLOAT)), Dims: []int64{512}, FloatData: make([]float32, 512)}
	empty := rawTensor("empty", TensorProto_FLOAT, []int64{0}, []byte{})
	w := rawTensor("w", TensorProto_UINT8, []int64{int64(len(big))}, big)
	w.DocString = proto.String("after raw_data")
	w.ProtoReflect().SetUnknown(unknownFields(3000, 17))
	nodes := []*NodeProto{
		{OpType: proto.String("Constant"), Output: []string{"c"}, Attribute: []*AttributeProto{{
			Name: proto.String("value"), Type: AttributeProto_TENSOR.Enum(),
			T: rawTensor("", TensorProto_UINT8, []int64{int64(len(big))}, big),
		}}},
		{OpType: proto.String("If"), Input: []string{"cond"}, Output: []string{"y"}, Attribute: []*AttributeProto{
			{Name: proto.String("then_branch"), Type: AttributeProto_GRAPH.Enum(), G: sub},
			{Name: proto.String("else_branch"), Type: AttributeProto_GRAPH.Enum(), G: sub},
		}},
	}
	nodes[0].ProtoReflect().SetUnknown(unknownFields(6, 4000))
	m := modelWith(nodes, w, typed, empty)
	m.DocString = proto.String("model doc")
	m.MetadataProps = []*StringStringEntryProto{{Key: proto.String("k"), Value: proto.String("v")}}
	m.Graph.DocString = proto.String("graph doc")
	m.Graph.Output = []*ValueInfoProto{{Name: proto.String("y")}}
	// Graph field numbers 3, 4, 6 and 9 are reserved: unknown fields with
	// them sort after every known field when encoded, as do these.
	m.Graph.ProtoReflect().SetUnknown(unknownFields(3, 9, 1000))
	m.ProtoReflect().SetUnknown(unknownFields(999))
	return m
}

// TestEncodeToMatchesMarshal checks that encodeTo writes the bytes of
// proto's deterministic Marshal, streaming at every size and at the
// default threshold, for a model with data in every streamed place and for
// the shared models.
func TestEncodeToMatchesMarshal(t *testing.T) {
	defer func(v int) { streamMin = v }(streamMin)
	models := map[string]*ModelProto{"streaming": streamingModel()}
	for _, p := range sharedModelPaths(t) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Decode(b)
		if err != nil {
			continue // the shared data also holds invalid models
		}
		models[p] = m
	}
	for _, min := range []int{0, 1 << 10, 64 << 10} {
		streamMin = min
		for name, m := range models {
			want, err := deterministic.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := encodeTo(&got, m.ProtoReflect(), proto.Size(m)); err != nil {
				t.Fatalf("%s, streamMin %d: %v", name, min, err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s, streamMin %d: encodeTo wrote %d bytes that differ from Marshal's %d", name, min, got.Len(), len(want))
			}
		}
	}
	t.Logf("%d models compared", len(models))
}
