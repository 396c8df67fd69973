package kernel

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/tensor"
)

// This file holds what RNN, GRU and LSTM share: the attribute parsing, the
// activation functions, input checking and the per-direction time loop.
// The cell-specific gate arithmetic lives in rnnStep (below), lstm.go and
// gru.go.

func init() {
	Register(Op{Type: "RNN", MaxOpset: cfMaxOpset, Build: buildRNN})
}

// rnnFloat is the element type recurrent kernels compute in; float16 and
// bfloat16 are widened to float32 around the computation.
type rnnFloat interface{ float32 | float64 }

// rnnCell selects the recurrence.
type rnnCell int

const (
	rnnSimple rnnCell = iota // RNN: one gate
	rnnGRU                   // GRU: gates z, r, h
	rnnLSTM                  // LSTM: gates i, o, f, c
)

// rnnActKind is one of the activation functions the recurrent operators
// accept in their activations attribute.
type rnnActKind int

const (
	rnnActRelu rnnActKind = iota
	rnnActTanh
	rnnActSigmoid
	rnnActAffine
	rnnActLeakyRelu
	rnnActThresholdedRelu
	rnnActScaledTanh
	rnnActHardSigmoid
	rnnActElu
	rnnActSoftsign
	rnnActSoftplus
)

// rnnActInfo tells which of alpha and beta an activation takes and their
// defaults, those of the ONNX operator of the same name (ScaledTanh, which
// has no ONNX default, uses 1 and 1: the plain tanh).
var rnnActInfo = map[string]struct {
	kind                rnnActKind
	usesAlpha, usesBeta bool
	alpha, beta         float64
}{
	"relu":            {kind: rnnActRelu},
	"tanh":            {kind: rnnActTanh},
	"sigmoid":         {kind: rnnActSigmoid},
	"affine":          {rnnActAffine, true, true, 1, 0},
	"leakyrelu":       {rnnActLeakyRelu, true, false, 0.01, 0},
	"thresholdedrelu": {rnnActThresholdedRelu, true, false, 1, 0},
	"scaledtanh":      {rnnActScaledTanh, true, true, 1, 1},
	"hardsigmoid":     {rnnActHardSigmoid, true, true, 0.2, 0.5},
	"elu":             {rnnActElu, true, false, 1, 0},
	"softsign":        {kind: rnnActSoftsign},
	"softplus":        {kind: rnnActSoftplus},
}

// rnnAct is one resolved activation function.
type rnnAct struct {
	kind        rnnActKind
	alpha, beta float64
}

// rnnParseActs resolves activation names (case-insensitive). activation_alpha
// and activation_beta are consumed in order by the functions that take the
// parameter, as ONNX Runtime does; a function finding the list exhausted
// uses its default.
func rnnParseActs(n *Node, names []string, alphas, betas []float32) ([]rnnAct, error) {
	out := make([]rnnAct, len(names))
	ai, bi := 0, 0
	for i, name := range names {
		info, ok := rnnActInfo[strings.ToLower(name)]
		if !ok {
			return nil, n.Unsupported("activation %q", name)
		}
		a := rnnAct{kind: info.kind, alpha: info.alpha, beta: info.beta}
		if info.usesAlpha && ai < len(alphas) {
			a.alpha = float64(alphas[ai])
			ai++
		}
		if info.usesBeta && bi < len(betas) {
			a.beta = float64(betas[bi])
			bi++
		}
		out[i] = a
	}
	return out, nil
}

