package dataset

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG with image.Decode
	_ "image/png"  // registers PNG with image.Decode
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/tensor"
)

// Layout is the order of an image tensor's dimensions.
type Layout int

const (
	// LayoutAuto means unset: ImageDefaults fills it from the model, and a
	// reader built from options that leave it unset uses NCHW.
	LayoutAuto Layout = iota
	// NCHW is batch, channels, height, width.
	NCHW
	// NHWC is batch, height, width, channels.
	NHWC
)

// String returns "NCHW", "NHWC" or "auto".
func (l Layout) String() string {
	switch l {
	case LayoutAuto:
		return "auto"
	case NCHW:
		return "NCHW"
	case NHWC:
		return "NHWC"
	}
	return fmt.Sprintf("Layout(%d)", int(l))
}

// ChannelOrder is the order of color channels in a 3- or 4-channel input.
type ChannelOrder int

const (
	// RGB order (RGBA with 4 channels).
	RGB ChannelOrder = iota
	// BGR order (BGRA with 4 channels), as OpenCV-trained models expect.
	BGR
)

// PixelRange is the scale pixels are brought to before normalization.
type PixelRange int

const (
	// Unit scales 8-bit pixel values to 0..1 (p/255).
	Unit PixelRange = iota
	// Byte keeps 8-bit pixel values as 0..255.
	Byte
)

// ResizeMode says how an image is brought to the input's height and width.
type ResizeMode int

const (
	// ResizeCrop scales the image, keeping its aspect ratio, so that its
	// shorter side is ImageOptions.ResizeShorter pixels (and both sides
	// cover the crop), then crops the centre Height x Width: the ImageNet
	// evaluation convention.
	ResizeCrop ResizeMode = iota
	// Stretch scales the image to exactly Height x Width, changing its
	// aspect ratio as needed.
	Stretch
)

// Common normalization constants: ImageNet's per-channel RGB mean and
// standard deviation for pixels scaled to 0..1 (Range Unit).
var (
	ImageNetMean = []float32{0.485, 0.456, 0.406}
	ImageNetStd  = []float32{0.229, 0.224, 0.225}
)

// ImageOptions says how images become an input tensor. The value written
// for channel c of a pixel p (0..255) is (p*k - Mean[c]) / Std[c], where k
// is 1/255 for Range Unit and 1 for Range Byte; Mean defaults to 0 and Std
// to 1, and a single-element Mean or Std applies to every channel.
type ImageOptions struct {
	// Input is the graph input the images feed (required).
	Input string
	// Layout of the tensor; LayoutAuto means NCHW.
	Layout Layout
	// Height and Width of each image in the tensor (required).
	Height, Width int
	// Channels is 1 (grayscale, ITU-R 601 luma), 3 (color) or 4 (color
	// plus an opaque alpha channel, value 255 before scaling, whatever the
	// file's own alpha); 0 means 3.
	Channels int
	// Order of color channels for 3 or 4 channels.
	Order ChannelOrder
	// Resize mode, and the shorter side ResizeCrop scales to before
	// cropping: 0 means min(Height, Width)*256/224 (256 for a 224 crop).
	Resize        ResizeMode
	ResizeShorter int
	// Interp is the resampling filter.
	Interp Interp
	// Range, Mean and Std normalize pixel values (see ImageOptions).
	Range     PixelRange
	Mean, Std []float32
	// DType is the tensor's element type: Float32 when Undefined; Float64
	// and Float16 take the values as computed, integer types take them
	// rounded to the nearest integer and saturated.
	DType tensor.DataType
	// Batch is the number of images stacked along the first dimension of
	// each sample (0 means 1). When the folder runs out part-way through a
	// batch, the partial batch is yielded if DynamicBatch is set (the input's
	// batch dimension is dynamic) and otherwise dropped and counted (see
	// ImageReader.Dropped).
	Batch        int
	DynamicBatch bool
	// Recursive includes images in subfolders (by relative path order).
	Recursive bool
	// SkipBad skips files that fail to decode, recording them (see
	// ImageReader.Skipped), instead of returning an error.
	SkipBad bool
	// Labels, when set, labels each image from its file name (relative
	// path, as in Sample.Name).
	Labels LabelFunc
}

