package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/engine"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Sample is one model run's worth of inputs.
type Sample struct {
	// Name identifies the sample in messages and label look-ups: a file or
	// folder name relative to the data set, or an index.
	Name string
	// Inputs maps graph input names to tensors.
	Inputs map[string]*tensor.Tensor
	// Label is the sample's class index, or -1 when unknown. A sample that
	// stacks several items along the batch axis has Label -1 and carries
	// each item's name and label in Items.
	Label int
	// Items lists the items stacked along the batch axis, in order, when a
	// reader batches more than one item into a sample; nil otherwise.
	Items []Item
}

// Item names one item of a batched Sample and gives its label (-1 when
// unknown).
type Item struct {
	Name  string
	Label int
}

// Reader streams samples. Next returns io.EOF after the last sample. A
// Reader is not safe for concurrent use; Close releases its files and may
// be called more than once.
type Reader interface {
	Next(ctx context.Context) (Sample, error)
	Close() error
}

// Sized is implemented by readers that know how many samples they yield in
// all (counted from the start, whatever has been read already).
type Sized interface {
	Len() int
}

// Source opens a new Reader at the start of a data set: calibration and
// evaluation that read the data more than once call it once per pass.
type Source func() (Reader, error)

// OpenSource returns a Source that calls Open with the given arguments.
func OpenSource(path string, model []engine.ValueInfo, opts Options) Source {
	return func() (Reader, error) { return Open(path, model, opts) }
}

// LenOf returns r's sample count when r implements Sized.
func LenOf(r Reader) (int, bool) {
	if s, ok := r.(Sized); ok {
		return s.Len(), true
	}
	return 0, false
}

// ReadAll reads r to the end (or until ctx is done) and returns the samples.
// It does not close r.
func ReadAll(ctx context.Context, r Reader) ([]Sample, error) {
	var out []Sample
	for {
		s, err := r.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
}

// limitReader yields at most n samples of r.
type limitReader struct {
	r    Reader
	n    int
	seen int
}

// Next returns the next sample until n have been returned.
func (l *limitReader) Next(ctx context.Context) (Sample, error) {
	if l.seen >= l.n {
		return Sample{}, io.EOF
	}
	s, err := l.r.Next(ctx)
	if err == nil {
		l.seen++
	}
	return s, err
}

// Close closes the wrapped reader.
func (l *limitReader) Close() error { return l.r.Close() }

type sizedLimitReader struct{ limitReader }

// Len returns min(n, the wrapped reader's Len).
func (l *sizedLimitReader) Len() int { return min(l.n, l.r.(Sized).Len()) }

// Limit returns a Reader that yields at most the first n samples of r (none
// when n <= 0). Closing it closes r. It is Sized when r is.
func Limit(r Reader, n int) Reader {
	n = max(n, 0)
	if _, ok := r.(Sized); ok {
		return &sizedLimitReader{limitReader{r: r, n: n}}
	}
	return &limitReader{r: r, n: n}
}

// skipReader drops the first n samples of r on its first Next.
type skipReader struct {
	r       Reader
	n       int
	skipped bool
}

// Next skips the first n samples once, then passes samples through.
func (s *skipReader) Next(ctx context.Context) (Sample, error) {
	if !s.skipped {
		for i := 0; i < s.n; i++ {
			if _, err := s.r.Next(ctx); err != nil {
				if !errors.Is(err, io.EOF) {
					return Sample{}, err
				}
				s.skipped = true
				return Sample{}, io.EOF
			}
		}
		s.skipped = true
	}
	return s.r.Next(ctx)
}

// Close closes the wrapped reader.
func (s *skipReader) Close() error { return s.r.Close() }

type sizedSkipReader struct{ skipReader }

// Len returns the wrapped reader's Len less n.
func (s *sizedSkipReader) Len() int { return max(s.r.(Sized).Len()-s.n, 0) }

// Skip returns a Reader that drops the first n samples of r (reading them)
// and then yields the rest. Closing it closes r. It is Sized when r is.
func Skip(r Reader, n int) Reader {
	n = max(n, 0)
	if _, ok := r.(Sized); ok {
		return &sizedSkipReader{skipReader{r: r, n: n}}
	}
	return &skipReader{r: r, n: n}
}

// LabelFunc maps a sample or item name to its class index; ok is false when
// the name has no label.
type LabelFunc func(name string) (label int, ok bool)

// labelReader sets labels from names.
type labelReader struct {
	r      Reader
	labels LabelFunc
}

// Next returns the wrapped reader's next sample, labelled.
func (l *labelReader) Next(ctx context.Context) (Sample, error) {
	s, err := l.r.Next(ctx)
	if err != nil {
		return s, err
	}
	if len(s.Items) > 0 {
		for i := range s.Items {
			if v, ok := l.labels(s.Items[i].Name); ok {
				s.Items[i].Label = v
			}
		}
	} else if v, ok := l.labels(s.Name); ok {
		s.Label = v
	}
	return s, nil
}

// Close closes the wrapped reader.
func (l *labelReader) Close() error { return l.r.Close() }

type sizedLabelReader struct{ labelReader }

// Len returns the wrapped reader's Len.
func (l *sizedLabelReader) Len() int { return l.r.(Sized).Len() }

// WithLabels returns a Reader that sets each sample's Label (or each batch
// item's) from its name with labels, where labels knows the name; other
// labels are left as r gave them. It is Sized when r is.
func WithLabels(r Reader, labels LabelFunc) Reader {
	if _, ok := r.(Sized); ok {
		return &sizedLabelReader{labelReader{r: r, labels: labels}}
	}
	return &labelReader{r: r, labels: labels}
}

// sliceReader yields a fixed list of samples.
type sliceReader struct {
	samples []map[string]*tensor.Tensor
	next    int
}

// FromTensors returns a Reader over a fixed list of samples, named by their
// index ("0", "1", ...) and unlabelled. The tensors are not copied.
func FromTensors(samples []map[string]*tensor.Tensor) Reader {
	return &sliceReader{samples: samples}
}

// Next returns the next sample of the list.
func (s *sliceReader) Next(ctx context.Context) (Sample, error) {
	if err := ctx.Err(); err != nil {
		return Sample{}, err
	}
	if s.next >= len(s.samples) {
		return Sample{}, io.EOF
	}
	i := s.next
	s.next++
	return Sample{Name: strconv.Itoa(i), Inputs: s.samples[i], Label: -1}, nil
}

// Close does nothing: the list holds no resources.
func (s *sliceReader) Close() error { return nil }

// Len returns the number of samples.
func (s *sliceReader) Len() int { return len(s.samples) }

// ModelInputs describes m's graph inputs that are not initializers, in
// graph order, the way engine.Session.Inputs does: dynamic or unknown
// dimensions are -1 and the rank is unknown (nil Shape) when the model does
// not give one.
func ModelInputs(m *onnx.ModelProto) []engine.ValueInfo {
	g := m.GetGraph()
	inits := make(map[string]bool, len(g.GetInitializer()))
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	var out []engine.ValueInfo
	for _, vi := range g.GetInput() {
		if inits[vi.GetName()] {
			continue
		}
		v := engine.ValueInfo{Name: vi.GetName()}
		if tt := vi.GetType().GetTensorType(); tt != nil {
			v.DType = tensor.DataType(tt.GetElemType())
			if sh := tt.GetShape(); sh != nil {
				v.Shape = []int{}
				for _, d := range sh.GetDim() {
					if _, ok := d.GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok && d.GetDimValue() > 0 {
						v.Shape = append(v.Shape, int(d.GetDimValue()))
					} else {
						v.Shape = append(v.Shape, -1)
					}
					v.DimNames = append(v.DimNames, d.GetDimParam())
				}
			}
		}
		out = append(out, v)
	}
	return out
}

// SanitizeName maps an input name to the file-name stem the .npy readers
// look for: every character outside [A-Za-z0-9._-] becomes '_'
// ("input:0" -> "input_0").
func SanitizeName(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return '_'
	}, name)
}

