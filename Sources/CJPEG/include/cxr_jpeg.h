// JPEG decoding through libjpeg(-turbo) for the CLI (cxrcaption-cli), as Pillow decodes it.
//
// libjpeg reports fatal errors through error_exit, which must not return; the usual handler longjmps. Swift
// frames must never be jumped over, so the setjmp, every libjpeg call and the error handler live in
// cxr_jpeg.c: errors come back as a return value 0 and a message, never as a jump into Swift.
// Pixels handed out are freed with cxr_jpeg_free.
#ifndef CXR_JPEG_H
#define CXR_JPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char message[256];
} cxr_jpeg_error;

/// A decoded JPEG: 8-bit samples, rows packed (width * channels bytes per row).
typedef struct {
    uint32_t width;
    uint32_t height;
    /// 1: gray (the file's single component); 3: R, G, B (YCbCr and RGB files, converted by libjpeg as
    /// Pillow has it convert them).
    int channels;
    /// The file's colour space as libjpeg names it (JCS_GRAYSCALE 1, JCS_RGB 2, JCS_YCbCr 3, ...).
    int file_color_space;
    /// 1 when the file is progressive.
    int progressive;
    unsigned char *pixels;
} cxr_jpeg_decoded;

/// Decodes `size` bytes of a JPEG (JFIF/EXIF) file. Images with a side larger than `max_side` (0) or more than
/// `max_pixels` pixels (2, with out->width and out->height set) are refused after the header, before any pixel
/// is allocated; CMYK/YCCK files, 12-bit data and truncated files ("Premature end of JPEG file") are refused
/// too. Other libjpeg warnings (e.g. extraneous bytes before a marker) are ignored, as Pillow ignores them.
/// Returns 1 on success (`out` filled; free out->pixels with cxr_jpeg_free), 0 or 2 on failure
/// (`error->message` says why).
int cxr_jpeg_decode(const unsigned char *data, size_t size, uint32_t max_side, uint64_t max_pixels,
                    cxr_jpeg_decoded *out, cxr_jpeg_error *error);

/// Frees pixels returned by cxr_jpeg_decode (NULL is ignored).
void cxr_jpeg_free(unsigned char *pixels);

#ifdef __cplusplus
}
#endif

#endif
