/// One ranked impression.
public struct Caption: Equatable, Sendable {
    /// UTF-8 text, tokens joined by the model's join rule.
    public var text: String
    /// Emitted token ids, without `<start>` and `<end>`.
    public var tokens: [Int]
    /// Sum of the log-probabilities of the emitted tokens, `<end>` included when it was emitted.
    public var logProbability: Double
    /// The ranking score: logProbability / ((5 + n) / 6)^alpha, n = emitted tokens counting `<end>`.
    public var score: Double
    /// True when max_tokens was reached before `<end>`.
    public var truncated: Bool
    /// tokens.count x regionCount attention weights (row-major; region r = y * grid + x), or empty when
    /// attention was not requested.
    public var attention: [Float]
}
