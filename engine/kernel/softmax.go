package kernel

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

// smxKind selects Softmax, LogSoftmax or Hardmax.
type smxKind int

const (
	smxSoftmax smxKind = iota
	smxLogSoftmax
	smxHardmax
)

func init() {
	Register(Op{Type: "Softmax", Build: func(n *Node) (Kernel, error) { return buildSoftmax(n, smxSoftmax) }})
	Register(Op{Type: "LogSoftmax", Build: func(n *Node) (Kernel, error) { return buildSoftmax(n, smxLogSoftmax) }})
	Register(Op{Type: "Hardmax", Build: func(n *Node) (Kernel, error) { return buildSoftmax(n, smxHardmax) }})
}

// buildSoftmax prepares Softmax, LogSoftmax and Hardmax. Up to opset 12 the
// input is coerced to 2-D at axis (default 1): every row of
// [d0*...*d(axis-1), d(axis)*...*d(n-1)] is normalized as a whole. From
// opset 13 the operation runs along the single dimension axis (default -1).
// Hardmax sets the first maximum of each set to 1 and the rest to 0.
// https://onnx.ai/onnx/operators/onnx__Softmax.html
func buildSoftmax(n *Node, kind smxKind) (Kernel, error) {
	perAxis := n.Opset >= 13
	def := int64(1)
	if perAxis {
		def = -1
	}
	axis, err := n.Int("axis", def)
	if err != nil {
		return nil, err
	}
	name := n.Proto.GetOpType()
	return KernelFunc(func(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
		if len(in) == 0 || in[0] == nil {
			return nil, fmt.Errorf("kernel: %s: missing input", name)
		}
		x := in[0]
		r := len(x.Shape)
		var outer, size, inner int
		if perAxis {
			ax, err := redAxis(axis, r)
			if err != nil {
				return nil, fmt.Errorf("kernel: %s: %w", name, err)
			}
			outer, size, inner = argmSplit(x.Shape, ax)
		} else {
			// The coercion axis may equal the rank (every row has one element).
			if axis < -int64(r) || axis > int64(r) {
				return nil, fmt.Errorf("kernel: %s: axis %d out of range for rank %d", name, axis, r)
			}
			ax := int(axis)
			if ax < 0 {
				ax += r
			}
			outer, size, inner = 1, 1, 1
			for _, d := range x.Shape[:ax] {
				outer *= d
			}
			for _, d := range x.Shape[ax:] {
				size *= d
			}
		}
		switch xs := x.Data.(type) {
		case []float32:
			out := ctx.NewUninit(x.DType, x.Shape...) // every value is written
			smxRun(ctx, kind, xs, out.Data.([]float32), outer, size, inner)
			return ctx.Out(out), nil
		case []float64:
			out := ctx.NewUninit(x.DType, x.Shape...) // every value is written
			smxRun(ctx, kind, xs, out.Data.([]float64), outer, size, inner)
			return ctx.Out(out), nil
		case []tensor.F16, []tensor.BF16:
			f, err := tensor.Float32s(x)
			if err != nil {
				return nil, fmt.Errorf("kernel: %s: %w", name, err)
			}
			res := make([]float32, len(f))
			smxRun(ctx, kind, f, res, outer, size, inner)
			out, err := tensor.Convert(tensor.FromSlice(x.Shape, res), x.DType)
			if err != nil {
				return nil, fmt.Errorf("kernel: %s: %w", name, err)
			}
			return ctx.Out(out), nil
		}
		return nil, fmt.Errorf("kernel: %s: %v input: %w", name, x.DType, ErrUnsupported)
	}), nil
}

// smxRun normalizes x viewed as [outer, size, inner] along the middle
// dimension. Work is shared among threads by outer blocks, or, when there
// are too few of them, by ranges of inner columns.
func smxRun[T float32 | float64](ctx *Ctx, kind smxKind, x, y []T, outer, size, inner int) {
	if outer == 0 || size == 0 || inner == 0 {
		return
	}
	threads := redThreads(ctx)
	block := size * inner
	j := takeJob[smxJob[T], T](&smxJobs)
	*j = smxJob[T]{kind: kind, x: x, y: y, size: size, inner: inner}
	if inner > 1 && outer < threads {
		j.cols = true
		for o := 0; o < outer; o++ {
			j.x, j.y = x[o*block:(o+1)*block], y[o*block:(o+1)*block]
			parallel.Do(inner, 1+8192/size, threads, j)
		}
	} else {
		parallel.Do(outer, 1+16384/block, threads, j)
	}
	dropJob[T](&smxJobs, j)
}

// smxJob normalizes blocks [lo, hi) of x into y, or, with cols, columns
// [lo, hi) of the single block x.
type smxJob[T float32 | float64] struct {
	kind        smxKind
	x, y        []T
	size, inner int
	cols        bool
}

var smxJobs kindJobPool

// smxWork recycles the float64 scratch of strided softmaxes.
var smxWork bufPool[float64]

