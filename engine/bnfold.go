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

// bnFold is a Conv step rebuilt with folded weights.
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

// foldAt returns the fold of step i with the BatchNormalization reading
// its output, or nil when the pair does not qualify: a float32 Conv with
// constant weights (and bias, if any) whose output is not kept and is read
// only by an inference-mode BatchNormalization with constant float32
// parameters, one per output channel.
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
	bt := tensor.FromSlice([]int{m}, bf)
	base := fmt.Sprintf("%s/bn_folded", p.names[bn.out[0]])
	wID, bID := p.addConst(base+"_W", wt), p.addConst(base+"_B", bt)
	node := proto.Clone(st.proto).(*onnx.NodeProto)
	node.Input = []string{st.proto.GetInput()[0], p.names[wID], p.names[bID]}
	node.Output = []string{p.names[bn.out[0]]}
	op, ok := kernel.Lookup("", "Conv", st.opset)
	if !ok {
		return nil
	}
	kern, err := op.Build(kernel.NewNode(node, st.opset, []*tensor.Tensor{nil, wt, bt}, nil))
	if err != nil {
		return nil
	}
	f := &bnFold{kern: kern, wID: wID, bID: bID, bnStep: j, name: st.name + "+" + bn.name, outputIDs: []int{bn.out[0]}}
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
