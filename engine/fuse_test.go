package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/tensor"
)

// refConv2D is a direct float64 NCHW convolution (batch 1) with square
// padding p, stride s and groups, written from the definition.
func refConv2D(x []float32, c, h, w int, wt []float32, m, k, p, s, group int, bias []float32) ([]float64, int, int) {
	oh, ow := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	cg, mg := c/group, m/group
	out := make([]float64, m*oh*ow)
	for oc := 0; oc < m; oc++ {
		g := oc / mg
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				sum := float64(bias[oc])
				for ci := 0; ci < cg; ci++ {
					for a := 0; a < k; a++ {
						for b := 0; b < k; b++ {
							r, q := i*s-p+a, j*s-p+b
							if r < 0 || r >= h || q < 0 || q >= w {
								continue
							}
							sum += float64(wt[((oc*cg+ci)*k+a)*k+b]) * float64(x[((g*cg+ci)*h+r)*w+q])
						}
					}
				}
				out[(oc*oh+i)*ow+j] = sum
			}
		}
	}
	return out, oh, ow
}

func randF32(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

// TestConvActivationFusion builds Conv->Relu, depthwise Conv->Clip, and a
// pointwise Conv whose output has two readers (so it must not fuse), and
// checks the outputs against a direct convolution, with and without an
// observer (which turns fusion off), and that the fused plan has exactly
// the two expected merged steps.
func TestConvActivationFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 9))
	const c, h, w = 4, 9, 11
	x := randF32(r, c*h*w)
	w1, b1 := randF32(r, 6*c*9), randF32(r, 6)
	w2, b2 := randF32(r, 6*9), randF32(r, 6)
	w3, b3 := randF32(r, 5*6), randF32(r, 5)
	lo, hi := float32(-0.25), float32(0.6)
	b := onnxbuild.New(13).
		Input("x", tensor.Float32, 1, c, h, w).
		Init("w1", tensor.FromSlice([]int{6, c, 3, 3}, w1)).Init("b1", tensor.FromSlice([]int{6}, b1)).
		Init("w2", tensor.FromSlice([]int{6, 1, 3, 3}, w2)).Init("b2", tensor.FromSlice([]int{6}, b2)).
		Init("w3", tensor.FromSlice([]int{5, 6, 1, 1}, w3)).Init("b3", tensor.FromSlice([]int{5}, b3)).
		Init("lo", tensor.FromSlice([]int{}, []float32{lo})).Init("hi", tensor.FromSlice([]int{}, []float32{hi})).
		Node("Conv", []string{"x", "w1", "b1"}, []string{"c1"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1)).
		Node("Relu", []string{"c1"}, []string{"r1"}).
		Node("Conv", []string{"r1", "w2", "b2"}, []string{"c2"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1), onnxbuild.AttrInts("strides", 2, 2), onnxbuild.AttrInt("group", 6)).
		Node("Clip", []string{"c2", "lo", "hi"}, []string{"k2"}).
		Node("Conv", []string{"k2", "w3", "b3"}, []string{"c3"}).
		Node("Relu", []string{"c3"}, []string{"y1"}).
		Node("Add", []string{"c3", "c3"}, []string{"y2"}).
		Output("y1", tensor.Float32, 1, 5, 5, 6).
		Output("y2", tensor.Float32, 1, 5, 5, 6)
	m := b.M

	// Reference.
	c1, oh1, ow1 := refConv2D(x, c, h, w, w1, 6, 3, 1, 1, 1, b1)
	r1 := make([]float32, len(c1))
	for i, v := range c1 {
		r1[i] = float32(math.Max(v, 0))
	}
	c2, oh2, ow2 := refConv2D(r1, 6, oh1, ow1, w2, 6, 3, 1, 2, 6, b2)
	k2 := make([]float32, len(c2))
	for i, v := range c2 {
		k2[i] = float32(math.Min(math.Max(v, float64(lo)), float64(hi)))
	}
	c3, _, _ := refConv2D(k2, 6, oh2, ow2, w3, 5, 1, 0, 1, 1, b3)
	want1 := make([]float64, len(c3))
	want2 := make([]float64, len(c3))
	for i, v := range c3 {
		want1[i] = math.Max(v, 0)
		want2[i] = 2 * v
	}

	check := func(t *testing.T, s *Session, ro RunOptions) {
		t.Helper()
		out, err := s.RunWith(context.Background(), map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, c, h, w}, x)}, ro)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string][]float64{"y1": want1, "y2": want2} {
			got := out[name].Data.([]float32)
			if len(got) != len(want) {
				t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
			}
			for i := range got {
				if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("%s[%d] = %g, want %g", name, i, got[i], want[i])
				}
			}
		}
	}
	s, err := New(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	s.main.ensureFused() // built lazily, on the first run without observers
	if got, want := len(s.main.steps)-len(s.main.fast), 2; s.main.fast == nil || got != want {
		t.Fatalf("fused plan has %d steps for %d plain ones, want %d fewer", len(s.main.fast), len(s.main.steps), want)
	}
	t.Run("fused", func(t *testing.T) { check(t, s, RunOptions{}) })
	seen := map[string]bool{}
	t.Run("observed", func(t *testing.T) {
		check(t, s, RunOptions{Observer: func(name string, _ *tensor.Tensor) { seen[name] = true }})
		for _, v := range []string{"c1", "c2", "c3", "r1", "k2"} {
			if !seen[v] {
				t.Fatalf("observer did not see %q", v)
			}
		}
	})
	// A Conv output asked for as an extra output must not be fused away.
	s2, err := New(m, Options{ExtraOutputs: []string{"c1"}})
	if err != nil {
		t.Fatal(err)
	}
	s2.main.ensureFused() // built lazily, on the first run without observers
	if got := len(s2.main.steps) - len(s2.main.fast); got != 1 {
		t.Fatalf("with c1 kept, %d steps fused, want 1", got)
	}
	out, err := s2.Run(context.Background(), map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, c, h, w}, x)})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out["c1"].Data.([]float32) {
		if d := math.Abs(float64(v) - c1[i]); d > 1e-5*(1+math.Abs(c1[i])) {
			t.Fatalf("c1[%d] = %g, want %g", i, v, c1[i])
		}
	}
}

