import CXRKernels
import CXRModel
import CXRSupport
/// Options for one `generate` call (the C layer's `cxr_generate_params`).
public struct GenerationParameters: Equatable, Sendable {
    /// Beam width k, 1...64.
    public var beamWidth: Int = 3
    /// Completed hypotheses returned, 1...beamWidth.
    public var maxResults: Int = 3
    /// Longest sentence in tokens, counting `<end>`; 1...1024.
    public var maxTokens: Int = 60
    /// alpha in the length penalty ((5 + len) / 6)^alpha used to rank completed hypotheses; 0 = off.
    public var lengthPenalty: Double = 0
    /// Never emit `<nou>`.
    public var suppressUnknown: Bool = false
    /// Keep one attention map per emitted token.
    public var returnAttention: Bool = true
    /// Upper bound on threads for this call; 0 = all cores.
    public var threads: Int = 0

    public init() {}
}

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
