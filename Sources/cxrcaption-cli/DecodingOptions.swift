import ArgumentParser
import CXRDecoding

/// Decoding options shared by `caption` and `eval` (beam width and result count differ between them).
struct DecodingOptions: ParsableArguments {
    @Option(help: "Longest impression in tokens, counting <end>.")
    var maxTokens: Int = 60

    @Option(help: "Length penalty alpha for ranking ((5+len)/6)^alpha, 0...100; 0 = off.")
    var lengthPenalty: Double = 0

    @Flag(help: "Never emit the unknown-word token <nou>.")
    var suppressUnknown = false

    @Option(help: "Threads per image (0 = all cores).")
    var threads: Int = 0

    /// Parameters with these options and the given beam width, result count and attention choice, validated.
    func parameters(beamWidth: Int, maxResults: Int, returnAttention: Bool) throws -> GenerationParameters {
        var parameters = GenerationParameters()
        parameters.beamWidth = beamWidth
        parameters.maxResults = maxResults
        parameters.maxTokens = maxTokens
        parameters.lengthPenalty = lengthPenalty
        parameters.suppressUnknown = suppressUnknown
        parameters.threads = threads
        parameters.returnAttention = returnAttention
        try parameters.validate()
        return parameters
    }
}
