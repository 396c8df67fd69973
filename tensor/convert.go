package tensor

import (
	"errors"
	"fmt"
	"math"
)

// intElem is the set of Go integer types that hold tensor elements.
type intElem interface {
	int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64
}

// floatElem is the set of Go floating-point types that hold tensor elements.
type floatElem interface{ float32 | float64 }

// Convert returns a new tensor holding t's elements cast to type to, with
// the semantics of ONNX Cast for numeric and bool tensors:
//
//   - float to float rounds to nearest, ties to even, and overflows to
//     ±infinity; float16 and bfloat16 are produced in one rounding step from
//     float32 or float64 (integers go through float64, exact up to 2^53).
//   - integer to float rounds to nearest, ties to even.
//   - integer to integer keeps the low bits (two's complement wrap-around),
//     as ONNX specifies; this includes int4 and uint4 targets.
//   - float to an 8-bit or wider integer truncates toward zero and, where
//     ONNX leaves the result undefined (out of range), saturates to the
//     target's minimum or maximum; NaN becomes 0.
//   - float to int4/uint4 truncates toward zero and then wraps modulo 16,
//     which is what the ONNX 1.22 reference produces (conformance case
//     test_cast_FLOAT_to_INT4 maps -9 to 7 and 8 to -8).
//   - to bool: zero (including -0) is false, anything else (including NaN)
//     true; from bool: true is 1, false 0.
//
// Converting to the same type returns a copy. String tensors convert only to
// string. An unsupported target type wraps ErrUnsupportedType.
func Convert(t *Tensor, to DataType) (*Tensor, error) {
	if t == nil {
		return nil, errors.New("tensor: Convert of a nil tensor")
	}
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("tensor: Convert %v to %v: %w", t, to, err)
	}
	if !to.Supported() {
		return nil, fmt.Errorf("tensor: Convert %v: %w %v", t, ErrUnsupportedType, to)
	}
	if to == t.DType {
		return t.Clone(), nil
	}
	if t.DType == String || to == String {
		return nil, fmt.Errorf("tensor: Convert %v to %v: string tensors convert only to string", t, to)
	}
	data, err := convertData(t.Data, to)
	if err != nil {
		return nil, fmt.Errorf("tensor: Convert %v to %v: %w", t, to, err)
	}
	return &Tensor{DType: to, Shape: append([]int(nil), t.Shape...), Data: data}, nil
}

// convertData converts a numeric or bool slice (as held in Tensor.Data) to
// the Go slice type of to.
func convertData(src any, to DataType) (any, error) {
	// Half-width floats widen exactly to float32 first.
	switch s := src.(type) {
	case []F16:
		f := make([]float32, len(s))
		for i, v := range s {
			f[i] = v.Float32()
		}
		src = f
	case []BF16:
		f := make([]float32, len(s))
		for i, v := range s {
			f[i] = v.Float32()
		}
		src = f
	}
	// Direct loops for the common float32 to half-width casts.
	if f, ok := src.([]float32); ok {
		switch to {
		case Float16:
			out := make([]F16, len(f))
			for i, v := range f {
				out[i] = F16FromFloat32(v)
			}
			return out, nil
		case BFloat16:
			out := make([]BF16, len(f))
			for i, v := range f {
				out[i] = BF16FromFloat32(v)
			}
			return out, nil
		}
	}
	var out any
	switch to {
	case Float32:
		out = toFloat32s(src)
	case Float64:
		out = toFloats[float64](src)
	case Float16:
		out = toHalves(src, F16FromFloat32, F16FromFloat64)
	case BFloat16:
		out = toHalves(src, BF16FromFloat32, BF16FromFloat64)
	case Int8:
		out = toInts[int8](src, math.MinInt8, math.MaxInt8)
	case Uint8:
		out = toInts[uint8](src, 0, math.MaxUint8)
	case Int16:
		out = toInts[int16](src, math.MinInt16, math.MaxInt16)
	case Uint16:
		out = toInts[uint16](src, 0, math.MaxUint16)
	case Int32:
		out = toInts[int32](src, math.MinInt32, math.MaxInt32)
	case Uint32:
		out = toInts[uint32](src, 0, math.MaxUint32)
	case Int64:
		out = toInts[int64](src, math.MinInt64, math.MaxInt64)
	case Uint64:
		out = toInts[uint64](src, 0, math.MaxUint64)
	case Int4:
		if wide, ok := toInts[int64](src, math.MinInt64, math.MaxInt64).([]int64); ok {
			o := make([]int8, len(wide))
			for i, v := range wide {
				o[i] = int8(uint8(v)<<4) >> 4
			}
			out = o
		}
	case Uint4:
		if wide, ok := toInts[int64](src, math.MinInt64, math.MaxInt64).([]int64); ok {
			o := make([]uint8, len(wide))
			for i, v := range wide {
				o[i] = uint8(v) & 0x0f
			}
			out = o
		}
	case Bool:
		out = toBools(src)
	}
	if out == nil {
		return nil, fmt.Errorf("cannot convert %T", src)
	}
	return out, nil
}

