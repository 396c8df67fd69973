package calibrate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/onnxquant/onnxquant/quantize"
	"github.com/onnxquant/onnxquant/tensor"
)

// FileOptions say what a calibration file holds besides the ranges.
type FileOptions struct {
	// Types are the activation types to give scales and zero points for
	// (uint8 when empty). The first is the entry's own scale, zero_point
	// and type, which `onnxquant quantize --params` reads; all appear
	// under "params".
	Types []tensor.DataType
	// Symmetric computes the scales for symmetric ranges.
	Symmetric bool
	// Stats writes the raw statistics (histogram counts, moving averages)
	// that ReadFile and Merge need to combine results.
	Stats bool
	// Model is recorded as the calibrated model's name.
	Model string
}

// fileJSON is the calibration file (quantize.CalibrationFormat). The
// quantizer reads format, tensors and each entry's min, max, scale,
// zero_point and type; the other fields are for people and for Merge.
type fileJSON struct {
	Format               string               `json:"format"`
	Method               string               `json:"method"`
	Samples              int                  `json:"samples"`
	Engine               string               `json:"engine,omitempty"`
	Model                string               `json:"model,omitempty"`
	Settings             settingsJSON         `json:"settings"`
	ActivationTypes      []string             `json:"activation_types,omitempty"`
	SymmetricActivations bool                 `json:"symmetric_activations,omitempty"`
	Warnings             []string             `json:"warnings,omitempty"`
	Tensors              map[string]entryJSON `json:"tensors"`
}

type settingsJSON struct {
	MovingAverage     bool    `json:"moving_average,omitempty"`
	AveragingConstant float64 `json:"averaging_constant,omitempty"`
	Bins              int     `json:"bins,omitempty"`
	QuantizedLevels   int     `json:"quantized_levels,omitempty"`
	Percentile        float64 `json:"percentile,omitempty"`
	Symmetric         bool    `json:"symmetric,omitempty"`
}

type entryJSON struct {
	Min       float64              `json:"min"`
	Max       float64              `json:"max"`
	Scale     *float64             `json:"scale,omitempty"`
	ZeroPoint *int32               `json:"zero_point,omitempty"`
	Type      string               `json:"type,omitempty"`
	Params    map[string]paramJSON `json:"params,omitempty"`
	Observed  observedJSON         `json:"observed"`
	Histogram *histSummaryJSON     `json:"histogram,omitempty"`
	Stats     *statsJSON           `json:"stats,omitempty"`
}

type paramJSON struct {
	Scale     float64 `json:"scale"`
	ZeroPoint int32   `json:"zero_point"`
}

type observedJSON struct {
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Count     int64   `json:"count,omitempty"`
	NonFinite int64   `json:"nonfinite,omitempty"`
	Batches   int64   `json:"batches"`
}

// histSummaryJSON describes a histogram for people: its geometry, the
// magnitudes at a few percentiles and, for Entropy, the chosen threshold.
type histSummaryJSON struct {
	BinsPerSign    int                `json:"bins_per_sign"`
	BinWidth       float64            `json:"bin_width"`
	AbsPercentiles map[string]float64 `json:"abs_percentiles"`
	Threshold      *float64           `json:"threshold,omitempty"`
}

type statsJSON struct {
	// MinMax moving averages.
	AvgMin     *float64 `json:"avg_min,omitempty"`
	AvgMax     *float64 `json:"avg_max,omitempty"`
	AvgSamples int64    `json:"avg_samples,omitempty"`
	// Histogram counts: bin First onwards of each sign.
	Exp    *int       `json:"exp,omitempty"`
	Scaled bool       `json:"scaled,omitempty"`
	Pos    *countJSON `json:"pos,omitempty"`
	Neg    *countJSON `json:"neg,omitempty"`
}

// countJSON holds a span of histogram counts: bin First onwards, the
// counts written as one string of space-separated integers to keep files
// short.
type countJSON struct {
	First  int         `json:"first"`
	Counts countString `json:"counts"`
}

// countString is a list of counts written as "c0 c1 c2 ...".
type countString []uint64

// MarshalJSON writes the counts as one string.
func (c countString) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 8*len(c)+2)
	b = append(b, '"')
	for i, v := range c {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendUint(b, v, 10)
	}
	return append(b, '"'), nil
}

// UnmarshalJSON reads counts written by MarshalJSON.
func (c *countString) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("histogram counts: %w", err)
	}
	fields := strings.Fields(s)
	out := make([]uint64, len(fields))
	for i, f := range fields {
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return fmt.Errorf("histogram counts: %w", err)
		}
		out[i] = v
	}
	*c = out
	return nil
}

