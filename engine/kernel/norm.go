package kernel

import (
	"math"

	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "BatchNormalization", Build: buildBatchNorm})
	Register(Op{Type: "InstanceNormalization", Build: buildInstanceNorm})
	Register(Op{Type: "LayerNormalization", MinOpset: 17, Build: buildLayerNorm})
	Register(Op{Type: "GroupNormalization", MinOpset: 18, Build: buildGroupNorm})
	Register(Op{Type: "LpNormalization", Build: buildLpNorm})
	Register(Op{Type: "LRN", Build: buildLRN})
	Register(Op{Type: "MeanVarianceNormalization", MinOpset: 9, Build: buildMVN})
}

// Normalization kernels compute statistics in float64 and apply them in
// the input's precision (float32 for 16-bit floats, which are widened and
// narrowed back). Parameters (scale, bias, mean, variance) may have a
// different float type than the input, as BatchNormalization-15 allows.

// nmFloats returns a float tensor's values as float64.
func nmFloats(n *Node, t *tensor.Tensor, what string) ([]float64, error) {
	out := make([]float64, t.Len())
	if err := nmFloatsTo(n, t, what, out); err != nil {
		return nil, err
	}
	return out, nil
}

// nmScratch recycles the float64 parameter buffers of the normalizations.
var nmScratch bufPool[float64]

// nmFloatsTo writes a float tensor's values as float64 into out, which
// holds t.Len() values.
func nmFloatsTo(n *Node, t *tensor.Tensor, what string, out []float64) error {
	switch d := t.Data.(type) {
	case []float32:
		for i, v := range d {
			out[i] = float64(v)
		}
	case []float64:
		copy(out, d)
	case []tensor.F16:
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
	case []tensor.BF16:
		for i, v := range d {
			out[i] = float64(v.Float32())
		}
	default:
		return n.Unsupported("%s of type %v", what, t.DType)
	}
	return nil
}

// nmFloatRun widens x when it is a 16-bit float, runs f on its float32 or
// float64 data with a new output of the same shape, and narrows the result
// back to x's type.
func nmFloatRun(ctx *Ctx, n *Node, x *tensor.Tensor, f func(xd, yd any) error) (*tensor.Tensor, error) {
	dt := x.DType
	xw, err := cvWiden(x)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	var y *tensor.Tensor
	switch {
	case cvIsHalf(dt):
		y = tensor.New(tensor.Float32, x.Shape...)
	case dt == tensor.Float32 || dt == tensor.Float64:
		// Every kernel using nmFloatRun writes every value.
		y = ctx.NewUninit(dt, x.Shape...)
	default:
		return nil, n.Unsupported("element type %v", dt)
	}
	if err := f(xw.Data, y.Data); err != nil {
		return nil, err
	}
	out, err := cvNarrow(y, dt)
	if err != nil {
		return nil, n.Errorf("%w", err)
	}
	return out, nil
}

// nmAffine computes y = x*a[c] + b[c] over a [outer, channels, inner]
// layout, where a and b hold channels*perChannel values: perChannel is 1
// for one coefficient per channel, or inner for one per element (the
// pre-opset-9 BatchNormalization with spatial=0).
func nmAffine[T cvFloat](x, y []T, outer, channels, inner int, a, b []float64, perElem bool, threads int) {
	j := takeJob[nmAffineJob[T], T](&nmAffineJobs)
	*j = nmAffineJob[T]{x: x, y: y, channels: channels, inner: inner, a: a, b: b, perElem: perElem}
	parallel.Do(outer*channels, max(1, (1<<15)/max(inner, 1)), threads, j)
	dropJob[T](&nmAffineJobs, j)
}

// nmAffineJob is nmAffine's loop over [outer*channels] planes.
type nmAffineJob[T cvFloat] struct {
	x, y            []T
	channels, inner int
	a, b            []float64
	perElem         bool
}

var nmAffineJobs kindJobPool

