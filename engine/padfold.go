package engine

import (
	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// foldPads merges each zero Pad of the spatial axes alone whose output only
// a Conv reads (as its data input) into that Conv's pads, as ONNX Runtime
// does: models converted from TensorFlow pad explicitly before strided
// convolutions, and the padded copy costs as much memory traffic as a
// cheap layer. The Conv step then reads the Pad's input; its proto is
// replaced, so that later folds (BatchNormalization, Add) start from it.
func (p *plan) foldPads(in []step) ([]step, bool) {
	readers, reader := p.readersOf(in)
	dropped := map[int]bool{}
	out := make([]step, len(in))
	copy(out, in)
	for i := range in {
		pad := &in[i]
		if pad.proto.GetOpType() != "Pad" || kernel.NormalizeDomain(pad.proto.GetDomain()) != "" ||
			len(pad.out) != 1 || pad.out[0] < 0 || len(pad.in) < 1 || pad.in[0] < 0 {
			continue
		}
		id := pad.out[0]
		j := reader[id]
		if p.keep[id] || readers[id] != 1 || j <= i {
			continue
		}
		conv := &out[j]
		if conv.proto.GetOpType() != "Conv" || kernel.NormalizeDomain(conv.proto.GetDomain()) != "" || len(conv.in) < 2 || conv.in[0] != id {
			continue
		}
		spatial, ok := zeroSpatialPads(pad)
		if !ok {
			continue
		}
		node, ok := convWithPads(conv.proto, spatial)
		if !ok {
			continue
		}
		node.Input[0] = pad.proto.GetInput()[0]
		op, found := kernel.Lookup("", "Conv", conv.opset)
		if !found {
			continue
		}
		consts := append([]*tensor.Tensor{nil}, conv.consts[1:]...)
		kern, err := op.Build(kernel.NewNode(node, conv.opset, consts, nil))
		if err != nil {
			continue
		}
		conv.proto, conv.kern = node, kern
		conv.in = append([]int{pad.in[0]}, conv.in[1:]...)
		conv.consts = append([]*tensor.Tensor{pad.consts[0]}, conv.consts[1:]...)
		conv.name = pad.name + "+" + conv.name
		dropped[i] = true
	}
	if len(dropped) == 0 {
		return in, false
	}
	kept := out[:0]
	for i, st := range out {
		if !dropped[i] {
			st.free = nil
			kept = append(kept, st)
		}
	}
	return kept, true
}

// zeroSpatialPads returns the pads of a Pad step that pads with zeros, in
// constant mode, only the axes after the first two (by at least 0), as a
// Conv's pads attribute lists them: the begins of those axes, then their
// ends.
func zeroSpatialPads(st *step) ([]int64, bool) {
	mode := "constant"
	var pads []int64
	value := float32(0)
	for _, a := range st.proto.GetAttribute() {
		switch a.GetName() {
		case "mode":
			mode = string(a.GetS())
		case "pads": // before opset 11
			pads = a.GetInts()
		case "value": // before opset 11
			value = a.GetF()
		default:
			return nil, false
		}
	}
	if mode != "constant" || value != 0 {
		return nil, false
	}
	if st.opset >= 11 {
		if len(st.consts) < 2 || st.consts[1] == nil || st.consts[1].DType != tensor.Int64 {
			return nil, false
		}
		pads = st.consts[1].Data.([]int64)
		if len(st.in) > 2 && st.in[2] >= 0 {
			c := st.consts[2]
			if c == nil || c.Len() != 1 {
				return nil, false
			}
			f, err := tensor.Float32s(c)
			if err != nil || f[0] != 0 {
				return nil, false
			}
		}
		if len(st.in) > 3 && st.in[3] >= 0 {
			return nil, false // axes (opset 18): not folded
		}
	}
	rank := len(pads) / 2
	if len(pads)%2 != 0 || rank < 3 {
		return nil, false
	}
	spatial := make([]int64, 0, 2*(rank-2))
	for _, half := range [][]int64{pads[:rank], pads[rank:]} {
		if half[0] != 0 || half[1] != 0 {
			return nil, false
		}
		for _, v := range half[2:] {
			if v < 0 {
				return nil, false
			}
			spatial = append(spatial, v)
		}
	}
	return spatial, true
}

// convWithPads returns a copy of a Conv node with extra added to its pads,
// or false when its auto_pad computes them (SAME_UPPER, SAME_LOWER) or its
// pads do not match extra's length.
func convWithPads(conv *onnx.NodeProto, extra []int64) (*onnx.NodeProto, bool) {
	node := proto.Clone(conv).(*onnx.NodeProto)
	pads := make([]int64, len(extra))
	attrs := node.Attribute[:0]
	for _, a := range node.Attribute {
		switch a.GetName() {
		case "auto_pad":
			switch s := string(a.GetS()); s {
			case "", "NOTSET":
			case "VALID":
				continue // explicit pads below
			default:
				return nil, false
			}
		case "pads":
			if len(a.GetInts()) != len(extra) {
				return nil, false
			}
			copy(pads, a.GetInts())
			continue
		}
		attrs = append(attrs, a)
	}
	for i, v := range extra {
		pads[i] += v
	}
	node.Attribute = append(attrs, &onnx.AttributeProto{
		Name: proto.String("pads"), Type: onnx.AttributeProto_INTS.Enum(), Ints: pads,
	})
	return node, true
}
