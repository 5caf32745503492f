// libFuzzer target: the CLI's JPEG reader (Sources/CJPEG, libjpeg-turbo underneath).
//
// Any bytes must give either a decoded image within its limits, with exactly width x height x channels bytes
// of pixels (every byte is read, so AddressSanitizer sees a short buffer), or 0 (2: over the pixel limit) and
// a message.
// The pixel limit here is 4 M (the CLI's is larger) so that a decompression bomb stays within libFuzzer's
// memory limit; the code path is the same.
#include "cxr_jpeg.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint32_t max_side = 16384;
    const uint64_t max_pixels = 4u << 20;
    cxr_jpeg_decoded decoded;
    cxr_jpeg_error error;
    memset(&decoded, 0, sizeof decoded);
    memset(&error, 0, sizeof error);
    int status = cxr_jpeg_decode(data, size, max_side, max_pixels, &decoded, &error);
    if (status == 1) {
        FUZZ_REQUIRE(decoded.pixels != NULL, "success without pixels");
        FUZZ_REQUIRE(decoded.width >= 1 && decoded.height >= 1 && decoded.width <= max_side &&
                         decoded.height <= max_side && (uint64_t)decoded.width * decoded.height <= max_pixels,
                     "%u x %u", decoded.width, decoded.height);
        FUZZ_REQUIRE(decoded.channels == 1 || decoded.channels == 3, "%d channels", decoded.channels);
        volatile unsigned sum = 0;
        size_t total = (size_t)decoded.width * decoded.height * (size_t)decoded.channels;
        for (size_t i = 0; i < total; i++) sum += decoded.pixels[i];
        cxr_jpeg_free(decoded.pixels);
    } else {
        FUZZ_REQUIRE(status == 0 || status == 2, "status %d", status);
        FUZZ_REQUIRE(error.message[0] != 0, "failure without a message");
        FUZZ_REQUIRE(status != 2 || (uint64_t)decoded.width * decoded.height > max_pixels,
                     "refused as too large: %u x %u", decoded.width, decoded.height);
    }
    return 0;
}