// TestConvBatchNormFolding builds Conv(+bias)->BatchNormalization->Relu,
// Conv(no bias)->BatchNormalization, and a BatchNormalization whose input
// has a second reader (not folded), and checks the outputs of fused and
// observed runs against the convolution and normalization computed here in
// float64, and the number of steps the fused plan saved.
func TestConvBatchNormFolding(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 10))
	const c, h, w, m = 3, 7, 8, 5
	x := randF32(r, c*h*w)
	w1, b1 := randF32(r, m*c*9), randF32(r, m)
	w2 := randF32(r, m*c)
	bnp := func() [4][]float32 {
		var p [4][]float32
		for k := range p {
			p[k] = randF32(r, m)
		}
		for i := range p[3] {
			p[3][i] = 0.5 + p[3][i]*p[3][i] // variance > 0
		}
		return p
	}
	p1, p2, p3 := bnp(), bnp(), bnp()
	const eps = 1e-3
	vec := func(v []float32) *tensor.Tensor { return tensor.FromSlice([]int{m}, v) }
	b := onnxbuild.New(15).
		Input("x", tensor.Float32, 1, c, h, w).
		Init("w1", tensor.FromSlice([]int{m, c, 3, 3}, w1)).Init("b1", vec(b1)).
		Init("w2", tensor.FromSlice([]int{m, c, 1, 1}, w2))
	for i, p := range [][4][]float32{p1, p2, p3} {
		for k, name := range []string{"scale", "shift", "mean", "var"} {
			b.Init(fmt.Sprintf("%s%d", name, i+1), vec(p[k]))
		}
	}
	b.Node("Conv", []string{"x", "w1", "b1"}, []string{"c1"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1)).
		Node("BatchNormalization", []string{"c1", "scale1", "shift1", "mean1", "var1"}, []string{"n1"}, onnxbuild.AttrFloat("epsilon", eps)).
		Node("Relu", []string{"n1"}, []string{"y1"}).
		Node("Conv", []string{"x", "w2"}, []string{"c2"}).
		Node("BatchNormalization", []string{"c2", "scale2", "shift2", "mean2", "var2"}, []string{"y2"}, onnxbuild.AttrFloat("epsilon", eps)).
		Node("Conv", []string{"x", "w2"}, []string{"c3"}).
		Node("BatchNormalization", []string{"c3", "scale3", "shift3", "mean3", "var3"}, []string{"n3"}, onnxbuild.AttrFloat("epsilon", eps)).
		Node("Add", []string{"n3", "c3"}, []string{"y3"}).
		Output("y1", tensor.Float32, 1, m, h, w).
		Output("y2", tensor.Float32, 1, m, h, w).
		Output("y3", tensor.Float32, 1, m, h, w)

	norm := func(y []float64, p [4][]float32) []float64 {
		out := make([]float64, len(y))
		per := len(y) / m
		for i, v := range y {
			o := i / per
			out[i] = float64(p[0][o])*(v-float64(p[2][o]))/math.Sqrt(float64(p[3][o])+eps) + float64(p[1][o])
		}
		return out
	}
	c1, _, _ := refConv2D(x, c, h, w, w1, m, 3, 1, 1, 1, b1)
	want1 := norm(c1, p1)
	for i, v := range want1 {
		want1[i] = math.Max(v, 0)
	}
	c2, _, _ := refConv2D(x, c, h, w, w2, m, 1, 0, 1, 1, make([]float32, m))
	want2 := norm(c2, p2)
	want3 := norm(c2, p3)
	for i := range want3 {
		want3[i] += c2[i]
	}
	s, err := New(b.M, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Two folds and the Relu taken over by the first folded Conv.
	s.main.ensureFused() // built lazily, on the first run without observers
	if got := len(s.main.steps) - len(s.main.fast); s.main.fast == nil || got != 3 {
		t.Fatalf("fused plan saves %d steps, want 3", got)
	}
	// Choosing the fusions again (as extra outputs make New do) replaces
	// the folded weights: the old ones are not kept as constants.
	consts := func() int {
		n := 0
		for _, v := range s.main.cvals {
			if v != nil {
				n++
			}
		}
		return n
	}
	before := consts()
	s.main.markOutputs(nil)
	s.main.ensureFused()
	if after := consts(); after != before {
		t.Errorf("%d constants after the fusions were chosen again, want %d", after, before)
	}
	for _, ro := range []RunOptions{{}, {Observer: func(string, *tensor.Tensor) {}}} {
		out, err := s.RunWith(context.Background(), map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, c, h, w}, x)}, ro)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string][]float64{"y1": want1, "y2": want2, "y3": want3} {
			got := out[name].Data.([]float32)
			for i := range got {
				if d := math.Abs(float64(got[i]) - want[i]); d > 1e-5*(1+math.Abs(want[i])) {
					t.Fatalf("observer %v: %s[%d] = %g, want %g", ro.Observer != nil, name, i, got[i], want[i])
				}
			}
		}
	}
}

