//go:build amd64 && !purego

package gemm

import "unsafe"

// iKernel6x16 is the AVX2 integer micro-kernel (igemm_amd64.s): it adds
// the product of an A panel and a B panel of kp >= 1 K pairs to the full
// 6 x 16 int32 block at c (leading dimension ldc).
//
//go:noescape
func iKernel6x16(kp int, a, b *int16, c *int32, ldc int)

func init() {
	if hasAVX2FMA {
		iMicroKernel = iMicroKernelAVX2
		iKernelName = "avx2 vpmaddwd 6x16"
	}
}

func iMicroKernelAVX2(kp int, a, b []int16, c []int32, ldc int) {
	if kp <= 0 {
		return
	}
	_ = a[kp*imr*2-1]
	_ = b[kp*inr*2-1]
	_ = c[(imr-1)*ldc+inr-1]
	iKernel6x16(kp, unsafe.SliceData(a), unsafe.SliceData(b), unsafe.SliceData(c), ldc)
}

// packIBPairsU8 and packIBPairsS8 pack pairs of rows of a full 16-column
// B panel, widening unsigned or signed bytes to int16 and subtracting the
// column zero points (igemm_amd64.s).
//
//go:noescape
func packIBPairsU8(dst *int16, src *uint8, ldb int, pairs int, zb *int16)

//go:noescape
func packIBPairsS8(dst *int16, src *int8, ldb int, pairs int, zb *int16)

// packIBPairs packs the first pairs K pairs of a full panel whose first
// value is b[0] (row stride ldb) with the vector packer when the CPU has
// AVX2.
func packIBPairs(dst []int16, b []uint8, signed bool, ldb, pairs int, zb *[inr]int16) bool {
	if !hasAVX2FMA {
		return false
	}
	if pairs <= 0 {
		return true
	}
	_ = dst[pairs*inr*2-1]
	_ = b[(2*pairs-1)*ldb+inr-1]
	if signed {
		packIBPairsS8(&dst[0], (*int8)(unsafe.Pointer(&b[0])), ldb, pairs, &zb[0])
	} else {
		packIBPairsU8(&dst[0], &b[0], ldb, pairs, &zb[0])
	}
	return true
}
