package opset

import (
	"fmt"
	"math"
	"strings"

	"github.com/onnxquant/onnxquant/graph"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// dropConsumed removes consumed_inputs, a legacy in-place hint without
// effect on results (removed from every operator at version 6).
func dropConsumed(c *nodeCtx) error {
	if c.removeAttr("consumed_inputs") {
		c.note("removed consumed_inputs (legacy in-place hint)")
	}
	return nil
}

// legacyBroadcast converts the broadcast/axis attributes of the arithmetic,
// comparison and logical operators before version 7 to numpy-style
// broadcasting. With broadcast=0 the shapes were equal; with broadcast=1
// and no axis B's shape was a suffix of A's (or B held one element), which
// numpy broadcasting also accepts; with an axis B's dimensions lined up
// with A's from that axis, which numpy reproduces once B is given trailing
// dimensions of 1.
func legacyBroadcast(c *nodeCtx) error {
	if err := dropConsumed(c); err != nil {
		return err
	}
	bc := c.n.AttrInt("broadcast", 0)
	axisAttr := c.n.Attr("axis")
	hadBroadcast := c.removeAttr("broadcast")
	if bc == 0 || axisAttr == nil {
		if axisAttr != nil {
			c.removeAttr("axis")
		}
		if hadBroadcast || axisAttr != nil {
			c.note("removed broadcast=%d: the legacy rule it selects (equal shapes or suffix match) is a case of numpy broadcasting", bc)
		}
		return nil
	}
	axis := axisAttr.GetI()
	a, b := c.n.Input(0), c.n.Input(1)
	ra, rb := c.rank(a), c.rank(b)
	if ra < 0 || rb < 0 {
		return c.refuse("legacy broadcast with axis=%d needs the ranks of both inputs, which are unknown", axis)
	}
	if axis < 0 || int(axis)+rb > ra {
		return c.refuse("legacy broadcast axis=%d does not fit input ranks %d and %d", axis, ra, rb)
	}
	c.removeAttr("axis")
	extra := ra - int(axis) - rb
	if extra == 0 {
		c.note("removed broadcast=1, axis=%d: B already lines up with A's trailing dimensions, as numpy broadcasting does", axis)
		return nil
	}
	nb, err := c.appendOnes(b, rb, extra)
	if err != nil {
		return err
	}
	if err := c.setInput(1, nb); err != nil {
		return err
	}
	c.note("removed broadcast=1, axis=%d: B given %d trailing dimensions of 1 (%s) so numpy broadcasting lines it up at axis %d", axis, extra, nb, axis)
	return nil
}

// castTo converts Cast-1's type-name attribute to the type number used
// from version 6 on.
func castTo(c *nodeCtx) error {
	a := c.n.Attr("to")
	if a == nil {
		return c.refuse("Cast without the required attribute to")
	}
	if a.GetType() == onnx.AttributeProto_INT {
		return nil
	}
	name := strings.ToUpper(string(a.GetS()))
	code, ok := onnx.TensorProto_DataType_value[name]
	if !ok || code == 0 {
		return c.refuse("Cast to %q: not a TensorProto data type name", string(a.GetS()))
	}
	c.setAttr(graph.AttrInt("to", int64(code)))
	c.note("attribute to=%q rewritten as type number %d", string(a.GetS()), code)
	return nil
}

// concatAxis makes Concat-1's default axis (1) explicit: from version 4 the
// attribute is required.
func concatAxis(c *nodeCtx) error {
	if c.n.Attr("axis") == nil {
		c.setAttr(graph.AttrInt("axis", 1))
		c.note("set axis=1, the version-1 default, now required")
	}
	return nil
}

// reshapeShape moves Reshape-1's shape attribute to the shape input.
func reshapeShape(c *nodeCtx) error {
	if err := dropConsumed(c); err != nil {
		return err
	}
	moved, err := c.attrToInput("shape", 1)
	if err != nil {
		return err
	}
	if !moved && c.n.Input(1) == "" {
		return c.refuse("Reshape has neither a shape attribute nor a shape input")
	}
	return nil
}

// tileRepeats turns Tile-1's (tiles, axis) scalar inputs into Tile-6's
// per-dimension repeats input.
func tileRepeats(c *nodeCtx) error {
	tiles, ok1 := c.g.Constant(c.n.Input(1))
	axisT, ok2 := c.g.Constant(c.n.Input(2))
	r := c.rank(c.n.Input(0))
	if !ok1 || !ok2 || r < 0 {
		return c.refuse("Tile-1 converts to per-dimension repeats only when tiles and axis are constants and the input rank is known")
	}
	tv, err1 := tensor.Int64s(tiles)
	av, err2 := tensor.Int64s(axisT)
	if err1 != nil || err2 != nil || len(tv) != 1 || len(av) != 1 {
		return c.refuse("Tile-1 tiles and axis must be integer scalars")
	}
	axis := av[0]
	if axis < 0 {
		axis += int64(r)
	}
	if axis < 0 || axis >= int64(r) {
		return c.refuse("Tile-1 axis %d out of range for rank %d", av[0], r)
	}
	rep := make([]int64, r)
	for i := range rep {
		rep[i] = 1
	}
	rep[axis] = tv[0]
	name, err := c.addConst("repeats", tensor.FromSlice([]int{r}, rep))
	if err != nil {
		return err
	}
	if err := c.g.SetInputs(c.n, []string{c.n.Input(0), name}); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	c.note("tiles=%d, axis=%d replaced by repeats %v", tv[0], av[0], rep)
	return nil
}

// seluDefaults removes consumed_inputs and pins Selu-1's defaults, which
// version 6 changed (alpha 1.6732 to 1.67326..., gamma 1.0507 to 1.05070...).
func seluDefaults(c *nodeCtx) error {
	if err := dropConsumed(c); err != nil {
		return err
	}
	if c.n.Attr("alpha") == nil {
		c.setAttr(graph.AttrFloat("alpha", 1.6732))
		c.note("set alpha=1.6732, the version-1 default")
	}
	if c.n.Attr("gamma") == nil {
		c.setAttr(graph.AttrFloat("gamma", 1.0507))
		c.note("set gamma=1.0507, the version-1 default")
	}
	return nil
}

// isTest removes the is_test attribute of BatchNormalization and Dropout
// before version 7, which only the inference setting (nonzero) allows:
// from version 7 a node with only its first output is in inference mode.
func isTest(c *nodeCtx) error {
	if c.n.AttrInt("is_test", 0) == 0 {
		return c.refuse("is_test=0 selects training mode; only inference nodes (is_test=1) convert")
	}
	c.removeAttr("is_test")
	c.note("removed is_test=1 (inference is implied from version 7)")
	return nil
}

// batchNormIsTest is isTest for BatchNormalization, which must then have
// no training outputs.
func batchNormIsTest(c *nodeCtx) error {
	if err := isTest(c); err != nil {
		return err
	}
	return batchNormOutputs(c)
}

// dropoutIsTest is isTest for Dropout.
func dropoutIsTest(c *nodeCtx) error { return isTest(c) }

// batchNormSpatial removes spatial, dropped at version 9 (which always
// normalizes per channel, the spatial=1 behaviour).
func batchNormSpatial(c *nodeCtx) error {
	if sp := c.n.AttrInt("spatial", 1); sp != 1 {
		return c.refuse("spatial=%d (per-activation statistics) has no equivalent from version 9", sp)
	}
	if c.removeAttr("spatial") {
		c.note("removed spatial=1 (the only behaviour from version 9)")
	}
	return nil
}

// batchNormOutputs accepts only inference nodes: the optional outputs
// (running statistics, saved statistics) were redefined at version 14.
func batchNormOutputs(c *nodeCtx) error {
	for i, o := range c.n.Outputs() {
		if i > 0 && o != "" {
			return c.refuse("training output %d (%q) is present; only inference nodes with the single output Y convert", i, o)
		}
	}
	return nil
}

// dropoutMask handles the mask output, whose type changed to bool at
// version 10: an unused mask is removed, a used one refused.
func dropoutMask(c *nodeCtx) error {
	if c.n.NumOutputs() < 2 || c.n.Output(1) == "" {
		return nil
	}
	mask := c.n.Output(1)
	if c.used(mask) {
		return c.refuse("mask output %q is used; its element type changed to bool at version 10", mask)
	}
	if err := c.g.ReplaceOutput(c.n, 1, ""); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	c.n.Proto().Output = c.n.Proto().Output[:1]
	c.note("removed unused mask output %q (its type changed to bool)", mask)
	return nil
}

// dropoutRatio moves Dropout's ratio attribute to the ratio input
// (version 12). Without training_mode the node stays in inference mode.
func dropoutRatio(c *nodeCtx) error {
	r, ok := c.attrFloat("ratio")
	if !ok {
		return nil
	}
	name, err := c.addConst("ratio", tensor.Scalar(float32(r)))
	if err != nil {
		return err
	}
	if err := c.setInput(1, name); err != nil {
		return err
	}
	c.removeAttr("ratio")
	c.note("attribute ratio=%g moved to input 1 (%s)", r, name)
	return nil
}

// gemmBroadcast removes Gemm's broadcast attribute (version 7): C of a
// legacy Gemm either had the full (M, N) shape or, with broadcast=1, a
// shape that unidirectional broadcasting accepts.
func gemmBroadcast(c *nodeCtx) error {
	if c.removeAttr("broadcast") {
		c.note("removed broadcast (C broadcasts unidirectionally from version 7)")
	}
	return nil
}

// dropOutputSequence removes the recurrent operators' output_sequence
// attribute (version 7), where the Y output is requested by naming it.
func dropOutputSequence(c *nodeCtx) error {
	if c.removeAttr("output_sequence") {
		c.note("removed output_sequence (Y is produced when its output is named)")
	}
	return nil
}

// preluSlope converts PRelu before version 7, whose slope was one value or
// one per channel (axis 1), to unidirectional numpy broadcasting.
func preluSlope(c *nodeCtx) error {
	x, slope := c.n.Input(0), c.n.Input(1)
	if t, ok := c.g.Constant(slope); ok && t.Len() == 1 {
		return nil
	}
	rx, rs := c.rank(x), c.rank(slope)
	if rx < 0 || rs < 0 {
		return c.refuse("per-channel slope needs the ranks of X and slope, which are unknown")
	}
	if rs != 1 {
		return c.refuse("slope of rank %d: only a single value or one per channel (rank 1) converts", rs)
	}
	if rx <= 2 {
		return nil
	}
	ns, err := c.appendOnes(slope, 1, rx-2)
	if err != nil {
		return err
	}
	if err := c.setInput(1, ns); err != nil {
		return err
	}
	c.note("per-channel slope given %d trailing dimensions of 1 (%s) to broadcast along axis 1", rx-2, ns)
	return nil
}

// upsampleScalesAttr converts Upsample-1's height_scale/width_scale (4-D
// NCHW input) to Upsample-7's scales attribute.
func upsampleScalesAttr(c *nodeCtx) error {
	hs, ok1 := c.attrFloat("height_scale")
	ws, ok2 := c.attrFloat("width_scale")
	if !ok1 || !ok2 {
		return c.refuse("Upsample-1 needs height_scale and width_scale")
	}
	c.removeAttr("height_scale")
	c.removeAttr("width_scale")
	c.setAttr(graph.AttrFloats("scales", 1, 1, float32(hs), float32(ws)))
	c.note("height_scale=%g, width_scale=%g replaced by scales [1 1 %g %g]", hs, ws, hs, ws)
	return nil
}

// upsampleScalesInput moves Upsample-7's scales attribute to an input.
func upsampleScalesInput(c *nodeCtx) error {
	sc, ok := c.n.AttrFloats("scales")
	if !ok {
		return c.refuse("Upsample-7 without the required scales attribute")
	}
	vals := append([]float32(nil), sc...)
	name, err := c.addConst("scales", tensor.FromSlice([]int{len(vals)}, vals))
	if err != nil {
		return err
	}
	if err := c.setInput(1, name); err != nil {
		return err
	}
	c.removeAttr("scales")
	c.note("attribute scales=%v moved to input 1 (%s)", vals, name)
	return nil
}

// upsampleToResize replaces Upsample (deprecated at version 10) by
// Resize-10, which takes the same inputs and mode. Upsample's scales are
// at least 1 by its definition, which the Resize-11 step relies on.
func upsampleToResize(c *nodeCtx) error {
	c.setOpType("Resize")
	c.fromUpsample = true
	c.note("replaced by Resize (same inputs and mode)")
	return nil
}

// resizeCoordinates converts Resize-10 to Resize-11, whose default
// coordinate mapping (half_pixel) and nearest rounding (round_prefer_floor)
// differ from version 10's: output index i reads input coordinate i/scale
// (asymmetric), and nearest takes its floor, which is Upsample's
// definition for scales >= 1. Nearest downscaling was not pinned down by
// version 10, so it is refused. Linear interpolation's coordinate mapping
// is not spelled out by the old versions either; ONNX Runtime implements
// asymmetric, which is kept.
func resizeCoordinates(c *nodeCtx) error {
	mode := c.n.AttrString("mode", "nearest")
	scales := c.n.Input(1)
	if mode == "nearest" {
		if t, ok := c.g.Constant(scales); ok {
			vals, err := tensor.Float32s(t)
			if err != nil {
				return c.refuse("scales constant: %v", err)
			}
			for _, s := range vals {
				if s < 1 {
					return c.refuse("nearest Resize-10 with scale %g < 1: its rounding when downscaling is not defined by version 10", s)
				}
			}
		} else if !c.fromUpsample {
			return c.refuse("nearest Resize-10 with non-constant scales: floor rounding matches version 10 only for scales >= 1, which cannot be checked")
		}
	} else if mode != "linear" {
		return c.refuse("Resize-10 mode %q is not nearest or linear", mode)
	}
	roi := ""
	if c.u.to < 13 {
		name, err := c.addConst("roi", tensor.FromSlice([]int{0}, []float32{}))
		if err != nil {
			return err
		}
		roi = name
	}
	if err := c.g.SetInputs(c.n, []string{c.n.Input(0), roi, scales}); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	c.setAttr(graph.AttrString("coordinate_transformation_mode", "asymmetric"))
	if mode == "nearest" {
		c.setAttr(graph.AttrString("nearest_mode", "floor"))
		c.note("set coordinate_transformation_mode=asymmetric, nearest_mode=floor (version 10 semantics); roi input added")
	} else {
		c.setAttr(graph.AttrString("mode", "linear"))
		c.note("set coordinate_transformation_mode=asymmetric (version 10 semantics); roi input added")
		c.warn("linear interpolation before Resize-11 does not specify its coordinate mapping; kept as asymmetric, which ONNX Runtime implements for it")
	}
	return nil
}

// resizeDeprecatedMode refuses tf_half_pixel_for_nn, deprecated at 13.
func resizeDeprecatedMode(c *nodeCtx) error {
	if m := c.n.AttrString("coordinate_transformation_mode", ""); m == "tf_half_pixel_for_nn" {
		return c.refuse("coordinate_transformation_mode tf_half_pixel_for_nn is deprecated from version 13")
	}
	return nil
}

// roiAlignMode pins RoiAlign's coordinate mapping: before version 16 it
// was output_half_pixel, which version 16 names explicitly (its default is
// half_pixel).
func roiAlignMode(c *nodeCtx) error {
	if c.n.Attr("coordinate_transformation_mode") == nil {
		c.setAttr(graph.AttrString("coordinate_transformation_mode", "output_half_pixel"))
		c.note("set coordinate_transformation_mode=output_half_pixel, the behaviour before version 16")
	}
	return nil
}

// scatterToElements replaces Scatter (deprecated at 11) by ScatterElements,
// which has the same inputs, attribute and meaning.
func scatterToElements(c *nodeCtx) error {
	c.setOpType("ScatterElements")
	c.note("replaced by ScatterElements (same inputs and axis)")
	return nil
}

// reduceAxes moves a Reduce operator's axes attribute to the axes input
// (ReduceSum at 13, the others at 18). Without the attribute the input
// stays absent, which still reduces over all axes (noop_with_empty_axes
// defaults to 0).
func reduceAxes(c *nodeCtx) error {
	if axes, ok := c.attrInts("axes"); ok && len(axes) == 0 {
		c.removeAttr("axes")
		c.note("removed empty axes (reduces over all axes either way)")
		return nil
	}
	_, err := c.attrToInput("axes", 1)
	return err
}

// squeezeAxes moves Squeeze's axes attribute to the axes input (13).
func squeezeAxes(c *nodeCtx) error {
	_, err := c.attrToInput("axes", 1)
	return err
}

// unsqueezeAxes moves Unsqueeze's required axes attribute to the axes
// input (13).
func unsqueezeAxes(c *nodeCtx) error {
	moved, err := c.attrToInput("axes", 1)
	if err != nil {
		return err
	}
	if !moved && c.n.Input(1) == "" {
		return c.refuse("Unsqueeze without axes")
	}
	return nil
}

// splitInputToAttr converts Split-1, whose split sizes could be an input,
// to Split-2, where they are an attribute and axis defaults to 0.
func splitInputToAttr(c *nodeCtx) error {
	if c.n.Attr("axis") == nil {
		return c.refuse("Split-1 without axis: version 1 defines no default")
	}
	if in := c.n.Input(1); in != "" {
		t, ok := c.g.Constant(in)
		if !ok {
			return c.refuse("split sizes input %q is not a constant; version 2 takes them only as an attribute", in)
		}
		vals, err := tensor.Int64s(t)
		if err != nil {
			return c.refuse("split sizes input %q: %v", in, err)
		}
		if err := c.g.SetInputs(c.n, []string{c.n.Input(0)}); err != nil {
			return fmt.Errorf("opset: node %s: %w", c.label, err)
		}
		c.setAttr(graph.AttrInts("split", vals...))
		c.note("split sizes input moved to attribute split=%v", vals)
	}
	return nil
}

// splitAttrToInput moves Split's split attribute to the split input (13).
func splitAttrToInput(c *nodeCtx) error {
	_, err := c.attrToInput("split", 1)
	return err
}

// splitNumOutputs sets num_outputs on an equal Split (no split input),
// which version 18 requires.
func splitNumOutputs(c *nodeCtx) error {
	if c.n.Input(1) != "" || c.n.Attr("num_outputs") != nil {
		return nil
	}
	k := c.n.NumOutputs()
	c.setAttr(graph.AttrInt("num_outputs", int64(k)))
	c.note("set num_outputs=%d for the equal split", k)
	return nil
}

// softmaxAxis converts Softmax, LogSoftmax and Hardmax across version 13.
// Before it, the input was coerced to 2-D at axis (default 1) and the
// operation applied to each row; from 13 it applies along axis alone
// (default -1). The two agree when axis is the last axis; otherwise the
// node is wrapped as Reshape(op(Flatten(x, axis), axis=1), Shape(x)).
func softmaxAxis(c *nodeCtx) error {
	x := c.n.Input(0)
	axis := c.n.AttrInt("axis", 1)
	r := c.rank(x)
	if r >= 0 {
		a := axis
		if a < 0 {
			a += int64(r)
		}
		if a < 0 || (a >= int64(r) && r > 0) {
			return c.refuse("axis %d out of range for rank %d", axis, r)
		}
		if a == int64(r)-1 || r == 0 {
			c.setAttr(graph.AttrInt("axis", -1))
			c.note("axis %d is the last axis of the rank-%d input: flatten-at-axis and per-axis agree; axis set to -1 explicitly", axis, r)
			return nil
		}
	}
	base := c.baseName()
	flat := c.g.UniqueName(x + "_flat2d")
	shape := c.g.UniqueName(x + "_shape")
	out := c.n.Output(0)
	tmp := c.g.UniqueName(out + "_2d")
	if err := c.insertBefore(graph.MakeNode("Flatten", c.g.UniqueName(base+"_flatten"), []string{x}, []string{flat}, graph.AttrInt("axis", axis))); err != nil {
		return err
	}
	if err := c.insertBefore(graph.MakeNode("Shape", c.g.UniqueName(base+"_shape"), []string{x}, []string{shape})); err != nil {
		return err
	}
	if err := c.setInput(0, flat); err != nil {
		return err
	}
	if err := c.g.ReplaceOutput(c.n, 0, tmp); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	var attrs []*onnx.AttributeProto
	if c.u.to >= 14 {
		attrs = append(attrs, graph.AttrInt("allowzero", 1))
	}
	if err := c.insertAfter(graph.MakeNode("Reshape", c.g.UniqueName(base+"_reshape"), []string{tmp, shape}, []string{out}, attrs...)); err != nil {
		return err
	}
	c.setAttr(graph.AttrInt("axis", 1))
	rs := "unknown rank"
	if r >= 0 {
		rs = fmt.Sprintf("rank %d", r)
	}
	c.note("axis %d of an input of %s is not the last axis: wrapped as Reshape(%s(Flatten(x, axis=%d), axis=1), Shape(x)) to keep flatten-at-axis semantics", axis, rs, c.op, axis)
	return nil
}

// padPaddings renames Pad-1's paddings attribute to pads (version 2).
func padPaddings(c *nodeCtx) error {
	p, ok := c.attrInts("paddings")
	if !ok {
		return nil
	}
	c.removeAttr("paddings")
	c.setAttr(graph.AttrInts("pads", p...))
	c.note("attribute paddings renamed pads")
	return nil
}

// padInputs moves Pad's pads and value attributes to inputs (version 11).
func padInputs(c *nodeCtx) error {
	moved, err := c.attrToInput("pads", 1)
	if err != nil {
		return err
	}
	if !moved {
		return c.refuse("Pad without the required pads attribute")
	}
	val, ok := c.attrFloat("value")
	c.removeAttr("value")
	if !ok || val == 0 {
		return nil
	}
	if mode := c.n.AttrString("mode", "constant"); mode != "constant" {
		c.note("dropped value=%g, unused in mode %s", val, mode)
		return nil
	}
	dt := c.elem(c.n.Input(0))
	t, err := scalarOf(dt, val)
	if err != nil {
		return c.refuse("value=%g must become a constant of the input's element type, which is unknown or not floating-point (%v)", val, err)
	}
	name, err := c.addConst("constant_value", t)
	if err != nil {
		return err
	}
	if err := c.setInput(2, name); err != nil {
		return err
	}
	c.note("attribute value=%g moved to input 2 (%s)", val, name)
	return nil
}

// clipInputs moves Clip's min/max attributes to inputs of the input's
// element type (version 11); a bound at the float extreme is left out.
func clipInputs(c *nodeCtx) error {
	lo, hasLo := c.attrFloat("min")
	hi, hasHi := c.attrFloat("max")
	c.removeAttr("min")
	c.removeAttr("max")
	if hasLo && isInf(lo, -1) {
		hasLo = false
	}
	if hasHi && isInf(hi, 1) {
		hasHi = false
	}
	if !hasLo && !hasHi {
		return nil
	}
	dt := c.elem(c.n.Input(0))
	for _, b := range []struct {
		has  bool
		val  float64
		name string
		pos  int
	}{{hasLo, lo, "min", 1}, {hasHi, hi, "max", 2}} {
		if !b.has {
			continue
		}
		t, err := scalarOf(dt, b.val)
		if err != nil {
			return c.refuse("%s=%g must become a constant of the input's element type, which is unknown or not floating-point (%v)", b.name, b.val, err)
		}
		name, err := c.addConst(b.name, t)
		if err != nil {
			return err
		}
		if err := c.setInput(b.pos, name); err != nil {
			return err
		}
		c.note("attribute %s=%g moved to input %d (%s)", b.name, b.val, b.pos, name)
	}
	return nil
}

// lpPoolP converts LpPool/GlobalLpPool's p from float to int (version 2);
// LpPool's kernel_shape also became required.
func lpPoolP(c *nodeCtx) error {
	if c.op == "LpPool" && c.n.Attr("kernel_shape") == nil {
		return c.refuse("LpPool-1 without kernel_shape: version 2 requires it and version 1 defines no default")
	}
	a := c.n.Attr("p")
	if a == nil || a.GetType() == onnx.AttributeProto_INT {
		return nil
	}
	p := float64(a.GetF())
	if p != math.Trunc(p) {
		return c.refuse("p=%g is not an integer, as version 2 requires", p)
	}
	c.setAttr(graph.AttrInt("p", int64(p)))
	c.note("p=%g rewritten as an integer", p)
	return nil
}

// sliceInputs moves Slice-1's starts/ends/axes attributes to inputs
// (version 10); the clamping rules are the same.
func sliceInputs(c *nodeCtx) error {
	starts, ok1 := c.attrInts("starts")
	ends, ok2 := c.attrInts("ends")
	if !ok1 || !ok2 {
		return c.refuse("Slice-1 needs the starts and ends attributes")
	}
	axes, hasAxes := c.attrInts("axes")
	in := []string{c.n.Input(0)}
	for _, p := range []struct {
		name string
		vals []int64
		has  bool
	}{{"starts", starts, true}, {"ends", ends, true}, {"axes", axes, hasAxes}} {
		if !p.has {
			continue
		}
		name, err := c.addConst(p.name, tensor.FromSlice([]int{len(p.vals)}, p.vals))
		if err != nil {
			return err
		}
		in = append(in, name)
		c.removeAttr(p.name)
	}
	if err := c.g.SetInputs(c.n, in); err != nil {
		return fmt.Errorf("opset: node %s: %w", c.label, err)
	}
	if hasAxes {
		c.note("attributes starts=%v, ends=%v, axes=%v moved to inputs", starts, ends, axes)
	} else {
		c.note("attributes starts=%v, ends=%v moved to inputs", starts, ends)
	}
	return nil
}

// topKInput moves TopK-1's k attribute to the K input (version 10).
func topKInput(c *nodeCtx) error {
	k := c.n.Attr("k")
	if k == nil {
		return c.refuse("TopK-1 without the required k attribute")
	}
	name, err := c.addConst("k", tensor.FromSlice([]int{1}, []int64{k.GetI()}))
	if err != nil {
		return err
	}
	if err := c.setInput(1, name); err != nil {
		return err
	}
	c.removeAttr("k")
	c.note("attribute k=%d moved to input 1 (%s)", k.GetI(), name)
	return nil
}
