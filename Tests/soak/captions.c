/* captions.c: many captions in one process, the resident memory printed as it goes. Every caption of an
 * image must equal that image's first (text, log-prob, findings); resident memory after the first
 * checkpoint must stay flat (growth past it is reported, and more than 8 MiB fails the run).
 *
 *   captions MODEL COUNT EVERY IMAGE.png...
 *
 * A fresh session every 100 captions, so session setup and teardown are soaked too. Run by scripts/soak.
 */
#define _POSIX_C_SOURCE 200809L
#include "cxrcaption.h"
#include "png_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { MAX_IMAGES = 16, MAX_LABELS = 64 };

typedef struct first_result {
    char text[512];
    double log_prob;
    float findings[MAX_LABELS];
} first_result;

/* Resident set size in KiB, from /proc/self/statm. */
static long resident_kib(void) {
    long pages_total = 0, pages_resident = 0;
    FILE *file = fopen("/proc/self/statm", "r");
    if (!file) return -1;
    if (fscanf(file, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = -1;
    fclose(file);
    return pages_resident < 0 ? -1 : pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double seconds_now(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: captions MODEL COUNT EVERY IMAGE.png...\n");
        return 2;
    }
    long count = atol(argv[2]), every = atol(argv[3]);
    int image_count = argc - 4 < MAX_IMAGES ? argc - 4 : MAX_IMAGES;
    png_pixels pngs[MAX_IMAGES];
    cxr_image images[MAX_IMAGES];
    for (int i = 0; i < image_count; i++) {
        char error[256];
        if (png_pixels_read(argv[4 + i], &pngs[i], error, sizeof error) != 0) {
            fprintf(stderr, "%s: %s\n", argv[4 + i], error);
            return 1;
        }
        cxr_image_init(&images[i], sizeof images[i]);
        images[i].pixels = pngs[i].pixels;
        images[i].width = pngs[i].width;
        images[i].height = pngs[i].height;
        images[i].row_bytes = pngs[i].row_bytes;
        if (pngs[i].bit_depth == 16) {
            images[i].format = CXR_PIXEL_GRAY16;
        } else {
            images[i].format = pngs[i].channels == 1 ? CXR_PIXEL_GRAY8
                               : pngs[i].channels == 3 ? CXR_PIXEL_RGB8 : CXR_PIXEL_RGBA8;
        }
    }
    cxr_model *model = NULL;
    if (cxr_model_load(argv[1], &model) != CXR_OK) {
        fprintf(stderr, "cxr_model_load: %s\n", cxr_last_error());
        return 1;
    }
    struct cxr_model_info info;
    cxr_model_info_init(&info, sizeof info);
    cxr_model_info(model, &info);
    size_t labels = info.has_findings_head ? (size_t)info.label_count : 0;
    if (labels > MAX_LABELS) labels = MAX_LABELS;

    first_result first[MAX_IMAGES];
    cxr_session *session = NULL;
    long baseline = -1, highest = 0;
    double started = seconds_now();
    int failures = 0;
    printf("%10s %12s %12s %10s\n", "captions", "RSS (KiB)", "vs first", "seconds");
    for (long n = 0; n < count; n++) {
        if (n % 100 == 0) {
            cxr_session_free(session);
            if (cxr_session_create(model, &session) != CXR_OK) {
                fprintf(stderr, "cxr_session_create: %s\n", cxr_last_error());
                return 1;
            }
        }
        int image = (int)(n % image_count);
        cxr_generate_params params;
        cxr_generate_params_init(&params, sizeof params);
        params.n_threads = 0;
        float findings[MAX_LABELS] = {0};
        const char *text = NULL;
        double log_prob = 0;
        if (cxr_generate(session, &images[image], &params) != CXR_OK ||
            cxr_result_text(session, 0, &text) != CXR_OK || cxr_result_log_prob(session, 0, &log_prob) != CXR_OK ||
            (labels && cxr_findings(session, &images[image], &params, findings, labels) != CXR_OK)) {
            fprintf(stderr, "caption %ld (image %d): %s\n", n, image, cxr_last_error());
            return 1;
        }
        if (n < image_count) {
            snprintf(first[image].text, sizeof first[image].text, "%s", text);
            first[image].log_prob = log_prob;
            memcpy(first[image].findings, findings, sizeof findings);
        } else if (strcmp(text, first[image].text) != 0 || log_prob != first[image].log_prob ||
                   memcmp(findings, first[image].findings, sizeof findings) != 0) {
            if (failures++ < 5) fprintf(stderr, "caption %ld (image %d) differs from the first\n", n, image);
        }
        if ((n + 1) % every == 0 || n + 1 == count) {
            long rss = resident_kib();
            if (baseline < 0) baseline = rss;
            if (rss > highest) highest = rss;
            printf("%10ld %12ld %+12ld %10.1f\n", n + 1, rss, rss - baseline, seconds_now() - started);
            fflush(stdout);
        }
    }
    cxr_session_free(session);
    cxr_model_free(model);
    for (int i = 0; i < image_count; i++) png_pixels_free(&pngs[i]);
    long growth = highest - baseline;
    printf("%ld captions of %d images: RSS %ld KiB at the first checkpoint, highest %ld KiB (%+ld KiB); %s\n", count,
           image_count, baseline, highest, growth, failures ? "RESULTS DIFFER" : "every result equal to the first");
    return failures || growth > 8 * 1024 ? 1 : 0;
}
