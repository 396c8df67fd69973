package kernel

import (
	"sync"
	"sync/atomic"

	"github.com/onnxquant/onnxquant/internal/gemm"
	"github.com/onnxquant/onnxquant/internal/parallel"
	"github.com/onnxquant/onnxquant/tensor"
)

func init() {
	Register(Op{Type: "MatMul", Build: buildMatMul})
}

// mmNumber is the set of element types the plain (unpacked) matrix product
// handles: float64 and the integer types MatMul and Gemm accept.
type mmNumber interface {
	float32 | float64 | int32 | int64 | uint32 | uint64
}

// gemmGeneric computes C = op(A)*op(B) (accumulate false) or
// C += op(A)*op(B) (accumulate true) for row-major matrices of any numeric
// element type, with op as in gemm.Sgemm. Rows of C are shared among
// threads goroutines. It is the path for element types without a tuned
// routine.
func gemmGeneric[T mmNumber](transA, transB bool, m, n, k int, a []T, lda int, b []T, ldb int, c []T, ldc int, accumulate bool, threads int) {
	grain := max(1, (1<<15)/max(n*k, 1))
	j := takeJob[gemmGenericJob[T], T](&gemmGenericJobs)
	*j = gemmGenericJob[T]{transA: transA, transB: transB, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate}
	parallel.Do(m, grain, threads, j)
	dropJob[T](&gemmGenericJobs, j)
}

// gemmGenericJob is gemmGeneric's loop over rows of C.
type gemmGenericJob[T mmNumber] struct {
	transA, transB bool
	n, k           int
	a              []T
	lda            int
	b              []T
	ldb            int
	c              []T
	ldc            int
	accumulate     bool
}

var (
	gemmGenericJobs kindJobPool
	gemmGenericRows scratchPool
)

func (j *gemmGenericJob[T]) Range(lo, hi int) {
	n, k, a, b, c, lda, ldb, ldc := j.n, j.k, j.a, j.b, j.c, j.lda, j.ldb, j.ldc
	buf := getScratch[T](&gemmGenericRows, k)
	defer putScratch(&gemmGenericRows, buf)
	arow := *buf
	for i := lo; i < hi; i++ {
		crow := c[i*ldc : i*ldc+n]
		if !j.accumulate {
			clear(crow)
		}
		if j.transA {
			for p := range arow {
				arow[p] = a[p*lda+i]
			}
		} else {
			copy(arow, a[i*lda:i*lda+k])
		}
		if !j.transB {
			for p, av := range arow {
				brow := b[p*ldb : p*ldb+n]
				for jj, bv := range brow {
					crow[jj] += av * bv
				}
			}
			continue
		}
		for jj := range crow {
			brow := b[jj*ldb : jj*ldb+k]
			var s T
			for p, bv := range brow {
				s += arow[p] * bv
			}
			crow[jj] += s
		}
	}
}

// matMulKernel is a prepared MatMul node.
type matMulKernel struct {
	n *Node
	// packedB holds a constant 2-D float32 (or 16-bit float) B.
	packedB *gemm.PackedB
	bShape  []int

	plan atomic.Pointer[mmPlan] // of the last operand shapes seen
}

// mmPlan is the product geometry for one pair of operand shapes; it is
// read-only once made.
type mmPlan struct {
	aShape, bShape []int
	s              *mmShape
}

// planFor returns the product geometry for operand shapes a and b, from
// the last one made when they match.
func (k *matMulKernel) planFor(a, b []int) (*mmShape, error) {
	if p := k.plan.Load(); p != nil && equalShapes(p.aShape, a) && equalShapes(p.bShape, b) {
		return p.s, nil
	}
	s, err := matMulShape(k.n, a, b)
	if err != nil {
		return nil, err
	}
	k.plan.Store(&mmPlan{aShape: append([]int(nil), a...), bShape: append([]int(nil), b...), s: s})
	return s, nil
}

// buildMatMul prepares MatMul (opsets 1, 9, 13): numpy matmul semantics,
// with 1-D operands promoted to matrices and batch dimensions broadcast.
// https://onnx.ai/onnx/operators/onnx__MatMul.html
func buildMatMul(n *Node) (Kernel, error) {
	k := &matMulKernel{n: n}
	if b := n.Const(1); b != nil && len(b.Shape) == 2 && b.Shape[1] > 1 && (b.DType == tensor.Float32 || cvIsHalf(b.DType)) {
		if err := b.Check(); err != nil {
			return nil, n.Errorf("input B: %w", err)
		}
		bf, err := tensor.Float32s(b)
		if err != nil {
			return nil, n.Errorf("input B: %w", err)
		}
		p, err := gemm.PackB(false, b.Shape[0], b.Shape[1], bf, b.Shape[1])
		if err != nil {
			return nil, n.Errorf("packing B: %w", err)
		}
		k.packedB, k.bShape = p, append([]int(nil), b.Shape...)
	}
	return k, nil
}

