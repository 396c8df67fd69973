package kernel

import (
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// TestCastIntoMatchesConvert checks castInto, Cast's allocation-free
// conversion, against tensor.Convert bit for bit on every pair of the types
// it handles, with edge values (signed zeros, NaN, infinities, out-of-range
// and boundary values, halves).
func TestCastIntoMatchesConvert(t *testing.T) {
	floats := []float64{0, math.Copysign(0, -1), 0.5, -0.5, 1.5, -2.5, 127.9, -128.9, 255.5, 256, -129, 32767.5,
		65504, 65520, 1e10, -1e10, 3e38, 3.5e38, -3.5e38, 1e300, 9.3e18, -9.3e18, 1.8e19, 4294967295.7,
		1.0000001, 0.1, math.MaxFloat32, 3.4028235e38, 0x1.ffffffp127, -0x1.ffffffp127, math.Inf(1), math.Inf(-1), math.NaN(), 5.96e-8, 1e-40, 2147483647.9, -2147483648.5}
	ints := []int64{0, 1, -1, 127, -128, 128, 255, 256, -129, 32767, -32768, 65535, 65536, 1 << 31, -(1 << 31),
		1<<32 - 1, 1 << 53, 1<<53 + 1, 1<<63 - 1, -1 << 63, 16777217, 2049}
	src := map[tensor.DataType]*tensor.Tensor{}
	f64 := tensor.FromSlice([]int{len(floats)}, floats)
	src[tensor.Float64] = f64
	i64 := tensor.FromSlice([]int{len(ints)}, ints)
	var err error
	for _, dt := range []tensor.DataType{tensor.Float32, tensor.Float16, tensor.BFloat16} {
		if src[dt], err = tensor.Convert(f64, dt); err != nil {
			t.Fatal(err)
		}
	}
	for _, dt := range []tensor.DataType{tensor.Int8, tensor.Uint8, tensor.Int16, tensor.Uint16, tensor.Int32, tensor.Uint32, tensor.Int64, tensor.Uint64} {
		if src[dt], err = tensor.Convert(i64, dt); err != nil {
			t.Fatal(err)
		}
	}
	src[tensor.Bool] = tensor.FromSlice([]int{3}, []bool{true, false, true})
	for from, x := range src {
		for to := range src {
			if from == to {
				continue
			}
			want, err := tensor.Convert(x, to)
			if err != nil {
				t.Fatalf("%v -> %v: %v", from, to, err)
			}
			got := tensor.New(to, x.Shape...)
			if !castInto(got.Data, x.Data) {
				t.Errorf("%v -> %v: not handled", from, to)
				continue
			}
			if !reflect.DeepEqual(dmtBits(got.Data), dmtBits(want.Data)) {
				t.Errorf("%v -> %v: got %v, want %v", from, to, got.Data, want.Data)
			}
		}
	}
	// A float16 source longer than castHalfToInts's chunk.
	long := make([]tensor.F16, 1500)
	for i := range long {
		long[i] = tensor.F16FromFloat32(float32(i) - 700.5)
	}
	x := tensor.FromSlice([]int{len(long)}, long)
	want, _ := tensor.Convert(x, tensor.Int16)
	got := tensor.New(tensor.Int16, len(long))
	castInto(got.Data, x.Data)
	if !reflect.DeepEqual(got.Data, want.Data) {
		t.Errorf("long float16 -> int16 differs")
	}
}

// dmtBits returns float data as bit patterns, so that NaNs compare equal.
func dmtBits(data any) any {
	switch d := data.(type) {
	case []float32:
		b := make([]uint32, len(d))
		for i, v := range d {
			b[i] = math.Float32bits(v)
		}
		return b
	case []float64:
		b := make([]uint64, len(d))
		for i, v := range d {
			b[i] = math.Float64bits(v)
		}
		return b
	}
	return data
}

// TestMoveHighRank runs the data-movement kernels on tensors of rank above
// MaxDims (shapes and strides no longer fit the stack arrays) and above
// dmPlanDims (plans keep their dimensions on the heap), against results
// computed element by element.
func TestMoveHighRank(t *testing.T) {
	for _, r := range []int{9, 17} {
		shape := make([]int, r)
		for i := range shape {
			shape[i] = 2
		}
		shape[0] = 3
		x := mvaSeq(shape...)
		// Reverse the axes: no two neighbours merge.
		perm := make([]int, r)
		perm64 := make([]int64, r)
		for i := range perm {
			perm[i] = r - 1 - i
			perm64[i] = int64(perm[i])
		}
		want := tensor.FromSlice(dmPermute(shape, perm), dmtNaiveTranspose(x.Data.([]float32), shape, perm))
		dmtRun(t, dmtCase{op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", perm64...)}, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{want}})
		dmtRun(t, dmtCase{op: "Transpose", opset: 13, in: []*tensor.Tensor{x}, want: []*tensor.Tensor{want}})

		// Slice the first axis to [1, 3): the plan keeps its rank-1 copy.
		xs := x.Data.([]float32)
		n := len(xs) / 3
		sshape := append([]int{2}, shape[1:]...)
		dmtRun(t, dmtCase{op: "Slice", opset: 13, in: []*tensor.Tensor{x, dmtV[int64](1), dmtV[int64](3)},
			want: []*tensor.Tensor{tensor.FromSlice(sshape, append([]float32(nil), xs[n:]...))}})

		// Unsqueeze then Squeeze back; Reshape to the same shape.
		ushape := append([]int{1}, shape...)
		u := tensor.FromSlice(ushape, xs)
		dmtRun(t, dmtCase{op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{x, dmtV[int64](0)}, want: []*tensor.Tensor{u}})
		dmtRun(t, dmtCase{op: "Squeeze", opset: 13, in: []*tensor.Tensor{u, dmtV[int64](0)}, want: []*tensor.Tensor{x}})
		spec := make([]int64, r)
		for i, d := range shape {
			spec[i] = int64(d)
		}
		spec[r-1] = -1
		dmtRun(t, dmtCase{op: "Reshape", opset: 13, in: []*tensor.Tensor{x, dmtV(spec...)}, want: []*tensor.Tensor{x}})

		// Concat along the last axis with itself: each pair of elements
		// repeated.
		cshape := append([]int(nil), shape...)
		cshape[r-1] = 4
		cat := make([]float32, 0, 2*len(xs))
		for i := 0; i < len(xs); i += 2 {
			cat = append(cat, xs[i], xs[i+1], xs[i], xs[i+1])
		}
		dmtRun(t, dmtCase{op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", -1)}, in: []*tensor.Tensor{x, x},
			want: []*tensor.Tensor{tensor.FromSlice(cshape, cat)}})

		// Pad one zero at the start of the first axis.
		pads := make([]int64, 2*r)
		pads[0] = 1
		pshape := append([]int{4}, shape[1:]...)
		dmtRun(t, dmtCase{op: "Pad", opset: 13, in: []*tensor.Tensor{x, dmtV(pads...)},
			want: []*tensor.Tensor{tensor.FromSlice(pshape, append(make([]float32, n), xs...))}})
		// Edge mode: the first block repeated.
		dmtRun(t, dmtCase{op: "Pad", opset: 13, attrs: []*onnx.AttributeProto{dmtString("mode", "edge")}, in: []*tensor.Tensor{x, dmtV(pads...)},
			want: []*tensor.Tensor{tensor.FromSlice(pshape, append(append([]float32(nil), xs[:n]...), xs...))}})

		// Expand a leading axis of 1 to 2.
		e := tensor.FromSlice(append([]int{1}, shape[1:]...), xs[:n])
		espec := make([]int64, r)
		for i := range espec {
			espec[i] = 1
		}
		espec[0] = 2
		dmtRun(t, dmtCase{op: "Expand", opset: 13, in: []*tensor.Tensor{e, dmtV(espec...)},
			want: []*tensor.Tensor{tensor.FromSlice(append([]int{2}, shape[1:]...), append(append([]float32(nil), xs[:n]...), xs[:n]...))}})

		// Resize nearest doubling the last axis.
		scales := make([]float32, r)
		for i := range scales {
			scales[i] = 1
		}
		scales[r-1] = 2
		rshape := append([]int(nil), shape...)
		rshape[r-1] = 4
		dup := make([]float32, 0, 2*len(xs))
		for i := 0; i < len(xs); i += 2 {
			dup = append(dup, xs[i], xs[i], xs[i+1], xs[i+1])
		}
		dmtRun(t, dmtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{dmtString("coordinate_transformation_mode", "asymmetric"), dmtString("nearest_mode", "floor")},
			in: []*tensor.Tensor{x, nil, dmtV(scales...)}, want: []*tensor.Tensor{tensor.FromSlice(rshape, dup)}})
	}
}

// TestMoveCachedPlansConcurrent runs kernels that cache per-shape plans
// (Resize, Pad) from several goroutines on alternating shapes: each result
// must match the one computed alone (run with -race to check the caches'
// publication).
func TestMoveCachedPlansConcurrent(t *testing.T) {
	type run struct {
		in   []*tensor.Tensor
		want *tensor.Tensor
	}
	cases := []struct {
		name string
		c    dmtCase
		ins  [][]*tensor.Tensor
	}{
		{"Resize linear", dmtCase{op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{dmtString("mode", "linear")}}, [][]*tensor.Tensor{
			{mvaSeq(1, 3, 8, 8), nil, dmtV[float32](1, 1, 2, 2)},
			{mvaSeq(1, 3, 5, 7), nil, dmtV[float32](1, 1, 2, 3)},
			{mvaSeq(1, 8, 8, 3), nil, nil, dmtV[int64](1, 16, 16, 3)},
		}},
		{"Resize nearest", dmtCase{op: "Resize", opset: 13}, [][]*tensor.Tensor{
			{mvaSeq(1, 3, 8, 8), nil, dmtV[float32](1, 1, 2, 2)},
			{mvaSeq(2, 3, 5), nil, dmtV[float32](1, 1.5, 3)},
		}},
		{"Pad reflect", dmtCase{op: "Pad", opset: 13, attrs: []*onnx.AttributeProto{dmtString("mode", "reflect")}}, [][]*tensor.Tensor{
			{mvaSeq(2, 6, 6), dmtV[int64](0, 1, 2, 0, 2, 1)},
			{mvaSeq(3, 5), dmtV[int64](1, 2, 1, 3)},
			{mvaSeq(2, 6, 6), dmtV[int64](0, 2, 2, 0, 1, 1)},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.c
			c.in = tc.ins[0]
			k, err := dmtBuild(c)
			if err != nil {
				t.Fatal(err)
			}
			var runs []run
			for _, in := range tc.ins {
				ref, err := dmtBuild(dmtCase{op: c.op, opset: c.opset, attrs: c.attrs, in: in})
				if err != nil {
					t.Fatal(err)
				}
				out, err := ref.Run(nil, in)
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, run{in, out[0].Clone()})
			}
			var wg sync.WaitGroup
			errs := make(chan error, 4)
			for g := 0; g < 4; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ctx := &Ctx{Threads: 2}
					for i := 0; i < 60; i++ {
						r := runs[(i+g)%len(runs)]
						out, err := k.Run(ctx, r.in)
						if err != nil {
							errs <- err
							return
						}
						if msg := dmtDiff(out[0], r.want); msg != "" {
							errs <- fmt.Errorf("run %d: %s", i, msg)
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
		})
	}
}
