package quantize

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

// WeightOptions say how a constant tensor is quantized.
type WeightOptions struct {
	Type      tensor.DataType // uint8 or int8
	Symmetric bool
	Reduce    bool // 7-bit range
	// Axis >= 0 quantizes per channel along Axis; -1 per tensor.
	Axis int
}

// ChooseWeightParams computes the parameters of a float32 weight from its
// own values (per tensor or per channel).
func ChooseWeightParams(w *tensor.Tensor, o WeightOptions) (Params, error) {
	data, ok := w.Data.([]float32)
	if !ok {
		return Params{}, fmt.Errorf("quantize: weight is %v, want float32", w.DType)
	}
	r, err := Range(o.Type, o.Symmetric, o.Reduce)
	if err != nil {
		return Params{}, err
	}
	p := Params{Type: o.Type, Axis: o.Axis}
	if o.Axis < 0 {
		lo, hi, ok := minMaxParallel(data)
		if !ok {
			lo, hi = 0, 0
		}
		s, z, err := ComputeScaleZeroPoint(float64(lo), float64(hi), r, o.Symmetric)
		if err != nil {
			return Params{}, err
		}
		p.Scale, p.ZeroPoint = []float32{s}, []int32{z}
		return p, nil
	}
	if o.Axis >= len(w.Shape) {
		return Params{}, fmt.Errorf("quantize: channel axis %d out of range for shape %v", o.Axis, w.Shape)
	}
	channels := w.Shape[o.Axis]
	inner := tensor.NumElements(w.Shape[o.Axis+1:])
	outer := tensor.NumElements(w.Shape[:o.Axis])
	lo := make([]float32, channels)
	hi := make([]float32, channels)
	for c := range lo {
		lo[c], hi[c] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	// Channels in parallel; each one's runs in order, as a plain loop.
	parallel.For(channels, max(1, parallelGrain/max(1, inner*outer)), 0, func(c0, c1 int) {
		for c := c0; c < c1; c++ {
			for o := 0; o < outer; o++ {
				base := (o*channels + c) * inner
				l, h, ok := MinMax(data[base : base+inner])
				if ok {
					lo[c] = min(lo[c], l)
					hi[c] = max(hi[c], h)
				}
			}
		}
	})
	p.Scale = make([]float32, channels)
	p.ZeroPoint = make([]int32, channels)
	for c := range lo {
		l, h := lo[c], hi[c]
		if l > h { // no finite value in this channel
			l, h = 0, 0
		}
		p.Scale[c], p.ZeroPoint[c], err = ComputeScaleZeroPoint(float64(l), float64(h), r, o.Symmetric)
		if err != nil {
			return Params{}, err
		}
	}
	return p, nil
}

// QuantizeWeight quantizes a float32 tensor with p (per tensor or along
// p.Axis) into a tensor of p.Type, saturating to the type's full range as
// QuantizeLinear does.
func QuantizeWeight(w *tensor.Tensor, p Params) (*tensor.Tensor, error) {
	data, ok := w.Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("quantize: weight is %v, want float32", w.DType)
	}
	full, err := Range(p.Type, false, false)
	if err != nil {
		return nil, err
	}
	out := tensor.New(p.Type, w.Shape...)
	channels, inner := 1, len(data)
	if p.PerChannel() {
		if p.Axis < 0 || p.Axis >= len(w.Shape) || w.Shape[p.Axis] != len(p.Scale) {
			return nil, fmt.Errorf("quantize: %d channel scales for axis %d of shape %v", len(p.Scale), p.Axis, w.Shape)
		}
		channels = len(p.Scale)
		inner = tensor.NumElements(w.Shape[p.Axis+1:])
	}
	switch d := out.Data.(type) {
	case []uint8:
		quantizeChannels(d, data, p, channels, inner, full)
	case []int8:
		quantizeChannels(d, data, p, channels, inner, full)
	default:
		return nil, fmt.Errorf("quantize: cannot store weights as %v", p.Type)
	}
	return out, nil
}

// parallelGrain is the fewest weight values a goroutine takes at once.
const parallelGrain = 1 << 15

// quantizeChannels quantizes src into dst, element i with the parameters of
// channel (i / inner) % channels, one run of inner elements at a time, runs
// in parallel (every value on its own: the same bytes as in order).
func quantizeChannels[T uint8 | int8](dst []T, src []float32, p Params, channels, inner int, r QRange) {
	if inner == 0 {
		return
	}
	if channels == 1 {
		s, z := p.Scale[0], p.ZeroPoint[0]
		parallel.For(len(src), parallelGrain, 0, func(lo, hi int) {
			out := dst[lo:hi]
			for i, x := range src[lo:hi] {
				out[i] = T(QuantizeValue(x, s, z, r))
			}
		})
		return
	}
	parallel.For(len(src)/inner, max(1, parallelGrain/inner), 0, func(lo, hi int) {
		for k := lo; k < hi; k++ {
			c := k % channels
			s, z := p.Scale[c], p.ZeroPoint[c]
			out := dst[k*inner : (k+1)*inner]
			for i, x := range src[k*inner : (k+1)*inner] {
				out[i] = T(QuantizeValue(x, s, z, r))
			}
		}
	})
}