// Params returns the chosen range of every tensor as quantizer
// parameters, with the scale and zero point for type qt (uint8 or int8)
// and symmetric or asymmetric ranges.
func (r *Result) Params(qt tensor.DataType, symmetric bool) (map[string]quantize.TensorParams, error) {
	qr, err := quantize.Range(qt, symmetric, false)
	if err != nil {
		return nil, fmt.Errorf("calibrate: %w", err)
	}
	out := map[string]quantize.TensorParams{}
	for name, rg := range r.Ranges() {
		s, zp, err := quantize.ComputeScaleZeroPoint(rg.Min, rg.Max, qr, symmetric)
		if err != nil {
			return nil, fmt.Errorf("calibrate: tensor %q: %w", name, err)
		}
		out[name] = quantize.TensorParams{Min: rg.Min, Max: rg.Max, HasRange: true, Scale: s, ZeroPoint: zp, Type: qt, HasScale: true}
	}
	return out, nil
}

// Encode returns the result as a calibration file (JSON, keys sorted).
func (r *Result) Encode(opts FileOptions) ([]byte, error) {
	types := opts.Types
	if len(types) == 0 {
		types = []tensor.DataType{tensor.Uint8}
	}
	f := fileJSON{
		Format:   quantize.CalibrationFormat,
		Method:   r.Method.String(),
		Samples:  r.Samples,
		Engine:   r.Engine,
		Model:    opts.Model,
		Settings: encodeSettings(r.Method, r.Settings),
		Warnings: r.Warnings,
		Tensors:  map[string]entryJSON{},

		SymmetricActivations: opts.Symmetric,
	}
	for _, t := range types {
		f.ActivationTypes = append(f.ActivationTypes, t.String())
	}
	for name, col := range r.Tensors {
		lo, hi, ok := col.Range()
		if !ok {
			continue
		}
		e := entryJSON{Min: lo, Max: hi}
		for i, qt := range types {
			qr, err := quantize.Range(qt, opts.Symmetric, false)
			if err != nil {
				return nil, fmt.Errorf("calibrate: %w", err)
			}
			s, zp, err := quantize.ComputeScaleZeroPoint(lo, hi, qr, opts.Symmetric)
			if err != nil {
				return nil, fmt.Errorf("calibrate: tensor %q: %w", name, err)
			}
			if i == 0 {
				sc := float64(s)
				e.Scale, e.ZeroPoint, e.Type = &sc, &zp, qt.String()
			}
			if len(types) > 1 {
				if e.Params == nil {
					e.Params = map[string]paramJSON{}
				}
				e.Params[qt.String()] = paramJSON{Scale: float64(s), ZeroPoint: zp}
			}
		}
		s := col.Summary()
		e.Observed = observedJSON{Min: s.Min, Max: s.Max, Count: s.Count, NonFinite: s.NonFinite, Batches: s.Batches}
		e.Histogram = histSummary(col)
		if opts.Stats {
			e.Stats = encodeStats(col)
		}
		f.Tensors[name] = e
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return nil, fmt.Errorf("calibrate: encoding the result: %w", err)
	}
	return b.Bytes(), nil
}

func encodeSettings(m Method, s Settings) settingsJSON {
	switch m {
	case MinMax:
		out := settingsJSON{MovingAverage: s.MovingAverage}
		if s.MovingAverage {
			out.AveragingConstant = s.AveragingConstant
		}
		return out
	case Entropy:
		return settingsJSON{Bins: s.Bins, QuantizedLevels: s.QuantizedLevels}
	default:
		return settingsJSON{Bins: s.Bins, Percentile: s.Percentile, Symmetric: s.Symmetric}
	}
}

func histOf(c Collector) *Histogram {
	switch c := c.(type) {
	case *EntropyCollector:
		return c.Hist
	case *PercentileCollector:
		return c.Hist
	}
	return nil
}

func histSummary(c Collector) *histSummaryJSON {
	h := histOf(c)
	if h == nil {
		return nil
	}
	out := &histSummaryJSON{BinsPerSign: h.half, BinWidth: h.Width(), AbsPercentiles: map[string]float64{}}
	for _, p := range []string{"50", "90", "99", "99.9", "99.99", "99.999", "100"} {
		var q float64
		fmt.Sscan(p, &q)
		out.AbsPercentiles[p] = h.Quantile(q / 100)
	}
	if e, ok := c.(*EntropyCollector); ok {
		t := e.Threshold()
		out.Threshold = &t
	}
	return out
}

