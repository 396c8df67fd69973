// Package modelzoo builds test inputs for the real models in the shared test
// data (testdata/models, see its MANIFEST.md), so that every engine's tests
// feed the same models the same kind of data.
//
// Each shared model has a recipe, looked up by the model file's base name:
// one entry per graph input giving the concrete shape (dynamic dimensions
// resolved to sizes the model accepts) and the range of values that matches
// what the model sees in use (pixel scale, audio scale, zeroed recurrent
// state, the sample rate as a constant). A model without a recipe gets its
// declared inputs, each dynamic dimension set to 1, floats uniform in [0, 1)
// and integers and booleans zero.
//
// Inputs always reads the model file and checks the recipe against the
// declared inputs (names, element types, ranks and static dimensions), so a
// recipe that drifts from its model is reported, not silently used.
package modelzoo

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Input says how to make one graph input.
type Input struct {
	// Name is the graph input's name.
	Name string
	// DType is its element type.
	DType tensor.DataType
	// Shape is the concrete shape to use (empty for a scalar).
	Shape []int
	// Lo and Hi bound the values: uniform in [Lo, Hi) for floating-point
	// types, uniform integers in [Lo, Hi] for integer types (both rounded
	// towards zero), and for booleans true with probability Hi. When
	// Lo == Hi every element is Lo.
	Lo, Hi float64
}

// Make returns a tensor for the input, filled from rng as described on
// Input. It returns an error for element types it cannot fill (strings,
// 16-bit and 8-bit floats, complex, 4-bit integers) or a negative
// dimension. None of the shared models takes those types.
func (in Input) Make(rng *rand.Rand) (*tensor.Tensor, error) {
	switch in.DType {
	case tensor.Float32, tensor.Float64, tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Uint16,
		tensor.Int32, tensor.Uint32, tensor.Int64, tensor.Uint64, tensor.Bool:
	default:
		return nil, fmt.Errorf("modelzoo: input %q: cannot fill element type %v", in.Name, in.DType)
	}
	for _, d := range in.Shape {
		if d < 0 {
			return nil, fmt.Errorf("modelzoo: input %q: negative dimension in shape %v", in.Name, in.Shape)
		}
	}
	t := tensor.New(in.DType, in.Shape...)
	span := in.Hi - in.Lo
	flt := func() float64 {
		if span == 0 {
			return in.Lo
		}
		return in.Lo + span*rng.Float64()
	}
	lo, hi := int64(in.Lo), int64(in.Hi)
	integer := func() int64 {
		if hi <= lo {
			return lo
		}
		return lo + rng.Int64N(hi-lo+1)
	}
	switch d := t.Data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(flt())
		}
	case []float64:
		for i := range d {
			d[i] = flt()
		}
	case []int8:
		fillInts(d, integer)
	case []uint8:
		fillInts(d, integer)
	case []int16:
		fillInts(d, integer)
	case []uint16:
		fillInts(d, integer)
	case []int32:
		fillInts(d, integer)
	case []uint32:
		fillInts(d, integer)
	case []int64:
		fillInts(d, integer)
	case []uint64:
		fillInts(d, integer)
	case []bool:
		for i := range d {
			if span == 0 {
				d[i] = in.Lo != 0
			} else {
				d[i] = rng.Float64() < in.Hi
			}
		}
	default:
		return nil, fmt.Errorf("modelzoo: input %q: cannot fill element type %v", in.Name, in.DType)
	}
	return t, nil
}

func fillInts[T int8 | uint8 | int16 | uint16 | int32 | uint32 | int64 | uint64](d []T, next func() int64) {
	for i := range d {
		d[i] = T(next())
	}
}

// Audio constants shared by the audio recipes.
const (
	sampleRate = 16000 // every shared audio model works at 16 kHz
	vadChunk   = 512   // Silero VAD's frame at 16 kHz (32 ms)
	owwChunk   = 1280  // openWakeWord's audio step (80 ms at 16 kHz)
)

// f32 is shorthand for a float32 input uniform in [lo, hi).
func f32(name string, lo, hi float64, shape ...int) Input {
	return Input{Name: name, DType: tensor.Float32, Shape: shape, Lo: lo, Hi: hi}
}