func (j *smxJob[T]) Range(lo, hi int) {
	size, inner := j.size, j.inner
	if j.kind == smxSoftmax {
		if x, ok := any(j.x).([]float32); ok {
			smxSoftmaxF32(x, any(j.y).([]float32), size, inner, j.cols, lo, hi)
			return
		}
	}
	if j.cols {
		w := smxWork.get(2 * (hi - lo))
		smxStrided(j.kind, j.x, j.y, size, inner, lo, hi, *w)
		smxWork.put(w)
		return
	}
	block := size * inner
	var w *[]float64
	if inner > 1 {
		w = smxWork.get(2 * inner)
	}
	for o := lo; o < hi; o++ {
		xs, ys := j.x[o*block:(o+1)*block], j.y[o*block:(o+1)*block]
		if inner == 1 {
			smxRow(j.kind, xs, ys)
		} else {
			smxStrided(j.kind, xs, ys, size, inner, 0, inner, *w)
		}
	}
	if w != nil {
		smxWork.put(w)
	}
}

// smxIsF32 reports whether T is float32, whose exponentials use smxExp.
func smxIsF32[T float32 | float64]() bool {
	var z T
	_, ok := any(z).(float32)
	return ok
}

// smxExp returns e^x with a relative error below 1e-8, ample for float32
// results and about twice as fast as math.Exp: x = n*ln2 + r with n an
// integer and |r| <= ln2/2, e^r from its Taylor series to degree 7 (error
// below r^8/8! < 6e-9, evaluated in Estrin's order), scaled by 2^n through
// the exponent bits. Arguments whose result would not be a normal float64
// go to math.Exp.
func smxExp(x float64) float64 {
	if !(x >= -708 && x <= 709) {
		return math.Exp(x)
	}
	t := x * math.Log2E
	var n int64
	if t < 0 {
		n = int64(t - 0.5)
	} else {
		n = int64(t + 0.5)
	}
	r := x - float64(n)*math.Ln2
	r2 := r * r
	lo := (1 + r) + r2*(1.0/2+r*(1.0/6))
	hi := (1.0/24 + r*(1.0/120)) + r2*(1.0/720+r*(1.0/5040))
	return (lo + r2*r2*hi) * math.Float64frombits(uint64(n+1023)<<52)
}

// smxF32Work recycles smxSoftmaxF32's column maxima and sums.
var smxF32Work bufPool[float32]

// smxSoftmaxF32 is smxJob's Range for float32 Softmax: the exponentials
// through gemm.ExpSubF32 and the sums and scaling through vector loops,
// eight values at a time (sums in float32, within a few units in the last
// place of the float64 path's results). cols says whether lo, hi are
// columns of one [size, inner] block or whole blocks.
func smxSoftmaxF32(x, y []float32, size, inner int, cols bool, lo, hi int) {
	if cols {
		w := smxF32Work.get(2 * (hi - lo))
		smxStridedF32(x, y, size, inner, lo, hi, *w)
		smxF32Work.put(w)
		return
	}
	if inner == 1 && size < 16 {
		smxShortRowsF32(x, y, size, lo, hi)
		return
	}
	block := size * inner
	var w *[]float32
	if inner > 1 {
		w = smxF32Work.get(2 * inner)
	}
	for o := lo; o < hi; o++ {
		xs, ys := x[o*block:(o+1)*block], y[o*block:(o+1)*block]
		if inner == 1 {
			smxRowF32(xs, ys)
		} else {
			smxStridedF32(xs, ys, size, inner, 0, inner, *w)
		}
	}
	if w != nil {
		smxF32Work.put(w)
	}
}

// smxShortRowsF32 is Softmax over rows [lo, hi) of fewer than 16 values
// each (as detection heads' class scores): rather than a few values per
// vector call, one call over all the rows' values, each row's maximum (and
// then its reciprocal sum) spread over its values.
func smxShortRowsF32(x, y []float32, size, lo, hi int) {
	xs, ys := x[lo*size:hi*size], y[lo*size:hi*size]
	w := smxF32Work.get(len(xs))
	spread := *w
	for r := 0; r < hi-lo; r++ {
		row := xs[r*size : (r+1)*size]
		m := row[0]
		for _, v := range row {
			if v > m {
				m = v
			}
		}
		for i := range size {
			spread[r*size+i] = m
		}
	}
	gemm.ExpSubF32(ys, xs, spread, 1)
	for r := 0; r < hi-lo; r++ {
		var s float64
		for _, v := range ys[r*size : (r+1)*size] {
			s += float64(v)
		}
		inv := float32(1 / s)
		for i := range size {
			spread[r*size+i] = inv
		}
	}
	gemm.ArithF32(gemm.ArithMul, ys, ys, 1, spread, 1, false, 0, 0)
	smxF32Work.put(w)
}

// smxRowF32 is smxRow's Softmax for float32 values.
func smxRowF32(x, y []float32) {
	m := x[0]
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	ms := [1]float32{m}
	gemm.ExpSubF32(y, x, ms[:], 0)
	var s float64
	for _, v := range y {
		s += float64(v)
	}
	inv := [1]float32{float32(1 / s)}
	gemm.ArithF32(gemm.ArithMul, y, y, 1, inv[:], 0, false, 0, 0)
}

