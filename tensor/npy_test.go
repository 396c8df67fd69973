package tensor

import (
	"archive/zip"
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The golden files in testdata were written by NumPy (see
// testdata/README.md); the expected values are the ones make_golden.py
// asked NumPy to store.
var halfGrid = []float32{-1, -0.5, 0, 0.5, 1, 1.5}

func TestReadNpyGolden(t *testing.T) {
	cases := []struct {
		file string
		want *Tensor
	}{
		{"f4_2x3.npy", &Tensor{Float32, []int{2, 3}, halfGrid}},
		{"f4_be_2x3.npy", &Tensor{Float32, []int{2, 3}, halfGrid}},
		{"f4_v2.npy", &Tensor{Float32, []int{2, 3}, halfGrid}},
		{"f4_v3.npy", &Tensor{Float32, []int{2, 3}, halfGrid}},
		{"f4_empty_0x3.npy", &Tensor{Float32, []int{0, 3}, []float32{}}},
		{"f8_scalar.npy", &Tensor{Float64, nil, []float64{3.25}}},
		{"f8_be.npy", &Tensor{Float64, []int{3}, []float64{1e300, -2.5, 0.1}}},
		{"f2.npy", &Tensor{Float16, []int{6}, []F16{0x3c00, 0x0001, 0x8000, 0x7c00, 0xc000, 0x7bff}}},
		{"i1.npy", &Tensor{Int8, []int{4}, []int8{-128, -1, 0, 127}}},
		{"u1.npy", &Tensor{Uint8, []int{2, 2}, []uint8{0, 1, 254, 255}}},
		{"i2_be.npy", &Tensor{Int16, []int{4}, []int16{-32768, -2, 258, 32767}}},
		{"u2.npy", &Tensor{Uint16, []int{3}, []uint16{0, 1, 65535}}},
		{"i4_be.npy", &Tensor{Int32, []int{3}, []int32{math.MinInt32, 0x01020304, math.MaxInt32}}},
		{"u4.npy", &Tensor{Uint32, []int{2}, []uint32{0, math.MaxUint32}}},
		{"i8.npy", &Tensor{Int64, []int{4}, []int64{math.MinInt64, -1, 0x0102030405060708, math.MaxInt64}}},
		{"u8_be.npy", &Tensor{Uint64, []int{3}, []uint64{0, math.MaxUint64, 258}}},
		{"b1.npy", &Tensor{Bool, []int{1, 3}, []bool{true, false, true}}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			p := filepath.Join("testdata", c.file)
			got, err := ReadNpyFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ReadNpyFile = %#v, want %#v", got, c.want)
			}
			// Same result from a plain reader of unknown length, and from
			// the chunked path used for large payloads of unknown length.
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			got, err = ReadNpy(bytes.NewReader(b))
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ReadNpy = %#v, %v", got, err)
			}
			old := directReadLimit
			directReadLimit = 1
			got, err = ReadNpy(bytes.NewReader(b))
			directReadLimit = old
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Fatalf("ReadNpy (chunked) = %#v, %v", got, err)
			}
		})
	}
}

// WriteNpy must produce exactly the bytes NumPy's own writer produced for
// the same little-endian arrays.
func TestWriteNpyMatchesNumPy(t *testing.T) {
	for _, file := range []string{"f4_2x3.npy", "f4_empty_0x3.npy", "f8_scalar.npy", "f2.npy", "i1.npy", "u1.npy",
		"u2.npy", "u4.npy", "i8.npy", "b1.npy"} {
		t.Run(file, func(t *testing.T) {
			p := filepath.Join("testdata", file)
			golden, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			in, err := ReadNpyFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteNpy(&buf, in); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), golden) {
				t.Fatalf("WriteNpy wrote\n%q\nNumPy wrote\n%q", buf.Bytes(), golden)
			}
		})
	}
}

