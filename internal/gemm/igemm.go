package gemm

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/onnxquant/onnxquant/internal/parallel"
)

// Integer matrix product for the quantized operators (MatMulInteger,
// ConvInteger, QLinearMatMul, QLinearConv, QGemm, ...):
//
//	C[i][j] = sum_p (op(A)[i][p] - za[i]) * (op(B)[p][j] - zb[j])
//
// with 8-bit signed or unsigned operands, zero points (one for the whole
// operand, or one per row of op(A) / per column of op(B), each within
// [-256, 256]) and an int32 result. The arithmetic is exact: every
// difference fits in 16 bits, and the result is the true sum modulo 2^32,
// as an int32 accumulator with two's-complement wrap-around gives it (and
// as ONNX Runtime computes it): the true sum whenever it fits in an int32,
// that is for K up to 33025 with the widest 8-bit ranges.
//
// The routine is organised like Sgemm: C is cut into tiles, K into slices
// of ikc, and the operands are packed into panels of imr rows (A) and inr
// columns (B) holding the zero-point-corrected values as int16, so that
// the micro-kernel is a plain multiply-accumulate with no correction terms.
// The panels interleave consecutive K steps in pairs: A stores, per pair q
// and row i, (a[i][2q], a[i][2q+1]); B stores, per pair and column j,
// (b[2q][j], b[2q+1][j]). That is the operand layout of the AVX2
// instruction VPMADDWD, which multiplies 16-bit pairs and adds each pair's
// two products into one 32-bit lane, exactly (two products of magnitude at
// most 511*511 fit easily), so the AVX2 kernel (igemm_amd64.s) is exact;
// the portable kernel does the same sums in int32. (VPMADDUBSW, which
// multiplies unsigned by signed bytes directly, is not used: it saturates
// the sum of two products to 16 bits, and 255*127*2 does not fit.) A
// constant operand (a weight) can be packed once with PackIA or PackIB.

// Int8 is the set of 8-bit integer element types the integer product reads.
type Int8 interface{ ~int8 | ~uint8 }

// Blocking parameters of the integer product: imr x inr is the block of C
// one micro-kernel call computes, ikc the K slice of a packed panel, and imc
// x inc the largest tile of C (imc a multiple of imr, inc of inr).
const (
	imr = 6
	inr = 16
	ikc = 512 // even: K pairs never straddle two slices
	imc = 96
	inc = 512
)

// minOpsPerThread is the number of multiply-adds below which another
// goroutine costs more than it saves.
const minOpsPerThread = 1 << 16

// maxZeroPoint bounds the magnitude of a zero point: an 8-bit value minus
// its zero point then lies in [-511, 511], and a K slice of ikc products
// sums to less than 2^31 in magnitude (512 * 511^2 < 2^28), so the int32
// accumulators of a slice never wrap.
const maxZeroPoint = 256

// PackedIA is a left operand (m x k after any transposition) with its zero
// points subtracted, stored in the panel layout the micro-kernel reads. It
// is read-only once built and may be shared by goroutines.
type PackedIA struct {
	m, k int
	data []int16
}

// PackedIB is a right operand (k x n after any transposition) with its zero
// points subtracted, in panel layout. It is read-only once built.
type PackedIB struct {
	k, n int
	data []int16
}

// Rows returns m, the number of rows of the packed operand.
func (p *PackedIA) Rows() int { return p.m }

// Cols returns k, the number of columns of the packed operand.
func (p *PackedIA) Cols() int { return p.k }

// Rows returns k, the number of rows of the packed operand.
func (p *PackedIB) Rows() int { return p.k }

// Cols returns n, the number of columns of the packed operand.
func (p *PackedIB) Cols() int { return p.n }

// Packed layout (as for Sgemm, with K in pairs): the K slice starting at
// p0 (length kc, kp = ceil(kc/2) pairs) starts at p0*roundUp(m, imr) in A's
// data; panel s (rows s*imr .. s*imr+imr-1) holds kp*imr*2 values at
// offset s*kp*imr*2, value (i, p) at ((p/2)*imr+i)*2 + p%2. Rows past m
// and the second half of an odd last pair are zero. B likewise with inr
// columns per panel, value (p, j) at ((p/2)*inr+j)*2 + p%2. Slices start at
// even p0, so p0*roundUp(m, imr) counts the values of the slices before.