func encodeStats(c Collector) *statsJSON {
	if mm, ok := c.(*MinMaxCollector); ok {
		if !mm.settings.MovingAverage {
			return nil // the observed range is all there is
		}
		lo, hi, n := mm.Averages()
		return &statsJSON{AvgMin: &lo, AvgMax: &hi, AvgSamples: n}
	}
	h := histOf(c)
	e := h.exp
	return &statsJSON{Exp: &e, Scaled: h.scaled, Pos: sparse(h.pos), Neg: sparse(h.neg)}
}

// sparse keeps the span of counts from the first to the last non-zero one.
func sparse(c []uint64) *countJSON {
	first, last := -1, -1
	for k, v := range c {
		if v != 0 {
			if first < 0 {
				first = k
			}
			last = k
		}
	}
	if first < 0 {
		return &countJSON{Counts: countString{}}
	}
	return &countJSON{First: first, Counts: append(countString(nil), c[first:last+1]...)}
}

// WriteFile writes the result to path atomically (a temporary file in the
// same folder, renamed over path once complete).
func WriteFile(path string, r *Result, opts FileOptions) error {
	b, err := r.Encode(opts)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("calibrate: %w", err)
	}
	_, werr := tmp.Write(b)
	if werr == nil {
		werr = tmp.Chmod(0o644)
	}
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("calibrate: writing %s: %w", path, werr)
	}
	return nil
}

// ReadFile reads a calibration file written with raw statistics (or by
// MinMax without moving averages, whose observed ranges are its
// statistics) back into a Result that can be merged, and the options it
// was written with.
func ReadFile(path string) (*Result, FileOptions, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, FileOptions{}, fmt.Errorf("calibrate: %w", err)
	}
	r, fo, err := Decode(b)
	if err != nil {
		return nil, fo, fmt.Errorf("calibrate: %s: %w", path, err)
	}
	return r, fo, nil
}

// Decode parses a calibration file's contents (see ReadFile).
func Decode(b []byte) (*Result, FileOptions, error) {
	var fo FileOptions
	var f fileJSON
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fo, fmt.Errorf("not a calibration file: %w", err)
	}
	if f.Format != quantize.CalibrationFormat {
		return nil, fo, fmt.Errorf("format %q is not %q", f.Format, quantize.CalibrationFormat)
	}
	m, err := ParseMethod(f.Method)
	if err != nil {
		return nil, fo, err
	}
	fo.Model, fo.Symmetric = f.Model, f.SymmetricActivations
	for _, name := range f.ActivationTypes {
		dt, err := tensor.ParseDataType(name)
		if err != nil {
			return nil, fo, err
		}
		fo.Types = append(fo.Types, dt)
	}
	st := Settings{
		MovingAverage: f.Settings.MovingAverage, AveragingConstant: f.Settings.AveragingConstant,
		Bins: f.Settings.Bins, QuantizedLevels: f.Settings.QuantizedLevels,
		Percentile: f.Settings.Percentile, Symmetric: f.Settings.Symmetric,
	}
	if st, err = st.normalized(m); err != nil {
		return nil, fo, err
	}
	r := &Result{Method: m, Settings: st, Engine: f.Engine, Samples: f.Samples, Tensors: map[string]Collector{}, Warnings: f.Warnings}
	for _, name := range sortedKeys(f.Tensors) {
		e := f.Tensors[name]
		c, err := New(m, st)
		if err != nil {
			return nil, fo, err
		}
		if e.Stats != nil {
			fo.Stats = true
		}
		if err := decodeStats(c, e); err != nil {
			return nil, fo, fmt.Errorf("tensor %q: %w", name, err)
		}
		r.Tensors[name] = c
	}
	return r, fo, nil
}

// errNoStats marks a file written without the raw statistics a merge needs.
var errNoStats = errors.New("no raw statistics (calibrate with --save-stats, or FileOptions.Stats)")

