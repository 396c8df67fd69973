//go:build cgo

package ort

import (
	"encoding/binary"
	"fmt"

	"github.com/onnxquant/onnxquant/tensor"
	ortgo "github.com/yalue/onnxruntime_go"
)

// isNative reports whether the binding has a Go-typed tensor for dt, which
// it can both accept and allocate as an output.
func isNative(dt tensor.DataType) bool {
	switch dt {
	case tensor.Float32, tensor.Float64, tensor.Int8, tensor.Uint8, tensor.Int16,
		tensor.Uint16, tensor.Int32, tensor.Uint32, tensor.Int64, tensor.Uint64, tensor.Bool:
		return true
	}
	return false
}

// ortShape converts a tensor shape to the binding's.
func ortShape(shape []int) ortgo.Shape {
	s := make(ortgo.Shape, len(shape))
	for i, d := range shape {
		s[i] = int64(d)
	}
	return s
}

// typed makes a binding value holding data with the given shape: a scalar
// for rank 0, else a tensor. The binding keeps data as the value's buffer
// (ONNX Runtime only reads inputs), so data must stay untouched until the
// value is destroyed.
func typed[T ortgo.TensorData](shape []int, data []T) (ortgo.Value, error) {
	if len(shape) == 0 {
		if len(data) != 1 {
			return nil, fmt.Errorf("scalar holds %d elements", len(data))
		}
		return ortgo.NewScalar(data[0])
	}
	return ortgo.NewTensor(ortShape(shape), data)
}

// toValue converts a tensor into a binding value for use as an input.
func toValue(t *tensor.Tensor) (ortgo.Value, error) {
	if err := t.Check(); err != nil {
		return nil, err
	}
	for _, d := range t.Shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	switch d := t.Data.(type) {
	case []float32:
		return typed(t.Shape, d)
	case []float64:
		return typed(t.Shape, d)
	case []int8:
		if t.DType != tensor.Int8 {
			break
		}
		return typed(t.Shape, d)
	case []uint8:
		if t.DType != tensor.Uint8 {
			break
		}
		return typed(t.Shape, d)
	case []int16:
		return typed(t.Shape, d)
	case []uint16:
		return typed(t.Shape, d)
	case []int32:
		return typed(t.Shape, d)
	case []uint32:
		return typed(t.Shape, d)
	case []int64:
		return typed(t.Shape, d)
	case []uint64:
		return typed(t.Shape, d)
	case []bool:
		return typed(t.Shape, d)
	case []tensor.F16:
		return halfValue(t, d)
	case []tensor.BF16:
		return halfValue(t, d)
	}
	return nil, fmt.Errorf("unsupported element type %v", t.DType)
}

// halfValue passes a float16 or bfloat16 tensor as raw little-endian bits.
func halfValue[H tensor.F16 | tensor.BF16](t *tensor.Tensor, d []H) (ortgo.Value, error) {
	if len(t.Shape) == 0 {
		return nil, fmt.Errorf("%v scalars are not supported by the binding", t.DType)
	}
	// The binding refuses an empty buffer; a larger one than needed is fine.
	buf := make([]byte, max(2*len(d), 1))
	for i, v := range d {
		binary.LittleEndian.PutUint16(buf[2*i:], uint16(v))
	}
	return ortgo.NewCustomDataTensor(ortShape(t.Shape), buf, ortgo.TensorElementDataType(t.DType))
}

// newOutput preallocates an output value of type dt and the given shape
// (a scalar when shape is empty).
func newOutput(dt tensor.DataType, shape []int) (ortgo.Value, error) {
	switch dt {
	case tensor.Float16, tensor.BFloat16:
		if len(shape) == 0 {
			return nil, fmt.Errorf("%v scalars are not supported by the binding", dt)
		}
		n := tensor.NumElements(shape)
		return ortgo.NewCustomDataTensor(ortShape(shape), make([]byte, max(2*n, 1)), ortgo.TensorElementDataType(dt))
	}
	if !isNative(dt) {
		return nil, fmt.Errorf("unsupported element type %v", dt)
	}
	return toValue(tensor.New(dt, shape...))
}

// fromValue copies a binding value produced by a run into a new tensor.
// want is the element type the model declares for it.
func fromValue(v ortgo.Value, want tensor.DataType) (*tensor.Tensor, error) {
	got := tensor.DataType(v.DataType())
	if got != want {
		return nil, fmt.Errorf("ONNX Runtime returned %v, model declares %v", got, want)
	}
	var shape []int
	for _, d := range v.GetShape() {
		shape = append(shape, int(d))
	}
	out := tensor.New(want, shape...)
	n := out.Len()
	var copied int
	switch x := v.(type) {
	case *ortgo.Tensor[float32]:
		copied = copy(out.Data.([]float32), x.GetData())
	case *ortgo.Tensor[float64]:
		copied = copy(out.Data.([]float64), x.GetData())
	case *ortgo.Tensor[int8]:
		copied = copy(out.Data.([]int8), x.GetData())
	case *ortgo.Tensor[uint8]:
		copied = copy(out.Data.([]uint8), x.GetData())
	case *ortgo.Tensor[int16]:
		copied = copy(out.Data.([]int16), x.GetData())
	case *ortgo.Tensor[uint16]:
		copied = copy(out.Data.([]uint16), x.GetData())
	case *ortgo.Tensor[int32]:
		copied = copy(out.Data.([]int32), x.GetData())
	case *ortgo.Tensor[uint32]:
		copied = copy(out.Data.([]uint32), x.GetData())
	case *ortgo.Tensor[int64]:
		copied = copy(out.Data.([]int64), x.GetData())
	case *ortgo.Tensor[uint64]:
		copied = copy(out.Data.([]uint64), x.GetData())
	case *ortgo.Tensor[bool]:
		copied = copy(out.Data.([]bool), x.GetData())
	case *ortgo.Scalar[float32]:
		out.Data.([]float32)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[float64]:
		out.Data.([]float64)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[int8]:
		out.Data.([]int8)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[uint8]:
		out.Data.([]uint8)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[int16]:
		out.Data.([]int16)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[uint16]:
		out.Data.([]uint16)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[int32]:
		out.Data.([]int32)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[uint32]:
		out.Data.([]uint32)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[int64]:
		out.Data.([]int64)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[uint64]:
		out.Data.([]uint64)[0], copied = x.GetData(), 1
	case *ortgo.Scalar[bool]:
		out.Data.([]bool)[0], copied = x.GetData(), 1
	case *ortgo.CustomDataTensor:
		raw := x.GetData()
		if len(raw) < 2*n {
			return nil, fmt.Errorf("%v output holds %d bytes for %d elements", want, len(raw), n)
		}
		switch d := out.Data.(type) {
		case []tensor.F16:
			for i := range d {
				d[i] = tensor.F16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		case []tensor.BF16:
			for i := range d {
				d[i] = tensor.BF16(binary.LittleEndian.Uint16(raw[2*i:]))
			}
		default:
			return nil, fmt.Errorf("unsupported element type %v", want)
		}
		copied = n
	default:
		return nil, fmt.Errorf("unsupported value %T of type %v", v, got)
	}
	if copied != n {
		return nil, fmt.Errorf("output holds %d elements for shape %v", copied, shape)
	}
	return out, nil
}