// mmShape describes a broadcast batched product.
type mmShape struct {
	m, n, k int
	out     []int // result shape
	batch   int   // number of products
	// aOff, bOff give each product's operand offsets (in elements); nil
	// when B has no batch dimensions and A's batch folds into M.
	aOff, bOff []int
	foldA      bool
}

// matMulShape works out the product's sizes from the operand shapes.
func matMulShape(n *Node, a, b []int) (*mmShape, error) {
	if len(a) == 0 || len(b) == 0 {
		return nil, n.Errorf("operands must have at least one dimension, got %v and %v", a, b)
	}
	s := &mmShape{}
	var batchA, batchB []int
	if len(a) == 1 {
		s.m, s.k = 1, a[0]
	} else {
		s.m, s.k = a[len(a)-2], a[len(a)-1]
		batchA = a[:len(a)-2]
	}
	kb := b[0]
	if len(b) == 1 {
		s.n = 1
	} else {
		kb, s.n = b[len(b)-2], b[len(b)-1]
		batchB = b[:len(b)-2]
	}
	if kb != s.k {
		return nil, n.Errorf("shapes %v and %v: inner dimensions %d and %d differ", a, b, s.k, kb)
	}
	rank := max(len(batchA), len(batchB))
	batch := make([]int, rank)
	for i := range batch {
		da, db := 1, 1
		if j := i - (rank - len(batchA)); j >= 0 {
			da = batchA[j]
		}
		if j := i - (rank - len(batchB)); j >= 0 {
			db = batchB[j]
		}
		switch {
		case da == db || db == 1:
			batch[i] = da
		case da == 1:
			batch[i] = db
		default:
			return nil, n.Errorf("shapes %v and %v: batch dimensions cannot be broadcast", a, b)
		}
	}
	s.out = append([]int(nil), batch...)
	if len(a) > 1 {
		s.out = append(s.out, s.m)
	}
	if len(b) > 1 {
		s.out = append(s.out, s.n)
	}
	s.batch = prodInts(batch)
	if prodInts(batchB) == 1 {
		// Every product uses the same B: fold A's batch into its rows.
		s.foldA = true
		return s, nil
	}
	// Offsets of each operand per product, following broadcasting.
	s.aOff = make([]int, s.batch)
	s.bOff = make([]int, s.batch)
	idx := make([]int, rank)
	for t := 0; t < s.batch; t++ {
		ao, bo := 0, 0
		sa, sb := s.m*s.k, s.k*s.n
		for i := rank - 1; i >= 0; i-- {
			if j := i - (rank - len(batchA)); j >= 0 {
				if batchA[j] != 1 {
					ao += idx[i] * sa
				}
				sa *= batchA[j]
			}
			if j := i - (rank - len(batchB)); j >= 0 {
				if batchB[j] != 1 {
					bo += idx[i] * sb
				}
				sb *= batchB[j]
			}
		}
		s.aOff[t], s.bOff[t] = ao, bo
		for i := rank - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < batch[i] {
				break
			}
			idx[i] = 0
		}
	}
	return s, nil
}

func (k *matMulKernel) Run(ctx *Ctx, in []*tensor.Tensor) ([]*tensor.Tensor, error) {
	n := k.n
	if err := cvCheck(n, in, 0, 1); err != nil {
		return nil, err
	}
	a, b := in[0], in[1]
	if a.DType != b.DType {
		return nil, n.Errorf("operand types differ: %v and %v", a.DType, b.DType)
	}
	s, err := k.planFor(a.Shape, b.Shape)
	if err != nil {
		return nil, err
	}
	threads := cvThreads(ctx)
	switch a.DType {
	case tensor.Float32, tensor.Float16, tensor.BFloat16:
		af, err := cvWiden(a)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		var y *tensor.Tensor
		if a.DType == tensor.Float32 {
			y = ctx.New(tensor.Float32, s.out...)
		} else {
			y = tensor.New(tensor.Float32, s.out...)
		}
		ad, yd := af.Data.([]float32), y.Data.([]float32)
		var pb *gemm.PackedB
		var bd []float32
		if s.foldA && s.batch*s.m == 1 && s.n*s.k <= vecMatMax && b.DType == tensor.Float32 {
			// A row vector times a small matrix (a classifier's last
			// layer): a plain loop costs less than the GEMM's packing.
			vecMat(ad[:s.k], b.Data.([]float32)[:s.k*s.n], yd[:s.n])
			return ctx.Out(y), nil
		}
		if k.packedB != nil && b == n.Const(1) {
			pb = k.packedB
		} else {
			bf, err := cvWiden(b)
			if err != nil {
				return nil, n.Errorf("%w", err)
			}
			bd = bf.Data.([]float32)
		}
		if err := matMulF32(s, ad, bd, pb, yd, threads); err != nil {
			return nil, n.Errorf("%w", err)
		}
		out, err := cvNarrow(y, a.DType)
		if err != nil {
			return nil, n.Errorf("%w", err)
		}
		return ctx.Out(out), nil
	case tensor.Float64:
		return ctx.Out(matMulT(ctx, s, tensor.Float64, a.Data.([]float64), b.Data.([]float64), threads)), nil
	case tensor.Int32:
		return ctx.Out(matMulT(ctx, s, tensor.Int32, a.Data.([]int32), b.Data.([]int32), threads)), nil
	case tensor.Int64:
		return ctx.Out(matMulT(ctx, s, tensor.Int64, a.Data.([]int64), b.Data.([]int64), threads)), nil
	case tensor.Uint32:
		return ctx.Out(matMulT(ctx, s, tensor.Uint32, a.Data.([]uint32), b.Data.([]uint32), threads)), nil
	case tensor.Uint64:
		return ctx.Out(matMulT(ctx, s, tensor.Uint64, a.Data.([]uint64), b.Data.([]uint64), threads)), nil
	}
	return nil, n.Unsupported("element type %v", a.DType)
}