// checkIOperand verifies that x holds op(X), a rows x cols matrix stored
// with leading dimension ld (transposed when trans).
func checkIOperand(name string, trans bool, rows, cols, n, ld int) error {
	r, c := rows, cols
	if trans {
		r, c = cols, rows
	}
	if r == 0 || c == 0 {
		return nil
	}
	if ld < c {
		return fmt.Errorf("gemm: leading dimension of %s is %d, less than its %d columns", name, ld, c)
	}
	if need := (r-1)*ld + c; n < need {
		return fmt.Errorf("gemm: %s holds %d values, a %dx%d matrix with leading dimension %d needs %d", name, n, r, c, ld, need)
	}
	return nil
}

// checkZeroPoints verifies a zero-point list: empty (all 0), one value, or
// one per row (column) of the operand.
func checkZeroPoints(name string, z []int32, per int) error {
	if len(z) > 1 && len(z) != per {
		return fmt.Errorf("gemm: %s has %d zero points, want 1 or %d", name, len(z), per)
	}
	for _, v := range z {
		if v < -maxZeroPoint || v > maxZeroPoint {
			return fmt.Errorf("gemm: %s zero point %d out of range", name, v)
		}
	}
	return nil
}

// zeroPointAt returns the zero point of row (column) i.
func zeroPointAt(z []int32, i int) int16 {
	switch len(z) {
	case 0:
		return 0
	case 1:
		return int16(z[0])
	}
	return int16(z[i])
}

// PackIA packs op(A) - za, an m x k matrix: A itself (stored m x k with
// leading dimension lda) when transA is false, else the transpose of A
// stored k x m. za holds no value (zero), one value, or one per row of
// op(A).
func PackIA[T Int8](transA bool, m, k int, a []T, lda int, za []int32) (*PackedIA, error) {
	if m < 0 || k < 0 {
		return nil, fmt.Errorf("gemm: PackIA: negative size %dx%d", m, k)
	}
	if err := checkIOperand("A", transA, m, k, len(a), lda); err != nil {
		return nil, err
	}
	if err := checkZeroPoints("A", za, m); err != nil {
		return nil, err
	}
	mPad := roundUp(m, imr)
	p := &PackedIA{m: m, k: k, data: make([]int16, mPad*roundUp(k, 2))}
	for p0 := 0; p0 < k; p0 += ikc {
		kc := min(ikc, k-p0)
		packIA(p.data[p0*mPad:p0*mPad+mPad*roundUp(kc, 2)], transA, a, lda, za, 0, m, p0, kc)
	}
	return p, nil
}

// PackIB packs op(B) - zb, a k x n matrix: B itself (stored k x n with
// leading dimension ldb) when transB is false, else the transpose of B
// stored n x k. zb holds no value (zero), one value, or one per column of
// op(B).
func PackIB[T Int8](transB bool, k, n int, b []T, ldb int, zb []int32) (*PackedIB, error) {
	if k < 0 || n < 0 {
		return nil, fmt.Errorf("gemm: PackIB: negative size %dx%d", k, n)
	}
	if err := checkIOperand("B", transB, k, n, len(b), ldb); err != nil {
		return nil, err
	}
	if err := checkZeroPoints("B", zb, n); err != nil {
		return nil, err
	}
	nPad := roundUp(n, inr)
	p := &PackedIB{k: k, n: n, data: make([]int16, nPad*roundUp(k, 2))}
	for p0 := 0; p0 < k; p0 += ikc {
		kc := min(ikc, k-p0)
		packIB(p.data[p0*nPad:p0*nPad+nPad*roundUp(kc, 2)], transB, b, ldb, zb, p0, kc, 0, n)
	}
	return p, nil
}

