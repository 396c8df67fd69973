// Package calibrate finds the activation ranges that static quantization
// needs by running representative data through the float model.
//
// Each tensor the quantizer asks for (quantize.TensorsToCalibrate) gets a
// Collector, and every value a run produces for it is folded into that
// collector as soon as it exists: on the pure-Go engine through the
// engine's observer, on the goroutine running the model, before the
// tensor's buffer is reused. Nothing is kept between samples but the
// collectors, so memory does not grow with the data: it is one inference
// plus a fixed amount per tensor (a few dozen bytes for MinMax, 64 KiB for
// a histogram with the default 2048 bins). ONNX Runtime can run the model
// instead (Options.Engine "ort", cgo builds only): calibration then writes
// the reference tool's augmented model, a ReduceMin and a ReduceMax output
// per tensor (MinMax) or the tensors themselves as extra outputs (the
// histogram methods), and folds what each run returns.
//
// # Methods
//
//   - MinMax: the smallest and largest value seen; with MovingAverage, the
//     per-sample minimum and maximum are averaged as old + c*(new-old)
//     (c = 0.01 by default), as the reference tool does.
//   - Entropy: the TensorRT method. A histogram of |x| with at least Bins
//     (2048) bins over [0, max|x|]; for every candidate threshold of i bins
//     (QuantizedLevels = 128 <= i <= all bins) the clipped distribution P
//     (the bins above the threshold added to the last one) is compared with
//     its quantization Q to QuantizedLevels levels (the unclipped counts of
//     each level spread evenly over the level's non-empty bins of P), and
//     the threshold with the smallest KL divergence KL(P||Q) wins. Bins of
//     P that Q leaves empty make a candidate's divergence infinite (no
//     smoothing). The range is [-t, t] clamped to the observed [min, max].
//   - Percentile: the p-th percentile (99.999 by default) of |x|, giving
//     [-t, t] clamped to [min, max] (Symmetric), or cuts of (100-p)/2
//     percent from each tail of the signed values. Each cut is taken at the
//     outer edge of the histogram bin where it falls (at most one bin wider
//     than the exact percentile, never narrower), as the reference tool
//     does with its bin edges.
//
// # Histograms whose range grows
//
// Entropy and Percentile cannot know the range before they see the data,
// and the range must not depend on the order in which data arrives, or
// shards calibrated apart could not be merged into the result of one run.
// A Histogram therefore counts magnitudes in 2*Bins bins per sign over
// [0, 2^e), e being the smallest integer with max|x| < 2^e. When a later
// tensor reaches 2^e, e grows and each bin k moves to bin k>>s (s the
// growth in e): doubling the range merges bin pairs, so no count is lost.
// Bin edges are powers-of-two fractions, so the bin of a value is exact
// and the counts after any sequence of tensors, or after merging shards,
// are exactly those of one pass over all the data. Since max|x| lies in
// [2^(e-1), 2^e), it spans between Bins and 2*Bins bins: never fewer than
// TensorRT's 2048. Each tensor costs two passes over its values (range,
// then counts) with no allocation.
//
// NaN and infinite values are counted per tensor and left out of every
// statistic; Result.Warnings says how many and in which tensors.
//
// # Files
//
// WriteFile writes a Result as onnxquant's calibration file
// (quantize.CalibrationFormat), which `onnxquant quantize --params` reads:
// per tensor the chosen min and max, the scale and zero point for the
// requested types, the observed range and a histogram summary, and with
// FileOptions.Stats the raw statistics that ReadFile and Merge need to
// combine shards calibrated on several machines.
package calibrate
