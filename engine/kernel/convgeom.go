package kernel

import (
	"fmt"
)

// Geometry shared by the convolution and pooling operators: Conv,
// ConvTranspose, MaxPool, AveragePool, LpPool and the quantized convolutions
// (QLinearConv, ConvInteger, QLinearAveragePool) all describe their sliding
// window with the same attributes:
//
//	kernel_shape  window size per spatial axis (Conv may omit it: it is
//	              then W's trailing dimensions)
//	strides       step between windows, default 1
//	dilations     spacing between window taps, default 1; the window then
//	              spans (k-1)*d+1 input positions (its "extent")
//	pads          [x1_begin, x2_begin, ..., x1_end, x2_end, ...], default 0;
//	              only used when auto_pad is NOTSET
//	auto_pad      NOTSET (use pads), VALID (no padding), SAME_UPPER or
//	              SAME_LOWER (pad so that out = ceil(in/stride), any odd
//	              padding going at the end for SAME_UPPER, at the beginning
//	              for SAME_LOWER)
//	ceil_mode     pooling only: round the output size up instead of down
//
// The output size along one axis, with extent e = (k-1)*d+1, is:
//
//	NOTSET   floor((in + pad_begin + pad_end - e) / s) + 1
//	         (ceil instead of floor with ceil_mode; a last window that would
//	         start past the input and its begin padding is then dropped)
//	VALID    floor((in - e) / s) + 1
//	SAME_*   ceil(in / s), with total padding max(0, (out-1)*s + e - in)
//	         split as begin = total/2 (SAME_UPPER) or total - total/2
//	         (SAME_LOWER)
//
// Output position o along an axis reads input positions
// o*s - pad_begin + t*d for taps t = 0..k-1; positions outside [0, in) are
// padding. ConvTranspose inverts this mapping; see ResolveTranspose.

// AutoPad is the value of the auto_pad attribute.
type AutoPad int

// auto_pad values.
const (
	AutoPadNotSet AutoPad = iota
	AutoPadValid
	AutoPadSameUpper
	AutoPadSameLower
)

// String returns the attribute spelling.
func (a AutoPad) String() string {
	switch a {
	case AutoPadValid:
		return "VALID"
	case AutoPadSameUpper:
		return "SAME_UPPER"
	case AutoPadSameLower:
		return "SAME_LOWER"
	}
	return "NOTSET"
}

// WindowAttrs holds a convolution or pooling node's window attributes as
// written in the model, before they are applied to an input shape. Slices
// are nil when the attribute is absent.
type WindowAttrs struct {
	AutoPad   AutoPad
	Kernel    []int // kernel_shape
	Strides   []int
	Dilations []int
	Pads      []int // begins then ends
	CeilMode  bool
}

// WindowAttrOptions says which window attributes an operator at a given
// opset accepts besides kernel_shape, strides, pads and auto_pad.
type WindowAttrOptions struct {
	Dilations bool // Conv, ConvTranspose, MaxPool >= 10, AveragePool >= 19, LpPool >= 18
	CeilMode  bool // MaxPool >= 10, AveragePool >= 10, LpPool >= 18
	// KernelRequired makes a missing kernel_shape an error (pooling).
	KernelRequired bool
}

// ReadWindowAttrs reads auto_pad, kernel_shape, strides, pads and, as opt
// allows, dilations and ceil_mode from n, and checks that they are
// well-formed on their own (positive kernel, strides and dilations,
// non-negative pads, lengths that agree). Lengths are checked against the
// input's rank later, in Resolve. Attributes opt does not allow are left
// unread, so a node that carries them is refused as unsupported.
func ReadWindowAttrs(n *Node, opt WindowAttrOptions) (*WindowAttrs, error) {
	a := &WindowAttrs{}
	s, err := n.String("auto_pad", "NOTSET")
	if err != nil {
		return nil, err
	}
	switch s {
	case "NOTSET", "":
		a.AutoPad = AutoPadNotSet
	case "VALID":
		a.AutoPad = AutoPadValid
	case "SAME_UPPER":
		a.AutoPad = AutoPadSameUpper
	case "SAME_LOWER":
		a.AutoPad = AutoPadSameLower
	default:
		return nil, n.Errorf("auto_pad %q is not NOTSET, VALID, SAME_UPPER or SAME_LOWER", s)
	}
	ints := func(name string, min int) ([]int, error) {
		v, err := n.Ints(name, nil)
		if err != nil || v == nil {
			return nil, err
		}
		out := make([]int, len(v))
		for i, x := range v {
			if x < int64(min) || x > 1<<30 {
				return nil, n.Errorf("%s %v: value %d out of range", name, v, x)
			}
			out[i] = int(x)
		}
		return out, nil
	}
	if a.Kernel, err = ints("kernel_shape", 1); err != nil {
		return nil, err
	}
	if opt.KernelRequired && a.Kernel == nil {
		return nil, n.Errorf("missing kernel_shape")
	}
	if a.Strides, err = ints("strides", 1); err != nil {
		return nil, err
	}
	if a.Pads, err = ints("pads", 0); err != nil {
		return nil, err
	}
	if len(a.Pads)%2 != 0 {
		return nil, n.Errorf("pads %v has an odd length", a.Pads)
	}
	if opt.Dilations {
		if a.Dilations, err = ints("dilations", 1); err != nil {
			return nil, err
		}
	}
	if opt.CeilMode {
		c, err := n.Int("ceil_mode", 0)
		if err != nil {
			return nil, err
		}
		a.CeilMode = c != 0
	}
	return a, nil
}

