package onnx

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
)

func TestCloneShared(t *testing.T) {
	for _, path := range testenv.Models(t) {
		m, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		c := CloneShared(m)
		a, _ := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: clone encodes differently", path)
		}
		// Editing the clone's structure leaves the original alone.
		c.Graph.Node = c.Graph.Node[:0]
		c.Graph.Name = proto.String("changed")
		if len(m.Graph.Node) == 0 || m.Graph.GetName() == "changed" {
			t.Errorf("%s: editing the clone changed the original", path)
		}
		// Tensor bytes are shared, not copied.
		for i, init := range m.Graph.Initializer {
			if len(init.RawData) > 0 && &init.RawData[0] != &c.Graph.Initializer[i].RawData[0] {
				t.Errorf("%s: raw data of %q was copied", path, init.GetName())
				break
			}
		}
	}
}
