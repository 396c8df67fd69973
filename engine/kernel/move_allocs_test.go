package kernel

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/onnxquant/onnxquant/onnx"
	"github.com/onnxquant/onnxquant/tensor"
)

// mvaSeq returns a float32 tensor of the given shape holding 0, 1, 2, ...
// (scaled to stay exact and distinct).
func mvaSeq(shape ...int) *tensor.Tensor {
	t := tensor.New(tensor.Float32, shape...)
	d := t.Data.([]float32)
	for i := range d {
		d[i] = float32(i%9973) * 0.25
	}
	return t
}

// mvaCases are the data-movement kernels on the shapes of the shared
// models (FastestDet's channel shuffle, BlazeFace's NHWC input and zero
// channel padding, M-LSD's NHWC decoder), plus a few variants.
func mvaCases() []dmtCase {
	i64 := func(v ...int64) *tensor.Tensor { return dmtV(v...) }
	scalar := func(v int64) *tensor.Tensor { return tensor.Scalar(v) }
	f32 := func(v ...float32) *tensor.Tensor { return dmtV(v...) }
	str := func(name, v string) *onnx.AttributeProto { return dmtString(name, v) }
	c := []bool{false, true, true, true, true}
	bools := tensor.New(tensor.Bool, 1, 160, 160, 1)
	for i := range bools.Data.([]bool) {
		bools.Data.([]bool)[i] = i%3 == 0
	}
	return []dmtCase{
		// Transpose.
		{name: "Transpose NHWC->NCHW blazeface", op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 0, 3, 1, 2)}, in: []*tensor.Tensor{mvaSeq(1, 128, 128, 3)}},
		{name: "Transpose NHWC->NCHW mlsd", op: "Transpose", opset: 11, attrs: []*onnx.AttributeProto{dmtInts("perm", 0, 3, 1, 2)}, in: []*tensor.Tensor{mvaSeq(1, 320, 320, 4)}},
		{name: "Transpose NCHW->NHWC", op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 0, 2, 3, 1)}, in: []*tensor.Tensor{mvaSeq(1, 16, 160, 160)}},
		{name: "Transpose NCHW->NHWC small", op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 0, 2, 3, 1)}, in: []*tensor.Tensor{mvaSeq(1, 4, 16, 16)}},
		{name: "Transpose channel shuffle", op: "Transpose", opset: 16, attrs: []*onnx.AttributeProto{dmtInts("perm", 1, 0, 2)}, in: []*tensor.Tensor{mvaSeq(24, 2, 1936)}},
		{name: "Transpose default perm", op: "Transpose", opset: 13, in: []*tensor.Tensor{mvaSeq(3, 5, 7)}},
		{name: "Transpose no movement (view)", op: "Transpose", opset: 13, attrs: []*onnx.AttributeProto{dmtInts("perm", 1, 0, 2)}, in: []*tensor.Tensor{mvaSeq(1, 6, 5)}},
		{name: "DepthToSpace", op: "DepthToSpace", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 2)}, in: []*tensor.Tensor{mvaSeq(1, 16, 20, 20)}},
		{name: "SpaceToDepth", op: "SpaceToDepth", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("blocksize", 2)}, in: []*tensor.Tensor{mvaSeq(1, 4, 40, 40)}},

		// Concat.
		{name: "Concat axis 1 NCHW SPP", op: "Concat", opset: 16, attrs: []*onnx.AttributeProto{dmtInt("axis", 1)}, in: []*tensor.Tensor{mvaSeq(1, 96, 22, 22), mvaSeq(1, 96, 22, 22), mvaSeq(1, 96, 22, 22)}},
		{name: "Concat axis 1 zero channels", op: "Concat", opset: 12, attrs: []*onnx.AttributeProto{dmtInt("axis", 1)}, in: []*tensor.Tensor{mvaSeq(1, 24, 64, 64), tensor.New(tensor.Float32, 1, 4, 64, 64)}},
		{name: "Concat last axis NHWC", op: "Concat", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", -1)}, in: []*tensor.Tensor{mvaSeq(1, 80, 80, 64), mvaSeq(1, 80, 80, 32)}},
		{name: "Concat last axis NHWC small", op: "Concat", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", 3)}, in: []*tensor.Tensor{mvaSeq(1, 10, 10, 8), mvaSeq(1, 10, 10, 8)}},
		{name: "Concat shape vectors", op: "Concat", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)}, in: []*tensor.Tensor{i64(1, 40), i64(40, 64)}, consts: []bool{false, true}},
		{name: "Concat one input (view)", op: "Concat", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 0)}, in: []*tensor.Tensor{mvaSeq(2, 3)}},

		// Reshape family: views.
		{name: "Reshape const", op: "Reshape", opset: 14, in: []*tensor.Tensor{mvaSeq(1, 85, 22, 22), i64(1, 85, -1)}, consts: c},
		{name: "Reshape runtime shape", op: "Reshape", opset: 13, in: []*tensor.Tensor{mvaSeq(1, 48, 44, 44), i64(48, 2, -1)}},
		{name: "Reshape opset 1", op: "Reshape", opset: 1, attrs: []*onnx.AttributeProto{dmtInts("shape", 2, -1)}, in: []*tensor.Tensor{mvaSeq(4, 6)}},
		{name: "Flatten", op: "Flatten", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 1)}, in: []*tensor.Tensor{mvaSeq(1, 96, 1, 1)}},
		{name: "Squeeze axes input", op: "Squeeze", opset: 13, in: []*tensor.Tensor{mvaSeq(1, 96, 1, 1), i64(2, 3)}, consts: c},
		{name: "Squeeze all", op: "Squeeze", opset: 11, in: []*tensor.Tensor{mvaSeq(1, 96, 1, 1)}},
		{name: "Unsqueeze axes input", op: "Unsqueeze", opset: 13, in: []*tensor.Tensor{mvaSeq(96, 5), i64(0, -1)}, consts: c},
		{name: "Unsqueeze axes attribute", op: "Unsqueeze", opset: 11, attrs: []*onnx.AttributeProto{dmtInts("axes", 0)}, in: []*tensor.Tensor{i64(1, 2)}},

		// Gather.
		{name: "Gather scalar index channel shuffle", op: "Gather", opset: 16, in: []*tensor.Tensor{mvaSeq(2, 1, 24, 44, 44), scalar(1)}, consts: c},
		{name: "Gather scalar index from shape", op: "Gather", opset: 13, in: []*tensor.Tensor{i64(1, 3, 320, 320), scalar(0)}, consts: c},
		{name: "Gather vector index axis 1", op: "Gather", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", 1)}, in: []*tensor.Tensor{mvaSeq(1, 8, 10, 10), i64(0, 2, -1)}, consts: c},
		{name: "Gather vector index last axis", op: "Gather", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", -1)}, in: []*tensor.Tensor{mvaSeq(4, 6), i64(5, 0)}},

		// Slice.
		{name: "Slice detect head channels", op: "Slice", opset: 16, in: []*tensor.Tensor{mvaSeq(1, 5, 22, 22), i64(0), i64(4), i64(1), i64(1)}, consts: c},
		{name: "Slice shape vector", op: "Slice", opset: 11, in: []*tensor.Tensor{i64(1, 40, 40, 64), i64(1), i64(3)}, consts: c},
		{name: "Slice NHWC channels", op: "Slice", opset: 11, in: []*tensor.Tensor{mvaSeq(1, 160, 160, 16), i64(7), i64(16), i64(3)}, consts: c},
		{name: "Slice steps", op: "Slice", opset: 13, in: []*tensor.Tensor{mvaSeq(4, 10), i64(9, 3), i64(0, 0), i64(1, 0), i64(-2, 1)}, consts: c},
		{name: "Slice whole (view)", op: "Slice", opset: 13, in: []*tensor.Tensor{mvaSeq(4, 10), i64(0), i64(100)}, consts: c},
		{name: "Slice opset 1", op: "Slice", opset: 1, attrs: []*onnx.AttributeProto{dmtInts("starts", 1), dmtInts("ends", 3), dmtInts("axes", 1)}, in: []*tensor.Tensor{mvaSeq(2, 4)}},

		// Split.
		{name: "Split channels attribute", op: "Split", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("axis", 1), dmtInts("split", 1, 1, 1, 1)}, in: []*tensor.Tensor{mvaSeq(1, 4, 80, 80)}, nOut: 4},
		{name: "Split equal NHWC last axis", op: "Split", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("axis", -1)}, in: []*tensor.Tensor{mvaSeq(1, 80, 80, 64)}, nOut: 2},
		{name: "Split input sizes", op: "Split", opset: 13, in: []*tensor.Tensor{mvaSeq(6, 5), i64(1, 5)}, consts: c, nOut: 2},
		{name: "Split num_outputs", op: "Split", opset: 18, attrs: []*onnx.AttributeProto{dmtInt("num_outputs", 3)}, in: []*tensor.Tensor{mvaSeq(7, 2)}, nOut: 3},

		// Resize.
		{name: "Resize nearest asymmetric floor (fastestdet)", op: "Resize", opset: 16,
			attrs: []*onnx.AttributeProto{str("coordinate_transformation_mode", "asymmetric"), str("nearest_mode", "floor"), dmtFloat("cubic_coeff_a", -0.75)},
			in:    []*tensor.Tensor{mvaSeq(1, 96, 11, 11), nil, f32(1, 1, 2, 2)}, consts: c},
		{name: "Resize linear half_pixel sizes NHWC (mlsd)", op: "Resize", opset: 11,
			attrs: []*onnx.AttributeProto{str("mode", "linear"), str("coordinate_transformation_mode", "half_pixel"), str("nearest_mode", "floor"), dmtInt("exclude_outside", 0)},
			in:    []*tensor.Tensor{mvaSeq(1, 20, 20, 64), f32(), f32(), i64(1, 40, 40, 64)}, consts: []bool{false, true, true, false}},
		{name: "Resize linear NCHW scales", op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{str("mode", "linear")},
			in: []*tensor.Tensor{mvaSeq(1, 16, 40, 40), nil, f32(1, 1, 2, 2)}, consts: c},
		{name: "Resize linear one axis", op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{str("mode", "linear")},
			in: []*tensor.Tensor{mvaSeq(8, 50), nil, f32(1, 2)}, consts: c},
		{name: "Resize cubic", op: "Resize", opset: 13, attrs: []*onnx.AttributeProto{str("mode", "cubic")},
			in: []*tensor.Tensor{mvaSeq(1, 2, 12, 12), nil, f32(1, 1, 1.5, 2)}, consts: c},
		{name: "Resize nearest half_pixel sizes", op: "Resize", opset: 13,
			in: []*tensor.Tensor{mvaSeq(1, 3, 30, 30), nil, nil, i64(1, 3, 45, 20)}, consts: c},
		{name: "Resize identity", op: "Resize", opset: 13, in: []*tensor.Tensor{mvaSeq(1, 3, 4, 4), nil, f32(1, 1, 1, 1)}, consts: c},

		// Pad.
		{name: "Pad constant NHWC (mlsd)", op: "Pad", opset: 11, in: []*tensor.Tensor{mvaSeq(1, 80, 80, 96), i64(0, 0, 0, 0, 0, 1, 1, 0)}, consts: c},
		{name: "Pad constant value", op: "Pad", opset: 11, in: []*tensor.Tensor{mvaSeq(1, 3, 10, 10), i64(0, 0, 1, 2, 0, 0, 2, 1), f32(1.5)}, consts: c},
		{name: "Pad constant value attribute", op: "Pad", opset: 2, attrs: []*onnx.AttributeProto{dmtInts("pads", 0, 1, 1, 0), dmtFloat("value", -2)}, in: []*tensor.Tensor{mvaSeq(3, 4)}},
		{name: "Pad reflect", op: "Pad", opset: 13, attrs: []*onnx.AttributeProto{str("mode", "reflect")}, in: []*tensor.Tensor{mvaSeq(1, 3, 10, 10), i64(0, 0, 2, 2, 0, 0, 2, 2)}, consts: c},
		{name: "Pad edge crop", op: "Pad", opset: 13, attrs: []*onnx.AttributeProto{str("mode", "edge")}, in: []*tensor.Tensor{mvaSeq(2, 10, 10), i64(0, -1, 3, 0, 2, -2)}, consts: c},
		{name: "Pad axes", op: "Pad", opset: 18, in: []*tensor.Tensor{mvaSeq(1, 3, 10, 10), i64(1, 1, 1, 1), nil, i64(2, 3)}, consts: c},

		// Expand.
		{name: "Expand broadcast", op: "Expand", opset: 13, in: []*tensor.Tensor{mvaSeq(1, 1, 64), i64(2, 30, 64)}, consts: c},
		{name: "Expand channels", op: "Expand", opset: 13, in: []*tensor.Tensor{mvaSeq(1, 16, 1, 1), i64(1, 16, 40, 40)}, consts: c},
		{name: "Tile", op: "Tile", opset: 13, in: []*tensor.Tensor{mvaSeq(1, 3, 20, 20), i64(2, 1, 2, 3)}, consts: c},
		{name: "Expand leading ones (view)", op: "Expand", opset: 13, in: []*tensor.Tensor{mvaSeq(3, 4), i64(1, 1, 3, 1)}, consts: c},

		// Shape, Size, Cast, ConstantOfShape, Constant, Identity.
		{name: "Shape", op: "Shape", opset: 11, in: []*tensor.Tensor{mvaSeq(1, 40, 40, 64)}},
		{name: "Shape start end", op: "Shape", opset: 15, attrs: []*onnx.AttributeProto{dmtInt("start", 1), dmtInt("end", -1)}, in: []*tensor.Tensor{mvaSeq(1, 40, 40, 64)}},
		{name: "Size", op: "Size", opset: 13, in: []*tensor.Tensor{mvaSeq(1, 40, 40, 64)}},
		{name: "Cast bool to float (mlsd)", op: "Cast", opset: 11, attrs: []*onnx.AttributeProto{dmtInt("to", int64(tensor.Float32))}, in: []*tensor.Tensor{bools}},
		{name: "Cast float to int64", op: "Cast", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("to", int64(tensor.Int64))}, in: []*tensor.Tensor{mvaSeq(2, 50)}},
		{name: "Cast int64 to float", op: "Cast", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("to", int64(tensor.Float32))}, in: []*tensor.Tensor{i64(1, 40, 40, 64)}},
		{name: "Cast float to float16", op: "Cast", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("to", int64(tensor.Float16))}, in: []*tensor.Tensor{mvaSeq(2, 50)}},
		{name: "Cast float16 to int32", op: "Cast", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("to", int64(tensor.Int32))}, in: []*tensor.Tensor{tensor.FromSlice([]int{3}, []tensor.F16{tensor.F16FromFloat32(2.5), tensor.F16FromFloat32(-7), tensor.F16FromFloat32(1e4)})}},
		{name: "Cast same type", op: "Cast", opset: 13, attrs: []*onnx.AttributeProto{dmtInt("to", int64(tensor.Float32))}, in: []*tensor.Tensor{mvaSeq(2, 5)}},
		{name: "CastLike", op: "CastLike", opset: 15, in: []*tensor.Tensor{mvaSeq(2, 5), i64(1)}},
		{name: "ConstantOfShape", op: "ConstantOfShape", opset: 9, in: []*tensor.Tensor{i64(1, 4, 32, 32)}},
		{name: "Constant", op: "Constant", opset: 13, attrs: []*onnx.AttributeProto{dmtTensor("value", mvaSeq(3))}},
		{name: "Identity", op: "Identity", opset: 13, in: []*tensor.Tensor{mvaSeq(3)}},
	}
}

