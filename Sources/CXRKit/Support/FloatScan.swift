/// Scans of Float32 arrays for values that must not be there (weights at load, activations after a stage).
package enum FloatScan {
    /// The index of the first value that is infinite or NaN, if any.
    package static func firstNonFinite(_ values: UnsafeBufferPointer<Float>) -> Int? {
        firstOutside(magnitude: .greatestFiniteMagnitude, values)
    }

    /// The index of the first value whose magnitude exceeds `bound` (>= 0), NaN and infinities included, if
    /// any. The scan for "any" is branch-free integer arithmetic eight values at a time: with the sign bit
    /// cleared, a float's bit pattern orders as its magnitude does, and infinity and NaN order above every
    /// finite value. Only a tensor with such a value pays for finding which.
    package static func firstOutside(magnitude bound: Float, _ values: UnsafeBufferPointer<Float>) -> Int? {
        precondition(bound >= 0, "magnitude bound \(bound)")
        typealias Lanes = SIMD8<UInt32>
        let magnitude = Lanes(repeating: 0x7FFF_FFFF)
        var largest = Lanes()
        var index = 0
        if let base = values.baseAddress {
            let raw = UnsafeRawPointer(base)
            while index + 8 <= values.count {
                largest = pointwiseMax(largest, raw.loadUnaligned(fromByteOffset: index * 4, as: Lanes.self) & magnitude)
                index += 8
            }
        }
        var top = largest.max()
        for tail in index..<values.count { top = max(top, values[tail].bitPattern & 0x7FFF_FFFF) }
        guard top > bound.bitPattern else { return nil }
        return values.firstIndex { !(abs($0) <= bound) }
    }
}
