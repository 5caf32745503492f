import CXRModel

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
    /// n >= 1: a token that would complete an n-gram already in the hypothesis is not a candidate (Hugging
    /// Face's `no_repeat_ngram_size`; docs/DECODING.md, rule 2a); 0 = off. In `noRepeatNgramSizeRange`.
    public var noRepeatNgramSize: Int = 0
    /// Return results whose normalized texts differ, widening the beam up to beamWidth + distinctExtraBeam
    /// to find maxResults of them (docs/DECODING.md, rule 7).
    public var distinctResults: Bool = false
    /// How far the distinct search may widen the beam beyond beamWidth (the widest search has at most
    /// `beamWidthRange.upperBound` beams); in `distinctExtraBeamRange`. Used only with distinctResults.
    public var distinctExtraBeam: Int = 9
    /// Keep one attention map per emitted token.
    public var returnAttention: Bool = true
    /// Upper bound on threads for this call; 0 = all cores.
    public var threads: Int = 0

    public init() {}
}

extension GenerationParameters {
    /// These parameters with every setting `recommended` names replaced by its value (what
    /// `use_model_defaults` does); the others, beam width and result count included, stay as they are.
    public func applying(_ recommended: RecommendedGeneration) -> GenerationParameters {
        var parameters = self
        if let value = recommended.maxTokens { parameters.maxTokens = value }
        if let value = recommended.lengthPenalty { parameters.lengthPenalty = value }
        if let value = recommended.suppressUnknown { parameters.suppressUnknown = value }
        if let value = recommended.noRepeatNgramSize { parameters.noRepeatNgramSize = value }
        if let value = recommended.distinctResults { parameters.distinctResults = value }
        if let value = recommended.distinctExtraBeam { parameters.distinctExtraBeam = value }
        return parameters
    }
}
