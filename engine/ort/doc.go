// Package ort runs ONNX models in ONNX Runtime, onnxquant's optional reference
// engine, through the github.com/yalue/onnxruntime_go binding.
//
// The package needs cgo and the ONNX Runtime shared library at run time; the
// library is not linked in but loaded with dlopen when the first session is
// made. LibraryPath says where it is looked for; scripts/setup-onnxruntime.sh
// installs the pinned build under .cache/onnxruntime in the repository. When
// built without cgo the package is empty, so the rest of onnxquant builds and
// works without ONNX Runtime.
//
// A Session holds one loaded model. Its Run takes and returns onnxquant
// tensors (package tensor) by name, with any shapes the model accepts; every
// value handed to or received from ONNX Runtime is copied, so the caller
// never sees memory owned by the binding.
package ort