// rnnApply replaces every x[i] by act(x[i]).
func rnnApply[T rnnFloat](a rnnAct, x []T) {
	switch a.kind {
	case rnnActRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = 0
			}
		}
	case rnnActTanh:
		for i, v := range x {
			x[i] = T(math.Tanh(float64(v)))
		}
	case rnnActSigmoid:
		for i, v := range x {
			x[i] = T(rnnSigmoid(float64(v)))
		}
	case rnnActAffine:
		for i, v := range x {
			x[i] = T(a.alpha*float64(v) + a.beta)
		}
	case rnnActLeakyRelu:
		for i, v := range x {
			if v < 0 {
				x[i] = T(a.alpha * float64(v))
			}
		}
	case rnnActThresholdedRelu:
		for i, v := range x {
			if float64(v) <= a.alpha {
				x[i] = 0
			}
		}
	case rnnActScaledTanh:
		for i, v := range x {
			x[i] = T(a.alpha * math.Tanh(a.beta*float64(v)))
		}
	case rnnActHardSigmoid:
		for i, v := range x {
			x[i] = T(math.Max(0, math.Min(1, a.alpha*float64(v)+a.beta)))
		}
	case rnnActElu:
		for i, v := range x {
			if v < 0 {
				x[i] = T(a.alpha * math.Expm1(float64(v)))
			}
		}
	case rnnActSoftsign:
		for i, v := range x {
			x[i] = T(float64(v) / (1 + math.Abs(float64(v))))
		}
	case rnnActSoftplus:
		for i, v := range x {
			f := float64(v)
			// log(1+e^f) without overflow for large f.
			if f > 0 {
				x[i] = T(f + math.Log1p(math.Exp(-f)))
			} else {
				x[i] = T(math.Log1p(math.Exp(f)))
			}
		}
	}
}

// rnnSigmoid is 1/(1+e^-x), computed so that neither branch overflows.
func rnnSigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// rnnClip limits every x[i] to [-c, c].
func rnnClip[T rnnFloat](x []T, c T) {
	for i, v := range x {
		if v > c {
			x[i] = c
		} else if v < -c {
			x[i] = -c
		}
	}
}

// rnnSpec is a prepared RNN, GRU or LSTM node.
type rnnSpec struct {
	n       *Node
	cell    rnnCell
	gates   int // gate blocks in W and R: 1, 3 or 4
	hidden  int // from the attribute; 0 means take it from R
	dirs    int
	reverse bool // the single direction runs backwards
	layout  int
	hasClip bool
	clip    float64
	acts    [][]rnnAct // per direction

	inputForget       bool // LSTM: forget gate is 1 - input gate
	linearBeforeReset bool // GRU

	// Packed float32 weights when W and R are constants: per direction,
	// W as the right operand of X*W^T, and R as one operand (RNN, LSTM)
	// or two (GRU: the z and r rows, then the h rows).
	wPacked []*gemm.PackedB
	rPacked [][]*gemm.PackedB
	packedK int // input size the packed W was made for
}

// rnnParse reads the attributes common to RNN, GRU and LSTM.
func rnnParse(n *Node, cell rnnCell, defActs []string) (*rnnSpec, error) {
	s := &rnnSpec{n: n, cell: cell}
	switch cell {
	case rnnSimple:
		s.gates = 1
	case rnnGRU:
		s.gates = 3
	case rnnLSTM:
		s.gates = 4
	}
	hidden, err := n.Int("hidden_size", 0)
	if err != nil {
		return nil, err
	}
	if hidden < 0 || hidden > math.MaxInt32 {
		return nil, n.Errorf("hidden_size %d out of range", hidden)
	}
	s.hidden = int(hidden)
	dir, err := n.String("direction", "forward")
	if err != nil {
		return nil, err
	}
	switch dir {
	case "forward":
		s.dirs = 1
	case "reverse":
		s.dirs, s.reverse = 1, true
	case "bidirectional":
		s.dirs = 2
	default:
		return nil, n.Errorf("direction %q is not forward, reverse or bidirectional", dir)
	}
	layout, err := n.Int("layout", 0)
	if err != nil {
		return nil, err
	}
	if layout != 0 && layout != 1 {
		return nil, n.Errorf("layout %d is not 0 or 1", layout)
	}
	s.layout = int(layout)
	if n.Has("clip") {
		c, err := n.Float("clip", 0)
		if err != nil {
			return nil, err
		}
		if !(c > 0) {
			return nil, n.Errorf("clip %g is not positive", c)
		}
		s.hasClip, s.clip = true, float64(c)
	}
	// output_sequence (opset 1 only) does not change the values computed:
	// Y is produced whenever the node asks for it.
	if _, err := n.Int("output_sequence", 0); err != nil {
		return nil, err
	}
	names, err := n.Strings("activations", nil)
	if err != nil {
		return nil, err
	}
	alphas, err := n.Floats("activation_alpha", nil)
	if err != nil {
		return nil, err
	}
	betas, err := n.Floats("activation_beta", nil)
	if err != nil {
		return nil, err
	}
	per := len(defActs)
	if names == nil {
		for d := 0; d < s.dirs; d++ {
			names = append(names, defActs...)
		}
	}
	acts, err := rnnParseActs(n, names, alphas, betas)
	if err != nil {
		return nil, err
	}
	if len(acts) != per*s.dirs {
		return nil, n.Errorf("%d activations given, want %d (%d per direction)", len(acts), per*s.dirs, per)
	}
	for d := 0; d < s.dirs; d++ {
		s.acts = append(s.acts, acts[d*per:(d+1)*per])
	}
	return s, nil
}

