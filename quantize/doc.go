// Package quantize rewrites a float32 ONNX model into an 8-bit one.
//
// The arithmetic (this file's neighbours params.go and weights.go) follows
// the field's formulas: real = scale * (q - zero_point), the range widened to
// include zero so that real zero is exact, rounding half to even, biases in
// int32 with scale input_scale * weight_scale.
package quantize
