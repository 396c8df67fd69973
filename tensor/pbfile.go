package tensor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnx"
)

// ErrNotTensor is wrapped by ReadProtoFile's error when the file does not
// hold a TensorProto but, judging by its layout, one of ONNX's container
// messages (SequenceProto, OptionalProto or MapProto), as the conformance
// suite stores for sequence and optional inputs.
var ErrNotTensor = errors.New("not a TensorProto")

// ReadProtoFile reads a file holding one serialised ONNX TensorProto (such as
// the conformance suite's input_0.pb) and returns the tensor and its name.
// Errors name the file; an element type onnxquant does not hold wraps
// ErrUnsupportedType and a container message wraps ErrNotTensor.
func ReadProtoFile(path string) (*Tensor, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("tensor: %w", err)
	}
	t, name, err := decodeProtoBytes(b)
	if err != nil {
		return nil, "", fmt.Errorf("tensor: %s: %w", path, err)
	}
	return t, name, nil
}

// decodeProtoBytes unmarshals and converts a serialised TensorProto.
func decodeProtoBytes(b []byte) (*Tensor, string, error) {
	var tp onnx.TensorProto
	uerr := proto.Unmarshal(b, &tp)
	var t *Tensor
	ferr := uerr
	if uerr == nil {
		if t, ferr = fromProto(&tp); ferr != nil {
			ferr = fmt.Errorf("%s: %w", protoLabel(tp.GetName()), ferr)
		}
	}
	if ferr == nil {
		return t, tp.GetName(), nil
	}
	if dt := DataType(tp.GetDataType()); uerr == nil && dt != Undefined && !dt.Supported() && tp.GetSegment() == nil {
		return nil, "", ferr
	}
	// A container message has the same field numbers as a TensorProto for
	// its name (1) and element type (2), so it often unmarshals without
	// error and only fails FromProto: tell the reader what it really is.
	if kind, elem, ok := sniffContainer(b); ok {
		return nil, "", fmt.Errorf("%w: looks like a %s (elem_type %d)", ErrNotTensor, kind, elem)
	}
	if uerr != nil {
		return nil, "", fmt.Errorf("not a valid TensorProto: %w", uerr)
	}
	return nil, "", ferr
}

// sniffContainer reports whether b is laid out as an ONNX SequenceProto or
// OptionalProto: a UTF-8 name in field 1, a small element-type
// enum in field 2 and only length-delimited values in fields 3 to 7, at
// least one of which (if any) is a well-formed message with a field other
// than those of TensorProto.Segment. It is a heuristic used only to explain
// why a file failed to decode as a tensor.
func sniffContainer(b []byte) (kind string, elem int, ok bool) {
	elem = -1
	valueField := 0
	nested := true
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return "", 0, false
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 || !utf8.Valid(v) {
				return "", 0, false
			}
			b = b[m:]
		case num == 2 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 || v > 6 {
				return "", 0, false
			}
			elem = int(v)
			b = b[m:]
		case num >= 3 && num <= 7 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return "", 0, false
			}
			if !isMessageBeyondSegment(v) && len(v) > 0 {
				nested = false
			}
			if valueField == 0 || int(num) < valueField {
				valueField = int(num)
			}
			b = b[m:]
		default:
			return "", 0, false
		}
	}
	if elem < 0 || !nested {
		return "", 0, false
	}
	if valueField == 0 {
		return "SequenceProto or OptionalProto with no value", elem, true
	}
	return "SequenceProto or OptionalProto", elem, true
}

// isMessageBeyondSegment reports whether b parses as a protobuf message
// that has a field other than TensorProto.Segment's begin (1) and end (2).
func isMessageBeyondSegment(b []byte) bool {
	beyond := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return false
		}
		b = b[m:]
		if num > 2 {
			beyond = true
		}
	}
	return beyond
}

// WriteProtoFile writes t as a serialised TensorProto with the given name,
// atomically (a temporary file in the same folder renamed over path).
func WriteProtoFile(path string, t *Tensor, name string) error {
	tp, err := ToProto(t, name)
	if err != nil {
		return fmt.Errorf("tensor: %s: %w", path, err)
	}
	b, err := proto.Marshal(tp)
	if err != nil {
		return fmt.Errorf("tensor: %s: marshal: %w", path, err)
	}
	return writeFileAtomic(path, func(f *os.File) error {
		_, err := f.Write(b)
		return err
	})
}

// writeFileAtomic creates path by writing a temporary file beside it with
// write and renaming it into place, so readers never see a partial file.
func writeFileAtomic(path string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("tensor: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = write(f); err != nil {
		return fmt.Errorf("tensor: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("tensor: close %s: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("tensor: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("tensor: %w", err)
	}
	return nil
}