// packIA writes rows [i0, i0+mc) and columns [p0, p0+kc) of op(A) minus
// the row zero points to dst as ceil(mc/imr) panels of K pairs,
// zero-padding the last panel and an odd last pair.
func packIA[T Int8](dst []int16, trans bool, a []T, lda int, za []int32, i0, mc, p0, kc int) {
	kp := (kc + 1) / 2
	for s := 0; s < mc; s += imr {
		panel := dst[(s/imr)*kp*imr*2 : (s/imr+1)*kp*imr*2]
		rows := min(imr, mc-s)
		for i := 0; i < rows; i++ {
			z := zeroPointAt(za, i0+s+i)
			if !trans {
				row := a[(i0+s+i)*lda+p0 : (i0+s+i)*lda+p0+kc]
				for p, v := range row {
					panel[((p>>1)*imr+i)*2+p&1] = int16(v) - z
				}
			} else {
				col := i0 + s + i
				for p := 0; p < kc; p++ {
					panel[((p>>1)*imr+i)*2+p&1] = int16(a[(p0+p)*lda+col]) - z
				}
			}
			if kc&1 == 1 {
				panel[((kc>>1)*imr+i)*2+1] = 0
			}
		}
		if rows < imr {
			for q := 0; q < kp; q++ {
				clear(panel[(q*imr+rows)*2 : (q*imr+imr)*2])
			}
		}
	}
}

// packIB writes rows [p0, p0+kc) and columns [j0, j0+nc) of op(B) minus
// the column zero points to dst as ceil(nc/inr) panels of K pairs,
// zero-padding the last panel and an odd last pair.
func packIB[T Int8](dst []int16, trans bool, b []T, ldb int, zb []int32, p0, kc, j0, nc int) {
	kp := (kc + 1) / 2
	var zbuf [inr]int16
	for s := 0; s < nc; s += inr {
		panel := dst[(s/inr)*kp*inr*2 : (s/inr+1)*kp*inr*2]
		cols := min(inr, nc-s)
		for j := 0; j < cols; j++ {
			zbuf[j] = zeroPointAt(zb, j0+s+j)
		}
		first := 0
		if !trans && cols == inr && kc >= 2 {
			// Whole pairs of a whole panel through the vector packer.
			off := p0*ldb + j0 + s
			if packIBPairs(panel, bytesOf(b[off:]), isSigned[T](), ldb, kc/2, &zbuf) {
				first = kc &^ 1
			}
		}
		for p := first; p < kc; p++ {
			out := panel[(p>>1)*inr*2+p&1:]
			if !trans {
				src := b[(p0+p)*ldb+j0+s : (p0+p)*ldb+j0+s+cols]
				for j, v := range src {
					out[2*j] = int16(v) - zbuf[j]
				}
			} else {
				for j := 0; j < cols; j++ {
					out[2*j] = int16(b[(j0+s+j)*ldb+p0+p]) - zbuf[j]
				}
			}
			for j := cols; j < inr; j++ {
				out[2*j] = 0
			}
		}
		if kc&1 == 1 {
			out := panel[(kc>>1)*inr*2+1:]
			for j := 0; j < inr; j++ {
				out[2*j] = 0
			}
		}
	}
}

// packIBPairs (igemm_amd64.go, igemm_generic.go) packs, when this build
// and CPU have a vector version, the first pairs K pairs of a whole
// inr-column panel of a non-transposed B (first value at b[0], row stride
// ldb, signed or unsigned bytes) minus the zero points zb, and reports
// whether it did.

// Igemm computes C = (op(A) - za) * (op(B) - zb) for row-major 8-bit
// matrices into the int32 matrix C (m x n, leading dimension ldc; its
// previous contents are overwritten, values outside the m x n region are
// not touched). op(A) is m x k: A stored m x k with leading dimension lda,
// or its transpose (A stored k x m) when transA is true; likewise op(B) is
// k x n. za holds no value (all zero), one value, or one per row of op(A);
// zb none, one, or one per column of op(B). threads bounds the goroutines
// used (<= 0 means GOMAXPROCS). It returns an error when a slice is too
// short for the sizes given or a zero-point list has the wrong length.
func Igemm[TA, TB Int8](transA, transB bool, m, n, k int, a []TA, lda int, za []int32, b []TB, ldb int, zb []int32, c []int32, ldc int, threads int) error {
	return IgemmPacked(transA, transB, m, n, k, a, lda, za, nil, b, ldb, zb, nil, c, ldc, threads)
}

