package kernel

import (
	"sync/atomic"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "ConvTranspose", Build: buildConvTranspose})
}

// convTransposeKernel is a prepared ConvTranspose node.
type convTransposeKernel struct {
	n     *Node
	attrs *TransposeAttrs
	group int
	// Set when W is a constant float: its shape and, per group, the
	// transposed weight packed for the GEMM.
	wShape []int
	packed []*gemm.PackedA
	plan   atomic.Pointer[convTransposePlan] // geometry of the last shapes seen
}

// convTransposeCols recycles the patch matrices of ConvTranspose kernels.
var convTransposeCols cvBufPool

// convTransposePlan is a ConvTranspose's geometry for one pair of input
// and weight shapes, read-only once made.
type convTransposePlan struct {
	xShape, wShape []int
	win            *Window
	outShape       []int
}

// planFor returns the geometry for these shapes (m output channels), from
// the last one made when the shapes match.
func (k *convTransposeKernel) planFor(xShape, wShape []int, m int) (*convTransposePlan, error) {
	if p := k.plan.Load(); p != nil && cvSameInts(p.xShape, xShape) && cvSameInts(p.wShape, wShape) {
		return p, nil
	}
	win, err := k.attrs.ResolveTranspose(xShape[2:], wShape[2:])
	if err != nil {
		return nil, k.n.Errorf("input %v, weight %v: %w", xShape, wShape, err)
	}
	p := &convTransposePlan{
		xShape: append([]int(nil), xShape...), wShape: append([]int(nil), wShape...),
		win: win, outShape: append([]int{xShape[0], m}, win.In...),
	}
	k.plan.Store(p)
	return p, nil
}

// buildConvTranspose prepares ConvTranspose (opsets 1, 11, 22): X [N, C,
// D1..Dn], W [C, M/group, k1..kn], optional B [M] -> Y [N, M, O1..On]. Each
// input value scatters its kernel-weighted copy onto the output: per image
// and group, col = W_g^T x X_g and Y_g = col2im(col).
// https://onnx.ai/onnx/operators/onnx__ConvTranspose.html
func buildConvTranspose(n *Node) (Kernel, error) {
	attrs, err := ReadTransposeAttrs(n)
	if err != nil {
		return nil, err
	}
	g, err := n.Int("group", 1)
	if err != nil {
		return nil, err
	}
	if g < 1 || g > 1<<24 {
		return nil, n.Errorf("group %d out of range", g)
	}
	k := &convTransposeKernel{n: n, attrs: attrs, group: int(g)}
	if w := n.Const(1); w != nil && (w.DType == tensor.Float32 || cvIsHalf(w.DType)) {
		if err := w.Check(); err != nil {
			return nil, n.Errorf("weight: %w", err)
		}
		if len(w.Shape) < 3 || w.Shape[0]%k.group != 0 {
			return nil, n.Errorf("weight shape %v does not fit group %d", w.Shape, k.group)
		}
		wf, err := tensor.Float32s(w)
		if err != nil {
			return nil, n.Errorf("weight: %w", err)
		}
		cg := w.Shape[0] / k.group
		rows := prodInts(w.Shape[1:]) // Mg * K
		k.packed = make([]*gemm.PackedA, k.group)
		for gi := range k.packed {
			p, err := gemm.PackA(true, rows, cg, wf[gi*cg*rows:(gi+1)*cg*rows], rows)
			if err != nil {
				return nil, n.Errorf("packing weight: %w", err)
			}
			k.packed[gi] = p
		}
		k.wShape = append([]int(nil), w.Shape...)
	}
	return k, nil
}

