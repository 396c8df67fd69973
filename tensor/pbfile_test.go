package tensor

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/onnxquant/onnxquant/internal/testenv"
	"github.com/onnxquant/onnxquant/onnx"
)

// identical reports whether two tensors have the same type, shape and
// element bits (so NaNs compare equal to themselves).
func identical(a, b *Tensor) bool {
	if a.DType != b.DType || len(a.Shape) != len(b.Shape) {
		return false
	}
	for i := range a.Shape {
		if a.Shape[i] != b.Shape[i] {
			return false
		}
	}
	if ab, bb := dataBytes(a.Data), dataBytes(b.Data); ab != nil || bb != nil {
		return reflect.TypeOf(a.Data) == reflect.TypeOf(b.Data) && bytes.Equal(ab, bb)
	}
	return reflect.DeepEqual(a.Data, b.Data)
}

// expectedKind describes, from the model's declared type, what a test data
// file should hold.
type expectedKind struct {
	tensor bool     // a tensor (otherwise a sequence, optional, map, ...)
	dtype  DataType // for tensors
	dims   []int64  // declared dims, -1 where symbolic; nil when no shape
	what   string
}

func kindOf(tp *onnx.TypeProto) expectedKind {
	switch {
	case tp.GetTensorType() != nil:
		tt := tp.GetTensorType()
		k := expectedKind{tensor: true, dtype: DataType(tt.GetElemType()), what: "tensor"}
		if sh := tt.GetShape(); sh != nil {
			k.dims = []int64{}
			for _, d := range sh.GetDim() {
				if _, ok := d.GetValue().(*onnx.TensorShapeProto_Dimension_DimValue); ok {
					k.dims = append(k.dims, d.GetDimValue())
				} else {
					k.dims = append(k.dims, -1)
				}
			}
		}
		return k
	case tp.GetSequenceType() != nil:
		return expectedKind{what: "sequence"}
	case tp.GetOptionalType() != nil:
		return expectedKind{what: "optional"}
	case tp.GetMapType() != nil:
		return expectedKind{what: "map"}
	case tp.GetSparseTensorType() != nil:
		return expectedKind{what: "sparse tensor"}
	}
	return expectedKind{what: "unknown type"}
}

// pbIndex returns the kind ("input"/"output") and index of a file name such
// as input_3.pb.
func pbIndex(name string) (string, int, bool) {
	base := strings.TrimSuffix(name, ".pb")
	kind, num, ok := strings.Cut(base, "_")
	if !ok || (kind != "input" && kind != "output") {
		return "", 0, false
	}
	i, err := strconv.Atoi(num)
	return kind, i, err == nil
}

