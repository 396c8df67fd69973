//go:build amd64 && !purego && linux

package gemm

import (
	"os"
	"strings"
	"testing"
)

// TestDetectAVX2FMA compares the CPUID-based detection with the feature
// flags the Linux kernel reports in /proc/cpuinfo, and checks that the
// kernel choice follows it.
func TestDetectAVX2FMA(t *testing.T) {
	raw, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skipf("no /proc/cpuinfo: %v", err)
	}
	var flags map[string]bool
	for _, line := range strings.Split(string(raw), "\n") {
		if name, val, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) == "flags" {
			flags = map[string]bool{}
			for _, f := range strings.Fields(val) {
				flags[f] = true
			}
			break
		}
	}
	if flags == nil {
		t.Skip("no flags line in /proc/cpuinfo")
	}
	want := flags["avx2"] && flags["fma"]
	if hasAVX2FMA != want {
		t.Fatalf("detected AVX2+FMA = %v, /proc/cpuinfo says avx2=%v fma=%v", hasAVX2FMA, flags["avx2"], flags["fma"])
	}
	if wantName := map[bool]string{true: "avx2+fma 6x16", false: "portable Go"}[want]; Kernel() != wantName {
		t.Fatalf("Kernel() = %q, want %q", Kernel(), wantName)
	}
	if wantName := map[bool]string{true: "avx2 vpmaddwd 6x16", false: "portable Go"}[want]; IKernel() != wantName {
		t.Fatalf("IKernel() = %q, want %q", IKernel(), wantName)
	}
}