func (j *nmAffineJob[T]) Range(lo, hi int) {
	inner, a, b := j.inner, j.a, j.b
	for p := lo; p < hi; p++ {
		c := p % j.channels
		xs := j.x[p*inner : (p+1)*inner]
		ys := j.y[p*inner : (p+1)*inner]
		if j.perElem {
			as, bs := a[c*inner:(c+1)*inner], b[c*inner:(c+1)*inner]
			for i, v := range xs {
				ys[i] = T(float64(v)*as[i] + bs[i])
			}
			continue
		}
		av, bv := T(a[c]), T(b[c])
		for i, v := range xs {
			ys[i] = v*av + bv
		}
	}
}

// buildBatchNorm prepares BatchNormalization in inference mode (opsets 1,
// 6, 7, 9, 14, 15): Y = (X - mean) / sqrt(var + epsilon) * scale + B per
// channel (per channel and position before opset 9 with spatial=0).
// Training (training_mode=1 from opset 14, or asking for the statistics
// outputs before) is not supported.
// https://onnx.ai/onnx/operators/onnx__BatchNormalization.html
func buildBatchNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	n.Ignore("momentum", "consumed_inputs") // training-only / legacy hint
	spatial := true
	if n.Opset < 9 {
		s, err := n.Int("spatial", 1)
		if err != nil {
			return nil, err
		}
		spatial = s != 0
	}
	if n.Opset < 7 {
		// is_test only selects training when the statistics outputs are
		// requested, which is refused below.
		n.Ignore("is_test")
	}
	if n.Opset >= 14 {
		tm, err := n.Int("training_mode", 0)
		if err != nil {
			return nil, err
		}
		if tm != 0 {
			return nil, n.Unsupported("training_mode=1")
		}
	}
	for i := 1; i < len(n.Outputs); i++ {
		if n.HasOutput(i) {
			return nil, n.Unsupported("training outputs (output %d requested)", i)
		}
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0, 1, 2, 3, 4); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 2 {
			return nil, n.Errorf("input shape %v: need [N, C, ...]", x.Shape)
		}
		c := x.Shape[1]
		inner := prodInts(x.Shape[2:])
		want := c
		if !spatial {
			want = c * inner
		}
		buf := nmScratch.get(6 * want)
		defer nmScratch.put(buf)
		var p [4][]float64
		for i := range p {
			t := in[i+1]
			if t.Len() != want {
				return nil, n.Errorf("input %d has %d values (shape %v), want %d", i+1, t.Len(), t.Shape, want)
			}
			p[i] = (*buf)[i*want : (i+1)*want]
			if err := nmFloatsTo(n, t, "parameter", p[i]); err != nil {
				return nil, err
			}
		}
		scale, bias, mean, variance := p[0], p[1], p[2], p[3]
		a := (*buf)[4*want : 5*want]
		b := (*buf)[5*want : 6*want]
		for i := range a {
			a[i] = scale[i] / math.Sqrt(variance[i]+float64(eps))
			b[i] = bias[i] - mean[i]*a[i]
		}
		y, err := nmFloatRun(ctx, n, x, func(xd, yd any) error {
			switch xs := xd.(type) {
			case []float32:
				nmAffine(xs, yd.([]float32), x.Shape[0], c, inner, a, b, !spatial, cvThreads(ctx))
			case []float64:
				nmAffine(xs, yd.([]float64), x.Shape[0], c, inner, a, b, !spatial, cvThreads(ctx))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return ctx.Out(y), nil
	}), nil
}

// nmStats returns the mean and 1/sqrt(variance + eps) of s, with the
// population variance.
func nmStats[T cvFloat](s []T, eps float64) (mean, inv float64) {
	var sum float64
	for _, v := range s {
		sum += float64(v)
	}
	mean = sum / float64(len(s))
	var sq float64
	for _, v := range s {
		d := float64(v) - mean
		sq += d * d
	}
	return mean, 1 / math.Sqrt(sq/float64(len(s))+eps)
}

// nmCoef says which scale and bias value the channel runs of nmGroups
// use: run ch of group g uses index (g%mod)*mul + ch*chMul.
type nmCoef struct{ mod, mul, chMul int }

