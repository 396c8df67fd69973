package engine

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// Folding an inference BatchNormalization into the Conv before it, as
// inference runtimes do: BN(y) = scale*(y - mean)/sqrt(var + eps) + b is,
// per output channel o, y*s[o] + (b[o] - mean[o]*s[o]) with s = scale /
// sqrt(var + eps), and the Conv's y = W*x + B gives
//
//	BN(Conv(x)) = (W*s) * x + (B - mean)*s + b
//
// so the pair is one Conv with weights W[o]*s[o] and bias (B[o] -
// mean[o])*s[o] + b[o]. The folded weights are rounded once more, so the
// result can differ from the two steps in the last bits. Only runs without
// observers use it (the BN input is never produced).

// bnFold is a Conv step rebuilt with folded weights (a BatchNormalization,
// or an Add of a per-channel constant, folded in).
type bnFold struct {
	kern      kernel.Kernel
	wID, bID  int // constant slots of the folded weight and bias
	bnStep    int // index of the BatchNormalization step folded in
	name      string
	outputIDs []int
}

// foldBNs returns the steps with every foldable Conv + BatchNormalization
// pair merged, and whether there was one. Folds are made once per plan
// and reused (fuse runs again when outputs are marked).
func (p *plan) foldBNs(in []step) ([]step, bool) {
	readers, reader := p.readersOf(in)
	var out []step
	dropped := map[int]bool{}
	for i := range in {
		if dropped[i] {
			continue
		}
		st := in[i]
		st.free = nil
		if f := p.foldAt(in, i, readers, reader); f != nil {
			st.kern = f.kern
			st.in = []int{st.in[0], f.wID, f.bID}
			st.out = f.outputIDs
			st.name = f.name
			dropped[f.bnStep] = true
		}
		out = append(out, st)
	}
	return out, len(dropped) > 0
}

// foldAt returns the fold of step i with the step reading its output, or
// nil when the pair does not qualify: a float32 Conv with constant weights
// (and bias, if any) whose output is not kept and is read only by an
// inference-mode BatchNormalization with constant float32 parameters, one
// per output channel, or by an Add of a per-channel constant (foldAdd).
func (p *plan) foldAt(in []step, i int, readers, reader []int) *bnFold {
	if f, ok := p.folds[i]; ok {
		return f
	}
	st := &in[i]
	if st.proto.GetOpType() != "Conv" || kernel.NormalizeDomain(st.proto.GetDomain()) != "" || len(st.out) != 1 || st.out[0] < 0 {
		return nil
	}
	id := st.out[0]
	j := reader[id]
	if p.keep[id] || readers[id] != 1 || j <= i {
		return nil
	}
	bn := &in[j]
	if bn.proto.GetOpType() == "Add" {
		return p.foldAdd(st, bn, i, j)
	}
	if bn.proto.GetOpType() != "BatchNormalization" || kernel.NormalizeDomain(bn.proto.GetDomain()) != "" ||
		len(bn.in) != 5 || bn.in[0] != id || len(bn.out) < 1 || bn.out[0] < 0 {
		return nil
	}
	for _, o := range bn.out[1:] {
		if o >= 0 {
			return nil // training outputs requested
		}
	}
	eps := float32(1e-5)
	for _, a := range bn.proto.GetAttribute() {
		switch a.GetName() {
		case "epsilon":
			eps = a.GetF()
		case "momentum", "consumed_inputs":
		case "training_mode": // opset 14+: 1 uses the batch statistics
			if a.GetI() != 0 {
				return nil
			}
		case "is_test": // before opset 7: 0 is training
			if a.GetI() == 0 {
				return nil
			}
		case "spatial": // before opset 9: 0 keeps statistics per activation
			if a.GetI() != 1 {
				return nil
			}
		default:
			return nil
		}
	}
	w := float32s(st.consts, 1)
	if w == nil || len(st.consts[1].Shape) < 3 {
		return nil
	}
	m := st.consts[1].Shape[0]
	var bias []float32
	if len(st.in) > 2 && st.in[2] >= 0 {
		if bias = float32s(st.consts, 2); bias == nil || len(bias) != m {
			return nil
		}
	}
	params := make([][]float32, 4)
	for k := range params {
		if params[k] = float32s(bn.consts, k+1); params[k] == nil || len(params[k]) != m {
			return nil
		}
	}
	scale, b, mean, variance := params[0], params[1], params[2], params[3]
	per := len(w) / m
	wf := make([]float32, len(w))
	bf := make([]float32, m)
	for o := 0; o < m; o++ {
		s := float32(float64(scale[o]) / math.Sqrt(float64(variance[o])+float64(eps)))
		for q := o * per; q < (o+1)*per; q++ {
			wf[q] = w[q] * s
		}
		var bo float32
		if bias != nil {
			bo = bias[o]
		}
		bf[o] = (bo-mean[o])*s + b[o]
	}
	wt := tensor.FromSlice(append([]int(nil), st.consts[1].Shape...), wf)
	return p.newFold(st, bn, i, j, wt, bf)
}