// ImageDefaults returns options for feeding images to the model input:
// Input, DType, Layout, Height, Width, Channels and the batch size from its
// declared shape, with Range Unit (Byte for an integer input), no mean/std
// normalization, ResizeCrop and Bilinear. A rank-4 shape is read as NCHW
// when dimension 1 is 1 or 3 and the last is not 1, 3 or 4, and as NHWC
// when the last is 1, 3 or 4. A dynamic height or width stays 0 and must be
// set by the caller; a dynamic batch dimension gives Batch 1 and
// DynamicBatch. A shape it cannot read leaves Layout, Height, Width and
// Channels unset. Normalization is not recorded in a model: set Range, Mean
// and Std to match how the model was trained.
func ImageDefaults(input engine.ValueInfo) ImageOptions {
	o := ImageOptions{Input: input.Name, DType: input.DType, Batch: 1}
	if input.DType.IsInteger() {
		o.Range = Byte
	}
	s := input.Shape
	if len(s) != 4 {
		return o
	}
	chanLike := func(d int) bool { return d == 1 || d == 3 || d == 4 }
	switch {
	case (s[1] == 1 || s[1] == 3) && !chanLike(s[3]):
		o.Layout, o.Channels, o.Height, o.Width = NCHW, s[1], max(s[2], 0), max(s[3], 0)
	case chanLike(s[3]):
		o.Layout, o.Channels, o.Height, o.Width = NHWC, s[3], max(s[1], 0), max(s[2], 0)
	default:
		return o
	}
	if s[0] > 0 {
		o.Batch = s[0]
	} else {
		o.DynamicBatch = true
	}
	return o
}

// isImageName reports whether a file name has a JPEG or PNG extension.
func isImageName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".jpg", ".jpeg", ".png":
		return true
	}
	return false
}

// ImageReader streams a list of image files as samples of one input. Files
// are opened and decoded one at a time, as Next needs them.
type ImageReader struct {
	opts    ImageOptions
	files   []string // names as given to open, in order
	open    func(name string) (io.ReadCloser, error)
	display func(name string) string // the path errors name
	sample  func(name string) string // Sample/Item name
	next    int
	skipped []string
	dropped int
}

// ImageFolder returns a reader over the JPEG and PNG files of dir (by
// extension, case-insensitive; content decides the decoder), sorted by
// name; with opts.Recursive, also those of its subfolders, sorted by
// relative path. Hidden files and folders (leading '.') and other files
// are ignored. Sample names are paths relative to dir, with '/'. A folder
// without images is an error.
func ImageFolder(dir string, opts ImageOptions) (*ImageReader, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("dataset: %s is not a folder", dir)
	}
	r, err := newImageFS(os.DirFS(dir), dir, opts)
	if err != nil {
		return nil, err
	}
	r.display = func(name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
	return r, nil
}

// ImageFS is ImageFolder over the root of fsys; errors and sample names give
// paths within fsys.
func ImageFS(fsys fs.FS, opts ImageOptions) (*ImageReader, error) {
	return newImageFS(fsys, ".", opts)
}

func newImageFS(fsys fs.FS, root string, opts ImageOptions) (*ImageReader, error) {
	o, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	var files []string
	if o.Recursive {
		err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if p != "." && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if !d.IsDir() && d.Type().IsRegular() && isImageName(p) {
				files = append(files, p)
			}
			return nil
		})
		slices.Sort(files)
	} else {
		var ents []fs.DirEntry
		ents, err = fs.ReadDir(fsys, ".")
		for _, e := range ents {
			if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && isImageName(e.Name()) {
				files = append(files, e.Name())
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: listing images in %s: %w", root, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dataset: %s: no JPEG or PNG files", root)
	}
	return &ImageReader{
		opts:    o,
		files:   files,
		open:    func(name string) (io.ReadCloser, error) { return fsys.Open(name) },
		display: func(name string) string { return name },
		sample:  func(name string) string { return name },
	}, nil
}

