package modelzoo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"

	"github.com/onnxquant/onnxquant/dataset"
	"github.com/onnxquant/onnxquant/tensor"
)

// realImage says which shared photo feeds a vision model and how it is
// preprocessed (each model's own convention; see the recipes).
type realImage struct {
	photo string
	opts  dataset.ImageOptions
}

var (
	half = []float32{0.5, 0.5, 0.5, 0.5}
)

var realImages = map[string]realImage{
	"fastestdet-coco-352.onnx": {"wolves.jpg", dataset.ImageOptions{Input: "input", Height: 352, Width: 352, Resize: dataset.Stretch}},
	"ultraface-rfb-320.onnx": {"kimono.jpg", dataset.ImageOptions{Input: "input", Height: 240, Width: 320, Resize: dataset.Stretch,
		Range: dataset.Byte, Mean: []float32{127, 127, 127}, Std: []float32{128, 128, 128}}},
	"blazeface-front-128-nhwc.onnx": {"kimono.jpg", dataset.ImageOptions{Input: "input:0", Layout: dataset.NHWC, Height: 128, Width: 128,
		Resize: dataset.ResizeCrop, Mean: half[:3], Std: half[:3]}},
	"mlsd-tiny-320-nhwc.onnx": {"bus.jpg", dataset.ImageOptions{Input: "input_image_with_alpha:0", Layout: dataset.NHWC, Height: 320, Width: 320,
		Channels: 4, Resize: dataset.Stretch, Mean: half, Std: half}},
	"ppocr-mobile-v2-cls.onnx": {"exceltable.png", dataset.ImageOptions{Input: "x", Height: 48, Width: 192, Resize: dataset.Stretch, Mean: half[:3], Std: half[:3]}},
	"ppocr-v4-rec.onnx":        {"exceltable.png", dataset.ImageOptions{Input: "x", Height: 48, Width: 320, Resize: dataset.Stretch, Mean: half[:3], Std: half[:3]}},
}

// realAudio says how a shared audio model takes the shared speech clip.
var realAudio = map[string]dataset.AudioOptions{
	"silero-vad-v4.onnx":          {Input: "input", Window: vadChunk},
	"silero-vad-v5.onnx":          {Input: "input", Window: vadChunk},
	"silero-vad-op18-ifless.onnx": {Input: "input", Window: vadChunk},
	"oww-melspectrogram.onnx":     {Input: "input", Window: owwChunk, Int16Scale: true},
}

// RealInputs returns inputs made from the shared test data (testdata is the
// shared testdata folder) for the models that take images, digits or
// audio: a photo preprocessed as the model expects, the first MNIST digit,
// or a window of speech from the middle of the LibriSpeech clip, with the
// model's other inputs (recurrent state, sample rate) from its recipe. ok
// is false for a model without real data; use Inputs for those.
func RealInputs(modelFile, testdata string) (in map[string]*tensor.Tensor, ok bool, err error) {
	base := filepath.Base(modelFile)
	ctx := context.Background()
	var r dataset.Reader
	switch {
	case realImages[base].photo != "":
		ri := realImages[base]
		r, err = dataset.ImageFiles([]string{filepath.Join(testdata, "images", "photos", ri.photo)}, ri.opts)
	case base == "mnist-8.onnx":
		r, err = dataset.MNISTDigits(filepath.Join(testdata, "mnist", "digits"), dataset.MNISTOptions{Input: "Input3", Scale: 255})
	case realAudio[base].Input != "":
		o := realAudio[base]
		o.Extra = map[string]*tensor.Tensor{}
		recipe, rerr := Recipe(modelFile)
		if rerr != nil {
			return nil, false, rerr
		}
		rng := rand.New(rand.NewPCG(1, 1))
		for _, inp := range recipe {
			if inp.Name == o.Input {
				continue
			}
			t, merr := inp.Make(rng)
			if merr != nil {
				return nil, false, merr
			}
			o.Extra[inp.Name] = t
		}
		r, err = dataset.AudioWindows([]string{filepath.Join(testdata, "audio", "librispeech-1272-141231-0002-16k.wav")}, o)
		if err == nil {
			// Speech, not the leading silence: skip 1.5 s.
			r = dataset.Skip(r, 24000/max(o.Window, 1))
		}
	default:
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("modelzoo: %s: %w", base, err)
	}
	defer r.Close()
	s, err := r.Next(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("modelzoo: %s: reading real data: %w", base, err)
	}
	return s.Inputs, true, nil
}