// IgemmPacked computes the product of Igemm where either operand may come
// pre-packed: pass pa to use a packed A (a, lda and za are then ignored),
// pb to use a packed B (b, ldb and zb ignored). m, n and k must agree with
// the packed operands.
func IgemmPacked[TA, TB Int8](transA, transB bool, m, n, k int, a []TA, lda int, za []int32, pa *PackedIA, b []TB, ldb int, zb []int32, pb *PackedIB, c []int32, ldc int, threads int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("gemm: negative size m=%d n=%d k=%d", m, n, k)
	}
	if pa != nil && (pa.m != m || pa.k != k) {
		return fmt.Errorf("gemm: packed A is %dx%d, the product needs %dx%d", pa.m, pa.k, m, k)
	}
	if pb != nil && (pb.k != k || pb.n != n) {
		return fmt.Errorf("gemm: packed B is %dx%d, the product needs %dx%d", pb.k, pb.n, k, n)
	}
	if pa == nil {
		if err := checkIOperand("A", transA, m, k, len(a), lda); err != nil {
			return err
		}
		if err := checkZeroPoints("A", za, m); err != nil {
			return err
		}
	}
	if pb == nil {
		if err := checkIOperand("B", transB, k, n, len(b), ldb); err != nil {
			return err
		}
		if err := checkZeroPoints("B", zb, n); err != nil {
			return err
		}
	}
	if err := checkIOperand("C", false, m, n, len(c), ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	g := ijobs.Get().(*ijob)
	*g = ijob{
		m: m, n: n, k: k,
		transA: transA, a: bytesOf(a), aSigned: isSigned[TA](), lda: lda, za: za, pa: pa,
		transB: transB, b: bytesOf(b), bSigned: isSigned[TB](), ldb: ldb, zb: zb, pb: pb,
		c: c, ldc: ldc,
	}
	g.run(threads)
	*g = ijob{}
	ijobs.Put(g)
	return nil
}

// isSigned reports whether T is a signed 8-bit type.
func isSigned[T Int8]() bool {
	var z T
	return ^z < 0
}

// bytesOf returns x's bytes as []uint8 (the signedness is kept aside), so
// that one job type serves every pair of operand types.
func bytesOf[T Int8](x []T) []uint8 {
	if x == nil {
		return nil
	}
	return unsafe.Slice((*uint8)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// signedBytes views x as int8 values.
func signedBytes(x []uint8) []int8 {
	if x == nil {
		return nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(x))), len(x))
}

// ijob is one validated integer product. The operands are held as bytes
// with their signedness, so that job states of any operand types are
// recycled through one pool.
type ijob struct {
	m, n, k int

	transA  bool
	a       []uint8
	aSigned bool
	lda     int
	za      []int32
	pa      *PackedIA

	transB  bool
	b       []uint8
	bSigned bool
	ldb     int
	zb      []int32
	pb      *PackedIB

	c   []int32
	ldc int

	mc, nc         int
	mTiles, nTiles int

	tiles int
	next  atomic.Int64 // the next tile to take
}

var ijobs = sync.Pool{New: func() any { return new(ijob) }}

// iworkspace holds one goroutine's packing buffers.
type iworkspace struct {
	a, b  []int16
	block [imr * inr]int32 // a partial block of C
}

var iworkspaces = sync.Pool{New: func() any { return new(iworkspace) }}

// growI16 returns buf if it holds n values, else a new buffer of n values
// starting on a 64-byte boundary.
func growI16(buf []int16, n int) []int16 {
	if len(buf) >= n {
		return buf
	}
	raw := make([]int16, n+31)
	off := 0
	if r := uintptr(unsafe.Pointer(unsafe.SliceData(raw))) & 63; r != 0 {
		off = int(64-r) / 2
	}
	return raw[off : off+n : off+n]
}

