package onnx

import (
	"errors"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// Field numbers the aliasing decoder looks for.
const (
	modelGraphField       = 7 // ModelProto.graph
	graphInitializerField = 5 // GraphProto.initializer
	tensorRawDataField    = 9 // TensorProto.raw_data
)

// errNoAlias makes decodeAliased give up (the caller then decodes
// normally): the file is laid out in a way the fast path does not handle.
var errNoAlias = errors.New("onnx: layout not handled by the aliasing decoder")

// decodeAliased decodes a model whose top-graph initializers keep their
// raw_data as slices of b rather than copies, so that a model costs its
// file's size in memory once, not twice. b is overwritten and must not be
// used by the caller afterwards: every field other than raw_data is decoded
// from copies, and each raw_data payload is moved towards the start of b to
// an 8-byte aligned offset (always at or before where it was, so no payload
// is overwritten before it is moved), which lets numeric tensors be viewed
// in place (tensor.ViewProto). It handles the common layout (one graph
// field, initializers with at most one raw_data field each) and returns
// errNoAlias for anything else.
func decodeAliased(b []byte) (*ModelProto, error) {
	var rest []byte
	var graphBytes []byte
	seenGraph := false
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return nil, errNoAlias
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return nil, errNoAlias
		}
		field := b[off : off+n+m]
		if num == modelGraphField && typ == protowire.BytesType {
			if seenGraph {
				return nil, errNoAlias
			}
			seenGraph = true
			v, _ := protowire.ConsumeBytes(b[off+n:])
			graphBytes = v
		} else {
			rest = append(rest, field...)
		}
		off += n + m
	}
	if !seenGraph {
		return nil, errNoAlias
	}
	c := &compactor{buf: b}
	g, err := c.decodeGraph(graphBytes)
	if err != nil {
		return nil, err
	}
	m := new(ModelProto)
	if err := proto.Unmarshal(rest, m); err != nil {
		return nil, err
	}
	m.Graph = g
	// Only now that everything decoded is b rearranged: a failure above
	// leaves it intact for the ordinary decoder.
	for _, p := range c.pending {
		p.t.RawData = c.place(p.raw)
	}
	return m, nil
}

// compactor moves raw_data payloads to aligned offsets of buf, in order.
type compactor struct {
	buf     []byte
	w       int // next free offset of buf
	pending []rawRef
}

// rawRef is a tensor and its raw_data payload in buf, in file order.
type rawRef struct {
	t   *TensorProto
	raw []byte
}

// place moves the payload v (a subslice of c.buf) to the next 8-byte
// aligned free offset when that is not past v's start, and returns the
// payload's final location.
func (c *compactor) place(v []byte) []byte {
	if len(v) == 0 {
		return v
	}
	start := int(uintptr(unsafe.Pointer(unsafe.SliceData(v))) - uintptr(unsafe.Pointer(unsafe.SliceData(c.buf))))
	if start < 0 || start+len(v) > len(c.buf) {
		return v // not inside buf: leave it
	}
	dst := (c.w + 7) &^ 7
	base := uintptr(unsafe.Pointer(unsafe.SliceData(c.buf)))
	if (base+uintptr(dst))%8 != 0 || dst > start {
		c.w = start + len(v)
		return v
	}
	copy(c.buf[dst:dst+len(v)], v)
	c.w = dst + len(v)
	return c.buf[dst : dst+len(v) : dst+len(v)]
}

// decodeGraph decodes a GraphProto, its initializers' raw_data aliasing
// c.buf.
func (c *compactor) decodeGraph(b []byte) (*GraphProto, error) {
	var rest []byte
	var inits []*TensorProto
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return nil, errNoAlias
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return nil, errNoAlias
		}
		if num == graphInitializerField && typ == protowire.BytesType {
			v, _ := protowire.ConsumeBytes(b[off+n:])
			t, err := c.decodeTensor(v)
			if err != nil {
				return nil, err
			}
			inits = append(inits, t)
		} else {
			rest = append(rest, b[off:off+n+m]...)
		}
		off += n + m
	}
	g := new(GraphProto)
	if err := proto.Unmarshal(rest, g); err != nil {
		return nil, err
	}
	g.Initializer = inits
	return g, nil
}

// decodeTensor decodes a TensorProto whose raw_data aliases c.buf. The
// other fields are decoded normally, from a copy without raw_data.
func (c *compactor) decodeTensor(b []byte) (*TensorProto, error) {
	var raw []byte
	seenRaw := false
	rest := make([]byte, 0, 64)
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return nil, errNoAlias
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return nil, errNoAlias
		}
		if num == tensorRawDataField && typ == protowire.BytesType {
			if seenRaw {
				return nil, errNoAlias
			}
			seenRaw = true
			v, _ := protowire.ConsumeBytes(b[off+n:])
			raw = v[:len(v):len(v)]
		} else {
			rest = append(rest, b[off:off+n+m]...)
		}
		off += n + m
	}
	t := new(TensorProto)
	if err := proto.Unmarshal(rest, t); err != nil {
		return nil, err
	}
	if seenRaw {
		if len(raw) == 0 {
			raw = []byte{}
		}
		t.RawData = raw
		c.pending = append(c.pending, rawRef{t, raw})
	}
	return t, nil
}
