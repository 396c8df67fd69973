//go:build !amd64 || purego

package gemm

// packIBPairs has no vector version in this build: packIB packs every
// pair itself.
func packIBPairs(dst []int16, b []uint8, signed bool, ldb, pairs int, zb *[inr]int16) bool {
	return false
}
