/* test_capi.c: tests libcxrcaption through its C header and the built .so only (not the Swift API).
 *
 *   test_capi MODEL.safetensors FIXTURE_DIR [REAL_CXR_DIR] [--dump FILE]
 *
 * MODEL is the golden small model; FIXTURE_DIR holds the PNG fixtures (Tests/c/fixtures); REAL_CXR_DIR, when
 * given and present, is ../shared/data/real-cxr (every PNG in its subfolders is captioned). --dump writes the
 * results for the fixtures in the canonical form that `cxrcaption-test-tool capi-parity` writes from the Swift
 * API, so that the test script can compare the two byte for byte.
 *
 * Prints one line per bad-input case and a closing "N passed, N failed" line; exits non-zero on any failure. */
#define _POSIX_C_SOURCE 200809L
#include "cxrcaption.h"
#include "png_reader.h"

#include <dirent.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------------------ */
/* Checking                                                                                               */
/* ------------------------------------------------------------------------------------------------------ */

/* Counted atomically: the concurrency test checks from several threads at once. */
static int passed, failed, bad_input_cases;
#define COUNT(counter) __atomic_fetch_add(&(counter), 1, __ATOMIC_RELAXED)

static void check_at(int ok, const char *file, int line, const char *format, ...) {
    if (ok) {
        COUNT(passed);
        return;
    }
    COUNT(failed);
    va_list args;
    va_start(args, format);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
}
#define CHECK(condition, ...) check_at((condition) ? 1 : 0, __FILE__, __LINE__, __VA_ARGS__)
#define REQUIRE(condition, ...)                                                                                \
    do {                                                                                                       \
        if (!(condition)) {                                                                                    \
            check_at(0, __FILE__, __LINE__, __VA_ARGS__);                                                      \
            fprintf(stderr, "cannot go on\n%d passed, %d failed\n", passed, failed);                           \
            exit(1);                                                                                           \
        }                                                                                                      \
    } while (0)
#define CHECK_OK(call) CHECK((call) == CXR_OK, "%s failed: %s", #call, cxr_last_error())

/* The last-error message persists until the next failure, so before each bad-input case a known failure
 * plants a marker; the case must replace it with its own non-empty message. */
static void plant_marker(void) {
    cxr_model *model = NULL;
    cxr_model_load("/nonexistent/cxr-test-marker", &model);
}

/* When set, the message of the next case must contain these words (it failed for the right reason). */
static const char *expected_words;

static void expect_case_at(const char *name, cxr_status got, cxr_status want, const char *file, int line) {
    const char *message = cxr_last_error();
    const char *words = expected_words;
    expected_words = NULL;
    bad_input_cases++;
    if (got != want) {
        check_at(0, file, line, "%s: status %d (%s), expected %d (%s); message: %s", name, (int)got,
                 cxr_status_string(got), (int)want, cxr_status_string(want), message);
    } else if (want != CXR_OK && (message == NULL || message[0] == '\0' || strstr(message, "cxr-test-marker"))) {
        check_at(0, file, line, "%s: %s without its own message (got \"%s\")", name, cxr_status_string(got),
                 message ? message : "(NULL)");
    } else if (want != CXR_OK && words != NULL && strstr(message, words) == NULL) {
        check_at(0, file, line, "%s: message \"%s\" does not mention \"%s\"", name, message, words);
    } else {
        COUNT(passed);
        printf("  ok  %-58s %-24s %s\n", name, cxr_status_string(got), want == CXR_OK ? "" : message);
    }
}
/* One row of a bad-input table: `call` must return `want` with a fresh, non-empty message (that contains
 * `expected_words` when the row sets them). */
#define CASE(name, want, call)                                                                                 \
    do {                                                                                                       \
        plant_marker();                                                                                        \
        cxr_status case_status_ = (call);                                                                      \
        expect_case_at((name), case_status_, (want), __FILE__, __LINE__);                                      \
    } while (0)

/* ------------------------------------------------------------------------------------------------------ */
/* Inputs                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct bytes {
    unsigned char *data;
    size_t size;
} bytes;

static bytes read_file(const char *path) {
    bytes result = {NULL, 0};
    FILE *file = fopen(path, "rb");
    REQUIRE(file != NULL, "cannot open %s", path);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    REQUIRE(size > 0, "cannot size %s", path);
    result.data = (unsigned char *)malloc((size_t)size);
    result.size = (size_t)size;
    REQUIRE(result.data && fread(result.data, 1, result.size, file) == result.size, "cannot read %s", path);
    fclose(file);
    return result;
}

static void write_file(const char *path, const void *data, size_t size) {
    FILE *file = fopen(path, "wb");
    REQUIRE(file != NULL, "cannot create %s", path);
    REQUIRE(size == 0 || fwrite(data, 1, size, file) == size, "cannot write %s", path);
    fclose(file);
}

/* The model file with the first occurrence of `old` in its JSON header replaced by `new_text` (the header
 * length rewritten, the tensor data unchanged): how the bad-model cases are made. */
static bytes model_with_header_edit(bytes model, const char *old, const char *new_text) {
    uint64_t header_length = 0;
    for (int i = 7; i >= 0; i--) header_length = (header_length << 8) | model.data[i];
    REQUIRE(8 + header_length <= model.size, "model header length");
    char *header = (char *)malloc(header_length + 1);
    memcpy(header, model.data + 8, header_length);
    header[header_length] = '\0';
    char *at = strstr(header, old);
    REQUIRE(at != NULL, "the model header has no \"%s\" to edit", old);
    size_t prefix = (size_t)(at - header), old_length = strlen(old), new_length = strlen(new_text);
    uint64_t edited_length = header_length - old_length + new_length;
    bytes result;
    result.size = model.size - header_length + edited_length;
    result.data = (unsigned char *)malloc(result.size);
    for (int i = 0; i < 8; i++) result.data[i] = (unsigned char)(edited_length >> (8 * i));
    unsigned char *out = result.data + 8;
    memcpy(out, header, prefix);
    memcpy(out + prefix, new_text, new_length);
    memcpy(out + prefix + new_length, at + old_length, header_length - prefix - old_length);
    memcpy(out + edited_length, model.data + 8 + header_length, model.size - 8 - header_length);
    free(header);
    return result;
}

static bytes copy_bytes(bytes source) {
    bytes result = {(unsigned char *)malloc(source.size), source.size};
    memcpy(result.data, source.data, source.size);
    return result;
}

/* A copy of an F32 model with `count` values (every value when count < 0) of each tensor whose name contains
 * `part` set to `value`: finite but huge weights, for the "finite results or an error" rows. */
static bytes model_with_values(bytes model, const char *part, float value, long count) {
    uint64_t header_length = 0;
    for (int i = 7; i >= 0; i--) header_length = (header_length << 8) | model.data[i];
    REQUIRE(8 + header_length <= model.size, "model header length");
    bytes result = copy_bytes(model);
    char *header = (char *)malloc(header_length + 1);
    memcpy(header, model.data + 8, header_length);
    header[header_length] = '\0';
    int changed = 0;
    for (char *name = strchr(header, '"'); name != NULL; name = strchr(name + 1, '"')) {
        char *end = strchr(name + 1, '"');
        if (end == NULL) break;
        char tensor[512];
        size_t length = (size_t)(end - name - 1);
        if (length >= sizeof tensor) length = sizeof tensor - 1;
        memcpy(tensor, name + 1, length);
        tensor[length] = '\0';
        if (strncmp(end, "\":{\"dtype\":\"F32\"", 16) == 0 && strstr(tensor, part) != NULL) {
            char *offsets = strstr(end, "\"data_offsets\":[");
            REQUIRE(offsets != NULL, "no data_offsets after a tensor name");
            char *after = NULL;
            unsigned long long first = strtoull(offsets + 16, &after, 10), last = strtoull(after + 1, NULL, 10);
            unsigned char *data = result.data + 8 + header_length + first;
            long values = (long)((last - first) / 4);
            for (long i = 0; i < values && (count < 0 || i < count); i++) memcpy(data + 4 * i, &value, 4);
            changed++;
        }
        name = end;
    }
    free(header);
    REQUIRE(changed > 0, "no F32 tensor named *%s* in the model", part);
    return result;
}

/* A decoded PNG and a cxr_image describing it. */
typedef struct test_image {
    char name[256];
    png_pixels png;
    cxr_image image;
} test_image;