// nmGroups normalizes each of the groups contiguous blocks of x (block
// values each) by its own mean and variance, then applies scale and bias:
// value i of block g uses coefficient index coef(g, i/chanSize) where the
// block is made of chanSize-long channel runs.
func nmGroups[T cvFloat](x, y []T, groups, block, chanSize int, eps float64, scale, bias []float64, coef nmCoef, threads int) {
	j := takeJob[nmGroupsJob[T], T](&nmGroupsJobs)
	*j = nmGroupsJob[T]{x: x, y: y, block: block, chanSize: chanSize, eps: eps, scale: scale, bias: bias, coef: coef}
	parallel.Do(groups, max(1, (1<<15)/max(block, 1)), threads, j)
	dropJob[T](&nmGroupsJobs, j)
}

// nmGroupsJob is nmGroups' loop over groups.
type nmGroupsJob[T cvFloat] struct {
	x, y            []T
	block, chanSize int
	eps             float64
	scale, bias     []float64
	coef            nmCoef
}

var nmGroupsJobs kindJobPool

func (j *nmGroupsJob[T]) Range(lo, hi int) {
	block, chanSize := j.block, j.chanSize
	for g := lo; g < hi; g++ {
		xs := j.x[g*block : (g+1)*block]
		ys := j.y[g*block : (g+1)*block]
		mean, inv := nmStats(xs, j.eps)
		for ch := 0; ch*chanSize < block; ch++ {
			ci := (g%j.coef.mod)*j.coef.mul + ch*j.coef.chMul
			a := inv * j.scale[ci]
			b := j.bias[ci] - mean*a
			xr := xs[ch*chanSize : (ch+1)*chanSize]
			yr := ys[ch*chanSize : (ch+1)*chanSize]
			for i, v := range xr {
				yr[i] = T(float64(v)*a + b)
			}
		}
	}
}

// nmScaleBias reads scale and bias (inputs 1 and 2) as float64 into a
// pooled buffer, which the caller puts back into nmScratch.
func nmScaleBias(n *Node, in []*tensor.Tensor) (scale, bias []float64, buf *[]float64, err error) {
	ls, lb := in[1].Len(), in[2].Len()
	buf = nmScratch.get(ls + lb)
	scale, bias = (*buf)[:ls], (*buf)[ls:]
	if err := nmFloatsTo(n, in[1], "scale", scale); err != nil {
		nmScratch.put(buf)
		return nil, nil, nil, err
	}
	if err := nmFloatsTo(n, in[2], "bias", bias); err != nil {
		nmScratch.put(buf)
		return nil, nil, nil, err
	}
	return scale, bias, buf, nil
}

// buildInstanceNorm prepares InstanceNormalization (opsets 1, 6, 22): each
// [n, c] plane normalized by its own mean and variance, then scaled and
// shifted per channel.
// https://onnx.ai/onnx/operators/onnx__InstanceNormalization.html
func buildInstanceNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	n.Ignore("consumed_inputs")
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0, 1, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 2 {
			return nil, n.Errorf("input shape %v: need [N, C, ...]", x.Shape)
		}
		c := x.Shape[1]
		scale, bias, buf, err := nmScaleBias(n, in)
		if err != nil {
			return nil, err
		}
		defer nmScratch.put(buf)
		if len(scale) != c || len(bias) != c {
			return nil, n.Errorf("scale %v and bias %v must have %d values", in[1].Shape, in[2].Shape, c)
		}
		inner := prodInts(x.Shape[2:])
		coef := nmCoef{mod: c, mul: 1}
		y, err := nmFloatRun(ctx, n, x, func(xd, yd any) error {
			if inner == 0 {
				return nil
			}
			switch xs := xd.(type) {
			case []float32:
				nmGroups(xs, yd.([]float32), x.Shape[0]*c, inner, inner, float64(eps), scale, bias, coef, cvThreads(ctx))
			case []float64:
				nmGroups(xs, yd.([]float64), x.Shape[0]*c, inner, inner, float64(eps), scale, bias, coef, cvThreads(ctx))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return ctx.Out(y), nil
	}), nil
}

