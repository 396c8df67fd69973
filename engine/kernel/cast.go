package kernel

import (
	"math"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Cast and CastLike. Numeric and bool conversions follow tensor.Convert
// (round to nearest even between floats, truncation toward zero from float
// to integer, wrap-around between integers). Targets the engine cannot
// hold in memory (float8, float4, int2, complex) are unsupported, which is
// also why the saturate attribute, defined only for float8 targets, never
// changes a result here. Strings convert to numbers (decimal or scientific
// notation, INF/-INF/NaN in any case) and integers to decimal strings;
// float to string is unsupported, its formatting being left open by the
// spec.

func init() {
	Register(Op{Type: "Cast", Build: buildCast})
	Register(Op{Type: "CastLike", MinOpset: 15, Build: buildCastLike})
}

// buildCast prepares Cast. Before opset 6 the target type is a string
// attribute naming the TensorProto data type ("FLOAT"); later it is the
// type's number.
func buildCast(n *Node) (Kernel, error) {
	if !n.Has("to") {
		return nil, n.Errorf("missing attribute \"to\"")
	}
	var to tensor.DataType
	if n.Opset < 6 {
		s, err := n.String("to", "")
		if err != nil {
			return nil, err
		}
		v, ok := onnx.TensorProto_DataType_value[strings.ToUpper(s)]
		if !ok {
			return nil, n.Errorf("unknown target type %q", s)
		}
		to = tensor.DataType(v)
	} else {
		v, err := n.Int("to", 0)
		if err != nil {
			return nil, err
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return nil, n.Errorf("target type %d out of range", v)
		}
		to = tensor.DataType(v)
	}
	if err := castAttrs(n); err != nil {
		return nil, err
	}
	if !to.Supported() {
		return nil, n.Unsupported("cast to %v", to)
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 1); err != nil {
			return nil, err
		}
		out, err := castTensor(ctx, n, in[0], to)
		if err != nil {
			return nil, err
		}
		return ctx.Out(out), nil
	}), nil
}

// castAttrs reads and checks saturate (opset 19+) and round_mode (opset
// 25+). Both only concern float8 targets, which are unsupported.
func castAttrs(n *Node) error {
	if n.Opset >= 19 {
		s, err := n.Int("saturate", 1)
		if err != nil {
			return err
		}
		if s != 0 && s != 1 {
			return n.Errorf("saturate is %d, want 0 or 1", s)
		}
	}
	if n.Opset >= 25 {
		m, err := n.String("round_mode", "up")
		if err != nil {
			return err
		}
		switch m {
		case "up", "down", "nearest":
		default:
			return n.Errorf("round_mode is %q, want up, down or nearest", m)
		}
	}
	return nil
}

// buildCastLike prepares CastLike, which casts its first input to the
// element type of its second.
func buildCastLike(n *Node) (Kernel, error) {
	if err := castAttrs(n); err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := checkInputs(n, in, 2); err != nil {
			return nil, err
		}
		out, err := castTensor(ctx, n, in[0], in[1].DType)
		if err != nil {
			return nil, err
		}
		return ctx.Out(out), nil
	}), nil
}

// castTensor converts x to type to; a tensor already of that type is
// returned as it is.
func castTensor(ctx *Ctx, n *Node, x *tensor.Tensor, to tensor.DataType) (*tensor.Tensor, error) {
	if x.DType == to {
		return x, nil
	}
	if !to.Supported() {
		return nil, n.Unsupported("cast to %v", to)
	}
	switch {
	case x.DType == tensor.String:
		return castFromString(n, x, to)
	case to == tensor.String:
		return castToString(n, x)
	}
	if castDirect(x.DType) && castDirect(to) && x.Check() == nil {
		out := ctx.NewUninit(to, x.Shape...) // every element is converted
		if castInto(out.Data, x.Data) {
			return out, nil
		}
	}
	out, err := tensor.Convert(x, to)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	return out, nil
}

// castFromString parses decimal or scientific numbers. Integer targets
// accept a fractional number and truncate it toward zero.
func castFromString(n *Node, x *tensor.Tensor, to tensor.DataType) (*tensor.Tensor, error) {
	src := x.Data.([]string)
	switch {
	case to.IsFloat():
		vals := make([]float64, len(src))
		for i, s := range src {
			v, err := parseFloat(s)
			if err != nil {
				return nil, n.Errorf("element %d: %w", i, err)
			}
			vals[i] = v
		}
		out, err := tensor.Convert(tensor.FromSlice(x.Shape, vals), to)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return out, nil
	case to.IsInteger():
		vals := make([]int64, len(src))
		for i, s := range src {
			s = strings.TrimSpace(s)
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				vals[i] = v
				continue
			}
			f, err := parseFloat(s)
			if err != nil {
				return nil, n.Errorf("element %d: %w", i, err)
			}
			vals[i] = truncInt[int64](f)
		}
		out, err := tensor.Convert(tensor.FromSlice(x.Shape, vals), to)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return out, nil
	}
	return nil, n.Unsupported("cast from string to %v", to)
}

