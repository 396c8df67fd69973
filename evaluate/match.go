package evaluate

import (
	"fmt"
	"regexp"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/tensor"
)

// qparams are the scale and zero point that map an 8-bit (or int32)
// tensor back to real values: real = scale * (q - zero_point), per tensor
// (Axis -1) or per channel along Axis.
type qparams struct {
	Scale     []float32
	ZeroPoint []int32
	Axis      int
}

// perChannel reports whether p has one scale per channel.
func (p *qparams) perChannel() bool { return len(p.Scale) > 1 }

// qsig describes where an operator of the quantized graph takes its
// quantized operands' scales and zero points: triplets of input positions
// (value, scale, zero point; -1 for an absent zero point), and the
// positions of output 0's scale and zero point (-1 when it has none).
type qsig struct {
	in       [][3]int
	outScale int
	outZP    int
	// concat marks com.microsoft QLinearConcat: Y_scale, Y_zero_point,
	// then (value, scale, zero point) triplets.
	concat bool
}

// qsigs lists the operators whose quantization parameters are inputs,
// keyed by domain ("" for ai.onnx) and op type.
var qsigs = map[string]qsig{
	":QuantizeLinear":                        {outScale: 1, outZP: 2},
	":DequantizeLinear":                      {in: [][3]int{{0, 1, 2}}, outScale: -1, outZP: -1},
	":QLinearConv":                           {in: [][3]int{{0, 1, 2}, {3, 4, 5}}, outScale: 6, outZP: 7},
	":QLinearMatMul":                         {in: [][3]int{{0, 1, 2}, {3, 4, 5}}, outScale: 6, outZP: 7},
	"com.microsoft:QuantizeLinear":           {outScale: 1, outZP: 2},
	"com.microsoft:DequantizeLinear":         {in: [][3]int{{0, 1, 2}}, outScale: -1, outZP: -1},
	"com.microsoft:QLinearConv":              {in: [][3]int{{0, 1, 2}, {3, 4, 5}}, outScale: 6, outZP: 7},
	"com.microsoft:QLinearAdd":               {in: [][3]int{{0, 1, 2}, {3, 4, 5}}, outScale: 6, outZP: 7},
	"com.microsoft:QLinearMul":               {in: [][3]int{{0, 1, 2}, {3, 4, 5}}, outScale: 6, outZP: 7},
	"com.microsoft:QLinearSigmoid":           {in: [][3]int{{0, 1, 2}}, outScale: 3, outZP: 4},
	"com.microsoft:QLinearLeakyRelu":         {in: [][3]int{{0, 1, 2}}, outScale: 3, outZP: 4},
	"com.microsoft:QLinearSoftmax":           {in: [][3]int{{0, 1, 2}}, outScale: 3, outZP: 4},
	"com.microsoft:QLinearAveragePool":       {in: [][3]int{{0, 1, 2}}, outScale: 3, outZP: 4},
	"com.microsoft:QLinearGlobalAveragePool": {in: [][3]int{{0, 1, 2}}, outScale: 3, outZP: 4},
	"com.microsoft:QGemm":                    {in: [][3]int{{0, 1, 2}, {3, 4, 5}}, outScale: 7, outZP: 8},
	"com.microsoft:QLinearConcat":            {outScale: 0, outZP: 1, concat: true},
}

func sigOf(n *graph.Node) (qsig, bool) {
	d := n.Domain()
	if d == "ai.onnx" {
		d = ""
	}
	s, ok := qsigs[d+":"+n.OpType()]
	return s, ok
}

// triplets returns n's (value, scale, zero point) input positions.
func (s qsig) triplets(n *graph.Node) [][3]int {
	if !s.concat {
		return s.in
	}
	var out [][3]int
	for i := 2; i+2 < n.NumInputs(); i += 3 {
		out = append(out, [3]int{i, i + 1, i + 2})
	}
	return out
}

// resolver finds the quantization parameters of values of a quantized
// graph.
type resolver struct {
	g     *graph.Graph
	cache map[string]*qparams
}

func newResolver(g *graph.Graph) *resolver {
	return &resolver{g: g, cache: map[string]*qparams{}}
}

// constParams reads a scale and an optional zero point that are constants
// of the graph.
func (r *resolver) constParams(scale, zp string, axis int) (*qparams, bool) {
	if scale == "" {
		return nil, false
	}
	st, ok := r.g.Constant(scale)
	if !ok || !st.DType.IsFloat() || st.Len() == 0 {
		return nil, false
	}
	s, err := tensor.Float32s(st)
	if err != nil {
		return nil, false
	}
	p := &qparams{Scale: append([]float32(nil), s...), ZeroPoint: make([]int32, len(s)), Axis: -1}
	if zp != "" {
		zt, ok := r.g.Constant(zp)
		if !ok || !zt.DType.IsInteger() {
			return nil, false
		}
		z, err := tensor.Int64s(zt)
		if err != nil {
			return nil, false
		}
		switch {
		case len(z) == len(s):
			for i, v := range z {
				p.ZeroPoint[i] = int32(v)
			}
		case len(z) == 1:
			for i := range p.ZeroPoint {
				p.ZeroPoint[i] = int32(z[0])
			}
		default:
			return nil, false
		}
	}
	if len(s) > 1 {
		p.Axis = axis
	}
	return p, true
}

