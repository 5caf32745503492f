/* threads.c: 8 threads share one cxr_model, each with its own session, each captioning every image ROUNDS
 * times (and running the findings head), with 1 or 2 library threads per call; every result must be
 * identical, bit for bit, to a serial run's. Built and run under ThreadSanitizer by scripts/sanitize (a data
 * race inside the library is a TSan report; a result that depends on the interleaving is a failure here).
 *
 *   threads MODEL ROUNDS IMAGE.png...
 */
#include "cxrcaption.h"
#include "png_reader.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 8, MAX_IMAGES = 8, MAX_RESULTS = 3 };

typedef struct outcome {
    char text[MAX_RESULTS][512];
    double log_prob[MAX_RESULTS];
    int32_t count;
    float findings[64];
} outcome;

static cxr_model *model;
static cxr_image images[MAX_IMAGES];
static int image_count, rounds;
static size_t label_count; /* the findings head's labels, at most 64 (0: no head) */
static outcome serial[MAX_IMAGES];
static int failures;
static pthread_mutex_t failures_lock = PTHREAD_MUTEX_INITIALIZER;

static int run(cxr_session *session, int image, int threads, outcome *out) {
    cxr_generate_params params;
    cxr_generate_params_init(&params, sizeof params);
    params.n_threads = threads;
    if (cxr_generate(session, &images[image], &params) != CXR_OK) return -1;
    cxr_result_count(session, &out->count);
    for (int32_t i = 0; i < out->count && i < MAX_RESULTS; i++) {
        const char *text = NULL;
        cxr_result_text(session, i, &text);
        snprintf(out->text[i], sizeof out->text[i], "%s", text);
        cxr_result_log_prob(session, i, &out->log_prob[i]);
    }
    memset(out->findings, 0, sizeof out->findings);
    if (label_count == 0) return 0;
    return cxr_findings(session, &images[image], &params, out->findings, label_count) == CXR_OK ? 0 : -1;
}

static int same(const outcome *a, const outcome *b) {
    if (a->count != b->count || memcmp(a->findings, b->findings, sizeof a->findings) != 0) return 0;
    for (int32_t i = 0; i < a->count && i < MAX_RESULTS; i++)
        if (strcmp(a->text[i], b->text[i]) != 0 || a->log_prob[i] != b->log_prob[i]) return 0;
    return 1;
}

static void *worker(void *argument) {
    int index = (int)(intptr_t)argument;
    cxr_session *session = NULL;
    if (cxr_session_create(model, &session) != CXR_OK) {
        fprintf(stderr, "thread %d: cxr_session_create: %s\n", index, cxr_last_error());
        exit(1);
    }
    for (int round = 0; round < rounds; round++) {
        for (int image = 0; image < image_count; image++) {
            outcome result;
            int threads = 1 + (index + round) % 2;  /* the library's own threads too, results unchanged */
            if (run(session, image, threads, &result) != 0 || !same(&result, &serial[image])) {
                pthread_mutex_lock(&failures_lock);
                failures++;
                fprintf(stderr, "thread %d round %d image %d: %s\n", index, round, image,
                        cxr_last_error()[0] ? cxr_last_error() : "results differ from the serial run");
                pthread_mutex_unlock(&failures_lock);
            }
        }
    }
    cxr_session_free(session);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: threads MODEL ROUNDS IMAGE.png...\n");
        return 2;
    }
    rounds = atoi(argv[2]);
    image_count = argc - 3 < MAX_IMAGES ? argc - 3 : MAX_IMAGES;
    png_pixels pngs[MAX_IMAGES];
    for (int i = 0; i < image_count; i++) {
        char error[256];
        if (png_pixels_read(argv[3 + i], &pngs[i], error, sizeof error) != 0 || pngs[i].bit_depth != 8) {
            fprintf(stderr, "%s: %s\n", argv[3 + i], pngs[i].bit_depth != 8 ? "not 8-bit" : error);
            return 1;
        }
        cxr_image_init(&images[i], sizeof images[i]);
        images[i].pixels = pngs[i].pixels;
        images[i].width = pngs[i].width;
        images[i].height = pngs[i].height;
        images[i].row_bytes = pngs[i].row_bytes;
        images[i].format = pngs[i].channels == 1 ? CXR_PIXEL_GRAY8
                           : pngs[i].channels == 3 ? CXR_PIXEL_RGB8 : CXR_PIXEL_RGBA8;
    }
    if (cxr_model_load(argv[1], &model) != CXR_OK) {
        fprintf(stderr, "cxr_model_load: %s\n", cxr_last_error());
        return 1;
    }
    struct cxr_model_info info;
    cxr_model_info_init(&info, sizeof info);
    cxr_model_info(model, &info);
    if (info.has_findings_head && info.label_count > 64) {
        fprintf(stderr, "the model has %d labels; this program compares at most 64\n", info.label_count);
        return 1;
    }
    label_count = info.has_findings_head ? (size_t)info.label_count : 0;
    cxr_session *session = NULL;
    if (cxr_session_create(model, &session) != CXR_OK) return 1;
    for (int i = 0; i < image_count; i++) {
        if (run(session, i, 1, &serial[i]) != 0) {
            fprintf(stderr, "serial run of image %d: %s\n", i, cxr_last_error());
            return 1;
        }
    }
    cxr_session_free(session);

    pthread_t threads[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&threads[i], NULL, worker, (void *)(intptr_t)i);
    for (int i = 0; i < THREADS; i++) pthread_join(threads[i], NULL);
    cxr_model_free(model);
    for (int i = 0; i < image_count; i++) png_pixels_free(&pngs[i]);
    printf("%d threads x %d rounds x %d images on one model: %s\n", THREADS, rounds, image_count,
           failures == 0 ? "every result identical to the serial run" : "FAILED");
    return failures == 0 ? 0 : 1;
}