// prepack packs constant float32 W and R for the matrix products, after
// checking their shapes against the attributes.
func (s *rnnSpec) prepack() error {
	w, r := s.n.Const(1), s.n.Const(2)
	if w == nil || r == nil || w.DType != tensor.Float32 || r.DType != tensor.Float32 {
		return nil
	}
	if len(w.Shape) != 3 || len(r.Shape) != 3 {
		return s.n.Errorf("W has shape %v and R %v, want rank 3", w.Shape, r.Shape)
	}
	h := r.Shape[2]
	if s.hidden != 0 && h != s.hidden {
		return s.n.Errorf("R has shape %v, hidden_size is %d", r.Shape, s.hidden)
	}
	gh := s.gates * h
	input := w.Shape[2]
	if w.Shape[0] != s.dirs || w.Shape[1] != gh || r.Shape[0] != s.dirs || r.Shape[1] != gh {
		return s.n.Errorf("W has shape %v and R %v, want [%d,%d,input] and [%d,%d,%d]", w.Shape, r.Shape, s.dirs, gh, s.dirs, gh, h)
	}
	wd, rd := tensor.As[float32](w), tensor.As[float32](r)
	if len(wd) != w.Len() || len(rd) != r.Len() {
		return s.n.Errorf("W or R holds fewer values than its shape")
	}
	for d := 0; d < s.dirs; d++ {
		wp, err := gemm.PackB(true, input, gh, wd[d*gh*input:(d+1)*gh*input], input)
		if err != nil {
			return s.n.Errorf("packing W: %w", err)
		}
		rdir := rd[d*gh*h : (d+1)*gh*h]
		var parts []*gemm.PackedB
		if s.cell == rnnGRU {
			zr, err := gemm.PackB(true, h, 2*h, rdir[:2*h*h], h)
			if err != nil {
				return s.n.Errorf("packing R: %w", err)
			}
			hh, err := gemm.PackB(true, h, h, rdir[2*h*h:], h)
			if err != nil {
				return s.n.Errorf("packing R: %w", err)
			}
			parts = []*gemm.PackedB{zr, hh}
		} else {
			rp, err := gemm.PackB(true, h, gh, rdir, h)
			if err != nil {
				return s.n.Errorf("packing R: %w", err)
			}
			parts = []*gemm.PackedB{rp}
		}
		s.wPacked = append(s.wPacked, wp)
		s.rPacked = append(s.rPacked, parts)
	}
	s.packedK = input
	return nil
}