// buildGroupNorm prepares GroupNormalization (opsets 18, 21): the channels
// split into num_groups groups, each [n, group] block normalized by its own
// mean and variance, then scaled and shifted per channel (opset 21) or per
// group (opset 18).
// https://onnx.ai/onnx/operators/onnx__GroupNormalization.html
func buildGroupNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	ng, err := n.Int("num_groups", 0)
	if err != nil {
		return nil, err
	}
	if !n.Has("num_groups") || ng < 1 {
		return nil, n.Errorf("num_groups must be given and positive")
	}
	if n.Opset >= 21 {
		st, err := n.Int("stash_type", 1)
		if err != nil {
			return nil, err
		}
		if st != 1 {
			return nil, n.Unsupported("stash_type %d", st)
		}
	}
	perGroup := n.Opset < 21
	groups := int(ng)
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0, 1, 2); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 2 {
			return nil, n.Errorf("input shape %v: need [N, C, ...]", x.Shape)
		}
		c := x.Shape[1]
		if c%groups != 0 {
			return nil, n.Errorf("%d channels do not split into %d groups", c, groups)
		}
		scale, bias, buf, err := nmScaleBias(n, in)
		if err != nil {
			return nil, err
		}
		defer nmScratch.put(buf)
		want := c
		if perGroup {
			want = groups
		}
		if len(scale) != want || len(bias) != want {
			return nil, n.Errorf("scale %v and bias %v must have %d values", in[1].Shape, in[2].Shape, want)
		}
		inner := prodInts(x.Shape[2:])
		cpg := c / groups
		coef := nmCoef{mod: groups, mul: cpg, chMul: 1}
		if perGroup {
			coef = nmCoef{mod: groups, mul: 1}
		}
		y, err := nmFloatRun(ctx, n, x, func(xd, yd any) error {
			if inner == 0 {
				return nil
			}
			switch xs := xd.(type) {
			case []float32:
				nmGroups(xs, yd.([]float32), x.Shape[0]*groups, cpg*inner, inner, float64(eps), scale, bias, coef, cvThreads(ctx))
			case []float64:
				nmGroups(xs, yd.([]float64), x.Shape[0]*groups, cpg*inner, inner, float64(eps), scale, bias, coef, cvThreads(ctx))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return ctx.Out(y), nil
	}), nil
}

