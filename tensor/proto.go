package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/onnxquant/onnxquant/onnx"
)

// ErrUnsupportedType is wrapped by the errors of FromProto, ToProto, the .npy
// readers and Convert when a tensor's element type is one onnxquant does not
// hold in memory (complex, float8, float4, 2-bit integers), so that callers
// can tell "not supported" from "malformed" with errors.Is.
var ErrUnsupportedType = errors.New("unsupported data type")

// littleEndianHost reports whether this machine stores integers
// little-endian, the byte order of ONNX raw_data and of most .npy files. On
// such hosts element bytes are copied as they are; elsewhere each element is
// byte-swapped after the copy.
var littleEndianHost = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// fixedElem is the set of element types with a fixed-size in-memory layout
// equal to their little-endian storage layout on a little-endian host.
type fixedElem interface {
	float32 | float64 | F16 | BF16 | int8 | uint8 | int16 | uint16 |
		int32 | uint32 | int64 | uint64
}

// bytesOf returns the memory of s as bytes (no copy).
func bytesOf[T fixedElem](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// swapEach reverses the bytes of each size-byte element of b in place.
func swapEach(b []byte, size int) {
	if size <= 1 {
		return
	}
	for i := 0; i+size <= len(b); i += size {
		e := b[i : i+size]
		for j, k := 0, size-1; j < k; j, k = j+1, k-1 {
			e[j], e[k] = e[k], e[j]
		}
	}
}

// decodeLE returns n elements decoded from little-endian bytes
// (len(raw) == n*size).
func decodeLE[T fixedElem](raw []byte, n int) []T {
	out := make([]T, n)
	b := bytesOf(out)
	copy(b, raw)
	if !littleEndianHost {
		swapEach(b, len(b)/max(n, 1))
	}
	return out
}

// encodeLE returns the elements of s as little-endian bytes.
func encodeLE[T fixedElem](s []T) []byte {
	src := bytesOf(s)
	out := make([]byte, len(src))
	copy(out, src)
	if !littleEndianHost && len(s) > 0 {
		swapEach(out, len(out)/len(s))
	}
	return out
}

// protoLabel names a TensorProto in error messages.
func protoLabel(name string) string {
	if name == "" {
		return "unnamed tensor"
	}
	return fmt.Sprintf("tensor %q", name)
}

// shapeFromDims converts ONNX dims to a shape, rejecting negative dimensions
// and element counts that overflow int.
func shapeFromDims(dims []int64) ([]int, int, error) {
	var shape []int
	n := 1
	for i, d := range dims {
		if d < 0 {
			return nil, 0, fmt.Errorf("dimension %d is negative (%d)", i, d)
		}
		if int64(int(d)) != d {
			return nil, 0, fmt.Errorf("dimension %d is too large (%d)", i, d)
		}
		di := int(d)
		if di != 0 && n > math.MaxInt/di {
			return nil, 0, fmt.Errorf("dims %v overflow the element count", dims)
		}
		n *= di
		shape = append(shape, di)
	}
	return shape, n, nil
}

// unsupportedError describes a data type FromProto cannot hold.
func unsupportedError(dt DataType) error {
	if dt == Undefined {
		return fmt.Errorf("%w: data_type is UNDEFINED (0)", ErrUnsupportedType)
	}
	return fmt.Errorf("%w %v (%d)", ErrUnsupportedType, dt, int32(dt))
}

// The value fields of a TensorProto, for presence checks.
const (
	fieldRaw = iota
	fieldFloat
	fieldInt32
	fieldString
	fieldInt64
	fieldDouble
	fieldUint64
)

var fieldNames = [...]string{"raw_data", "float_data", "int32_data", "string_data", "int64_data", "double_data", "uint64_data"}

// typedField returns the repeated field ONNX uses for dt when raw_data is
// not used.
func typedField(dt DataType) int {
	switch dt {
	case Float32:
		return fieldFloat
	case Int32, Int16, Int8, Uint16, Uint8, Bool, Float16, BFloat16, Int4, Uint4:
		return fieldInt32
	case String:
		return fieldString
	case Int64:
		return fieldInt64
	case Float64:
		return fieldDouble
	case Uint32, Uint64:
		return fieldUint64
	}
	return -1
}

// FromProto converts an ONNX TensorProto to a Tensor. The data is copied, so
// the result does not share memory with tp.
//
// The elements come from raw_data (little-endian, 4-bit types packed two to a
// byte, low nibble first) when it is set, otherwise from the typed field ONNX
// assigns to the element type: float_data for FLOAT; int32_data for INT32,
// INT16, INT8, UINT16, UINT8, BOOL, FLOAT16 and BFLOAT16 (bit patterns), and
// for INT4 and UINT4 with two elements per int32 (one packed byte each);
// int64_data for INT64; double_data for DOUBLE; uint64_data for UINT32 and
// UINT64; string_data for STRING. Integers in a typed field must fit the
// element type.
//
// It returns an error, naming the tensor, for external data (resolve it
// first), a segment, negative dimensions, a data length that does not match
// the dimensions, more than one value field, a value field of the wrong kind
// and an unsupported element type (wrapping ErrUnsupportedType).
func FromProto(tp *onnx.TensorProto) (*Tensor, error) {
	if tp == nil {
		return nil, errors.New("tensor: FromProto of a nil TensorProto")
	}
	t, err := fromProto(tp)
	if err != nil {
		return nil, fmt.Errorf("tensor: %s: %w", protoLabel(tp.GetName()), err)
	}
	return t, nil
}

func fromProto(tp *onnx.TensorProto) (*Tensor, error) {
	if tp.GetDataLocation() == onnx.TensorProto_EXTERNAL {
		loc := ""
		for _, e := range tp.GetExternalData() {
			if e.GetKey() == "location" {
				loc = e.GetValue()
			}
		}
		return nil, fmt.Errorf("data is external (location %q) and has not been loaded", loc)
	}
	if tp.GetSegment() != nil {
		return nil, errors.New("segmented tensors are not supported")
	}
	dt := DataType(tp.GetDataType())
	if !dt.Supported() {
		return nil, unsupportedError(dt)
	}
	shape, n, err := shapeFromDims(tp.GetDims())
	if err != nil {
		return nil, err
	}

	lens := [...]int{
		fieldRaw:    len(tp.GetRawData()),
		fieldFloat:  len(tp.GetFloatData()),
		fieldInt32:  len(tp.GetInt32Data()),
		fieldString: len(tp.GetStringData()),
		fieldInt64:  len(tp.GetInt64Data()),
		fieldDouble: len(tp.GetDoubleData()),
		fieldUint64: len(tp.GetUint64Data()),
	}
	field := -1
	for f, l := range lens {
		if l == 0 {
			continue
		}
		if field >= 0 {
			return nil, fmt.Errorf("both %s and %s are set", fieldNames[field], fieldNames[f])
		}
		field = f
	}

	var data any
	switch {
	case field < 0:
		if n != 0 {
			return nil, fmt.Errorf("%v tensor with dims %v (%d elements) holds no data", dt, tp.GetDims(), n)
		}
		data = MakeSlice(dt, 0)
	case field == fieldRaw:
		data, err = decodeRaw(dt, tp.GetRawData(), n)
	default:
		if want := typedField(dt); field != want {
			return nil, fmt.Errorf("%v tensor holds %s (want %s or raw_data)", dt, fieldNames[field], fieldNames[want])
		}
		want := n
		if dt == Int4 || dt == Uint4 {
			want = PackedLen(n)
		}
		if lens[field] != want {
			return nil, fmt.Errorf("%s has %d values, want %d for %v dims %v", fieldNames[field], lens[field], want, dt, tp.GetDims())
		}
		data, err = decodeTyped(dt, tp, n)
	}
	if err != nil {
		return nil, err
	}
	return &Tensor{DType: dt, Shape: shape, Data: data}, nil
}

// decodeRaw decodes n elements of type dt from ONNX raw_data.
func decodeRaw(dt DataType, raw []byte, n int) (any, error) {
	if dt == String {
		return nil, errors.New("string tensor stored in raw_data")
	}
	if want := dt.StorageBytes(n); len(raw) != want {
		return nil, fmt.Errorf("raw_data has %d bytes, want %d for %d %v elements", len(raw), want, n, dt)
	}
	switch dt {
	case Float32:
		return decodeLE[float32](raw, n), nil
	case Float64:
		return decodeLE[float64](raw, n), nil
	case Float16:
		return decodeLE[F16](raw, n), nil
	case BFloat16:
		return decodeLE[BF16](raw, n), nil
	case Int8:
		return decodeLE[int8](raw, n), nil
	case Uint8:
		return decodeLE[uint8](raw, n), nil
	case Int16:
		return decodeLE[int16](raw, n), nil
	case Uint16:
		return decodeLE[uint16](raw, n), nil
	case Int32:
		return decodeLE[int32](raw, n), nil
	case Uint32:
		return decodeLE[uint32](raw, n), nil
	case Int64:
		return decodeLE[int64](raw, n), nil
	case Uint64:
		return decodeLE[uint64](raw, n), nil
	case Bool:
		out := make([]bool, n)
		for i, b := range raw {
			out[i] = b != 0
		}
		return out, nil
	case Int4:
		out := make([]int8, n)
		unpackInt4Into(out, raw)
		return out, nil
	case Uint4:
		out := make([]uint8, n)
		unpackUint4Into(out, raw)
		return out, nil
	}
	return nil, unsupportedError(dt)
}

// narrowInt32s converts int32_data values to T, checking each lies in
// [lo, hi].
func narrowInt32s[T int8 | uint8 | int16 | uint16 | F16 | BF16](src []int32, lo, hi int32) ([]T, error) {
	out := make([]T, len(src))
	for i, v := range src {
		if v < lo || v > hi {
			return nil, fmt.Errorf("int32_data[%d] = %d is outside [%d, %d]", i, v, lo, hi)
		}
		out[i] = T(v)
	}
	return out, nil
}

// decodeTyped decodes n elements of type dt from tp's typed field, whose
// length has been checked.
func decodeTyped(dt DataType, tp *onnx.TensorProto, n int) (any, error) {
	i32 := tp.GetInt32Data()
	switch dt {
	case Float32:
		return append([]float32(nil), tp.GetFloatData()...), nil
	case Float64:
		return append([]float64(nil), tp.GetDoubleData()...), nil
	case Int64:
		return append([]int64(nil), tp.GetInt64Data()...), nil
	case Uint64:
		return append([]uint64(nil), tp.GetUint64Data()...), nil
	case Int32:
		return append([]int32(nil), i32...), nil
	case Uint32:
		src := tp.GetUint64Data()
		out := make([]uint32, len(src))
		for i, v := range src {
			if v > math.MaxUint32 {
				return nil, fmt.Errorf("uint64_data[%d] = %d does not fit uint32", i, v)
			}
			out[i] = uint32(v)
		}
		return out, nil
	case Int8:
		return narrowInt32s[int8](i32, math.MinInt8, math.MaxInt8)
	case Uint8:
		return narrowInt32s[uint8](i32, 0, math.MaxUint8)
	case Int16:
		return narrowInt32s[int16](i32, math.MinInt16, math.MaxInt16)
	case Uint16:
		return narrowInt32s[uint16](i32, 0, math.MaxUint16)
	case Float16:
		return narrowInt32s[F16](i32, 0, math.MaxUint16)
	case BFloat16:
		return narrowInt32s[BF16](i32, 0, math.MaxUint16)
	case Bool:
		out := make([]bool, len(i32))
		for i, v := range i32 {
			out[i] = v != 0
		}
		return out, nil
	case Int4, Uint4:
		packed, err := narrowInt32s[uint8](i32, 0, math.MaxUint8)
		if err != nil {
			return nil, err
		}
		if dt == Int4 {
			out := make([]int8, n)
			unpackInt4Into(out, packed)
			return out, nil
		}
		out := make([]uint8, n)
		unpackUint4Into(out, packed)
		return out, nil
	case String:
		src := tp.GetStringData()
		out := make([]string, len(src))
		for i, s := range src {
			out[i] = string(s)
		}
		return out, nil
	}
	return nil, unsupportedError(dt)
}

// ToProto converts t to an ONNX TensorProto with the given name (omitted when
// empty). Elements go to raw_data in little-endian order, 4-bit types packed
// two to a byte (low nibble first); strings go to string_data. The data is
// copied. It returns an error when t is inconsistent (see Tensor.Check), of
// an unsupported type, or holds 4-bit values out of range.
func ToProto(t *Tensor, name string) (*onnx.TensorProto, error) {
	tp, err := toProto(t, name)
	if err != nil {
		return nil, fmt.Errorf("tensor: ToProto %s: %w", protoLabel(name), err)
	}
	return tp, nil
}

// ToProtoShared is ToProto without the copy where it can: on a
// little-endian host the raw_data of a numeric tensor (4-bit types
// excepted) is t's own memory. Use it for tensors that nobody modifies
// afterwards, such as freshly quantized weights handed to a model.
func ToProtoShared(t *Tensor, name string) (*onnx.TensorProto, error) {
	tp, err := toProtoWith(t, name, true)
	if err != nil {
		return nil, fmt.Errorf("tensor: %s: %w", protoLabel(name), err)
	}
	return tp, nil
}

func toProto(t *Tensor, name string) (*onnx.TensorProto, error) {
	return toProtoWith(t, name, false)
}

// sharedOrCopy returns the little-endian bytes of s: its own memory when
// shared is set on a little-endian host, else a copy.
func sharedOrCopy[T fixedElem](s []T, shared bool) []byte {
	if shared && littleEndianHost {
		if b := bytesOf(s); b != nil {
			return b
		}
		return []byte{}
	}
	return encodeLE(s)
}

func toProtoWith(t *Tensor, name string, shared bool) (*onnx.TensorProto, error) {
	if t == nil {
		return nil, errors.New("nil tensor")
	}
	if !t.DType.Supported() {
		return nil, unsupportedError(t.DType)
	}
	for i, d := range t.Shape {
		if d < 0 {
			return nil, fmt.Errorf("dimension %d is negative (%d)", i, d)
		}
	}
	if err := t.Check(); err != nil {
		return nil, err
	}
	tp := &onnx.TensorProto{DataType: new(int32(t.DType))}
	if name != "" {
		tp.Name = new(name)
	}
	tp.Dims = make([]int64, len(t.Shape))
	for i, d := range t.Shape {
		tp.Dims[i] = int64(d)
	}
	var raw []byte
	switch s := t.Data.(type) {
	case []float32:
		raw = sharedOrCopy(s, shared)
	case []float64:
		raw = sharedOrCopy(s, shared)
	case []F16:
		raw = sharedOrCopy(s, shared)
	case []BF16:
		raw = sharedOrCopy(s, shared)
	case []int8:
		if t.DType == Int4 {
			p, err := PackInt4(s)
			if err != nil {
				return nil, err
			}
			raw = p
		} else {
			raw = sharedOrCopy(s, shared)
		}
	case []uint8:
		if t.DType == Uint4 {
			p, err := PackUint4(s)
			if err != nil {
				return nil, err
			}
			raw = p
		} else {
			raw = sharedOrCopy(s, shared)
		}
	case []int16:
		raw = sharedOrCopy(s, shared)
	case []uint16:
		raw = sharedOrCopy(s, shared)
	case []int32:
		raw = sharedOrCopy(s, shared)
	case []uint32:
		raw = sharedOrCopy(s, shared)
	case []int64:
		raw = sharedOrCopy(s, shared)
	case []uint64:
		raw = sharedOrCopy(s, shared)
	case []bool:
		raw = make([]byte, len(s))
		for i, v := range s {
			if v {
				raw[i] = 1
			}
		}
	case []string:
		tp.StringData = make([][]byte, len(s))
		for i, v := range s {
			tp.StringData[i] = []byte(v)
		}
		return tp, nil
	}
	if raw == nil {
		raw = []byte{}
	}
	tp.RawData = raw
	return tp, nil
}

// ViewProto is FromProto without the copy where it can: on a little-endian
// host, a float32, int8 or uint8 tensor held in suitably aligned raw_data
// is returned as a view sharing raw_data's memory. The view must be treated
// as read-only, and tp's raw_data must not be modified while it is in use.
// Other tensors are decoded as FromProto decodes them.
func ViewProto(tp *onnx.TensorProto) (*Tensor, error) {
	if tp == nil || !littleEndianHost || tp.GetDataLocation() == onnx.TensorProto_EXTERNAL || tp.GetSegment() != nil {
		return FromProto(tp)
	}
	raw := tp.GetRawData()
	dt := DataType(tp.GetDataType())
	if len(raw) == 0 || (dt != Float32 && dt != Int8 && dt != Uint8) || len(tp.GetFloatData())+len(tp.GetInt32Data()) > 0 {
		return FromProto(tp)
	}
	shape, n, err := shapeFromDims(tp.GetDims())
	if err != nil || dt.StorageBytes(n) != len(raw) {
		return FromProto(tp) // reports the error
	}
	var data any
	switch dt {
	case Float32:
		if uintptr(unsafe.Pointer(unsafe.SliceData(raw)))%4 != 0 {
			return FromProto(tp)
		}
		data = unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(raw))), n)
	case Int8:
		data = unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(raw))), n)
	case Uint8:
		data = raw[:n:n]
	}
	return &Tensor{DType: dt, Shape: shape, Data: data}, nil
}