// Window is a window geometry resolved against one input: everything a
// kernel needs to walk the windows of a convolution or pooling. Sizes are
// per spatial axis, outermost first.
type Window struct {
	In, Out   []int // spatial sizes of the input and the output
	Kernel    []int
	Strides   []int
	Dilations []int
	PadBegin  []int // padding before the input (may exceed the kernel's reach)
	PadEnd    []int // padding after the input, as given or derived (for counting)
}

// Rank returns the number of spatial axes.
func (w *Window) Rank() int { return len(w.In) }

// InSize returns the number of input positions per channel.
func (w *Window) InSize() int { return prodInts(w.In) }

// OutSize returns the number of output positions per channel.
func (w *Window) OutSize() int { return prodInts(w.Out) }

// KernelSize returns the number of taps in one window.
func (w *Window) KernelSize() int { return prodInts(w.Kernel) }

// IsPointwise reports whether the window is a single tap with unit stride
// and no padding, so that the output equals the input position by position
// (a 1x1 convolution is then a plain matrix product).
func (w *Window) IsPointwise() bool {
	for i := range w.In {
		if w.Kernel[i] != 1 || w.Strides[i] != 1 || w.PadBegin[i] != 0 || w.Out[i] != w.In[i] {
			return false
		}
	}
	return true
}

// Extent returns the number of input positions axis i's window spans.
func (w *Window) Extent(i int) int { return (w.Kernel[i]-1)*w.Dilations[i] + 1 }

func prodInts(s []int) int {
	p := 1
	for _, v := range s {
		p *= v
	}
	return p
}

// fillDefaults returns the attribute lists for rank spatial axes, with the
// defaults for absent ones. kernel is used when kernel_shape is absent.
func (a *WindowAttrs) fillDefaults(rank int, kernel []int) (k, s, d, pads []int, err error) {
	k = a.Kernel
	if k == nil {
		k = kernel
	}
	if len(k) != rank {
		return nil, nil, nil, nil, fmt.Errorf("kernel_shape %v does not have %d spatial axes", k, rank)
	}
	ones := func(v []int, name string) ([]int, error) {
		if v == nil {
			v = make([]int, rank)
			for i := range v {
				v[i] = 1
			}
			return v, nil
		}
		if len(v) != rank {
			return nil, fmt.Errorf("%s %v does not have %d spatial axes", name, v, rank)
		}
		return v, nil
	}
	if s, err = ones(a.Strides, "strides"); err != nil {
		return
	}
	if d, err = ones(a.Dilations, "dilations"); err != nil {
		return
	}
	pads = a.Pads
	if pads == nil {
		pads = make([]int, 2*rank)
	} else if len(pads) != 2*rank {
		return nil, nil, nil, nil, fmt.Errorf("pads %v does not have 2x%d values", pads, rank)
	}
	return k, s, d, pads, nil
}

// Resolve applies the attributes to an input of the given spatial shape.
// kernel gives the window size when kernel_shape is absent (Conv: W's
// trailing dimensions). It returns an error when the attributes do not fit
// the input or the output would be empty.
func (a *WindowAttrs) Resolve(in []int, kernel []int) (*Window, error) {
	rank := len(in)
	k, s, d, pads, err := a.fillDefaults(rank, kernel)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	w := &Window{
		In: append([]int(nil), in...), Out: make([]int, rank),
		Kernel: k, Strides: s, Dilations: d,
		PadBegin: make([]int, rank), PadEnd: make([]int, rank),
	}
	for i := 0; i < rank; i++ {
		ext := (k[i]-1)*d[i] + 1
		switch a.AutoPad {
		case AutoPadNotSet:
			w.PadBegin[i], w.PadEnd[i] = pads[i], pads[rank+i]
			span := in[i] + pads[i] + pads[rank+i] - ext
			if span < 0 {
				return nil, fmt.Errorf("kernel: window extent %d exceeds padded input %d on spatial axis %d", ext, in[i]+pads[i]+pads[rank+i], i)
			}
			out := span/s[i] + 1
			if a.CeilMode {
				out = (span+s[i]-1)/s[i] + 1
				// The last window must start inside the input or its begin padding.
				if (out-1)*s[i] >= in[i]+pads[i] {
					out--
				}
			}
			w.Out[i] = out
		case AutoPadValid:
			if in[i] < ext {
				return nil, fmt.Errorf("kernel: window extent %d exceeds input %d on spatial axis %d", ext, in[i], i)
			}
			w.Out[i] = (in[i]-ext)/s[i] + 1
		case AutoPadSameUpper, AutoPadSameLower:
			out := (in[i] + s[i] - 1) / s[i]
			total := max(0, (out-1)*s[i]+ext-in[i])
			if a.AutoPad == AutoPadSameUpper {
				w.PadBegin[i] = total / 2
			} else {
				w.PadBegin[i] = total - total/2
			}
			w.PadEnd[i] = total - w.PadBegin[i]
			w.Out[i] = out
		}
		if w.Out[i] <= 0 && in[i] > 0 {
			return nil, fmt.Errorf("kernel: empty output on spatial axis %d (input %d, window %d, stride %d)", i, in[i], ext, s[i])
		}
		if w.Out[i] < 0 {
			w.Out[i] = 0
		}
	}
	return w, nil
}