// recipes maps a shared model's file name to its inputs. Ranges follow each
// model's usual preprocessing; see the comments.
var recipes = map[string][]Input{
	// CNTK's MNIST takes raw pixel values.
	"mnist-8.onnx": {f32("Input3", 0, 255, 1, 1, 28, 28)},
	// onnx2c's PyTorch MLP and tiny CNN take pixels scaled to [0, 1].
	"mnist-mlp-bn-pytorch.onnx": {f32("network_input", 0, 1, 1, 784)},
	"mnist-14x14-cnn.onnx":      {f32("network_input", 0, 1, 1, 1, 14, 14)},
	// FastestDet divides pixels by 255.
	"fastestdet-coco-352.onnx": {f32("input", 0, 1, 1, 3, 352, 352)},
	// UltraFace maps pixels with (p-127)/128.
	"ultraface-rfb-320.onnx": {f32("input", -1, 1, 1, 3, 240, 320)},
	// PaddleOCR normalizes with (p/255-0.5)/0.5. The recogniser takes text
	// lines 48 pixels high, 320 wide; the classifier 48x192 crops.
	"ppocr-v4-rec.onnx":        {f32("x", -1, 1, 1, 3, 48, 320)},
	"ppocr-mobile-v2-cls.onnx": {f32("x", -1, 1, 1, 3, 48, 192)},
	// Silero VAD: one 512-sample frame of audio in [-1, 1], zeroed
	// recurrent state (as at the start of a stream), sample rate 16000.
	"silero-vad-v4.onnx": {
		f32("input", -0.5, 0.5, 1, vadChunk),
		{Name: "sr", DType: tensor.Int64, Lo: sampleRate, Hi: sampleRate},
		f32("h", 0, 0, 2, 1, 64),
		f32("c", 0, 0, 2, 1, 64),
	},
	"silero-vad-v5.onnx": {
		f32("input", -0.5, 0.5, 1, vadChunk),
		f32("state", 0, 0, 2, 1, 128),
		{Name: "sr", DType: tensor.Int64, Lo: sampleRate, Hi: sampleRate},
	},
	"silero-vad-op18-ifless.onnx": {
		f32("input", -0.5, 0.5, 1, vadChunk),
		{Name: "sr", DType: tensor.Int64, Lo: sampleRate, Hi: sampleRate},
		f32("state", 0, 0, 2, 1, 128),
	},
	// openWakeWord's mel front end takes 16-bit sample values unscaled
	// (int16 audio cast to float); 1280 samples give 5 mel frames.
	"oww-melspectrogram.onnx": {f32("input", -4000, 4000, 1, owwChunk)},
	// The embedding model takes 76 mel frames of 32 bands, NHWC, after
	// openWakeWord's x/10+2 rescaling of the mel output; on speech at
	// ordinary loudness that lands in about [4, 12].
	"oww-speech-embedding.onnx": {f32("input_1", 4, 12, 1, 76, 32, 1)},
	// The wake-word head takes 25 consecutive 96-feature embeddings; the
	// embedding model's outputs on speech lie mostly within [-20, 20].
	"oww-hello-deepa.onnx": {f32("onnx::Flatten_0", -20, 20, 1, 25, 96)},
	// BlazeFace takes RGB scaled to [-1, 1], NHWC.
	"blazeface-front-128-nhwc.onnx": {f32("input:0", -1, 1, 1, 128, 128, 3)},
	// M-LSD takes RGB plus a constant alpha channel, all mapped with
	// p/127.5-1, NHWC.
	"mlsd-tiny-320-nhwc.onnx": {f32("input_image_with_alpha:0", -1, 1, 1, 320, 320, 4)},
	// GRU regressor: a 10-step sequence of 4 normalized sensor readings and
	// one normalized set point.
	"gru-gemm-ndm.onnx": {
		f32("sensor_input", 0, 1, 1, 10, 4),
		f32("setpoint_input", 0, 1, 1, 1),
	},
}

// Known reports whether modelFile (by base name) has a recipe.
func Known(modelFile string) bool {
	_, ok := recipes[filepath.Base(modelFile)]
	return ok
}

// Recipe returns the inputs to make for the model file: its recipe when the
// base name is a shared model's, else its declared inputs with dynamic
// dimensions set to 1, floats in [0, 1) and other types zero. It reads the
// model to check the recipe against the declared inputs.
func Recipe(modelFile string) ([]Input, error) {
	decl, err := readDeclared(modelFile)
	if err != nil {
		return nil, err
	}
	recipe, ok := recipes[filepath.Base(modelFile)]
	if !ok {
		return fromDeclared(decl), nil
	}
	if err := checkRecipe(recipe, decl); err != nil {
		return nil, fmt.Errorf("modelzoo: %s: recipe does not fit the model: %w", modelFile, err)
	}
	out := make([]Input, len(recipe))
	for i, in := range recipe {
		in.Shape = slices.Clone(in.Shape)
		out[i] = in
	}
	return out, nil
}

