package calibrate

import (
	"fmt"
	"math"
)

// EntropyCollector chooses the range by the TensorRT KL-divergence search
// over a Histogram of magnitudes (see the package documentation).
type EntropyCollector struct {
	Hist *Histogram
	// Levels is the number of quantized levels (128 for int8).
	Levels int

	// threshold caches the search's result until the next Add or Merge.
	threshold float64
	cached    bool
}

// Add folds in one tensor's values.
func (c *EntropyCollector) Add(x []float32) {
	c.cached = false
	c.Hist.Add(x)
}

// Merge folds in another EntropyCollector with the same settings.
func (c *EntropyCollector) Merge(other Collector) error {
	o, ok := other.(*EntropyCollector)
	if !ok {
		return fmt.Errorf("%w: merging %T into Entropy", ErrMismatch, other)
	}
	if o.Levels != c.Levels {
		return fmt.Errorf("%w: %d and %d quantized levels", ErrMismatch, c.Levels, o.Levels)
	}
	c.cached = false
	return c.Hist.Merge(o.Hist)
}

// Range returns [-t, t] clamped to the observed range, t being the
// threshold of least KL divergence.
func (c *EntropyCollector) Range() (lo, hi float64, ok bool) {
	s := c.Hist.sum
	if !s.HasRange {
		return 0, 0, false
	}
	t := c.Threshold()
	lo, hi = c.Hist.clampSym(t)
	return lo, hi, true
}

// Threshold returns the magnitude threshold of least KL divergence, at
// most max|x|. The data spans between Bins and 2*Bins histogram bins;
// candidate thresholds are taken every ceil(spanned/Bins) bins (and at the
// last), so that at most about Bins candidates are tried, TensorRT's
// resolution of max|x|/2048 with the default 2048 bins.
func (c *EntropyCollector) Threshold() float64 {
	if c.cached {
		return c.threshold
	}
	h := c.Hist
	maxAbs := math.Max(-h.sum.Min, h.sum.Max)
	a, _ := h.abs()
	t := math.Max(maxAbs, 0)
	if h.scaled && len(a) > c.Levels {
		bins := max(1, h.half/2)
		i, _ := klSearch(a, c.Levels, (len(a)+bins-1)/bins)
		t = math.Min(float64(i)*h.Width(), maxAbs)
	}
	c.threshold, c.cached = t, true
	return t
}

// Summary returns the observed range and counts.
func (c *EntropyCollector) Summary() Summary { return c.Hist.sum }

// klSearch returns the number of bins i (levels <= i <= len(h), i-levels
// a multiple of step, or i = len(h)) whose threshold minimizes KL(P||Q),
// and that divergence, where for candidate i:
//
//	P = h[0:i] with the counts of h[i:] added to P[i-1]
//	Q = h[0:i] merged into `levels` levels of i/levels bins each (the
//	    last level also takes the i%levels remaining bins), each level's
//	    count spread evenly over the level's bins where P is not zero
//
// P and Q are normalized to sum 1. A bin where P > 0 and Q = 0 makes the
// divergence infinite. Ties go to the smallest i.
//
// Candidates are evaluated from prefix sums: within a level of clipped
// count T, unclipped count S and nz non-empty bins of P, Q is S/nz on each
// of them, so sum(P log Q) over the level is T log(S/nz); all levels but
// the last depend only on the level width i/levels, so they are summed
// once per width; sum(P log P) comes from a prefix sum of h log h, the
// last bin (which holds the outliers) apart. With N = sum(h) (the total of P)
// and S_i = sum(h[0:i]) (the total of Q),
//
//	KL = (sum(P log P) - sum_levels T log(S/nz)) / N + log(S_i / N)
func klSearch(h []float64, levels, step int) (int, float64) {
	n := len(h)
	H := make([]float64, n+1) // prefix sums of h
	L := make([]float64, n+1) // of h log h
	Z := make([]int, n+1)     // of h != 0
	for k, v := range h {
		H[k+1] = H[k] + v
		L[k+1] = L[k]
		Z[k+1] = Z[k]
		if v > 0 {
			L[k+1] += v * math.Log(v)
			Z[k+1]++
		}
	}
	total := H[n]
	best, bestKL := n, math.Inf(1)
	step = max(step, 1)
	// Candidates with the same level width m share every level but the
	// last: their part of sum(P log Q) is computed once per m.
	curM := -1
	var shared float64
	for i := levels; ; i += step {
		i = min(i, n)
		if m := i / levels; m != curM {
			curM, shared = m, 0
			for j := 0; j < levels-1; j++ {
				if s := H[(j+1)*m] - H[j*m]; s > 0 {
					shared += s * math.Log(s/float64(Z[(j+1)*m]-Z[j*m]))
				}
			}
		}
		kl := klLast(h, H, L, Z, i, levels, total, shared)
		if kl < bestKL {
			best, bestKL = i, kl
		}
		if i == n {
			break
		}
	}
	return best, bestKL
}

// klLast returns KL(P||Q) for i bins given the other levels' part of
// sum(P log Q) (see klSearch); klCandidate computes the same from scratch.
func klLast(h, H, L []float64, Z []int, i, levels int, total, shared float64) float64 {
	if total == 0 {
		return 0
	}
	outliers := total - H[i]
	last := h[i-1] + outliers
	plogp := L[i-1]
	if last > 0 {
		plogp += last * math.Log(last)
	}
	start := (levels - 1) * (i / levels)
	s := H[i] - H[start]
	t := s + outliers
	nz := Z[i-1] - Z[start]
	if last > 0 {
		nz++
	}
	plogq := shared
	if t > 0 {
		if s == 0 {
			return math.Inf(1)
		}
		plogq += t * math.Log(s/float64(nz))
	}
	return (plogp-plogq)/total + math.Log(H[i]/total)
}

// klCandidate returns KL(P||Q) for the threshold of i bins (see klSearch).
func klCandidate(h, H, L []float64, Z []int, i, levels int, total float64) float64 {
	if total == 0 {
		return 0
	}
	outliers := total - H[i]
	last := h[i-1] + outliers
	m := i / levels
	plogp := L[i-1]
	if last > 0 {
		plogp += last * math.Log(last)
	}
	var plogq float64
	for j := 0; j < levels; j++ {
		start, end := j*m, (j+1)*m
		if j == levels-1 {
			end = i
		}
		s := H[end] - H[start]
		t := s
		var nz int
		if j == levels-1 {
			nz = Z[end-1] - Z[start]
			if last > 0 {
				nz++
			}
			t += outliers
		} else {
			nz = Z[end] - Z[start]
		}
		if t == 0 {
			continue
		}
		if s == 0 {
			return math.Inf(1)
		}
		plogq += t * math.Log(s/float64(nz))
	}
	return (plogp-plogq)/total + math.Log(H[i]/total)
}