func TestNpyErrors(t *testing.T) {
	dir := t.TempDir()
	golden, err := os.ReadFile(filepath.Join("testdata", "f4_2x3.npy"))
	if err != nil {
		t.Fatal(err)
	}
	hdrEnd := bytes.IndexByte(golden, '\n') + 1
	replace := func(old, new string) []byte {
		b := bytes.Replace(golden, []byte(old), []byte(new), 1)
		if bytes.Equal(b, golden) {
			t.Fatalf("%q not in the golden header", old)
		}
		return b
	}
	cases := []struct {
		name        string
		data        []byte
		file        string // or a golden file
		want        string
		unsupported bool
	}{
		{name: "fortran", file: "fortran_2x3.npy", want: "fortran"},
		{name: "complex", file: "c8.npy", want: "<c8", unsupported: true},
		{name: "unicode", file: "u3str.npy", want: "<U3", unsupported: true},
		{name: "truncated data", data: golden[:len(golden)-1], want: "truncated"},
		{name: "no data", data: golden[:hdrEnd], want: "truncated"},
		{name: "truncated header", data: golden[:40], want: "header"},
		{name: "only magic", data: golden[:7], want: "magic"},
		{name: "empty", data: nil, want: "magic"},
		{name: "bad magic", data: append([]byte("\x93NUMPZ"), golden[6:]...), want: "bad magic"},
		{name: "version 4", data: append([]byte("\x93NUMPY\x04\x00"), golden[8:]...), want: "version 4.0"},
		{name: "bad shape", data: replace("(2, 3)", "(2, x)"), want: "dimension"},
		{name: "negative dim", data: replace("(2, 3)", "(2,-3)"), want: "dimension"},
		{name: "bad fortran value", data: replace("False", "Maybe"), want: "fortran_order"},
		{name: "missing key", data: replace("'shape'", "'shapf'"), want: "unexpected key"},
		{name: "not a dict", data: replace("{", "["), want: "expected '{'"},
		{name: "order on wide type", data: replace("'<f4'", "'|f4'"), want: "byte order"},
		{name: "structured", data: replace("'<f4'", "[('a', '<f4')]"), want: "structured", unsupported: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join("testdata", c.file)
			if c.file == "" {
				p = filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".npy")
				if err := os.WriteFile(p, c.data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadNpyFile(p)
			if err == nil {
				t.Fatal("accepted")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "tensor: ") || !strings.Contains(msg, p) || !strings.Contains(msg, c.want) {
				t.Errorf("error %q should name %s and contain %q", msg, p, c.want)
			}
			if errors.Is(err, ErrUnsupportedType) != c.unsupported {
				t.Errorf("errors.Is(ErrUnsupportedType) = %v for %q", !c.unsupported, msg)
			}
			// The reader of unknown length must refuse it too.
			b, _ := os.ReadFile(p)
			if _, err := ReadNpy(bytes.NewReader(b)); err == nil || !strings.HasPrefix(err.Error(), "tensor: npy: ") {
				t.Errorf("ReadNpy: %v", err)
			}
		})
	}
	if _, err := ReadNpyFile(filepath.Join(dir, "missing.npy")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestWriteNpyFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		in   *Tensor
		want *Tensor // what reading back gives
	}{
		{"f32", FromSlice([]int{2, 1}, []float32{1.5, float32(math.Inf(-1))}), nil},
		{"scalar", Scalar(int64(-7)), nil},
		{"bool", FromSlice([]int{3}, []bool{false, true, true}), nil},
		{"f16", FromSlice([]int{1}, []F16{0x7bff}), nil},
		{"int4 as int8", &Tensor{Int4, []int{2}, []int8{-8, 7}}, &Tensor{Int8, []int{2}, []int8{-8, 7}}},
		{"uint4 as uint8", &Tensor{Uint4, []int{1}, []uint8{15}}, &Tensor{Uint8, []int{1}, []uint8{15}}},
		{"empty", FromSlice([]int{3, 0}, []uint16{}), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".npy")
			if err := WriteNpyFile(p, c.in); err != nil {
				t.Fatal(err)
			}
			got, err := ReadNpyFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want := c.want
			if want == nil {
				want = c.in
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read back %#v, want %#v", got, want)
			}
		})
	}
	for _, bad := range []*Tensor{
		FromSlice([]int{1}, []BF16{1}),
		FromSlice([]int{1}, []string{"a"}),
		{Float32, []int{2}, []float32{1}},
		nil,
	} {
		p := filepath.Join(dir, "bad.npy")
		if err := WriteNpyFile(p, bad); err == nil {
			t.Errorf("WriteNpyFile accepted %v", bad)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("a failed write left %s behind", p)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(cases) {
		t.Errorf("%d files in the folder, want %d (temporary files left behind?)", len(entries), len(cases))
	}
}

// A header longer than 65535 bytes needs format version 2.0.
func TestWriteNpyLongHeader(t *testing.T) {
	shape := make([]int, 23000)
	for i := range shape {
		shape[i] = 1
	}
	in := New(Float32, shape...)
	As[float32](in)[0] = 2
	var buf bytes.Buffer
	if err := WriteNpy(&buf, in); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if b[6] != 2 || b[7] != 0 {
		t.Fatalf("version %d.%d, want 2.0", b[6], b[7])
	}
	hlen := int(b[8]) | int(b[9])<<8 | int(b[10])<<16 | int(b[11])<<24
	if (12+hlen)%64 != 0 || b[12+hlen-1] != '\n' {
		t.Fatalf("header of %d bytes is not padded to 64 or lacks its newline", hlen)
	}
	got, err := ReadNpy(bytes.NewReader(b))
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Fatalf("read back: %v", err)
	}
}