// TestConvAddFolding checks the folding of an Add of a per-channel
// constant into a Conv's bias (as mnist-8 writes its biases), for the
// constant on either side and of rank 3 or 4, and that an Add of a
// constant varying along another axis is left alone: outputs against a
// direct float64 computation, steps saved by the fused plan.
func TestConvAddFolding(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	const c, h, w, m = 2, 5, 6, 3
	x := randF32(r, c*h*w)
	wt := randF32(r, m*c*9)
	a1, a2, a3 := randF32(r, m), randF32(r, m), randF32(r, w)
	b := onnxbuild.New(13).
		Input("x", tensor.Float32, 1, c, h, w).
		Init("w", tensor.FromSlice([]int{m, c, 3, 3}, wt)).
		Init("a1", tensor.FromSlice([]int{m, 1, 1}, a1)).
		Init("a2", tensor.FromSlice([]int{1, m, 1, 1}, a2)).
		Init("a3", tensor.FromSlice([]int{1, 1, w}, a3)).
		Node("Conv", []string{"x", "w"}, []string{"c1"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1)).
		Node("Add", []string{"c1", "a1"}, []string{"s1"}).
		Node("Relu", []string{"s1"}, []string{"y1"}).
		Node("Conv", []string{"x", "w"}, []string{"c2"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1)).
		Node("Add", []string{"a2", "c2"}, []string{"y2"}).
		Node("Conv", []string{"x", "w"}, []string{"c3"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1)).
		Node("Add", []string{"c3", "a3"}, []string{"y3"}).
		Output("y1", tensor.Float32, 1, m, h, w).
		Output("y2", tensor.Float32, 1, m, h, w).
		Output("y3", tensor.Float32, 1, m, h, w)
	conv, _, _ := refConv2D(x, c, h, w, wt, m, 3, 1, 1, 1, make([]float32, m))
	want := map[string][]float64{"y1": make([]float64, len(conv)), "y2": make([]float64, len(conv)), "y3": make([]float64, len(conv))}
	for i, v := range conv {
		o, col := i/(h*w), i%w
		want["y1"][i] = math.Max(v+float64(a1[o]), 0)
		want["y2"][i] = v + float64(a2[o])
		want["y3"][i] = v + float64(a3[col])
	}
	s, err := New(b.M, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Two Adds folded and the Relu taken over; the third Add stays.
	s.main.ensureFused() // built lazily, on the first run without observers
	if got := len(s.main.steps) - len(s.main.fast); s.main.fast == nil || got != 3 {
		t.Fatalf("fused plan saves %d steps, want 3", got)
	}
	out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, c, h, w}, x)})
	if err != nil {
		t.Fatal(err)
	}
	for name, wv := range want {
		got := out[name].Data.([]float32)
		for i := range got {
			if d := math.Abs(float64(got[i]) - wv[i]); d > 1e-5*(1+math.Abs(wv[i])) {
				t.Fatalf("%s[%d] = %g, want %g", name, i, got[i], wv[i])
			}
		}
	}
}

