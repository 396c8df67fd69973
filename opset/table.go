package opset

// MaxVersion is the newest ai.onnx operator set version Upgrade can target:
// the table below covers every operator version up to it.
const MaxVersion = 22

// convFunc converts one node across one version step of its operator: it
// rewrites the node (and may add constants or helper nodes) so that the
// node, read under the new version's schema, computes what it computed
// under the previous one. It returns an *Error (through ctx.refuse) when
// that is not possible.
type convFunc func(c *nodeCtx) error

// step is one version of an operator's schema and what a node needs to
// cross into it from the previous version.
type step struct {
	v    int64
	conv convFunc // nil only for the first version
	// why says, for documentation and reports, what changed at v.
	why string
}

// history is an operator's schema versions in increasing order, and the
// version at which it was deprecated (0 when it is still current).
type history struct {
	steps      []step
	deprecated int64
}

// Notes on the compatible steps ("same"): the schema changed but a node
// valid under the old version means the same under the new one. Kinds:
//   - types: the allowed element types grew (integers, bfloat16, float8,
//     int4 or float4 types added);
//   - neg: negative axes or indices became allowed;
//   - attr: an attribute was added whose default keeps the old behaviour;
//   - bcast: numpy-style broadcasting was added where inputs used to need
//     equal shapes;
//   - opt: an input or output became optional;
//   - doc: wording or shape-inference clarification only.
//
// These classifications agree with the steps ONNX's version converter
// registers as compatible (onnx/version_converter/convert.h).
var table = map[string]history{
	"Abs":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed; integer types"), at(13, same, "types")),
	"Acos":                      h(first(7), at(22, same, "types")),
	"Acosh":                     h(first(9), at(22, same, "types")),
	"Add":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed; types"), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(13, same, "types"), at(14, same, "types")),
	"AffineGrid":                h(first(20)),
	"And":                       h(first(1), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting")),
	"ArgMax":                    h(first(1), at(11, same, "neg"), at(12, same, "attr select_last_index (default 0)"), at(13, same, "types")),
	"ArgMin":                    h(first(1), at(11, same, "neg"), at(12, same, "attr select_last_index (default 0)"), at(13, same, "types")),
	"Asin":                      h(first(7), at(22, same, "types")),
	"Asinh":                     h(first(9), at(22, same, "types")),
	"Atan":                      h(first(7), at(22, same, "types")),
	"Atanh":                     h(first(9), at(22, same, "types")),
	"AveragePool":               h(first(1), at(7, same, "attr count_include_pad (default 0)"), at(10, same, "attr ceil_mode (default 0)"), at(11, same, "doc"), at(19, same, "attr dilations (default 1)"), at(22, same, "types")),
	"BatchNormalization":        h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(7, batchNormIsTest, "is_test removed"), at(9, batchNormSpatial, "spatial removed"), at(14, batchNormOutputs, "training outputs redefined, training_mode added"), at(15, same, "types")),
	"Bernoulli":                 h(first(15), at(22, same, "types")),
	"BitShift":                  h(first(11)),
	"BitwiseAnd":                h(first(18)),
	"BitwiseNot":                h(first(18)),
	"BitwiseOr":                 h(first(18)),
	"BitwiseXor":                h(first(18)),
	"BlackmanWindow":            h(first(17)),
	"Cast":                      h(first(1), at(6, castTo, "attribute to changed from a type name to a type number"), at(9, same, "types (string)"), at(13, same, "types"), at(19, same, "attr saturate (float8 only); types"), at(21, same, "types")),
	"CastLike":                  h(first(15), at(19, same, "attr saturate (float8 only); types"), at(21, same, "types")),
	"Ceil":                      h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"Celu":                      h(first(12)),
	"CenterCropPad":             h(first(18)),
	"Clip":                      h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(11, clipInputs, "min/max attributes became inputs"), at(12, same, "types"), at(13, same, "types")),
	"Col2Im":                    h(first(18)),
	"Compress":                  h(first(9), at(11, same, "neg")),
	"Concat":                    h(first(1), at(4, concatAxis, "axis became required (version 1 defaulted to 1)"), at(11, same, "neg"), at(13, same, "types")),
	"ConcatFromSequence":        h(first(11)),
	"Constant":                  h(first(1), at(9, same, "types"), at(11, same, "attr sparse_value"), at(12, same, "attr value_*"), at(13, same, "types"), at(19, same, "types"), at(21, same, "types")),
	"ConstantOfShape":           h(first(9), at(20, same, "types"), at(21, same, "types")),
	"Conv":                      h(first(1), at(11, same, "doc"), at(22, same, "types")),
	"ConvInteger":               h(first(10)),
	"ConvTranspose":             h(first(1), at(11, same, "doc"), at(22, same, "types")),
	"Cos":                       h(first(7), at(22, same, "types")),
	"Cosh":                      h(first(9), at(22, same, "types")),
	"CumSum":                    h(first(11), at(14, same, "types")),
	"DFT":                       h(first(17), at(20, refuseStep, "axis attribute became an input with another default")),
	"DeformConv":                h(first(19), at(22, same, "types")),
	"DepthToSpace":              h(first(1), at(11, same, "attr mode (default DCR, the old behaviour)"), at(13, same, "types")),
	"DequantizeLinear":          h(first(10), at(13, same, "attr axis (per-axis scales)"), at(19, same, "types"), at(21, same, "attr block_size (default 0); types")),
	"Det":                       h(first(11), at(22, same, "types")),
	"Div":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed; types"), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(13, same, "types"), at(14, same, "types")),
	"Dropout":                   h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(7, dropoutIsTest, "is_test removed"), at(10, dropoutMask, "mask output became bool"), at(12, dropoutRatio, "ratio attribute became an input"), at(13, same, "types"), at(22, same, "types")),
	"DynamicQuantizeLinear":     h(first(11)),
	"Einsum":                    h(first(12)),
	"Elu":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(22, same, "types")),
	"Equal":                     h(first(1), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(11, same, "types"), at(13, same, "types"), at(19, same, "types (string)")),
	"Erf":                       h(first(9), at(13, same, "types")),
	"Exp":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"Expand":                    h(first(8), at(13, same, "types")),
	"EyeLike":                   h(first(9), at(22, same, "types")),
	"Flatten":                   h(first(1), at(9, same, "types"), at(11, same, "neg"), at(13, same, "types"), at(21, same, "types")),
	"Floor":                     h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"GRU":                       h(first(1), at(3, same, "attr linear_before_reset (default 0); direction default spelling fixed"), at(7, dropOutputSequence, "output_sequence removed"), at(14, same, "attr layout (default 0)"), at(22, same, "types")),
	"Gather":                    h(first(1), at(11, same, "neg"), at(13, same, "types")),
	"GatherElements":            h(first(11), at(13, same, "types")),
	"GatherND":                  h(first(11), at(12, same, "attr batch_dims (default 0)"), at(13, same, "types")),
	"Gelu":                      h(first(20)),
	"Gemm":                      h(first(1), at(6, same, "doc"), at(7, gemmBroadcast, "broadcast attribute replaced by unidirectional broadcasting of C"), at(9, same, "types"), at(11, same, "opt C"), at(13, same, "types")),
	"GlobalAveragePool":         h(first(1), at(22, same, "types")),
	"GlobalLpPool":              h(first(1), at(2, lpPoolP, "p changed from float to int"), at(22, same, "types")),
	"GlobalMaxPool":             h(first(1), at(22, same, "types")),
	"Greater":                   h(first(1), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(9, same, "types"), at(13, same, "types")),
	"GreaterOrEqual":            h(first(12), at(16, same, "types")),
	"GridSample":                h(first(16), at(20, refuseStep, "interpolation modes renamed and extended to N-D"), at(22, same, "types")),
	"GroupNormalization":        h(first(18), at(21, refuseStep, "scale and bias changed from per-group to per-channel and stash_type added")),
	"HammingWindow":             h(first(17)),
	"HannWindow":                h(first(17)),
	"HardSigmoid":               h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(22, same, "types")),
	"HardSwish":                 h(first(14), at(22, same, "types")),
	"Hardmax":                   h(first(1), at(11, same, "neg"), at(13, softmaxAxis, "changed from flatten-at-axis to per-axis, axis default 1 to -1")),
	"Identity":                  h(first(1), at(13, same, "types"), at(14, same, "types (sequences)"), at(16, same, "types (optionals)"), at(19, same, "types"), at(21, same, "types")),
	"If":                        h(first(1), at(11, same, "doc"), at(13, same, "types"), at(16, same, "types"), at(19, same, "types"), at(21, same, "types")),
	"ImageDecoder":              h(first(20)),
	"InstanceNormalization":     h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(22, same, "types")),
	"IsInf":                     h(first(10), at(20, same, "types")),
	"IsNaN":                     h(first(9), at(13, same, "types"), at(20, same, "types")),
	"LRN":                       h(first(1), at(13, same, "types")),
	"LSTM":                      h(first(1), at(7, dropOutputSequence, "output_sequence removed"), at(14, same, "attr layout (default 0)"), at(22, same, "types")),
	"LayerNormalization":        h(first(17)),
	"LeakyRelu":                 h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(16, same, "types")),
	"Less":                      h(first(1), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(9, same, "types"), at(13, same, "types")),
	"LessOrEqual":               h(first(12), at(16, same, "types")),
	"Log":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"LogSoftmax":                h(first(1), at(11, same, "neg"), at(13, softmaxAxis, "changed from flatten-at-axis to per-axis, axis default 1 to -1")),
	"Loop":                      h(first(1), at(11, same, "doc"), at(13, same, "types"), at(16, same, "types"), at(19, same, "types"), at(21, same, "types")),
	"LpNormalization":           h(first(1), at(22, same, "types")),
	"LpPool":                    h(first(1), at(2, lpPoolP, "p changed from float to int, kernel_shape required"), at(11, same, "doc"), at(18, same, "attr ceil_mode (default 0)"), at(22, same, "types")),
	"MatMul":                    h(first(1), at(9, same, "types"), at(13, same, "types")),
	"MatMulInteger":             h(first(10)),
	"Max":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(8, same, "bcast"), at(12, same, "types"), at(13, same, "types")),
	"MaxPool":                   h(first(1), at(8, same, "attr storage_order (default 0), optional Indices output"), at(10, same, "attrs ceil_mode and dilations (defaults 0 and 1)"), at(11, same, "doc"), at(12, same, "types"), at(22, same, "types")),
	"MaxRoiPool":                h(first(1), at(22, same, "types")),
	"MaxUnpool":                 h(first(9), at(11, same, "doc"), at(22, same, "types")),
	"Mean":                      h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(8, same, "bcast"), at(13, same, "types")),
	"MeanVarianceNormalization": h(first(9), at(13, same, "types")),
	"MelWeightMatrix":           h(first(17)),
	"Min":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(8, same, "bcast"), at(12, same, "types"), at(13, same, "types")),
	"Mish":                      h(first(18), at(22, same, "types")),
	"Mod":                       h(first(10), at(13, same, "types")),
	"Mul":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed; types"), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(13, same, "types"), at(14, same, "types")),
	"Multinomial":               h(first(7), at(22, same, "types")),
	"Neg":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed; types"), at(13, same, "types")),
	"NegativeLogLikelihoodLoss": h(first(12), at(13, same, "doc"), at(22, same, "types")),
	"NonMaxSuppression":         h(first(10), at(11, same, "doc")),
	"NonZero":                   h(first(9), at(13, same, "types")),
	"Not":                       h(first(1)),
	"OneHot":                    h(first(9), at(11, same, "neg")),
	"Optional":                  h(first(15)),
	"OptionalGetElement":        h(first(15), at(18, same, "types (plain tensors accepted)")),
	"OptionalHasElement":        h(first(15), at(18, same, "types (plain tensors accepted)")),
	"Or":                        h(first(1), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting")),
	"PRelu":                     h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(7, preluSlope, "slope broadcast changed to unidirectional numpy broadcasting"), at(9, same, "types"), at(16, same, "types")),
	"Pad":                       h(first(1), at(2, padPaddings, "attribute paddings renamed pads"), at(11, padInputs, "pads/value attributes became inputs"), at(13, same, "types"), at(18, same, "opt axes input"), at(19, same, "attr mode wrap"), at(21, same, "types")),
	"Pow":                       h(first(1), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(12, same, "types (exponent type independent)"), at(13, same, "types"), at(15, same, "types")),
	"QLinearConv":               h(first(10)),
	"QLinearMatMul":             h(first(10), at(21, same, "types")),
	"QuantizeLinear":            h(first(10), at(13, same, "attr axis (per-axis scales)"), at(19, same, "attr saturate (float8 only); types"), at(21, same, "attrs block_size and output_dtype (defaults keep the old behaviour); types")),
	"RNN":                       h(first(1), at(7, dropOutputSequence, "output_sequence removed"), at(14, same, "attr layout (default 0)"), at(22, same, "types")),
	"RandomNormal":              h(first(1), at(22, same, "types")),
	"RandomNormalLike":          h(first(1), at(22, same, "types")),
	"RandomUniform":             h(first(1), at(22, same, "types")),
	"RandomUniformLike":         h(first(1), at(22, same, "types")),
	"Range":                     h(first(11)),
	"Reciprocal":                h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"ReduceL1":                  h(first(1), at(11, same, "neg"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input")),
	"ReduceL2":                  h(first(1), at(11, same, "neg"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input")),
	"ReduceLogSum":              h(first(1), at(11, same, "neg"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input")),
	"ReduceLogSumExp":           h(first(1), at(11, same, "neg"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input")),
	"ReduceMax":                 h(first(1), at(11, same, "neg"), at(12, same, "types"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input"), at(20, same, "types (bool)")),
	"ReduceMean":                h(first(1), at(11, same, "neg"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input")),
	"ReduceMin":                 h(first(1), at(11, same, "neg"), at(12, same, "types"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input"), at(20, same, "types (bool)")),
	"ReduceProd":                h(first(1), at(11, same, "neg"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input")),
	"ReduceSum":                 h(first(1), at(11, same, "neg"), at(13, reduceAxes, "axes attribute became an input")),
	"ReduceSumSquare":           h(first(1), at(11, same, "neg"), at(13, same, "types"), at(18, reduceAxes, "axes attribute became an input")),
	"RegexFullMatch":            h(first(20)),
	"Relu":                      h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types"), at(14, same, "types")),
	"Reshape":                   h(first(1), at(5, reshapeShape, "shape attribute became an input"), at(13, same, "types"), at(14, same, "attr allowzero (default 0)"), at(19, same, "types"), at(21, same, "types")),
	"Resize":                    h(first(10), at(11, resizeCoordinates, "roi input and coordinate_transformation_mode/nearest_mode added (defaults differ from version 10)"), at(13, resizeDeprecatedMode, "roi/scales optional; tf_half_pixel_for_nn deprecated"), at(18, same, "attrs antialias, axes, keep_aspect_ratio_policy (defaults keep the old behaviour)"), at(19, same, "attr mode half_pixel_symmetric")),
	"ReverseSequence":           h(first(10)),
	"RoiAlign":                  h(first(10), at(16, roiAlignMode, "coordinate_transformation_mode added with default half_pixel"), at(22, same, "types")),
	"Round":                     h(first(11), at(22, same, "types")),
	"STFT":                      h(first(17)),
	"Scan":                      h(first(8), at(9, refuseStep, "sequence_lens input removed and scan axes/directions redefined"), at(11, same, "neg"), at(16, same, "types"), at(19, same, "types"), at(21, same, "types")),
	"Scatter":                   {steps: []step{first(9), at(11, scatterToElements, "deprecated: replaced by ScatterElements")}, deprecated: 11},
	"ScatterElements":           h(first(11), at(13, same, "types"), at(16, same, "attr reduction (default none)"), at(18, same, "attr reduction max/min")),
	"ScatterND":                 h(first(11), at(13, same, "types"), at(16, same, "attr reduction (default none)"), at(18, same, "attr reduction max/min")),
	"Selu":                      h(first(1), at(6, seluDefaults, "consumed_inputs removed; alpha/gamma defaults changed"), at(22, same, "types")),
	"SequenceAt":                h(first(11)),
	"SequenceConstruct":         h(first(11)),
	"SequenceEmpty":             h(first(11)),
	"SequenceErase":             h(first(11)),
	"SequenceInsert":            h(first(11)),
	"SequenceLength":            h(first(11)),
	"SequenceMap":               h(first(17)),
	"Shape":                     h(first(1), at(13, same, "types"), at(15, same, "attrs start/end (defaults: whole shape)"), at(19, same, "types"), at(21, same, "types")),
	"Shrink":                    h(first(9)),
	"Sigmoid":                   h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"Sign":                      h(first(9), at(13, same, "types")),
	"Sin":                       h(first(7), at(22, same, "types")),
	"Sinh":                      h(first(9), at(22, same, "types")),
	"Size":                      h(first(1), at(13, same, "types"), at(19, same, "types"), at(21, same, "types")),
	"Slice":                     h(first(1), at(10, sliceInputs, "starts/ends/axes attributes became inputs, steps added"), at(11, same, "neg"), at(13, same, "types")),
	"Softmax":                   h(first(1), at(11, same, "neg"), at(13, softmaxAxis, "changed from flatten-at-axis to per-axis, axis default 1 to -1")),
	"SoftmaxCrossEntropyLoss":   h(first(12), at(13, same, "types")),
	"Softplus":                  h(first(1), at(22, same, "types")),
	"Softsign":                  h(first(1), at(22, same, "types")),
	"SpaceToDepth":              h(first(1), at(13, same, "types")),
	"Split":                     h(first(1), at(2, splitInputToAttr, "split input removed, axis default 0"), at(11, same, "neg"), at(13, splitAttrToInput, "split attribute became an input"), at(18, splitNumOutputs, "num_outputs required when split is not given")),
	"SplitToSequence":           h(first(11)),
	"Sqrt":                      h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"Squeeze":                   h(first(1), at(11, same, "neg"), at(13, squeezeAxes, "axes attribute became an input"), at(21, same, "types")),
	"StringConcat":              h(first(20)),
	"StringNormalizer":          h(first(10)),
	"StringSplit":               h(first(20)),
	"Sub":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed; types"), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting"), at(13, same, "types"), at(14, same, "types")),
	"Sum":                       h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(8, same, "bcast"), at(13, same, "types")),
	"Tan":                       h(first(7), at(22, same, "types")),
	"Tanh":                      h(first(1), at(6, dropConsumed, "consumed_inputs removed"), at(13, same, "types")),
	"TfIdfVectorizer":           h(first(9)),
	"ThresholdedRelu":           h(first(10), at(22, same, "types")),
	"Tile":                      h(first(1), at(6, tileRepeats, "tiles/axis inputs replaced by a repeats input"), at(13, same, "types")),
	"TopK":                      h(first(1), at(10, topKInput, "k attribute became an input"), at(11, same, "attrs largest/sorted (default 1, the old behaviour); neg")),
	"Transpose":                 h(first(1), at(13, same, "types"), at(21, same, "types")),
	"Trilu":                     h(first(14)),
	"Unique":                    h(first(11)),
	"Unsqueeze":                 h(first(1), at(11, same, "neg"), at(13, unsqueezeAxes, "axes attribute became an input"), at(21, same, "types")),
	"Upsample":                  {steps: []step{first(1), at(7, upsampleScalesAttr, "height_scale/width_scale replaced by scales"), at(9, upsampleScalesInput, "scales attribute became an input"), at(10, upsampleToResize, "deprecated: replaced by Resize")}, deprecated: 10},
	"Where":                     h(first(9), at(16, same, "types")),
	"Xor":                       h(first(1), at(7, legacyBroadcast, "broadcast/axis attributes replaced by numpy broadcasting")),
}

// h builds a history from its steps.
func h(steps ...step) history { return history{steps: steps} }

// first is an operator's first version.
func first(version int64) step { return step{v: version} }

// at is a later version with its conversion.
func at(version int64, conv convFunc, why string) step {
	return step{v: version, conv: conv, why: why}
}

// same is the conversion of a compatible step: nothing to do.
func same(*nodeCtx) error { return nil }

// refuseStep refuses a step that changed the operator in a way Upgrade
// does not convert.
func refuseStep(c *nodeCtx) error {
	return c.refuse("operator changed at version %d (%s) and no conversion is implemented", c.step.v, c.step.why)
}
