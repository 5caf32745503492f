/* caption.c: captions a chest X-ray PNG with libcxrcaption and prints the ranked impressions.
 *
 *   cc caption.c png_reader.c -I../../include -L<dir of libcxrcaption.so> -lcxrcaption -lpng16 \
 *      -Wl,-rpath,<dir of libcxrcaption.so> -o caption
 *   ./caption model.safetensors chest.png [beam_width]
 */
#include "cxrcaption.h"
#include "png_reader.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL.safetensors IMAGE.png [BEAM_WIDTH]\n", argv[0]);
        return 2;
    }
    if (cxr_abi_version() != CXR_ABI_VERSION) {
        fprintf(stderr, "libcxrcaption ABI %u, built for %d\n", cxr_abi_version(), CXR_ABI_VERSION);
        return 1;
    }

    png_pixels png;
    char error[256];
    if (png_pixels_read(argv[2], &png, error, sizeof error) != 0) {
        fprintf(stderr, "%s: %s\n", argv[2], error);
        return 1;
    }

    cxr_model *model = NULL;
    if (cxr_model_load(argv[1], &model) != CXR_OK) {
        fprintf(stderr, "%s\n", cxr_last_error());
        png_pixels_free(&png);
        return 1;
    }
    cxr_session *session = NULL;
    if (cxr_session_create(model, &session) != CXR_OK) {
        fprintf(stderr, "%s\n", cxr_last_error());
        cxr_model_free(model);
        png_pixels_free(&png);
        return 1;
    }

    /* Describe the buffer: the PNG's own layout, no window, MONOCHROME2. */
    cxr_image image;
    cxr_image_init(&image, sizeof image);
    image.pixels = png.pixels;
    image.width = png.width;
    image.height = png.height;
    image.row_bytes = png.row_bytes;
    if (png.bit_depth == 16) {
        image.format = png.channels == 1 ? CXR_PIXEL_GRAY16 : -1; /* 16-bit color: rejected with a message */
    } else {
        image.format = png.channels == 1 ? CXR_PIXEL_GRAY8 : png.channels == 3 ? CXR_PIXEL_RGB8 : CXR_PIXEL_RGBA8;
    }

    cxr_generate_params params;
    cxr_generate_params_init(&params, sizeof params);
    if (argc > 3) {
        params.beam_width = atoi(argv[3]);
        params.max_results = params.beam_width;
    }

    int status = 0;
    if (cxr_generate(session, &image, &params) == CXR_OK) {
        int32_t count = 0;
        cxr_result_count(session, &count);
        printf("%s (%dx%d):\n", argv[2], png.width, png.height);
        for (int32_t i = 0; i < count; i++) {
            const char *text = NULL;
            double score = 0, log_prob = 0;
            int32_t truncated = 0;
            cxr_result_text(session, i, &text);
            cxr_result_score(session, i, &score);
            cxr_result_log_prob(session, i, &log_prob);
            cxr_result_truncated(session, i, &truncated);
            printf("  %d. %s  (score %.4f, log p %.4f%s)\n", i + 1, text, score, log_prob,
                   truncated ? ", truncated" : "");
        }
    } else {
        fprintf(stderr, "%s: %s\n", argv[2], cxr_last_error());
        status = 1;
    }

    cxr_session_free(session);
    cxr_model_free(model);
    png_pixels_free(&png);
    return status;
}
