//go:build !amd64 || purego

package gemm

// The quantized loops have no vector versions in this build.

func requantVec(dst []byte, acc []int32, bias int32, mult []float32, lo, hi float32, zp int32, signed bool) int {
	return 0
}

func quantVec(dst []byte, x []float32, scale, lo, hi float32, zp int32, signed bool) int { return 0 }

func dequantVec(dst []float32, x []byte, zp int32, scale float32, signed bool) int { return 0 }

func maxBytesVec(dst, src []byte, signed bool) int { return 0 }

func poolRowMaxBytesVec(out, x []byte, kw, stride int, signed bool) int { return 0 }

func qaddVec(out, a, b []byte, rA, rB, fixed float32, lo, hi int32, signed bool) int { return 0 }

func truncVec(dst []int32, src []float32) int { return 0 }
