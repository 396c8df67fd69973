//go:build amd64 && !purego

package gemm

import "unsafe"

// sgemmKernel6x16 adds alpha * a * b to the full 6 x 16 block at c (leading
// dimension ldc): a is a packed A panel and b a packed B panel of kc >= 1
// steps. It is written in assembly with AVX2 and FMA (sgemm_amd64.s).
//
//go:noescape
func sgemmKernel6x16(kc int, a, b, c *float32, ldc int, alpha float32, ep *kernelEp)

// fmaLoop runs n iterations of 12 independent 8-wide FMAs (192 flops each).
//
//go:noescape
func fmaLoop(n int)

func init() {
	if hasAVX2FMA {
		microKernel = microKernelAVX2
		kernelName = "avx2+fma 6x16"
		fmaPeakLoop = fmaLoop
	}
}

// microKernelAVX2 is the micro-kernel of CPUs with AVX2 and FMA. A full
// block goes straight to C; a partial one (mv < MR or nv < NR) is computed
// into a local block and its mv x nv corner added to C, so that nothing
// outside the block is touched.
func microKernelAVX2(kc int, a, b []float32, c []float32, ldc int, alpha float32, mv, nv int, ep *kernelEp) {
	if kc <= 0 || mv <= 0 || nv <= 0 {
		return
	}
	// Bounds the assembly relies on, checked here once.
	_ = a[kc*MR-1]
	_ = b[kc*NR-1]
	if mv == MR && nv == NR {
		_ = c[(MR-1)*ldc+NR-1]
		sgemmKernel6x16(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, ep)
		return
	}
	var tmp [MR * NR]float32
	sgemmKernel6x16(kc, unsafe.SliceData(a), unsafe.SliceData(b), &tmp[0], NR, alpha, nil)
	_ = c[(mv-1)*ldc+nv-1]
	for i := 0; i < mv; i++ {
		row := c[i*ldc : i*ldc+nv]
		for j := range row {
			row[j] += tmp[i*NR+j]
		}
	}
}

// convRowS1 and convRowS2 are ConvRow's vector loops for strides 1 and 2
// (convrow_amd64.s): n a multiple of 8, kw >= 1.
//
//go:noescape
func convRowS1(acc *float32, n int, x *float32, w *float32, kw int)

//go:noescape
func convRowS2(acc *float32, n int, x *float32, w *float32, kw int)

func init() {
	if hasAVX2FMA {
		convRowAsm = func(acc []float32, n int, x, w []float32, stride int) {
			if stride == 1 {
				convRowS1(&acc[0], n, &x[0], &w[0], len(w))
			} else {
				convRowS2(&acc[0], n, &x[0], &w[0], len(w))
			}
		}
	}
}

// biasClampRow is BiasClamp's vector loop (convrow_amd64.s): n a multiple
// of 8, mode bit 0 adds bias, bit 1 clamps.
//
//go:noescape
func biasClampRow(v *float32, n int, bias, lo, hi float32, mode int)

func init() {
	if hasAVX2FMA {
		biasClampAsm = func(v []float32, n int, bias, lo, hi float32, mode int) {
			biasClampRow(&v[0], n, bias, lo, hi, mode)
		}
	}
}

// maxIntoRow is MaxInto's vector loop (convrow_amd64.s), n a multiple of 8.
//
//go:noescape
func maxIntoRow(dst, src *float32, n int)

func init() {
	if hasAVX2FMA {
		maxIntoAsm = func(dst, src []float32, n int) { maxIntoRow(&dst[0], &src[0], n) }
	}
}

// sgemmKernel6x16B is sgemmKernel6x16 reading B in place, step p's 16
// values at b[p*ldb:] (sgemm_amd64.s).
//
//go:noescape
func sgemmKernel6x16B(kc int, a, b *float32, ldb int, c *float32, ldc int, alpha float32, ep *kernelEp)

func init() {
	if hasAVX2FMA {
		microKernelB = microKernelBAVX2
	}
}

// microKernelBAVX2 is the micro-kernel for a full block of C whose B part
// is read in place (no packing).
func microKernelBAVX2(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha float32, ep *kernelEp) {
	if kc <= 0 {
		return
	}
	_ = a[kc*MR-1]
	_ = b[(kc-1)*ldb+NR-1]
	_ = c[(MR-1)*ldc+NR-1]
	sgemmKernel6x16B(kc, unsafe.SliceData(a), unsafe.SliceData(b), ldb, unsafe.SliceData(c), ldc, alpha, ep)
}

// poolRowMaxS1 and poolRowMaxS2 are PoolRowMax's vector loops
// (convrow_amd64.s): n a multiple of 8, kw >= 1.
//
//go:noescape
func poolRowMaxS1(out *float32, n int, x *float32, kw int)

//go:noescape
func poolRowMaxS2(out *float32, n int, x *float32, kw int)

func init() {
	if hasAVX2FMA {
		poolRowMaxAsm = func(out []float32, n int, x []float32, kw, stride int) {
			if stride == 1 {
				poolRowMaxS1(&out[0], n, &x[0], kw)
			} else {
				poolRowMaxS2(&out[0], n, &x[0], kw)
			}
		}
	}
}

// copyEvens is CopyStrided's vector loop for stride 2 (convrow_amd64.s).
//
//go:noescape
func copyEvens(dst, src *float32, n int)

