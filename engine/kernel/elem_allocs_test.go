package kernel

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
	"google.golang.org/protobuf/proto"
)

// Steady-state allocations of the elementwise, broadcasting, activation,
// normalization, reduction and matrix kernels: after warm-up, a run on
// unchanged shapes must allocate nothing (outputs come from the engine's
// recycling allocator, geometry from per-kernel caches, parallel jobs and
// scratch from pools).

// eaCase is one kernel of the table: op at opset with attributes, run on
// in; inputs flagged in konst are also given to the builder as constants
// (initializers), as the engine does.
type eaCase struct {
	name  string
	op    string
	opset int64
	attrs []*onnx.AttributeProto
	in    []*tensor.Tensor
	konst []bool
	outs  int
	// gemmBase, when set, returns the allocations internal/gemm itself makes
	// for the products the kernel runs (internal/gemm is outside this
	// family): the kernel may allocate that much and no more.
	gemmBase func(threads int) float64
}

func eaRand(r *rand.Rand, shape ...int) *tensor.Tensor {
	v := make([]float32, tensor.NumElements(shape))
	for i := range v {
		v[i] = r.Float32()*4 - 2
	}
	return tensor.FromSlice(shape, v)
}

func eaPos(r *rand.Rand, shape ...int) *tensor.Tensor {
	v := make([]float32, tensor.NumElements(shape))
	for i := range v {
		v[i] = r.Float32() + 0.5
	}
	return tensor.FromSlice(shape, v)
}

func eaInts(shape []int, v ...int64) *tensor.Tensor { return tensor.FromSlice(shape, v) }

func eaInt(name string, v int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func eaInts64(name string, v ...int64) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_INTS.Enum(), Ints: v}
}

func eaFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: proto.String(name), Type: onnx.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func (c eaCase) build(t *testing.T) Kernel {
	t.Helper()
	outs := max(c.outs, 1)
	p := &onnx.NodeProto{OpType: proto.String(c.op), Attribute: c.attrs}
	for i := range c.in {
		p.Input = append(p.Input, fmt.Sprintf("x%d", i))
	}
	for i := 0; i < outs; i++ {
		p.Output = append(p.Output, fmt.Sprintf("y%d", i))
	}
	consts := make([]*tensor.Tensor, len(c.in))
	for i, k := range c.konst {
		if k {
			consts[i] = c.in[i]
		}
	}
	reg, ok := Lookup("", c.op, c.opset)
	if !ok {
		t.Fatalf("%s opset %d not registered", c.op, c.opset)
	}
	n := NewNode(p, c.opset, consts, nil)
	k, err := reg.Build(n)
	if err != nil {
		t.Fatal(err)
	}
	if u := n.Unused(); len(u) > 0 {
		t.Fatalf("attributes %v not read", u)
	}
	return k
}

// eaGemmAllocs returns the steady-state allocations of f, a call of
// internal/gemm.
func eaGemmAllocs(f func()) float64 {
	f()
	f()
	return testing.AllocsPerRun(20, f)
}

