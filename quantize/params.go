package quantize

import (
	"errors"
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/tensor"
)

// QRange is the integer range [Min, Max] quantized values may take.
type QRange struct{ Min, Max int32 }

// Range returns the integer range for a quantized type: the full range of
// the type, the symmetric range (int8 [-127, 127], uint8 [0, 254]) or the
// 7-bit reduced range used for weights on CPUs without VNNI (uint8 [0, 127],
// int8 [-64, 64]).
func Range(qt tensor.DataType, symmetric, reduce bool) (QRange, error) {
	switch qt {
	case tensor.Uint8:
		switch {
		case reduce:
			return QRange{0, 127}, nil
		case symmetric:
			return QRange{0, 254}, nil
		}
		return QRange{0, 255}, nil
	case tensor.Int8:
		switch {
		case reduce:
			return QRange{-64, 64}, nil
		case symmetric:
			return QRange{-127, 127}, nil
		}
		return QRange{-128, 127}, nil
	case tensor.Uint16:
		if symmetric {
			return QRange{0, 65534}, nil
		}
		return QRange{0, 65535}, nil
	case tensor.Int16:
		if symmetric {
			return QRange{-32767, 32767}, nil
		}
		return QRange{-32768, 32767}, nil
	}
	return QRange{}, fmt.Errorf("quantize: %v is not a quantized type (want uint8 or int8)", qt)
}

// Params are the scale and zero point of one tensor, or of each channel
// along Axis when Scale has more than one element.
type Params struct {
	Type      tensor.DataType // uint8, int8 (int32 for biases)
	Scale     []float32
	ZeroPoint []int32
	// Axis is the channel axis of per-channel parameters; ignored when
	// len(Scale) == 1.
	Axis int
}

// PerChannel reports whether the parameters hold one scale per channel.
func (p Params) PerChannel() bool { return len(p.Scale) > 1 }

// smallestNormal is float32's smallest positive normal number.
const smallestNormal = 1.1754943508222875e-38

// ErrBadRange marks a range that cannot be quantized (NaN or infinite).
var ErrBadRange = errors.New("quantize: range is not finite")

// ComputeScaleZeroPoint chooses the scale and zero point mapping the real
// range [rmin, rmax] onto r, so that real zero is exactly representable:
//
//	rmin, rmax = min(rmin, 0), max(rmax, 0)
//	symmetric: rmax = max(|rmin|, |rmax|), rmin = -rmax
//	scale = (rmax - rmin) / (r.Max - r.Min)        (float64, stored float32)
//	zero_point = round(r.Min - rmin / scale)       (asymmetric)
//	zero_point = round((r.Min + r.Max) / 2)        (symmetric)
//
// A scale below float32's smallest normal number (an all-zero tensor)
// becomes scale 1 with zero point 0. Rounding is half to even.
func ComputeScaleZeroPoint(rmin, rmax float64, r QRange, symmetric bool) (float32, int32, error) {
	if math.IsNaN(rmin) || math.IsNaN(rmax) || math.IsInf(rmin, 0) || math.IsInf(rmax, 0) {
		return 0, 0, fmt.Errorf("%w: [%g, %g]", ErrBadRange, rmin, rmax)
	}
	if rmin > rmax {
		return 0, 0, fmt.Errorf("quantize: range minimum %g above maximum %g", rmin, rmax)
	}
	rmin = math.Min(rmin, 0)
	rmax = math.Max(rmax, 0)
	if symmetric {
		m := math.Max(math.Abs(rmin), math.Abs(rmax))
		rmin, rmax = -m, m
	}
	scale := (rmax - rmin) / float64(r.Max-r.Min)
	if float32(scale) < smallestNormal {
		return 1, 0, nil
	}
	var zp float64
	if symmetric {
		zp = math.RoundToEven(float64(r.Min+r.Max) / 2)
	} else {
		zp = math.RoundToEven(float64(r.Min) - rmin/float64(float32(scale)))
	}
	zp = math.Max(float64(r.Min), math.Min(float64(r.Max), zp))
	return float32(scale), int32(zp), nil
}

// QuantizeValue returns saturate(round_half_even(x / scale) + zeroPoint),
// the ONNX QuantizeLinear formula, with the division in float32 as ONNX
// Runtime computes it.
func QuantizeValue(x, scale float32, zeroPoint int32, r QRange) int32 {
	v := math.RoundToEven(float64(x/scale)) + float64(zeroPoint)
	if math.IsNaN(v) {
		return zeroPoint
	}
	if v < float64(r.Min) {
		return r.Min
	}
	if v > float64(r.Max) {
		return r.Max
	}
	return int32(v)
}

// MinMax returns the smallest and largest finite values of x; ok is false
// when x has no finite value. NaN and infinities are skipped.
func MinMax(x []float32) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		if v != v || v > math.MaxFloat32 || v < -math.MaxFloat32 {
			continue
		}
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi, lo <= hi
}
