/* png_reader.h: reads a PNG file into a pixel buffer that cxr_image can describe, with libpng.
 * Part of the C example (and reused by the C tests). */
#ifndef PNG_READER_H
#define PNG_READER_H

#include <stddef.h>
#include <stdint.h>

typedef struct png_pixels {
    void *pixels;       /* malloc'ed; free with png_pixels_free */
    int32_t width;
    int32_t height;
    int32_t channels;   /* 1 gray, 3 RGB, 4 RGBA */
    int32_t bit_depth;  /* 8 or 16 (16-bit samples in the machine's byte order) */
    size_t row_bytes;   /* rows are packed: width x channels x bit_depth / 8 */
} png_pixels;

/* Reads `path`. Palette images become RGB, gray+alpha becomes RGBA (gray replicated), 1/2/4-bit gray becomes
 * 8-bit. Returns 0 on success; on failure returns -1 and writes a message into `error` (error_size bytes). */
int png_pixels_read(const char *path, png_pixels *out, char *error, size_t error_size);

void png_pixels_free(png_pixels *image);

#endif
