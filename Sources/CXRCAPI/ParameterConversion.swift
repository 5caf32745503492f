import CCXRCAPI
import CXRKit

/// Validated `cxr_generate_params`: the Swift parameters and the abort callback as a closure.
struct CallerParameters {
    let parameters: GenerationParameters
    let shouldAbort: (() -> Bool)?
}

extension CallerParameters {
    /// NULL means the defaults. Every range is checked here, before CXRKit sees the values.
    init(_ pointer: UnsafePointer<cxr_generate_params>?) throws {
        let params = try pointer.map {
            try VersionedStruct.read($0, defaults: Defaults.generateParams, "cxr_generate_params")
        } ?? Defaults.generateParams

        let maxBeam = Int32(CXR_MAX_BEAM_WIDTH)
        guard (1...maxBeam).contains(params.beam_width) else {
            throw CAPIFailure.invalidArgument("beam_width \(params.beam_width) is outside 1...\(maxBeam)")
        }
        guard (1...params.beam_width).contains(params.max_results) else {
            throw CAPIFailure.invalidArgument(
                "max_results \(params.max_results) is outside 1...beam_width (\(params.beam_width))")
        }
        let maxTokens = Int32(CXR_MAX_TOKENS)
        guard (1...maxTokens).contains(params.max_tokens) else {
            throw CAPIFailure.invalidArgument("max_tokens \(params.max_tokens) is outside 1...\(maxTokens)")
        }
        guard params.length_penalty.isFinite, params.length_penalty >= 0 else {
            throw CAPIFailure.invalidArgument("length_penalty \(params.length_penalty) is not a finite number >= 0")
        }
        guard params.n_threads >= 0 else {
            throw CAPIFailure.invalidArgument("n_threads \(params.n_threads) is negative (0 means all cores)")
        }

        var parameters = GenerationParameters()
        parameters.beamWidth = Int(params.beam_width)
        parameters.maxResults = Int(params.max_results)
        parameters.maxTokens = Int(params.max_tokens)
        parameters.lengthPenalty = params.length_penalty
        parameters.suppressUnknown = params.suppress_unknown != 0
        parameters.returnAttention = params.return_attention != 0
        parameters.threads = Int(params.n_threads)
        self.parameters = parameters
        if let callback = params.abort_callback {
            let userData = params.abort_user_data
            self.shouldAbort = { callback(userData) != 0 }
        } else {
            self.shouldAbort = nil
        }
    }
}