// ImageFiles returns a reader over the given image files in the given order
// (any extension); sample names are the files' base names.
func ImageFiles(paths []string, opts ImageOptions) (*ImageReader, error) {
	o, err := opts.normalized()
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, errors.New("dataset: ImageFiles: no files")
	}
	return &ImageReader{
		opts:    o,
		files:   slices.Clone(paths),
		open:    func(name string) (io.ReadCloser, error) { return os.Open(name) },
		display: func(name string) string { return name },
		sample:  filepath.Base,
	}, nil
}

// normalized fills defaults and checks the options.
func (o ImageOptions) normalized() (ImageOptions, error) {
	if o.Input == "" {
		return o, errors.New("dataset: ImageOptions.Input (the input name) is empty")
	}
	if o.Layout == LayoutAuto {
		o.Layout = NCHW
	}
	if o.Layout != NCHW && o.Layout != NHWC {
		return o, fmt.Errorf("dataset: input %q: unknown layout %v", o.Input, o.Layout)
	}
	if o.Channels == 0 {
		o.Channels = 3
	}
	if o.Channels != 1 && o.Channels != 3 && o.Channels != 4 {
		return o, fmt.Errorf("dataset: input %q: %d channels: images give 1, 3 or 4", o.Input, o.Channels)
	}
	if o.Height <= 0 || o.Width <= 0 {
		return o, fmt.Errorf("dataset: input %q: image size %dx%d not set: give ImageOptions.Height and Width (needed when the model's height or width is dynamic)", o.Input, o.Height, o.Width)
	}
	if o.Resize != ResizeCrop && o.Resize != Stretch {
		return o, fmt.Errorf("dataset: input %q: unknown resize mode %d", o.Input, int(o.Resize))
	}
	if o.Interp != Bilinear && o.Interp != BilinearNoAntialias && o.Interp != Area {
		return o, fmt.Errorf("dataset: input %q: unknown interpolation %v", o.Input, o.Interp)
	}
	if o.Range != Unit && o.Range != Byte {
		return o, fmt.Errorf("dataset: input %q: unknown pixel range %d", o.Input, int(o.Range))
	}
	if o.Order != RGB && o.Order != BGR {
		return o, fmt.Errorf("dataset: input %q: unknown channel order %d", o.Input, int(o.Order))
	}
	for _, v := range []struct {
		name string
		vals []float32
	}{{"Mean", o.Mean}, {"Std", o.Std}} {
		if len(v.vals) > 1 && len(v.vals) != o.Channels {
			return o, fmt.Errorf("dataset: input %q: %s has %d values for %d channels", o.Input, v.name, len(v.vals), o.Channels)
		}
	}
	for _, s := range o.Std {
		if s == 0 || math.IsNaN(float64(s)) {
			return o, fmt.Errorf("dataset: input %q: Std %v contains zero or NaN", o.Input, o.Std)
		}
	}
	if o.DType == tensor.Undefined {
		o.DType = tensor.Float32
	}
	if !o.DType.Supported() || !(o.DType.IsFloat() || o.DType.IsInteger()) || o.DType.StorageBits() < 8 {
		return o, fmt.Errorf("dataset: input %q: cannot write images as %v", o.Input, o.DType)
	}
	if o.Batch == 0 {
		o.Batch = 1
	}
	if o.Batch < 0 {
		return o, fmt.Errorf("dataset: input %q: negative batch size %d", o.Input, o.Batch)
	}
	if o.ResizeShorter < 0 {
		return o, fmt.Errorf("dataset: input %q: negative ResizeShorter %d", o.Input, o.ResizeShorter)
	}
	return o, nil
}

