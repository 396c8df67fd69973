package tensor

import "math"

// Half precision (IEEE 754 binary16): 1 sign bit, 5 exponent bits (bias 15),
// 10 fraction bits. bfloat16: 1 sign bit, 8 exponent bits (bias 127), 7
// fraction bits, i.e. the upper half of a float32.
//
// Every conversion to a narrower format rounds to nearest, ties to even,
// produces subnormals where the value calls for them, overflows to an
// infinity of the right sign, keeps -0 and turns any NaN into a quiet NaN of
// the same sign (keeping the upper payload bits that fit).

const (
	f16SignMask = 0x8000
	f16ExpMask  = 0x7c00
	f16FracMask = 0x03ff
	f16Quiet    = 0x0200
)

// F16FromFloat32 rounds f to the nearest half-precision value (ties to even).
func F16FromFloat32(f float32) F16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & f16SignMask
	exp := int(b>>23) & 0xff
	frac := b & 0x7fffff

	if exp == 0xff { // infinity or NaN
		if frac == 0 {
			return F16(sign | f16ExpMask)
		}
		return F16(sign | f16ExpMask | f16Quiet | uint16(frac>>13))
	}
	// Half exponent field for a normal result: float32 bias 127, half bias 15.
	he := exp - 127 + 15
	if he >= 0x1f {
		return F16(sign | f16ExpMask)
	}
	if he >= 1 {
		// Normal: keep 10 of the 23 fraction bits and round on the other 13.
		// A carry out of the fraction bumps the exponent, which is exactly the
		// right result (and yields infinity past the largest finite value).
		h := uint32(he)<<10 | frac>>13
		rest := frac & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++
		}
		return F16(uint32(sign) | h)
	}
	// Subnormal or zero result, counted in units of 2^-24. The float32 value
	// is sig * 2^(exp-150) with sig the 24-bit significand, so the result is
	// sig shifted right by 126-exp bits (float32 subnormals have exp 0 and no
	// implicit bit, but they are far below half the smallest half subnormal).
	if exp == 0 {
		return F16(sign)
	}
	sig := frac | 0x800000
	shift := uint(126 - exp) // >= 14 here
	if shift > 25 {
		return F16(sign)
	}
	return F16(uint32(sign) | roundShift32(sig, shift))
}

// roundShift32 returns v / 2^s rounded to nearest, ties to even (1 <= s <= 31).
func roundShift32(v uint32, s uint) uint32 {
	q := v >> s
	rest := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rest > half || (rest == half && q&1 == 1) {
		q++
	}
	return q
}

// roundShift64 returns v / 2^s rounded to nearest, ties to even (1 <= s <= 63).
func roundShift64(v uint64, s uint) uint64 {
	q := v >> s
	rest := v & (1<<s - 1)
	half := uint64(1) << (s - 1)
	if rest > half || (rest == half && q&1 == 1) {
		q++
	}
	return q
}

// Float32 returns h as a float32; the conversion is exact. A signalling NaN
// comes back quiet.
func (h F16) Float32() float32 {
	sign := uint32(h&f16SignMask) << 16
	exp := uint32(h&f16ExpMask) >> 10
	frac := uint32(h & f16FracMask)
	switch {
	case exp == 0x1f:
		if frac == 0 {
			return math.Float32frombits(sign | 0x7f800000)
		}
		return math.Float32frombits(sign | 0x7fc00000 | frac<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+127-15)<<23 | frac<<13)
	case frac == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: frac * 2^-24. Normalise so the leading one becomes the
	// implicit bit of the float32.
	e := uint32(127 - 15 + 1)
	for frac&0x400 == 0 {
		frac <<= 1
		e--
	}
	return math.Float32frombits(sign | e<<23 | (frac&f16FracMask)<<13)
}

// Float64 returns h as a float64 (exact).
func (h F16) Float64() float64 { return float64(h.Float32()) }

// IsNaN reports whether h is a NaN.
func (h F16) IsNaN() bool { return h&f16ExpMask == f16ExpMask && h&f16FracMask != 0 }

// F16FromFloat64 rounds f to the nearest half-precision value (ties to even)
// in a single rounding step, so it can differ from
// F16FromFloat32(float32(f)), which rounds twice.
func F16FromFloat64(f float64) F16 {
	return F16(narrowFloat64(math.Float64bits(f), 5, 10))
}

// BF16FromFloat32 rounds f to the nearest bfloat16 value (ties to even).
func BF16FromFloat32(f float32) BF16 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return BF16(uint16(b>>16) | 0x0040) // NaN: keep sign and payload, set quiet bit
	}
	// Adding just under half an ulp of the result, plus one when the kept
	// part is odd, carries into bit 16 exactly when rounding up is due.
	// Overflow carries into the exponent and yields infinity.
	b += 0x7fff + (b>>16)&1
	return BF16(b >> 16)
}

// BF16FromFloat64 rounds f to the nearest bfloat16 value (ties to even) in a
// single rounding step.
func BF16FromFloat64(f float64) BF16 {
	return BF16(narrowFloat64(math.Float64bits(f), 8, 7))
}

// Float32 returns b as a float32; the conversion is exact. A signalling NaN
// comes back quiet.
func (b BF16) Float32() float32 {
	u := uint32(b) << 16
	if u&0x7f800000 == 0x7f800000 && u&0x7fffff != 0 {
		u |= 0x400000
	}
	return math.Float32frombits(u)
}

// Float64 returns b as a float64 (exact).
func (b BF16) Float64() float64 { return float64(b.Float32()) }

// IsNaN reports whether b is a NaN.
func (b BF16) IsNaN() bool { return b&0x7f80 == 0x7f80 && b&0x7f != 0 }

// narrowFloat64 rounds the float64 with bits b to a binary format with
// expBits exponent bits and fracBits fraction bits (at most 16 bits in all),
// returning its bit pattern.
func narrowFloat64(b uint64, expBits, fracBits uint) uint32 {
	total := 1 + expBits + fracBits
	sign := uint32(b>>63) << (total - 1)
	exp := int(b>>52) & 0x7ff
	frac := b & (1<<52 - 1)
	expMax := uint32(1)<<expBits - 1
	infBits := expMax << fracBits
	if exp == 0x7ff {
		if frac == 0 {
			return sign | infBits
		}
		quiet := uint32(1) << (fracBits - 1)
		return sign | infBits | quiet | uint32(frac>>(52-fracBits))
	}
	bias := int(1)<<(expBits-1) - 1
	he := exp - 1023 + bias
	if he >= int(expMax) {
		return sign | infBits
	}
	if he >= 1 {
		h := uint64(he)<<fracBits | frac>>(52-fracBits)
		drop := 52 - fracBits
		rest := frac & (1<<drop - 1)
		half := uint64(1) << (drop - 1)
		if rest > half || (rest == half && h&1 == 1) {
			h++
		}
		return sign | uint32(h)
	}
	if exp == 0 {
		return sign // float64 subnormals are far below any 16-bit subnormal
	}
	// Result in units of the target's smallest subnormal 2^(1-bias-fracBits);
	// the value is sig * 2^(exp-1075).
	sig := frac | 1<<52
	shift := 1075 - exp + (1 - bias - int(fracBits)) // = 52 - fracBits + 1 - he
	if shift > 54 {
		return sign
	}
	return sign | uint32(roundShift64(sig, uint(shift)))
}
