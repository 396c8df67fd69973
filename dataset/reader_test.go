package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/tensor"
)

func numbered(n int) []map[string]*tensor.Tensor {
	s := make([]map[string]*tensor.Tensor, n)
	for i := range s {
		s[i] = map[string]*tensor.Tensor{"x": tensor.Scalar(float32(i))}
	}
	return s
}

func values(t *testing.T, r Reader) []float32 {
	t.Helper()
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var out []float32
	for _, s := range samples {
		out = append(out, tensor.As[float32](s.Inputs["x"])[0])
	}
	return out
}

func TestWrappers(t *testing.T) {
	cases := []struct {
		name    string
		r       Reader
		want    []float32
		wantLen int
	}{
		{"all", FromTensors(numbered(5)), []float32{0, 1, 2, 3, 4}, 5},
		{"limit", Limit(FromTensors(numbered(5)), 2), []float32{0, 1}, 2},
		{"limit-more", Limit(FromTensors(numbered(2)), 9), []float32{0, 1}, 2},
		{"limit-zero", Limit(FromTensors(numbered(2)), 0), nil, 0},
		{"skip", Skip(FromTensors(numbered(5)), 3), []float32{3, 4}, 2},
		{"skip-all", Skip(FromTensors(numbered(2)), 5), nil, 0},
		{"skip-limit", Limit(Skip(FromTensors(numbered(10)), 4), 3), []float32{4, 5, 6}, 3},
		{"empty", FromTensors(nil), nil, 0},
	}
	for _, c := range cases {
		n, ok := LenOf(c.r)
		if !ok || n != c.wantLen {
			t.Errorf("%s: Len %d, %v; want %d", c.name, n, ok, c.wantLen)
		}
		if got := values(t, c.r); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
		if _, err := c.r.Next(context.Background()); !errors.Is(err, io.EOF) {
			t.Errorf("%s: Next after the end: %v", c.name, err)
		}
		if err := c.r.Close(); err != nil {
			t.Errorf("%s: Close: %v", c.name, err)
		}
	}
	// Wrapping an unsized reader stays unsized.
	unsized := struct{ Reader }{FromTensors(numbered(3))}
	if _, ok := LenOf(Limit(unsized, 1)); ok {
		t.Error("Limit of an unsized reader is Sized")
	}
	if _, ok := LenOf(Skip(unsized, 1)); ok {
		t.Error("Skip of an unsized reader is Sized")
	}
	// A cancelled context stops the reader.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := FromTensors(numbered(1)).Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestLabels(t *testing.T) {
	dir := testenv.DataFile(t, "images", "imagenet-sample")
	fromTSV, err := LabelsFromImageNames(filepath.Join(dir, "labels_all_1000.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	// synset.txt gives the index by line position: an independent source
	// for the same mapping.
	fromSynsets, err := LabelsFromImageNames(testenv.DataFile(t, "images", "synset.txt"))
	if err != nil {
		t.Fatal(err)
	}
	// From the table's lines: 0 tench n01440764, 1 goldfish n01443537,
	// 4 hammerhead n01494475.
	for name, want := range map[string]int{"n01440764_tench.JPEG": 0, "x/n01443537.jpg": 1, "n01494475_hammerhead.JPEG": 4} {
		if got, ok := fromTSV(name); !ok || got != want {
			t.Errorf("%s: %d, %v; want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"cat.jpg", "n99999999_x.jpg", "n0144076_short.jpg"} {
		if _, ok := fromTSV(name); ok {
			t.Errorf("%s: labelled", name)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if !isImageName(e.Name()) {
			continue
		}
		a, okA := fromTSV(e.Name())
		b, okB := fromSynsets(e.Name())
		if !okA || !okB || a != b {
			t.Errorf("%s: tsv %d %v, synset.txt %d %v", e.Name(), a, okA, b, okB)
		}
		n++
	}
	if n != 200 {
		t.Errorf("%d images", n)
	}

	// A generic labels file with a header, tabs and commas.
	p := filepath.Join(t.TempDir(), "labels.csv")
	content := "name,label\n# comment\nimg1.png,3\nsub/img2.png\t7\n\nimg3,9\n"
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	lf, err := LabelsFromFile(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want int
		ok   bool
	}{{"img1.png", 3, true}, {"sub/img2.png", 7, true}, {"x/img1.png", 3, true}, {"img3.jpg", 9, true}, {"img4.png", 0, false}} {
		if got, ok := lf(c.name); ok != c.ok || got != c.want {
			t.Errorf("%s: %d %v, want %d %v", c.name, got, ok, c.want, c.ok)
		}
	}
	// WithLabels labels FromTensors samples by name ("0", "1", ...).
	q := filepath.Join(t.TempDir(), "idx.tsv")
	if err := os.WriteFile(q, []byte("0\t5\n1\t6\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	lf, err = LabelsFromFile(q)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := ReadAll(context.Background(), WithLabels(FromTensors(numbered(3)), lf))
	if err != nil {
		t.Fatal(err)
	}
	if samples[0].Label != 5 || samples[1].Label != 6 || samples[2].Label != -1 {
		t.Errorf("labels %d %d %d", samples[0].Label, samples[1].Label, samples[2].Label)
	}

	// Bad files name themselves and the line.
	for _, c := range []struct{ content, fn string }{
		{"a,1\nb,x\n", "file"}, {"a 1\n", "file"}, {"a,1\na,2\n", "file"},
		{"tench\n", "names"}, {"", "names"},
	} {
		p := filepath.Join(t.TempDir(), "bad.txt")
		if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		if c.fn == "file" {
			_, err = LabelsFromFile(p)
		} else {
			_, err = LabelsFromImageNames(p)
		}
		if err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("%q: error %v does not name the file", c.content, err)
		}
	}
}

// TestOpen checks what Open picks for each kind of data, with the shared
// models' declared inputs.
func TestOpen(t *testing.T) {
	ctx := context.Background()
	data := testenv.DataDir(t)
	npyDir := t.TempDir()
	writeNpyT(t, filepath.Join(npyDir, "0", "Input3.npy"), tensor.New(tensor.Float32, 1, 1, 28, 28))
	npzDir := t.TempDir()
	writeNpz(t, filepath.Join(npzDir, "a.npz"), true, map[string]*tensor.Tensor{"Input3": tensor.New(tensor.Float32, 5, 1, 1, 28, 28)})
	mnist8 := modelInputs(t, "mnist-8.onnx")
	cases := []struct {
		name    string
		path    string
		model   []engine.ValueInfo
		opts    Options
		reader  string // type of the reader returned
		samples int    // how many to read (-1: all)
		count   int    // samples expected
		input   string
		shape   []int
	}{
		{"images", filepath.Join(data, "images", "imagenet-sample"), modelInputs(t, "fastestdet-coco-352.onnx"), Options{},
			"*dataset.ImageReader", 2, 2, "input", []int{1, 3, 352, 352}},
		{"image file nhwc4", filepath.Join(data, "images", "photos", "dog.jpg"), modelInputs(t, "mlsd-tiny-320-nhwc.onnx"), Options{},
			"*dataset.ImageReader", -1, 1, "input_image_with_alpha:0", []int{1, 320, 320, 4}},
		{"images dynamic width given", filepath.Join(data, "images", "photos"), modelInputs(t, "ppocr-v4-rec.onnx"),
			Options{Image: ImageOptions{Width: 320, Batch: 8, Resize: Stretch}}, "*dataset.ImageReader", 1, 1, "x", []int{8, 3, 48, 320}},
		{"test data", filepath.Join(data, "models", "mnist-8-test-data"), mnist8, Options{},
			"*dataset.TestDataReader", -1, 3, "Input3", []int{1, 1, 28, 28}},
		{"mnist", filepath.Join(data, "mnist", "digits"), mnist8, Options{MNIST: MNISTOptions{Scale: 255}},
			"*dataset.MNISTReader", 20, 20, "Input3", []int{1, 1, 28, 28}},
		{"mnist flat", filepath.Join(data, "mnist", "digits"), modelInputs(t, "mnist-mlp-bn-pytorch.onnx"), Options{},
			"*dataset.MNISTReader", 1, 1, "network_input", []int{1, 784}},
		{"npy", npyDir, mnist8, Options{}, "*dataset.NpyReader", -1, 1, "Input3", []int{1, 1, 28, 28}},
		{"npz", npzDir, mnist8, Options{}, "*dataset.NpzReader", -1, 5, "Input3", []int{1, 1, 28, 28}},
		{"wav vad", filepath.Join(data, "audio"), modelInputs(t, "silero-vad-v5.onnx"), Options{Audio: AudioOptions{Window: 512}},
			"*dataset.AudioReader", 3, 3, "input", []int{1, 512}},
		{"wav oww", filepath.Join(data, "audio", "librispeech-1272-141231-0002-16k.wav"), modelInputs(t, "oww-melspectrogram.onnx"),
			Options{Audio: AudioOptions{Window: 1280, Int16Scale: true}}, "*dataset.AudioReader", -1, 166, "input", []int{1, 1280}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Open(c.path, c.model, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := fmt.Sprintf("%T", r); got != c.reader {
				t.Errorf("reader %s, want %s", got, c.reader)
			}
			if c.samples >= 0 {
				r = Limit(r, c.samples)
			}
			samples, err := ReadAll(ctx, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(samples) != c.count {
				t.Fatalf("%d samples, want %d", len(samples), c.count)
			}
			for _, s := range samples {
				x := s.Inputs[c.input]
				if x == nil || !slices.Equal(x.Shape, c.shape) {
					t.Fatalf("%s: inputs %v, want %s %v", s.Name, s.Inputs, c.input, c.shape)
				}
				// Every model input is fed.
				for _, vi := range c.model {
					if s.Inputs[vi.Name] == nil {
						t.Errorf("%s: input %q not fed", s.Name, vi.Name)
					}
				}
			}
		})
	}

	// Silero's other inputs: sample rate 16000 as an int64 scalar, zeroed
	// state [2,1,128].
	r, err := Open(filepath.Join(data, "audio"), modelInputs(t, "silero-vad-v5.onnx"), Options{Audio: AudioOptions{Window: 512}})
	if err != nil {
		t.Fatal(err)
	}
	s := readOne(t, r)
	if sr := s.Inputs["sr"]; sr.DType != tensor.Int64 || len(sr.Shape) != 0 || tensor.As[int64](sr)[0] != 16000 {
		t.Errorf("sr = %v", sr)
	}
	if st := s.Inputs["state"]; !slices.Equal(st.Shape, []int{2, 1, 128}) {
		t.Errorf("state = %v", st)
	}
}

func TestOpenErrors(t *testing.T) {
	data := testenv.DataDir(t)
	empty := t.TempDir()
	unknown := t.TempDir()
	if err := os.WriteFile(filepath.Join(unknown, "readme.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	txt := filepath.Join(unknown, "readme.txt")
	ppocr := modelInputs(t, "ppocr-v4-rec.onnx")
	photos := filepath.Join(data, "images", "photos")
	cases := []struct {
		name  string
		path  string
		model []engine.ValueInfo
		opts  Options
		want  []string // substrings of the error
	}{
		{"empty folder", empty, nil, Options{}, []string{empty, "empty"}},
		{"unknown content", unknown, nil, Options{}, []string{unknown, "no data found"}},
		{"unknown file", txt, nil, Options{}, []string{txt, "unknown kind"}},
		{"missing", filepath.Join(empty, "nope"), nil, Options{}, []string{filepath.Join(empty, "nope")}},
		{"dynamic width", photos, ppocr, Options{}, []string{photos, `"x"`, "dynamic", "Width"}},
		{"static batch", photos, modelInputs(t, "fastestdet-coco-352.onnx"), Options{Image: ImageOptions{Batch: 4}}, []string{"Batch 4", "model's is 1"}},
		{"unknown input", photos, ppocr, Options{Image: ImageOptions{Input: "nope"}}, []string{`"nope"`}},
		{"mnist into images", filepath.Join(data, "mnist", "digits"), modelInputs(t, "fastestdet-coco-352.onnx"), Options{}, []string{"does not hold a 28x28 digit"}},
		{"audio window dynamic", filepath.Join(data, "audio"), modelInputs(t, "silero-vad-v5.onnx"), Options{}, []string{"Window"}},
	}
	for _, c := range cases {
		_, err := Open(c.path, c.model, c.opts)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}