func (g *ijob) run(threads int) {
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	ops := float64(g.m) * float64(g.n) * float64(max(g.k, 1))
	if maxT := int(ops/minOpsPerThread) + 1; threads > maxT {
		threads = maxT
	}
	g.chooseTiles(threads)
	tiles := g.mTiles * g.nTiles
	threads = min(threads, tiles)
	if threads <= 1 {
		ws := iworkspaces.Get().(*iworkspace)
		for t := 0; t < tiles; t++ {
			g.tile(ws, t)
		}
		iworkspaces.Put(ws)
		return
	}
	g.tiles = tiles
	g.next.Store(0)
	parallel.Do(threads, 1, threads, g)
}

// Range takes tiles until none is left: parallel.Do's body.
func (g *ijob) Range(lo, hi int) {
	ws := iworkspaces.Get().(*iworkspace)
	for {
		t := int(g.next.Add(1) - 1)
		if t >= g.tiles {
			break
		}
		g.tile(ws, t)
	}
	iworkspaces.Put(ws)
}

// chooseTiles picks evenly sized tiles of at most imc x inc, at least as
// many as threads when the matrix allows it.
func (g *ijob) chooseTiles(threads int) {
	mt := (g.m + imc - 1) / imc
	nt := (g.n + inc - 1) / inc
	if mt*nt < threads {
		want := (threads + mt - 1) / mt
		nt = min(max(nt, want), (g.n+inr-1)/inr)
		if mt*nt < threads {
			want = (threads + nt - 1) / nt
			mt = min(max(mt, want), (g.m+imr-1)/imr)
		}
	}
	g.mc = roundUp((g.m+mt-1)/mt, imr)
	g.nc = roundUp((g.n+nt-1)/nt, inr)
	g.mTiles = (g.m + g.mc - 1) / g.mc
	g.nTiles = (g.n + g.nc - 1) / g.nc
}

// packA packs rows [i0, i0+mc) and K steps [p0, p0+kc) of op(A) into dst.
func (g *ijob) packA(dst []int16, i0, mc, p0, kc int) {
	if g.aSigned {
		packIA(dst, g.transA, signedBytes(g.a), g.lda, g.za, i0, mc, p0, kc)
	} else {
		packIA(dst, g.transA, g.a, g.lda, g.za, i0, mc, p0, kc)
	}
}

// packB packs K steps [p0, p0+kc) and columns [j0, j0+nc) of op(B) into
// dst.
func (g *ijob) packB(dst []int16, p0, kc, j0, nc int) {
	if g.bSigned {
		packIB(dst, g.transB, signedBytes(g.b), g.ldb, g.zb, p0, kc, j0, nc)
	} else {
		packIB(dst, g.transB, g.b, g.ldb, g.zb, p0, kc, j0, nc)
	}
}

