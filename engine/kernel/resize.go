package kernel

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Resize", MinOpset: 10, Build: buildResize})
	Register(Op{Type: "Upsample", MinOpset: 7, MaxOpset: 9, Build: buildUpsample})
}

// rszMode is the interpolation mode.
type rszMode int

const (
	rszNearest rszMode = iota
	rszLinear
	rszCubic
)

// rszCoord is the coordinate transformation mode.
type rszCoord int

const (
	rszHalfPixel rszCoord = iota
	rszHalfPixelSymmetric
	rszPytorchHalfPixel
	rszAlignCorners
	rszAsymmetric
	rszTFCropAndResize
	rszTFHalfPixelForNN
)

// rszRound is the rounding of nearest mode.
type rszRound int

const (
	rszRoundPreferFloor rszRound = iota
	rszRoundPreferCeil
	rszFloor
	rszCeil
	// rszSimple is the rule of Upsample and Resize-10, which had no
	// nearest_mode: floor when enlarging, ceil when shrinking.
	rszSimple
)

// rszPolicy is keep_aspect_ratio_policy.
type rszPolicy int

const (
	rszStretch rszPolicy = iota
	rszNotLarger
	rszNotSmaller
)

// rszConfig is a prepared Resize or Upsample node.
type rszConfig struct {
	name      string
	mode      rszMode
	coord     rszCoord
	round     rszRound
	cubicA    float64
	exclude   bool
	extrapol  float64
	antialias bool
	axes      []int64 // nil: all axes
	policy    rszPolicy
	// Inputs: index of roi, scales and sizes (-1 when the version has none).
	roiIn, scalesIn, sizesIn int
	// attrScales holds Upsample-7's scales attribute.
	attrScales []float32
}

// buildUpsample prepares Upsample (opset 7 with a scales attribute, 9 with
// a scales input): Resize-10 semantics, asymmetric coordinates, nearest
// rounding down when enlarging and up when shrinking.
// https://onnx.ai/onnx/operators/onnx__Upsample.html
func buildUpsample(n *Node) (Kernel, error) {
	c := &rszConfig{name: "Upsample", coord: rszAsymmetric, round: rszSimple, roiIn: -1, scalesIn: 1, sizesIn: -1, cubicA: -0.75}
	mode, err := n.String("mode", "nearest")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "nearest":
		c.mode = rszNearest
	case "linear", "bilinear":
		c.mode = rszLinear
	default:
		return nil, n.Errorf("unknown mode %q", mode)
	}
	if n.Opset < 9 {
		c.scalesIn = -1
		if c.attrScales, err = n.Floats("scales", nil); err != nil {
			return nil, err
		}
		if c.attrScales == nil {
			return nil, n.Errorf("missing attribute scales")
		}
	}
	return KernelFunc(c.run), nil
}