// smxStridedF32 is smxStrided's Softmax for float32 values; work holds
// 2*(hi-lo) values. The column maxima propagate NaN (smxStrided's skip
// it), which gives the same NaN columns: a NaN reaches every exponential
// of its column through the sum either way.
func smxStridedF32(x, y []float32, size, inner, lo, hi int, work []float32) {
	w := hi - lo
	mx, sum := work[:w], work[w:2*w]
	copy(mx, x[lo:hi])
	for k := 1; k < size; k++ {
		gemm.MaxInto(mx, x[k*inner+lo:k*inner+hi])
	}
	clear(sum)
	for k := 0; k < size; k++ {
		out := y[k*inner+lo : k*inner+hi]
		gemm.ExpSubF32(out, x[k*inner+lo:k*inner+hi], mx, 1)
		gemm.ArithF32(gemm.ArithAdd, sum, sum, 1, out, 1, false, 0, 0)
	}
	one := [1]float32{1}
	gemm.ArithF32(gemm.ArithDiv, sum, one[:], 0, sum, 1, false, 0, 0)
	for k := 0; k < size; k++ {
		out := y[k*inner+lo : k*inner+hi]
		gemm.ArithF32(gemm.ArithMul, out, out, 1, sum, 1, false, 0, 0)
	}
}

// smxRow normalizes one contiguous set of values.
func smxRow[T float32 | float64](kind smxKind, x, y []T) {
	m, at := x[0], 0
	for i, v := range x {
		if v > m {
			m, at = v, i
		}
	}
	switch kind {
	case smxHardmax:
		for i := range y {
			y[i] = 0
		}
		y[at] = 1
	case smxSoftmax:
		mf := float64(m)
		fast := smxIsF32[T]()
		var s float64
		for i, v := range x {
			var e float64
			if fast {
				e = smxExp(float64(v) - mf)
			} else {
				e = math.Exp(float64(v) - mf)
			}
			y[i] = T(e)
			s += e
		}
		inv := 1 / s
		for i := range y {
			y[i] = T(float64(y[i]) * inv)
		}
	case smxLogSoftmax:
		mf := float64(m)
		fast := smxIsF32[T]()
		var s float64
		for _, v := range x {
			if fast {
				s += smxExp(float64(v) - mf)
			} else {
				s += math.Exp(float64(v) - mf)
			}
		}
		sh := mf + math.Log(s)
		for i, v := range x {
			y[i] = T(float64(v) - sh)
		}
	}
}

// smxStrided normalizes columns lo..hi-1 of a [size, inner] block, each
// down its size rows, sweeping rows for contiguous access. work holds
// 2*(hi-lo) scratch values.
func smxStrided[T float32 | float64](kind smxKind, x, y []T, size, inner, lo, hi int, work []float64) {
	w := hi - lo
	mx, sum := work[:w], work[w:2*w]
	for i := range mx {
		mx[i] = float64(x[lo+i])
		sum[i] = 0
	}
	if kind == smxHardmax {
		// sum holds the row index of the first maximum.
		for k := 1; k < size; k++ {
			row := x[k*inner+lo : k*inner+hi]
			for i, v := range row {
				if f := float64(v); f > mx[i] {
					mx[i], sum[i] = f, float64(k)
				}
			}
		}
		for k := 0; k < size; k++ {
			out := y[k*inner+lo : k*inner+hi]
			for i := range out {
				out[i] = 0
			}
		}
		for i, k := range sum {
			y[int(k)*inner+lo+i] = 1
		}
		return
	}
	for k := 1; k < size; k++ {
		row := x[k*inner+lo : k*inner+hi]
		for i, v := range row {
			if f := float64(v); f > mx[i] {
				mx[i] = f
			}
		}
	}
	fast := smxIsF32[T]()
	for k := 0; k < size; k++ {
		row, out := x[k*inner+lo:k*inner+hi], y[k*inner+lo:k*inner+hi]
		for i, v := range row {
			var e float64
			if fast {
				e = smxExp(float64(v) - mx[i])
			} else {
				e = math.Exp(float64(v) - mx[i])
			}
			sum[i] += e
			if kind == smxSoftmax {
				out[i] = T(e)
			}
		}
	}
	if kind == smxSoftmax {
		for i := range sum {
			sum[i] = 1 / sum[i]
		}
		for k := 0; k < size; k++ {
			out := y[k*inner+lo : k*inner+hi]
			for i := range out {
				out[i] = T(float64(out[i]) * sum[i])
			}
		}
		return
	}
	for i := range sum {
		sum[i] = mx[i] + math.Log(sum[i])
	}
	for k := 0; k < size; k++ {
		row, out := x[k*inner+lo:k*inner+hi], y[k*inner+lo:k*inner+hi]
		for i, v := range row {
			out[i] = T(float64(v) - sum[i])
		}
	}
}