// activation returns the parameters of the 8-bit activation q: from the
// node producing it, the nodes reading it, the data movement op it passed
// through unchanged, or the <base>_scale / <base>_zero_point constants, in
// that order. Only constant parameters count (not dynamic quantization's).
func (r *resolver) activation(q, base string) (*qparams, bool) {
	return r.activationDepth(q, base, 0)
}

func (r *resolver) activationDepth(q, base string, depth int) (*qparams, bool) {
	if p, ok := r.cache[q]; ok {
		return p, p != nil
	}
	p, ok := r.find(q, base, depth)
	if ok {
		r.cache[q] = p
	} else if depth == 0 {
		r.cache[q] = nil
	}
	return p, ok
}

func (r *resolver) find(q, base string, depth int) (*qparams, bool) {
	prod := r.g.Producer(q)
	if prod != nil {
		if s, ok := sigOf(prod); ok && s.outScale >= 0 && prod.Output(0) == q {
			zp := ""
			if s.outZP >= 0 {
				zp = prod.Input(s.outZP)
			}
			if p, ok := r.constParams(prod.Input(s.outScale), zp, 1); ok {
				return p, true
			}
		}
	}
	for _, c := range r.g.Consumers(q) {
		s, ok := sigOf(c)
		if !ok {
			continue
		}
		for _, tr := range s.triplets(c) {
			if c.Input(tr[0]) != q {
				continue
			}
			zp := ""
			if tr[2] >= 0 {
				zp = c.Input(tr[2])
			}
			axis := 1
			if c.OpType() == "DequantizeLinear" {
				axis = int(c.AttrInt("axis", 1))
			}
			if p, ok := r.constParams(c.Input(tr[1]), zp, axis); ok {
				return p, true
			}
		}
	}
	// A data movement op (MaxPool, Reshape, Transpose, ...) run on 8-bit
	// data keeps its input's parameters.
	if prod != nil && depth < 64 && prod.NumInputs() > 0 {
		if _, known := sigOf(prod); !known {
			in := prod.Input(0)
			if t, ok := r.g.Type(in); !ok || t.Elem == tensor.Uint8 || t.Elem == tensor.Int8 {
				if p, ok := r.activationDepth(in, "", depth+1); ok {
					return p, true
				}
			}
		}
	}
	if base != "" {
		if p, ok := r.constParams(base+"_scale", base+"_zero_point", 0); ok && !p.perChannel() {
			return p, true
		}
	}
	return nil, false
}

// weightUse is how an operator of the quantized graph reads a constant
// quantized weight: the positions of its scale and zero point, and the
// channel axis of per-channel parameters (-1: unknown; -2: the last axis).
type weightUse struct {
	scale, zp int
	axis      int
}

// weightUses maps domain:op and input position to how that input is read.
var weightUses = map[string]map[int]weightUse{
	":QLinearConv":              {0: {1, 2, -1}, 3: {4, 5, 0}},
	"com.microsoft:QLinearConv": {0: {1, 2, -1}, 3: {4, 5, 0}},
	":QLinearMatMul":            {0: {1, 2, -1}, 3: {4, 5, -2}},
	"com.microsoft:QGemm":       {0: {1, 2, -1}},
	"com.microsoft:QLinearAdd":  {0: {1, 2, -1}, 3: {4, 5, -1}},
	"com.microsoft:QLinearMul":  {0: {1, 2, -1}, 3: {4, 5, -1}},
	// ConvInteger and MatMulInteger take only zero points; the scale is
	// the <weight>_scale constant the rescaling Mul reads.
	":ConvInteger":   {1: {-1, 3, 0}},
	":MatMulInteger": {1: {-1, 3, -2}},
}

