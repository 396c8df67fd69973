package evaluate_test

import (
	"math"
	"testing"

	"github.com/onnxquant/onnxquant/evaluate"
	"github.com/onnxquant/onnxquant/tensor"
)

func near(a, b, tol float64) bool {
	if math.IsInf(a, 0) || math.IsInf(b, 0) || math.IsNaN(a) || math.IsNaN(b) {
		return a == b || (math.IsNaN(a) && math.IsNaN(b))
	}
	return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b))
}

// TestStats checks the metrics against values worked by hand.
func TestStats(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	tests := []struct {
		name                      string
		ref, got                  []float32
		sqnr, cosine, maxErr, nsr float64
		exact                     bool
		nonFinite, mismatched     int64
	}{
		// Σx² = 14, Σ(x-y)² = 1: 10 log10(14) = 11.4613 dB;
		// Σxy = 1+4+12 = 17, Σy² = 21: 17/sqrt(14*21) = 0.991460.
		{"one off", []float32{1, 2, 3}, []float32{1, 2, 4}, 11.461280, 0.991460, 1, 1.0 / 14, false, 0, 0},
		// y = x/2: Σ(x-y)² = Σx²/4, 10 log10(4) = 6.0206 dB; cosine 1.
		{"half", []float32{2, -4, 6, 8}, []float32{1, -2, 3, 4}, 6.020600, 1, 4, 0.25, false, 0, 0},
		// x = (3, 4), y = (4, 3): Σx² = 25, Σ(x-y)² = 2: 10 log10(12.5) =
		// 10.9691; Σxy = 24: 24/25.
		{"swapped", []float32{3, 4}, []float32{4, 3}, 10.969100, 0.96, 1, 2.0 / 25, false, 0, 0},
		{"identical", []float32{1, -2, 3}, []float32{1, -2, 3}, math.Inf(1), 1, 0, 0, true, 0, 0},
		{"zero reference", []float32{0, 0}, []float32{1, 0}, math.Inf(-1), 0, 1, math.Inf(1), false, 0, 0},
		{"both zero", []float32{0, 0}, []float32{0, 0}, math.Inf(1), 1, 0, 0, true, 0, 0},
		{"opposite", []float32{1, 1}, []float32{-1, -1}, 10 * math.Log10(2.0/8), -1, 2, 4, false, 0, 0},
		// Matching NaN/Inf pairs are left out; the rest is "one off".
		{"matching non-finite", []float32{1, nan, 2, inf, 3}, []float32{1, nan, 2, inf, 4}, 11.461280, 0.991460, 1, 1.0 / 14, false, 2, 0},
		// The finite pairs agree; the NaN against 2 makes the error infinite.
		{"mismatched NaN", []float32{1, 2, 3}, []float32{1, nan, 3}, math.Inf(1), 1, math.Inf(1), 0, false, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s evaluate.Stats
			if err := s.Add(tc.ref, tc.got); err != nil {
				t.Fatal(err)
			}
			if got := s.SQNR(); !near(got, tc.sqnr, 1e-6) {
				t.Errorf("SQNR = %v, want %v", got, tc.sqnr)
			}
			if got := s.Cosine(); !near(got, tc.cosine, 1e-6) {
				t.Errorf("cosine = %v, want %v", got, tc.cosine)
			}
			if got := s.MaxAbsErr; !near(got, tc.maxErr, 1e-9) {
				t.Errorf("max abs error = %v, want %v", got, tc.maxErr)
			}
			if got := s.NSR(); !near(got, tc.nsr, 1e-9) {
				t.Errorf("NSR = %v, want %v", got, tc.nsr)
			}
			if s.Exact() != tc.exact || s.NonFinite != tc.nonFinite || s.Mismatched != tc.mismatched {
				t.Errorf("exact %v nonfinite %d mismatched %d, want %v %d %d", s.Exact(), s.NonFinite, s.Mismatched, tc.exact, tc.nonFinite, tc.mismatched)
			}
		})
	}
}

