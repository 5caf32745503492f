import Glibc

/// One partial or completed sentence of a beam search.
struct Hypothesis {
    /// Emitted tokens, without `<start>` and `<end>`.
    var tokens: [Int] = []
    /// Sum of the emitted tokens' log-probabilities (`<end>`'s included once emitted), in float64.
    var logProbability: Double = 0
    /// One row of R attention weights per emitted token (empty when attention is not kept).
    var attention: [Float] = []
    /// Whether `<end>` was emitted.
    var ended = false
    /// Whether the search stopped at max_tokens before `<end>`.
    var truncated = false

    /// Tokens counted by the length penalty: the emitted ones, plus `<end>` when emitted.
    var length: Int { tokens.count + (ended ? 1 : 0) }

    /// logProbability / ((5 + length) / 6)^alpha (docs/DECODING.md, rule 6).
    func score(lengthPenalty alpha: Double) -> Double {
        logProbability / pow((5 + Double(length)) / 6, alpha)
    }
}
