package dataset

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// writePNG writes img to dir/name and returns the path.
func writePNG(t *testing.T, dir, name string, img image.Image) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// knownImage is a 3x2 image whose pixel (x, y) has R = 10+x+10y,
// G = 100+x+10y, B = 200+x+10y, and alpha 128 at (2, 1).
func knownImage() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 3, 2))
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			a := uint8(255)
			if x == 2 && y == 1 {
				a = 128
			}
			d := uint8(x + 10*y)
			img.SetNRGBA(x, y, color.NRGBA{R: 10 + d, G: 100 + d, B: 200 + d, A: a})
		}
	}
	return img
}

func readOne(t *testing.T, r Reader) Sample {
	t.Helper()
	s, err := r.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestImageLayoutAndNormalization reads a synthesized PNG back through
// each layout, channel order and normalization and checks known pixels.
func TestImageLayoutAndNormalization(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, dir, "known.png", knownImage())
	// chan returns the 8-bit value of channel c (0 R, 1 G, 2 B) at (x, y).
	chanv := func(c, x, y int) float64 { return float64([]int{10, 100, 200}[c] + x + 10*y) }
	type probe struct {
		idx  []int // index into the tensor
		want float64
	}
	cases := []struct {
		name   string
		opts   ImageOptions
		shape  []int
		probes []probe
	}{
		{"nchw-unit", ImageOptions{Layout: NCHW}, []int{1, 3, 2, 3}, []probe{
			{[]int{0, 0, 0, 0}, chanv(0, 0, 0) / 255},
			{[]int{0, 1, 0, 2}, chanv(1, 2, 0) / 255},
			{[]int{0, 2, 1, 1}, chanv(2, 1, 1) / 255},
			// Translucent pixel: color kept, not premultiplied.
			{[]int{0, 0, 1, 2}, chanv(0, 2, 1) / 255},
		}},
		{"nhwc-byte-bgr", ImageOptions{Layout: NHWC, Range: Byte, Order: BGR}, []int{1, 2, 3, 3}, []probe{
			{[]int{0, 0, 0, 0}, chanv(2, 0, 0)},
			{[]int{0, 0, 1, 2}, chanv(0, 1, 0)},
			{[]int{0, 1, 2, 1}, chanv(1, 2, 1)},
		}},
		{"mean-std", ImageOptions{Mean: []float32{0.5, 0.25, 0.125}, Std: []float32{0.5, 2, 4}}, []int{1, 3, 2, 3}, []probe{
			{[]int{0, 0, 1, 0}, (chanv(0, 0, 1)/255 - 0.5) / 0.5},
			{[]int{0, 1, 0, 1}, (chanv(1, 1, 0)/255 - 0.25) / 2},
			{[]int{0, 2, 1, 2}, (chanv(2, 2, 1)/255 - 0.125) / 4},
		}},
		{"ultraface-style", ImageOptions{Range: Byte, Mean: []float32{127}, Std: []float32{128}}, []int{1, 3, 2, 3}, []probe{
			{[]int{0, 2, 1, 0}, (chanv(2, 0, 1) - 127) / 128},
		}},
		// Luma 0.299 R + 0.587 G + 0.114 B, rounded to 8 bits.
		{"gray", ImageOptions{Channels: 1, Range: Byte}, []int{1, 1, 2, 3}, []probe{
			{[]int{0, 0, 0, 0}, math.Round(0.299*10 + 0.587*100 + 0.114*200)},
			{[]int{0, 0, 1, 2}, math.Round(0.299*22 + 0.587*112 + 0.114*212)},
		}},
		// Four channels: alpha is 255 before scaling, whatever the file's.
		{"rgba-mlsd-style", ImageOptions{Layout: NHWC, Channels: 4, Mean: []float32{0.5}, Std: []float32{0.5}}, []int{1, 2, 3, 4}, []probe{
			{[]int{0, 0, 0, 3}, 1},
			{[]int{0, 1, 2, 3}, 1},
			{[]int{0, 1, 2, 0}, chanv(0, 2, 1)/127.5 - 1},
		}},
		{"uint8", ImageOptions{Range: Byte, DType: tensor.Uint8}, []int{1, 3, 2, 3}, []probe{
			{[]int{0, 1, 1, 1}, chanv(1, 1, 1)},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := c.opts
			o.Input, o.Height, o.Width, o.Resize = "x", 2, 3, Stretch
			r, err := ImageFolder(dir, o)
			if err != nil {
				t.Fatal(err)
			}
			s := readOne(t, r)
			x := s.Inputs["x"]
			if !slices.Equal(x.Shape, c.shape) {
				t.Fatalf("shape %v, want %v", x.Shape, c.shape)
			}
			vals, err := tensor.Float32s(x)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.probes {
				off := 0
				for i, d := range p.idx {
					off = off*x.Shape[i] + d
				}
				if math.Abs(float64(vals[off])-p.want) > 1e-5 {
					t.Errorf("%v = %v, want %v", p.idx, vals[off], p.want)
				}
			}
			if s.Name != "known.png" || s.Label != -1 {
				t.Errorf("name %q label %d", s.Name, s.Label)
			}
			if _, err := r.Next(context.Background()); !errors.Is(err, io.EOF) {
				t.Errorf("second Next: %v, want EOF", err)
			}
		})
	}
}

