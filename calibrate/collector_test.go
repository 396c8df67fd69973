package calibrate

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

var (
	nan  = float32(math.NaN())
	pinf = float32(math.Inf(1))
	ninf = float32(math.Inf(-1))
)

func TestMinMax(t *testing.T) {
	tests := []struct {
		name           string
		moving         bool
		c              float64
		batches        [][]float32
		lo, hi         float64
		ok             bool
		count, nonFin  int64
		wantBatches    int64
		obsLo, obsHiOK bool
	}{
		{name: "plain", batches: [][]float32{{1, -2, 3}, {0.5, 4}}, lo: -2, hi: 4, ok: true, count: 5, wantBatches: 2},
		{name: "non-finite left out", batches: [][]float32{{nan, 1, pinf, -1, ninf}}, lo: -1, hi: 1, ok: true, count: 2, nonFin: 3, wantBatches: 1},
		{name: "nothing finite", batches: [][]float32{{nan, pinf}}, ok: false, nonFin: 2, wantBatches: 1},
		{name: "empty tensor", batches: [][]float32{{}}, ok: false, wantBatches: 1},
		// avg = -1 then -1 + 0.5*(-3 - -1) = -2; max 1 then 1 + 0.5*(5-1) = 3.
		{name: "moving average", moving: true, c: 0.5, batches: [][]float32{{-1, 1}, {-3, 5}}, lo: -2, hi: 3, ok: true, count: 4, wantBatches: 2},
		// Default c = 0.01: 0 + 0.01*(10 - 0) = 0.1 for the max; min stays 0.
		{name: "moving average default constant", moving: true, batches: [][]float32{{0, 0}, {0, 10}}, lo: 0, hi: 0.1, ok: true, count: 4, wantBatches: 2},
		// A sample without finite values does not move the averages.
		{name: "moving average skips empty samples", moving: true, c: 0.5, batches: [][]float32{{-1, 1}, {nan}, {-3, 5}}, lo: -2, hi: 3, ok: true, count: 4, nonFin: 1, wantBatches: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewMinMax(tc.moving, tc.c)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range tc.batches {
				c.Add(b)
			}
			lo, hi, ok := c.Range()
			if ok != tc.ok || ok && (math.Abs(lo-tc.lo) > 1e-12 || math.Abs(hi-tc.hi) > 1e-12) {
				t.Errorf("Range() = %v, %v, %v; want %v, %v, %v", lo, hi, ok, tc.lo, tc.hi, tc.ok)
			}
			s := c.Summary()
			if s.Count != tc.count || s.NonFinite != tc.nonFin || s.Batches != tc.wantBatches {
				t.Errorf("Summary() = %+v; want count %d, non-finite %d, batches %d", s, tc.count, tc.nonFin, tc.wantBatches)
			}
		})
	}
}

func TestMinMaxAddRange(t *testing.T) {
	c, _ := NewMinMax(false, 0)
	c.AddRange(-1, 2)
	c.AddRange(nan, 3) // a sample whose reduction saw a NaN
	c.AddRange(-0.5, 7)
	lo, hi, ok := c.Range()
	if !ok || lo != -1 || hi != 7 {
		t.Errorf("Range() = %v, %v, %v; want -1, 7, true", lo, hi, ok)
	}
	if s := c.Summary(); s.NonFinite != 1 || s.Batches != 3 || s.Count != 0 {
		t.Errorf("Summary() = %+v; want 1 non-finite sample of 3, count unknown", s)
	}
}