// Options returns the reader's options with defaults filled in.
func (r *ImageReader) Options() ImageOptions { return r.opts }

// Len returns the number of samples (batches) the files make: a partial
// last batch counts only with DynamicBatch. With SkipBad the reader may
// yield fewer.
func (r *ImageReader) Len() int {
	n, b := len(r.files), r.opts.Batch
	if r.opts.DynamicBatch {
		return (n + b - 1) / b
	}
	return n / b
}

// Skipped returns the paths of the files skipped as undecodable so far
// (SkipBad).
func (r *ImageReader) Skipped() []string { return slices.Clone(r.skipped) }

// Dropped returns how many decoded images were left out because they did
// not fill a last batch and the batch dimension is static.
func (r *ImageReader) Dropped() int { return r.dropped }

// Close ends reading; files are closed as soon as they are decoded, so it
// only makes later Next calls return io.EOF.
func (r *ImageReader) Close() error {
	r.next = len(r.files)
	return nil
}

// Next decodes the next Batch images into one sample.
func (r *ImageReader) Next(ctx context.Context) (Sample, error) {
	o := r.opts
	per := o.Channels * o.Height * o.Width
	vals := make([]float32, 0, o.Batch*per)
	var items []Item
	for len(items) < o.Batch && r.next < len(r.files) {
		if err := ctx.Err(); err != nil {
			return Sample{}, err
		}
		name := r.files[r.next]
		r.next++
		px, err := r.load(name)
		if err != nil {
			if o.SkipBad {
				r.skipped = append(r.skipped, r.display(name))
				continue
			}
			return Sample{}, err
		}
		vals = append(vals, px...)
		it := Item{Name: r.sample(name), Label: -1}
		if o.Labels != nil {
			if v, ok := o.Labels(it.Name); ok {
				it.Label = v
			}
		}
		items = append(items, it)
	}
	if len(items) == 0 {
		return Sample{}, io.EOF
	}
	if len(items) < o.Batch && !o.DynamicBatch {
		r.dropped += len(items)
		return Sample{}, io.EOF
	}
	shape := []int{len(items), o.Channels, o.Height, o.Width}
	if o.Layout == NHWC {
		shape = []int{len(items), o.Height, o.Width, o.Channels}
	}
	t, err := toDType(tensor.FromSlice(shape, vals), o.DType)
	if err != nil {
		return Sample{}, fmt.Errorf("dataset: input %q: %w", o.Input, err)
	}
	s := Sample{Name: items[0].Name, Inputs: map[string]*tensor.Tensor{o.Input: t}, Label: items[0].Label}
	if len(items) > 1 {
		s.Name = fmt.Sprintf("%s (+%d)", items[0].Name, len(items)-1)
		s.Label = -1
		s.Items = items
	}
	return s, nil
}

// toDType converts float32 values to dt, rounding to the nearest integer
// first for integer types.
func toDType(t *tensor.Tensor, dt tensor.DataType) (*tensor.Tensor, error) {
	if dt == tensor.Float32 {
		return t, nil
	}
	if dt.IsInteger() {
		for i, v := range t.Data.([]float32) {
			t.Data.([]float32)[i] = float32(math.RoundToEven(float64(v)))
		}
	}
	return tensor.Convert(t, dt)
}

// load opens, decodes and preprocesses one image into the sample layout.
func (r *ImageReader) load(name string) ([]float32, error) {
	f, err := r.open(name)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	img, _, err := image.Decode(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: decoding image: %w", r.display(name), err)
	}
	px, err := preprocess(img, r.opts)
	if err != nil {
		return nil, fmt.Errorf("dataset: %s: %w", r.display(name), err)
	}
	return px, nil
}

