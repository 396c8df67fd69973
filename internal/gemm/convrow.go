package gemm

import "fmt"

// convRowAsm, when set, is the vector version of ConvRow's inner work for
// stride 1 or 2: it handles the first n outputs, n a multiple of 8, and
// for stride 2 may read one value past the last tap.
var convRowAsm func(acc []float32, n int, x, w []float32, stride int)

// ConvRow adds one kernel row's contribution to one output row of a
// convolution: acc[i] += sum over j < len(w) of w[j] * x[i*stride+j], for
// i < len(acc), the terms added in order of j. It is the inner loop of the
// depthwise convolution. x must hold at least (len(acc)-1)*stride+len(w)
// values and stride must be at least 1.
func ConvRow(acc, x, w []float32, stride int) error {
	n, kw := len(acc), len(w)
	if n == 0 || kw == 0 {
		return nil
	}
	if stride < 1 {
		return fmt.Errorf("gemm: ConvRow: stride %d", stride)
	}
	if need := (n-1)*stride + kw; len(x) < need {
		return fmt.Errorf("gemm: ConvRow: x holds %d values, %d outputs with stride %d and %d taps need %d", len(x), n, stride, kw, need)
	}
	done := 0
	if convRowAsm != nil && (stride == 1 || stride == 2) {
		done = n &^ 7
		if stride == 2 && done > 0 && len(x) < (done-1)*2+kw+1 {
			done -= 8 // the last block's loads would pass the end of x
		}
		if done > 0 {
			convRowAsm(acc, done, x, w, stride)
		}
	}
	for i := done; i < n; i++ {
		s := acc[i]
		xi := x[i*stride : i*stride+kw]
		for j, wv := range w {
			s += wv * xi[j]
		}
		acc[i] = s
	}
	return nil
}

// biasClampAsm, when set, is BiasClamp's vector loop for the first n
// values, n a multiple of 8.
var biasClampAsm func(v []float32, n int, bias, lo, hi float32, mode int)

// BiasClamp finishes values in place: when addBias, v[i] += bias; when
// clamp, v[i] is then bounded to [lo, hi] as "if v < lo { v = lo }; if v >
// hi { v = hi }" does it: NaN stays NaN, hi wins when lo > hi, and a value
// equal to a bound keeps its own sign of zero (Relu(-0) = -0).
func BiasClamp(v []float32, addBias bool, bias float32, clamp bool, lo, hi float32) {
	mode := 0
	if addBias {
		mode |= 1
	}
	if clamp {
		mode |= 2
	}
	if mode == 0 || len(v) == 0 {
		return
	}
	done := 0
	if biasClampAsm != nil {
		if done = len(v) &^ 7; done > 0 {
			biasClampAsm(v, done, bias, lo, hi, mode)
		}
	}
	rest := v[done:]
	if addBias {
		for i := range rest {
			rest[i] += bias
		}
	}
	if clamp {
		for i, x := range rest {
			if x < lo {
				x = lo
			}
			if x > hi {
				x = hi
			}
			rest[i] = x
		}
	}
}

// maxIntoAsm, when set, is MaxInto's vector loop for the first n values, n
// a multiple of 8.
var maxIntoAsm func(dst, src []float32, n int)

// MaxInto sets dst[i] to the greater of dst[i] and src[i], for i <
// len(dst) (src must be at least as long): src[i] unless dst[i] > src[i],
// so equal values (+0 and -0) give src's, and a NaN on either side gives
// NaN.
func MaxInto(dst, src []float32) {
	n := len(dst)
	src = src[:n]
	done := 0
	if maxIntoAsm != nil && n >= 8 {
		done = n &^ 7
		maxIntoAsm(dst, src, done)
		if done < n {
			// The last 8 again: max is idempotent, so the overlap
			// with the values done is harmless and the tail needs no
			// scalar loop.
			maxIntoAsm(dst[n-8:], src[n-8:], 8)
			done = n
		}
	}
	for i := done; i < n; i++ {
		if d, v := dst[i], src[i]; d == d && !(d > v) {
			dst[i] = v
		}
	}
}

// poolRowMaxAsm, when set, is PoolRowMax's vector loop for strides 1 and 2
// over the first n outputs, n a multiple of 8; for stride 2 it may read one
// value past the last tap.
var poolRowMaxAsm func(out []float32, n int, x []float32, kw, stride int)