func TestMinMaxMerge(t *testing.T) {
	a, _ := NewMinMax(false, 0)
	b, _ := NewMinMax(false, 0)
	a.Add([]float32{1, 2})
	b.Add([]float32{-5, 0, nan})
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	lo, hi, _ := a.Range()
	if lo != -5 || hi != 2 || a.Summary().NonFinite != 1 || a.Summary().Count != 4 {
		t.Errorf("merged: [%v, %v] %+v; want [-5, 2], 4 values, 1 non-finite", lo, hi, a.Summary())
	}
	// Moving averages merge weighted by samples: (-1*1 + -3*3)/4 = -2.5.
	ma, _ := NewMinMax(true, 0.5)
	mb, _ := NewMinMax(true, 0.5)
	ma.Add([]float32{-1, 1})
	for range 3 {
		mb.Add([]float32{-3, 3})
	}
	if err := ma.Merge(mb); err != nil {
		t.Fatal(err)
	}
	if lo, hi, _ := ma.Range(); lo != -2.5 || hi != 2.5 {
		t.Errorf("merged moving average [%v, %v]; want [-2.5, 2.5]", lo, hi)
	}
	if err := a.Merge(ma); err == nil {
		t.Error("merging plain and moving-average MinMax: no error")
	}
	e, _ := New(Entropy, Settings{})
	if err := a.Merge(e); err == nil {
		t.Error("merging Entropy into MinMax: no error")
	}
}

// bruteBins counts values into the histogram geometry the package
// documents, directly from the final range: exponent e smallest with
// max|x| < 2^e, bin floor(|x| / (2^e/half)), negative values counted
// apart.
func bruteBins(vals []float32, half int) (e int, pos, neg []uint64) {
	var m float64
	for _, v := range vals {
		m = math.Max(m, math.Abs(float64(v)))
	}
	e = 0
	for math.Ldexp(1, e) <= m {
		e++
	}
	for e > minExp && math.Ldexp(1, e-1) > m {
		e--
	}
	w := math.Ldexp(1/float64(half), e)
	pos, neg = make([]uint64, half), make([]uint64, half)
	for _, v := range vals {
		k := int(math.Floor(math.Abs(float64(v)) / w))
		if v >= 0 {
			pos[k]++
		} else {
			neg[k]++
		}
	}
	return e, pos, neg
}

func TestHistogramHandWorked(t *testing.T) {
	// 2 bins -> 4 bins per sign. [0.5, 1, -0.25, 3]: max 3 -> e 2, w 1.
	h := NewHistogram(2)
	h.Add([]float32{0.5, 1, -0.25, 3})
	if h.exp != 2 || !slices.Equal(h.pos, []uint64{1, 1, 0, 1}) || !slices.Equal(h.neg, []uint64{1, 0, 0, 0}) {
		t.Fatalf("after the first tensor: e %d pos %v neg %v; want 2 [1 1 0 1] [1 0 0 0]", h.exp, h.pos, h.neg)
	}
	// 7.5 doubles the range: e 3, w 2; bins pair up: 0.5 and 1 in bin 0,
	// 3 in bin 1, 7.5 in bin 3.
	h.Add([]float32{7.5})
	if h.exp != 3 || !slices.Equal(h.pos, []uint64{2, 1, 0, 1}) || !slices.Equal(h.neg, []uint64{1, 0, 0, 0}) {
		t.Fatalf("after growing: e %d pos %v neg %v; want 3 [2 1 0 1] [1 0 0 0]", h.exp, h.pos, h.neg)
	}
	// A jump of many doublings at once: 1000 -> e 10, w 256; all earlier
	// values fall in bin 0.
	h.Add([]float32{-1000, 0})
	if h.exp != 10 || !slices.Equal(h.pos, []uint64{5, 0, 0, 0}) || !slices.Equal(h.neg, []uint64{1, 0, 0, 1}) {
		t.Fatalf("after a big jump: e %d pos %v neg %v; want 10 [5 0 0 0] [1 0 0 1]", h.exp, h.pos, h.neg)
	}
	if s := h.Summary(); s.Count != 7 || s.Min != -1000 || s.Max != 7.5 {
		t.Errorf("summary %+v", s)
	}
}

