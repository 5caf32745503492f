/// Additive (Bahdanau) attention scores: score_r = w · tanh(q + k_r) for every key row r.
enum AdditiveAttention {
    /// `scores[r] = sum_d weights[d] · tanh(query[d] + keys[r * width + d])` for r in 0..<`rows`.
    /// tanh: `FastActivations.tanh` (within 1e-6 of the exact tanh). `scratch` holds `width` floats.
    static func scores(query: UnsafePointer<Float>, keys: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                       width: Int, rows: Int, scratch: UnsafeMutablePointer<Float>,
                       into scores: UnsafeMutablePointer<Float>) {
        for row in 0..<rows {
            let key = keys + row * width
            // Two passes: this loop vectorizes (a float sum in the same loop would not: it may not be
            // reordered), then a dot product with eight partial sums.
            for index in 0..<width { scratch[index] = FastActivations.tanh(query[index] + key[index]) }
            scores[row] = dot(weights, UnsafePointer(scratch), count: width)
        }
    }

    /// sum_i x[i] · y[i], in eight partial sums.
    static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count: Int) -> Float {
        typealias Lanes = SIMD8<Float>
        var sum0 = Lanes(), sum1 = Lanes()
        var index = 0
        while index + 16 <= count {
            sum0 += load(x + index) * load(y + index)
            sum1 += load(x + index + 8) * load(y + index + 8)
            index += 16
        }
        var total = (sum0 + sum1).sum()
        for tail in index..<count { total += x[tail] * y[tail] }
        return total
    }

    @inline(__always)
    private static func load(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
    }
}
