import CVectorKernels

/// Additive (Bahdanau) attention scores: score_r = w · tanh(q + k_r) for every key r, for several queries.
package enum AdditiveAttention {
    /// `scores[i * regions + r] = sum_d weights[d] · tanh(queries[i * width + d] + keys[d * regions + r])`
    /// for each of `queryCount` queries and the regions r in `regionRange` (of 0..<`regions`); the keys are
    /// channel-major, [width, regions]. Each score is one sum over d in order, whatever the range
    /// (`cvk_attention_scores`: tanh within 1e-6 of the exact tanh).
    package static func scores(queries: UnsafePointer<Float>, queryCount: Int, keys: UnsafePointer<Float>, regions: Int,
                       weights: UnsafePointer<Float>, width: Int, regionRange: Range<Int>,
                       into scores: UnsafeMutablePointer<Float>, level: VectorLevel = .best) {
        precondition(regionRange.lowerBound >= 0 && regionRange.upperBound <= regions,
                     "attention regions \(regionRange) of \(regions)")
        cvk_attention_scores(level.cLevel, queries, queryCount, keys, regions, weights, width,
                             regionRange.lowerBound, regionRange.count, scores)
    }
}
