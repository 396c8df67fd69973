package kernel

import (
	"sync"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
)

// Im2col turns a convolution into a matrix product. For one image, the
// patch matrix has one row per (input channel, kernel tap) pair and one
// column per output position; entry (c*K + t, o) is the input value of
// channel c that tap t of output position o reads (K = w.KernelSize(), taps
// in row-major order over the kernel axes, so the rows follow the layout of
// a Conv weight [M, C, k1, ..., kn]). Positions that fall in the padding
// read pad, which is 0 for float convolutions and the input zero point for
// quantized ones. Then Y[M, out] = W[M, C*K] x col[C*K, out].

// Im2col writes the patch matrix of the first channels channels of x (one
// image, channel-major, w.InSize() values per channel) to col, which must
// hold channels*w.KernelSize()*w.OutSize() values. threads bounds the
// goroutines used.
func Im2col[T any](w *Window, x []T, channels int, col []T, pad T, threads int) {
	rows := channels * w.KernelSize()
	outSize := w.OutSize()
	grain := max(1, (1<<14)/max(outSize, 1))
	if threads <= 1 || rows < 2*grain {
		Im2colRows(w, x, 0, rows, col, pad)
		return
	}
	p := im2colJobs[T]()
	j, _ := p.Get().(*im2colJob[T])
	if j == nil {
		j = new(im2colJob[T])
	}
	*j = im2colJob[T]{w: w, x: x, col: col, pad: pad}
	parallel.Do(rows, grain, threads, j)
	*j = im2colJob[T]{}
	p.Put(j)
}

// im2colJob is Im2col's loop over patch rows.
type im2colJob[T any] struct {
	w      *Window
	x, col []T
	pad    T
}

func (j *im2colJob[T]) Range(lo, hi int) {
	outSize := j.w.OutSize()
	Im2colRows(j.w, j.x, lo, hi, j.col[lo*outSize:hi*outSize], j.pad)
}

// im2colPools holds the job pools of Im2col per element type.
var im2colPools struct{ f32, f64, u8, i8, other sync.Pool }

// im2colJobs returns the pool of Im2col's jobs for T (one that also sees
// other types for types the engine does not convolve).
func im2colJobs[T any]() *sync.Pool {
	switch any((*T)(nil)).(type) {
	case *float32:
		return &im2colPools.f32
	case *float64:
		return &im2colPools.f64
	case *uint8:
		return &im2colPools.u8
	case *int8:
		return &im2colPools.i8
	}
	return &im2colPools.other
}

// Im2colRows writes rows [lo, hi) of the patch matrix (see Im2col) to col,
// which holds (hi-lo)*w.OutSize() values.
func Im2colRows[T any](w *Window, x []T, lo, hi int, col []T, pad T) {
	if w.Rank() == 2 {
		im2colRows2D(w, x, lo, hi, col, pad)
		return
	}
	im2colRowsND(w, x, lo, hi, col, pad)
}

