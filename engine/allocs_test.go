package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/lightmodel"
	"github.com/onnxquant/onnxquant/internal/modelzoo"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestSteadyStateAllocs checks the engine's promise that a run in steady
// state allocates nothing beyond its output tensors, on the models the
// speed benchmark times, at 1 and 2 threads. An output costs four objects
// (its buffer, the buffer's interface box, its header and shape: the caller
// keeps them) and the result map two; the budget allows two more (an output
// that is a view of another buffer costs a little more). Anything a kernel
// allocated on every run would show as a count far above it: before the
// engine and kernels recycled their state, 50 to 1,500 per run.
// (testing.AllocsPerRun would run with GOMAXPROCS 1, never splitting a loop
// across threads.)
func TestSteadyStateAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("runs whole models")
	}
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	cases := []struct {
		file   string
		light  bool // ONNX light model: weights materialized
		quant  bool // quantized first (static, per channel) in format
		format quantize.Format
	}{
		{file: "models/mnist-8.onnx"},
		{file: "models/fastestdet-coco-352.onnx"},
		{file: "models/ultraface-rfb-320.onnx"},
		{file: "models/blazeface-front-128-nhwc.onnx"},
		{file: "models/mlsd-tiny-320-nhwc.onnx"},
		{file: "onnx-backend/light/light_resnet50.onnx", light: true},
		// Quantized: QDQ (run as fused integer kernels) and QLinearOps.
		{file: "models/fastestdet-coco-352.onnx", quant: true, format: quantize.QDQ},
		{file: "models/ultraface-rfb-320.onnx", quant: true, format: quantize.QLinearOps},
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, c := range cases {
		path := testenv.DataFile(t, strings.Split(c.file, "/")...)
		m, err := onnx.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if c.light {
			if m, err = lightmodel.Materialize(m, 1); err != nil {
				t.Fatal(err)
			}
		}
		in, err := modelzoo.Inputs(path, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(c.file)
		if c.quant {
			cfg := quantize.Config{Format: c.format, Static: true, PerChannel: true}
			cfg.Params = observedRanges(t, m, cfg, in)
			if m, _, err = quantize.Model(m, cfg); err != nil {
				t.Fatal(err)
			}
			name += "/" + c.format.String()
		}
		for _, threads := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/threads=%d", name, threads), func(t *testing.T) {
				runtime.GOMAXPROCS(threads)
				s, err := engine.New(m, engine.Options{Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				var out map[string]*tensor.Tensor
				run := func() {
					if out, err = s.Run(ctx, in); err != nil {
						t.Fatal(err)
					}
				}
				run()
				run()
				got := mallocsPerRun(9, run)
				budget := float64(4*len(out) + 2 + 2)
				if got > budget {
					t.Errorf("%.0f allocations per run, want at most %.0f (%d outputs)", got, budget, len(out))
				}
				t.Logf("%.0f allocations per run (%d outputs)", got, len(out))
			})
		}
	}
}

// mallocsPerRun returns the fewest heap allocations of one call of f over
// runs calls, from the runtime's counters, at the current GOMAXPROCS. An
// allocation made on every run shows in every call; the fewest leaves out
// the calls during which the kernels' sync.Pools refill (after a garbage
// collection emptied them, or when a loop's pieces land on other threads
// than before, each with its own pool cache).
func mallocsPerRun(runs int, f func()) float64 {
	counts := make([]uint64, runs)
	var before, after runtime.MemStats
	for i := range counts {
		runtime.ReadMemStats(&before)
		f()
		runtime.ReadMemStats(&after)
		counts[i] = after.Mallocs - before.Mallocs
	}
	return float64(slices.Min(counts))
}