// buildResize prepares Resize. Opset 10 takes X and scales with Upsample's
// semantics. Opset 11 adds roi and sizes inputs and the attributes
// coordinate_transformation_mode, cubic_coeff_a, exclude_outside,
// extrapolation_value and nearest_mode; 13 makes roi and scales optional;
// 18 adds antialias, axes and keep_aspect_ratio_policy; 19 adds the
// half_pixel_symmetric transformation.
// https://onnx.ai/onnx/operators/onnx__Resize.html
func buildResize(n *Node) (Kernel, error) {
	c := &rszConfig{name: "Resize", cubicA: -0.75}
	mode, err := n.String("mode", "nearest")
	if err != nil {
		return nil, err
	}
	switch mode {
	case "nearest":
		c.mode = rszNearest
	case "linear":
		c.mode = rszLinear
	case "cubic":
		if n.Opset < 11 {
			return nil, n.Errorf("mode cubic needs opset 11")
		}
		c.mode = rszCubic
	default:
		return nil, n.Errorf("unknown mode %q", mode)
	}
	if n.Opset < 11 {
		c.coord, c.round = rszAsymmetric, rszSimple
		c.roiIn, c.scalesIn, c.sizesIn = -1, 1, -1
		return KernelFunc(c.run), nil
	}
	c.roiIn, c.scalesIn, c.sizesIn = 1, 2, 3
	ctm, err := n.String("coordinate_transformation_mode", "half_pixel")
	if err != nil {
		return nil, err
	}
	switch ctm {
	case "half_pixel":
		c.coord = rszHalfPixel
	case "half_pixel_symmetric":
		c.coord = rszHalfPixelSymmetric
	case "pytorch_half_pixel":
		c.coord = rszPytorchHalfPixel
	case "align_corners":
		c.coord = rszAlignCorners
	case "asymmetric":
		c.coord = rszAsymmetric
	case "tf_crop_and_resize":
		c.coord = rszTFCropAndResize
	case "tf_half_pixel_for_nn":
		c.coord = rszTFHalfPixelForNN
	default:
		return nil, n.Errorf("unknown coordinate_transformation_mode %q", ctm)
	}
	a, err := n.Float("cubic_coeff_a", -0.75)
	if err != nil {
		return nil, err
	}
	c.cubicA = float64(a)
	ex, err := n.Int("exclude_outside", 0)
	if err != nil {
		return nil, err
	}
	c.exclude = ex != 0
	ev, err := n.Float("extrapolation_value", 0)
	if err != nil {
		return nil, err
	}
	c.extrapol = float64(ev)
	nm, err := n.String("nearest_mode", "round_prefer_floor")
	if err != nil {
		return nil, err
	}
	switch nm {
	case "round_prefer_floor":
		c.round = rszRoundPreferFloor
	case "round_prefer_ceil":
		c.round = rszRoundPreferCeil
	case "floor":
		c.round = rszFloor
	case "ceil":
		c.round = rszCeil
	default:
		return nil, n.Errorf("unknown nearest_mode %q", nm)
	}
	if n.Opset >= 18 {
		aa, err := n.Int("antialias", 0)
		if err != nil {
			return nil, err
		}
		c.antialias = aa != 0 && c.mode != rszNearest
		if c.axes, err = n.Ints("axes", nil); err != nil {
			return nil, err
		}
		pol, err := n.String("keep_aspect_ratio_policy", "stretch")
		if err != nil {
			return nil, err
		}
		switch pol {
		case "stretch":
			c.policy = rszStretch
		case "not_larger":
			c.policy = rszNotLarger
		case "not_smaller":
			c.policy = rszNotSmaller
		default:
			return nil, n.Errorf("unknown keep_aspect_ratio_policy %q", pol)
		}
	}
	return KernelFunc(c.run), nil
}

// rszMaxElems bounds the output size, so that absurd scales or sizes give
// an error rather than an allocation failure.
const rszMaxElems = 1 << 34

// rszInput returns input i when the node has it and it is not empty.
func rszInput(in []*tensor.Tensor, i int) *tensor.Tensor {
	if i < 0 || i >= len(in) || in[i] == nil || in[i].Len() == 0 {
		return nil
	}
	return in[i]
}

// rszAxisPlan is the sampling of one axis: for output position o, taps
// input positions idx[o*n+j] with weights w[o*n+j]; outside[o] marks
// positions that take the extrapolation value (tf_crop_and_resize).
type rszAxisPlan struct {
	in, out int
	n       int
	idx     []int
	w       []float64
	outside []bool
	hasOut  bool
}