// im2colRowsND is Im2colRows for any number of spatial axes.
func im2colRowsND[T any](w *Window, x []T, lo, hi int, col []T, pad T) {
	rank := w.Rank()
	k := w.KernelSize()
	inSize := w.InSize()
	outSize := w.OutSize()
	last := rank - 1
	inLast, outLast := w.In[last], w.Out[last]
	sLast, dLast, pLast := w.Strides[last], w.Dilations[last], w.PadBegin[last]
	nOuter := outSize / max(outLast, 1)

	// Input strides of the spatial axes.
	var inStrideBuf [8]int
	inStride := inStrideBuf[:0]
	if rank > len(inStrideBuf) {
		inStride = make([]int, 0, rank)
	}
	inStride = inStride[:rank]
	st := 1
	for a := last; a >= 0; a-- {
		inStride[a] = st
		st *= w.In[a]
	}
	var tapBuf, oBuf [8]int
	tap := tapBuf[:0]
	o := oBuf[:0]
	if rank > len(tapBuf) {
		tap = make([]int, 0, rank)
		o = make([]int, 0, rank)
	}
	tap, o = tap[:rank], o[:rank]

	for r := lo; r < hi; r++ {
		c, t := r/k, r%k
		// Decode tap index t into per-axis taps.
		for a := last; a >= 0; a-- {
			tap[a] = t % w.Kernel[a]
			t /= w.Kernel[a]
		}
		src := x[c*inSize : (c+1)*inSize]
		dst := col[(r-lo)*outSize : (r-lo+1)*outSize]
		// Valid output range [olo, ohi) along the last axis: the input
		// position o*s - p + tap*d must lie in [0, inLast).
		shift := tap[last]*dLast - pLast
		olo := 0
		if shift < 0 {
			olo = (-shift + sLast - 1) / sLast
		}
		ohi := 0
		if inLast-1-shift >= 0 {
			ohi = (inLast-1-shift)/sLast + 1
		}
		olo = min(olo, outLast)
		ohi = min(max(ohi, olo), outLast)

		for a := range o[:last] {
			o[a] = 0
		}
		for q := 0; q < nOuter; q++ {
			row := dst[q*outLast : (q+1)*outLast]
			off, valid := 0, true
			for a := 0; a < last; a++ {
				p := o[a]*w.Strides[a] - w.PadBegin[a] + tap[a]*w.Dilations[a]
				if p < 0 || p >= w.In[a] {
					valid = false
					break
				}
				off += p * inStride[a]
			}
			// Advance the odometer over the outer output axes.
			for a := last - 1; a >= 0; a-- {
				o[a]++
				if o[a] < w.Out[a] {
					break
				}
				o[a] = 0
			}
			if !valid {
				for i := range row {
					row[i] = pad
				}
				continue
			}
			for i := 0; i < olo; i++ {
				row[i] = pad
			}
			for i := ohi; i < outLast; i++ {
				row[i] = pad
			}
			if ohi > olo {
				base := off + olo*sLast + shift
				if sLast == 1 {
					copy(row[olo:ohi], src[base:base+ohi-olo])
				} else if rf, ok := any(row).([]float32); ok {
					// float32: a vector loop for stride 2.
					sf := any(src).([]float32)
					_ = gemm.CopyStrided(rf[olo:ohi], sf[base:], sLast)
				} else {
					seg := row[olo:ohi]
					for i := range seg {
						seg[i] = src[base+i*sLast]
					}
				}
			}
		}
	}
}

// im2colRows2D is Im2colRows for two spatial axes: per patch row, the
// output rows whose input row lies in the padding are filled with pad,
// the others copied (with the last axis's stride) between their padding.
func im2colRows2D[T any](w *Window, x []T, lo, hi int, col []T, pad T) {
	kh, kw := w.Kernel[0], w.Kernel[1]
	k := kh * kw
	ih, iw := w.In[0], w.In[1]
	oh, ow := w.Out[0], w.Out[1]
	sh, sw := w.Strides[0], w.Strides[1]
	dh, dw := w.Dilations[0], w.Dilations[1]
	ph, pw := w.PadBegin[0], w.PadBegin[1]
	inSize, outSize := ih*iw, oh*ow
	for r := lo; r < hi; r++ {
		c, t := r/k, r%k
		th, tw := t/kw, t%kw
		src := x[c*inSize : (c+1)*inSize]
		dst := col[(r-lo)*outSize : (r-lo+1)*outSize]
		// Valid output columns [olo, ohi): o*sw + shift in [0, iw).
		shift := tw*dw - pw
		olo := 0
		if shift < 0 {
			olo = (-shift + sw - 1) / sw
		}
		ohi := 0
		if iw-1-shift >= 0 {
			ohi = (iw-1-shift)/sw + 1
		}
		olo = min(olo, ow)
		ohi = min(max(ohi, olo), ow)
		for q := 0; q < oh; q++ {
			row := dst[q*ow : (q+1)*ow]
			y := q*sh - ph + th*dh
			if y < 0 || y >= ih {
				fillPad(row, pad)
				continue
			}
			fillPad(row[:olo], pad)
			fillPad(row[ohi:], pad)
			if ohi <= olo {
				continue
			}
			base := y*iw + olo*sw + shift
			seg := row[olo:ohi]
			switch {
			case sw == 1:
				copy(seg, src[base:base+len(seg)])
			case sw == 2 && len(seg) >= 16:
				// A vector loop for strides 2 (float32 and bytes).
				switch sf := any(src).(type) {
				case []float32:
					_ = gemm.CopyStrided(any(seg).([]float32), sf[base:], 2)
					continue
				case []uint8:
					// A window of one: a strided copy.
					_ = gemm.PoolRowMaxBytes(any(seg).([]uint8), sf[base:], 1, 2, false)
					continue
				case []int8:
					_ = gemm.PoolRowMaxBytes(qToBytes(any(seg).([]int8)), qToBytes(sf[base:]), 1, 2, false)
					continue
				}
				fallthrough
			default:
				for i := range seg {
					seg[i] = src[base+i*sw]
				}
			}
		}
	}
}

// fillPad sets every value of s to pad.
func fillPad[T any](s []T, pad T) {
	for i := range s {
		s[i] = pad
	}
}