func TestHistogramPowersOfTwo(t *testing.T) {
	// 0.5 alone: e 0 (0.5 < 1), w 0.25, bin 2. Then 1: e 1, w 0.5, so
	// 0.5 moves to bin 1 ([0.5, 1)) and 1 lands in bin 2 ([1, 1.5)),
	// as when both come at once; and -2 then makes e 2, w 1.
	h := NewHistogram(2)
	h.Add([]float32{0.5})
	if h.exp != 0 || !slices.Equal(h.pos, []uint64{0, 0, 1, 0}) {
		t.Fatalf("0.5: e %d pos %v; want 0 [0 0 1 0]", h.exp, h.pos)
	}
	h.Add([]float32{1})
	if h.exp != 1 || !slices.Equal(h.pos, []uint64{0, 1, 1, 0}) {
		t.Fatalf("then 1: e %d pos %v; want 1 [0 1 1 0]", h.exp, h.pos)
	}
	h.Add([]float32{-2})
	if h.exp != 2 || !slices.Equal(h.pos, []uint64{1, 1, 0, 0}) || !slices.Equal(h.neg, []uint64{0, 0, 1, 0}) {
		t.Fatalf("then -2: e %d pos %v neg %v; want 2 [1 1 0 0] [0 0 1 0]", h.exp, h.pos, h.neg)
	}
	once := NewHistogram(2)
	once.Add([]float32{0.5, 1, -2})
	if once.exp != h.exp || !slices.Equal(once.counts, h.counts) {
		t.Errorf("one pass: e %d counts %v; in three tensors: e %d counts %v", once.exp, once.counts, h.exp, h.counts)
	}
}

func TestHistogramZerosFirst(t *testing.T) {
	h := NewHistogram(4)
	h.Add([]float32{0, 0, 0})
	if h.scaled {
		t.Fatal("a histogram of zeros has a range")
	}
	h.Add([]float32{1, -1})
	_, pos, neg := bruteBins([]float32{0, 0, 0, 1, -1}, 8)
	if !slices.Equal(h.pos, pos) || !slices.Equal(h.neg, neg) {
		t.Errorf("pos %v neg %v; want %v %v", h.pos, h.neg, pos, neg)
	}
}

// data returns n values of a named distribution.
func data(dist string, n int, rng *rand.Rand) []float32 {
	out := make([]float32, n)
	for i := range out {
		switch dist {
		case "normal":
			out[i] = float32(rng.NormFloat64())
		case "relu":
			out[i] = float32(max(0, rng.NormFloat64()*3))
		case "shifted":
			out[i] = float32(5 + rng.Float64())
		case "heavy":
			out[i] = float32(math.Tan(math.Pi * (rng.Float64() - 0.5)))
		case "tiny":
			out[i] = float32(rng.NormFloat64() * 1e-30)
		}
	}
	return out
}

func TestHistogramOrderAndMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dist := range []string{"normal", "relu", "shifted", "heavy", "tiny"} {
		t.Run(dist, func(t *testing.T) {
			// Chunks of growing and shrinking scale, so the range grows
			// at different times in different orders.
			var chunks [][]float32
			var all []float32
			for i := range 12 {
				c := data(dist, 500+i*37, rng)
				s := float32(math.Ldexp(1, (i*5)%11-5))
				for j := range c {
					c[j] *= s
				}
				chunks = append(chunks, c)
				all = append(all, c...)
			}
			e, pos, neg := bruteBins(all, 64)
			check := func(name string, h *Histogram) {
				t.Helper()
				if h.exp != e || !slices.Equal(h.pos, pos) || !slices.Equal(h.neg, neg) {
					t.Errorf("%s: histogram differs from binning all values at once (e %d, want %d)", name, h.exp, e)
				}
				if s := h.Summary(); s.Count != int64(len(all)) {
					t.Errorf("%s: count %d, want %d", name, s.Count, len(all))
				}
			}
			fwd := NewHistogram(32)
			for _, c := range chunks {
				fwd.Add(c)
			}
			check("in order", fwd)
			rev := NewHistogram(32)
			for i := len(chunks) - 1; i >= 0; i-- {
				rev.Add(chunks[i])
			}
			check("reversed", rev)
			// Three shards merged equal one pass.
			shards := []*Histogram{NewHistogram(32), NewHistogram(32), NewHistogram(32)}
			for i, c := range chunks {
				shards[i%3].Add(c)
			}
			if err := shards[2].Merge(shards[0]); err != nil {
				t.Fatal(err)
			}
			if err := shards[2].Merge(shards[1]); err != nil {
				t.Fatal(err)
			}
			check("merged shards", shards[2])
		})
	}
	if err := NewHistogram(8).Merge(NewHistogram(16)); err == nil {
		t.Error("merging histograms of different sizes: no error")
	}
}

