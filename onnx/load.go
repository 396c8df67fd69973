package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Decode parses the bytes of an ONNX model file; b is not retained.
// Fields unknown to this schema (including enum values it does not know)
// are kept and written back by Save. Empty input, bytes that are not a
// protobuf ModelProto, and a message without ir_version or graph give a
// *FormatError. Decode does not read external data or check the model; see
// Load and Validate.
func Decode(b []byte) (*ModelProto, error) {
	return decode(b, false)
}

// decode is Decode; with owned set it may keep and rearrange b (see
// decodeAliased), so that initializer data is not held twice.
func decode(b []byte, owned bool) (*ModelProto, error) {
	if len(b) == 0 {
		return nil, &FormatError{Msg: "empty input"}
	}
	var m *ModelProto
	var err error
	if owned {
		m, err = decodeAliased(b)
	}
	if !owned || err != nil {
		m = new(ModelProto)
		if err := proto.Unmarshal(b, m); err != nil {
			return nil, &FormatError{Msg: fmt.Sprintf("cannot decode %d bytes as a ModelProto", len(b)), Err: err}
		}
	}
	if m.IrVersion == nil {
		return nil, &FormatError{Msg: "no ir_version field"}
	}
	if m.Graph == nil {
		return nil, &FormatError{Msg: "no graph field"}
	}
	return m, nil
}

// LoadOptions changes what Load does after decoding.
type LoadOptions struct {
	// SkipExternalData leaves external tensors external (data_location
	// EXTERNAL, no raw_data) instead of reading their data.
	SkipExternalData bool
}

// Load reads the model file at path, decodes it, reads the data of its
// external tensors (see ResolveExternalData; locations are relative to the
// model's folder) and checks it with Validate. Errors name the path.
func Load(path string) (*ModelProto, error) {
	return LoadWithOptions(path, LoadOptions{})
}

// LoadWithOptions is Load with options.
func LoadWithOptions(path string, opts LoadOptions) (*ModelProto, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: load %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("onnx: load %s: is a directory, not a model file", path)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("onnx: load %s: not a regular file (mode %v)", path, st.Mode())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: load %s: %w", path, err)
	}
	if len(b) == 0 {
		return nil, &FormatError{Path: path, Msg: "empty file"}
	}
	// The file's bytes are ours: the model's initializer data stays in
	// them rather than being copied.
	m, err := decode(b, true)
	if err != nil {
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.Path = path
		}
		return nil, err
	}
	if !opts.SkipExternalData {
		if err := ResolveExternalData(m, filepath.Dir(path)); err != nil {
			var ee *ExternalDataError
			if errors.As(err, &ee) {
				ee.Model = path
			}
			return nil, err
		}
	}
	if err := validate(m); err != nil {
		return nil, fmt.Errorf("onnx: load %s: invalid model: %w", path, err)
	}
	return m, nil
}

// Validate checks what decoding cannot: that every attribute's type is a
// known AttributeType, and that every tensor's data fits its type and
// shape (raw_data length, count of typed values, "length" of external
// data; sizes computed from the data type and dims, 4-bit types packed two
// to a byte). Errors name the graph, node, attribute or tensor concerned.
func Validate(m *ModelProto) error {
	if m == nil {
		return errors.New("onnx: invalid model: nil")
	}
	if err := validate(m); err != nil {
		return fmt.Errorf("onnx: invalid model: %w", err)
	}
	return nil
}

// Field numbers of proto2 enum fields. Go's decoder stores values it does
// not know in the field itself; a decoder following the closed-enum rule
// of proto2 puts them among the unknown fields, so both places are checked.
const (
	attributeTypeField      protowire.Number = 20 // AttributeProto.type
	tensorDataLocationField protowire.Number = 14 // TensorProto.data_location
)

func validate(m *ModelProto) error {
	w := &walker{tensor: validateTensor, attr: validateAttribute}
	return walkModel(m, w)
}

func validateAttribute(w *walker, a *AttributeProto) error {
	if a.Type != nil {
		if _, ok := AttributeProto_AttributeType_name[int32(*a.Type)]; !ok {
			return fmt.Errorf("%s: unknown attribute type %d", w.where(), int32(*a.Type))
		}
	}
	if v, ok := unknownVarint(a.ProtoReflect().GetUnknown(), attributeTypeField); ok {
		return fmt.Errorf("%s: unknown attribute type %d", w.where(), int64(v))
	}
	return nil
}

func validateTensor(w *walker, t *TensorProto) error {
	if v, ok := unknownVarint(t.ProtoReflect().GetUnknown(), tensorDataLocationField); ok {
		return fmt.Errorf("%s: unknown data_location %d", w.where(), int64(v))
	}
	if t.DataLocation != nil {
		if _, ok := TensorProto_DataLocation_name[int32(*t.DataLocation)]; !ok {
			return fmt.Errorf("%s: unknown data_location %d", w.where(), int32(*t.DataLocation))
		}
	}
	dt := t.GetDataType()
	if t.GetDataLocation() == TensorProto_EXTERNAL {
		info, err := parseExternal(t)
		if err == nil {
			_, err = checkExternalSize(t, info)
		}
		if err != nil {
			return fmt.Errorf("%s: external data: %w", w.where(), err)
		}
		return nil
	}
	if _, err := numElements(t.Dims); err != nil {
		return fmt.Errorf("%s: %w", w.where(), err)
	}
	if t.Segment != nil {
		return nil // the data is a slice of a larger tensor
	}
	if t.RawData != nil {
		size, err := tensorByteSize(t.Dims, dt)
		if err != nil {
			return fmt.Errorf("%s: raw_data: %w", w.where(), err)
		}
		if int64(len(t.RawData)) != size {
			return fmt.Errorf("%s: raw_data has %d bytes, %s shape %v needs %d",
				w.where(), len(t.RawData), dataTypeName(dt), t.Dims, size)
		}
		return nil
	}
	if !hasTypedData(t) {
		return nil
	}
	want, field, err := typedCount(t.Dims, dt)
	if err != nil {
		return fmt.Errorf("%s: %w", w.where(), err)
	}
	if got := typedLen(t, field); int64(got) != want {
		return fmt.Errorf("%s: %s has %d values, %s shape %v needs %d",
			w.where(), field, got, dataTypeName(dt), t.Dims, want)
	}
	return nil
}

// unknownVarint returns the last varint value of field num among the
// unknown fields b, if there is one.
func unknownVarint(b []byte, num protowire.Number) (uint64, bool) {
	var v uint64
	found := false
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return v, found
		}
		b = b[l:]
		if n == num && typ == protowire.VarintType {
			x, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return v, found
			}
			v, found = x, true
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return v, found
		}
		b = b[l:]
	}
	return v, found
}