// identity reports whether the plan copies the axis unchanged.
func (p *rszAxisPlan) identity() bool {
	if p.in != p.out || p.hasOut {
		return false
	}
	for o := 0; o < p.out; o++ {
		hit := false
		for j := 0; j < p.n; j++ {
			w, i := p.w[o*p.n+j], p.idx[o*p.n+j]
			switch {
			case w == 0:
			case w == 1 && i == o && !hit:
				hit = true
			default:
				return false
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

// errorf returns an error naming the operator.
func (c *rszConfig) errorf(format string, args ...any) error {
	return fmt.Errorf("kernel: %s: %s", c.name, fmt.Sprintf(format, args...))
}

// geometry works out, for every axis of x, the output length, the scale and
// the region of interest.
func (c *rszConfig) geometry(x *tensor.Tensor, in []*tensor.Tensor) (out []int, scale, lenF, roiLo, roiHi []float64, err error) {
	r := len(x.Shape)
	axes := make([]int, r)
	for i := range axes {
		axes[i] = i
	}
	if c.axes != nil {
		axes = axes[:0]
		seen := make([]bool, r)
		for _, a := range c.axes {
			ax, err := redAxis(a, r)
			if err != nil {
				return nil, nil, nil, nil, nil, c.errorf("axes: %v", err)
			}
			if seen[ax] {
				return nil, nil, nil, nil, nil, c.errorf("axis %d repeated in axes", a)
			}
			seen[ax] = true
			axes = append(axes, ax)
		}
	}
	out = append([]int(nil), x.Shape...)
	scale, lenF = make([]float64, r), make([]float64, r)
	roiLo, roiHi = make([]float64, r), make([]float64, r)
	for i := range scale {
		scale[i], lenF[i], roiHi[i] = 1, float64(x.Shape[i]), 1
	}
	if c.coord == rszTFCropAndResize {
		roi := rszInput(in, c.roiIn)
		if roi == nil {
			return nil, nil, nil, nil, nil, c.errorf("tf_crop_and_resize needs the roi input")
		}
		rt, err := tensor.Convert(roi, tensor.Float64)
		if err != nil {
			return nil, nil, nil, nil, nil, c.errorf("roi: %v", err)
		}
		rv := rt.Data.([]float64)
		if len(rv) != 2*len(axes) {
			return nil, nil, nil, nil, nil, c.errorf("roi has %d values, want %d", len(rv), 2*len(axes))
		}
		for i, ax := range axes {
			roiLo[ax], roiHi[ax] = rv[i], rv[len(axes)+i]
		}
	}
	var scales []float32
	if c.attrScales != nil {
		scales = c.attrScales
	} else if s := rszInput(in, c.scalesIn); s != nil {
		if scales, err = tensor.Float32s(s); err != nil {
			return nil, nil, nil, nil, nil, c.errorf("scales: %v", err)
		}
	}
	if scales != nil {
		if len(scales) != len(axes) {
			return nil, nil, nil, nil, nil, c.errorf("%d scales for %d axes", len(scales), len(axes))
		}
		for i, ax := range axes {
			s := scales[i]
			if !(s > 0) || math.IsInf(float64(s), 0) {
				return nil, nil, nil, nil, nil, c.errorf("scale %v must be positive", s)
			}
			if c.name == "Upsample" && s < 1 {
				return nil, nil, nil, nil, nil, c.errorf("scale %v must be at least 1", s)
			}
			// The output length is floor(scale*length) in float32, as ONNX
			// Runtime computes it (the roi does not shrink it).
			l := s * float32(x.Shape[ax])
			if !(l >= 0 && l < rszMaxElems) {
				return nil, nil, nil, nil, nil, c.errorf("scale %v gives output length %v for axis %d", s, l, ax)
			}
			scale[ax], lenF[ax], out[ax] = float64(s), float64(l), int(l)
		}
		return out, scale, lenF, roiLo, roiHi, nil
	}
	st := rszInput(in, c.sizesIn)
	if st == nil {
		return nil, nil, nil, nil, nil, c.errorf("needs scales or sizes")
	}
	sizes, err := tensor.Int64s(st)
	if err != nil {
		return nil, nil, nil, nil, nil, c.errorf("sizes: %v", err)
	}
	if len(sizes) != len(axes) {
		return nil, nil, nil, nil, nil, c.errorf("%d sizes for %d axes", len(sizes), len(axes))
	}
	for i, ax := range axes {
		if sizes[i] < 0 {
			return nil, nil, nil, nil, nil, c.errorf("negative size %d", sizes[i])
		}
		if x.Shape[ax] == 0 {
			out[ax], scale[ax], lenF[ax] = int(sizes[i]), 1, float64(sizes[i])
			continue
		}
		scale[ax] = float64(float32(sizes[i]) / float32(x.Shape[ax]))
	}
	if c.policy != rszStretch {
		best := scale[axes[0]]
		for _, ax := range axes[1:] {
			if (c.policy == rszNotLarger) == (scale[ax] < best) {
				best = scale[ax]
			}
		}
		for _, ax := range axes {
			l := float32(best) * float32(x.Shape[ax])
			if !(l < rszMaxElems) {
				return nil, nil, nil, nil, nil, c.errorf("sizes %v give output length %v for axis %d", sizes, l, ax)
			}
			scale[ax], lenF[ax] = best, float64(l)
			out[ax] = int(math.Floor(float64(l) + 0.5))
		}
		return out, scale, lenF, roiLo, roiHi, nil
	}
	for i, ax := range axes {
		out[ax] = int(sizes[i])
		lenF[ax] = float64(sizes[i])
	}
	return out, scale, lenF, roiLo, roiHi, nil
}

// source maps output position o of an axis to a position in the input.
// outside reports a position beyond the input for tf_crop_and_resize. The
// arithmetic is float32, as in ONNX Runtime, so that positions which land
// on a rounding boundary (an integer for floor and ceil, a half for
// rounding) resolve the same way. align_corners divides by the unrounded
// output length scale*length, as ONNX's reference does.
func (c *rszConfig) source(o, in, out int, scale64, lenF64, lo64, hi64 float64) (x float64, outside bool) {
	fo := float32(o)
	scale, lenF, lo, hi := float32(scale64), float32(lenF64), float32(lo64), float32(hi64)
	switch c.coord {
	case rszHalfPixel:
		return float64((fo+0.5)/scale - 0.5), false
	case rszHalfPixelSymmetric:
		// The offset is float32, the rest float64 rounded once at the end,
		// again as ONNX Runtime computes it.
		adj := float32(out) / lenF
		off := float32(in) / 2 * (1 - adj)
		return float64(float32(float64(off) + (float64(o)+0.5)/scale64 - 0.5)), false
	case rszPytorchHalfPixel:
		if out > 1 {
			return float64((fo+0.5)/scale - 0.5), false
		}
		return 0, false
	case rszAlignCorners:
		if lenF == 1 {
			return 0, false
		}
		return float64(fo * float32(in-1) / (lenF - 1)), false
	case rszAsymmetric:
		return float64(fo / scale), false
	case rszTFHalfPixelForNN:
		return float64((fo + 0.5) / scale), false
	}
	// tf_crop_and_resize
	var xf float32
	if out > 1 {
		xf = lo*float32(in-1) + fo*(hi-lo)*float32(in-1)/float32(out-1)
	} else {
		xf = float32(0.5 * float64(lo+hi) * float64(in-1))
	}
	return float64(xf), xf < 0 || xf > float32(in-1)
}

// plan computes the taps of one axis.
func (c *rszConfig) plan(in, out int, scale, lenF, lo, hi float64) *rszAxisPlan {
	p := &rszAxisPlan{in: in, out: out, outside: make([]bool, out)}
	if c.mode == rszNearest {
		p.n = 1
		p.idx, p.w = make([]int, out), make([]float64, out)
		for o := 0; o < out; o++ {
			x, outside := c.source(o, in, out, scale, lenF, lo, hi)
			if outside {
				p.outside[o], p.hasOut = true, true
				continue
			}
			p.idx[o], p.w[o] = rszClamp(c.nearestIndex(x, scale), in), 1
		}
		return p
	}
	support := 1.0
	if c.mode == rszCubic {
		support = 2
	}
	stretch := 1.0
	if c.antialias && scale < 1 {
		stretch = scale
	}
	// Taps sit at base+start .. base+1-start, base = ceil(x)-1, so that
	// the fraction r = x-base lies in (0, 1].
	start := int(math.Floor(-support/stretch)) + 1
	p.n = 2 - 2*start
	p.idx, p.w = make([]int, out*p.n), make([]float64, out*p.n)
	for o := 0; o < out; o++ {
		x, outside := c.source(o, in, out, scale, lenF, lo, hi)
		if outside {
			p.outside[o], p.hasOut = true, true
			continue
		}
		base := int(math.Ceil(x)) - 1
		r := x - float64(base)
		// Beyond one step outside, the window stays at the edge (the
		// input is padded by replicating its border).
		if base < -1 {
			base = -1
		} else if base > in-1 {
			base = in - 1
		}
		idx, w := p.idx[o*p.n:(o+1)*p.n], p.w[o*p.n:(o+1)*p.n]
		var sum float64
		for j := range w {
			k := start + j
			t := stretch * (float64(k) - r)
			if c.mode == rszCubic {
				w[j] = rszCubicWeight(t, c.cubicA)
			} else {
				w[j] = math.Max(0, 1-math.Abs(t))
			}
			pos := base + k
			if c.exclude && (pos < 0 || pos >= in) {
				w[j] = 0
			}
			idx[j] = rszClamp(pos, in)
			sum += w[j]
		}
		if (c.antialias || c.exclude) && sum != 0 {
			for j := range w {
				w[j] /= sum
			}
		}
	}
	return p
}

// rszCubicWeight is the cubic convolution kernel with coefficient a.
func rszCubicWeight(t, a float64) float64 {
	t = math.Abs(t)
	switch {
	case t <= 1:
		return ((a+2)*t-(a+3))*t*t + 1
	case t < 2:
		return ((a*t-5*a)*t+8*a)*t - 4*a
	}
	return 0
}

// rszClamp limits an index to [0, n-1] (edge replication).
func rszClamp(i, n int) int {
	if i < 0 {
		return 0
	}
	if i >= n {
		return n - 1
	}
	return i
}

// nearestIndex rounds an input position per nearest_mode.
func (c *rszConfig) nearestIndex(x, scale float64) int {
	f := math.Floor(x)
	if f == x {
		return int(f)
	}
	switch c.round {
	case rszRoundPreferFloor:
		if x-f <= 0.5 {
			return int(f)
		}
		return int(f) + 1
	case rszRoundPreferCeil:
		if x-f < 0.5 {
			return int(f)
		}
		return int(f) + 1
	case rszFloor:
		return int(f)
	case rszCeil:
		return int(f) + 1
	}
	// Simple: truncation when enlarging, ceil when shrinking.
	if scale < 1 {
		return int(math.Ceil(x))
	}
	return int(x)
}

// run resizes its input.
func (c *rszConfig) run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, c.errorf("missing input X")
	}
	x := in[0]
	outShape, scale, lenF, lo, hi, err := c.geometry(x, in)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	total := 1.0
	for _, d := range outShape {
		total *= float64(d)
		if d < 0 || d >= rszMaxElems {
			total = rszMaxElems
		}
	}
	if total >= rszMaxElems {
		return nil, c.errorf("output shape %v is too large", outShape)
	}
	if x.Len() == 0 {
		if tensor.NumElements(outShape) != 0 {
			return nil, c.errorf("cannot resize empty %v to %v", x.Shape, outShape)
		}
		return []*tensor.Tensor{ctx.New(x.DType, outShape...)}, nil
	}
	plans := make([]*rszAxisPlan, r)
	resized := false
	for d := 0; d < r; d++ {
		if outShape[d] == 0 {
			return []*tensor.Tensor{ctx.New(x.DType, outShape...)}, nil
		}
		p := c.plan(x.Shape[d], outShape[d], scale[d], lenF[d], lo[d], hi[d])
		if !p.identity() {
			plans[d], resized = p, true
		}
	}
	if !resized {
		return []*tensor.Tensor{x}, nil
	}
	if c.mode == rszNearest {
		return c.runNearest(ctx, x, outShape, plans)
	}
	switch xs := x.Data.(type) {
	case []float32:
		out := ctx.New(x.DType, outShape...)
		c.interpolate(ctx, xs, out.Data.([]float32), x.Shape, outShape, plans)
		return []*tensor.Tensor{out}, nil
	case []float64:
		out := ctx.New(x.DType, outShape...)
		c.interpolate(ctx, xs, out.Data.([]float64), x.Shape, outShape, plans)
		return []*tensor.Tensor{out}, nil
	case []tensor.F16, []tensor.BF16:
		f, err := tensor.Float32s(x)
		if err != nil {
			return nil, c.errorf("%v", err)
		}
		res := make([]float32, tensor.NumElements(outShape))
		c.interpolate(ctx, f, res, x.Shape, outShape, plans)
		out, err := tensor.Convert(tensor.FromSlice(outShape, res), x.DType)
		if err != nil {
			return nil, c.errorf("%v", err)
		}
		return []*tensor.Tensor{out}, nil
	}
	if !x.DType.IsInteger() {
		return nil, fmt.Errorf("kernel: %s: %v input with a non-nearest mode: %w", c.name, x.DType, ErrUnsupported)
	}
	// Integers interpolate in float64 and round to nearest, saturating.
	ft, err := tensor.Convert(x, tensor.Float64)
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	res := make([]float64, tensor.NumElements(outShape))
	c.interpolate(ctx, ft.Data.([]float64), res, x.Shape, outShape, plans)
	for i, v := range res {
		res[i] = math.Round(v)
	}
	out, err := tensor.Convert(tensor.FromSlice(outShape, res), x.DType)
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	return []*tensor.Tensor{out}, nil
}

// runNearest gathers the nearest input element of every output element.
func (c *rszConfig) runNearest(ctx *Ctx, x *tensor.Tensor, outShape []int, plans []*rszAxisPlan) ([]*tensor.Tensor, error) {
	out := ctx.New(x.DType, outShape...)
	maps := make([][]int, len(plans))
	var outside [][]bool
	for d, p := range plans {
		if p == nil {
			continue
		}
		maps[d] = p.idx
		if p.hasOut {
			if outside == nil {
				outside = make([][]bool, len(plans))
			}
			outside[d] = p.outside
		}
	}
	g := rszGather{in: x.Shape, out: outShape, maps: maps, outside: outside, threads: redThreads(ctx)}
	ev := c.extrapol
	switch xs := x.Data.(type) {
	case []float32:
		rszGatherRun(&g, xs, out.Data.([]float32), float32(ev))
	case []float64:
		rszGatherRun(&g, xs, out.Data.([]float64), ev)
	case []tensor.F16:
		rszGatherRun(&g, xs, out.Data.([]tensor.F16), tensor.F16FromFloat64(ev))
	case []tensor.BF16:
		rszGatherRun(&g, xs, out.Data.([]tensor.BF16), tensor.BF16FromFloat64(ev))
	case []int8:
		rszGatherRun(&g, xs, out.Data.([]int8), redTruncate[int8](ev, math.MinInt8, math.MaxInt8))
	case []uint8:
		rszGatherRun(&g, xs, out.Data.([]uint8), redTruncate[uint8](ev, 0, math.MaxUint8))
	case []int16:
		rszGatherRun(&g, xs, out.Data.([]int16), redTruncate[int16](ev, math.MinInt16, math.MaxInt16))
	case []uint16:
		rszGatherRun(&g, xs, out.Data.([]uint16), redTruncate[uint16](ev, 0, math.MaxUint16))
	case []int32:
		rszGatherRun(&g, xs, out.Data.([]int32), redTruncate[int32](ev, math.MinInt32, math.MaxInt32))
	case []uint32:
		rszGatherRun(&g, xs, out.Data.([]uint32), redTruncate[uint32](ev, 0, math.MaxUint32))
	case []int64:
		rszGatherRun(&g, xs, out.Data.([]int64), redTruncate[int64](ev, math.MinInt64, math.MaxInt64))
	case []uint64:
		rszGatherRun(&g, xs, out.Data.([]uint64), redTruncate[uint64](ev, 0, math.MaxUint64))
	case []bool:
		rszGatherRun(&g, xs, out.Data.([]bool), ev != 0)
	case []string:
		rszGatherRun(&g, xs, out.Data.([]string), "")
	default:
		return nil, fmt.Errorf("kernel: %s: %v input: %w", c.name, x.DType, ErrUnsupported)
	}
	return []*tensor.Tensor{out}, nil
}

// rszGather describes a nearest-neighbour gather: maps[d][o] is the input
// index of output index o along axis d (nil: the same index), and
// outside[d][o], when set, marks output slices that take the fill value.
type rszGather struct {
	in, out []int
	maps    [][]int
	outside [][]bool
	threads int
}

// rszGatherRun runs g on typed slices. The leading axes that are not
// resized form independent blocks shared among threads.
func rszGatherRun[T any](g *rszGather, x, y []T, fill T) {
	r := len(g.in)
	inStr, outStr := make([]int, r), make([]int, r)
	si, so := 1, 1
	for d := r - 1; d >= 0; d-- {
		inStr[d], outStr[d] = si, so
		si *= g.in[d]
		so *= g.out[d]
	}
	lead := 0
	for lead < r-1 && g.maps[lead] == nil {
		lead++
	}
	blocks := 1
	for _, d := range g.in[:lead] {
		blocks *= d
	}
	inBlock, outBlock := 1, 1
	if lead > 0 {
		inBlock, outBlock = inStr[lead-1], outStr[lead-1]
	} else {
		inBlock, outBlock = si, so
	}
	var rec func(d, inOff, outOff int)
	rec = func(d, inOff, outOff int) {
		m := g.maps[d]
		var out []bool
		if g.outside != nil {
			out = g.outside[d]
		}
		if d == r-1 {
			row := y[outOff : outOff+g.out[d]]
			switch {
			case m == nil:
				copy(row, x[inOff:inOff+g.in[d]])
			case out == nil:
				src := x[inOff : inOff+g.in[d]]
				for j, k := range m {
					row[j] = src[k]
				}
			default:
				src := x[inOff : inOff+g.in[d]]
				for j, k := range m {
					if out[j] {
						row[j] = fill
					} else {
						row[j] = src[k]
					}
				}
			}
			return
		}
		for j := 0; j < g.out[d]; j++ {
			o := outOff + j*outStr[d]
			if out != nil && out[j] {
				sub := y[o : o+outStr[d]]
				for i := range sub {
					sub[i] = fill
				}
				continue
			}
			if m != nil && j > 0 && m[j] == m[j-1] && (out == nil || !out[j-1]) {
				// Same source as the previous slice: copy what it produced.
				copy(y[o:o+outStr[d]], y[o-outStr[d]:o])
				continue
			}
			k := j
			if m != nil {
				k = m[j]
			}
			rec(d+1, inOff+k*inStr[d], o)
		}
	}
	grain := 1 + 65536/(outBlock+1)
	parallel.For(blocks, grain, g.threads, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			rec(lead, b*inBlock, b*outBlock)
		}
	})
}

