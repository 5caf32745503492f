// DICOM reading for the CLI (cxrcaption-cli): DCMTK behind a C interface, so Swift never sees C++ (nor its
// exceptions). The mapping from the dataset to the library's image is include/cxrcaption_dcmtk.hpp's, the one
// C++ users get (docs/INTAKE.md, "DICOM"); JPEG 2000 is decoded with OpenJPEG.
#ifndef CXR_DICOM_H
#define CXR_DICOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Why a read failed (cxr::dcmtk::ErrorKind, plus 'internal').
typedef enum {
    CXR_DICOM_OK = 0,
    CXR_DICOM_NOT_DICOM = 1,
    CXR_DICOM_MISSING_ATTRIBUTE = 2,
    CXR_DICOM_UNSUPPORTED = 3,
    CXR_DICOM_UNDECODABLE = 4,
    CXR_DICOM_INVALID = 5,
    CXR_DICOM_INTERNAL = 6,
    /// Decoding would produce more than max_pixels pixels (refused before any pixel is decoded).
    CXR_DICOM_TOO_LARGE = 7
} cxr_dicom_error_kind;

typedef struct {
    int32_t kind;  // a cxr_dicom_error_kind
    char message[512];
} cxr_dicom_error;

/// The first frame as the library's image (the cxr_image fields) and what was read from the dataset.
typedef struct {
    // The image: cxr_image's fields (format: 1 GRAY8, 2 GRAY16, 3 GRAYF32, 4 RGB8; photometric 0 MONOCHROME2,
    // 1 MONOCHROME1). Rows packed.
    int32_t format;
    int32_t width;
    int32_t height;
    int32_t bits_stored;
    int32_t photometric;
    int32_t has_window;
    double rescale_slope;
    double rescale_intercept;
    double window_center;
    double window_width;
    /// The pixel bytes (machine byte order); free with cxr_dicom_free.
    uint8_t *pixels;
    size_t pixel_bytes;

    // The dataset's own attributes.
    int32_t samples_per_pixel;
    int32_t bits_allocated;
    int32_t bits_stored_attribute;
    int32_t pixel_representation;
    int32_t frames;
    /// 1 when a first window was present but its width is not > 1 (it is not applied).
    int32_t window_ignored;
    double ignored_window_center;
    double ignored_window_width;
    char photometric_name[64];
    /// ViewPosition (0018,5101), trimmed; "" when absent.
    char view_position[64];
    /// "name (UID)" of the original transfer syntax.
    char transfer_syntax[192];
} cxr_dicom_image;

/// Parses `size` bytes of DICOM (a file with preamble and meta header, or a bare dataset) and reads its first
/// frame (use_window 0: ignore WindowCenter/Width). Decoding that would produce more than `max_pixels` pixels
/// (0: no limit; cxr::dcmtk::ReadOptions::max_pixels says how frames count) is refused with
/// CXR_DICOM_TOO_LARGE before any pixel is decoded. Returns 1 and fills `out` (free with cxr_dicom_free), or
/// 0 and fills `error`. Never throws; thread-safe (DCMTK's decoders are registered once, on first use).
int cxr_dicom_read(const uint8_t *data, size_t size, int use_window, uint64_t max_pixels, cxr_dicom_image *out,
                   cxr_dicom_error *error);

/// Frees the pixels of an image filled by cxr_dicom_read (and sets them to NULL); NULL is ignored.
void cxr_dicom_free(cxr_dicom_image *image);

#ifdef __cplusplus
}
#endif

#endif
