/*
 * cxrcaption.h: the C API of libcxrcaption, chest X-ray impression generation
 * (DenseNet-121 encoder + attention LSTM decoder + beam search).
 *
 * One header, C99 and C++. Link with -lcxrcaption; the library carries its own (static) Swift runtime, so a
 * machine without a Swift toolchain can run it.
 *
 * Usage:
 *
 *     cxr_model *model = NULL;
 *     if (cxr_model_load("model.safetensors", &model) != CXR_OK) {
 *         fprintf(stderr, "%s\n", cxr_last_error());
 *         return 1;
 *     }
 *     cxr_session *session = NULL;
 *     if (cxr_session_create(model, &session) != CXR_OK) {
 *         fprintf(stderr, "%s\n", cxr_last_error());
 *         cxr_model_free(model);
 *         return 1;
 *     }
 *
 *     cxr_image image;
 *     cxr_image_init(&image, sizeof image);
 *     image.pixels = pixels;              // 8-bit grayscale, rows packed
 *     image.width = width;
 *     image.height = height;
 *     image.format = CXR_PIXEL_GRAY8;
 *
 *     cxr_generate_params params;
 *     cxr_generate_params_init(&params, sizeof params);
 *     params.beam_width = 3;
 *
 *     if (cxr_generate(session, &image, &params) == CXR_OK) {
 *         int32_t count = 0;
 *         cxr_result_count(session, &count);
 *         for (int32_t i = 0; i < count; i++) {
 *             const char *text = NULL;
 *             double score = 0;
 *             cxr_result_text(session, i, &text);
 *             cxr_result_score(session, i, &score);
 *             printf("%d. %s (%.3f)\n", i + 1, text, score);
 *         }
 *     } else {
 *         fprintf(stderr, "%s\n", cxr_last_error());
 *     }
 *     cxr_session_free(session);
 *     cxr_model_free(model);
 *
 * Conventions (they hold for every function below unless its comment says otherwise):
 * - Errors: a fallible call returns a cxr_status; CXR_OK (0) is success. On failure, cxr_last_error() returns
 *   a message for the calling thread that names what was wrong, and every output argument is left as it was
 *   except handles (set to NULL). No argument value (NULL pointers, sizes, ranges, struct sizes, NaN) makes
 *   the library crash or abort the process; it is rejected with a status. What it cannot check is memory:
 *   a non-NULL pointer must point to as much memory as the call or the struct says (e.g. the pixel buffer).
 * - Threads: a cxr_model is immutable after loading and may be used by any number of threads at once.
 *   A cxr_session is used by one thread at a time (it may move between threads); give each concurrent caller
 *   its own session. Functions that take neither are thread-safe.
 * - Versioned structs (cxr_image, cxr_generate_params, cxr_model_info) start with `uint32_t struct_size`,
 *   which the caller sets to sizeof(the struct) of the header it compiled against; the *_init functions do
 *   it. Fields are only ever appended, in whole 8-byte units, so a struct from an older header (a smaller
 *   size that ends on an 8-byte boundary) is accepted and its missing fields take the defaults of *_init.
 *   A size the library does not know (0, not a multiple of 8, or larger than the library's own struct) is
 *   rejected with CXR_E_UNSUPPORTED_STRUCT_SIZE. These structs assume a 64-bit platform.
 * - Strings are UTF-8 and NUL-terminated.
 * - Results are finite or the call fails: every value returned with CXR_OK is a real number (probabilities in
 *   0 ..= 1, log-probabilities and scores finite and <= 0, attention rows summing to 1). A model whose weights
 *   overflow Float32 on an image makes the call return CXR_E_INVALID_MODEL with a message naming where
 *   ("encoder output is not finite (first at denseblock2)"); weights above 1e9 in magnitude are refused when
 *   the model loads. A result may have no tokens (text "") when the model's best first token is <end>.
 */
#ifndef CXRCAPTION_H
#define CXRCAPTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a released function or struct changes incompatibly. Compare with cxr_abi_version(). */
#define CXR_ABI_VERSION 1

/* Most beams one cxr_generate may use (cxr_generate_params.beam_width). */
#define CXR_MAX_BEAM_WIDTH 64
/* Longest sentence cxr_generate may produce, in tokens counting <end> (cxr_generate_params.max_tokens). */
#define CXR_MAX_TOKENS 1024
/* Largest accepted length penalty alpha (cxr_generate_params.length_penalty). */
#define CXR_MAX_LENGTH_PENALTY 100.0
/* Smallest and largest accepted image side, in pixels (cxr_image.width and .height). */
#define CXR_MIN_IMAGE_SIDE 16
#define CXR_MAX_IMAGE_SIDE 16384

