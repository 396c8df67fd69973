package dataset

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/tensor"
)

// Options configures Open. Each reader's options start from what the
// model's inputs say; fields set here (non-zero) take precedence.
type Options struct {
	// Image options for a folder of images, over ImageDefaults of the
	// input they feed (Image.Input, else the model's first rank-4 input).
	// Normalization (Range, Mean, Std) is not in the model: set it.
	Image ImageOptions
	// MNIST options for a folder of MNIST digit files. The input defaults
	// to the model's first, the shape to its declared shape (dynamic
	// dimensions 1). Scale is not in the model: mnist-8 takes 255.
	MNIST MNISTOptions
	// Audio options for WAV files. The input defaults to the model's first
	// floating-point input of rank 1 or 2, the window to its last
	// dimension and the shape to its declared shape (dynamic dimensions
	// 1). Other model inputs not in Audio.Extra are fed the sample rate
	// (an integer input of one element) or zeros (floating-point inputs,
	// such as a recurrent state: each window then starts from a zero
	// state). Int16Scale is not in the model: openWakeWord's mel front end
	// takes it.
	Audio AudioOptions
	// Labels, when set, labels samples from their names (see WithLabels).
	Labels LabelFunc
}

// Open returns a reader for the data at path, chosen by what path holds:
//
//   - a .wav file, or a folder of them: AudioWindows;
//   - a .npz file, or a folder of them: Npz;
//   - a .jpg, .jpeg or .png file, or a folder of them: images;
//   - a folder with test_data_set_* folders or input_N.pb files: TestData;
//   - a folder of sample folders holding .npy files: NpyDir;
//   - a folder with MNIST digit files 0.json .. 9.json: MNISTDigits.
//
// A folder is checked in the order TestData, NpyDir, Npz, images, WAV,
// MNIST, and the first kind found decides. model describes the model's
// inputs (see ModelInputs or engine.Session.Inputs) and may be nil only for
// test data, .npy and .npz, which then name their inputs themselves. An
// empty folder, or one holding none of these, is an error naming it.
func Open(path string, model []engine.ValueInfo, opts Options) (Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if !st.IsDir() {
		switch ext := strings.ToLower(filepath.Ext(path)); {
		case ext == ".wav":
			return openAudio([]string{path}, model, opts)
		case ext == ".npz":
			return labelled(Npz(path, model))(opts.Labels)
		case isImageName(path):
			o, err := imageOptions(path, model, opts)
			if err != nil {
				return nil, err
			}
			return ImageFiles([]string{path}, o)
		}
		return nil, fmt.Errorf("dataset: %s: unknown kind of file (expected .wav, .npz, .jpg, .jpeg, .png or a folder)", path)
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var images, npz, wav, digits, subdirs int
	var firstSub string
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if e.IsDir() {
			if strings.HasPrefix(name, "test_data_set_") {
				return labelled(TestData(path, model))(opts.Labels)
			}
			if subdirs == 0 {
				firstSub = filepath.Join(path, name)
			}
			subdirs++
			continue
		}
		if isInputPB(name) {
			return labelled(TestData(path, model))(opts.Labels)
		}
		ext := strings.ToLower(filepath.Ext(name))
		switch {
		case isImageName(name):
			images++
		case ext == ".npz":
			npz++
		case ext == ".wav":
			wav++
		case len(name) == 6 && name[0] >= '0' && name[0] <= '9' && ext == ".json":
			digits++
		}
	}
	if subdirs > 0 && hasNpy(firstSub) {
		return labelled(NpyDir(path, model))(opts.Labels)
	}
	switch {
	case npz > 0:
		return labelled(Npz(path, model))(opts.Labels)
	case images > 0 || (subdirs > 0 && opts.Image.Recursive):
		o, err := imageOptions(path, model, opts)
		if err != nil {
			return nil, err
		}
		return ImageFolder(path, o)
	case wav > 0:
		var files []string
		for _, e := range ents {
			if !e.IsDir() && strings.EqualFold(filepath.Ext(e.Name()), ".wav") && !strings.HasPrefix(e.Name(), ".") {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		return openAudio(files, model, opts)
	case digits > 0:
		return openMNIST(path, model, opts)
	case len(ents) == 0:
		return nil, fmt.Errorf("dataset: %s: folder is empty", path)
	}
	return nil, fmt.Errorf("dataset: %s: no data found: expected images (.jpg, .jpeg, .png), test_data_set_* folders, SAMPLE/INPUT.npy folders, .npz archives, .wav files or MNIST digit files (0.json .. 9.json)", path)
}

// labelled wraps a reader constructor's result with labels when given.
func labelled[R Reader](r R, err error) func(LabelFunc) (Reader, error) {
	return func(l LabelFunc) (Reader, error) {
		if err != nil {
			return nil, err
		}
		if l != nil {
			return WithLabels(r, l), nil
		}
		return r, nil
	}
}

// hasNpy reports whether dir holds a .npy file.
func hasNpy(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".npy") {
			return true
		}
	}
	return false
}

