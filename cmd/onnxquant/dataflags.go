package main

import (
	"flag"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/dataset"
)

// dataFlags say how samples become model inputs: how many, and for images
// the size, layout, scaling and normalization. calibrate, quantize
// --calibrate, eval and debug share them.
type dataFlags struct {
	samples, skip, batch                   int
	layout, size, mean, std, resize, input string
	scale                                  float64
	bgr, skipBad                           bool
}

// register defines the flags on fs; samplesHelp and skipBadHelp word those
// two for the command.
func (d *dataFlags) register(fs *flag.FlagSet, samplesHelp, skipBadHelp string) {
	fs.IntVar(&d.samples, "samples", 0, samplesHelp)
	fs.IntVar(&d.skip, "skip", 0, "skip the first N samples")
	fs.IntVar(&d.batch, "batch", 0, "images per model run (the model's batch size by default)")
	fs.StringVar(&d.layout, "layout", "", "image layout: nchw or nhwc (default: from the model)")
	fs.StringVar(&d.size, "size", "", "image size H,W (default: from the model)")
	fs.StringVar(&d.mean, "mean", "", "per-channel mean subtracted after scaling: r,g,b (or one value)")
	fs.StringVar(&d.std, "std", "", "per-channel standard deviation divided by: r,g,b (or one value)")
	fs.Float64Var(&d.scale, "scale", 1, "pixel scale: 1 (values 0..1) or 255 (values 0..255); MNIST digits are multiplied by it")
	fs.BoolVar(&d.bgr, "bgr", false, "BGR channel order")
	fs.StringVar(&d.resize, "resize", "crop", "image resize: crop (shorter side, then centre crop) or stretch")
	fs.StringVar(&d.input, "input", "", "the model input the data feeds (default: chosen from the model)")
	fs.BoolVar(&d.skipBad, "skip-bad", false, skipBadHelp)
}

// check validates the flags that need no model.
func (d *dataFlags) check() error {
	if d.scale != 1 && d.scale != 255 {
		return usagef("--scale %g: want 1 or 255", d.scale)
	}
	if d.resize != "crop" && d.resize != "stretch" {
		return usagef("--resize %q: want crop or stretch", d.resize)
	}
	switch strings.ToLower(d.layout) {
	case "", "nchw", "nhwc":
	default:
		return usagef("--layout %q: want nchw or nhwc", d.layout)
	}
	if d.samples < 0 || d.skip < 0 || d.batch < 0 {
		return usagef("--samples, --skip and --batch cannot be negative")
	}
	_, err := d.options()
	return err
}

// options turns the flags into dataset options (labels excepted).
func (d *dataFlags) options() (dataset.Options, error) {
	var o dataset.Options
	im := &o.Image
	im.Input, o.MNIST.Input, o.Audio.Input = d.input, d.input, d.input
	switch strings.ToLower(d.layout) {
	case "nchw":
		im.Layout = dataset.NCHW
	case "nhwc":
		im.Layout = dataset.NHWC
	}
	if d.size != "" {
		hw := strings.Split(d.size, ",")
		var h, w int
		var err1, err2 error
		if len(hw) == 2 {
			h, err1 = strconv.Atoi(strings.TrimSpace(hw[0]))
			w, err2 = strconv.Atoi(strings.TrimSpace(hw[1]))
		}
		if len(hw) != 2 || err1 != nil || err2 != nil || h <= 0 || w <= 0 {
			return o, usagef("--size %q: want H,W", d.size)
		}
		im.Height, im.Width = h, w
	}
	var err error
	if im.Mean, err = parseFloats("mean", d.mean); err != nil {
		return o, err
	}
	if im.Std, err = parseFloats("std", d.std); err != nil {
		return o, err
	}
	for _, s := range im.Std {
		if s == 0 {
			return o, usagef("--std %q: a standard deviation of 0", d.std)
		}
	}
	if d.scale == 255 {
		im.Range = dataset.Byte
		o.MNIST.Scale = 255
	}
	if d.bgr {
		im.Order = dataset.BGR
	}
	if d.resize == "stretch" {
		im.Resize = dataset.Stretch
	}
	im.Batch, im.SkipBad = d.batch, d.skipBad
	return o, nil
}

// parseFloats reads a comma-separated list of numbers given to --flagName.
func parseFloats(flagName, s string) ([]float32, error) {
	if s == "" {
		return nil, nil
	}
	var out []float32
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 32)
		if err != nil {
			return nil, usagef("--%s %q: want comma-separated numbers", flagName, s)
		}
		out = append(out, float32(v))
	}
	return out, nil
}