// parseFloat parses a number as Cast reads it from a string; strconv
// already accepts INF, +INF, -INF and NaN in any case.
func parseFloat(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !isRangeErr(err) {
		return 0, err
	}
	// Out of float64 range: ParseFloat returns ±Inf or 0, the right values.
	return v, nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// castToString formats integers in decimal.
func castToString(n *Node, x *tensor.Tensor) (*tensor.Tensor, error) {
	if !x.DType.IsInteger() {
		return nil, n.Unsupported("cast from %v to string", x.DType)
	}
	out := make([]string, x.Len())
	if u, ok := x.Data.([]uint64); ok {
		for i, v := range u {
			out[i] = strconv.FormatUint(v, 10)
		}
	} else {
		vals, err := tensor.Int64s(x)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		for i, v := range vals {
			out[i] = strconv.FormatInt(v, 10)
		}
	}
	return tensor.FromSlice(x.Shape, out), nil
}

// castDirect reports whether castInto handles dt, as source or target:
// the numeric and bool types held one element per Go value (not int4 and
// uint4, whose conversions wrap to 4 bits, nor strings).
func castDirect(dt tensor.DataType) bool { return dt.IsPlain() }

// castInto converts the elements of src into dst (of the same length and
// another type) with exactly tensor.Convert's semantics, without
// allocating; it reports false for a pair of types it does not handle.
func castInto(dst, src any) bool {
	switch d := dst.(type) {
	case []float32:
		return castToFloat32(d, src)
	case []float64:
		return castToFloat64(d, src)
	case []tensor.F16:
		return castToHalf(d, src, tensor.F16FromFloat32, tensor.F16FromFloat64)
	case []tensor.BF16:
		return castToHalf(d, src, tensor.BF16FromFloat32, tensor.BF16FromFloat64)
	case []int8:
		return castToInt(d, src, math.MinInt8, math.MaxInt8)
	case []uint8:
		return castToInt(d, src, 0, math.MaxUint8)
	case []int16:
		return castToInt(d, src, math.MinInt16, math.MaxInt16)
	case []uint16:
		return castToInt(d, src, 0, math.MaxUint16)
	case []int32:
		return castToInt(d, src, math.MinInt32, math.MaxInt32)
	case []uint32:
		return castToInt(d, src, 0, math.MaxUint32)
	case []int64:
		return castToInt(d, src, math.MinInt64, math.MaxInt64)
	case []uint64:
		return castToInt(d, src, 0, math.MaxUint64)
	case []bool:
		return castToBool(d, src)
	}
	return false
}

// castInt and castNum are the element types castInto converts between.
type castInt interface {
	int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64
}

type castNum interface {
	castInt | float32 | float64
}

// castHalf is a 16-bit float type, which converts by way of float32.
type castHalf interface {
	tensor.F16 | tensor.BF16
	Float32() float32
}

// castHalfToInts converts 16-bit floats to integers by way of float32 (as
// tensor.Convert does), a chunk at a time in a buffer on the stack.
func castHalfToInts[H castHalf, D castInt](d []D, s []H, lo, hi D) {
	var buf [512]float32
	for off := 0; off < len(s); off += len(buf) {
		c := buf[:min(len(buf), len(s)-off)]
		for i := range c {
			c[i] = s[off+i].Float32()
		}
		castFloatsToInts(d[off:off+len(c)], c, lo, hi)
	}
}

// castNums converts with Go's conversion rules, as tensor.Convert does
// between integers (wrapping), from integers to floats (rounding to
// nearest even) and from float32 to float64 (exactly).
func castNums[S castNum, D castNum](d []D, s []S) {
	d = d[:len(s)]
	for i, v := range s {
		d[i] = D(v)
	}
}

// castBools converts true to 1 and false to 0.
func castBools[D castNum](d []D, s []bool) {
	d = d[:len(s)]
	for i, v := range s {
		if v {
			d[i] = 1
		} else {
			d[i] = 0
		}
	}
}

func castToFloat32(d []float32, src any) bool {
	switch s := src.(type) {
	case []float64:
		// float64 to float32 rounds to nearest even and overflows to
		// ±infinity, as tensor.Convert does.
		const mid = 0x1.ffffffp127
		d = d[:len(s)]
		for i, v := range s {
			switch {
			case v >= mid:
				d[i] = float32(math.Inf(1))
			case v <= -mid:
				d[i] = float32(math.Inf(-1))
			default:
				d[i] = float32(v)
			}
		}
	case []tensor.F16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = v.Float32()
		}
	case []tensor.BF16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = v.Float32()
		}
	case []bool:
		castBools(d, s)
	default:
		return castNumsFrom(d, src)
	}
	return true
}

