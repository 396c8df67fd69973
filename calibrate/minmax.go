package calibrate

import "fmt"

// MinMaxCollector keeps the smallest and largest values seen, and with
// moving averaging the running averages of each sample's minimum and
// maximum: avg = avg + c*(new - avg), the first sample setting avg.
type MinMaxCollector struct {
	settings Settings
	sum      Summary
	// avgMin and avgMax are the moving averages over avgN samples with a
	// finite value.
	avgMin, avgMax float64
	avgN           int64
}

// NewMinMax returns a MinMax collector; movingAverage with constant c (0
// means 0.01) averages the per-sample ranges.
func NewMinMax(movingAverage bool, c float64) (*MinMaxCollector, error) {
	s, err := Settings{MovingAverage: movingAverage, AveragingConstant: c}.normalized(MinMax)
	if err != nil {
		return nil, err
	}
	return &MinMaxCollector{settings: s}, nil
}

// Add folds in one tensor's values.
func (c *MinMaxCollector) Add(x []float32) {
	lo, hi, n, bad := scan(x)
	c.sum.Batches++
	c.sum.NonFinite += int64(bad)
	c.sum.Count += int64(n)
	if n == 0 {
		return
	}
	c.addRange(float64(lo), float64(hi))
}

// AddRange folds in one sample's reduced minimum and maximum, as ONNX
// Runtime's ReduceMin and ReduceMax return them: the value count stays
// unknown, and a non-finite bound counts the sample in NonFinite and
// leaves it out.
func (c *MinMaxCollector) AddRange(lo, hi float32) {
	c.sum.Batches++
	if lo-lo != 0 || hi-hi != 0 || lo > hi {
		c.sum.NonFinite++
		return
	}
	c.addRange(float64(lo), float64(hi))
}

func (c *MinMaxCollector) addRange(lo, hi float64) {
	c.sum.addRange(lo, hi)
	if c.avgN == 0 {
		c.avgMin, c.avgMax = lo, hi
	} else {
		k := c.settings.AveragingConstant
		c.avgMin += k * (lo - c.avgMin)
		c.avgMax += k * (hi - c.avgMax)
	}
	c.avgN++
}

// Merge folds in another MinMaxCollector with the same settings. Plain
// minima and maxima merge exactly. Moving averages depend on the order of
// the samples, so no merge can equal one run: the merged averages are the
// two averages weighted by their sample counts.
func (c *MinMaxCollector) Merge(other Collector) error {
	o, ok := other.(*MinMaxCollector)
	if !ok {
		return fmt.Errorf("%w: merging %T into MinMax", ErrMismatch, other)
	}
	if o.settings != c.settings {
		return fmt.Errorf("%w: MinMax settings %+v and %+v", ErrMismatch, c.settings, o.settings)
	}
	c.sum.merge(o.sum)
	switch {
	case o.avgN == 0:
	case c.avgN == 0:
		c.avgMin, c.avgMax, c.avgN = o.avgMin, o.avgMax, o.avgN
	default:
		n := float64(c.avgN + o.avgN)
		c.avgMin = (c.avgMin*float64(c.avgN) + o.avgMin*float64(o.avgN)) / n
		c.avgMax = (c.avgMax*float64(c.avgN) + o.avgMax*float64(o.avgN)) / n
		c.avgN += o.avgN
	}
	return nil
}

// Range returns [min, max], or the averaged range with MovingAverage.
func (c *MinMaxCollector) Range() (lo, hi float64, ok bool) {
	if !c.sum.HasRange {
		return 0, 0, false
	}
	if c.settings.MovingAverage {
		return c.avgMin, c.avgMax, true
	}
	return c.sum.Min, c.sum.Max, true
}

// Summary returns the observed range and counts.
func (c *MinMaxCollector) Summary() Summary { return c.sum }

// Averages returns the moving averages of the per-sample minimum and
// maximum and the number of samples averaged.
func (c *MinMaxCollector) Averages() (lo, hi float64, n int64) { return c.avgMin, c.avgMax, c.avgN }
