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