// pickInput returns the input named name, or the first input satisfying
// pred, or the first input.
func pickInput(path string, model []engine.ValueInfo, name string, pred func(engine.ValueInfo) bool) (engine.ValueInfo, error) {
	if name != "" {
		if model == nil {
			return engine.ValueInfo{Name: name}, nil
		}
		vi, ok := findInput(model, name)
		if !ok {
			return vi, fmt.Errorf("dataset: %s: the model has no input %q (inputs: %s)", path, name, inputNames(model))
		}
		return vi, nil
	}
	if len(model) == 0 {
		return engine.ValueInfo{}, fmt.Errorf("dataset: %s: no model inputs given: name the input in the options", path)
	}
	for _, vi := range model {
		if pred(vi) {
			return vi, nil
		}
	}
	return model[0], nil
}

// imageOptions merges the user's image options over the model's defaults.
func imageOptions(path string, model []engine.ValueInfo, opts Options) (ImageOptions, error) {
	u := opts.Image
	vi, err := pickInput(path, model, u.Input, func(v engine.ValueInfo) bool { return len(v.Shape) == 4 })
	if err != nil {
		return u, err
	}
	d := ImageDefaults(vi)
	if model == nil {
		d = ImageOptions{Input: vi.Name}
	}
	where := fmt.Sprintf("dataset: %s: input %q (shape %s)", path, vi.Name, dimsString(vi))
	static := func(field string, model, user int) error {
		if model > 0 && user > 0 && model != user {
			return fmt.Errorf("%s: %s %d set, but the model's is %d", where, field, user, model)
		}
		return nil
	}
	if err := static("Height", d.Height, u.Height); err != nil {
		return u, err
	}
	if err := static("Width", d.Width, u.Width); err != nil {
		return u, err
	}
	if err := static("Channels", d.Channels, u.Channels); err != nil {
		return u, err
	}
	if !d.DynamicBatch && model != nil && len(vi.Shape) == 4 {
		if err := static("Batch", d.Batch, u.Batch); err != nil {
			return u, err
		}
	}
	if d.Layout != LayoutAuto && u.Layout != LayoutAuto && u.Layout != d.Layout {
		return u, fmt.Errorf("%s: layout %v set, but the model's shape reads as %v", where, u.Layout, d.Layout)
	}
	o := u
	o.Input = vi.Name
	if o.Layout == LayoutAuto {
		o.Layout = d.Layout
	}
	if o.Height == 0 {
		o.Height = d.Height
	}
	if o.Width == 0 {
		o.Width = d.Width
	}
	if o.Channels == 0 {
		o.Channels = d.Channels
	}
	if o.Range == Unit {
		o.Range = d.Range
	}
	if o.DType == tensor.Undefined {
		o.DType = d.DType
	}
	if o.Batch == 0 {
		o.Batch = d.Batch
	}
	o.DynamicBatch = o.DynamicBatch || d.DynamicBatch
	if o.Labels == nil {
		o.Labels = opts.Labels
	}
	if model != nil && o.Layout == LayoutAuto {
		return o, fmt.Errorf("%s: cannot tell the image layout from the shape: set Options.Image.Layout, Height, Width and Channels", where)
	}
	if o.Height <= 0 || o.Width <= 0 {
		return o, fmt.Errorf("%s: the height or width is dynamic: set Options.Image.Height and Width", where)
	}
	return o, nil
}

