package lightmodel

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/modelinfo"
	"github.com/onnxquant/onnxquant/onnx"
)

func TestMaterializeResNet50(t *testing.T) {
	m, err := onnx.Load(testenv.DataFile(t, "onnx-backend", "light", "light_resnet50.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	a, err := Materialize(m, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := modelinfo.Summarize(a)
	// ResNet50 has about 25.6 million parameters.
	if s.Parameters < 25_000_000 || s.Parameters > 26_000_000 {
		t.Errorf("%d parameters, want about 25.6M", s.Parameters)
	}
	for _, o := range s.OpTypes {
		if o.OpType == "ConstantOfShape" {
			t.Errorf("%d ConstantOfShape nodes left", o.Count)
		}
	}
	if err := onnx.Validate(a); err != nil {
		t.Fatal(err)
	}
	b, _ := Materialize(m, 1)
	ab, _ := proto.MarshalOptions{Deterministic: true}.Marshal(a)
	bb, _ := proto.MarshalOptions{Deterministic: true}.Marshal(b)
	if !bytes.Equal(ab, bb) {
		t.Error("same seed gave different models")
	}
}
