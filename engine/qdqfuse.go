package engine

import (
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/engine/kernel"
	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// QDQ fusion. A model in QDQ form computes a quantized Conv as
//
//	x_q -> DequantizeLinear -> Conv(., DequantizeLinear(w_q), DequantizeLinear(b_q)) -> QuantizeLinear -> y_q
//
// that is, in float on dequantized values. Inference runtimes (ONNX
// Runtime's QDQ transformer) run such a group as one integer kernel,
// QLinearConv on x_q and w_q with an int32 bias; so does the engine in runs
// without observers, which need not produce the float values in between.
// The same holds for MatMul and QLinearMatMul (without bias); and a data
// movement op (Reshape, Transpose, Gather, MaxPool, ...) between a
// DequantizeLinear and a QuantizeLinear of one scale and zero point runs
// on the 8-bit values directly, which is exact. The integer
// kernel sums exactly in int32 and rounds once, where the float form rounds
// each partial sum, so outputs can differ by one quantization step in rare
// ties: the integer result is what the deployed model computes.

// qdqFuse is a Conv or MatMul step of the plan rebuilt as an integer
// kernel.
type qdqFuse struct {
	kern  kernel.Kernel
	name  string
	in    []int // slots of the integer kernel's inputs
	out   int   // slot of the QuantizeLinear output
	qStep int   // index of the QuantizeLinear step taken over
	// dqSteps are the input DequantizeLinear steps the fused step is the
	// only reader of: they are dropped.
	dqSteps []int
}

// fuseQDQ returns the steps with every fusable QDQ group run as one integer
// kernel, and whether there was one. Fusions are made once per plan and
// reused (fuse runs again when outputs are marked).
func (p *plan) fuseQDQ(in []step) ([]step, bool) {
	readers, reader := p.readersOf(in)
	producer := make(map[int]int, len(in))
	for i, st := range in {
		for _, id := range st.out {
			if id >= 0 {
				producer[id] = i
			}
		}
	}
	if p.qdq == nil {
		p.qdq = map[int]*qdqFuse{}
	}
	fused := map[int]*qdqFuse{}
	dropped := map[int]bool{}
	for i := range in {
		f, ok := p.qdq[i]
		if !ok {
			f = p.qdqAt(in, i, readers, reader, producer)
			p.qdq[i] = f
		}
		if f == nil || dropped[i] || dropped[f.qStep] {
			continue
		}
		fused[i] = f
		dropped[f.qStep] = true
		for _, j := range f.dqSteps {
			dropped[j] = true
		}
	}
	if len(fused) == 0 {
		return in, false
	}
	out := make([]step, 0, len(in))
	for i := range in {
		if dropped[i] {
			continue
		}
		st := in[i]
		st.free = nil
		if f := fused[i]; f != nil {
			st.kern, st.name = f.kern, f.name
			st.in = f.in
			st.out = []int{f.out}
			st.clamp = nil
			st.consts = nil
		}
		out = append(out, st)
	}
	return out, true
}

// qdqAt returns the fusion of step i, or nil when it is not a Conv or
// MatMul in a fusable QDQ group: its first input dequantized per tensor
// from a step's output, its weight (and Conv bias) constant and computed by
// a DequantizeLinear of constant 8-bit (int32 for the bias) data, and its
// output, not kept, read only by a QuantizeLinear per tensor.
func (p *plan) qdqAt(in []step, i int, readers, reader []int, producer map[int]int) *qdqFuse {
	st := &in[i]
	op := st.proto.GetOpType()
	if passThroughOp(st.proto) {
		return p.qdqPassAt(in, i, readers, reader, producer)
	}
	if op == "Concat" && kernel.NormalizeDomain(st.proto.GetDomain()) == "" {
		return p.qdqConcatAt(in, i, readers, reader, producer)
	}
	if (op != "Conv" && op != "MatMul") || kernel.NormalizeDomain(st.proto.GetDomain()) != "" || st.opset < 10 ||
		len(st.out) != 1 || st.out[0] < 0 || len(st.in) < 2 {
		return nil
	}
	// The output read only by a per-tensor QuantizeLinear, the input a
	// per-tensor DequantizeLinear run in this graph.
	k := p.outputQ(in, i, readers, reader)
	x := st.in[0]
	j := inputDQ(in, i, x, producer)
	if k < 0 || j < 0 {
		return nil
	}
	q, dq := &in[k], &in[j]
	xs, _ := scalarParams(dq.consts, 1, 2)
	// The weight: a folded DequantizeLinear of constant 8-bit data.
	w := p.foldedFrom[st.in[1]]
	if w == nil || !isOp(w, "DequantizeLinear") || len(w.in) < 2 || !quantOnlyAttrs(w.proto) {
		return nil
	}
	wq := w.consts[0]
	if wq == nil || (wq.DType != tensor.Uint8 && wq.DType != tensor.Int8) {
		return nil
	}
	ws := w.consts[1]
	var wzp *tensor.Tensor
	if len(w.consts) > 2 {
		wzp = w.consts[2]
	}
	if ws == nil || ws.DType != tensor.Float32 || (wzp != nil && (wzp.DType != wq.DType || wzp.Len() != ws.Len())) {
		return nil
	}
	if ws.Len() > 1 {
		// Per channel: along the output channels (Conv's axis 0, MatMul's
		// last axis of a 2-D weight).
		want := 0
		if op == "MatMul" {
			if wq.Rank() != 2 {
				return nil
			}
			want = 1
		}
		if wq.Rank() < 1 || ws.Rank() != 1 || dqAxis(w.proto, wq.Rank()) != want || ws.Len() != wq.Shape[want] {
			return nil
		}
	}
	inputs := []int{dq.in[0], dq.in[1], dq.in[2], w.in[0], w.in[1], -1, q.in[1], q.in[2]}
	if wzp != nil && len(w.in) > 2 && w.in[2] >= 0 {
		inputs[5] = w.in[2]
	} else {
		inputs[5] = p.addConst(p.names[w.in[0]]+"_zero_point", zeroPoints(wq.DType, ws.Shape))
	}
	// The bias (Conv): int32 data dequantized with scale x_scale*w_scale.
	if op == "Conv" && len(st.in) > 2 && st.in[2] >= 0 {
		b := p.foldedFrom[st.in[2]]
		if b == nil || !isOp(b, "DequantizeLinear") || len(b.in) < 2 || b.consts[0] == nil || b.consts[0].DType != tensor.Int32 {
			return nil
		}
		if len(b.consts) > 2 && b.consts[2] != nil && !allZero(b.consts[2]) {
			return nil
		}
		if !biasScaleMatches(b.consts[1], xs, ws) {
			return nil
		}
		inputs = append(inputs, b.in[0])
	}
	if op == "Conv" && len(st.in) > 3 {
		return nil
	}
	qop := "QLinearConv"
	if op == "MatMul" {
		qop = "QLinearMatMul"
	}
	names := make([]string, len(inputs))
	consts := make([]*tensor.Tensor, len(inputs))
	for n, id := range inputs {
		names[n] = p.names[id]
		consts[n] = p.cvals[id]
	}
	node := &onnx.NodeProto{
		Name:      proto.String(st.name + "+QDQ"),
		OpType:    proto.String(qop),
		Input:     names,
		Output:    []string{p.names[q.out[0]]},
		Attribute: st.proto.GetAttribute(),
	}
	kop, ok := kernel.Lookup("", qop, st.opset)
	if !ok {
		return nil
	}
	kern, err := kop.Build(kernel.NewNode(node, st.opset, consts, nil))
	if err != nil {
		return nil
	}
	return &qdqFuse{
		kern: kern, name: st.name + "+" + q.name, in: inputs, out: q.out[0],
		qStep: k, dqSteps: aloneReader(j, x, readers, p.keep),
	}
}

// outputQ returns the index of the QuantizeLinear step that alone reads
// step i's single output (not kept), with a per-tensor scale and zero
// point, or -1.
func (p *plan) outputQ(in []step, i int, readers, reader []int) int {
	st := &in[i]
	if len(st.out) != 1 || st.out[0] < 0 {
		return -1
	}
	y := st.out[0]
	k := reader[y]
	if p.keep[y] || readers[y] != 1 || k <= i {
		return -1
	}
	q := &in[k]
	if !isOp(q, "QuantizeLinear") || len(q.in) < 3 || q.in[0] != y || len(q.out) != 1 || q.out[0] < 0 || !quantOnlyAttrs(q.proto) {
		return -1
	}
	if s, _ := scalarParams(q.consts, 1, 2); s == nil {
		return -1
	}
	return k
}

// inputDQ returns the index of the DequantizeLinear step before step i
// that produces x, with a per-tensor scale and zero point, or -1.
func inputDQ(in []step, i, x int, producer map[int]int) int {
	j, ok := producer[x]
	if x < 0 || !ok || j >= i {
		return -1
	}
	dq := &in[j]
	if !isOp(dq, "DequantizeLinear") || len(dq.in) < 3 || len(dq.out) != 1 || dq.out[0] != x || !quantOnlyAttrs(dq.proto) {
		return -1
	}
	if s, _ := scalarParams(dq.consts, 1, 2); s == nil {
		return -1
	}
	return j
}

// aloneReader returns [j] when the DequantizeLinear step j's output x has
// one reader (the step being fused) and is not kept, else nothing.
func aloneReader(j, x int, readers []int, keep []bool) []int {
	if readers[x] == 1 && !keep[x] {
		return []int{j}
	}
	return nil
}

// passThroughOp reports whether the node moves or selects values without
// computing new ones (so DequantizeLinear -> node -> QuantizeLinear with
// one scale and zero point is the node on the 8-bit values, exactly).
func passThroughOp(n *onnx.NodeProto) bool {
	if kernel.NormalizeDomain(n.GetDomain()) != "" {
		return false
	}
	switch n.GetOpType() {
	case "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Gather",
		"Slice", "MaxPool", "DepthToSpace", "SpaceToDepth", "Expand", "Tile":
		return true
	case "Resize":
		for _, a := range n.GetAttribute() {
			if a.GetName() == "mode" && string(a.GetS()) != "nearest" {
				return false
			}
		}
		return true
	}
	return false
}

// qdqPassAt returns the fusion of the data movement step i, or nil: its
// first input dequantized per tensor from a step's output, its single
// output (not kept) read only by a QuantizeLinear with the same scale and
// zero point. The step then runs on the 8-bit values: the same result
// without the two conversions.
func (p *plan) qdqPassAt(in []step, i int, readers, reader []int, producer map[int]int) *qdqFuse {
	st := &in[i]
	if len(st.out) != 1 || st.out[0] < 0 || len(st.in) < 1 || st.in[0] < 0 {
		return nil
	}
	if st.proto.GetOpType() == "MaxPool" && (st.opset < 12 || len(st.proto.GetOutput()) > 1 && st.proto.GetOutput()[1] != "") {
		return nil // 8-bit MaxPool needs opset 12; or the indices are requested
	}
	k := p.outputQ(in, i, readers, reader)
	x := st.in[0]
	j := inputDQ(in, i, x, producer)
	if k < 0 || j < 0 {
		return nil
	}
	q, dq := &in[k], &in[j]
	xs, xzp := scalarParams(dq.consts, 1, 2)
	ys, yzp := scalarParams(q.consts, 1, 2)
	if xzp.DType != yzp.DType ||
		xs.Data.([]float32)[0] != ys.Data.([]float32)[0] || !sameValue(xzp, yzp) {
		return nil
	}
	inputs := append([]int{dq.in[0]}, st.in[1:]...)
	return &qdqFuse{
		kern: st.kern, name: st.name + "+" + q.name, in: inputs, out: q.out[0],
		qStep: k, dqSteps: aloneReader(j, x, readers, p.keep),
	}
}

// qdqConcatAt returns the fusion of the Concat step i into com.microsoft's
// QLinearConcat (each 8-bit input requantized to the output's parameters by
// a table computed as DequantizeLinear then QuantizeLinear do), or nil:
// every input dequantized per tensor from a step's output, the output (not
// kept) read only by a per-tensor QuantizeLinear.
func (p *plan) qdqConcatAt(in []step, i int, readers, reader []int, producer map[int]int) *qdqFuse {
	st := &in[i]
	if len(st.out) != 1 || st.out[0] < 0 || len(st.in) == 0 {
		return nil
	}
	k := p.outputQ(in, i, readers, reader)
	if k < 0 {
		return nil
	}
	q := &in[k]
	inputs := []int{q.in[1], q.in[2]}
	var dqs []int
	seen := map[int]bool{}
	for _, x := range st.in {
		j := inputDQ(in, i, x, producer)
		if j < 0 {
			return nil
		}
		dq := &in[j]
		inputs = append(inputs, dq.in[0], dq.in[1], dq.in[2])
		if !seen[x] {
			seen[x] = true
			// Read once per use by this Concat: alone when all its reads
			// are this Concat's.
			uses := 0
			for _, v := range st.in {
				if v == x {
					uses++
				}
			}
			if readers[x] == uses && !p.keep[x] {
				dqs = append(dqs, j)
			}
		}
	}
	names := make([]string, len(inputs))
	consts := make([]*tensor.Tensor, len(inputs))
	for n, id := range inputs {
		names[n] = p.names[id]
		consts[n] = p.cvals[id]
	}
	node := &onnx.NodeProto{
		Name: proto.String(st.name + "+QDQ"), OpType: proto.String("QLinearConcat"), Domain: proto.String("com.microsoft"),
		Input: names, Output: []string{p.names[q.out[0]]}, Attribute: st.proto.GetAttribute(),
	}
	kop, ok := kernel.Lookup("com.microsoft", "QLinearConcat", 1)
	if !ok {
		return nil
	}
	kern, err := kop.Build(kernel.NewNode(node, 1, consts, nil))
	if err != nil {
		return nil
	}
	return &qdqFuse{kern: kern, name: st.name + "+" + q.name, in: inputs, out: q.out[0], qStep: k, dqSteps: dqs}
}

// sameValue reports whether two one-element 8-bit tensors hold the same
// value.
func sameValue(a, b *tensor.Tensor) bool {
	x, err1 := tensor.Int64s(a)
	y, err2 := tensor.Int64s(b)
	return err1 == nil && err2 == nil && len(x) == 1 && len(y) == 1 && x[0] == y[0]
}

func isOp(st *step, op string) bool {
	return st.proto.GetOpType() == op && kernel.NormalizeDomain(st.proto.GetDomain()) == ""
}

// quantOnlyAttrs reports whether a QuantizeLinear or DequantizeLinear node
// has only attributes the fusion keeps the meaning of: axis (irrelevant per
// tensor, checked per channel) and saturate at its default (float8 only).
func quantOnlyAttrs(n *onnx.NodeProto) bool {
	for _, a := range n.GetAttribute() {
		switch a.GetName() {
		case "axis":
		case "saturate":
			if a.GetI() != 1 {
				return false
			}
		default: // block_size, output_dtype, precision: not fused
			return false
		}
	}
	return true
}

// scalarParams returns the constants at i (a float32 scale) and j (an 8-bit
// zero point) when both are single values, else nils.
func scalarParams(consts []*tensor.Tensor, i, j int) (scale, zp *tensor.Tensor) {
	if j >= len(consts) {
		return nil, nil
	}
	s, z := consts[i], consts[j]
	if s == nil || z == nil || s.DType != tensor.Float32 || s.Len() != 1 || z.Len() != 1 ||
		(z.DType != tensor.Uint8 && z.DType != tensor.Int8) {
		return nil, nil
	}
	return s, z
}

// dqAxis returns a DequantizeLinear node's axis attribute, normalized
// (default 1).
func dqAxis(n *onnx.NodeProto, rank int) int {
	axis := 1
	for _, a := range n.GetAttribute() {
		if a.GetName() == "axis" {
			axis = int(a.GetI())
		}
	}
	if axis < 0 {
		axis += rank
	}
	return axis
}

// zeroPoints returns zero points of 0 of type dt and the given shape.
func zeroPoints(dt tensor.DataType, shape []int) *tensor.Tensor {
	return tensor.New(dt, shape...)
}

func allZero(t *tensor.Tensor) bool {
	v, err := tensor.Int64s(t)
	if err != nil {
		return false
	}
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// biasScaleMatches reports whether the bias scale is x_scale * w_scale
// (per channel when w_scale is), to float32 precision: then the int32 bias
// data is exactly what QLinearConv adds to its accumulator.
func biasScaleMatches(bs, xs, ws *tensor.Tensor) bool {
	if bs == nil || bs.DType != tensor.Float32 {
		return false
	}
	b, x, w := bs.Data.([]float32), xs.Data.([]float32)[0], ws.Data.([]float32)
	if len(b) != 1 && len(b) != len(w) {
		return false
	}
	for c := range max(len(b), len(w)) {
		bc, wc := b[min(c, len(b)-1)], w[min(c, len(w)-1)]
		want := float64(x) * float64(wc)
		if math.Abs(float64(bc)-want) > 1e-6*math.Abs(want) {
			return false
		}
	}
	return true
}
