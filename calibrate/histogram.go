package calibrate

import (
	"fmt"
	"math"
	"slices"
)

// Exponent limits of a histogram's range 2^e: below minExp every value
// lands in the first bin anyway; float32 values never exceed 2^128.
const (
	minExp = -126
	maxExp = 128
)

// Histogram counts the magnitudes of values, separately for each sign, in
// half bins over [0, 2^exp): bin k holds magnitudes in [k*w, (k+1)*w),
// w = 2^exp/half, exp being the smallest integer with max|x| < 2^exp (at
// least -126). Positive values and zeros count in pos, negative values
// in neg. exp grows when data exceeds
// the range, merging bins so that no count is lost (see the package
// documentation); the counts never depend on the order of the data.
type Histogram struct {
	// half is the number of bins per sign (twice the Bins setting).
	half int
	// exp is the range exponent, meaningful once scaled is true (before,
	// only zeros were seen, all in pos[0]).
	exp    int
	scaled bool
	// counts holds the counts by magnitude: pos then neg.
	counts, pos, neg []uint64
	sum              Summary
}

// NewHistogram returns an empty histogram with at least bins bins over
// [0, max|x|] (2*bins bins per sign over [0, 2^Exp]).
func NewHistogram(bins int) *Histogram {
	if bins < 1 {
		bins = DefaultBins
	}
	h := 2 * bins
	c := make([]uint64, 2*h)
	return &Histogram{half: h, counts: c, pos: c[:h], neg: c[h:]}
}

// BinsPerSign returns the number of bins for each sign.
func (h *Histogram) BinsPerSign() int { return h.half }

// Exponent returns e of the range [0, 2^e]; ok is false until a non-zero
// value has been seen.
func (h *Histogram) Exponent() (e int, ok bool) { return h.exp, h.scaled }

// Counts returns copies of the counts by magnitude of the values with the
// sign bit clear (pos) and set (neg).
func (h *Histogram) Counts() (pos, neg []uint64) {
	return slices.Clone(h.pos), slices.Clone(h.neg)
}

// expFor returns the smallest e with m < 2^e, within [minExp, maxExp].
func expFor(m float64) int {
	_, e := math.Frexp(m) // m = frac * 2^e, frac in [0.5, 1)
	return max(minExp, min(maxExp, e))
}

// Width returns the bin width 2^Exp/Half (0 before any non-zero value).
func (h *Histogram) Width() float64 {
	if !h.scaled {
		return 0
	}
	return math.Ldexp(1/float64(h.half), h.exp)
}

// grow raises Exp to e, moving each bin k to k >> (e - Exp).
func (h *Histogram) grow(e int) {
	s := e - h.exp
	h.exp = e
	if s <= 0 {
		return
	}
	for _, c := range [][]uint64{h.pos, h.neg} {
		if s >= 63 {
			var t uint64
			for k := range c {
				t += c[k]
				c[k] = 0
			}
			c[0] = t
			continue
		}
		for k := 1; k < len(c); k++ {
			if v := c[k]; v != 0 {
				c[k] = 0
				c[k>>s] += v
			}
		}
	}
}

// Add folds in one tensor's values: a first pass finds their range (and
// grows the histogram when needed), a second counts them.
func (h *Histogram) Add(x []float32) {
	lo, hi, n, bad := scan(x)
	h.sum.Batches++
	h.sum.NonFinite += int64(bad)
	h.sum.Count += int64(n)
	if n == 0 {
		return
	}
	h.sum.addRange(float64(lo), float64(hi))
	if m := math.Max(-float64(lo), float64(hi)); m > 0 {
		e := expFor(m)
		switch {
		case !h.scaled:
			h.exp, h.scaled = e, true
		case e > h.exp:
			h.grow(e)
		}
	}
	if !h.scaled { // only zeros so far
		h.pos[0] += uint64(n)
		return
	}
	// scale is a power of two, so a*scale is exact and its floor is the
	// bin whatever the order values came in.
	half := h.half
	last := half - 1
	scale := float32(math.Ldexp(float64(half), -h.exp))
	switch {
	case bad > 0:
		for _, v := range x {
			switch {
			case v-v != 0:
			case v >= 0:
				h.pos[min(int(v*scale), last)]++
			default:
				h.neg[min(int(-v*scale), last)]++
			}
		}
	case lo >= 0: // no negative value (ReLU outputs): one half only
		pos := h.pos[:half]
		for _, v := range x {
			pos[min(int(v*scale), last)]++
		}
	default:
		// The sign bit picks the half of counts (pos, then neg) without a
		// branch; adding 0 turns -0 into +0, so zeros count as positive.
		counts := h.counts[:2*half]
		for _, v := range x {
			bits := math.Float32bits(v + 0)
			a := math.Float32frombits(bits &^ (1 << 31))
			counts[min(int(a*scale), last)+int(bits>>31)*half]++
		}
	}
}