// TestStatsStreaming checks that adding a tensor in pieces (or merging
// partial sums) gives the figures of the whole, the property that lets Eval
// and Debug keep only sums.
func TestStatsStreaming(t *testing.T) {
	ref := []float32{0.5, -1.25, 3, 7.5, -2, 0, 4.25, 1}
	got := []float32{0.5, -1, 2.75, 7.5, -2.5, 0.125, 4, 1}
	// By hand: errors 0, -0.25, 0.25, 0, 0.5, -0.125, 0.25, 0, so
	// Σ(x-y)² = 0.0625*3 + 0.25 + 0.015625 = 0.453125 and
	// Σx² = 0.25+1.5625+9+56.25+4+0+18.0625+1 = 90.125.
	want := 10 * math.Log10(90.125/0.453125)
	var whole, pieces, merged evaluate.Stats
	if err := whole.Add(ref, got); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ref); i += 3 {
		j := min(i+3, len(ref))
		if err := pieces.Add(ref[i:j], got[i:j]); err != nil {
			t.Fatal(err)
		}
		var part evaluate.Stats
		if err := part.Add(ref[i:j], got[i:j]); err != nil {
			t.Fatal(err)
		}
		merged.Merge(part)
	}
	for name, s := range map[string]*evaluate.Stats{"whole": &whole, "pieces": &pieces, "merged": &merged} {
		if !near(s.SQNR(), want, 1e-12) || s.MaxAbsErr != 0.5 || s.Count != 8 {
			t.Errorf("%s: SQNR %v max %v count %d, want %v 0.5 8", name, s.SQNR(), s.MaxAbsErr, s.Count, want)
		}
	}
	if err := whole.Add([]float32{1}, []float32{1, 2}); err == nil {
		t.Error("Add of slices of different lengths: no error")
	}
	var empty evaluate.Stats
	if !math.IsNaN(empty.SQNR()) || !math.IsNaN(empty.Cosine()) {
		t.Error("empty Stats should give NaN")
	}
}

func TestAddTensors(t *testing.T) {
	tests := []struct {
		name    string
		ref     *tensor.Tensor
		got     *tensor.Tensor
		sqnr    float64
		wantErr bool
	}{
		// float64 and float16 values convert; [1,3] and [3] differ only by
		// a unit dimension. Hand: Σx² = 14, Σ(x-y)² = 1.
		{"float64 vs float32", tensor.FromSlice([]int{1, 3}, []float64{1, 2, 3}), tensor.FromSlice([]int{3}, []float32{1, 2, 4}), 11.461280, false},
		{"float16", tensor.FromSlice([]int{3}, []tensor.F16{tensor.F16FromFloat32(1), tensor.F16FromFloat32(2), tensor.F16FromFloat32(3)}), tensor.FromSlice([]int{3}, []float32{1, 2, 4}), 11.461280, false},
		{"shapes differ", tensor.FromSlice([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}), tensor.FromSlice([]int{3, 2}, []float32{1, 2, 3, 4, 5, 6}), 0, true},
		{"strings", tensor.FromSlice([]int{1}, []string{"a"}), tensor.FromSlice([]int{1}, []float32{1}), 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s evaluate.Stats
			err := s.AddTensors(tc.ref, tc.got)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !near(s.SQNR(), tc.sqnr, 1e-6) {
				t.Errorf("SQNR %v, want %v", s.SQNR(), tc.sqnr)
			}
		})
	}
}

func TestClassRows(t *testing.T) {
	tests := []struct {
		shape         []int
		rows, classes int
		ok            bool
	}{
		{[]int{1, 10}, 1, 10, true},
		{[]int{8, 1000}, 8, 1000, true},
		{[]int{1000}, 1, 1000, true},
		{[]int{1, 1000, 1, 1}, 1, 1000, true},
		{[]int{1, 1}, 0, 0, false},
		{[]int{1, 3, 224, 224}, 0, 0, false},
		{[]int{1, 85, 22, 22}, 0, 0, false},
		{[]int{}, 0, 0, false},
	}
	for _, tc := range tests {
		r, c, ok := evaluate.ClassRows(tc.shape)
		if r != tc.rows || c != tc.classes || ok != tc.ok {
			t.Errorf("ClassRows(%v) = %d, %d, %v; want %d, %d, %v", tc.shape, r, c, ok, tc.rows, tc.classes, tc.ok)
		}
	}
}

func TestArgmaxTop1Accuracy(t *testing.T) {
	nan := float32(math.NaN())
	scores := []float32{
		0.1, 0.7, 0.2, // row 0: class 1
		5, 5, 1, // row 1: tie, the first wins: 0
		nan, -1, -3, // row 2: NaN never wins: 1
	}
	got, err := evaluate.Argmax(scores, 3, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []int{1, 0, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Argmax = %v, want %v", got, want)
		}
	}
	if _, err := evaluate.Argmax(scores, 2, 3); err == nil {
		t.Error("Argmax with the wrong row count: no error")
	}
	var top1 evaluate.Top1
	top1.Add([]int{1, 0, 1, 4}, []int{1, 2, 1, 4})
	if top1.Rows != 4 || top1.Agree != 3 || top1.Rate() != 0.75 {
		t.Errorf("Top1 = %+v rate %v, want 3 of 4", top1, top1.Rate())
	}
	var acc evaluate.Accuracy
	acc.Add([]int{1, 0, 1, 4}, []int{1, -1, 2, 4})
	if acc.Labelled != 3 || acc.Correct != 2 {
		t.Errorf("Accuracy = %+v, want 2 of 3", acc)
	}
	var none evaluate.Accuracy
	if !math.IsNaN(none.Rate()) {
		t.Error("accuracy with no labels should be NaN")
	}
}