// interpolate runs linear or cubic resampling of x (shape in) into y
// (shape out), one resized axis at a time, then writes the extrapolation
// value where tf_crop_and_resize samples outside the input.
func (c *rszConfig) interpolate(ctx *Ctx, x, y any, inShape, outShape []int, plans []*rszAxisPlan) {
	switch xs := x.(type) {
	case []float32:
		rszInterpolate(ctx, xs, y.([]float32), inShape, outShape, plans, float32(c.extrapol))
	case []float64:
		rszInterpolate(ctx, xs, y.([]float64), inShape, outShape, plans, c.extrapol)
	}
}

// rszInterpolate resamples typed slices for interpolate.
func rszInterpolate[F float32 | float64](ctx *Ctx, x, y []F, inShape, outShape []int, plans []*rszAxisPlan, fill F) {
	threads := redThreads(ctx)
	var resized []int
	for d, p := range plans {
		if p != nil {
			resized = append(resized, d)
		}
	}
	if len(resized) == 2 && resized[1] == resized[0]+1 && plans[resized[0]].n == 2 && plans[resized[1]].n == 2 {
		rszBilinear(x, y, inShape, resized[0], plans[resized[0]], plans[resized[1]], threads)
	} else {
		cur := x
		shape := append([]int(nil), inShape...)
		for i, d := range resized {
			var dst []F
			shape[d] = outShape[d]
			if i == len(resized)-1 {
				dst = y
			} else {
				dst = make([]F, tensor.NumElements(shape))
			}
			rszPass(cur, dst, shape, d, plans[d], threads)
			cur = dst
		}
	}
	var outside [][]bool
	for d, p := range plans {
		if p != nil && p.hasOut {
			if outside == nil {
				outside = make([][]bool, len(plans))
			}
			outside[d] = p.outside
		}
	}
	if outside != nil {
		rszFill(y, outShape, outside, fill)
	}
}