// TestMoveSteadyAllocs checks that the data-movement kernels allocate
// nothing per run in steady state, with one thread and with two, and that
// their steady-state results (recycled buffers, cached plans) equal those
// of a first run without an allocator. (Under the race detector, where
// sync.Pool drops items on purpose, only the results are checked.)
func TestMoveSteadyAllocs(t *testing.T) {
	if p := runtime.GOMAXPROCS(0); p < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	for _, c := range mvaCases() {
		t.Run(c.name, func(t *testing.T) {
			k, err := dmtBuild(c)
			if err != nil {
				t.Fatal(err)
			}
			wantOuts, err := k.Run(nil, c.in)
			if err != nil {
				t.Fatal(err)
			}
			want := make([]*tensor.Tensor, len(wantOuts))
			for i, w := range wantOuts {
				want[i] = w.Clone()
			}
			for _, threads := range []int{1, 2} {
				if a := steadyAllocs(t, k, c.in, threads); a != 0 && !mvaRace {
					t.Errorf("threads %d: %v allocations per run, want 0", threads, a)
				}
				// Steady state again, checking the results this time, with
				// the buffers taken uncleared (NewUninit) poisoned first: a
				// kernel that does not write all of them shows it.
				r := &recycler{}
				poisoned := func(dt tensor.DataType, d Dims, zero bool) *tensor.Tensor {
					t := r.alloc(dt, d, zero)
					if !zero {
						mvaPoison(t.Data)
					}
					return t
				}
				ctx := &Ctx{Threads: threads, Alloc: poisoned, Header: r.header}
				var got []*tensor.Tensor
				for range 3 {
					r.nb, r.nh = 0, 0
					if got, err = k.Run(ctx, c.in); err != nil {
						t.Fatal(err)
					}
				}
				if len(got) != len(want) {
					t.Fatalf("threads %d: %d outputs, want %d", threads, len(got), len(want))
				}
				for i := range want {
					if msg := dmtDiff(got[i], want[i]); msg != "" {
						t.Errorf("threads %d: output %d: %s", threads, i, msg)
					}
				}
			}
		})
	}
}

// mvaPoison fills a buffer with NaN (floats) or a recognizable pattern.
func mvaPoison(data any) {
	switch d := data.(type) {
	case []float32:
		for i := range d {
			d[i] = float32(math.NaN())
		}
	case []float64:
		for i := range d {
			d[i] = math.NaN()
		}
	case []tensor.F16:
		for i := range d {
			d[i] = 0x7e00
		}
	case []int64:
		for i := range d {
			d[i] = -0x5a5a5a5a5a5a5a5a
		}
	case []int32:
		for i := range d {
			d[i] = -0x5a5a5a5a
		}
	case []bool:
		for i := range d {
			d[i] = i%2 == 0
		}
	}
}

// BenchmarkMoveKernels runs each case of mvaCases in steady state.
func BenchmarkMoveKernels(b *testing.B) {
	for _, c := range mvaCases() {
		k, err := dmtBuild(c)
		if err != nil {
			b.Fatal(err)
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/threads=%d", c.name, threads), func(b *testing.B) {
				r := &recycler{}
				ctx := &Ctx{Threads: threads, Alloc: r.alloc, Header: r.header}
				b.ReportAllocs()
				for b.Loop() {
					r.nb, r.nh = 0, 0
					if _, err := k.Run(ctx, c.in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
