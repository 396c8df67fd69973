package kernel

import (
	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "Gemm", Build: buildGemm})
}

// gemmKernel is a prepared Gemm node.
type gemmKernel struct {
	n              *Node
	alpha, beta    float32
	transA, transB bool
	// strictC (opset < 7 with broadcast=0) requires C to be exactly M x N.
	strictC bool
	// packedB holds a constant float32 (or 16-bit float) B.
	packedB *gemm.PackedB
	bShape  []int
}

// buildGemm prepares Gemm (opsets 1, 6, 7, 9, 11, 13):
// Y = alpha*op(A)*op(B) + beta*C with 2-D A and B, op transposing when
// transA/transB is set, and C (optional from opset 11) broadcast to the
// result (unidirectionally from opset 7; before that only with broadcast=1).
// https://onnx.ai/onnx/operators/onnx__Gemm.html
func buildGemm(n *Node) (Kernel, error) {
	k := &gemmKernel{n: n}
	var err error
	if k.alpha, err = n.Float("alpha", 1); err != nil {
		return nil, err
	}
	if k.beta, err = n.Float("beta", 1); err != nil {
		return nil, err
	}
	ta, err := n.Int("transA", 0)
	if err != nil {
		return nil, err
	}
	tb, err := n.Int("transB", 0)
	if err != nil {
		return nil, err
	}
	k.transA, k.transB = ta != 0, tb != 0
	if n.Opset < 7 {
		bc, err := n.Int("broadcast", 0)
		if err != nil {
			return nil, err
		}
		k.strictC = bc == 0
	}
	if n.Opset < 11 && !n.HasInput(2) {
		return nil, n.Errorf("input C is required before opset 11")
	}
	if b := n.Const(1); b != nil && len(b.Shape) == 2 && (b.DType == tensor.Float32 || cvIsHalf(b.DType)) {
		if err := b.Check(); err != nil {
			return nil, n.Errorf("input B: %w", err)
		}
		bf, err := tensor.Float32s(b)
		if err != nil {
			return nil, n.Errorf("input B: %w", err)
		}
		kk, nn := b.Shape[0], b.Shape[1]
		if k.transB {
			kk, nn = nn, kk
		}
		p, err := gemm.PackB(k.transB, kk, nn, bf, b.Shape[1])
		if err != nil {
			return nil, n.Errorf("packing B: %w", err)
		}
		k.packedB, k.bShape = p, append([]int(nil), b.Shape...)
	}
	return k, nil
}

// gemmCView returns C's shape as rows x cols for broadcasting to m x n.
func (k *gemmKernel) gemmCView(c []int, m, n int) (int, int, error) {
	var cm, cn int
	switch len(c) {
	case 0:
		cm, cn = 1, 1
	case 1:
		cm, cn = 1, c[0]
	case 2:
		cm, cn = c[0], c[1]
	default:
		return 0, 0, k.n.Errorf("C has shape %v; want at most 2 dimensions", c)
	}
	if k.strictC && (len(c) != 2 || cm != m || cn != n) {
		return 0, 0, k.n.Errorf("C has shape %v, want [%d %d] (broadcast=0)", c, m, n)
	}
	if (cm != 1 && cm != m) || (cn != 1 && cn != n) {
		return 0, 0, k.n.Errorf("C of shape %v does not broadcast to [%d %d]", c, m, n)
	}
	return cm, cn, nil
}

// fillC writes C broadcast to m x n into y.
func fillC[T any](y []T, m, n int, c []T, cm, cn int) {
	for i := 0; i < m; i++ {
		row := y[i*n : (i+1)*n]
		src := c
		if cm > 1 {
			src = c[i*cn:]
		}
		if cn == 1 {
			v := src[0]
			for j := range row {
				row[j] = v
			}
		} else {
			copy(row, src[:n])
		}
	}
}

