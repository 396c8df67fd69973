//go:build race

package gemm

// raceEnabled reports a build with the race detector, under which
// sync.Pool drops a share of the values put back on purpose, so that
// recycled buffers are reallocated now and then.
const raceEnabled = true