// TransposeAttrs adds ConvTranspose's own attributes to the window ones.
type TransposeAttrs struct {
	WindowAttrs
	OutputPadding []int // output_padding, nil when absent
	OutputShape   []int // output_shape (spatial axes, or all axes), nil when absent
}

// ReadTransposeAttrs reads ConvTranspose's attributes.
func ReadTransposeAttrs(n *Node) (*TransposeAttrs, error) {
	w, err := ReadWindowAttrs(n, WindowAttrOptions{Dilations: true})
	if err != nil {
		return nil, err
	}
	t := &TransposeAttrs{WindowAttrs: *w}
	for _, name := range []string{"output_padding", "output_shape"} {
		v, err := n.Ints(name, nil)
		if err != nil {
			return nil, err
		}
		if v == nil {
			continue
		}
		out := make([]int, len(v))
		for i, x := range v {
			if x < 0 || x > 1<<30 {
				return nil, n.Errorf("%s %v: value %d out of range", name, v, x)
			}
			out[i] = int(x)
		}
		if name == "output_padding" {
			t.OutputPadding = out
		} else {
			t.OutputShape = out
		}
	}
	return t, nil
}

// ResolveTranspose applies ConvTranspose's attributes to an input of the
// given spatial shape. In the returned Window, In is ConvTranspose's output
// and Out its input: input position i, tap t lands on output position
// i*s - pad_begin + t*d, the same relation a convolution from the larger
// tensor to the smaller one would use. The output size per axis is
//
//	s*(in-1) + output_padding + (k-1)*d + 1 - pad_begin - pad_end
//
// where, when output_shape is given (or auto_pad is SAME_*, which asks for
// out = in*s), the pads are derived from the requested size: total =
// s*(in-1) + output_padding + (k-1)*d + 1 - out, split as begin = total/2
// for SAME_UPPER and total - total/2 otherwise (the spec's equations). A
// negative total (an output larger than the input covers) keeps begin at 0
// and extends the output at the end with values no input reaches, as the
// ONNX reference implementation and conformance data do.
func (t *TransposeAttrs) ResolveTranspose(in []int, kernel []int) (*Window, error) {
	rank := len(in)
	k, s, d, pads, err := t.fillDefaults(rank, kernel)
	if err != nil {
		return nil, fmt.Errorf("kernel: %w", err)
	}
	op := t.OutputPadding
	if op == nil {
		op = make([]int, rank)
	} else if len(op) != rank {
		return nil, fmt.Errorf("kernel: output_padding %v does not have %d spatial axes", op, rank)
	}
	want := t.OutputShape
	if want != nil && len(want) == rank+2 {
		want = want[2:]
	}
	if want != nil && len(want) != rank {
		return nil, fmt.Errorf("kernel: output_shape %v does not have %d spatial axes", t.OutputShape, rank)
	}
	w := &Window{
		In: make([]int, rank), Out: append([]int(nil), in...),
		Kernel: k, Strides: s, Dilations: d,
		PadBegin: make([]int, rank), PadEnd: make([]int, rank),
	}
	for i := 0; i < rank; i++ {
		full := s[i]*(in[i]-1) + op[i] + (k[i]-1)*d[i] + 1
		target := -1
		switch {
		case want != nil:
			target = want[i]
		case t.AutoPad == AutoPadSameUpper || t.AutoPad == AutoPadSameLower:
			target = in[i] * s[i]
		}
		if target >= 0 {
			total := full - target
			switch {
			case total < 0:
				w.PadBegin[i] = 0
			case t.AutoPad == AutoPadSameUpper:
				w.PadBegin[i] = total / 2
			default:
				w.PadBegin[i] = total - total/2
			}
			w.PadEnd[i] = total - w.PadBegin[i]
			w.In[i] = target
			continue
		}
		if t.AutoPad == AutoPadNotSet {
			w.PadBegin[i], w.PadEnd[i] = pads[i], pads[rank+i]
		}
		w.In[i] = full - w.PadBegin[i] - w.PadEnd[i]
		if w.In[i] < 0 {
			return nil, fmt.Errorf("kernel: pads %v leave a negative output size on spatial axis %d", pads, i)
		}
	}
	return w, nil
}
