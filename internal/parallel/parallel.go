// Package parallel splits loops across goroutines for the engine's kernels.
package parallel

import (
	"runtime"
	"sync"
)

// For runs body(lo, hi) over [0, n) split into at most threads contiguous
// chunks of at least grain iterations each, and waits for all of them. With
// threads <= 0 it uses GOMAXPROCS. Small loops run on the calling goroutine.
func For(n, grain, threads int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
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
	var wg sync.WaitGroup
	wg.Add(chunks - 1)
	for c := 1; c < chunks; c++ {
		lo, hi := c*n/chunks, (c+1)*n/chunks
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, n/chunks)
	wg.Wait()
}
