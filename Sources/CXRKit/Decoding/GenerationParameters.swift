/// Options for one `generate` call (the C layer's `cxr_generate_params`).
public struct GenerationParameters: Equatable, Sendable {
    /// Beam width k, in `beamWidthRange`.
    public var beamWidth: Int = 3
    /// Completed hypotheses returned, 1...beamWidth.
    public var maxResults: Int = 3
    /// Longest sentence in tokens, counting `<end>`; in `maxTokensRange`.
    public var maxTokens: Int = 60
    /// alpha in the length penalty ((5 + len) / 6)^alpha used to rank completed hypotheses, in
    /// `lengthPenaltyRange`; 0 = off.
    public var lengthPenalty: Double = 0
    /// Never emit `<nou>`.
    public var suppressUnknown: Bool = false
    /// Keep one attention map per emitted token.
    public var returnAttention: Bool = true
    /// Upper bound on threads for this call; 0 = all cores.
    public var threads: Int = 0

    public init() {}
}