// Col2im is the adjoint of Im2col, used by ConvTranspose: it adds every
// entry of the patch matrix col (channels*w.KernelSize() rows of w.OutSize()
// values) to the position of y it would have been read from, skipping
// padding positions. y holds channels*w.InSize() values. Channels are
// shared among threads goroutines (each channel's rows touch only that
// channel of y).
func Col2im[T float32 | float64](w *Window, col []T, channels int, y []T, threads int) {
	k := w.KernelSize()
	outSize := w.OutSize()
	grain := max(1, (1<<14)/max(k*outSize, 1))
	if threads <= 1 || channels < 2*grain {
		col2imChannels(w, col, y, 0, channels)
		return
	}
	j := col2imJobs[T]().get()
	*j = col2imJob[T]{w: w, col: col, y: y}
	parallel.Do(channels, grain, threads, j)
	*j = col2imJob[T]{}
	col2imJobs[T]().put(j)
}

// col2imJob is Col2im's loop over channels.
type col2imJob[T float32 | float64] struct {
	w      *Window
	col, y []T
}

var col2imPools struct {
	f32 jobPool[col2imJob[float32]]
	f64 jobPool[col2imJob[float64]]
}

// col2imJobs returns the job pool of Col2im for T.
func col2imJobs[T float32 | float64]() *jobPool[col2imJob[T]] {
	if p, ok := any(&col2imPools.f32).(*jobPool[col2imJob[T]]); ok {
		return p
	}
	return any(&col2imPools.f64).(*jobPool[col2imJob[T]])
}

func (j *col2imJob[T]) Range(lo, hi int) { col2imChannels(j.w, j.col, j.y, lo, hi) }

// col2imChannels is Col2im for channels [lo, hi).
func col2imChannels[T float32 | float64](w *Window, col, y []T, lo, hi int) {
	k := w.KernelSize()
	outSize := w.OutSize()
	inSize := w.InSize()
	for c := lo; c < hi; c++ {
		col2imChannel(w, col[c*k*outSize:(c+1)*k*outSize], y[c*inSize:(c+1)*inSize])
	}
}

func col2imChannel[T float32 | float64](w *Window, col []T, y []T) {
	rank := w.Rank()
	k := w.KernelSize()
	outSize := w.OutSize()
	last := rank - 1
	inLast, outLast := w.In[last], w.Out[last]
	sLast, dLast, pLast := w.Strides[last], w.Dilations[last], w.PadBegin[last]
	nOuter := outSize / max(outLast, 1)
	var inStrideBuf, tapBuf, oBuf [8]int
	inStride, tap, o := inStrideBuf[:0], tapBuf[:0], oBuf[:0]
	if rank > len(inStrideBuf) {
		inStride, tap, o = make([]int, 0, rank), make([]int, 0, rank), make([]int, 0, rank)
	}
	inStride, tap, o = inStride[:rank], tap[:rank], o[:rank]
	st := 1
	for a := last; a >= 0; a-- {
		inStride[a] = st
		st *= w.In[a]
	}
	for t0 := 0; t0 < k; t0++ {
		t := t0
		for a := last; a >= 0; a-- {
			tap[a] = t % w.Kernel[a]
			t /= w.Kernel[a]
		}
		src := col[t0*outSize : (t0+1)*outSize]
		shift := tap[last]*dLast - pLast
		olo := 0
		if shift < 0 {
			olo = (-shift + sLast - 1) / sLast
		}
		ohi := 0
		if inLast-1-shift >= 0 {
			ohi = (inLast-1-shift)/sLast + 1
		}
		olo = min(olo, outLast)
		ohi = min(max(ohi, olo), outLast)
		for a := range o[:last] {
			o[a] = 0
		}
		for q := 0; q < nOuter; q++ {
			row := src[q*outLast : (q+1)*outLast]
			off, valid := 0, true
			for a := 0; a < last; a++ {
				p := o[a]*w.Strides[a] - w.PadBegin[a] + tap[a]*w.Dilations[a]
				if p < 0 || p >= w.In[a] {
					valid = false
					break
				}
				off += p * inStride[a]
			}
			for a := last - 1; a >= 0; a-- {
				o[a]++
				if o[a] < w.Out[a] {
					break
				}
				o[a] = 0
			}
			if !valid || ohi <= olo {
				continue
			}
			base := off + olo*sLast + shift
			seg := row[olo:ohi]
			if sLast == 1 {
				dst := y[base : base+len(seg)]
				for i, v := range seg {
					dst[i] += v
				}
			} else {
				for i, v := range seg {
					y[base+i*sLast] += v
				}
			}
		}
	}
}
