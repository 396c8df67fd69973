package tensor

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/onnxquant/onnxquant/onnx"
)

func i32p(v int32) *int32   { return &v }
func strp(s string) *string { return &s }

// Expected values below are worked out by hand from the ONNX encoding rules
// (little-endian raw_data, bit patterns for 16-bit floats, two 4-bit
// elements per byte with the first in the low nibble).
func TestFromProtoValues(t *testing.T) {
	cases := []struct {
		name string
		tp   *onnx.TensorProto
		want *Tensor
	}{
		{"float raw", &onnx.TensorProto{DataType: i32p(1), Dims: []int64{2}, RawData: []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}},
			&Tensor{Float32, []int{2}, []float32{1, -2}}},
		{"float typed", &onnx.TensorProto{DataType: i32p(1), Dims: []int64{1, 2}, FloatData: []float32{0.5, -0}},
			&Tensor{Float32, []int{1, 2}, []float32{0.5, 0}}},
		{"double raw", &onnx.TensorProto{DataType: i32p(11), RawData: []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}},
			&Tensor{Float64, nil, []float64{1}}},
		{"double typed", &onnx.TensorProto{DataType: i32p(11), Dims: []int64{2}, DoubleData: []float64{1e300, -1}},
			&Tensor{Float64, []int{2}, []float64{1e300, -1}}},
		{"float16 raw", &onnx.TensorProto{DataType: i32p(10), Dims: []int64{2}, RawData: []byte{0x00, 0x3c, 0x00, 0xc0}},
			&Tensor{Float16, []int{2}, []F16{0x3c00, 0xc000}}},
		{"float16 typed", &onnx.TensorProto{DataType: i32p(10), Dims: []int64{2}, Int32Data: []int32{0x3c00, 0xfc00}},
			&Tensor{Float16, []int{2}, []F16{0x3c00, 0xfc00}}},
		{"bfloat16 typed", &onnx.TensorProto{DataType: i32p(16), Dims: []int64{1}, Int32Data: []int32{0x3f80}},
			&Tensor{BFloat16, []int{1}, []BF16{0x3f80}}},
		{"bfloat16 raw", &onnx.TensorProto{DataType: i32p(16), Dims: []int64{1}, RawData: []byte{0x80, 0xbf}},
			&Tensor{BFloat16, []int{1}, []BF16{0xbf80}}},
		{"int8 raw", &onnx.TensorProto{DataType: i32p(3), Dims: []int64{3}, RawData: []byte{0x80, 0xff, 0x7f}},
			&Tensor{Int8, []int{3}, []int8{-128, -1, 127}}},
		{"int8 typed", &onnx.TensorProto{DataType: i32p(3), Dims: []int64{2}, Int32Data: []int32{-128, 127}},
			&Tensor{Int8, []int{2}, []int8{-128, 127}}},
		{"uint8 typed", &onnx.TensorProto{DataType: i32p(2), Dims: []int64{2}, Int32Data: []int32{0, 255}},
			&Tensor{Uint8, []int{2}, []uint8{0, 255}}},
		{"int16 raw", &onnx.TensorProto{DataType: i32p(5), Dims: []int64{2}, RawData: []byte{0xfe, 0xff, 0x02, 0x01}},
			&Tensor{Int16, []int{2}, []int16{-2, 258}}},
		{"int16 typed", &onnx.TensorProto{DataType: i32p(5), Dims: []int64{1}, Int32Data: []int32{-32768}},
			&Tensor{Int16, []int{1}, []int16{-32768}}},
		{"uint16 typed", &onnx.TensorProto{DataType: i32p(4), Dims: []int64{1}, Int32Data: []int32{65535}},
			&Tensor{Uint16, []int{1}, []uint16{65535}}},
		{"int32 raw", &onnx.TensorProto{DataType: i32p(6), Dims: []int64{1}, RawData: []byte{0x04, 0x03, 0x02, 0x81}},
			&Tensor{Int32, []int{1}, []int32{-2130574588}}}, // 0x81020304
		{"int32 typed", &onnx.TensorProto{DataType: i32p(6), Dims: []int64{2}, Int32Data: []int32{-7, 1 << 30}},
			&Tensor{Int32, []int{2}, []int32{-7, 1 << 30}}},
		{"uint32 raw", &onnx.TensorProto{DataType: i32p(12), Dims: []int64{1}, RawData: []byte{0xff, 0xff, 0xff, 0xff}},
			&Tensor{Uint32, []int{1}, []uint32{math.MaxUint32}}},
		{"uint32 typed", &onnx.TensorProto{DataType: i32p(12), Dims: []int64{1}, Uint64Data: []uint64{math.MaxUint32}},
			&Tensor{Uint32, []int{1}, []uint32{math.MaxUint32}}},
		{"int64 raw", &onnx.TensorProto{DataType: i32p(7), Dims: []int64{1}, RawData: []byte{8, 7, 6, 5, 4, 3, 2, 1}},
			&Tensor{Int64, []int{1}, []int64{0x0102030405060708}}},
		{"int64 typed", &onnx.TensorProto{DataType: i32p(7), Dims: []int64{2}, Int64Data: []int64{math.MinInt64, 3}},
			&Tensor{Int64, []int{2}, []int64{math.MinInt64, 3}}},
		{"uint64 typed", &onnx.TensorProto{DataType: i32p(13), Dims: []int64{1}, Uint64Data: []uint64{math.MaxUint64}},
			&Tensor{Uint64, []int{1}, []uint64{math.MaxUint64}}},
		{"bool raw", &onnx.TensorProto{DataType: i32p(9), Dims: []int64{3}, RawData: []byte{1, 0, 1}},
			&Tensor{Bool, []int{3}, []bool{true, false, true}}},
		{"bool typed", &onnx.TensorProto{DataType: i32p(9), Dims: []int64{2}, Int32Data: []int32{0, 1}},
			&Tensor{Bool, []int{2}, []bool{false, true}}},
		{"string", &onnx.TensorProto{DataType: i32p(8), Dims: []int64{2}, StringData: [][]byte{[]byte("a"), []byte("héllo")}},
			&Tensor{String, []int{2}, []string{"a", "héllo"}}},
		{"int4 raw odd", &onnx.TensorProto{DataType: i32p(22), Dims: []int64{5}, RawData: []byte{0x78, 0x0f, 0x03}},
			&Tensor{Int4, []int{5}, []int8{-8, 7, -1, 0, 3}}},
		{"int4 typed", &onnx.TensorProto{DataType: i32p(22), Dims: []int64{3}, Int32Data: []int32{0x9f, 0x01}},
			&Tensor{Int4, []int{3}, []int8{-1, -7, 1}}},
		{"uint4 raw", &onnx.TensorProto{DataType: i32p(21), Dims: []int64{2, 2}, RawData: []byte{0x21, 0xf0}},
			&Tensor{Uint4, []int{2, 2}, []uint8{1, 2, 0, 15}}},
		{"uint4 typed", &onnx.TensorProto{DataType: i32p(21), Dims: []int64{1}, Int32Data: []int32{0x0c}},
			&Tensor{Uint4, []int{1}, []uint8{12}}},
		{"empty", &onnx.TensorProto{DataType: i32p(1), Dims: []int64{0, 3}},
			&Tensor{Float32, []int{0, 3}, []float32{}}},
		{"empty raw present", &onnx.TensorProto{DataType: i32p(7), Dims: []int64{2, 0}, RawData: []byte{}},
			&Tensor{Int64, []int{2, 0}, []int64{}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FromProto(c.tp)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("FromProto = %#v, want %#v", got, c.want)
			}
			if err := got.Check(); err != nil {
				t.Fatal(err)
			}
			// Round trip through ToProto.
			tp, err := ToProto(got, "x")
			if err != nil {
				t.Fatal(err)
			}
			back, err := FromProto(tp)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, c.want) {
				t.Fatalf("round trip = %#v, want %#v", back, c.want)
			}
			// raw_data written by ToProto equals the hand-made raw input.
			if len(c.tp.RawData) > 0 && !bytes.Equal(tp.RawData, c.tp.RawData) {
				t.Fatalf("ToProto raw_data = %x, want %x", tp.RawData, c.tp.RawData)
			}
		})
	}
}

