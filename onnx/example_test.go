package onnx_test

import (
	"encoding/binary"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"

	"github.com/onnxquant/onnxquant/onnx"
	"google.golang.org/protobuf/proto"
)

// Build a one-node model, save it with its weight in an external data file,
// and load it back.
func Example() {
	dir, err := os.MkdirTemp("", "onnx-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// W = [0.5, -1, 2] as little-endian float32.
	var raw []byte
	for _, v := range []float32{0.5, -1, 2} {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	m := &onnx.ModelProto{
		IrVersion:   proto.Int64(10),
		OpsetImport: []*onnx.OperatorSetIdProto{{Version: proto.Int64(21)}},
		Graph: &onnx.GraphProto{
			Name: proto.String("scale"),
			Node: []*onnx.NodeProto{{OpType: proto.String("Mul"), Input: []string{"x", "W"}, Output: []string{"y"}}},
			Initializer: []*onnx.TensorProto{{
				Name:     proto.String("W"),
				DataType: proto.Int32(int32(onnx.TensorProto_FLOAT)),
				Dims:     []int64{3},
				RawData:  raw,
			}},
		},
	}
	path := filepath.Join(dir, "scale.onnx")
	if err := onnx.Save(m, path, onnx.SaveOptions{ExternalDataThreshold: 1}); err != nil {
		log.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, n := range names {
		fmt.Println("wrote", filepath.Base(n))
	}

	back, err := onnx.Load(path)
	if err != nil {
		log.Fatal(err)
	}
	w := back.Graph.Initializer[0]
	fmt.Print(w.GetName(), " =")
	for i := 0; i+4 <= len(w.RawData); i += 4 {
		fmt.Print(" ", math.Float32frombits(binary.LittleEndian.Uint32(w.RawData[i:])))
	}
	fmt.Println()
	// Output:
	// wrote scale.onnx
	// wrote scale.onnx.data
	// W = 0.5 -1 2
}
