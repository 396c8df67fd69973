package gemm

import "time"

// fmaPeakLoop, when set, runs n iterations of a register-only loop of 12
// independent 8-wide fused multiply-adds (12*8 = 96 multiply-adds, 192
// flops per iteration).
var fmaPeakLoop func(n int)

// PeakGFLOPS estimates one core's float32 peak in GFLOP/s by timing, for
// about d, a loop of independent 8-wide fused multiply-adds with no memory
// traffic: the best rate any kernel built from those instructions can reach
// on this core at its current clock. ok is false when this build has no
// such loop (no AVX2+FMA, or the purego tag).
func PeakGFLOPS(d time.Duration) (gflops float64, ok bool) {
	if fmaPeakLoop == nil {
		return 0, false
	}
	const iters = 1 << 16
	const flopsPerIter = 12 * 8 * 2
	fmaPeakLoop(iters) // warm up the clock
	best := 0.0
	for start := time.Now(); time.Since(start) < d; {
		t0 := time.Now()
		fmaPeakLoop(iters)
		el := time.Since(t0).Seconds()
		if el > 0 {
			if r := iters * flopsPerIter / el / 1e9; r > best {
				best = r
			}
		}
	}
	return best, true
}