// f64ToF32 rounds v to float32, overflowing to ±infinity. Go leaves the
// result of an out-of-range float conversion to the implementation, so the
// overflow is handled here: values at or beyond the midpoint between
// MaxFloat32 and 2^128 round to infinity.
func f64ToF32(v float64) float32 {
	const mid = 0x1.ffffffp127
	switch {
	case v >= mid:
		return float32(math.Inf(1))
	case v <= -mid:
		return float32(math.Inf(-1))
	}
	return float32(v)
}

func toFloat32s(src any) any {
	if s, ok := src.([]float64); ok {
		out := make([]float32, len(s))
		for i, v := range s {
			out[i] = f64ToF32(v)
		}
		return out
	}
	return toFloats[float32](src)
}

// toFloats converts src to []D (float64 to float32 is handled by toFloat32s).
func toFloats[D floatElem](src any) any {
	switch s := src.(type) {
	case []float32:
		return numsTo[float32, D](s)
	case []float64:
		return numsTo[float64, D](s)
	case []int8:
		return numsTo[int8, D](s)
	case []uint8:
		return numsTo[uint8, D](s)
	case []int16:
		return numsTo[int16, D](s)
	case []uint16:
		return numsTo[uint16, D](s)
	case []int32:
		return numsTo[int32, D](s)
	case []uint32:
		return numsTo[uint32, D](s)
	case []int64:
		return numsTo[int64, D](s)
	case []uint64:
		return numsTo[uint64, D](s)
	case []bool:
		return boolsTo[D](s)
	}
	return nil
}

// numsTo converts with Go's conversion rules (exact, or rounded to nearest
// for integer to float and float32 to float64; integer to integer wraps).
func numsTo[S intElem | floatElem, D intElem | floatElem](s []S) []D {
	out := make([]D, len(s))
	for i, v := range s {
		out[i] = D(v)
	}
	return out
}

func boolsTo[D intElem | floatElem](s []bool) []D {
	out := make([]D, len(s))
	for i, v := range s {
		if v {
			out[i] = 1
		}
	}
	return out
}

// floatsToInts truncates toward zero, saturating to [lo, hi]; NaN gives 0.
func floatsToInts[S floatElem, D intElem](s []S, lo, hi D) []D {
	// flo is exact; fhi may round up (2^63, 2^64), which is still the right
	// threshold: every float below it converts without overflow.
	flo, fhi := float64(lo), float64(hi)
	out := make([]D, len(s))
	for i, v := range s {
		f := float64(v)
		switch {
		case f != f:
			out[i] = 0
		case f <= flo:
			out[i] = lo
		case f >= fhi:
			out[i] = hi
		default:
			out[i] = D(f)
		}
	}
	return out
}

// toInts converts src to []D: floats saturate (see floatsToInts), integers
// wrap, bools become 0 or 1.
func toInts[D intElem](src any, lo, hi D) any {
	switch s := src.(type) {
	case []float32:
		return floatsToInts(s, lo, hi)
	case []float64:
		return floatsToInts(s, lo, hi)
	case []int8:
		return numsTo[int8, D](s)
	case []uint8:
		return numsTo[uint8, D](s)
	case []int16:
		return numsTo[int16, D](s)
	case []uint16:
		return numsTo[uint16, D](s)
	case []int32:
		return numsTo[int32, D](s)
	case []uint32:
		return numsTo[uint32, D](s)
	case []int64:
		return numsTo[int64, D](s)
	case []uint64:
		return numsTo[uint64, D](s)
	case []bool:
		return boolsTo[D](s)
	}
	return nil
}

