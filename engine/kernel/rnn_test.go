package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// rtRun prepares m in the engine and runs it on feeds.
func rtRun(m *onnxbuild.Model, feeds map[string]*tensor.Tensor) (map[string]*tensor.Tensor, error) {
	s, err := engine.New(m.M, engine.Options{Threads: 2})
	if err != nil {
		return nil, err
	}
	return s.Run(context.Background(), feeds)
}

// rtF32 makes a float32 tensor.
func rtF32(shape []int, v ...float32) *tensor.Tensor { return tensor.FromSlice(shape, v) }

// rtClose fails unless got is a float tensor of the given shape whose values
// are within tol (absolute) of want.
func rtClose(t *testing.T, what string, got *tensor.Tensor, shape []int, want []float64, tol float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s: missing", what)
		return
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
		t.Errorf("%s: shape %v, want %v", what, got.Shape, shape)
		return
	}
	g := rtFloats(got)
	for i := range want {
		if !(math.Abs(g[i]-want[i]) <= tol) {
			t.Errorf("%s[%d] = %.7g, want %.7g", what, i, g[i], want[i])
		}
	}
}

func rtFloats(t *tensor.Tensor) []float64 {
	out := make([]float64, t.Len())
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
	case []int64:
		for i, v := range d {
			out[i] = float64(v)
		}
	}
	return out
}

// rtNode describes one recurrent node of a test model: inputs by name (""
// for omitted ones) and attributes.
type rtNode struct {
	op      string
	inputs  []string
	outputs []string
	attrs   []*onnx.AttributeProto
}

