// libFuzzer target: image intake, captioning and findings through the C API.
//
// The bytes choose every cxr_image field (format, sizes, row_bytes, bits_stored, photometric, modality LUT,
// window; struct_size too), every cxr_generate_params field (an abort callback that fires after a chosen
// number of polls included; the no-repeat n-gram size and the distinct search too), and the pixels. The pixel buffer is allocated exactly as large as the image
// claims, so AddressSanitizer catches a read past it. Every call must return CXR_OK with results that keep
// the header's promises (counts, finite log-probs <= 0, descending scores, token ids in range, attention rows
// summing to 1, no repeated n-gram under no_repeat_ngram_size, cxr_result_distinct 0 or 1 and 0 when fewer than
// max_results came back, probabilities in [0, 1]) or an error status with a message and no results.
// One model (CXR_FUZZ_MODEL, default the golden test model) and one session serve every input, so state
// left behind by one call meets the next.
#include "cxrcaption.h"
#include "fuzz_support.h"

static cxr_model *model;
static cxr_session *session;
static struct cxr_model_info info;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *path = fuzz_env("CXR_FUZZ_MODEL", "Tests/CXRKitTests/Fixtures/golden/model.safetensors");
    if (cxr_model_load(path, &model) != CXR_OK || cxr_session_create(model, &session) != CXR_OK) {
        fprintf(stderr, "fuzz: cannot load %s: %s (set CXR_FUZZ_MODEL)\n", path, cxr_last_error());
        exit(2);
    }
    cxr_model_info_init(&info, sizeof info);
    cxr_model_info(model, &info);
    return 0;
}

typedef struct {
    int polls_left;
} abort_state;

static int abort_after_polls(void *user_data) {
    abort_state *state = (abort_state *)user_data;
    return state->polls_left-- <= 0;
}

static size_t bytes_per_pixel(int32_t format) {
    switch (format) {
    case CXR_PIXEL_GRAY8: return 1;
    case CXR_PIXEL_GRAY16: return 2;
    case CXR_PIXEL_GRAYF32: return 4;
    case CXR_PIXEL_RGB8: return 3;
    case CXR_PIXEL_RGBA8: return 4;
    default: return 1;
    }
}

/// A side: mostly 14 ..= 93 (around the 16-pixel minimum), sometimes an edge case.
static int32_t side(fuzz_bytes *bytes) {
    uint8_t selector = fuzz_u8(bytes);
    if (selector < 240) return CXR_MIN_IMAGE_SIDE - 2 + selector % 80;
    static const int32_t edges[] = {0, -1, 1, CXR_MIN_IMAGE_SIDE - 1, CXR_MAX_IMAGE_SIDE, CXR_MAX_IMAGE_SIDE + 1,
                                    INT32_MAX, INT32_MIN, 255, 256, 257, 1000, 2048, 4097, 8191, 16383};
    return edges[selector % (sizeof edges / sizeof edges[0])];
}

static void check_failure(cxr_status status, const char *call) {
    FUZZ_REQUIRE(status != CXR_E_INTERNAL, "%s: CXR_E_INTERNAL: %s", call, cxr_last_error());
    const char *message = cxr_last_error();
    FUZZ_REQUIRE(message && *message, "%s: status %d without a message", call, (int)status);
}

