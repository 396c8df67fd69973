package tensor

import (
	"fmt"
	"slices"
	"strings"
)

// F16 is an IEEE 754 half-precision value, held as its bit pattern.
type F16 uint16

// BF16 is a bfloat16 value (the upper half of a float32), held as its
// bit pattern.
type BF16 uint16

// Tensor is a dense, row-major tensor. Data holds one Go slice whose element
// type matches DType:
//
//	Float32 []float32   Float64 []float64   Float16 []F16   BFloat16 []BF16
//	Int8 []int8         Uint8 []uint8       Int16 []int16       Uint16 []uint16
//	Int32 []int32       Uint32 []uint32     Int64 []int64       Uint64 []uint64
//	Bool []bool         String []string     Int4 []int8         Uint4 []uint8
//
// and len(Data) equals the product of Shape (1 for a scalar, whose Shape is
// empty). Kernels type-assert Data once and then work on the slice.
type Tensor struct {
	DType DataType
	Shape []int
	Data  any
}

// Elem is the set of Go element types a Tensor can hold.
type Elem interface {
	float32 | float64 | F16 | BF16 | int8 | uint8 | int16 | uint16 | int32 | uint32 |
		int64 | uint64 | bool | string
}

// NumElements returns the product of shape's dimensions (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// New returns a zero-filled tensor of the given type and shape. It panics on
// a type onnxquant cannot hold in memory (see DataType.Supported) or a
// negative dimension: both are programming errors, not input errors.
func New(dt DataType, shape ...int) *Tensor {
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor.New: negative dimension in %v", slices.Clone(shape))) // a copy, so that shape does not escape
		}
	}
	n := NumElements(shape)
	return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: MakeSlice(dt, n)}
}

// MakeSlice returns a zeroed slice of n elements of the Go type that holds dt.
func MakeSlice(dt DataType, n int) any {
	switch dt {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Float16:
		return make([]F16, n)
	case BFloat16:
		return make([]BF16, n)
	case Int8, Int4:
		return make([]int8, n)
	case Uint8, Uint4:
		return make([]uint8, n)
	case Int16:
		return make([]int16, n)
	case Uint16:
		return make([]uint16, n)
	case Int32:
		return make([]int32, n)
	case Uint32:
		return make([]uint32, n)
	case Int64:
		return make([]int64, n)
	case Uint64:
		return make([]uint64, n)
	case Bool:
		return make([]bool, n)
	case String:
		return make([]string, n)
	}
	panic(fmt.Sprintf("tensor.MakeSlice: unsupported data type %v", dt))
}

// DTypeOf returns the DataType of a slice held in Tensor.Data
// (Int8 for []int8 and Uint8 for []uint8), or Undefined.
func DTypeOf(data any) DataType {
	switch data.(type) {
	case []float32:
		return Float32
	case []float64:
		return Float64
	case []F16:
		return Float16
	case []BF16:
		return BFloat16
	case []int8:
		return Int8
	case []uint8:
		return Uint8
	case []int16:
		return Int16
	case []uint16:
		return Uint16
	case []int32:
		return Int32
	case []uint32:
		return Uint32
	case []int64:
		return Int64
	case []uint64:
		return Uint64
	case []bool:
		return Bool
	case []string:
		return String
	}
	return Undefined
}

// FromSlice wraps data (not copied) as a tensor of the given shape. The
// element type follows from T. It panics when len(data) does not match shape.
func FromSlice[T Elem](shape []int, data []T) *Tensor {
	if NumElements(shape) != len(data) {
		panic(fmt.Sprintf("tensor.FromSlice: %d elements for shape %v", len(data), shape))
	}
	dt := DTypeOf(data)
	if dt == Undefined {
		panic(fmt.Sprintf("tensor.FromSlice: unsupported element type %T", data))
	}
	return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: data}
}

// Scalar returns a rank-0 tensor holding v.
func Scalar[T Elem](v T) *Tensor { return FromSlice(nil, []T{v}) }

// As returns t's data as a []T, or nil when t does not hold a []T.
func As[T Elem](t *Tensor) []T {
	s, _ := t.Data.([]T)
	return s
}

// Len returns the number of elements.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// Rank returns the number of dimensions.
func (t *Tensor) Rank() int { return len(t.Shape) }

// Check reports whether Data's Go type and length agree with DType and Shape.
func (t *Tensor) Check() error {
	want := t.DType
	got := DTypeOf(t.Data)
	switch want {
	case Int4:
		want = Int8
	case Uint4:
		want = Uint8
	}
	if got != want {
		return fmt.Errorf("tensor: %v tensor holds %T", t.DType, t.Data)
	}
	if n := sliceLen(t.Data); n != t.Len() {
		return fmt.Errorf("tensor: %d elements for shape %v", n, t.Shape)
	}
	return nil
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...)}
	c.Data = cloneSlice(t.Data)
	return c
}

// String returns a short description such as "float32[1 3 224 224]".
func (t *Tensor) String() string {
	var b strings.Builder
	b.WriteString(t.DType.String())
	b.WriteString("[")
	for i, d := range t.Shape {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprint(&b, d)
	}
	b.WriteString("]")
	return b.String()
}

func sliceLen(data any) int {
	switch s := data.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	case []F16:
		return len(s)
	case []BF16:
		return len(s)
	case []int8:
		return len(s)
	case []uint8:
		return len(s)
	case []int16:
		return len(s)
	case []uint16:
		return len(s)
	case []int32:
		return len(s)
	case []uint32:
		return len(s)
	case []int64:
		return len(s)
	case []uint64:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	}
	return -1
}

func cloneSlice(data any) any {
	switch s := data.(type) {
	case []float32:
		return append([]float32(nil), s...)
	case []float64:
		return append([]float64(nil), s...)
	case []F16:
		return append([]F16(nil), s...)
	case []BF16:
		return append([]BF16(nil), s...)
	case []int8:
		return append([]int8(nil), s...)
	case []uint8:
		return append([]uint8(nil), s...)
	case []int16:
		return append([]int16(nil), s...)
	case []uint16:
		return append([]uint16(nil), s...)
	case []int32:
		return append([]int32(nil), s...)
	case []uint32:
		return append([]uint32(nil), s...)
	case []int64:
		return append([]int64(nil), s...)
	case []uint64:
		return append([]uint64(nil), s...)
	case []bool:
		return append([]bool(nil), s...)
	case []string:
		return append([]string(nil), s...)
	}
	return nil
}