func eaCases() []eaCase {
	r := rand.New(rand.NewPCG(1, 2))
	x := eaRand(r, 1, 24, 88, 88) // above two grains: split over threads
	y := eaRand(r, 1, 24, 88, 88)
	ch := eaPos(r, 24, 1, 1)
	sc := tensor.FromSlice([]int{}, []float32{1.5})
	small := eaRand(r, 1, 16, 22, 22)
	var cases []eaCase
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		b := y
		if op == "Div" {
			b = eaPos(r, 1, 24, 88, 88)
		}
		cases = append(cases,
			eaCase{name: op + " same shape", op: op, opset: 14, in: []*tensor.Tensor{x, b}},
			eaCase{name: op + " per channel", op: op, opset: 14, in: []*tensor.Tensor{x, ch}, konst: []bool{false, true}},
			eaCase{name: op + " scalar", op: op, opset: 14, in: []*tensor.Tensor{x, sc}, konst: []bool{false, true}},
			eaCase{name: op + " scalar first", op: op, opset: 14, in: []*tensor.Tensor{sc, small}},
			eaCase{name: op + " small", op: op, opset: 7, in: []*tensor.Tensor{small, eaPos(r, 16, 1, 1)}},
		)
	}
	cases = append(cases,
		eaCase{name: "Add legacy broadcast", op: "Add", opset: 6, attrs: []*onnx.AttributeProto{eaInt("broadcast", 1), eaInt("axis", 1)}, in: []*tensor.Tensor{small, eaRand(r, 16)}},
		eaCase{name: "Sum three", op: "Sum", opset: 13, in: []*tensor.Tensor{x, ch, sc}},
		eaCase{name: "Max two", op: "Max", opset: 13, in: []*tensor.Tensor{x, y}},
		eaCase{name: "Pow square", op: "Pow", opset: 15, in: []*tensor.Tensor{x, tensor.FromSlice([]int{}, []float32{2})}, konst: []bool{false, true}},
		eaCase{name: "Pow", op: "Pow", opset: 15, in: []*tensor.Tensor{eaPos(r, 4, 100), eaRand(r, 100)}},
		eaCase{name: "PRelu", op: "PRelu", opset: 16, in: []*tensor.Tensor{x, eaRand(r, 24, 1, 1)}, konst: []bool{false, true}},
		eaCase{name: "Mod", op: "Mod", opset: 13, attrs: []*onnx.AttributeProto{eaInt("fmod", 1)}, in: []*tensor.Tensor{small, eaPos(r, 1)}},
	)
	for _, op := range []string{"Relu", "Sigmoid", "Tanh", "Exp", "Neg", "Sqrt"} {
		in := x
		if op == "Sqrt" {
			in = eaPos(r, 1, 24, 88, 88)
		}
		cases = append(cases,
			eaCase{name: op, op: op, opset: 14, in: []*tensor.Tensor{in}},
			eaCase{name: op + " small", op: op, opset: 14, in: []*tensor.Tensor{small}})
	}
	cases = append(cases,
		eaCase{name: "LeakyRelu", op: "LeakyRelu", opset: 16, attrs: []*onnx.AttributeProto{eaFloat("alpha", 0.1)}, in: []*tensor.Tensor{x}},
		eaCase{name: "HardSigmoid", op: "HardSigmoid", opset: 6, attrs: []*onnx.AttributeProto{eaFloat("alpha", 0.2), eaFloat("beta", 0.5)}, in: []*tensor.Tensor{x}},
		eaCase{name: "HardSwish", op: "HardSwish", opset: 14, in: []*tensor.Tensor{x}},
		eaCase{name: "Clip attributes", op: "Clip", opset: 6, attrs: []*onnx.AttributeProto{eaFloat("min", 0), eaFloat("max", 6)}, in: []*tensor.Tensor{x}},
		eaCase{name: "Clip inputs", op: "Clip", opset: 13, in: []*tensor.Tensor{x, tensor.FromSlice([]int{}, []float32{0}), tensor.FromSlice([]int{}, []float32{6})}, konst: []bool{false, true, true}},
		eaCase{name: "Clip int", op: "Clip", opset: 13, in: []*tensor.Tensor{eaInts([]int{6}, -3, -1, 0, 2, 5, 9), eaInts([]int{}, 0), eaInts([]int{}, 4)}},
		eaCase{name: "Softmax last axis", op: "Softmax", opset: 13, in: []*tensor.Tensor{eaRand(r, 1, 4420, 2)}},
		eaCase{name: "Softmax last axis wide", op: "Softmax", opset: 13, in: []*tensor.Tensor{eaRand(r, 1, 484, 85)}},
		eaCase{name: "Softmax axis 1", op: "Softmax", opset: 13, attrs: []*onnx.AttributeProto{eaInt("axis", 1)}, in: []*tensor.Tensor{eaRand(r, 1, 16, 44, 44)}},
		eaCase{name: "Softmax axis 1 batch", op: "Softmax", opset: 13, attrs: []*onnx.AttributeProto{eaInt("axis", 1)}, in: []*tensor.Tensor{eaRand(r, 4, 16, 22, 22)}},
		eaCase{name: "Softmax opset 11", op: "Softmax", opset: 11, in: []*tensor.Tensor{eaRand(r, 8, 1000)}},
		eaCase{name: "LogSoftmax", op: "LogSoftmax", opset: 13, in: []*tensor.Tensor{eaRand(r, 8, 1000)}},
		eaCase{name: "ReduceMean spatial", op: "ReduceMean", opset: 13, attrs: []*onnx.AttributeProto{eaInts64("axes", 2, 3)}, in: []*tensor.Tensor{x}},
		eaCase{name: "ReduceMean axes input", op: "ReduceMean", opset: 18, in: []*tensor.Tensor{x, eaInts([]int{1}, -1)}, konst: []bool{false, true}},
		eaCase{name: "ReduceMax channels", op: "ReduceMax", opset: 13, attrs: []*onnx.AttributeProto{eaInts64("axes", 1), eaInt("keepdims", 0)}, in: []*tensor.Tensor{x}},
		eaCase{name: "ReduceMax all", op: "ReduceMax", opset: 13, in: []*tensor.Tensor{small}},
		eaCase{name: "ReduceSum axes input", op: "ReduceSum", opset: 13, in: []*tensor.Tensor{small, eaInts([]int{2}, 0, 2)}},
		eaCase{name: "ReduceLogSumExp", op: "ReduceLogSumExp", opset: 13, attrs: []*onnx.AttributeProto{eaInts64("axes", 1)}, in: []*tensor.Tensor{small}},
		eaCase{name: "BatchNormalization", op: "BatchNormalization", opset: 15,
			in:    []*tensor.Tensor{x, eaRand(r, 24), eaRand(r, 24), eaRand(r, 24), eaPos(r, 24)},
			konst: []bool{false, true, true, true, true}},
		eaCase{name: "BatchNormalization inputs", op: "BatchNormalization", opset: 9,
			in: []*tensor.Tensor{small, eaRand(r, 16), eaRand(r, 16), eaRand(r, 16), eaPos(r, 16)}},
		eaCase{name: "LayerNormalization", op: "LayerNormalization", opset: 17,
			in: []*tensor.Tensor{eaRand(r, 1, 196, 384), eaRand(r, 384), eaRand(r, 384)}, konst: []bool{false, true, true}},
		eaCase{name: "LayerNormalization statistics", op: "LayerNormalization", opset: 17, outs: 3,
			attrs: []*onnx.AttributeProto{eaInt("axis", 1)},
			in:    []*tensor.Tensor{eaRand(r, 4, 16, 8), eaRand(r, 16, 8)}, konst: []bool{false, true}},
		eaCase{name: "InstanceNormalization", op: "InstanceNormalization", opset: 6,
			in: []*tensor.Tensor{x, eaRand(r, 24), eaRand(r, 24)}, konst: []bool{false, true, true}},
		eaCase{name: "GroupNormalization", op: "GroupNormalization", opset: 21, attrs: []*onnx.AttributeProto{eaInt("num_groups", 4)},
			in: []*tensor.Tensor{small, eaRand(r, 16), eaRand(r, 16)}, konst: []bool{false, true, true}},
		eaCase{name: "LRN", op: "LRN", opset: 13, attrs: []*onnx.AttributeProto{eaInt("size", 3)}, in: []*tensor.Tensor{small}},
		eaCase{name: "ArgMax last axis", op: "ArgMax", opset: 13, attrs: []*onnx.AttributeProto{eaInt("axis", 1)}, in: []*tensor.Tensor{eaRand(r, 1, 1000)}},
		eaCase{name: "ArgMax channels", op: "ArgMax", opset: 13, attrs: []*onnx.AttributeProto{eaInt("axis", 1), eaInt("keepdims", 0)}, in: []*tensor.Tensor{small}},
		eaCase{name: "ArgMin", op: "ArgMin", opset: 13, in: []*tensor.Tensor{small}},
		eaCase{name: "TopK heap", op: "TopK", opset: 11, outs: 2, in: []*tensor.Tensor{eaRand(r, 2, 1000), eaInts([]int{1}, 5)}, konst: []bool{false, true}},
		eaCase{name: "TopK sort", op: "TopK", opset: 11, outs: 2, attrs: []*onnx.AttributeProto{eaInt("axis", 1), eaInt("largest", 0)}, in: []*tensor.Tensor{small, eaInts([]int{1}, 8)}},
		eaCase{name: "Equal", op: "Equal", opset: 13, in: []*tensor.Tensor{eaInts([]int{2, 3}, 1, 2, 3, 4, 5, 6), eaInts([]int{3}, 1, 5, 3)}},
		eaCase{name: "Equal float", op: "Equal", opset: 13, in: []*tensor.Tensor{x, y}},
		eaCase{name: "Less", op: "Less", opset: 13, in: []*tensor.Tensor{x, ch}},
		eaCase{name: "Greater scalar", op: "Greater", opset: 13, in: []*tensor.Tensor{small, sc}},
		eaCase{name: "And", op: "And", opset: 7, in: []*tensor.Tensor{tensor.FromSlice([]int{2, 2}, []bool{true, false, true, true}), tensor.FromSlice([]int{2}, []bool{true, false})}},
		eaCase{name: "Not", op: "Not", opset: 1, in: []*tensor.Tensor{tensor.FromSlice([]int{2}, []bool{true, false})}},
		eaCase{name: "Where", op: "Where", opset: 16, in: []*tensor.Tensor{
			eaCond(r, 1, 1, 88, 88), x, sc}},
		eaCase{name: "Where small", op: "Where", opset: 16, in: []*tensor.Tensor{
			eaCond(r, 16, 1, 1), small, eaRand(r, 22)}},
	)
	cases = append(cases, eaMatrixCases(r)...)
	return cases
}