// rtModel builds a one-node model whose graph inputs are feeds (their
// names, types and shapes) and whose outputs are the node's outputs.
func rtModel(opset int64, n rtNode, feeds map[string]*tensor.Tensor, inits map[string]*tensor.Tensor) *onnxbuild.Model {
	m := onnxbuild.New(opset)
	for _, name := range n.inputs {
		if name == "" {
			continue
		}
		if t, ok := inits[name]; ok {
			m.Init(name, t)
		} else if t, ok := feeds[name]; ok {
			m.Input(name, t.DType, t.Shape...)
		}
	}
	for _, name := range n.outputs {
		if name != "" {
			m.OutputNoShape(name, tensor.Float32)
		}
	}
	m.Node(n.op, n.inputs, n.outputs, n.attrs...)
	return m
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// TestRNNHandWorked checks one-unit RNN, GRU and LSTM nodes against the
// operators' equations worked out step by step in scalars.
func TestRNNHandWorked(t *testing.T) {
	xs := []float64{0.5, -1, 2}
	x := rtF32([]int{3, 1, 1}, 0.5, -1, 2)
	// RNN: w, r, wb, rb.
	const w, r, wb, rb = 0.8, 0.3, 0.25, -0.35
	rnnFwd := func(xs []float64, h float64) []float64 {
		out := make([]float64, len(xs))
		for i, v := range xs {
			h = math.Tanh(w*v + r*h + wb + rb)
			out[i] = h
		}
		return out
	}
	fwd := rnnFwd(xs, 0)
	rev := rnnFwd([]float64{2, -1, 0.5}, 0) // reverse: time 2 first
	rnnIn := map[string]*tensor.Tensor{
		"X": x, "W": rtF32([]int{1, 1, 1}, w), "R": rtF32([]int{1, 1, 1}, r),
		"B": rtF32([]int{1, 2}, wb, rb),
	}
	rnnBi := map[string]*tensor.Tensor{
		"X": x, "W": rtF32([]int{2, 1, 1}, w, w), "R": rtF32([]int{2, 1, 1}, r, r),
		"B": rtF32([]int{2, 2}, wb, rb, wb, rb),
	}
	// Batch of two: entry 1 has only its first step.
	x2 := rtF32([]int{3, 2, 1}, 0.5, 1.5, -1, 9, 2, 9)
	lens := tensor.FromSlice([]int{2}, []int32{3, 1})

	// LSTM with peepholes and an initial state.
	const (
		wi, wo, wf, wc = 0.6, -0.4, 0.3, 0.9
		ri, ro, rf, rc = 0.2, 0.5, -0.3, 0.7
		bi, bo, bf, bc = 0.1, -0.2, 0.4, 0.05
		pi, po, pf     = 0.3, -0.6, 0.2
		h0, c0         = 0.25, -0.5
	)
	type lstmOpt struct {
		peep, inputForget bool
		clip              float64
		f, g, hh          func(float64) float64
	}
	lstm := func(o lstmOpt) (ys []float64, h, c float64) {
		h, c = h0, c0
		cl := func(v float64) float64 {
			if o.clip > 0 {
				return math.Max(-o.clip, math.Min(o.clip, v))
			}
			return v
		}
		p := 0.0
		if o.peep {
			p = 1
		}
		for _, v := range xs {
			i := o.f(cl(wi*v + ri*h + p*pi*c + bi))
			f := o.f(cl(wf*v + rf*h + p*pf*c + bf))
			if o.inputForget {
				f = 1 - i
			}
			g := o.g(cl(wc*v + rc*h + bc))
			c = f*c + i*g
			ot := o.f(cl(wo*v + ro*h + p*po*c + bo))
			h = ot * o.hh(c)
			ys = append(ys, h)
		}
		return ys, h, c
	}
	lstmIn := map[string]*tensor.Tensor{
		"X": x, "W": rtF32([]int{1, 4, 1}, wi, wo, wf, wc), "R": rtF32([]int{1, 4, 1}, ri, ro, rf, rc),
		"B":  rtF32([]int{1, 8}, bi/2, bo/2, bf/2, bc/2, bi/2, bo/2, bf/2, bc/2),
		"h0": rtF32([]int{1, 1, 1}, h0), "c0": rtF32([]int{1, 1, 1}, c0),
		"P": rtF32([]int{1, 3}, pi, po, pf),
	}
	std := lstmOpt{f: sigmoid, g: math.Tanh, hh: math.Tanh}
	lstmPlain, lhPlain, lcPlain := lstm(std)
	withPeep := std
	withPeep.peep = true
	lstmPeep, lhPeep, lcPeep := lstm(withPeep)
	coupled := withPeep
	coupled.inputForget = true
	lstmCoupled, _, _ := lstm(coupled)
	clipped := std
	clipped.clip = 0.3
	lstmClipped, _, _ := lstm(clipped)
	softsign := func(v float64) float64 { return v / (1 + math.Abs(v)) }
	hardSig := func(v float64) float64 { return math.Max(0, math.Min(1, 0.3*v+0.4)) }
	custom := lstmOpt{f: hardSig, g: softsign, hh: func(v float64) float64 { return math.Max(0, v) }}
	lstmCustom, _, _ := lstm(custom)

	// GRU: z, r, h gates.
	const (
		wz, wr, wh    = 0.7, -0.5, 1.1
		rz, rr, rh    = 0.4, 0.6, -0.8
		wbz, wbr, wbh = 0.1, 0.2, -0.1
		rbz, rbr, rbh = -0.05, 0.15, 0.3
	)
	gru := func(lbr bool) []float64 {
		h := h0
		var ys []float64
		for _, v := range xs {
			z := sigmoid(wz*v + rz*h + wbz + rbz)
			rt := sigmoid(wr*v + rr*h + wbr + rbr)
			var ht float64
			if lbr {
				ht = math.Tanh(wh*v + rt*(rh*h+rbh) + wbh)
			} else {
				ht = math.Tanh(wh*v + rh*(rt*h) + rbh + wbh)
			}
			h = (1-z)*ht + z*h
			ys = append(ys, h)
		}
		return ys
	}
	gruIn := map[string]*tensor.Tensor{
		"X": x, "W": rtF32([]int{1, 3, 1}, wz, wr, wh), "R": rtF32([]int{1, 3, 1}, rz, rr, rh),
		"B":  rtF32([]int{1, 6}, wbz, wbr, wbh, rbz, rbr, rbh),
		"h0": rtF32([]int{1, 1, 1}, h0),
	}
	gru0, gru1 := gru(false), gru(true)

	i := onnxbuild.AttrInt
	s := onnxbuild.AttrString
	strs := func(name string, v ...string) *onnx.AttributeProto {
		a := &onnx.AttributeProto{Name: &name, Type: onnx.AttributeProto_STRINGS.Enum()}
		for _, x := range v {
			a.Strings = append(a.Strings, []byte(x))
		}
		return a
	}
	floats := func(name string, v ...float32) *onnx.AttributeProto {
		return &onnx.AttributeProto{Name: &name, Type: onnx.AttributeProto_FLOATS.Enum(), Floats: v}
	}
	last := func(v []float64) []float64 { return v[len(v)-1:] }
	cases := []struct {
		name  string
		node  rtNode
		feeds map[string]*tensor.Tensor
		want  map[string][]float64
		shape map[string][]int
	}{
		{"rnn forward", rtNode{"RNN", []string{"X", "W", "R", "B"}, []string{"Y", "Yh"}, []*onnx.AttributeProto{i("hidden_size", 1)}},
			rnnIn, map[string][]float64{"Y": fwd, "Yh": last(fwd)}, map[string][]int{"Y": {3, 1, 1, 1}, "Yh": {1, 1, 1}}},
		{"rnn reverse", rtNode{"RNN", []string{"X", "W", "R", "B"}, []string{"Y", "Yh"}, []*onnx.AttributeProto{s("direction", "reverse")}},
			rnnIn, map[string][]float64{"Y": {rev[2], rev[1], rev[0]}, "Yh": last(rev)}, map[string][]int{"Y": {3, 1, 1, 1}, "Yh": {1, 1, 1}}},
		{"rnn bidirectional", rtNode{"RNN", []string{"X", "W", "R", "B"}, []string{"Y", "Yh"}, []*onnx.AttributeProto{s("direction", "bidirectional"), i("hidden_size", 1)}},
			rnnBi, map[string][]float64{"Y": {fwd[0], rev[2], fwd[1], rev[1], fwd[2], rev[0]}, "Yh": {fwd[2], rev[2]}},
			map[string][]int{"Y": {3, 2, 1, 1}, "Yh": {2, 1, 1}}},
		{"rnn sequence_lens", rtNode{"RNN", []string{"X", "W", "R", "B", "L"}, []string{"Y", "Yh"}, []*onnx.AttributeProto{s("direction", "bidirectional")}},
			map[string]*tensor.Tensor{"X": x2, "W": rnnBi["W"], "R": rnnBi["R"], "B": rnnBi["B"], "L": lens},
			// Entry 1 sees only x=1.5: forward and reverse agree, later steps are zero.
			map[string][]float64{
				"Y": {
					fwd[0], rnnFwd([]float64{1.5}, 0)[0], rev[2], rnnFwd([]float64{1.5}, 0)[0],
					fwd[1], 0, rev[1], 0,
					fwd[2], 0, rev[0], 0},
				"Yh": {fwd[2], rnnFwd([]float64{1.5}, 0)[0], rev[2], rnnFwd([]float64{1.5}, 0)[0]},
			},
			map[string][]int{"Y": {3, 2, 2, 1}, "Yh": {2, 2, 1}}},
		{"lstm defaults", rtNode{"LSTM", []string{"X", "W", "R", "B", "", "h0", "c0"}, []string{"Y", "Yh", "Yc"}, []*onnx.AttributeProto{i("hidden_size", 1)}},
			lstmIn, map[string][]float64{"Y": lstmPlain, "Yh": {lhPlain}, "Yc": {lcPlain}}, map[string][]int{"Y": {3, 1, 1, 1}, "Yh": {1, 1, 1}, "Yc": {1, 1, 1}}},
		{"lstm peepholes", rtNode{"LSTM", []string{"X", "W", "R", "B", "", "h0", "c0", "P"}, []string{"Y", "Yh", "Yc"}, nil},
			lstmIn, map[string][]float64{"Y": lstmPeep, "Yh": {lhPeep}, "Yc": {lcPeep}}, map[string][]int{"Y": {3, 1, 1, 1}, "Yh": {1, 1, 1}, "Yc": {1, 1, 1}}},
		{"lstm input_forget", rtNode{"LSTM", []string{"X", "W", "R", "B", "", "h0", "c0", "P"}, []string{"Y"}, []*onnx.AttributeProto{i("input_forget", 1)}},
			lstmIn, map[string][]float64{"Y": lstmCoupled}, map[string][]int{"Y": {3, 1, 1, 1}}},
		{"lstm clip", rtNode{"LSTM", []string{"X", "W", "R", "B", "", "h0", "c0"}, []string{"Y"}, []*onnx.AttributeProto{onnxbuild.AttrFloat("clip", 0.3)}},
			lstmIn, map[string][]float64{"Y": lstmClipped}, map[string][]int{"Y": {3, 1, 1, 1}}},
		{"lstm activations", rtNode{"LSTM", []string{"X", "W", "R", "B", "", "h0", "c0"}, []string{"", "", "Yc"},
			[]*onnx.AttributeProto{strs("activations", "HardSigmoid", "softsign", "RELU"), floats("activation_alpha", 0.3), floats("activation_beta", 0.4)}},
			lstmIn, map[string][]float64{"Yc": {func() float64 { _, _, c := lstm(custom); return c }()}}, map[string][]int{"Yc": {1, 1, 1}}},
		{"lstm activations Y", rtNode{"LSTM", []string{"X", "W", "R", "B", "", "h0", "c0"}, []string{"Y"},
			[]*onnx.AttributeProto{strs("activations", "HardSigmoid", "Softsign", "Relu"), floats("activation_alpha", 0.3), floats("activation_beta", 0.4)}},
			lstmIn, map[string][]float64{"Y": lstmCustom}, map[string][]int{"Y": {3, 1, 1, 1}}},
		{"gru", rtNode{"GRU", []string{"X", "W", "R", "B", "", "h0"}, []string{"Y", "Yh"}, nil},
			gruIn, map[string][]float64{"Y": gru0, "Yh": last(gru0)}, map[string][]int{"Y": {3, 1, 1, 1}, "Yh": {1, 1, 1}}},
		{"gru linear_before_reset", rtNode{"GRU", []string{"X", "W", "R", "B", "", "h0"}, []string{"Y", "Yh"}, []*onnx.AttributeProto{i("linear_before_reset", 1)}},
			gruIn, map[string][]float64{"Y": gru1, "Yh": last(gru1)}, map[string][]int{"Y": {3, 1, 1, 1}, "Yh": {1, 1, 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			feeds := map[string]*tensor.Tensor{}
			for _, name := range c.node.inputs {
				if name != "" {
					feeds[name] = c.feeds[name]
				}
			}
			got, err := rtRun(rtModel(14, c.node, feeds, nil), feeds)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range c.want {
				rtClose(t, name, got[name], c.shape[name], want, 1e-6)
			}
		})
	}
}

// TestRNNActivations runs each activation function through a one-unit RNN
// with W = 1, R = 0 and no bias, so Y = f(X), against the functions'
// definitions evaluated by hand.
func TestRNNActivations(t *testing.T) {
	xs := []float32{-2, -0.5, 0, 0.5, 3}
	e := math.Exp
	cases := []struct {
		act             string
		alpha, beta     []float32
		want            []float64
		bidiSecond      string // second direction's function, for bidirectional cases
		wantSecond      []float64
		alphaSecond     bool
		wantUnsupported bool
	}{
		{act: "Tanh", want: []float64{math.Tanh(-2), math.Tanh(-0.5), 0, math.Tanh(0.5), math.Tanh(3)}},
		{act: "Sigmoid", want: []float64{1 / (1 + e(2)), 1 / (1 + e(0.5)), 0.5, 1 / (1 + e(-0.5)), 1 / (1 + e(-3))}},
		{act: "Relu", want: []float64{0, 0, 0, 0.5, 3}},
		{act: "LeakyRelu", want: []float64{-0.02, -0.005, 0, 0.5, 3}},
		{act: "LeakyRelu", alpha: []float32{0.5}, want: []float64{-1, -0.25, 0, 0.5, 3}},
		{act: "ThresholdedRelu", want: []float64{0, 0, 0, 0, 3}},
		{act: "ThresholdedRelu", alpha: []float32{0.25}, want: []float64{0, 0, 0, 0.5, 3}},
		{act: "HardSigmoid", want: []float64{0.1, 0.4, 0.5, 0.6, 1}},
		{act: "HardSigmoid", alpha: []float32{0.5}, beta: []float32{0.25}, want: []float64{0, 0, 0.25, 0.5, 1}},
		{act: "Affine", alpha: []float32{2}, beta: []float32{1}, want: []float64{-3, 0, 1, 2, 7}},
		{act: "ScaledTanh", alpha: []float32{2}, beta: []float32{0.5}, want: []float64{2 * math.Tanh(-1), 2 * math.Tanh(-0.25), 0, 2 * math.Tanh(0.25), 2 * math.Tanh(1.5)}},
		{act: "Elu", want: []float64{e(-2) - 1, e(-0.5) - 1, 0, 0.5, 3}},
		{act: "Elu", alpha: []float32{2}, want: []float64{2 * (e(-2) - 1), 2 * (e(-0.5) - 1), 0, 0.5, 3}},
		{act: "Softsign", want: []float64{-2.0 / 3, -1.0 / 3, 0, 1.0 / 3, 0.75}},
		{act: "Softplus", want: []float64{math.Log(1 + e(-2)), math.Log(1 + e(-0.5)), math.Log(2), math.Log(1 + e(0.5)), math.Log(1 + e(3))}},
		{act: "softplus", want: []float64{math.Log(1 + e(-2)), math.Log(1 + e(-0.5)), math.Log(2), math.Log(1 + e(0.5)), math.Log(1 + e(3))}},
		// Parameters go to the functions that take them, in order: Relu
		// takes none, so 0.5 is LeakyRelu's alpha.
		{act: "Relu", alpha: []float32{0.5}, want: []float64{0, 0, 0, 0.5, 3},
			bidiSecond: "LeakyRelu", wantSecond: []float64{-1, -0.25, 0, 0.5, 3}},
		{act: "Gelu", wantUnsupported: true},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s%v%v%s", c.act, c.alpha, c.beta, c.bidiSecond)
		t.Run(name, func(t *testing.T) {
			acts := []string{c.act}
			dirs := 1
			if c.bidiSecond != "" {
				acts = append(acts, c.bidiSecond)
				dirs = 2
			}
			names := "activations"
			attr := &onnx.AttributeProto{Name: &names, Type: onnx.AttributeProto_STRINGS.Enum()}
			for _, a := range acts {
				attr.Strings = append(attr.Strings, []byte(a))
			}
			attrs := []*onnx.AttributeProto{attr, onnxbuild.AttrInt("hidden_size", 1)}
			if c.alpha != nil {
				n := "activation_alpha"
				attrs = append(attrs, &onnx.AttributeProto{Name: &n, Type: onnx.AttributeProto_FLOATS.Enum(), Floats: c.alpha})
			}
			if c.beta != nil {
				n := "activation_beta"
				attrs = append(attrs, &onnx.AttributeProto{Name: &n, Type: onnx.AttributeProto_FLOATS.Enum(), Floats: c.beta})
			}
			if dirs == 2 {
				attrs = append(attrs, onnxbuild.AttrString("direction", "bidirectional"))
			}
			ones := make([]float32, dirs)
			for i := range ones {
				ones[i] = 1
			}
			feeds := map[string]*tensor.Tensor{
				"X": rtF32([]int{len(xs), 1, 1}, xs...), "W": rtF32([]int{dirs, 1, 1}, ones...),
				"R": rtF32([]int{dirs, 1, 1}, make([]float32, dirs)...),
			}
			got, err := rtRun(rtModel(14, rtNode{"RNN", []string{"X", "W", "R"}, []string{"Y"}, attrs}, feeds, nil), feeds)
			if c.wantUnsupported {
				if !errors.Is(err, kernel.ErrUnsupported) {
					t.Fatalf("got error %v, want unsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			if dirs == 2 {
				want = nil
				for i := range c.want {
					want = append(want, c.want[i], c.wantSecond[i])
				}
			}
			rtClose(t, "Y", got["Y"], []int{len(xs), dirs, 1, 1}, want, 1e-6)
		})
	}
}

// rtRandom returns n values uniform in [-s, s).
func rtRandom(rng *rand.Rand, n int, s float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = (rng.Float32()*2 - 1) * s
	}
	return v
}

// rtRecurrent describes a random recurrent node for the relation tests.
type rtRecurrent struct {
	op                      string
	dirs, seq, batch, in, h int
	attrs                   []*onnx.AttributeProto
}

// gates returns the number of gate blocks of the operator.
func (c rtRecurrent) gates() int {
	switch c.op {
	case "GRU":
		return 3
	case "LSTM":
		return 4
	}
	return 1
}

// feeds makes random inputs (layout 0) for every input of the operator,
// with varied sequence lengths.
func (c rtRecurrent) feeds(rng *rand.Rand) (map[string]*tensor.Tensor, []string) {
	g := c.gates()
	f := map[string]*tensor.Tensor{
		"X":  rtF32([]int{c.seq, c.batch, c.in}, rtRandom(rng, c.seq*c.batch*c.in, 1)...),
		"W":  rtF32([]int{c.dirs, g * c.h, c.in}, rtRandom(rng, c.dirs*g*c.h*c.in, 0.6)...),
		"R":  rtF32([]int{c.dirs, g * c.h, c.h}, rtRandom(rng, c.dirs*g*c.h*c.h, 0.6)...),
		"B":  rtF32([]int{c.dirs, 2 * g * c.h}, rtRandom(rng, c.dirs*2*g*c.h, 0.5)...),
		"h0": rtF32([]int{c.dirs, c.batch, c.h}, rtRandom(rng, c.dirs*c.batch*c.h, 0.5)...),
	}
	lens := make([]int32, c.batch)
	for b := range lens {
		lens[b] = int32(c.seq - b%c.seq)
	}
	f["L"] = tensor.FromSlice([]int{c.batch}, lens)
	names := []string{"X", "W", "R", "B", "L", "h0"}
	if c.op == "LSTM" {
		f["c0"] = rtF32([]int{c.dirs, c.batch, c.h}, rtRandom(rng, c.dirs*c.batch*c.h, 0.5)...)
		f["P"] = rtF32([]int{c.dirs, 3 * c.h}, rtRandom(rng, c.dirs*3*c.h, 0.5)...)
		names = append(names, "c0", "P")
	}
	return f, names
}

func (c rtRecurrent) outputs() []string {
	if c.op == "LSTM" {
		return []string{"Y", "Yh", "Yc"}
	}
	return []string{"Y", "Yh"}
}

// rtTranspose turns a layout-0 tensor into its layout-1 form: for rank 3
// (X and states) it swaps the first two axes; for rank 4 (Y) it turns
// [seq, dirs, batch, h] into [batch, seq, dirs, h].
func rtTranspose(t *tensor.Tensor) *tensor.Tensor {
	d := t.Data.([]float32)
	s := t.Shape
	if len(s) == 3 {
		out := make([]float32, len(d))
		for i := 0; i < s[0]; i++ {
			for j := 0; j < s[1]; j++ {
				copy(out[(j*s[0]+i)*s[2]:(j*s[0]+i+1)*s[2]], d[(i*s[1]+j)*s[2]:(i*s[1]+j+1)*s[2]])
			}
		}
		return rtF32([]int{s[1], s[0], s[2]}, out...)
	}
	seq, dirs, batch, h := s[0], s[1], s[2], s[3]
	out := make([]float32, len(d))
	for t := 0; t < seq; t++ {
		for k := 0; k < dirs; k++ {
			for b := 0; b < batch; b++ {
				copy(out[((b*seq+t)*dirs+k)*h:], d[((t*dirs+k)*batch+b)*h:((t*dirs+k)*batch+b+1)*h])
			}
		}
	}
	return rtF32([]int{batch, seq, dirs, h}, out...)
}

// TestRecurrentRelations checks paths that must agree with the plain
// layout-0 float32 run (itself checked by hand above, by ONNX's conformance
// cases and against ONNX Runtime): constant weights (packed at build time),
// layout 1, float64 and float16 inputs.
func TestRecurrentRelations(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []rtRecurrent{
		{op: "RNN", dirs: 2, seq: 4, batch: 3, in: 5, h: 7},
		{op: "GRU", dirs: 2, seq: 5, batch: 2, in: 3, h: 6},
		{op: "GRU", dirs: 1, seq: 3, batch: 4, in: 8, h: 5, attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("linear_before_reset", 1), onnxbuild.AttrString("direction", "reverse")}},
		{op: "LSTM", dirs: 2, seq: 6, batch: 3, in: 4, h: 9},
		{op: "LSTM", dirs: 1, seq: 2, batch: 5, in: 17, h: 33, attrs: []*onnx.AttributeProto{onnxbuild.AttrFloat("clip", 0.5)}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s_dirs%d_h%d", c.op, c.dirs, c.h), func(t *testing.T) {
			feeds, names := c.feeds(rng)
			attrs := append([]*onnx.AttributeProto{onnxbuild.AttrInt("hidden_size", int64(c.h))}, c.attrs...)
			if c.dirs == 2 {
				attrs = append(attrs, onnxbuild.AttrString("direction", "bidirectional"))
			}
			node := rtNode{c.op, names, c.outputs(), attrs}
			ref, err := rtRun(rtModel(14, node, feeds, nil), feeds)
			if err != nil {
				t.Fatal(err)
			}
			compare := func(what string, got map[string]*tensor.Tensor, tol float64, layout1 bool) {
				t.Helper()
				for _, o := range c.outputs() {
					want := ref[o]
					if layout1 {
						want = rtTranspose(want)
					}
					rtClose(t, what+" "+o, got[o], want.Shape, rtFloats(want), tol)
				}
			}
			// Constant W and R: packed once at build time.
			inits := map[string]*tensor.Tensor{"W": feeds["W"], "R": feeds["R"]}
			rest := map[string]*tensor.Tensor{}
			for k, v := range feeds {
				if k != "W" && k != "R" {
					rest[k] = v
				}
			}
			got, err := rtRun(rtModel(14, node, feeds, inits), rest)
			if err != nil {
				t.Fatal(err)
			}
			compare("constant weights", got, 1e-5, false)

			// Layout 1: X, states and outputs batch-major.
			l1 := map[string]*tensor.Tensor{}
			for k, v := range feeds {
				switch k {
				case "X", "h0", "c0":
					l1[k] = rtTranspose(v)
				default:
					l1[k] = v
				}
			}
			node1 := node
			node1.attrs = append(append([]*onnx.AttributeProto(nil), attrs...), onnxbuild.AttrInt("layout", 1))
			got, err = rtRun(rtModel(14, node1, l1, nil), l1)
			if err != nil {
				t.Fatal(err)
			}
			compare("layout 1", got, 1e-6, true)

			// float64 and float16.
			for _, dt := range []tensor.DataType{tensor.Float64, tensor.Float16} {
				conv := map[string]*tensor.Tensor{}
				for k, v := range feeds {
					if v.DType == tensor.Float32 {
						if v, err = tensor.Convert(v, dt); err != nil {
							t.Fatal(err)
						}
					}
					conv[k] = v
				}
				m := rtModel(14, node, conv, nil)
				for _, o := range m.M.Graph.Output {
					o.Type.GetTensorType().ElemType = proto32(int32(dt))
				}
				got, err := rtRun(m, conv)
				if err != nil {
					t.Fatal(err)
				}
				tol := 1e-5
				if dt == tensor.Float16 {
					tol = 2e-2 // inputs rounded to 11 bits
				}
				for o, v := range got {
					if v.DType != dt {
						t.Errorf("%v: output %s has type %v", dt, o, v.DType)
					}
				}
				compare(dt.String(), got, tol, false)
			}
		})
	}
}

func proto32(v int32) *int32 { return &v }

// TestRecurrentErrors checks that invalid nodes and inputs give errors (not
// panics), and unsupported ones ErrUnsupported.
func TestRecurrentErrors(t *testing.T) {
	x := rtF32([]int{2, 1, 3}, 1, 2, 3, 4, 5, 6)
	w := rtF32([]int{1, 4, 3}, make([]float32, 12)...)
	r := rtF32([]int{1, 4, 4}, make([]float32, 16)...)
	cases := []struct {
		name        string
		op          string
		feeds       map[string]*tensor.Tensor
		inputs      []string
		attrs       []*onnx.AttributeProto
		unsupported bool
		msg         string
	}{
		{name: "bad direction", op: "RNN", feeds: map[string]*tensor.Tensor{"X": x, "W": w, "R": r}, inputs: []string{"X", "W", "R"},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrString("direction", "sideways")}, msg: "direction"},
		{name: "bad layout", op: "RNN", feeds: map[string]*tensor.Tensor{"X": x, "W": w, "R": r}, inputs: []string{"X", "W", "R"},
			attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("layout", 2)}, msg: "layout"},
		{name: "W gate rows", op: "LSTM", feeds: map[string]*tensor.Tensor{"X": x, "W": rtF32([]int{1, 4, 3}, make([]float32, 12)...), "R": rtF32([]int{1, 4, 4}, make([]float32, 16)...)},
			inputs: []string{"X", "W", "R"}, msg: "W has shape"},
		{name: "X rank", op: "RNN", feeds: map[string]*tensor.Tensor{"X": rtF32([]int{2, 3}, 1, 2, 3, 4, 5, 6), "W": w, "R": r}, inputs: []string{"X", "W", "R"}, msg: "rank 3"},
		{name: "sequence_lens range", op: "RNN", feeds: map[string]*tensor.Tensor{"X": x, "W": w, "R": r, "L": tensor.FromSlice([]int{1}, []int32{3})},
			inputs: []string{"X", "W", "R", "", "L"}, attrs: []*onnx.AttributeProto{onnxbuild.AttrInt("hidden_size", 4)}, msg: "sequence_lens"},
		{name: "activation count", op: "GRU", feeds: map[string]*tensor.Tensor{"X": x, "W": w, "R": r}, inputs: []string{"X", "W", "R"},
			attrs: []*onnx.AttributeProto{{Name: pstr("activations"), Type: onnx.AttributeProto_STRINGS.Enum(), Strings: [][]byte{[]byte("Tanh")}}}, msg: "activations"},
		{name: "unknown activation", op: "LSTM", feeds: map[string]*tensor.Tensor{"X": x, "W": w, "R": r}, inputs: []string{"X", "W", "R"},
			attrs: []*onnx.AttributeProto{{Name: pstr("activations"), Type: onnx.AttributeProto_STRINGS.Enum(), Strings: [][]byte{[]byte("Sigmoid"), []byte("Swish"), []byte("Tanh")}}}, unsupported: true},
		{name: "type mix", op: "RNN", feeds: map[string]*tensor.Tensor{"X": x, "W": w, "R": tensor.FromSlice([]int{1, 4, 4}, make([]float64, 16))}, inputs: []string{"X", "W", "R"}, msg: "type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := rtRun(rtModel(14, rtNode{c.op, c.inputs, []string{"Y"}, c.attrs}, c.feeds, nil), c.feeds)
			switch {
			case err == nil:
				t.Fatal("no error")
			case c.unsupported != errors.Is(err, kernel.ErrUnsupported):
				t.Fatalf("error %v: unsupported = %v, want %v", err, !c.unsupported, c.unsupported)
			case c.msg != "" && !strings.Contains(err.Error(), c.msg):
				t.Fatalf("error %v does not mention %q", err, c.msg)
			}
		})
	}
}

