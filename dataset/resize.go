package dataset

import (
	"fmt"
	"math"
)

// Interp chooses how pixels are resampled when an image is resized.
type Interp int

const (
	// Bilinear weights source pixels with a triangle (tent) function of
	// their distance from the output pixel's centre. When downscaling by a
	// factor f > 1 the tent is widened f times, so every source pixel
	// contributes (antialiasing, as Pillow's and torchvision's bilinear
	// resize do); when upscaling it is ordinary two-tap bilinear
	// interpolation with half-pixel centres. Source pixels beyond the edge
	// are left out and the remaining weights renormalized.
	Bilinear Interp = iota
	// BilinearNoAntialias always interpolates between the two nearest
	// source pixels (half-pixel centres, edge pixels repeated), as OpenCV's
	// INTER_LINEAR and ONNX Resize (linear, half_pixel) do. Downscaling by
	// large factors skips pixels and aliases.
	BilinearNoAntialias
	// Area averages the source pixels under each output pixel's footprint,
	// weighting partly covered pixels by the covered fraction (OpenCV's
	// INTER_AREA when downscaling).
	Area
)

// String returns the filter's name.
func (m Interp) String() string {
	switch m {
	case Bilinear:
		return "bilinear"
	case BilinearNoAntialias:
		return "bilinear-no-antialias"
	case Area:
		return "area"
	}
	return fmt.Sprintf("Interp(%d)", int(m))
}

// axisTaps holds, for each output position along one axis, the first source
// index it reads and the weights of consecutive source pixels from there.
type axisTaps struct {
	start   []int
	weights [][]float32
}

// tent is the triangle function max(0, 1-|x|).
func tent(x float64) float64 {
	x = math.Abs(x)
	if x >= 1 {
		return 0
	}
	return 1 - x
}

// makeTaps computes the resampling weights along an axis of n source
// pixels that is scaled to length scaled (scale = scaled/n) and then cropped
// to the out positions starting at offset off in the scaled axis. Output
// position i covers [(i+off)/scale, (i+off+1)/scale) in source
// coordinates, where source pixel j spans [j, j+1).
func makeTaps(n, scaled, off, out int, interp Interp) axisTaps {
	scale := float64(scaled) / float64(n)
	t := axisTaps{start: make([]int, out), weights: make([][]float32, out)}
	for i := 0; i < out; i++ {
		centre := (float64(i+off) + 0.5) / scale
		var lo int
		var w []float64
		switch interp {
		case BilinearNoAntialias:
			x := min(max(centre-0.5, 0), float64(n-1))
			j := int(math.Floor(x))
			f := x - float64(j)
			if j >= n-1 || f == 0 {
				lo, w = j, []float64{1}
			} else {
				lo, w = j, []float64{1 - f, f}
			}
		case Area:
			a := max(float64(i+off)/scale, 0)
			b := min(float64(i+off+1)/scale, float64(n))
			lo = min(int(math.Floor(a)), n-1)
			hi := max(int(math.Ceil(b)), lo+1)
			for j := lo; j < hi; j++ {
				w = append(w, max(min(b, float64(j+1))-max(a, float64(j)), 0))
			}
		default: // Bilinear
			support := max(1/scale, 1)
			lo = max(int(math.Floor(centre-support)), 0)
			hi := min(int(math.Ceil(centre+support)), n)
			for j := lo; j < hi; j++ {
				w = append(w, tent((float64(j)+0.5-centre)/support))
			}
		}
		// Trim zero weights at both ends, then normalize.
		for len(w) > 1 && w[0] == 0 {
			w = w[1:]
			lo++
		}
		for len(w) > 1 && w[len(w)-1] == 0 {
			w = w[:len(w)-1]
		}
		sum := 0.0
		for _, v := range w {
			sum += v
		}
		ws := make([]float32, len(w))
		for k, v := range w {
			if sum > 0 {
				ws[k] = float32(v / sum)
			} else {
				ws[k] = float32(1 / float64(len(w)))
			}
		}
		t.start[i], t.weights[i] = lo, ws
	}
	return t
}

// resample resizes the interleaved 8-bit image src (h rows of w pixels of c
// channels) through the given horizontal and vertical taps into a float32
// image of len(xt.start) x len(yt.start) pixels, interleaved, values in
// 0..255.
func resample(src []uint8, w, h, c int, xt, yt axisTaps) []float32 {
	outW, outH := len(xt.start), len(yt.start)
	// Only the source rows some output row reads need the horizontal pass.
	rowLo, rowHi := h, 0
	for i := range yt.start {
		rowLo = min(rowLo, yt.start[i])
		rowHi = max(rowHi, yt.start[i]+len(yt.weights[i]))
	}
	tmp := make([]float32, (rowHi-rowLo)*outW*c)
	for y := rowLo; y < rowHi; y++ {
		srow := src[y*w*c : (y+1)*w*c]
		trow := tmp[(y-rowLo)*outW*c : (y-rowLo+1)*outW*c]
		for x := 0; x < outW; x++ {
			base := xt.start[x] * c
			for ch := 0; ch < c; ch++ {
				var acc float32
				for k, wt := range xt.weights[x] {
					acc += wt * float32(srow[base+k*c+ch])
				}
				trow[x*c+ch] = acc
			}
		}
	}
	out := make([]float32, outH*outW*c)
	stride := outW * c
	for y := 0; y < outH; y++ {
		orow := out[y*stride : (y+1)*stride]
		for k, wt := range yt.weights[y] {
			trow := tmp[(yt.start[y]+k-rowLo)*stride : (yt.start[y]+k-rowLo+1)*stride]
			for i, v := range trow {
				orow[i] += wt * v
			}
		}
	}
	return out
}

// ResizeGray resizes a w x h 8-bit single-channel image (row-major) to
// outW x outH by stretching with the given interpolation and returns the
// float values (0..255). It exposes the resampler the image readers use, for
// tests and for callers preprocessing their own pixels.
func ResizeGray(src []uint8, w, h, outW, outH int, interp Interp) ([]float32, error) {
	if w <= 0 || h <= 0 || outW <= 0 || outH <= 0 || len(src) != w*h {
		return nil, fmt.Errorf("dataset: ResizeGray: bad sizes: %d pixels for %dx%d to %dx%d", len(src), w, h, outW, outH)
	}
	return resample(src, w, h, 1, makeTaps(w, outW, 0, outW, interp), makeTaps(h, outH, 0, outH, interp)), nil
}