static void check_results(const cxr_generate_params *params) {
    int32_t count = -1;
    FUZZ_REQUIRE(cxr_result_count(session, &count) == CXR_OK, "cxr_result_count");
    int32_t most = params ? params->max_results : 3;
    FUZZ_REQUIRE(count >= 1 && count <= most, "%d results, max_results %d", count, most);
    int32_t max_tokens = params ? params->max_tokens : 60;
    int keep_attention = params ? params->return_attention != 0 : 1;
    double previous = INFINITY;
    for (int32_t index = 0; index < count; index++) {
        double log_prob = NAN, score = NAN;
        int32_t tokens = -1, truncated = -1;
        const int32_t *ids = NULL;
        const float *attention = NULL;
        const char *text = NULL;
        FUZZ_REQUIRE(cxr_result_log_prob(session, index, &log_prob) == CXR_OK, "log_prob");
        FUZZ_REQUIRE(cxr_result_score(session, index, &score) == CXR_OK, "score");
        FUZZ_REQUIRE(cxr_result_token_count(session, index, &tokens) == CXR_OK, "token_count");
        FUZZ_REQUIRE(cxr_result_truncated(session, index, &truncated) == CXR_OK, "truncated");
        FUZZ_REQUIRE(cxr_result_tokens(session, index, &ids) == CXR_OK, "tokens");
        FUZZ_REQUIRE(cxr_result_attention(session, index, &attention) == CXR_OK, "attention");
        FUZZ_REQUIRE(cxr_result_text(session, index, &text) == CXR_OK && text, "text");
        FUZZ_REQUIRE(isfinite(log_prob) && log_prob <= 0, "result %d: log_prob %g", index, log_prob);
        FUZZ_REQUIRE(isfinite(score) && score <= previous, "result %d: score %g after %g", index, score, previous);
        previous = score;
        FUZZ_REQUIRE(truncated == 0 || truncated == 1, "truncated %d", truncated);
        FUZZ_REQUIRE(tokens >= 0 && tokens <= max_tokens - (truncated ? 0 : 1), "%d tokens, max_tokens %d, truncated %d",
                     tokens, max_tokens, truncated);
        FUZZ_REQUIRE((tokens == 0) == (ids == NULL), "%d tokens, ids %p", tokens, (const void *)ids);
        for (int32_t t = 0; t < tokens; t++) FUZZ_REQUIRE(ids[t] >= 0 && ids[t] < info.vocab_size, "token id %d", ids[t]);
        FUZZ_REQUIRE((attention != NULL) == (keep_attention && tokens > 0), "attention %p, %d tokens, asked %d",
                     (const void *)attention, tokens, keep_attention);
        for (int32_t t = 0; attention && t < tokens; t++) {
            double sum = 0;
            for (int32_t r = 0; r < info.region_count; r++) {
                float weight = attention[t * info.region_count + r];
                FUZZ_REQUIRE(weight >= 0 && weight <= 1, "attention weight %g", weight);
                sum += weight;
            }
            FUZZ_REQUIRE(fabs(sum - 1) < 1e-4, "attention row %d sums to %.9g", t, sum);
        }
    }
    int32_t out_of_range = 0;
    FUZZ_REQUIRE(cxr_result_token_count(session, count, &out_of_range) == CXR_E_OUT_OF_RANGE, "index past the end");
    int32_t distinct = -1;
    FUZZ_REQUIRE(cxr_result_distinct(session, &distinct) == CXR_OK, "cxr_result_distinct");
    FUZZ_REQUIRE(distinct == 0 || distinct == 1, "cxr_result_distinct %d", distinct);
    FUZZ_REQUIRE(count == most || distinct == 0, "distinct %d with %d of %d results", distinct, count, most);
    // no_repeat_ngram_size n: no n-gram occurs twice in any result (docs/DECODING.md, rule 2a).
    // (Unless the model's recommended settings may have replaced it.)
    int32_t n = params && !params->use_model_defaults ? params->no_repeat_ngram_size : 0;
    for (int32_t index = 0; n >= 1 && index < count; index++) {
        int32_t tokens = 0;
        const int32_t *ids = NULL;
        FUZZ_REQUIRE(cxr_result_token_count(session, index, &tokens) == CXR_OK, "token_count");
        FUZZ_REQUIRE(cxr_result_tokens(session, index, &ids) == CXR_OK, "tokens");
        for (int32_t a = 0; a + n <= tokens; a++)
            for (int32_t b = a + 1; b + n <= tokens; b++)
                FUZZ_REQUIRE(memcmp(ids + a, ids + b, sizeof(int32_t) * (size_t)n) != 0,
                             "result %d repeats the %d-gram at %d at %d", index, n, a, b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bytes bytes = {data, size, 0};
    cxr_image image;
    cxr_image_init(&image, sizeof image);
    uint8_t format = fuzz_u8(&bytes);
    image.format = format < 250 ? 1 + format % 5 : (int32_t)(format % 8) - 1; // -1, 0 and 6 are invalid
    image.width = side(&bytes);
    image.height = side(&bytes);
    uint8_t rows = fuzz_u8(&bytes);
    uint8_t bits = fuzz_u8(&bytes);
    image.bits_stored = bits < 200 ? 1 + bits % 16 : (int32_t)(bits % 20) - 2;
    uint8_t photometric = fuzz_u8(&bytes);
    image.photometric = photometric < 250 ? photometric % 2 : (int32_t)(photometric % 4) - 1;
    image.rescale_slope = fuzz_u8(&bytes) < 160 ? 1.0 : fuzz_double(&bytes);
    image.rescale_intercept = fuzz_u8(&bytes) < 160 ? 0.0 : fuzz_double(&bytes);
    uint8_t window = fuzz_u8(&bytes);
    image.has_window = window < 128 ? 0 : window < 250 ? 1 : window % 3;
    if (image.has_window) {
        image.window_center = fuzz_double(&bytes);
        image.window_width = fuzz_double(&bytes);
    }
    uint8_t image_struct = fuzz_u8(&bytes);

    cxr_generate_params params;
    cxr_generate_params_init(&params, sizeof params);
    uint8_t beam = fuzz_u8(&bytes);
    params.beam_width = beam < 240 ? 1 + beam % 6 : (int32_t)(beam % 16) * 5 - 5; // -5 ..= 70
    uint8_t results = fuzz_u8(&bytes);
    params.max_results = results < 240 ? 1 + results % (params.beam_width > 0 ? params.beam_width : 1)
                                       : (int32_t)(results % 8) - 1;
    uint8_t tokens = fuzz_u8(&bytes);
    params.max_tokens = tokens < 240 ? 1 + tokens % 40 : (int32_t[]){0, -1, 1023, 1024, 1025, 200, 60, 2}[tokens % 8];
    params.length_penalty = fuzz_u8(&bytes) < 128 ? 0.0 : fuzz_double(&bytes);
    uint8_t flags = fuzz_u8(&bytes);
    params.suppress_unknown = flags & 1 ? (flags & 2 ? 1 : -7) : 0;
    params.return_attention = flags & 4 ? 0 : (flags & 8 ? 1 : 3);
    params.n_threads = flags & 16 ? (int32_t)(flags >> 5) - 1 : 1; // -1 ..= 6
    abort_state state = {0};
    uint8_t abort_polls = fuzz_u8(&bytes);
    if (abort_polls >= 200) {
        state.polls_left = abort_polls - 200;
        params.abort_callback = abort_after_polls;
        params.abort_user_data = &state;
    }
    uint8_t params_struct = fuzz_u8(&bytes);
    // Fields appended after 0.1.0: the no-repeat n-gram size, the distinct search, the model's defaults.
    uint8_t repetition = fuzz_u8(&bytes);
    params.no_repeat_ngram_size = repetition < 200 ? repetition % 5
                                                   : (int32_t[]){-1, CXR_MAX_TOKENS, CXR_MAX_TOKENS + 1, INT32_MIN, 60}[repetition % 5];
    uint8_t distinct = fuzz_u8(&bytes);
    params.distinct_results = distinct & 1 ? (distinct & 2 ? 1 : -3) : 0;
    params.distinct_extra_beam = distinct < 240 ? (distinct >> 2) % 12
                                                : (int32_t[]){-1, CXR_MAX_BEAM_WIDTH, CXR_MAX_BEAM_WIDTH + 1, 0}[distinct % 4];
    uint8_t model_defaults = fuzz_u8(&bytes);
    params.use_model_defaults = model_defaults < 128 ? 0 : model_defaults < 250 ? 1 : (int32_t)model_defaults - 260;

    // struct_size: almost always right; sometimes one the library must refuse.
    static const uint32_t wrong_sizes[] = {0, 4, 8, 12, 1u << 20};
    if (image_struct >= 250) image.struct_size = wrong_sizes[image_struct % 5];
    const cxr_generate_params *chosen = &params;
    if (params_struct >= 250) params.struct_size = wrong_sizes[params_struct % 5];
    else if (params_struct >= 240) chosen = NULL;
    // What the library reads: the caller's first struct_size bytes over the defaults (an older header's
    // smaller struct; the header's versioned-struct rule). The results are checked against that.
    cxr_generate_params effective;
    cxr_generate_params_init(&effective, sizeof effective);
    if (chosen && params.struct_size >= 8 && params.struct_size <= sizeof params && params.struct_size % 8 == 0)
        memcpy(&effective, &params, params.struct_size);

    // The pixel buffer, exactly as large as the image claims (when the claim is sane enough to allocate).
    size_t pixel = bytes_per_pixel(image.format);
    int sane = image.width > 0 && image.height > 0 && image.width <= CXR_MAX_IMAGE_SIDE && image.height <= CXR_MAX_IMAGE_SIDE;
    uint64_t packed = sane ? (uint64_t)image.width * pixel : 0;
    if (rows < 128) image.row_bytes = 0;
    else if (rows < 200) image.row_bytes = packed;
    else if (rows < 250) image.row_bytes = packed + rows % 13;
    else image.row_bytes = (uint64_t[]){1, packed - 1, packed ? packed * 2 : 1, UINT64_MAX, UINT64_MAX / 2, 1ull << 40}[rows % 6];
    uint64_t stride = image.row_bytes ? image.row_bytes : packed;
    size_t needed = 1;
    if (sane && stride >= packed) {
        if (stride > (64u << 20) / (uint64_t)image.height) return 0; // more than 64 MiB: not worth the time
        needed = (size_t)(stride * (uint64_t)(image.height - 1) + packed);
    }
    size_t rest_count = 0;
    const uint8_t *rest = fuzz_rest(&bytes, &rest_count);
    uint8_t *pixels = (uint8_t *)malloc(needed);
    if (!pixels) return 0;
    for (size_t i = 0; i < needed; i++) pixels[i] = rest_count ? rest[i % rest_count] : (uint8_t)(i * 31);
    if (image.format == CXR_PIXEL_GRAYF32 && (format & 1) && needed >= 4) {
        // Half the float images hold ordinary finite values rather than raw bit patterns.
        for (size_t i = 0; i + 4 <= needed; i += 4) {
            float value = (float)pixels[i] / 17.0f - 3.0f;
            memcpy(pixels + i, &value, 4);
        }
    }
    image.pixels = pixels;

    cxr_status status = cxr_generate(session, &image, chosen);
    if (status == CXR_OK) {
        check_results(chosen ? &effective : NULL);
    } else {
        check_failure(status, "cxr_generate");
        int32_t count = -1;
        FUZZ_REQUIRE(cxr_result_count(session, &count) == CXR_OK && count == 0, "%d results after a failure", count);
    }

    if (info.has_findings_head && (flags & 1)) {
        float probabilities[64];
        size_t count = info.label_count <= 64 ? (size_t)info.label_count : 64;
        if (abort_polls >= 200) state.polls_left = abort_polls - 200;
        status = cxr_findings(session, &image, chosen, probabilities, count);
        if (status == CXR_OK) {
            for (size_t i = 0; i < count; i++)
                FUZZ_REQUIRE(probabilities[i] >= 0 && probabilities[i] <= 1, "probability %g", probabilities[i]);
        } else {
            check_failure(status, "cxr_findings");
        }
    }
    if (flags & 2) {
        size_t out_size = (size_t)info.input_size * (size_t)info.input_size;
        uint8_t *out = (uint8_t *)malloc(out_size);
        if (out) {
            status = cxr_preprocess(session, &image, out, out_size - (flags & 128 ? 1 : 0));
            if (status != CXR_OK) check_failure(status, "cxr_preprocess");
            FUZZ_REQUIRE(!(flags & 128) || status == CXR_E_INVALID_ARGUMENT || status == CXR_E_INVALID_IMAGE ||
                             status == CXR_E_UNSUPPORTED_STRUCT_SIZE,
                         "cxr_preprocess into a short buffer gave %d", (int)status);
            free(out);
        }
    }
    free(pixels);
    return 0;
}
