package quantize

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"

	"github.com/onnxquant/onnxquant/tensor"
)

// CalibrationFormat identifies onnxquant's calibration output files.
const CalibrationFormat = "onnxquant-calibration/1"

// ReadParamsFile reads activation parameters from a JSON file in either of
// two shapes:
//
//   - the reference tool's quantization_params: {"tensor": [zero_point, scale], ...}
//   - onnxquant's calibration output: {"format": "onnxquant-calibration/1",
//     "tensors": {"tensor": {"min": m, "max": M, "scale": s, "zero_point": z,
//     "type": "uint8"}, ...}}; ranges are used when present, so the
//     quantizer can derive parameters for any activation type.
//
// Malformed JSON, a non-positive or non-finite scale, a non-integer zero
// point or an empty file are errors naming the file and tensor.
func ReadParamsFile(path string) (map[string]TensorParams, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("quantize: parameters file: %w", err)
	}
	p, err := ParseParams(b)
	if err != nil {
		return nil, fmt.Errorf("quantize: parameters file %s: %w", path, err)
	}
	return p, nil
}

// ParseParams decodes a parameters file's contents (see ReadParamsFile).
func ParseParams(b []byte) (map[string]TensorParams, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("empty file")
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	out := map[string]TensorParams{}
	if _, ok := probe["tensors"]; ok {
		var f calibrationFile
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&f); err != nil {
			return nil, fmt.Errorf("calibration file: %w", err)
		}
		if f.Format != "" && f.Format != CalibrationFormat {
			return nil, fmt.Errorf("unknown format %q (want %q)", f.Format, CalibrationFormat)
		}
		for name, e := range f.Tensors {
			tp := TensorParams{}
			if e.Min != nil && e.Max != nil {
				if !finite(*e.Min) || !finite(*e.Max) || *e.Min > *e.Max {
					return nil, fmt.Errorf("tensor %q: bad range [%v, %v]", name, *e.Min, *e.Max)
				}
				tp.Min, tp.Max, tp.HasRange = *e.Min, *e.Max, true
			}
			if e.Scale != nil {
				if err := checkScaleZP(name, *e.Scale, e.ZeroPoint); err != nil {
					return nil, err
				}
				tp.Scale, tp.ZeroPoint, tp.HasScale = float32(*e.Scale), int32(*e.ZeroPoint), true
				if e.Type != "" {
					dt, err := tensor.ParseDataType(e.Type)
					if err != nil {
						return nil, fmt.Errorf("tensor %q: %w", name, err)
					}
					tp.Type = dt
				}
			}
			if !tp.HasRange && !tp.HasScale {
				return nil, fmt.Errorf("tensor %q: neither a range (min, max) nor a scale", name)
			}
			out[name] = tp
		}
		return out, nil
	}
	for name, raw := range probe {
		var pair []float64
		if err := json.Unmarshal(raw, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("tensor %q: want [zero_point, scale], got %s", name, raw)
		}
		zp := pair[0]
		if err := checkScaleZP(name, pair[1], &zp); err != nil {
			return nil, err
		}
		tp := TensorParams{Scale: float32(pair[1]), ZeroPoint: int32(zp), HasScale: true}
		if zp < 0 {
			tp.Type = tensor.Int8
		}
		out[name] = tp
	}
	return out, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func checkScaleZP(name string, scale float64, zp *float64) error {
	if !finite(scale) || scale <= 0 || float64(float32(scale)) == 0 {
		return fmt.Errorf("tensor %q: scale %v must be positive and finite", name, scale)
	}
	if zp == nil {
		return fmt.Errorf("tensor %q: scale without a zero point", name)
	}
	if !finite(*zp) || *zp != math.Trunc(*zp) || *zp < -128 || *zp > 255 {
		return fmt.Errorf("tensor %q: zero point %v is not an 8-bit integer", name, *zp)
	}
	return nil
}

// calibrationFile is the JSON shape of onnxquant's calibration output.
type calibrationFile struct {
	Format  string                      `json:"format"`
	Method  string                      `json:"method,omitempty"`
	Samples int                         `json:"samples,omitempty"`
	Tensors map[string]calibrationEntry `json:"tensors"`
}

type calibrationEntry struct {
	Min       *float64 `json:"min,omitempty"`
	Max       *float64 `json:"max,omitempty"`
	Scale     *float64 `json:"scale,omitempty"`
	ZeroPoint *float64 `json:"zero_point,omitempty"`
	Type      string   `json:"type,omitempty"`
}

// WriteReferenceParams encodes params in the reference tool's shape
// {"tensor": [zero_point, scale]}, sorted by name.
func WriteReferenceParams(params map[string]TensorParams) ([]byte, error) {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	var b bytes.Buffer
	b.WriteString("{\n")
	for i, n := range names {
		p := params[n]
		if !p.HasScale {
			return nil, fmt.Errorf("quantize: tensor %q has no scale", n)
		}
		key, _ := json.Marshal(n)
		fmt.Fprintf(&b, "  %s: [%d, %s]", key, p.ZeroPoint, formatFloat32(p.Scale))
		if i < len(names)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return b.Bytes(), nil
}

func formatFloat32(f float32) string {
	b, _ := json.Marshal(f)
	return string(b)
}
