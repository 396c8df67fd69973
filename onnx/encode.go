package onnx

import (
	"errors"
	"fmt"
	"io"
	"sort"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// streamMin is the encoded size from which encodeTo writes a message piece
// by piece rather than encoding it whole first (a variable for tests).
var streamMin = 64 << 10

// deterministic is the encoding Save writes.
var deterministic = proto.MarshalOptions{Deterministic: true}

// encodeTo writes to w the bytes deterministic.Marshal(m) gives, size
// (proto.Size(m)) bytes, without holding them all at once: a message of at
// least streamMin bytes is written field by field, each message field
// (graph, nodes, initializers, attributes) and singular bytes field
// (raw_data) on its own and recursively so, its other fields encoded
// together. Memory beyond the model is then about the largest small
// message, not the size of the model. Go's encoder writes known fields in
// field number order, then the unknown fields as they were read; the pieces
// follow that order.
func encodeTo(w io.Writer, m protoreflect.Message, size int) error {
	e := &encoder{w: w}
	return e.message(m, size)
}

type encoder struct {
	w   io.Writer
	buf []byte // reused for messages encoded whole
	tag []byte // reused for tags and lengths
}

func (e *encoder) write(b []byte) error {
	_, err := e.w.Write(b)
	return err
}

// whole encodes m in one piece.
func (e *encoder) whole(m protoreflect.Message) error {
	b, err := deterministic.MarshalAppend(e.buf[:0], m.Interface())
	if err != nil {
		return err
	}
	e.buf = b[:0]
	return e.write(b)
}

// streamed reports whether field fd is written on its own: message fields
// (repeated or not) and singular bytes fields; map, group and scalar
// fields are encoded with the rest.
func streamed(fd protoreflect.FieldDescriptor) bool {
	if fd.IsMap() {
		return false
	}
	switch fd.Kind() {
	case protoreflect.MessageKind:
		return true
	case protoreflect.BytesKind:
		return !fd.IsList()
	}
	return false
}

func (e *encoder) message(m protoreflect.Message, size int) error {
	if size < streamMin {
		return e.whole(m)
	}
	var fields []protoreflect.FieldDescriptor
	rest := m.New()
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if streamed(fd) {
			fields = append(fields, fd)
		} else {
			rest.Set(fd, v)
		}
		return true
	})
	if len(fields) == 0 {
		return e.whole(m)
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Number() < fields[j].Number() })
	unknown := m.GetUnknown()
	if len(unknown) > 0 {
		rest.SetUnknown(unknown)
	}
	// The rest is small (names, shapes, attributes of scalars), but the
	// fields written in between reuse e.buf: it gets its own bytes.
	b, err := deterministic.Marshal(rest.Interface())
	if err != nil {
		return err
	}
	known := len(b) - len(unknown)
	if known < 0 {
		return errors.New("encoding is shorter than its unknown fields")
	}
	done, at := 0, 0
	for _, fd := range fields {
		// Copy the rest's fields numbered below fd.
		for at < known {
			num, typ, n := protowire.ConsumeTag(b[at:known])
			if n < 0 {
				return fmt.Errorf("cannot parse the encoding of %s: %w", m.Descriptor().FullName(), protowire.ParseError(n))
			}
			if num > fd.Number() {
				break
			}
			l := protowire.ConsumeFieldValue(num, typ, b[at+n:known])
			if l < 0 {
				return fmt.Errorf("cannot parse the encoding of field %d of %s: %w", num, m.Descriptor().FullName(), protowire.ParseError(l))
			}
			at += n + l
		}
		if err := e.write(b[done:at]); err != nil {
			return err
		}
		done = at
		if err := e.field(fd, m.Get(fd)); err != nil {
			return err
		}
	}
	return e.write(b[done:])
}

// field writes one streamed field: each element of a list of messages, a
// message or a bytes value, with its tag and length.
func (e *encoder) field(fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch {
	case fd.Kind() == protoreflect.BytesKind:
		if err := e.head(fd.Number(), len(v.Bytes())); err != nil {
			return err
		}
		return e.write(v.Bytes())
	case fd.IsList():
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if err := e.sub(fd.Number(), l.Get(i).Message()); err != nil {
				return err
			}
		}
		return nil
	default:
		return e.sub(fd.Number(), v.Message())
	}
}

// sub writes message m as field num.
func (e *encoder) sub(num protowire.Number, m protoreflect.Message) error {
	size := proto.Size(m.Interface())
	if err := e.head(num, size); err != nil {
		return err
	}
	return e.message(m, size)
}

// head writes the tag of a length-delimited field num and its length.
func (e *encoder) head(num protowire.Number, n int) error {
	e.tag = protowire.AppendTag(e.tag[:0], num, protowire.BytesType)
	e.tag = protowire.AppendVarint(e.tag, uint64(n))
	return e.write(e.tag)
}
