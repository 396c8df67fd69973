package calibrate

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Method is a way of turning observed values into a quantization range.
type Method int

const (
	// MinMax takes the smallest and largest values (optionally averaged
	// over samples).
	MinMax Method = iota
	// Entropy picks the threshold minimizing the KL divergence between
	// the clipped distribution and its quantized version (TensorRT).
	Entropy
	// Percentile cuts the distribution at a percentile.
	Percentile
)

// String returns the method's CLI name.
func (m Method) String() string {
	switch m {
	case MinMax:
		return "minmax"
	case Entropy:
		return "entropy"
	case Percentile:
		return "percentile"
	}
	return fmt.Sprintf("Method(%d)", int(m))
}

// ParseMethod accepts minmax, entropy and percentile (any case).
func ParseMethod(s string) (Method, error) {
	switch strings.ToLower(s) {
	case "minmax", "min-max", "min_max":
		return MinMax, nil
	case "entropy", "kl":
		return Entropy, nil
	case "percentile":
		return Percentile, nil
	}
	return 0, fmt.Errorf("calibrate: unknown method %q (want minmax, entropy or percentile)", s)
}

// Settings are the parameters of a method that shape its statistics and
// the range it chooses. The zero value means the defaults.
type Settings struct {
	// MovingAverage averages the per-sample minima and maxima (MinMax).
	MovingAverage bool
	// AveragingConstant is c in old + c*(new-old); 0 means 0.01.
	AveragingConstant float64
	// Bins is the least number of histogram bins over [0, max|x|]
	// (Entropy, Percentile); 0 means 2048.
	Bins int
	// QuantizedLevels is the number of levels the Entropy search
	// quantizes to; 0 means 128.
	QuantizedLevels int
	// Percentile is p for the Percentile method, in (0, 100]; 0 means
	// 99.999.
	Percentile float64
	// Symmetric takes the percentile of |x| (range [-t, t] clamped to the
	// observed range) instead of cutting each tail of the signed values.
	Symmetric bool
}

// Default values of Settings.
const (
	DefaultAveragingConstant = 0.01
	DefaultBins              = 2048
	DefaultQuantizedLevels   = 128
	DefaultPercentile        = 99.999
)

// normalized fills defaults and checks the settings for method m.
func (s Settings) normalized(m Method) (Settings, error) {
	if s.AveragingConstant == 0 {
		s.AveragingConstant = DefaultAveragingConstant
	}
	if s.Bins == 0 {
		s.Bins = DefaultBins
	}
	if s.QuantizedLevels == 0 {
		s.QuantizedLevels = DefaultQuantizedLevels
	}
	if s.Percentile == 0 {
		s.Percentile = DefaultPercentile
	}
	switch {
	case m < MinMax || m > Percentile:
		return s, fmt.Errorf("calibrate: unknown method %d", int(m))
	case !(s.AveragingConstant > 0 && s.AveragingConstant <= 1):
		return s, fmt.Errorf("calibrate: averaging constant %g is not in (0, 1]", s.AveragingConstant)
	case s.Bins < 2 || s.Bins > 1<<20:
		return s, fmt.Errorf("calibrate: %d bins: want 2 to %d", s.Bins, 1<<20)
	case s.QuantizedLevels < 2 || s.QuantizedLevels > s.Bins:
		return s, fmt.Errorf("calibrate: %d quantized levels: want 2 to the number of bins (%d)", s.QuantizedLevels, s.Bins)
	case !(s.Percentile > 0 && s.Percentile <= 100):
		return s, fmt.Errorf("calibrate: percentile %g is not in (0, 100]", s.Percentile)
	}
	// Settings a method does not use are kept at their defaults so that
	// results compare equal whatever the caller left in them.
	if m != MinMax {
		s.MovingAverage = false
		s.AveragingConstant = DefaultAveragingConstant
	}
	if m == MinMax {
		s.Bins, s.QuantizedLevels = DefaultBins, DefaultQuantizedLevels
	}
	if m != Entropy {
		s.QuantizedLevels = DefaultQuantizedLevels
	}
	if m != Percentile {
		s.Percentile = DefaultPercentile
		s.Symmetric = false
	}
	return s, nil
}

// Summary is what every collector knows of the values it has seen.
type Summary struct {
	// Min and Max are the smallest and largest finite values (0 when
	// Count is 0).
	Min, Max float64
	// Count is the number of finite values, when known (ONNX Runtime's
	// ReduceMin/ReduceMax do not say how many values they reduced).
	Count int64
	// NonFinite is the number of NaN and infinite values left out. With
	// ONNX Runtime's MinMax it counts samples whose reduced minimum or
	// maximum was not finite instead.
	NonFinite int64
	// Batches is the number of tensors (one per sample) folded in.
	Batches int64
	// HasRange says whether a finite value has been seen (Min and Max are
	// meaningful).
	HasRange bool
}

// addRange widens the summary's range to [lo, hi].
func (s *Summary) addRange(lo, hi float64) {
	if !s.HasRange {
		s.Min, s.Max, s.HasRange = lo, hi, true
		return
	}
	s.Min = math.Min(s.Min, lo)
	s.Max = math.Max(s.Max, hi)
}

// merge folds o into s.
func (s *Summary) merge(o Summary) {
	if o.HasRange {
		s.addRange(o.Min, o.Max)
	}
	s.Count += o.Count
	s.NonFinite += o.NonFinite
	s.Batches += o.Batches
}

// Collector folds the values of one tensor, one sample at a time, into
// statistics from which it chooses a quantization range. Collectors are
// not safe for concurrent use.
type Collector interface {
	// Add folds in one tensor's values. NaN and infinities are counted
	// and left out.
	Add(x []float32)
	// Merge folds in another collector of the same kind and settings, as
	// if its data had been added to this one.
	Merge(other Collector) error
	// Range returns the chosen quantization range; ok is false when no
	// finite value has been seen.
	Range() (lo, hi float64, ok bool)
	// Summary returns the observed range and counts.
	Summary() Summary
}

// New returns an empty collector for the method and settings.
func New(m Method, s Settings) (Collector, error) {
	s, err := s.normalized(m)
	if err != nil {
		return nil, err
	}
	switch m {
	case MinMax:
		return &MinMaxCollector{settings: s}, nil
	case Entropy:
		return &EntropyCollector{Hist: NewHistogram(s.Bins), Levels: s.QuantizedLevels}, nil
	default:
		return &PercentileCollector{Hist: NewHistogram(s.Bins), Percentile: s.Percentile, Symmetric: s.Symmetric}, nil
	}
}

// ErrMismatch is returned when merging collectors or results of different
// kinds or settings.
var ErrMismatch = errors.New("calibrate: statistics of different kinds or settings")

// scan returns the finite minimum and maximum of x and the number of
// finite and non-finite values.
func scan(x []float32) (lo, hi float32, finite, bad int) {
	lo, hi = float32(math.Inf(1)), float32(math.Inf(-1))
	for _, v := range x {
		if v-v != 0 { // NaN or ±Inf
			bad++
			continue
		}
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi, len(x) - bad, bad
}
