package onnx

import (
	"google.golang.org/protobuf/reflect/protoreflect"
)

// CloneShared returns a deep copy of m that shares the contents of bytes
// fields (tensor raw_data, string data) with m instead of copying them.
// Messages, lists and scalars are all new, so the copy can be edited freely
// as long as nobody writes into a shared byte slice: replace raw_data, never
// modify it in place. It costs a fraction of proto.Clone on large models.
func CloneShared(m *ModelProto) *ModelProto {
	if m == nil {
		return nil
	}
	return cloneMessage(m.ProtoReflect()).Interface().(*ModelProto)
}

func cloneMessage(src protoreflect.Message) protoreflect.Message {
	dst := src.New()
	src.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			sl := v.List()
			dl := dst.Mutable(fd).List()
			for i := 0; i < sl.Len(); i++ {
				e := sl.Get(i)
				if fd.Message() != nil {
					e = protoreflect.ValueOfMessage(cloneMessage(e.Message()))
				}
				dl.Append(e)
			}
		case fd.IsMap():
			sm := v.Map()
			dm := dst.Mutable(fd).Map()
			sm.Range(func(k protoreflect.MapKey, e protoreflect.Value) bool {
				if fd.MapValue().Message() != nil {
					e = protoreflect.ValueOfMessage(cloneMessage(e.Message()))
				}
				dm.Set(k, e)
				return true
			})
		case fd.Message() != nil:
			dst.Set(fd, protoreflect.ValueOfMessage(cloneMessage(v.Message())))
		default:
			dst.Set(fd, v)
		}
		return true
	})
	if u := src.GetUnknown(); len(u) > 0 {
		dst.SetUnknown(append(protoreflect.RawFields(nil), u...))
	}
	return dst
}