func TestHistogramNonFinite(t *testing.T) {
	h := NewHistogram(8)
	h.Add([]float32{1, nan, -2, pinf, ninf, 0.5})
	_, pos, neg := bruteBins([]float32{1, -2, 0.5}, 16)
	if !slices.Equal(h.pos, pos) || !slices.Equal(h.neg, neg) {
		t.Errorf("non-finite values were counted: pos %v neg %v", h.pos, h.neg)
	}
	if s := h.Summary(); s.NonFinite != 3 || s.Count != 3 || s.Min != -2 || s.Max != 1 {
		t.Errorf("summary %+v; want 3 finite, 3 non-finite, [-2, 1]", s)
	}
}

// nearestRank returns the k-th smallest value, k = ceil(q*n) (at least 1).
func nearestRank(sorted []float64, q float64) float64 {
	k := int(math.Ceil(q * float64(len(sorted))))
	return sorted[max(k, 1)-1]
}

func TestPercentileAgainstSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dist := range []string{"normal", "relu", "shifted", "heavy"} {
		vals := data(dist, 100000, rng)
		abs := make([]float64, len(vals))
		signed := make([]float64, len(vals))
		for i, v := range vals {
			abs[i] = math.Abs(float64(v))
			signed[i] = float64(v)
		}
		slices.Sort(abs)
		slices.Sort(signed)
		lo0, hi0 := signed[0], signed[len(signed)-1]
		for _, p := range []float64{90, 99, 99.9, 99.999, 100} {
			for _, sym := range []bool{true, false} {
				name := fmt.Sprintf("%s/p%g", dist, p)
				if sym {
					name += "/symmetric"
				}
				t.Run(name, func(t *testing.T) {
					c, err := New(Percentile, Settings{Percentile: p, Symmetric: sym})
					if err != nil {
						t.Fatal(err)
					}
					// Three tensors, so the range grows on the way.
					third := len(vals) / 3
					c.Add(vals[:third])
					c.Add(vals[third : 2*third])
					c.Add(vals[2*third:])
					lo, hi, ok := c.Range()
					if !ok {
						t.Fatal("no range")
					}
					var wantLo, wantHi float64
					if sym {
						th := nearestRank(abs, p/100)
						wantLo, wantHi = math.Max(-th, lo0), math.Min(th, hi0)
					} else {
						q := (100 - p) / 200
						wantLo = nearestRank(signed, q)
						if q == 0 {
							wantLo = lo0
						}
						// The value with a fraction q of the data above it.
						k := int(math.Ceil(q * float64(len(signed))))
						wantHi = signed[len(signed)-max(k, 1)]
					}
					w := c.(*PercentileCollector).Hist.Width()
					if math.Abs(lo-wantLo) > w || math.Abs(hi-wantHi) > w {
						t.Errorf("range [%g, %g]; sorting gives [%g, %g] (bin width %g)", lo, hi, wantLo, wantHi, w)
					}
					if lo > wantLo || hi < wantHi {
						t.Errorf("range [%g, %g] is narrower than the percentile [%g, %g]", lo, hi, wantLo, wantHi)
					}
				})
			}
		}
	}
}

