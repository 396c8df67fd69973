package gemm

import (
	"fmt"
	"math/rand"
	randv2 "math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// allocCase is one product whose steady-state allocations are measured.
type allocCase struct {
	name string
	call func(threads int) error
}

// floatAllocCases builds products on the shapes of the shared CNNs'
// convolutions (weights packed, B read in place or through row offsets,
// a fused bias and clamp), the other paths of Sgemm (both operands
// unpacked and packed, transposed operands, batches, single rows and
// columns, K = 0) and the 1024^3 product of the benchmark.
func floatAllocCases() []allocCase {
	r := rand.New(rand.NewSource(31))
	var cases []allocCase
	add := func(name string, call func(threads int) error) {
		cases = append(cases, allocCase{name, call})
	}
	// Convolutions: m = output channels, n = output pixels, k = input
	// channels * kernel taps; A (the weights) packed once.
	for _, d := range [][3]int{
		{16, 252, 200}, {48, 484, 48}, {24, 1936, 24}, {96, 484, 336}, {64, 1200, 64},
		{32, 4800, 32}, {128, 300, 128}, {256, 80, 256}, {6, 1200, 64}, {4, 300, 128},
		{96, 64, 96}, {42, 1024, 36}, {384, 400, 64}, {64, 400, 384}, {144, 6400, 24},
		{1, 484, 96},
	} {
		m, n, k := d[0], d[1], d[2]
		a := randSlice(r, m*k)
		b := randSlice(r, k*n)
		c := make([]float32, m*n)
		pa, err := PackA(false, m, k, a, k)
		if err != nil {
			panic(err)
		}
		ep := &Epilogue{Bias: randSlice(r, m), Clamp: true, Lo: 0, Hi: 6}
		add(fmt.Sprintf("conv_%dx%dx%d", m, n, k), func(threads int) error {
			return SgemmEpilogue(false, false, m, n, k, nil, 0, pa, b, n, nil, c, n, ep, threads)
		})
		add(fmt.Sprintf("conv_unpacked_%dx%dx%d", m, n, k), func(threads int) error {
			return SgemmEpilogue(false, false, m, n, k, a, k, nil, b, n, nil, c, n, ep, threads)
		})
	}
	// Convolutions through row offsets (SgemmIndirect).
	for _, d := range [][3]int{{16, 252, 200}, {24, 31152, 27}, {16, 1260, 72}, {6, 28, 2304}, {64, 1680, 1152}, {64, 6560, 576}} {
		m, n, k := d[0], d[1], d[2]
		a := randSlice(r, m*k)
		base := randSlice(r, n+2*k+5)
		boff := make([]int, k)
		for p := range boff {
			boff[p] = r.Intn(len(base) - n + 1)
		}
		c := make([]float32, m*n)
		pa, err := PackA(false, m, k, a, k)
		if err != nil {
			panic(err)
		}
		ep := &Epilogue{Bias: randSlice(r, m), Clamp: true, Lo: 0, Hi: 6}
		add(fmt.Sprintf("indirect_%dx%dx%d", m, n, k), func(threads int) error {
			return SgemmIndirect(false, m, n, k, nil, 0, pa, base, boff, c, n, ep, threads)
		})
	}
	// Plain products, packed B, transposes, alpha and beta (1024^3 only
	// with an assembly kernel: the portable one takes seconds).
	big := []shape{{m: 1024, n: 1024, k: 1024, alpha: 1}}
	if Kernel() == "portable Go" {
		big = nil
	}
	for _, s := range append(big, []shape{
		{m: 200, n: 300, k: 500, alpha: 0.5, beta: 1},
		{m: 130, n: 70, k: 300, transA: true, transB: true, alpha: 1},
		{m: 1, n: 500, k: 300, alpha: 1},
		{m: 1, n: 500, k: 300, transA: true, transB: true, alpha: 1, beta: 0.5},
		{m: 500, n: 1, k: 300, alpha: 1},
		{m: 500, n: 1, k: 300, transA: true, transB: true, alpha: 1},
		{m: 40, n: 30, k: 0, alpha: 1, beta: 0.5},
	}...) {
		s := s
		a, lda, b, ldb, c, ldc, off := operands(r, s)
		c = c[off:]
		add(fmt.Sprintf("sgemm_%dx%dx%d_tA%v_tB%v", s.m, s.n, s.k, s.transA, s.transB), func(threads int) error {
			return Sgemm(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, b, ldb, s.beta, c, ldc, threads)
		})
		if s.k > 0 {
			pb, err := PackB(s.transB, s.k, s.n, b, ldb)
			if err != nil {
				panic(err)
			}
			add(fmt.Sprintf("packedB_%dx%dx%d_tA%v_tB%v", s.m, s.n, s.k, s.transA, s.transB), func(threads int) error {
				return SgemmPacked(s.transA, s.transB, s.m, s.n, s.k, s.alpha, a, lda, nil, nil, 0, pb, s.beta, c, ldc, threads)
			})
		}
	}
	{
		const m, n, k, batch = 20, 50, 30, 4
		a := randSlice(r, batch*m*k)
		b := randSlice(r, batch*k*n)
		c := make([]float32, batch*m*n)
		add("batch", func(threads int) error {
			return SgemmBatch(false, false, m, n, k, 1, a, k, m*k, b, n, k*n, 0, c, n, m*n, batch, threads)
		})
	}
	return cases
}

// intAllocCases builds integer products: quantized convolutions (weights
// packed, signed and unsigned activations), MatMulInteger-like products
// with B packed or not, and transposed operands.
func intAllocCases() []allocCase {
	r := randv2.New(randv2.NewPCG(5, 6))
	var cases []allocCase
	for _, d := range [][3]int{{16, 252, 200}, {64, 1200, 64}, {96, 484, 336}, {64, 3136, 576}, {256, 256, 256}, {6, 1200, 1100}} {
		m, n, k := d[0], d[1], d[2]
		w := randBytes[int8](r, m*k)
		xu := randBytes[uint8](r, k*n)
		xs := randBytes[int8](r, k*n)
		c := make([]int32, m*n)
		pa, err := PackIA(false, m, k, w, k, []int32{3})
		if err != nil {
			panic(err)
		}
		za, zu, zs := []int32{3}, []int32{128}, []int32{-5}
		cases = append(cases,
			allocCase{fmt.Sprintf("qconv_u8_%dx%dx%d", m, n, k), func(threads int) error {
				return IgemmPacked[uint8, uint8](false, false, m, n, k, nil, 0, nil, pa, xu, n, zu, nil, c, n, threads)
			}},
			allocCase{fmt.Sprintf("qconv_s8_%dx%dx%d", m, n, k), func(threads int) error {
				return IgemmPacked[uint8, int8](false, false, m, n, k, nil, 0, nil, pa, xs, n, zs, nil, c, n, threads)
			}},
			allocCase{fmt.Sprintf("igemm_%dx%dx%d", m, n, k), func(threads int) error {
				return Igemm(false, false, m, n, k, w, k, za, xu, n, zu, c, n, threads)
			}},
		)
	}
	{
		const m, n, k = 50, 70, 90
		a := randBytes[uint8](r, k*m)
		b := randBytes[int8](r, n*k)
		c := make([]int32, m*n)
		za := randZeroPoints(r, m, false)
		zb := randZeroPoints(r, n, true)
		pb, err := PackIB(true, k, n, b, k, zb)
		if err != nil {
			panic(err)
		}
		cases = append(cases,
			allocCase{"igemm_trans", func(threads int) error {
				return Igemm(true, true, m, n, k, a, m, za, b, k, zb, c, n, threads)
			}},
			allocCase{"igemm_packedB", func(threads int) error {
				return IgemmPacked[uint8, int8](true, true, m, n, k, a, m, za, nil, nil, 0, nil, pb, c, n, threads)
			}},
		)
	}
	return cases
}

// TestSteadyAllocs requires every product to allocate nothing once warm,
// on one and two goroutines: job states, loop bodies and packing buffers
// are all recycled (GOMAXPROCS is raised to 2 if needed so that two
// goroutines really run).
func TestSteadyAllocs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0))))
	cases := append(floatAllocCases(), intAllocCases()...)
	for _, threads := range []int{1, 2} {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%s/threads=%d", tc.name, threads), func(t *testing.T) {
				// Fewer runs for the largest products (slow with the
				// portable kernel): allocations do not vary from run to run.
				start := time.Now()
				var err error
				if err = tc.call(threads); err != nil {
					t.Fatal(err)
				}
				runs := int(min(20, max(1, 50*time.Millisecond/max(time.Since(start), 1))))
				for i := 0; i < 2 && runs > 1; i++ {
					if err = tc.call(threads); err != nil {
						t.Fatal(err)
					}
				}
				// With the race detector, sync.Pool drops values on purpose:
				// the calls still run (checked for races), their count is not.
				if a := testing.AllocsPerRun(runs, func() { err = tc.call(threads) }); a != 0 && !raceEnabled {
					t.Errorf("%.2f allocations per call, want 0", a)
				}
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
