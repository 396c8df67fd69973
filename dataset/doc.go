// Package dataset streams real data into models: the samples that
// calibration, evaluation and tests feed to an ONNX model, one at a time.
//
// A Reader yields Samples (named input tensors plus an optional class label)
// until io.EOF. Readers are cheap to create and are not safe for concurrent
// use; to read a data set again, open a new Reader (a Source does that).
// Readers whose sample count is known without reading the data also
// implement Sized.
//
// Built-in readers:
//
//   - ImageFolder / ImageFS: JPEG and PNG files of a folder, decoded,
//     resized ("resize-crop" or "stretch" with antialiased bilinear, plain
//     bilinear or area filtering), normalized and laid out as NCHW or NHWC,
//     optionally batched. ImageDefaults reads layout, size and channels
//     from a model input.
//   - TestData: ONNX test-data folders (test_data_set_*/input_N.pb).
//   - NpyDir: one folder per sample holding INPUTNAME.npy per input.
//   - Npz: .npz archives, one per sample, or one archive whose arrays carry
//     a leading sample axis (see Npz).
//   - FromTensors: a fixed list of samples.
//   - MNISTDigits: the shared MNIST digits JSON files, interleaved by class.
//   - AudioWindows: 16-bit PCM WAV files cut into fixed windows (ReadWAV
//     reads one file).
//
// Open picks the reader for a path by looking at what it holds. Limit, Skip
// and WithLabels wrap any Reader; LabelsFromImageNames and LabelsFromFile
// build the label look-ups.
package dataset