func (k *convTransposeKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	x, w := in[0], in[1]
	var b *tensor.Tensor
	if len(in) > 2 {
		b = in[2]
	}
	if w.DType != x.DType || (b != nil && b.DType != x.DType) {
		return nil, n.Errorf("input types differ: X %v, W %v", x.DType, w.DType)
	}
	if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return nil, n.Errorf("input %v and weight %v: need [N, C, spatial...] and a weight of the same rank", x.Shape, w.Shape)
	}
	c := x.Shape[1]
	if w.Shape[0] != c || c%k.group != 0 {
		return nil, n.Errorf("input has %d channels, weight %v with group %d", c, w.Shape, k.group)
	}
	mg := w.Shape[1]
	m := mg * k.group
	if b != nil && (len(b.Shape) != 1 || b.Shape[0] != m) {
		return nil, n.Errorf("bias shape %v, want [%d]", b.Shape, m)
	}
	if k.attrs.Kernel != nil && !cvSameInts(k.attrs.Kernel, w.Shape[2:]) {
		return nil, n.Errorf("kernel_shape %v does not match weight shape %v", k.attrs.Kernel, w.Shape)
	}
	p, err := k.planFor(x.Shape, w.Shape, m)
	if err != nil {
		return nil, err
	}
	win, outShape := p.win, p.outShape
	threads := cvThreads(ctx)
	switch x.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		xf, err := cvWiden(x)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		packed := k.packed
		var wf []float32
		if packed == nil || w != n.Const(1) || !cvSameInts(k.wShape, w.Shape) {
			packed = nil
			wt, err := cvWiden(w)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			wf = wt.Data.([]float32)
		}
		var bf []float32
		if b != nil {
			if bf, err = tensor.Float32s(b); err != nil {
				return nil, n.Errorf("bias: %w", err)
			}
		}
		var y *tensor.Tensor
		if x.DType == tensor.Float32 {
			y = ctx.New(tensor.Float32, outShape...)
		} else {
			y = tensor.New(tensor.Float32, outShape...)
		}
		yd := y.Data.([]float32)
		clear(yd)
		batch, group := x.Shape[0], k.group
		cg := c / group
		inSize, outSize := win.OutSize(), win.InSize() // Window is the forward view
		rows := mg * win.KernelSize()
		colp := convTransposeCols.get(rows * inSize)
		defer convTransposeCols.put(colp)
		col := *colp
		xd := xf.Data.([]float32)
		for img := 0; img < batch; img++ {
			for g := 0; g < group; g++ {
				xg := xd[(img*c+g*cg)*inSize : (img*c+(g+1)*cg)*inSize]
				yg := yd[(img*m+g*mg)*outSize : (img*m+(g+1)*mg)*outSize]
				var err error
				if packed != nil {
					err = gemm.SgemmPacked(true, false, rows, inSize, cg, 1, nil, 0, packed[g], xg, inSize, nil, 0, col, inSize, threads)
				} else {
					err = gemm.Sgemm(true, false, rows, inSize, cg, 1, wf[g*cg*rows:(g+1)*cg*rows], rows, xg, inSize, 0, col, inSize, threads)
				}
				if err != nil {
					return nil, n.Errorf("%w", err)
				}
				Col2im(win, col, mg, yg, threads)
			}
		}
		addChannelBias(yd, bf, batch, m, outSize)
		out, err := cvNarrow(y, x.DType)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return ctx.Out(out), nil
	case tensor.Float64:
		y := ctx.New(tensor.Float64, outShape...)
		var bd []float64
		if b != nil {
			bd = b.Data.([]float64)
		}
		convTransposeGeneric(win, x.Data.([]float64), x.Shape, w.Data.([]float64), mg, k.group, bd, y.Data.([]float64), threads)
		return ctx.Out(y), nil
	}
	return nil, n.Unsupported("element type %v", x.DType)
}

// addChannelBias adds bias[c] to every value of channel c of a [batch, m,
// size] tensor; a nil bias does nothing.
func addChannelBias[T cvFloat](y, bias []T, batch, m, size int) {
	if bias == nil {
		return
	}
	for img := 0; img < batch; img++ {
		for c := 0; c < m; c++ {
			bv := bias[c]
			row := y[(img*m+c)*size : (img*m+c+1)*size]
			for i := range row {
				row[i] += bv
			}
		}
	}
}

// convTransposeGeneric is the float64 transposed convolution.
func convTransposeGeneric[T cvFloat](win *Window, x []T, xShape []int, w []T, mg, group int, bias []T, y []T, threads int) {
	batch, c := xShape[0], xShape[1]
	cg := c / group
	m := mg * group
	inSize, outSize := win.OutSize(), win.InSize()
	rows := mg * win.KernelSize()
	col := make([]T, rows*inSize)
	clear(y)
	for img := 0; img < batch; img++ {
		for g := 0; g < group; g++ {
			xg := x[(img*c+g*cg)*inSize : (img*c+(g+1)*cg)*inSize]
			yg := y[(img*m+g*mg)*outSize : (img*m+(g+1)*mg)*outSize]
			gemmGeneric(true, false, rows, inSize, cg, w[g*cg*rows:(g+1)*cg*rows], rows, xg, inSize, col, inSize, false, threads)
			Col2im(win, col, mg, yg, threads)
		}
	}
	addChannelBias(y, bias, batch, m, outSize)
}
