package dataset

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/onnxquant/onnxquant/tensor"
)

// MNISTPixels is the number of values in one MNIST digit (28 x 28).
const MNISTPixels = 28 * 28

// MNISTOptions says how MNIST digits become an input tensor.
type MNISTOptions struct {
	// Input is the graph input name (required).
	Input string
	// Scale multiplies the stored 0..1 values: 0 means 1; mnist-8 takes
	// 0..255, so 255.
	Scale float32
	// Shape of each sample's tensor, holding 784 elements: nil means
	// [1, 1, 28, 28]; [1, 784] suits a flattened input.
	Shape []int
}

// mnistClass is one open digit file, positioned inside its data array.
type mnistClass struct {
	label int
	path  string
	f     *os.File
	raw   *bufio.Reader // the file, as the decoder reads it
	dec   *json.Decoder
	vals  *bufio.Reader // the data array's elements, after the '['
	num   []byte        // scratch for one number's text
	index int           // digits read so far
	done  bool
}

// MNISTReader streams the digits of the shared MNIST JSON files.
type MNISTReader struct {
	opts    MNISTOptions
	classes []*mnistClass
	turn    int // next class to read in the round-robin
}

// MNISTDigits returns a reader over dir/0.json .. dir/9.json, each
// {"data": [...]} with 784 values in 0..1 per digit, digits concatenated;
// the label is the file's digit. Digits come round-robin over the classes
// (the first digit of 0, of 1, ... of 9, then the second of each, and so
// on; a class that runs out drops from the rotation), so any prefix of the
// stream is balanced: the first 100 samples hold 10 of each class. The files
// are decoded as a stream, a digit at a time. Missing class files are
// skipped, but at least one must exist. Sample names are "D/I": class D's
// I-th digit (from 0).
func MNISTDigits(dir string, opts MNISTOptions) (*MNISTReader, error) {
	if opts.Input == "" {
		return nil, errors.New("dataset: MNISTOptions.Input (the input name) is empty")
	}
	if opts.Scale == 0 {
		opts.Scale = 1
	}
	if opts.Shape == nil {
		opts.Shape = []int{1, 1, 28, 28}
	}
	if tensor.NumElements(opts.Shape) != MNISTPixels || len(opts.Shape) == 0 {
		return nil, fmt.Errorf("dataset: input %q: MNIST shape %v does not hold %d values", opts.Input, opts.Shape, MNISTPixels)
	}
	r := &MNISTReader{opts: opts}
	for d := 0; d <= 9; d++ {
		p := filepath.Join(dir, strconv.Itoa(d)+".json")
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("dataset: %w", err)
		}
		c := &mnistClass{label: d, path: p, f: f, raw: bufio.NewReaderSize(f, 1<<16)}
		c.dec = json.NewDecoder(c.raw)
		r.classes = append(r.classes, c)
		if err := c.open(); err != nil {
			r.Close()
			return nil, err
		}
	}
	if len(r.classes) == 0 {
		return nil, fmt.Errorf("dataset: %s: no MNIST digit files (0.json .. 9.json)", dir)
	}
	return r, nil
}

// open reads up to the first element of the "data" array.
func (c *mnistClass) open() error {
	if tok, err := c.dec.Token(); err != nil || tok != json.Delim('{') {
		return c.errorf("expected a JSON object (%v)", err)
	}
	for {
		tok, err := c.dec.Token()
		if err != nil {
			return c.errorf("%v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return c.errorf("no \"data\" array")
		}
		if key == "data" {
			break
		}
		// Skip another member's value.
		var skip json.RawMessage
		if err := c.dec.Decode(&skip); err != nil {
			return c.errorf("%v", err)
		}
	}
	if tok, err := c.dec.Token(); err != nil || tok != json.Delim('[') {
		return c.errorf("\"data\" is not an array (%v)", err)
	}
	// The decoder has located the array; its numbers are scanned directly
	// (what the decoder buffered, then the rest of the file), which is
	// several times faster than a token per number.
	c.vals = bufio.NewReaderSize(io.MultiReader(c.dec.Buffered(), c.raw), 1<<16)
	c.dec = nil
	return nil
}

func (c *mnistClass) errorf(format string, args ...any) error {
	return fmt.Errorf("dataset: %s: %s", c.path, fmt.Sprintf(format, args...))
}

// skipSpace returns the next byte that is not JSON white space.
func (c *mnistClass) skipSpace() (byte, error) {
	for {
		b, err := c.vals.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\t' && b != '\n' && b != '\r' {
			return b, nil
		}
	}
}

// digit reads the next 784 values into dst, or reports that the array has
// ended.
func (c *mnistClass) digit(dst []float32, scale float32) (bool, error) {
	for i := range dst {
		b, err := c.skipSpace()
		if err != nil {
			return false, c.errorf("digit %d: %v", c.index, noEOF(err))
		}
		if c.index > 0 || i > 0 {
			// Elements after the first follow a comma.
			if b == ']' && i == 0 {
				c.done = true
				c.f.Close()
				return false, nil
			}
			if b != ',' {
				return false, c.errorf("digit %d: expected ',' or ']' before value %d, found %q", c.index, i, b)
			}
			if b, err = c.skipSpace(); err != nil {
				return false, c.errorf("digit %d: %v", c.index, noEOF(err))
			}
		} else if b == ']' {
			c.done = true
			c.f.Close()
			return false, nil
		}
		if b == ']' {
			return false, c.errorf("digit %d ends after %d of %d values", c.index, i, MNISTPixels)
		}
		c.num = append(c.num[:0], b)
		for {
			nb, err := c.vals.ReadByte()
			if err != nil {
				break // the error shows at the next read
			}
			if !(nb >= '0' && nb <= '9' || nb == '.' || nb == '-' || nb == '+' || nb == 'e' || nb == 'E') {
				c.vals.UnreadByte()
				break
			}
			c.num = append(c.num, nb)
		}
		v, err := strconv.ParseFloat(string(c.num), 64)
		if err != nil {
			return false, c.errorf("digit %d: value %d: %q is not a number", c.index, i, c.num)
		}
		dst[i] = float32(v) * scale
	}
	c.index++
	return true, nil
}

// noEOF reports an early end of file as such.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Next returns the next digit in the round-robin.
func (r *MNISTReader) Next(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	vals := make([]float32, MNISTPixels)
	for range r.classes {
		c := r.classes[r.turn]
		r.turn = (r.turn + 1) % len(r.classes)
		if c.done {
			continue
		}
		ok, err := c.digit(vals, r.opts.Scale)
		if err != nil {
			return Sample{}, err
		}
		if !ok {
			continue
		}
		t := tensor.FromSlice(append([]int(nil), r.opts.Shape...), vals)
		return Sample{
			Name:   fmt.Sprintf("%d/%d", c.label, c.index-1),
			Inputs: map[string]*tensor.Tensor{r.opts.Input: t},
			Label:  c.label,
		}, nil
	}
	return Sample{}, io.EOF
}

// Close closes the digit files.
func (r *MNISTReader) Close() error {
	for _, c := range r.classes {
		if !c.done {
			c.done = true
			c.f.Close()
		}
	}
	return nil
}