// TestImageResizeCrop checks the resize-crop geometry on an 8x4 image made
// of 2x2 blocks of constant value 10*bx + 100*by: the shorter side 4 -> 2
// halves the image to 4x2, whose centre 2x2 crop starts at column 1, so
// with area averaging the output is blocks (1,0), (2,0), (1,1), (2,1).
func TestImageResizeCrop(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 8, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 8; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8(10*(x/2) + 100*(y/2))})
		}
	}
	dir := t.TempDir()
	writePNG(t, dir, "blocks.png", img)
	r, err := ImageFolder(dir, ImageOptions{Input: "x", Height: 2, Width: 2, Channels: 1, Range: Byte, Interp: Area, ResizeShorter: 2})
	if err != nil {
		t.Fatal(err)
	}
	got := tensor.As[float32](readOne(t, r).Inputs["x"])
	want := []float32{10, 20, 110, 120}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-4 {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// Shorter side 4 would keep the 8x4 image as it is, but a 7x7 crop
	// needs it scaled by 7/4 so both sides cover the crop.
	sw, sh, ox, oy := geometry(8, 4, ImageOptions{Height: 7, Width: 7, ResizeShorter: 4})
	if sw != 14 || sh != 7 || ox != 3 || oy != 0 {
		t.Errorf("geometry 8x4 -> 7x7: %d %d %d %d, want 14 7 3 0", sw, sh, ox, oy)
	}
	// ImageNet: 500x375 with a 224 crop scales the shorter side to 256:
	// 341x256 (500*256/375 = 341.3), crop offset (341-224)/2 = 58, 16.
	sw, sh, ox, oy = geometry(500, 375, ImageOptions{Height: 224, Width: 224})
	if sw != 341 || sh != 256 || ox != 58 || oy != 16 {
		t.Errorf("geometry 500x375 -> 224: %d %d %d %d, want 341 256 58 16", sw, sh, ox, oy)
	}
}

func TestImageEmptyPixels(t *testing.T) {
	o, err := ImageOptions{Input: "x", Height: 2, Width: 2}.normalized()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := preprocess(image.NewRGBA(image.Rect(0, 0, 0, 5)), o); err == nil || !strings.Contains(err.Error(), "no pixels") {
		t.Errorf("0x5 image: %v", err)
	}
}

