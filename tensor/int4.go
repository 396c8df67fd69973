package tensor

import "fmt"

// ONNX stores 4-bit integers two to a byte: element 2k in the low nibble of
// byte k and element 2k+1 in the high nibble; an odd count leaves the last
// high nibble zero. In memory onnxquant keeps one element per byte: INT4 as
// int8 in [-8, 7], UINT4 as uint8 in [0, 15].

// PackedLen returns the number of bytes n 4-bit elements take when packed.
func PackedLen(n int) int { return (n + 1) / 2 }

// PackInt4 packs signed 4-bit values (each in [-8, 7]) two to a byte.
func PackInt4(vals []int8) ([]byte, error) {
	out := make([]byte, PackedLen(len(vals)))
	for i, v := range vals {
		if v < -8 || v > 7 {
			return nil, fmt.Errorf("tensor: int4 element %d is %d, outside [-8, 7]", i, v)
		}
		out[i/2] |= (byte(v) & 0x0f) << (4 * uint(i&1))
	}
	return out, nil
}

// PackUint4 packs unsigned 4-bit values (each in [0, 15]) two to a byte.
func PackUint4(vals []uint8) ([]byte, error) {
	out := make([]byte, PackedLen(len(vals)))
	for i, v := range vals {
		if v > 15 {
			return nil, fmt.Errorf("tensor: uint4 element %d is %d, outside [0, 15]", i, v)
		}
		out[i/2] |= v << (4 * uint(i&1))
	}
	return out, nil
}

// UnpackInt4 unpacks n signed 4-bit values from packed, sign-extending each
// nibble. packed must hold exactly PackedLen(n) bytes.
func UnpackInt4(packed []byte, n int) ([]int8, error) {
	if n < 0 || len(packed) != PackedLen(n) {
		return nil, fmt.Errorf("tensor: %d packed bytes for %d int4 elements, want %d", len(packed), n, PackedLen(max(n, 0)))
	}
	out := make([]int8, n)
	unpackInt4Into(out, packed)
	return out, nil
}

// UnpackUint4 unpacks n unsigned 4-bit values from packed. packed must hold
// exactly PackedLen(n) bytes.
func UnpackUint4(packed []byte, n int) ([]uint8, error) {
	if n < 0 || len(packed) != PackedLen(n) {
		return nil, fmt.Errorf("tensor: %d packed bytes for %d uint4 elements, want %d", len(packed), n, PackedLen(max(n, 0)))
	}
	out := make([]uint8, n)
	unpackUint4Into(out, packed)
	return out, nil
}

// unpackInt4Into fills dst from packed (len(packed) >= PackedLen(len(dst))).
func unpackInt4Into(dst []int8, packed []byte) {
	for i := range dst {
		nib := packed[i/2] >> (4 * uint(i&1)) & 0x0f
		// Shift the nibble into the top of the byte, then arithmetic-shift
		// back down to sign-extend it.
		dst[i] = int8(nib<<4) >> 4
	}
}

// unpackUint4Into fills dst from packed (len(packed) >= PackedLen(len(dst))).
func unpackUint4Into(dst []uint8, packed []byte) {
	for i := range dst {
		dst[i] = packed[i/2] >> (4 * uint(i&1)) & 0x0f
	}
}
