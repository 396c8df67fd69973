package onnx

import (
	"bytes"
	"os"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"google.golang.org/protobuf/proto"
)

// FuzzDecode feeds Decode arbitrary bytes. It must never panic, and a model
// it accepts must re-encode, decode again, and re-encode to the same bytes;
// Validate and ResolveExternalData must not panic on it either.
func FuzzDecode(f *testing.F) {
	for _, rel := range [][]string{
		{"models", "mnist-14x14-cnn.onnx"},
		{"models", "mnist-8.onnx"},
		{"onnx-backend", "node", "test_add", "model.onnx"},
		{"onnx-backend", "node", "test_constant", "model.onnx"},
		{"onnx-backend", "node", "test_if", "model.onnx"},
		{"onnx-backend", "node", "test_loop11", "model.onnx"},
		{"onnx-backend", "node", "test_qlinearmatmul_2D_uint8_float32", "model.onnx"},
		{"onnx-backend", "node", "test_dequantizelinear", "model.onnx"},
	} {
		b, err := os.ReadFile(testenv.DataFile(f, rel...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x07})
	f.Add(unknownAttrTypeModel())
	ext, err := proto.Marshal(everywhereModel())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ext)
	dir := f.TempDir() // empty: every external reference fails to resolve
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			if m != nil {
				t.Fatal("Decode returned a model with an error")
			}
			return
		}
		opts := proto.MarshalOptions{Deterministic: true}
		b1, err := opts.Marshal(m)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		m2, err := Decode(b1)
		if err != nil {
			t.Fatalf("decode of the re-encoded model: %v", err)
		}
		b2, err := opts.Marshal(m2)
		if err != nil {
			t.Fatalf("second re-encode: %v", err)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("encodings differ: %d and %d bytes", len(b1), len(b2))
		}
		_ = Validate(m2)
		_ = ResolveExternalData(m2, dir)
	})
}
