// PNG decode/encode wrappers around libpng's classic API for CXRImageIO.
//
// libpng reports errors with longjmp. Swift frames must never be jumped over, so the setjmp, the libpng calls
// and the read/write callbacks all live in these C functions: every error comes back as a return value 0 and a
// message, never as a jump into Swift. Memory handed out (pixels, encoded bytes) is freed with cxr_png_free.
#ifndef CXR_PNG_H
#define CXR_PNG_H

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char message[256];
} cxr_png_error;

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
} cxr_png_source;

typedef struct {
    unsigned char *data;
    size_t size;
    size_t capacity;
    int failed;
} cxr_png_sink;

/// A decoded image: rows packed (row_bytes = width * channels * bit_depth / 8), 16-bit samples in host order.
typedef struct {
    uint32_t width;
    uint32_t height;
    int channels;   // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA (palette expanded to RGB, or RGBA with tRNS)
    int bit_depth;  // 8 or 16 (1, 2, 4-bit gray expanded to 8 with scaling)
    int color_type; // the file's PNG color type
    int file_bit_depth;
    size_t row_bytes;
    unsigned char *pixels;
} cxr_png_decoded;

static void cxr_png_on_error(png_structp png, png_const_charp message) {
    cxr_png_error *error = (cxr_png_error *)png_get_error_ptr(png);
    if (error) {
        strncpy(error->message, message ? message : "unknown libpng error", sizeof error->message - 1);
        error->message[sizeof error->message - 1] = 0;
    }
    png_longjmp(png, 1);
}

static void cxr_png_on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

static void cxr_png_read_bytes(png_structp png, png_bytep out, size_t count) {
    cxr_png_source *source = (cxr_png_source *)png_get_io_ptr(png);
    if (count > source->size - source->offset) png_error(png, "PNG data is truncated");
    memcpy(out, source->data + source->offset, count);
    source->offset += count;
}

static void cxr_png_write_bytes(png_structp png, png_bytep bytes, size_t count) {
    cxr_png_sink *sink = (cxr_png_sink *)png_get_io_ptr(png);
    if (count > SIZE_MAX - sink->size) png_error(png, "encoded PNG is too large");
    if (sink->size + count > sink->capacity) {
        size_t capacity = sink->capacity ? sink->capacity : 4096;
        while (capacity < sink->size + count) {
            if (capacity > SIZE_MAX / 2) png_error(png, "encoded PNG is too large");
            capacity *= 2;
        }
        unsigned char *grown = (unsigned char *)realloc(sink->data, capacity);
        if (!grown) png_error(png, "out of memory while encoding PNG");
        sink->data = grown;
        sink->capacity = capacity;
    }
    memcpy(sink->data + sink->size, bytes, count);
    sink->size += count;
}

static void cxr_png_flush(png_structp png) { (void)png; }

static inline int cxr_png_host_is_little_endian(void) {
    const uint16_t probe = 1;
    return *(const unsigned char *)&probe == 1;
}

static inline void cxr_png_free(void *pointer) { free(pointer); }

/// Decodes a PNG held in memory. Returns 1 and fills *out, or 0 with error->message set.
/// Images wider or taller than max_side are refused (0), and images with more than max_pixels pixels (width x
/// height) are refused with 2 (out->width and out->height say the size), right after the header is read,
/// before any pixel memory is allocated.
static inline int cxr_png_decode(const unsigned char *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                                 cxr_png_decoded *out, cxr_png_error *error);

/// Whether every chunk up to IEND lies inside the file. libpng reads an ancillary chunk (text, an ICC profile)
/// whole into memory before it finds the data short: a 126-byte file whose tEXt chunk claimed 1.3 GB made it
/// allocate that much (found by Tests/fuzz/png_reader). The whole file is in memory here, so the lengths are
/// checked first; a file that ends before IEND is left to libpng, which says what is missing.
static inline int cxr_png_chunks_fit(const unsigned char *data, size_t size, cxr_png_error *error) {
    size_t at = 8;
    while (size - at >= 8) {
        const unsigned char *header = data + at;
        uint32_t length = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
        char type[5];
        for (int i = 0; i < 4; i++) {
            unsigned char c = header[4 + i];
            type[i] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ? (char)c : '?';
        }
        type[4] = 0;
        if ((uint64_t)length + 12 > (uint64_t)(size - at)) {
            snprintf(error->message, sizeof error->message,
                     "PNG chunk %s at byte %zu claims %u bytes of data, but the file has %zu bytes after its header "
                     "(truncated or corrupt)", type, at, length, size - at - 8);
            return 0;
        }
        if (memcmp(type, "IEND", 4) == 0) return 1;
        at += 12 + (size_t)length;
    }
    return 1;
}

