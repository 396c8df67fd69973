package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestForCoversRange checks that every index is visited exactly once for
// sizes, grains and thread counts around the chunking edges.
func TestForCoversRange(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 100, 1001} {
		for _, grain := range []int{0, 1, 3, 1000} {
			for _, threads := range []int{-1, 1, 2, 5} {
				hits := make([]int32, n)
				For(n, grain, threads, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						atomic.AddInt32(&hits[i], 1)
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Fatalf("n=%d grain=%d threads=%d: index %d visited %d times", n, grain, threads, i, h)
					}
				}
			}
		}
	}
}

// TestForSharesBudget runs several loops at once, each asking for many
// threads, and checks the bodies running at the same time: each loop's
// caller always runs one, and helpers start only while fewer than
// GOMAXPROCS run, so at most loops + GOMAXPROCS - 1 run at once (without
// the budget, 3 loops of 16 chunks would run up to 48).
func TestForSharesBudget(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	const loops = 3
	var now, peak atomic.Int64
	var wg sync.WaitGroup
	for l := 0; l < loops; l++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			For(64, 1, 16, func(lo, hi int) {
				v := now.Add(1)
				for {
					p := peak.Load()
					if v <= p || peak.CompareAndSwap(p, v) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				now.Add(-1)
			})
		}()
	}
	wg.Wait()
	// Each loop's caller always runs; helpers only within the budget.
	if limit := int64(loops + procs - 1); peak.Load() > limit {
		t.Fatalf("%d bodies ran at once with GOMAXPROCS=%d and %d loops", peak.Load(), procs, loops)
	}
	if Running() != 0 {
		t.Fatalf("Running() = %d after all loops ended", Running())
	}
}

// TestHoldKeepsHelpersAwake checks that helpers stay awake (not asleep on
// the wake channel) while a Hold is in force, longer than they would spin
// otherwise, and go to sleep after it is released.
func TestHoldKeepsHelpersAwake(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	Hold()
	For(64, 1, 2, func(lo, hi int) { time.Sleep(time.Millisecond) })
	time.Sleep(20 * spin)
	if s := sleepers.Load(); s != 0 {
		Release()
		t.Fatalf("%d helpers asleep during a Hold", s)
	}
	Release()
	deadline := time.Now().Add(2 * time.Second)
	for sleepers.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("helpers still awake long after the Hold was released")
		}
		time.Sleep(time.Millisecond)
	}
	if hot.Load() != 0 {
		t.Fatalf("hot = %d after release", hot.Load())
	}
}

// countJob counts the iterations it is given.
type countJob struct{ hits []int32 }

func (j *countJob) Range(lo, hi int) {
	for i := lo; i < hi; i++ {
		atomic.AddInt32(&j.hits[i], 1)
	}
}

// TestDoRecyclesLoops runs many back-to-back loops from several goroutines,
// so that loop states are recycled while workers are still letting go of
// them, and checks every index is visited exactly once each time (run with
// -race), and that Do with a pointer Job allocates nothing.
func TestDoRecyclesLoops(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j := &countJob{hits: make([]int32, 64)}
			for it := 0; it < 2000; it++ {
				clear(j.hits)
				Do(len(j.hits), 1, 0, j)
				for i, h := range j.hits {
					if h != 1 {
						t.Errorf("loop %d: index %d visited %d times", it, i, h)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	j := &countJob{hits: make([]int32, 256)}
	if a := testing.AllocsPerRun(200, func() { Do(len(j.hits), 1, 2, j) }); a != 0 {
		t.Errorf("Do allocates %.1f objects per call, want 0", a)
	}
}
