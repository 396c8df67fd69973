package engine

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/internal/onnxbuild"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestArenaRefCounts checks the buffer accounting directly: a buffer is
// recycled only when every value in it has died, views starting inside a
// buffer count for it, and tensors the arena did not allocate are never
// recycled.
func TestArenaRefCounts(t *testing.T) {
	a := newArena()
	base := a.get(tensor.Float32, []int{4, 5}, true)
	data := base.Data.([]float32)
	view := &tensor.Tensor{DType: tensor.Float32, Shape: []int{4}, Data: data[5:9]}
	alias := &tensor.Tensor{DType: tensor.Float32, Shape: []int{20}, Data: data}
	foreign := tensor.New(tensor.Float32, 4, 5)
	for _, v := range []*tensor.Tensor{base, view, alias, foreign} {
		a.hold(v)
	}
	steps := []struct {
		release *tensor.Tensor
		free    int // free buffers of [4,5] float32 after it
	}{
		{base, 0}, {foreign, 0}, {alias, 0}, {view, 1},
	}
	for i, s := range steps {
		a.release(s.release)
		if got := len(a.free[arenaKey{tensor.Float32, 20}]); got != s.free {
			t.Fatalf("after release %d: %d free buffers, want %d", i, got, s.free)
		}
	}
	if a.views == 0 {
		t.Fatal("the view was not found inside its buffer")
	}
	// The recycled buffer serves the next allocation of that size, zeroed.
	for i := range data {
		data[i] = 7
	}
	again := a.get(tensor.Float32, []int{2, 10}, true)
	got := again.Data.([]float32)
	if &got[0] != &data[0] {
		t.Fatal("a free buffer of the same size was not reused")
	}
	for i, v := range got {
		if v != 0 {
			t.Fatalf("reused buffer not cleared: [%d] = %g", i, v)
		}
	}
	// Another size gets a new buffer; the foreign one is never handed out.
	other := a.get(tensor.Float32, []int{20, 1, 2}, true)
	if od := other.Data.([]float32); &od[0] == &foreign.Data.([]float32)[0] {
		t.Fatal("a buffer the arena did not allocate was handed out")
	}
}

