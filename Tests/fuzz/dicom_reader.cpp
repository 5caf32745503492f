// libFuzzer target: the CLI's DICOM reader (Sources/CDICOM: DCMTK with include/cxrcaption_dcmtk.hpp's
// mapping, OpenJPEG for JPEG 2000).
//
// Any bytes must give either the first frame as a valid cxr_image description, with exactly as many pixel
// bytes as that description needs (every byte is read, so AddressSanitizer sees a short buffer), or 0 with
// an error kind and a message. Never an exception, a crash or a sanitizer report. The pixel limit here is
// 4 M (the CLI's is larger) so that a decompression bomb stays within libFuzzer's memory limit.
#include "cxr_dicom.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int use_window = 0; use_window <= 1; use_window++) {
        cxr_dicom_image image;
        cxr_dicom_error error;
        memset(&image, 0, sizeof image);
        memset(&error, 0, sizeof error);
        if (cxr_dicom_read(data, size, use_window, 4u << 20, &image, &error)) {
            FUZZ_REQUIRE(image.pixels != NULL, "success without pixels");
            FUZZ_REQUIRE(image.width >= 1 && image.height >= 1, "%d x %d", image.width, image.height);
            size_t pixel = image.format == 1 ? 1 : image.format == 2 ? 2 : image.format == 3 ? 4 : image.format == 4 ? 3 : 0;
            FUZZ_REQUIRE(pixel != 0, "format %d", image.format);
            FUZZ_REQUIRE(image.pixel_bytes == (size_t)image.width * (size_t)image.height * pixel,
                         "%zu pixel bytes for %d x %d format %d", image.pixel_bytes, image.width, image.height,
                         image.format);
            FUZZ_REQUIRE(image.photometric == 0 || image.photometric == 1, "photometric %d", image.photometric);
            FUZZ_REQUIRE(image.format != 2 || (image.bits_stored >= 1 && image.bits_stored <= 16), "bits_stored %d",
                         image.bits_stored);
            FUZZ_REQUIRE(isfinite(image.rescale_slope) && isfinite(image.rescale_intercept), "modality LUT %g %g",
                         image.rescale_slope, image.rescale_intercept);
            FUZZ_REQUIRE(!image.has_window || (use_window && isfinite(image.window_center) &&
                                               isfinite(image.window_width) && image.window_width > 1),
                         "window %g / %g (use_window %d)", image.window_center, image.window_width, use_window);
            volatile unsigned sum = 0;
            for (size_t i = 0; i < image.pixel_bytes; i++) sum += image.pixels[i];
            cxr_dicom_free(&image);
            FUZZ_REQUIRE(image.pixels == NULL, "cxr_dicom_free left pixels");
        } else {
            FUZZ_REQUIRE(error.message[0] != 0, "failure without a message");
            FUZZ_REQUIRE(error.kind > 0 && error.kind <= CXR_DICOM_TOO_LARGE, "kind %d", error.kind);
            FUZZ_REQUIRE(error.kind != CXR_DICOM_INTERNAL, "internal error: %s", error.message);
        }
    }
    return 0;
}
