package dataset

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestMNISTDigits streams all 10,000 shared digits at mnist-8's 0..255
// scale and checks the counts, the balance of the first 100, the value
// range, and the first digit of class 3 against a whole-file json.Unmarshal.
func TestMNISTDigits(t *testing.T) {
	dir := testenv.DataFile(t, "mnist", "digits")
	r, err := MNISTDigits(dir, MNISTOptions{Input: "Input3", Scale: 255})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	perClass := make([]int, 10)
	total := 0
	var firstThree []float32
	ctx := context.Background()
	for {
		s, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if total < 10 && s.Label != total {
			t.Errorf("sample %d has label %d: the first ten should be 0..9 in turn", total, s.Label)
		}
		if total == 100 {
			for d, n := range perClass {
				if n != 10 {
					t.Errorf("first 100 hold %d of class %d, want 10", n, d)
				}
			}
		}
		x := s.Inputs["Input3"]
		if !slices.Equal(x.Shape, []int{1, 1, 28, 28}) || x.DType != tensor.Float32 {
			t.Fatalf("sample %d: %v", total, x)
		}
		vals := tensor.As[float32](x)
		mx := float32(0)
		for _, v := range vals {
			if v < 0 || v > 255 {
				t.Fatalf("sample %s: value %v outside 0..255", s.Name, v)
			}
			mx = max(mx, v)
		}
		if mx < 100 {
			t.Errorf("sample %s: brightest pixel %v: not a 0..255 digit", s.Name, mx)
		}
		if s.Label == 3 && firstThree == nil {
			firstThree = slices.Clone(vals)
			if s.Name != "3/0" {
				t.Errorf("first 3 named %q", s.Name)
			}
		}
		perClass[s.Label]++
		total++
	}
	if total != 10000 {
		t.Errorf("%d digits, want 10,000", total)
	}
	for d, n := range perClass {
		if n < 800 || n > 1200 {
			t.Errorf("class %d: %d digits, want about 1,000", d, n)
		}
	}

	b, err := os.ReadFile(filepath.Join(dir, "3.json"))
	if err != nil {
		t.Fatal(err)
	}
	var whole struct{ Data []float64 }
	if err := json.Unmarshal(b, &whole); err != nil {
		t.Fatal(err)
	}
	if len(whole.Data)%MNISTPixels != 0 || len(whole.Data)/MNISTPixels != perClass[3] {
		t.Errorf("3.json holds %d values (%d digits); the reader gave %d", len(whole.Data), len(whole.Data)/MNISTPixels, perClass[3])
	}
	for i := 0; i < MNISTPixels; i++ {
		if math.Abs(float64(firstThree[i])-whole.Data[i]*255) > 1e-3 {
			t.Fatalf("first 3, pixel %d: %v, want %v", i, firstThree[i], whole.Data[i]*255)
		}
	}
}

func TestMNISTShapeAndErrors(t *testing.T) {
	dir := t.TempDir()
	// Class 1 has two digits, class 7 one; values count up.
	digit := func(v float64) []float64 {
		d := make([]float64, MNISTPixels)
		for i := range d {
			d[i] = v
		}
		return d
	}
	write := func(name string, data []float64) {
		b, err := json.Marshal(map[string]any{"other": []int{1}, "data": data})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("1.json", append(digit(0.25), digit(0.5)...))
	write("7.json", digit(1))
	r, err := MNISTDigits(dir, MNISTOptions{Input: "flat", Shape: []int{1, 784}})
	if err != nil {
		t.Fatal(err)
	}
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		name  string
		label int
		v     float32
	}
	var g []got
	for _, s := range samples {
		x := s.Inputs["flat"]
		if !slices.Equal(x.Shape, []int{1, 784}) {
			t.Fatalf("shape %v", x.Shape)
		}
		g = append(g, got{s.Name, s.Label, tensor.As[float32](x)[5]})
	}
	want := []got{{"1/0", 1, 0.25}, {"7/0", 7, 1}, {"1/1", 1, 0.5}}
	if !slices.Equal(g, want) {
		t.Errorf("got %v, want %v", g, want)
	}

	// A digit cut short names the file.
	write("2.json", digit(0.5)[:100])
	r, err = MNISTDigits(dir, MNISTOptions{Input: "x"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ReadAll(context.Background(), r)
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "2.json")) {
		t.Errorf("short digit: %v", err)
	}
	if _, err := MNISTDigits(t.TempDir(), MNISTOptions{Input: "x"}); err == nil {
		t.Error("no files: no error")
	}
	if _, err := MNISTDigits(dir, MNISTOptions{Input: "x", Shape: []int{1, 10}}); err == nil {
		t.Error("bad shape: no error")
	}
}