func TestFromProtoErrors(t *testing.T) {
	ext := onnx.TensorProto_EXTERNAL
	cases := []struct {
		name        string
		tp          *onnx.TensorProto
		want        []string // substrings of the message
		unsupported bool
	}{
		{"external", &onnx.TensorProto{Name: strp("w"), DataType: i32p(1), Dims: []int64{2}, DataLocation: &ext,
			ExternalData: []*onnx.StringStringEntryProto{{Key: strp("location"), Value: strp("w.bin")}}},
			[]string{`"w"`, "external", "w.bin"}, false},
		{"raw too short", &onnx.TensorProto{Name: strp("w"), DataType: i32p(1), Dims: []int64{2}, RawData: []byte{0, 0, 0, 0}},
			[]string{`"w"`, "raw_data has 4 bytes, want 8"}, false},
		{"raw too long int4", &onnx.TensorProto{Name: strp("w"), DataType: i32p(22), Dims: []int64{3}, RawData: []byte{0, 0, 0}},
			[]string{"raw_data has 3 bytes, want 2"}, false},
		{"typed count", &onnx.TensorProto{Name: strp("w"), DataType: i32p(1), Dims: []int64{3}, FloatData: []float32{1, 2}},
			[]string{`"w"`, "float_data has 2 values, want 3"}, false},
		{"typed count int4", &onnx.TensorProto{DataType: i32p(21), Dims: []int64{3}, Int32Data: []int32{1, 2, 3}},
			[]string{"unnamed tensor", "int32_data has 3 values, want 2"}, false},
		{"no data", &onnx.TensorProto{Name: strp("w"), DataType: i32p(6), Dims: []int64{3}},
			[]string{"holds no data"}, false},
		{"scalar no data", &onnx.TensorProto{Name: strp("w"), DataType: i32p(6)},
			[]string{"holds no data"}, false},
		{"negative dim", &onnx.TensorProto{Name: strp("w"), DataType: i32p(1), Dims: []int64{2, -1}, FloatData: []float32{1}},
			[]string{`"w"`, "negative"}, false},
		{"overflowing dims", &onnx.TensorProto{Name: strp("w"), DataType: i32p(1), Dims: []int64{1 << 40, 1 << 40}},
			[]string{"overflow"}, false},
		{"segment", &onnx.TensorProto{Name: strp("w"), DataType: i32p(1), Dims: []int64{1}, FloatData: []float32{1},
			Segment: &onnx.TensorProto_Segment{}}, []string{`"w"`, "segment"}, false},
		{"two fields", &onnx.TensorProto{Name: strp("w"), DataType: i32p(1), Dims: []int64{1}, FloatData: []float32{1},
			RawData: []byte{0, 0, 0, 0}}, []string{"raw_data and float_data"}, false},
		{"wrong field", &onnx.TensorProto{Name: strp("w"), DataType: i32p(7), Dims: []int64{1}, Int32Data: []int32{1}},
			[]string{"int64 tensor holds int32_data"}, false},
		{"int8 out of range", &onnx.TensorProto{Name: strp("w"), DataType: i32p(3), Dims: []int64{1}, Int32Data: []int32{128}},
			[]string{"int32_data[0] = 128"}, false},
		{"float16 out of range", &onnx.TensorProto{Name: strp("w"), DataType: i32p(10), Dims: []int64{1}, Int32Data: []int32{-1}},
			[]string{"int32_data[0] = -1"}, false},
		{"uint32 out of range", &onnx.TensorProto{Name: strp("w"), DataType: i32p(12), Dims: []int64{1}, Uint64Data: []uint64{1 << 32}},
			[]string{"does not fit uint32"}, false},
		{"string raw", &onnx.TensorProto{Name: strp("w"), DataType: i32p(8), Dims: []int64{1}, RawData: []byte("a")},
			[]string{"raw_data"}, false},
		{"complex64", &onnx.TensorProto{Name: strp("c"), DataType: i32p(14), Dims: []int64{1}, FloatData: []float32{1, 2}},
			[]string{`"c"`, "complex64"}, true},
		{"complex128", &onnx.TensorProto{Name: strp("c"), DataType: i32p(15), Dims: []int64{1}, DoubleData: []float64{1, 2}},
			[]string{"complex128"}, true},
		{"float8", &onnx.TensorProto{Name: strp("f"), DataType: i32p(17), Dims: []int64{1}, RawData: []byte{1}},
			[]string{"float8e4m3fn"}, true},
		{"float8e5m2fnuz", &onnx.TensorProto{Name: strp("f"), DataType: i32p(20), Dims: []int64{1}, RawData: []byte{1}},
			[]string{"float8e5m2fnuz"}, true},
		{"float4", &onnx.TensorProto{Name: strp("f"), DataType: i32p(23), Dims: []int64{1}, RawData: []byte{1}},
			[]string{"float4e2m1"}, true},
		{"int2", &onnx.TensorProto{Name: strp("f"), DataType: i32p(26), Dims: []int64{1}, RawData: []byte{1}},
			[]string{"int2"}, true},
		{"undefined", &onnx.TensorProto{Name: strp("u"), Dims: []int64{1}, RawData: []byte{1}},
			[]string{"UNDEFINED"}, true},
		{"unknown number", &onnx.TensorProto{Name: strp("u"), DataType: i32p(99), Dims: []int64{1}, RawData: []byte{1}},
			[]string{"dtype(99)"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := FromProto(c.tp)
			if err == nil {
				t.Fatalf("FromProto accepted it: %v", got)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "tensor: ") {
				t.Errorf("message %q does not start with the package name", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if errors.Is(err, ErrUnsupportedType) != c.unsupported {
				t.Errorf("errors.Is(err, ErrUnsupportedType) = %v, want %v (%v)", !c.unsupported, c.unsupported, err)
			}
		})
	}
	if _, err := FromProto(nil); err == nil {
		t.Error("FromProto(nil) accepted")
	}
}

func TestToProtoErrors(t *testing.T) {
	cases := []struct {
		name string
		t    *Tensor
		want string
	}{
		{"nil", nil, "nil tensor"},
		{"int4 out of range", &Tensor{Int4, []int{2}, []int8{0, 8}}, "outside [-8, 7]"},
		{"uint4 out of range", &Tensor{Uint4, []int{1}, []uint8{16}}, "outside [0, 15]"},
		{"wrong Go type", &Tensor{Float32, []int{1}, []float64{1}}, "holds []float64"},
		{"wrong length", &Tensor{Float32, []int{3}, []float32{1}}, "1 elements for shape [3]"},
		{"negative dim", &Tensor{Float32, []int{-1}, []float32{}}, "negative"},
		{"unsupported", &Tensor{Complex64, []int{1}, []float32{1}}, "complex64"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ToProto(c.t, "w")
			if err == nil {
				t.Fatal("ToProto accepted it")
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"w"`) || !strings.HasPrefix(err.Error(), "tensor: ") {
				t.Fatalf("error %q should contain %q and the name", err, c.want)
			}
		})
	}
}

func TestToProtoLayout(t *testing.T) {
	tp, err := ToProto(FromSlice([]int{2, 1}, []string{"x", ""}), "s")
	if err != nil {
		t.Fatal(err)
	}
	if tp.RawData != nil || len(tp.StringData) != 2 || string(tp.StringData[0]) != "x" || tp.GetName() != "s" ||
		tp.GetDataType() != 8 || !reflect.DeepEqual(tp.Dims, []int64{2, 1}) {
		t.Fatalf("string ToProto = %v", tp)
	}
	tp, err = ToProto(&Tensor{Uint4, []int{3}, []uint8{1, 2, 3}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if tp.Name != nil || !bytes.Equal(tp.RawData, []byte{0x21, 0x03}) || tp.GetDataType() != 21 {
		t.Fatalf("uint4 ToProto = %v", tp)
	}
	tp, err = ToProto(Scalar(float32(1)), "one")
	if err != nil {
		t.Fatal(err)
	}
	if len(tp.Dims) != 0 || !bytes.Equal(tp.RawData, []byte{0, 0, 0x80, 0x3f}) {
		t.Fatalf("scalar ToProto = %v", tp)
	}
}

func TestSwapEach(t *testing.T) {
	b := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	swapEach(b, 4)
	if !bytes.Equal(b, []byte{4, 3, 2, 1, 8, 7, 6, 5}) {
		t.Fatalf("swapEach 4 = %v", b)
	}
	swapEach(b, 2)
	if !bytes.Equal(b, []byte{3, 4, 1, 2, 7, 8, 5, 6}) {
		t.Fatalf("swapEach 2 = %v", b)
	}
}

// A 100 MB float32 tensor: both directions should run at memory speed.
func BenchmarkProtoFloat32_100MB(b *testing.B) {
	n := 25 << 20
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i)
	}
	t := FromSlice([]int{n}, data)
	b.SetBytes(int64(4 * n))
	for b.Loop() {
		tp, err := ToProto(t, "w")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := FromProto(tp); err != nil {
			b.Fatal(err)
		}
	}
}

func TestViewProto(t *testing.T) {
	src := FromSlice([]int{2, 3}, []float32{1, -2, 3.5, 0, 1e-30, -7})
	tp, err := ToProto(src, "w")
	if err != nil {
		t.Fatal(err)
	}
	v, err := ViewProto(tp)
	if err != nil {
		t.Fatal(err)
	}
	got := As[float32](v)
	for i, x := range src.Data.([]float32) {
		if got[i] != x {
			t.Fatalf("view %v, want %v", got, src.Data)
		}
	}
	if littleEndianHost && &got[0] != (*float32)(unsafe.Pointer(&tp.RawData[0])) {
		t.Error("the view copied raw_data")
	}
	// A bad length is reported, not viewed.
	tp.RawData = tp.RawData[:7]
	if _, err := ViewProto(tp); err == nil {
		t.Error("truncated raw_data accepted")
	}
}
