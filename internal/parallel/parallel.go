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

// Hold keeps the helper goroutines spinning between loops until Release
// is called: for a sequence of many short parallel loops (one model run),
// where waking a sleeping helper for each loop would cost more than the
// loop saves. Holds nest and may overlap; each Hold needs one Release.
func Hold() { hot.Add(1) }

// Release ends a Hold.
func Release() {
	if hot.Add(-1) < 0 {
		panic("parallel: Release without Hold")
	}
}

// Job is a loop body for Do: Range runs iterations [lo, hi).
type Job interface {
	Range(lo, hi int)
}

// Func adapts a function to Job.
type Func func(lo, hi int)

// Range calls f.
func (f Func) Range(lo, hi int) { f(lo, hi) }

// For runs body(lo, hi) over [0, n) as Do does. A closure that captures
// variables is allocated on each call; kernels on a run's hot path use Do
// with a reused Job instead.
func For(n, grain, threads int, body func(lo, hi int)) {
	Do(n, grain, threads, Func(body))
}

// Do runs job.Range(lo, hi) over [0, n) split into contiguous pieces of at
// least grain iterations each, on at most threads goroutines, and waits
// for all of them. With threads <= 0 it uses GOMAXPROCS. Small loops run on
// the calling goroutine.
//
// The pieces (up to four per goroutine) are handed out through a shared
// counter, so a goroutine that finishes early takes over pieces a slower
// one has not started, and the caller never waits for a helper that has
// not joined yet: it waits only for pieces in progress. Helpers join only
// within the process-wide budget of GOMAXPROCS running bodies.
//
// Do allocates nothing in steady state: the loop's shared state is
// recycled, and a pointer Job converts to the interface without a copy.
func Do(n, grain, threads int, job Job) {
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
		job.Range(0, n)
		return
	}
	pieces := min(n/grain, 4*chunks)
	l, _ := loops.Get().(*loop)
	if l == nil {
		l = &loop{woken: make(chan struct{}, 1)}
	}
	l.n, l.pieces, l.job = n, int64(pieces), job
	l.next.Store(0)
	l.done.Store(0)
	l.state.Store(loopRunning)
	l.want.Store(int32(chunks - 1))
	l.seq.Store(seq.Add(1))
	running.Add(1)
	ensureWorkers(procs - 1)
	offer.Store(l)
	for s := min(int(sleepers.Load()), chunks-1); s > 0; s-- {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	l.work()
	l.wait()
	running.Add(-1)
	offer.CompareAndSwap(l, nil)
	// Wait for the workers that still hold the loop (they find no piece
	// left and let go at once) before it is reused.
	for l.ref.Load() != 0 {
		runtime.Gosched()
	}
	l.job = nil
	loops.Put(l)
}

// loops recycles loop states.
var loops sync.Pool

// seq numbers the loops offered, so that a worker tells a recycled loop
// state from the loop it last helped.
var seq atomic.Uint64

// loop is one Do call's shared state.
type loop struct {
	n      int
	pieces int64
	next   atomic.Int64
	want   atomic.Int32 // helpers still wanted
	job    Job
	seq    atomic.Uint64 // which Do call this is
	_      [64]byte      // done and state on their own cache line, away from next
	done   atomic.Int64  // pieces finished
	state  atomic.Int32  // loopRunning, loopSleeping or loopDone
	woken  chan struct{} // the caller sleeps on it (loopSleeping)
	_      [64]byte      // ref on its own cache line
	ref    atomic.Int32  // workers holding the loop
}

// States of a loop: the caller sets loopSleeping before it sleeps; whoever
// finishes the last piece sets loopDone and, if the caller sleeps, wakes
// it.
const (
	loopRunning int32 = iota
	loopSleeping
	loopDone
)

// waitSpin is how long the caller of Do spins for the pieces still in
// progress before it sleeps: waking a parked goroutine costs microseconds
// (tens on virtual machines) and most pieces end sooner, while sleeping
// lets the operating system run a helper thread it has preempted.
const waitSpin = 100 * time.Microsecond

// work runs pieces until none is left.
func (l *loop) work() {
	for {
		i := l.next.Add(1) - 1
		if i >= l.pieces {
			return
		}
		lo := int(i * int64(l.n) / l.pieces)
		hi := int((i + 1) * int64(l.n) / l.pieces)
		l.job.Range(lo, hi)
		if l.done.Add(1) == l.pieces && l.state.Swap(loopDone) == loopSleeping {
			l.woken <- struct{}{}
		}
	}
}

// wait returns when every piece is finished: spinning for waitSpin, then
// asleep until the last piece's finisher wakes it.
func (l *loop) wait() {
	if l.state.Load() == loopDone {
		return
	}
	start := time.Now()
	for i := 1; l.state.Load() != loopDone; i++ {
		if i&255 != 0 {
			continue
		}
		if time.Since(start) < waitSpin {
			runtime.Gosched()
			continue
		}
		if l.state.CompareAndSwap(loopRunning, loopSleeping) {
			<-l.woken
		}
		return
	}
}

// acquire takes hold of the loop offered now unless it is the one numbered
// last; it returns nil when there is none. A held loop is not recycled
// until released: the caller of Do withdraws the offer and then waits for
// the holders, and a worker holds only after checking, with its hold
// published, that the loop is still on offer, so one of the two always
// sees the other.
func acquire(last uint64) *loop {
	l := offer.Load()
	if l == nil || l.seq.Load() == last {
		// Nothing new: checked by reading only, so that a spinning worker
		// does not take the cache line the caller's piece counter is on.
		return nil
	}
	l.ref.Add(1)
	if offer.Load() != l || l.seq.Load() == last {
		l.ref.Add(-1)
		return nil
	}
	return l
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
	var last uint64
	for {
		l := waitOffer(last)
		last = l.seq.Load()
		if l.want.Add(-1) >= 0 {
			if running.Add(1) <= int64(runtime.GOMAXPROCS(0)) {
				l.work()
			}
			// else over the budget: the caller does the work
			running.Add(-1)
		}
		l.ref.Add(-1)
	}
}

// waitOffer returns, held, an offered loop other than the one numbered
// last: spinning for a while, then asleep until Do wakes it.
func waitOffer(last uint64) *loop {
	deadline := time.Now().Add(spin)
	for i := 0; ; i++ {
		if l := acquire(last); l != nil {
			return l
		}
		if i&63 == 63 && hot.Load() == 0 && time.Now().After(deadline) {
			sleepers.Add(1)
			if l := acquire(last); l != nil {
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
