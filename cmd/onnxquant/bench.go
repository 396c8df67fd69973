package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"time"

	"github.com/onnxquant/onnxquant/backend"
	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/lightmodel"
	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	register(command{name: "bench", summary: "time a model (or a float GEMM) on an engine and print the median latency", run: runBench})
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", "MODEL [--engine go|ort] [--versus ENGINE] [--threads N] [--runs N] [--warmup N] [--input NAME=FILE ...] [--input-dir DIR] [--seed S] [--materialize]\n       onnxquant bench --gemm SIZE [--threads N] [--runs N]", `
Times MODEL on one engine: --warmup untimed runs, then --runs timed ones, on
seeded random inputs made for the model's declared inputs (or the inputs
given as for 'run'). Prints the minimum and mean, for the Go engine the
heap allocations per run, and as its last line the median: median_ms=X.

--versus ENGINE times a second engine in the same process, on the same
inputs, in alternating blocks of --block runs (the first run of each block
is not counted: it finds the caches filled by the other engine). Both
engines then meet the same machine: on a shared machine, load from other
jobs comes and goes in phases of seconds, which separate timings of each
engine catch at random. It prints the second engine's figures and
ratio_median=X (this engine's median over the second's) before the last
line, which stays this engine's median.

--materialize replaces the ConstantOfShape weights of ONNX's light models
(light_resnet50.onnx, ...) by seeded random tensors first.

--gemm SIZE instead times a SIZE x SIZE x SIZE float32 product on the Go
engine's GEMM and prints its GFLOP/s beside the core's FMA peak, measured
with a register-only loop of fused multiply-adds.