/* ------------------------------------------------------------------------------------------------------ */
/* Status                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

/* What a fallible call returns. Values are stable; new ones may be added. */
typedef enum cxr_status {
    CXR_OK = 0,
    /* An argument is NULL where it must not be, or a value is out of its documented range. */
    CXR_E_INVALID_ARGUMENT = 1,
    /* A file could not be opened or read. */
    CXR_E_IO = 2,
    /* The weights are malformed, inconsistent, or not a cxrcaption model; or they overflow Float32 on the
     * image being run (the message names where). */
    CXR_E_INVALID_MODEL = 3,
    /* The image description or its pixels are not acceptable (sizes, format, window, NaN/Inf). */
    CXR_E_INVALID_IMAGE = 4,
    /* A versioned struct's struct_size is not one this library knows. */
    CXR_E_UNSUPPORTED_STRUCT_SIZE = 5,
    /* The caller's abort callback asked to stop. The session stays usable; it holds no results. */
    CXR_E_ABORTED = 6,
    /* An index (result, label, token id) is outside its range. */
    CXR_E_OUT_OF_RANGE = 7,
    /* Memory for the request could not be obtained, or the request exceeds the library's size limits. */
    CXR_E_OUT_OF_MEMORY = 8,
    /* A failure inside the library that no input should cause; please report it with the message. */
    CXR_E_INTERNAL = 9
} cxr_status;

/* ------------------------------------------------------------------------------------------------------ */
/* Library                                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

/* The ABI version the library was built with (CXR_ABI_VERSION of its header). A program may refuse to run
 * when it differs from the CXR_ABI_VERSION it was compiled with. Thread-safe; cannot fail. */
uint32_t cxr_abi_version(void);

/* The library's version, e.g. "0.1.0". Static storage: never freed, valid for the life of the process.
 * Thread-safe; cannot fail. */
const char *cxr_version(void);

/* A short English name for a status, e.g. "invalid image" ("unknown status" for a value the library does not
 * know). Static storage. Thread-safe; cannot fail. */
const char *cxr_status_string(cxr_status status);

/* The message of the calling thread's most recent failed call, naming what was wrong (e.g. "image row_bytes
 * 100 is less than width 256 x 1 byte"); "" when this thread has had no failure. Successful calls do not
 * clear it. Owned by the library: valid on this thread until its next failed call or its exit. Never NULL.
 * Thread-safe (each thread has its own message). */
const char *cxr_last_error(void);

/* ------------------------------------------------------------------------------------------------------ */
/* Model                                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

/* A loaded model (weights, configuration, vocabulary, labels). Opaque; immutable after loading; shareable by
 * any number of sessions on any threads at once. */
typedef struct cxr_model cxr_model;

/* How token strings are joined into text (cxr_model_info.join_rule). */
typedef enum cxr_join_rule {
    /* Tokens are concatenated (Chinese). */
    CXR_JOIN_CONCATENATE = 0,
    /* Tokens are separated by one space; punctuation attaches to the previous token (English). */
    CXR_JOIN_SPACE_SEPARATED = 1
} cxr_join_rule;

/* What a model is (filled by cxr_model_info). Versioned: set struct_size (cxr_model_info_init does).
 * Like POSIX `struct stat` and stat(), the struct shares its name with the function that fills it, so it is
 * written `struct cxr_model_info` (no typedef). */
struct cxr_model_info {
    uint32_t struct_size;
    /* The N of the weights file's "cxrcaption/N" format. */
    int32_t format_version;
    /* Tokens in the vocabulary (ids 0 ..< vocab_size), special tokens included. */
    int32_t vocab_size;
    /* Side of the square model input in pixels (256 for the published design): what cxr_preprocess writes. */
    int32_t input_size;
    /* Image channels the encoder takes (1, or 3 for ImageNet-style weights). */
    int32_t input_channels;
    /* 1 when the model has a findings head (then label_count > 0 and cxr_findings works), else 0. */
    int32_t has_findings_head;
    /* Labels of the findings head (0 without one); names via cxr_model_label. */
    int32_t label_count;
    /* A cxr_join_rule. */
    int32_t join_rule;
    /* Side of the attention grid (input_size / 32, 8 for 256) and the regions it has (grid x grid, 64):
     * each attention map of a result is region_count floats, region r = y * attention_grid + x. */
    int32_t attention_grid;
    int32_t region_count;
    /* Version of the image intake pipeline the model was trained with. */
    int32_t preprocessing_version;
    /* The id of the unknown-word token <nou> (cxr_generate_params.suppress_unknown bans it). */
    int32_t unknown_token_id;
};