// nmExpand materializes params of shape from, broadcast (unidirectionally)
// to shape to; it returns nil when they do not broadcast.
func nmExpand(p []float64, from, to []int) []float64 {
	if len(from) > len(to) {
		// Leading ones may be dropped.
		for len(from) > len(to) && from[0] == 1 {
			from = from[1:]
		}
		if len(from) > len(to) {
			return nil
		}
	}
	off := len(to) - len(from)
	size := prodInts(to)
	if len(p) == size {
		same := true
		for i, d := range from {
			if d != to[off+i] {
				same = false
			}
		}
		if same {
			return p
		}
	}
	strides := make([]int, len(to))
	st := 1
	for i := len(from) - 1; i >= 0; i-- {
		d := from[i]
		if d != 1 && d != to[off+i] {
			return nil
		}
		if d != 1 {
			strides[off+i] = st
		}
		st *= d
	}
	out := make([]float64, size)
	idx := make([]int, len(to))
	for i := range out {
		o := 0
		for d, v := range idx {
			o += v * strides[d]
		}
		out[i] = p[o]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			if idx[d] < to[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// buildLayerNorm prepares LayerNormalization (opset 17): every slice
// X[i0..i(axis-1), :, ..., :] normalized by its own mean and variance,
// then multiplied by Scale and shifted by B, both broadcast to
// X.shape[axis:]. The optional outputs Mean and InvStdDev (float32) keep
// X's leading axes and have size 1 on the normalized ones.
// https://onnx.ai/onnx/operators/onnx__LayerNormalization.html
func buildLayerNorm(n *Node) (Kernel, error) {
	eps, err := n.Float("epsilon", 1e-5)
	if err != nil {
		return nil, err
	}
	axis64, err := n.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	st, err := n.Int("stash_type", 1)
	if err != nil {
		return nil, err
	}
	if st != 1 {
		return nil, n.Unsupported("stash_type %d", st)
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0, 1); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Shape)
		axis := int(axis64)
		if axis < 0 {
			axis += r
		}
		if axis < 0 || axis >= r {
			return nil, n.Errorf("axis %d out of range for input shape %v", axis64, x.Shape)
		}
		outer := prodInts(x.Shape[:axis])
		block := prodInts(x.Shape[axis:])
		hasBias := len(in) > 2 && in[2] != nil
		ls, lb := in[1].Len(), 0
		if hasBias {
			lb = in[2].Len()
		}
		buf := nmScratch.get(ls + lb)
		defer nmScratch.put(buf)
		scale := (*buf)[:ls]
		if err := nmFloatsTo(n, in[1], "scale", scale); err != nil {
			return nil, err
		}
		if scale = nmExpand(scale, in[1].Shape, x.Shape[axis:]); scale == nil {
			return nil, n.Errorf("scale shape %v does not broadcast to %v", in[1].Shape, x.Shape[axis:])
		}
		var bias []float64
		if hasBias {
			b := (*buf)[ls:]
			if err := nmFloatsTo(n, in[2], "bias", b); err != nil {
				return nil, err
			}
			if bias = nmExpand(b, in[2].Shape, x.Shape[axis:]); bias == nil {
				return nil, n.Errorf("bias shape %v does not broadcast to %v", in[2].Shape, x.Shape[axis:])
			}
		}
		var meanT, invT *tensor.Tensor
		var means, invs []float32
		if n.HasOutput(1) || n.HasOutput(2) {
			// X's shape with ones on the normalized axes, on the stack
			// up to MaxDims dimensions.
			var statBuf [MaxDims]int
			statShape := statBuf[:0]
			if r > MaxDims {
				statShape = make([]int, 0, r)
			}
			statShape = append(statShape, x.Shape...)
			for i := axis; i < r; i++ {
				statShape[i] = 1
			}
			if n.HasOutput(1) {
				meanT = ctx.New(tensor.Float32, statShape...)
				means = meanT.Data.([]float32)
			}
			if n.HasOutput(2) {
				invT = ctx.New(tensor.Float32, statShape...)
				invs = invT.Data.([]float32)
			}
		}
		y, err := nmFloatRun(ctx, n, x, func(xd, yd any) error {
			if block == 0 {
				return nil
			}
			switch xs := xd.(type) {
			case []float32:
				layerNormRows(xs, yd.([]float32), outer, block, float64(eps), scale, bias, means, invs, cvThreads(ctx))
			case []float64:
				layerNormRows(xs, yd.([]float64), outer, block, float64(eps), scale, bias, means, invs, cvThreads(ctx))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return ctx.Out(y, meanT, invT), nil
	}), nil
}

func layerNormRows[T cvFloat](x, y []T, rows, block int, eps float64, scale, bias []float64, means, invs []float32, threads int) {
	j := takeJob[layerNormJob[T], T](&layerNormJobs)
	*j = layerNormJob[T]{x: x, y: y, block: block, eps: eps, scale: scale, bias: bias, means: means, invs: invs}
	parallel.Do(rows, max(1, (1<<15)/max(block, 1)), threads, j)
	dropJob[T](&layerNormJobs, j)
}

// layerNormJob is layerNormRows' loop over rows.
type layerNormJob[T cvFloat] struct {
	x, y        []T
	block       int
	eps         float64
	scale, bias []float64
	means, invs []float32
}

var layerNormJobs kindJobPool

func (j *layerNormJob[T]) Range(lo, hi int) {
	block, scale, bias := j.block, j.scale, j.bias
	for r := lo; r < hi; r++ {
		xs := j.x[r*block : (r+1)*block]
		ys := j.y[r*block : (r+1)*block]
		mean, inv := nmStats(xs, j.eps)
		if j.means != nil {
			j.means[r] = float32(mean)
		}
		if j.invs != nil {
			j.invs[r] = float32(inv)
		}
		for i, v := range xs {
			t := (float64(v) - mean) * inv * scale[i]
			if bias != nil {
				t += bias[i]
			}
			ys[i] = T(t)
		}
	}
}

// nmSplit returns the [outer, size, inner] view of shape around axis.
func nmSplit(shape []int, axis int) (outer, size, inner int) {
	return prodInts(shape[:axis]), shape[axis], prodInts(shape[axis+1:])
}

// buildLpNorm prepares LpNormalization (opsets 1, 22): x divided by its L1
// or L2 norm along axis; a slice whose norm is 0 stays 0 (conformance case
// test_l2normalization_axis_0 expects that).
// https://onnx.ai/onnx/operators/onnx__LpNormalization.html
func buildLpNorm(n *Node) (Kernel, error) {
	axis64, err := n.Int("axis", -1)
	if err != nil {
		return nil, err
	}
	p, err := n.Int("p", 2)
	if err != nil {
		return nil, err
	}
	if p != 1 && p != 2 {
		return nil, n.Errorf("p %d is not 1 or 2", p)
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0); err != nil {
			return nil, err
		}
		x := in[0]
		axis := int(axis64)
		if axis < 0 {
			axis += len(x.Shape)
		}
		if axis < 0 || axis >= len(x.Shape) {
			return nil, n.Errorf("axis %d out of range for input shape %v", axis64, x.Shape)
		}
		outer, size, inner := nmSplit(x.Shape, axis)
		y, err := nmFloatRun(ctx, n, x, func(xd, yd any) error {
			switch xs := xd.(type) {
			case []float32:
				lpNormT(xs, yd.([]float32), outer, size, inner, p == 2)
			case []float64:
				lpNormT(xs, yd.([]float64), outer, size, inner, p == 2)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return ctx.Out(y), nil
	}), nil
}

func lpNormT[T cvFloat](x, y []T, outer, size, inner int, l2 bool) {
	for o := 0; o < outer; o++ {
		base := o * size * inner
		for i := 0; i < inner; i++ {
			var s float64
			for j := 0; j < size; j++ {
				v := float64(x[base+j*inner+i])
				if l2 {
					s += v * v
				} else {
					s += math.Abs(v)
				}
			}
			if l2 {
				s = math.Sqrt(s)
			}
			for j := 0; j < size; j++ {
				k := base + j*inner + i
				if s == 0 {
					y[k] = 0 // an all-zero slice stays zero
				} else {
					y[k] = T(float64(x[k]) / s)
				}
			}
		}
	}
}

// buildLRN prepares LRN (opsets 1, 13): local response normalization across
// channels, y = x / (bias + alpha/size * sum of x^2 over the channels
// c-floor((size-1)/2) .. c+ceil((size-1)/2))^beta.
// https://onnx.ai/onnx/operators/onnx__LRN.html
func buildLRN(n *Node) (Kernel, error) {
	alpha, err := n.Float("alpha", 1e-4)
	if err != nil {
		return nil, err
	}
	beta, err := n.Float("beta", 0.75)
	if err != nil {
		return nil, err
	}
	bias, err := n.Float("bias", 1)
	if err != nil {
		return nil, err
	}
	size, err := n.Int("size", 0)
	if err != nil {
		return nil, err
	}
	if size < 1 {
		return nil, n.Errorf("size must be given and positive")
	}
	lo, hi := int((size-1)/2), int(size/2) // channels before and after c
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0); err != nil {
			return nil, err
		}
		x := in[0]
		if len(x.Shape) < 2 {
			return nil, n.Errorf("input shape %v: need [N, C, ...]", x.Shape)
		}
		batch, c := x.Shape[0], x.Shape[1]
		inner := prodInts(x.Shape[2:])
		coef := float64(alpha) / float64(size)
		y, err := nmFloatRun(ctx, n, x, func(xd, yd any) error {
			switch xs := xd.(type) {
			case []float32:
				lrnT(xs, yd.([]float32), batch, c, inner, lo, hi, coef, float64(bias), float64(beta), cvThreads(ctx))
			case []float64:
				lrnT(xs, yd.([]float64), batch, c, inner, lo, hi, coef, float64(bias), float64(beta), cvThreads(ctx))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return ctx.Out(y), nil
	}), nil
}

func lrnT[T cvFloat](x, y []T, batch, c, inner, before, after int, coef, bias, beta float64, threads int) {
	j := takeJob[lrnJob[T], T](&lrnJobs)
	*j = lrnJob[T]{x: x, y: y, c: c, inner: inner, before: before, after: after, coef: coef, bias: bias, beta: beta}
	parallel.Do(batch*c, max(1, (1<<14)/max(inner*(before+after+1), 1)), threads, j)
	dropJob[T](&lrnJobs, j)
}

// lrnJob is lrnT's loop over [batch*c] planes.
type lrnJob[T cvFloat] struct {
	x, y                    []T
	c, inner, before, after int
	coef, bias, beta        float64
}

var lrnJobs kindJobPool

func (j *lrnJob[T]) Range(p0, p1 int) {
	x, y, c, inner := j.x, j.y, j.c, j.inner
	buf := nmScratch.get(inner)
	defer nmScratch.put(buf)
	sum := *buf
	for p := p0; p < p1; p++ {
		img, ch := p/c, p%c
		clear(sum)
		for k := max(0, ch-j.before); k <= min(c-1, ch+j.after); k++ {
			src := x[(img*c+k)*inner : (img*c+k+1)*inner]
			for i, v := range src {
				f := float64(v)
				sum[i] += f * f
			}
		}
		xs := x[p*inner : (p+1)*inner]
		ys := y[p*inner : (p+1)*inner]
		for i, v := range xs {
			ys[i] = T(float64(v) / math.Pow(j.bias+j.coef*sum[i], j.beta))
		}
	}
}

// buildMVN prepares MeanVarianceNormalization (opsets 9, 13):
// (X - mean) / (sqrt(variance) + 1e-9) with mean and variance taken over
// axes (default [0, 2, 3]).
// https://onnx.ai/onnx/operators/onnx__MeanVarianceNormalization.html
func buildMVN(n *Node) (Kernel, error) {
	axes64, err := n.Ints("axes", []int64{0, 2, 3})
	if err != nil {
		return nil, err
	}
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if err := cvCheck(n, in, 0); err != nil {
			return nil, err
		}
		x := in[0]
		r := len(x.Shape)
		reduced := make([]bool, r)
		for _, a := range axes64 {
			ax := int(a)
			if ax < 0 {
				ax += r
			}
			if ax < 0 || ax >= r {
				return nil, n.Errorf("axis %d out of range for input shape %v", a, x.Shape)
			}
			reduced[ax] = true
		}
		y, err := nmFloatRun(ctx, n, x, func(xd, yd any) error {
			switch xs := xd.(type) {
			case []float32:
				mvnT(xs, yd.([]float32), x.Shape, reduced)
			case []float64:
				mvnT(xs, yd.([]float64), x.Shape, reduced)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return ctx.Out(y), nil
	}), nil
}

// mvnT normalizes x over the reduced axes. Each element belongs to the
// group given by its indices on the kept axes; per group, mean and variance
// are accumulated, then applied.
func mvnT[T cvFloat](x, y []T, shape []int, reduced []bool) {
	r := len(shape)
	keyStride := make([]int, r)
	groups := 1
	for i := r - 1; i >= 0; i-- {
		if !reduced[i] {
			keyStride[i] = groups
			groups *= shape[i]
		}
	}
	if len(x) == 0 {
		return
	}
	count := float64(len(x) / groups)
	sum := make([]float64, groups)
	sq := make([]float64, groups)
	keys := make([]int32, len(x))
	idx := make([]int, r)
	key := 0
	for i, v := range x {
		keys[i] = int32(key)
		sum[key] += float64(v)
		for d := r - 1; d >= 0; d-- {
			idx[d]++
			key += keyStride[d]
			if idx[d] < shape[d] {
				break
			}
			key -= keyStride[d] * shape[d]
			idx[d] = 0
		}
	}
	for g := range sum {
		sum[g] /= count
	}
	for i, v := range x {
		d := float64(v) - sum[keys[i]]
		sq[keys[i]] += d * d
	}
	for g := range sq {
		sq[g] = math.Sqrt(sq[g]/count) + 1e-9
	}
	for i, v := range x {
		k := keys[i]
		y[i] = T((float64(v) - sum[k]) / sq[k])
	}
}
