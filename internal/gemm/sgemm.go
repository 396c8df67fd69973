// Package gemm holds the engine's matrix-multiplication routines. Sgemm
// computes C = alpha*op(A)*op(B) + beta*C on row-major float32 matrices and
// is the single entry point behind Conv, ConvTranspose, MatMul and Gemm.
//
// The routine follows the usual blocked design: the K dimension is cut into
// slices of KC, C into tiles of at most MC x NC; for each tile and K slice
// the needed parts of A and B are copied ("packed") into contiguous panels
// of MR rows (A) and NR columns (B), and a register-tiled micro-kernel
// multiplies one MR-row panel of A by one NR-column panel of B into an
// MR x NR block of C. Tiles are shared among goroutines. An operand that is
// used many times (a constant weight) can be packed once with PackA or
// PackB and passed to SgemmPacked.
//
// The micro-kernel is a single function so that an assembly version for a
// given CPU replaces it without touching the blocking, packing or
// threading: on amd64 an AVX2+FMA kernel (sgemm_amd64.s) is chosen at start
// when the CPU supports it, and the portable Go kernel serves elsewhere and
// in builds with the purego tag.
package gemm

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/onnxquant/onnxquant/internal/parallel"
)

// Blocking parameters. MR x NR is the block of C the micro-kernel keeps in
// registers; KC is the K slice held in a packed panel; MC and NC bound a
// tile of C (MC must be a multiple of MR, NC of NR; the portable
// micro-kernel needs an even MR). 6 x 16 is the usual register block of an
// AVX2 kernel (12 accumulators of 8 floats).
const (
	MR = 6
	NR = 16
	KC = 256
	MC = 120
	NC = 1024
)

// minFlopsPerThread is the amount of work below which adding a goroutine
// costs more than it saves.
const minFlopsPerThread = 1 << 20

// PackedA is a left operand (m x k after any transposition) copied once into
// the panel layout the micro-kernel reads, for repeated products with it.
// It is read-only after PackA and may be shared by goroutines.
type PackedA struct {
	m, k int
	data []float32
}

// PackedB is a right operand (k x n after any transposition) copied once into
// the panel layout the micro-kernel reads. It is read-only after PackB.
type PackedB struct {
	k, n int
	data []float32
}

// Rows returns m, the number of rows of the packed operand.
func (p *PackedA) Rows() int { return p.m }

// Cols returns k, the number of columns of the packed operand.
func (p *PackedA) Cols() int { return p.k }

// Rows returns k, the number of rows of the packed operand.
func (p *PackedB) Rows() int { return p.k }

// Cols returns n, the number of columns of the packed operand.
func (p *PackedB) Cols() int { return p.n }

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// Packed layout. For the K slice starting at p0 (length kc), A's panels
// begin at p0*roundUp(m, MR); panel s (rows s*MR..s*MR+MR-1) occupies
// kc*MR values at offset s*kc*MR, stored k-major: value (i, p) at p*MR+i.
// Rows past m are zero. B is the same with NR columns per panel, value
// (p, j) at p*NR+j. Because every panel of a slice has the same length,
// the panels of any tile whose first row (column) is a multiple of MR (NR)
// are contiguous, whichever tile sizes a call picks.

// PackA packs op(A), an m x k matrix: A itself (stored m x k with leading
// dimension lda) when transA is false, else the transpose of A stored k x m.
func PackA(transA bool, m, k int, a []float32, lda int) (*PackedA, error) {
	if m < 0 || k < 0 {
		return nil, fmt.Errorf("gemm: PackA: negative size %dx%d", m, k)
	}
	if err := checkOperand("A", transA, m, k, a, lda); err != nil {
		return nil, err
	}
	mPad := roundUp(m, MR)
	p := &PackedA{m: m, k: k, data: make([]float32, mPad*k)}
	for p0 := 0; p0 < k; p0 += KC {
		kc := min(KC, k-p0)
		packA(p.data[p0*mPad:p0*mPad+mPad*kc], transA, a, lda, 0, m, p0, kc)
	}
	return p, nil
}

// PackB packs op(B), a k x n matrix: B itself (stored k x n with leading
// dimension ldb) when transB is false, else the transpose of B stored n x k.
func PackB(transB bool, k, n int, b []float32, ldb int) (*PackedB, error) {
	if k < 0 || n < 0 {
		return nil, fmt.Errorf("gemm: PackB: negative size %dx%d", k, n)
	}
	if err := checkOperand("B", transB, k, n, b, ldb); err != nil {
		return nil, err
	}
	nPad := roundUp(n, NR)
	p := &PackedB{k: k, n: n, data: make([]float32, nPad*k)}
	for p0 := 0; p0 < k; p0 += KC {
		kc := min(KC, k-p0)
		packB(p.data[p0*nPad:p0*nPad+nPad*kc], transB, b, ldb, p0, kc, 0, n)
	}
	return p, nil
}

// packA copies rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) into dst
// as ceil(mc/MR) panels of kc*MR values, zero-padding the last panel.
func packA(dst []float32, trans bool, a []float32, lda, i0, mc, p0, kc int) {
	for s := 0; s < mc; s += MR {
		panel := dst[(s/MR)*kc*MR : (s/MR+1)*kc*MR]
		rows := min(MR, mc-s)
		if !trans {
			done := 0
			if rows == MR && packA6Asm != nil {
				done = packA6Asm(panel, a[(i0+s)*lda+p0:], lda, kc)
			}
			if done < kc {
				for i := 0; i < rows; i++ {
					row := a[(i0+s+i)*lda+p0+done : (i0+s+i)*lda+p0+kc]
					for p, v := range row {
						panel[(done+p)*MR+i] = v
					}
				}
			}
		} else {
			for p := 0; p < kc; p++ {
				src := a[(p0+p)*lda+i0+s : (p0+p)*lda+i0+s+rows]
				copy(panel[p*MR:p*MR+rows], src)
			}
		}
		if rows < MR {
			for p := 0; p < kc; p++ {
				clear(panel[p*MR+rows : p*MR+MR])
			}
		}
	}
}