// buildRNN prepares RNN (opsets 1, 7, 14, 22):
// Ht = f(Xt*Wi^T + Ht-1*Ri^T + Wbi + Rbi), default f = Tanh.
// https://onnx.ai/onnx/operators/onnx__RNN.html
func buildRNN(n *Node) (Kernel, error) {
	s, err := rnnParse(n, rnnSimple, []string{"Tanh"})
	if err != nil {
		return nil, err
	}
	if err := s.prepack(); err != nil {
		return nil, err
	}
	return KernelFunc(s.run), nil
}

// rnnArgs holds one run's inputs and outputs as flat slices (nil when
// absent), in the element type of the computation.
type rnnArgs[T rnnFloat] struct {
	x, w, r, b, h0, c0, p []T
	lens                  []int
	seq, batch, input, h  int
	y, yh, yc             []T
}

// run checks the inputs, computes in float32 or float64 and returns Y, Y_h
// and (LSTM) Y_c as requested.
func (s *rnnSpec) run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	get := func(i int) *tensor.Tensor {
		if i < len(in) {
			return in[i]
		}
		return nil
	}
	x, w, r := get(0), get(1), get(2)
	if x == nil || w == nil || r == nil {
		return nil, s.n.Errorf("inputs X, W and R are required")
	}
	dt := x.DType
	switch dt {
	case tensor.Float32, tensor.Float64, tensor.Float16, tensor.BFloat16:
	default:
		return nil, s.n.Errorf("X has type %v, want a float type", dt)
	}
	// Inputs in the order X, W, R, B, sequence_lens, initial_h, then
	// initial_c and P for LSTM.
	floats := []int{0, 1, 2, 3, 5}
	if s.cell == rnnLSTM {
		floats = append(floats, 6, 7)
	}
	ts := make([]*tensor.Tensor, 8)
	for _, i := range floats {
		t := get(i)
		if t == nil {
			continue
		}
		if t.DType != dt {
			return nil, s.n.Errorf("input %d has type %v, X has %v", i, t.DType, dt)
		}
		if err := t.Check(); err != nil {
			return nil, s.n.Errorf("input %d: %w", i, err)
		}
		if dt == tensor.Float16 || dt == tensor.BFloat16 {
			c, err := tensor.Convert(t, tensor.Float32)
			if err != nil {
				return nil, s.n.Errorf("input %d: %w", i, err)
			}
			t = c
		}
		ts[i] = t
	}
	x, w, r = ts[0], ts[1], ts[2]
	if len(x.Shape) != 3 || len(w.Shape) != 3 || len(r.Shape) != 3 {
		return nil, s.n.Errorf("X %v, W %v and R %v must have rank 3", x.Shape, w.Shape, r.Shape)
	}
	seq, batch := x.Shape[0], x.Shape[1]
	if s.layout == 1 {
		seq, batch = batch, seq
	}
	input := x.Shape[2]
	h := s.hidden
	if h == 0 {
		h = r.Shape[2]
	}
	gh := s.gates * h
	if !rnnShapeIs(w.Shape, s.dirs, gh, input) {
		return nil, s.n.Errorf("W has shape %v, want [%d %d %d]", w.Shape, s.dirs, gh, input)
	}
	if !rnnShapeIs(r.Shape, s.dirs, gh, h) {
		return nil, s.n.Errorf("R has shape %v, want [%d %d %d]", r.Shape, s.dirs, gh, h)
	}
	if b := ts[3]; b != nil && !rnnShapeIs(b.Shape, s.dirs, 2*gh) {
		return nil, s.n.Errorf("B has shape %v, want [%d %d]", b.Shape, s.dirs, 2*gh)
	}
	stateShape := []int{s.dirs, batch, h}
	if s.layout == 1 {
		stateShape = []int{batch, s.dirs, h}
	}
	for _, i := range []int{5, 6} {
		if t := ts[i]; t != nil && !rnnShapeIs(t.Shape, stateShape...) {
			return nil, s.n.Errorf("input %d (initial state) has shape %v, want %v", i, t.Shape, stateShape)
		}
	}
	if p := ts[7]; p != nil && !rnnShapeIs(p.Shape, s.dirs, 3*h) {
		return nil, s.n.Errorf("P has shape %v, want [%d %d]", p.Shape, s.dirs, 3*h)
	}
	lens := make([]int, batch)
	if sl := get(4); sl != nil {
		v, err := rnnLens(sl)
		if err != nil {
			return nil, s.n.Errorf("sequence_lens: %w", err)
		}
		if len(v) != batch {
			return nil, s.n.Errorf("sequence_lens has %d values, batch is %d", len(v), batch)
		}
		for b, l := range v {
			if l < 0 || l > int64(seq) {
				return nil, s.n.Errorf("sequence_lens[%d] = %d, outside [0, %d]", b, l, seq)
			}
			lens[b] = int(l)
		}
	} else {
		for b := range lens {
			lens[b] = seq
		}
	}

	cdt := tensor.Float32
	if dt == tensor.Float64 {
		cdt = tensor.Float64
	}
	alloc := func(i int, shape ...int) *tensor.Tensor {
		if !s.n.HasOutput(i) {
			return nil
		}
		if cdt == dt {
			return ctx.New(dt, shape...)
		}
		return tensor.New(cdt, shape...)
	}
	yShape := []int{seq, s.dirs, batch, h}
	if s.layout == 1 {
		yShape = []int{batch, seq, s.dirs, h}
	}
	outs := []*tensor.Tensor{alloc(0, yShape...), alloc(1, stateShape...)}
	if s.cell == rnnLSTM {
		outs = append(outs, alloc(2, stateShape...))
	}
	var err error
	if cdt == tensor.Float64 {
		err = rnnCompute(s, rnnBind[float64](ts, outs, lens, seq, batch, input, h), ctx.Threads)
	} else {
		err = rnnCompute(s, rnnBind[float32](ts, outs, lens, seq, batch, input, h), ctx.Threads)
	}
	if err != nil {
		return nil, s.n.Errorf("%w", err)
	}
	if cdt != dt {
		for i, o := range outs {
			if o == nil {
				continue
			}
			if outs[i], err = tensor.Convert(o, dt); err != nil {
				return nil, s.n.Errorf("output %d: %w", i, err)
			}
		}
	}
	return outs, nil
}