func (k *gemmKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	var c *tensor.Tensor
	if len(in) > 2 {
		c = in[2]
	}
	if a.DType != b.DType || (c != nil && c.DType != a.DType) {
		return nil, n.Errorf("input types differ")
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, n.Errorf("A %v and B %v must be matrices", a.Shape, b.Shape)
	}
	m, ka := a.Shape[0], a.Shape[1]
	if k.transA {
		m, ka = ka, m
	}
	kb, nn := b.Shape[0], b.Shape[1]
	if k.transB {
		kb, nn = nn, kb
	}
	if ka != kb {
		return nil, n.Errorf("A %v and B %v: inner dimensions %d and %d differ (transA=%v, transB=%v)", a.Shape, b.Shape, ka, kb, k.transA, k.transB)
	}
	cm, cn := 0, 0
	if c != nil {
		var err error
		if cm, cn, err = k.gemmCView(c.Shape, m, nn); err != nil {
			return nil, err
		}
	}
	useC := c != nil && k.beta != 0
	threads := cvThreads(ctx)
	lda, ldb := a.Shape[1], b.Shape[1]
	switch a.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		af, err := cvWiden(a)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		var y *tensor.Tensor
		if a.DType == tensor.Float32 {
			y = ctx.New(tensor.Float32, m, nn)
		} else {
			y = tensor.New(tensor.Float32, m, nn)
		}
		yd := y.Data.([]float32)
		beta := float32(0)
		if useC {
			cf, err := cvWiden(c)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			fillC(yd, m, nn, cf.Data.([]float32), cm, cn)
			beta = k.beta
		}
		if k.packedB != nil && b == n.Const(1) {
			err = gemm.SgemmPacked(k.transA, k.transB, m, nn, ka, k.alpha, af.Data.([]float32), lda, nil, nil, ldb, k.packedB, beta, yd, nn, threads)
		} else {
			bf, err2 := cvWiden(b)
			if err2 != nil {
				return nil, n.Errorf("%w", err2)
			}
			err = gemm.Sgemm(k.transA, k.transB, m, nn, ka, k.alpha, af.Data.([]float32), lda, bf.Data.([]float32), ldb, beta, yd, nn, threads)
		}
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		out, err := cvNarrow(y, a.DType)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return ctx.Out(out), nil
	case tensor.Float64:
		return ctx.Out(gemmOpT[float64](ctx, k, tensor.Float64, a, b, c, m, nn, ka, cm, cn, useC, threads)), nil
	case tensor.Int32:
		return ctx.Out(gemmOpT[int32](ctx, k, tensor.Int32, a, b, c, m, nn, ka, cm, cn, useC, threads)), nil
	case tensor.Int64:
		return ctx.Out(gemmOpT[int64](ctx, k, tensor.Int64, a, b, c, m, nn, ka, cm, cn, useC, threads)), nil
	case tensor.Uint32:
		return ctx.Out(gemmOpT[uint32](ctx, k, tensor.Uint32, a, b, c, m, nn, ka, cm, cn, useC, threads)), nil
	case tensor.Uint64:
		return ctx.Out(gemmOpT[uint64](ctx, k, tensor.Uint64, a, b, c, m, nn, ka, cm, cn, useC, threads)), nil
	}
	return nil, n.Unsupported("element type %v", a.DType)
}

// gemmCScratch recycles gemmOpT's C broadcast to M x N.
var gemmCScratch scratchPool

// gemmOpT computes Gemm for element types other than float32: the product
// in T, then alpha and beta applied in float64 and the result converted
// back to T.
func gemmOpT[T mmNumber](ctx *Ctx, k *gemmKernel, dt tensor.DataType, a, b, c *tensor.Tensor, m, n, kk, cm, cn int, useC bool, threads int) *tensor.Tensor {
	y := ctx.New(dt, m, n)
	yd := y.Data.([]T)
	gemmGeneric(k.transA, k.transB, m, n, kk, a.Data.([]T), a.Shape[1], b.Data.([]T), b.Shape[1], yd, n, false, threads)
	alpha, beta := float64(k.alpha), float64(k.beta)
	var cd []T
	if useC {
		buf := getScratch[T](&gemmCScratch, m*n)
		defer putScratch(&gemmCScratch, buf)
		cd = *buf
		fillC(cd, m, n, c.Data.([]T), cm, cn)
	}
	if alpha == 1 && !useC {
		return y
	}
	for i, v := range yd {
		r := alpha * float64(v)
		if useC {
			r += beta * float64(cd[i])
		}
		yd[i] = T(r)
	}
	return y
}