// TestArithActivationFusion builds Add->Relu, Sub(scalar)->Clip,
// Mul(per-channel)->Relu, Div->Relu with the quotient also an output (not
// fused) and an int32 Add->Relu, and checks fused and observed runs value
// for value against float32 arithmetic done here, and that the fused plan
// merged exactly the three float32 pairs and the int32 one.
func TestArithActivationFusion(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 2))
	const c, h, w = 4, 5, 7
	n := c * h * w
	x, y := randF32(r, n), randF32(r, n)
	x[3], y[3] = float32(math.Copysign(0, -1)), 0 // -0 + 0 = +0; Relu keeps it
	ch := randF32(r, c)
	s := float32(0.3)
	lo, hi := float32(-0.5), float32(0.25)
	xi, yi := make([]int32, n), make([]int32, n)
	for i := range xi {
		xi[i], yi[i] = int32(r.IntN(200)-100), int32(r.IntN(200)-100)
	}
	b := onnxbuild.New(14).
		Input("x", tensor.Float32, 1, c, h, w).Input("y", tensor.Float32, 1, c, h, w).
		Input("xi", tensor.Int32, 1, c, h, w).Input("yi", tensor.Int32, 1, c, h, w).
		Init("s", tensor.FromSlice([]int{}, []float32{s})).
		Init("ch", tensor.FromSlice([]int{c, 1, 1}, ch)).
		Init("lo", tensor.FromSlice([]int{}, []float32{lo})).Init("hi", tensor.FromSlice([]int{}, []float32{hi})).
		Node("Add", []string{"x", "y"}, []string{"a1"}).Node("Relu", []string{"a1"}, []string{"o1"}).
		Node("Sub", []string{"x", "s"}, []string{"a2"}).Node("Clip", []string{"a2", "lo", "hi"}, []string{"o2"}).
		Node("Mul", []string{"x", "ch"}, []string{"a3"}).Node("Relu", []string{"a3"}, []string{"o3"}).
		Node("Div", []string{"y", "x"}, []string{"a4"}).Node("Relu", []string{"a4"}, []string{"o4"}).
		Node("Add", []string{"xi", "yi"}, []string{"a5"}).Node("Relu", []string{"a5"}, []string{"o5"})
	for _, o := range []string{"o1", "o2", "o3", "o4", "a4"} {
		b = b.Output(o, tensor.Float32, 1, c, h, w)
	}
	b = b.Output("o5", tensor.Int32, 1, c, h, w)
	clamp := func(v, lo, hi float32) float32 {
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		return v
	}
	inf := float32(math.Inf(1))
	want := map[string][]float32{}
	for _, o := range []string{"o1", "o2", "o3", "o4", "a4"} {
		want[o] = make([]float32, n)
	}
	want5 := make([]int32, n)
	for i := range x {
		want["o1"][i] = clamp(x[i]+y[i], 0, inf)
		want["o2"][i] = clamp(x[i]-s, lo, hi)
		want["o3"][i] = clamp(x[i]*ch[i/(h*w)], 0, inf)
		want["a4"][i] = y[i] / x[i]
		want["o4"][i] = clamp(y[i]/x[i], 0, inf)
		want5[i] = max(xi[i]+yi[i], 0)
	}
	feeds := map[string]*tensor.Tensor{
		"x": tensor.FromSlice([]int{1, c, h, w}, x), "y": tensor.FromSlice([]int{1, c, h, w}, y),
		"xi": tensor.FromSlice([]int{1, c, h, w}, xi), "yi": tensor.FromSlice([]int{1, c, h, w}, yi),
	}
	sess, err := New(b.M, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	sess.main.ensureFused() // built lazily, on the first run without observers
	if got := len(sess.main.steps) - len(sess.main.fast); sess.main.fast == nil || got != 4 {
		t.Fatalf("fused plan has %d steps for %d plain ones, want 4 fewer", len(sess.main.fast), len(sess.main.steps))
	}
	for _, ro := range []RunOptions{{}, {Observer: func(string, *tensor.Tensor) {}}} {
		out, err := sess.RunWith(context.Background(), feeds, ro)
		if err != nil {
			t.Fatal(err)
		}
		for name, wv := range want {
			for i, v := range out[name].Data.([]float32) {
				if math.Float32bits(v) != math.Float32bits(wv[i]) {
					t.Fatalf("observed %v: %s[%d] = %g, want %g", ro.Observer != nil, name, i, v, wv[i])
				}
			}
		}
		for i, v := range out["o5"].Data.([]int32) {
			if v != want5[i] {
				t.Fatalf("observed %v: o5[%d] = %d, want %d", ro.Observer != nil, i, v, want5[i])
			}
		}
	}
}

