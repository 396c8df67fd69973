package onnx

import "fmt"

// FormatError reports bytes that are not a usable ONNX model: empty input,
// bytes that are not a protobuf ModelProto (truncated, random, another kind
// of file), or a message lacking the fields every model has.
type FormatError struct {
	// Path is the file the bytes came from, or "" when they were passed to
	// Decode directly.
	Path string
	// Msg says what is wrong.
	Msg string
	// Err is the underlying decoder error, if any.
	Err error
}

// Error returns "onnx: <path>: not a valid ONNX model: <what is wrong>".
func (e *FormatError) Error() string {
	where := "input"
	if e.Path != "" {
		where = e.Path
	}
	s := fmt.Sprintf("onnx: %s: not a valid ONNX model: %s", where, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the underlying decoder error.
func (e *FormatError) Unwrap() error { return e.Err }

// ExternalDataError reports an external tensor whose data cannot be read:
// a refused location (absolute, or outside the model's folder), a missing
// or short file, or a length that does not fit the tensor's shape.
type ExternalDataError struct {
	// Model is the model file, or "" when ResolveExternalData was called
	// directly.
	Model string
	// Dir is the folder locations are relative to.
	Dir string
	// Tensor says which tensor, with its place in the model (graph, node,
	// attribute, initializer).
	Tensor string
	// Location is the tensor's "location" entry as written in the model.
	Location string
	// Err says what is wrong.
	Err error
}

// Error returns a message naming the model (or folder), the tensor, the
// location and the problem.
func (e *ExternalDataError) Error() string {
	where := "folder " + e.Dir
	if e.Model != "" {
		where = "model " + e.Model
	}
	return fmt.Sprintf("onnx: %s: %s: external data %q: %v", where, e.Tensor, e.Location, e.Err)
}

// Unwrap returns the underlying error.
func (e *ExternalDataError) Unwrap() error { return e.Err }
