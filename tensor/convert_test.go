package tensor

import (
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/onnxquant/onnxquant/internal/testenv"
)

var (
	nan32 = float32(math.NaN())
	inf32 = float32(math.Inf(1))
)

// Expected values worked out by hand from the ONNX Cast rules and the
// saturation this package documents.
func TestConvertValues(t *testing.T) {
	cases := []struct {
		name string
		in   *Tensor
		to   DataType
		want any
	}{
		{"f32 to i8 truncates and saturates", FromSlice([]int{9}, []float32{1.9, -1.9, 127.5, 300, -300, nan32, inf32, -inf32, -0.5}),
			Int8, []int8{1, -1, 127, 127, -128, 0, 127, -128, 0}},
		{"f32 to u8", FromSlice([]int{4}, []float32{-1, 255.9, 256, 3.99}), Uint8, []uint8{0, 255, 255, 3}},
		{"f32 to i16", FromSlice([]int{3}, []float32{-40000, 40000, -7.7}), Int16, []int16{-32768, 32767, -7}},
		{"f32 to u16", FromSlice([]int{2}, []float32{70000, 65535.5}), Uint16, []uint16{65535, 65535}},
		{"f32 to i32", FromSlice([]int{3}, []float32{2147483648, -2147483904, 123.999}), Int32,
			[]int32{math.MaxInt32, math.MinInt32, 123}},
		{"f32 to u32", FromSlice([]int{2}, []float32{5e9, -0.9}), Uint32, []uint32{math.MaxUint32, 0}},
		{"f64 to i64", FromSlice([]int{4}, []float64{9.3e18, -9.3e18, 9.2e18, 1e300}), Int64,
			[]int64{math.MaxInt64, math.MinInt64, 9200000000000000000, math.MaxInt64}},
		{"f64 to u64", FromSlice([]int{3}, []float64{0x1p64, 1e19, -5}), Uint64,
			[]uint64{math.MaxUint64, 10000000000000000000, 0}},
		{"i32 to i8 wraps", FromSlice([]int{3}, []int32{300, -129, 65535}), Int8, []int8{44, 127, -1}},
		{"i32 to u8 wraps", FromSlice([]int{3}, []int32{300, -129, 65535}), Uint8, []uint8{44, 127, 255}},
		{"i64 to u32 wraps", FromSlice([]int{1}, []int64{-1}), Uint32, []uint32{math.MaxUint32}},
		{"u64 to i64 wraps", FromSlice([]int{1}, []uint64{math.MaxUint64}), Int64, []int64{-1}},
		{"u8 to i64", FromSlice([]int{2}, []uint8{0, 255}), Int64, []int64{0, 255}},
		{"i64 to f32 rounds to even", FromSlice([]int{3}, []int64{16777217, 16777219, -3}), Float32,
			[]float32{16777216, 16777220, -3}},
		{"u64 to f32", FromSlice([]int{1}, []uint64{math.MaxUint64}), Float32, []float32{0x1p64}},
		{"f64 to f32", FromSlice([]int{6}, []float64{1e300, -1e300, 0x1.ffffffp127, 0x1.fffffefffffffp127, 1 + 0x1p-24, 0.1}),
			Float32, []float32{inf32, -inf32, inf32, math.MaxFloat32, 1, 0.1}},
		{"f32 to f64", FromSlice([]int{2}, []float32{0.1, -inf32}), Float64, []float64{float64(float32(0.1)), math.Inf(-1)}},
		{"f32 to bool", FromSlice([]int{4}, []float32{0, float32(math.Copysign(0, -1)), nan32, 0.1}), Bool,
			[]bool{false, false, true, true}},
		{"i8 to bool", FromSlice([]int{2}, []int8{0, -3}), Bool, []bool{false, true}},
		{"bool to f32", FromSlice([]int{2}, []bool{true, false}), Float32, []float32{1, 0}},
		{"bool to f16", FromSlice([]int{2}, []bool{true, false}), Float16, []F16{0x3c00, 0}},
		{"bool to i64", FromSlice([]int{2}, []bool{false, true}), Int64, []int64{0, 1}},
		{"bool to int4", FromSlice([]int{2}, []bool{true, false}), Int4, []int8{1, 0}},
		{"f32 to f16", FromSlice([]int{3}, []float32{65520, 1, 0x1p-25}), Float16, []F16{0x7c00, 0x3c00, 0}},
		{"f64 to f16 in one rounding", FromSlice([]int{1}, []float64{1 + 0x1p-11 + 0x1p-40}), Float16, []F16{0x3c01}},
		{"i32 to f16", FromSlice([]int{3}, []int32{2049, 70000, -1}), Float16, []F16{0x6800, 0x7c00, 0xbc00}},
		{"i64 to bf16", FromSlice([]int{3}, []int64{257, 258, 259}), BFloat16, []BF16{0x4380, 0x4381, 0x4382}},
		{"f16 to i8", FromSlice([]int{2}, []F16{0x4248, 0xfc00}), Int8, []int8{3, -128}},
		{"f16 to bf16", FromSlice([]int{2}, []F16{0x3c00, 0x3c01}), BFloat16, []BF16{0x3f80, 0x3f80}},
		{"bf16 to f64", FromSlice([]int{1}, []BF16{0x3f80}), Float64, []float64{1}},
		{"bf16 to f16", FromSlice([]int{1}, []BF16{0x4780}), Float16, []F16{0x7c00}}, // 65536
		{"f32 to int4 wraps", FromSlice([]int{7}, []float32{-9, -8, 7, 8, 15, 2.7, -2.7}), Int4, []int8{7, -8, 7, -8, -1, 2, -2}},
		{"f32 to uint4 wraps", FromSlice([]int{4}, []float32{-1, 16, 17, 3.9}), Uint4, []uint8{15, 0, 1, 3}},
		{"i8 to int4 wraps", FromSlice([]int{2}, []int8{9, -9}), Int4, []int8{-7, 7}},
		{"int4 to f32", &Tensor{Int4, []int{2}, []int8{-8, 7}}, Float32, []float32{-8, 7}},
		{"uint4 to i8", &Tensor{Uint4, []int{2}, []uint8{15, 0}}, Int8, []int8{15, 0}},
		{"int4 to uint4", &Tensor{Int4, []int{2}, []int8{-1, 3}}, Uint4, []uint8{15, 3}},
		{"scalar", Scalar(float64(2.5)), Int32, []int32{2}},
		{"empty", FromSlice([]int{0, 2}, []float32{}), Int8, []int8{}},
		{"same type copies", FromSlice([]int{2}, []string{"a", "b"}), String, []string{"a", "b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Convert(c.in, c.to)
			if err != nil {
				t.Fatal(err)
			}
			if got.DType != c.to || !reflect.DeepEqual(got.Shape, c.in.Shape) {
				t.Fatalf("Convert = %v, want %v with shape %v", got, c.to, c.in.Shape)
			}
			if !reflect.DeepEqual(got.Data, c.want) {
				t.Fatalf("Convert data = %v, want %v", got.Data, c.want)
			}
			if err := got.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConvertCopies(t *testing.T) {
	in := FromSlice([]int{2}, []float32{1, 2})
	out, err := Convert(in, Float32)
	if err != nil {
		t.Fatal(err)
	}
	As[float32](out)[0] = 9
	if As[float32](in)[0] != 1 {
		t.Fatal("Convert to the same type shares memory with its input")
	}
}

func TestConvertErrors(t *testing.T) {
	cases := []struct {
		name        string
		in          *Tensor
		to          DataType
		unsupported bool
	}{
		{"nil", nil, Float32, false},
		{"string to float", FromSlice([]int{1}, []string{"1"}), Float32, false},
		{"float to string", FromSlice([]int{1}, []float32{1}), String, false},
		{"to float8", FromSlice([]int{1}, []float32{1}), Float8E4M3FN, true},
		{"to complex", FromSlice([]int{1}, []float32{1}), Complex64, true},
		{"to undefined", FromSlice([]int{1}, []float32{1}), Undefined, true},
		{"broken tensor", &Tensor{Float32, []int{2}, []float32{1}}, Int8, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Convert(c.in, c.to)
			if err == nil {
				t.Fatal("Convert accepted it")
			}
			if !strings.HasPrefix(err.Error(), "tensor: ") {
				t.Errorf("message %q lacks the package prefix", err)
			}
			if errors.Is(err, ErrUnsupportedType) != c.unsupported {
				t.Errorf("errors.Is(ErrUnsupportedType) wrong for %v", err)
			}
		})
	}
}

func TestFloat32s(t *testing.T) {
	f := FromSlice([]int{2}, []float32{1, 2})
	got, err := Float32s(f)
	if err != nil || &got[0] != &As[float32](f)[0] {
		t.Fatalf("Float32s of a float32 tensor should return its slice: %v %v", got, err)
	}
	got, err = Float32s(FromSlice([]int{3}, []int64{-1, 16777217, 5}))
	if err != nil || !reflect.DeepEqual(got, []float32{-1, 16777216, 5}) {
		t.Fatalf("Float32s(int64) = %v, %v", got, err)
	}
	got, err = Float32s(FromSlice([]int{1}, []F16{0x3555}))
	if err != nil || got[0] != float32(0x400+0x155)*0x1p-12 {
		t.Fatalf("Float32s(f16) = %v, %v", got, err)
	}
	if _, err := Float32s(FromSlice([]int{1}, []string{"x"})); err == nil {
		t.Fatal("Float32s accepted a string tensor")
	}
	if _, err := Float32s(nil); err == nil {
		t.Fatal("Float32s accepted nil")
	}
}

func TestInt64s(t *testing.T) {
	i := FromSlice([]int{2}, []int64{1, -2})
	got, err := Int64s(i)
	if err != nil || &got[0] != &As[int64](i)[0] {
		t.Fatalf("Int64s of an int64 tensor should return its slice: %v %v", got, err)
	}
	cases := []struct {
		in   *Tensor
		want []int64
	}{
		{FromSlice([]int{3}, []int32{-1, 0, 1 << 30}), []int64{-1, 0, 1 << 30}},
		{FromSlice([]int{1}, []uint32{math.MaxUint32}), []int64{math.MaxUint32}},
		{FromSlice([]int{1}, []uint64{math.MaxInt64}), []int64{math.MaxInt64}},
		{FromSlice([]int{2}, []int8{-128, 5}), []int64{-128, 5}},
		{FromSlice([]int{1}, []uint16{65535}), []int64{65535}},
		{&Tensor{Uint4, []int{1}, []uint8{15}}, []int64{15}},
		{&Tensor{Int4, []int{1}, []int8{-8}}, []int64{-8}},
	}
	for _, c := range cases {
		got, err := Int64s(c.in)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("Int64s(%v) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []*Tensor{
		nil,
		FromSlice([]int{1}, []uint64{math.MaxInt64 + 1}),
		FromSlice([]int{1}, []float32{1}),
		FromSlice([]int{1}, []bool{true}),
		&Tensor{Int64, []int{2}, []int64{1}},
	} {
		if got, err := Int64s(bad); err == nil {
			t.Errorf("Int64s(%v) = %v, want an error", bad, got)
		}
	}
}

// sameBits compares two tensors element by element, NaNs equal to NaNs
// (the payload of a NaN produced by a cast is not specified).
func sameBits(t *testing.T, what string, got, want *Tensor) {
	t.Helper()
	if got.DType != want.DType || !reflect.DeepEqual(got.Shape, want.Shape) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	gf, _ := Convert(got, Float64)
	wf, _ := Convert(want, Float64)
	g, w := As[float64](gf), As[float64](wf)
	for i := range w {
		if math.IsNaN(w[i]) && math.IsNaN(g[i]) {
			continue
		}
		if g[i] != w[i] || math.Signbit(g[i]) != math.Signbit(w[i]) {
			t.Fatalf("%s: element %d = %v, want %v", what, i, g[i], w[i])
		}
	}
}

// The conformance suite's Cast cases between types this package holds: the
// input converted with Convert must match the expected output.
func TestConvertConformanceCasts(t *testing.T) {
	dir := testenv.DataDir(t)
	cases, err := filepath.Glob(filepath.Join(dir, "onnx-backend", "node", "test_cast_*"))
	if err != nil || len(cases) == 0 {
		testenv.Unavailable(t, "no test_cast_* cases under %s", dir)
	}
	checked := 0
	var names []string
	for _, c := range cases {
		in, _, err1 := ReadProtoFile(filepath.Join(c, "test_data_set_0", "input_0.pb"))
		want, _, err2 := ReadProtoFile(filepath.Join(c, "test_data_set_0", "output_0.pb"))
		if errors.Is(err1, ErrUnsupportedType) || errors.Is(err2, ErrUnsupportedType) {
			continue
		}
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", c, err1, err2)
		}
		if in.DType == String || want.DType == String {
			continue
		}
		got, err := Convert(in, want.DType)
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		sameBits(t, filepath.Base(c), got, want)
		checked++
		names = append(names, strings.TrimPrefix(filepath.Base(c), "test_cast_"))
	}
	t.Logf("%d Cast cases checked: %s", checked, strings.Join(names, " "))
	if checked < 15 {
		t.Fatalf("only %d Cast cases checked; expected the float16/bfloat16/int4 ones at least", checked)
	}
}

func BenchmarkConvertFloat32ToFloat16(b *testing.B) {
	data := make([]float32, 1<<20)
	for i := range data {
		data[i] = float32(i) * 0.001
	}
	t := FromSlice([]int{len(data)}, data)
	b.SetBytes(int64(4 * len(data)))
	for b.Loop() {
		if _, err := Convert(t, Float16); err != nil {
			b.Fatal(err)
		}
	}
}