// vecMatMax is the largest B (in values) vecMat takes.
const vecMatMax = 1 << 15

// vecMat sets y = a * b for a row vector a of k values and a k x n matrix
// b, row by row of b.
func vecMat(a, b, y []float32) {
	n := len(y)
	clear(y)
	for p, ap := range a {
		row := b[p*n : (p+1)*n]
		for j, v := range row {
			y[j] += ap * v
		}
	}
}

// matMulF32 runs a float32 batched product; pb, when not nil, is B packed.
func matMulF32(s *mmShape, a, b []float32, pb *gemm.PackedB, y []float32, threads int) error {
	if len(y) == 0 {
		return nil
	}
	if s.foldA {
		rows := s.batch * s.m
		if pb != nil {
			return gemm.SgemmPacked(false, false, rows, s.n, s.k, 1, a, s.k, nil, nil, s.n, pb, 0, y, s.n, threads)
		}
		return gemm.Sgemm(false, false, rows, s.n, s.k, 1, a, s.k, b, s.n, 0, y, s.n, threads)
	}
	mn := s.m * s.n
	// Many small products: one goroutine each; few large ones: share each.
	perProduct := 2 * s.m * s.n * s.k
	if s.batch >= threads && perProduct < 1<<22 {
		j, _ := mmBatchJobs.Get().(*mmBatchJob)
		if j == nil {
			j = new(mmBatchJob)
		}
		j.s, j.a, j.b, j.y = s, a, b, y
		parallel.Do(s.batch, max(1, (1<<18)/max(perProduct, 1)), threads, j)
		err := j.err
		j.s, j.a, j.b, j.y, j.err = nil, nil, nil, nil, nil
		mmBatchJobs.Put(j)
		return err
	}
	for t := 0; t < s.batch; t++ {
		if err := gemm.Sgemm(false, false, s.m, s.n, s.k, 1, a[s.aOff[t]:], s.k, b[s.bOff[t]:], s.n, 0, y[t*mn:(t+1)*mn], s.n, threads); err != nil {
			return err
		}
	}
	return nil
}

// mmBatchJob runs the products [lo, hi) of a batch, one goroutine each.
type mmBatchJob struct {
	s       *mmShape
	a, b, y []float32
	mu      sync.Mutex
	err     error // the first error met
}

var mmBatchJobs sync.Pool

func (j *mmBatchJob) Range(lo, hi int) {
	s := j.s
	mn := s.m * s.n
	for t := lo; t < hi; t++ {
		err := gemm.Sgemm(false, false, s.m, s.n, s.k, 1, j.a[s.aOff[t]:], s.k, j.b[s.bOff[t]:], s.n, 0, j.y[t*mn:(t+1)*mn], s.n, 1)
		if err != nil {
			j.mu.Lock()
			j.err = err
			j.mu.Unlock()
			return
		}
	}
}

// matMulT runs a batched product of any other numeric type.
func matMulT[T mmNumber](ctx *Ctx, s *mmShape, dt tensor.DataType, a, b []T, threads int) *tensor.Tensor {
	y := ctx.New(dt, s.out...)
	yd := y.Data.([]T)
	if len(yd) == 0 {
		return y
	}
	if s.foldA {
		gemmGeneric(false, false, s.batch*s.m, s.n, s.k, a, s.k, b, s.n, yd, s.n, false, threads)
		return y
	}
	mn := s.m * s.n
	for t := 0; t < s.batch; t++ {
		gemmGeneric(false, false, s.m, s.n, s.k, a[s.aOff[t]:], s.k, b[s.bOff[t]:], s.n, yd[t*mn:(t+1)*mn], s.n, false, threads)
	}
	return y
}