// minMaxParallel is MinMax over pieces of x in parallel. The pieces'
// results are combined in order with the same strict comparisons, so it
// returns the very values MinMax does (the first of equal ones: -0 or +0).
func minMaxParallel(x []float32) (lo, hi float32, ok bool) {
	pieces := (len(x) + parallelGrain - 1) / parallelGrain
	if pieces <= 1 {
		return MinMax(x)
	}
	type result struct {
		lo, hi float32
		ok     bool
	}
	res := make([]result, pieces)
	parallel.For(pieces, 1, 0, func(k0, k1 int) {
		for k := k0; k < k1; k++ {
			r := &res[k]
			r.lo, r.hi, r.ok = MinMax(x[k*parallelGrain : min(len(x), (k+1)*parallelGrain)])
		}
	})
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, r := range res {
		if !r.ok {
			continue
		}
		if r.lo < lo {
			lo = r.lo
		}
		if r.hi > hi {
			hi = r.hi
		}
	}
	return lo, hi, lo <= hi
}

// int32 bounds of a quantized bias.
const (
	biasMax = math.MaxInt32
	biasMin = math.MinInt32
)

// BiasScales returns the bias scales input_scale * weight_scale (one per
// weight channel, or one), computed in float32 as ONNX Runtime does.
func BiasScales(inputScale float32, weight Params) []float32 {
	out := make([]float32, len(weight.Scale))
	for i, s := range weight.Scale {
		out[i] = inputScale * s
	}
	return out
}

// FitBias enlarges weight scales, where needed, so that every bias value
// quantized with scale input_scale * weight_scale fits in int32: for each
// channel whose bias would overflow, the weight scale becomes
// |bias| / (input_scale * 2^31-1) times a 1.0001 margin, and the zero point is
// recomputed for the same real range. It returns the adjusted parameters and
// whether anything changed. rangeLo/rangeHi are the channels' weight ranges
// (needed for asymmetric zero points).
func FitBias(bias []float32, inputScale float32, weight Params, symmetric bool, r QRange, rangeLo, rangeHi []float32) (Params, bool) {
	changed := false
	w := Params{Type: weight.Type, Axis: weight.Axis, Scale: append([]float32(nil), weight.Scale...), ZeroPoint: append([]int32(nil), weight.ZeroPoint...)}
	for c := range w.Scale {
		// Per channel, the bias value of the channel; per tensor, all.
		var maxAbs float64
		if len(w.Scale) > 1 {
			if c < len(bias) {
				maxAbs = math.Max(maxAbs, math.Abs(float64(bias[c])))
			}
		} else {
			for _, b := range bias {
				maxAbs = math.Max(maxAbs, math.Abs(float64(b)))
			}
		}
		for iter := 0; iter < 8; iter++ {
			bs := float64(inputScale * w.Scale[c])
			if bs > 0 && maxAbs/bs <= biasMax {
				break
			}
			need := maxAbs / (float64(inputScale) * biasMax) * 1.0001
			if need <= float64(w.Scale[c]) {
				need = float64(w.Scale[c]) * 1.0001
			}
			w.Scale[c] = float32(need)
			if !symmetric && rangeLo != nil {
				lo := math.Min(float64(rangeLo[c]), 0)
				zp := math.RoundToEven(float64(r.Min) - lo/float64(w.Scale[c]))
				w.ZeroPoint[c] = int32(math.Max(float64(r.Min), math.Min(float64(r.Max), zp)))
			}
			changed = true
		}
	}
	return w, changed
}

// QuantizeBias quantizes a float32 bias to int32 with the given scales
// (one per channel or one), zero point 0, rounding half to even and
// saturating to int32.
func QuantizeBias(bias *tensor.Tensor, scales []float32) (*tensor.Tensor, error) {
	data, ok := bias.Data.([]float32)
	if !ok {
		return nil, fmt.Errorf("quantize: bias is %v, want float32", bias.DType)
	}
	if len(scales) != 1 && len(scales) != len(data) {
		return nil, fmt.Errorf("quantize: %d bias scales for %d bias values", len(scales), len(data))
	}
	out := tensor.New(tensor.Int32, bias.Shape...)
	q := out.Data.([]int32)
	for i, b := range data {
		s := scales[0]
		if len(scales) > 1 {
			s = scales[i]
		}
		if s == 0 {
			continue
		}
		v := math.RoundToEven(float64(b / s))
		q[i] = int32(math.Max(biasMin, math.Min(biasMax, v)))
	}
	return out, nil
}
