// Package onnx holds the ONNX model schema as Go types (generated from
// onnx.proto into onnx.pb.go) and reads and writes model files.
//
// Reading: [Decode] parses the bytes of a model; [Load] and [LoadWithOptions]
// read a file, decode it, bring the data of external tensors into memory
// ([ResolveExternalData]) and check the result ([Validate]). Fields this
// version of the schema does not know are kept and written back unchanged.
//
// Writing: [Save] marshals a model deterministically and replaces the output
// file atomically (temporary file in the same folder, fsync, rename). A model
// loaded and saved unmodified gives back the same bytes. Large tensors can be
// written to an external data file beside the model, either above a size
// threshold chosen by the caller or automatically when the model would not
// fit in protobuf's 2 GiB message limit.
//
// External data follows the ONNX convention: a TensorProto whose
// data_location is EXTERNAL carries external_data entries "location" (a
// path relative to the model's folder, '/'-separated), "offset" and "length"
// (decimal byte counts); the bytes at that place are the tensor's raw_data.
// Locations that are absolute or that lead outside the model's folder,
// lexically or through symbolic links, are refused.
package onnx