/* Loads and validates a model from a `.safetensors` file (docs/WEIGHTS.md in the source tree).
 * On success *out_model is a new model that the caller frees with cxr_model_free; on failure it is set to NULL
 * and the status says why: CXR_E_INVALID_ARGUMENT (path or out_model NULL), CXR_E_IO (missing or unreadable
 * file), CXR_E_INVALID_MODEL (anything wrong with the contents), CXR_E_OUT_OF_MEMORY.
 * The file is not kept open. Thread-safe. */
cxr_status cxr_model_load(const char *path, cxr_model **out_model);

/* Like cxr_model_load, from `size` bytes at `data` (the contents of a `.safetensors` file). The bytes are
 * copied during the call and not retained: the caller may free them as soon as it returns. Thread-safe. */
cxr_status cxr_model_load_from_memory(const void *data, size_t size, cxr_model **out_model);

/* Releases the caller's reference to a model. Sessions created from it keep it alive until they are freed,
 * so the order of frees does not matter; strings obtained from the model (cxr_model_label, cxr_model_token,
 * cxr_model_metadata) are valid until the model and all its sessions are freed. NULL is accepted and ignored.
 * Must not be called twice for one model, nor while another thread still uses this handle. */
void cxr_model_free(cxr_model *model);

/* Fills a cxr_model_info with its default (zero) values and sets info->struct_size = struct_size. Pass
 * sizeof(struct cxr_model_info). Writes exactly struct_size bytes. Returns CXR_E_INVALID_ARGUMENT for NULL,
 * CXR_E_UNSUPPORTED_STRUCT_SIZE for an unknown size. Thread-safe. */
cxr_status cxr_model_info_init(struct cxr_model_info *info, uint32_t struct_size);

/* Describes a model: writes the first info->struct_size bytes of *info (the caller sets struct_size, e.g.
 * with cxr_model_info_init). Errors: CXR_E_INVALID_ARGUMENT (NULL), CXR_E_UNSUPPORTED_STRUCT_SIZE.
 * Thread-safe. */
cxr_status cxr_model_info(const cxr_model *model, struct cxr_model_info *info);

/* The name of findings label `index` (0 ..< label_count), in the order cxr_findings reports them.
 * *out_name is owned by the model (see cxr_model_free). Errors: CXR_E_INVALID_ARGUMENT (NULL),
 * CXR_E_OUT_OF_RANGE (index outside 0 ..< label_count, which is every index for a model without a findings
 * head). Thread-safe. */
cxr_status cxr_model_label(const cxr_model *model, int32_t index, const char **out_name);

/* The string of vocabulary token `token_id` (0 ..< vocab_size), e.g. to label the attention map of each
 * token of a result. Special tokens are returned as they appear in the vocabulary ("<end>", "<nou>", ...).
 * *out_token is owned by the model (see cxr_model_free). Errors: CXR_E_INVALID_ARGUMENT (NULL),
 * CXR_E_OUT_OF_RANGE. Thread-safe. */
cxr_status cxr_model_token(const cxr_model *model, int32_t token_id, const char **out_token);

/* The weights file's metadata entry `key` (its `__metadata__`, docs/WEIGHTS.md in the source tree), as UTF-8
 * text: what a viewer shows beside the results, e.g.
 *     "name"          the model's name            "version"     its version
 *     "intended_use"  what it is for              "disclaimer"  e.g. "Not for clinical use."
 *     "description", "license", "training_data"
 * (any other key of the file too, e.g. "config" as JSON). *out_value is owned by the model (see
 * cxr_model_free), or NULL when the file has no such entry, which is not an error. Errors:
 * CXR_E_INVALID_ARGUMENT (NULL model, key or out_value). Thread-safe. */
cxr_status cxr_model_metadata(const cxr_model *model, const char *key, const char **out_value);