// checkTensor checks t against the declared input vi: same element type
// (when declared), same rank and equal static dimensions (when the rank is
// known). what names the file (and member) the tensor came from.
func checkTensor(what string, vi engine.ValueInfo, t *tensor.Tensor) error {
	if err := t.Check(); err != nil {
		return fmt.Errorf("dataset: %s: %w", what, err)
	}
	if vi.DType != tensor.Undefined && t.DType != vi.DType {
		return fmt.Errorf("dataset: %s: element type %v, but input %q takes %v", what, t.DType, vi.Name, vi.DType)
	}
	if vi.Shape == nil {
		return nil
	}
	if !shapeFits(vi.Shape, t.Shape) {
		return fmt.Errorf("dataset: %s: shape %v does not fit input %q's declared shape %s", what, t.Shape, vi.Name, dimsString(vi))
	}
	return nil
}

// shapeFits reports whether a concrete shape matches declared dims (-1 is
// any size).
func shapeFits(declared, shape []int) bool {
	if len(declared) != len(shape) {
		return false
	}
	for i, d := range declared {
		if d >= 0 && d != shape[i] {
			return false
		}
	}
	return true
}

// dimsString renders a declared shape with symbolic dimensions by name.
func dimsString(vi engine.ValueInfo) string {
	parts := make([]string, len(vi.Shape))
	for i, d := range vi.Shape {
		switch {
		case d >= 0:
			parts[i] = strconv.Itoa(d)
		case i < len(vi.DimNames) && vi.DimNames[i] != "":
			parts[i] = vi.DimNames[i]
		default:
			parts[i] = "?"
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// findInput returns the input named name.
func findInput(model []engine.ValueInfo, name string) (engine.ValueInfo, bool) {
	for _, vi := range model {
		if vi.Name == name {
			return vi, true
		}
	}
	return engine.ValueInfo{}, false
}
