import CXRModel

import CXRSupport

extension GenerationParameters {
    /// The beam widths a search accepts: up to the rows one decoder step runs.
    public static let beamWidthRange = 1...AttentionDecoder.maximumRows
    /// The sentence lengths (tokens, counting `<end>`) a search accepts.
    public static let maxTokensRange = 1...1024
    /// The length penalties (alpha) a search accepts; larger values only overflow the ranking score.
    public static let lengthPenaltyRange: ClosedRange<Double> = 0...100
    /// The no-repeat n-gram sizes a search accepts (0 = off); an n-gram never outgrows a sentence.
    public static let noRepeatNgramSizeRange = 0...maxTokensRange.upperBound
    /// The extra beams a distinct search may add.
    public static let distinctExtraBeamRange = 0...beamWidthRange.upperBound

    /// Throws `invalidArgument`, naming the offending parameter and value, unless every parameter is in
    /// range: `beamWidthRange`, results 1...beamWidth, `maxTokensRange`, `lengthPenaltyRange` (NaN is
    /// outside), `noRepeatNgramSizeRange`, `distinctExtraBeamRange`, threads >= 0.
    public func validate() throws {
        guard Self.beamWidthRange.contains(beamWidth) else {
            throw CXRError.invalidArgument("beamWidth \(beamWidth) is outside \(Self.describe(Self.beamWidthRange))",
                                           argument: "beamWidth")
        }
        guard maxResults >= 1, maxResults <= beamWidth else {
            throw CXRError.invalidArgument("maxResults \(maxResults) is outside 1...\(beamWidth) (the beam width)",
                                           argument: "maxResults")
        }
        guard Self.maxTokensRange.contains(maxTokens) else {
            throw CXRError.invalidArgument("maxTokens \(maxTokens) is outside \(Self.describe(Self.maxTokensRange))",
                                           argument: "maxTokens")
        }
        guard Self.lengthPenaltyRange.contains(lengthPenalty) else {
            throw CXRError.invalidArgument(
                "lengthPenalty \(lengthPenalty) is outside \(Self.describe(Self.lengthPenaltyRange))",
                argument: "lengthPenalty")
        }
        guard Self.noRepeatNgramSizeRange.contains(noRepeatNgramSize) else {
            throw CXRError.invalidArgument(
                "noRepeatNgramSize \(noRepeatNgramSize) is outside \(Self.describe(Self.noRepeatNgramSizeRange)) (0 = off)",
                argument: "noRepeatNgramSize")
        }
        guard Self.distinctExtraBeamRange.contains(distinctExtraBeam) else {
            throw CXRError.invalidArgument(
                "distinctExtraBeam \(distinctExtraBeam) is outside \(Self.describe(Self.distinctExtraBeamRange))",
                argument: "distinctExtraBeam")
        }
        try Self.validate(threads: threads)
    }

    /// Throws `invalidArgument` unless `threads` >= 0 (0 means all cores).
    public static func validate(threads: Int) throws {
        guard threads >= 0 else {
            throw CXRError.invalidArgument("threads \(threads) is negative (0 means all cores)", argument: "threads")
        }
    }

    private static func describe(_ range: ClosedRange<Int>) -> String { "\(range.lowerBound)...\(range.upperBound)" }

    /// `0...100` for whole bounds, as the header writes them.
    private static func describe(_ range: ClosedRange<Double>) -> String {
        func text(_ value: Double) -> String { value == value.rounded() ? String(Int(value)) : String(value) }
        return "\(text(range.lowerBound))...\(text(range.upperBound))"
    }
}
