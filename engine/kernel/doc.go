// Package kernel holds the pure-Go engine's operator kernels and the registry
// that maps an ONNX operator (domain, op type, opset version) to the code that
// runs it.
//
// A kernel is built once per node, when a session is prepared: its Builder
// reads and checks the node's attributes (through Node's typed accessors),
// may pre-pack constant inputs such as weights, and returns a Kernel that is
// then run on every inference. Attributes a builder does not read make the
// node unsupported, so a model is never run with an attribute silently
// ignored.
//
// Files are grouped by operator family (elementwise.go, conv.go, ...); each
// registers its operators from an init function.
package kernel
