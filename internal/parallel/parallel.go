// Package parallel splits loops across goroutines for the engine's kernels.
//
// All loops of the process share one budget of GOMAXPROCS running bodies:
// a loop runs its first chunk on the calling goroutine and starts a helper
// goroutine for another chunk only while fewer than GOMAXPROCS bodies are
// running in the whole process; chunks that find no room run on the
// caller after its own. So sessions running in parallel (each asking for
// all cores) share the cores instead of oversubscribing them, while a
// session alone uses them all.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// running counts the loop bodies running now, process-wide: callers'
// first chunks and helpers.
var running atomic.Int64

// For runs body(lo, hi) over [0, n) split into at most threads contiguous
// chunks of at least grain iterations each, and waits for all of them. With
// threads <= 0 it uses GOMAXPROCS. Small loops run on the calling goroutine.
// Helper goroutines are started only within the process-wide budget of
// GOMAXPROCS running bodies; the chunks beyond it run on the caller.
func For(n, grain, threads int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	procs := runtime.GOMAXPROCS(0)
	if threads <= 0 {
		threads = procs
	}
	if grain < 1 {
		grain = 1
	}
	chunks := n / grain
	if chunks > threads {
		chunks = threads
	}
	if chunks <= 1 {
		body(0, n)
		return
	}
	running.Add(1)
	defer running.Add(-1)
	var wg sync.WaitGroup
	// Chunks [1, spawned) run on helpers, [spawned, chunks) on the caller.
	spawned := 1
	for c := 1; c < chunks; c++ {
		if running.Add(1) > int64(procs) {
			running.Add(-1)
			break
		}
		spawned++
		lo, hi := c*n/chunks, (c+1)*n/chunks
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer running.Add(-1)
			body(lo, hi)
		}()
	}
	body(0, n/chunks)
	for c := spawned; c < chunks; c++ {
		body(c*n/chunks, (c+1)*n/chunks)
	}
	wg.Wait()
}

// Running reports how many loop bodies are running now in the process (for
// tests and diagnostics).
func Running() int { return int(running.Load()) }