func decodeStats(c Collector, e entryJSON) error {
	o := e.Observed
	sum := Summary{Min: o.Min, Max: o.Max, Count: o.Count, NonFinite: o.NonFinite, Batches: o.Batches, HasRange: true}
	if !finite(o.Min) || !finite(o.Max) || o.Min > o.Max || o.Count < 0 || o.NonFinite < 0 || o.Batches < 0 {
		return fmt.Errorf("bad observed statistics %+v", o)
	}
	if mm, ok := c.(*MinMaxCollector); ok {
		mm.sum = sum
		mm.avgMin, mm.avgMax, mm.avgN = o.Min, o.Max, o.Batches
		if mm.settings.MovingAverage {
			s := e.Stats
			if s == nil || s.AvgMin == nil || s.AvgMax == nil {
				return errNoStats
			}
			mm.avgMin, mm.avgMax, mm.avgN = *s.AvgMin, *s.AvgMax, s.AvgSamples
		}
		return nil
	}
	h := histOf(c)
	s := e.Stats
	if s == nil || s.Exp == nil || s.Pos == nil || s.Neg == nil {
		return errNoStats
	}
	if *s.Exp < minExp || *s.Exp > maxExp {
		return fmt.Errorf("histogram exponent %d out of range", *s.Exp)
	}
	h.sum, h.exp, h.scaled = sum, *s.Exp, s.Scaled
	var total uint64
	for i, cj := range []*countJSON{s.Pos, s.Neg} {
		dst := h.pos
		if i == 1 {
			dst = h.neg
		}
		if cj.First < 0 || cj.First+len(cj.Counts) > len(dst) {
			return fmt.Errorf("histogram counts [%d, %d) outside the %d bins per sign", cj.First, cj.First+len(cj.Counts), len(dst))
		}
		copy(dst[cj.First:], cj.Counts)
		for _, v := range cj.Counts {
			total += v
		}
	}
	if o.Count > 0 && total != uint64(o.Count) {
		return fmt.Errorf("histogram counts add up to %d, but %d values were observed", total, o.Count)
	}
	return nil
}

// Merge folds o into r, as if o's data had been calibrated in the same
// run: the methods and settings must match. Tensors only one side saw are
// kept as they are. Warnings about NaN and infinite values are recounted;
// the others are kept once.
func (r *Result) Merge(o *Result) error {
	if r.Method != o.Method || r.Settings != o.Settings {
		return fmt.Errorf("%w: %s %+v and %s %+v", ErrMismatch, r.Method, r.Settings, o.Method, o.Settings)
	}
	for _, name := range sortedKeys(o.Tensors) {
		c, ok := r.Tensors[name]
		if !ok {
			r.Tensors[name] = o.Tensors[name]
			continue
		}
		if err := c.Merge(o.Tensors[name]); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	r.Samples += o.Samples
	if o.Engine != r.Engine && o.Engine != "" {
		engines := strings.Split(r.Engine, "+")
		for _, e := range strings.Split(o.Engine, "+") {
			if !contains(engines, e) {
				engines = append(engines, e)
			}
		}
		sort.Strings(engines)
		r.Engine = strings.Join(engines, "+")
	}
	var warn []string
	for _, w := range append(r.Warnings, o.Warnings...) {
		if !strings.HasPrefix(w, nonFinitePrefix) && !contains(warn, w) {
			warn = append(warn, w)
		}
	}
	if w := nonFiniteWarning(r.Tensors); w != "" {
		warn = append([]string{w}, warn...)
	}
	r.Warnings = warn
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// MergeFiles reads calibration files written with raw statistics and
// merges them in order. It returns the first file's options.
func MergeFiles(paths ...string) (*Result, FileOptions, error) {
	if len(paths) == 0 {
		return nil, FileOptions{}, errors.New("calibrate: no files to merge")
	}
	var out *Result
	var first FileOptions
	for i, p := range paths {
		r, fo, err := ReadFile(p)
		if err != nil {
			return nil, first, err
		}
		if i == 0 {
			out, first = r, fo
			continue
		}
		if err := out.Merge(r); err != nil {
			return nil, first, fmt.Errorf("calibrate: merging %s: %w", p, err)
		}
	}
	return out, first, nil
}

// nonFinitePrefix starts the warning about NaN and infinite values.
const nonFinitePrefix = "left out "

// nonFiniteWarning says how many NaN and infinite values were left out, in
// which tensors ("" when none).
func nonFiniteWarning(colls map[string]Collector) string {
	var list []string
	var total int64
	for _, name := range sortedKeys(colls) {
		if n := colls[name].Summary().NonFinite; n > 0 {
			list = append(list, fmt.Sprintf("%s (%d)", name, n))
			total += n
		}
	}
	if len(list) == 0 {
		return ""
	}
	return fmt.Sprintf("%s%d NaN or infinite value(s) in %d tensor(s): %s", nonFinitePrefix, total, len(list), listSome(list))
}