// rnnBind gathers the slices of a run.
func rnnBind[T rnnFloat](ts, outs []*tensor.Tensor, lens []int, seq, batch, input, h int) *rnnArgs[T] {
	data := func(t *tensor.Tensor) []T {
		if t == nil {
			return nil
		}
		return t.Data.([]T)
	}
	a := &rnnArgs[T]{
		x: data(ts[0]), w: data(ts[1]), r: data(ts[2]), b: data(ts[3]),
		h0: data(ts[5]), c0: data(ts[6]), p: data(ts[7]),
		lens: lens, seq: seq, batch: batch, input: input, h: h,
		y: data(outs[0]), yh: data(outs[1]),
	}
	if len(outs) > 2 {
		a.yc = data(outs[2])
	}
	return a
}

// rnnShapeIs reports whether shape equals dims.
func rnnShapeIs(shape []int, dims ...int) bool {
	if len(shape) != len(dims) {
		return false
	}
	for i, d := range dims {
		if shape[i] != d {
			return false
		}
	}
	return true
}

// rnnLens reads sequence_lens (int32, or int64 as some exporters write).
func rnnLens(t *tensor.Tensor) ([]int64, error) {
	if len(t.Shape) != 1 {
		return nil, fmt.Errorf("shape %v is not 1-D", t.Shape)
	}
	switch d := t.Data.(type) {
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []int64:
		return d, nil
	}
	return nil, fmt.Errorf("type %v is not int32", t.DType)
}

