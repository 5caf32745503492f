/* header_check.c: compiled (not run) as C99 with -Wall -Wextra -Werror -pedantic and as C++17, to prove that
 * include/cxrcaption.h is valid in both languages, and to pin the ABI layout of the versioned structs: every
 * 8-byte boundary starts a field (the struct_size rule), and the offsets below never change once released. */
#include "cxrcaption.h"

#include <stddef.h>

#define CXR_CHECK(name, condition) typedef char cxr_check_##name[(condition) ? 1 : -1]

CXR_CHECK(abi_version, CXR_ABI_VERSION == 1);
CXR_CHECK(pointer_size, sizeof(void *) == 8);

CXR_CHECK(image_size, sizeof(cxr_image) == 80);
CXR_CHECK(image_format, offsetof(cxr_image, format) == 4);
CXR_CHECK(image_pixels, offsetof(cxr_image, pixels) == 8);
CXR_CHECK(image_width, offsetof(cxr_image, width) == 16);
CXR_CHECK(image_height, offsetof(cxr_image, height) == 20);
CXR_CHECK(image_row_bytes, offsetof(cxr_image, row_bytes) == 24);
CXR_CHECK(image_bits_stored, offsetof(cxr_image, bits_stored) == 32);
CXR_CHECK(image_photometric, offsetof(cxr_image, photometric) == 36);
CXR_CHECK(image_rescale_slope, offsetof(cxr_image, rescale_slope) == 40);
CXR_CHECK(image_rescale_intercept, offsetof(cxr_image, rescale_intercept) == 48);
CXR_CHECK(image_has_window, offsetof(cxr_image, has_window) == 56);
CXR_CHECK(image_window_center, offsetof(cxr_image, window_center) == 64);
CXR_CHECK(image_window_width, offsetof(cxr_image, window_width) == 72);

CXR_CHECK(params_size, sizeof(cxr_generate_params) == 72);
CXR_CHECK(params_beam_width, offsetof(cxr_generate_params, beam_width) == 4);
CXR_CHECK(params_max_results, offsetof(cxr_generate_params, max_results) == 8);
CXR_CHECK(params_max_tokens, offsetof(cxr_generate_params, max_tokens) == 12);
CXR_CHECK(params_length_penalty, offsetof(cxr_generate_params, length_penalty) == 16);
CXR_CHECK(params_suppress_unknown, offsetof(cxr_generate_params, suppress_unknown) == 24);
CXR_CHECK(params_return_attention, offsetof(cxr_generate_params, return_attention) == 28);
CXR_CHECK(params_n_threads, offsetof(cxr_generate_params, n_threads) == 32);
CXR_CHECK(params_abort_callback, offsetof(cxr_generate_params, abort_callback) == 40);
CXR_CHECK(params_abort_user_data, offsetof(cxr_generate_params, abort_user_data) == 48);
/* appended after 0.1.0 (whose struct ends at 56) */
CXR_CHECK(params_no_repeat_ngram_size, offsetof(cxr_generate_params, no_repeat_ngram_size) == 56);
CXR_CHECK(params_distinct_results, offsetof(cxr_generate_params, distinct_results) == 60);
CXR_CHECK(params_distinct_extra_beam, offsetof(cxr_generate_params, distinct_extra_beam) == 64);
CXR_CHECK(params_use_model_defaults, offsetof(cxr_generate_params, use_model_defaults) == 68);

CXR_CHECK(info_size, sizeof(struct cxr_model_info) == 48);
CXR_CHECK(info_format_version, offsetof(struct cxr_model_info, format_version) == 4);
CXR_CHECK(info_vocab_size, offsetof(struct cxr_model_info, vocab_size) == 8);
CXR_CHECK(info_unknown_token_id, offsetof(struct cxr_model_info, unknown_token_id) == 44);

CXR_CHECK(status_ok_is_zero, CXR_OK == 0);

/* Every entry point, taken by address with its declared type (a signature change breaks this file). */
typedef struct {
    uint32_t (*abi_version)(void);
    const char *(*version)(void);
    const char *(*status_string)(cxr_status);
    const char *(*last_error)(void);
    cxr_status (*model_load)(const char *, cxr_model **);
    cxr_status (*model_load_from_memory)(const void *, size_t, cxr_model **);
    void (*model_free)(cxr_model *);
    cxr_status (*model_info_init)(struct cxr_model_info *, uint32_t);
    cxr_status (*model_info)(const cxr_model *, struct cxr_model_info *);
    cxr_status (*model_label)(const cxr_model *, int32_t, const char **);
    cxr_status (*model_token)(const cxr_model *, int32_t, const char **);
    cxr_status (*model_metadata)(const cxr_model *, const char *, const char **);
    cxr_status (*image_init)(cxr_image *, uint32_t);
    cxr_status (*generate_params_init)(cxr_generate_params *, uint32_t);
    cxr_status (*session_create)(cxr_model *, cxr_session **);
    void (*session_free)(cxr_session *);
    cxr_status (*generate)(cxr_session *, const cxr_image *, const cxr_generate_params *);
    cxr_status (*preprocess)(cxr_session *, const cxr_image *, uint8_t *, size_t);
    cxr_status (*findings)(cxr_session *, const cxr_image *, const cxr_generate_params *, float *, size_t);
    cxr_status (*result_count)(const cxr_session *, int32_t *);
    cxr_status (*result_text)(const cxr_session *, int32_t, const char **);
    cxr_status (*result_log_prob)(const cxr_session *, int32_t, double *);
    cxr_status (*result_score)(const cxr_session *, int32_t, double *);
    cxr_status (*result_truncated)(const cxr_session *, int32_t, int32_t *);
    cxr_status (*result_token_count)(const cxr_session *, int32_t, int32_t *);
    cxr_status (*result_tokens)(const cxr_session *, int32_t, const int32_t **);
    cxr_status (*result_attention)(const cxr_session *, int32_t, const float **);
    cxr_status (*result_distinct)(const cxr_session *, int32_t *);
} cxr_entry_points;

const cxr_entry_points cxr_header_check_entry_points = {
    cxr_abi_version, cxr_version, cxr_status_string, cxr_last_error,
    cxr_model_load, cxr_model_load_from_memory, cxr_model_free, cxr_model_info_init, cxr_model_info,
    cxr_model_label, cxr_model_token, cxr_model_metadata, cxr_image_init, cxr_generate_params_init,
    cxr_session_create, cxr_session_free, cxr_generate, cxr_preprocess, cxr_findings,
    cxr_result_count, cxr_result_text, cxr_result_log_prob, cxr_result_score, cxr_result_truncated,
    cxr_result_token_count, cxr_result_tokens, cxr_result_attention, cxr_result_distinct,
};