func TestReadNpz(t *testing.T) {
	for _, file := range []string{"stored.npz", "deflated.npz"} {
		t.Run(file, func(t *testing.T) {
			m, keys, err := ReadNpz(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(keys, []string{"alpha", "beta"}) || len(m) != 2 {
				t.Fatalf("keys %v", keys)
			}
			if !reflect.DeepEqual(m["alpha"], &Tensor{Float32, []int{2, 3}, halfGrid}) {
				t.Errorf("alpha = %#v", m["alpha"])
			}
			if !reflect.DeepEqual(m["beta"], &Tensor{Int64, []int{3}, []int64{7, 8, 9}}) {
				t.Errorf("beta = %#v", m["beta"])
			}
		})
	}
}

func TestReadNpzErrors(t *testing.T) {
	dir := t.TempDir()
	golden, err := os.ReadFile(filepath.Join("testdata", "f4_2x3.npy"))
	if err != nil {
		t.Fatal(err)
	}
	mk := func(name string, members map[string][]byte, order []string) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		zw := zip.NewWriter(f)
		for _, k := range order {
			w, err := zw.Create(k)
			if err != nil {
				t.Fatal(err)
			}
			w.Write(members[k])
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return p
	}
	cases := []struct {
		path string
		want string
	}{
		{mk("txt.npz", map[string][]byte{"a.npy": golden, "notes.txt": []byte("x")}, []string{"a.npy", "notes.txt"}), `"notes.txt"`},
		{mk("trunc.npz", map[string][]byte{"a.npy": golden[:len(golden)-2]}, []string{"a.npy"}), "truncated"},
		{mk("dup.npz", map[string][]byte{"a.npy": golden}, []string{"a.npy", "a.npy"}), "twice"},
	}
	for _, c := range cases {
		_, _, err := ReadNpz(c.path)
		if err == nil || !strings.Contains(err.Error(), c.path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadNpz(%s) error %v, want one naming the file and containing %q", c.path, err, c.want)
		}
	}
	notZip := filepath.Join(dir, "plain.npz")
	os.WriteFile(notZip, golden, 0o644)
	if _, _, err := ReadNpz(notZip); err == nil || !strings.Contains(err.Error(), notZip) {
		t.Errorf("ReadNpz of a non-zip: %v", err)
	}
}