// tile computes tile t of C (row tile t/nTiles, column tile t%nTiles).
func (g *ijob) tile(ws *iworkspace, t int) {
	i0 := (t / g.nTiles) * g.mc
	j0 := (t % g.nTiles) * g.nc
	mc := min(g.mc, g.m-i0)
	nc := min(g.nc, g.n-j0)
	c := g.c[i0*g.ldc+j0:]
	for i := 0; i < mc; i++ {
		clear(c[i*g.ldc : i*g.ldc+nc])
	}
	if g.k == 0 {
		return
	}
	if g.pa == nil {
		ws.a = growI16(ws.a, roundUp(g.mc, imr)*roundUp(min(ikc, g.k), 2))
	}
	if g.pb == nil {
		ws.b = growI16(ws.b, roundUp(g.nc, inr)*roundUp(min(ikc, g.k), 2))
	}
	for p0 := 0; p0 < g.k; p0 += ikc {
		kc := min(ikc, g.k-p0)
		kp := (kc + 1) / 2
		var ap, bp []int16
		if g.pa != nil {
			base := p0*roundUp(g.m, imr) + (i0/imr)*kp*imr*2
			ap = g.pa.data[base : base+roundUp(mc, imr)*kp*2]
		} else {
			ap = ws.a[:roundUp(mc, imr)*kp*2]
			g.packA(ap, i0, mc, p0, kc)
		}
		if g.pb != nil {
			base := p0*roundUp(g.n, inr) + (j0/inr)*kp*inr*2
			bp = g.pb.data[base : base+roundUp(nc, inr)*kp*2]
		} else {
			bp = ws.b[:roundUp(nc, inr)*kp*2]
			g.packB(bp, p0, kc, j0, nc)
		}
		for jr := 0; jr < nc; jr += inr {
			nv := min(inr, nc-jr)
			bPanel := bp[(jr/inr)*kp*inr*2 : (jr/inr+1)*kp*inr*2]
			for ir := 0; ir < mc; ir += imr {
				mv := min(imr, mc-ir)
				aPanel := ap[(ir/imr)*kp*imr*2 : (ir/imr+1)*kp*imr*2]
				cc := c[ir*g.ldc+jr:]
				if mv == imr && nv == inr {
					iMicroKernel(kp, aPanel, bPanel, cc, g.ldc)
					continue
				}
				// A partial block: through a full one, then its corner.
				tmp := ws.block[:]
				clear(tmp)
				iMicroKernel(kp, aPanel, bPanel, tmp, inr)
				for i := 0; i < mv; i++ {
					row := cc[i*g.ldc : i*g.ldc+nv]
					for j := range row {
						row[j] += tmp[i*inr+j]
					}
				}
			}
		}
	}
}

// iMicroKernel adds a*b to the full imr x inr block at the start of c
// (leading dimension ldc), where a is an imr-row panel and b an inr-column
// panel of kp K pairs each, the sums wrapping as int32 arithmetic does. It
// is a variable so that the AVX2 kernel can take its place.
var iMicroKernel = iMicroKernelGo

// iKernelName names the integer micro-kernel in use.
var iKernelName = "portable Go"

// IKernel names the integer micro-kernel this process uses: "avx2
// vpmaddwd 6x16" on amd64 CPUs with AVX2 (unless built with the purego
// tag), else "portable Go".
func IKernel() string { return iKernelName }

// iMicroKernelGo is the portable integer micro-kernel: the block in
// sub-blocks of 2 rows by 4 columns whose 8 int32 accumulators stay in
// registers, each K pair adding a0*b0 + a1*b1 as VPMADDWD does.
func iMicroKernelGo(kp int, a, b []int16, c []int32, ldc int) {
	a = a[:kp*imr*2]
	b = b[:kp*inr*2]
	for r := 0; r < imr; r += 2 {
		for j0 := 0; j0 < inr; j0 += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 int32
			for q := 0; q < kp; q++ {
				aa := a[(q*imr+r)*2 : (q*imr+r)*2+4 : (q*imr+r)*2+4]
				bb := b[(q*inr+j0)*2 : (q*inr+j0)*2+8 : (q*inr+j0)*2+8]
				a00, a01, a10, a11 := int32(aa[0]), int32(aa[1]), int32(aa[2]), int32(aa[3])
				c00 += a00*int32(bb[0]) + a01*int32(bb[1])
				c01 += a00*int32(bb[2]) + a01*int32(bb[3])
				c02 += a00*int32(bb[4]) + a01*int32(bb[5])
				c03 += a00*int32(bb[6]) + a01*int32(bb[7])
				c10 += a10*int32(bb[0]) + a11*int32(bb[1])
				c11 += a10*int32(bb[2]) + a11*int32(bb[3])
				c12 += a10*int32(bb[4]) + a11*int32(bb[5])
				c13 += a10*int32(bb[6]) + a11*int32(bb[7])
			}
			r0 := c[r*ldc+j0 : r*ldc+j0+4 : r*ldc+j0+4]
			r0[0] += c00
			r0[1] += c01
			r0[2] += c02
			r0[3] += c03
			r1 := c[(r+1)*ldc+j0 : (r+1)*ldc+j0+4 : (r+1)*ldc+j0+4]
			r1[0] += c10
			r1[1] += c11
			r1[2] += c12
			r1[3] += c13
		}
	}
}