/* ------------------------------------------------------------------------------------------------------ */
/* Images                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

/* How a pixel buffer is laid out (cxr_image.format). Multi-byte samples are in the machine's byte order. */
typedef enum cxr_pixel_format {
    /* One uint8_t per pixel. */
    CXR_PIXEL_GRAY8 = 1,
    /* One uint16_t per pixel; bits_stored says how many low bits are significant. */
    CXR_PIXEL_GRAY16 = 2,
    /* One float per pixel; every value must be finite. */
    CXR_PIXEL_GRAYF32 = 3,
    /* Three uint8_t per pixel: red, green, blue; gray = (299 R + 587 G + 114 B + 500) / 1000 (integer
     * division: ITU-R 601-2 luma rounded half up). */
    CXR_PIXEL_RGB8 = 4,
    /* Four uint8_t per pixel: red, green, blue, alpha (alpha is ignored). */
    CXR_PIXEL_RGBA8 = 5
} cxr_pixel_format;

/* DICOM photometric interpretation of a grayscale image (cxr_image.photometric). */
typedef enum cxr_photometric {
    /* Low values are dark: the usual case, and every RGB input. */
    CXR_MONOCHROME2 = 0,
    /* Low values are bright (many CR images): inverted after the VOI window. */
    CXR_MONOCHROME1 = 1
} cxr_photometric;

/* A caller's pixel buffer and what it means. Versioned: initialize with cxr_image_init. The exact meaning of
 * each field is defined by docs/INTAKE.md in the source tree (the intake pipeline the model was trained
 * with); the library reads the buffer during the call and does not keep it. */
typedef struct cxr_image {
    uint32_t struct_size;
    /* A cxr_pixel_format. Default CXR_PIXEL_GRAY8. */
    int32_t format;
    /* The first row. The buffer must hold row_bytes x (height - 1) + width x bytes-per-pixel bytes. It need
     * not be aligned (GRAY16 and GRAYF32 samples are read unaligned). */
    const void *pixels;
    /* In pixels, CXR_MIN_IMAGE_SIDE ..= CXR_MAX_IMAGE_SIDE. */
    int32_t width;
    int32_t height;
    /* Bytes from the start of one row to the next, >= width x bytes-per-pixel; 0 means exactly that (rows
     * packed). Default 0. */
    uint64_t row_bytes;
    /* GRAY16 only: significant low bits, 1 ..= 16 (bits above are masked off). Default 16; ignored for other
     * formats. */
    int32_t bits_stored;
    /* A cxr_photometric. Default CXR_MONOCHROME2. */
    int32_t photometric;
    /* Modality LUT: value = stored x rescale_slope + rescale_intercept. Finite. Default 1 and 0. */
    double rescale_slope;
    double rescale_intercept;
    /* 1: apply the DICOM linear VOI window (window_center, window_width) to [0, 1]; 0: no window (the
     * image's own min ..= max maps to [0, 1], and 8-bit input maps 0 ..= 255 unchanged). Default 0.
     * With a window, window_center must be finite and window_width finite and > 1 (DICOM PS3.3
     * C.11.2.1.2.1); any other width (0, negative, 1, NaN) is rejected with CXR_E_INVALID_IMAGE. */
    int32_t has_window;
    double window_center;
    double window_width;
} cxr_image;

/* Fills *image with the defaults (documented per field; pixels NULL, width and height 0) and sets
 * image->struct_size = struct_size. Pass sizeof(cxr_image). Writes exactly struct_size bytes.
 * Errors: CXR_E_INVALID_ARGUMENT (NULL), CXR_E_UNSUPPORTED_STRUCT_SIZE. Thread-safe. */
cxr_status cxr_image_init(cxr_image *image, uint32_t struct_size);

/* ------------------------------------------------------------------------------------------------------ */
/* Sessions and generation                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

/* Per-caller state: scratch memory and the results of the last cxr_generate. Opaque. One thread at a time. */
typedef struct cxr_session cxr_session;

/* Polled every 64 image rows during intake, between dense layers of the encoder and between decoder steps,
 * on the thread that called cxr_generate / cxr_findings. Return non-zero to stop the call with CXR_E_ABORTED.
 * Must be cheap, must not call into this library with the same session, and must return normally (no
 * longjmp, no C++ exception). */
typedef int (*cxr_abort_callback)(void *user_data);

/* Options for cxr_generate (and cxr_findings, which uses and checks only n_threads and the abort callback).
 * Versioned: initialize with cxr_generate_params_init. */
