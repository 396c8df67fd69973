//go:build amd64 && !purego

package gemm

// requantRow is Requantize's vector loop (quant_amd64.s): n a multiple of
// 8; mult advances by mstep bytes every 8 values (0: 8 copies of one
// multiplier, 32: one multiplier per value).
//
//go:noescape
func requantRow(dst *byte, acc *int32, n int, bias int32, mult *float32, mstep int, lo, hi float32, zp int32, signed bool)

// quantRow is Quantize's vector loop (quant_amd64.s), n a multiple of 8.
//
//go:noescape
func quantRow(dst *byte, x *float32, n int, scale, lo, hi float32, zp int32, signed bool)

// dequantRow is Dequantize's vector loop (quant_amd64.s), n a multiple of
// 8.
//
//go:noescape
func dequantRow(dst *float32, x *byte, n int, zp int32, scale float32, signed bool)

// maxBytesRow is MaxBytes's vector loop (quant_amd64.s), n a multiple of
// 32.
//
//go:noescape
func maxBytesRow(dst, src *byte, n int, signed bool)

func requantVec(dst []byte, acc []int32, bias int32, mult []float32, lo, hi float32, zp int32, signed bool) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	if len(mult) > 1 {
		requantRow(&dst[0], &acc[0], n, bias, &mult[0], 32, lo, hi, zp, signed)
		return n
	}
	m := mult[0]
	m8 := [8]float32{m, m, m, m, m, m, m, m}
	requantRow(&dst[0], &acc[0], n, bias, &m8[0], 0, lo, hi, zp, signed)
	return n
}

func quantVec(dst []byte, x []float32, scale, lo, hi float32, zp int32, signed bool) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	quantRow(&dst[0], &x[0], n, scale, lo, hi, zp, signed)
	return n
}

func dequantVec(dst []float32, x []byte, zp int32, scale float32, signed bool) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	dequantRow(&dst[0], &x[0], n, zp, scale, signed)
	return n
}

func maxBytesVec(dst, src []byte, signed bool) int {
	n := len(dst) &^ 31
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	maxBytesRow(&dst[0], &src[0], n, signed)
	return n
}

// poolRowMax8S1 and poolRowMax8S2 are PoolRowMaxBytes's vector loops for
// strides 1 (n a multiple of 32) and 2 (n a multiple of 16, reading one
// value past the last window) (quant_amd64.s).
//
//go:noescape
func poolRowMax8S1(out *byte, n int, x *byte, kw int, signed bool)

//go:noescape
func poolRowMax8S2(out *byte, n int, x *byte, kw int, signed bool)

func poolRowMaxBytesVec(out, x []byte, kw, stride int, signed bool) int {
	if !hasAVX2FMA {
		return 0
	}
	n := len(out)
	switch stride {
	case 1:
		if n &^= 31; n > 0 {
			poolRowMax8S1(&out[0], n, &x[0], kw, signed)
		}
		return n
	case 2:
		n &^= 15
		if n > 0 && len(x) < (n-1)*2+kw+1 {
			n -= 16 // the last block's loads would pass the end of x
		}
		if n > 0 {
			poolRowMax8S2(&out[0], n, &x[0], kw, signed)
		}
		return n
	}
	return 0
}

// qaddRow is QAddVec's loop (quant_amd64.s), n a multiple of 8; mode bit
// 0 says signed, bit 1 that b is read.
//
//go:noescape
func qaddRow(out, a, b *byte, n int, rA, rB, fixed float32, lo, hi int32, mode int)

func qaddVec(out, a, b []byte, rA, rB, fixed float32, lo, hi int32, signed bool) int {
	n := len(out) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	mode := 0
	if signed {
		mode |= 1
	}
	pb := &a[0]
	if b != nil {
		mode |= 2
		pb = &b[0]
	}
	qaddRow(&out[0], &a[0], pb, n, rA, rB, fixed, lo, hi, mode)
	return n
}

// truncRow is TruncInt32's loop (quant_amd64.s), n a multiple of 8.
//
//go:noescape
func truncRow(dst *int32, src *float32, n int)

func truncVec(dst []int32, src []float32) int {
	n := len(dst) &^ 7
	if !hasAVX2FMA || n == 0 {
		return 0
	}
	truncRow(&dst[0], &src[0], n)
	return n
}
