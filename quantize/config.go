package quantize

import (
	"fmt"
	"strings"

	"github.com/onnxquant/onnxquant/tensor"
)

// Format is the shape of the quantized model (the reference tool's
// quantization_mode, plus QDQ).
type Format int

const (
	// IntegerOps uses ConvInteger and MatMulInteger with activations
	// quantized by DynamicQuantizeLinear (or given parameters when static);
	// outputs are converted back to float right away.
	IntegerOps Format = iota
	// QLinearOps (QOperator) uses QLinearConv, QLinearMatMul and the
	// com.microsoft QLinear operators, keeping tensors 8-bit between them.
	QLinearOps
	// QDQ keeps the float operators and surrounds their inputs and outputs
	// with QuantizeLinear/DequantizeLinear pairs; weights are stored 8-bit
	// behind a DequantizeLinear. ONNX Runtime fuses the pattern.
	QDQ
)

// String returns the format's CLI name.
func (f Format) String() string {
	switch f {
	case IntegerOps:
		return "integer"
	case QLinearOps:
		return "qlinear"
	case QDQ:
		return "qdq"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// ParseFormat accepts the CLI names (integer, qlinear, qdq) and the reference
// tool's (IntegerOps, QLinearOps, QOperator).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "integer", "integerops":
		return IntegerOps, nil
	case "qlinear", "qlinearops", "qoperator":
		return QLinearOps, nil
	case "qdq":
		return QDQ, nil
	}
	return 0, fmt.Errorf("quantize: unknown format %q (want integer, qlinear or qdq)", s)
}

// Config says how to quantize. The zero value is the reference tool's
// default: IntegerOps, dynamic activations, per-tensor uint8 weights.
type Config struct {
	Format Format
	// Static quantizes activations with parameters given in Params; when
	// false they are computed at run time (DynamicQuantizeLinear). QDQ is
	// always static.
	Static bool
	// Params maps tensor names to their quantization parameters (from a
	// parameters file or calibration).
	Params map[string]TensorParams
	// PerChannel quantizes constant weights per output channel.
	PerChannel bool
	// Bits must be 8 (0 means 8).
	Bits int
	// WeightType and ActivationType are uint8 or int8 (Undefined means
	// uint8, the reference tool's default for both).
	WeightType, ActivationType tensor.DataType
	// SymmetricWeights and SymmetricActivations center the ranges on zero.
	// Per-channel weights are always symmetric (one zero point for all
	// channels, which ONNX Runtime's integer convolutions need to be fast).
	SymmetricWeights, SymmetricActivations bool
	// ReduceRange quantizes weights to 7 bits, avoiding the saturation of
	// uint8 x int8 products on AVX2 CPUs without VNNI.
	ReduceRange bool
	// FuseDynamic raises an opset-10 model to opset 11 so that dynamic
	// activation quantization is one DynamicQuantizeLinear instead of the
	// spelled-out ReduceMin/ReduceMax computation. (Models below opset 10
	// are always raised to 11, and models at 11 or above always use the
	// fused operator.)
	FuseDynamic bool
	// NodesToQuantize, when not empty, limits quantization to these nodes.
	NodesToQuantize []string
	// NodesToExclude are never quantized.
	NodesToExclude []string
	// OpTypesToQuantize limits quantization to these op types (empty: the
	// format's default set).
	OpTypesToQuantize []string
	// KeepBatchNorm leaves BatchNormalization nodes after Conv as they
	// are; by default they are folded into the Conv's weights and bias
	// before quantizing, as ONNX Runtime's optimizer does.
	KeepBatchNorm bool
}

// TensorParams are the parameters of one activation: its scale and zero
// point when given directly, and/or the real range they come from.
type TensorParams struct {
	Scale     float32
	ZeroPoint int32
	// Type is the zero point's type (Undefined: the configured activation
	// type).
	Type tensor.DataType
	// Min and Max are the observed range, when known (calibration output);
	// HasRange says whether they are set.
	Min, Max float64
	HasRange bool
	// HasScale says whether Scale and ZeroPoint are set.
	HasScale bool
}

func (c *Config) weightType() tensor.DataType {
	if c.WeightType == tensor.Undefined {
		return tensor.Uint8
	}
	return c.WeightType
}

func (c *Config) activationType() tensor.DataType {
	if c.ActivationType == tensor.Undefined {
		return tensor.Uint8
	}
	return c.ActivationType
}

// validate checks the config on its own (not against a model).
func (c *Config) validate() error {
	if c.Bits != 0 && c.Bits != 8 {
		return fmt.Errorf("quantize: %d-bit quantization is not supported (only 8)", c.Bits)
	}
	for _, t := range []tensor.DataType{c.weightType(), c.activationType()} {
		if t != tensor.Uint8 && t != tensor.Int8 {
			return fmt.Errorf("quantize: type %v is not supported (want uint8 or int8)", t)
		}
	}
	if c.Format == QDQ && !c.Static {
		c.Static = true
	}
	for name, p := range c.Params {
		if p.HasScale && !(p.Scale > 0) {
			return fmt.Errorf("quantize: tensor %q: scale %g is not positive", name, p.Scale)
		}
	}
	return nil
}