func TestKLHandWorked(t *testing.T) {
	// h = [8 4 2 1 0 0 0 1], 2 levels. Worked by hand (see klSearch):
	//   i=2: P=[8 8], Q=[8 4]                  KL = .5 ln(1.125)
	//   i=3: P=[8 4 4], Q=[8 3 3]              KL = .5 ln(.875) + .5 ln(14/12)
	//   i=4: P=[8 4 2 2], Q=[6 6 1.5 1.5]      KL = .75 ln(1.25) + .25 ln(.625)
	//   i=8: P=h, Q=[3.75 x4, 0 0 0, 1]        KL = .5 ln(8/3.75) + .25 ln(4/3.75)
	//                                               + .125 ln(2/3.75) + .0625 ln(1/3.75)
	// and i=3 has the least divergence.
	h := []float64{8, 4, 2, 1, 0, 0, 0, 1}
	want := map[int]float64{
		2: 0.5 * math.Log(1.125),
		3: 0.5*math.Log(0.875) + 0.5*math.Log(14.0/12),
		4: 0.75*math.Log(1.25) + 0.25*math.Log(0.625),
		8: 0.5*math.Log(8/3.75) + 0.25*math.Log(4/3.75) + 0.125*math.Log(2/3.75) + 0.0625*math.Log(1/3.75),
	}
	H, L, Z := prefixes(h)
	for i, kl := range want {
		if got := klCandidate(h, H, L, Z, i, 2, H[len(h)]); math.Abs(got-kl) > 1e-12 {
			t.Errorf("KL for %d bins = %.12g, want %.12g", i, got, kl)
		}
	}
	if i, kl := klSearch(h, 2, 1); i != 3 || math.Abs(kl-want[3]) > 1e-12 {
		t.Errorf("klSearch = %d bins (KL %g), want 3 (KL %g)", i, kl, want[3])
	}
	// A level with outliers but no unclipped count makes KL infinite:
	// h = [4 0 2 2], i=2: P=[4 4], Q=[4 0].
	h2 := []float64{4, 0, 2, 2}
	H, L, Z = prefixes(h2)
	if got := klCandidate(h2, H, L, Z, 2, 2, 8); !math.IsInf(got, 1) {
		t.Errorf("KL with an empty quantized level under outliers = %g, want +Inf", got)
	}
}

func prefixes(h []float64) ([]float64, []float64, []int) {
	H := make([]float64, len(h)+1)
	L := make([]float64, len(h)+1)
	Z := make([]int, len(h)+1)
	for k, v := range h {
		H[k+1], L[k+1], Z[k+1] = H[k]+v, L[k], Z[k]
		if v > 0 {
			L[k+1] += v * math.Log(v)
			Z[k+1]++
		}
	}
	return H, L, Z
}

// bruteKL builds P and Q for i bins explicitly and sums p log(p/q) over
// the normalized distributions.
func bruteKL(h []float64, i, levels int) float64 {
	p := slices.Clone(h[:i])
	for _, v := range h[i:] {
		p[i-1] += v
	}
	q := make([]float64, i)
	m := i / levels
	for j := range levels {
		s, e := j*m, (j+1)*m
		if j == levels-1 {
			e = i
		}
		var sum, nz float64
		for k := s; k < e; k++ {
			sum += h[k]
			if p[k] > 0 {
				nz++
			}
		}
		for k := s; k < e; k++ {
			if p[k] > 0 {
				q[k] = sum / nz
			}
		}
	}
	var P, Q float64
	for k := range p {
		P += p[k]
		Q += q[k]
	}
	var kl float64
	for k := range p {
		if p[k] == 0 {
			continue
		}
		if q[k] == 0 {
			return math.Inf(1)
		}
		kl += p[k] / P * math.Log((p[k]/P)/(q[k]/Q))
	}
	return kl
}

func TestKLSearchAgainstBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 30 {
		n := 16 + rng.IntN(300)
		levels := 2 + rng.IntN(min(n-1, 40))
		h := make([]float64, n)
		for k := range h {
			// A decaying shape with gaps and a sparse tail.
			if rng.Float64() < 0.2 {
				continue
			}
			h[k] = math.Floor(1e4 * math.Exp(-float64(k)/float64(n)*6) * rng.Float64())
		}
		h[n-1] = 1
		best, bestKL := levels, math.Inf(1)
		H, L, Z := prefixes(h)
		for i := levels; i <= n; i++ {
			want := bruteKL(h, i, levels)
			got := klCandidate(h, H, L, Z, i, levels, H[n])
			if math.IsInf(want, 1) != math.IsInf(got, 1) || !math.IsInf(want, 1) && math.Abs(got-want) > 1e-9*max(1, want) {
				t.Fatalf("trial %d (%d bins, %d levels): KL for %d bins = %g, brute force %g", trial, n, levels, i, got, want)
			}
			if want < bestKL-1e-12 {
				best, bestKL = i, want
			}
		}
		i, kl := klSearch(h, levels, 1)
		if math.Abs(kl-bestKL) > 1e-9*max(1, bestKL) {
			t.Errorf("trial %d: klSearch picks %d bins (KL %g), brute force %d (KL %g)", trial, i, kl, best, bestKL)
		}
		// With a step of 3, only levels, levels+3, ... and n compete.
		best3, best3KL := n, math.Inf(1)
		for i := levels; i <= n; i++ {
			if (i-levels)%3 != 0 && i != n {
				continue
			}
			if kl := bruteKL(h, i, levels); kl < best3KL-1e-12 {
				best3, best3KL = i, kl
			}
		}
		if i, kl := klSearch(h, levels, 3); math.Abs(kl-best3KL) > 1e-9*max(1, best3KL) || (i-levels)%3 != 0 && i != n {
			t.Errorf("trial %d: klSearch with step 3 picks %d bins (KL %g), brute force %d (KL %g)", trial, i, kl, best3, best3KL)
		}
	}
}

func TestEntropyRange(t *testing.T) {
	// Gaussian data with a few far outliers: the threshold must clip the
	// outliers (well below max|x|) but keep the bulk (above 3 sigma).
	rng := rand.New(rand.NewPCG(9, 10))
	vals := data("normal", 200000, rng)
	vals[0], vals[1] = 60, -45
	c, err := New(Entropy, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	c.Add(vals)
	lo, hi, ok := c.Range()
	if !ok || hi < 3 || hi > 20 || lo != -hi {
		t.Errorf("entropy range [%g, %g]: want a symmetric threshold in [3, 20] for N(0,1) with outliers at 60", lo, hi)
	}
	// ReLU-like data: the range stays within the observed [0, max].
	r, _ := New(Entropy, Settings{})
	r.Add(data("relu", 50000, rng))
	if lo, hi, _ := r.Range(); lo != 0 || hi <= 0 {
		t.Errorf("entropy range of non-negative data [%g, %g]: want [0, t]", lo, hi)
	}
	// Fewer used bins than levels: the whole range.
	s, _ := New(Entropy, Settings{})
	s.Add([]float32{0, 1, 2, -3})
	if lo, hi, _ := s.Range(); lo != -3 || hi != 2 {
		t.Errorf("range of 4 values [%g, %g], want [-3, 2]", lo, hi)
	}
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		m Method
		s Settings
	}{
		{Percentile, Settings{Percentile: 101}},
		{Percentile, Settings{Percentile: -1}},
		{Entropy, Settings{Bins: 64, QuantizedLevels: 128}},
		{MinMax, Settings{AveragingConstant: 2}},
		{Method(9), Settings{}},
	} {
		if _, err := New(tc.m, tc.s); err == nil {
			t.Errorf("New(%v, %+v): no error", tc.m, tc.s)
		}
	}
	if _, err := ParseMethod("median"); err == nil {
		t.Error("ParseMethod(median): no error")
	}
}