func eaCond(r *rand.Rand, shape ...int) *tensor.Tensor {
	v := make([]bool, tensor.NumElements(shape))
	for i := range v {
		v[i] = r.IntN(2) == 0
	}
	return tensor.FromSlice(shape, v)
}

// eaMatrixCases are the MatMul and Gemm rows, with the allocations of
// the internal/gemm calls they make as their allowance.
func eaMatrixCases(r *rand.Rand) []eaCase {
	a2, b2 := eaRand(r, 64, 256), eaRand(r, 256, 128)
	pb, err := gemm.PackB(false, 256, 128, b2.Data.([]float32), 128)
	if err != nil {
		panic(err)
	}
	y2 := make([]float32, 64*128)
	ab, bb := eaRand(r, 4, 64, 32), eaRand(r, 4, 32, 48)
	yb := make([]float32, 64*48)
	ga, gb, gc := eaRand(r, 8, 512), eaRand(r, 100, 512), eaRand(r, 100)
	gpb, err := gemm.PackB(true, 512, 100, gb.Data.([]float32), 512)
	if err != nil {
		panic(err)
	}
	gy := make([]float32, 8*100)
	return []eaCase{
		{name: "MatMul 2-D constant B", op: "MatMul", opset: 13, in: []*tensor.Tensor{a2, b2}, konst: []bool{false, true},
			gemmBase: func(threads int) float64 {
				return eaGemmAllocs(func() {
					_ = gemm.SgemmPacked(false, false, 64, 128, 256, 1, a2.Data.([]float32), 256, nil, nil, 128, pb, 0, y2, 128, threads)
				})
			}},
		{name: "MatMul 2-D", op: "MatMul", opset: 13, in: []*tensor.Tensor{a2, b2},
			gemmBase: func(threads int) float64 {
				return eaGemmAllocs(func() {
					_ = gemm.Sgemm(false, false, 64, 128, 256, 1, a2.Data.([]float32), 256, b2.Data.([]float32), 128, 0, y2, 128, threads)
				})
			}},
		{name: "MatMul batched", op: "MatMul", opset: 13, in: []*tensor.Tensor{ab, bb},
			gemmBase: func(threads int) float64 {
				// Four products, each on one goroutine.
				return 4 * eaGemmAllocs(func() {
					_ = gemm.Sgemm(false, false, 64, 48, 32, 1, ab.Data.([]float32), 32, bb.Data.([]float32), 48, 0, yb, 48, 1)
				})
			}},
		{name: "MatMul int64", op: "MatMul", opset: 13, in: []*tensor.Tensor{eaInts([]int{2, 3}, 1, 2, 3, 4, 5, 6), eaInts([]int{3, 2}, 1, 2, 3, 4, 5, 6)}},
		{name: "Gemm transB with C", op: "Gemm", opset: 13, attrs: []*onnx.AttributeProto{eaInt("transB", 1)},
			in: []*tensor.Tensor{ga, gb, gc}, konst: []bool{false, true, true},
			gemmBase: func(threads int) float64 {
				return eaGemmAllocs(func() {
					_ = gemm.SgemmPacked(false, true, 8, 100, 512, 1, ga.Data.([]float32), 512, nil, nil, 512, gpb, 1, gy, 100, threads)
				})
			}},
		{name: "Gemm", op: "Gemm", opset: 13, attrs: []*onnx.AttributeProto{eaInt("transB", 1), eaFloat("alpha", 0.5)},
			in: []*tensor.Tensor{ga, gb, gc},
			gemmBase: func(threads int) float64 {
				return eaGemmAllocs(func() {
					_ = gemm.Sgemm(false, true, 8, 100, 512, 0.5, ga.Data.([]float32), 512, gb.Data.([]float32), 512, 1, gy, 100, threads)
				})
			}},
		{name: "Gemm int32", op: "Gemm", opset: 13, in: []*tensor.Tensor{
			tensor.FromSlice([]int{2, 2}, []int32{1, 2, 3, 4}), tensor.FromSlice([]int{2, 2}, []int32{5, 6, 7, 8}), tensor.FromSlice([]int{2}, []int32{1, 1})}},
	}
}

