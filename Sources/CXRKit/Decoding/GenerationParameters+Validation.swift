extension GenerationParameters {
    /// The beam widths a search accepts.
    public static let beamWidthRange = 1...64
    /// The sentence lengths (tokens, counting `<end>`) a search accepts.
    public static let maxTokensRange = 1...1024

    /// Throws `invalidArgument`, naming the offending value, unless every parameter is in range:
    /// beam width 1...64, results 1...beamWidth, max tokens 1...1024, length penalty finite and >= 0,
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
        guard lengthPenalty.isFinite, lengthPenalty >= 0 else {
            throw CXRError.invalidArgument("length penalty \(lengthPenalty) is not a finite number >= 0")
        }
        guard threads >= 0 else {
            throw CXRError.invalidArgument("threads \(threads) is negative (0 means all cores)")
        }
    }
}
