/* capi_bench.c: times libcxrcaption through its C API (include/cxrcaption.h) for benchmarks/bench.py.
 *
 *   cc -O2 capi_bench.c -I../include -L<lib dir> -lcxrcaption -lpthread -Wl,-rpath,<lib dir> -o capi_bench
 *
 * Images are raw 8-bit grayscale files (rows packed) named NAME.WIDTHxHEIGHT.gray8, written by bench.py.
 *
 *   capi_bench serve MODEL IMAGE THREADS   reads commands from stdin, one per line, answers one line each:
 *                                          "encoder" -> ms of cxr_findings (intake + encoder + findings head),
 *                                          "caption" -> ms of cxr_generate (intake + encoder + beam 3),
 *                                          "quit"; each answer is "WALL_MS CPU_MS" (CPU: the process's
 *                                          CPU time, all threads). Prints "ready" once loaded.
 *   capi_bench probe MODEL IMAGE           loads the model, captions IMAGE once (all cores) and prints
 *                                          "load_ms X rss_kib Y text ..." (peak RSS of this process).
 *   capi_bench load MODEL N                loads and frees the model N times; prints each load's ms.
 *   capi_bench folder MODEL SESSIONS THREADS IMAGE...
 *                                          SESSIONS threads, each with its own session on one shared
 *                                          model and THREADS threads per call, caption the images (each
 *                                          image once, taken from a shared queue); prints
 *                                          "images N seconds S images_per_s R".
 */
#define _POSIX_C_SOURCE 200809L
#include "cxrcaption.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    unsigned char *pixels;
    int width, height;
} gray_image;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/* CPU time of the whole process (all threads), in ms: unlike wall time, not inflated while the machine's
 * other work keeps this process off the CPU. */
static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
    fprintf(stderr, "capi_bench: %s: %s\n", what, cxr_last_error());
    exit(1);
}

/* Reads NAME.WxH.gray8. */
static gray_image read_gray(const char *path) {
    gray_image image = {0};
    const char *dims = strrchr(path, '/');
    dims = dims ? dims : path;
    const char *x = NULL;
    for (const char *p = dims; *p; p++) {
        if (*p == '.' && sscanf(p + 1, "%dx%d.gray8", &image.width, &image.height) == 2) x = p;
    }
    if (!x || image.width <= 0 || image.height <= 0) {
        fprintf(stderr, "capi_bench: %s: name must end in .WIDTHxHEIGHT.gray8\n", path);
        exit(2);
    }
    size_t size = (size_t)image.width * (size_t)image.height;
    image.pixels = malloc(size);
    FILE *file = fopen(path, "rb");
    if (!file || !image.pixels || fread(image.pixels, 1, size, file) != size) {
        fprintf(stderr, "capi_bench: cannot read %zu bytes from %s\n", size, path);
        exit(2);
    }
    fclose(file);
    return image;
}

static cxr_image describe(const gray_image *gray) {
    cxr_image image;
    cxr_image_init(&image, sizeof image);
    image.pixels = gray->pixels;
    image.width = gray->width;
    image.height = gray->height;
    image.format = CXR_PIXEL_GRAY8;
    return image;
}

static cxr_generate_params params_for(int threads) {
    cxr_generate_params params;
    /* The 0.1.0 struct (up to abort_user_data): the benchmark uses no later field, and so the same program
     * also runs against an older library (--baseline-lib), which refuses a struct larger than its own. */
    cxr_generate_params_init(&params, offsetof(cxr_generate_params, abort_user_data) + sizeof params.abort_user_data);
    params.beam_width = 3;
    params.max_results = 3;
    params.n_threads = threads;
    return params;
}

static int serve(const char *model_path, const char *image_path, int threads) {
    gray_image gray = read_gray(image_path);
    cxr_model *model = NULL;
    cxr_session *session = NULL;
    if (cxr_model_load(model_path, &model) != CXR_OK) die("load");
    if (cxr_session_create(model, &session) != CXR_OK) die("session");
    struct cxr_model_info info;
    cxr_model_info_init(&info, sizeof info);
    cxr_model_info(model, &info);
    float *probabilities = calloc(info.label_count > 0 ? info.label_count : 1, sizeof(float));
    cxr_image image = describe(&gray);
    cxr_generate_params params = params_for(threads);
    printf("ready labels %d\n", info.label_count);
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        double start = now_ms(), cpu_start = cpu_ms(), elapsed;
        if (strncmp(line, "encoder", 7) == 0) {
            if (info.label_count <= 0) {
                printf("nan\n");
                fflush(stdout);
                continue;
            }
            if (cxr_findings(session, &image, &params, probabilities, (size_t)info.label_count) != CXR_OK)
                die("findings");
            elapsed = now_ms() - start;
        } else if (strncmp(line, "caption", 7) == 0) {
            if (cxr_generate(session, &image, &params) != CXR_OK) die("generate");
            elapsed = now_ms() - start;
        } else {
            break;
        }
        printf("%.4f %.4f\n", elapsed, cpu_ms() - cpu_start);
        fflush(stdout);
    }
    cxr_session_free(session);
    cxr_model_free(model);
    free(probabilities);
    free(gray.pixels);
    return 0;
}

