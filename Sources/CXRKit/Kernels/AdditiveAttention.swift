import CVectorKernels

/// Additive (Bahdanau) attention scores: score_r = w · tanh(q + k_r) for every key row r.
enum AdditiveAttention {
    /// `scores[r] = sum_d weights[d] · tanh(query[d] + keys[r * width + d])` for r in 0..<`rows`
    /// (`cvk_attention_scores`: tanh within 1e-6 of the exact tanh; the sum over d in 16 partial sums).
    static func scores(query: UnsafePointer<Float>, keys: UnsafePointer<Float>, weights: UnsafePointer<Float>,
                       width: Int, rows: Int, into scores: UnsafeMutablePointer<Float>,
                       level: VectorLevel = .best) {
        cvk_attention_scores(level.cLevel, query, keys, weights, width, rows, scores)
    }
}