// PoolRowMax sets out[i] to the maximum of x[i*stride+j] over j < kw, for
// i < len(out): one row of a max pooling over a row of (already pooled
// vertically) values. A window holding a NaN gives NaN. x must hold at
// least (len(out)-1)*stride+kw values; kw and stride must be at least 1.
func PoolRowMax(out, x []float32, kw, stride int) error {
	n := len(out)
	if n == 0 {
		return nil
	}
	if kw < 1 || stride < 1 {
		return fmt.Errorf("gemm: PoolRowMax: window %d, stride %d", kw, stride)
	}
	if need := (n-1)*stride + kw; len(x) < need {
		return fmt.Errorf("gemm: PoolRowMax: x holds %d values, %d outputs with stride %d and window %d need %d", len(x), n, stride, kw, need)
	}
	done := 0
	if poolRowMaxAsm != nil && (stride == 1 || stride == 2) {
		done = n &^ 7
		if stride == 2 && done > 0 && len(x) < (done-1)*2+kw+1 {
			done -= 8
		}
		if done > 0 {
			poolRowMaxAsm(out, done, x, kw, stride)
			// A tail of the last 8 outputs again (each output depends
			// on x alone), when the vector loop's reads stay in x.
			if t := n - 8; done < n && t >= 0 && (stride == 1 || len(x) >= (n-1)*2+kw+1) {
				poolRowMaxAsm(out[t:], 8, x[t*stride:], kw, stride)
				done = n
			}
		}
	}
	for i := done; i < n; i++ {
		w := x[i*stride : i*stride+kw]
		best := w[0]
		for _, v := range w[1:] {
			if best == best && !(best > v) {
				best = v
			}
		}
		out[i] = best
	}
	return nil
}

// copyEvensAsm, when set, copies src[2*i] to dst[i] for i < n, n a
// multiple of 8, reading src[:2*n].
var copyEvensAsm func(dst, src []float32, n int)

// CopyStrided sets dst[i] = src[i*stride] for i < len(dst); src must hold
// at least (len(dst)-1)*stride+1 values and stride must be at least 1.
// Strides 1 and 2 take vector loops.
func CopyStrided(dst, src []float32, stride int) error {
	n := len(dst)
	if n == 0 {
		return nil
	}
	if stride < 1 {
		return fmt.Errorf("gemm: CopyStrided: stride %d", stride)
	}
	if need := (n-1)*stride + 1; len(src) < need {
		return fmt.Errorf("gemm: CopyStrided: src holds %d values, %d with stride %d need %d", len(src), n, stride, need)
	}
	if stride == 1 {
		copy(dst, src)
		return nil
	}
	done := 0
	if copyEvensAsm != nil && stride == 2 {
		done = min(n, len(src)/2) &^ 7
		if done > 0 {
			copyEvensAsm(dst, src, done)
		}
	}
	for i := done; i < n; i++ {
		dst[i] = src[i*stride]
	}
	return nil
}

// convTapsAsm, when set, is ConvTaps's vector loop for strides 1 and 2
// over the first n outputs, n a multiple of 8 (stride 2 may read one value
// past the last tap).
var convTapsAsm func(out []float32, n int, x []float32, offs []int, w []float32, stride int, bias, lo, hi float32)

// ConvTaps computes out[k] = clamp(bias + sum over t of
// w[t]*x[k*stride+offs[t]]) for k < len(out), the terms added in order of
// t and the clamp to [lo, hi] as BiasClamp does it (lo = -Inf, hi = +Inf
// for none): a convolution output row (or, with stride 1, a whole plane
// laid out flat) with its taps given as offsets into the input. Every
// offset must be at least 0, x must hold (len(out)-1)*stride+offs[t]+1
// values for each, len(offs) must equal len(w) >= 1 and stride must be at
// least 1. Strides 1 and 2 take vector loops.
func ConvTaps(out, x []float32, offs []int, w []float32, stride int, bias, lo, hi float32) error {
	n := len(out)
	if n == 0 {
		return nil
	}
	if len(w) == 0 || len(offs) != len(w) || stride < 1 {
		return fmt.Errorf("gemm: ConvTaps: %d offsets for %d weights, stride %d", len(offs), len(w), stride)
	}
	maxOff := 0
	for _, o := range offs {
		if o < 0 || (n-1)*stride+o >= len(x) {
			return fmt.Errorf("gemm: ConvTaps: tap at offset %d does not fit %d outputs with stride %d in x of %d values", o, n, stride, len(x))
		}
		maxOff = max(maxOff, o)
	}
	convTapsRow(out, x, offs, maxOff, w, stride, bias, lo, hi)
	return nil
}