// packB copies rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) into dst
// as ceil(nc/NR) panels of kc*NR values, zero-padding the last panel.
func packB(dst []float32, trans bool, b []float32, ldb, p0, kc, j0, nc int) {
	for s := 0; s < nc; s += NR {
		panel := dst[(s/NR)*kc*NR : (s/NR+1)*kc*NR]
		cols := min(NR, nc-s)
		if !trans && cols == NR && packB16Asm != nil {
			packB16Asm(panel, b[p0*ldb+j0+s:], ldb, kc)
		} else if !trans && cols == NR {
			// Whole panels: fixed-size copies.
			for p := 0; p < kc; p++ {
				off := (p0+p)*ldb + j0 + s
				*(*[NR]float32)(panel[p*NR : p*NR+NR]) = *(*[NR]float32)(b[off : off+NR])
			}
		} else if !trans {
			for p := 0; p < kc; p++ {
				src := b[(p0+p)*ldb+j0+s : (p0+p)*ldb+j0+s+cols]
				copy(panel[p*NR:p*NR+cols], src)
			}
		} else {
			for j := 0; j < cols; j++ {
				col := b[(j0+s+j)*ldb+p0 : (j0+s+j)*ldb+p0+kc]
				for p, v := range col {
					panel[p*NR+j] = v
				}
			}
		}
		if cols < NR {
			for p := 0; p < kc; p++ {
				clear(panel[p*NR+cols : p*NR+NR])
			}
		}
	}
}

// packA6Asm, when set, packs the first columns of 6 rows of a
// non-transposed A (row i at src[i*lda:]) into an A panel, in blocks of 8
// columns, and returns how many columns it packed (kc rounded down to a
// multiple of 8). packB16Asm, when set, packs a whole 16-column panel of a
// non-transposed B (row p at src[p*ldb:]).
var (
	packA6Asm  func(dst, src []float32, lda, kc int) int
	packB16Asm func(dst, src []float32, ldb, kc int)
)

// checkOperand verifies that x holds op(X), a rows x cols matrix.
func checkOperand(name string, trans bool, rows, cols int, x []float32, ld int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	r, c := rows, cols
	if trans {
		r, c = cols, rows
	}
	if ld < c {
		return fmt.Errorf("gemm: leading dimension of %s is %d, less than its %d columns", name, ld, c)
	}
	if need := (r-1)*ld + c; len(x) < need {
		return fmt.Errorf("gemm: %s holds %d values, a %dx%d matrix with leading dimension %d needs %d", name, len(x), r, c, ld, need)
	}
	return nil
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(A) is m x k and op(B) is k x n. op(A) is A when transA
// is false (A stored m x k, leading dimension lda) and A's transpose when
// true (A stored k x m); likewise for B. C is m x n with leading dimension
// ldc; values of C outside the m x n region are not touched. When beta is 0,
// C's previous contents are ignored (NaNs in C do not propagate). threads
// bounds the goroutines used (<= 0 means GOMAXPROCS). It returns an error
// when a slice is too short for the sizes given.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int, threads int) error {
	return SgemmBatch(transA, transB, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, threads)
}

// SgemmBatch computes batch independent products: for i in [0, batch),
// C_i = alpha*op(A_i)*op(B_i) + beta*C_i, where A_i starts at a[i*strideA],
// B_i at b[i*strideB] and C_i at c[i*strideC]. A stride of 0 shares one
// operand among all products (a broadcast). The C regions must not overlap.
func SgemmBatch(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int, batch, threads int) error {
	if err := checkSizes(m, n, k, batch, strideA, strideB, strideC); err != nil {
		return err
	}
	if m == 0 || n == 0 || batch == 0 {
		return nil
	}
	if k > 0 {
		if err := checkOperand("A", transA, m, k, tail(a, strideA, batch), lda); err != nil {
			return err
		}
		if err := checkOperand("B", transB, k, n, tail(b, strideB, batch), ldb); err != nil {
			return err
		}
	}
	if err := checkOperand("C", false, m, n, tail(c, strideC, batch), ldc); err != nil {
		return err
	}
	g := jobs.Get().(*job)
	*g = job{
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		transA: transA, a: a, lda: lda, strideA: strideA,
		transB: transB, b: b, ldb: ldb, strideB: strideB,
		c: c, ldc: ldc, strideC: strideC, batch: batch,
	}
	g.run(threads)
	g.release()
	return nil
}

// SgemmPacked computes C = alpha*op(A)*op(B) + beta*C like Sgemm, where
// either operand may come pre-packed: pass pa (and a nil a) to use a packed
// A, pb (and a nil b) to use a packed B. m, n and k follow from the packed
// operands and must agree with the sizes given.
func SgemmPacked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, pa *PackedA, b []float32, ldb int, pb *PackedB, beta float32, c []float32, ldc int, threads int) error {
	return sgemmPacked(transA, transB, m, n, k, alpha, a, lda, pa, b, ldb, pb, beta, c, ldc, nil, threads)
}