// rszPass resamples axis d of src into dst; shape is dst's shape (src has
// plan.in along d).
func rszPass[F float32 | float64](src, dst []F, shape []int, d int, p *rszAxisPlan, threads int) {
	outer, inner := 1, 1
	for _, v := range shape[:d] {
		outer *= v
	}
	for _, v := range shape[d+1:] {
		inner *= v
	}
	inLen, outLen, n := p.in, p.out, p.n
	grain := 1 + 16384/(outLen*inner+1)
	parallel.For(outer, grain, threads, func(lo, hi int) {
		for b := lo; b < hi; b++ {
			s := src[b*inLen*inner : (b+1)*inLen*inner]
			t := dst[b*outLen*inner : (b+1)*outLen*inner]
			if inner == 1 {
				for o := range t {
					var acc float64
					for j := 0; j < n; j++ {
						acc += p.w[o*n+j] * float64(s[p.idx[o*n+j]])
					}
					t[o] = F(acc)
				}
				continue
			}
			for o := 0; o < outLen; o++ {
				row := t[o*inner : (o+1)*inner]
				for i := range row {
					row[i] = 0
				}
				for j := 0; j < n; j++ {
					w := F(p.w[o*n+j])
					if w == 0 {
						continue
					}
					srow := s[p.idx[o*n+j]*inner : (p.idx[o*n+j]+1)*inner]
					for i, v := range srow {
						row[i] += w * v
					}
				}
			}
		}
	})
}