/* VmHWM of /proc/self/status: this process's own peak RSS. (getrusage's ru_maxrss is not: Linux carries
 * the parent's peak across fork + exec, so a child of a big Python process would report the parent's.) */
static long peak_rss_kib(void) {
    FILE *file = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (file && fgets(line, sizeof line, file)) {
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
    }
    if (file) fclose(file);
    return kib;
}

static int probe(const char *model_path, const char *image_path) {
    gray_image gray = read_gray(image_path);
    double start = now_ms();
    cxr_model *model = NULL;
    if (cxr_model_load(model_path, &model) != CXR_OK) die("load");
    double load = now_ms() - start;
    cxr_session *session = NULL;
    if (cxr_session_create(model, &session) != CXR_OK) die("session");
    cxr_image image = describe(&gray);
    cxr_generate_params params = params_for(0);
    if (cxr_generate(session, &image, &params) != CXR_OK) die("generate");
    const char *text = "";
    cxr_result_text(session, 0, &text);
    printf("load_ms %.3f rss_kib %ld text %s\n", load, peak_rss_kib(), text);
    cxr_session_free(session);
    cxr_model_free(model);
    free(gray.pixels);
    return 0;
}

static int load_times(const char *model_path, int count) {
    for (int i = 0; i < count; i++) {
        double start = now_ms();
        cxr_model *model = NULL;
        if (cxr_model_load(model_path, &model) != CXR_OK) die("load");
        printf("%.4f\n", now_ms() - start);
        cxr_model_free(model);
    }
    return 0;
}

typedef struct {
    cxr_model *model;
    gray_image *images;
    int count;
    int threads;
    atomic_int *next;
} folder_job;

static void *folder_worker(void *argument) {
    folder_job *job = argument;
    cxr_session *session = NULL;
    if (cxr_session_create(job->model, &session) != CXR_OK) die("session");
    cxr_generate_params params = params_for(job->threads);
    for (;;) {
        int index = atomic_fetch_add(job->next, 1);
        if (index >= job->count) break;
        cxr_image image = describe(&job->images[index]);
        if (cxr_generate(session, &image, &params) != CXR_OK) die("generate");
    }
    cxr_session_free(session);
    return NULL;
}

static int folder(const char *model_path, int sessions, int threads, int count, char **paths) {
    gray_image *images = calloc((size_t)count, sizeof *images);
    for (int i = 0; i < count; i++) images[i] = read_gray(paths[i]);
    cxr_model *model = NULL;
    if (cxr_model_load(model_path, &model) != CXR_OK) die("load");
    /* One warm-up caption so that first-touch page faults are not timed. */
    {
        atomic_int zero = count - 1;
        folder_job warm = {model, images, count, threads, &zero};
        folder_worker(&warm);
    }
    atomic_int next = 0;
    folder_job job = {model, images, count, threads, &next};
    pthread_t *workers = calloc((size_t)sessions, sizeof *workers);
    double start = now_ms();
    for (int i = 0; i < sessions; i++) pthread_create(&workers[i], NULL, folder_worker, &job);
    for (int i = 0; i < sessions; i++) pthread_join(workers[i], NULL);
    double seconds = (now_ms() - start) / 1e3;
    printf("images %d seconds %.3f images_per_s %.3f\n", count, seconds, count / seconds);
    cxr_model_free(model);
    for (int i = 0; i < count; i++) free(images[i].pixels);
    free(images);
    free(workers);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 5 && strcmp(argv[1], "serve") == 0) return serve(argv[2], argv[3], atoi(argv[4]));
    if (argc >= 4 && strcmp(argv[1], "probe") == 0) return probe(argv[2], argv[3]);
    if (argc >= 4 && strcmp(argv[1], "load") == 0) return load_times(argv[2], atoi(argv[3]));
    if (argc >= 6 && strcmp(argv[1], "folder") == 0)
        return folder(argv[2], atoi(argv[3]), atoi(argv[4]), argc - 5, argv + 5);
    fprintf(stderr, "usage: see the comment at the top of capi_bench.c\n");
    return 2;
}
