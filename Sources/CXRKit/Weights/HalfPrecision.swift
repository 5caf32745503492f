/// Exact conversions between Float32 and the 16-bit float formats of weights files (IEEE binary16 and
/// bfloat16), done on bit patterns so they behave the same on every platform.
package enum HalfPrecision {
    /// Widens an IEEE binary16 bit pattern to Float32 exactly (subnormals, infinities, NaN payloads kept).
    ///
    /// Branch-free, so that a loop of it vectorizes: the 15 magnitude bits moved to a Float32's exponent and
    /// mantissa fields read 2^-112 times the value (for a subnormal half too, as a subnormal float), and the
    /// multiplication by 2^112 is exact; infinities and NaNs (all exponent bits set) are built directly.
    @inline(__always)
    package static func float(fromF16 bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let shifted = UInt32(bits & 0x7FFF) << 13
        let finite = Float(bitPattern: shifted) * 0x1p112
        let special = Float(bitPattern: shifted | 0x7F80_0000)
        let magnitude = bits & 0x7FFF >= 0x7C00 ? special : finite
        return Float(bitPattern: magnitude.bitPattern | sign)
    }

    /// Widens a bfloat16 bit pattern to Float32 (exact: bfloat16 is the top half of a Float32).
    @inline(__always)
    package static func float(fromBF16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Rounds a Float32 to the nearest IEEE binary16 (ties to even; overflow to infinity; NaN stays NaN).
    package static func f16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x007F_FFFF
        if exponent == 0xFF {
            if mantissa == 0 { return sign | 0x7C00 }
            return sign | 0x7C00 | 0x0200 | UInt16(truncatingIfNeeded: mantissa >> 13)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            if halfExponent < -10 { return sign }
            let significand = mantissa | 0x0080_0000
            let shift = UInt32(14 - halfExponent)
            var half = significand >> shift
            let remainder = significand & ((1 << shift) - 1)
            let halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }  // may carry into inf
        return sign | UInt16(half)
    }

    /// Rounds a Float32 to the nearest bfloat16 (ties to even; NaN stays NaN).
    package static func bf16Bits(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(bits >> 16) | 0x0040 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
