package kernel

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

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
	// last is the plan of the last run's input shape and geometry.
	last atomic.Pointer[rszPlan]
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

// rszGeom is, for every axis of an input, the output length, the scale and
// the region of interest.
type rszGeom struct {
	out                       []int
	scale, lenF, roiLo, roiHi []float64
}

// rszGeomBuf holds a geometry's values in place for inputs of rank up to
// MaxDims, so that working it out for every run allocates nothing.
type rszGeomBuf struct {
	out  [MaxDims]int
	f    [4][MaxDims]float64
	axes [MaxDims]int
	seen [MaxDims]bool
}

// geometry works out the geometry of x, in buf when it fits.
func (c *rszConfig) geometry(x *tensor.Tensor, in []*tensor.Tensor, buf *rszGeomBuf) (g rszGeom, err error) {
	r := len(x.Shape)
	var axes []int
	var seen []bool
	if r <= MaxDims {
		g = rszGeom{out: buf.out[:r], scale: buf.f[0][:r], lenF: buf.f[1][:r], roiLo: buf.f[2][:r], roiHi: buf.f[3][:r]}
		axes, seen = buf.axes[:r], buf.seen[:r]
	} else {
		g = rszGeom{out: make([]int, r), scale: make([]float64, r), lenF: make([]float64, r), roiLo: make([]float64, r), roiHi: make([]float64, r)}
		axes, seen = make([]int, r), make([]bool, r)
	}
	for i := range axes {
		axes[i] = i
	}
	if c.axes != nil {
		axes = axes[:0]
		for _, a := range c.axes {
			ax, err := redAxis(a, r)
			if err != nil {
				return g, c.errorf("axes: %v", err)
			}
			if seen[ax] {
				return g, c.errorf("axis %d repeated in axes", a)
			}
			seen[ax] = true
			axes = append(axes, ax)
		}
	}
	copy(g.out, x.Shape)
	for i := range g.scale {
		g.scale[i], g.lenF[i], g.roiLo[i], g.roiHi[i] = 1, float64(x.Shape[i]), 0, 1
	}
	if c.coord == rszTFCropAndResize {
		roi := rszInput(in, c.roiIn)
		if roi == nil {
			return g, c.errorf("tf_crop_and_resize needs the roi input")
		}
		rt, err := tensor.Convert(roi, tensor.Float64)
		if err != nil {
			return g, c.errorf("roi: %v", err)
		}
		rv := rt.Data.([]float64)
		if len(rv) != 2*len(axes) {
			return g, c.errorf("roi has %d values, want %d", len(rv), 2*len(axes))
		}
		for i, ax := range axes {
			g.roiLo[ax], g.roiHi[ax] = rv[i], rv[len(axes)+i]
		}
	}
	var scales []float32
	if c.attrScales != nil {
		scales = c.attrScales
	} else if s := rszInput(in, c.scalesIn); s != nil {
		if scales, err = tensor.Float32s(s); err != nil {
			return g, c.errorf("scales: %v", err)
		}
	}
	if scales != nil {
		if len(scales) != len(axes) {
			return g, c.errorf("%d scales for %d axes", len(scales), len(axes))
		}
		for i, ax := range axes {
			s := scales[i]
			if !(s > 0) || math.IsInf(float64(s), 0) {
				return g, c.errorf("scale %v must be positive", s)
			}
			if c.name == "Upsample" && s < 1 {
				return g, c.errorf("scale %v must be at least 1", s)
			}
			// The output length is floor(scale*length) in float32, as ONNX
			// Runtime computes it (the roi does not shrink it).
			l := s * float32(x.Shape[ax])
			if !(l >= 0 && l < rszMaxElems) {
				return g, c.errorf("scale %v gives output length %v for axis %d", s, l, ax)
			}
			g.scale[ax], g.lenF[ax], g.out[ax] = float64(s), float64(l), int(l)
		}
		return g, nil
	}
	st := rszInput(in, c.sizesIn)
	if st == nil {
		return g, c.errorf("needs scales or sizes")
	}
	sizes, err := tensor.Int64s(st)
	if err != nil {
		return g, c.errorf("sizes: %v", err)
	}
	if len(sizes) != len(axes) {
		return g, c.errorf("%d sizes for %d axes", len(sizes), len(axes))
	}
	for i, ax := range axes {
		if sizes[i] < 0 {
			return g, c.errorf("negative size %d", sizes[i])
		}
		if x.Shape[ax] == 0 {
			g.out[ax], g.scale[ax], g.lenF[ax] = int(sizes[i]), 1, float64(sizes[i])
			continue
		}
		g.scale[ax] = float64(float32(sizes[i]) / float32(x.Shape[ax]))
	}
	if c.policy != rszStretch {
		best := g.scale[axes[0]]
		for _, ax := range axes[1:] {
			if (c.policy == rszNotLarger) == (g.scale[ax] < best) {
				best = g.scale[ax]
			}
		}
		for _, ax := range axes {
			l := float32(best) * float32(x.Shape[ax])
			if !(l < rszMaxElems) {
				return g, c.errorf("sizes %v give output length %v for axis %d", sizes, l, ax)
			}
			g.scale[ax], g.lenF[ax] = best, float64(l)
			g.out[ax] = int(math.Floor(float64(l) + 0.5))
		}
		return g, nil
	}
	for i, ax := range axes {
		g.out[ax] = int(sizes[i])
		g.lenF[ax] = float64(sizes[i])
	}
	return g, nil
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

// rszPlan is the sampling of one input shape into one output geometry,
// cached in the rszConfig for the next run (read-only once published).
type rszPlan struct {
	xShape []int
	g      rszGeom // the geometry it was made for (copies)
	// plans holds the axis plans of the resized axes (nil for the others).
	plans   []*rszAxisPlan
	resized bool
	// gather is the nearest-mode sampling.
	gather *rszGather
	// resizedAxes lists the resized axes; bil is set when the one-sweep
	// bilinear path applies; outside holds the outside marks per axis
	// (nil when no position is outside).
	resizedAxes []int
	bil         *rszBilin
	outside     [][]bool
}

// matches reports whether p was made for shape and g.
func (p *rszPlan) matches(shape []int, g *rszGeom) bool {
	return slices.Equal(p.xShape, shape) && slices.Equal(p.g.out, g.out) &&
		rszSameFloats(p.g.scale, g.scale) && rszSameFloats(p.g.lenF, g.lenF) &&
		rszSameFloats(p.g.roiLo, g.roiLo) && rszSameFloats(p.g.roiHi, g.roiHi)
}

// rszSameFloats compares bit patterns (so a NaN matches itself).
func rszSameFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// planFor returns the plan for shape and g, from the last one made when
// they match.
func (c *rszConfig) planFor(shape []int, g *rszGeom) *rszPlan {
	if p := c.last.Load(); p != nil && p.matches(shape, g) {
		return p
	}
	r := len(shape)
	p := &rszPlan{
		xShape: slices.Clone(shape),
		g: rszGeom{out: slices.Clone(g.out), scale: slices.Clone(g.scale), lenF: slices.Clone(g.lenF),
			roiLo: slices.Clone(g.roiLo), roiHi: slices.Clone(g.roiHi)},
		plans: make([]*rszAxisPlan, r),
	}
	for d := 0; d < r; d++ {
		ap := c.plan(shape[d], g.out[d], g.scale[d], g.lenF[d], g.roiLo[d], g.roiHi[d])
		if !ap.identity() {
			p.plans[d], p.resized = ap, true
		}
	}
	if p.resized {
		if c.mode == rszNearest {
			p.gather = newRszGather(p.xShape, p.g.out, p.plans)
		} else {
			for d, ap := range p.plans {
				if ap == nil {
					continue
				}
				p.resizedAxes = append(p.resizedAxes, d)
				if ap.hasOut {
					if p.outside == nil {
						p.outside = make([][]bool, r)
					}
					p.outside[d] = ap.outside
				}
			}
			ra := p.resizedAxes
			if len(ra) == 2 && ra[1] == ra[0]+1 && p.plans[ra[0]].n == 2 && p.plans[ra[1]].n == 2 {
				p.bil = newRszBilin(p.xShape, ra[0], p.plans[ra[0]], p.plans[ra[1]])
			}
		}
	}
	c.last.Store(p)
	return p
}

// run resizes its input.
func (c *rszConfig) run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	if len(in) == 0 || in[0] == nil {
		return nil, c.errorf("missing input X")
	}
	x := in[0]
	var gb rszGeomBuf
	g, err := c.geometry(x, in, &gb)
	if err != nil {
		return nil, err
	}
	outShape := g.out
	total := 1.0
	for _, d := range outShape {
		total *= float64(d)
		if d < 0 || int64(d) >= rszMaxElems {
			total = rszMaxElems
		}
	}
	if total >= rszMaxElems {
		return nil, c.errorf("output shape %v is too large", slices.Clone(outShape))
	}
	if x.Len() == 0 {
		if tensor.NumElements(outShape) != 0 {
			return nil, c.errorf("cannot resize empty %v to %v", x.Shape, slices.Clone(outShape))
		}
		return ctx.Out(ctx.New(x.DType, outShape...)), nil
	}
	if slices.Contains(outShape, 0) {
		return ctx.Out(ctx.New(x.DType, outShape...)), nil
	}
	pl := c.planFor(x.Shape, &g)
	if !pl.resized {
		return ctx.Out(x), nil
	}
	if c.mode == rszNearest {
		return c.runNearest(ctx, x, pl)
	}
	threads := redThreads(ctx)
	switch xs := x.Data.(type) {
	case []float32:
		out := ctx.New(x.DType, outShape...)
		rszInterpolate(threads, xs, out.Data.([]float32), pl, float32(c.extrapol))
		return ctx.Out(out), nil
	case []float64:
		out := ctx.New(x.DType, outShape...)
		rszInterpolate(threads, xs, out.Data.([]float64), pl, c.extrapol)
		return ctx.Out(out), nil
	case []tensor.F16, []tensor.BF16:
		f, err := tensor.Float32s(x)
		if err != nil {
			return nil, c.errorf("%v", err)
		}
		res := make([]float32, tensor.NumElements(outShape))
		rszInterpolate(threads, f, res, pl, float32(c.extrapol))
		out, err := tensor.Convert(tensor.FromSlice(slices.Clone(outShape), res), x.DType)
		if err != nil {
			return nil, c.errorf("%v", err)
		}
		return ctx.Out(out), nil
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
	rszInterpolate(threads, ft.Data.([]float64), res, pl, c.extrapol)
	for i, v := range res {
		res[i] = math.Round(v)
	}
	out, err := tensor.Convert(tensor.FromSlice(slices.Clone(outShape), res), x.DType)
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	return ctx.Out(out), nil
}

// runNearest gathers the nearest input element of every output element.
func (c *rszConfig) runNearest(ctx *Ctx, x *tensor.Tensor, pl *rszPlan) ([]*tensor.Tensor, error) {
	if !rszGatherable(x.Data) {
		return nil, fmt.Errorf("kernel: %s: %v input: %w", c.name, x.DType, ErrUnsupported)
	}
	g := pl.gather
	out := ctx.NewUninit(x.DType, pl.g.out...) // every element is gathered or filled
	grain := 1 + 65536/(g.outBlock+1)
	j, _ := rszGatherJobs.Get().(*rszGatherJob)
	if j == nil {
		j = new(rszGatherJob)
	}
	j.g, j.x, j.y, j.ev = g, x.Data, out.Data, c.extrapol
	parallel.Do(g.blocks, grain, redThreads(ctx), j)
	j.g, j.x, j.y = nil, nil, nil
	rszGatherJobs.Put(j)
	return ctx.Out(out), nil
}

// rszGather describes a nearest-neighbour gather: maps[d][o] is the input
// index of output index o along axis d (nil: the same index), and
// outside[d][o], when set, marks output slices that take the fill value.
// The leading axes that are not resized form blocks (of inBlock input and
// outBlock output elements) shared among threads.
type rszGather struct {
	in, out       []int
	maps          [][]int
	outside       [][]bool
	inStr, outStr []int
	lead, blocks  int
	inBlock       int
	outBlock      int
}

// newRszGather prepares the gather of the resized axes' plans.
func newRszGather(in, out []int, plans []*rszAxisPlan) *rszGather {
	r := len(in)
	g := &rszGather{in: in, out: out, maps: make([][]int, r), inStr: make([]int, r), outStr: make([]int, r)}
	for d, p := range plans {
		if p == nil {
			continue
		}
		g.maps[d] = p.idx
		if p.hasOut {
			if g.outside == nil {
				g.outside = make([][]bool, r)
			}
			g.outside[d] = p.outside
		}
	}
	si, so := 1, 1
	for d := r - 1; d >= 0; d-- {
		g.inStr[d], g.outStr[d] = si, so
		si *= in[d]
		so *= out[d]
	}
	for g.lead < r-1 && g.maps[g.lead] == nil {
		g.lead++
	}
	g.blocks = 1
	for _, d := range in[:g.lead] {
		g.blocks *= d
	}
	if g.lead > 0 {
		g.inBlock, g.outBlock = g.inStr[g.lead-1], g.outStr[g.lead-1]
	} else {
		g.inBlock, g.outBlock = si, so
	}
	return g
}

// rszGatherable reports whether runNearest handles data's element type.
func rszGatherable(data any) bool {
	switch data.(type) {
	case []float32, []float64, []tensor.F16, []tensor.BF16, []int8, []uint8, []int16, []uint16,
		[]int32, []uint32, []int64, []uint64, []bool, []string:
		return true
	}
	return false
}

// rszGatherJob is one run of a gather; rszGatherJobs recycles them.
type rszGatherJob struct {
	g    *rszGather
	x, y any
	ev   float64 // the extrapolation value
}

var rszGatherJobs sync.Pool

// Range gathers blocks [lo, hi).
func (j *rszGatherJob) Range(lo, hi int) {
	g, ev := j.g, j.ev
	switch xs := j.x.(type) {
	case []float32:
		rszGatherBlocks(g, xs, j.y.([]float32), float32(ev), lo, hi)
	case []float64:
		rszGatherBlocks(g, xs, j.y.([]float64), ev, lo, hi)
	case []tensor.F16:
		rszGatherBlocks(g, xs, j.y.([]tensor.F16), tensor.F16FromFloat64(ev), lo, hi)
	case []tensor.BF16:
		rszGatherBlocks(g, xs, j.y.([]tensor.BF16), tensor.BF16FromFloat64(ev), lo, hi)
	case []int8:
		rszGatherBlocks(g, xs, j.y.([]int8), redTruncate[int8](ev, math.MinInt8, math.MaxInt8), lo, hi)
	case []uint8:
		rszGatherBlocks(g, xs, j.y.([]uint8), redTruncate[uint8](ev, 0, math.MaxUint8), lo, hi)
	case []int16:
		rszGatherBlocks(g, xs, j.y.([]int16), redTruncate[int16](ev, math.MinInt16, math.MaxInt16), lo, hi)
	case []uint16:
		rszGatherBlocks(g, xs, j.y.([]uint16), redTruncate[uint16](ev, 0, math.MaxUint16), lo, hi)
	case []int32:
		rszGatherBlocks(g, xs, j.y.([]int32), redTruncate[int32](ev, math.MinInt32, math.MaxInt32), lo, hi)
	case []uint32:
		rszGatherBlocks(g, xs, j.y.([]uint32), redTruncate[uint32](ev, 0, math.MaxUint32), lo, hi)
	case []int64:
		rszGatherBlocks(g, xs, j.y.([]int64), redTruncate[int64](ev, math.MinInt64, math.MaxInt64), lo, hi)
	case []uint64:
		rszGatherBlocks(g, xs, j.y.([]uint64), redTruncate[uint64](ev, 0, math.MaxUint64), lo, hi)
	case []bool:
		rszGatherBlocks(g, xs, j.y.([]bool), ev != 0, lo, hi)
	case []string:
		rszGatherBlocks(g, xs, j.y.([]string), "", lo, hi)
	}
}

// rszGatherBlocks runs blocks [lo, hi) of g on typed slices.
func rszGatherBlocks[T any](g *rszGather, x, y []T, fill T, lo, hi int) {
	for b := lo; b < hi; b++ {
		rszGatherAxis(g, x, y, fill, g.lead, b*g.inBlock, b*g.outBlock)
	}
}

// rszGatherAxis gathers the output slice at outOff along axes d and after
// from the input slice at inOff.
func rszGatherAxis[T any](g *rszGather, x, y []T, fill T, d, inOff, outOff int) {
	m := g.maps[d]
	var out []bool
	if g.outside != nil {
		out = g.outside[d]
	}
	if d == len(g.in)-1 {
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
	os := g.outStr[d]
	for j := 0; j < g.out[d]; j++ {
		o := outOff + j*os
		if out != nil && out[j] {
			sub := y[o : o+os]
			for i := range sub {
				sub[i] = fill
			}
			continue
		}
		if m != nil && j > 0 && m[j] == m[j-1] && (out == nil || !out[j-1]) {
			// Same source as the previous slice: copy what it produced.
			copy(y[o:o+os], y[o-os:o])
			continue
		}
		k := j
		if m != nil {
			k = m[j]
		}
		rszGatherAxis(g, x, y, fill, d+1, inOff+k*g.inStr[d], o)
	}
}

// rszPools recycles the jobs and scratch buffers of linear and cubic
// resampling for one float type (rszPoolsFor picks them).
type rszPools struct {
	pass, bilin, scratch sync.Pool
}

var rszPools32, rszPools64 rszPools

// rszPoolsFor returns the pools of F (a nil pointer converts to an
// interface without allocating).
func rszPoolsFor[F float32 | float64]() *rszPools {
	if _, ok := any((*F)(nil)).(*float32); ok {
		return &rszPools32
	}
	return &rszPools64
}

// rszScratch returns a pooled buffer of at least n elements; give it back
// with pools.scratch.Put.
func rszScratch[F float32 | float64](pools *rszPools, n int) *[]F {
	b, _ := pools.scratch.Get().(*[]F)
	if b == nil {
		b = new([]F)
	}
	if cap(*b) < n {
		*b = make([]F, n)
	}
	*b = (*b)[:n]
	return b
}

// rszInterpolate runs linear or cubic resampling of x into y (of the
// plan's input and output shapes), one resized axis at a time or both
// axes of the bilinear path in one sweep, then writes the extrapolation
// value where tf_crop_and_resize samples outside the input.
func rszInterpolate[F float32 | float64](threads int, x, y []F, pl *rszPlan, fill F) {
	if pl.bil != nil {
		rszBilinRun(pl.bil, x, y, threads)
	} else {
		pools := rszPoolsFor[F]()
		var shapeBuf [MaxDims]int
		shape := dmBuf(&shapeBuf, len(pl.xShape))
		copy(shape, pl.xShape)
		cur := x
		var bufs [2]*[]F
		for i, d := range pl.resizedAxes {
			var dst []F
			shape[d] = pl.g.out[d]
			if i == len(pl.resizedAxes)-1 {
				dst = y
			} else {
				k := i % 2
				if bufs[k] == nil {
					bufs[k] = rszScratch[F](pools, tensor.NumElements(shape))
				} else if cap(*bufs[k]) < tensor.NumElements(shape) {
					*bufs[k] = make([]F, tensor.NumElements(shape))
				}
				dst = (*bufs[k])[:tensor.NumElements(shape)]
			}
			rszPass(cur, dst, shape, d, pl.plans[d], threads)
			cur = dst
		}
		for _, b := range bufs {
			if b != nil {
				pools.scratch.Put(b)
			}
		}
	}
	if pl.outside != nil {
		var strBuf [MaxDims]int
		rszFill(y, pl.g.out, dmStridesInto(dmBuf(&strBuf, len(pl.g.out)), pl.g.out), pl.outside, fill, 0, 0)
	}
}

// rszPassJob is one resampling pass over one axis.
type rszPassJob[F float32 | float64] struct {
	src, dst []F
	p        *rszAxisPlan
	inner    int
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
	pools := rszPoolsFor[F]()
	j, _ := pools.pass.Get().(*rszPassJob[F])
	if j == nil {
		j = new(rszPassJob[F])
	}
	j.src, j.dst, j.p, j.inner = src, dst, p, inner
	parallel.Do(outer, 1+16384/(p.out*inner+1), threads, j)
	j.src, j.dst, j.p = nil, nil, nil
	pools.pass.Put(j)
}

// Range resamples blocks [lo, hi) (the product of the axes before the
// resampled one).
func (j *rszPassJob[F]) Range(lo, hi int) {
	p, inner := j.p, j.inner
	inLen, outLen, n := p.in, p.out, p.n
	for b := lo; b < hi; b++ {
		s := j.src[b*inLen*inner : (b+1)*inLen*inner]
		t := j.dst[b*outLen*inner : (b+1)*outLen*inner]
		if inner == 1 {
			for o := range t {
				var acc float64
				for k := 0; k < n; k++ {
					acc += p.w[o*n+k] * float64(s[p.idx[o*n+k]])
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
			for k := 0; k < n; k++ {
				w := F(p.w[o*n+k])
				if w == 0 {
					continue
				}
				srow := s[p.idx[o*n+k]*inner : (p.idx[o*n+k]+1)*inner]
				for i, v := range srow {
					row[i] += w * v
				}
			}
		}
	}
}

// rszBilin is the geometry of the two-tap resampling of two neighbouring
// axes h and h+1 in one sweep (bilinear NCHW resizing when they are the
// last two, NHWC when channels follow), with the width weights in both
// float types.
type rszBilin struct {
	outer, inner         int
	inH, inW, outH, outW int
	ph, pw               *rszAxisPlan
	wx032, wx132         []float32
	wx064, wx164         []float64
}

func newRszBilin(inShape []int, h int, ph, pw *rszAxisPlan) *rszBilin {
	b := &rszBilin{outer: 1, inner: 1, inH: ph.in, inW: pw.in, outH: ph.out, outW: pw.out, ph: ph, pw: pw}
	for _, v := range inShape[:h] {
		b.outer *= v
	}
	for _, v := range inShape[h+2:] {
		b.inner *= v
	}
	b.wx032, b.wx132 = make([]float32, b.outW), make([]float32, b.outW)
	b.wx064, b.wx164 = make([]float64, b.outW), make([]float64, b.outW)
	for o := 0; o < b.outW; o++ {
		b.wx032[o], b.wx132[o] = float32(pw.w[2*o]), float32(pw.w[2*o+1])
		b.wx064[o], b.wx164[o] = pw.w[2*o], pw.w[2*o+1]
	}
	return b
}

// rszBilinear resamples axes h and h+1 of x (shape inShape) into y in one
// sweep.
func rszBilinear[F float32 | float64](x, y []F, inShape []int, h int, ph, pw *rszAxisPlan, threads int) {
	rszBilinRun(newRszBilin(inShape, h, ph, pw), x, y, threads)
}

// rszBilinJob is one run of the one-sweep bilinear path.
type rszBilinJob[F float32 | float64] struct {
	b    *rszBilin
	x, y []F
}

// rszBilinRun runs the one-sweep bilinear path of b.
func rszBilinRun[F float32 | float64](b *rszBilin, x, y []F, threads int) {
	pools := rszPoolsFor[F]()
	j, _ := pools.bilin.Get().(*rszBilinJob[F])
	if j == nil {
		j = new(rszBilinJob[F])
	}
	j.b, j.x, j.y = b, x, y
	parallel.Do(b.outer*b.outH, 1+16384/(b.outW*b.inner+1), threads, j)
	j.b, j.x, j.y = nil, nil, nil
	pools.bilin.Put(j)
}

// rszTyped returns the one of a and b that is a []F.
func rszTyped[F float32 | float64](a *[]float32, b *[]float64) []F {
	if p, ok := any(a).(*[]F); ok {
		return *p
	}
	return *any(b).(*[]F)
}

// Range produces output rows [lo, hi) (rows of the flattened [outer, outH]
// index). Each input row is resampled along the width once and kept while
// consecutive output rows need it.
func (j *rszBilinJob[F]) Range(lo, hi int) {
	b, x, y := j.b, j.x, j.y
	ph, pw := b.ph, b.pw
	inH, inW, outH, outW, inner := b.inH, b.inW, b.outH, b.outW, b.inner
	rowLen := outW * inner
	wx0, wx1 := rszTyped[F](&b.wx032, &b.wx064), rszTyped[F](&b.wx132, &b.wx164)
	pools := rszPoolsFor[F]()
	buf := rszScratch[F](pools, 2*rowLen)
	cache := [2][]F{(*buf)[:rowLen], (*buf)[rowLen : 2*rowLen]}
	key := [2]int{-1, -1}
	for rIdx := lo; rIdx < hi; rIdx++ {
		bi, oy := rIdx/outH, rIdx%outH
		y0, y1 := ph.idx[2*oy], ph.idx[2*oy+1]
		k0, k1 := bi*inH+y0, bi*inH+y1
		s0, s1 := -1, -1
		switch k1 {
		case key[0]:
			s1 = 0
		case key[1]:
			s1 = 1
		}
		switch k0 {
		case key[0]:
			s0 = 0
		case key[1]:
			s0 = 1
		}
		if s0 < 0 {
			s0 = 0
			if s1 == 0 {
				s0 = 1
			}
			rszBilinRow(cache[s0], x[k0*inW*inner:(k0+1)*inW*inner], pw.idx, wx0, wx1, outW, inner)
			key[s0] = k0
		}
		if s1 < 0 {
			s1 = 1 - s0
			rszBilinRow(cache[s1], x[k1*inW*inner:(k1+1)*inW*inner], pw.idx, wx0, wx1, outW, inner)
			key[s1] = k1
		}
		wy0, wy1 := F(ph.w[2*oy]), F(ph.w[2*oy+1])
		dst := y[rIdx*rowLen : (rIdx+1)*rowLen]
		h0, h1 := cache[s0][:len(dst)], cache[s1][:len(dst)]
		for i := range dst {
			dst[i] = wy0*h0[i] + wy1*h1[i]
		}
	}
	pools.scratch.Put(buf)
}

// rszBilinRow resamples one input row r along the width into d.
func rszBilinRow[F float32 | float64](d, r []F, idx []int, wx0, wx1 []F, outW, inner int) {
	if inner == 1 {
		w0, w1, idx := wx0[:len(d)], wx1[:len(d)], idx[:2*len(d)]
		for ox := range d {
			d[ox] = w0[ox]*r[idx[2*ox]] + w1[ox]*r[idx[2*ox+1]]
		}
		return
	}
	for ox := 0; ox < outW; ox++ {
		x0, x1 := idx[2*ox]*inner, idx[2*ox+1]*inner
		a, c := wx0[ox], wx1[ox]
		p0, p1 := r[x0:x0+inner], r[x1:x1+inner]
		dd := d[ox*inner : (ox+1)*inner]
		for i := range dd {
			dd[i] = a*p0[i] + c*p1[i]
		}
	}
}

// rszFill writes fill into every element of y (of shape shape, strides
// str) at or below axis d, offset off, whose position along some axis
// has outside set.
func rszFill[F any](y []F, shape, str []int, outside [][]bool, fill F, d, off int) {
	for j := 0; j < shape[d]; j++ {
		o := off + j*str[d]
		if outside[d] != nil && outside[d][j] {
			sub := y[o : o+str[d]]
			for i := range sub {
				sub[i] = fill
			}
			continue
		}
		if d < len(shape)-1 {
			rszFill(y, shape, str, outside, fill, d+1, o)
		}
	}
}