func init() {
	if hasAVX2FMA {
		copyEvensAsm = func(dst, src []float32, n int) { copyEvens(&dst[0], &src[0], n) }
	}
}

// sgemmKernel6x16I is sgemmKernel6x16 with B rows through offsets: step
// p's 16 values at b[offs[p]:] (sgemm_amd64.s).
//
//go:noescape
func sgemmKernel6x16I(kc int, a, b *float32, offs *int, c *float32, ldc int, alpha float32, ep *kernelEp)

func init() {
	if hasAVX2FMA {
		microKernelI = microKernelIAVX2
	}
}

// microKernelIAVX2 is the micro-kernel for a full block of C whose B rows
// are b[offs[p]:] (the caller has checked that every row holds NR values).
func microKernelIAVX2(kc int, a, b []float32, offs []int, c []float32, ldc int, alpha float32, ep *kernelEp) {
	if kc <= 0 {
		return
	}
	_ = a[kc*MR-1]
	_ = offs[kc-1]
	_ = c[(MR-1)*ldc+NR-1]
	sgemmKernel6x16I(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(offs), unsafe.SliceData(c), ldc, alpha, ep)
}

// sgemmKernel6x16BN and sgemmKernel6x16IN run the in-place and offset B
// kernels over consecutive 16-column panels in one call (sgemm_amd64.s).
//
//go:noescape
func sgemmKernel6x16BN(kc int, a, b *float32, ldb int, c *float32, ldc int, alpha float32, ep *kernelEp, panels int)

//go:noescape
func sgemmKernel6x16IN(kc int, a, b *float32, offs *int, c *float32, ldc int, alpha float32, ep *kernelEp, panels int)

func init() {
	if hasAVX2FMA {
		microKernelRow = microKernelRowAVX2
	}
}

// microKernelRowAVX2 runs the B-in-place (offs nil) or offset-B kernel on
// panels full blocks side by side; the caller has checked that B holds
// panels*NR values from every row start.
func microKernelRowAVX2(kc int, a, b []float32, ldb int, offs []int, c []float32, ldc int, alpha float32, ep *kernelEp, panels int) {
	if kc <= 0 || panels <= 0 {
		return
	}
	_ = a[kc*MR-1]
	_ = c[(MR-1)*ldc+panels*NR-1]
	if offs != nil {
		_ = offs[kc-1]
		sgemmKernel6x16IN(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(offs), unsafe.SliceData(c), ldc, alpha, ep, panels)
		return
	}
	_ = b[(kc-1)*ldb+panels*NR-1]
	sgemmKernel6x16BN(kc, unsafe.SliceData(a), unsafe.SliceData(b), ldb, unsafe.SliceData(c), ldc, alpha, ep, panels)
}

// convTaps is ConvTaps's vector loop (convrow_amd64.s).
//
//go:noescape
func convTaps(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias, lo, hi float32)

//go:noescape
func convTapsS2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias, lo, hi float32)

func init() {
	if hasAVX2FMA {
		convTapsAsm = func(out []float32, n int, x []float32, offs []int, w []float32, stride int, bias, lo, hi float32) {
			if stride == 2 {
				convTapsS2(&out[0], n, &x[0], &offs[0], &w[0], len(w), bias, lo, hi)
				return
			}
			convTaps(&out[0], n, &x[0], &offs[0], &w[0], len(w), bias, lo, hi)
		}
	}
}

// packA6 and packB16 are the packers of whole A panels (6 rows, 8-column
// blocks) and whole B panels (16 columns) of non-transposed operands
// (sgemm_amd64.s).
//
//go:noescape
func packA6(dst, src *float32, lda, blocks int)

//go:noescape
func packB16(dst, src *float32, ldb, kc int)

func init() {
	if hasAVX2FMA {
		packA6Asm = func(dst, src []float32, lda, kc int) int {
			blocks := kc / 8
			if blocks == 0 {
				return 0
			}
			_ = dst[blocks*8*MR-1]
			_ = src[(MR-1)*lda+blocks*8-1]
			packA6(&dst[0], &src[0], lda, blocks)
			return blocks * 8
		}
		packB16Asm = func(dst, src []float32, ldb, kc int) {
			if kc <= 0 {
				return
			}
			_ = dst[kc*NR-1]
			_ = src[(kc-1)*ldb+NR-1]
			packB16(&dst[0], &src[0], ldb, kc)
		}
	}
}

// sgemmKernel6x16M runs the packed kernel on panels consecutive 6-row
// blocks sharing one B panel, adding to C or (load 0) overwriting it
// (sgemm_amd64.s).
//
//go:noescape
func sgemmKernel6x16M(kc int, a, b, c *float32, ldc int, alpha float32, load int, panels int)

func init() {
	if hasAVX2FMA {
		microKernelCol = microKernelColAVX2
	}
}

// microKernelColAVX2 checks the bounds sgemmKernel6x16M relies on.
func microKernelColAVX2(kc int, a, b, c []float32, ldc int, alpha float32, load bool, panels int) {
	if kc <= 0 || panels <= 0 {
		return
	}
	_ = a[panels*kc*MR-1]
	_ = b[kc*NR-1]
	_ = c[(panels*MR-1)*ldc+NR-1]
	l := 0
	if load {
		l = 1
	}
	sgemmKernel6x16M(kc, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc, alpha, l, panels)
}