// TestImageNetSample decodes the shared ImageNet sample (200 JPEGs) as a
// 224x224 ImageNet-normalized NCHW input and checks shapes, value ranges,
// order and labels.
func TestImageNetSample(t *testing.T) {
	dir := testenv.DataFile(t, "images", "imagenet-sample")
	labels, err := LabelsFromImageNames(filepath.Join(dir, "labels_all_1000.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := ImageFolder(dir, ImageOptions{Input: "data", Height: 224, Width: 224, Mean: ImageNetMean, Std: ImageNetStd, Labels: labels})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Len() != 200 {
		t.Errorf("Len %d, want 200", r.Len())
	}
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 200 {
		t.Fatalf("%d samples, want 200", len(samples))
	}
	if samples[0].Name != "n01440764_tench.JPEG" || samples[0].Label != 0 {
		t.Errorf("first sample %q label %d, want n01440764_tench.JPEG label 0", samples[0].Name, samples[0].Label)
	}
	seen := map[int]bool{}
	for i, s := range samples {
		if i > 0 && s.Name <= samples[i-1].Name {
			t.Errorf("samples out of order: %q after %q", s.Name, samples[i-1].Name)
		}
		if s.Label < 0 || s.Label > 999 || seen[s.Label] {
			t.Errorf("%s: label %d (missing, out of range or repeated)", s.Name, s.Label)
		}
		seen[s.Label] = true
		x := s.Inputs["data"]
		if !slices.Equal(x.Shape, []int{1, 3, 224, 224}) || x.DType != tensor.Float32 {
			t.Fatalf("%s: %v", s.Name, x)
		}
		vals := tensor.As[float32](x)
		for c := 0; c < 3; c++ {
			lo := (0 - ImageNetMean[c]) / ImageNetStd[c]
			hi := (1 - ImageNetMean[c]) / ImageNetStd[c]
			mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
			for _, v := range vals[c*224*224 : (c+1)*224*224] {
				mn, mx = min(mn, v), max(mx, v)
			}
			if mn < lo-1e-4 || mx > hi+1e-4 || mx-mn < 0.5 {
				t.Errorf("%s channel %d: range [%v, %v] outside [%v, %v] or flat", s.Name, c, mn, mx, lo, hi)
			}
		}
	}
}

// TestPhotos decodes every shared photo (JPEG, PNG with alpha, paletted
// PNG, a PNG named .jpg) for BlazeFace's NHWC [1,128,128,3] input in
// [-1, 1], then batches them.
func TestPhotos(t *testing.T) {
	dir := testenv.DataFile(t, "images", "photos")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := len(ents)
	o := ImageOptions{Input: "input:0", Layout: NHWC, Height: 128, Width: 128, Mean: []float32{0.5}, Std: []float32{0.5}, Resize: Stretch}
	r, err := ImageFolder(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != n {
		t.Fatalf("%d samples from %d files", len(samples), n)
	}
	for _, s := range samples {
		x := s.Inputs["input:0"]
		if !slices.Equal(x.Shape, []int{1, 128, 128, 3}) {
			t.Fatalf("%s: shape %v", s.Name, x.Shape)
		}
		mn, mx := float32(math.Inf(1)), float32(math.Inf(-1))
		for _, v := range tensor.As[float32](x) {
			mn, mx = min(mn, v), max(mx, v)
		}
		if mn < -1 || mx > 1 || mx-mn < 0.5 {
			t.Errorf("%s: range [%v, %v]", s.Name, mn, mx)
		}
	}

	// Batches of 4: a static batch drops the remainder, a dynamic one
	// keeps it. The batch tensor stacks the single-image tensors.
	for _, dyn := range []bool{false, true} {
		o := o
		o.Batch, o.DynamicBatch = 4, dyn
		r, err := ImageFolder(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		batches, err := ReadAll(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		want, dropped := n/4, n%4
		if dyn {
			want, dropped = (n+3)/4, 0
		}
		if len(batches) != want || r.Len() != want || r.Dropped() != dropped {
			t.Errorf("dynamic=%v: %d batches (Len %d), dropped %d; want %d, %d", dyn, len(batches), r.Len(), r.Dropped(), want, dropped)
		}
		for bi, b := range batches {
			x := b.Inputs["input:0"]
			k := x.Shape[0]
			if len(b.Items) != k || (k != 4 && (!dyn || bi != len(batches)-1)) {
				t.Fatalf("batch %d: shape %v, %d items", bi, x.Shape, len(b.Items))
			}
			per := 128 * 128 * 3
			for j := 0; j < k; j++ {
				single := samples[bi*4+j]
				if b.Items[j].Name != single.Name {
					t.Fatalf("batch %d item %d is %q, want %q", bi, j, b.Items[j].Name, single.Name)
				}
				if !slices.Equal(tensor.As[float32](x)[j*per:(j+1)*per], tensor.As[float32](single.Inputs["input:0"])) {
					t.Fatalf("batch %d item %d differs from the single sample", bi, j)
				}
			}
		}
	}
}

// countFS counts the files opened through it.
type countFS struct {
	fs.FS
	opens atomic.Int64
}

func (c *countFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err == nil {
		if st, err := f.Stat(); err == nil && !st.IsDir() {
			c.opens.Add(1)
		}
	}
	return f, err
}

// TestImageStreaming checks that the image reader opens one file per
// sample, not the whole folder up front.
func TestImageStreaming(t *testing.T) {
	dir := testenv.DataFile(t, "images", "imagenet-sample")
	cfs := &countFS{FS: os.DirFS(dir)}
	r, err := ImageFS(cfs, ImageOptions{Input: "x", Height: 32, Width: 32})
	if err != nil {
		t.Fatal(err)
	}
	if n := cfs.opens.Load(); n != 0 {
		t.Errorf("listing opened %d files", n)
	}
	for i := 1; i <= 3; i++ {
		readOne(t, r)
		if n := cfs.opens.Load(); n != int64(i) {
			t.Errorf("after %d samples, %d files opened", i, n)
		}
	}
	if r.Len() != 200 {
		t.Errorf("Len %d", r.Len())
	}
}

// TestImageBadFiles puts an undecodable .jpg among good PNGs.
func TestImageBadFiles(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, dir, "a.png", knownImage())
	if err := os.WriteFile(filepath.Join(dir, "b.jpg"), []byte("this is not a JPEG"), 0o644); err != nil {
		t.Fatal(err)
	}
	writePNG(t, dir, "c.png", knownImage())
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "b.jpg")
	o := ImageOptions{Input: "x", Height: 4, Width: 4}

	r, err := ImageFolder(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 3 {
		t.Errorf("Len %d, want 3 (the .txt ignored)", r.Len())
	}
	readOne(t, r)
	if _, err := r.Next(context.Background()); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad image: error %v does not name %s", err, bad)
	}

	o.SkipBad = true
	r, err = ImageFolder(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	samples, err := ReadAll(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 2 || samples[0].Name != "a.png" || samples[1].Name != "c.png" {
		t.Errorf("SkipBad gave %d samples", len(samples))
	}
	if sk := r.Skipped(); len(sk) != 1 || sk[0] != bad {
		t.Errorf("Skipped %v, want [%s]", sk, bad)
	}
}

func TestImageOptionErrors(t *testing.T) {
	dir := t.TempDir()
	writePNG(t, dir, "a.png", knownImage())
	cases := []struct {
		name string
		opts ImageOptions
		want string
	}{
		{"no input", ImageOptions{Height: 2, Width: 2}, "Input"},
		{"no size", ImageOptions{Input: "x"}, "Height and Width"},
		{"channels", ImageOptions{Input: "x", Height: 2, Width: 2, Channels: 2}, "channels"},
		{"mean", ImageOptions{Input: "x", Height: 2, Width: 2, Mean: []float32{1, 2}}, "Mean"},
		{"std zero", ImageOptions{Input: "x", Height: 2, Width: 2, Std: []float32{0}}, "Std"},
		{"dtype", ImageOptions{Input: "x", Height: 2, Width: 2, DType: tensor.String}, "cannot write"},
	}
	for _, c := range cases {
		if _, err := ImageFolder(dir, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	empty := t.TempDir()
	if _, err := ImageFolder(empty, ImageOptions{Input: "x", Height: 2, Width: 2}); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("folder without images: %v", err)
	}
}

func TestImageRecursive(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub", ".hidden"), 0o755); err != nil {
		t.Fatal(err)
	}
	writePNG(t, dir, "b.png", knownImage())
	writePNG(t, filepath.Join(dir, "sub"), "a.PNG", knownImage())
	writePNG(t, filepath.Join(dir, "sub", ".hidden"), "z.png", knownImage())
	for _, c := range []struct {
		recursive bool
		want      []string
	}{{false, []string{"b.png"}}, {true, []string{"b.png", "sub/a.PNG"}}} {
		r, err := ImageFolder(dir, ImageOptions{Input: "x", Height: 2, Width: 2, Recursive: c.recursive})
		if err != nil {
			t.Fatal(err)
		}
		samples, err := ReadAll(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range samples {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, c.want) {
			t.Errorf("recursive=%v: %v, want %v", c.recursive, names, c.want)
		}
	}
}

// modelInputs loads a shared model's inputs.
func modelInputs(t *testing.T, name string) []engine.ValueInfo {
	t.Helper()
	m, err := onnx.Load(testenv.DataFile(t, "models", name))
	if err != nil {
		t.Fatal(err)
	}
	return ModelInputs(m)
}

// TestImageDefaults reads the image inputs of the shared models, whose
// shapes MANIFEST.md lists.
func TestImageDefaults(t *testing.T) {
	cases := []struct {
		model    string
		layout   Layout
		h, w, c  int
		batch    int
		dynBatch bool
	}{
		{"mnist-8.onnx", NCHW, 28, 28, 1, 1, false},
		{"fastestdet-coco-352.onnx", NCHW, 352, 352, 3, 1, false},
		{"ultraface-rfb-320.onnx", NCHW, 240, 320, 3, 1, false},
		{"blazeface-front-128-nhwc.onnx", NHWC, 128, 128, 3, 1, false},
		{"mlsd-tiny-320-nhwc.onnx", NHWC, 320, 320, 4, 1, false},
		// [N,3,48,W]: width dynamic, batch dynamic.
		{"ppocr-v4-rec.onnx", NCHW, 48, 0, 3, 1, true},
	}
	for _, c := range cases {
		in := modelInputs(t, c.model)[0]
		o := ImageDefaults(in)
		if o.Input != in.Name || o.Layout != c.layout || o.Height != c.h || o.Width != c.w || o.Channels != c.c || o.Batch != c.batch || o.DynamicBatch != c.dynBatch || o.DType != tensor.Float32 {
			t.Errorf("%s: %+v", c.model, o)
		}
	}
	// Not an image: rank 2.
	if o := ImageDefaults(engine.ValueInfo{Name: "v", DType: tensor.Uint8, Shape: []int{1, 784}}); o.Layout != LayoutAuto || o.Range != Byte {
		t.Errorf("rank 2: %+v", o)
	}
}