func sgemmPacked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, pa *PackedA, b []float32, ldb int, pb *PackedB, beta float32, c []float32, ldc int, ep *Epilogue, threads int) error {
	if err := checkSizes(m, n, k, 1, 0, 0, 0); err != nil {
		return err
	}
	if pa != nil && (pa.m != m || pa.k != k) {
		return fmt.Errorf("gemm: packed A is %dx%d, the product needs %dx%d", pa.m, pa.k, m, k)
	}
	if pb != nil && (pb.k != k || pb.n != n) {
		return fmt.Errorf("gemm: packed B is %dx%d, the product needs %dx%d", pb.k, pb.n, k, n)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k > 0 && pa == nil {
		if err := checkOperand("A", transA, m, k, a, lda); err != nil {
			return err
		}
	}
	if k > 0 && pb == nil {
		if err := checkOperand("B", transB, k, n, b, ldb); err != nil {
			return err
		}
	}
	if err := checkOperand("C", false, m, n, c, ldc); err != nil {
		return err
	}
	g := jobs.Get().(*job)
	*g = job{
		m: m, n: n, k: k, alpha: alpha, beta: beta,
		transA: transA, a: a, lda: lda, pa: pa,
		transB: transB, b: b, ldb: ldb, pb: pb,
		c: c, ldc: ldc, batch: 1, ep: ep,
	}
	g.run(threads)
	g.release()
	return nil
}

// Epilogue describes the elementwise work fused into a product: with it,
// each block of C is finished while it is still in cache instead of in
// separate passes over C.
type Epilogue struct {
	// Bias, when not nil, holds one value per row of C, added to every
	// element of its row.
	Bias []float32
	// Clamp bounds every element to [Lo, Hi] after the bias, as BiasClamp
	// does. Lo = 0 and Hi = +Inf is a Relu.
	Clamp  bool
	Lo, Hi float32
}

// apply finishes the rows x cols block at c (leading dimension ldc) whose
// first row is row r0 of C.
func (e *Epilogue) apply(c []float32, ldc, r0, rows, cols int) {
	for i := 0; i < rows; i++ {
		var bv float32
		if e.Bias != nil {
			bv = e.Bias[r0+i]
		}
		BiasClamp(c[i*ldc:i*ldc+cols], e.Bias != nil, bv, e.Clamp, e.Lo, e.Hi)
	}
}

// finish applies the epilogue to all of C (for the paths that do not go
// through tiles).
func (g *job) finish() {
	if g.ep == nil {
		return
	}
	for bi := 0; bi < g.batch; bi++ {
		g.ep.apply(g.c[bi*g.strideC:], g.ldc, 0, g.m, g.n)
	}
}

// SgemmEpilogue computes C = ep(op(A)*op(B)) like SgemmPacked with alpha 1
// and beta 0 (either operand may come pre-packed), then adds ep.Bias and
// clamps as ep says, block by block while each block of C is in cache. A
// nil ep gives the plain product.
func SgemmEpilogue(transA, transB bool, m, n, k int, a []float32, lda int, pa *PackedA, b []float32, ldb int, pb *PackedB, c []float32, ldc int, ep *Epilogue, threads int) error {
	if ep != nil && ep.Bias != nil && len(ep.Bias) < m {
		return fmt.Errorf("gemm: epilogue bias has %d values for %d rows", len(ep.Bias), m)
	}
	return sgemmPacked(transA, transB, m, n, k, 1, a, lda, pa, b, ldb, pb, 0, c, ldc, ep, threads)
}

// SgemmIndirect computes C = ep(op(A) * B) like SgemmEpilogue, where B is
// k x n with its rows found through offsets: B(p, j) = b[boff[p]+j]. Rows
// may overlap (a convolution's shifted views of one padded input plane
// are its patch matrix without copying it). A may come pre-packed (pa,
// with a nil a).
func SgemmIndirect(transA bool, m, n, k int, a []float32, lda int, pa *PackedA, b []float32, boff []int, c []float32, ldc int, ep *Epilogue, threads int) error {
	if err := checkSizes(m, n, k, 1, 0, 0, 0); err != nil {
		return err
	}
	if len(boff) != k {
		return fmt.Errorf("gemm: SgemmIndirect: %d row offsets for K = %d", len(boff), k)
	}
	if n > 0 {
		for p, o := range boff {
			if o < 0 || o+n > len(b) {
				return fmt.Errorf("gemm: SgemmIndirect: row %d at offset %d does not hold %d values of B's %d", p, o, n, len(b))
			}
		}
	}
	if ep != nil && ep.Bias != nil && len(ep.Bias) < m {
		return fmt.Errorf("gemm: epilogue bias has %d values for %d rows", len(ep.Bias), m)
	}
	if pa != nil && (pa.m != m || pa.k != k) {
		return fmt.Errorf("gemm: packed A is %dx%d, the product needs %dx%d", pa.m, pa.k, m, k)
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k > 0 && pa == nil {
		if err := checkOperand("A", transA, m, k, a, lda); err != nil {
			return err
		}
	}
	if err := checkOperand("C", false, m, n, c, ldc); err != nil {
		return err
	}
	g := jobs.Get().(*job)
	*g = job{
		m: m, n: n, k: k, alpha: 1, beta: 0,
		transA: transA, a: a, lda: lda, pa: pa,
		b: b, boff: boff,
		c: c, ldc: ldc, batch: 1, ep: ep,
	}
	g.run(threads)
	g.release()
	return nil
}

// packBIndirect packs columns [j0, j0+nc) of the kc rows b[offs[p]:] like
// packB.
func packBIndirect(dst []float32, b []float32, offs []int, j0, nc int) {
	for s := 0; s < nc; s += NR {
		panel := dst[(s/NR)*len(offs)*NR : (s/NR+1)*len(offs)*NR]
		cols := min(NR, nc-s)
		if cols < NR {
			// A partial panel: zeros past the columns, then the few
			// values of each row one by one (cheaper than a copy call
			// per row).
			clear(panel)
			for p, o := range offs {
				src := b[o+j0+s : o+j0+s+cols]
				row := panel[p*NR : p*NR+cols]
				for c, v := range src {
					row[c] = v
				}
			}
			continue
		}
		for p, o := range offs {
			*(*[NR]float32)(panel[p*NR : p*NR+NR]) = *(*[NR]float32)(b[o+j0+s : o+j0+s+NR])
		}
	}
}

func checkSizes(m, n, k, batch, sa, sb, sc int) error {
	if m < 0 || n < 0 || k < 0 || batch < 0 {
		return fmt.Errorf("gemm: negative size m=%d n=%d k=%d batch=%d", m, n, k, batch)
	}
	if sa < 0 || sb < 0 || sc < 0 {
		return fmt.Errorf("gemm: negative batch stride (%d, %d, %d)", sa, sb, sc)
	}
	if batch > 1 && sc == 0 {
		return fmt.Errorf("gemm: %d products would all write the same C (stride 0)", batch)
	}
	return nil
}

// tail returns the part of x that the last product of a batch reads, or nil
// when x is too short to reach it (which checkOperand then reports).
func tail(x []float32, stride, batch int) []float32 {
	off := stride * (batch - 1)
	if off > len(x) {
		return nil
	}
	return x[off:]
}

// job is one validated call.
type job struct {
	m, n, k     int
	alpha, beta float32

	transA       bool
	a            []float32
	lda, strideA int
	pa           *PackedA

	transB       bool
	b            []float32
	ldb, strideB int
	pb           *PackedB
	boff         []int // when set, B(p, j) = b[boff[p]+j] (SgemmIndirect)

	c            []float32
	ldc, strideC int
	batch        int

	ep *Epilogue // applied to each finished block of C, or nil

	mc, nc         int // tile size
	mTiles, nTiles int

	// The parallel loop in progress: its kind and operands (a job runs
	// its loops one after another, each through parallel.Do with the job
	// itself as the body, so that no closure is allocated).
	loop  int
	tiles int          // loopTiles: tiles to compute
	next  atomic.Int64 // loopTiles: the next tile to take
	cur   []float32    // loopScale: the C of the current product
	row   rowArgs      // loopRow, loopPackedRow
}

// Kinds of parallel loop of a job.
const (
	loopTiles     = iota // tiles taken from next until none is left
	loopScale            // rows of cur scaled by beta
	loopRow              // rowTimes' columns
	loopPackedRow        // rowTimesPacked's panels
)

// rowArgs are the operands of a single-row product (rowTimes,
// rowTimesPacked).
type rowArgs struct {
	x      []float32
	y      []float32
	ldy    int
	yTrans bool
	out    []float32
	inc, n int
}

// jobs recycles job states: a call takes one, fills it, and puts it back
// cleared (so that it holds no operand alive).
var jobs = sync.Pool{New: func() any { return new(job) }}

func (g *job) release() {
	*g = job{}
	jobs.Put(g)
}

// Range runs the part [lo, hi) of the job's current loop: parallel.Do's
// body.
func (g *job) Range(lo, hi int) {
	switch g.loop {
	case loopTiles:
		ws := workspaces.Get().(*workspace)
		for {
			t := int(g.next.Add(1) - 1)
			if t >= g.tiles {
				break
			}
			g.tile(ws, t)
		}
		workspaces.Put(ws)
	case loopScale:
		scale(g.cur[lo*g.ldc:], g.ldc, hi-lo, g.n, g.beta)
	case loopRow:
		g.rowRange(lo, hi)
	case loopPackedRow:
		g.packedRowRange(lo, hi)
	}
}

// workspace holds one goroutine's packing buffers. The panels are reused
// from call to call (grown when a call needs more) and start on a cache
// line.
type workspace struct {
	a, b  []float32
	block [MR * NR]float32 // a partial block of C
	ep    kernelEp         // how a fused product finishes a block
	rows  []float32        // MR rows of C for a partial row panel (rowSlice)
	x     []float32        // a gathered row of A (rowTimes, rowTimesPacked)
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// grow returns buf if it holds n values, else a new buffer of n values
// starting on a 64-byte boundary.
func grow(buf []float32, n int) []float32 {
	if len(buf) >= n {
		return buf
	}
	raw := make([]float32, n+15)
	off := 0
	if r := uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & 63; r != 0 {
		off = int(64-r) / 4
	}
	return raw[off : off+n : off+n]
}

func (g *job) run(threads int) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	flops := 2 * float64(g.m) * float64(g.n) * float64(g.k) * float64(g.batch)
	if maxT := int(flops/minFlopsPerThread) + 1; threads > maxT {
		threads = maxT
	}
	if g.k == 0 || g.alpha == 0 {
		g.scaleOnly(threads)
		g.finish()
		return
	}
	if (g.m == 1 || g.n == 1) && g.pa == nil && g.pb == nil && g.boff == nil {
		g.gemv(threads)
		g.finish()
		return
	}
	if g.m == 1 && g.pb != nil && g.pa == nil && g.boff == nil {
		g.rowTimesPacked(threads)
		g.finish()
		return
	}
	g.chooseTiles(threads)
	tiles := g.batch * g.mTiles * g.nTiles
	if threads > tiles {
		threads = tiles
	}
	if threads <= 1 {
		ws := workspaces.Get().(*workspace)
		for t := 0; t < tiles; t++ {
			g.tile(ws, t)
		}
		workspaces.Put(ws)
		return
	}
	g.loop, g.tiles = loopTiles, tiles
	g.next.Store(0)
	parallel.Do(threads, 1, threads, g)
}

// chooseTiles picks tile sizes. A tile spans all rows of C when that
// leaves enough tiles to keep the goroutines busy, so that each K slice of
// B is packed once and then multiplied by every row block of A; otherwise
// N is cut first (at most NC columns per tile), and M only when N is too
// narrow to give every goroutine a tile.
func (g *job) chooseTiles(threads int) {
	mt := 1
	nt := (g.n + NC - 1) / NC
	if g.batch*nt < threads {
		want := (threads + g.batch - 1) / g.batch
		nt = min(max(nt, want), (g.n+NR-1)/NR)
		if g.batch*nt < threads {
			want = (threads + g.batch*nt - 1) / (g.batch * nt)
			mt = min(want, (g.m+MR-1)/MR)
		}
	}
	g.mc = roundUp((g.m+mt-1)/mt, MR)
	g.nc = roundUp((g.n+nt-1)/nt, NR)
	g.mTiles = (g.m + g.mc - 1) / g.mc
	g.nTiles = (g.n + g.nc - 1) / g.nc
}

// tile computes tile t of C: the batch index, then the row tile, then the
// column tile. For each K slice it packs the tile's columns of B once and
// runs through the tile's rows in blocks of at most MC (the A block stays
// in the core's L2 cache, the B panel of a micro-kernel call in L1).
func (g *job) tile(ws *workspace, t int) {
	bi := t / (g.mTiles * g.nTiles)
	t -= bi * g.mTiles * g.nTiles
	i0 := (t / g.nTiles) * g.mc
	j0 := (t % g.nTiles) * g.nc
	mt := min(g.mc, g.m-i0)
	nc := min(g.nc, g.n-j0)
	c := g.c[bi*g.strideC+i0*g.ldc+j0:]
	direct := g.pb == nil && !g.transB && mt <= directB &&
		(g.boff == nil && microKernelB != nil || g.boff != nil && microKernelI != nil)
	// With beta 0, the packed path's first K slice overwrites C instead of
	// adding to a cleared C.
	overwrite := g.beta == 0 && !g.fused() && !direct
	if !g.fused() && !overwrite {
		scale(c, g.ldc, mt, nc, g.beta)
	}

	var a, b []float32
	if g.pa == nil {
		a = g.a[bi*g.strideA:]
		ws.a = grow(ws.a, min(roundUp(mt, MR), MC)*KC)
	}
	if g.pb == nil {
		b = g.b[bi*g.strideB:]
		ws.b = grow(ws.b, roundUp(g.nc, NR)*KC)
	}
	for p0 := 0; p0 < g.k; p0 += KC {
		kc := min(KC, g.k-p0)
		if direct {
			g.directSlice(ws, a, b, c, i0, mt, p0, kc, j0, nc)
			continue
		}
		var bp []float32
		if g.pb != nil {
			base := p0*roundUp(g.n, NR) + (j0/NR)*kc*NR
			bp = g.pb.data[base : base+roundUp(nc, NR)*kc]
		} else if g.boff != nil {
			bp = ws.b[:roundUp(nc, NR)*kc]
			packBIndirect(bp, b, g.boff[p0:p0+kc], j0, nc)
		} else {
			bp = ws.b[:roundUp(nc, NR)*kc]
			packB(bp, g.transB, b, g.ldb, p0, kc, j0, nc)
		}
		for ic := 0; ic < mt; ic += MC {
			mc := min(MC, mt-ic)
			var ap []float32
			if g.pa != nil {
				base := p0*roundUp(g.m, MR) + ((i0+ic)/MR)*kc*MR
				ap = g.pa.data[base : base+roundUp(mc, MR)*kc]
			} else {
				ap = ws.a[:roundUp(mc, MR)*kc]
				packA(ap, g.transA, a, g.lda, i0+ic, mc, p0, kc)
			}
			cb := c[ic*g.ldc:]
			first, last := p0 == 0, p0+kc == g.k
			clearFirst := overwrite && first
			for jr := 0; jr < nc; jr += NR {
				nv := min(NR, nc-jr)
				bPanel := bp[(jr/NR)*kc*NR : (jr/NR+1)*kc*NR]
				ir := 0
				if microKernelCol != nil && !g.fused() && nv == NR && mc >= MR {
					// The whole panels of the column in one call.
					full := mc / MR
					microKernelCol(kc, ap, bPanel, cb[jr:], g.ldc, g.alpha, !clearFirst, full)
					ir = full * MR
				}
				for ; ir < mc; ir += MR {
					mv := min(MR, mc-ir)
					aPanel := ap[(ir/MR)*kc*MR : (ir/MR+1)*kc*MR]
					cc := cb[ir*g.ldc+jr:]
					if clearFirst {
						for i := 0; i < mv; i++ {
							clear(cc[i*g.ldc : i*g.ldc+nv])
						}
					}
					g.block(ws, blockB{kind: bPacked, b: bPanel}, kc, aPanel, cc, i0+ic+ir, mv, nv, first, last)
				}
			}
			if g.ep != nil && !g.fused() && last {
				// The block is final and still in cache: finish it.
				g.ep.apply(cb, g.ldc, i0+ic, mc, nc)
			}
		}
	}
}

// fused reports whether the epilogue is applied by the micro-kernels as
// they store each block (alpha 1, beta 0: C is then overwritten by the
// first K slice rather than cleared first).
func (g *job) fused() bool { return g.ep != nil && g.alpha == 1 && g.beta == 0 }

// B operand kinds of a block.
const (
	bPacked   = iota // a packed NR-column panel
	bDirect          // rows at b[p*ldb:]
	bIndirect        // rows at b[offs[p]:]
)

// blockB is the B part of one micro-kernel call.
type blockB struct {
	kind int
	b    []float32
	ldb  int
	offs []int
}

// block multiplies an A panel by a B panel (kc steps) into the mv x nv
// block at c, whose first row is row r0 of C, for a K slice that may be
// the first and/or the last of the product. Without a fused epilogue it
// adds alpha times the product to C. With one, full blocks are finished by
// the kernel (overwriting C on the first slice, adding to it after; bias
// and clamp on the last), partial ones through a local block and
// Epilogue.apply.
func (g *job) block(ws *workspace, src blockB, kc int, aPanel []float32, c []float32, r0, mv, nv int, first, last bool) {
	full := mv == MR && nv == NR
	if !g.fused() {
		switch {
		case src.kind == bPacked:
			microKernel(kc, aPanel, src.b, c, g.ldc, g.alpha, mv, nv, nil)
		case full:
			g.call(src, kc, aPanel, c, g.ldc, nil)
		default:
			tmp := ws.block[:]
			clear(tmp)
			g.call(src, kc, aPanel, tmp, NR, nil)
			for i := 0; i < mv; i++ {
				row := c[i*g.ldc : i*g.ldc+nv]
				for j := range row {
					row[j] += tmp[i*NR+j]
				}
			}
		}
		return
	}
	if full {
		ep := &ws.ep
		ep.flags = 0
		if !first {
			ep.flags |= 1
		}
		ep.lo, ep.hi = float32(math.Inf(-1)), float32(math.Inf(1))
		if last {
			if g.ep.Bias != nil {
				ep.flags |= 2
				copy(ep.bias[:MR], g.ep.Bias[r0:r0+MR])
			}
			if g.ep.Clamp {
				ep.lo, ep.hi = g.ep.Lo, g.ep.Hi
			}
		}
		g.call(src, kc, aPanel, c, g.ldc, ep)
		return
	}
	tmp := ws.block[:]
	clear(tmp)
	g.call(src, kc, aPanel, tmp, NR, nil)
	for i := 0; i < mv; i++ {
		row := c[i*g.ldc : i*g.ldc+nv]
		part := tmp[i*NR : i*NR+nv]
		if first {
			copy(row, part)
		} else {
			for j := range row {
				row[j] += part[j]
			}
		}
	}
	if last {
		g.ep.apply(c, g.ldc, r0, mv, nv)
	}
}

// call runs the micro-kernel for B's kind on a full block.
func (g *job) call(src blockB, kc int, aPanel, c []float32, ldc int, ep *kernelEp) {
	alpha := g.alpha
	if ep != nil {
		alpha = 1
	}
	switch src.kind {
	case bPacked:
		microKernel(kc, aPanel, src.b, c, ldc, alpha, MR, NR, ep)
	case bDirect:
		microKernelB(kc, aPanel, src.b, src.ldb, c, ldc, alpha, ep)
	default:
		microKernelI(kc, aPanel, src.b, src.offs, c, ldc, alpha, ep)
	}
}

// directSlice is one K slice of a tile when B is read in place: whole
// NR-column panels go straight to microKernelB (rows past the last whole
// MR-row panel through a small block), and a last partial panel is packed.
func (g *job) directSlice(ws *workspace, a, b, c []float32, i0, mt, p0, kc, j0, nc int) {
	last := p0+kc == g.k
	full := nc / NR * NR
	var tail []float32
	if full < nc {
		tail = ws.b[:kc*NR]
		if g.boff != nil {
			packBIndirect(tail, b, g.boff[p0:p0+kc], j0+full, nc-full)
		} else {
			packB(tail, false, b, g.ldb, p0, kc, j0+full, nc-full)
		}
	}
	for ic := 0; ic < mt; ic += MC {
		mc := min(MC, mt-ic)
		var ap []float32
		if g.pa != nil {
			base := p0*roundUp(g.m, MR) + ((i0+ic)/MR)*kc*MR
			ap = g.pa.data[base : base+roundUp(mc, MR)*kc]
		} else {
			ap = ws.a[:roundUp(mc, MR)*kc]
			packA(ap, g.transA, a, g.lda, i0+ic, mc, p0, kc)
		}
		cb := c[ic*g.ldc:]
		first := p0 == 0
		if microKernelRow != nil && kc*nc <= rowKC && full >= NR {
			// Short K: whole rows of full blocks per call, the rest below.
			g.rowSlice(ws, b, ap, cb, i0+ic, mc, p0, kc, j0, full, first, last)
			for ir := 0; ir < mc; ir += MR {
				mv := min(MR, mc-ir)
				aPanel := ap[(ir/MR)*kc*MR : (ir/MR+1)*kc*MR]
				for jr := 0; jr < nc; jr += NR {
					nv := min(NR, nc-jr)
					if nv == NR {
						continue // done by rowSlice
					}
					var src blockB
					switch {
					case nv < NR:
						src = blockB{kind: bPacked, b: tail}
					case g.boff != nil:
						src = blockB{kind: bIndirect, b: b[j0+jr:], offs: g.boff[p0 : p0+kc]}
					default:
						src = blockB{kind: bDirect, b: b[p0*g.ldb+j0+jr:], ldb: g.ldb}
					}
					g.block(ws, src, kc, aPanel, cb[ir*g.ldc+jr:], i0+ic+ir, mv, nv, first, last)
				}
			}
			if g.ep != nil && !g.fused() && last {
				g.ep.apply(cb, g.ldc, i0+ic, mc, nc)
			}
			continue
		}
		for jr := 0; jr < nc; jr += NR {
			nv := min(NR, nc-jr)
			var src blockB
			switch {
			case nv < NR:
				src = blockB{kind: bPacked, b: tail}
			case g.boff != nil:
				src = blockB{kind: bIndirect, b: b[j0+jr:], offs: g.boff[p0 : p0+kc]}
			default:
				src = blockB{kind: bDirect, b: b[p0*g.ldb+j0+jr:], ldb: g.ldb}
			}
			for ir := 0; ir < mc; ir += MR {
				mv := min(MR, mc-ir)
				aPanel := ap[(ir/MR)*kc*MR : (ir/MR+1)*kc*MR]
				g.block(ws, src, kc, aPanel, cb[ir*g.ldc+jr:], i0+ic+ir, mv, nv, first, last)
			}
		}
		if g.ep != nil && !g.fused() && last {
			g.ep.apply(cb, g.ldc, i0+ic, mc, nc)
		}
	}
}

// rowSlice runs microKernelRow on the MR-row panels of an A block against
// the first full columns (a multiple of NR) of the tile's B slice; a last
// panel of fewer rows goes through MR rows of scratch.
func (g *job) rowSlice(ws *workspace, b, ap, cb []float32, r0, mc, p0, kc, j0, full int, first, last bool) {
	var ep *kernelEp
	alpha := g.alpha
	if g.fused() {
		ep, alpha = &ws.ep, 1
	}
	for ir := 0; ir < mc; ir += MR {
		mv := min(MR, mc-ir)
		aPanel := ap[(ir/MR)*kc*MR : (ir/MR+1)*kc*MR]
		if ep != nil {
			ep.flags = 0
			if !first {
				ep.flags |= 1
			}
			ep.lo, ep.hi = float32(math.Inf(-1)), float32(math.Inf(1))
			if last {
				if g.ep.Bias != nil {
					ep.flags |= 2
					clear(ep.bias[:])
					copy(ep.bias[:mv], g.ep.Bias[r0+ir:r0+ir+mv])
				}
				if g.ep.Clamp {
					ep.lo, ep.hi = g.ep.Lo, g.ep.Hi
				}
			}
		}
		c, ldc := cb[ir*g.ldc:], g.ldc
		if mv < MR {
			// A last panel of fewer rows (the packed A is zero past them):
			// through MR rows of scratch holding C's rows, then back.
			ws.rows = grow(ws.rows, MR*full)
			c, ldc = ws.rows[:MR*full], full
			clear(c)
			if ep == nil || !first {
				for i := 0; i < mv; i++ {
					copy(c[i*full:(i+1)*full], cb[(ir+i)*g.ldc:(ir+i)*g.ldc+full])
				}
			}
		}
		if g.boff != nil {
			microKernelRow(kc, aPanel, b[j0:], 0, g.boff[p0:p0+kc], c, ldc, alpha, ep, full/NR)
		} else {
			microKernelRow(kc, aPanel, b[p0*g.ldb+j0:], g.ldb, nil, c, ldc, alpha, ep, full/NR)
		}
		if mv < MR {
			for i := 0; i < mv; i++ {
				copy(cb[(ir+i)*g.ldc:(ir+i)*g.ldc+full], c[i*full:(i+1)*full])
			}
		}
	}
}

// scale multiplies an m x n block of c by beta (0 clears it).
func scale(c []float32, ldc, m, n int, beta float32) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// scaleOnly handles k == 0 or alpha == 0, where C = beta*C.
func (g *job) scaleOnly(threads int) {
	g.loop = loopScale
	for bi := 0; bi < g.batch; bi++ {
		g.cur = g.c[bi*g.strideC:]
		parallel.Do(g.m, max(1, (1<<16)/max(g.n, 1)), threads, g)
	}
}

// gemv handles products with a single row or column of C, which gain
// nothing from packing.
func (g *job) gemv(threads int) {
	ws := workspaces.Get().(*workspace)
	for bi := 0; bi < g.batch; bi++ {
		a := g.a[bi*g.strideA:]
		b := g.b[bi*g.strideB:]
		c := g.c[bi*g.strideC:]
		if g.n == 1 {
			// c[i] = alpha * sum_p A(i,p) B(p,0) + beta*c[i]; A(i,p) with
			// transA is a[p*lda+i]: treat it as a 1 x m row times k x m.
			if g.transA {
				g.rowTimes(ws, threads, b, g.ldb, !g.transB, a, g.lda, false, c, g.ldc, g.m)
			} else {
				g.rowTimes(ws, threads, b, g.ldb, !g.transB, a, g.lda, true, c, g.ldc, g.m)
			}
			continue
		}
		g.rowTimes(ws, threads, a, g.lda, g.transA, b, g.ldb, g.transB, c, 1, g.n)
	}
	workspaces.Put(ws)
}

// rowTimes computes out[j*inc] = alpha * sum_p x(p) * Y(p, j) + beta*out[j*inc]
// for j < n, where x(p) is x[p] (xStrided false) or x[p*ldx] and Y(p, j) is
// y[p*ldy+j] (yTrans false) or y[j*ldy+p]. A strided x is gathered into
// ws.
func (g *job) rowTimes(ws *workspace, threads int, x []float32, ldx int, xStrided bool, y []float32, ldy int, yTrans bool, out []float32, inc, n int) {
	k := g.k
	xs := x
	if xStrided && k > 1 {
		ws.x = grow(ws.x, k)
		xs = ws.x
		for p := range xs[:k] {
			xs[p] = x[p*ldx]
		}
	}
	g.row = rowArgs{x: xs[:k], y: y, ldy: ldy, yTrans: yTrans, out: out, inc: inc, n: n}
	g.loop = loopRow
	grain := max(16, minFlopsPerThread/(2*max(k, 1)))
	parallel.Do(n, grain, threads, g)
	g.row = rowArgs{}
}

// rowChunk is how many outputs rowRange accumulates at a time on the
// stack.
const rowChunk = 256

// rowRange computes outputs [lo, hi) of rowTimes.
func (g *job) rowRange(lo, hi int) {
	r := &g.row
	k, xs, y, ldy, out, inc := g.k, r.x, r.y, r.ldy, r.out, r.inc
	alpha, beta := g.alpha, g.beta
	if r.yTrans {
		for j := lo; j < hi; j++ {
			s := dot(xs, y[j*ldy:j*ldy+k])
			o := &out[j*inc]
			if beta == 0 {
				*o = alpha * s
			} else {
				*o = alpha*s + beta**o
			}
		}
		return
	}
	var buf [rowChunk]float32
	for j0 := lo; j0 < hi; j0 += rowChunk {
		j1 := min(hi, j0+rowChunk)
		acc := buf[:j1-j0]
		clear(acc)
		for p, xv := range xs {
			row := y[p*ldy+j0 : p*ldy+j1]
			for j, v := range row {
				acc[j] += xv * v
			}
		}
		for j, s := range acc {
			o := &out[(j0+j)*inc]
			if beta == 0 {
				*o = alpha * s
			} else {
				*o = alpha*s + beta**o
			}
		}
	}
}

// rowTimesPacked computes a single row of C from a packed B, reading
// B's panels in their storage order (a row of A times NR columns at a time)
// rather than padding A to MR rows.
func (g *job) rowTimesPacked(threads int) {
	k := g.k
	ws := workspaces.Get().(*workspace)
	ws.x = grow(ws.x, k)
	x := ws.x[:k]
	for p := range x {
		if g.transA {
			x[p] = g.a[p*g.lda]
		} else {
			x[p] = g.a[p]
		}
	}
	g.row = rowArgs{x: x}
	g.loop = loopPackedRow
	panels := roundUp(g.n, NR) / NR
	parallel.Do(panels, max(1, minFlopsPerThread/(2*NR*max(k, 1))), threads, g)
	g.row = rowArgs{}
	workspaces.Put(ws)
}

// packedRowRange computes panels [lo, hi) of rowTimesPacked.
func (g *job) packedRowRange(lo, hi int) {
	k, n, x := g.k, g.n, g.row.x
	nPad := roundUp(n, NR)
	data := g.pb.data
	alpha, beta := g.alpha, g.beta
	for s := lo; s < hi; s++ {
		var acc [NR]float32
		for p0 := 0; p0 < k; p0 += KC {
			kc := min(KC, k-p0)
			base := p0*nPad + s*kc*NR
			panel := data[base : base+kc*NR]
			for p, av := range x[p0 : p0+kc] {
				row := panel[p*NR : p*NR+NR]
				for j := range acc {
					acc[j] += av * row[j]
				}
			}
		}
		out := g.c[s*NR : s*NR+min(NR, n-s*NR)]
		for j := range out {
			if beta == 0 {
				out[j] = alpha * acc[j]
			} else {
				out[j] = alpha*acc[j] + beta*out[j]
			}
		}
	}
}

// dot returns the inner product of x and y[:len(x)].
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// kernelEp tells a micro-kernel to finish a full MR x NR block instead of
// adding alpha times the product to C: the block becomes, row by row,
// clamp(C? + product + bias[i]) with C's values added when flags&1, the
// row's bias when flags&2, and the clamp to [lo, hi] as BiasClamp does
// (lo = -Inf, hi = +Inf leave values, NaN and -0 included, unchanged).
// The assembly kernels read it at fixed offsets: keep the layout.
type kernelEp struct {
	bias   [8]float32 // one per row, MR used
	lo, hi float32
	flags  int64
}

// finish applies ep to the product block p (MR rows of NR values, leading
// dimension NR) and stores it in c: the portable kernels' version.
func (ep *kernelEp) finish(p []float32, c []float32, ldc int) {
	for i := 0; i < MR; i++ {
		row := c[i*ldc : i*ldc+NR]
		src := p[i*NR : i*NR+NR]
		for j, v := range src {
			if ep.flags&1 != 0 {
				v = row[j] + v
			}
			if ep.flags&2 != 0 {
				v += ep.bias[i]
			}
			if v < ep.lo {
				v = ep.lo
			}
			if v > ep.hi {
				v = ep.hi
			}
			row[j] = v
		}
	}
}

// microKernel adds alpha * a * b to the mv x nv block at the start of c
// (leading dimension ldc), where a is an MR-row panel (kc*MR values, k-major)
// and b an NR-column panel (kc*NR values, k-major), both zero-padded. It is
// a variable so that a CPU-specific version can take its place (see
// sgemm_amd64.go, which installs the AVX2+FMA kernel at start when the CPU
// has it; builds with the purego tag keep the portable kernel).
var microKernel = microKernelGo

// microKernelB, when set, computes a full MR x NR block like microKernel
// but reads the B part in place (step p's NR values at b[p*ldb:]), so that
// B need not be packed. Only CPU-specific kernels provide it.
var microKernelB func(kc int, a, b []float32, ldb int, c []float32, ldc int, alpha float32, ep *kernelEp)

// microKernelI, when set, is microKernelB with B's rows found through
// offsets: step p's NR values at b[offs[p]:].
var microKernelI func(kc int, a, b []float32, offs []int, c []float32, ldc int, alpha float32, ep *kernelEp)

// microKernelRow, when set, runs the B-in-place kernel (offs nil, rows at
// b[p*ldb:]) or the offset kernel (rows at b[offs[p]:]) on panels full
// MR x NR blocks side by side, sharing the A panel: one call per row of
// blocks, which matters when K is short and a call costs as much as its
// arithmetic.
var microKernelRow func(kc int, a, b []float32, ldb int, offs []int, c []float32, ldc int, alpha float32, ep *kernelEp, panels int)

// microKernelCol, when set, runs the packed kernel (no epilogue) on panels
// full MR x NR blocks one above the other: the A panels follow each other
// in a (kc*MR values apart), all share the B panel b, and block q goes to
// c[q*MR*ldc:]. With load false it overwrites C with alpha times the
// product (as adding it to a cleared C would) instead of adding to it.
var microKernelCol func(kc int, a, b, c []float32, ldc int, alpha float32, load bool, panels int)

// rowKC bounds kc*nc (values of B a row of blocks sweeps) for which a tile
// goes through microKernelRow: that much of B must stay in the L2 cache
// while each A panel sweeps it.
const rowKC = 48 * 1024

// directB is the largest number of rows of C for which a tile reads B in
// place instead of packing it: packing copies each value of B once per
// tile and pays off only when enough A panels reuse the packed copy.
var directB = 128

// kernelName names the float micro-kernel in use, for Kernel.
var kernelName = "portable Go"

// Kernel names the float32 micro-kernel this process uses: "avx2+fma 6x16"
// on amd64 CPUs with AVX2 and FMA (unless built with the purego tag), else
// "portable Go".
func Kernel() string { return kernelName }

// microKernelGo is the portable micro-kernel. Go has no vector types and
// its register allocator spills beyond about a dozen live floats, so it
// covers the MR x NR block in sub-blocks of 2 rows by 3 (or 4) columns whose
// 6 (8) accumulators stay in registers, skipping those wholly outside the
// mv x nv region. It requires an even MR. With ep (full blocks only) the
// product goes to a local block that ep.finish stores.
func microKernelGo(kc int, a, b []float32, c []float32, ldc int, alpha float32, mv, nv int, ep *kernelEp) {
	if ep != nil {
		var tmp [MR * NR]float32
		microKernelGo(kc, a, b, tmp[:], NR, 1, MR, NR, nil)
		ep.finish(tmp[:], c, ldc)
		return
	}
	for r := 0; r < mv; r += 2 {
		rows := min(2, mv-r)
		for _, g := range colGroups {
			if g.at >= nv {
				break
			}
			cols := min(g.width, nv-g.at)
			cc := c[r*ldc+g.at:]
			switch g.width {
			case 3:
				sub2x3(kc, a[r:], b[g.at:], cc, ldc, alpha, rows, cols)
			case 4:
				sub2x4(kc, a[r:], b[g.at:], cc, ldc, alpha, rows, cols)
			default:
				sub2xN(kc, a[r:], b[g.at:], cc, ldc, alpha, rows, cols)
			}
		}
	}
}

// colGroup is a run of columns of the B panel that one sub-block covers.
type colGroup struct{ at, width int }

// colGroups splits NR columns into groups of 3, ending with one of 4 (or
// of the 1 or 2 left over).
var colGroups = func() []colGroup {
	var gs []colGroup
	at := 0
	for NR-at > 4 {
		gs = append(gs, colGroup{at, 3})
		at += 3
	}
	if at < NR {
		gs = append(gs, colGroup{at, NR - at})
	}
	return gs
}()

// sub2x3 multiplies rows 0..1 of an A panel (stride MR per k step) by
// columns 0..2 of a B panel (stride NR per k step) and adds alpha times the
// result to the rows x cols block of c.
func sub2x3(kc int, a, b []float32, c []float32, ldc int, alpha float32, rows, cols int) {
	var c00, c01, c02, c10, c11, c12 float32
	ia, ib := 0, 0
	for p := 0; p < kc; p++ {
		aa := a[ia : ia+2 : ia+2]
		bb := b[ib : ib+3 : ib+3]
		a0, a1 := aa[0], aa[1]
		b0, b1, b2 := bb[0], bb[1], bb[2]
		c00 += a0 * b0
		c10 += a1 * b0
		c01 += a0 * b1
		c11 += a1 * b1
		c02 += a0 * b2
		c12 += a1 * b2
		ia += MR
		ib += NR
	}
	if rows == 2 && cols == 3 {
		r0 := c[0:3:3]
		r0[0] += alpha * c00
		r0[1] += alpha * c01
		r0[2] += alpha * c02
		r1 := c[ldc : ldc+3 : ldc+3]
		r1[0] += alpha * c10
		r1[1] += alpha * c11
		r1[2] += alpha * c12
		return
	}
	acc := [2][4]float32{{c00, c01, c02}, {c10, c11, c12}}
	store(c, ldc, alpha, &acc, rows, cols)
}

// sub2x4 is sub2x3 for four columns.
func sub2x4(kc int, a, b []float32, c []float32, ldc int, alpha float32, rows, cols int) {
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	ia, ib := 0, 0
	for p := 0; p < kc; p++ {
		aa := a[ia : ia+2 : ia+2]
		bb := b[ib : ib+4 : ib+4]
		a0, a1 := aa[0], aa[1]
		b0 := bb[0]
		c00 += a0 * b0
		c10 += a1 * b0
		b1 := bb[1]
		c01 += a0 * b1
		c11 += a1 * b1
		b2 := bb[2]
		c02 += a0 * b2
		c12 += a1 * b2
		b3 := bb[3]
		c03 += a0 * b3
		c13 += a1 * b3
		ia += MR
		ib += NR
	}
	if rows == 2 && cols == 4 {
		r0 := c[0:4:4]
		r0[0] += alpha * c00
		r0[1] += alpha * c01
		r0[2] += alpha * c02
		r0[3] += alpha * c03
		r1 := c[ldc : ldc+4 : ldc+4]
		r1[0] += alpha * c10
		r1[1] += alpha * c11
		r1[2] += alpha * c12
		r1[3] += alpha * c13
		return
	}
	acc := [2][4]float32{{c00, c01, c02, c03}, {c10, c11, c12, c13}}
	store(c, ldc, alpha, &acc, rows, cols)
}

// sub2xN handles a group of one or two columns (only for an NR that is not
// split evenly by 3s and a 4).
func sub2xN(kc int, a, b []float32, c []float32, ldc int, alpha float32, rows, cols int) {
	var acc [2][4]float32
	for p := 0; p < kc; p++ {
		for i := 0; i < 2; i++ {
			av := a[p*MR+i]
			for j := 0; j < cols; j++ {
				acc[i][j] += av * b[p*NR+j]
			}
		}
	}
	store(c, ldc, alpha, &acc, rows, cols)
}

// store adds alpha times the rows x cols corner of acc to c.
func store(c []float32, ldc int, alpha float32, acc *[2][4]float32, rows, cols int) {
	for i := 0; i < rows; i++ {
		row := c[i*ldc : i*ldc+cols]
		for j := range row {
			row[j] += alpha * acc[i][j]
		}
	}
}
