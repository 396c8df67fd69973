package gemm

import "fmt"

// Vector loops of the quantized operators: requantization of int32
// accumulators, quantization of float32 values and dequantization of 8-bit
// values, and the byte maximum of the 8-bit max pools. Each exported
// function has a portable Go loop, which is also the reference the vector
// version must match bit for bit, and on amd64 with AVX2 (without the
// purego tag) an assembly loop for the bulk of the values (quant_amd64.s).
//
// The float arithmetic is ONNX Runtime's (MLAS's MlasRequantizeOutput and
// MlasQuantizeLinear), operation by operation in float32:
//
//	v = float32(acc + bias) * mult      (requantization)
//	v = x / scale                       (quantization)
//	v clamped to [lo, hi] (NaN gives lo), rounded half to even, + zp
//
// where lo and hi are the output type's range minus the zero point, so the
// rounded value plus zp always fits the output type.

// The vector loops (quant_amd64.go, quant_generic.go) each handle a
// prefix of the values and return its length: requantVec, quantVec,
// dequantVec and maxBytesVec for Requantize, Quantize, Dequantize and
// MaxBytes, with the same arguments (after their length checks).

// rne rounds x half to even in float32; exact for |x| <= 2^22 (the values
// here are clamped to an 8-bit range first).
func rne(x float32) float32 {
	const magic = 12582912 // 1.5 * 2^23
	return (x + magic) - magic
}

// clampRound clamps v to [lo, hi] (NaN gives lo), rounds it half to even
// and adds zp.
func clampRound(v, lo, hi float32, zp int32) int32 {
	if !(v >= lo) {
		v = lo
	}
	if v > hi {
		v = hi
	}
	return int32(rne(v)) + zp
}

// Requantize sets dst[i] to the requantized value of acc[i] for i <
// len(dst): float32(acc[i] + bias) times mult[0] when mult holds one value,
// else mult[i], clamped to [lo, hi], rounded half to even, plus zp, stored
// as a byte (the bits of an int8 when signed). lo and hi must be the
// output type's limits minus zp. acc (and a per-value mult) must be at
// least as long as dst.
func Requantize(dst []byte, acc []int32, bias int32, mult []float32, lo, hi float32, zp int32, signed bool) {
	n := len(dst)
	if n == 0 {
		return
	}
	acc = acc[:n]
	per := len(mult) > 1
	if per {
		mult = mult[:n]
	}
	done := requantVec(dst, acc, bias, mult, lo, hi, zp, signed)
	if per {
		for i := done; i < n; i++ {
			dst[i] = byte(clampRound(float32(acc[i]+bias)*mult[i], lo, hi, zp))
		}
		return
	}
	m := mult[0]
	for i := done; i < n; i++ {
		dst[i] = byte(clampRound(float32(acc[i]+bias)*m, lo, hi, zp))
	}
}

// Quantize sets dst[i] to x[i] / scale in float32, clamped to [lo, hi],
// rounded half to even, plus zp, stored as a byte (the bits of an int8
// when signed), for i < len(dst). lo and hi must be the output type's
// limits minus zp; x must be at least as long as dst.
func Quantize(dst []byte, x []float32, scale, lo, hi float32, zp int32, signed bool) {
	n := len(dst)
	if n == 0 {
		return
	}
	x = x[:n]
	done := quantVec(dst, x, scale, lo, hi, zp, signed)
	for i := done; i < n; i++ {
		dst[i] = byte(clampRound(x[i]/scale, lo, hi, zp))
	}
}

// Dequantize sets dst[i] = float32(x[i] - zp) * scale for i < len(dst),
// x holding uint8 values, or the bits of int8 values when signed. The
// difference is exact in integers and converted once. x must be at least
// as long as dst.
func Dequantize(dst []float32, x []byte, zp int32, scale float32, signed bool) {
	n := len(dst)
	if n == 0 {
		return
	}
	x = x[:n]
	done := dequantVec(dst, x, zp, scale, signed)
	if signed {
		for i := done; i < n; i++ {
			dst[i] = float32(int32(int8(x[i]))-zp) * scale
		}
		return
	}
	for i := done; i < n; i++ {
		dst[i] = float32(int32(x[i])-zp) * scale
	}
}

// MaxBytes sets dst[i] to the greater of dst[i] and src[i] for i <
// len(dst), comparing uint8 values, or int8 values when signed. src must
// be at least as long as dst.
func MaxBytes(dst, src []byte, signed bool) {
	n := len(dst)
	if n == 0 {
		return
	}
	src = src[:n]
	done := maxBytesVec(dst, src, signed)
	if signed {
		for i := done; i < n; i++ {
			dst[i] = byte(max(int8(dst[i]), int8(src[i])))
		}
		return
	}
	for i := done; i < n; i++ {
		dst[i] = max(dst[i], src[i])
	}
}

// PoolRowMaxBytes sets out[i] to the maximum of x[i*stride+j] over j < kw,
// for i < len(out), comparing uint8 values, or int8 values when signed:
// one row of an 8-bit max pooling over a row of (already pooled
// vertically) values. x must hold at least (len(out)-1)*stride+kw values;
// kw and stride must be at least 1.
func PoolRowMaxBytes(out, x []byte, kw, stride int, signed bool) error {
	n := len(out)
	if n == 0 {
		return nil
	}
	if kw < 1 || stride < 1 {
		return fmt.Errorf("gemm: PoolRowMaxBytes: window %d, stride %d", kw, stride)
	}
	if need := (n-1)*stride + kw; len(x) < need {
		return fmt.Errorf("gemm: PoolRowMaxBytes: x holds %d values, %d outputs with stride %d and window %d need %d", len(x), n, stride, kw, need)
	}
	done := poolRowMaxBytesVec(out, x, kw, stride, signed)
	if signed {
		for i := done; i < n; i++ {
			w := x[i*stride : i*stride+kw]
			m := int8(w[0])
			for _, v := range w[1:] {
				m = max(m, int8(v))
			}
			out[i] = byte(m)
		}
		return nil
	}
	for i := done; i < n; i++ {
		w := x[i*stride : i*stride+kw]
		m := w[0]
		for _, v := range w[1:] {
			m = max(m, v)
		}
		out[i] = m
	}
	return nil
}

// QAddVec is the vector loop of the 8-bit QLinearAdd (ONNX Runtime's
// formula, with fused multiply-adds rounded once in float32):
//
//	out[i] = sat(fma(float32(a[i]), rA, fma(float32(b[i]), rB, fixed)))
//
// or, when b is nil, sat(fma(float32(a[i]), rA, fixed)), where sat clamps
// to [lo-1, hi+1] (NaN stays NaN), rounds half to even and saturates the
// integer to [lo, hi]. a, b and out hold uint8 values, or int8 ones when
// signed. It handles a prefix of out and returns its length, 0 where there
// is no vector loop (the caller computes the rest, exactly so).
func QAddVec(out, a, b []byte, rA, rB, fixed float32, lo, hi int32, signed bool) int {
	n := len(out)
	a = a[:n]
	if b != nil {
		b = b[:n]
	}
	return qaddVec(out, a, b, rA, rB, fixed, lo, hi, signed)
}

// TruncInt32 sets dst[i] = int32(src[i]) (truncation toward zero) for i <
// len(dst). The values must lie within int32's range (Go leaves the
// conversion of others to the implementation). src must be at least as
// long as dst.
func TruncInt32(dst []int32, src []float32) {
	n := len(dst)
	if n == 0 {
		return
	}
	src = src[:n]
	for i := truncVec(dst, src); i < n; i++ {
		dst[i] = int32(src[i])
	}
}