// Merge folds in another histogram with the same number of bins.
func (h *Histogram) Merge(o *Histogram) error {
	if o.half != h.half {
		return fmt.Errorf("%w: histograms of %d and %d bins", ErrMismatch, h.half/2, o.half/2)
	}
	h.sum.merge(o.sum)
	if !o.scaled {
		h.pos[0] += o.pos[0]
		return nil
	}
	switch {
	case !h.scaled:
		h.exp, h.scaled = o.exp, true
	case o.exp > h.exp:
		h.grow(o.exp)
	}
	s := h.exp - o.exp
	for i, c := range [][]uint64{o.pos, o.neg} {
		dst := h.pos
		if i == 1 {
			dst = h.neg
		}
		for k, v := range c {
			if v == 0 {
				continue
			}
			if s >= 63 {
				dst[0] += v
			} else {
				dst[k>>s] += v
			}
		}
	}
	return nil
}

// Summary returns the observed range and counts.
func (h *Histogram) Summary() Summary { return h.sum }

// abs returns the counts of |x| by bin, trimmed after the last non-empty
// bin, and their total.
func (h *Histogram) abs() ([]float64, float64) {
	a := make([]float64, h.half)
	used := 0
	var total float64
	for k := range a {
		v := h.pos[k] + h.neg[k]
		if v != 0 {
			used = k + 1
		}
		a[k] = float64(v)
		total += a[k]
	}
	return a[:used], total
}

// clampSym turns a magnitude threshold t into the range [-t, t] clamped to
// the observed range.
func (h *Histogram) clampSym(t float64) (float64, float64) {
	return math.Max(-t, h.sum.Min), math.Min(t, h.sum.Max)
}

// Quantile returns the value below which a fraction q (0..1) of the
// magnitudes |x| lie, rounded up to the upper edge of the bin where it
// falls and clamped to max|x|: at most one bin width above the exact
// quantile, never below it.
func (h *Histogram) Quantile(q float64) float64 {
	a, total := h.abs()
	maxAbs := math.Max(-h.sum.Min, h.sum.Max)
	if total == 0 || !h.scaled {
		return math.Max(maxAbs, 0)
	}
	k := cutBin(a, q*total)
	return math.Min(float64(k+1)*h.Width(), maxAbs)
}

// cutBin returns the bin where the running sum of counts c first reaches
// target (the first non-empty bin for a target of 0).
func cutBin(c []float64, target float64) int {
	var cum float64
	for k, v := range c {
		cum += v
		if v > 0 && cum >= target {
			return k
		}
	}
	return len(c) - 1
}

// signedCuts returns the values below which a fraction q of the signed
// values lie, from the bottom (lower) and from the top (upper), each at the
// outer edge of the bin where it falls and clamped to the observed range.
func (h *Histogram) signedCuts(q float64) (lo, hi float64) {
	if !h.scaled {
		return h.sum.Min, h.sum.Max
	}
	w := h.Width()
	target := q * float64(h.sum.Count)
	// Ascending values: Neg from the last bin down, then Pos upwards.
	// Position i covers [(i-Half)*w, (i-Half+1)*w).
	asc := make([]float64, 2*h.half)
	for k := 0; k < h.half; k++ {
		asc[h.half-1-k] = float64(h.neg[k])
		asc[h.half+k] = float64(h.pos[k])
	}
	lo = float64(cutBin(asc, target)-h.half) * w
	slices.Reverse(asc)
	hi = float64(h.half-cutBin(asc, target)) * w
	lo = math.Max(h.sum.Min, math.Min(lo, h.sum.Max))
	hi = math.Min(h.sum.Max, math.Max(hi, lo))
	return lo, hi
}

// PercentileCollector chooses the range at a percentile of a Histogram.
type PercentileCollector struct {
	Hist       *Histogram
	Percentile float64
	Symmetric  bool
}

// Add folds in one tensor's values.
func (c *PercentileCollector) Add(x []float32) { c.Hist.Add(x) }

// Merge folds in another PercentileCollector with the same settings.
func (c *PercentileCollector) Merge(other Collector) error {
	o, ok := other.(*PercentileCollector)
	if !ok {
		return fmt.Errorf("%w: merging %T into Percentile", ErrMismatch, other)
	}
	if o.Percentile != c.Percentile || o.Symmetric != c.Symmetric {
		return fmt.Errorf("%w: percentile %g (symmetric %v) and %g (symmetric %v)", ErrMismatch, c.Percentile, c.Symmetric, o.Percentile, o.Symmetric)
	}
	return c.Hist.Merge(o.Hist)
}

// Range returns the symmetric range [-t, t] (t the percentile of |x|)
// clamped to the observed range, or the cuts of (100-p)/2 percent from
// each tail.
func (c *PercentileCollector) Range() (lo, hi float64, ok bool) {
	s := c.Hist.sum
	if !s.HasRange {
		return 0, 0, false
	}
	if c.Symmetric {
		lo, hi = c.Hist.clampSym(c.Hist.Quantile(c.Percentile / 100))
		return lo, hi, true
	}
	lo, hi = c.Hist.signedCuts((100 - c.Percentile) / 200)
	return lo, hi, true
}

// Summary returns the observed range and counts.
func (c *PercentileCollector) Summary() Summary { return c.Hist.sum }