static inline int cxr_png_decode(const unsigned char *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                                 cxr_png_decoded *out, cxr_png_error *error) {
    memset(out, 0, sizeof *out);
    error->message[0] = 0;
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        strcpy(error->message, "not a PNG file (bad signature)");
        return 0;
    }
    if (!cxr_png_chunks_fit(data, size, error)) return 0;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, error, cxr_png_on_error, cxr_png_on_warning);
    if (!png) {
        strcpy(error->message, "libpng could not create a read structure");
        return 0;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        strcpy(error->message, "libpng could not create an info structure");
        return 0;
    }
    cxr_png_source source = {data, size, 0};
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(pixels);
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    png_set_read_fn(png, &source, cxr_png_read_bytes);
    png_set_user_limits(png, 1000000, 1000000);
#ifdef CXR_PNG_FUZZING
    // Tests/fuzz/png_reader.c: mutated chunks keep their old CRCs; checking them would stop the fuzzer at the
    // first byte it changes, before any code worth testing.
    png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#ifdef PNG_IGNORE_ADLER32
    png_set_option(png, PNG_IGNORE_ADLER32, PNG_OPTION_ON);
#endif
#endif
    png_read_info(png, info);
    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if (width > max_side || height > max_side) {
        snprintf(error->message, sizeof error->message, "PNG is %ux%u; width and height must be at most %u",
                 (unsigned)width, (unsigned)height, (unsigned)max_side);
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    if ((uint64_t)width * (uint64_t)height > max_pixels) {
        snprintf(error->message, sizeof error->message, "image is %u x %u = %llu pixels, more than the limit of %llu",
                 (unsigned)width, (unsigned)height, (unsigned long long)width * height, (unsigned long long)max_pixels);
        out->width = width;
        out->height = height;
        png_destroy_read_struct(&png, &info, NULL);
        return 2;
    }
    out->color_type = color_type;
    out->file_bit_depth = bit_depth;
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);  // also turns a tRNS chunk into an alpha channel
    } else if (bit_depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (bit_depth == 16 && cxr_png_host_is_little_endian()) png_set_swap(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if (row_bytes != (size_t)width * (size_t)channels * (size_t)(depth / 8)) {
        strcpy(error->message, "unexpected PNG row layout after expansion");
        png_destroy_read_struct(&png, &info, NULL);
        return 0;
    }
    if (height > 0 && row_bytes > SIZE_MAX / height) png_error(png, "PNG is too large for memory");
    pixels = (unsigned char *)malloc(row_bytes * height ? row_bytes * height : 1);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (height ? height : 1));
    if (!pixels || !rows) png_error(png, "out of memory while decoding PNG");
    for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    out->width = width;
    out->height = height;
    out->channels = channels;
    out->bit_depth = depth;
    out->row_bytes = row_bytes;
    out->pixels = pixels;
    png_destroy_read_struct(&png, &info, NULL);
    return 1;
}

/// Encodes packed rows (channels 1-4, bit depth 8 or 16 with host-order samples) as a PNG in memory.
/// Returns 1 with *encoded (free with cxr_png_free) and *encoded_size, or 0 with error->message set.
static inline int cxr_png_encode(const unsigned char *pixels, uint32_t width, uint32_t height, int channels,
                                 int bit_depth, unsigned char **encoded, size_t *encoded_size,
                                 cxr_png_error *error) {
    *encoded = NULL;
    *encoded_size = 0;
    error->message[0] = 0;
    static const int color_types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                       PNG_COLOR_TYPE_RGB_ALPHA};
    if (channels < 1 || channels > 4 || (bit_depth != 8 && bit_depth != 16) || width == 0 || height == 0) {
        snprintf(error->message, sizeof error->message,
                 "cannot encode a %ux%u PNG with %d channels at %d bits", (unsigned)width, (unsigned)height,
                 channels, bit_depth);
        return 0;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, error, cxr_png_on_error, cxr_png_on_warning);
    if (!png) {
        strcpy(error->message, "libpng could not create a write structure");
        return 0;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        strcpy(error->message, "libpng could not create an info structure");
        return 0;
    }
    cxr_png_sink sink = {NULL, 0, 0, 0};
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(sink.data);
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_set_write_fn(png, &sink, cxr_png_write_bytes, cxr_png_flush);
    png_set_IHDR(png, info, width, height, bit_depth, color_types[channels], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (bit_depth == 16 && cxr_png_host_is_little_endian()) png_set_swap(png);
    size_t row_bytes = (size_t)width * (size_t)channels * (size_t)(bit_depth / 8);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!rows) png_error(png, "out of memory while encoding PNG");
    for (uint32_t y = 0; y < height; y++) rows[y] = (png_bytep)(pixels + (size_t)y * row_bytes);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &info);
    *encoded = sink.data;
    *encoded_size = sink.size;
    return 1;
}

#endif
