import CCXRCAPI
import CXRDecoding

/// The defaults the `*_init` functions write and that fill the fields a smaller (older) struct lacks.
enum Defaults {
    static var image: cxr_image {
        var image = cxr_image()
        image.struct_size = UInt32(MemoryLayout<cxr_image>.size)
        image.format = Int32(CXR_PIXEL_GRAY8.rawValue)
        image.pixels = nil
        image.width = 0
        image.height = 0
        image.row_bytes = 0
        image.bits_stored = 16
        image.photometric = Int32(CXR_MONOCHROME2.rawValue)
        image.rescale_slope = 1
        image.rescale_intercept = 0
        image.has_window = 0
        image.window_center = 0
        image.window_width = 0
        return image
    }

    static var generateParams: cxr_generate_params {
        let swift = GenerationParameters()
        var params = cxr_generate_params()
        params.struct_size = UInt32(MemoryLayout<cxr_generate_params>.size)
        params.beam_width = Int32(swift.beamWidth)
        params.max_results = Int32(swift.maxResults)
        params.max_tokens = Int32(swift.maxTokens)
        params.length_penalty = swift.lengthPenalty
        params.suppress_unknown = swift.suppressUnknown ? 1 : 0
        params.return_attention = swift.returnAttention ? 1 : 0
        params.n_threads = Int32(swift.threads)
        params.abort_callback = nil
        params.abort_user_data = nil
        params.no_repeat_ngram_size = Int32(swift.noRepeatNgramSize)
        params.distinct_results = swift.distinctResults ? 1 : 0
        params.distinct_extra_beam = Int32(swift.distinctExtraBeam)
        params.use_model_defaults = 0
        return params
    }

    static var modelInfo: cxr_model_info {
        var info = cxr_model_info()
        info.struct_size = UInt32(MemoryLayout<cxr_model_info>.size)
        return info
    }
}
