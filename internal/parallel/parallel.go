// Package parallel splits loops across goroutines for the engine's kernels.
//
// All loops of the process share one budget of GOMAXPROCS running bodies:
// a loop always works on its calling goroutine and takes helpers only
// while fewer than GOMAXPROCS bodies are running in the whole process; the
// work of helpers that find no room is done by those that run. So sessions
// running in parallel (each asking for all cores) share the cores instead
// of oversubscribing them, while a session alone uses them all.
//
// Helpers are long-lived worker goroutines (GOMAXPROCS-1 of them). A
// worker that has finished a loop spins for a short while (yielding its
// processor to any other goroutine) before it goes to sleep, so the next
// loop of a run, typically microseconds later, finds it awake: waking a
// sleeping thread costs tens of microseconds on virtual machines, as much
// as many of the engine's operators take.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// running counts the loop bodies running now, process-wide: callers and
// helpers working on a loop.
var running atomic.Int64

// spin is how long an idle worker keeps looking for a loop before it
// sleeps.
const spin = 50 * time.Microsecond

var (
	// offer is the loop that wants helpers now (the latest one offered).
	offer atomic.Pointer[loop]
	// sleepers counts workers asleep on wake.
	sleepers atomic.Int32
	wake     = make(chan struct{}, 256)

	workersMu sync.Mutex
	workers   int

	// hot counts the callers (engine runs using several goroutines) in
	// progress: while it is above zero, idle workers keep spinning instead
	// of sleeping, so that each loop of the run finds them awake.
	hot atomic.Int32
)

// Hold keeps the helper goroutines spinning between loops until the
// returned function is called: for a sequence of many short parallel
// loops (one model run), where waking a sleeping helper for each loop
// would cost more than the loop saves. Holds nest and may overlap.
func Hold() (release func()) {
	hot.Add(1)
	var once sync.Once
	return func() { once.Do(func() { hot.Add(-1) }) }
}

// For runs body(lo, hi) over [0, n) split into contiguous pieces of at
// least grain iterations each, on at most threads goroutines, and waits
// for all of them. With threads <= 0 it uses GOMAXPROCS. Small loops run on
// the calling goroutine.
//
// The pieces (up to four per goroutine) are handed out through a shared
// counter, so a goroutine that finishes early takes over pieces a slower
// one has not started, and the caller never waits for a helper that has
// not joined yet: it waits only for pieces in progress. Helpers join only
// within the process-wide budget of GOMAXPROCS running bodies.
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
	if chunks <= 1 || procs <= 1 {
		body(0, n)
		return
	}
	pieces := min(n/grain, 4*chunks)
	l := &loop{n: n, pieces: int64(pieces), body: body}
	l.wg.Add(pieces)
	l.want.Store(int32(chunks - 1))
	running.Add(1)
	defer running.Add(-1)
	ensureWorkers(procs - 1)
	offer.Store(l)
	for s := min(int(sleepers.Load()), chunks-1); s > 0; s-- {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	l.work()
	l.wg.Wait()
	offer.CompareAndSwap(l, nil)
}

// loop is one For call's shared state.
type loop struct {
	n      int
	pieces int64
	next   atomic.Int64
	want   atomic.Int32   // helpers still wanted
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

// ensureWorkers starts workers up to n.
func ensureWorkers(n int) {
	workersMu.Lock()
	for workers < n {
		workers++
		go worker()
	}
	workersMu.Unlock()
}

// worker helps the loops offered, one after another.
func worker() {
	var last *loop
	for {
		l := waitOffer(last)
		last = l
		if l.want.Add(-1) < 0 {
			continue // enough helpers
		}
		if running.Add(1) > int64(runtime.GOMAXPROCS(0)) {
			running.Add(-1) // over the budget: the caller does the work
			continue
		}
		l.work()
		running.Add(-1)
	}
}

// waitOffer returns an offered loop other than last: spinning for a while,
// then asleep until For wakes it.
func waitOffer(last *loop) *loop {
	deadline := time.Now().Add(spin)
	for i := 0; ; i++ {
		if l := offer.Load(); l != nil && l != last {
			return l
		}
		if i&63 == 63 && hot.Load() == 0 && time.Now().After(deadline) {
			sleepers.Add(1)
			if l := offer.Load(); l != nil && l != last {
				sleepers.Add(-1)
				return l
			}
			<-wake
			sleepers.Add(-1)
			deadline = time.Now().Add(spin)
			continue
		}
		if i&1023 == 1023 {
			runtime.Gosched()
		}
	}
}

// Running reports how many loop bodies are running now in the process (for
// tests and diagnostics).
func Running() int { return int(running.Load()) }
