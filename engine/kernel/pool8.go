package kernel

import "github.com/onnxquant/onnxquant/internal/gemm"

// poolRows8 recycles the padded rows of maxPool2D8.
var poolRows8 bufPool[byte]

// maxPool2D8 is maxPoolPlanes for 8-bit pools over at most two spatial
// axes with unit dilation along the last, without indices: per output
// row, the elementwise maximum of the window's input rows (gemm.MaxBytes,
// a vector loop) goes into a row padded with the type's lowest value on
// both sides, then each window's columns of that row are reduced
// (gemm.PoolRowMaxBytes, a vector loop for strides 1 and 2). The
// maximum of integers is exact and does not depend on the order, so the
// result is maxPoolPlanes's.
func maxPool2D8[T int8 | uint8](g *poolGeom, x, y []T, p0, p1 int) {
	in2, out2 := g.in[2], g.out[2]
	low := lowest[T]()
	signed := low != 0
	pb, s2, k2 := g.pb[2], g.s[2], g.k[2]
	// One more value than the windows reach lets the stride-2 vector loop
	// run to the end of the row.
	wp := max(pb+in2, (out2-1)*s2+k2) + 1
	rowp := poolRows8.get(wp)
	defer poolRows8.put(rowp)
	row := qFromBytes[T]((*rowp)[:wp])
	for i := range row {
		row[i] = low
	}
	rowb := qToBytes(row)
	mid := rowb[pb : pb+in2]
	for p := p0; p < p1; p++ {
		xp := qToBytes(x[p*g.inSize : (p+1)*g.inSize])
		yp := y[p*g.outSize : (p+1)*g.outSize]
		for o1 := 0; o1 < g.out[1]; o1++ {
			s1, l1, h1 := g.start[1][o1], g.tlo[1][o1], g.thi[1][o1]
			yrow := yp[o1*out2 : (o1+1)*out2]
			if h1 <= l1 {
				for i := range yrow {
					yrow[i] = low
				}
				continue
			}
			// Only the middle of the row changes: its padding keeps low.
			r0 := s1 + l1*g.d[1]
			copy(mid, xp[r0*in2:(r0+1)*in2])
			for t1 := l1 + 1; t1 < h1; t1++ {
				r := s1 + t1*g.d[1]
				gemm.MaxBytes(mid, xp[r*in2:(r+1)*in2], signed)
			}
			_ = gemm.PoolRowMaxBytes(qToBytes(yrow), rowb, k2, s2, signed)
		}
	}
}