// ConvTapsRows is ConvTaps over rows rows: for r < rows, out[r*ostride:
// r*ostride+n] is ConvTaps of x[r*xstride:], checked once for all rows
// (the strided rows of a depthwise plane).
func ConvTapsRows(out []float32, ostride, rows, n int, x []float32, xstride int, offs []int, w []float32, stride int, bias, lo, hi float32) error {
	if rows <= 0 || n <= 0 {
		return nil
	}
	if len(w) == 0 || len(offs) != len(w) || stride < 1 || ostride < n || xstride < 0 {
		return fmt.Errorf("gemm: ConvTapsRows: %d offsets for %d weights, stride %d, %d columns, row strides %d and %d", len(offs), len(w), stride, n, ostride, xstride)
	}
	if need := (rows-1)*ostride + n; len(out) < need {
		return fmt.Errorf("gemm: ConvTapsRows: out holds %d values, %d rows of %d need %d", len(out), rows, n, need)
	}
	maxOff := 0
	for _, o := range offs {
		if o < 0 || (rows-1)*xstride+(n-1)*stride+o >= len(x) {
			return fmt.Errorf("gemm: ConvTapsRows: tap at offset %d does not fit %d rows of %d outputs in x of %d values", o, rows, n, len(x))
		}
		maxOff = max(maxOff, o)
	}
	for r := 0; r < rows; r++ {
		convTapsRow(out[r*ostride:r*ostride+n], x[r*xstride:], offs, maxOff, w, stride, bias, lo, hi)
	}
	return nil
}

// convTapsRow is ConvTaps after its checks; maxOff is the largest offset.
func convTapsRow(out, x []float32, offs []int, maxOff int, w []float32, stride int, bias, lo, hi float32) {
	n := len(out)
	done := 0
	if convTapsAsm != nil && stride <= 2 {
		done = n &^ 7
		if stride == 2 && done > 0 && (done-1)*2+maxOff+1 >= len(x) {
			done -= 8 // the last block's loads would pass the end of x
		}
		if done > 0 {
			convTapsAsm(out, done, x, offs, w, stride, bias, lo, hi)
			// The last 8 outputs again, as one more vector step, when
			// its loads stay in x: each output depends on x alone.
			if t := n - 8; done < n && (stride == 1 || (n-1)*2+maxOff+1 < len(x)) {
				convTapsAsm(out[t:], 8, x[t*stride:], offs, w, stride, bias, lo, hi)
				done = n
			}
		}
	}
	for k := done; k < n; k++ {
		s := bias
		for t, o := range offs {
			s += w[t] * x[k*stride+o]
		}
		if s < lo {
			s = lo
		}
		if s > hi {
			s = hi
		}
		out[k] = s
	}
}

// convTaps2DAsm, when set, is ConvTaps2D's vector loop: all of it, the
// last partial block of each row overlapping the one before it (or, in
// rows shorter than a block, with masked loads and stores), so that every
// value is computed as the vector loop of ConvTaps computes it.
var convTaps2DAsm func(out []float32, ostride, rows, n int, x []float32, xstride int, offs []int, w []float32, bias, lo, hi float32)

// ConvTaps2D is ConvTaps with stride 1 over a rectangle: for r < rows and
// k < n, out[r*ostride+k] = clamp(bias + sum over t of
// w[t]*x[r*xstride+k+offs[t]]), the terms added in order of t and the
// clamp as in ConvTaps. Each value is computed exactly as ConvTaps's
// vector loop computes it where there is one (a fused multiply-add per
// tap), with no value of out outside the rectangle written and no value
// of x outside the windows read. Offsets must be at least 0, len(offs)
// must equal len(w) >= 1, and out and x must hold the rectangle.
func ConvTaps2D(out []float32, ostride, rows, n int, x []float32, xstride int, offs []int, w []float32, bias, lo, hi float32) error {
	if rows <= 0 || n <= 0 {
		return nil
	}
	if len(w) == 0 || len(offs) != len(w) || ostride < n || xstride < 0 {
		return fmt.Errorf("gemm: ConvTaps2D: %d offsets for %d weights, %d columns, strides %d, %d", len(offs), len(w), n, ostride, xstride)
	}
	if need := (rows-1)*ostride + n; len(out) < need {
		return fmt.Errorf("gemm: ConvTaps2D: out holds %d values, %d rows of %d with stride %d need %d", len(out), rows, n, ostride, need)
	}
	for _, o := range offs {
		if o < 0 || (rows-1)*xstride+n-1+o >= len(x) {
			return fmt.Errorf("gemm: ConvTaps2D: tap at offset %d does not fit %d rows of %d (stride %d) in x of %d values", o, rows, n, xstride, len(x))
		}
	}
	if convTaps2DAsm != nil {
		convTaps2DAsm(out, ostride, rows, n, x, xstride, offs, w, bias, lo, hi)
		return nil
	}
	for r := 0; r < rows; r++ {
		or, xr := out[r*ostride:r*ostride+n], x[r*xstride:]
		for k := range or {
			s := bias
			for t, o := range offs {
				s += w[t] * xr[k+o]
			}
			if s < lo {
				s = lo
			}
			if s > hi {
				s = hi
			}
			or[k] = s
		}
	}
	return nil
}
