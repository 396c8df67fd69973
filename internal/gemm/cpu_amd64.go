//go:build amd64 && !purego

package gemm

// CPU feature detection for the assembly kernels. The CPUID and XGETBV
// instructions are reached through the small stubs in cpu_amd64.s; the
// checks follow the processor manuals: AVX2 and FMA need the CPUID feature
// bits and, since they use the 256-bit YMM state, the operating system must
// have enabled saving that state (OSXSAVE set, and XCR0 bits 1 and 2).

// cpuid executes CPUID with the given leaf (EAX) and subleaf (ECX).
func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// xgetbv0 returns the low 32 bits of extended control register 0 (XCR0).
func xgetbv0() uint32

// hasAVX2FMA reports whether the CPU and the operating system support the
// AVX2 and FMA3 instructions the assembly kernels use.
var hasAVX2FMA = detectAVX2FMA()

func detectAVX2FMA() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const (
		fmaBit     = 1 << 12
		osxsaveBit = 1 << 27
		avxBit     = 1 << 28
	)
	if ecx1&fmaBit == 0 || ecx1&osxsaveBit == 0 || ecx1&avxBit == 0 {
		return false
	}
	// XCR0 bit 1: SSE (XMM) state, bit 2: AVX (upper YMM) state.
	if xgetbv0()&6 != 6 {
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	const avx2Bit = 1 << 5
	return ebx7&avx2Bit != 0
}