// TestElemSteadyAllocs requires the kernels of the table to allocate
// nothing in steady state, with one thread and with two.
func TestElemSteadyAllocs(t *testing.T) {
	if procs := runtime.GOMAXPROCS(0); procs < 2 {
		runtime.GOMAXPROCS(2)
		defer runtime.GOMAXPROCS(procs)
	}
	for _, c := range eaCases() {
		t.Run(c.name, func(t *testing.T) {
			k := c.build(t)
			for _, threads := range []int{1, 2} {
				want := 0.0
				if c.gemmBase != nil {
					want = c.gemmBase(threads)
				}
				got := steadyAllocs(t, k, c.in, threads)
				if eaRace {
					// The race detector makes sync.Pool drop values: the
					// runs only check for data races here.
					continue
				}
				if got > want {
					t.Errorf("threads %d: %v allocations per run, want %v", threads, got, want)
				}
			}
		})
	}
}

// TestElemConcurrentShapes runs kernels from several goroutines at once on
// two alternating input shapes, so that their cached plans are replaced
// while other runs use them, and checks every result against a run of a
// fresh kernel.
func TestElemConcurrentShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type pair struct {
		c    eaCase
		alts [2][]*tensor.Tensor
	}
	mk := func(c eaCase, alt []*tensor.Tensor) pair { return pair{c, [2][]*tensor.Tensor{c.in, alt}} }
	pairs := []pair{
		mk(eaCase{op: "Add", opset: 14, in: []*tensor.Tensor{eaRand(r, 2, 8, 30, 30), eaRand(r, 8, 1, 1)}},
			[]*tensor.Tensor{eaRand(r, 1, 8, 40, 20), eaRand(r, 1, 8, 40, 20)}),
		mk(eaCase{op: "Where", opset: 16, in: []*tensor.Tensor{eaCond(r, 1, 30), eaRand(r, 30, 30), eaRand(r, 30, 1)}},
			[]*tensor.Tensor{eaCond(r, 9, 1, 1), eaRand(r, 9, 3, 3), eaRand(r, 3)}),
		mk(eaCase{op: "Softmax", opset: 13, attrs: []*onnx.AttributeProto{eaInt("axis", 1)}, in: []*tensor.Tensor{eaRand(r, 1, 16, 30, 30)}},
			[]*tensor.Tensor{eaRand(r, 3, 5, 7)}),
		mk(eaCase{op: "ReduceMean", opset: 13, attrs: []*onnx.AttributeProto{eaInts64("axes", 1)}, in: []*tensor.Tensor{eaRand(r, 2, 16, 300)}},
			[]*tensor.Tensor{eaRand(r, 4, 3, 5)}),
		mk(eaCase{op: "MatMul", opset: 13, in: []*tensor.Tensor{eaRand(r, 3, 20, 16), eaRand(r, 3, 16, 8)}},
			[]*tensor.Tensor{eaRand(r, 2, 1, 5, 16), eaRand(r, 1, 4, 16, 3)}),
	}
	for _, p := range pairs {
		t.Run(p.c.op, func(t *testing.T) {
			var want [2]*tensor.Tensor
			for i, in := range p.alts {
				c := p.c
				c.in = in
				out, err := c.build(t).Run(&Ctx{Threads: 1}, in)
				if err != nil {
					t.Fatal(err)
				}
				want[i] = out[0]
			}
			k := p.c.build(t)
			errs := make(chan error, 4)
			for g := 0; g < 4; g++ {
				go func() {
					ctx := &Ctx{Threads: 2}
					for i := 0; i < 40; i++ {
						w := (i + g) % 2
						out, err := k.Run(ctx, p.alts[w])
						if err == nil && fmt.Sprint(out[0].Shape, out[0].Data) != fmt.Sprint(want[w].Shape, want[w].Data) {
							err = fmt.Errorf("goroutine %d run %d: result differs from a fresh kernel's", g, i)
						}
						if err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for g := 0; g < 4; g++ {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkElemKernels times the kernels of the allocation table, one
// thread, with the engine's kind of recycling allocator.
func BenchmarkElemKernels(b *testing.B) {
	t := &testing.T{}
	for _, c := range eaCases() {
		b.Run(c.name, func(b *testing.B) {
			k := c.build(t)
			r := &recycler{}
			ctx := &Ctx{Threads: 1, Alloc: r.alloc, Header: r.header}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				r.nb, r.nh = 0, 0
				if _, err := k.Run(ctx, c.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// eaRuns records the runs walkRuns hands out.
type eaRuns struct{ runs []string }

func (r *eaRuns) run(o, n int, off runOffs) { r.runs = append(r.runs, fmt.Sprint(o, n, off)) }

// TestBroadcastWalkRuns checks that walkRuns hands out the same runs and
// offsets as walk over random ranges of random broadcasts, ranks above
// MaxDims included.
func TestBroadcastWalkRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for iter := 0; iter < 400; iter++ {
		rank := r.IntN(11)
		out := make([]int, rank)
		for i := range out {
			out[i] = 1 + r.IntN(3)
		}
		nops := 1 + r.IntN(maxRunOps)
		shapes := make([][]int, nops)
		for k := range shapes {
			rk := r.IntN(rank + 1)
			s := make([]int, rk)
			for i := range s {
				if r.IntN(2) == 0 {
					s[i] = 1
				} else {
					s[i] = out[rank-rk+i]
				}
			}
			shapes[k] = s
		}
		if iter == 0 {
			// Ten dimensions that do not merge: the walk's digits exceed
			// MaxDims.
			out = []int{2, 3, 2, 3, 2, 3, 2, 3, 2, 3}
			shapes = [][]int{{2, 1, 2, 1, 2, 1, 2, 1, 2, 1}, {3, 1, 3, 1, 3, 1, 3, 1, 3}}
		}
		b := newBroadcastTo(out, shapes...)
		if iter == 0 && len(b.dims) <= MaxDims+1 {
			t.Fatalf("dims %v: want more than %d", b.dims, MaxDims+1)
		}
		lo := r.IntN(b.Size + 1)
		hi := lo + r.IntN(b.Size-lo+1)
		var want []string
		if lo < hi {
			b.walk(lo, hi, func(o, n int, off []int) {
				var ro runOffs
				copy(ro[:], off)
				want = append(want, fmt.Sprint(o, n, ro))
			})
		}
		got := &eaRuns{}
		if lo < hi {
			b.walkRuns(lo, hi, got)
		}
		if fmt.Sprint(got.runs) != fmt.Sprint(want) {
			t.Fatalf("out %v shapes %v [%d, %d): runs %v, want %v", out, shapes, lo, hi, got.runs, want)
		}
	}
}
