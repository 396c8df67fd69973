package tensor

import (
	"bytes"
	"reflect"
	"testing"
)

// Packing worked by hand: element 2k in the low nibble of byte k, element
// 2k+1 in the high nibble, two's complement nibbles for int4.
func TestInt4Packing(t *testing.T) {
	cases := []struct {
		name   string
		vals   []int8
		packed []byte
	}{
		{"empty", []int8{}, []byte{}},
		{"one", []int8{-1}, []byte{0x0f}},
		{"pair", []int8{-8, 7}, []byte{0x78}},
		{"odd", []int8{-8, 7, -1, 0, 3}, []byte{0x78, 0x0f, 0x03}},
		{"all", []int8{0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1},
			[]byte{0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PackInt4(c.vals)
			if err != nil || !bytes.Equal(got, c.packed) {
				t.Fatalf("PackInt4(%v) = %x, %v; want %x", c.vals, got, err, c.packed)
			}
			back, err := UnpackInt4(c.packed, len(c.vals))
			if err != nil || !reflect.DeepEqual(back, c.vals) {
				t.Fatalf("UnpackInt4(%x, %d) = %v, %v; want %v", c.packed, len(c.vals), back, err, c.vals)
			}
		})
	}
}

func TestUint4Packing(t *testing.T) {
	cases := []struct {
		name   string
		vals   []uint8
		packed []byte
	}{
		{"empty", []uint8{}, []byte{}},
		{"odd", []uint8{0, 15, 9}, []byte{0xf0, 0x09}},
		{"pair", []uint8{10, 5}, []byte{0x5a}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := PackUint4(c.vals)
			if err != nil || !bytes.Equal(got, c.packed) {
				t.Fatalf("PackUint4(%v) = %x, %v; want %x", c.vals, got, err, c.packed)
			}
			back, err := UnpackUint4(c.packed, len(c.vals))
			if err != nil || !reflect.DeepEqual(back, c.vals) {
				t.Fatalf("UnpackUint4(%x, %d) = %v, %v; want %v", c.packed, len(c.vals), back, err, c.vals)
			}
		})
	}
}

func TestInt4PackingErrors(t *testing.T) {
	if _, err := PackInt4([]int8{0, 8}); err == nil {
		t.Error("PackInt4 accepted 8")
	}
	if _, err := PackInt4([]int8{-9}); err == nil {
		t.Error("PackInt4 accepted -9")
	}
	if _, err := PackUint4([]uint8{16}); err == nil {
		t.Error("PackUint4 accepted 16")
	}
	for _, c := range []struct {
		packed []byte
		n      int
	}{{[]byte{1}, 3}, {[]byte{1, 2}, 2}, {nil, 1}, {[]byte{}, -1}} {
		if _, err := UnpackInt4(c.packed, c.n); err == nil {
			t.Errorf("UnpackInt4(%x, %d) accepted", c.packed, c.n)
		}
		if _, err := UnpackUint4(c.packed, c.n); err == nil {
			t.Errorf("UnpackUint4(%x, %d) accepted", c.packed, c.n)
		}
	}
}
