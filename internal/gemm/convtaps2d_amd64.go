//go:build amd64 && !purego

package gemm

import "unsafe"

// convTaps2D is ConvTaps2D's vector loop (convrow_amd64.s).
//
//go:noescape
func convTaps2D(out *float32, ostride, rows, n int, x *float32, xstride int, offs *int, w *float32, taps int, bias, lo, hi float32)

func init() {
	if hasAVX2FMA {
		convTaps2DAsm = func(out []float32, ostride, rows, n int, x []float32, xstride int, offs []int, w []float32, bias, lo, hi float32) {
			convTaps2D(unsafe.SliceData(out), ostride, rows, n, unsafe.SliceData(x), xstride, unsafe.SliceData(offs), unsafe.SliceData(w), len(w), bias, lo, hi)
		}
	}
}