typedef struct cxr_generate_params {
    uint32_t struct_size;
    /* Beams k, 1 ..= CXR_MAX_BEAM_WIDTH. Default 3. */
    int32_t beam_width;
    /* Results returned, 1 ..= beam_width. Default 3. */
    int32_t max_results;
    /* Longest sentence in tokens, counting <end>, 1 ..= CXR_MAX_TOKENS. Default 60. */
    int32_t max_tokens;
    /* alpha in the length penalty ((5 + len) / 6)^alpha that ranks results; 0 ..= CXR_MAX_LENGTH_PENALTY;
     * 0 = off. Default 0. */
    double length_penalty;
    /* Non-zero: never emit the unknown-word token <nou>. Default 0. */
    int32_t suppress_unknown;
    /* Non-zero: keep one attention map per emitted token (cxr_result_attention). Default 1. */
    int32_t return_attention;
    /* Most threads this call may use, >= 0; 0 = all cores. Default 0. The library threads its own work on
     * worker threads it starts on first use and keeps for the life of the process (they spin briefly after
     * each job, then sleep), and calls the system OpenBLAS single-threaded: it sets
     * openblas_set_num_threads(1), which is process-wide, so a host that uses the same OpenBLAS for its own
     * work sees that setting. Results do not depend on n_threads (on one machine, they are the same bits
     * with any value). */
    int32_t n_threads;
    /* Optional (NULL = never abort). Default NULL. */
    cxr_abort_callback abort_callback;
    /* Passed to abort_callback unchanged. Default NULL. */
    void *abort_user_data;
    /* Appended after 0.1.0: a struct_size of 56 (0.1.0's struct) gives the fields below their defaults. */
    /* n >= 1: a token that would complete an n-gram the sentence already contains is never emitted
     * (Hugging Face's no_repeat_ngram_size; docs/DECODING.md, rule 2a); 1 bans every emitted token from
     * recurring. 0 ..= CXR_MAX_TOKENS; 0 = off. Default 0. */
    int32_t no_repeat_ngram_size;
    /* Non-zero: the results are the best ones whose texts differ after normalization (case, whitespace and
     * punctuation ignored; docs/DECODING.md, rule 7), searching again with up to distinct_extra_beam more
     * beams until max_results of them are found; cxr_result_distinct says whether they were. Default 0. */
    int32_t distinct_results;
    /* How many beams the distinct search may add to beam_width (its widest search uses
     * min(beam_width + distinct_extra_beam, CXR_MAX_BEAM_WIDTH)); 0 ..= CXR_MAX_BEAM_WIDTH; 0 only drops
     * duplicates. Used only with distinct_results. Default 9. */
    int32_t distinct_extra_beam;
    /* Non-zero: the decoding settings the model recommends (its `generation` metadata, docs/WEIGHTS.md:
     * max_tokens, length_penalty, suppress_unknown, no_repeat_ngram_size, distinct_results,
     * distinct_extra_beam) replace the fields of those names; fields it does not name keep this struct's
     * values, and so do beam_width, max_results, return_attention and n_threads. No effect with a model
     * that recommends nothing. Default 0: the published plain beam search. */
    int32_t use_model_defaults;
} cxr_generate_params;

/* Fills *params with the defaults (documented per field) and sets params->struct_size = struct_size. Pass
 * sizeof(cxr_generate_params). Writes exactly struct_size bytes. Errors: CXR_E_INVALID_ARGUMENT (NULL),
 * CXR_E_UNSUPPORTED_STRUCT_SIZE. Thread-safe. */
cxr_status cxr_generate_params_init(cxr_generate_params *params, uint32_t struct_size);

/* Creates a session for `model`; the session keeps the model alive until cxr_session_free.
 * On success the caller frees *out_session with cxr_session_free; on failure it is set to NULL.
 * Errors: CXR_E_INVALID_ARGUMENT (NULL model, e.g. after a failed load, or NULL out_session),
 * CXR_E_OUT_OF_MEMORY. Thread-safe (any number of threads may create sessions from one model at once). */
cxr_status cxr_session_create(cxr_model *model, cxr_session **out_session);

/* Frees a session, its scratch memory and its results (every pointer obtained from cxr_result_* becomes
 * invalid). NULL is accepted and ignored. Must not be called twice, nor while the session is in use. */
void cxr_session_free(cxr_session *session);

/* Captions an image: intake -> encoder -> beam search. On success the session holds up to
 * params->max_results results, best first (highest score first), read with cxr_result_*; they stay valid
 * until the next cxr_generate on this session or cxr_session_free. Any earlier results are released when the
 * call starts, also when it fails (then the session holds none). `params` may be NULL for the defaults.
 * Errors: CXR_E_INVALID_ARGUMENT (NULL session or image, a parameter out of range),
 * CXR_E_UNSUPPORTED_STRUCT_SIZE, CXR_E_INVALID_IMAGE, CXR_E_ABORTED (the session stays usable),
 * CXR_E_INVALID_MODEL (the weights overflow Float32 on this image), CXR_E_OUT_OF_MEMORY. One thread at a time
 * per session. */
