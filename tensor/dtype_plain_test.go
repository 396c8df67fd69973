package tensor

import "testing"

// TestIsPlain checks IsPlain type by type: the numeric types held one per
// Go value and bool are plain; strings, 4-bit, complex, float8 and
// undefined types are not.
func TestIsPlain(t *testing.T) {
	plain := map[DataType]bool{
		Float32: true, Float64: true, Float16: true, BFloat16: true,
		Int8: true, Uint8: true, Int16: true, Uint16: true,
		Int32: true, Uint32: true, Int64: true, Uint64: true, Bool: true,
	}
	for _, d := range []DataType{Float32, Float64, Float16, BFloat16, Int8, Uint8, Int16, Uint16,
		Int32, Uint32, Int64, Uint64, Bool, String, Int4, Uint4, Complex64, Float8E4M3FN, Undefined} {
		if got := d.IsPlain(); got != plain[d] {
			t.Errorf("%v.IsPlain() = %v, want %v", d, got, plain[d])
		}
	}
}