// geometry returns the size a w x h image is scaled to and the offset of
// the Width x Height crop taken from it (floor of half the excess).
func geometry(w, h int, o ImageOptions) (sw, sh, offX, offY int) {
	if o.Resize == Stretch {
		return o.Width, o.Height, 0, 0
	}
	short := o.ResizeShorter
	if short == 0 {
		short = min(o.Height, o.Width) * 256 / 224
	}
	f := float64(short) / float64(min(w, h))
	// Both sides must cover the crop.
	f = max(f, float64(o.Width)/float64(w), float64(o.Height)/float64(h))
	sw = max(int(math.Round(float64(w)*f)), o.Width)
	sh = max(int(math.Round(float64(h)*f)), o.Height)
	return sw, sh, (sw - o.Width) / 2, (sh - o.Height) / 2
}

// preprocess turns a decoded image into Channels x Height x Width values
// (or Height x Width x Channels for NHWC), normalized.
func preprocess(img image.Image, o ImageOptions) ([]float32, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return nil, fmt.Errorf("image has no pixels (%dx%d)", w, h)
	}
	c := 3
	if o.Channels == 1 {
		c = 1
	}
	src := pixels(img, c)
	sw, sh, offX, offY := geometry(w, h, o)
	res := resample(src, w, h, c, makeTaps(w, sw, offX, o.Width, o.Interp), makeTaps(h, sh, offY, o.Height, o.Interp))

	k := float32(1)
	if o.Range == Unit {
		k = 1.0 / 255
	}
	mean := func(ch int) float32 {
		switch len(o.Mean) {
		case 0:
			return 0
		case 1:
			return o.Mean[0]
		}
		return o.Mean[ch]
	}
	std := func(ch int) float32 {
		switch len(o.Std) {
		case 0:
			return 1
		case 1:
			return o.Std[0]
		}
		return o.Std[ch]
	}
	n := o.Height * o.Width
	out := make([]float32, n*o.Channels)
	for ch := 0; ch < o.Channels; ch++ {
		src := ch // channel of res feeding output channel ch
		if c == 3 && o.Order == BGR && ch < 3 {
			src = 2 - ch
		}
		m, s := mean(ch), std(ch)
		for p := 0; p < n; p++ {
			var v float32
			if ch == 3 {
				v = 255 // alpha: opaque
			} else {
				// Non-negative weights keep values within 0..255
				// but for float rounding.
				v = min(max(res[p*c+src], 0), 255)
			}
			v = (v*k - m) / s
			if o.Layout == NHWC {
				out[p*o.Channels+ch] = v
			} else {
				out[ch*n+p] = v
			}
		}
	}
	return out, nil
}

// pixels returns img's pixels row-major as 8-bit RGB (c = 3) or luma
// (c = 1), colors not premultiplied by alpha.
func pixels(img image.Image, c int) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	out := make([]uint8, w*h*c)
	put := func(i int, r, g, bl uint8) {
		if c == 3 {
			out[i*3], out[i*3+1], out[i*3+2] = r, g, bl
			return
		}
		out[i] = luma(r, g, bl)
	}
	switch m := img.(type) {
	case *image.Gray:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				put(y*w+x, v, v, v)
			}
		}
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				yi := m.YOffset(b.Min.X+x, b.Min.Y+y)
				ci := m.COffset(b.Min.X+x, b.Min.Y+y)
				r, g, bl := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				put(y*w+x, r, g, bl)
			}
		}
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				put(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	case *image.RGBA:
		// Decoders produce RGBA only for opaque images; translucent
		// pixels are shown over black.
		for y := 0; y < h; y++ {
			row := m.Pix[y*m.Stride : y*m.Stride+4*w]
			for x := 0; x < w; x++ {
				put(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				p := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				put(y*w+x, p.R, p.G, p.B)
			}
		}
	}
	return out
}

// luma is ITU-R BT.601 luma of an 8-bit RGB color, rounded
// (0.299 R + 0.587 G + 0.114 B).
func luma(r, g, b uint8) uint8 {
	return uint8((299*int(r) + 587*int(g) + 114*int(b) + 500) / 1000)
}