// Inputs returns a tensor for every input of the model file, made from
// Recipe's descriptions with values drawn from rng.
func Inputs(modelFile string, rng *rand.Rand) (map[string]*tensor.Tensor, error) {
	recipe, err := Recipe(modelFile)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*tensor.Tensor, len(recipe))
	for _, in := range recipe {
		t, err := in.Make(rng)
		if err != nil {
			return nil, fmt.Errorf("modelzoo: %s: %w", modelFile, err)
		}
		out[in.Name] = t
	}
	return out, nil
}

// declaredInput is a graph input as the model declares it: dims holds -1
// for every dynamic dimension.
type declaredInput struct {
	name  string
	dtype tensor.DataType
	dims  []int
	known bool // whether the model declares a shape at all
}

// DeclaredInputs reads the model file and returns its graph inputs that are
// not initializers, in graph order, with dynamic dimensions set to 1 (and no
// dimensions when the model declares no shape), floats in [0, 1) and other
// element types zero. It ignores any recipe.
func DeclaredInputs(modelFile string) ([]Input, error) {
	decl, err := readDeclared(modelFile)
	if err != nil {
		return nil, err
	}
	return fromDeclared(decl), nil
}

func fromDeclared(decl []declaredInput) []Input {
	out := make([]Input, len(decl))
	for i, d := range decl {
		in := Input{Name: d.name, DType: d.dtype, Shape: make([]int, len(d.dims))}
		for j, n := range d.dims {
			in.Shape[j] = max(n, 1)
		}
		if d.dtype.IsFloat() {
			in.Hi = 1
		}
		out[i] = in
	}
	return out
}

func readDeclared(modelFile string) ([]declaredInput, error) {
	b, err := os.ReadFile(modelFile)
	if err != nil {
		return nil, fmt.Errorf("modelzoo: %w", err)
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("modelzoo: %s: decoding model: %w", modelFile, err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("modelzoo: %s: model has no graph", modelFile)
	}
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, t := range g.GetSparseInitializer() {
		inits[t.GetValues().GetName()] = true
	}
	var out []declaredInput
	for _, vi := range g.GetInput() {
		if inits[vi.GetName()] {
			continue
		}
		tt := vi.GetType().GetTensorType()
		if tt == nil {
			return nil, fmt.Errorf("modelzoo: %s: input %q is not a tensor", modelFile, vi.GetName())
		}
		d := declaredInput{name: vi.GetName(), dtype: tensor.DataType(tt.GetElemType())}
		if sh := tt.GetShape(); sh != nil {
			d.known = true
			d.dims = make([]int, len(sh.GetDim()))
			for j, dim := range sh.GetDim() {
				if v, ok := dim.GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok && v.DimValue >= 0 {
					d.dims[j] = int(v.DimValue)
				} else {
					d.dims[j] = -1
				}
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// checkRecipe reports the first disagreement between a recipe and the
// model's declared inputs: a missing or extra name, another element type,
// another rank, or a static dimension the recipe changes.
func checkRecipe(recipe []Input, decl []declaredInput) error {
	for _, r := range recipe {
		if !slices.ContainsFunc(decl, func(d declaredInput) bool { return d.name == r.Name }) {
			return fmt.Errorf("recipe input %q is not a model input (model: %s)", r.Name, declNames(decl))
		}
	}
	for _, d := range decl {
		i := slices.IndexFunc(recipe, func(r Input) bool { return r.Name == d.name })
		if i < 0 {
			return fmt.Errorf("model input %q has no recipe (recipe: %s)", d.name, names(recipe))
		}
		r := recipe[i]
		if r.DType != d.dtype {
			return fmt.Errorf("input %q: recipe says %v, model %v", d.name, r.DType, d.dtype)
		}
		if !d.known {
			continue
		}
		if len(r.Shape) != len(d.dims) {
			return fmt.Errorf("input %q: recipe shape %v, model rank %d", d.name, r.Shape, len(d.dims))
		}
		for j, n := range d.dims {
			if n >= 0 && r.Shape[j] != n {
				return fmt.Errorf("input %q: recipe shape %v, model dimension %d is %d", d.name, r.Shape, j, n)
			}
		}
	}
	return nil
}

func declNames(decl []declaredInput) string {
	s := make([]string, len(decl))
	for i, d := range decl {
		s[i] = fmt.Sprintf("%q", d.name)
	}
	return strings.Join(s, ", ")
}

func names(ins []Input) string {
	s := make([]string, len(ins))
	for i, in := range ins {
		s[i] = fmt.Sprintf("%q", in.Name)
	}
	return strings.Join(s, ", ")
}
