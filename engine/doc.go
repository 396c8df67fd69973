// Package engine is onnxquant's pure-Go inference engine: it runs an ONNX
// model on tensors with no cgo and nothing installed.
//
// New prepares a Session once: it orders the nodes, builds one kernel per
// node (refusing, in one error, every node whose operator, domain, opset
// version or attribute it does not implement), folds the nodes whose inputs
// are all constant, and plans when each intermediate tensor can be released.
// Run then executes the model; it is safe to call from several goroutines.
//
// An Observer sees every tensor a run produces at the moment it is produced,
// before it is released: calibration folds activations into statistics
// through it without keeping them.
package engine
