extension GenerationParameters {
    /// The beam widths a search accepts.
    public static let beamWidthRange = 1...64
    /// The sentence lengths (tokens, counting `<end>`) a search accepts.
    public static let maxTokensRange = 1...1024
    /// The length penalties (alpha) a search accepts; larger values only overflow the ranking score.
    public static let lengthPenaltyRange: ClosedRange<Double> = 0...100

    /// Throws `invalidArgument`, naming the offending value, unless every parameter is in range:
    /// beam width 1...64, results 1...beamWidth, max tokens 1...1024, length penalty 0...100,
    /// threads >= 0.
    public func validate() throws {
        guard Self.beamWidthRange.contains(beamWidth) else {
            throw CXRError.invalidArgument("beam width \(beamWidth) is outside 1...64")
        }
        guard maxResults >= 1, maxResults <= beamWidth else {
            throw CXRError.invalidArgument("max results \(maxResults) is outside 1...\(beamWidth) (the beam width)")
        }
        guard Self.maxTokensRange.contains(maxTokens) else {
            throw CXRError.invalidArgument("max tokens \(maxTokens) is outside 1...1024")
        }
        guard Self.lengthPenaltyRange.contains(lengthPenalty) else {
            throw CXRError.invalidArgument("length penalty \(lengthPenalty) is outside 0...100")
        }
        guard threads >= 0 else {
            throw CXRError.invalidArgument("threads \(threads) is negative (0 means all cores)")
        }
    }
}
