/// exp, the logistic function and tanh as branch-free Float32 arithmetic, for the decoder's element-wise
/// loops: written as plain scalar code so that a loop over an array of them vectorizes (libm's calls
/// cost more there than the matrix products around them, and Swift's SIMD types turn the clamps below
/// into slow lane-by-lane selects).
///
/// - `exp`: Cephes' `expf` (range reduction by ln 2 in two parts, degree-5 polynomial), within 2 ulp of
///   libm for results between about 2⁻¹²⁶ and 2¹²⁷ (inputs up to 88.37); smaller results flush to zero and
///   inputs from 88.37 on give +infinity (libm is finite up to 88.72).
/// - `sigmoid`: 1 / (1 + exp(-x)), PyTorch's formula, on that exp.
/// - `tanh`: Eigen's rational approximation (`generic_fast_tanh_float`), within 1e-6 of the exact tanh.
///
/// NaN gives NaN.
enum FastActivations {
    /// e^x.
    @inline(__always)
    static func exp(_ value: Float) -> Float {
        let x = value < -88.3762626647949 ? -88.3762626647949 : (value > 88.3762626647950 ? 88.3762626647950 : value)
        // n = round(x / ln 2), by adding 1.5 · 2^23 (the sum's low mantissa bits then hold n, rounded to
        // nearest); r = x - n ln 2, with ln 2 split so that n · 0.693359375 is exact.
        let shifted = x * 1.44269504088896341 + roundingShift
        let n = shifted - roundingShift
        var r = x - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p: Float = 1.9875691500e-4
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let result = p * (r * r) + r + 1
        // 2^n from n's bits: n + 127 in the exponent field (-127 <= n <= 128 after clamping: n = -127 gives
        // 0, n = 128 infinity). NaN stays NaN through `result`.
        let integer = Int32(bitPattern: shifted.bitPattern) &- roundingShiftBits
        return result * Float(bitPattern: UInt32(bitPattern: (integer &+ 127) &<< 23))
    }

    /// 1.5 · 2^23 and its bit pattern: adding it to |v| < 2^22 rounds v to an integer held in the low bits.
    private static let roundingShift: Float = 12_582_912
    private static let roundingShiftBits: Int32 = 0x4B40_0000

    /// 1 / (1 + e^-x).
    @inline(__always)
    static func sigmoid(_ x: Float) -> Float {
        1 / (1 + exp(-x))
    }

    /// tanh: an odd degree-13 numerator over an even degree-6 denominator on the input clamped to [-9, 9].
    @inline(__always)
    static func tanh(_ value: Float) -> Float {
        let x = value < -9 ? -9 : (value > 9 ? 9 : value)
        let x2 = x * x
        var p: Float = -2.76076847742355e-16
        p = p * x2 + 2.00018790482477e-13
        p = p * x2 - 8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        p = p * x
        var q: Float = 1.19825839466702e-06
        q = q * x2 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        return p / q
    }
}
