import CCXRCAPI
import CXRKit

/// Validated `cxr_generate_params`: the Swift parameters and the abort callback as a closure.
struct CallerParameters {
    let parameters: GenerationParameters
    let shouldAbort: (() -> Bool)?
}

extension CallerParameters {
    /// The parameters of `cxr_findings`, which uses only `n_threads` and the abort callback: only those are
    /// checked (a zeroed struct is fine); the search fields keep their defaults. NULL means the defaults.
    init(findings pointer: UnsafePointer<cxr_generate_params>?) throws {
        let params = try Self.read(pointer)
        guard params.n_threads >= 0 else {
            throw CAPIFailure.invalidArgument("n_threads \(params.n_threads) is negative (0 means all cores)")
        }
        var parameters = GenerationParameters()
        parameters.threads = Int(params.n_threads)
        self.parameters = parameters
        self.shouldAbort = Self.abortClosure(params)
    }

    private static func read(_ pointer: UnsafePointer<cxr_generate_params>?) throws -> cxr_generate_params {
        try pointer.map {
            try VersionedStruct.read($0, defaults: Defaults.generateParams, "cxr_generate_params")
        } ?? Defaults.generateParams
    }

    private static func abortClosure(_ params: cxr_generate_params) -> (() -> Bool)? {
        guard let callback = params.abort_callback else { return nil }
        let userData = params.abort_user_data
        return { callback(userData) != 0 }
    }

    /// NULL means the defaults. Every range is checked here, before CXRKit sees the values.
    init(_ pointer: UnsafePointer<cxr_generate_params>?) throws {
        let params = try Self.read(pointer)

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
        guard (0...CXR_MAX_LENGTH_PENALTY).contains(params.length_penalty) else {  // NaN fails too
            throw CAPIFailure.invalidArgument(
                "length_penalty \(params.length_penalty) is outside 0...\(CXR_MAX_LENGTH_PENALTY)")
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
        self.shouldAbort = Self.abortClosure(params)
    }
}
