package evaluate

import (
	"fmt"
	"math"

	"github.com/onnxquant/onnxquant/tensor"
)

// Stats accumulates the error between reference values x (the float
// model's) and test values y (the quantized model's) over any number of
// tensors, as running sums: adding a tensor keeps nothing of it.
//
// Pairs where either value is NaN or infinite are left out of the sums and
// counted in NonFinite; those where the two differ (one finite, or two
// different non-finite values) are also counted in Mismatched and make
// MaxAbsErr infinite.
type Stats struct {
	// Count is the number of finite pairs summed.
	Count int64
	// SumRef2 is Σ x², SumTest2 Σ y², SumDot Σ xy and SumErr2 Σ (x−y)².
	SumRef2, SumTest2, SumDot, SumErr2 float64
	// MaxAbsErr is max |x − y|.
	MaxAbsErr float64
	// NonFinite and Mismatched count the pairs left out (see Stats).
	NonFinite, Mismatched int64
}

// Add accumulates the pairs (ref[i], got[i]). The slices must have the same
// length.
func (s *Stats) Add(ref, got []float32) error {
	if len(ref) != len(got) {
		return fmt.Errorf("evaluate: %d reference values but %d to compare", len(ref), len(got))
	}
	var r2, t2, dot, e2, maxErr float64
	var n int64
	for i, xf := range ref {
		x, y := float64(xf), float64(got[i])
		if !finite(x) || !finite(y) {
			s.NonFinite++
			same := (math.IsNaN(x) && math.IsNaN(y)) || x == y
			if !same {
				s.Mismatched++
				s.MaxAbsErr = math.Inf(1)
			}
			continue
		}
		d := x - y
		r2 += x * x
		t2 += y * y
		dot += x * y
		e2 += d * d
		if a := math.Abs(d); a > maxErr {
			maxErr = a
		}
		n++
	}
	s.Count += n
	s.SumRef2 += r2
	s.SumTest2 += t2
	s.SumDot += dot
	s.SumErr2 += e2
	s.MaxAbsErr = max(s.MaxAbsErr, maxErr)
	return nil
}

// AddTensors accumulates two numeric tensors (converted to float32 as
// Floats does) holding the same number of elements. Shapes
// may differ only by dimensions of size 1 (an engine may keep [1, C] where
// another gives [C]).
func (s *Stats) AddTensors(ref, got *tensor.Tensor) error {
	if !sameShapeLoose(ref.Shape, got.Shape) {
		return fmt.Errorf("evaluate: shapes differ: %v against %v", ref.Shape, got.Shape)
	}
	x, err := Floats(ref)
	if err != nil {
		return err
	}
	y, err := Floats(got)
	if err != nil {
		return err
	}
	return s.Add(x, y)
}

// Merge adds o's sums to s.
func (s *Stats) Merge(o Stats) {
	s.Count += o.Count
	s.SumRef2 += o.SumRef2
	s.SumTest2 += o.SumTest2
	s.SumDot += o.SumDot
	s.SumErr2 += o.SumErr2
	s.MaxAbsErr = max(s.MaxAbsErr, o.MaxAbsErr)
	s.NonFinite += o.NonFinite
	s.Mismatched += o.Mismatched
}

// SQNR returns 10 log10(Σ x² / Σ (x−y)²) in dB: +Inf when the values are
// identical, -Inf when the reference is all zeros and the test is not, NaN
// when nothing was added.
func (s *Stats) SQNR() float64 {
	if s.Count == 0 {
		return math.NaN()
	}
	return sqnrDB(s.SumRef2, s.SumErr2)
}

// NSR returns the noise-to-signal ratio Σ (x−y)² / Σ x² (10^(−SQNR/10)): 0
// for identical values, +Inf for a zero reference with a non-zero test, NaN
// when nothing was added.
func (s *Stats) NSR() float64 {
	switch {
	case s.Count == 0:
		return math.NaN()
	case s.SumErr2 == 0:
		return 0
	case s.SumRef2 == 0:
		return math.Inf(1)
	}
	return s.SumErr2 / s.SumRef2
}

