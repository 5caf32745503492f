import ArgumentParser
import CXRDecoding
import CXRKit
import CXRModel
import CXRSupport

/// Decoding options shared by `caption` and `eval` (beam width and result count differ between them).
///
/// The model's recommended settings (its `generation` metadata, docs/WEIGHTS.md) are the defaults of the
/// options they name unless `--no-model-defaults` is given; an option given on the command line always wins.
/// Without either, the defaults are the library's: the published plain beam search.
struct DecodingOptions: ParsableArguments {
    @Option(help: "Longest impression in tokens, counting <end>. (default: the model's, else 60)")
    var maxTokens: Int?

    @Option(help: "Length penalty alpha for ranking ((5+len)/6)^alpha, \(Int(GenerationParameters.lengthPenaltyRange.lowerBound))...\(Int(GenerationParameters.lengthPenaltyRange.upperBound)); 0 = off. (default: the model's, else 0)")
    var lengthPenalty: Double?

    @Flag(inversion: .prefixedNo, help: "Never emit the unknown-word token <nou>. (default: the model's, else off)")
    var suppressUnknown: Bool?

    @Option(name: .customLong("no-repeat-ngram"),
            help: "n >= 1: no n-gram occurs twice in an impression (Hugging Face's no_repeat_ngram_size); 0 = off, \(GenerationParameters.noRepeatNgramSizeRange.lowerBound)...\(GenerationParameters.noRepeatNgramSizeRange.upperBound). (default: the model's, else 0)")
    var noRepeatNgram: Int?

    @Flag(inversion: .prefixedNo, help: "Impressions whose texts differ after ignoring case, whitespace and punctuation, searching with up to --distinct-extra-beam more beams to find them (docs/DECODING.md, rule 7). (default: the model's, else off)")
    var distinct: Bool?

    @Option(help: "Beams the --distinct search may add to the beam width, \(GenerationParameters.distinctExtraBeamRange.lowerBound)...\(GenerationParameters.distinctExtraBeamRange.upperBound). (default: the model's, else \(GenerationParameters().distinctExtraBeam))")
    var distinctExtraBeam: Int?

    @Flag(help: "Ignore the decoding settings the model recommends (its generation metadata): plain beam search unless options say otherwise.")
    var noModelDefaults = false

    @Option(help: "Threads per image (0 = all cores).")
    var threads: Int = 0

    /// The options that set the parameters the core's messages name (`CXRError.arguments`).
    static let optionNames = [
        "beamWidth": "--beam", "maxResults": "--results", "maxTokens": "--max-tokens",
        "lengthPenalty": "--length-penalty", "threads": "--threads", "noRepeatNgramSize": "--no-repeat-ngram",
        "distinctExtraBeam": "--distinct-extra-beam",
    ]

    /// Parameters with the options given and the given beam width, result count and attention choice, over
    /// the library's defaults (no model yet), validated by the core; its message names the option
    /// (`resultsOption` for the result count). `applyingModelDefaults` adds the model's settings.
    func parameters(beamWidth: Int, maxResults: Int, returnAttention: Bool,
                    resultsOption: String = "--results") throws -> GenerationParameters {
        var parameters = GenerationParameters()
        parameters.beamWidth = beamWidth
        parameters.maxResults = maxResults
        parameters.threads = threads
        parameters.returnAttention = returnAttention
        parameters = parameters.applying(given)
        try validate(parameters, resultsOption: resultsOption)
        return parameters
    }

    /// `parameters` (from `parameters(...)`) with the model's recommended settings for every option not
    /// given, unless `--no-model-defaults`.
    func applyingModelDefaults(to parameters: GenerationParameters, of model: CaptionModel,
                               resultsOption: String = "--results") throws -> GenerationParameters {
        guard !noModelDefaults else { return parameters }
        let combined = parameters.applying(model.recommendedGeneration).applying(given)
        try validate(combined, resultsOption: resultsOption)
        return combined
    }

    /// The settings given on the command line, as `GenerationParameters.applying` takes them.
    private var given: RecommendedGeneration {
        var given = RecommendedGeneration()
        given.maxTokens = maxTokens
        given.lengthPenalty = lengthPenalty
        given.suppressUnknown = suppressUnknown
        given.noRepeatNgramSize = noRepeatNgram
        given.distinctResults = distinct
        given.distinctExtraBeam = distinctExtraBeam
        return given
    }

    private func validate(_ parameters: GenerationParameters, resultsOption: String) throws {
        do {
            try parameters.validate()
        } catch let error as CXRError {
            var names = Self.optionNames
            names["maxResults"] = resultsOption
            throw error.renamingArguments { names[$0] }
        }
    }
}
