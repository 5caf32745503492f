/* png_reader.c: see png_reader.h. */
#include "png_reader.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct read_state {
    char *error;
    size_t error_size;
};

static void on_png_error(png_structp png, png_const_charp message) {
    struct read_state *state = (struct read_state *)png_get_error_ptr(png);
    snprintf(state->error, state->error_size, "libpng: %s", message);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int png_pixels_read(const char *path, png_pixels *out, char *error, size_t error_size) {
    struct read_state state = {error, error_size};
    png_structp png = NULL;
    png_infop info = NULL;
    /* volatile: these change between setjmp and a possible longjmp. */
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(error, error_size, "cannot open %s", path);
        return -1;
    }
    memset(out, 0, sizeof *out);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_png_error, on_png_warning);
    if (png != NULL) info = png_create_info_struct(png);
    if (png == NULL || info == NULL) {
        snprintf(error, error_size, "out of memory");
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return -1;
    }
    png_init_io(png, file);
    png_read_info(png, info);
    int color = png_get_color_type(png, info);
    int depth = png_get_bit_depth(png, info);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (depth == 16) png_set_swap(png); /* PNG is big-endian; the library wants native order */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    uint32_t width = png_get_image_width(png, info);
    uint32_t height = png_get_image_height(png, info);
    int channels = png_get_channels(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (width == 0 || height == 0 || width > 65536 || height > 65536 || (channels != 1 && channels != 3 && channels != 4)
        || (bit_depth != 8 && bit_depth != 16)) {
        snprintf(error, error_size, "unsupported PNG layout: %ux%u, %d channels, %d bits", width, height, channels,
                 bit_depth);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return -1;
    }
    pixels = (unsigned char *)malloc(row_bytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (pixels == NULL || rows == NULL) {
        snprintf(error, error_size, "out of memory for a %ux%u image", width, height);
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(file);
        return -1;
    }
    for (uint32_t y = 0; y < height; y++) rows[y] = pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    free(rows);

    out->pixels = pixels;
    out->width = (int32_t)width;
    out->height = (int32_t)height;
    out->channels = channels;
    out->bit_depth = bit_depth;
    out->row_bytes = row_bytes;
    return 0;
}

void png_pixels_free(png_pixels *image) {
    if (image == NULL) return;
    free(image->pixels);
    image->pixels = NULL;
}
