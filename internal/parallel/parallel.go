// Package parallel splits loops across goroutines for the engine's kernels.
//
// All loops of the process share one budget of GOMAXPROCS running bodies:
// a loop always works on its calling goroutine and starts a helper
// goroutine only while fewer than GOMAXPROCS bodies are running in the
// whole process; the work of helpers that find no room is done by those
// that run. So sessions running in parallel (each asking for all cores)
// share the cores instead of oversubscribing them, while a session alone
// uses them all.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// running counts the loop bodies running now, process-wide: callers'
// first chunks and helpers.
var running atomic.Int64

// For runs body(lo, hi) over [0, n) split into contiguous pieces of at
// least grain iterations each, on at most threads goroutines, and waits
// for all of them. With threads <= 0 it uses GOMAXPROCS. Small loops run on
// the calling goroutine.
//
// The pieces (up to four per goroutine) are handed out through a shared
// counter, so a goroutine that finishes early takes over pieces a slower
// one has not started, and the caller never waits for a helper that has
// not been scheduled yet: it waits only for pieces in progress. Helper
// goroutines are started only within the process-wide budget of GOMAXPROCS
// running bodies.
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
	pieces := min(n/grain, 4*chunks)
	l := &loop{n: n, pieces: int64(pieces), body: body}
	l.wg.Add(pieces)
	running.Add(1)
	defer running.Add(-1)
	for c := 1; c < chunks; c++ {
		if running.Add(1) > int64(procs) {
			running.Add(-1)
			break
		}
		go func() {
			defer running.Add(-1)
			l.work()
		}()
	}
	l.work()
	l.wg.Wait()
}

// loop is one For call's shared state.
type loop struct {
	n      int
	pieces int64
	next   atomic.Int64
	wg     sync.WaitGroup // counts pieces, not goroutines
	body   func(lo, hi int)
}

// work runs pieces until none is left.
func (l *loop) work() {
	for {
		i := l.next.Add(1) - 1
		if i >= l.pieces {
			return
		}
		lo := int(i * int64(l.n) / l.pieces)
		hi := int((i + 1) * int64(l.n) / l.pieces)
		l.body(lo, hi)
		l.wg.Done()
	}
}

// Running reports how many loop bodies are running now in the process (for
// tests and diagnostics).
func Running() int { return int(running.Load()) }
