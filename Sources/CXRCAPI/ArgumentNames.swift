/// The C API's names for the Swift fields the core's messages name (`CXRError.arguments`): the core says
/// `image rowBytes 100 is less than ...`, a C caller reads `image row_bytes 100 is less than ...`.
enum ArgumentNames {
    static let cName: [String: String] = [
        // cxr_image
        "rowBytes": "row_bytes",
        "bitsStored": "bits_stored",
        "rescaleSlope": "rescale_slope",
        "rescaleIntercept": "rescale_intercept",
        "window.center": "window_center",
        "window.width": "window_width",
        // cxr_generate_params
        "beamWidth": "beam_width",
        "maxResults": "max_results",
        "maxTokens": "max_tokens",
        "lengthPenalty": "length_penalty",
        "noRepeatNgramSize": "no_repeat_ngram_size",
        "distinctExtraBeam": "distinct_extra_beam",
        "threads": "n_threads",
    ]
}