cxr_status cxr_generate(cxr_session *session, const cxr_image *image, const cxr_generate_params *params);

/* Writes "what the model saw": the input_size x input_size equalized 8-bit image, row-major, into
 * out_pixels, which holds out_size >= input_size * input_size bytes (cxr_model_info). Does not touch the
 * session's results. Errors: CXR_E_INVALID_ARGUMENT (NULL, out_size too small), CXR_E_UNSUPPORTED_STRUCT_SIZE,
 * CXR_E_INVALID_IMAGE, CXR_E_OUT_OF_MEMORY. One thread at a time per session. */
cxr_status cxr_preprocess(cxr_session *session, const cxr_image *image, uint8_t *out_pixels, size_t out_size);

/* Runs the encoder and the findings head: writes the probability (0 ..= 1) of each label, in
 * cxr_model_label order, into out_probabilities, which holds out_count >= label_count floats. Uses
 * params->n_threads and the abort callback (params may be NULL); the other fields are ignored, not checked,
 * so a zeroed struct with struct_size set is fine. Does not touch the session's results.
 * Errors: CXR_E_INVALID_ARGUMENT (NULL, out_count too small, the model has no findings head),
 * CXR_E_UNSUPPORTED_STRUCT_SIZE, CXR_E_INVALID_IMAGE, CXR_E_ABORTED, CXR_E_INVALID_MODEL (the weights
 * overflow Float32 on this image), CXR_E_OUT_OF_MEMORY.
 * One thread at a time per session. */
cxr_status cxr_findings(cxr_session *session, const cxr_image *image, const cxr_generate_params *params,
                        float *out_probabilities, size_t out_count);

/* ------------------------------------------------------------------------------------------------------ */
/* Results of the last cxr_generate (index 0 is the best). Every pointer returned is owned by the session and
 * valid until its next cxr_generate or cxr_session_free. All are read-only and may be called by the thread
 * that owns the session. Errors: CXR_E_INVALID_ARGUMENT (NULL), CXR_E_OUT_OF_RANGE (index outside
 * 0 ..< cxr_result_count).                                                                               */
/* ------------------------------------------------------------------------------------------------------ */

/* The number of results the last successful cxr_generate produced (0 before the first one, or after a
 * failed one). */
cxr_status cxr_result_count(const cxr_session *session, int32_t *out_count);

/* The impression as UTF-8 text, NUL-terminated: the tokens joined by the model's join rule. */
cxr_status cxr_result_text(const cxr_session *session, int32_t index, const char **out_text);

/* The sum of the log-probabilities of the emitted tokens, <end> included when it was emitted. */
cxr_status cxr_result_log_prob(const cxr_session *session, int32_t index, double *out_log_prob);

/* The ranking score: log_prob / ((5 + n) / 6)^length_penalty, n = emitted tokens counting <end>.
 * Results are ordered by descending score. */
cxr_status cxr_result_score(const cxr_session *session, int32_t index, double *out_score);

/* 1 when max_tokens was reached before <end>, else 0. */
cxr_status cxr_result_truncated(const cxr_session *session, int32_t index, int32_t *out_truncated);

/* 1 when the last successful cxr_generate returned max_results results whose normalized texts
 * (docs/DECODING.md, rule 7) are pairwise distinct, else 0 (also before the first one or after a failed
 * one). Computed with or without params.distinct_results. Takes no index. */
cxr_status cxr_result_distinct(const cxr_session *session, int32_t *out_distinct);

/* The number of emitted tokens (without <start> and <end>). */
cxr_status cxr_result_token_count(const cxr_session *session, int32_t index, int32_t *out_count);

/* The emitted token ids (cxr_result_token_count of them; cxr_model_token names them). *out_tokens is NULL
 * when there are none. */
cxr_status cxr_result_tokens(const cxr_session *session, int32_t index, const int32_t **out_tokens);

/* The attention maps: token_count x region_count floats (cxr_model_info), row-major; row t is the map of
 * the step that emitted token t, region r = y * attention_grid + x; each row sums to 1. *out_attention is
 * NULL when the result has no tokens or params.return_attention was 0. */
cxr_status cxr_result_attention(const cxr_session *session, int32_t index, const float **out_attention);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CXRCAPTION_H */
