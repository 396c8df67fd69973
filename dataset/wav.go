package dataset

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/onnxquant/onnxquant/tensor"
)

// ReadWAV reads a RIFF WAVE file of 16-bit PCM audio, mono or with more
// channels (averaged to mono), and returns the samples scaled to [-1, 1)
// (the int16 value / 32768) and the sample rate. WAVE_FORMAT_EXTENSIBLE
// files with a PCM subformat are accepted; compressed, float, 8-, 24- and
// 32-bit files are errors naming the file.
func ReadWAV(path string) ([]float32, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	samples, rate, err := readWAV(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return nil, 0, fmt.Errorf("dataset: %s: %w", path, err)
	}
	return samples, rate, nil
}

func readWAV(r io.Reader) ([]float32, int, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("not a WAV file: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, errors.New("not a RIFF WAVE file")
	}
	var channels, bits, format int
	rate := 0
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil, 0, errors.New("no data chunk")
			}
			return nil, 0, fmt.Errorf("reading chunk header: %w", err)
		}
		id := string(ch[0:4])
		size := int64(binary.LittleEndian.Uint32(ch[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > 1<<16 {
				return nil, 0, fmt.Errorf("fmt chunk of %d bytes", size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, 0, fmt.Errorf("reading fmt chunk: %w", err)
			}
			format = int(binary.LittleEndian.Uint16(b[0:2]))
			channels = int(binary.LittleEndian.Uint16(b[2:4]))
			rate = int(binary.LittleEndian.Uint32(b[4:8]))
			bits = int(binary.LittleEndian.Uint16(b[14:16]))
			if format == 0xFFFE && size >= 40 {
				// WAVE_FORMAT_EXTENSIBLE: the subformat GUID starts with
				// the format code.
				format = int(binary.LittleEndian.Uint16(b[24:26]))
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, 0, errors.New("data chunk before fmt chunk")
			}
			if format != 1 || bits != 16 {
				return nil, 0, fmt.Errorf("format %d with %d bits per sample: only 16-bit PCM (format 1) is read", format, bits)
			}
			if channels < 1 || rate <= 0 {
				return nil, 0, fmt.Errorf("%d channels at %d Hz", channels, rate)
			}
			return readPCM16(r, size, channels, rate)
		default:
			if _, err := io.CopyN(io.Discard, r, size+size%2); err != nil {
				return nil, 0, fmt.Errorf("skipping %q chunk: %w", id, err)
			}
		}
	}
}

// readPCM16 reads size bytes of interleaved 16-bit frames, averaging the
// channels. Some writers leave the data size 0 or too large for a stream:
// the data then runs to the end of the file.
func readPCM16(r io.Reader, size int64, channels, rate int) ([]float32, int, error) {
	frame := 2 * channels
	var data []byte
	var err error
	if size == 0 || size == 0xFFFFFFFF {
		data, err = io.ReadAll(r)
	} else {
		data, err = io.ReadAll(io.LimitReader(r, size))
	}
	if err != nil {
		return nil, 0, fmt.Errorf("reading data chunk: %w", err)
	}
	n := len(data) / frame // a trailing partial frame is dropped
	out := make([]float32, n)
	for i := 0; i < n; i++ {
		sum := 0
		for c := 0; c < channels; c++ {
			sum += int(int16(binary.LittleEndian.Uint16(data[i*frame+2*c:])))
		}
		out[i] = float32(sum) / float32(channels) / 32768
	}
	return out, rate, nil
}

// AudioOptions says how audio becomes windows for one input.
type AudioOptions struct {
	// Input is the graph input the windows feed (required).
	Input string
	// Window is the number of samples per window (required), Hop the
	// distance between window starts (0 means Window: no overlap).
	Window, Hop int
	// Rate is the sample rate the model takes: 0 means 16000. A file at an
	// integer multiple of it is decimated by averaging each group of
	// samples; any other rate is an error naming the file.
	Rate int
	// Int16Scale gives samples as int16 values (-32768..32767, as float)
	// rather than in [-1, 1): openWakeWord's mel front end takes that.
	Int16Scale bool
	// Shape of each window's tensor: nil means [1, Window].
	Shape []int
	// DType of the tensor: Float32 when Undefined; other float types take
	// the values converted.
	DType tensor.DataType
	// PadLast zero-pads a last partial window instead of dropping it.
	PadLast bool
	// Extra holds inputs fed unchanged with every window (a sample-rate
	// scalar, a zeroed recurrent state, ...).
	Extra map[string]*tensor.Tensor
}

// AudioReader streams fixed windows of WAV files, one file in memory at a
// time.
type AudioReader struct {
	opts  AudioOptions
	files []string
	next  int // next file
	cur   []float32
	name  string
	pos   int // next window start in cur
	index int // window index within the current file
}

// AudioWindows returns a reader that cuts the WAV files (in the order
// given) into windows of opts.Window samples every opts.Hop samples, one
// sample per window named "FILE@START" (START in samples).
func AudioWindows(paths []string, opts AudioOptions) (*AudioReader, error) {
	if opts.Input == "" {
		return nil, errors.New("dataset: AudioOptions.Input (the input name) is empty")
	}
	if opts.Window <= 0 {
		return nil, fmt.Errorf("dataset: input %q: audio window of %d samples", opts.Input, opts.Window)
	}
	if opts.Hop == 0 {
		opts.Hop = opts.Window
	}
	if opts.Hop < 0 {
		return nil, fmt.Errorf("dataset: input %q: negative hop %d", opts.Input, opts.Hop)
	}
	if opts.Rate == 0 {
		opts.Rate = 16000
	}
	if opts.Shape == nil {
		opts.Shape = []int{1, opts.Window}
	}
	if tensor.NumElements(opts.Shape) != opts.Window || len(opts.Shape) == 0 {
		return nil, fmt.Errorf("dataset: input %q: shape %v does not hold a %d-sample window", opts.Input, opts.Shape, opts.Window)
	}
	if opts.DType == tensor.Undefined {
		opts.DType = tensor.Float32
	}
	if !opts.DType.IsFloat() || !opts.DType.Supported() {
		return nil, fmt.Errorf("dataset: input %q: audio windows are written as floats, not %v", opts.Input, opts.DType)
	}
	if len(paths) == 0 {
		return nil, errors.New("dataset: AudioWindows: no files")
	}
	return &AudioReader{opts: opts, files: append([]string(nil), paths...)}, nil
}

// Close makes later Next calls return io.EOF.
func (r *AudioReader) Close() error {
	r.next = len(r.files)
	r.cur = nil
	return nil
}

// Next returns the next window, reading the next file when needed.
func (r *AudioReader) Next(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	o := r.opts
	for {
		if r.cur != nil && (r.pos+o.Window <= len(r.cur) || (o.PadLast && r.pos < len(r.cur) && (r.index == 0 || r.pos+o.Window-o.Hop < len(r.cur)))) {
			break
		}
		if r.next >= len(r.files) {
			return Sample{}, io.EOF
		}
		p := r.files[r.next]
		r.next++
		samples, rate, err := ReadWAV(p)
		if err != nil {
			return Sample{}, err
		}
		if samples, err = decimate(samples, rate, o.Rate); err != nil {
			return Sample{}, fmt.Errorf("dataset: %s: %w", p, err)
		}
		r.cur, r.name, r.pos, r.index = samples, filepath.Base(p), 0, 0
	}
	vals := make([]float32, o.Window)
	copy(vals, r.cur[r.pos:min(r.pos+o.Window, len(r.cur))])
	if o.Int16Scale {
		for i := range vals {
			vals[i] *= 32768
		}
	}
	name := fmt.Sprintf("%s@%d", r.name, r.pos)
	r.pos += o.Hop
	r.index++
	t, err := toDType(tensor.FromSlice(append([]int(nil), o.Shape...), vals), o.DType)
	if err != nil {
		return Sample{}, fmt.Errorf("dataset: input %q: %w", o.Input, err)
	}
	inputs := map[string]*tensor.Tensor{o.Input: t}
	for k, v := range o.Extra {
		inputs[k] = v
	}
	return Sample{Name: name, Inputs: inputs, Label: -1}, nil
}

// decimate brings samples at rate to want when rate is an integer multiple
// of it, averaging each group of rate/want samples.
func decimate(samples []float32, rate, want int) ([]float32, error) {
	if rate == want {
		return samples, nil
	}
	if rate < want || rate%want != 0 {
		return nil, fmt.Errorf("sample rate %d Hz: the model takes %d Hz and only integer-factor downsampling is done", rate, want)
	}
	k := rate / want
	out := make([]float32, len(samples)/k)
	for i := range out {
		var s float32
		for _, v := range samples[i*k : (i+1)*k] {
			s += v
		}
		out[i] = s / float32(k)
	}
	return out, nil
}