// rszBilinear is the two-tap resampling of two neighbouring axes h and h+1
// in one sweep (bilinear NCHW resizing when they are the last two, NHWC
// when channels follow). Each input row is resampled along h+1 once and
// kept while consecutive output rows need it.
func rszBilinear[F float32 | float64](x, y []F, inShape []int, h int, ph, pw *rszAxisPlan, threads int) {
	outer, inner := 1, 1
	for _, v := range inShape[:h] {
		outer *= v
	}
	for _, v := range inShape[h+2:] {
		inner *= v
	}
	inH, inW, outH, outW := ph.in, pw.in, ph.out, pw.out
	rowLen := outW * inner
	wx0, wx1 := make([]F, outW), make([]F, outW)
	for o := 0; o < outW; o++ {
		wx0[o], wx1[o] = F(pw.w[2*o]), F(pw.w[2*o+1])
	}
	// fill resamples input row iy of block b along the width.
	fill := func(d []F, b, iy int) {
		r := x[(b*inH+iy)*inW*inner : (b*inH+iy+1)*inW*inner]
		if inner == 1 {
			w0, w1, idx := wx0[:len(d)], wx1[:len(d)], pw.idx[:2*len(d)]
			for ox := range d {
				d[ox] = w0[ox]*r[idx[2*ox]] + w1[ox]*r[idx[2*ox+1]]
			}
			return
		}
		for ox := 0; ox < outW; ox++ {
			x0, x1 := pw.idx[2*ox]*inner, pw.idx[2*ox+1]*inner
			a, c := wx0[ox], wx1[ox]
			p0, p1 := r[x0:x0+inner], r[x1:x1+inner]
			dd := d[ox*inner : (ox+1)*inner]
			for i := range dd {
				dd[i] = a*p0[i] + c*p1[i]
			}
		}
	}
	grain := 1 + 16384/(rowLen+1)
	parallel.For(outer*outH, grain, threads, func(lo, hi int) {
		cache := [2][]F{make([]F, rowLen), make([]F, rowLen)}
		key := [2]int{-1, -1}
		find := func(k int) int {
			switch k {
			case key[0]:
				return 0
			case key[1]:
				return 1
			}
			return -1
		}
		for rIdx := lo; rIdx < hi; rIdx++ {
			b, oy := rIdx/outH, rIdx%outH
			y0, y1 := ph.idx[2*oy], ph.idx[2*oy+1]
			k0, k1 := b*inH+y0, b*inH+y1
			s1 := find(k1)
			s0 := find(k0)
			if s0 < 0 {
				s0 = 0
				if s1 == 0 {
					s0 = 1
				}
				fill(cache[s0], b, y0)
				key[s0] = k0
			}
			if s1 < 0 {
				s1 = 1 - s0
				fill(cache[s1], b, y1)
				key[s1] = k1
			}
			wy0, wy1 := F(ph.w[2*oy]), F(ph.w[2*oy+1])
			dst := y[rIdx*rowLen : (rIdx+1)*rowLen]
			h0, h1 := cache[s0][:len(dst)], cache[s1][:len(dst)]
			for i := range dst {
				dst[i] = wy0*h0[i] + wy1*h1[i]
			}
		}
	})
}

// rszFill writes fill into every output element whose position along some
// axis d has outside[d] set.
func rszFill[F any](y []F, shape []int, outside [][]bool, fill F) {
	r := len(shape)
	str := make([]int, r)
	s := 1
	for d := r - 1; d >= 0; d-- {
		str[d] = s
		s *= shape[d]
	}
	var rec func(d, off int)
	rec = func(d, off int) {
		for j := 0; j < shape[d]; j++ {
			o := off + j*str[d]
			if outside[d] != nil && outside[d][j] {
				sub := y[o : o+str[d]]
				for i := range sub {
					sub[i] = fill
				}
				continue
			}
			if d < r-1 {
				rec(d+1, o)
			}
		}
	}
	rec(0, 0)
}