// rnnMatMul computes C = A*B^T (accumulate false) or C += A*B^T, with A
// m x k (leading dimension lda), B n x k row-major (leading dimension k),
// or pre-packed in pb, and C m x n (leading dimension ldc). float32 goes
// through the engine's GEMM; float64 uses plain dot products.
func rnnMatMul[T rnnFloat](m, n, k int, a []T, lda int, b []T, pb *gemm.PackedB, accumulate bool, c []T, ldc int, threads int) error {
	if m == 0 || n == 0 {
		return nil
	}
	if af, ok := any(a).([]float32); ok {
		var bf []float32
		if pb == nil {
			bf = any(b).([]float32)
		}
		var beta float32
		if accumulate {
			beta = 1
		}
		return gemm.SgemmPacked(false, true, m, n, k, 1, af, lda, nil, bf, k, pb, beta, any(c).([]float32), ldc, threads)
	}
	for i := 0; i < m; i++ {
		ar := a[i*lda : i*lda+k]
		cr := c[i*ldc : i*ldc+n]
		for j := range cr {
			br := b[j*k : j*k+k]
			var sum T
			for p, v := range ar {
				sum += v * br[p]
			}
			if accumulate {
				cr[j] += sum
			} else {
				cr[j] = sum
			}
		}
	}
	return nil
}

// rnnStep is the state of one direction's time loop, shared by the cell
// functions.
type rnnStep[T rnnFloat] struct {
	s       *rnnSpec
	a       *rnnArgs[T]
	acts    []rnnAct
	active  []bool // batch rows still inside their sequence at this step
	gates   []T    // batch x gates*h: pre-activations, then activations
	state   []T    // batch x h: H
	cell    []T    // batch x h: C (LSTM)
	hbuf    []T    // batch x h: recurrent product of the h gate (GRU)
	rh      []T    // batch x h: r (.) H (GRU, linear_before_reset = 0)
	rd      []T    // this direction's R
	rp      []*gemm.PackedB
	rbh     []T // GRU with linear_before_reset: Rbh, nil when B is absent
	peep    []T // LSTM: this direction's P (i, o, f), nil when absent
	clip    T
	threads int
}

// rnnCompute runs every direction of a recurrent node over the sequence.
func rnnCompute[T rnnFloat](s *rnnSpec, a *rnnArgs[T], threads int) error {
	h, batch, seq := a.h, a.batch, a.seq
	gh := s.gates * h
	rows := seq * batch
	xw := make([]T, rows*gh)
	bias := make([]T, gh)
	st := &rnnStep[T]{
		s: s, a: a, active: make([]bool, batch),
		gates: make([]T, batch*gh), state: make([]T, batch*h),
		clip: T(s.clip), threads: threads,
	}
	switch s.cell {
	case rnnLSTM:
		st.cell = make([]T, batch*h)
	case rnnGRU:
		st.hbuf = make([]T, batch*h)
		st.rh = make([]T, batch*h)
	}
	maxLen := 0
	for _, l := range a.lens {
		maxLen = max(maxLen, l)
	}
	// xrow is the row of X (and of xw) holding time t of batch entry b.
	xrow := func(t, b int) int {
		if s.layout == 1 {
			return b*seq + t
		}
		return t*batch + b
	}
	for d := 0; d < s.dirs; d++ {
		reverse := s.reverse || d == 1
		st.acts = s.acts[d]
		var wp *gemm.PackedB
		st.rp = nil
		if s.wPacked != nil {
			wp, st.rp = s.wPacked[d], s.rPacked[d]
		}
		wd := a.w[d*gh*a.input : (d+1)*gh*a.input]
		st.rd = a.r[d*gh*h : (d+1)*gh*h]
		// The input projections of all time steps in one product.
		if err := rnnMatMul(rows, gh, a.input, a.x, a.input, wd, wp, false, xw, gh, threads); err != nil {
			return err
		}
		st.rbh = nil
		if a.b != nil {
			bd := a.b[d*2*gh : (d+1)*2*gh]
			for j := range bias {
				bias[j] = bd[j] + bd[gh+j]
			}
			if s.cell == rnnGRU && s.linearBeforeReset {
				// Rbh goes inside the reset gate's product instead.
				st.rbh = bd[gh+2*h : 2*gh]
				copy(bias[2*h:], bd[2*h:gh])
			}
			for r := 0; r < rows; r++ {
				row := xw[r*gh : (r+1)*gh]
				for j, v := range bias {
					row[j] += v
				}
			}
		}
		st.peep = nil
		if a.p != nil {
			st.peep = a.p[d*3*h : (d+1)*3*h]
		}
		rnnLoadState(s, a, a.h0, st.state, d)
		if st.cell != nil {
			rnnLoadState(s, a, a.c0, st.cell, d)
		}
		for step := 0; step < maxLen; step++ {
			for b := 0; b < batch; b++ {
				l := a.lens[b]
				st.active[b] = step < l
				if step >= l {
					continue
				}
				t := step
				if reverse {
					t = l - 1 - step
				}
				r := xrow(t, b)
				copy(st.gates[b*gh:(b+1)*gh], xw[r*gh:(r+1)*gh])
			}
			var err error
			switch s.cell {
			case rnnSimple:
				err = st.simple()
			case rnnGRU:
				err = st.gru()
			case rnnLSTM:
				err = st.lstm()
			}
			if err != nil {
				return err
			}
			if a.y == nil {
				continue
			}
			for b := 0; b < batch; b++ {
				l := a.lens[b]
				if step >= l {
					continue
				}
				t := step
				if reverse {
					t = l - 1 - step
				}
				off := ((t*s.dirs+d)*batch + b) * h
				if s.layout == 1 {
					off = ((b*seq+t)*s.dirs + d) * h
				}
				copy(a.y[off:off+h], st.state[b*h:(b+1)*h])
			}
		}
		rnnStoreState(s, a, a.yh, st.state, d)
		rnnStoreState(s, a, a.yc, st.cell, d)
	}
	return nil
}

