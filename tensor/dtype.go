// Package tensor holds onnxquant's dense tensor: an element type, a shape and
// one flat, contiguous Go slice of elements in row-major order.
//
// Elements are stored unpacked in memory: float16 and bfloat16 as their bit
// patterns ([]F16, []BF16), int4 and uint4 one element per byte
// ([]int8, []uint8). Packing happens only at the ONNX boundary (ToProto).
package tensor

import "fmt"

// DataType is an ONNX element type. The values are those of
// onnx.TensorProto_DataType so that conversion is a plain cast.
type DataType int32

// Element types. Their numbers are fixed by the ONNX IR.
const (
	Undefined      DataType = 0
	Float32        DataType = 1
	Uint8          DataType = 2
	Int8           DataType = 3
	Uint16         DataType = 4
	Int16          DataType = 5
	Int32          DataType = 6
	Int64          DataType = 7
	String         DataType = 8
	Bool           DataType = 9
	Float16        DataType = 10
	Float64        DataType = 11
	Uint32         DataType = 12
	Uint64         DataType = 13
	Complex64      DataType = 14
	Complex128     DataType = 15
	BFloat16       DataType = 16
	Float8E4M3FN   DataType = 17
	Float8E4M3FNUZ DataType = 18
	Float8E5M2     DataType = 19
	Float8E5M2FNUZ DataType = 20
	Uint4          DataType = 21
	Int4           DataType = 22
	Float4E2M1     DataType = 23
	Float8E8M0     DataType = 24
	Uint2          DataType = 25
	Int2           DataType = 26
)

var dtypeNames = map[DataType]string{
	Undefined: "undefined", Float32: "float32", Uint8: "uint8", Int8: "int8",
	Uint16: "uint16", Int16: "int16", Int32: "int32", Int64: "int64",
	String: "string", Bool: "bool", Float16: "float16", Float64: "float64",
	Uint32: "uint32", Uint64: "uint64", Complex64: "complex64",
	Complex128: "complex128", BFloat16: "bfloat16",
	Float8E4M3FN: "float8e4m3fn", Float8E4M3FNUZ: "float8e4m3fnuz",
	Float8E5M2: "float8e5m2", Float8E5M2FNUZ: "float8e5m2fnuz",
	Uint4: "uint4", Int4: "int4", Float4E2M1: "float4e2m1",
	Float8E8M0: "float8e8m0", Uint2: "uint2", Int2: "int2",
}

// String returns the lower-case name of the type ("float32", "uint8", ...).
func (d DataType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// ParseDataType returns the DataType with the given name as printed by
// String; it also accepts "float" for float32 and "double" for float64.
func ParseDataType(name string) (DataType, error) {
	switch name {
	case "float":
		return Float32, nil
	case "double":
		return Float64, nil
	}
	for d, s := range dtypeNames {
		if s == name && d != Undefined {
			return d, nil
		}
	}
	return Undefined, fmt.Errorf("tensor: unknown data type %q", name)
}

// Supported reports whether onnxquant can hold tensors of this type in
// memory (every type except complex, float8 and float4).
func (d DataType) Supported() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16, Int8, Uint8, Int16, Uint16,
		Int32, Uint32, Int64, Uint64, Bool, String, Int4, Uint4:
		return true
	}
	return false
}

// IsPlain reports whether tensors of type d hold one fixed-size Go value
// per element: the supported numeric types and bool, not strings (which
// hold pointers) nor the 4-bit types (packed two to a byte when stored).
func (d DataType) IsPlain() bool {
	return d.Supported() && d != String && d != Int4 && d != Uint4
}

// IsFloat reports whether d is a floating-point type.
func (d DataType) IsFloat() bool {
	switch d {
	case Float32, Float64, Float16, BFloat16, Float8E4M3FN, Float8E4M3FNUZ,
		Float8E5M2, Float8E5M2FNUZ, Float4E2M1, Float8E8M0:
		return true
	}
	return false
}

// IsInteger reports whether d is a signed or unsigned integer type
// (4-bit types included, bool excluded).
func (d DataType) IsInteger() bool {
	switch d {
	case Int8, Uint8, Int16, Uint16, Int32, Uint32, Int64, Uint64, Int4, Uint4:
		return true
	}
	return false
}

// StorageBits is the number of bits one element takes in ONNX raw_data
// (4 for the 4-bit types, 0 for strings and unknown types).
func (d DataType) StorageBits() int {
	switch d {
	case Bool, Int8, Uint8, Float8E4M3FN, Float8E4M3FNUZ, Float8E5M2,
		Float8E5M2FNUZ, Float8E8M0:
		return 8
	case Int16, Uint16, Float16, BFloat16:
		return 16
	case Float32, Int32, Uint32:
		return 32
	case Float64, Int64, Uint64, Complex64:
		return 64
	case Complex128:
		return 128
	case Int4, Uint4, Float4E2M1:
		return 4
	case Int2, Uint2:
		return 2
	}
	return 0
}

// StorageBytes is the number of bytes n elements of type d take in ONNX
// raw_data (4-bit types packed two to a byte, rounded up).
func (d DataType) StorageBytes(n int) int {
	return (n*d.StorageBits() + 7) / 8
}