// intsToHalf converts integers through float64 with from64.
func intsToHalf[S intElem, H F16 | BF16](s []S, from64 func(float64) H) []H {
	out := make([]H, len(s))
	for i, v := range s {
		out[i] = from64(float64(v))
	}
	return out
}

// toHalves converts src to []H (F16 or BF16) with one rounding step.
func toHalves[H F16 | BF16](src any, from32 func(float32) H, from64 func(float64) H) any {
	switch s := src.(type) {
	case []float32:
		out := make([]H, len(s))
		for i, v := range s {
			out[i] = from32(v)
		}
		return out
	case []float64:
		out := make([]H, len(s))
		for i, v := range s {
			out[i] = from64(v)
		}
		return out
	case []int8:
		return intsToHalf(s, from64)
	case []uint8:
		return intsToHalf(s, from64)
	case []int16:
		return intsToHalf(s, from64)
	case []uint16:
		return intsToHalf(s, from64)
	case []int32:
		return intsToHalf(s, from64)
	case []uint32:
		return intsToHalf(s, from64)
	case []int64:
		return intsToHalf(s, from64)
	case []uint64:
		return intsToHalf(s, from64)
	case []bool:
		one := from32(1)
		out := make([]H, len(s))
		for i, v := range s {
			if v {
				out[i] = one
			}
		}
		return out
	}
	return nil
}

func nonZero[S intElem | floatElem](s []S) []bool {
	out := make([]bool, len(s))
	for i, v := range s {
		out[i] = v != 0
	}
	return out
}

func toBools(src any) any {
	switch s := src.(type) {
	case []float32:
		return nonZero(s)
	case []float64:
		return nonZero(s)
	case []int8:
		return nonZero(s)
	case []uint8:
		return nonZero(s)
	case []int16:
		return nonZero(s)
	case []uint16:
		return nonZero(s)
	case []int32:
		return nonZero(s)
	case []uint32:
		return nonZero(s)
	case []int64:
		return nonZero(s)
	case []uint64:
		return nonZero(s)
	}
	return nil
}

// Float32s returns t's elements as float32. For a float32 tensor it returns
// t's own slice (not a copy); any other numeric or bool tensor is converted
// as by Convert into a new slice. String tensors are an error.
func Float32s(t *Tensor) ([]float32, error) {
	if t == nil {
		return nil, errors.New("tensor: Float32s of a nil tensor")
	}
	if t.DType == Float32 {
		if err := t.Check(); err != nil {
			return nil, fmt.Errorf("tensor: Float32s: %w", err)
		}
		return t.Data.([]float32), nil
	}
	c, err := Convert(t, Float32)
	if err != nil {
		return nil, err
	}
	return c.Data.([]float32), nil
}

// Int64s returns the elements of an integer tensor (any width, signed or
// not, 4-bit included) as int64, as used for shape, axis and index
// arguments. For an int64 tensor it returns t's own slice (not a copy).
// Float, bool and string tensors are an error, as is a uint64 element above
// math.MaxInt64.
func Int64s(t *Tensor) ([]int64, error) {
	if t == nil {
		return nil, errors.New("tensor: Int64s of a nil tensor")
	}
	if err := t.Check(); err != nil {
		return nil, fmt.Errorf("tensor: Int64s: %w", err)
	}
	switch s := t.Data.(type) {
	case []int64:
		return s, nil
	case []uint64:
		for i, v := range s {
			if v > math.MaxInt64 {
				return nil, fmt.Errorf("tensor: Int64s: %v element %d (%d) overflows int64", t, i, v)
			}
		}
		return numsTo[uint64, int64](s), nil
	case []int8:
		return numsTo[int8, int64](s), nil
	case []uint8:
		return numsTo[uint8, int64](s), nil
	case []int16:
		return numsTo[int16, int64](s), nil
	case []uint16:
		return numsTo[uint16, int64](s), nil
	case []int32:
		return numsTo[int32, int64](s), nil
	case []uint32:
		return numsTo[uint32, int64](s), nil
	}
	return nil, fmt.Errorf("tensor: Int64s: %v is not an integer tensor", t)
}