// TestPadConvFolding builds zero Pads of the spatial axes before Convs
// (opset 13 pads input, and a Conv with auto_pad VALID), and Pads that must
// stay: a non-zero value, a padded channel axis, a Pad whose output has
// a second reader. It checks fused and observed runs against a direct
// convolution with the combined padding, and how many steps were saved.
func TestPadConvFolding(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 1))
	const c, h, w = 3, 9, 11
	x := randF32(r, c*h*w)
	w1, b1 := randF32(r, 4*c*9), randF32(r, 4)
	w2, b2 := randF32(r, 4*c*9), randF32(r, 4)
	i64 := func(v ...int64) *tensor.Tensor { return tensor.FromSlice([]int{len(v)}, v) }
	b := onnxbuild.New(13).
		Input("x", tensor.Float32, 1, c, h, w).
		Init("w1", tensor.FromSlice([]int{4, c, 3, 3}, w1)).Init("b1", tensor.FromSlice([]int{4}, b1)).
		Init("w2", tensor.FromSlice([]int{4, c, 3, 3}, w2)).Init("b2", tensor.FromSlice([]int{4}, b2)).
		Init("p1", i64(0, 0, 1, 1, 0, 0, 1, 1)).
		Init("p2", i64(0, 0, 2, 2, 0, 0, 2, 2)).
		Init("pc", i64(0, 1, 1, 1, 0, 0, 1, 1)).
		Init("one", tensor.FromSlice([]int{}, []float32{1})).
		// Folded: Pad 1 then Conv without pads = Conv with pads 1.
		Node("Pad", []string{"x", "p1"}, []string{"x1"}).
		Node("Conv", []string{"x1", "w1", "b1"}, []string{"y1"}).
		// Folded: Pad 2 then Conv with pads 1 and then auto_pad VALID.
		Node("Pad", []string{"x", "p2"}, []string{"x2"}).
		Node("Conv", []string{"x2", "w2", "b2"}, []string{"y2"}, onnxbuild.AttrInts("pads", 1, 1, 1, 1)).
		Node("Pad", []string{"x", "p1"}, []string{"x3"}).
		Node("Conv", []string{"x3", "w1", "b1"}, []string{"y3"}, onnxbuild.AttrString("auto_pad", "VALID")).
		// Not folded: padding with ones; a padded channel; two readers.
		Node("Pad", []string{"x", "p1", "one"}, []string{"x4"}).
		Node("Conv", []string{"x4", "w1", "b1"}, []string{"y4"}).
		Node("Pad", []string{"x", "pc"}, []string{"x5"}).
		Node("Slice", []string{"x5", "s0", "s1", "s2"}, []string{"x5s"}).
		Node("Conv", []string{"x5s", "w1", "b1"}, []string{"y5"}).
		Node("Pad", []string{"x", "p1"}, []string{"x6"}).
		Node("Conv", []string{"x6", "w1", "b1"}, []string{"y6"}).
		Node("Relu", []string{"x6"}, []string{"y7"}).
		Init("s0", i64(1)).Init("s1", i64(4)).Init("s2", i64(1))
	for _, o := range []string{"y1", "y2", "y3", "y4", "y5", "y6"} {
		b = b.Output(o, tensor.Float32)
	}
	b = b.Output("y7", tensor.Float32)

	ones := make([]float32, c*(h+2)*(w+2))
	for i := range ones {
		ones[i] = 1
	}
	for ci := 0; ci < c; ci++ {
		for i := 0; i < h; i++ {
			copy(ones[(ci*(h+2)+i+1)*(w+2)+1:], x[(ci*h+i)*w:(ci*h+i+1)*w])
		}
	}
	want := map[string][]float64{}
	want["y1"], _, _ = refConv2D(x, c, h, w, w1, 4, 3, 1, 1, 1, b1)
	want["y2"], _, _ = refConv2D(x, c, h, w, w2, 4, 3, 3, 1, 1, b2)
	want["y3"] = want["y1"]
	want["y4"], _, _ = refConv2D(ones, c, h+2, w+2, w1, 4, 3, 0, 1, 1, b1)
	want["y5"] = want["y1"] // the padded channel is sliced away again
	want["y6"] = want["y1"]

	s, err := New(b.M, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	s.main.ensureFused() // built lazily, on the first run without observers
	if got := len(s.main.steps) - len(s.main.fast); s.main.fast == nil || got != 3 {
		t.Fatalf("fused plan has %d steps for %d plain ones, want 3 fewer", len(s.main.fast), len(s.main.steps))
	}
	for _, ro := range []RunOptions{{}, {Observer: func(string, *tensor.Tensor) {}}} {
		out, err := s.RunWith(context.Background(), map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{1, c, h, w}, x)}, ro)
		if err != nil {
			t.Fatal(err)
		}
		for name, wv := range want {
			got := out[name].Data.([]float32)
			if len(got) != len(wv) {
				t.Fatalf("%s: %d values, want %d", name, len(got), len(wv))
			}
			for i := range got {
				if d := math.Abs(float64(got[i]) - wv[i]); d > 1e-5*(1+math.Abs(wv[i])) {
					t.Fatalf("observed %v: %s[%d] = %g, want %g", ro.Observer != nil, name, i, got[i], wv[i])
				}
			}
		}
	}
}