func castToFloat64(d []float64, src any) bool {
	switch s := src.(type) {
	case []tensor.F16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = float64(v.Float32())
		}
	case []tensor.BF16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = float64(v.Float32())
		}
	case []bool:
		castBools(d, s)
	default:
		return castNumsFrom(d, src)
	}
	return true
}

// castNumsFrom converts an integer or float source with castNums.
func castNumsFrom[D castNum](d []D, src any) bool {
	switch s := src.(type) {
	case []float32:
		castNums(d, s)
	case []float64:
		castNums(d, s)
	case []int8:
		castNums(d, s)
	case []uint8:
		castNums(d, s)
	case []int16:
		castNums(d, s)
	case []uint16:
		castNums(d, s)
	case []int32:
		castNums(d, s)
	case []uint32:
		castNums(d, s)
	case []int64:
		castNums(d, s)
	case []uint64:
		castNums(d, s)
	default:
		return false
	}
	return true
}

// castToHalf converts to float16 or bfloat16 in one rounding step: from
// float32 (and the other half type, widened exactly) with from32, from
// float64 and integers (through float64) with from64.
func castToHalf[H tensor.F16 | tensor.BF16](d []H, src any, from32 func(float32) H, from64 func(float64) H) bool {
	switch s := src.(type) {
	case []float32:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = from32(v)
		}
	case []float64:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = from64(v)
		}
	case []tensor.F16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = from32(v.Float32())
		}
	case []tensor.BF16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = from32(v.Float32())
		}
	case []int8:
		castIntsToHalf(d, s, from64)
	case []uint8:
		castIntsToHalf(d, s, from64)
	case []int16:
		castIntsToHalf(d, s, from64)
	case []uint16:
		castIntsToHalf(d, s, from64)
	case []int32:
		castIntsToHalf(d, s, from64)
	case []uint32:
		castIntsToHalf(d, s, from64)
	case []int64:
		castIntsToHalf(d, s, from64)
	case []uint64:
		castIntsToHalf(d, s, from64)
	case []bool:
		one := from32(1)
		d = d[:len(s)]
		for i, v := range s {
			if v {
				d[i] = one
			} else {
				d[i] = 0
			}
		}
	default:
		return false
	}
	return true
}

func castIntsToHalf[S castInt, H tensor.F16 | tensor.BF16](d []H, s []S, from64 func(float64) H) {
	d = d[:len(s)]
	for i, v := range s {
		d[i] = from64(float64(v))
	}
}

// castToInt converts to an integer type: floats truncate toward zero and
// saturate to [lo, hi] (NaN gives 0), integers wrap, bools give 0 or 1.
func castToInt[D castInt](d []D, src any, lo, hi D) bool {
	switch s := src.(type) {
	case []float32:
		castFloatsToInts(d, s, lo, hi)
	case []float64:
		castFloatsToInts(d, s, lo, hi)
	case []tensor.F16:
		castHalfToInts(d, s, lo, hi)
	case []tensor.BF16:
		castHalfToInts(d, s, lo, hi)
	case []bool:
		castBools(d, s)
	default:
		return castNumsFrom(d, src)
	}
	return true
}

// castFloatsToInts truncates toward zero, saturating to [lo, hi]; NaN
// gives 0 (tensor.Convert's rule).
func castFloatsToInts[S float32 | float64, D castInt](d []D, s []S, lo, hi D) {
	flo, fhi := float64(lo), float64(hi)
	d = d[:len(s)]
	for i, v := range s {
		f := float64(v)
		switch {
		case f != f:
			d[i] = 0
		case f <= flo:
			d[i] = lo
		case f >= fhi:
			d[i] = hi
		default:
			d[i] = D(f)
		}
	}
}

// castToBool gives false for zero (either sign) and true for anything
// else, NaN included.
func castToBool(d []bool, src any) bool {
	switch s := src.(type) {
	case []float32:
		castNonZero(d, s)
	case []float64:
		castNonZero(d, s)
	case []tensor.F16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = v.Float32() != 0
		}
	case []tensor.BF16:
		d = d[:len(s)]
		for i, v := range s {
			d[i] = v.Float32() != 0
		}
	case []int8:
		castNonZero(d, s)
	case []uint8:
		castNonZero(d, s)
	case []int16:
		castNonZero(d, s)
	case []uint16:
		castNonZero(d, s)
	case []int32:
		castNonZero(d, s)
	case []uint32:
		castNonZero(d, s)
	case []int64:
		castNonZero(d, s)
	case []uint64:
		castNonZero(d, s)
	default:
		return false
	}
	return true
}

func castNonZero[S castNum](d []bool, s []S) {
	d = d[:len(s)]
	for i, v := range s {
		d[i] = v != 0
	}
}