// TestConformanceProtoFiles decodes every input_*.pb and output_*.pb of the
// ONNX node conformance cases and checks the outcome against the type the
// case's model declares for that input or output: tensors of a supported
// type must decode with that type and shape, tensors of other types must be
// refused as unsupported, and sequences and optionals as non-tensors. Every
// decoded tensor must survive ToProto and FromProto unchanged, and where the
// file used raw_data, ToProto must reproduce its bytes exactly.
func TestConformanceProtoFiles(t *testing.T) {
	root := filepath.Join(testenv.DataDir(t), "onnx-backend", "node")
	cases, err := filepath.Glob(filepath.Join(root, "test_*"))
	if err != nil || len(cases) == 0 {
		testenv.Unavailable(t, "no conformance cases under %s", root)
	}
	var decoded, unsupported, notTensor, files, rawSame int
	unsupportedTypes := map[string]int{}
	notTensorKinds := map[string]int{}
	decodedTypes := map[DataType]int{}
	for _, c := range cases {
		pbs, _ := filepath.Glob(filepath.Join(c, "test_data_set_0", "*.pb"))
		if len(pbs) == 0 {
			continue
		}
		mb, err := os.ReadFile(filepath.Join(c, "model.onnx"))
		if err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		var m onnx.ModelProto
		if err := proto.Unmarshal(mb, &m); err != nil {
			t.Fatalf("%s: model: %v", c, err)
		}
		g := m.GetGraph()
		for _, pb := range pbs {
			files++
			rel, _ := filepath.Rel(root, pb)
			kind, idx, ok := pbIndex(filepath.Base(pb))
			if !ok {
				t.Errorf("%s: unexpected file name", rel)
				continue
			}
			vis := g.GetInput()
			if kind == "output" {
				vis = g.GetOutput()
			}
			if idx >= len(vis) {
				t.Errorf("%s: model declares only %d %ss", rel, len(vis), kind)
				continue
			}
			want := kindOf(vis[idx].GetType())
			got, name, err := ReadProtoFile(pb)
			switch {
			case !want.tensor:
				if !errors.Is(err, ErrNotTensor) {
					t.Errorf("%s: declared %s, got %v, %v (want ErrNotTensor)", rel, want.what, got, err)
					continue
				}
				notTensor++
				notTensorKinds[want.what]++
			case !want.dtype.Supported():
				if !errors.Is(err, ErrUnsupportedType) || !strings.Contains(err.Error(), want.dtype.String()) {
					t.Errorf("%s: declared %v tensor, got %v, %v (want ErrUnsupportedType naming it)", rel, want.dtype, got, err)
					continue
				}
				unsupported++
				unsupportedTypes[want.dtype.String()]++
			default:
				if err != nil {
					t.Errorf("%s: %v", rel, err)
					continue
				}
				if got.DType != want.dtype {
					t.Errorf("%s: type %v, model declares %v", rel, got.DType, want.dtype)
				}
				if want.dims != nil {
					okShape := len(want.dims) == len(got.Shape)
					for i := 0; okShape && i < len(want.dims); i++ {
						okShape = want.dims[i] < 0 || want.dims[i] == int64(got.Shape[i])
					}
					if !okShape {
						t.Errorf("%s: shape %v, model declares %v", rel, got.Shape, want.dims)
					}
				}
				if name != vis[idx].GetName() && name != "" {
					// The suite names each tensor after its graph input or
					// output; a mismatch would mean the name was misread.
					t.Errorf("%s: name %q, model says %q", rel, name, vis[idx].GetName())
				}
				tp, err := ToProto(got, name)
				if err != nil {
					t.Errorf("%s: ToProto: %v", rel, err)
					continue
				}
				back, err := FromProto(tp)
				if err != nil || !identical(back, got) || tp.GetName() != name {
					t.Errorf("%s: round trip changed the tensor (%v)", rel, err)
				}
				var orig onnx.TensorProto
				b, _ := os.ReadFile(pb)
				if proto.Unmarshal(b, &orig) == nil && len(orig.RawData) > 0 {
					if !bytes.Equal(orig.RawData, tp.RawData) {
						t.Errorf("%s: ToProto raw_data differs from the file's", rel)
					}
					rawSame++
				}
				decoded++
				decodedTypes[got.DType]++
			}
		}
	}
	t.Logf("%d files: %d decoded (%d with raw_data reproduced byte for byte), %d refused as unsupported types, %d refused as non-tensors",
		files, decoded, rawSame, unsupported, notTensor)
	t.Logf("decoded types: %v", sortedCounts(decodedTypes))
	t.Logf("unsupported: %v", unsupportedTypes)
	t.Logf("non-tensors: %v", notTensorKinds)
	if decoded < 5000 {
		t.Errorf("only %d files decoded", decoded)
	}
}

func sortedCounts(m map[DataType]int) string {
	var keys []int
	for k := range m {
		keys = append(keys, int(k))
	}
	sort.Ints(keys)
	var sb strings.Builder
	for _, k := range keys {
		sb.WriteString(DataType(k).String() + ":" + strconv.Itoa(m[DataType(k)]) + " ")
	}
	return sb.String()
}

func readCase(t *testing.T, name string, files ...string) []*Tensor {
	t.Helper()
	var out []*Tensor
	for _, f := range files {
		p := testenv.DataFile(t, "onnx-backend", "node", name, "test_data_set_0", f)
		tt, _, err := ReadProtoFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tt)
	}
	return out
}

// The 4-bit DequantizeLinear cases store x and the zero point in int32_data
// (two elements per value); y = (x - zero_point) * scale, computed here from
// the decoded inputs, must match the expected output.
func TestConformanceDequantize4Bit(t *testing.T) {
	for _, name := range []string{"test_dequantizelinear_int4", "test_dequantizelinear_uint4"} {
		t.Run(name, func(t *testing.T) {
			ts := readCase(t, name, "input_0.pb", "input_1.pb", "input_2.pb", "output_0.pb")
			x, scale, zp, y := ts[0], ts[1], ts[2], ts[3]
			xs, _ := Int64s(x)
			zs, _ := Int64s(zp)
			ss := As[float32](scale)
			ys := As[float32](y)
			if len(ss) != 1 || len(zs) != 1 || len(xs) != len(ys) {
				t.Fatalf("unexpected layout: x %v scale %v zp %v y %v", x, scale, zp, y)
			}
			for i := range xs {
				if want := float32(xs[i]-zs[0]) * ss[0]; ys[i] != want {
					t.Errorf("element %d: x=%d zp=%d scale=%v gives %v, file says %v", i, xs[i], zs[0], ss[0], want, ys[i])
				}
			}
		})
	}
}