// rnnLoadState copies direction d of an initial state (zeros when absent)
// into dst (batch x h).
func rnnLoadState[T rnnFloat](s *rnnSpec, a *rnnArgs[T], src, dst []T, d int) {
	h := a.h
	for b := 0; b < a.batch; b++ {
		row := dst[b*h : (b+1)*h]
		if src == nil {
			clear(row)
			continue
		}
		off := (d*a.batch + b) * h
		if s.layout == 1 {
			off = (b*s.dirs + d) * h
		}
		copy(row, src[off:off+h])
	}
}

// rnnStoreState copies src (batch x h) into direction d of a final state
// output, if requested. Entries with an empty sequence get zeros, as in
// ONNX Runtime.
func rnnStoreState[T rnnFloat](s *rnnSpec, a *rnnArgs[T], dst, src []T, d int) {
	if dst == nil || src == nil {
		return
	}
	h := a.h
	for b := 0; b < a.batch; b++ {
		off := (d*a.batch + b) * h
		if s.layout == 1 {
			off = (b*s.dirs + d) * h
		}
		if a.lens[b] == 0 {
			clear(dst[off : off+h])
			continue
		}
		copy(dst[off:off+h], src[b*h:(b+1)*h])
	}
}

// simple is one RNN step: H = f(Xt*W^T + H*R^T + Wb + Rb).
func (st *rnnStep[T]) simple() error {
	h, batch := st.a.h, st.a.batch
	var rp *gemm.PackedB
	if st.rp != nil {
		rp = st.rp[0]
	}
	if err := rnnMatMul(batch, h, h, st.state, h, st.rd, rp, true, st.gates, h, st.threads); err != nil {
		return err
	}
	for b := 0; b < batch; b++ {
		if !st.active[b] {
			continue
		}
		g := st.gates[b*h : (b+1)*h]
		if st.s.hasClip {
			rnnClip(g, st.clip)
		}
		rnnApply(st.acts[0], g)
		copy(st.state[b*h:(b+1)*h], g)
	}
	return nil
}