// foldAdd folds an Add of a per-output-channel constant (shape [M, 1, 1],
// [1, M, 1, 1], ...) into the Conv's bias: Conv(x) + a = W*x + (B + a).
func (p *plan) foldAdd(st, add *step, i, j int) *bnFold {
	if kernel.NormalizeDomain(add.proto.GetDomain()) != "" || len(add.in) != 2 || len(add.out) != 1 || add.out[0] < 0 {
		return nil
	}
	w := float32s(st.consts, 1)
	if w == nil || len(st.consts[1].Shape) < 3 {
		return nil
	}
	wShape := st.consts[1].Shape
	m := wShape[0]
	k := 1 // the constant operand
	if add.in[1] == st.out[0] {
		k = 0
	}
	a := float32s(add.consts, k)
	if a == nil || add.in[1-k] != st.out[0] || len(a) != m {
		return nil
	}
	// The constant must broadcast along the channel axis only: its shape,
	// aligned to the right with the output's rank, is [.., M, 1, ..., 1].
	as := add.consts[k].Shape
	rank := len(wShape) // the output's rank equals the weight's
	if len(as) > rank || len(as) < rank-1 {
		return nil
	}
	for d, n := range as {
		if axis := d + rank - len(as); axis == 1 && n != m || axis != 1 && n != 1 {
			return nil
		}
	}
	var bias []float32
	if len(st.in) > 2 && st.in[2] >= 0 {
		if bias = float32s(st.consts, 2); bias == nil || len(bias) != m {
			return nil
		}
	}
	bf := make([]float32, m)
	for o := range bf {
		if bias != nil {
			bf[o] = bias[o]
		}
		bf[o] += a[o]
	}
	return p.newFold(st, add, i, j, st.consts[1], bf)
}

// newFold builds the Conv of step st with weights wt and bias bf, writing
// the output of step next (index j), and records it as the fold of step i.
func (p *plan) newFold(st, next *step, i, j int, wt *tensor.Tensor, bf []float32) *bnFold {
	bt := tensor.FromSlice([]int{len(bf)}, bf)
	base := fmt.Sprintf("%s/folded", p.names[next.out[0]])
	wID, bID := p.addConst(base+"_W", wt), p.addConst(base+"_B", bt)
	node := proto.Clone(st.proto).(*onnx.NodeProto)
	node.Input = []string{st.proto.GetInput()[0], p.names[wID], p.names[bID]}
	node.Output = []string{p.names[next.out[0]]}
	op, ok := kernel.Lookup("", "Conv", st.opset)
	if !ok {
		return nil
	}
	kern, err := op.Build(kernel.NewNode(node, st.opset, []*tensor.Tensor{nil, wt, bt}, nil))
	if err != nil {
		return nil
	}
	f := &bnFold{kern: kern, wID: wID, bID: bID, bnStep: j, name: st.name + "+" + next.name, outputIDs: []int{next.out[0]}}
	if p.folds == nil {
		p.folds = map[int]*bnFold{}
	}
	p.folds[i] = f
	return f
}

// float32s returns the data of consts[i] when it is a float32 constant.
func float32s(consts []*tensor.Tensor, i int) []float32 {
	if i >= len(consts) || consts[i] == nil || consts[i].DType != tensor.Float32 {
		return nil
	}
	return consts[i].Data.([]float32)
}

// addConst adds a constant value to the plan under a name no value has.
func (p *plan) addConst(name string, t *tensor.Tensor) int {
	for n := 1; ; n++ {
		if _, taken := p.ids[name]; !taken {
			break
		}
		name = fmt.Sprintf("%s_%d", name, n)
	}
	id := len(p.names)
	p.ids[name] = id
	p.names = append(p.names, name)
	p.cvals = append(p.cvals, t)
	p.keep = append(p.keep, false)
	return id
}