// The 4-bit QuantizeLinear cases: y = clamp(round_half_even(x / scale) +
// zero_point) per row (axis 0), with the 4-bit output decoded from
// int32_data.
func TestConformanceQuantize4Bit(t *testing.T) {
	for _, c := range []struct {
		name   string
		lo, hi float64
	}{{"test_quantizelinear_int4", -8, 7}, {"test_quantizelinear_uint4", 0, 15}} {
		t.Run(c.name, func(t *testing.T) {
			ts := readCase(t, c.name, "input_0.pb", "input_1.pb", "input_2.pb", "output_0.pb")
			x, scale, zp, y := ts[0], ts[1], ts[2], ts[3]
			zs, _ := Int64s(zp)
			ys, _ := Int64s(y)
			xs := As[float32](x)
			ss := As[float32](scale)
			if x.Rank() != 2 || len(ss) != x.Shape[0] || len(zs) != x.Shape[0] {
				t.Fatalf("unexpected layout: x %v scale %v zp %v", x, scale, zp)
			}
			cols := x.Shape[1]
			for i := range xs {
				r := i / cols
				q := math.RoundToEven(float64(xs[i]/ss[r])) + float64(zs[r])
				q = math.Max(c.lo, math.Min(c.hi, q))
				if int64(q) != ys[i] {
					t.Errorf("element %d: x=%v scale=%v zp=%d gives %v, file says %d", i, xs[i], ss[r], zs[r], q, ys[i])
				}
			}
		})
	}
}

func TestReadProtoFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A SequenceProto with name "s", elem_type TENSOR (1) and one float
	// tensor value {dims: [1], data_type: 1, float_data: [1]}, encoded by
	// hand: field 1 "s", field 2 = 1, field 3 = the nested TensorProto.
	inner := []byte{0x0a, 0x01, 0x01, 0x10, 0x01, 0x22, 0x04, 0, 0, 0x80, 0x3f}
	seq := append([]byte{0x0a, 0x01, 's', 0x10, 0x01, 0x1a, byte(len(inner))}, inner...)
	// An empty OptionalProto: name "o", elem_type UNDEFINED.
	opt := []byte{0x0a, 0x01, 'o', 0x10, 0x00}
	cases := []struct {
		name      string
		data      []byte
		notTensor bool
	}{
		{"seq.pb", seq, true},
		{"opt.pb", opt, true},
		{"garbage.pb", []byte{0xff, 0xff, 0xff}, false},
		{"truncated.pb", []byte{0x0a, 0x05, 0x01}, false},
	}
	for _, c := range cases {
		p := write(c.name, c.data)
		_, _, err := ReadProtoFile(p)
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !strings.Contains(err.Error(), p) || !strings.HasPrefix(err.Error(), "tensor: ") {
			t.Errorf("%s: error %q does not name the file", c.name, err)
		}
		if errors.Is(err, ErrNotTensor) != c.notTensor {
			t.Errorf("%s: errors.Is(ErrNotTensor) = %v: %v", c.name, !c.notTensor, err)
		}
	}
	if _, _, err := ReadProtoFile(filepath.Join(dir, "missing.pb")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestWriteProtoFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.pb")
	in := FromSlice([]int{2, 2}, []F16{0x3c00, 0x7e00, 0x8000, 0x0001})
	if err := WriteProtoFile(p, in, "x"); err != nil {
		t.Fatal(err)
	}
	got, name, err := ReadProtoFile(p)
	if err != nil || name != "x" || !identical(got, in) {
		t.Fatalf("ReadProtoFile = %v %q %v", got, name, err)
	}
	if err := WriteProtoFile(p, &Tensor{Int4, []int{1}, []int8{9}}, "bad"); err == nil {
		t.Fatal("WriteProtoFile accepted an out-of-range int4")
	}
	// The failed write must leave the earlier file and no temporary files.
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries after a failed write", len(entries))
	}
}
