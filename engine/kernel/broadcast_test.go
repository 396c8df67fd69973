package kernel

import (
	"fmt"
	"math/rand"
	"slices"
	"sync"
	"testing"

	"github.com/onnxquant/onnxquant/internal/parallel"
)

func TestBroadcastShape(t *testing.T) {
	tests := []struct {
		in   [][]int
		want []int // nil: incompatible
	}{
		{[][]int{{2, 3}, {3}}, []int{2, 3}},
		{[][]int{{2, 1, 4}, {3, 1}}, []int{2, 3, 4}},
		{[][]int{{}, {5}}, []int{5}},
		{[][]int{{}, {}}, []int{}},
		{[][]int{{1, 3}, {4, 1}, {2, 1, 1}}, []int{2, 4, 3}},
		{[][]int{{0, 3}, {1, 3}}, []int{0, 3}},
		{[][]int{{2, 1}, {2, 0}}, []int{2, 0}},
		{[][]int{{2, 3}, {4}}, nil},
		{[][]int{{0}, {3}}, nil},
		{[][]int{{2, 3, 4}, {2, 1, 5}}, nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.in), func(t *testing.T) {
			got, err := broadcastShape(tc.in...)
			if tc.want == nil {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestBroadcastCollapse checks the simplified iteration of the common cases
// listed in broadcast.go's comment, worked out by hand.
func TestBroadcastCollapse(t *testing.T) {
	tests := []struct {
		name    string
		a, b    []int
		dims    []int
		strides [][]int
	}{
		{"same", []int{2, 3, 4}, []int{2, 3, 4}, []int{24}, [][]int{{1}, {1}}},
		{"scalar", []int{2, 3, 4}, []int{}, []int{24}, [][]int{{1}, {0}}},
		{"scalar-first", []int{1}, []int{5, 2}, []int{10}, [][]int{{0}, {1}}},
		{"bias row", []int{4, 3}, []int{3}, []int{4, 3}, [][]int{{3, 1}, {0, 1}}},
		{"column", []int{4, 3}, []int{4, 1}, []int{4, 3}, [][]int{{3, 1}, {1, 0}}},
		{"channel", []int{2, 3, 5, 7}, []int{3, 1, 1}, []int{2, 3, 35}, [][]int{{105, 35, 1}, {0, 1, 0}}},
		{"outer", []int{3, 1}, []int{1, 4}, []int{3, 4}, [][]int{{1, 0}, {0, 1}}},
		{"ones dropped", []int{1, 6, 1}, []int{6, 1}, []int{6}, [][]int{{1}, {1}}},
		{"single", []int{1, 1}, []int{}, []int{1}, [][]int{{1}, {1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := newBroadcast(tc.a, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b.dims, tc.dims) {
				t.Fatalf("dims %v, want %v", b.dims, tc.dims)
			}
			for k := range tc.strides {
				if !slices.Equal(b.strides[k], tc.strides[k]) {
					t.Fatalf("operand %d strides %v, want %v", k, b.strides[k], tc.strides[k])
				}
			}
		})
	}
}

// naiveOffset returns the flat offset in an operand of shape s of the output
// element with multi-index idx (aligned at the trailing dimensions).
func naiveOffset(idx, s []int) int {
	off := len(idx) - len(s)
	o := 0
	for i, d := range s {
		v := idx[off+i]
		if d == 1 {
			v = 0
		}
		o = o*d + v
	}
	return o
}

// TestBroadcastEach walks random broadcasts with tiny chunks over several
// goroutines and checks every element's operand offsets against the
// definition of broadcasting, computed per element from its multi-index.
func TestBroadcastEach(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		rank := rng.Intn(5)
		out := make([]int, rank)
		for i := range out {
			out[i] = 1 + rng.Intn(4)
		}
		nops := 1 + rng.Intn(3)
		shapes := make([][]int, nops)
		for k := range shapes {
			r := rng.Intn(rank + 1)
			s := make([]int, r)
			for i := range s {
				if rng.Intn(2) == 0 {
					s[i] = 1
				} else {
					s[i] = out[rank-r+i]
				}
			}
			shapes[k] = s
		}
		b := newBroadcastTo(out, shapes...)
		seen := make([]int, b.Size)
		var mu sync.Mutex
		var bad []string
		grain := 1 + rng.Intn(5)
		b.each(3, grain, func(o, n int, off []int) {
			for j := 0; j < n; j++ {
				idx := make([]int, rank)
				r := o + j
				for d := rank - 1; d >= 0; d-- {
					idx[d] = r % out[d]
					r /= out[d]
				}
				for k, s := range shapes {
					got := off[k] + j*b.inner(k)
					if want := naiveOffset(idx, s); got != want {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("element %d operand %v: offset %d, want %d", o+j, s, got, want))
						mu.Unlock()
					}
				}
				mu.Lock()
				seen[o+j]++
				mu.Unlock()
			}
		})
		if len(bad) > 0 {
			t.Fatalf("out %v shapes %v: %v", out, shapes, bad[0])
		}
		for i, c := range seen {
			if c != 1 {
				t.Fatalf("out %v shapes %v: element %d visited %d times", out, shapes, i, c)
			}
		}
	}
}

func TestLegacyBroadcast(t *testing.T) {
	tests := []struct {
		lb   legacyBroadcast
		a, b []int
		want []int // nil: error
	}{
		{legacyBroadcast{on: false}, []int{2, 3}, []int{3}, []int{3}},
		{legacyBroadcast{on: true, bc: true}, []int{2, 3, 4}, []int{4}, []int{1, 1, 4}},
		{legacyBroadcast{on: true, bc: true, has: true, axis: 1}, []int{2, 3, 4}, []int{3}, []int{1, 3, 1}},
		{legacyBroadcast{on: true, bc: true, has: true, axis: 0}, []int{2, 3, 4}, []int{2, 3}, []int{2, 3, 1}},
		{legacyBroadcast{on: true, bc: true, has: true, axis: -2}, []int{2, 3, 4}, []int{3}, []int{1, 3, 1}},
		{legacyBroadcast{on: true, bc: true, has: true, axis: 2}, []int{2, 3, 4}, []int{3}, nil},
		{legacyBroadcast{on: true}, []int{2, 3}, []int{2, 3}, []int{2, 3}},
		{legacyBroadcast{on: true}, []int{2, 3}, []int{3}, nil},
	}
	for i, tc := range tests {
		got, err := tc.lb.shapeB(tc.a, tc.b)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%d: got %v, want an error", i, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%d: got %v, %v; want %v", i, got, err, tc.want)
		}
	}
}

// The reference walk the allocation-free walkRuns is checked against (and
// each, its parallel form): operands offsets in a slice, fn a function
// value.

// each calls fn for every run of output elements [o, o+n) that lies in one
// row of the innermost dimension; off[k] is operand k's element offset for
// output element o. Runs are spread over up to threads goroutines in
// contiguous chunks of at least grain elements; fn must only write output
// elements of its own run. off belongs to the calling goroutine and is valid
// only during the call.
func (b *broadcast) each(threads, grain int, fn func(o, n int, off []int)) {
	parallel.For(b.Size, grain, threads, func(lo, hi int) { b.walk(lo, hi, fn) })
}

// walk calls fn for the runs covering output elements [lo, hi).
func (b *broadcast) walk(lo, hi int, fn func(o, n int, off []int)) {
	nd := len(b.dims)
	nk := len(b.strides)
	width := b.dims[nd-1]
	// Row index digits over the outer dimensions, and each operand's offset
	// at the start of the current row.
	var idxBuf [8]int
	var offBuf, baseBuf [4]int
	idx := idxBuf[:0]
	if nd > len(idxBuf) {
		idx = make([]int, nd)
	} else {
		idx = idxBuf[:nd]
	}
	base, off := baseBuf[:0], offBuf[:0]
	if nk > len(baseBuf) {
		base, off = make([]int, nk), make([]int, nk)
	} else {
		base, off = baseBuf[:nk], offBuf[:nk]
	}
	row, col := lo/width, lo%width
	for d := nd - 2; d >= 0; d-- {
		idx[d] = row % b.dims[d]
		row /= b.dims[d]
	}
	for k, st := range b.strides {
		o := 0
		for d := 0; d < nd-1; d++ {
			o += idx[d] * st[d]
		}
		base[k] = o
	}
	for pos := lo; pos < hi; {
		n := min(width-col, hi-pos)
		for k, st := range b.strides {
			off[k] = base[k] + col*st[nd-1]
		}
		fn(pos, n, off)
		pos += n
		col = 0
		if pos >= hi {
			break
		}
		// Next row: odometer increment over the outer dimensions.
		for d := nd - 2; d >= 0; d-- {
			idx[d]++
			if idx[d] < b.dims[d] {
				for k, st := range b.strides {
					base[k] += st[d]
				}
				break
			}
			idx[d] = 0
			for k, st := range b.strides {
				base[k] -= st[d] * (b.dims[d] - 1)
			}
		}
	}
}
