// Package opset upgrades the default-domain (ai.onnx) operator set version
// of an ONNX model without changing what the model computes.
//
// Raising the version number alone is not enough: between versions some
// operators moved attributes to inputs (Reshape's shape at 5, Slice's
// starts/ends/axes at 10, Pad and Clip at 11, Dropout's ratio at 12,
// Squeeze/Unsqueeze/ReduceSum/Split at 13, the other Reduce operators at
// 18), changed meaning (Softmax, LogSoftmax and Hardmax at 13, legacy
// broadcasting at 7), or were replaced (Upsample by Resize at 10, Scatter by
// ScatterElements at 11). Upgrade walks every node, subgraphs included, and
// applies, for each version of the node's operator between the model's
// version and the target, the conversion that version needs, or refuses
// with an *Error naming the node, operator, versions and reason when no
// conversion keeps the results.
//
// The table in table.go lists, for every ai.onnx operator up to MaxVersion,
// each version at which its schema changed and how a node crosses it. It
// was drawn from ONNX's operator changelog and schema definitions
// (docs/Changelog.md, onnx/defs/operator_sets.h) and from the
// compatibility classification ONNX's own version converter registers for
// each step; operators missing from it are refused, never guessed.
package opset