func pstr(s string) *string { return &s }

// BenchmarkSileroV5Frame times one 512-sample frame of Silero VAD v5 (If
// branches holding an LSTM of 128 units) in the engine.
func BenchmarkSileroV5Frame(b *testing.B) {
	m, err := onnx.Load(testenv.DataFile(b, "models", "silero-vad-v5.onnx"))
	if err != nil {
		b.Fatal(err)
	}
	sess, err := engine.New(m, engine.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	feeds := map[string]*tensor.Tensor{
		"input": rtF32([]int{1, 512}, rtRandom(rng, 512, 0.3)...),
		"state": tensor.New(tensor.Float32, 2, 1, 128),
		"sr":    tensor.Scalar(int64(16000)),
	}
	for b.Loop() {
		if _, err := sess.Run(context.Background(), feeds); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLSTMSequence times a 64-step LSTM of 256 units on a batch of 4
// with constant (packed) weights.
func BenchmarkLSTMSequence(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := rtRecurrent{op: "LSTM", dirs: 1, seq: 64, batch: 4, in: 128, h: 256}
	feeds, _ := c.feeds(rng)
	inits := map[string]*tensor.Tensor{"W": feeds["W"], "R": feeds["R"], "B": feeds["B"]}
	run := map[string]*tensor.Tensor{"X": feeds["X"]}
	m := rtModel(14, rtNode{"LSTM", []string{"X", "W", "R", "B"}, []string{"Y"}, []*onnx.AttributeProto{onnxbuild.AttrInt("hidden_size", int64(c.h))}}, run, inits)
	sess, err := engine.New(m.M, engine.Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := sess.Run(context.Background(), run); err != nil {
			b.Fatal(err)
		}
	}
}