With --threads N > 0 the Go engine also runs with GOMAXPROCS=N, so that
neither engine uses more cores than asked.`, stderr)
	var inputs listFlag
	fs.Var(&inputs, "input", "an input as NAME=FILE (.npy or .pb); repeat for several")
	inputDir := fs.String("input-dir", "", "a folder of input_N.pb files")
	engineName := fs.String("engine", "go", "engine: go (pure Go) or ort (ONNX Runtime)")
	versus := fs.String("versus", "", "also time this engine, in alternating blocks, and print the ratio")
	block := fs.Int("block", 10, "runs per block with --versus (the first of each is not counted)")
	threads := fs.Int("threads", 0, "threads (0: all cores)")
	runs := fs.Int("runs", 20, "timed runs")
	warmup := fs.Int("warmup", 3, "untimed runs first")
	seed := fs.Uint64("seed", 1, "seed of the random inputs (and weights with --materialize)")
	materialize := fs.Bool("materialize", false, "replace ConstantOfShape weights (ONNX light models) by seeded random ones")
	gemmSize := fs.Int("gemm", 0, "time a SIZE^3 float32 GEMM instead of a model")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed runs to FILE")
	memProfile := fs.String("memprofile", "", "write a profile of the timed runs' allocations to FILE")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *runs < 1 {
		return usagef("--runs %d: want at least 1", *runs)
	}
	if *warmup < 0 || *threads < 0 {
		return usagef("--warmup and --threads must not be negative")
	}
	if *versus != "" && *block < 2 {
		return usagef("--block %d: want at least 2 (the first run of a block is not counted)", *block)
	}
	if *gemmSize != 0 {
		if len(pos) != 0 {
			return usagef("--gemm takes no MODEL argument")
		}
		if *gemmSize < 1 || *gemmSize > 8192 {
			return usagef("--gemm %d: want a size in [1, 8192]", *gemmSize)
		}
		return benchGemm(stdout, *gemmSize, *threads, *runs, *warmup)
	}
	if len(pos) != 1 {
		return usagef("want one MODEL argument, got %d", len(pos))
	}
	path := pos[0]
	m, err := onnx.Load(path)
	if err != nil {
		return err
	}
	if *materialize {
		if m, err = lightmodel.Materialize(m, *seed); err != nil {
			return err
		}
	}
	nt := *threads
	if nt == 0 {
		nt = runtime.NumCPU()
	}
	if (*engineName == "go" || *versus == "go") && *threads > 0 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(nt))
	}
	sess, err := backend.Open(*engineName, m, backend.Options{Threads: nt})
	if err != nil {
		return err
	}
	defer sess.Close()
	var other backend.Session
	if *versus != "" {
		if other, err = backend.Open(*versus, m, backend.Options{Threads: nt}); err != nil {
			return fmt.Errorf("--versus: %w", err)
		}
		defer other.Close()
	}
	var feeds map[string]*tensor.Tensor
	if len(inputs) > 0 || *inputDir != "" {
		feeds, err = loadInputs(sess.Inputs(), inputs, *inputDir)
	} else {
		feeds, err = modelzoo.Inputs(path, rand.New(rand.NewPCG(*seed, *seed+1)))
	}
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := 0; i < *warmup; i++ {
		if _, err := sess.Run(ctx, feeds); err != nil {
			return err
		}
		if other != nil {
			if _, err := other.Run(ctx, feeds); err != nil {
				return fmt.Errorf("--versus: %w", err)
			}
		}
	}
	// Heap allocations per run of the Go engine, counted on runs of their
	// own (reading the counters stops the world: not in the timed runs).
	var allocs, allocBytes uint64
	if *engineName == "go" {
		n := min(*runs, 20)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := 0; i < n; i++ {
			if _, err := sess.Run(ctx, feeds); err != nil {
				return err
			}
		}
		runtime.ReadMemStats(&after)
		allocs, allocBytes = (after.Mallocs-before.Mallocs)/uint64(n), (after.TotalAlloc-before.TotalAlloc)/uint64(n)
	}
	times := make([]time.Duration, *runs)
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		runtime.MemProfileRate = 1
		defer func() {
			runtime.MemProfileRate = 512 * 1024
		}()
	}
	var otherTimes []time.Duration
	runtime.GC()
	if other == nil {
		if err := timeRuns(ctx, sess, feeds, times); err != nil {
			return err
		}
	} else {
		if times, otherTimes, err = timePaired(ctx, sess, other, feeds, *runs, *block); err != nil {
			return err
		}
	}
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		runtime.GC() // the profile covers allocations up to the last collection
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "model=%s engine=%s threads=%d runs=%d gemm_kernel=%q\n", path, *engineName, nt, *runs, gemm.Kernel())
	st := durationStats(times)
	fmt.Fprintf(stdout, "min_ms=%.3f mean_ms=%.3f max_ms=%.3f\n", ms(st.min), ms(st.mean), ms(st.max))
	if *engineName == "go" {
		fmt.Fprintf(stdout, "allocs_per_run=%d bytes_per_run=%d\n", allocs, allocBytes)
	}
	if other != nil {
		ot := durationStats(otherTimes)
		fmt.Fprintf(stdout, "versus=%s versus_min_ms=%.3f versus_mean_ms=%.3f versus_max_ms=%.3f versus_median_ms=%.3f\n",
			*versus, ms(ot.min), ms(ot.mean), ms(ot.max), ms(ot.median))
		fmt.Fprintf(stdout, "ratio_median=%.3f\n", float64(st.median)/float64(ot.median))
	}
	fmt.Fprintf(stdout, "median_ms=%.3f\n", ms(st.median))
	return nil
}

// timeRuns times len(times) runs of sess.
func timeRuns(ctx context.Context, sess backend.Session, feeds map[string]*tensor.Tensor, times []time.Duration) error {
	for i := range times {
		start := time.Now()
		if _, err := sess.Run(ctx, feeds); err != nil {
			return err
		}
		times[i] = time.Since(start)
	}
	return nil
}

// timePaired times runs of a and of b on the same inputs in alternating
// blocks of block runs (a first in even blocks, b first in odd ones),
// until each has runs counted runs; the first run of each block is run but
// not counted. It returns a's times and b's.
func timePaired(ctx context.Context, a, b backend.Session, feeds map[string]*tensor.Tensor, runs, block int) (at, bt []time.Duration, err error) {
	at, bt = make([]time.Duration, 0, runs), make([]time.Duration, 0, runs)
	timeBlock := func(s backend.Session, dst *[]time.Duration) error {
		for i := 0; i < block && len(*dst) < runs; i++ {
			start := time.Now()
			if _, err := s.Run(ctx, feeds); err != nil {
				return err
			}
			if d := time.Since(start); i > 0 {
				*dst = append(*dst, d)
			}
		}
		return nil
	}
	for k := 0; len(at) < runs || len(bt) < runs; k++ {
		if k%2 == 0 {
			err = timeBlock(a, &at)
		} else {
			err = timeBlock(b, &bt)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return at, bt, nil
}

// stats summarizes a list of durations.
type stats struct{ min, max, mean, median time.Duration }

func durationStats(ts []time.Duration) stats {
	s := slices.Clone(ts)
	slices.Sort(s)
	var sum time.Duration
	for _, t := range s {
		sum += t
	}
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return stats{min: s[0], max: s[len(s)-1], mean: sum / time.Duration(len(s)), median: med}
}

func ms(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// benchGemm times C = A*B for SIZE x SIZE float32 matrices with the
// engine's GEMM and relates the rate to the measured FMA peak of one core
// times the goroutines used.
func benchGemm(w io.Writer, size, threads, runs, warmup int) error {
	nt := threads
	if nt == 0 {
		nt = runtime.NumCPU()
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(nt))
	rng := rand.New(rand.NewPCG(7, 8))
	a := make([]float32, size*size)
	b := make([]float32, size*size)
	c := make([]float32, size*size)
	for i := range a {
		a[i] = rng.Float32()*2 - 1
		b[i] = rng.Float32()*2 - 1
	}
	run := func() error {
		return gemm.Sgemm(false, false, size, size, size, 1, a, size, b, size, 0, c, size, nt)
	}
	for i := 0; i < max(warmup, 1); i++ {
		if err := run(); err != nil {
			return err
		}
	}
	times := make([]time.Duration, runs)
	for i := range times {
		start := time.Now()
		if err := run(); err != nil {
			return err
		}
		times[i] = time.Since(start)
	}
	st := durationStats(times)
	flops := 2 * float64(size) * float64(size) * float64(size)
	gf := func(d time.Duration) float64 { return flops / d.Seconds() / 1e9 }
	fmt.Fprintf(w, "gemm=%dx%dx%d threads=%d runs=%d kernel=%q\n", size, size, size, nt, runs, gemm.Kernel())
	fmt.Fprintf(w, "gflops_median=%.1f gflops_best=%.1f\n", gf(st.median), gf(st.min))
	if peak, ok := gemm.PeakGFLOPS(300 * time.Millisecond); ok {
		fmt.Fprintf(w, "peak_gflops_per_core=%.1f (measured: 12 independent 8-wide FMAs per iteration, 192 flops, best of 300 ms; a core with two 256-bit FMA pipes at %.2f GHz)\n", peak, peak/32)
		all := peak * float64(nt)
		fmt.Fprintf(w, "peak_gflops=%.1f (%d cores) fraction_median=%.2f fraction_best=%.2f\n", all, nt, gf(st.median)/all, gf(st.min)/all)
	} else {
		fmt.Fprintln(w, "peak_gflops=unknown (no AVX2+FMA kernel in this build)")
	}
	fmt.Fprintf(w, "median_ms=%.3f\n", ms(st.median))
	return nil
}