// concreteShape returns a declared shape with dynamic dimensions as 1.
func concreteShape(s []int) []int {
	out := make([]int, len(s))
	for i, d := range s {
		out[i] = max(d, 1)
	}
	return out
}

// openMNIST opens MNIST digits for the model.
func openMNIST(path string, model []engine.ValueInfo, opts Options) (Reader, error) {
	o := opts.MNIST
	vi, err := pickInput(path, model, o.Input, func(engine.ValueInfo) bool { return true })
	if err != nil {
		return nil, err
	}
	o.Input = vi.Name
	if vi.DType != tensor.Undefined && vi.DType != tensor.Float32 {
		return nil, fmt.Errorf("dataset: %s: input %q takes %v; MNIST digits are float32", path, vi.Name, vi.DType)
	}
	if o.Shape == nil && vi.Shape != nil {
		o.Shape = concreteShape(vi.Shape)
		if tensor.NumElements(o.Shape) != MNISTPixels {
			return nil, fmt.Errorf("dataset: %s: input %q has shape %s, which does not hold a 28x28 digit", path, vi.Name, dimsString(vi))
		}
	}
	r, err := MNISTDigits(path, o)
	if err != nil {
		return nil, err
	}
	if opts.Labels != nil {
		return WithLabels(r, opts.Labels), nil
	}
	return r, nil
}

// openAudio opens WAV files for the model.
func openAudio(files []string, model []engine.ValueInfo, opts Options) (Reader, error) {
	path := files[0]
	if len(files) > 1 {
		path = filepath.Dir(files[0])
	}
	o := opts.Audio
	vi, err := pickInput(path, model, o.Input, func(v engine.ValueInfo) bool {
		return (v.DType == tensor.Float32 || v.DType == tensor.Float16 || v.DType == tensor.Float64) && (len(v.Shape) == 1 || len(v.Shape) == 2)
	})
	if err != nil {
		return nil, err
	}
	o.Input = vi.Name
	where := fmt.Sprintf("dataset: %s: input %q (shape %s)", path, vi.Name, dimsString(vi))
	if len(vi.Shape) > 0 {
		last := vi.Shape[len(vi.Shape)-1]
		if o.Window == 0 {
			if last <= 0 {
				return nil, fmt.Errorf("%s: the window length is dynamic: set Options.Audio.Window", where)
			}
			o.Window = last
		}
		if o.Shape == nil {
			sh := concreteShape(vi.Shape)
			if last <= 0 {
				sh[len(sh)-1] = o.Window
			}
			o.Shape = sh
		}
	}
	if o.DType == tensor.Undefined {
		o.DType = vi.DType
	}
	extra := make(map[string]*tensor.Tensor, len(model))
	for k, v := range o.Extra {
		extra[k] = v
	}
	rate := o.Rate
	if rate == 0 {
		rate = 16000
	}
	for _, m := range model {
		if m.Name == vi.Name || extra[m.Name] != nil {
			continue
		}
		sh := concreteShape(m.Shape)
		switch {
		case m.DType.IsInteger() && tensor.NumElements(sh) == 1:
			t, err := tensor.Convert(tensor.FromSlice(sh, []int64{int64(rate)}), m.DType)
			if err != nil {
				return nil, fmt.Errorf("dataset: %s: input %q: %w", path, m.Name, err)
			}
			extra[m.Name] = t
		case m.DType.IsFloat() && m.DType.Supported() && m.Shape != nil:
			extra[m.Name] = tensor.New(m.DType, sh...)
		default:
			return nil, fmt.Errorf("dataset: %s: cannot fill input %q (%v %s): give it in Options.Audio.Extra", path, m.Name, m.DType, dimsString(m))
		}
	}
	o.Extra = extra
	r, err := AudioWindows(slices.Clone(files), o)
	if err != nil {
		return nil, err
	}
	if opts.Labels != nil {
		return WithLabels(r, opts.Labels), nil
	}
	return r, nil
}
