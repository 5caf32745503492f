// JPEG decoding for cxrcaption-cli through libjpeg's classic API (Debian: libjpeg62-turbo-dev).
// See include/cxr_jpeg.h: every libjpeg call and its longjmp stay in this file.
#include "cxr_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr manager; // first: libjpeg passes a pointer to it
    jmp_buf jump;
    cxr_jpeg_error *error;
} cxr_jpeg_handler;

static void cxr_jpeg_set_message(cxr_jpeg_error *error, const char *message) {
    if (!error) return;
    strncpy(error->message, message, sizeof error->message - 1);
    error->message[sizeof error->message - 1] = 0;
}

static void cxr_jpeg_error_exit(j_common_ptr info) {
    cxr_jpeg_handler *handler = (cxr_jpeg_handler *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    cxr_jpeg_set_message(handler->error, text);
    longjmp(handler->jump, 1);
}

// Warnings (level -1) and trace messages: silent, except a truncated file, which is an error (Pillow says
// "image file is truncated"; libjpeg would fill the rest with gray and go on).
static void cxr_jpeg_emit_message(j_common_ptr info, int level) {
    if (level < 0 && info->err->msg_code == JWRN_JPEG_EOF) {
        cxr_jpeg_handler *handler = (cxr_jpeg_handler *)info->err;
        cxr_jpeg_set_message(handler->error, "JPEG data is truncated (premature end of JPEG file)");
        longjmp(handler->jump, 1);
    }
}

int cxr_jpeg_decode(const unsigned char *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                    cxr_jpeg_decoded *out, cxr_jpeg_error *error) {
    if (error) error->message[0] = 0;
    if (!out) return 0;
    memset(out, 0, sizeof *out);
    if (!data || size < 3 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
        cxr_jpeg_set_message(error, "not a JPEG file (no FF D8 FF start-of-image marker)");
        return 0;
    }
    if (size > (size_t)0xFFFFFFFFu) {
        cxr_jpeg_set_message(error, "JPEG data is larger than 4 GiB");
        return 0;
    }

    struct jpeg_decompress_struct info;
    cxr_jpeg_handler handler;
    // volatile: assigned between setjmp and longjmp and read after the jump.
    unsigned char *volatile pixels = NULL;
    memset(&info, 0, sizeof info);
    info.err = jpeg_std_error(&handler.manager);
    handler.manager.error_exit = cxr_jpeg_error_exit;
    handler.manager.emit_message = cxr_jpeg_emit_message;
    handler.error = error;
    if (setjmp(handler.jump)) {
        jpeg_destroy_decompress(&info);
        free(pixels);
        return 0;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, (unsigned char *)data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);

    if (info.image_width == 0 || info.image_height == 0 || info.image_width > max_side ||
        info.image_height > max_side) {
        char text[160];
        snprintf(text, sizeof text, "JPEG image is %ux%u; width and height must be 1...%u",
                 (unsigned)info.image_width, (unsigned)info.image_height, (unsigned)max_side);
        cxr_jpeg_set_message(error, text);
        jpeg_destroy_decompress(&info);
        return 0;
    }
    if ((uint64_t)info.image_width * (uint64_t)info.image_height > max_pixels) {
        char text[160];
        snprintf(text, sizeof text, "image is %u x %u = %llu pixels, more than the limit of %llu",
                 (unsigned)info.image_width, (unsigned)info.image_height,
                 (unsigned long long)info.image_width * info.image_height, (unsigned long long)max_pixels);
        cxr_jpeg_set_message(error, text);
        out->width = info.image_width;
        out->height = info.image_height;
        jpeg_destroy_decompress(&info);
        return 2;
    }
    switch (info.jpeg_color_space) {
    case JCS_GRAYSCALE:
        info.out_color_space = JCS_GRAYSCALE;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        info.out_color_space = JCS_RGB;
        break;
    default: {
        char text[160];
        snprintf(text, sizeof text, "JPEG colour space %d (%s) is not supported (gray, YCbCr or RGB)",
                 (int)info.jpeg_color_space,
                 info.jpeg_color_space == JCS_CMYK ? "CMYK" : info.jpeg_color_space == JCS_YCCK ? "YCCK" : "other");
        cxr_jpeg_set_message(error, text);
        jpeg_destroy_decompress(&info);
        return 0;
    }
    }
    // Pillow's defaults: the accurate integer IDCT and fancy upsampling.
    info.dct_method = JDCT_ISLOW;
    info.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&info);
    const size_t channels = (size_t)info.output_components;
    const size_t row_bytes = (size_t)info.output_width * channels;
    pixels = (unsigned char *)malloc(row_bytes * info.output_height);
    if (!pixels) {
        cxr_jpeg_set_message(error, "out of memory for the JPEG pixels");
        jpeg_destroy_decompress(&info);
        return 0;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = pixels + (size_t)info.output_scanline * row_bytes;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    out->width = info.output_width;
    out->height = info.output_height;
    out->channels = (int)channels;
    out->file_color_space = (int)info.jpeg_color_space;
    out->progressive = info.progressive_mode ? 1 : 0;
    out->pixels = pixels;
    jpeg_destroy_decompress(&info);
    return 1;
}

void cxr_jpeg_free(unsigned char *pixels) { free(pixels); }