// Cosine returns Σ xy / sqrt(Σ x² · Σ y²): 1 when both are all zeros, 0
// when only one is, NaN when nothing was added.
func (s *Stats) Cosine() float64 {
	switch {
	case s.Count == 0:
		return math.NaN()
	case s.SumRef2 == 0 && s.SumTest2 == 0:
		return 1
	case s.SumRef2 == 0 || s.SumTest2 == 0:
		return 0
	}
	c := s.SumDot / (math.Sqrt(s.SumRef2) * math.Sqrt(s.SumTest2))
	return max(-1, min(1, c)) // rounding can step past ±1
}

// Exact reports whether every pair added was equal.
func (s *Stats) Exact() bool { return s.Count+s.NonFinite > 0 && s.SumErr2 == 0 && s.Mismatched == 0 }

// sqnrDB is 10 log10(signal / noise) with the edge cases of Stats.SQNR.
func sqnrDB(signal, noise float64) float64 {
	switch {
	case noise == 0:
		return math.Inf(1)
	case signal == 0:
		return math.Inf(-1)
	}
	return 10 * math.Log10(signal/noise)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// sameShapeLoose reports whether two shapes are equal once dimensions of
// size 1 are dropped.
func sameShapeLoose(a, b []int) bool {
	a, b = squeeze(a), squeeze(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func squeeze(s []int) []int {
	out := make([]int, 0, len(s))
	for _, d := range s {
		if d != 1 {
			out = append(out, d)
		}
	}
	return out
}

// Floats returns t's values as float32: t's own slice for a float32 tensor
// (do not modify it), a converted copy for any other numeric or bool type.
// String tensors are an error.
func Floats(t *tensor.Tensor) ([]float32, error) {
	v, err := tensor.Float32s(t)
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	return v, nil
}

// ClassRows reports whether a tensor of this shape reads as classifier
// scores: once trailing dimensions of size 1 are dropped, [C] or [N, C]
// with C >= 2 classes along the last axis. It returns the rows N (1 for
// [C]) and classes C.
func ClassRows(shape []int) (rows, classes int, ok bool) {
	s := shape
	for len(s) > 0 && s[len(s)-1] == 1 {
		s = s[:len(s)-1]
	}
	switch len(s) {
	case 1:
		rows, classes = 1, s[0]
	case 2:
		rows, classes = s[0], s[1]
	default:
		return 0, 0, false
	}
	if classes < 2 || rows < 1 {
		return 0, 0, false
	}
	return rows, classes, true
}

// Argmax returns, for each row of rows x classes scores, the index of the
// largest score (the first on ties; NaN never wins).
func Argmax(scores []float32, rows, classes int) ([]int, error) {
	if rows*classes != len(scores) {
		return nil, fmt.Errorf("evaluate: %d scores do not make %d rows of %d classes", len(scores), rows, classes)
	}
	out := make([]int, rows)
	for r := range out {
		row := scores[r*classes : (r+1)*classes]
		best := -1
		for c, v := range row {
			if v != v {
				continue
			}
			if best < 0 || v > row[best] {
				best = c
			}
		}
		out[r] = max(best, 0)
	}
	return out, nil
}

// Top1 counts how often two classifiers pick the same class.
type Top1 struct {
	// Rows compared and rows where both picked the same class.
	Rows, Agree int64
}

// Add compares the argmax of each row.
func (t *Top1) Add(a, b []int) {
	for i := range a {
		if i < len(b) {
			t.Rows++
			if a[i] == b[i] {
				t.Agree++
			}
		}
	}
}

// Rate returns Agree / Rows, NaN when no row was compared.
func (t *Top1) Rate() float64 {
	if t.Rows == 0 {
		return math.NaN()
	}
	return float64(t.Agree) / float64(t.Rows)
}

// Accuracy counts correct top-1 answers against labels.
type Accuracy struct {
	// Labelled rows seen and rows whose argmax equals the label.
	Labelled, Correct int64
}

// Add scores predictions against labels; a label < 0 is unknown and skipped.
func (a *Accuracy) Add(pred, labels []int) {
	for i, l := range labels {
		if l < 0 || i >= len(pred) {
			continue
		}
		a.Labelled++
		if pred[i] == l {
			a.Correct++
		}
	}
}

// Rate returns Correct / Labelled, NaN when nothing was labelled.
func (a *Accuracy) Rate() float64 {
	if a.Labelled == 0 {
		return math.NaN()
	}
	return float64(a.Correct) / float64(a.Labelled)
}