static int load_test_image(const char *path, const char *name, test_image *out) {
    char error[256];
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", name);
    if (png_pixels_read(path, &out->png, error, sizeof error) != 0) {
        fprintf(stderr, "cannot read %s: %s\n", path, error);
        return -1;
    }
    cxr_image_init(&out->image, sizeof out->image);
    out->image.pixels = out->png.pixels;
    out->image.width = out->png.width;
    out->image.height = out->png.height;
    out->image.row_bytes = out->png.row_bytes;
    if (out->png.bit_depth == 16) {
        out->image.format = CXR_PIXEL_GRAY16;
        if (out->png.channels != 1) return -1; /* 16-bit color is not a cxr_pixel_format */
    } else {
        out->image.format = out->png.channels == 1   ? CXR_PIXEL_GRAY8
                            : out->png.channels == 3 ? CXR_PIXEL_RGB8
                                                     : CXR_PIXEL_RGBA8;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Results as plain data, to compare runs byte for byte                                                   */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct result_copy {
    char *text;
    double log_prob, score;
    int32_t truncated, token_count;
    int32_t *tokens;
    float *attention; /* token_count x region_count, or NULL */
} result_copy;

typedef struct results_copy {
    int32_t count;
    result_copy items[CXR_MAX_BEAM_WIDTH];
} results_copy;

static int32_t region_count; /* of the model under test */

static void copy_results(cxr_session *session, results_copy *out) {
    memset(out, 0, sizeof *out);
    CHECK_OK(cxr_result_count(session, &out->count));
    for (int32_t i = 0; i < out->count && i < CXR_MAX_BEAM_WIDTH; i++) {
        result_copy *r = &out->items[i];
        const char *text = NULL;
        const int32_t *tokens = NULL;
        const float *attention = NULL;
        CHECK_OK(cxr_result_text(session, i, &text));
        CHECK_OK(cxr_result_log_prob(session, i, &r->log_prob));
        CHECK_OK(cxr_result_score(session, i, &r->score));
        CHECK_OK(cxr_result_truncated(session, i, &r->truncated));
        CHECK_OK(cxr_result_token_count(session, i, &r->token_count));
        CHECK_OK(cxr_result_tokens(session, i, &tokens));
        CHECK_OK(cxr_result_attention(session, i, &attention));
        r->text = strdup(text ? text : "(NULL)");
        size_t n = (size_t)r->token_count;
        r->tokens = (int32_t *)calloc(n + 1, sizeof(int32_t));
        if (n > 0) {
            CHECK(tokens != NULL, "tokens NULL for %d tokens", r->token_count);
            if (tokens) memcpy(r->tokens, tokens, n * sizeof(int32_t));
        }
        if (attention != NULL) {
            r->attention = (float *)malloc(n * (size_t)region_count * sizeof(float));
            memcpy(r->attention, attention, n * (size_t)region_count * sizeof(float));
        }
    }
}

static void free_results(results_copy *results) {
    for (int32_t i = 0; i < results->count && i < CXR_MAX_BEAM_WIDTH; i++) {
        free(results->items[i].text);
        free(results->items[i].tokens);
        free(results->items[i].attention);
    }
    memset(results, 0, sizeof *results);
}

/* 1 when both hold exactly the same results (texts, tokens, bit-identical numbers and attention). */
static int same_results(const results_copy *a, const results_copy *b) {
    if (a->count != b->count) return 0;
    for (int32_t i = 0; i < a->count; i++) {
        const result_copy *x = &a->items[i], *y = &b->items[i];
        if (strcmp(x->text, y->text) != 0 || memcmp(&x->log_prob, &y->log_prob, sizeof(double)) != 0
            || memcmp(&x->score, &y->score, sizeof(double)) != 0 || x->truncated != y->truncated
            || x->token_count != y->token_count
            || memcmp(x->tokens, y->tokens, (size_t)x->token_count * sizeof(int32_t)) != 0
            || (x->attention == NULL) != (y->attention == NULL)
            || (x->attention != NULL
                && memcmp(x->attention, y->attention,
                          (size_t)x->token_count * (size_t)region_count * sizeof(float)) != 0))
            return 0;
    }
    return 1;
}

/* The canonical dump shared with `cxrcaption-test-tool capi-parity` (numbers as IEEE-754 bit patterns in hex). */
static void dump_results(FILE *out, const char *name, const results_copy *results) {
    fprintf(out, "image %s results %d\n", name, results->count);
    for (int32_t i = 0; i < results->count; i++) {
        const result_copy *r = &results->items[i];
        uint64_t log_prob_bits, score_bits;
        memcpy(&log_prob_bits, &r->log_prob, 8);
        memcpy(&score_bits, &r->score, 8);
        fprintf(out, "result %d log_prob %016" PRIx64 " score %016" PRIx64 " truncated %d\n", i, log_prob_bits,
                score_bits, r->truncated);
        fprintf(out, "text %s\n", r->text);
        fprintf(out, "tokens");
        for (int32_t t = 0; t < r->token_count; t++) fprintf(out, " %d", r->tokens[t]);
        fprintf(out, "\nattention");
        if (r->attention != NULL) {
            for (int32_t k = 0; k < r->token_count * region_count; k++) {
                uint32_t bits;
                memcpy(&bits, &r->attention[k], 4);
                fprintf(out, " %08" PRIx32, bits);
            }
        }
        fprintf(out, "\n");
    }
}

/* ------------------------------------------------------------------------------------------------------ */
/* Invariants of one generate call                                                                        */
/* ------------------------------------------------------------------------------------------------------ */

static cxr_model *model_under_test;
static struct cxr_model_info info;

/* The English join rule of docs/DECODING.md, from the token strings the model reports. */
static void join_tokens(const int32_t *tokens, int32_t count, char *out, size_t out_size) {
    size_t length = 0;
    out[0] = '\0';
    for (int32_t i = 0; i < count; i++) {
        const char *token = "";
        cxr_model_token(model_under_test, tokens[i], &token);
        int attach = token[0] != '\0' && strspn(token, ".,;:!?%)]") == strlen(token);
        const char *separator = (i == 0 || attach || info.join_rule == CXR_JOIN_CONCATENATE) ? "" : " ";
        int written = snprintf(out + length, out_size - length, "%s%s", separator, token);
        if (written < 0 || (size_t)written >= out_size - length) return;
        length += (size_t)written;
    }
}

static void check_invariants(const char *name, const results_copy *results, const cxr_generate_params *params) {
    CHECK(results->count >= 1 && results->count <= params->max_results, "%s: %d results for max_results %d", name,
          results->count, params->max_results);
    for (int32_t i = 0; i < results->count; i++) {
        const result_copy *r = &results->items[i];
        if (i > 0) {
            CHECK(r->score <= results->items[i - 1].score, "%s: result %d score %.17g above result %d's %.17g",
                  name, i, r->score, i - 1, results->items[i - 1].score);
        }
        CHECK(r->log_prob <= 0 && isfinite(r->log_prob), "%s: result %d log_prob %g", name, i, r->log_prob);
        int32_t length = r->token_count + (r->truncated ? 0 : 1);
        double expected_score = r->log_prob / pow((5.0 + length) / 6.0, params->length_penalty);
        CHECK(fabs(r->score - expected_score) <= 1e-9 * fabs(expected_score) + 1e-12,
              "%s: result %d score %.17g, expected log_prob / penalty = %.17g", name, i, r->score, expected_score);
        if (r->truncated) {
            CHECK(r->token_count == params->max_tokens, "%s: truncated result %d has %d tokens, max_tokens %d",
                  name, i, r->token_count, params->max_tokens);
        } else {
            CHECK(r->token_count < params->max_tokens, "%s: result %d has %d tokens and <end>, max_tokens %d",
                  name, i, r->token_count, params->max_tokens);
        }
        for (int32_t t = 0; t < r->token_count; t++) {
            int32_t token = r->tokens[t];
            CHECK(token >= 0 && token < info.vocab_size, "%s: token %d out of range", name, token);
            const char *string = "";
            cxr_model_token(model_under_test, token, &string);
            CHECK(strcmp(string, "<pad>") != 0 && strcmp(string, "<start>") != 0 && strcmp(string, "<end>") != 0,
                  "%s: result %d emits special token %s", name, i, string);
            if (params->suppress_unknown)
                CHECK(token != info.unknown_token_id, "%s: <nou> emitted although suppressed", name);
        }
        char joined[8192];
        join_tokens(r->tokens, r->token_count, joined, sizeof joined);
        CHECK(strcmp(joined, r->text) == 0, "%s: result %d text \"%s\" is not its tokens joined: \"%s\"", name, i,
              r->text, joined);
        if (params->return_attention && r->token_count > 0) {
            CHECK(r->attention != NULL, "%s: result %d has no attention", name, i);
            for (int32_t t = 0; r->attention && t < r->token_count; t++) {
                double sum = 0;
                int in_range = 1;
                for (int32_t k = 0; k < region_count; k++) {
                    float a = r->attention[t * region_count + k];
                    sum += a;
                    if (!(a >= 0 && a <= 1)) in_range = 0;
                }
                CHECK(in_range && fabs(sum - 1) < 1e-4, "%s: result %d step %d attention sums to %g", name, i, t,
                      sum);
            }
        } else {
            CHECK(r->attention == NULL, "%s: result %d has attention although not requested", name, i);
        }
    }
}

static cxr_status generate_copy(cxr_session *session, const cxr_image *image, const cxr_generate_params *params,
                                results_copy *out) {
    cxr_status status = cxr_generate(session, image, params);
    if (status == CXR_OK) copy_results(session, out);
    else memset(out, 0, sizeof *out);
    return status;
}

/* ------------------------------------------------------------------------------------------------------ */
/* Sections                                                                                               */
/* ------------------------------------------------------------------------------------------------------ */

static void *thread_last_error(void *unused) {
    (void)unused;
    return (void *)cxr_last_error();
}

static void test_library(void) {
    printf("library\n");
    CHECK(cxr_abi_version() == CXR_ABI_VERSION, "abi %u", cxr_abi_version());
    CHECK(cxr_version() != NULL && strlen(cxr_version()) >= 5, "version");
    for (int s = CXR_OK; s <= CXR_E_INTERNAL; s++) {
        const char *name = cxr_status_string((cxr_status)s);
        CHECK(name && name[0] && strcmp(name, "unknown status") != 0, "status %d has no name", s);
    }
    CHECK(strcmp(cxr_status_string((cxr_status)1234), "unknown status") == 0, "unknown status name");
    /* A fresh thread has no message yet: "" (never NULL). */
    pthread_t thread;
    void *message = NULL;
    pthread_create(&thread, NULL, thread_last_error, NULL);
    pthread_join(thread, &message);
    CHECK(message != NULL && ((const char *)message)[0] == '\0', "fresh thread's last error is not \"\"");
    /* Messages are per thread: a failure here is not seen by another thread. */
    plant_marker();
    pthread_create(&thread, NULL, thread_last_error, NULL);
    pthread_join(thread, &message);
    CHECK(message != NULL && ((const char *)message)[0] == '\0', "last error leaked to another thread");
    CHECK(strstr(cxr_last_error(), "cxr-test-marker") != NULL, "this thread lost its message: %s", cxr_last_error());
    cxr_model_free(NULL);
    cxr_session_free(NULL);
}

static void test_struct_sizes(void) {
    printf("versioned structs\n");
    unsigned char buffer[256];
    cxr_image image;
    cxr_generate_params params;
    struct cxr_model_info model_info;

    CHECK_OK(cxr_image_init(&image, sizeof image));
    CHECK(image.struct_size == sizeof image && image.format == CXR_PIXEL_GRAY8 && image.pixels == NULL
              && image.row_bytes == 0 && image.bits_stored == 16 && image.photometric == CXR_MONOCHROME2
              && image.rescale_slope == 1 && image.rescale_intercept == 0 && image.has_window == 0,
          "cxr_image defaults");
    CHECK_OK(cxr_generate_params_init(&params, sizeof params));
    CHECK(params.struct_size == sizeof params && params.beam_width == 3 && params.max_results == 3
              && params.max_tokens == 60 && params.length_penalty == 0 && params.suppress_unknown == 0
              && params.return_attention == 1 && params.n_threads == 0 && params.abort_callback == NULL
              && params.abort_user_data == NULL && params.no_repeat_ngram_size == 0 && params.distinct_results == 0
              && params.distinct_extra_beam == 9 && params.use_model_defaults == 0,
          "cxr_generate_params defaults");
    CHECK_OK(cxr_model_info_init(&model_info, sizeof model_info));
    CHECK(model_info.struct_size == sizeof model_info && model_info.vocab_size == 0, "cxr_model_info defaults");

    /* An older, smaller struct: init writes exactly its bytes and not one more. */
    memset(buffer, 0xAB, sizeof buffer);
    CHECK_OK(cxr_generate_params_init((cxr_generate_params *)(void *)buffer, 24));
    CHECK(*(uint32_t *)(void *)buffer == 24 && buffer[24] == 0xAB && buffer[23] == 0 && buffer[16] == 0,
          "init of a 24-byte cxr_generate_params wrote outside it");
    memset(buffer, 0xAB, sizeof buffer);
    CHECK_OK(cxr_image_init((cxr_image *)(void *)buffer, 40));
    CHECK(*(uint32_t *)(void *)buffer == 40 && buffer[40] == 0xAB, "init of a 40-byte cxr_image wrote outside it");

    CASE("cxr_image_init(NULL)", CXR_E_INVALID_ARGUMENT, cxr_image_init(NULL, sizeof image));
    CASE("cxr_generate_params_init(NULL)", CXR_E_INVALID_ARGUMENT, cxr_generate_params_init(NULL, sizeof params));
    CASE("cxr_model_info_init(NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_info_init(NULL, sizeof model_info));
    const uint32_t unknown_sizes[] = {0, 4, 12, 81, 88, 1000, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof unknown_sizes / sizeof unknown_sizes[0]; i++) {
        char name[96];
        memset(buffer, 0xAB, sizeof buffer);
        snprintf(name, sizeof name, "cxr_image_init struct_size %u", unknown_sizes[i]);
        CASE(name, CXR_E_UNSUPPORTED_STRUCT_SIZE, cxr_image_init((cxr_image *)(void *)buffer, unknown_sizes[i]));
        CHECK(buffer[0] == 0xAB, "a rejected init wrote to the struct");
    }
    CASE("cxr_generate_params_init struct_size 60", CXR_E_UNSUPPORTED_STRUCT_SIZE,
         cxr_generate_params_init((cxr_generate_params *)(void *)buffer, 60));
    CASE("cxr_model_info_init struct_size 56", CXR_E_UNSUPPORTED_STRUCT_SIZE,
         cxr_model_info_init((struct cxr_model_info *)(void *)buffer, 56));
}

static void test_null_arguments_without_model(void) {
    printf("NULL arguments (no model needed)\n");
    cxr_model *model = (cxr_model *)(uintptr_t)1; /* must be overwritten with NULL on failure */
    unsigned char byte = 0;
    CASE("cxr_model_load(path NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_load(NULL, &model));
    CHECK(model == NULL, "out_model not set to NULL on failure");
    CASE("cxr_model_load(out_model NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_load("model.safetensors", NULL));
    CASE("cxr_model_load_from_memory(data NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_load_from_memory(NULL, 10, &model));
    CASE("cxr_model_load_from_memory(out_model NULL)", CXR_E_INVALID_ARGUMENT,
         cxr_model_load_from_memory(&byte, 1, NULL));
    struct cxr_model_info model_info;
    cxr_model_info_init(&model_info, sizeof model_info);
    const char *string = NULL;
    cxr_session *session = NULL;
    int32_t count = 0;
    CASE("cxr_model_info(model NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_info(NULL, &model_info));
    CASE("cxr_model_label(model NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_label(NULL, 0, &string));
    CASE("cxr_model_token(model NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_token(NULL, 0, &string));
    CASE("cxr_model_metadata(model NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_metadata(NULL, "name", &string));
    CASE("cxr_session_create(model NULL)", CXR_E_INVALID_ARGUMENT, cxr_session_create(NULL, &session));
    CASE("cxr_generate(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_generate(NULL, NULL, NULL));
    CASE("cxr_preprocess(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_preprocess(NULL, NULL, &byte, 1));
    CASE("cxr_findings(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_findings(NULL, NULL, NULL, NULL, 0));
    CASE("cxr_result_count(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_count(NULL, &count));
    CASE("cxr_result_text(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_text(NULL, 0, &string));
}

static void test_bad_models(bytes golden, const char *temp_dir) {
    printf("bad models\n");
    char path[1024];
    cxr_model *model = NULL;
#define BAD_MEMORY_MODEL(name, want, words, data, size)                                                        \
    do {                                                                                                       \
        model = (cxr_model *)(uintptr_t)1;                                                                     \
        expected_words = (words);                                                                              \
        CASE(name, want, cxr_model_load_from_memory((data), (size), &model));                                  \
        CHECK(model == NULL, "%s: out_model not NULL after a failed load", name);                              \
        cxr_model_free(model);                                                                                 \
    } while (0)
#define BAD_EDITED_MODEL(name, words, old, new_text)                                                           \
    do {                                                                                                       \
        bytes edited_ = model_with_header_edit(golden, (old), (new_text));                                     \
        BAD_MEMORY_MODEL(name, CXR_E_INVALID_MODEL, words, edited_.data, edited_.size);                        \
        free(edited_.data);                                                                                    \
    } while (0)

    model = (cxr_model *)(uintptr_t)1;
    CASE("missing file", CXR_E_IO, cxr_model_load("/nonexistent/dir/model.safetensors", &model));
    CHECK(model == NULL, "out_model not NULL after a failed load");
    CASE("a directory as the model file", CXR_E_IO, cxr_model_load(temp_dir, &model));
    snprintf(path, sizeof path, "%s/empty.safetensors", temp_dir);
    write_file(path, "", 0);
    CASE("empty file", CXR_E_INVALID_MODEL, cxr_model_load(path, &model));
    snprintf(path, sizeof path, "%s/truncated.safetensors", temp_dir);
    write_file(path, golden.data, golden.size - 100);
    CASE("truncated file", CXR_E_INVALID_MODEL, cxr_model_load(path, &model));

    BAD_MEMORY_MODEL("empty buffer (size 0)", CXR_E_INVALID_MODEL, "empty", golden.data, 0);
    BAD_MEMORY_MODEL("7 bytes (no header length)", CXR_E_INVALID_MODEL, "7 bytes", golden.data, 7);
    BAD_MEMORY_MODEL("truncated in the header", CXR_E_INVALID_MODEL, "header length", golden.data, 100);
    BAD_MEMORY_MODEL("truncated in the tensor data", CXR_E_INVALID_MODEL, "data_offsets", golden.data, golden.size - 1);
    {
        bytes edited = copy_bytes(golden);
        edited.data[0] = (unsigned char)(edited.data[0] + 1); /* header length one too long */
        BAD_MEMORY_MODEL("wrong header length (+1)", CXR_E_INVALID_MODEL, "header", edited.data, edited.size);
        memset(edited.data, 0xFF, 8);
        BAD_MEMORY_MODEL("header length 2^64-1", CXR_E_INVALID_MODEL, "header length", edited.data, edited.size);
        memset(edited.data, 0, 8);
        edited.data[0] = 1;
        BAD_MEMORY_MODEL("header length 1", CXR_E_INVALID_MODEL, "header length 1", edited.data, edited.size);
        memcpy(edited.data, golden.data, 8);
        edited.data[8] = 'x';
        BAD_MEMORY_MODEL("header not JSON", CXR_E_INVALID_MODEL, "JSON", edited.data, edited.size);
        free(edited.data);
    }
    {
        const unsigned char array_header[] = {5, 0, 0, 0, 0, 0, 0, 0, '[', '1', ',', '2', ']'};
        BAD_MEMORY_MODEL("header a JSON array, not an object", CXR_E_INVALID_MODEL, "object", array_header, sizeof array_header);
    }
    BAD_EDITED_MODEL("tensor offsets out of bounds", "beyond", "\"data_offsets\":[121516,121900]", "\"data_offsets\":[121516,999999]");
    BAD_EDITED_MODEL("tensor offsets overlapping", "overlap", "\"data_offsets\":[121516,121900]", "\"data_offsets\":[121100,121484]");
    BAD_EDITED_MODEL("tensor offsets reversed", "data_offsets", "\"data_offsets\":[121516,121900]", "\"data_offsets\":[121900,121516]");
    BAD_EDITED_MODEL("wrong dtype (I32 for F32)", "dtype I32", "\"findings.weight\":{\"dtype\":\"F32\"",
                     "\"findings.weight\":{\"dtype\":\"I32\"");
    BAD_EDITED_MODEL("unknown dtype", "Q4", "\"findings.weight\":{\"dtype\":\"F32\"", "\"findings.weight\":{\"dtype\":\"Q4\"");
    BAD_EDITED_MODEL("wrong tensor shape ([32,3] for [3,32])", "[32, 3]", "\"shape\":[3,32]", "\"shape\":[32,3]");
    BAD_EDITED_MODEL("missing tensor (renamed)", "decoder.out_c.weigh", "\"decoder.out_c.weight\"", "\"decoder.out_c.weighx\"");
    BAD_EDITED_MODEL("missing findings.weight with findings.bias", "findings.weight", "\"findings.weight\"", "\"findingsXweight\"");
    BAD_EDITED_MODEL("vocab size mismatch (one token fewer)", "29", "\\\"stable\\\",", "");
    BAD_EDITED_MODEL("special token id out of range", "99", "\\\"nou\\\":3", "\\\"nou\\\":99");
    BAD_EDITED_MODEL("labels count mismatch", "label", "\\\"cardiomegaly\\\",", "");
    BAD_EDITED_MODEL("unknown format", "cxrcaption/9", "cxrcaption/1", "cxrcaption/9");
    BAD_EDITED_MODEL("config not JSON", "config", "\"config\":\"{", "\"config\":\"x{");

    /* Finite but implausible weights are refused at load, wherever they are (3e38 would overflow the first
     * sum it enters). */
    {
        bytes huge = model_with_values(golden, "encoder.features.conv0.weight", 3e38f, 1);
        BAD_MEMORY_MODEL("an encoder weight of 3e38", CXR_E_INVALID_MODEL, "at most", huge.data, huge.size);
        free(huge.data);
        huge = model_with_values(golden, "decoder.out_h.weight", -3e38f, 1);
        BAD_MEMORY_MODEL("a decoder weight of -3e38", CXR_E_INVALID_MODEL, "at most", huge.data, huge.size);
        free(huge.data);
    }

    /* Use after a failed load: the handle is NULL, and every call that takes it says so. */
    model = (cxr_model *)(uintptr_t)1;
    cxr_model_load("/nonexistent/model.safetensors", &model);
    cxr_session *session = (cxr_session *)(uintptr_t)1;
    struct cxr_model_info model_info;
    cxr_model_info_init(&model_info, sizeof model_info);
    CASE("cxr_session_create after a failed load", CXR_E_INVALID_ARGUMENT, cxr_session_create(model, &session));
    CHECK(session == NULL, "out_session not NULL after a failed create");
    CASE("cxr_model_info after a failed load", CXR_E_INVALID_ARGUMENT, cxr_model_info(model, &model_info));
    cxr_model_free(model);
#undef BAD_EDITED_MODEL
#undef BAD_MEMORY_MODEL
}

static void test_null_arguments_with_model(cxr_session *session, const cxr_image *image) {
    printf("NULL arguments\n");
    cxr_session *out_session = NULL;
    const char *string = NULL;
    const int32_t *tokens = NULL;
    const float *attention = NULL;
    double number = 0;
    int32_t count = 0;
    uint8_t pixels[16];
    float probabilities[8];
    CASE("cxr_model_info(info NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_info(model_under_test, NULL));
    CASE("cxr_model_label(out_name NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_label(model_under_test, 0, NULL));
    CASE("cxr_model_token(out_token NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_token(model_under_test, 0, NULL));
    CASE("cxr_model_metadata(key NULL)", CXR_E_INVALID_ARGUMENT, cxr_model_metadata(model_under_test, NULL, &string));
    CASE("cxr_model_metadata(out_value NULL)", CXR_E_INVALID_ARGUMENT,
         cxr_model_metadata(model_under_test, "name", NULL));
    CASE("cxr_session_create(out_session NULL)", CXR_E_INVALID_ARGUMENT, cxr_session_create(model_under_test, NULL));
    (void)out_session;
    CASE("cxr_generate(image NULL)", CXR_E_INVALID_ARGUMENT, cxr_generate(session, NULL, NULL));
    CASE("cxr_preprocess(image NULL)", CXR_E_INVALID_ARGUMENT, cxr_preprocess(session, NULL, pixels, sizeof pixels));
    CASE("cxr_preprocess(out_pixels NULL)", CXR_E_INVALID_ARGUMENT, cxr_preprocess(session, image, NULL, 1 << 20));
    CASE("cxr_findings(image NULL)", CXR_E_INVALID_ARGUMENT, cxr_findings(session, NULL, NULL, probabilities, 8));
    CASE("cxr_findings(out_probabilities NULL)", CXR_E_INVALID_ARGUMENT, cxr_findings(session, image, NULL, NULL, 8));
    CASE("cxr_result_count(out_count NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_count(session, NULL));
    CASE("cxr_result_text(out_text NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_text(session, 0, NULL));
    CASE("cxr_result_log_prob(out NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_log_prob(session, 0, NULL));
    CASE("cxr_result_score(out NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_score(session, 0, NULL));
    CASE("cxr_result_truncated(out NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_truncated(session, 0, NULL));
    CASE("cxr_result_token_count(out NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_token_count(session, 0, NULL));
    CASE("cxr_result_tokens(out NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_tokens(session, 0, NULL));
    CASE("cxr_result_attention(out NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_attention(session, 0, NULL));
    CASE("cxr_result_log_prob(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_log_prob(NULL, 0, &number));
    CASE("cxr_result_score(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_score(NULL, 0, &number));
    CASE("cxr_result_truncated(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_truncated(NULL, 0, &count));
    CASE("cxr_result_token_count(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_token_count(NULL, 0, &count));
    CASE("cxr_result_tokens(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_tokens(NULL, 0, &tokens));
    CASE("cxr_result_attention(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_attention(NULL, 0, &attention));
    (void)string;
}

static void test_bad_images(cxr_session *session, const cxr_image *good) {
    printf("bad images\n");
    cxr_image image;
    uint8_t pixels[64 * 64];
/* The message must name the field as this header spells it (the core names its Swift fields; the C layer
 * renames them). */
#define BAD_IMAGE_NAMING(name, words, want, change)                                                            \
    do {                                                                                                       \
        image = *good;                                                                                         \
        change;                                                                                                \
        expected_words = (words);                                                                              \
        CASE(name, want, cxr_generate(session, &image, NULL));                                                 \
    } while (0)
#define BAD_IMAGE(name, want, change)                                                                          \
    BAD_IMAGE_NAMING(name, want == CXR_E_UNSUPPORTED_STRUCT_SIZE ? "struct_size" : "image ", want, change)
    BAD_IMAGE("pixels NULL", CXR_E_INVALID_IMAGE, image.pixels = NULL);
    BAD_IMAGE("width 0", CXR_E_INVALID_IMAGE, image.width = 0);
    BAD_IMAGE("width -1", CXR_E_INVALID_IMAGE, image.width = -1);
    BAD_IMAGE("width 15 (below 16)", CXR_E_INVALID_IMAGE, image.width = 15);
    BAD_IMAGE("width 2^30 (enormous)", CXR_E_INVALID_IMAGE, image.width = 1 << 30);
    BAD_IMAGE("width INT32_MIN", CXR_E_INVALID_IMAGE, image.width = INT32_MIN);
    BAD_IMAGE("height 0", CXR_E_INVALID_IMAGE, image.height = 0);
    BAD_IMAGE("height -512", CXR_E_INVALID_IMAGE, image.height = -512);
    BAD_IMAGE("height 16385 (enormous)", CXR_E_INVALID_IMAGE, image.height = 16385);
    BAD_IMAGE_NAMING("row_bytes too small (width - 1)", "image row_bytes", CXR_E_INVALID_IMAGE, image.row_bytes = (uint64_t)good->width - 1);
    BAD_IMAGE_NAMING("row_bytes too small for RGB8", "image row_bytes", CXR_E_INVALID_IMAGE,
              (image.format = CXR_PIXEL_RGB8, image.row_bytes = (uint64_t)good->width * 2));
    BAD_IMAGE_NAMING("row_bytes 2^64-1 (overflow)", "image row_bytes", CXR_E_INVALID_IMAGE, image.row_bytes = UINT64_MAX);
    BAD_IMAGE_NAMING("row_bytes 2^62 (overflow x height)", "image row_bytes", CXR_E_INVALID_IMAGE, image.row_bytes = (uint64_t)1 << 62);
    BAD_IMAGE("unknown pixel format 0", CXR_E_INVALID_IMAGE, image.format = 0);
    BAD_IMAGE("unknown pixel format 6", CXR_E_INVALID_IMAGE, image.format = 6);
    BAD_IMAGE("unknown pixel format -1", CXR_E_INVALID_IMAGE, image.format = -1);
    BAD_IMAGE_NAMING("bits_stored 0 (GRAY16)", "image bits_stored 0", CXR_E_INVALID_IMAGE,
              (image.format = CXR_PIXEL_GRAY16, image.width /= 2, image.bits_stored = 0));
    BAD_IMAGE_NAMING("bits_stored 17 (GRAY16)", "image bits_stored 17", CXR_E_INVALID_IMAGE,
              (image.format = CXR_PIXEL_GRAY16, image.width /= 2, image.bits_stored = 17));
    /* One row fewer, so that the span starting a byte late stays inside the buffer. */
    BAD_IMAGE("GRAY16 pixels not aligned (accepted: samples are read unaligned)", CXR_OK,
              (image.format = CXR_PIXEL_GRAY16, image.width /= 2, image.height -= 1, image.row_bytes = 0,
               image.pixels = (const uint8_t *)good->pixels + 1));
    BAD_IMAGE("unknown photometric 2", CXR_E_INVALID_IMAGE, image.photometric = 2);
    BAD_IMAGE_NAMING("rescale_slope NaN", "image rescale_slope nan", CXR_E_INVALID_IMAGE, image.rescale_slope = NAN);
    BAD_IMAGE_NAMING("rescale_intercept Inf", "image rescale_intercept inf", CXR_E_INVALID_IMAGE, image.rescale_intercept = INFINITY);
    /* Degenerate input: DCMTK reports a missing RescaleSlope as 0, which would flatten every image. */
    BAD_IMAGE_NAMING("rescale_slope 0", "image rescale_slope is 0", CXR_E_INVALID_IMAGE,
              (image.rescale_slope = 0, image.rescale_intercept = 0));
    BAD_IMAGE_NAMING("a window no pixel falls inside (constant after VOI)", "image is constant after the modality and VOI steps",
              CXR_E_INVALID_IMAGE, (image.has_window = 1, image.window_center = 1e6, image.window_width = 10));
    static uint8_t blank[64 * 64];
    memset(blank, 200, sizeof blank);
    BAD_IMAGE_NAMING("a constant image", "every pixel maps to level 51400 of 65535", CXR_E_INVALID_IMAGE,
              (image.format = CXR_PIXEL_GRAY8, image.pixels = blank, image.width = 64, image.height = 64, image.row_bytes = 0));
    BAD_IMAGE_NAMING("a constant RGB image", "image is constant", CXR_E_INVALID_IMAGE,
              (image.format = CXR_PIXEL_RGB8, image.pixels = blank, image.width = 32, image.height = 32, image.row_bytes = 0));
    BAD_IMAGE("has_window 2", CXR_E_INVALID_IMAGE, image.has_window = 2);
    BAD_IMAGE_NAMING("window width 0", "image window_width 0", CXR_E_INVALID_IMAGE, (image.has_window = 1, image.window_center = 128, image.window_width = 0));
    BAD_IMAGE_NAMING("window width -100", "image window_width -100", CXR_E_INVALID_IMAGE,
              (image.has_window = 1, image.window_center = 128, image.window_width = -100));
    BAD_IMAGE_NAMING("window width 1", "image window_width 1", CXR_E_INVALID_IMAGE, (image.has_window = 1, image.window_center = 128, image.window_width = 1));
    BAD_IMAGE_NAMING("window width NaN", "image window_width nan", CXR_E_INVALID_IMAGE,
              (image.has_window = 1, image.window_center = 128, image.window_width = NAN));
    BAD_IMAGE_NAMING("window center Inf", "image window_center inf", CXR_E_INVALID_IMAGE,
              (image.has_window = 1, image.window_center = INFINITY, image.window_width = 100));
    BAD_IMAGE("image struct_size 0", CXR_E_UNSUPPORTED_STRUCT_SIZE, image.struct_size = 0);
    BAD_IMAGE("image struct_size 84", CXR_E_UNSUPPORTED_STRUCT_SIZE, image.struct_size = 84);
    BAD_IMAGE("image struct_size 1024 (a newer header)", CXR_E_UNSUPPORTED_STRUCT_SIZE, image.struct_size = 1024);

    /* Float buffers: NaN or Inf anywhere is an error, not a silent zero. */
    float floats[32 * 32];
    for (int i = 0; i < 32 * 32; i++) floats[i] = (float)(i % 97) / 97.0f;
    cxr_image float_image;
    cxr_image_init(&float_image, sizeof float_image);
    float_image.format = CXR_PIXEL_GRAYF32;
    float_image.pixels = floats;
    float_image.width = 32;
    float_image.height = 32;
    CASE("GRAYF32 finite (control)", CXR_OK, cxr_preprocess(session, &float_image, pixels, sizeof pixels));
    floats[5 * 32 + 7] = NAN;
    CASE("GRAYF32 NaN pixel", CXR_E_INVALID_IMAGE, cxr_generate(session, &float_image, NULL));
    floats[5 * 32 + 7] = INFINITY;
    CASE("GRAYF32 +Inf pixel", CXR_E_INVALID_IMAGE, cxr_generate(session, &float_image, NULL));
    floats[5 * 32 + 7] = 0;
    floats[32 * 32 - 1] = -INFINITY;
    CASE("GRAYF32 -Inf in the last pixel", CXR_E_INVALID_IMAGE, cxr_preprocess(session, &float_image, pixels, sizeof pixels));
#undef BAD_IMAGE
#undef BAD_IMAGE_NAMING
}

static void test_bad_params(cxr_session *session, const cxr_image *image) {
    printf("bad parameters\n");
    cxr_generate_params params;
#define BAD_PARAMS(name, words, want, change)                                                                  \
    do {                                                                                                       \
        cxr_generate_params_init(&params, sizeof params);                                                      \
        change;                                                                                                \
        expected_words = (words);                                                                              \
        CASE(name, want, cxr_generate(session, image, &params));                                               \
    } while (0)
    BAD_PARAMS("beam_width 0", "beam_width", CXR_E_INVALID_ARGUMENT, (params.beam_width = 0, params.max_results = 1));
    BAD_PARAMS("beam_width 65", "beam_width", CXR_E_INVALID_ARGUMENT, params.beam_width = 65);
    BAD_PARAMS("beam_width -3", "beam_width", CXR_E_INVALID_ARGUMENT, params.beam_width = -3);
    BAD_PARAMS("max_results 4 > beam_width 3", "max_results", CXR_E_INVALID_ARGUMENT, params.max_results = 4);
    BAD_PARAMS("max_results 0", "max_results", CXR_E_INVALID_ARGUMENT, params.max_results = 0);
    BAD_PARAMS("max_tokens 0", "max_tokens", CXR_E_INVALID_ARGUMENT, params.max_tokens = 0);
    BAD_PARAMS("max_tokens 1025", "max_tokens", CXR_E_INVALID_ARGUMENT, params.max_tokens = 1025);
    BAD_PARAMS("length_penalty NaN", "length_penalty", CXR_E_INVALID_ARGUMENT, params.length_penalty = NAN);
    BAD_PARAMS("length_penalty -1", "length_penalty", CXR_E_INVALID_ARGUMENT, params.length_penalty = -1);
    BAD_PARAMS("length_penalty Inf", "length_penalty", CXR_E_INVALID_ARGUMENT, params.length_penalty = INFINITY);
    BAD_PARAMS("length_penalty just above the maximum", "length_penalty", CXR_E_INVALID_ARGUMENT,
               params.length_penalty = CXR_MAX_LENGTH_PENALTY * 1.000001);
    BAD_PARAMS("length_penalty 1e300", "length_penalty", CXR_E_INVALID_ARGUMENT, params.length_penalty = 1e300);
    BAD_PARAMS("n_threads -1", "n_threads", CXR_E_INVALID_ARGUMENT, params.n_threads = -1);
    BAD_PARAMS("params struct_size 0", "struct_size", CXR_E_UNSUPPORTED_STRUCT_SIZE, params.struct_size = 0);
    BAD_PARAMS("params struct_size 30", "struct_size", CXR_E_UNSUPPORTED_STRUCT_SIZE, params.struct_size = 30);
    BAD_PARAMS("params struct_size 80 (a newer header)", "struct_size", CXR_E_UNSUPPORTED_STRUCT_SIZE, params.struct_size = 80);
    BAD_PARAMS("params struct_size 60", "struct_size", CXR_E_UNSUPPORTED_STRUCT_SIZE, params.struct_size = 60);
    BAD_PARAMS("no_repeat_ngram_size -1", "no_repeat_ngram_size", CXR_E_INVALID_ARGUMENT, params.no_repeat_ngram_size = -1);
    BAD_PARAMS("no_repeat_ngram_size 1025", "no_repeat_ngram_size", CXR_E_INVALID_ARGUMENT,
               params.no_repeat_ngram_size = CXR_MAX_TOKENS + 1);
    BAD_PARAMS("distinct_extra_beam 65", "distinct_extra_beam", CXR_E_INVALID_ARGUMENT,
               params.distinct_extra_beam = CXR_MAX_BEAM_WIDTH + 1);
    BAD_PARAMS("distinct_extra_beam -1", "distinct_extra_beam", CXR_E_INVALID_ARGUMENT, params.distinct_extra_beam = -1);
    float probabilities[64];
    cxr_generate_params_init(&params, sizeof params);
    params.n_threads = -2;
    CASE("cxr_findings n_threads -2", CXR_E_INVALID_ARGUMENT,
         cxr_findings(session, image, &params, probabilities, 64));
    uint8_t small[16];
    CASE("cxr_preprocess out_size too small", CXR_E_INVALID_ARGUMENT, cxr_preprocess(session, image, small, sizeof small));
    CASE("cxr_findings out_count too small", CXR_E_INVALID_ARGUMENT,
         cxr_findings(session, image, NULL, probabilities, (size_t)info.label_count - 1));

    /* 0.1.0's 56-byte struct: the appended fields take their defaults, whatever lies past it. */
    {
        unsigned char old_params[sizeof params];
        memset(old_params, 0x7F, sizeof old_params);
        cxr_generate_params_init(&params, sizeof params);
        memcpy(old_params, &params, 56);
        ((cxr_generate_params *)(void *)old_params)->struct_size = 56;
        CHECK_OK(cxr_generate(session, image, (const cxr_generate_params *)(const void *)old_params));
        int32_t old_count = 0, distinct = -1;
        CHECK_OK(cxr_result_count(session, &old_count));
        CHECK(old_count == 3, "a 56-byte cxr_generate_params did not give 3 results");
        CHECK_OK(cxr_result_distinct(session, &distinct));
        CHECK(distinct == 0 || distinct == 1, "cxr_result_distinct is not 0 or 1");
    }
    /* The widest distinct search is capped at CXR_MAX_BEAM_WIDTH beams, not refused. */
    cxr_generate_params_init(&params, sizeof params);
    params.distinct_results = 1;
    params.distinct_extra_beam = CXR_MAX_BEAM_WIDTH;
    params.no_repeat_ngram_size = CXR_MAX_TOKENS;
    params.max_tokens = 8;
    CHECK_OK(cxr_generate(session, image, &params));
    {
        int32_t distinct = -1;
        CASE("cxr_result_distinct(out NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_distinct(session, NULL));
        CASE("cxr_result_distinct(session NULL)", CXR_E_INVALID_ARGUMENT, cxr_result_distinct(NULL, &distinct));
    }

    /* The largest length penalty is accepted. */
    cxr_generate_params_init(&params, sizeof params);
    params.length_penalty = CXR_MAX_LENGTH_PENALTY;
    CHECK_OK(cxr_generate(session, image, &params));

    /* cxr_findings uses and checks only n_threads and the abort callback: a zeroed struct (beam_width 0,
     * max_tokens 0, ...) with its struct_size set gives the same probabilities as the defaults. */
    float zeroed_probabilities[64];
    memset(&params, 0, sizeof params);
    params.struct_size = sizeof params;
    CHECK_OK(cxr_findings(session, image, &params, zeroed_probabilities, 64));
    CHECK_OK(cxr_findings(session, image, NULL, probabilities, 64));
    CHECK(memcmp(zeroed_probabilities, probabilities, sizeof(float) * (size_t)info.label_count) == 0,
          "cxr_findings with a zeroed params struct differs from the defaults");
    params.length_penalty = NAN;
    CHECK_OK(cxr_findings(session, image, &params, zeroed_probabilities, 64));
#undef BAD_PARAMS
}

static void test_result_indices(cxr_session *session) {
    printf("result and model indices\n");
    int32_t count = 0;
    const char *text = NULL;
    double number = 0;
    const int32_t *tokens = NULL;
    CHECK_OK(cxr_result_count(session, &count));
    REQUIRE(count > 0, "no results to index");
    CASE("cxr_result_text index -1", CXR_E_OUT_OF_RANGE, cxr_result_text(session, -1, &text));
    CASE("cxr_result_text index = count", CXR_E_OUT_OF_RANGE, cxr_result_text(session, count, &text));
    CASE("cxr_result_score index 1000", CXR_E_OUT_OF_RANGE, cxr_result_score(session, 1000, &number));
    CASE("cxr_result_tokens index INT32_MAX", CXR_E_OUT_OF_RANGE, cxr_result_tokens(session, INT32_MAX, &tokens));
    CASE("cxr_model_label index = label_count", CXR_E_OUT_OF_RANGE,
         cxr_model_label(model_under_test, info.label_count, &text));
    CASE("cxr_model_label index -1", CXR_E_OUT_OF_RANGE, cxr_model_label(model_under_test, -1, &text));
    CASE("cxr_model_token id = vocab_size", CXR_E_OUT_OF_RANGE, cxr_model_token(model_under_test, info.vocab_size, &text));
}

/* ------------------------------------------------------------------------------------------------------ */
/* Happy path                                                                                             */
/* ------------------------------------------------------------------------------------------------------ */

typedef struct abort_state {
    int polls;
    int abort_at; /* abort on this poll (1-based); 0 = never */
} abort_state;

static int count_and_abort(void *user_data) {
    abort_state *state = (abort_state *)user_data;
    state->polls++;
    return state->abort_at > 0 && state->polls >= state->abort_at;
}

static int always_abort(void *user_data) {
    (void)user_data;
    return 1;
}

static void test_model_info(void) {
    printf("model info\n");
    CHECK(info.format_version == 1, "format_version %d", info.format_version);
    CHECK(info.vocab_size == 30, "vocab_size %d (the golden model has 30)", info.vocab_size);
    CHECK(info.input_size == 64 && info.input_channels == 1, "input %d x %d channels", info.input_size,
          info.input_channels);
    CHECK(info.has_findings_head == 1 && info.label_count == 3, "findings %d, %d labels", info.has_findings_head,
          info.label_count);
    CHECK(info.join_rule == CXR_JOIN_SPACE_SEPARATED, "join rule %d", info.join_rule);
    CHECK(info.attention_grid == 2 && info.region_count == 4, "grid %d, regions %d", info.attention_grid,
          info.region_count);
    CHECK(info.preprocessing_version == 1 && info.unknown_token_id == 3, "preprocessing %d, <nou> %d",
          info.preprocessing_version, info.unknown_token_id);
    const char *name = NULL;
    CHECK_OK(cxr_model_label(model_under_test, 0, &name));
    CHECK(name && strcmp(name, "cardiomegaly") == 0, "label 0 is %s", name ? name : "(NULL)");
    CHECK_OK(cxr_model_label(model_under_test, 2, &name));
    CHECK(name && strcmp(name, "pneumothorax") == 0, "label 2 is %s", name ? name : "(NULL)");
    CHECK_OK(cxr_model_token(model_under_test, 2, &name));
    CHECK(name && strcmp(name, "<end>") == 0, "token 2 is %s", name ? name : "(NULL)");
    CHECK_OK(cxr_model_token(model_under_test, 29, &name));
    CHECK(name && strcmp(name, ":") == 0, "token 29 is %s", name ? name : "(NULL)");
    CHECK_OK(cxr_model_metadata(model_under_test, "name", &name));
    CHECK(name && strcmp(name, "cxrcaption golden fixture") == 0, "metadata name is %s", name ? name : "(NULL)");
    CHECK_OK(cxr_model_metadata(model_under_test, "format", &name));
    CHECK(name && strcmp(name, "cxrcaption/1") == 0, "metadata format is %s", name ? name : "(NULL)");
    name = "unchanged";
    CHECK_OK(cxr_model_metadata(model_under_test, "disclaimer", &name));
    CHECK(name == NULL, "metadata disclaimer of the golden model (it has none) is %s", name ? name : "(NULL)");

    /* A smaller (older) cxr_model_info gets exactly its bytes. */
    unsigned char buffer[64];
    memset(buffer, 0xAB, sizeof buffer);
    CHECK_OK(cxr_model_info_init((struct cxr_model_info *)(void *)buffer, 16));
    CHECK_OK(cxr_model_info(model_under_test, (struct cxr_model_info *)(void *)buffer));
    int32_t vocab = 0;
    memcpy(&vocab, buffer + 8, 4);
    CHECK(vocab == 30 && buffer[16] == 0xAB, "a 16-byte cxr_model_info: vocab %d, byte 16 = %#x", vocab, buffer[16]);
}

static test_image padded_copy(const test_image *source, size_t padding) {
    test_image copy = *source;
    size_t row = (size_t)source->png.row_bytes;
    copy.image.row_bytes = row + padding;
    unsigned char *pixels = (unsigned char *)malloc((row + padding) * (size_t)source->png.height);
    memset(pixels, 0xEE, (row + padding) * (size_t)source->png.height);
    for (int32_t y = 0; y < source->png.height; y++)
        memcpy(pixels + (size_t)y * (row + padding), (const unsigned char *)source->png.pixels + (size_t)y * row, row);
    copy.png.pixels = pixels;
    copy.image.pixels = pixels;
    return copy;
}

/* RGB8 -> RGBA8 with an alpha that must be ignored. */
static test_image rgba_copy(const test_image *source) {
    test_image copy = *source;
    size_t n = (size_t)source->png.width * (size_t)source->png.height;
    const unsigned char *rgb = (const unsigned char *)source->png.pixels;
    unsigned char *rgba = (unsigned char *)malloc(n * 4);
    for (size_t i = 0; i < n; i++) {
        memcpy(rgba + 4 * i, rgb + 3 * i, 3);
        rgba[4 * i + 3] = (unsigned char)(i * 7);
    }
    copy.png.pixels = rgba;
    copy.image.pixels = rgba;
    copy.image.format = CXR_PIXEL_RGBA8;
    copy.image.row_bytes = 0;
    return copy;
}

static void test_happy_path(cxr_session *session, test_image *images, int image_count) {
    printf("happy path\n");
    cxr_generate_params params;
    cxr_generate_params_init(&params, sizeof params);
    results_copy first, second;
    for (int i = 0; i < image_count; i++) {
        const test_image *t = &images[i];
        CHECK(generate_copy(session, &t->image, &params, &first) == CXR_OK, "%s: %s", t->name, cxr_last_error());
        check_invariants(t->name, &first, &params);
        printf("  %s: %d results; best \"%s\" (score %.4f, %d tokens%s)\n", t->name, first.count,
               first.count ? first.items[0].text : "", first.count ? first.items[0].score : 0.0,
               first.count ? first.items[0].token_count : 0,
               first.count && first.items[0].truncated ? ", truncated" : "");
        /* The same call again: the same bytes. NULL params: the defaults. */
        CHECK(generate_copy(session, &t->image, NULL, &second) == CXR_OK, "%s again", t->name);
        CHECK(same_results(&first, &second), "%s: a second generate (NULL params) differs", t->name);
        free_results(&second);

        /* Padded rows describe the same pixels. */
        test_image padded = padded_copy(t, 13);
        CHECK(generate_copy(session, &padded.image, &params, &second) == CXR_OK, "%s padded: %s", t->name,
              cxr_last_error());
        CHECK(same_results(&first, &second), "%s: padded rows give other results", t->name);
        free_results(&second);
        free(padded.png.pixels);
        if (t->image.format == CXR_PIXEL_RGB8) {
            test_image rgba = rgba_copy(t);
            CHECK(generate_copy(session, &rgba.image, &params, &second) == CXR_OK, "%s RGBA: %s", t->name,
                  cxr_last_error());
            CHECK(same_results(&first, &second), "%s: RGBA8 (alpha ignored) differs from RGB8", t->name);
            free_results(&second);
            free(rgba.png.pixels);
        }

        /* return_attention 0: the same results without attention. */
        cxr_generate_params no_attention = params;
        no_attention.return_attention = 0;
        CHECK(generate_copy(session, &t->image, &no_attention, &second) == CXR_OK, "%s no attention", t->name);
        check_invariants(t->name, &second, &no_attention);
        CHECK(second.count == first.count && second.count > 0 && strcmp(second.items[0].text, first.items[0].text) == 0,
              "%s: return_attention changes the results", t->name);
        free_results(&second);

        /* Wider beams, a length penalty, suppressed <nou>, one result, short sentences. */
        cxr_generate_params other = params;
        other.beam_width = 8;
        other.max_results = 5;
        other.length_penalty = 0.7;
        other.suppress_unknown = 1;
        other.n_threads = 1;
        CHECK(generate_copy(session, &t->image, &other, &second) == CXR_OK, "%s beam 8: %s", t->name, cxr_last_error());
        check_invariants(t->name, &second, &other);
        free_results(&second);
        other = params;
        other.beam_width = 1;
        other.max_results = 1;
        other.max_tokens = 2;
        CHECK(generate_copy(session, &t->image, &other, &second) == CXR_OK, "%s greedy: %s", t->name, cxr_last_error());
        check_invariants(t->name, &second, &other);
        CHECK(second.count == 1, "%s: greedy gives %d results", t->name, second.count);
        free_results(&second);

        /* An older, smaller params struct (24 bytes: up to length_penalty): the fields it lacks take the
         * defaults, whatever follows it in memory (here an abort callback that would always abort). */
        cxr_generate_params older = params;
        older.struct_size = 24;
        older.return_attention = 0;
        older.abort_callback = always_abort;
        CHECK(generate_copy(session, &t->image, &older, &second) == CXR_OK, "%s older params: %s", t->name,
              cxr_last_error());
        CHECK(same_results(&first, &second), "%s: a 24-byte params struct did not default the rest", t->name);
        free_results(&second);

        /* An older, smaller cxr_image (56 bytes: without the window fields): what follows is ignored. */
        cxr_image older_image = t->image;
        older_image.struct_size = 56;
        older_image.has_window = 1;
        older_image.window_width = -1;
        CHECK(generate_copy(session, &older_image, &params, &second) == CXR_OK, "%s older image: %s", t->name,
              cxr_last_error());
        CHECK(same_results(&first, &second), "%s: a 56-byte cxr_image did not default the window", t->name);
        free_results(&second);
        free_results(&first);
    }
}

/* Weights within the load-time bound that still overflow Float32 on a real image: every call that would
 * return them fails with CXR_E_INVALID_MODEL naming where, never CXR_OK with NaN or an empty caption. */
static void test_overflowing_model(bytes golden, const cxr_image *image) {
    printf("weights that overflow Float32\n");
    bytes overflowing = model_with_values(golden, ".conv", 1e8f, -1);
    cxr_model *model = NULL;
    cxr_session *session = NULL;
    CHECK_OK(cxr_model_load_from_memory(overflowing.data, overflowing.size, &model));
    CHECK_OK(cxr_session_create(model, &session));
    float probabilities[16];
    expected_words = "encoder output is not finite (first at ";
    CASE("findings on convolutions of 1e8", CXR_E_INVALID_MODEL,
         cxr_findings(session, image, NULL, probabilities, 16));
    expected_words = "encoder output is not finite (first at ";
    CASE("generate on convolutions of 1e8", CXR_E_INVALID_MODEL, cxr_generate(session, image, NULL));
    int32_t count = -1;
    CHECK_OK(cxr_result_count(session, &count));
    CHECK(count == 0, "a failed generate left %d results", count);
    cxr_session_free(session);
    cxr_model_free(model);
    free(overflowing.data);
}

static void test_preprocess_and_findings(cxr_session *session, test_image *images, int image_count) {
    printf("preprocess and findings\n");
    size_t side = (size_t)info.input_size;
    uint8_t *seen = (uint8_t *)malloc(side * side), *again = (uint8_t *)malloc(side * side);
    for (int i = 0; i < image_count; i++) {
        const test_image *t = &images[i];
        CHECK(cxr_preprocess(session, &t->image, seen, side * side) == CXR_OK, "%s: %s", t->name, cxr_last_error());
        int min = 255, max = 0;
        for (size_t k = 0; k < side * side; k++) {
            if (seen[k] < min) min = seen[k];
            if (seen[k] > max) max = seen[k];
        }
        CHECK(max == 255, "%s: equalized image's maximum is %d, not 255", t->name, max);
        test_image padded = padded_copy(t, 3);
        CHECK(cxr_preprocess(session, &padded.image, again, side * side + 100) == CXR_OK, "%s padded", t->name);
        CHECK(memcmp(seen, again, side * side) == 0, "%s: padded rows preprocess differently", t->name);
        free(padded.png.pixels);

        float probabilities[16], probabilities_again[16], one_thread_probabilities[16];
        CHECK(cxr_findings(session, &t->image, NULL, probabilities, 16) == CXR_OK, "%s findings: %s", t->name,
              cxr_last_error());
        for (int32_t k = 0; k < info.label_count; k++)
            CHECK(probabilities[k] >= 0 && probabilities[k] <= 1, "%s: probability %g", t->name, probabilities[k]);
        CHECK(cxr_findings(session, &t->image, NULL, probabilities_again, (size_t)info.label_count) == CXR_OK,
              "%s findings again", t->name);
        CHECK(memcmp(probabilities, probabilities_again, (size_t)info.label_count * sizeof(float)) == 0,
              "%s: findings differ between identical calls", t->name);
        /* Another thread count may round differently in the last bits (BLAS partitioning), no more. */
        cxr_generate_params one_thread;
        cxr_generate_params_init(&one_thread, sizeof one_thread);
        one_thread.n_threads = 1;
        CHECK(cxr_findings(session, &t->image, &one_thread, one_thread_probabilities, (size_t)info.label_count)
                  == CXR_OK,
              "%s findings (1 thread)", t->name);
        for (int32_t k = 0; k < info.label_count; k++)
            CHECK(fabsf(probabilities[k] - one_thread_probabilities[k]) <= 1e-5f, "%s: findings with 1 thread "
                  "differ by %g", t->name, (double)fabsf(probabilities[k] - one_thread_probabilities[k]));
        printf("  %s: findings %.4f %.4f %.4f\n", t->name, probabilities[0], probabilities[1], probabilities[2]);
    }
    free(seen);
    free(again);
}

static void test_abort(cxr_session *session, const test_image *t) {
    printf("abort\n");
    results_copy before, after;
    cxr_generate_params params;
    cxr_generate_params_init(&params, sizeof params);
    REQUIRE(generate_copy(session, &t->image, &params, &before) == CXR_OK, "generate: %s", cxr_last_error());

    abort_state counter = {0, 0};
    params.abort_callback = count_and_abort;
    params.abort_user_data = &counter;
    CHECK_OK(cxr_generate(session, &t->image, &params));
    int total_polls = counter.polls;
    CHECK(total_polls >= 8 + 1, "the abort callback was polled %d times (expected at least once per dense layer "
                                "and decoder step)", total_polls);

    int32_t count = -1;
    const int abort_points[] = {1, 2, total_polls / 2, total_polls};
    for (size_t k = 0; k < sizeof abort_points / sizeof abort_points[0]; k++) {
        abort_state state = {0, abort_points[k]};
        char name[64];
        params.abort_user_data = &state;
        snprintf(name, sizeof name, "abort at poll %d of %d", abort_points[k], total_polls);
        CASE(name, CXR_E_ABORTED, cxr_generate(session, &t->image, &params));
        CHECK(state.polls == abort_points[k], "%s: polled %d times after asking to stop", name, state.polls);
        CHECK_OK(cxr_result_count(session, &count));
        CHECK(count == 0, "%s: %d results after an abort", name, count);
    }
    abort_state state = {0, 1};
    params.abort_user_data = &state;
    float probabilities[16];
    CASE("cxr_findings aborted", CXR_E_ABORTED, cxr_findings(session, &t->image, &params, probabilities, 16));

    /* The session is still usable and gives the same results. */
    REQUIRE(generate_copy(session, &t->image, NULL, &after) == CXR_OK, "generate after abort: %s", cxr_last_error());
    CHECK(same_results(&before, &after), "results after an abort differ");
    free_results(&before);
    free_results(&after);
}

/* ------------------------------------------------------------------------------------------------------ */
/* Concurrency: 4 threads, one model, one session each, different images, repeated                        */
/* ------------------------------------------------------------------------------------------------------ */

enum { THREADS = 4, ROUNDS = 3 };

typedef struct job {
    const test_image *image;
    cxr_generate_params params;
    results_copy expected;
} job;

typedef struct worker {
    job *jobs;
    int job_count;
    int first_job;
    int mismatches;
    int errors;
} worker;

static void *run_worker(void *argument) {
    worker *w = (worker *)argument;
    cxr_session *session = NULL;
    if (cxr_session_create(model_under_test, &session) != CXR_OK) {
        w->errors++;
        return NULL;
    }
    for (int round = 0; round < ROUNDS; round++) {
        for (int k = 0; k < w->job_count; k++) {
            job *j = &w->jobs[(w->first_job + k) % w->job_count];
            results_copy got;
            if (generate_copy(session, &j->image->image, &j->params, &got) != CXR_OK) {
                w->errors++;
                continue;
            }
            if (!same_results(&got, &j->expected)) w->mismatches++;
            free_results(&got);
        }
    }
    cxr_session_free(session);
    return NULL;
}

static void test_concurrency(cxr_session *session, test_image *images, int image_count) {
    printf("concurrency: %d threads x %d rounds\n", THREADS, ROUNDS);
    job jobs[8];
    int job_count = 0;
    for (int i = 0; i < image_count && job_count < 8; i++) {
        for (int variant = 0; variant < 2 && job_count < 8; variant++) {
            job *j = &jobs[job_count++];
            j->image = &images[i];
            cxr_generate_params_init(&j->params, sizeof j->params);
            j->params.n_threads = variant == 0 ? 1 : 0;
            if (variant == 1) {
                j->params.beam_width = 5;
                j->params.max_results = 4;
                j->params.length_penalty = 0.5;
            }
            REQUIRE(generate_copy(session, &j->image->image, &j->params, &j->expected) == CXR_OK, "serial: %s",
                    cxr_last_error());
        }
    }
    worker workers[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){jobs, job_count, t, 0, 0};
        REQUIRE(pthread_create(&threads[t], NULL, run_worker, &workers[t]) == 0, "pthread_create");
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(workers[t].errors == 0 && workers[t].mismatches == 0, "thread %d: %d errors, %d results unlike serial",
              t, workers[t].errors, workers[t].mismatches);
    }
    for (int k = 0; k < job_count; k++) free_results(&jobs[k].expected);
}

/* The model may be freed before its sessions: they keep it alive. */
static void test_free_order(bytes golden, const test_image *t) {
    printf("free order\n");
    cxr_model *model = NULL;
    cxr_session *session = NULL;
    REQUIRE(cxr_model_load_from_memory(golden.data, golden.size, &model) == CXR_OK, "load from memory: %s",
            cxr_last_error());
    results_copy from_path, from_memory;
    cxr_session *reference = NULL;
    REQUIRE(cxr_session_create(model_under_test, &reference) == CXR_OK, "session");
    REQUIRE(generate_copy(reference, &t->image, NULL, &from_path) == CXR_OK, "generate");
    cxr_session_free(reference);
    REQUIRE(cxr_session_create(model, &session) == CXR_OK, "session: %s", cxr_last_error());
    cxr_model_free(model);
    CHECK(generate_copy(session, &t->image, NULL, &from_memory) == CXR_OK, "generate after cxr_model_free: %s",
          cxr_last_error());
    CHECK(same_results(&from_path, &from_memory), "a model loaded from memory gives other results than from its file");
    const char *text = NULL;
    if (from_memory.count > 0) {
        CHECK_OK(cxr_result_text(session, 0, &text));
    }
    cxr_session_free(session);
    free_results(&from_path);
    free_results(&from_memory);
}

/* Every PNG under the shared real-cxr folder (when present): captioned, with the invariants. */
static void test_real_images(cxr_session *session, const char *root) {
    struct stat st;
    if (root == NULL || stat(root, &st) != 0) {
        printf("real images: SKIPPED (%s is absent)\n", root ? root : "no folder given");
        return;
    }
    printf("real images in %s\n", root);
    const char *folders[] = {"nih", "iu", "tbx11k", "hannover"};
    cxr_generate_params params;
    cxr_generate_params_init(&params, sizeof params);
    int captioned = 0;
    for (size_t f = 0; f < sizeof folders / sizeof folders[0]; f++) {
        char folder[1024];
        snprintf(folder, sizeof folder, "%s/%s", root, folders[f]);
        DIR *dir = opendir(folder);
        if (dir == NULL) continue;
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            size_t length = strlen(entry->d_name);
            if (length < 5 || strcmp(entry->d_name + length - 4, ".png") != 0) continue;
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", folder, entry->d_name);
            test_image t;
            if (load_test_image(path, entry->d_name, &t) != 0) {
                CHECK(0, "cannot decode %s", path);
                continue;
            }
            results_copy results;
            CHECK(generate_copy(session, &t.image, &params, &results) == CXR_OK, "%s: %s", path, cxr_last_error());
            check_invariants(entry->d_name, &results, &params);
            printf("  %s/%s: \"%s\"\n", folders[f], entry->d_name, results.count ? results.items[0].text : "");
            free_results(&results);
            png_pixels_free(&t.png);
            captioned++;
        }
        closedir(dir);
    }
    CHECK(captioned >= 5, "only %d real images captioned", captioned);
}

static void write_dump(cxr_session *session, test_image *images, int image_count, const char *path) {
    FILE *out = fopen(path, "w");
    REQUIRE(out != NULL, "cannot write %s", path);
    for (int i = 0; i < image_count; i++) {
        for (int variant = 0; variant < 2; variant++) {
            cxr_generate_params params;
            cxr_generate_params_init(&params, sizeof params);
            if (variant == 1) {
                params.beam_width = 5;
                params.max_results = 5;
                params.length_penalty = 0.7;
                params.suppress_unknown = 1;
            }
            results_copy results;
            REQUIRE(generate_copy(session, &images[i].image, &params, &results) == CXR_OK, "dump: %s", cxr_last_error());
            char name[300];
            snprintf(name, sizeof name, "%s/%s", images[i].name, variant == 0 ? "default" : "beam5");
            dump_results(out, name, &results);
            free_results(&results);
        }
    }
    fclose(out);
    printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *model_path = NULL, *fixtures = NULL, *real_root = NULL, *dump_path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc) dump_path = argv[++i];
        else if (model_path == NULL) model_path = argv[i];
        else if (fixtures == NULL) fixtures = argv[i];
        else real_root = argv[i];
    }
    if (model_path == NULL || fixtures == NULL) {
        fprintf(stderr, "usage: test_capi MODEL FIXTURE_DIR [REAL_CXR_DIR] [--dump FILE]\n");
        return 2;
    }
    char temp_dir[] = "/tmp/cxr-capi-test-XXXXXX";
    REQUIRE(mkdtemp(temp_dir) != NULL, "mkdtemp");
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_library();
    test_struct_sizes();
    test_null_arguments_without_model();
    bytes golden = read_file(model_path);
    test_bad_models(golden, temp_dir);

    REQUIRE(cxr_model_load(model_path, &model_under_test) == CXR_OK, "cxr_model_load(%s): %s", model_path,
            cxr_last_error());
    cxr_model_info_init(&info, sizeof info);
    REQUIRE(cxr_model_info(model_under_test, &info) == CXR_OK, "cxr_model_info: %s", cxr_last_error());
    region_count = info.region_count;
    test_model_info();

    const char *names[] = {"nih_txv_00000001_000.png", "iu_CXR3_IM-1384-1001.png"};
    test_image images[2];
    for (int i = 0; i < 2; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", fixtures, names[i]);
        REQUIRE(load_test_image(path, names[i], &images[i]) == 0, "fixture %s", path);
    }
    REQUIRE(images[0].image.format == CXR_PIXEL_GRAY8 && images[1].image.format == CXR_PIXEL_RGB8,
            "fixture formats changed");

    test_overflowing_model(golden, &images[0].image);

    cxr_session *session = NULL;
    REQUIRE(cxr_session_create(model_under_test, &session) == CXR_OK, "cxr_session_create: %s", cxr_last_error());
    int32_t count = -1;
    CHECK_OK(cxr_result_count(session, &count));
    CHECK(count == 0, "a new session has %d results", count);

    test_happy_path(session, images, 2);
    test_preprocess_and_findings(session, images, 2);
    test_abort(session, &images[0]);
    test_concurrency(session, images, 2);
    test_free_order(golden, &images[1]);

    /* The bad-input tables that need a model and a session with results. */
    test_null_arguments_with_model(session, &images[0].image);
    test_bad_images(session, &images[0].image);
    CHECK_OK(cxr_result_count(session, &count));
    CHECK(count == 0, "a failed generate left %d results", count);
    test_bad_params(session, &images[0].image);
    CHECK_OK(cxr_generate(session, &images[0].image, NULL));
    test_result_indices(session);

    test_real_images(session, real_root);
    if (dump_path != NULL) write_dump(session, images, 2, dump_path);

    cxr_session_free(session);
    cxr_model_free(model_under_test);
    for (int i = 0; i < 2; i++) png_pixels_free(&images[i].png);
    free(golden.data);
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", temp_dir);
    if (system(command) != 0) fprintf(stderr, "could not remove %s\n", temp_dir);

    printf("bad-input cases: %d\n", bad_input_cases);
    CHECK(bad_input_cases >= 30, "only %d bad-input cases", bad_input_cases);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
