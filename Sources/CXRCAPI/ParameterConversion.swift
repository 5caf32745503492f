import CCXRCAPI
import CXRDecoding
import CXRKit

/// A caller's `cxr_generate_params` as the core takes it: the Swift parameters and the abort callback as a
/// closure. Only the struct is checked here (NULL means the defaults; `struct_size`); every range is the
/// core's (`GenerationParameters.validate`, run by the call).
struct CallerParameters {
    let parameters: GenerationParameters
    let shouldAbort: (() -> Bool)?
    /// `use_model_defaults`: apply the model's recommended settings (`CaptionModel.recommendedGeneration`).
    let useModelDefaults: Bool

    init(_ pointer: UnsafePointer<cxr_generate_params>?) throws {
        let params = try pointer.map {
            try VersionedStruct.read($0, defaults: Defaults.generateParams, "cxr_generate_params")
        } ?? Defaults.generateParams
        var parameters = GenerationParameters()
        parameters.beamWidth = Int(params.beam_width)
        parameters.maxResults = Int(params.max_results)
        parameters.maxTokens = Int(params.max_tokens)
        parameters.lengthPenalty = params.length_penalty
        parameters.suppressUnknown = params.suppress_unknown != 0
        parameters.returnAttention = params.return_attention != 0
        parameters.threads = Int(params.n_threads)
        parameters.noRepeatNgramSize = Int(params.no_repeat_ngram_size)
        parameters.distinctResults = params.distinct_results != 0
        parameters.distinctExtraBeam = Int(params.distinct_extra_beam)
        useModelDefaults = params.use_model_defaults != 0
        self.parameters = parameters
        if let callback = params.abort_callback {
            let userData = params.abort_user_data
            shouldAbort = { callback(userData) != 0 }
        } else {
            shouldAbort = nil
        }
    }

    /// The parameters a call on `model` runs with: the model's recommended settings applied when asked for.
    func parameters(for model: CaptionModel) -> GenerationParameters {
        useModelDefaults ? parameters.applying(model.recommendedGeneration) : parameters
    }
}
