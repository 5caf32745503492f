// libFuzzer target: the model parser, through cxr_model_load_from_memory.
//
// Any bytes must give either CXR_OK and a usable model, or an error status with a message; never a crash, a
// sanitizer report or a leak. A model that loads must describe itself consistently and caption a small image
// with finite results or refuse it with CXR_E_INVALID_MODEL (weights that overflow Float32).
// Seeds: Tests/fuzz/corpus/model_load (small valid models, F32/F16/BF16); dictionary: model_load.dict.
#include "cxrcaption.h"
#include "fuzz_support.h"

static void check_error_message(cxr_status status) {
    const char *message = cxr_last_error();
    FUZZ_REQUIRE(message && *message, "status %d (%s) without a message", (int)status, cxr_status_string(status));
}

/// A model that loaded: its info, labels and tokens agree, and it captions a 24 x 20 gradient.
static void exercise(cxr_model *model) {
    struct cxr_model_info info;
    FUZZ_REQUIRE(cxr_model_info_init(&info, sizeof info) == CXR_OK, "cxr_model_info_init");
    FUZZ_REQUIRE(cxr_model_info(model, &info) == CXR_OK, "cxr_model_info: %s", cxr_last_error());
    FUZZ_REQUIRE(info.vocab_size > 0, "vocab_size %d", info.vocab_size);
    FUZZ_REQUIRE(info.region_count == info.attention_grid * info.attention_grid, "regions %d, grid %d",
                 info.region_count, info.attention_grid);
    FUZZ_REQUIRE(info.input_size >= CXR_MIN_IMAGE_SIDE, "input_size %d", info.input_size);
    for (int32_t id = 0; id < info.vocab_size; id++) {
        const char *token = NULL;
        FUZZ_REQUIRE(cxr_model_token(model, id, &token) == CXR_OK && token, "token %d", id);
    }
    const char *none = NULL;
    FUZZ_REQUIRE(cxr_model_token(model, info.vocab_size, &none) == CXR_E_OUT_OF_RANGE, "token past the end");
    for (int32_t index = 0; index < info.label_count; index++) {
        const char *label = NULL;
        FUZZ_REQUIRE(cxr_model_label(model, index, &label) == CXR_OK && label, "label %d", index);
    }

    cxr_session *session = NULL;
    cxr_status status = cxr_session_create(model, &session);
    if (status != CXR_OK) {
        FUZZ_REQUIRE(status == CXR_E_OUT_OF_MEMORY, "cxr_session_create: %s", cxr_last_error());
        return;
    }
    uint8_t pixels[24 * 20];
    for (int i = 0; i < 24 * 20; i++) pixels[i] = (uint8_t)(i * 7);
    cxr_image image;
    cxr_image_init(&image, sizeof image);
    image.pixels = pixels;
    image.width = 24;
    image.height = 20;
    cxr_generate_params params;
    cxr_generate_params_init(&params, sizeof params);
    params.beam_width = 2;
    params.max_results = 2;
    params.max_tokens = 8;
    params.n_threads = 1;
    status = cxr_generate(session, &image, &params);
    if (status == CXR_OK) {
        int32_t count = 0;
        FUZZ_REQUIRE(cxr_result_count(session, &count) == CXR_OK && count >= 1 && count <= 2, "count %d", count);
        for (int32_t index = 0; index < count; index++) {
            double log_prob = 0, score = 0;
            const char *text = NULL;
            cxr_result_log_prob(session, index, &log_prob);
            cxr_result_score(session, index, &score);
            FUZZ_REQUIRE(isfinite(log_prob) && log_prob <= 0, "log_prob %g", log_prob);
            FUZZ_REQUIRE(isfinite(score), "score %g", score);
            FUZZ_REQUIRE(cxr_result_text(session, index, &text) == CXR_OK && text, "text");
        }
    } else {
        FUZZ_REQUIRE(status == CXR_E_INVALID_MODEL || status == CXR_E_OUT_OF_MEMORY, "cxr_generate: %d %s",
                     (int)status, cxr_last_error());
        check_error_message(status);
    }
    if (info.has_findings_head && info.label_count > 0) {
        float probabilities[4096];
        size_t count = info.label_count < 4096 ? (size_t)info.label_count : 4096;
        status = cxr_findings(session, &image, &params, probabilities, count);
        if (status == CXR_OK) {
            for (size_t i = 0; i < count; i++)
                FUZZ_REQUIRE(probabilities[i] >= 0 && probabilities[i] <= 1, "probability %g", probabilities[i]);
        } else if (count == (size_t)info.label_count) {
            FUZZ_REQUIRE(status == CXR_E_INVALID_MODEL || status == CXR_E_OUT_OF_MEMORY, "cxr_findings: %d %s",
                         (int)status, cxr_last_error());
        }
    }
    cxr_session_free(session);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cxr_model *model = (cxr_model *)(uintptr_t)1;
    cxr_status status = cxr_model_load_from_memory(data, size, &model);
    if (status == CXR_OK) {
        FUZZ_REQUIRE(model != NULL, "CXR_OK without a model");
        exercise(model);
        cxr_model_free(model);
    } else {
        FUZZ_REQUIRE(model == NULL, "a failed load left *out_model set");
        FUZZ_REQUIRE(status == CXR_E_INVALID_MODEL || status == CXR_E_OUT_OF_MEMORY ||
                         status == CXR_E_INVALID_ARGUMENT,
                     "load status %d", (int)status);
        check_error_message(status);
    }
    return 0;
}