// TestArenaAliasedValues runs a graph where a Reshape output shares its
// input's buffer after the input dies, while same-size values are
// allocated: a buffer recycled too early would be overwritten and show in
// the result. It also checks that outputs of earlier runs stay intact and
// that runs in parallel agree.
//
//	a = Relu(x); b = Reshape(a, [6, 4]); (a dies)
//	c = Neg(x); d = Reshape(c, [6, 4]); e = Add(b, d)   (c, d same size as a)
//	y = Reshape(e, [4, 6]) + x  =  relu(x) - x + x  =  relu(x)
func TestArenaAliasedValues(t *testing.T) {
	shape64 := func(v ...int64) *tensor.Tensor { return tensor.FromSlice([]int{len(v)}, v) }
	m := onnxbuild.New(14).
		Input("x", tensor.Float32, 4, 6).
		Init("s1", shape64(6, 4)).Init("s2", shape64(4, 6)).
		Node("Relu", []string{"x"}, []string{"a"}).
		Node("Reshape", []string{"a", "s1"}, []string{"b"}).
		Node("Neg", []string{"x"}, []string{"c"}).
		Node("Reshape", []string{"c", "s1"}, []string{"d"}).
		Node("Add", []string{"b", "d"}, []string{"e"}).
		Node("Reshape", []string{"e", "s2"}, []string{"f"}).
		Node("Add", []string{"f", "x"}, []string{"y"}).
		Node("Identity", []string{"b"}, []string{"z"}).
		Output("y", tensor.Float32, 4, 6).
		Output("z", tensor.Float32, 6, 4).M
	s, err := New(m, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	input := func() []float32 {
		v := make([]float32, 24)
		for i := range v {
			v[i] = float32(r.IntN(17) - 8) // small integers: exact sums
		}
		return v
	}
	check := func(x []float32, out map[string]*tensor.Tensor) {
		t.Helper()
		y, z := out["y"].Data.([]float32), out["z"].Data.([]float32)
		for i, v := range x {
			want := max(v, 0)
			if y[i] != want || z[i] != want {
				t.Fatalf("at %d: y = %g, z = %g, want %g (x = %g)", i, y[i], z[i], want, v)
			}
		}
	}
	var kept []map[string]*tensor.Tensor
	var inputs [][]float32
	for run := 0; run < 4; run++ {
		x := input()
		out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{4, 6}, x)})
		if err != nil {
			t.Fatal(err)
		}
		check(x, out)
		kept = append(kept, out)
		inputs = append(inputs, x)
	}
	for i := range kept {
		check(inputs[i], kept[i]) // earlier outputs untouched by later runs
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 4; g++ {
		x := input()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				out, err := s.Run(context.Background(), map[string]*tensor.Tensor{"x": tensor.FromSlice([]int{4, 6}, x)})
				if err != nil {
					errs <- err
					return
				}
				y := out["y"].Data.([]float32)
				for j, v := range x {
					if y[j] != max(v, 0) {
						errs <- fmt.Errorf("run in parallel: y[%d] = %g, want %g", j, y[j], max(v, 0))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestArenaPoisonedReuse runs the shared models several times with the
// buffers that kernels take without clearing (Ctx.NewUninit) filled with
// NaN first, and checks that every run gives the outputs of a session that
// never reuses a buffer: a kernel that does not write every value it
// promised to would leak the poison (or an earlier run's values) into its
// output.
func TestArenaPoisonedReuse(t *testing.T) {
	names := []string{"mnist-8.onnx", "fastestdet-coco-352.onnx", "ultraface-rfb-320.onnx", "blazeface-front-128-nhwc.onnx", "mlsd-tiny-320-nhwc.onnx"}
	poisonUninit = true
	defer func() { poisonUninit = false }()
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := testenv.DataFile(t, "models", name)
			m, err := onnx.Load(path)
			if err != nil {
				t.Fatal(err)
			}
			fresh, err := New(m, Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			in := randomInputs(t, fresh, rand.New(rand.NewPCG(5, 6)))
			// The reference: every run of a new arena allocates afresh.
			ref, err := fresh.main.run(&kernel.Ctx{Context: context.Background(), Threads: 2}, argsOf(fresh, in), nil, nil, newArena())
			if err != nil {
				t.Fatal(err)
			}
			s, err := New(m, Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			for run := 0; run < 3; run++ {
				out, err := s.Run(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range s.Outputs() {
					want, _ := ref.get(o.Name)
					if !sameBits(out[o.Name], want) {
						t.Fatalf("run %d: output %q differs from a run without reuse", run, o.Name)
					}
				}
			}
		})
	}
}

func argsOf(s *Session, in map[string]*tensor.Tensor) []*tensor.Tensor {
	args := make([]*tensor.Tensor, len(s.main.inputs))
	for i, name := range s.main.inputs {
		args[i] = in[name]
	}
	return args
}

// sameBits compares two float32 (or other) tensors value by value, NaNs
// equal only to NaNs.
func sameBits(a, b *tensor.Tensor) bool {
	if a == nil || b == nil || a.DType != b.DType || fmt.Sprint(a.Shape) != fmt.Sprint(b.Shape) {
		return false
	}
	af, aok := a.Data.([]float32)
	bf, bok := b.Data.([]float32)
	if !aok || !bok {
		return fmt.Sprint(a.Data) == fmt.Sprint(b.Data)
	}
	for i := range af {
		if af[i] != bf[i] && !(af[i] != af[i] && bf[i] != bf[i]) {
			return false
		}
	}
	return true
}

// randomInputs makes float32 inputs of the declared shapes (unknown
// dimensions 1) with values in [0, 1).
func randomInputs(t *testing.T, s *Session, r *rand.Rand) map[string]*tensor.Tensor {
	in := map[string]*tensor.Tensor{}
	for _, vi := range s.Inputs() {
		if vi.DType != tensor.Float32 {
			t.Skipf("input %q is %v", vi.Name, vi.DType)
		}
		shape := make([]int, len(vi.Shape))
		for i, d := range vi.Shape {
			shape[i] = max(d, 1)
		}
		x := tensor.New(tensor.Float32, shape...)
		for i := range x.Data.([]float32) {
			x.Data.([]float32)[i] = r.Float32()
		}
		in[vi.Name] = x
	}
	return in
}

// TestLazyFusion checks that runs with observers never build the fused
// steps (their folded weights and kernels would only cost memory), and
// that runs with and without observers started together on a fresh
// session, one of them building the fused steps while the others run,
// all give the outputs of a session that has run before (under -race in
// CI, this is also the test of the plan's lock).
func TestLazyFusion(t *testing.T) {
	m, err := onnx.Load(testenv.DataFile(t, "models", "mnist-8.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, 28*28)
	for i := range x {
		x[i] = r.Float32()
	}
	feeds := map[string]*tensor.Tensor{"Input3": tensor.FromSlice([]int{1, 1, 28, 28}, x)}
	observe := RunOptions{Observer: func(string, *tensor.Tensor) {}}

	ref, err := New(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.RunWith(context.Background(), feeds, observe)
	if err != nil {
		t.Fatal(err)
	}
	if ref.main.fused.Load() {
		t.Fatal("a run with an observer built the fused steps")
	}
	if _, err := ref.Run(context.Background(), feeds); err != nil {
		t.Fatal(err)
	}
	if !ref.main.fused.Load() || ref.main.fast == nil {
		t.Fatal("a run without observers did not build the fused steps")
	}

	s, err := New(m, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ro := RunOptions{}
			if g%2 == 1 {
				ro = observe
			}
			for i := 0; i < 5; i++ {
				out, err := s.RunWith(context.Background(), feeds, ro)
				if err != nil {
					errs <- err
					return
				}
				for name, w := range want {
					got, exp := out[name].Data.([]float32), w.Data.([]float32)
					for j := range exp {
						if d := math.Abs(float64(got[j] - exp[j])); d > 1e-4*(1+math.Abs(float64(exp[j]))) {
							errs <- fmt.Errorf("goroutine %d run %d: %s[%d] = %g, want %g", g, i, name, j, got[j], exp[j])
							return
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