// weightParams returns the parameters of the quantized constant q (named
// after the float weight base) and the channel axis.
func (r *resolver) weightParams(q, base string, rank int) (*qparams, string, bool) {
	for _, c := range r.g.Consumers(q) {
		d := c.Domain()
		if d == "ai.onnx" {
			d = ""
		}
		key := d + ":" + c.OpType()
		for i, in := range c.Inputs() {
			if in != q {
				continue
			}
			switch {
			case c.OpType() == "DequantizeLinear" && i == 0:
				if p, ok := r.constParams(c.Input(1), c.Input(2), normAxis(int(c.AttrInt("axis", 1)), rank)); ok {
					return p, c.String(), true
				}
			case key == "com.microsoft:QGemm" && i == 3:
				axis := 1
				if c.AttrInt("transB", 0) != 0 {
					axis = 0
				}
				if p, ok := r.constParams(c.Input(4), c.Input(5), axis); ok {
					return p, c.String(), true
				}
			case (c.OpType() == "QLinearConv" && i == 8) || (key == "com.microsoft:QGemm" && i == 6):
				// An int32 bias: scale = input scale x weight scale(s).
				if p, ok := r.biasParams(c); ok {
					return p, c.String(), true
				}
			default:
				u, ok := weightUses[key][i]
				if !ok {
					continue
				}
				axis := u.axis
				if axis == -2 {
					axis = rank - 1
				}
				scale := base + "_scale"
				if u.scale >= 0 {
					scale = c.Input(u.scale)
				}
				if p, ok := r.constParams(scale, c.Input(u.zp), axis); ok {
					return p, c.String(), true
				}
			}
		}
	}
	// Otherwise the naming conventions: <quantized>_scale (a QDQ bias's
	// scale), then <weight>_scale and <weight>_zero_point.
	for _, stem := range []string{q, base} {
		zp := stem + "_zero_point"
		if _, ok := r.g.Constant(zp); !ok {
			zp = ""
		}
		if p, ok := r.constParams(stem+"_scale", zp, -1); ok {
			return p, "", true
		}
	}
	return nil, "", false
}

// biasParams computes the parameters of the int32 bias of a QLinearConv or
// QGemm: zero point 0, scale x_scale * w_scale per output channel.
func (r *resolver) biasParams(c *graph.Node) (*qparams, bool) {
	x, ok := r.constParams(c.Input(1), "", -1)
	if !ok || x.perChannel() {
		return nil, false
	}
	w, ok := r.constParams(c.Input(4), "", 0)
	if !ok {
		return nil, false
	}
	p := &qparams{Scale: make([]float32, len(w.Scale)), ZeroPoint: make([]int32, len(w.Scale)), Axis: -1}
	for i, s := range w.Scale {
		p.Scale[i] = x.Scale[0] * s
	}
	if len(p.Scale) > 1 {
		p.Axis = 0
	}
	return p, true
}

func normAxis(axis, rank int) int {
	if axis < 0 {
		axis += rank
	}
	return axis
}

// quantizedSuffix matches the names the quantizer gives quantized copies
// of a tensor: <name>_quantized, or <name>_quantized_N when the name was
// taken.
var quantizedSuffix = regexp.MustCompile(`_quantized(_[0-9]+)?$`)

// quantizedBase returns the float name a quantized tensor's name comes
// from, or "".
func quantizedBase(q string) string {
	loc := quantizedSuffix.FindStringIndex(q)
	if loc == nil {
		return ""
	}
	return q[:loc[0]]
}

// dequantize writes real values of the integer tensor q with parameters p
// into dst (grown as needed) and returns it.
func dequantize(q *tensor.Tensor, p *qparams, dst []float32) ([]float32, error) {
	n := q.Len()
	if cap(dst) < n {
		dst = make([]float32, n)
	}
	dst = dst[:n]
	inner, channels := n, 1
	if p.perChannel() {
		axis := p.Axis
		if axis < 0 || axis >= len(q.Shape) || q.Shape[axis] != len(p.Scale) {
			axis = -1
			for i, d := range q.Shape {
				if d == len(p.Scale) {
					axis = i
					break
				}
			}
			if axis < 0 {
				return nil, fmt.Errorf("evaluate: %d per-channel scales do not fit shape %v", len(p.Scale), q.Shape)
			}
		}
		channels = len(p.Scale)
		inner = tensor.NumElements(q.Shape[axis+1:])
	}
	ch := func(i int) int {
		if channels == 1 {
			return 0
		}
		return (i / inner) % channels
	}
	switch d := q.Data.(type) {
	case []uint8:
		for i, v := range d {
			c := ch(i)
			dst[i] = p.Scale[c] * float32(int32(v)-p.ZeroPoint[c])
		}
	case []int8:
		for i, v := range d {
			c := ch(i)
			dst[i] = p.Scale[c] * float32(int32(v)-p.ZeroPoint[c])
		}
	case []uint16:
		for i, v := range d {
			c := ch(i)
			dst[i] = p.Scale[c] * float32(int32(v)-p.ZeroPoint[c])
		}
	case []int16:
		for i, v := range d {
			c := ch(i)
			dst[i] = p.Scale[c] * float32(int32(v)-p.ZeroPoint[c])
		}
	case []int32:
		for i, v := range d {
			c := ch(i)
			dst[i] = p.Scale[c] * float32(v-p.ZeroPoint[c])
		}
	default:
		return nil, fmt.Errorf("evaluate: cannot dequantize a %v tensor", q.DType)
	}
	return dst, nil
}
