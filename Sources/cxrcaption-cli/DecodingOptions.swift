import ArgumentParser
import CXRDecoding
import CXRSupport

/// Decoding options shared by `caption` and `eval` (beam width and result count differ between them).
struct DecodingOptions: ParsableArguments {
    @Option(help: "Longest impression in tokens, counting <end>.")
    var maxTokens: Int = 60

    @Option(help: "Length penalty alpha for ranking ((5+len)/6)^alpha, \(Int(GenerationParameters.lengthPenaltyRange.lowerBound))...\(Int(GenerationParameters.lengthPenaltyRange.upperBound)); 0 = off.")
    var lengthPenalty: Double = 0

    @Flag(help: "Never emit the unknown-word token <nou>.")
    var suppressUnknown = false

    @Option(help: "Threads per image (0 = all cores).")
    var threads: Int = 0

    /// The options that set the parameters the core's messages name (`CXRError.arguments`).
    static let optionNames = [
        "beamWidth": "--beam", "maxResults": "--results", "maxTokens": "--max-tokens",
        "lengthPenalty": "--length-penalty", "threads": "--threads",
    ]

    /// Parameters with these options and the given beam width, result count and attention choice, validated
    /// by the core; its message names the option (`resultsOption` for the result count).
    func parameters(beamWidth: Int, maxResults: Int, returnAttention: Bool,
                    resultsOption: String = "--results") throws -> GenerationParameters {
        var parameters = GenerationParameters()
        parameters.beamWidth = beamWidth
        parameters.maxResults = maxResults
        parameters.maxTokens = maxTokens
        parameters.lengthPenalty = lengthPenalty
        parameters.suppressUnknown = suppressUnknown
        parameters.threads = threads
        parameters.returnAttention = returnAttention
        do {
            try parameters.validate()
        } catch let error as CXRError {
            var names = Self.optionNames
            names["maxResults"] = resultsOption
            throw error.renamingArguments { names[$0] }
        }
        return parameters
    }
}
